/*
 * ftforest C demo: a partitioned forest that loses a partition and heals itself.
 *
 * - N_PARTITIONS partitions; N_WORKERS pthreads run forest operations on them, each one
 *   bracketed by ftf_op_begin / ftf_op_end on the forest's operation tracker;
 * - the main thread runs a barrier round after round; every partition answers through an
 *   ftf_barrier (the decorator reports each outcome to the forest);
 * - from round DEAD_ROUND on, partition DEAD stops answering its barrier;
 * - the forest runtime (library threads) detects it (barrier timeouts), suspects it,
 *   confirms the failure, decides by quorum to recover it, pauses the forest (no operation
 *   runs while a phase runs), runs the recovery phases through our callbacks, resumes, and we
 *   print the statistics and the OpenMetrics text.
 * - each barrier timeout is printed with what the forest made of its report
 *   (ftf_barrier_last_report): counted towards suspicion, the suspicion itself, or ignored
 *   while the partition is already FAILED/RECOVERING. A report is about the partition's
 *   life (incarnation) when its wait began: the wait that is running when the recovery
 *   restores the partition returns at once (passed), and its report is ignored either way,
 *   as RECOVERING or, when the recovery finished first, as stale (counted in the metrics'
 *   ftforest_stale_reports_total).
 *
 * The tracker blocks through a futex wait/wake pair supplied by this program (Linux; the
 * library's own parking elsewhere): workers that find the forest paused wait for the resume.
 *
 * Exits 0 when every invariant held, 1 otherwise:
 *   - no operation ran while a recovery phase was running (checked from both sides),
 *   - every partition is HEALTHY at the end and the dead one was recovered,
 *   - pauses and resumes of the balancer and ghost sync are balanced.
 *
 * Build and run: make demo
 */
#include <pthread.h>
#include <stdatomic.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ftforest.h"

#define N_PARTITIONS 8
#define N_WORKERS 4
#define DEAD 5u
#define DEAD_ROUND 3
#define BARRIER_TIMEOUT_NS (20ull * 1000 * 1000)
#define MS (1000ull * 1000)
#define REPORTS_BEFORE_SUSPICION 2
#define CONFIRMATION_MS 150

static const ftf_forest *forest;
static const ftf_tracker *tracker;
static uint64_t t0;

/* Shared state, all atomics: written by workers, recovery callbacks and the main thread. */
static atomic_int stop_workers;
static atomic_int ops_running;      /* operations between begin and end right now */
static atomic_int phase_running;    /* recovery phases running right now */
static atomic_int violations;       /* invariant breaks */
static atomic_long ops_done;
static atomic_long ops_waited;      /* begins that found the forest paused and waited */
static atomic_long futex_waits;     /* calls of our futex wait callback */
static atomic_int partition_alive[N_PARTITIONS];
static atomic_long partition_work[N_PARTITIONS];
static atomic_int balancer_paused, ghost_paused;
static atomic_int pause_calls, resume_calls;
static atomic_int recovered;        /* RECOVERY_FINISHED with success seen */

static double ms_since_start(void) {
    return (double)(ftf_now_ns() - t0) / 1e6;
}

/* One line per call, never interleaved with another thread's (stdio's lock held). */
#define LOG(...)                                       \
    do {                                               \
        flockfile(stdout);                             \
        printf("[%8.1f ms] ", ms_since_start());       \
        printf(__VA_ARGS__);                           \
        printf("\n");                                  \
        fflush(stdout);                                \
        funlockfile(stdout);                           \
    } while (0)

static void sleep_ns(uint64_t ns) {
    struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    nanosleep(&ts, NULL);
}

/* ---- blocking for the library: a futex wait/wake pair (Linux), or the built-in parking --- */

#ifdef __linux__
/* Blocks while *addr == expected, until woken or deadline_ns (on ftf_now_ns()'s time line).
   Called by the pausing thread (the forest's dispatcher), no library lock held. */
