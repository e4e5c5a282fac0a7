/*
 * cluster_node: one C process of an ftforest cluster on etcd (the C twin of the Rust
 * ftf-node, cluster/src/bin/ftf-node; the cluster demo runs both kinds in one cluster).
 *
 * - hosts the given ranks of a small C forest: a toy per-rank store, one counter per rank,
 *   persisted in the cluster store (etcd key store/<rank>) by fenced writes;
 * - joins with ftf_cluster_join, the forest attached: its tracker is the gate the cluster-wide
 *   pause closes, its run_phase runs the recovery phases of the ranks this process recovers;
 * - a worker thread makes one owner write per hosted rank every --op-interval-ms inside
 *   ftf_op_begin / ftf_op_end (skipped while paused), ftf_cluster_put with token 0; the value
 *   carries rank, incarnation, a per-process sequence number and the count;
 * - run_phase: REDISTRIBUTING reads the dead rank's value (ftf_cluster_get) and writes it
 *   back under this process's fencing token (ftf_cluster_check_fence, then ftf_cluster_put
 *   with job->fence) for --phase-ms; the other phases last --phase-ms;
 * - prints one JSON object per line on stdout: every cluster event's json (the library's,
 *   the same format ftf-node prints and ftf-check reads) plus node_* lines (node_started,
 *   node_write, node_phase, node_balancer, node_command, node_seen, node_left, node_stopped);
 * - stdin, one command per line: drop-keepalives | fault-none | stats | leave | quit;
 *   SIGTERM/SIGINT = leave. quit (and stdin closed) exits without leaving, as ftf-node does:
 *   the lease then expires after the TTL.
 *
 *   cluster_node --endpoints URL[,URL..] --proc ID --ranks R[,R..] --n N [--k K]
 *                [--ttl-ms MS] [--prefix P] [--op-interval-ms MS] [--phase-ms MS]
 *                [--pause-timeout-ms MS] [--block-phase PHASE]
 *
 * --block-phase (tests only): run_phase blocks forever in that phase (1 = DETECTING ..
 * 4 = VALIDATING), so that a test can kill -9 the process while it holds the recovery lock.
 *
 * Exit codes: 0 after leave/quit/stdin closed, 2 on bad flags, 3 when the join failed (a
 * node_start_failed line names the ftf_result).
 */
#ifndef FTF_CLUSTER
#define FTF_CLUSTER 1
#endif
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ftforest.h"

#define MAX_RANKS 1024
#define MAX_VALUE 512
#define TRANSIENT_RETRIES 20 /* tries of a phase read/write while etcd is unavailable, 50 ms apart */

static struct {
    char endpoints[1024];
    const char *prefix, *proc;
    uint32_t ranks[MAX_RANKS];
    size_t nranks;
    uint32_t n, k;
    uint64_t ttl_ms, op_interval_ms, phase_ms, pause_timeout_ms;
    uint32_t block_phase; /* 0: never */
} cli = {.prefix = "ftf/demo/", .k = 1, .ttl_ms = 2000, .op_interval_ms = 100, .phase_ms = 200};

static const ftf_forest *forest;
static _Atomic(const ftf_cluster *) cluster; /* set once joined; run_phase may run before */
static atomic_uint_fast64_t seq;              /* unique per process */
static _Atomic uint64_t *counts;              /* the toy store: one counter per rank */
static atomic_int stop_worker;

/* ---- output: one JSON object per line, never interleaved --------------------------------- */

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void line(const char *json) {
    flockfile(stdout);
    fputs(json, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    funlockfile(stdout);
}

/* {"ts_ms":..,"proc":..,"event":<event><fields>}: fields is "" or starts with ','. */
static void emit(const char *event, const char *fmt, ...) {
    char fields[768] = "", out[1024];
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(fields, sizeof fields, fmt, ap);
        va_end(ap);
    }
    snprintf(out, sizeof out, "{\"ts_ms\":%" PRIu64 ",\"proc\":\"%s\",\"event\":\"%s\"%s}",
             now_ms(), cli.proc, event, fields);
    line(out);
}

