#!/usr/bin/env python3
"""Summarize alex_core_bench JSON output (Google Benchmark --benchmark_out).

Benchmark names are "<op>/<structure>/<dataset>/<size>[/iterations:N/manual_time]".
Per-key cost is taken from the "cpu_ns_per_op_min" counter (best iteration,
thread CPU time: robust against preemption on a shared machine) by default;
--stat selects cpu_mean, min (wall clock, best iteration) or mean (wall clock).

Ratios are "alex is Nx faster than absl" = absl_ns / alex_ns (higher is
better for alex); batch ratios are alex_single_insert_ns / alex_batch_ns.
Memory is bytes per entry as reported by the benchmark (alex: memory_bytes();
absl/std: counting allocator) right after bulk load.
"""

import argparse
import json
import sys

OPS_VS_ABSL = [
    ("lookup", "lookup"),
    ("insert", "insert"),
    ("bulk", "bulk_load"),
    ("append", "append"),
    ("append~", "append_jitter"),
    ("scan", "range_scan"),
    ("erase", "erase"),
]

DATASET_ORDER = ["sequential", "seq_gaps", "uniform", "lognormal", "clustered", "duplicates",
                 "uuid_random", "uuid_v7"]


def size_key(s):
    mult = {"K": 1e3, "M": 1e6}
    try:
        return float(s[:-1]) * mult[s[-1]] if s[-1] in mult else float(s)
    except (ValueError, IndexError):
        return 0.0


def load(path, stat):
    with open(path) as f:
        data = json.load(f)
    res = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration":
            continue
        parts = b["name"].split("/")
        if len(parts) < 4:
            continue
        op, struct, ds, size = parts[:4]
        rec = {"error": b.get("error_occurred", False), "msg": b.get("error_message", "")}
        key = {"cpu_min": "cpu_ns_per_op_min", "cpu_mean": "cpu_ns_per_op",
               "min": "ns_per_op_min", "mean": "ns_per_op"}[stat]
        rec["ns"] = b.get(key, b.get("ns_per_op"))
        rec["bpe"] = b.get("bytes_per_entry")
        for extra in ("depth", "avg_search_distance", "data_nodes", "model_nodes"):
            if extra in b:
                rec[extra] = b[extra]
        res[(op, struct, ds, size)] = rec
    return data.get("context", {}), res


def get_ns(res, op, struct, ds, size):
    r = res.get((op, struct, ds, size))
    if r is None:
        return None, "n/a"
    if r["error"] or not r["ns"]:
        return None, "ERR"
    return r["ns"], None


def ratio(num, den):
    """num/den as a formatted factor, or the reason it is unavailable."""
    if num[0] is None:
        return None, num[1]
    if den[0] is None:
        return None, den[1]
    return num[0] / den[0], None


def fmt_ratio(r):
    v, why = r
    return why if v is None else f"{v:.2f}x"


def fmt_num(v, digits=1):
    return "n/a" if v is None else f"{v:.{digits}f}"


def bpe(res, op, struct, ds, size):
    r = res.get((op, struct, ds, size))
    if r is None or r["error"]:
        return None
    return r.get("bpe")


