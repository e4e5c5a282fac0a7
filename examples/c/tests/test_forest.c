/* ftf_forest: the runtime with library threads. Callbacks that report errors, callbacks that
   take too long, listeners (finalizers, self-unsubscribe, slots), lifecycle and misuse, and
   the lifecycle called from callbacks (is_running, start, stop and the last free while another
   thread stops or frees the forest).
   No timing assertions: waits poll for an outcome with a generous deadline; a deadlock is
   caught by a watchdog (alarm) that aborts with the name of the test. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "watchdog.h"

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


/* ---- the lifecycle from callbacks (issue 7 item 3) ------------------------------------------ */

typedef struct {
    const ftf_forest *forest;
    atomic_int armed;       /* the callback acts once armed */
    atomic_int entered;     /* the callback started acting */
    atomic_int saw_stop;    /* it saw ftf_forest_is_running turn false */
    atomic_int restart_rc;  /* 1000 + rc of its ftf_forest_start */
    atomic_int inside, max_inside, total;
    atomic_int phases;
    atomic_int finalized, listener_finalized;
    pthread_t first_thread, other_thread;
    atomic_int other_threads; /* calls after the first one on a thread that is not the first's */
    atomic_int distinct_later; /* calls after the first on a thread that differs from the 2nd's */
} life;

static void life_fin(void *ud) { atomic_fetch_add(&((life *)ud)->finalized, 1); }
static void life_listener_fin(void *ud) { atomic_fetch_add(&((life *)ud)->listener_finalized, 1); }
static bool life_phase(void *ud, const ftf_phase_job *job) {
    (void)job;
    atomic_fetch_add(&((life *)ud)->phases, 1);
    return true;
}
static ftf_recovery_callbacks life_callbacks(life *l, ftf_run_phase_fn phase) {
    ftf_recovery_callbacks cb = {l, phase, NULL, NULL, NULL, NULL, NULL, life_fin};
    return cb;
}
static void spin_until_stopped(life *l) {
    while (ftf_forest_is_running(l->forest)) sched_yield();
    atomic_store(&l->saw_stop, 1);
}

/* (a) A listener polls ftf_forest_is_running while the main thread stops (or frees) the
   forest. Before the fix: deadlock (stop held the thread lock while joining the listener's
   thread, which waited for that lock). */
static void polling_listener(void *ud, const ftf_event *ev) {
    life *l = ud;
    (void)ev;
    if (atomic_exchange(&l->entered, 1) == 0) spin_until_stopped(l);
}

static const ftf_forest *life_forest(life *l, ftf_run_phase_fn phase) {
    ftf_recovery_callbacks cb = life_callbacks(l, phase);
    const ftf_forest *f = NULL;
    CHECK_RC(ftf_forest_new(NULL, 4, NULL, &cb, &f), FTF_OK);
    l->forest = f;
    return f;
}

/* A started forest with `listener` (may be NULL) subscribed, `crash` reported crashed, once
   a callback set `entered`. */
static const ftf_forest *life_entered(life *l, ftf_run_phase_fn phase, ftf_event_fn listener,
                                      ftf_finalizer_fn listener_fin, uint32_t crash) {
    const ftf_forest *f = life_forest(l, phase);
    ftf_listener_handle h;
    if (listener) CHECK_RC(ftf_forest_subscribe(f, listener, l, listener_fin, &h), FTF_OK);
    CHECK_RC(ftf_forest_start(f), FTF_OK);
    uint32_t out;
    CHECK_RC(ftf_forest_report(f, FTF_REPORT_CRASHED, crash, FTF_INCARNATION_ANY, &out), FTF_OK);
    CHECK(wait_for(&l->entered, 1));
    return f;
}

TEST(is_running_in_a_listener_while_another_thread_stops) {
    watchdog("is_running_in_a_listener_while_another_thread_stops");
    life l = {0};
    const ftf_forest *f = life_entered(&l, life_phase, polling_listener, NULL, 1);
    CHECK_RC(ftf_forest_stop(f), FTF_OK);
    CHECK(atomic_load(&l.saw_stop) == 1); /* stop returned after the listener */
    ftf_forest_free(f);
    CHECK(l.finalized == 1);
    watchdog_off();
}

