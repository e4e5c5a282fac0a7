/* ftf_barrier_new_for_forest: the barrier decorator reporting to a forest. Normal use, NULL
   parameters, unknown rank, a callback returning an unknown outcome, timeouts that make the
   forest suspect the partition after the configured number of reports, and a wait that began
   before the partition became HEALTHY again (its report is stale). No timing assertions. */
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include "harness.h"

#define MS 1000000ull
#define REPORTS_BEFORE_SUSPICION 3

/* A scripted barrier: returns script[0], script[1], ... then PASSED. */
typedef struct {
    uint32_t script[8];
    int len, next;
    int calls;
    int finalized;
    uint32_t last_rank;
    uint64_t last_timeout_ns;
    /* when set, called during the wait (before returning) */
    void (*during)(void *);
    void *during_arg;
} script_t;

static uint32_t scripted(void *ud, uint32_t rank, uint64_t timeout_ns) {
    script_t *s = ud;
    s->calls++;
    s->last_rank = rank;
    s->last_timeout_ns = timeout_ns;
    if (s->during) s->during(s->during_arg);
    return s->next < s->len ? s->script[s->next++] : FTF_BARRIER_PASSED;
}

static void script_fin(void *ud) { ((script_t *)ud)->finalized++; }

static bool phase_ok(void *ud, const ftf_phase_job *job) {
    (void)ud;
    (void)job;
    return true;
}

/* A stopped forest of `n` partitions: reports are handled synchronously, nothing is confirmed
   or recovered (confirmation after a minute, and no thread ticks it anyway). */
static const ftf_forest *new_forest(uint32_t n) {
    ftf_config_builder *b = NULL;
    const ftf_config *cfg = NULL;
    CHECK_RC(ftf_config_builder_new(&b), FTF_OK);
    CHECK_RC(ftf_config_builder_set_reports_before_suspicion(b, REPORTS_BEFORE_SUSPICION), FTF_OK);
    CHECK_RC(ftf_config_builder_set_failure_confirmation_ns(b, 60000 * MS), FTF_OK);
    CHECK_RC(ftf_config_builder_build(b, &cfg), FTF_OK);
    ftf_config_builder_free(b);
    ftf_recovery_callbacks cb = {0};
    cb.run_phase = phase_ok;
    const ftf_forest *f = NULL;
    CHECK_RC(ftf_forest_new(cfg, n, NULL, &cb, &f), FTF_OK);
    ftf_config_free(cfg);
    return f;
}

static uint32_t health_of(const ftf_forest *f, uint32_t rank, uint32_t *inc) {
    uint32_t h = 99, i = 0;
    CHECK_RC(ftf_forest_health(f, rank, &h, &i), FTF_OK);
    if (inc) *inc = i;
    return h;
}

static uint32_t failures_of(const ftf_forest *f, uint32_t rank) {
    ftf_partition_info info;
    CHECK_RC(ftf_forest_partition(f, rank, &info), FTF_OK);
    return info.consecutive_failures;
}

static uint32_t wait_once(ftf_barrier *b, uint32_t expected_rc) {
    uint32_t outcome = 77;
    CHECK_RC(ftf_barrier_wait(b, 5 * MS, &outcome), expected_rc);
    return outcome;
}

static uint32_t last_report(const ftf_barrier *b) {
    uint32_t r = 99;
    CHECK_RC(ftf_barrier_last_report(b, &r), FTF_OK);
    return r;
}

TEST(forest_barrier_reports_passes_and_outlives_the_forest) {
    const ftf_forest *f = new_forest(4);
    script_t s = {{FTF_BARRIER_PASSED}, 1, 0, 0, 0, 0, 0, NULL, NULL};
    ftf_barrier *b = NULL;
    CHECK_RC(ftf_barrier_new_for_forest(f, 2, scripted, &s, script_fin, true, &b), FTF_OK);
    CHECK(b != NULL);
    uint32_t r = 99;
    CHECK_RC(ftf_barrier_last_report(b, &r), FTF_EMPTY); /* no wait yet */
    CHECK(r == 99);
    CHECK(wait_once(b, FTF_OK) == FTF_BARRIER_PASSED);
    CHECK(s.calls == 1 && s.last_rank == 2 && s.last_timeout_ns == 5 * MS);
    CHECK(last_report(b) == FTF_REPORT_COUNTED); /* a success on a HEALTHY partition */
    CHECK(health_of(f, 2, NULL) == FTF_HEALTH_HEALTHY);
    CHECK(ftf_barrier_timeouts(b) == 0 && ftf_barrier_report_errors(b) == 0);
    /* passes not reported: nothing to tell */
    script_t quiet = {{0}, 0, 0, 0, 0, 0, 0, NULL, NULL};
    ftf_barrier *q = NULL;
    CHECK_RC(ftf_barrier_new_for_forest(f, 0, scripted, &quiet, NULL, false, &q), FTF_OK);
    CHECK(wait_once(q, FTF_OK) == FTF_BARRIER_PASSED);
    CHECK_RC(ftf_barrier_last_report(q, &r), FTF_EMPTY);
    ftf_barrier_free(q);
    /* the barrier keeps the forest alive */
    ftf_forest_free(f);
    CHECK(wait_once(b, FTF_OK) == FTF_BARRIER_PASSED);
    CHECK(last_report(b) == FTF_REPORT_COUNTED);
    CHECK(s.finalized == 0);
    ftf_barrier_free(b);
    CHECK(s.finalized == 1);
}

