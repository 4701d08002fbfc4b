"""Python baselines for `cargo bench --bench analysis`, run in the same benchmark.

    python3 baselines.py cluster < messages      # per line: drain3 cluster id, tab, template
    python3 baselines.py throughput FILE         # drain3 lines/s over FILE (median of 3)
    python3 baselines.py baro DATASET_DIR        # BARO (rcaeval) on rcd-sockshop: AC@1, Avg@5, seconds
    python3 baselines.py sift DATASET_DIR        # MetricSifter: root-cause kept, share dropped, seconds
"""
import logging
import statistics
import sys
import time

logging.disable(logging.CRITICAL)



def miner():
    from drain3 import TemplateMiner
    from drain3.template_miner_config import TemplateMinerConfig

    return TemplateMiner(config=TemplateMinerConfig())  # drain3's defaults


def sockshop_cases(root):
    import os
    import pandas as pd

    cases = []
    for folder in sorted(os.listdir(os.path.join(root, "rcd-sockshop"))):
        service = folder.rsplit("-", 1)[0]
        for n in range(1, 6):
            case = os.path.join(root, "rcd-sockshop", folder, str(n))
            normal = pd.read_csv(os.path.join(case, "normal.csv"))
            anomalous = pd.read_csv(os.path.join(case, "anomalous.csv"))
            cases.append((service, pd.concat([normal, anomalous], ignore_index=True), len(normal)))
    return cases


def sift_sockshop(root):
    """MetricSifter 0.2 with its defaults, one job, median of 3 runs."""
    from metricsifter.sifter import Sifter

    cases = sockshop_cases(root)
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        kept_root, dropped, total = 0, 0, 0
        for service, data, _ in cases:
            metrics = data.drop(columns=["time"])
            sifted = Sifter(n_jobs=1).run(data=metrics)
            kept_root += any(c.split("_")[0] == service for c in sifted.columns)
            dropped += len(metrics.columns) - len(sifted.columns)
            total += len(metrics.columns)
        runs.append(time.perf_counter() - start)
    print(kept_root, dropped / total, statistics.median(runs))


def baro_sockshop(root):
    """BARO as published: given the fault time (the first anomalous row), median of 3 runs."""
    from RCAEval.e2e.baro import baro

    cases = sockshop_cases(root)
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        ranked = []
        for service, data, boundary in cases:
            ranks = baro(data, anomalies=[boundary], dataset="rcd-sockshop")["ranks"]
            services = []
            for metric in ranks:
                name = metric.split("_")[0]
                if name not in services:
                    services.append(name)
            ranked.append((service, services))
        runs.append(time.perf_counter() - start)
    acc = [sum(1 for truth, s in ranked if truth in s[:k]) / len(ranked) for k in range(1, 6)]
    print(acc[0], sum(acc) / 5, statistics.median(runs))


def main():
    mode = sys.argv[1]
    if mode == "cluster":
        tm = miner()
        lines = sys.stdin.read().splitlines()
        ids = [tm.add_log_message(line)["cluster_id"] for line in lines]
        # Each line's cluster id and its cluster's final template, as Loghub scores them.
        final = {c.cluster_id: c.get_template() for c in tm.drain.clusters}
        print("\n".join(f"{i}\t{final[i]}" for i in ids))
    elif mode == "sift":
        sift_sockshop(sys.argv[2])
    elif mode == "baro":
        baro_sockshop(sys.argv[2])
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
