"""Throughput of `hunch logs cluster` through the CLI beside drain3, in one run.

    python3 tests/bench/logs_cli_throughput.py HUNCH_BINARY [--messages] [LOG ...]

Builds 1M lines by repeating the logs (default: every raw loghub-2k log in
../shared/datasets; with --messages, the messages of each given `<Sys>_2k.log`, headers
cut off as loghub's structured CSV has them), then times `HUNCH_BINARY logs cluster < file > /dev/null` (process
start-up, pipes and output included; median of 3 wall-clock runs) and drain3 (default
config, in-process, the same lines; median of 3). Prints both rates and the ratio.
"""
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import baselines  # noqa: E402

LINES = 1_000_000


def main():
    hunch = sys.argv[1]
    messages = "--messages" in sys.argv
    here = os.path.dirname(os.path.abspath(__file__))
    logs = [a for a in sys.argv[2:] if a != "--messages"] or sorted(
        glob.glob(os.path.join(here, "../../../shared/datasets/loghub-2k/*/*_2k.log"))
    )
    pool = []
    for log in logs:
        if messages:
            import csv

            with open(log + "_structured_corrected.csv", encoding="utf-8", errors="replace") as f:
                pool.extend(row["Content"] for row in csv.DictReader(f))
            continue
        with open(log, encoding="utf-8", errors="replace") as f:
            pool.extend(line.rstrip("\r") for line in f.read().splitlines())
    lines = [pool[i % len(pool)] for i in range(LINES)]
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    try:
        runs = []
        for _ in range(3):
            with open(path, "rb") as stdin:
                start = time.perf_counter()
                subprocess.run(
                    [hunch, "logs", "cluster"], stdin=stdin, stdout=subprocess.DEVNULL, check=True
                )
                runs.append(time.perf_counter() - start)
        hunch_rate = LINES / statistics.median(runs)
        drain_rates = []
        for _ in range(3):
            tm = baselines.miner()
            start = time.perf_counter()
            for line in lines:
                tm.add_log_message(line)
            drain_rates.append(LINES / (time.perf_counter() - start))
        drain_rate = statistics.median(drain_rates)
    finally:
        os.unlink(path)
    print(
        f"{LINES} {'messages' if messages else 'raw lines'} from {len(logs)} logs ({os.cpu_count()} cores): "
        f"hunch logs cluster {hunch_rate / 1e6:.2f}M lines/s · drain3 {drain_rate / 1e3:.0f}k lines/s"
        f" · {hunch_rate / drain_rate:.1f}x"
    )


if __name__ == "__main__":
    main()
