/* ftf_config_builder, ftf_config, ftf_coordinator (sans-io), ftf_barrier, metrics:
   every entry point, misuse, and a full detection-to-recovery flow driven from C. */
#include <stdint.h>
#include <stdlib.h>
#include "harness.h"

#define MS 1000000ull

static const ftf_config *make_config(uint32_t k) {
    ftf_config_builder *b = NULL;
    const ftf_config *c = NULL;
    CHECK_RC(ftf_config_builder_new(&b), FTF_OK);
    CHECK_RC(ftf_config_builder_set_reports_before_suspicion(b, 2), FTF_OK);
    CHECK_RC(ftf_config_builder_set_failure_confirmation_ns(b, 100 * MS), FTF_OK);
    CHECK_RC(ftf_config_builder_set_max_concurrent(b, k), FTF_OK);
    CHECK_RC(ftf_config_builder_set_max_retries(b, 1), FTF_OK);
    CHECK_RC(ftf_config_builder_set_backoff_ns(b, 10 * MS, 20 * MS), FTF_OK);
    CHECK_RC(ftf_config_builder_set_recovery_timeout_ns(b, 1000 * MS), FTF_OK);
    CHECK_RC(ftf_config_builder_build(b, &c), FTF_OK);
    ftf_config_builder_free(b);
    return c;
}

