/* Issue 7, items 2, 11, 12 and 13 from C: failures counted per signal (the wedged worker),
   the original's alerts raised and cleared, the recommended K, per-partition statistics,
   thresholds changed on a running coordinator and forest, confirmation by count, and a
   recovery timeout of zero (no timeout). Sans-io, caller-chosen time: no sleeps. */
#include <stdint.h>
#include <stdlib.h>
#include "harness.h"

#define MS 1000000ull

static uint32_t report(const ftf_coordinator *c, uint64_t now, uint32_t kind, uint32_t rank) {
    uint32_t out = UINT32_MAX;
    CHECK_RC(ftf_coordinator_report(c, now, kind, rank, FTF_INCARNATION_ANY, &out), FTF_OK);
    return out;
}

static uint32_t health(const ftf_coordinator *c, uint32_t rank) {
    uint32_t h = UINT32_MAX, inc = 0;
    CHECK_RC(ftf_coordinator_health(c, rank, &h, &inc), FTF_OK);
    return h;
}

/* Plays the embedder: runs every handed-out phase successfully, drains events. */
static void pump(const ftf_coordinator *c, uint64_t now) {
    for (int guard = 0; guard < 1000; guard++) {
        ftf_action a;
        ftf_event e;
        while (ftf_coordinator_poll_event(c, &e) == FTF_OK) {
        }
        if (ftf_coordinator_poll_action(c, &a) != FTF_OK) return;
        if (a.kind == FTF_ACTION_RUN_PHASE) {
            CHECK_RC(ftf_coordinator_phase_done(c, now, a.job.rank, a.job.attempt, a.job.phase, true),
                     FTF_OK);
        }
    }
}

static const ftf_config *build(ftf_config_builder *b) {
    const ftf_config *c = NULL;
    CHECK_RC(ftf_config_builder_build(b, &c), FTF_OK);
    ftf_config_builder_free(b);
    return c;
}

