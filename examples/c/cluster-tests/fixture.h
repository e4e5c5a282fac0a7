/*
 * Shared pieces of the C cluster tests (run by run.sh against real etcd on loopback):
 * the etcd endpoints from the environment, a fresh key prefix per test, a forest and a
 * configuration in one call, an event recorder, and a child cluster_node with its log.
 *
 * Every test arms watchdog(name) (60 s, FTF_TEST_WATCHDOG_S under valgrind: a hang fails the test by itself).
 */
#ifndef FTF_CLUSTER_FIXTURE_H
#define FTF_CLUSTER_FIXTURE_H

#ifndef FTF_CLUSTER
#define FTF_CLUSTER 1
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "ftforest.h"
#include "../tests/harness.h"
#include "../tests/watchdog.h"

/* The single-member etcd run.sh started (exits the test binary when it is missing). */
static inline const char *etcd_endpoints(void) {
    const char *e = getenv("FTF_ETCD");
    if (!e || !*e) {
        fprintf(stderr, "FTF_ETCD is not set: run the cluster tests through run.sh\n");
        exit(2);
    }
    return e;
}

/* Lease TTL of the tests' members (FTF_TEST_TTL_MS; run.sh raises it under valgrind). */
static inline uint64_t test_ttl_ms(void) {
    const char *t = getenv("FTF_TEST_TTL_MS");
    return t && *t ? strtoull(t, NULL, 10) : 2000;
}

static inline uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void sleep_ms(uint64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* A key prefix no other test (or earlier run) uses: ftf/ctest/<pid>-<ms>-<name>/. */
static inline void fresh_prefix(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "ftf/ctest/%ld-%" PRIu64 "-%s/", (long)getpid(), mono_ms(), name);
}

/* ---- forests ---------------------------------------------------------------------------- */

static inline bool phase_ok(void *ud, const ftf_phase_job *job) {
    (void)ud;
    (void)job;
    return true;
}

/* A forest of n partitions (not started) whose phases run `fn` (phase_ok when NULL). */
static inline const ftf_forest *new_forest(uint32_t n, ftf_run_phase_fn fn, void *ud) {
    ftf_recovery_callbacks cb = {.userdata = ud, .run_phase = fn ? fn : phase_ok};
    const ftf_forest *f = NULL;
    if (ftf_forest_new(NULL, n, NULL, &cb, &f) != FTF_OK) return NULL;
    return f;
}

/* A configuration: proc, n, endpoints (comma-separated), prefix, ranks, TTL test_ttl_ms(). */
static inline ftf_cluster_config *new_config(const char *proc, uint32_t n, const char *endpoints,
                                      const char *prefix, const uint32_t *ranks, size_t nranks) {
    ftf_cluster_config *c = NULL;
    if (ftf_cluster_config_new(proc, n, &c) != FTF_OK) return NULL;
    char eps[1024];
    snprintf(eps, sizeof eps, "%s", endpoints);
    char *save = NULL;
    for (char *e = strtok_r(eps, ",", &save); e; e = strtok_r(NULL, ",", &save))
        ftf_cluster_config_add_endpoint(c, e);
    ftf_cluster_config_set_prefix(c, prefix);
    for (size_t i = 0; i < nranks; i++) ftf_cluster_config_add_rank(c, ranks[i]);
    ftf_cluster_config_set_ttl_ms(c, test_ttl_ms());
    return c;
}

/* ---- event recorder --------------------------------------------------------------------- */

#define REC_MAX 4096

typedef struct rec_event {
    uint32_t kind, rank;
    uint64_t incarnation, token, revision;
} rec_event;

typedef struct recorder {
    pthread_mutex_t mu;
    size_t len;
    rec_event ev[REC_MAX];
    int print; /* echo each event's json to stderr */
} recorder;

static inline recorder *rec_new(int print) {
    recorder *r = calloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->print = print;
    return r;
}