TEST(config_builder_reports_the_field) {
    ftf_config_builder *b = NULL;
    const ftf_config *c = NULL;
    CHECK_RC(ftf_config_builder_new(NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_config_builder_new(&b), FTF_OK);
    CHECK(ftf_config_builder_error_field(b) == NULL);
    CHECK_RC(ftf_config_builder_set_backoff_ns(b, 50 * MS, 10 * MS), FTF_OK);
    CHECK_RC(ftf_config_builder_build(b, &c), FTF_INVALID_CONFIG);
    CHECK(c == NULL);
    CHECK(ftf_config_builder_error_field(b) && strcmp(ftf_config_builder_error_field(b), "backoff_cap") == 0);
    CHECK(ftf_config_builder_error_reason(b) != NULL);
    CHECK_RC(ftf_config_builder_set_backoff_ns(b, 10 * MS, 50 * MS), FTF_OK);
    CHECK_RC(ftf_config_builder_set_reports_before_suspicion(b, 0), FTF_OK);
    CHECK_RC(ftf_config_builder_build(b, &c), FTF_INVALID_CONFIG);
    CHECK(strcmp(ftf_config_builder_error_field(b), "reports_before_suspicion") == 0);
    CHECK_RC(ftf_config_builder_set_reports_before_suspicion(b, 3), FTF_OK);
    CHECK_RC(ftf_config_builder_set_max_concurrent(b, 0), FTF_OK);
    CHECK_RC(ftf_config_builder_build(b, &c), FTF_INVALID_CONFIG);
    CHECK(strcmp(ftf_config_builder_error_field(b), "max_concurrent") == 0);
    CHECK_RC(ftf_config_builder_set_max_concurrent(b, 2), FTF_OK);
    /* unknown enum values are refused by the setter itself */
    CHECK_RC(ftf_config_builder_set_pause_timeout_ns(b, MS, 7), FTF_UNKNOWN_ENUM);
    CHECK_RC(ftf_config_builder_set_heartbeat(b, 3, MS, 2 * MS, 3 * MS), FTF_UNKNOWN_ENUM);
    CHECK_RC(ftf_config_builder_set_heartbeat(b, FTF_HEARTBEAT_INTERVAL, 10 * MS, 30 * MS, 20 * MS),
             FTF_OK);
    CHECK_RC(ftf_config_builder_build(b, &c), FTF_INVALID_CONFIG);
    CHECK(strcmp(ftf_config_builder_error_field(b), "heartbeat.failure_timeout") == 0);
    CHECK_RC(ftf_config_builder_set_heartbeat(b, FTF_HEARTBEAT_PHI, 10 * MS, 30 * MS, 60 * MS), FTF_OK);
    CHECK_RC(ftf_config_builder_set_heartbeat_phi(b, 3000, 6000), FTF_OK);
    CHECK_RC(ftf_config_builder_set_heartbeat_max_local_pause_ns(b, 500 * MS), FTF_OK);
    CHECK_RC(ftf_config_builder_set_quiescence_poll_ns(b, 0), FTF_OK);
    CHECK_RC(ftf_config_builder_build(b, &c), FTF_INVALID_CONFIG);
    CHECK_RC(ftf_config_builder_set_quiescence_poll_ns(b, MS), FTF_OK);
    CHECK_RC(ftf_config_builder_set_alerts(b, 60, 1, 1000 * MS, 3, 100 * MS), FTF_OK);
    CHECK_RC(ftf_config_builder_set_pause_timeout_ns(b, 100 * MS, FTF_PAUSE_PROCEED), FTF_OK);
    CHECK_RC(ftf_config_builder_set_recovery_timeout_ns(b, 700 * MS), FTF_OK);
    CHECK_RC(ftf_config_builder_set_failure_confirmation_ns(b, 0), FTF_OK);
    CHECK_RC(ftf_config_builder_set_max_retries(b, 5), FTF_OK);
    CHECK_RC(ftf_config_builder_build(b, &c), FTF_OK);
    CHECK(ftf_config_builder_error_field(b) == NULL);
    CHECK(ftf_config_max_concurrent(c) == 2);
    CHECK(ftf_config_recovery_timeout_ns(c) == 700 * MS);
    CHECK(ftf_config_pause_timeout_ns(c) == 100 * MS);
    CHECK(ftf_config_failure_confirmation_ns(c) == 0);
    /* building again is allowed: the builder is not consumed */
    const ftf_config *c2 = NULL;
    CHECK_RC(ftf_config_builder_build(b, &c2), FTF_OK);
    ftf_config_free(c2);
    const ftf_config *c3 = ftf_config_clone(c);
    CHECK(c3 == c);
    ftf_config_free(c3);
    ftf_config_free(c);
    ftf_config_builder_free(b);
    /* NULL everywhere */
    CHECK_RC(ftf_config_builder_set_max_retries(NULL, 1), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_config_builder_set_heartbeat(NULL, 0, 0, 0, 0), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_config_builder_set_alerts(NULL, 0, 0, 0, 0, 0), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_config_builder_build(NULL, &c), FTF_NULL_PARAMETER);
    CHECK(ftf_config_builder_error_field(NULL) == NULL);
    CHECK(ftf_config_builder_error_reason(NULL) == NULL);
    CHECK(ftf_config_max_concurrent(NULL) == 0 && ftf_config_recovery_timeout_ns(NULL) == 0);
    CHECK(ftf_config_clone(NULL) == NULL);
    CHECK_RC(ftf_config_default(NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_config_default(&c), FTF_OK);
    CHECK(ftf_config_max_concurrent(c) == 3);
    ftf_config_free(c);
    ftf_config_free(NULL);
    ftf_config_builder_free(NULL);
}

static int drain_actions(const ftf_coordinator *c, ftf_action *out, int max) {
    int n = 0;
    ftf_action a;
    while (n < max && ftf_coordinator_poll_action(c, &a) == FTF_OK) {
        out[n++] = a;
    }
    return n;
}

TEST(coordinator_full_flow_with_retry) {
    const ftf_config *cfg = make_config(2);
    const ftf_coordinator *c = NULL;
    CHECK_RC(ftf_coordinator_new(cfg, 5, NULL, 1 * MS, &c), FTF_OK);
    ftf_config_free(cfg);
    const ftf_tracker *t = ftf_coordinator_tracker(c);
    uint32_t out;
    CHECK_RC(ftf_coordinator_report(c, 2 * MS, FTF_REPORT_GHOST_SYNC_FAILURE, 1, FTF_INCARNATION_ANY, &out), FTF_OK);
    CHECK(out == FTF_REPORT_COUNTED);
    CHECK_RC(ftf_coordinator_report(c, 3 * MS, FTF_REPORT_GHOST_SYNC_SUCCESS, 1, FTF_INCARNATION_ANY, &out), FTF_OK);
    /* a success in between: the count starts over (consecutive means consecutive) */
    CHECK_RC(ftf_coordinator_report(c, 4 * MS, FTF_REPORT_GHOST_SYNC_FAILURE, 1, FTF_INCARNATION_ANY, &out), FTF_OK);
    CHECK(out == FTF_REPORT_COUNTED);
    CHECK_RC(ftf_coordinator_report(c, 5 * MS, FTF_REPORT_GHOST_SYNC_FAILURE, 1, FTF_INCARNATION_ANY, &out), FTF_OK);
    CHECK(out == FTF_REPORT_SUSPECTED);
    ftf_event e;
    CHECK_RC(ftf_coordinator_poll_event(c, &e), FTF_OK);
    CHECK(e.kind == FTF_EVENT_STATUS_CHANGED && e.rank == 1 && e.to == FTF_HEALTH_SUSPECTED);
    CHECK(e.cause == FTF_CAUSE_GHOST_SYNC_FAILURE && e.time_ns == 5 * MS);
    uint64_t deadline = 0;
    CHECK_RC(ftf_coordinator_poll_timeout(c, &deadline), FTF_OK);
    CHECK(deadline <= 105 * MS); /* may be early (a spurious tick is harmless), never late */
    CHECK_RC(ftf_coordinator_tick(c, 105 * MS), FTF_OK);
    uint32_t h = 0, inc = 0;
    CHECK_RC(ftf_coordinator_health(c, 1, &h, &inc), FTF_OK);
    CHECK(h == FTF_HEALTH_RECOVERING);
    CHECK(ftf_coordinator_in_recovery_mode(c));
    CHECK(ftf_tracker_is_paused(t)); /* nothing in flight: quiescent at once */
    ftf_partition_info info;
    CHECK_RC(ftf_coordinator_partition(c, 1, &info), FTF_OK);
    CHECK(info.health == FTF_HEALTH_RECOVERING && info.attempts == 1 && !info.queued);
    CHECK(info.heartbeat_verdict == FTF_VERDICT_ALIVE);
    CHECK_RC(ftf_coordinator_partition(c, 5, &info), FTF_UNKNOWN_PARTITION);
    CHECK_RC(ftf_coordinator_partition(c, 1, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_partition(NULL, 1, &info), FTF_NULL_PARAMETER);
    ftf_action acts[16];
    int n = drain_actions(c, acts, 16);
    CHECK(n == 3);
    CHECK(acts[0].kind == FTF_ACTION_PAUSE_BALANCER);
    CHECK(acts[1].kind == FTF_ACTION_PAUSE_GHOST_SYNC);
    CHECK(acts[2].kind == FTF_ACTION_RUN_PHASE && acts[2].job.phase == FTF_PHASE_DETECTING);
    ftf_phase_job job = acts[2].job;
    CHECK(job.rank == 1 && job.number == 1);
    /* misuse of phase_done */
    CHECK_RC(ftf_coordinator_phase_done(c, 106 * MS, 1, job.attempt, FTF_PHASE_REBALANCING, true), FTF_INVALID_TRANSITION);
    CHECK_RC(ftf_coordinator_phase_done(c, 106 * MS, 1, job.attempt, 99, true), FTF_UNKNOWN_ENUM);
    CHECK_RC(ftf_coordinator_phase_done(c, 106 * MS, 1, job.attempt + 1, FTF_PHASE_DETECTING, true), FTF_NO_RECOVERY);
    CHECK_RC(ftf_coordinator_phase_done(c, 106 * MS, 7, job.attempt, FTF_PHASE_DETECTING, true), FTF_UNKNOWN_PARTITION);
    /* the embedder's phase reports an error: the attempt fails, a retry is scheduled */
    CHECK_RC(ftf_coordinator_phase_done(c, 106 * MS, 1, job.attempt, FTF_PHASE_DETECTING, false), FTF_OK);
    CHECK_RC(ftf_coordinator_phase_done(c, 106 * MS, 1, job.attempt, FTF_PHASE_DETECTING, true), FTF_NO_RECOVERY);
    n = drain_actions(c, acts, 16);
    CHECK(n == 2 && acts[0].kind == FTF_ACTION_RESUME_BALANCER && acts[1].kind == FTF_ACTION_RESUME_GHOST_SYNC);
    CHECK(!ftf_tracker_is_paused(t));
    int retry_seen = 0;
    while (ftf_coordinator_poll_event(c, &e) == FTF_OK) {
        if (e.kind == FTF_EVENT_RETRY_SCHEDULED) {
            retry_seen = 1;
            CHECK(e.number == 2 && e.at_ns == 116 * MS);
        }
    }
    CHECK(retry_seen);
    CHECK_RC(ftf_coordinator_tick(c, 116 * MS), FTF_OK);
    /* the retry runs every phase */
    uint64_t now = 116 * MS;
    int phases = 0;
    for (;;) {
        n = drain_actions(c, acts, 16);
        int ran = 0;
        for (int i = 0; i < n; i++) {
            if (acts[i].kind == FTF_ACTION_RUN_PHASE) {
                CHECK(acts[i].job.number == 2);
                ftf_phase_job cur;
                CHECK_RC(ftf_coordinator_recovery(c, 1, &cur), FTF_OK);
                CHECK(cur.phase == acts[i].job.phase);
                CHECK_RC(ftf_coordinator_phase_done(c, now, 1, acts[i].job.attempt, acts[i].job.phase, true), FTF_OK);
                phases++;
                ran = 1;
            }
        }
        now += MS;
        if (!ran) break;
    }
    CHECK(phases == 4);
    CHECK_RC(ftf_coordinator_health(c, 1, &h, &inc), FTF_OK);
    CHECK(h == FTF_HEALTH_HEALTHY && inc == 1);
    ftf_stats s;
    CHECK_RC(ftf_coordinator_stats(c, &s), FTF_OK);
    CHECK(s.recoveries_attempted == 2 && s.recoveries_failed == 1 && s.recoveries_succeeded == 1);
    CHECK(s.recoveries_retried == 1 && s.failures_detected == 1 && s.success_rate_permille == 500);
    CHECK(s.recovery_latency.count == 1 && s.detection_latency.count == 1);
    ftf_counts counts;
    CHECK_RC(ftf_coordinator_counts(c, &counts), FTF_OK);
    CHECK(counts.healthy == 5);
    CHECK(ftf_coordinator_level(c) == FTF_LEVEL_HEALTHY);
    CHECK((ftf_coordinator_alerts(c, now) & FTF_ALERT_FAILED_PARTITIONS) == 0);
    /* stale and unknown reports */
    CHECK_RC(ftf_coordinator_report(c, now, FTF_REPORT_BARRIER_TIMEOUT, 1, 0, &out), FTF_OK);
    CHECK(out == FTF_REPORT_STALE);
    CHECK_RC(ftf_coordinator_report(c, now, 8, 1, FTF_INCARNATION_ANY, &out), FTF_UNKNOWN_ENUM);
    CHECK_RC(ftf_coordinator_report(c, now, FTF_REPORT_HEALTHY, 5, FTF_INCARNATION_ANY, &out), FTF_UNKNOWN_PARTITION);
    CHECK_RC(ftf_coordinator_report(c, now, FTF_REPORT_HEALTHY, 1, FTF_INCARNATION_ANY, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_retry(c, now, 1), FTF_UNEXPECTED_STATE);
    /* metrics: size query, too small (nothing written), then the text */
    size_t needed = 0;
    CHECK_RC(ftf_coordinator_metrics(c, now, NULL, 0, &needed), FTF_BUFFER_TOO_SMALL);
    CHECK(needed > 100);
    char small[16];
    memset(small, 'x', sizeof small);
    CHECK_RC(ftf_coordinator_metrics(c, now, small, sizeof small, &needed), FTF_BUFFER_TOO_SMALL);
    CHECK(small[0] == 'x' && small[15] == 'x');
    char *buf = malloc(needed);
    CHECK_RC(ftf_coordinator_metrics(c, now, buf, needed, &needed), FTF_OK);
    CHECK(strstr(buf, "ftforest_recoveries_retried_total 1\n") != NULL);
    CHECK(strstr(buf, "# EOF\n") != NULL && strlen(buf) == needed - 1);
    CHECK_RC(ftf_coordinator_metrics(c, now, buf, needed, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_stats_metrics(&s, FTF_LEVEL_HEALTHY, 0, buf, needed, &needed), FTF_OK);
    free(buf);
    CHECK_RC(ftf_stats_metrics(NULL, 0, 0, NULL, 0, &needed), FTF_NULL_PARAMETER);
    ftf_tracker_free(t);
    ftf_coordinator_free(c);
}

TEST(coordinator_escalates_and_retries_on_command) {
    const ftf_config *cfg = make_config(1);
    const ftf_coordinator *c = NULL;
    CHECK_RC(ftf_coordinator_new(cfg, 3, NULL, 0, &c), FTF_OK);
    ftf_config_free(cfg);
    uint32_t out;
    CHECK_RC(ftf_coordinator_report(c, MS, FTF_REPORT_CRASHED, 2, FTF_INCARNATION_ANY, &out), FTF_OK);
    CHECK(out == FTF_REPORT_FAILED);
    uint64_t now = MS;
    ftf_action a;
    int failures = 0;
    /* fail every attempt: 1 + max_retries(1) attempts, then escalation */
    for (int guard = 0; guard < 50; guard++) {
        ftf_coordinator_tick(c, now);
        while (ftf_coordinator_poll_action(c, &a) == FTF_OK) {
            if (a.kind == FTF_ACTION_RUN_PHASE) {
                CHECK_RC(ftf_coordinator_phase_done(c, now, 2, a.job.attempt, a.job.phase, false), FTF_OK);
                if (++failures == 1) {
                    /* FAILED and backing off: it will be retried without help */
                    CHECK_RC(ftf_coordinator_retry(c, now, 2), FTF_BUSY);
                }
            }
        }
        now += 5 * MS;
    }
    CHECK(failures == 2);
    int escalated = 0;
    ftf_event e;
    while (ftf_coordinator_poll_event(c, &e) == FTF_OK) {
        if (e.kind == FTF_EVENT_ESCALATED) {
            escalated = 1;
            CHECK(e.cause == FTF_ESCALATION_RETRIES_EXHAUSTED && e.rank == 2);
        }
    }
    CHECK(escalated);
    ftf_partition_info info;
    CHECK_RC(ftf_coordinator_partition(c, 2, &info), FTF_OK);
    CHECK(info.exhausted && info.health == FTF_HEALTH_FAILED && info.attempts == 2);
    uint32_t h, inc;
    CHECK_RC(ftf_coordinator_health(c, 2, &h, &inc), FTF_OK);
    CHECK(h == FTF_HEALTH_FAILED);
    CHECK(ftf_coordinator_level(c) == FTF_LEVEL_CRITICAL);
    CHECK(ftf_coordinator_alerts(c, now) & FTF_ALERT_FAILED_PARTITIONS);
    CHECK_RC(ftf_coordinator_retry(c, now, 2), FTF_OK);
    CHECK_RC(ftf_coordinator_health(c, 2, &h, &inc), FTF_OK);
    CHECK(h == FTF_HEALTH_RECOVERING); /* started again at once */
    CHECK_RC(ftf_coordinator_retry(c, now, 2), FTF_UNEXPECTED_STATE);
    CHECK_RC(ftf_coordinator_retry(c, now, 3), FTF_UNKNOWN_PARTITION);
    ftf_coordinator_free(c);
}

TEST(coordinator_misuse) {
    const ftf_coordinator *c = NULL;
    CHECK_RC(ftf_coordinator_new(NULL, 0, NULL, 0, &c), FTF_INVALID_ARGUMENT);
    CHECK_RC(ftf_coordinator_new(NULL, 3, NULL, 0, NULL), FTF_NULL_PARAMETER);
    ftf_config_builder *b = NULL;
    const ftf_config *cfg = NULL;
    ftf_config_builder_new(&b);
    ftf_config_builder_set_max_concurrent(b, FTF_MAX_CONCURRENT_RECOVERIES + 1);
    CHECK_RC(ftf_config_builder_build(b, &cfg), FTF_OK);
    ftf_config_builder_free(b);
    CHECK_RC(ftf_coordinator_new(cfg, 3, NULL, 0, &c), FTF_INVALID_CONFIG);
    ftf_config_free(cfg);
    const ftf_tracker *t = NULL;
    CHECK_RC(ftf_tracker_new(&t), FTF_OK);
    CHECK_RC(ftf_coordinator_new(NULL, 3, t, 0, &c), FTF_OK);
    const ftf_tracker *ct = ftf_coordinator_tracker(c);
    CHECK(ct == t);
    ftf_tracker_free(ct);
    ftf_tracker_free(t); /* the coordinator keeps its own reference */
    ftf_action a;
    ftf_event e;
    ftf_phase_job j;
    ftf_stats s;
    ftf_counts cn;
    uint64_t d;
    uint32_t h, inc, out;
    CHECK_RC(ftf_coordinator_poll_action(c, &a), FTF_EMPTY);
    CHECK_RC(ftf_coordinator_poll_event(c, &e), FTF_EMPTY);
    CHECK_RC(ftf_coordinator_recovery(c, 0, &j), FTF_NO_RECOVERY);
    CHECK_RC(ftf_coordinator_recovery(c, 3, &j), FTF_UNKNOWN_PARTITION);
    CHECK_RC(ftf_coordinator_health(c, 3, &h, &inc), FTF_UNKNOWN_PARTITION);
    CHECK_RC(ftf_coordinator_poll_action(NULL, &a), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_poll_action(c, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_poll_event(NULL, &e), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_poll_event(c, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_poll_timeout(NULL, &d), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_poll_timeout(c, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_tick(NULL, 0), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_report(NULL, 0, 0, 0, 0, &out), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_phase_done(NULL, 0, 0, 1, 1, true), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_phase_done(c, 0, 0, 1, FTF_PHASE_DETECTING, true), FTF_NO_RECOVERY);
    CHECK_RC(ftf_coordinator_retry(NULL, 0, 0), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_health(NULL, 0, &h, &inc), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_health(c, 0, NULL, &inc), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_counts(NULL, &cn), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_counts(c, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_stats(NULL, &s), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_stats(c, NULL), FTF_NULL_PARAMETER);
    CHECK(ftf_coordinator_len(NULL) == 0 && ftf_coordinator_len(c) == 3);
    CHECK(!ftf_coordinator_has_quorum(NULL) && ftf_coordinator_has_quorum(c));
    CHECK(ftf_coordinator_in_progress(NULL) == 0 && !ftf_coordinator_in_recovery_mode(NULL));
    CHECK(!ftf_coordinator_is_queued(NULL, 0) && !ftf_coordinator_is_queued(c, 99));
    CHECK(ftf_coordinator_pending_events(NULL) == 0 && ftf_coordinator_alerts(NULL, 0) == 0);
    CHECK(ftf_coordinator_level(NULL) == FTF_LEVEL_QUORUM_LOST);
    CHECK(ftf_coordinator_tracker(NULL) == NULL && ftf_coordinator_clone(NULL) == NULL);
    /* time going backwards: no negative duration, no crash */
    CHECK_RC(ftf_coordinator_tick(c, 1000 * MS), FTF_OK);
    CHECK_RC(ftf_coordinator_tick(c, 1 * MS), FTF_OK);
    CHECK_RC(ftf_coordinator_tick(c, UINT64_MAX), FTF_OK);
    ftf_coordinator_free(c);
    ftf_coordinator_free(NULL);
}

/* ---- barrier: scripted outcomes, including an invalid one ---- */

typedef struct {
    uint32_t script[8];
    int len;
    int finalized;
} script_t;

static uint32_t scripted(void *ud, uint32_t rank, uint64_t timeout_ns) {
    (void)rank;
    (void)timeout_ns;
    script_t *s = ud;
    return s->len > 0 ? s->script[--s->len] : FTF_BARRIER_PASSED;
}

static void script_fin(void *ud) {
    ((script_t *)ud)->finalized++;
}

TEST(barrier_reports_outcomes) {
    const ftf_coordinator *c = NULL;
    CHECK_RC(ftf_coordinator_new(NULL, 3, NULL, ftf_now_ns(), &c), FTF_OK);
    /* popped from the end: TIMED_OUT, 42 (invalid), PASSED */
    script_t s = {{FTF_BARRIER_PASSED, 42, FTF_BARRIER_TIMED_OUT}, 3, 0};
    ftf_barrier *b = NULL;
    CHECK_RC(ftf_barrier_new_for_coordinator(c, 3, scripted, &s, script_fin, true, &b), FTF_UNKNOWN_PARTITION);
    CHECK_RC(ftf_barrier_new_for_coordinator(c, 0, NULL, &s, script_fin, true, &b), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_barrier_new_for_coordinator(NULL, 0, scripted, &s, script_fin, true, &b), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_barrier_new_for_coordinator(c, 0, scripted, &s, script_fin, true, NULL), FTF_NULL_PARAMETER);
    CHECK(s.finalized == 0); /* failed creations do not finalize */
    CHECK_RC(ftf_barrier_new_for_coordinator(c, 0, scripted, &s, script_fin, true, &b), FTF_OK);
    uint32_t outcome = 77;
    CHECK_RC(ftf_barrier_wait(b, MS, &outcome), FTF_OK);
    CHECK(outcome == FTF_BARRIER_TIMED_OUT);
    outcome = 77;
    CHECK_RC(ftf_barrier_wait(b, MS, &outcome), FTF_CALLBACK_FAILED);
    CHECK(outcome == 77);
    uint32_t h, inc;
    CHECK_RC(ftf_coordinator_health(c, 0, &h, &inc), FTF_OK);
    CHECK(h == FTF_HEALTH_SUSPECTED); /* the invalid result counted as a timeout */
    CHECK_RC(ftf_barrier_wait(b, MS, &outcome), FTF_OK);
    CHECK(outcome == FTF_BARRIER_PASSED);
    CHECK_RC(ftf_coordinator_health(c, 0, &h, &inc), FTF_OK);
    CHECK(h == FTF_HEALTH_HEALTHY && inc == 1);
    CHECK(ftf_barrier_timeouts(b) == 2 && ftf_barrier_report_errors(b) == 0);
    CHECK_RC(ftf_barrier_wait(NULL, MS, &outcome), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_barrier_wait(b, MS, NULL), FTF_NULL_PARAMETER);
    CHECK(ftf_barrier_timeouts(NULL) == 0 && ftf_barrier_report_errors(NULL) == 0);
    ftf_coordinator_free(c); /* the barrier keeps the coordinator alive */
    CHECK_RC(ftf_barrier_wait(b, MS, &outcome), FTF_OK);
    ftf_barrier_free(b);
    CHECK(s.finalized == 1);
    ftf_barrier_free(NULL);
}

/* Backpressure: without draining events, an input is eventually refused with FTF_OUTBOX_FULL
   (nothing changed, nothing dropped); draining makes room again. */
TEST(full_outbox_refuses_inputs_until_drained) {
    const ftf_coordinator *c = NULL;
    CHECK_RC(ftf_coordinator_new(NULL, 3, NULL, MS, &c), FTF_OK);
    uint32_t out, rc = FTF_OK, kind = 0;
    /* keep feeding reports that change partition 1's state without polling a single event:
       suspect it (timeouts; the default needs 3) and clear it, again and again */
    uint32_t cycle[4] = {FTF_REPORT_BARRIER_TIMEOUT, FTF_REPORT_BARRIER_TIMEOUT,
                         FTF_REPORT_BARRIER_TIMEOUT, FTF_REPORT_HEALTHY};
    for (int i = 0; i < 4000 && rc == FTF_OK; i++) {
        kind = cycle[i % 4];
        rc = ftf_coordinator_report(c, MS, kind, 1, FTF_INCARNATION_ANY, &out);
    }
    CHECK_RC(rc, FTF_OUTBOX_FULL);
    CHECK(!ftf_coordinator_has_outbox_room(c));
    uint32_t pending = ftf_coordinator_pending_events(c);
    CHECK(pending > 0 && pending <= FTF_EVENT_CAPACITY);
    ftf_partition_info before, after;
    CHECK_RC(ftf_coordinator_partition(c, 1, &before), FTF_OK);
    CHECK_RC(ftf_coordinator_report(c, MS, kind, 1, FTF_INCARNATION_ANY, &out), FTF_OUTBOX_FULL);
    CHECK_RC(ftf_coordinator_partition(c, 1, &after), FTF_OK);
    /* nothing changed (field by field: the struct has padding) */
    CHECK(before.health == after.health && before.incarnation == after.incarnation &&
          before.consecutive_failures == after.consecutive_failures &&
          before.attempts == after.attempts && before.queued == after.queued);
    CHECK(ftf_coordinator_pending_events(c) == pending);
    ftf_event e;
    uint32_t drained = 0;
    while (ftf_coordinator_poll_event(c, &e) == FTF_OK) drained++;
    CHECK(drained == pending);
    CHECK(ftf_coordinator_has_outbox_room(c));
    CHECK_RC(ftf_coordinator_report(c, MS, kind, 1, FTF_INCARNATION_ANY, &out), FTF_OK);
    ftf_stats s;
    CHECK_RC(ftf_coordinator_stats(c, &s), FTF_OK);
    CHECK(s.events_dropped == 0);
    CHECK(!ftf_coordinator_has_outbox_room(NULL));
    ftf_coordinator_free(c);
}

/* Issue 7, item 1: an attempt abandoned at its recovery timeout keeps the forest paused and
   its recovery slot until the embedder acknowledges the cancel; never acknowledged, it is
   escalated (event, alert, statistic) but the forest stays paused. */
TEST(coordinator_cancel_is_a_handshake) {
    ftf_config_builder *b = NULL;
    const ftf_config *cfg = NULL;
    CHECK_RC(ftf_config_builder_new(&b), FTF_OK);
    CHECK_RC(ftf_config_builder_set_cancel_timeout_ns(b, 0), FTF_OK);
    CHECK_RC(ftf_config_builder_build(b, &cfg), FTF_INVALID_CONFIG);
    CHECK(strcmp(ftf_config_builder_error_field(b), "cancel_timeout") == 0);
    CHECK_RC(ftf_config_builder_set_cancel_timeout_ns(NULL, MS), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_config_builder_set_cancel_timeout_ns(b, 500 * MS), FTF_OK);
    CHECK_RC(ftf_config_builder_set_max_concurrent(b, 1), FTF_OK);
    CHECK_RC(ftf_config_builder_set_recovery_timeout_ns(b, 100 * MS), FTF_OK);
    CHECK_RC(ftf_config_builder_set_backoff_ns(b, 10 * MS, 10 * MS), FTF_OK);
    CHECK_RC(ftf_config_builder_build(b, &cfg), FTF_OK);
    ftf_config_builder_free(b);
    CHECK(ftf_config_cancel_timeout_ns(cfg) == 500 * MS);
    const ftf_coordinator *c = NULL;
    CHECK_RC(ftf_coordinator_new(cfg, 5, NULL, 0, &c), FTF_OK);
    ftf_config_free(cfg);
    const ftf_tracker *t = ftf_coordinator_tracker(c);
    uint32_t out;
    CHECK_RC(ftf_coordinator_report(c, 0, FTF_REPORT_CRASHED, 0, FTF_INCARNATION_ANY, &out), FTF_OK);
    ftf_action acts[16];
    int n = drain_actions(c, acts, 16);
    CHECK(n == 3 && acts[2].kind == FTF_ACTION_RUN_PHASE);
    ftf_phase_job job = acts[2].job;
    ftf_event e;
    while (ftf_coordinator_poll_event(c, &e) == FTF_OK) {
    }
    /* the recovery timeout: the attempt fails, the embedder is told to cancel */
    CHECK_RC(ftf_coordinator_tick(c, 100 * MS), FTF_OK);
    n = drain_actions(c, acts, 16);
    CHECK(n == 1 && acts[0].kind == FTF_ACTION_CANCEL_RECOVERY);
    CHECK(acts[0].job.attempt == job.attempt);
    uint32_t attempt = 0;
    CHECK_RC(ftf_coordinator_cancelling(c, 0, &attempt), FTF_OK);
    CHECK(attempt == job.attempt);
    CHECK_RC(ftf_coordinator_cancelling(c, 1, &attempt), FTF_NO_RECOVERY);
    CHECK_RC(ftf_coordinator_cancelling(c, 5, &attempt), FTF_UNKNOWN_PARTITION);
    CHECK_RC(ftf_coordinator_cancelling(c, 0, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_cancelling(NULL, 0, &attempt), FTF_NULL_PARAMETER);
    /* past the backoff: nothing reopens, nothing restarts */
    CHECK_RC(ftf_coordinator_tick(c, 300 * MS), FTF_OK);
    n = drain_actions(c, acts, 16);
    CHECK(n == 0);
    CHECK(ftf_coordinator_in_recovery_mode(c));
    CHECK(ftf_tracker_is_paused(t));
    CHECK(ftf_coordinator_in_progress(c) == 1);
    ftf_stats s;
    CHECK_RC(ftf_coordinator_stats(c, &s), FTF_OK);
    CHECK(s.cancels_pending == 1 && s.cancels_escalated == 0);
    CHECK_RC(ftf_coordinator_retry(c, 300 * MS, 0), FTF_BUSY);
    /* never acknowledged: escalated once at 100 + 500 ms, still paused */
    while (ftf_coordinator_poll_event(c, &e) == FTF_OK) {
    }
    CHECK(!(ftf_coordinator_alerts(c, 599 * MS) & FTF_ALERT_CANCEL_OVERDUE));
    CHECK_RC(ftf_coordinator_tick(c, 600 * MS), FTF_OK);
    int escalated = 0;
    while (ftf_coordinator_poll_event(c, &e) == FTF_OK) {
        if (e.kind == FTF_EVENT_ESCALATED && e.rank == 0 &&
            e.cause == FTF_ESCALATION_CANCEL_UNACKNOWLEDGED) {
            escalated++;
        }
    }
    CHECK(escalated == 1);
    CHECK(ftf_coordinator_alerts(c, 600 * MS) & FTF_ALERT_CANCEL_OVERDUE);
    CHECK_RC(ftf_coordinator_stats(c, &s), FTF_OK);
    CHECK(s.cancels_escalated == 1);
    CHECK(ftf_tracker_is_paused(t));
    /* misuse changes nothing */
    CHECK_RC(ftf_coordinator_cancel_done(NULL, 700 * MS, 0, job.attempt), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_cancel_done(c, 700 * MS, 5, job.attempt), FTF_UNKNOWN_PARTITION);
    CHECK_RC(ftf_coordinator_cancel_done(c, 700 * MS, 0, job.attempt + 1), FTF_NO_RECOVERY);
    CHECK(ftf_tracker_is_paused(t));
    /* the acknowledgement: the forest resumes, the due retry starts on the next tick */
    CHECK_RC(ftf_coordinator_cancel_done(c, 700 * MS, 0, job.attempt), FTF_OK);
    CHECK_RC(ftf_coordinator_cancel_done(c, 700 * MS, 0, job.attempt), FTF_NO_RECOVERY);
    n = drain_actions(c, acts, 16);
    CHECK(n == 2 && acts[0].kind == FTF_ACTION_RESUME_BALANCER);
    CHECK(!ftf_tracker_is_paused(t));
    CHECK(!(ftf_coordinator_alerts(c, 700 * MS) & FTF_ALERT_CANCEL_OVERDUE));
    uint64_t deadline = 0;
    CHECK_RC(ftf_coordinator_poll_timeout(c, &deadline), FTF_OK);
    CHECK(deadline <= 700 * MS);
    CHECK_RC(ftf_coordinator_tick(c, 700 * MS), FTF_OK);
    n = drain_actions(c, acts, 16);
    CHECK(n == 3 && acts[2].kind == FTF_ACTION_RUN_PHASE && acts[2].job.number == 2);
    /* the late result of an abandoned phase acknowledges too */
    CHECK_RC(ftf_coordinator_tick(c, 800 * MS), FTF_OK);
    n = drain_actions(c, acts, 16);
    CHECK(n == 1 && acts[0].kind == FTF_ACTION_CANCEL_RECOVERY);
    CHECK(ftf_tracker_is_paused(t));
    ftf_phase_job late = acts[0].job;
    CHECK_RC(ftf_coordinator_phase_done(c, 810 * MS, 0, late.attempt, FTF_PHASE_VALIDATING, true),
             FTF_INVALID_TRANSITION);
    CHECK_RC(ftf_coordinator_phase_done(c, 810 * MS, 0, late.attempt, FTF_PHASE_DETECTING, true),
             FTF_OK);
    CHECK(!ftf_tracker_is_paused(t));
    CHECK_RC(ftf_coordinator_cancelling(c, 0, &attempt), FTF_NO_RECOVERY);
    ftf_tracker_free(t);
    ftf_coordinator_free(c);
}

TEST(enum_names) {
    CHECK(strcmp(ftf_phase_name(FTF_PHASE_REBALANCING), "REBALANCING") == 0);
    CHECK(strcmp(ftf_phase_name(7), "UNKNOWN") == 0);
    CHECK(strcmp(ftf_level_name(FTF_LEVEL_QUORUM_LOST), "QUORUM_LOST") == 0);
    CHECK(strcmp(ftf_level_name(4), "UNKNOWN") == 0);
    CHECK(strcmp(ftf_event_kind_name(FTF_EVENT_RECOVERY_FINISHED), "RECOVERY_FINISHED") == 0);
    CHECK(strcmp(ftf_event_kind_name(8), "FENCE_GRANTED") == 0);
    CHECK(strcmp(ftf_event_kind_name(10), "AVAILABILITY_CHANGED") == 0);
    CHECK(strcmp(ftf_event_kind_name(1000), "UNKNOWN") == 0);
    CHECK(strcmp(ftf_cause_name(FTF_CAUSE_CONFIRMATION_TIMEOUT), "CONFIRMATION_TIMEOUT") == 0);
    CHECK(strcmp(ftf_cause_name(FTF_CAUSE_LEFT), "LEFT") == 0);
    CHECK(strcmp(ftf_cause_name(17), "UNKNOWN") == 0);
}

int main(void) {
    RUN(config_builder_reports_the_field);
    RUN(coordinator_full_flow_with_retry);
    RUN(coordinator_escalates_and_retries_on_command);
    RUN(coordinator_misuse);
    RUN(barrier_reports_outcomes);
    RUN(full_outbox_refuses_inputs_until_drained);
    RUN(coordinator_cancel_is_a_handshake);
    RUN(enum_names);
    return harness_summary();
}
