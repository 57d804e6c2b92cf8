#!/usr/bin/env python3
"""Compare alternating runs of two alex_core_bench builds (scripts/core-bench.sh --ab=REV).

Input: a directory with r<N>-base.json and r<N>-new.json, one pair per round (Google
Benchmark JSON). For every benchmark present in both, prints the ratio new/base of the
chosen per-key statistic (default cpu_ns_per_op_min: best iteration, thread CPU time) in
each round, their median, and the geometric mean over all benchmarks. A ratio below 1 means
the new build is faster. Ratios within about +-5% are noise on a shared machine.
"""

import argparse
import glob
import json
import math
import os
import re
import statistics
import sys

STATS = {"cpu_min": "cpu_ns_per_op_min", "cpu_mean": "cpu_ns_per_op", "min": "ns_per_op_min", "mean": "ns_per_op"}


def load(path, key):
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        name = "/".join(b["name"].split("/")[:4])
        v = b.get(key)
        if v:
            out[name] = v
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", help="directory with r<N>-base.json / r<N>-new.json")
    ap.add_argument("--stat", choices=sorted(STATS), default="cpu_min")
    ap.add_argument("--base-label", default="base")
    ap.add_argument("--new-label", default="new")
    args = ap.parse_args()

    rounds = sorted({int(m.group(1)) for p in glob.glob(os.path.join(args.dir, "r*-base.json"))
                     if (m := re.search(r"r(\d+)-base\.json$", p))})
    per_bench = {}
    order = []
    for r in rounds:
        bp, np_ = (os.path.join(args.dir, f"r{r}-{s}.json") for s in ("base", "new"))
        if not os.path.exists(np_):
            continue
        base, new = load(bp, STATS[args.stat]), load(np_, STATS[args.stat])
        for name in base:
            if name in new:
                if name not in per_bench:
                    order.append(name)
                per_bench.setdefault(name, []).append(new[name] / base[name])
    if not per_bench:
        print("no benchmark present in both builds under", args.dir)
        return 1

    width = max(len(n) for n in order)
    n_rounds = max(len(v) for v in per_bench.values())
    print(f"ratio {args.new_label}/{args.base_label} of {STATS[args.stat]} per round (<1: {args.new_label} faster)")
    print(f"{'benchmark':<{width}}  " + "  ".join(f"r{i + 1:<4}" for i in range(n_rounds)) + "  median")
    medians = []
    for name in order:
        v = per_bench[name]
        med = statistics.median(v)
        medians.append(med)
        print(f"{name:<{width}}  " + "  ".join(f"{x:5.3f}" for x in v) + f"  {med:6.3f}")
    geo = math.exp(sum(math.log(m) for m in medians) / len(medians))
    print(f"geometric mean of the medians over {len(medians)} benchmarks: {geo:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