TEST(forest_barrier_null_parameters_and_unknown_rank) {
    const ftf_forest *f = new_forest(4);
    script_t s = {{0}, 0, 0, 0, 0, 0, 0, NULL, NULL};
    ftf_barrier *b = NULL;
    CHECK_RC(ftf_barrier_new_for_forest(NULL, 0, scripted, &s, script_fin, true, &b), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_barrier_new_for_forest(f, 0, NULL, &s, script_fin, true, &b), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_barrier_new_for_forest(f, 0, scripted, &s, script_fin, true, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_barrier_new_for_forest(f, 4, scripted, &s, script_fin, true, &b), FTF_UNKNOWN_PARTITION);
    CHECK_RC(ftf_barrier_new_for_forest(f, UINT32_MAX, scripted, &s, script_fin, true, &b),
             FTF_UNKNOWN_PARTITION);
    CHECK(b == NULL);                        /* out-parameter untouched on error */
    CHECK(s.finalized == 0 && s.calls == 0); /* failed creations neither call nor finalize */
    /* userdata may be NULL: it is the embedder's */
    CHECK_RC(ftf_barrier_new_for_forest(f, 3, scripted, &s, NULL, true, &b), FTF_OK);
    uint32_t r;
    CHECK_RC(ftf_barrier_last_report(NULL, &r), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_barrier_last_report(b, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_barrier_wait(b, MS, NULL), FTF_NULL_PARAMETER);
    CHECK(s.calls == 0); /* checked before the callback runs */
    ftf_barrier_free(b);
    CHECK(s.finalized == 0); /* no finalizer given */
    ftf_forest_free(f);
}

TEST(forest_barrier_unknown_outcome_counts_as_a_timeout) {
    const ftf_forest *f = new_forest(4);
    script_t s = {{42, 0xFFFFFFFFu, FTF_BARRIER_PASSED}, 3, 0, 0, 0, 0, 0, NULL, NULL};
    ftf_barrier *b = NULL;
    CHECK_RC(ftf_barrier_new_for_forest(f, 1, scripted, &s, script_fin, true, &b), FTF_OK);
    CHECK(wait_once(b, FTF_CALLBACK_FAILED) == 77); /* outcome untouched */
    CHECK(ftf_barrier_timeouts(b) == 1);
    CHECK(last_report(b) == FTF_REPORT_COUNTED); /* reported as a timeout */
    CHECK(failures_of(f, 1) == 1);
    CHECK(wait_once(b, FTF_CALLBACK_FAILED) == 77);
    CHECK(ftf_barrier_timeouts(b) == 2 && failures_of(f, 1) == 2);
    /* a broken barrier is never taken for a healthy one; a real pass resets the count */
    CHECK(wait_once(b, FTF_OK) == FTF_BARRIER_PASSED);
    CHECK(failures_of(f, 1) == 0 && health_of(f, 1, NULL) == FTF_HEALTH_HEALTHY);
    CHECK(ftf_barrier_report_errors(b) == 0);
    ftf_barrier_free(b);
    ftf_forest_free(f);
    CHECK(s.finalized == 1);
}

static atomic_int suspected_events;
static void on_event(void *ud, const ftf_event *e) {
    (void)ud;
    if (e->kind == FTF_EVENT_STATUS_CHANGED && e->to == FTF_HEALTH_SUSPECTED) {
        atomic_fetch_add(&suspected_events, 1);
    }
}

TEST(forest_suspects_after_the_configured_number_of_timeouts) {
    const ftf_forest *f = new_forest(5);
    ftf_listener_handle h;
    CHECK_RC(ftf_forest_subscribe(f, on_event, NULL, NULL, &h), FTF_OK);
    CHECK_RC(ftf_forest_start(f), FTF_OK); /* events are delivered by the dispatcher */
    /* T T P (the pass resets "consecutive", B7) T T T (the third in a row suspects) T */
    script_t s = {{FTF_BARRIER_TIMED_OUT, FTF_BARRIER_TIMED_OUT, FTF_BARRIER_PASSED,
                   FTF_BARRIER_TIMED_OUT, FTF_BARRIER_TIMED_OUT, FTF_BARRIER_TIMED_OUT,
                   FTF_BARRIER_TIMED_OUT},
                  7, 0, 0, 0, 0, 0, NULL, NULL};
    ftf_barrier *b = NULL;
    CHECK_RC(ftf_barrier_new_for_forest(f, 4, scripted, &s, script_fin, true, &b), FTF_OK);
    for (int i = 0; i < 2; i++) {
        CHECK(wait_once(b, FTF_OK) == FTF_BARRIER_TIMED_OUT);
        CHECK(last_report(b) == FTF_REPORT_COUNTED);
    }
    CHECK(failures_of(f, 4) == 2 && health_of(f, 4, NULL) == FTF_HEALTH_HEALTHY);
    CHECK(wait_once(b, FTF_OK) == FTF_BARRIER_PASSED);
    CHECK(failures_of(f, 4) == 0);
    for (int i = 1; i < REPORTS_BEFORE_SUSPICION; i++) {
        CHECK(wait_once(b, FTF_OK) == FTF_BARRIER_TIMED_OUT);
        CHECK(last_report(b) == FTF_REPORT_COUNTED);
        CHECK(health_of(f, 4, NULL) == FTF_HEALTH_HEALTHY);
    }
    CHECK(wait_once(b, FTF_OK) == FTF_BARRIER_TIMED_OUT);
    CHECK(last_report(b) == FTF_REPORT_SUSPECTED); /* exactly at the configured count */
    CHECK(health_of(f, 4, NULL) == FTF_HEALTH_SUSPECTED);
    CHECK(wait_once(b, FTF_OK) == FTF_BARRIER_TIMED_OUT);
    CHECK(last_report(b) == FTF_REPORT_COUNTED); /* already suspected */
    CHECK(ftf_barrier_timeouts(b) == 6);
    for (int i = 0; i < 2000 && atomic_load(&suspected_events) == 0; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    CHECK(atomic_load(&suspected_events) == 1);
    ftf_stats st;
    CHECK_RC(ftf_forest_stats(f, &st), FTF_OK);
    CHECK(st.suspicions == 1 && st.suspected == 1 && st.failures_detected == 0);
    for (uint32_t r = 0; r < 4; r++) CHECK(health_of(f, r, NULL) == FTF_HEALTH_HEALTHY);
    CHECK_RC(ftf_forest_stop(f), FTF_OK);
    ftf_barrier_free(b);
    ftf_forest_free(f);
    CHECK(s.finalized == 1);
}

/* The partition becomes HEALTHY again while the wait runs (here: a heartbeat clears the
   suspicion from inside the barrier callback); the wait's timeout is about the old life. */
typedef struct {
    const ftf_forest *f;
    uint32_t rank;
    uint32_t report_rc, outcome;
} clear_arg;

static void clear_suspicion(void *p) {
    clear_arg *a = p;
    a->report_rc = ftf_forest_report(a->f, FTF_REPORT_HEALTHY, a->rank, FTF_INCARNATION_ANY,
                                     &a->outcome);
}

TEST(forest_barrier_wait_that_began_before_the_partition_healed_is_stale) {
    const ftf_forest *f = new_forest(3);
    script_t s = {{FTF_BARRIER_TIMED_OUT, FTF_BARRIER_TIMED_OUT, FTF_BARRIER_TIMED_OUT,
                   FTF_BARRIER_TIMED_OUT, FTF_BARRIER_TIMED_OUT},
                  5, 0, 0, 0, 0, 0, NULL, NULL};
    ftf_barrier *b = NULL;
    CHECK_RC(ftf_barrier_new_for_forest(f, 1, scripted, &s, NULL, true, &b), FTF_OK);
    for (int i = 0; i < REPORTS_BEFORE_SUSPICION; i++) wait_once(b, FTF_OK);
    uint32_t inc = 99;
    CHECK(health_of(f, 1, &inc) == FTF_HEALTH_SUSPECTED && inc == 0);
    clear_arg a = {f, 1, 99, 99};
    s.during = clear_suspicion;
    s.during_arg = &a;
    CHECK(wait_once(b, FTF_OK) == FTF_BARRIER_TIMED_OUT);
    CHECK(a.report_rc == FTF_OK && a.outcome == FTF_REPORT_CLEARED);
    CHECK(last_report(b) == FTF_REPORT_STALE); /* about incarnation 0, now 1 */
    CHECK(health_of(f, 1, &inc) == FTF_HEALTH_HEALTHY && inc == 1);
    CHECK(failures_of(f, 1) == 0); /* the old life's timeout did not count */
    s.during = NULL;
    CHECK(wait_once(b, FTF_OK) == FTF_BARRIER_TIMED_OUT); /* began in the new life */
    CHECK(last_report(b) == FTF_REPORT_COUNTED);
    CHECK(failures_of(f, 1) == 1);
    CHECK(ftf_barrier_report_errors(b) == 0);
    ftf_barrier_free(b);
    ftf_forest_free(f);
}

int main(void) {
    RUN(forest_barrier_reports_passes_and_outlives_the_forest);
    RUN(forest_barrier_null_parameters_and_unknown_rank);
    RUN(forest_barrier_unknown_outcome_counts_as_a_timeout);
    RUN(forest_suspects_after_the_configured_number_of_timeouts);
    RUN(forest_barrier_wait_that_began_before_the_partition_healed_is_stale);
    return harness_summary();
}