static void futex_wait(void *userdata, uint32_t *addr, uint32_t expected, uint64_t deadline_ns) {
    (void)userdata;
    atomic_fetch_add(&futex_waits, 1);
    struct timespec rel, *timeout = NULL;
    if (deadline_ns != UINT64_MAX) {
        uint64_t now = ftf_now_ns();
        if (now >= deadline_ns) return;
        uint64_t left = deadline_ns - now;
        rel.tv_sec = (time_t)(left / 1000000000ull);
        rel.tv_nsec = (long)(left % 1000000000ull);
        timeout = &rel;
    }
    /* the kernel compares *addr with expected atomically: no lost wake-up */
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, timeout, NULL, 0);
}

/* Wakes every waiter on addr; called after the library changed *addr. */
static void futex_wake(void *userdata, uint32_t *addr) {
    (void)userdata;
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}
#endif

static const ftf_tracker *make_tracker(void) {
    const ftf_tracker *t = NULL;
#ifdef __linux__
    ftf_wait_callbacks cb = {NULL, futex_wait, futex_wake, NULL};
    if (ftf_tracker_new_with_wait(FTF_WAIT_CALLBACKS, &cb, &t) == FTF_OK) {
        printf("tracker: blocking through a futex wait/wake pair supplied by C\n");
        return t;
    }
#endif
    if (ftf_tracker_new(&t) != FTF_OK) return NULL;
    printf("tracker: blocking by the library's parking\n");
    return t;
}

/* ---- the forest's workers -------------------------------------------------------------- */

static void *worker(void *arg) {
    unsigned id = (unsigned)(uintptr_t)arg;
    unsigned p = id;
    while (!atomic_load(&stop_workers)) {
        ftf_op_token op;
        uint32_t rc = ftf_op_begin_on(tracker, id, &op);
        if (rc == FTF_PAUSED) {
            /* the forest is paused for recovery: block (through the futex callbacks) until the
               resume, at most 100 ms at a time */
            atomic_fetch_add(&ops_waited, 1);
            rc = ftf_op_begin_wait(tracker, 100 * MS, &op);
            if (rc == FTF_TIMEOUT) continue;
        }
        if (rc != FTF_OK) {
            LOG("worker %u: ftf_op_begin: %s", id, ftf_result_name(rc));
            atomic_fetch_add(&violations, 1);
            break;
        }
        atomic_fetch_add(&ops_running, 1);
        if (atomic_load(&phase_running) > 0) {
            LOG("INVARIANT BROKEN: worker %u runs an operation during a recovery phase", id);
            atomic_fetch_add(&violations, 1);
        }
        /* "refine" a few cells of partition p (skipping the dead one: it does not answer) */
        if (atomic_load(&partition_alive[p])) {
            atomic_fetch_add(&partition_work[p], 1);
        }
        sleep_ns(200 * 1000);
        atomic_fetch_sub(&ops_running, 1);
        rc = ftf_op_end(tracker, op);
        if (rc != FTF_OK) {
            LOG("worker %u: ftf_op_end: %s", id, ftf_result_name(rc));
            atomic_fetch_add(&violations, 1);
        }
        atomic_fetch_add(&ops_done, 1);
        p = (p + N_WORKERS) % N_PARTITIONS;
    }
    return NULL;
}

/* ---- the barrier: partition `rank` answers unless it is dead ---------------------------- */

static uint32_t partition_barrier(void *userdata, uint32_t rank, uint64_t timeout_ns) {
    (void)userdata;
    /* the wait ends as soon as the partition answers (e.g. once its recovery restored it),
       or at the timeout when nobody answers */
    uint64_t deadline = ftf_now_ns() + timeout_ns;
    while (!atomic_load(&partition_alive[rank])) {
        if (ftf_now_ns() >= deadline) {
            return FTF_BARRIER_TIMED_OUT;
        }
        sleep_ns(MS / 2);
    }
    return FTF_BARRIER_PASSED;
}

/* ---- recovery callbacks (called on the forest's threads, no library lock held) ---------- */