def table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", help="Google Benchmark JSON output of alex_core_bench")
    ap.add_argument("--stat", choices=["cpu_min", "cpu_mean", "min", "mean"],
                    default="cpu_min",
                    help="per-key time statistic (default: best iteration, thread CPU time)")
    args = ap.parse_args()

    ctx, res = load(args.json, args.stat)
    if not res:
        print("no benchmark results found in", args.json)
        return 1

    combos = sorted({(k[2], k[3]) for k in res},
                    key=lambda c: (size_key(c[1]),
                                   DATASET_ORDER.index(c[0]) if c[0] in DATASET_ORDER else 99, c[0]))

    print(f"alex core benchmark summary ({args.json}; host {ctx.get('host_name', '?')}, "
          f"{ctx.get('num_cpus', '?')} cpus, stat={args.stat})")
    print("Speedup = absl ns/key / alex ns/key (>1: alex faster). batch = alex single-insert ns/key "
          "/ insert_batch ns/key. mem = bytes/entry after bulk load.")
    print()

    headers = ["dataset/size"] + [n for n, _ in OPS_VS_ABSL] + [
        "scan(copy)", "mem alex", "mem absl", "mem a/b", "batch1k", "batch64k"]
    rows = []
    for ds, size in combos:
        row = [f"{ds}/{size}"]
        for _, op in OPS_VS_ABSL:
            row.append(fmt_ratio(ratio(get_ns(res, op, "absl", ds, size), get_ns(res, op, "alex", ds, size))))
        row.append(fmt_ratio(ratio(get_ns(res, "range_scan", "absl", ds, size),
                                   get_ns(res, "range_scan_copy", "alex", ds, size))))
        ma, mb = bpe(res, "lookup", "alex", ds, size), bpe(res, "lookup", "absl", ds, size)
        row += [fmt_num(ma), fmt_num(mb), "n/a" if not (ma and mb) else f"{ma / mb:.2f}"]
        single = get_ns(res, "insert", "alex", ds, size)
        for b in ("1000", "65536"):
            row.append(fmt_ratio(ratio(single, get_ns(res, f"insert_batch_{b}", "alex", ds, size))))
        rows.append(row)
    print(table(headers, rows))
    print()

    # Absolute per-key numbers for context.
    print("Absolute ns per key (per scan for range scans): alex / absl / std")
    ops = ["bulk_load", "lookup", "insert", "append", "append_jitter", "erase", "range_scan"]
    rows = []
    for ds, size in combos:
        row = [f"{ds}/{size}"]
        for op in ops:
            cells = []
            for st in ("alex", "absl", "std"):
                v, why = get_ns(res, op, st, ds, size)
                cells.append(why if v is None else (f"{v:.0f}" if v >= 10 else f"{v:.1f}"))
            row.append("/".join(cells))
        mem_ins = [bpe(res, "insert", st, ds, size) for st in ("alex", "absl", "std")]
        row.append("/".join(fmt_num(m) for m in mem_ins))
        rows.append(row)
    print(table(["dataset/size"] + ops + ["mem after inserts"], rows))
    print()

    # Targets on 10M uniform (falls back to the largest uniform size present).
    sizes = sorted({s for d, s in combos if d == "uniform"}, key=size_key)
    if not sizes:
        print("TARGETS: no uniform results")
        return 0
    tsize = "10M" if "10M" in sizes else sizes[-1]
    note = "" if tsize == "10M" else f"  [10M not run: evaluated on {tsize}, NOT the official target size]"
    print(f"Targets (uniform/{tsize}){note}")

    def target(label, r, thresh):
        v, why = r
        if v is None:
            verdict, shown = "MISS", why
        else:
            verdict, shown = ("PASS" if v >= thresh else "MISS"), f"{v:.2f}"
        print(f"  [{verdict}] {label:<58} measured {shown} (need >= {thresh:g})")
        return verdict == "PASS"

    u = "uniform"
    ok = []
    ok.append(target("lookup >= 5x faster than absl (absl/alex ns)",
                     ratio(get_ns(res, "lookup", "absl", u, tsize), get_ns(res, "lookup", "alex", u, tsize)), 5.0))
    ok.append(target("single random insert >= 2.5x faster than absl",
                     ratio(get_ns(res, "insert", "absl", u, tsize), get_ns(res, "insert", "alex", u, tsize)), 2.5))
    # Issue 14 asks for 3x (the summary used to check 4x, stricter than the issue).
    ok.append(target("insert_batch(65536) >= 3x faster per key than alex insert",
                     ratio(get_ns(res, "insert", "alex", u, tsize),
                           get_ns(res, "insert_batch_65536", "alex", u, tsize)), 3.0))
    floor = [get_ns(res, f"line_rmw_{k}", "machine", u, tsize)[0] for k in (1, 2, 3)]
    batch_ns = get_ns(res, "insert_batch_65536", "alex", u, tsize)[0]
    if all(floor) and batch_ns:
        print(f"  (info) this machine's floor, a random read-modify-write of 1 / 2 / 3 cache lines per key "
              f"with prefetching: {floor[0]:.0f} / {floor[1]:.0f} / {floor[2]:.0f} ns; insert_batch(65536): "
              f"{batch_ns:.0f} ns/key (its in-place inserts touch about 3 lines each; sorting, routing "
              f"and node rebuilds come on top)")
    ok.append(target("bulk load no slower than absl (absl/alex ns)",
                     ratio(get_ns(res, "bulk_load", "absl", u, tsize), get_ns(res, "bulk_load", "alex", u, tsize)), 1.0))
    ok.append(target("sequential append no slower than absl (absl/alex ns)",
                     ratio(get_ns(res, "append", "absl", u, tsize), get_ns(res, "append", "alex", u, tsize)), 1.0))
    ma, mb = bpe(res, "lookup", "alex", u, tsize), bpe(res, "lookup", "absl", u, tsize)
    mem = (mb / ma, None) if (ma and mb) else (None, "n/a")
    ok.append(target(f"memory/entry <= absl (absl/alex B/e; {fmt_num(ma)} vs {fmt_num(mb)})", mem, 1.0))
    mia, mib = bpe(res, "insert", "alex", u, tsize), bpe(res, "insert", "absl", u, tsize)
    if mia and mib:
        print(f"  (info) memory/entry after random-insert workload: alex {mia:.1f} vs absl {mib:.1f} B/e")
    print(f"  {sum(ok)}/{len(ok)} targets met")

    errs = [(k, r["msg"]) for k, r in res.items() if r["error"]]
    if errs:
        print()
        print("Benchmarks that reported errors:")
        for k, msg in errs:
            print(f"  {'/'.join(k)}: {msg}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
