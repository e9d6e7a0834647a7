#!/usr/bin/env python3
"""Summarise a JMH JSON result (-rf json -rff FILE): mean, error, and the best iteration.

On shared, noisy machines the best iteration (the shortest time, or the highest throughput) is
the best estimate of what the code costs;
the mean shows how much the neighbours took. Usage: benchmarks/jmh-summary.py FILE.json
"""
import json
import sys


def main(path):
    results = json.load(open(path))
    print(f"{'benchmark':48} {'params':28} {'mean':>10} {'error':>9} {'best':>10} unit")
    for r in results:
        name = ".".join(r["benchmark"].split(".")[-2:])
        params = ",".join(f"{k}={v}" for k, v in r.get("params", {}).items())
        metric = r["primaryMetric"]
        raw = [x for iteration in metric["rawData"] for x in iteration]
        best = max(raw) if metric["scoreUnit"].endswith("/s") else min(raw)
        print(f"{name:48} {params:28} {metric['score']:10.3f} {metric['scoreError']:9.3f} "
              f"{best:10.3f} {metric['scoreUnit']}")


if __name__ == "__main__":
    main(sys.argv[1])