static bool run_phase(void *userdata, const ftf_phase_job *job) {
    (void)userdata;
    atomic_fetch_add(&phase_running, 1);
    int in_flight = atomic_load(&ops_running);
    LOG("recovery: partition %u attempt #%u phase %-14s (tracker paused=%d, ops in flight=%d)",
        job->rank, job->number, ftf_phase_name(job->phase), ftf_tracker_is_paused(tracker),
        in_flight);
    if (in_flight != 0 || !ftf_tracker_is_paused(tracker)) {
        LOG("INVARIANT BROKEN: a recovery phase runs while the forest is not quiescent");
        atomic_fetch_add(&violations, 1);
    }
    sleep_ns(12 * MS); /* redistribute / rebalance / validate: pretend to work */
    if (job->phase == FTF_PHASE_VALIDATING) {
        atomic_store(&partition_alive[job->rank], 1); /* the partition's data is back */
    }
    if (atomic_load(&ops_running) != 0) {
        LOG("INVARIANT BROKEN: an operation started during a recovery phase");
        atomic_fetch_add(&violations, 1);
    }
    atomic_fetch_sub(&phase_running, 1);
    return true;
}

static void cancel_attempt(void *userdata, const ftf_phase_job *job) {
    (void)userdata;
    LOG("recovery: attempt of partition %u cancelled (recovery timeout)", job->rank);
}

static void pause_balancer(void *ud) {
    (void)ud;
    atomic_store(&balancer_paused, 1);
    atomic_fetch_add(&pause_calls, 1);
    LOG("pause: balancer paused (forest gate closed, waiting for operations to drain)");
}
static void resume_balancer(void *ud) {
    (void)ud;
    atomic_store(&balancer_paused, 0);
    atomic_fetch_add(&resume_calls, 1);
    LOG("resume: balancer resumed");
}
static void pause_ghost_sync(void *ud) {
    (void)ud;
    atomic_store(&ghost_paused, 1);
    atomic_fetch_add(&pause_calls, 1);
    LOG("pause: ghost sync paused");
}
static void resume_ghost_sync(void *ud) {
    (void)ud;
    atomic_store(&ghost_paused, 0);
    atomic_fetch_add(&resume_calls, 1);
    LOG("resume: ghost sync resumed (operations run again)");
}

/* ---- events (dispatcher thread) ---------------------------------------------------------- */

static void on_event(void *userdata, const ftf_event *e) {
    (void)userdata;
    switch (e->kind) {
    case FTF_EVENT_STATUS_CHANGED: {
        const char *what = "status";
        if (e->to == FTF_HEALTH_SUSPECTED) what = "SUSPICION";
        if (e->to == FTF_HEALTH_FAILED) what = "CONFIRMATION";
        if (e->to == FTF_HEALTH_RECOVERING) what = "RECOVERY STARTED";
        if (e->to == FTF_HEALTH_HEALTHY) what = "HEALTHY AGAIN";
        LOG("%s: partition %u %s -> %s (cause %s, incarnation %u)", what, e->rank,
            ftf_health_name(e->from), ftf_health_name(e->to), ftf_cause_name(e->cause),
            e->incarnation);
        if (e->to == FTF_HEALTH_RECOVERING) {
            ftf_counts c;
            if (ftf_forest_counts(forest, &c) == FTF_OK) {
                uint32_t total = c.healthy + c.suspected + c.failed + c.recovering;
                LOG("quorum decision: %u of %u partitions healthy, %u > %u/2 -> quorum holds, "
                    "recover now (STATE 1)",
                    c.healthy, total, c.healthy, total);
            }
        }
        break;
    }
    case FTF_EVENT_PHASE_CHANGED:
        LOG("phase: partition %u attempt #%u %s -> %s", e->rank, e->number,
            ftf_phase_name(e->from), ftf_phase_name(e->to));
        break;
    case FTF_EVENT_RECOVERY_QUEUED:
        LOG("queued: partition %u (depth %u, reason %u)", e->rank, e->count, e->cause);
        break;
    case FTF_EVENT_ESCALATED:
        LOG("ESCALATED: partition %u (reason %u)", e->rank, e->cause);
        break;
    case FTF_EVENT_QUORUM_LOST:
    case FTF_EVENT_QUORUM_RESTORED:
        LOG("%s: %u of %u healthy", ftf_event_kind_name(e->kind), e->count, e->total);
        break;
    case FTF_EVENT_RETRY_SCHEDULED:
        LOG("retry: partition %u attempt #%u due in %.1f ms", e->rank, e->number,
            (double)(e->at_ns - e->time_ns) / 1e6);
        break;
    case FTF_EVENT_RECOVERY_FINISHED:
        LOG("recovery finished: partition %u %s after %u attempt(s), %.1f ms since FAILED",
            e->rank, e->success ? "SUCCEEDED" : "GAVE UP", e->number,
            (double)e->latency_ns / 1e6);
        if (e->success) atomic_store(&recovered, 1);
        break;
    default:
        LOG("event %s", ftf_event_kind_name(e->kind));
    }
}

