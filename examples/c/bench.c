/*
 * The FFI hot path from C: ftf_op_begin + ftf_op_end on one tracker, one thread, and the
 * opt-in checked pair ftf_op_begin_checked + ftf_op_end_checked (one caller-owned slot).
 * Prints ns per begin+end pair (best of several rounds). Compare with
 * `cargo bench -p ftforest-ffi --bench ffi_hot_path` (the same pair through Rust's Tracker).
 *
 *   make bench-c            (or: target/c/bench_c [iterations])
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
    printf("C   ftf_op_begin+ftf_op_end:                 %.2f ns/op (best of 7 x %ld)\n", token,
           iterations);
    printf("C   ftf_op_begin_checked+ftf_op_end_checked: %.2f ns/op (best of 7 x %ld)\n", checked,
           iterations);
    return 0;
}