static void sleep_ms(uint64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- the toy store ---------------------------------------------------------------------- */

/* The value of one write: {"rank","token","seq","proc","kind","count"} (ftf-node's format:
   ftf-check audits every accepted write against etcd's history by (proc, token, seq)). */
static int store_value(char *buf, size_t cap, uint32_t rank, uint64_t token, uint64_t s,
                       const char *kind, uint64_t count) {
    return snprintf(buf, cap,
                    "{\"rank\":%" PRIu32 ",\"token\":%" PRIu64 ",\"seq\":%" PRIu64
                    ",\"proc\":\"%s\",\"kind\":\"%s\",\"count\":%" PRIu64 "}",
                    rank, token, s, cli.proc, kind, count);
}

static uint64_t count_of(const char *value) {
    const char *c = strstr(value, "\"count\":");
    return c ? strtoull(c + 8, NULL, 10) : 0;
}

/* One node_write line: the outcome of a fenced write (FTF_AMBIGUOUS: may have applied). */
static void log_write(uint32_t rank, uint64_t token, uint64_t s, const char *kind,
                      uint64_t sent, uint32_t rc, uint64_t revision) {
    const char *common = ",\"rank\":%" PRIu32 ",\"token\":%" PRIu64 ",\"seq\":%" PRIu64
                         ",\"kind\":\"%s\",\"sent_ms\":%" PRIu64;
    char head[256];
    snprintf(head, sizeof head, common, rank, token, s, kind, sent);
    if (rc == FTF_OK) {
        emit("node_write", "%s,\"ok\":true,\"revision\":%" PRIu64, head, revision);
    } else {
        emit("node_write", "%s,\"ok\":false,\"ambiguous\":%s,\"error\":\"%s\"", head,
             rc == FTF_AMBIGUOUS ? "true" : "false", ftf_result_name(rc));
    }
}

/* One owner write of every hosted rank (recovered ranks included), each inside a tracker
   operation so that the cluster-wide pause waits for it; skipped while paused. */
static void *worker(void *arg) {
    (void)arg;
    const ftf_tracker *tracker = ftf_forest_tracker(forest);
    const ftf_cluster *c = atomic_load(&cluster);
    uint32_t *ranks = calloc(cli.n, sizeof *ranks);
    while (ranks && !atomic_load(&stop_worker)) {
        sleep_ms(cli.op_interval_ms);
        size_t count = 0;
        if (ftf_cluster_ranks(c, ranks, cli.n, &count) != FTF_OK) continue;
        for (size_t i = 0; i < count && !atomic_load(&stop_worker); i++) {
            uint32_t rank = ranks[i];
            uint64_t inc = 0;
            if (ftf_cluster_incarnation(c, rank, &inc) != FTF_OK) continue;
            ftf_op_token op;
            if (ftf_op_begin(tracker, &op) != FTF_OK) continue; /* paused: next round */
            uint64_t s = atomic_fetch_add(&seq, 1) + 1;
            char v[MAX_VALUE];
            int len = store_value(v, sizeof v, rank, inc, s, "owner",
                                  atomic_fetch_add(&counts[rank], 1) + 1);
            uint64_t sent = now_ms(), rev = 0;
            uint32_t rc = ftf_cluster_put(c, rank, 0, (const uint8_t *)v, (size_t)len, &rev);
            ftf_op_end(tracker, op);
            log_write(rank, inc, s, "owner", sent, rc, rev);
        }
    }
    free(ranks);
    return NULL;
}

/* ---- recovery (cluster worker thread, one phase at a time) ------------------------------ */

static const char *phase_name(uint32_t p) {
    static const char *names[] = {"Idle", "Detecting", "Redistributing", "Rebalancing",
                                  "Validating", "Complete", "Failed"};
    return p < sizeof names / sizeof names[0] ? names[p] : "?";
}

/* The dead rank's value (linearizable read), retried while etcd is unavailable. */
static uint32_t read_value(const ftf_cluster *c, uint32_t rank, char *buf, size_t cap) {
    uint32_t rc = FTF_UNAVAILABLE;
    for (int i = 0; i < TRANSIENT_RETRIES && rc == FTF_UNAVAILABLE; i++) {
        size_t len = 0;
        rc = ftf_cluster_get(c, rank, (uint8_t *)buf, cap - 1, &len);
        if (rc == FTF_OK) buf[len] = '\0';
        if (rc == FTF_EMPTY) buf[0] = '\0';
        if (rc == FTF_UNAVAILABLE) sleep_ms(50);
    }
    return rc == FTF_EMPTY ? FTF_OK : rc;
}

/* One fenced recovery write: checked locally first, retried while etcd is unavailable (a
   fresh seq each try: an ambiguous try may have applied); a stale fence ends the phase. */
static int recovery_write(const ftf_cluster *c, uint32_t rank, uint64_t token, uint64_t count) {
    for (int i = 0; i < TRANSIENT_RETRIES; i++) {
        uint32_t rc = ftf_cluster_check_fence(c, rank, token);
        if (rc != FTF_OK) {
            emit("node_fence", ",\"rank\":%" PRIu32 ",\"token\":%" PRIu64 ",\"result\":\"%s\"",
                 rank, token, ftf_result_name(rc));
            return 0;
        }
        uint64_t s = atomic_fetch_add(&seq, 1) + 1, sent = now_ms(), rev = 0;
        char v[MAX_VALUE];
        int len = store_value(v, sizeof v, rank, token, s, "recovery", count);
        rc = ftf_cluster_put(c, rank, token, (const uint8_t *)v, (size_t)len, &rev);
        log_write(rank, token, s, "recovery", sent, rc, rev);
        if (rc == FTF_OK) return 1;
        if (rc != FTF_UNAVAILABLE && rc != FTF_AMBIGUOUS) return 0;
        sleep_ms(50);
    }
    return 0;
}

static bool run_phase(void *userdata, const ftf_phase_job *job) {
    (void)userdata;
    const ftf_cluster *c = atomic_load(&cluster);
    emit("node_phase", ",\"rank\":%" PRIu32 ",\"token\":%" PRIu64 ",\"phase\":\"%s\"", job->rank,
         job->fence, phase_name(job->phase));
    if (!c) return false; /* not joined yet: the attempt is abandoned and retried */
    if (cli.block_phase != 0 && job->phase == cli.block_phase) {
        emit("node_blocked", ",\"rank\":%" PRIu32 ",\"token\":%" PRIu64, job->rank, job->fence);
        for (;;) pause(); /* tests: kill -9 us while we hold the lock */
    }
    if (job->phase != FTF_PHASE_REDISTRIBUTING) {
        sleep_ms(cli.phase_ms);
        return true;
    }
    char old[MAX_VALUE];
    if (read_value(c, job->rank, old, sizeof old) != FTF_OK) return false;
    uint64_t count = count_of(old);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (!recovery_write(c, job->rank, job->fence, count)) return false;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        uint64_t spent = (uint64_t)(now.tv_sec - start.tv_sec) * 1000u +
                         (uint64_t)((now.tv_nsec - start.tv_nsec) / 1000000L);
        if (spent >= cli.phase_ms) break;
        sleep_ms(cli.phase_ms < 50 ? cli.phase_ms : 50);
    }
    atomic_store(&counts[job->rank], count);
    return true;
}