TEST(wedged_worker_with_live_heartbeats_is_suspected_then_failed) {
    ftf_config_builder *b = NULL;
    CHECK_RC(ftf_config_builder_new(&b), FTF_OK);
    CHECK_RC(ftf_config_builder_set_failure_confirmation_ns(b, 1000 * MS), FTF_OK);
    CHECK_RC(ftf_config_builder_set_heartbeat(b, FTF_HEARTBEAT_INTERVAL, 500 * MS, 2000 * MS, 5000 * MS),
             FTF_OK);
    const ftf_config *cfg = build(b);
    const ftf_coordinator *c = NULL;
    CHECK_RC(ftf_coordinator_new(cfg, 5, NULL, 0, &c), FTF_OK);
    uint64_t suspected_at = 0;
    ftf_partition_stats ps;
    memset(&ps, 0, sizeof ps);
    /* Every partition's heartbeat thread is alive, but partition 2's forest worker never
       reaches the barrier: a barrier timeout after every heartbeat. */
    for (uint64_t t = 0; t < 3000 * MS && ps.failures == 0; t += 100 * MS) {
        for (uint32_t r = 0; r < 5; r++) report(c, t, FTF_REPORT_HEARTBEAT_RECEIVED, r);
        report(c, t + 10 * MS, FTF_REPORT_BARRIER_TIMEOUT, 2);
        if (!suspected_at && health(c, 2) == FTF_HEALTH_SUSPECTED) suspected_at = t + 10 * MS;
        CHECK_RC(ftf_coordinator_tick(c, t + 20 * MS), FTF_OK);
        pump(c, t + 20 * MS);
        CHECK_RC(ftf_coordinator_partition_stats(c, 2, &ps), FTF_OK);
    }
    /* Suspected at the second barrier timeout, failed by time 1000 ms later. */
    CHECK(suspected_at == 110 * MS);
    CHECK(ps.suspicions == 1 && ps.failures == 1);
    /* First barrier timeout (10 ms) to the confirming tick (1120 ms). */
    CHECK(ps.last_detection_latency_ns == 1110 * MS);
    CHECK_RC(ftf_coordinator_partition_stats(c, 0, &ps), FTF_OK);
    CHECK(ps.suspicions == 0 && ps.consecutive_heartbeat == 0 && ps.last_report_ns != FTF_NO_TIME);
    ftf_partition_stats untouched = ps;
    CHECK_RC(ftf_coordinator_partition_stats(c, 5, &ps), FTF_UNKNOWN_PARTITION);
    CHECK(memcmp(&ps, &untouched, sizeof ps) == 0);
    CHECK_RC(ftf_coordinator_partition_stats(c, 0, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_partition_stats(NULL, 0, &ps), FTF_NULL_PARAMETER);
    ftf_coordinator_free(c);
    ftf_config_free(cfg);
}

TEST(queue_backlog_alert_raises_and_clears_with_thresholds_at_run_time) {
    ftf_config_builder *b = NULL;
    CHECK_RC(ftf_config_builder_new(&b), FTF_OK);
    CHECK_RC(ftf_config_builder_set_max_concurrent(b, ftf_recommended_max_concurrent(4)), FTF_OK);
    const ftf_config *cfg = build(b);
    CHECK(ftf_config_max_concurrent(cfg) == 1);
    const ftf_coordinator *c = NULL;
    CHECK_RC(ftf_coordinator_new(cfg, 20, NULL, 0, &c), FTF_OK);
    /* Seven crashes, K = 1: one recovers, six wait: more than 5 queued. */
    for (uint32_t r = 0; r < 7; r++) {
        CHECK(report(c, MS, FTF_REPORT_CRASHED, r) == FTF_REPORT_FAILED);
        ftf_event e;
        while (ftf_coordinator_poll_event(c, &e) == FTF_OK) {
        }
    }
    CHECK((ftf_coordinator_alerts(c, MS) & FTF_ALERT_QUEUE_BACKLOG) != 0);
    ftf_alert_thresholds th;
    CHECK_RC(ftf_coordinator_thresholds(c, &th), FTF_OK);
    CHECK(th.max_queue_depth == 5);
    th.max_queue_depth = 6;
    CHECK_RC(ftf_coordinator_set_thresholds(c, &th), FTF_OK);
    CHECK((ftf_coordinator_alerts(c, MS) & FTF_ALERT_QUEUE_BACKLOG) == 0);
    th.max_queue_depth = 5;
    CHECK_RC(ftf_coordinator_set_thresholds(c, &th), FTF_OK);
    CHECK((ftf_coordinator_alerts(c, MS) & FTF_ALERT_QUEUE_BACKLOG) != 0);
    /* Draining the queue clears it. */
    for (uint64_t t = 2; t < 200; t++) {
        CHECK_RC(ftf_coordinator_tick(c, t * MS), FTF_OK);
        pump(c, t * MS);
    }
    CHECK((ftf_coordinator_alerts(c, 200 * MS) & FTF_ALERT_QUEUE_BACKLOG) == 0);
    CHECK(health(c, 6) == FTF_HEALTH_HEALTHY);
    /* Invalid thresholds are refused and change nothing. */
    th.min_success_permille = 1001;
    CHECK_RC(ftf_coordinator_set_thresholds(c, &th), FTF_INVALID_CONFIG);
    CHECK_RC(ftf_coordinator_set_thresholds(c, NULL), FTF_NULL_PARAMETER);
    ftf_alert_thresholds now;
    CHECK_RC(ftf_coordinator_thresholds(c, &now), FTF_OK);
    CHECK(now.min_success_permille == 800);
    ftf_coordinator_free(c);
    ftf_config_free(cfg);
}

TEST(confirmation_by_count_and_zero_recovery_timeout) {
    ftf_config_builder *b = NULL;
    CHECK_RC(ftf_config_builder_new(&b), FTF_OK);
    CHECK_RC(ftf_config_builder_set_reports_before_suspicion(b, 1), FTF_OK);
    CHECK_RC(ftf_config_builder_set_reports_before_failure(b, 1), FTF_OK);
    const ftf_config *bad = NULL;
    CHECK_RC(ftf_config_builder_build(b, &bad), FTF_INVALID_CONFIG);
    CHECK(bad == NULL);
    CHECK(strcmp(ftf_config_builder_error_field(b), "reports_before_failure") == 0);
    CHECK_RC(ftf_config_builder_set_reports_before_failure(b, 2), FTF_OK);
    CHECK_RC(ftf_config_builder_set_recovery_timeout_ns(b, 0), FTF_OK);
    ftf_alert_thresholds th;
    CHECK_RC(ftf_alert_thresholds_default(&th), FTF_OK);
    th.max_suspected = 0;
    CHECK_RC(ftf_config_builder_set_alert_thresholds(b, &th), FTF_OK);
    const ftf_config *cfg = build(b);
    CHECK(ftf_config_reports_before_failure(cfg) == 2 && ftf_config_recovery_timeout_ns(cfg) == 0);
    const ftf_coordinator *c = NULL;
    CHECK_RC(ftf_coordinator_new(cfg, 5, NULL, 0, &c), FTF_OK);
    CHECK(report(c, MS, FTF_REPORT_GHOST_SYNC_FAILURE, 3) == FTF_REPORT_SUSPECTED);
    CHECK((ftf_coordinator_alerts(c, MS) & FTF_ALERT_MANY_SUSPECTED) != 0);
    CHECK(report(c, 2 * MS, FTF_REPORT_HEARTBEAT_MISSED, 3) == FTF_REPORT_FAILED);
    CHECK(health(c, 3) == FTF_HEALTH_RECOVERING);
    /* No recovery timeout: hours later the attempt still runs, nothing cancelled. */
    ftf_action a;
    ftf_event e;
    while (ftf_coordinator_poll_event(c, &e) == FTF_OK) {
    }
    int cancels = 0;
    while (ftf_coordinator_poll_action(c, &a) == FTF_OK) cancels += a.kind == FTF_ACTION_CANCEL_RECOVERY;
    CHECK_RC(ftf_coordinator_tick(c, 10ull * 3600 * 1000 * MS), FTF_OK);
    while (ftf_coordinator_poll_action(c, &a) == FTF_OK) cancels += a.kind == FTF_ACTION_CANCEL_RECOVERY;
    CHECK(cancels == 0);
    CHECK(health(c, 3) == FTF_HEALTH_RECOVERING);
    ftf_coordinator_free(c);
    ftf_config_free(cfg);
}

static bool ok_phase(void *userdata, const ftf_phase_job *job) {
    (void)userdata;
    (void)job;
    return true;
}

TEST(forest_partition_stats_and_thresholds) {
    ftf_recovery_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.run_phase = ok_phase;
    const ftf_forest *f = NULL;
    CHECK_RC(ftf_forest_new(NULL, 4, NULL, &cb, &f), FTF_OK);
    uint32_t out = 0;
    CHECK_RC(ftf_forest_report(f, FTF_REPORT_BARRIER_TIMEOUT, 1, FTF_INCARNATION_ANY, &out), FTF_OK);
    ftf_partition_stats ps;
    CHECK_RC(ftf_forest_partition_stats(f, 1, &ps), FTF_OK);
    CHECK(ps.consecutive_barrier == 1 && ps.reports == 1);
    CHECK_RC(ftf_forest_partition_stats(f, 4, &ps), FTF_UNKNOWN_PARTITION);
    ftf_alert_thresholds th;
    CHECK_RC(ftf_forest_thresholds(f, &th), FTF_OK);
    th.max_failed = 4;
    CHECK_RC(ftf_forest_set_thresholds(f, &th), FTF_OK);
    ftf_alert_thresholds back;
    CHECK_RC(ftf_forest_thresholds(f, &back), FTF_OK);
    CHECK(back.max_failed == 4);
    th.min_healthy_percent = 101;
    CHECK_RC(ftf_forest_set_thresholds(f, &th), FTF_INVALID_CONFIG);
    CHECK_RC(ftf_forest_set_thresholds(NULL, &back), FTF_NULL_PARAMETER);
    ftf_forest_free(f);
}

int main(void) {
    RUN(wedged_worker_with_live_heartbeats_is_suspected_then_failed);
    RUN(queue_backlog_alert_raises_and_clears_with_thresholds_at_run_time);
    RUN(confirmation_by_count_and_zero_recovery_timeout);
    RUN(forest_partition_stats_and_thresholds);
    return harness_summary();
}
