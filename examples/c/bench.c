/*
 * The FFI hot path from C: ftf_op_begin + ftf_op_end on one tracker, one thread.
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

int main(int argc, char **argv) {
    long iterations = argc > 1 ? atol(argv[1]) : 5000000;
    if (iterations <= 0) {
        iterations = 5000000;
    }
    const ftf_tracker *t = NULL;
    if (ftf_tracker_new(&t) != FTF_OK) {
        return 1;
    }
    double best = 1e30;
    for (int round = 0; round < 7; round++) {
        uint64_t start = now_ns();
        for (long i = 0; i < iterations; i++) {
            ftf_op_token tok;
            if (ftf_op_begin(t, &tok) != FTF_OK || ftf_op_end(t, tok) != FTF_OK) {
                fprintf(stderr, "unexpected result\n");
                ftf_tracker_free(t);
                return 1;
            }
        }
        double ns = (double)(now_ns() - start) / (double)iterations;
        if (ns < best) {
            best = ns;
        }
    }
    printf("C   ftf_op_begin+ftf_op_end: %.2f ns/op (best of 7 x %ld)\n", best, iterations);
    ftf_tracker_free(t);
    return 0;
}