static void pause_balancer(void *ud) {
    (void)ud;
    emit("node_balancer", ",\"paused\":true");
}

static void resume_balancer(void *ud) {
    (void)ud;
    emit("node_balancer", ",\"paused\":false");
}

/* Every cluster event, as the library renders it (the dispatcher thread, in order). A
   FAILED event is followed by node_seen: when this C listener got it (its ts_ms) beside the
   driver's stamp (event_ts_ms), the C-visible detection time the demo prints. */
static void on_event(void *userdata, const ftf_cluster_event *ev) {
    (void)userdata;
    line(ev->json);
    if (ev->kind == FTF_CLUSTER_EVENT_FAILED)
        emit("node_seen", ",\"seen\":\"failed\",\"rank\":%" PRIu32 ",\"event_ts_ms\":%" PRIu64,
             ev->rank, ev->ts_ms);
}

/* ---- command line ----------------------------------------------------------------------- */

static const char usage[] =
    "cluster_node --endpoints URL[,URL..] --proc ID --ranks R[,R..] --n N [--k K] [--ttl-ms MS]\n"
    "             [--prefix P] [--op-interval-ms MS] [--phase-ms MS] [--pause-timeout-ms MS]\n"
    "             [--block-phase PHASE]\n"
    "stdin commands: drop-keepalives | fault-none | stats | leave | quit; SIGTERM = leave\n";

static int num(const char *s, uint64_t *out) {
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || !end || *end || end == s) return 0;
    *out = v;
    return 1;
}

