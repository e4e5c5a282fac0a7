/*
 * The FFI hot path from C: ftf_op_begin + ftf_op_end on one tracker, one thread, and the
 * opt-in checked pair ftf_op_begin_checked + ftf_op_end_checked (one caller-owned slot).
 * Prints ns per begin+end pair (best of 7 rounds) as `C <label> token <ns>` and
 * `C <label> checked <ns>` lines.
 *
 * `make bench-c` (scripts/bench-c.sh) runs this program linked against the shared and the
 * static library, interleaved with the same pair through Rust's Tracker
 * (ffi/examples/rust_hot_path.rs), and prints the best of each and the C / Rust ratios.
 *
 *   target/c/bench_c [iterations [label]]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "ftforest.h"

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One pair through the token API; 0 on success. */
static int token_pair(const ftf_tracker *t, ftf_op_slot *unused) {
    (void)unused;
    ftf_op_token tok;
    return ftf_op_begin(t, &tok) != FTF_OK || ftf_op_end(t, tok) != FTF_OK;
}

/* One pair through the checked slot API; 0 on success. */
static int checked_pair(const ftf_tracker *t, ftf_op_slot *slot) {
    return ftf_op_begin_checked(t, slot) != FTF_OK || ftf_op_end_checked(t, slot) != FTF_OK;
}

/* Best ns per pair over 7 rounds, or a negative value on an unexpected result. */
static double measure(const ftf_tracker *t, long iterations,
                      int (*pair)(const ftf_tracker *, ftf_op_slot *)) {
    ftf_op_slot slot = {0};
    double best = 1e30;
    for (int round = 0; round < 7; round++) {
        uint64_t start = now_ns();
        for (long i = 0; i < iterations; i++) {
            if (pair(t, &slot)) {
                return -1.0;
            }
        }
        double ns = (double)(now_ns() - start) / (double)iterations;
        if (ns < best) {
            best = ns;
        }
    }
    return best;
}

int main(int argc, char **argv) {
    long iterations = argc > 1 ? atol(argv[1]) : 5000000;
    const char *label = argc > 2 ? argv[2] : "shared";
    if (iterations <= 0) {
        iterations = 5000000;
    }
    const ftf_tracker *t = NULL;
    if (ftf_tracker_new(&t) != FTF_OK) {
        return 1;
    }
    double token = measure(t, iterations, token_pair);
    double checked = measure(t, iterations, checked_pair);
    ftf_tracker_free(t);
    if (token < 0 || checked < 0) {
        fprintf(stderr, "unexpected result\n");
        return 1;
    }
    printf("C %s token %.2f\n", label, token);
    printf("C %s checked %.2f\n", label, checked);
    return 0;
}
