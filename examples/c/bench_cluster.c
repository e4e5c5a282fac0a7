/*
 * What joining a cluster adds to the hot path: ftf_op_begin + ftf_op_end on the forest's
 * tracker, one thread, the same loop before joining, while joined (the member's keepalive,
 * watch and coordinator threads running against etcd) and after leaving, in one process.
 * Each is the median of RUNS runs of `iterations` pairs. Goal: no difference (the hot path
 * touches neither the network nor a lock).
 *
 *   make bench-cluster-c     (starts a single-member etcd on loopback, FTF_ETCD)
 *   target/c/bench_cluster [iterations]
 */
#ifndef FTF_CLUSTER
#define FTF_CLUSTER 1
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ftforest.h"

#define RUNS 9

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median ns per begin+end pair over RUNS runs; negative on an unexpected result. */
static double median_pair_ns(const ftf_tracker *t, long iterations) {
    double runs[RUNS];
    for (int r = 0; r < RUNS; r++) {
        uint64_t start = now_ns();
        for (long i = 0; i < iterations; i++) {
            ftf_op_token tok;
            if (ftf_op_begin(t, &tok) != FTF_OK || ftf_op_end(t, tok) != FTF_OK) return -1.0;
        }
        runs[r] = (double)(now_ns() - start) / (double)iterations;
    }
    qsort(runs, RUNS, sizeof runs[0], cmp);
    return runs[RUNS / 2];
}

static bool phase(void *ud, const ftf_phase_job *job) {
    (void)ud;
    (void)job;
    return true;
}

int main(int argc, char **argv) {
    long iterations = argc > 1 ? atol(argv[1]) : 10000000;
    const char *eps = getenv("FTF_ETCD");
    if (!eps || iterations <= 0) {
        fprintf(stderr, "usage: FTF_ETCD=http://127.0.0.1:PORT %s [iterations]\n", argv[0]);
        return 2;
    }
    ftf_recovery_callbacks cb = {.run_phase = phase};
    const ftf_forest *forest = NULL;
    if (ftf_forest_new(NULL, 2, NULL, &cb, &forest) != FTF_OK) return 1;
    const ftf_tracker *t = ftf_forest_tracker(forest);

    double before = median_pair_ns(t, iterations);

    char prefix[96];
    snprintf(prefix, sizeof prefix, "ftf/bench/%ld/", (long)getpid());
    ftf_cluster_config *cfg = NULL;
    const ftf_cluster *member = NULL;
    uint32_t rc = ftf_cluster_config_new("bench", 2, &cfg);
    if (rc == FTF_OK) rc = ftf_cluster_config_add_endpoint(cfg, eps);
    if (rc == FTF_OK) rc = ftf_cluster_config_set_prefix(cfg, prefix);
    if (rc == FTF_OK) rc = ftf_cluster_config_add_rank(cfg, 0);
    if (rc == FTF_OK) rc = ftf_cluster_config_add_rank(cfg, 1);
    if (rc == FTF_OK) rc = ftf_cluster_join(cfg, forest, &member);
    ftf_cluster_config_free(cfg);
    if (rc != FTF_OK) {
        fprintf(stderr, "join: %s\n", ftf_result_name(rc));
        return 1;
    }
    usleep(300 * 1000); /* the member's loops are up and talking to etcd */
    ftf_cluster_stats s0, s1;
    ftf_cluster_stats_get(member, &s0);
    double joined = median_pair_ns(t, iterations);
    ftf_cluster_stats_get(member, &s1);
    ftf_cluster_leave(member);
    ftf_cluster_free(member);
    double after = median_pair_ns(t, iterations);
    ftf_forest_free(forest);
    if (before < 0 || joined < 0 || after < 0) {
        fprintf(stderr, "unexpected result from ftf_op_begin/ftf_op_end\n");
        return 1;
    }
    printf("ftf_op_begin + ftf_op_end on the forest's tracker, ns per pair (median of %d runs of "
           "%ld)\n",
           RUNS, iterations);
    printf("  before join   %6.2f\n", before);
    printf("  joined        %6.2f   (meanwhile the member sent %llu keepalives, %llu requests)\n",
           joined, (unsigned long long)(s1.keepalives_sent - s0.keepalives_sent),
           (unsigned long long)(s1.requests - s0.requests));
    printf("  after leave   %6.2f\n", after);
    printf("  joined / before = %.3f\n", joined / before);
    return 0;
}