static inline void rec_free(void *ud) {
    recorder *r = ud;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* The listener: the member's dispatcher thread. */
static inline void rec_on_event(void *ud, const ftf_cluster_event *e) {
    recorder *r = ud;
    if (r->print) fprintf(stderr, "    event %.*s\n", (int)e->json_len, e->json);
    pthread_mutex_lock(&r->mu);
    if (r->len < REC_MAX)
        r->ev[r->len++] = (rec_event){e->kind, e->rank, e->incarnation, e->token, e->revision};
    pthread_mutex_unlock(&r->mu);
}

/* Events of `kind` (for `rank`, or any when rank == UINT32_MAX) recorded so far. */
static inline size_t rec_count(recorder *r, uint32_t kind, uint32_t rank) {
    size_t n = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->len; i++)
        if (r->ev[i].kind == kind && (rank == UINT32_MAX || r->ev[i].rank == rank)) n++;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* Waits up to timeout_ms for an event of `kind` (and `rank`, unless UINT32_MAX); 1 + *out. */
static inline int rec_wait(recorder *r, uint32_t kind, uint32_t rank, uint64_t timeout_ms,
                    rec_event *out) {
    uint64_t end = mono_ms() + timeout_ms;
    do {
        pthread_mutex_lock(&r->mu);
        for (size_t i = 0; i < r->len; i++) {
            if (r->ev[i].kind == kind && (rank == UINT32_MAX || r->ev[i].rank == rank)) {
                if (out) *out = r->ev[i];
                pthread_mutex_unlock(&r->mu);
                return 1;
            }
        }
        pthread_mutex_unlock(&r->mu);
        sleep_ms(20);
    } while (mono_ms() < end);
    return 0;
}

/* Subscribes a fresh recorder (freed by the subscription's finalizer: read it only while
   the member lives). */
static inline recorder *subscribe_recorder(const ftf_cluster *c, int print) {
    recorder *r = rec_new(print);
    ftf_listener_handle h;
    if (ftf_cluster_subscribe(c, rec_on_event, r, rec_free, &h) != FTF_OK) {
        rec_free(r);
        return NULL;
    }
    return r;
}

/* ---- a child cluster_node --------------------------------------------------------------- */

typedef struct child_node {
    pid_t pid;
    int stdin_fd; /* the write end of its stdin (a closed stdin makes the node quit) */
    char log[256];
} child_node;

/* Starts $FTF_CLUSTER_NODE with `args` (NULL-terminated, after the program name), stdout
   to a fresh log file, stdin a pipe kept open until child_kill9. 0 on failure. */
static inline int child_start(child_node *c, const char *tag, const char *const *args) {
    const char *prog = getenv("FTF_CLUSTER_NODE");
    if (!prog) return 0;
    snprintf(c->log, sizeof c->log, "/tmp/ftf-ctest-%ld-%s.jsonl", (long)getpid(), tag);
    const char *argv[64] = {prog};
    size_t n = 1;
    for (; args[n - 1] && n < 63; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    int in[2];
    if (pipe2(in, O_CLOEXEC) != 0) return 0;
    fflush(NULL);
    c->pid = fork();
    if (c->pid < 0) {
        close(in[0]);
        close(in[1]);
        return 0;
    }
    if (c->pid == 0) {
        int out = open(c->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out < 0) _exit(127);
        dup2(out, 1);
        dup2(in[0], 0);
        alarm(0);
        execv(prog, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    c->stdin_fd = in[1];
    return 1;
}

/* SIGKILL and reap (no-op when already reaped). */
static inline void child_kill9(child_node *c) {
    if (c->pid > 0) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
        close(c->stdin_fd);
        c->pid = 0;
    }
}

/* Waits up to timeout_ms for a log line holding every one of the (up to 3) substrings;
   copies the line into `out`. */
static inline int child_wait_line(const child_node *c, const char *a, const char *b, const char *d,
                           uint64_t timeout_ms, char *out, size_t cap) {
    uint64_t end = mono_ms() + timeout_ms;
    char line[2048];
    do {
        FILE *f = fopen(c->log, "r");
        while (f && fgets(line, sizeof line, f)) {
            if (strstr(line, a) && (!b || strstr(line, b)) && (!d || strstr(line, d))) {
                if (out) snprintf(out, cap, "%s", line);
                fclose(f);
                return 1;
            }
        }
        if (f) fclose(f);
        sleep_ms(50);
    } while (mono_ms() < end);
    return 0;
}

/* The unsigned number after "field": in a JSON line (0 when absent). */
static inline uint64_t json_u64(const char *line, const char *field) {
    char key[64];
    snprintf(key, sizeof key, "\"%s\":", field);
    const char *p = strstr(line, key);
    return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

#endif /* FTF_CLUSTER_FIXTURE_H */
