"""Python baselines for `cargo bench --bench analysis`, run in the same benchmark.

    python3 baselines.py cluster < messages      # one drain3 cluster id per line
    python3 baselines.py throughput FILE         # drain3 lines/s over FILE (median of 3)
"""
import logging
import statistics
import sys
import time

logging.disable(logging.CRITICAL)

from drain3 import TemplateMiner  # noqa: E402
from drain3.template_miner_config import TemplateMinerConfig  # noqa: E402


def miner():
    config = TemplateMinerConfig()  # drain3's defaults, as the issue's baseline
    return TemplateMiner(config=config)


def main():
    mode = sys.argv[1]
    if mode == "cluster":
        tm = miner()
        lines = sys.stdin.read().splitlines()
        print("\n".join(str(tm.add_log_message(line)["cluster_id"]) for line in lines))
    elif mode == "throughput":
        with open(sys.argv[2], encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
        rates = []
        for _ in range(3):
            tm = miner()
            start = time.perf_counter()
            for line in lines:
                tm.add_log_message(line)
            rates.append(len(lines) / (time.perf_counter() - start))
        print(statistics.median(rates))


if __name__ == "__main__":
    main()
