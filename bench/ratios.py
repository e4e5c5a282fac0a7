#!/usr/bin/env python3
"""Turn criterion's results into the ratio tables of bench/README.md.

Usage: python3 bench/ratios.py [CRITERION_DIR]   (default: target/criterion)

Reads every <dir>/**/new/benchmark.json + estimates.json (criterion's headline estimate, ns:
the slope of the linear-sampling regression when present, else the mean) and the
percentiles.json files that benches/tracker.rs writes for pause_wake, and prints Markdown:
tracker table (1 thread, 2 threads, ratios vs the floor and vs ftforest), pause wake
latency, health, quorum, and a goal check. Standard library only.
"""
import json
import pathlib
import sys

FT = "ftforest_guard"
PEERS = ["floor", "ftforest_guard", "ftforest_token", "ftforest_begin_on", "ftforest_spin", "java_port",
         "std_rwlock", "parking_lot_rwlock", "sharded_lock", "mutex", "one_word"]


def load(root):
    res = {}
    for bench in root.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        key = (meta["group_id"], meta.get("function_id") or "", meta.get("value_str") or "")
        best = est.get("slope") or est["mean"]
        res[key] = best["point_estimate"]
    pct = {}
    for f in root.glob("pause_wake/*/percentiles.json"):
        pct[f.parent.name] = json.loads(f.read_text())
    return res, pct


def ns(x):
    if x is None:
        return "–"
    if x >= 100_000:
        return f"{x / 1000:,.0f} µs"
    if x >= 10_000:
        return f"{x / 1000:.1f} µs"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.2f}"


def ratio(a, b):
    return "–" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
    res, pct = load(root)
    if not res:
        sys.exit(f"no criterion results under {root}")

    def get(group, fn, val=""):
        return res.get((group, fn, val))

    one = {p: get("tracker_1t", p) for p in PEERS}
    two = {p: get("tracker_2t", p) for p in PEERS}
    wall = {p: get("tracker_2t_wall", p) for p in PEERS}
    wake = {p: get("pause_wake", p) for p in PEERS}

    print("### Tracker: begin + end (ns per pair, per thread)\n")
    print("1 thread and 2 threads: thread CPU time; 2 threads wall: wall-clock time per thread.\n")
    print("| peer | 1 thread | ÷ floor | peer ÷ ftforest | 2 threads | ÷ floor | peer ÷ ftforest "
          "| 2 threads wall | peer ÷ ftforest |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for p in PEERS:
        if one[p] is None and two[p] is None:
            continue
        print(f"| {p} | {ns(one[p])} | {ratio(one[p], one['floor'])} | {ratio(one[p], one[FT])} "
              f"| {ns(two[p])} | {ratio(two[p], two['floor'])} | {ratio(two[p], two[FT])} "
              f"| {ns(wall[p])} | {ratio(wall[p], wall[FT])} |")

    idle = {p: get("pause_resume_idle", p) for p in PEERS}
    if any(v is not None for v in idle.values()):
        print("\n### Pause + resume with nothing in flight (ns per pair, thread CPU time)\n")
        print("| peer | ns | ÷ sharded_lock | ÷ one_word | peer ÷ ftforest |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for p in PEERS:
            if idle[p] is None:
                continue
            print(f"| {p} | {ns(idle[p])} | {ratio(idle[p], idle['sharded_lock'])} "
                  f"| {ratio(idle[p], idle['one_word'])} | {ratio(idle[p], idle[FT])} |")

    print("\n### Pause wake latency: last `end` → `pause_wait` returns (ns)\n")
    print("| peer | mean (criterion) | median | p99 | samples | median ÷ ftforest |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    ft_med = pct.get(FT, {}).get("median_ns")
    for p in PEERS:
        if wake[p] is None:
            continue
        q = pct.get(p, {})
        print(f"| {p} | {ns(wake[p])} | {ns(q.get('median_ns'))} | {ns(q.get('p99_ns'))} "
              f"| {q.get('samples', '–')} | {ratio(q.get('median_ns'), ft_med)} |")

    print("\n### Health (ns per call)\n")
    print("| bench | ns |")
    print("| --- | ---: |")
    for fn in ["load", "cycle_cell", "cycle_table"]:
        print(f"| health/{fn} | {ns(get('health', fn))} |")

    sizes = sorted({int(v) for (g, f, v) in res if g == "quorum" and v})
    print("\n### Quorum test vs full scan (ns per call)\n")
    print("| partitions | `has_quorum` (O(1)) | `scan` (O(n)) | scan ÷ has_quorum |")
    print("| ---: | ---: | ---: | ---: |")
    for n in sizes:
        q, s = get("quorum", "has_quorum", str(n)), get("quorum", "scan", str(n))
        print(f"| {n:,} | {ns(q)} | {ns(s)} | {ratio(s, q)} |")

    print("\n### Goals\n")
    if one[FT] and one["floor"]:
        r = one[FT] / one["floor"]
        print(f"* 1 thread, guard pair ÷ floor = {r:.2f} (goal ≤ 1.20): {'met' if r <= 1.2 else 'MISSED'}")
    if one.get("ftforest_token") and one["floor"]:
        r = one["ftforest_token"] / one["floor"]
        print(f"* 1 thread, token pair ÷ floor = {r:.2f} (goal ≤ 1.20): {'met' if r <= 1.2 else 'MISSED'}")
    if idle.get(FT) and idle.get("sharded_lock"):
        r = idle[FT] / idle["sharded_lock"]
        print(f"* pause + resume (idle) ÷ ShardedLock write lock + unlock = {r:.2f} (goal ≤ 1.00): "
              f"{'met' if r <= 1.0 else 'MISSED'}")
    if one.get(FT) and one.get("floor"):
        r = one[FT] / one["floor"]
        print(f"* begin + end ÷ floor = {r:.2f} (issue 7 item 15: stays ≤ 1.10): "
              f"{'met' if r <= 1.1 else 'MISSED'}")
    for label, table in (("2 threads (CPU time)", two), ("2 threads (wall clock)", wall)):
        if not table.get(FT):
            continue
        others = {p: v for p, v in table.items()
                  if v is not None and p != "floor" and not p.startswith("ftforest")}
        beaten = [p for p, v in others.items() if v <= table[FT]]
        print(f"* {label}, ftforest guard ahead of every peer: "
              f"{'met' if not beaten else 'MISSED (not ahead of ' + ', '.join(beaten) + ')'}")
    qs = [get("quorum", "has_quorum", str(n)) for n in sizes]
    qs = [q for q in qs if q]
    if qs:
        r = max(qs) / min(qs)
        print(f"* quorum: slowest ÷ fastest over {', '.join(f'{n:,}' for n in sizes)} partitions "
              f"= {r:.2f} (constant if ≈ 1)")


if __name__ == "__main__":
    main()