TEST(is_running_in_a_listener_while_another_thread_frees) {
    watchdog("is_running_in_a_listener_while_another_thread_frees");
    life l = {0};
    const ftf_forest *f = life_entered(&l, life_phase, polling_listener, life_listener_fin, 1);
    ftf_forest_free(f); /* the last reference: the listener still uses the handle */
    CHECK(atomic_load(&l.saw_stop) == 1);
    CHECK(l.finalized == 1 && l.listener_finalized == 1);
    watchdog_off();
}

/* (a) The same from a phase (a worker thread). */
static bool polling_phase(void *ud, const ftf_phase_job *job) {
    life *l = ud;
    (void)job;
    if (atomic_exchange(&l->entered, 1) == 0) spin_until_stopped(l);
    return true;
}

TEST(is_running_in_a_phase_while_another_thread_stops) {
    watchdog("is_running_in_a_phase_while_another_thread_stops");
    life l = {0};
    const ftf_forest *f = life_entered(&l, polling_phase, NULL, NULL, 2);
    CHECK_RC(ftf_forest_stop(f), FTF_OK);
    CHECK(atomic_load(&l.saw_stop) == 1);
    ftf_forest_free(f);
    CHECK(l.finalized == 1);
    watchdog_off();
}

/* A listener restarts the forest while the main thread stops it: the start comes after the
   stop, so the forest runs again (before the fix: deadlock, start waited for the lock stop
   held while joining the listener's thread). */
static void restarting_listener(void *ud, const ftf_event *ev) {
    life *l = ud;
    (void)ev;
    if (atomic_exchange(&l->entered, 1) == 0) {
        spin_until_stopped(l);
        atomic_store(&l->restart_rc, 1000 + (int)ftf_forest_start(l->forest));
    }
}

TEST(start_in_a_listener_while_another_thread_stops) {
    watchdog("start_in_a_listener_while_another_thread_stops");
    life l = {0};
    const ftf_forest *f = life_entered(&l, life_phase, restarting_listener, NULL, 1);
    CHECK_RC(ftf_forest_stop(f), FTF_OK);
    CHECK(atomic_load(&l.restart_rc) == 1000 + FTF_OK);
    CHECK(ftf_forest_is_running(f));
    CHECK(wait_healthy(f, 1, 1)); /* the new run recovers */
    CHECK_RC(ftf_forest_stop(f), FTF_OK);
    ftf_forest_free(f);
    CHECK(l.finalized == 1);
    watchdog_off();
}

/* (b) A listener stops and restarts the forest, then stays in the call a while. Before the
   fix a second dispatcher delivered the next events meanwhile: listeners ran on two threads
   at once. Now the new run waits for the old dispatcher; every later call is on one thread. */
static void stop_start_listener(void *ud, const ftf_event *ev) {
    life *l = ud;
    (void)ev;
    int in = atomic_fetch_add(&l->inside, 1) + 1;
    int m = atomic_load(&l->max_inside);
    while (in > m && !atomic_compare_exchange_weak(&l->max_inside, &m, in)) {
    }
    int n = atomic_fetch_add(&l->total, 1);
    if (n == 0) {
        l->first_thread = pthread_self();
        CHECK_RC(ftf_forest_stop(l->forest), FTF_OK); /* returns at once from a callback */
        CHECK_RC(ftf_forest_start(l->forest), FTF_OK);
        atomic_store(&l->armed, 1);
        for (int i = 0; i < 300 && atomic_load(&l->total) == 1; i++) sleep_ms(1);
    } else {
        if (pthread_equal(pthread_self(), l->first_thread)) atomic_fetch_add(&l->other_threads, 1);
        if (n == 1) l->other_thread = pthread_self();
        else if (!pthread_equal(pthread_self(), l->other_thread)) atomic_fetch_add(&l->distinct_later, 1);
    }
    atomic_fetch_sub(&l->inside, 1);
}