/* ---- what the forest made of a barrier outcome (main thread) ---------------------------- */

static int silent[N_PARTITIONS]; /* a timeout of this partition was printed, no pass since */

/* The first pass after a silence: the partition answers again. */
static void print_answer(int round, uint32_t p, const ftf_barrier *b) {
    uint32_t what = 0, h = 0, inc = 0;
    if (ftf_barrier_last_report(b, &what) != FTF_OK || ftf_forest_health(forest, p, &h, &inc) != FTF_OK) {
        return;
    }
    if (what == FTF_REPORT_STALE) {
        /* the recovery finished during the wait: let the dispatcher print that first (its
           events lag a little behind the coordinator), so the lines read in causal order */
        for (int i = 0; i < 1000 && !atomic_load(&recovered); i++) sleep_ns(MS);
    }
    const char *why = "";
    if (what == FTF_REPORT_STALE) {
        why = "the wait began before its recovery finished: stale report, ignored";
    } else if (what == FTF_REPORT_IGNORED) {
        why = "still being recovered: report ignored";
    } else if (what == FTF_REPORT_CLEARED) {
        why = "false alarm: suspicion cleared";
    } else {
        why = "success counted";
    }
    LOG("round %d: partition %u answers its barrier again (%s; %s, incarnation %u)", round, p, why,
        ftf_health_name(h), inc);
}

static void print_timeout(int round, uint32_t p, const ftf_barrier *b) {
    uint32_t what = 0;
    ftf_partition_info info;
    if (ftf_barrier_last_report(b, &what) != FTF_OK ||
        ftf_forest_partition(forest, p, &info) != FTF_OK) {
        LOG("round %d: barrier timeout of partition %u was not reported", round, p);
        atomic_fetch_add(&violations, 1);
        return;
    }
    switch (what) {
    case FTF_REPORT_COUNTED:
        if (info.health == FTF_HEALTH_HEALTHY) {
            LOG("DETECTION: round %d: barrier timed out waiting for partition %u "
                "(failure %u in a row, suspicion at %d)",
                round, p, info.consecutive_failures, REPORTS_BEFORE_SUSPICION);
        } else {
            LOG("round %d: partition %u still silent (%s, failure confirmed %d ms after the "
                "suspicion unless it answers)",
                round, p, ftf_health_name(info.health), CONFIRMATION_MS);
        }
        break;
    case FTF_REPORT_SUSPECTED:
        LOG("DETECTION: round %d: barrier timed out waiting for partition %u "
            "(failure %u in a row: the forest suspects it)",
            round, p, info.consecutive_failures);
        break;
    case FTF_REPORT_IGNORED:
        LOG("round %d: partition %u still silent (%s: recovery under way, report ignored)",
            round, p, ftf_health_name(info.health));
        break;
    case FTF_REPORT_STALE:
        LOG("round %d: a wait for partition %u that began before its recovery finished timed "
            "out (it is %s in incarnation %u now: stale report, ignored)",
            round, p, ftf_health_name(info.health), info.incarnation);
        break;
    default:
        LOG("round %d: barrier timeout of partition %u: report outcome %u", round, p, what);
    }
}

/* ---- main --------------------------------------------------------------------------------- */

static int check(uint32_t rc, const char *what) {
    if (rc != FTF_OK) {
        fprintf(stderr, "%s: %s (%s)\n", what, ftf_result_name(rc), ftf_result_message(rc));
        return 0;
    }
    return 1;
}