static int parse(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "--help") || !strcmp(f, "-h") || i + 1 >= argc) return 0;
        const char *v = argv[++i];
        uint64_t x = 0;
        if (!strcmp(f, "--endpoints")) {
            snprintf(cli.endpoints, sizeof cli.endpoints, "%s", v);
        } else if (!strcmp(f, "--prefix")) {
            cli.prefix = v;
        } else if (!strcmp(f, "--proc")) {
            cli.proc = v;
        } else if (!strcmp(f, "--ranks")) {
            char *copy = strdup(v), *save = NULL;
            for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (!num(t, &x) || x > UINT32_MAX || cli.nranks == MAX_RANKS) {
                    free(copy);
                    return 0;
                }
                cli.ranks[cli.nranks++] = (uint32_t)x;
            }
            free(copy);
        } else if (num(v, &x)) {
            if (!strcmp(f, "--n") || !strcmp(f, "-n")) cli.n = (uint32_t)x;
            else if (!strcmp(f, "--k")) cli.k = (uint32_t)x;
            else if (!strcmp(f, "--ttl-ms")) cli.ttl_ms = x;
            else if (!strcmp(f, "--op-interval-ms")) cli.op_interval_ms = x;
            else if (!strcmp(f, "--phase-ms")) cli.phase_ms = x;
            else if (!strcmp(f, "--pause-timeout-ms")) cli.pause_timeout_ms = x;
            else if (!strcmp(f, "--block-phase")) cli.block_phase = (uint32_t)x;
            else return 0;
        } else {
            return 0;
        }
    }
    /* The proc id goes into JSON lines unescaped: refuse what would need escaping (the
       library refuses '/', whitespace and control characters itself). */
    return cli.endpoints[0] && cli.proc && cli.proc[0] && cli.n > 0 &&
           !strpbrk(cli.proc, "\"\\");
}