TEST(stop_and_start_in_a_listener_never_run_two_dispatchers) {
    watchdog("stop_and_start_in_a_listener_never_run_two_dispatchers");
    life l = {0};
    const ftf_forest *f = life_forest(&l, life_phase);
    ftf_listener_handle h;
    CHECK_RC(ftf_forest_subscribe(f, stop_start_listener, &l, NULL, &h), FTF_OK);
    CHECK_RC(ftf_forest_start(f), FTF_OK);
    uint32_t out;
    CHECK_RC(ftf_forest_report(f, FTF_REPORT_CRASHED, 1, FTF_INCARNATION_ANY, &out), FTF_OK);
    CHECK(wait_for(&l.armed, 1));
    CHECK_RC(ftf_forest_report(f, FTF_REPORT_CRASHED, 3, FTF_INCARNATION_ANY, &out), FTF_OK);
    CHECK(wait_healthy(f, 1, 1));
    CHECK(wait_healthy(f, 3, 1));
    CHECK(wait_for(&l.phases, 8));
    CHECK_RC(ftf_forest_stop(f), FTF_OK);
    int total = atomic_load(&l.total);
    CHECK(atomic_load(&l.inside) == 0);
    CHECK(atomic_load(&l.max_inside) == 1);      /* never two listener calls at once */
    CHECK(atomic_load(&l.other_threads) == 0);   /* the old dispatcher delivered nothing more */
    CHECK(atomic_load(&l.distinct_later) == 0);  /* one new dispatcher */
    sleep_ms(20);
    CHECK(atomic_load(&l.total) == total);       /* stop joined every dispatcher */
    ftf_forest_free(f);
    CHECK(l.finalized == 1);
    watchdog_off();
}

/* The last ftf_forest_free from inside a listener while a phase on a worker thread keeps
   using the handle: no self-join, no use after free (ASan/valgrind), finalizers run once on a
   library thread after the last callback. Before the fix: deadlock (the free joined the worker,
   which waited for the lock the free held). */
static bool freeing_phase(void *ud, const ftf_phase_job *job) {
    life *l = ud;
    if (job->rank == 1 && atomic_exchange(&l->entered, 1) == 0) {
        uint32_t out;
        while (!atomic_load(&l->armed)) sched_yield(); /* the main thread let go of its handle */
        /* an event for the listener, which frees the last reference while this phase runs */
        ftf_forest_report(l->forest, FTF_REPORT_CRASHED, 2, FTF_INCARNATION_ANY, &out);
        spin_until_stopped(l);
    }
    return true;
}
static void freeing_listener(void *ud, const ftf_event *ev) {
    life *l = ud;
    if (ev->rank == 2 && atomic_load(&l->entered) && atomic_exchange(&l->restart_rc, 1) == 0) {
        ftf_forest_free(l->forest); /* the last reference */
        CHECK(!ftf_forest_is_running(l->forest)); /* still valid until the callbacks return */
    }
}

