#!/bin/sh
# `make bench-c`: the FFI hot path from C next to the same pair in Rust, in ONE run.
#
# Runs, interleaved ROUNDS times (default 5) so that a burst of load hits every program alike:
#   * target/release/examples/rust_hot_path  Tracker::begin_token + end_token (and the guard)
#   * target/c/bench_c                       ftf_op_begin + ftf_op_end (and the checked pair),
#                                            linked against libftforest.so
#   * target/c/bench_c_static                the same program linked against libftforest.a
# Each program reports the best of 7 rounds of ITERATIONS pairs (default 2,000,000); this script
# keeps the best of all its runs per path and prints them with the ratio to the Rust token pair.
#
#   scripts/bench-c.sh [ITERATIONS]        (ROUNDS=n to change the number of interleavings)
set -eu
ITER=${1:-2000000}
ROUNDS=${ROUNDS:-5}
BIN=${BIN:-target}
echo "machine load: $(uptime | sed 's/.*load average/load average/')"
i=0
while [ "$i" -lt "$ROUNDS" ]; do
    "$BIN/release/examples/rust_hot_path" "$ITER"
    "$BIN/c/bench_c" "$ITER" shared
    "$BIN/c/bench_c_static" "$ITER" static
    i=$((i + 1))
done | awk -v iter="$ITER" -v rounds="$ROUNDS" '
    $1 == "RUST" { k = "Rust " $2; v = $3 }
    $1 == "C"    { k = "C (" $2 ") " $3; v = $4 }
    { if (!(k in best) || v < best[k]) best[k] = v; if (!(k in seen)) { seen[k] = 1; order[n++] = k } }
    END {
        printf "best of %d runs x 7 rounds x %d pairs, ns per begin+end pair:\n", rounds, iter
        base = best["Rust token"]
        for (j = 0; j < n; j++) {
            k = order[j]
            printf "  %-22s %7.2f ns   %5.2fx Rust token\n", k, best[k], best[k] / base
        }
    }'
echo "machine load: $(uptime | sed 's/.*load average/load average/')"
