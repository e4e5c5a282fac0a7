#!/usr/bin/env python3
"""Footprint of ftforest-core per target, from the built fp-* images (issue 10).

Flash of a layer = the growth of .text + .rodata + .data (initial values live in flash)
from the previous image, minus compiler-builtins mem* routines that the layer pulled in
(every real firmware has them; reported separately). RAM = the sizes of the FTF_FP_*
statics (nm -S). Usage: footprint.py TARGET_DIR [--gate] (gates: thumbv7em only).
Prints a Markdown table and one "N passed, M failed" line for the gates.
"""
import re
import subprocess
import sys

TARGETS = ["thumbv7em-none-eabihf", "thumbv6m-none-eabi", "riscv32imc-unknown-none-elf"]
IMAGES = ["fp-base", "fp-tracker", "fp-lockq", "fp-coord"]
N = 64
KIB = 1024

# Goals of issue 10 (thumbv7em-none-eabihf, opt-level "s", LTO), and no-regression ceilings
# for the goals not met yet (see README.md "Footprint": what is missing and why).
# Fixed RAM ceiling: 3456 until the merge of per-signal detection, per-partition stats and
# alert thresholds grew the Coordinator value by 48 B (fixed RAM 3416 -> 3464 B); raised to
# the measured 3464 as a no-regression ceiling, not a goal (the goal stays 2 KiB). Raised
# again to the measured 3496 by issue 7's cancel handshake (Config::cancel_timeout and the
# cancel statistics in the coordinator value, +32 B). Raised to the measured 3512 by issue 8's
# runtime membership (a fifth health count in the table, Stats::absent/joins/leaves in the
# coordinator's counters, +16 B). Then issue 8's fence state (core/src/coord/fence.rs: the token in each
# recovery slot, the ReleaseFence records and abandoned attempt ids, R of each;
# availability flags; Config::fence_retry / fenced / local_confirmation) +120 B.
GOALS = {
    "tracker+health+table flash": (2 * KIB, None),
    # 23 KiB until issue 7 (cancel handshake, per-signal detection, per-partition statistics,
    # run-time thresholds, review fixes) grew the core to 23,588 B; no-regression ceiling.
    # Issue 8's fence code (core/src/coord/fence.rs and its hooks in poll_action, drive, vacate
    # and expire_recoveries; local_confirmation) measured +1,380 B; membership +316 B. The
    # ceiling is the measured size after both (and after Config's durations became 8-byte
    # spans, -400 B); no-regression, not the goal. Measured with panic-location paths relative
    # to the repository (scripts/test-embedded.sh remaps them), so the clone's path cannot move it.
    # Then lowered with each size reduction (README.md "Footprint" lists them): 24,068 ->
    # 22,596 B: Histogram::quantile's `clamp` was the core's last panic path, which linked the
    # panic handler's formatting (1,472 B). 22,596 -> 21,056 B: the coordinator adds and
    # compares the configuration's stored Spans (u64 ns) with Instants directly instead of
    # through Duration (each round trip was a 64-bit division and a 128-bit multiplication).
    # 21,056 -> 20,360 B: the core's remaining 64-bit divisions go through one small helper
    # (core/src/arith.rs) instead of compiler-builtins' generic 64-bit divider (0.9 KiB).
    # 20,360 -> 19,112 B: one out-of-line body for code inlined at many call sites (the
    # statistics' counter increment, Coordinator::room, Instant::add_span). 19,112 -> 18,388 B:
    # the same for PartitionTable::count/has_quorum, RecoveryMode::exact,
    # Coordinator::emit/lower_deadline (tracker+health+table -52 B of it). 18,388 -> 17,988 B:
    # ten more, each kept only where the image shrank (HealthCell::load, detect_one, ...).
    # 17,988 -> 17,972 B: fences_out likewise. 17,972 -> 17,124 B: issue 8's fence machinery
    # behind the core feature `fence` (on by default, off in the images). 17,124 -> 16,660 B:
    # the statistics' two latency histograms behind the core feature `histograms`.
    # 16,660 -> 15,684 B: ConfigError's field and reason are one-byte enums whose names are
    # text only in their Display (0.7 KiB of strings were linked by validation alone).
    # 15,684 -> 15,144 B: poll_timeout and the partition deadline without Option<Instant>
    # (Instant::MAX is "none"), latencies to microseconds without 128-bit arithmetic.
    # 15,144 -> 15,072 B: construction adopts the cells in the pass that resets the slots.
    # 15,072 -> 14,588 B: Coordinator::part_mut and the queue's ring lock, unlock, member word
    # and ring slot out of line (lock + queue 1,656 -> 1,536 B of it).
    "whole core + coordinator(64) flash": (12 * KIB, 14588),
    "RAM per partition": (64, None),
    "fixed RAM": (2 * KIB, None),
}


def tool(target, name):
    # GNU binutils for Arm; the host's multi-arch binutils read the RISC-V ELF.
    return ("arm-none-eabi-" + name) if target.startswith("thumb") else name