TEST(last_free_in_a_listener_while_a_phase_uses_the_forest) {
    watchdog("last_free_in_a_listener_while_a_phase_uses_the_forest");
    life l = {0};
    const ftf_forest *f = life_forest(&l, freeing_phase); /* this reference goes to the listener */
    const ftf_forest *mine = ftf_forest_clone(f);
    ftf_listener_handle h;
    CHECK_RC(ftf_forest_subscribe(mine, freeing_listener, &l, life_listener_fin, &h), FTF_OK);
    CHECK_RC(ftf_forest_start(mine), FTF_OK);
    uint32_t out;
    CHECK_RC(ftf_forest_report(mine, FTF_REPORT_CRASHED, 1, FTF_INCARNATION_ANY, &out), FTF_OK);
    CHECK(wait_for(&l.entered, 1));
    ftf_forest_free(mine); /* not the last: the listener's is */
    atomic_store(&l.armed, 1);
    CHECK(wait_for(&l.finalized, 1));
    CHECK(wait_for(&l.listener_finalized, 1));
    CHECK(atomic_load(&l.saw_stop) == 1);
    sleep_ms(20);
    CHECK(l.finalized == 1 && l.listener_finalized == 1);
    watchdog_off();
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

/* Seam of the cancel handshake and the lifecycle: a listener stops and starts the forest while
   the abandoned phase is still stuck in a worker of the old run. The new run must keep ticking
   (the unacknowledged cancel is escalated at the cancel timeout); the late return then
   acknowledges, the retry recovers. Before the fix the new run waited for every old thread,
   the stuck worker included: no tick, no escalation until the phase returned. */
typedef struct {
    stuck_embedder e;
    const ftf_forest *forest;
    atomic_int restarted;
} restarting_stuck;

static void restart_on_retry(void *ud, const ftf_event *ev) {
    restarting_stuck *r = ud;
    if (ev->kind == FTF_EVENT_RETRY_SCHEDULED && atomic_fetch_add(&r->restarted, 1) == 0) {
        CHECK_RC(ftf_forest_stop(r->forest), FTF_OK);
        CHECK_RC(ftf_forest_start(r->forest), FTF_OK);
    }
}

TEST(restart_in_a_listener_while_the_abandoned_phase_is_stuck_keeps_ticking) {
    watchdog("restart_in_a_listener_while_the_abandoned_phase_is_stuck_keeps_ticking");
    restarting_stuck r = {0};
    ftf_recovery_callbacks cb = {&r.e, stuck_phase, stuck_cancel, stuck_pause, stuck_resume,
                                 NULL, NULL, NULL};
    ftf_config_builder *b = NULL;
    const ftf_config *cfg = NULL;
    ftf_config_builder_new(&b);
    ftf_config_builder_set_recovery_timeout_ns(b, 50 * MS);
    ftf_config_builder_set_cancel_timeout_ns(b, 50 * MS);
    ftf_config_builder_set_backoff_ns(b, 5 * MS, 5 * MS);
    ftf_config_builder_set_max_concurrent(b, 1);
    CHECK_RC(ftf_config_builder_build(b, &cfg), FTF_OK);
    ftf_config_builder_free(b);
    const ftf_forest *f = NULL;
    CHECK_RC(ftf_forest_new(cfg, 5, NULL, &cb, &f), FTF_OK);
    ftf_config_free(cfg);
    r.forest = f;
    ftf_listener_handle h;
    CHECK_RC(ftf_forest_subscribe(f, restart_on_retry, &r, NULL, &h), FTF_OK);
    CHECK_RC(ftf_forest_start(f), FTF_OK);
    uint32_t out;
    CHECK_RC(ftf_forest_report(f, FTF_REPORT_CRASHED, 1, FTF_INCARNATION_ANY, &out), FTF_OK);
    CHECK(wait_for(&r.e.started, 1));
    CHECK(wait_for(&r.restarted, 1));
    /* the phase is still stuck: the restarted forest escalates the unacknowledged cancel */
    ftf_stats s = {0};
    for (int i = 0; i < 500; i++) {
        CHECK_RC(ftf_forest_stats(f, &s), FTF_OK);
        if (s.cancels_escalated >= 1) break;
        sleep_ms(10);
    }
    CHECK(s.cancels_escalated == 1 && s.cancels_pending == 1);
    CHECK(ftf_forest_in_recovery_mode(f));
    atomic_store(&r.e.release, 1);
    CHECK(wait_healthy(f, 1, 1));
    CHECK(wait_for(&r.e.resumes, 1));
    CHECK_RC(ftf_forest_stats(f, &s), FTF_OK);
    CHECK(s.cancels_pending == 0);
    ftf_forest_free(f);
    watchdog_off();
}

int main(void) {
    RUN(failing_and_slow_callbacks_are_retried_until_recovered);
    RUN(lifecycle_and_misuse);
    RUN(three_crashes_lose_quorum_and_are_all_recovered);
    RUN(unsubscribe_waits_for_a_delivery_in_progress);
    RUN(is_running_in_a_listener_while_another_thread_stops);
    RUN(is_running_in_a_listener_while_another_thread_frees);
    RUN(is_running_in_a_phase_while_another_thread_stops);
    RUN(start_in_a_listener_while_another_thread_stops);
    RUN(stop_and_start_in_a_listener_never_run_two_dispatchers);
    RUN(last_free_in_a_listener_while_a_phase_uses_the_forest);
    RUN(forest_stays_paused_until_the_abandoned_phase_returns);
    RUN(restart_in_a_listener_while_the_abandoned_phase_is_stuck_keeps_ticking);
    return harness_summary();
}
