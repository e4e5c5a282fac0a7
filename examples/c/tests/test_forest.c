/* ftf_forest: the runtime with library threads. Callbacks that report errors, callbacks that
   take too long, listeners (finalizers, self-unsubscribe, slots), lifecycle and misuse.
   No timing assertions: waits poll for an outcome with a generous deadline. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include "harness.h"

#define MS 1000000ull

typedef struct {
    atomic_int phases;
    atomic_int fail_phases;      /* fail this many phases first */
    atomic_int slow_phases;      /* make this many phases overrun the recovery timeout */
    atomic_int cancels;
    atomic_int pauses, resumes;
    atomic_int finalized;
    atomic_int events;
    atomic_int finished_ok;
    atomic_int listener_finalized;
    const ftf_forest *forest;
    ftf_listener_handle self_handle;
    atomic_int self_unsubscribed;
} embedder;

static void sleep_ms(unsigned ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool run_phase(void *ud, const ftf_phase_job *job) {
    embedder *e = ud;
    (void)job;
    atomic_fetch_add(&e->phases, 1);
    if (atomic_load(&e->slow_phases) > 0) {
        atomic_fetch_sub(&e->slow_phases, 1);
        sleep_ms(300); /* longer than the 100 ms recovery timeout */
        return true;   /* too late: refused */
    }
    if (atomic_load(&e->fail_phases) > 0) {
        atomic_fetch_sub(&e->fail_phases, 1);
        return false; /* the callback reports an error */
    }
    return true;
}
static void on_cancel(void *ud, const ftf_phase_job *job) {
    (void)job;
    atomic_fetch_add(&((embedder *)ud)->cancels, 1);
}
static void on_pause(void *ud) { atomic_fetch_add(&((embedder *)ud)->pauses, 1); }
static void on_resume(void *ud) { atomic_fetch_add(&((embedder *)ud)->resumes, 1); }
static void on_finalize(void *ud) { atomic_fetch_add(&((embedder *)ud)->finalized, 1); }

static void on_event(void *ud, const ftf_event *ev) {
    embedder *e = ud;
    atomic_fetch_add(&e->events, 1);
    if (ev->kind == FTF_EVENT_RECOVERY_FINISHED && ev->success) {
        atomic_fetch_add(&e->finished_ok, 1);
    }
}
static void on_listener_fin(void *ud) { atomic_fetch_add(&((embedder *)ud)->listener_finalized, 1); }

/* A listener that unsubscribes itself from inside the callback (no deadlock: no lock held). */
static void self_removing(void *ud, const ftf_event *ev) {
    embedder *e = ud;
    (void)ev;
    if (!atomic_exchange(&e->self_unsubscribed, 1)) {
        uint32_t rc = ftf_forest_unsubscribe(e->forest, e->self_handle);
        if (rc != FTF_OK) atomic_store(&e->self_unsubscribed, 100 + (int)rc);
    }
}

static ftf_recovery_callbacks callbacks(embedder *e) {
    ftf_recovery_callbacks cb = {e, run_phase, on_cancel, on_pause, on_resume, on_pause, on_resume,
                                 on_finalize};
    return cb;
}

static const ftf_config *fast_config(void) {
    ftf_config_builder *b = NULL;
    const ftf_config *c = NULL;
    ftf_config_builder_new(&b);
    ftf_config_builder_set_failure_confirmation_ns(b, 10 * MS);
    ftf_config_builder_set_recovery_timeout_ns(b, 100 * MS);
    ftf_config_builder_set_backoff_ns(b, 5 * MS, 20 * MS);
    ftf_config_builder_set_max_retries(b, 5);
    ftf_config_builder_set_max_concurrent(b, 2);
    CHECK_RC(ftf_config_builder_build(b, &c), FTF_OK);
    ftf_config_builder_free(b);
    return c;
}

static int wait_healthy(const ftf_forest *f, uint32_t rank, uint32_t min_inc) {
    for (int i = 0; i < 2000; i++) { /* up to ~20 s */
        uint32_t h = 99, inc = 0;
        if (ftf_forest_health(f, rank, &h, &inc) == FTF_OK && h == FTF_HEALTH_HEALTHY &&
            inc >= min_inc) {
            return 1;
        }
        sleep_ms(10);
    }
    return 0;
}

static int wait_for(atomic_int *v, int at_least) {
    for (int i = 0; i < 2000 && atomic_load(v) < at_least; i++) sleep_ms(10);
    return atomic_load(v) >= at_least;
}

TEST(failing_and_slow_callbacks_are_retried_until_recovered) {
    embedder e = {0};
    atomic_store(&e.fail_phases, 2);
    atomic_store(&e.slow_phases, 1);
    ftf_recovery_callbacks cb = callbacks(&e);
    const ftf_config *cfg = fast_config();
    const ftf_forest *f = NULL;
    CHECK_RC(ftf_forest_new(cfg, 5, NULL, &cb, &f), FTF_OK);
    ftf_config_free(cfg);
    e.forest = f;
    ftf_listener_handle h;
    CHECK_RC(ftf_forest_subscribe(f, on_event, &e, on_listener_fin, &h), FTF_OK);
    CHECK_RC(ftf_forest_subscribe(f, self_removing, &e, NULL, &e.self_handle), FTF_OK);
    CHECK_RC(ftf_forest_start(f), FTF_OK);
    CHECK_RC(ftf_forest_start(f), FTF_ALREADY_RUNNING);
    uint32_t out;
    /* two ghost-sync failures: SUSPECTED; confirmation after 10 ms: FAILED */
    CHECK_RC(ftf_forest_report(f, FTF_REPORT_GHOST_SYNC_FAILURE, 4, FTF_INCARNATION_ANY, &out), FTF_OK);
    CHECK_RC(ftf_forest_report(f, FTF_REPORT_GHOST_SYNC_FAILURE, 4, FTF_INCARNATION_ANY, &out), FTF_OK);
    CHECK(out == FTF_REPORT_SUSPECTED);
    CHECK(wait_healthy(f, 4, 1));
    CHECK(wait_for(&e.finished_ok, 1));
    CHECK(atomic_load(&e.cancels) >= 1); /* the slow phase was abandoned and cancelled */
    CHECK(wait_for(&e.resumes, atomic_load(&e.pauses)));
    ftf_stats s;
    CHECK_RC(ftf_forest_stats(f, &s), FTF_OK);
    CHECK(s.recoveries_failed >= 3 && s.recoveries_timed_out >= 1 && s.recoveries_succeeded == 1);
    CHECK(s.healthy == 5 && s.failures_detected == 1);
    CHECK(atomic_load(&e.self_unsubscribed) == 1);
    CHECK_RC(ftf_forest_unsubscribe(f, e.self_handle), FTF_NOT_HOLDER);
    CHECK_RC(ftf_forest_stop(f), FTF_OK);
    CHECK_RC(ftf_forest_stop(f), FTF_NOT_RUNNING);
    CHECK(!ftf_forest_is_running(f));
    CHECK(ftf_forest_level(f) == FTF_LEVEL_HEALTHY);
    CHECK(ftf_forest_callback_panics(f) == 0);
    size_t needed = 0;
    CHECK_RC(ftf_forest_metrics(f, NULL, 0, &needed), FTF_BUFFER_TOO_SMALL);
    char buf[16384];
    CHECK(needed < sizeof buf);
    CHECK_RC(ftf_forest_metrics(f, buf, sizeof buf, &needed), FTF_OK);
    CHECK(strstr(buf, "ftforest_recoveries_timed_out_total") != NULL);
    CHECK(e.listener_finalized == 0);
    CHECK(e.finalized == 0);
    ftf_forest_free(f);
    CHECK(e.finalized == 1);
    CHECK(e.listener_finalized == 1);
}

TEST(lifecycle_and_misuse) {
    embedder e = {0};
    ftf_recovery_callbacks cb = callbacks(&e);
    const ftf_forest *f = NULL;
    CHECK_RC(ftf_forest_new(NULL, 3, NULL, NULL, &f), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_forest_new(NULL, 3, NULL, &cb, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_forest_new(NULL, 0, NULL, &cb, &f), FTF_INVALID_ARGUMENT);
    ftf_recovery_callbacks no_phase = cb;
    no_phase.run_phase = NULL;
    CHECK_RC(ftf_forest_new(NULL, 3, NULL, &no_phase, &f), FTF_NULL_PARAMETER);
    CHECK(f == NULL && e.finalized == 0);
    const ftf_tracker *t = NULL;
    CHECK_RC(ftf_tracker_new(&t), FTF_OK);
    CHECK_RC(ftf_forest_new(NULL, 3, t, &cb, &f), FTF_OK);
    ftf_tracker_free(t);
    const ftf_tracker *ft = ftf_forest_tracker(f);
    CHECK(ft == t); /* same object, kept alive by the forest */
    uint32_t out, h, inc;
    CHECK_RC(ftf_forest_report(f, 8, 0, FTF_INCARNATION_ANY, &out), FTF_UNKNOWN_ENUM);
    CHECK_RC(ftf_forest_report(f, FTF_REPORT_BARRIER_TIMEOUT, 3, FTF_INCARNATION_ANY, &out), FTF_UNKNOWN_PARTITION);
    CHECK_RC(ftf_forest_report(f, FTF_REPORT_BARRIER_TIMEOUT, 0, FTF_INCARNATION_ANY, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_forest_report(NULL, FTF_REPORT_BARRIER_TIMEOUT, 0, FTF_INCARNATION_ANY, &out), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_forest_report_at(f, ftf_now_ns(), FTF_REPORT_HEARTBEAT_RECEIVED, 0, FTF_INCARNATION_ANY, &out), FTF_OK);
    CHECK(out == FTF_REPORT_COUNTED);
    CHECK_RC(ftf_forest_report(f, FTF_REPORT_HEALTHY, 0, 5, &out), FTF_OK);
    CHECK(out == FTF_REPORT_STALE);
    CHECK_RC(ftf_forest_retry(f, 0), FTF_UNEXPECTED_STATE);
    CHECK_RC(ftf_forest_retry(f, 3), FTF_UNKNOWN_PARTITION);
    CHECK_RC(ftf_forest_retry(NULL, 0), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_forest_poke(f), FTF_OK);
    CHECK_RC(ftf_forest_poke(NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_forest_health(f, 3, &h, &inc), FTF_UNKNOWN_PARTITION);
    CHECK_RC(ftf_forest_health(f, 0, NULL, &inc), FTF_NULL_PARAMETER);
    ftf_phase_job job;
    CHECK_RC(ftf_forest_recovery(f, 0, &job), FTF_NO_RECOVERY);
    CHECK_RC(ftf_forest_recovery(f, 3, &job), FTF_UNKNOWN_PARTITION);
    ftf_partition_info info;
    CHECK_RC(ftf_forest_partition(f, 0, &info), FTF_OK);
    CHECK(info.health == FTF_HEALTH_HEALTHY && info.incarnation == 0);
    CHECK_RC(ftf_forest_partition(f, 3, &info), FTF_UNKNOWN_PARTITION);
    CHECK_RC(ftf_forest_partition(f, 0, NULL), FTF_NULL_PARAMETER);
    ftf_counts c;
    CHECK_RC(ftf_forest_counts(f, &c), FTF_OK);
    CHECK(c.healthy == 3);
    CHECK_RC(ftf_forest_counts(NULL, &c), FTF_NULL_PARAMETER);
    CHECK(!ftf_forest_in_recovery_mode(f) && !ftf_forest_is_queued(f, 0));
    CHECK(ftf_forest_alerts(f) == 0 && ftf_forest_alerts(NULL) == 0);
    CHECK(ftf_forest_level(NULL) == FTF_LEVEL_QUORUM_LOST);
    CHECK_RC(ftf_forest_start(NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_forest_stop(NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_forest_stop(f), FTF_NOT_RUNNING);
    /* listener slots: fill them, the next one is refused (and not finalized) */
    ftf_listener_handle hs[FTF_MAX_LISTENERS], extra;
    for (int i = 0; i < FTF_MAX_LISTENERS; i++) {
        CHECK_RC(ftf_forest_subscribe(f, on_event, &e, on_listener_fin, &hs[i]), FTF_OK);
    }
    CHECK_RC(ftf_forest_subscribe(f, on_event, &e, on_listener_fin, &extra), FTF_FULL);
    CHECK_RC(ftf_forest_subscribe(f, NULL, &e, on_listener_fin, &extra), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_forest_subscribe(f, on_event, &e, on_listener_fin, NULL), FTF_NULL_PARAMETER);
    CHECK(e.listener_finalized == 0);
    CHECK_RC(ftf_forest_unsubscribe(f, hs[3]), FTF_OK);
    CHECK(e.listener_finalized == 1);
    CHECK_RC(ftf_forest_unsubscribe(f, hs[3]), FTF_NOT_HOLDER); /* double unsubscribe */
    ftf_listener_handle foreign = hs[4];
    foreign.set += 1000;
    CHECK_RC(ftf_forest_unsubscribe(f, foreign), FTF_FOREIGN_HANDLE);
    CHECK_RC(ftf_forest_unsubscribe(NULL, hs[4]), FTF_NULL_PARAMETER);
    /* free while running: the threads are stopped and joined, everything finalized once */
    CHECK_RC(ftf_forest_start(f), FTF_OK);
    const ftf_forest *f2 = ftf_forest_clone(f);
    ftf_forest_free(f);
    CHECK(ftf_forest_is_running(f2)); /* one reference left */
    ftf_forest_free(f2);
    CHECK(e.finalized == 1);
    CHECK(e.listener_finalized == FTF_MAX_LISTENERS);
    CHECK(!ftf_tracker_is_paused(ft));
    ftf_tracker_free(ft);
    ftf_forest_free(NULL);
    CHECK(ftf_forest_clone(NULL) == NULL && ftf_forest_tracker(NULL) == NULL);
}

/* 3 of 5 crash before the runtime starts: quorum is lost (2 of 5 healthy), the third is queued
   (STATE 2: quorum holds counting the recoveries in progress); all three are recovered. */
TEST(three_crashes_lose_quorum_and_are_all_recovered) {
    embedder e = {0};
    ftf_recovery_callbacks cb = callbacks(&e);
    const ftf_config *cfg = fast_config();
    const ftf_forest *f = NULL;
    CHECK_RC(ftf_forest_new(cfg, 5, NULL, &cb, &f), FTF_OK);
    ftf_config_free(cfg);
    uint32_t out;
    /* stopped runtime: reports are still handled, nothing is recovered until start */
    CHECK_RC(ftf_forest_report(f, FTF_REPORT_CRASHED, 0, FTF_INCARNATION_ANY, &out), FTF_OK);
    CHECK_RC(ftf_forest_report(f, FTF_REPORT_CRASHED, 1, FTF_INCARNATION_ANY, &out), FTF_OK);
    CHECK_RC(ftf_forest_report(f, FTF_REPORT_CRASHED, 2, FTF_INCARNATION_ANY, &out), FTF_OK);
    CHECK(out == FTF_REPORT_FAILED);
    ftf_stats s;
    CHECK_RC(ftf_forest_stats(f, &s), FTF_OK);
    CHECK(!s.quorum && s.quorum_losses == 1 && s.recoveries_queued == 1 && s.in_progress == 2);
    CHECK(ftf_forest_level(f) == FTF_LEVEL_QUORUM_LOST);
    CHECK(ftf_forest_is_queued(f, 2));
    CHECK_RC(ftf_forest_start(f), FTF_OK);
    CHECK(wait_healthy(f, 0, 1));
    CHECK(wait_healthy(f, 1, 1));
    CHECK(wait_healthy(f, 2, 1));
    CHECK_RC(ftf_forest_stop(f), FTF_OK);
    CHECK_RC(ftf_forest_stats(f, &s), FTF_OK);
    CHECK(s.healthy == 5 && s.recoveries_succeeded == 3);
    CHECK(ftf_forest_level(f) == FTF_LEVEL_HEALTHY);
    ftf_forest_free(f);
    CHECK(e.finalized == 1);
}

/* Unsubscribing from another thread while the listener runs waits for that call to return;
   after FTF_OK the listener is never called again. (The listener does not wait for the
   unsubscribing thread: that would deadlock, as documented.) */
typedef struct {
    atomic_int in_call, returned, calls_after, unsubscribed, finalized;
} slow_listener;

static void slow_on_event(void *ud, const ftf_event *ev) {
    slow_listener *l = ud;
    (void)ev;
    if (atomic_load(&l->unsubscribed)) atomic_fetch_add(&l->calls_after, 1);
    if (atomic_exchange(&l->in_call, 1) == 0) {
        sleep_ms(50); /* the first call is slow: the unsubscribe below overlaps it */
        atomic_store(&l->returned, 1);
    }
}
static void slow_fin(void *ud) { atomic_fetch_add(&((slow_listener *)ud)->finalized, 1); }

TEST(unsubscribe_waits_for_a_delivery_in_progress) {
    embedder e = {0};
    ftf_recovery_callbacks cb = callbacks(&e);
    const ftf_forest *f = NULL;
    CHECK_RC(ftf_forest_new(NULL, 3, NULL, &cb, &f), FTF_OK);
    slow_listener l = {0};
    ftf_listener_handle h;
    CHECK_RC(ftf_forest_subscribe(f, slow_on_event, &l, slow_fin, &h), FTF_OK);
    CHECK_RC(ftf_forest_start(f), FTF_OK);
    uint32_t out;
    out = FTF_REPORT_COUNTED;
    for (int i = 0; i < 10 && out != FTF_REPORT_SUSPECTED; i++) {
        CHECK_RC(ftf_forest_report(f, FTF_REPORT_BARRIER_TIMEOUT, 1, FTF_INCARNATION_ANY, &out), FTF_OK);
    }
    CHECK(out == FTF_REPORT_SUSPECTED); /* an event: the listener gets called */
    CHECK(wait_for(&l.in_call, 1));
    CHECK_RC(ftf_forest_unsubscribe(f, h), FTF_OK);
    atomic_store(&l.unsubscribed, 1);
    CHECK(atomic_load(&l.returned) == 1); /* the call in progress finished before FTF_OK */
    /* more events: the listener is not called again */
    CHECK_RC(ftf_forest_report(f, FTF_REPORT_HEALTHY, 1, FTF_INCARNATION_ANY, &out), FTF_OK);
    CHECK(out == FTF_REPORT_CLEARED);
    CHECK_RC(ftf_forest_stop(f), FTF_OK); /* the dispatcher delivered what it had */
    CHECK(atomic_load(&l.calls_after) == 0);
    ftf_forest_free(f);
    CHECK(atomic_load(&l.finalized) == 1);
}

/* Issue 7, item 1: a phase still running past the recovery timeout keeps the forest paused
   until it returns (the worker's return is the cancel's acknowledgement). */
typedef struct {
    atomic_int started, release, cancels, pauses, resumes;
} stuck_embedder;

static bool stuck_phase(void *ud, const ftf_phase_job *job) {
    stuck_embedder *e = ud;
    if (job->phase == FTF_PHASE_DETECTING && atomic_fetch_add(&e->started, 1) == 0) {
        /* ignores the cancel, like a phase stuck in a system call (bounded: ~20 s) */
        for (int i = 0; i < 2000 && !atomic_load(&e->release); i++) sleep_ms(10);
    }
    return true;
}
static void stuck_cancel(void *ud, const ftf_phase_job *job) {
    (void)job;
    atomic_fetch_add(&((stuck_embedder *)ud)->cancels, 1);
}
static void stuck_pause(void *ud) { atomic_fetch_add(&((stuck_embedder *)ud)->pauses, 1); }
static void stuck_resume(void *ud) { atomic_fetch_add(&((stuck_embedder *)ud)->resumes, 1); }

TEST(forest_stays_paused_until_the_abandoned_phase_returns) {
    stuck_embedder e = {0};
    ftf_recovery_callbacks cb = {&e, stuck_phase, stuck_cancel, stuck_pause, stuck_resume,
                                 NULL, NULL, NULL};
    ftf_config_builder *b = NULL;
    const ftf_config *cfg = NULL;
    ftf_config_builder_new(&b);
    ftf_config_builder_set_recovery_timeout_ns(b, 50 * MS);
    ftf_config_builder_set_backoff_ns(b, 5 * MS, 5 * MS);
    ftf_config_builder_set_max_concurrent(b, 1);
    CHECK_RC(ftf_config_builder_build(b, &cfg), FTF_OK);
    ftf_config_builder_free(b);
    const ftf_forest *f = NULL;
    CHECK_RC(ftf_forest_new(cfg, 5, NULL, &cb, &f), FTF_OK);
    ftf_config_free(cfg);
    const ftf_tracker *t = ftf_forest_tracker(f);
    CHECK_RC(ftf_forest_start(f), FTF_OK);
    uint32_t out;
    CHECK_RC(ftf_forest_report(f, FTF_REPORT_CRASHED, 1, FTF_INCARNATION_ANY, &out), FTF_OK);
    CHECK(wait_for(&e.started, 1));
    CHECK(wait_for(&e.cancels, 1));
    /* the phase has not returned: nothing reopens, nothing restarts */
    CHECK(ftf_forest_in_recovery_mode(f));
    CHECK(ftf_tracker_is_paused(t));
    CHECK(atomic_load(&e.resumes) == 0);
    CHECK(atomic_load(&e.started) == 1);
    ftf_stats s;
    CHECK_RC(ftf_forest_stats(f, &s), FTF_OK);
    CHECK(s.cancels_pending == 1 && s.recoveries_timed_out == 1);
    /* it returns: acknowledged, the retry recovers the partition, the forest resumes */
    atomic_store(&e.release, 1);
    CHECK(wait_healthy(f, 1, 1));
    CHECK(wait_for(&e.resumes, 1));
    CHECK(!ftf_tracker_is_paused(t));
    CHECK_RC(ftf_forest_stats(f, &s), FTF_OK);
    CHECK(s.cancels_pending == 0);
    ftf_tracker_free(t);
    ftf_forest_free(f);
}

int main(void) {
    RUN(failing_and_slow_callbacks_are_retried_until_recovered);
    RUN(lifecycle_and_misuse);
    RUN(three_crashes_lose_quorum_and_are_all_recovered);
    RUN(unsubscribe_waits_for_a_delivery_in_progress);
    RUN(forest_stays_paused_until_the_abandoned_phase_returns);
    return harness_summary();
}