static uint32_t configure(ftf_cluster_config **out) {
    ftf_cluster_config *cfg = NULL;
    uint32_t rc = ftf_cluster_config_new(cli.proc, cli.n, &cfg);
    char *save = NULL;
    for (char *e = strtok_r(cli.endpoints, ",", &save); e && rc == FTF_OK;
         e = strtok_r(NULL, ",", &save))
        rc = ftf_cluster_config_add_endpoint(cfg, e);
    for (size_t i = 0; i < cli.nranks && rc == FTF_OK; i++)
        rc = ftf_cluster_config_add_rank(cfg, cli.ranks[i]);
    if (rc == FTF_OK) rc = ftf_cluster_config_set_prefix(cfg, cli.prefix);
    if (rc == FTF_OK) rc = ftf_cluster_config_set_k(cfg, cli.k);
    if (rc == FTF_OK) rc = ftf_cluster_config_set_ttl_ms(cfg, cli.ttl_ms);
    if (rc == FTF_OK && cli.pause_timeout_ms)
        rc = ftf_cluster_config_set_timeout_ms(cfg, FTF_CLUSTER_TIMEOUT_PAUSE, cli.pause_timeout_ms);
    if (rc != FTF_OK) {
        ftf_cluster_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return FTF_OK;
}

static void print_stats(const ftf_cluster *c) {
    ftf_cluster_stats s;
    uint32_t rc = ftf_cluster_stats_get(c, &s);
    if (rc != FTF_OK) {
        emit("node_stats", ",\"error\":\"%s\"", ftf_result_name(rc));
        return;
    }
    emit("node_stats",
         ",\"keepalives_sent\":%" PRIu64 ",\"keepalive_acks\":%" PRIu64
         ",\"requests\":%" PRIu64 ",\"writes_accepted\":%" PRIu64 ",\"writes_refused\":%" PRIu64
         ",\"locks_granted\":%" PRIu64 ",\"recoveries_completed\":%" PRIu64
         ",\"available\":%s,\"self_fenced\":%s",
         s.keepalives_sent, s.keepalive_acks, s.requests, s.writes_accepted, s.writes_refused,
         s.locks_granted, s.recoveries_completed, s.available ? "true" : "false",
         s.self_fenced ? "true" : "false");
}

/* ---- control: stdin commands and signals ------------------------------------------------ */

enum { CMD_QUIT = 1, CMD_LEAVE = 2 };
static atomic_int command; /* what ended the main loop */

/* Reads commands from stdin (stdin closed = quit); leave/quit wake the main thread. */
static void *control(void *arg) {
    const ftf_cluster *c = arg;
    char buf[256];
    int cmd = CMD_QUIT;
    while (fgets(buf, sizeof buf, stdin)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        if (!strcmp(buf, "drop-keepalives") || !strcmp(buf, "fault-none")) {
            int drop = buf[0] == 'd';
            emit("node_command", ",\"fault\":\"%s\"", drop ? "DropKeepalives" : "None");
            ftf_cluster_fault(c, drop ? FTF_CLUSTER_FAULT_DROP_KEEPALIVES
                                      : FTF_CLUSTER_FAULT_RESUME_KEEPALIVES);
        } else if (!strcmp(buf, "stats")) {
            print_stats(c);
        } else if (!strcmp(buf, "leave") || !strcmp(buf, "quit")) {
            cmd = buf[0] == 'l' ? CMD_LEAVE : CMD_QUIT;
            break;
        }
    }
    atomic_store(&command, cmd);
    kill(getpid(), SIGUSR1);
    return NULL;
}

int main(int argc, char **argv) {
    if (!parse(argc, argv)) {
        fputs(usage, stderr);
        return 2;
    }
    /* Signals are taken by sigwait on the main thread: block them before any thread starts
       (library threads inherit the mask). */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    char ranks[MAX_RANKS * 11 + 2] = "";
    for (size_t i = 0, at = 0; i < cli.nranks; i++)
        at += (size_t)snprintf(ranks + at, sizeof ranks - at, "%s%" PRIu32, i ? "," : "",
                               cli.ranks[i]);
    emit("node_started",
         ",\"pid\":%ld,\"lang\":\"c\",\"ranks\":[%s],\"n\":%" PRIu32 ",\"k\":%" PRIu32
         ",\"ttl_ms\":%" PRIu64,
         (long)getpid(), ranks, cli.n, cli.k, cli.ttl_ms);

    counts = calloc(cli.n, sizeof *counts);
    ftf_recovery_callbacks cb = {.run_phase = run_phase,
                                 .pause_balancer = pause_balancer,
                                 .resume_balancer = resume_balancer};
    ftf_cluster_config *cfg = NULL;
    uint32_t rc = counts ? ftf_forest_new(NULL, cli.n, NULL, &cb, &forest) : FTF_OUT_OF_MEMORY;
    if (rc == FTF_OK) rc = configure(&cfg);
    const ftf_cluster *c = NULL;
    if (rc == FTF_OK) rc = ftf_cluster_join(cfg, forest, &c);
    ftf_cluster_config_free(cfg);
    if (rc != FTF_OK) {
        emit("node_start_failed", ",\"error\":\"%s\"", ftf_result_name(rc));
        ftf_forest_free(forest);
        free(counts);
        return 3;
    }
    atomic_store(&cluster, c);
    ftf_listener_handle listener;
    ftf_cluster_subscribe(c, on_event, NULL, NULL, &listener);

    pthread_t work, ctl;
    pthread_create(&work, NULL, worker, NULL);
    pthread_create(&ctl, NULL, control, (void *)c);
    int sig = 0;
    sigwait(&sigs, &sig);
    int cmd = sig == SIGUSR1 ? atomic_load(&command) : CMD_LEAVE;
    atomic_store(&stop_worker, 1);
    pthread_join(work, NULL);
    if (cmd == CMD_QUIT) {
        /* As ftf-node: exit without leaving; etcd expires the lease after the TTL. */
        emit("node_stopped", NULL);
        _exit(0);
    }
    emit("node_command", ",\"command\":\"leave\"");
    rc = ftf_cluster_leave(c);
    emit("node_left", ",\"ok\":%s,\"error\":%s%s%s", rc == FTF_OK ? "true" : "false",
         rc == FTF_OK ? "" : "\"", rc == FTF_OK ? "null" : ftf_result_name(rc),
         rc == FTF_OK ? "" : "\"");
    ftf_cluster_unsubscribe(c, listener);
    ftf_cluster_free(c);
    ftf_forest_free(forest);
    emit("node_stopped", NULL);
    /* The control thread may still block in fgets: end the process without joining it. */
    fflush(stdout);
    _exit(0);
}
