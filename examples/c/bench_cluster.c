/*
 * What joining a cluster adds to the hot path: ftf_op_begin + ftf_op_end on the forest's
 * tracker, one thread, the same loop with the forest detached and while joined (the member's
 * keepalive, watch and coordinator threads running against etcd), in one process. CYCLES
 * times: RUNS runs detached, join, RUNS runs joined, leave; each side's figures are the median
 * and the best of its CYCLES x RUNS runs (interleaving the two cancels the drift of a shared
 * machine; the best run is the one disturbed least). Runs are timed in this thread's CPU
 * time (CLOCK_THREAD_CPUTIME_ID).
 * Goal: no difference (the hot path touches neither the network nor a lock).
 *
 *   make bench-cluster-c     (starts a single-member etcd on loopback, FTF_ETCD)
 *   target/c/bench_cluster [iterations per run]
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

#define CYCLES 3
#define RUNS 5

/* This thread's CPU time: time the scheduler gave to other processes of the (shared)
   machine is not counted, so preemption does not pass for a cost of joining. */
static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n) {
    qsort(v, n, sizeof v[0], cmp);
    return v[n / 2];
}

/* RUNS runs of `iterations` pairs, ns per pair appended to out; 0 on an unexpected result. */
static int runs(const ftf_tracker *t, long iterations, double *out) {
    for (int r = 0; r < RUNS; r++) {
        uint64_t start = now_ns();
        for (long i = 0; i < iterations; i++) {
            ftf_op_token tok;
            if (ftf_op_begin(t, &tok) != FTF_OK || ftf_op_end(t, tok) != FTF_OK) return 0;
        }
        out[r] = (double)(now_ns() - start) / (double)iterations;
    }
    return 1;
}

static bool phase(void *ud, const ftf_phase_job *job) {
    (void)ud;
    (void)job;
    return true;
}

static const ftf_cluster *join(const ftf_forest *forest, const char *eps, const char *prefix) {
    ftf_cluster_config *cfg = NULL;
    const ftf_cluster *member = NULL;
    uint32_t rc = ftf_cluster_config_new("bench", 2, &cfg);
    if (rc == FTF_OK) rc = ftf_cluster_config_add_endpoint(cfg, eps);
    if (rc == FTF_OK) rc = ftf_cluster_config_set_prefix(cfg, prefix);
    if (rc == FTF_OK) rc = ftf_cluster_config_add_rank(cfg, 0);
    if (rc == FTF_OK) rc = ftf_cluster_config_add_rank(cfg, 1);
    if (rc == FTF_OK) rc = ftf_cluster_join(cfg, forest, &member);
    ftf_cluster_config_free(cfg);
    if (rc != FTF_OK) fprintf(stderr, "join: %s\n", ftf_result_name(rc));
    return member;
}

int main(int argc, char **argv) {
    long iterations = argc > 1 ? atol(argv[1]) : 5000000;
    const char *eps = getenv("FTF_ETCD");
    if (!eps || iterations <= 0) {
        fprintf(stderr, "usage: FTF_ETCD=http://127.0.0.1:PORT %s [iterations]\n", argv[0]);
        return 2;
    }
    ftf_recovery_callbacks cb = {.run_phase = phase};
    const ftf_forest *forest = NULL;
    if (ftf_forest_new(NULL, 2, NULL, &cb, &forest) != FTF_OK) return 1;
    const ftf_tracker *t = ftf_forest_tracker(forest);
    char prefix[96];
    snprintf(prefix, sizeof prefix, "ftf/bench/%ld/", (long)getpid());

    double detached[CYCLES * RUNS], joined[CYCLES * RUNS];
    uint64_t keepalives = 0, requests = 0;
    for (int c = 0; c < CYCLES; c++) {
        if (!runs(t, iterations, detached + c * RUNS)) return 1;
        const ftf_cluster *member = join(forest, eps, prefix);
        if (!member) return 1;
        usleep(300 * 1000); /* the member's loops are up and talking to etcd */
        ftf_cluster_stats s0, s1;
        ftf_cluster_stats_get(member, &s0);
        int ok = runs(t, iterations, joined + c * RUNS);
        ftf_cluster_stats_get(member, &s1);
        keepalives += s1.keepalives_sent - s0.keepalives_sent;
        requests += s1.requests - s0.requests;
        ftf_cluster_leave(member);
        ftf_cluster_free(member);
        if (!ok) return 1;
    }
    ftf_forest_free(forest);
    double d = median(detached, CYCLES * RUNS), j = median(joined, CYCLES * RUNS);
    /* sorted by median(): [0] is the best run (preemption only ever adds time) */
    double dmin = detached[0], jmin = joined[0];
    printf("ftf_op_begin + ftf_op_end on the forest's tracker, thread CPU ns per pair (median of "
           "%d runs of %ld, %d join/leave cycles)\n",
           CYCLES * RUNS, iterations, CYCLES);
    printf("  detached   median %6.2f   best %6.2f\n", d, dmin);
    printf("  joined     median %6.2f   best %6.2f   (meanwhile the member sent %llu keepalives, "
           "%llu requests)\n",
           j, jmin, (unsigned long long)keepalives, (unsigned long long)requests);
    printf("  joined / detached: median %.3f, best %.3f\n", j / d, jmin / dmin);
    return 0;
}