int main(void) {
    t0 = ftf_now_ns();
    printf("ftforest demo (%s): %d partitions, %d workers, partition %u stops answering at "
           "round %d\n\n",
           ftf_version(), N_PARTITIONS, N_WORKERS, DEAD, DEAD_ROUND);
    if (ftf_version_number() != FTF_VERSION_NUMBER) {
        fprintf(stderr, "header/library version mismatch\n");
        return 1;
    }

    /* configuration: 2 consecutive failures -> SUSPECTED, FAILED after 150 ms */
    ftf_config_builder *b = NULL;
    const ftf_config *cfg = NULL;
    if (!check(ftf_config_builder_new(&b), "config builder")) return 1;
    check(ftf_config_builder_set_reports_before_suspicion(b, REPORTS_BEFORE_SUSPICION), "reports");
    check(ftf_config_builder_set_failure_confirmation_ns(b, CONFIRMATION_MS * MS), "confirmation");
    check(ftf_config_builder_set_max_concurrent(b, 2), "max_concurrent");
    check(ftf_config_builder_set_recovery_timeout_ns(b, 5000 * MS), "recovery timeout");
    check(ftf_config_builder_set_backoff_ns(b, 20 * MS, 200 * MS), "backoff");
    check(ftf_config_builder_set_pause_timeout_ns(b, 2000 * MS, FTF_PAUSE_ABORT_AND_RETRY), "pause");
    uint32_t rc = ftf_config_builder_build(b, &cfg);
    if (rc != FTF_OK) {
        fprintf(stderr, "config: %s: field %s: %s\n", ftf_result_name(rc),
                ftf_config_builder_error_field(b), ftf_config_builder_error_reason(b));
        ftf_config_builder_free(b);
        return 1;
    }
    ftf_config_builder_free(b);

    ftf_recovery_callbacks cb = {
        .userdata = NULL,
        .run_phase = run_phase,
        .cancel = cancel_attempt,
        .pause_balancer = pause_balancer,
        .resume_balancer = resume_balancer,
        .pause_ghost_sync = pause_ghost_sync,
        .resume_ghost_sync = resume_ghost_sync,
        .finalizer = NULL,
    };
    const ftf_tracker *own = make_tracker();
    if (!own) return 1;
    if (!check(ftf_forest_new(cfg, N_PARTITIONS, own, &cb, &forest), "forest")) return 1;
    ftf_config_free(cfg);
    ftf_tracker_free(own); /* the forest keeps its own reference */
    tracker = ftf_forest_tracker(forest);
    ftf_listener_handle listener;
    if (!check(ftf_forest_subscribe(forest, on_event, NULL, NULL, &listener), "subscribe"))
        return 1;
    if (!check(ftf_forest_start(forest), "start")) return 1;

    ftf_barrier *barriers[N_PARTITIONS];
    for (uint32_t p = 0; p < N_PARTITIONS; p++) {
        atomic_store(&partition_alive[p], 1);
        if (!check(ftf_barrier_new_for_forest(forest, p, partition_barrier, NULL, NULL, true,
                                              &barriers[p]),
                   "barrier"))
            return 1;
    }

    pthread_t workers[N_WORKERS];
    for (uintptr_t i = 0; i < N_WORKERS; i++) {
        pthread_create(&workers[i], NULL, worker, (void *)i);
    }

    int rounds_after_recovery = 0;
    int round = 0;
    uint64_t deadline = ftf_now_ns() + 20000 * MS;
    while (ftf_now_ns() < deadline) {
        round++;
        if (round == DEAD_ROUND) {
            LOG("fault injected: partition %u stops answering its barrier", DEAD);
            atomic_store(&partition_alive[DEAD], 0);
        }
        for (uint32_t p = 0; p < N_PARTITIONS; p++) {
            uint32_t outcome = FTF_BARRIER_PASSED;
            rc = ftf_barrier_wait(barriers[p], BARRIER_TIMEOUT_NS, &outcome);
            if (rc != FTF_OK) {
                LOG("barrier %u: %s", p, ftf_result_name(rc));
                atomic_fetch_add(&violations, 1);
            } else if (outcome == FTF_BARRIER_TIMED_OUT) {
                print_timeout(round, p, barriers[p]);
                silent[p] = 1;
            } else if (silent[p]) {
                print_answer(round, p, barriers[p]);
                silent[p] = 0;
            }
        }
        if (atomic_load(&recovered) && ++rounds_after_recovery >= 5) {
            break;
        }
        sleep_ns(10 * MS);
    }

    atomic_store(&stop_workers, 1);
    for (int i = 0; i < N_WORKERS; i++) {
        pthread_join(workers[i], NULL);
    }
    for (uint32_t p = 0; p < N_PARTITIONS; p++) {
        ftf_barrier_free(barriers[p]);
    }
    ftf_forest_stop(forest);

    /* ---- report ---- */
    ftf_stats s;
    ftf_forest_stats(forest, &s);
    printf("\n== statistics ==\n");
    printf("partitions: %u total, %u healthy, %u suspected, %u failed, %u recovering; quorum %s\n",
           s.total, s.healthy, s.suspected, s.failed, s.recovering, s.quorum ? "yes" : "no");
    printf("health level: %s, alerts 0x%x\n", ftf_level_name(ftf_forest_level(forest)),
           ftf_forest_alerts(forest));
    printf("suspicions %llu, failures detected %llu, false alarms %llu\n",
           (unsigned long long)s.suspicions, (unsigned long long)s.failures_detected,
           (unsigned long long)s.false_alarms);
    printf("recoveries: attempted %llu, succeeded %llu, failed %llu, retried %llu, queued %llu, "
           "escalated %llu\n",
           (unsigned long long)s.recoveries_attempted, (unsigned long long)s.recoveries_succeeded,
           (unsigned long long)s.recoveries_failed, (unsigned long long)s.recoveries_retried,
           (unsigned long long)s.recoveries_queued, (unsigned long long)s.escalations);
    printf("detection latency: avg %.1f ms (first failure report -> FAILED)\n",
           (double)s.detection_latency.avg_ns / 1e6);
    printf("recovery latency:  avg %.1f ms, max %.1f ms (FAILED -> HEALTHY)\n",
           (double)s.recovery_latency.avg_ns / 1e6, (double)s.recovery_latency.max_ns / 1e6);
    printf("operations: %ld done, %ld found the forest paused and waited for the resume "
           "(%ld futex waits), %d still running\n",
           atomic_load(&ops_done), atomic_load(&ops_waited), atomic_load(&futex_waits),
           atomic_load(&ops_running));

    size_t needed = 0;
    ftf_forest_metrics(forest, NULL, 0, &needed);
    char *text = malloc(needed);
    if (text && ftf_forest_metrics(forest, text, needed, &needed) == FTF_OK) {
        printf("\n== metrics (OpenMetrics, %zu bytes) ==\n%s", needed - 1, text);
    }
    free(text);

    /* ---- invariants ---- */
    int ok = 1;
    if (atomic_load(&violations) != 0) {
        printf("FAIL: %d invariant violation(s)\n", atomic_load(&violations));
        ok = 0;
    }
    for (uint32_t p = 0; p < N_PARTITIONS; p++) {
        uint32_t h = 99, inc = 0;
        ftf_forest_health(forest, p, &h, &inc);
        if (h != FTF_HEALTH_HEALTHY) {
            printf("FAIL: partition %u left %s\n", p, ftf_health_name(h));
            ok = 0;
        }
    }
    if (!atomic_load(&recovered) || s.recoveries_succeeded < 1) {
        printf("FAIL: partition %u was never recovered\n", DEAD);
        ok = 0;
    }
    if (atomic_load(&pause_calls) != atomic_load(&resume_calls) || atomic_load(&balancer_paused) ||
        atomic_load(&ghost_paused) || ftf_tracker_is_paused(tracker)) {
        printf("FAIL: pauses and resumes are not balanced\n");
        ok = 0;
    }

    ftf_forest_unsubscribe(forest, listener);
    ftf_tracker_free(tracker);
    ftf_forest_free(forest);
    printf("\n%s\n", ok ? "demo OK: partition recovered, no operation ran during the pause"
                        : "demo FAILED");
    return ok ? 0 : 1;
}