def sections(target, path):
    out = subprocess.run([tool(target, "size"), "-A", path], check=True,
                         capture_output=True, text=True).stdout
    sec = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sec[parts[0]] = int(parts[1])
    return sec


def symbols(target, path):
    out = subprocess.run([tool(target, "nm"), "-S", "-C", path], check=True,
                         capture_output=True, text=True).stdout
    syms = {}
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ ([0-9a-f]+) (\w) (.*)$", line)
        if m:
            syms[m.group(3)] = (int(m.group(1), 16), m.group(2))
    return syms


def builtins(syms):
    pat = re.compile(r"(compiler_builtins::mem::|__aeabi_mem|^mem(cpy|set|move|cmp)$|^bcmp$)")
    return sum(size for name, (size, kind) in syms.items() if kind in "tT" and pat.search(name))


def measure(target_dir, target):
    rows = {}
    for img in IMAGES:
        path = f"{target_dir}/{target}/release/{img}"
        sec = sections(target, path)
        syms = symbols(target, path)
        flash = sec.get(".text", 0) + sec.get(".rodata", 0) + sec.get(".data", 0)
        rows[img] = dict(flash=flash, mem=builtins(syms), syms=syms,
                         heap=any("__rust_alloc" in s or "__rdl_alloc" in s for s in syms),
                         panics=sorted(s for s in syms if "panicking" in s))
    return rows


def main():
    target_dir = sys.argv[1]
    gate = "--gate" in sys.argv
    print("| target | tracker+health+table | + lock + queue | + coordinator (64) | whole core | mem* builtins | RAM/partition | fixed RAM | panic paths |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    results = {}
    for target in TARGETS:
        r = measure(target_dir, target)
        d = {}
        prev = "fp-base"
        for img in IMAGES[1:]:
            d[img] = (r[img]["flash"] - r[prev]["flash"]) - (r[img]["mem"] - r[prev]["mem"])
            prev = img
        whole = sum(d.values())
        s = r["fp-coord"]["syms"]
        size = lambda n: s.get(n, (0, ""))[0]
        per_part = (size("FTF_FP_CELLS") + size("FTF_FP_LOCKS") + size("FTF_FP_QUEUE")
                    + size("FTF_FP_SLOTS") - 8) / N  # -8: the Singleton flag, padded
        fixed = size("FTF_FP_COORD") - 8 + size("FTF_FP_TRACKER")
        mem = r["fp-coord"]["mem"] - r["fp-base"]["mem"]
        panics = ", ".join(p.split("::")[-1] for p in r["fp-coord"]["panics"]) or "none"
        print(f"| {target} | {d['fp-tracker']} B | +{d['fp-lockq']} B | +{d['fp-coord']} B "
              f"| {whole} B ({whole / KIB:.1f} KiB) | {mem} B | {per_part:.2f} B | {fixed} B | {panics} |")
        results[target] = dict(tracker=d["fp-tracker"], whole=whole, per_part=per_part,
                               fixed=fixed, heap=any(x["heap"] for x in r.values()),
                               tracker_panics=r["fp-tracker"]["panics"],
                               coord_panics=r["fp-coord"]["panics"])
    if not gate:
        return 0
    v7 = results["thumbv7em-none-eabihf"]
    checks = [
        ("tracker+health+table flash", v7["tracker"]),
        ("whole core + coordinator(64) flash", v7["whole"]),
        ("RAM per partition", v7["per_part"]),
        ("fixed RAM", v7["fixed"]),
    ]
    passed = failed = 0
    print()
    for name, value in checks:
        goal, ceiling = GOALS[name]
        if value <= goal:
            verdict, ok = f"goal met (<= {goal})", True
        elif ceiling is not None and value <= ceiling:
            verdict, ok = f"GOAL NOT MET (> {goal}); within the no-regression ceiling {ceiling}", True
        else:
            verdict, ok = f"exceeds {ceiling if ceiling is not None else goal}", False
        print(f"gate {name}: {value:.0f} -> {verdict}" + ("" if ok else "  FAIL"))
        passed, failed = passed + ok, failed + (not ok)
    for target, res in results.items():
        ok = not res["heap"]
        print(f"gate no heap ({target}): {'ok' if ok else 'FAIL: an allocator is linked'}")
        passed, failed = passed + ok, failed + (not ok)
        ok = not res["tracker_panics"]
        print(f"gate tracker+health+table link no panic path ({target}): "
              f"{'ok' if ok else 'FAIL: ' + ', '.join(res['tracker_panics'])}")
        passed, failed = passed + ok, failed + (not ok)
        # The whole core too: one reachable panic links the panic handler's formatting
        # (`core::fmt` for `&str`, `u64`, locations: ~1.4 KiB on thumbv7em).
        ok = not res["coord_panics"]
        print(f"gate whole core + coordinator link no panic path ({target}): "
              f"{'ok' if ok else 'FAIL: ' + ', '.join(res['coord_panics'])}")
        passed, failed = passed + ok, failed + (not ok)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
