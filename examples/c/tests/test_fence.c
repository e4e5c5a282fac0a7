/* Fenced recovery and coordination availability through the C ABI (issue 8): the fence
   request, grant (token in every phase job), refusal (no retry consumed), release exactly
   once (before the resume hooks), the bounded fence wait and late grants, availability,
   local confirmation, hostile answers, NULL handling, and ftf_forest refusing a fenced
   configuration. Every wait is bounded (no sleeping, a manual nanosecond clock). */
#include <stdint.h>
#include <stdlib.h>
#include "harness.h"

#define MS 1000000ull

static const ftf_config *fenced_config(int local_confirmation) {
    ftf_config_builder *b = NULL;
    const ftf_config *c = NULL;
    CHECK_RC(ftf_config_builder_new(&b), FTF_OK);
    CHECK_RC(ftf_config_builder_set_fenced(b, true), FTF_OK);
    CHECK_RC(ftf_config_builder_set_fence_retry_ns(b, 500 * MS), FTF_OK);
    CHECK_RC(ftf_config_builder_set_local_confirmation(b, local_confirmation != 0), FTF_OK);
    CHECK_RC(ftf_config_builder_set_failure_confirmation_ns(b, 0), FTF_OK);
    CHECK_RC(ftf_config_builder_set_recovery_timeout_ns(b, 10000 * MS), FTF_OK);
    CHECK_RC(ftf_config_builder_set_max_retries(b, 0), FTF_OK);
    CHECK_RC(ftf_config_builder_build(b, &c), FTF_OK);
    ftf_config_builder_free(b);
    return c;
}

/* Drain events; return how many of `kind` were seen (the last one copied to `last`). */
static int drain_events(const ftf_coordinator *c, uint32_t kind, ftf_event *last) {
    int n = 0;
    ftf_event e;
    for (int guard = 0; guard < 1000 && ftf_coordinator_poll_event(c, &e) == FTF_OK; guard++) {
        if (e.kind == kind) {
            n++;
            if (last) *last = e;
        }
    }
    return n;
}

static int drain_actions(const ftf_coordinator *c, ftf_action *out, int max) {
    int n = 0;
    ftf_action a;
    while (n < max && ftf_coordinator_poll_action(c, &a) == FTF_OK) {
        out[n++] = a;
    }
    return n;
}

/* Crash `rank` at `now` and return its fence request (kind ACQUIRE_FENCE), or a zero job. */
static ftf_phase_job crash_and_ask(const ftf_coordinator *c, uint64_t now, uint32_t rank) {
    uint32_t out;
    ftf_phase_job none = {0, 0, 0, 0, 0};
    CHECK_RC(ftf_coordinator_report(c, now, FTF_REPORT_CRASHED, rank, FTF_INCARNATION_ANY, &out), FTF_OK);
    ftf_action acts[8];
    int n = drain_actions(c, acts, 8);
    CHECK(n == 1);
    if (n != 1 || acts[0].kind != FTF_ACTION_ACQUIRE_FENCE) {
        CHECK(0);
        return none;
    }
    return acts[0].job;
}

TEST(config_setters_and_getters) {
    const ftf_config *c = fenced_config(0);
    CHECK(ftf_config_fenced(c));
    CHECK(ftf_config_fence_retry_ns(c) == 500 * MS);
    CHECK(!ftf_config_local_confirmation(c));
    ftf_config_free(c);
    CHECK(!ftf_config_fenced(NULL));
    CHECK(ftf_config_fence_retry_ns(NULL) == 0);
    CHECK_RC(ftf_config_builder_set_fenced(NULL, true), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_config_builder_set_fence_retry_ns(NULL, 1), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_config_builder_set_local_confirmation(NULL, true), FTF_NULL_PARAMETER);
    ftf_config_builder *b = NULL;
    const ftf_config *bad = NULL;
    CHECK_RC(ftf_config_builder_new(&b), FTF_OK);
    CHECK_RC(ftf_config_builder_set_fence_retry_ns(b, 0), FTF_OK);
    CHECK_RC(ftf_config_builder_build(b, &bad), FTF_INVALID_CONFIG);
    CHECK(bad == NULL);
    CHECK(strcmp(ftf_config_builder_error_field(b), "fence_retry") == 0);
    ftf_config_builder_free(b);
}

TEST(grant_runs_with_the_token_and_releases_once_before_resume) {
    const ftf_config *cfg = fenced_config(1);
    const ftf_coordinator *c = NULL;
    CHECK_RC(ftf_coordinator_new(cfg, 5, NULL, 1 * MS, &c), FTF_OK);
    ftf_config_free(cfg);
    ftf_phase_job j = crash_and_ask(c, 2 * MS, 1);
    CHECK(j.rank == 1 && j.attempt != 0 && j.number == 1 && j.fence == 0);
    /* nothing paused yet, the partition still FAILED, waiting for its fence */
    CHECK(!ftf_coordinator_in_recovery_mode(c));
    uint32_t h = 0, inc = 0, attempt = 0;
    CHECK_RC(ftf_coordinator_health(c, 1, &h, &inc), FTF_OK);
    CHECK(h == FTF_HEALTH_FAILED);
    CHECK_RC(ftf_coordinator_fencing(c, 1, &attempt), FTF_OK);
    CHECK(attempt == j.attempt);
    drain_events(c, FTF_EVENT_FENCE_GRANTED, NULL);

    CHECK_RC(ftf_coordinator_fence_granted(c, 3 * MS, 1, j.attempt, 0), FTF_INVALID_ARGUMENT);
    CHECK_RC(ftf_coordinator_fence_granted(c, 3 * MS, 1, j.attempt, 42), FTF_OK);
    ftf_event e;
    CHECK(drain_events(c, FTF_EVENT_FENCE_GRANTED, &e) == 1);
    CHECK(e.rank == 1 && e.attempt == j.attempt && e.token == 42);
    uint64_t token = 0;
    CHECK_RC(ftf_coordinator_fence(c, 1, &token), FTF_OK);
    CHECK(token == 42);
    CHECK_RC(ftf_coordinator_fencing(c, 1, &attempt), FTF_NO_RECOVERY);
    /* a second grant is BUSY (the same token: keep it), a refusal after it too */
    CHECK_RC(ftf_coordinator_fence_granted(c, 3 * MS, 1, j.attempt, 42), FTF_BUSY);
    CHECK_RC(ftf_coordinator_fence_refused(c, 3 * MS, 1, j.attempt, FTF_REFUSAL_HELD), FTF_BUSY);

    ftf_action acts[16];
    int n = drain_actions(c, acts, 16);
    CHECK(n == 3);
    CHECK(acts[0].kind == FTF_ACTION_PAUSE_BALANCER && acts[1].kind == FTF_ACTION_PAUSE_GHOST_SYNC);
    CHECK(acts[2].kind == FTF_ACTION_RUN_PHASE && acts[2].job.fence == 42);
    /* run the four phases; each carries the token */
    ftf_phase_job p = acts[2].job;
    int released = 0, release_at = -1, resume_at = -1, seen = 0;
    for (int i = 0; i < 4; i++) {
        CHECK(p.fence == 42);
        CHECK_RC(ftf_coordinator_phase_done(c, 4 * MS, p.rank, p.attempt, p.phase, true), FTF_OK);
        n = drain_actions(c, acts, 16);
        for (int k = 0; k < n; k++, seen++) {
            if (acts[k].kind == FTF_ACTION_RUN_PHASE) p = acts[k].job;
            if (acts[k].kind == FTF_ACTION_RELEASE_FENCE) {
                released++;
                release_at = seen;
                CHECK(acts[k].job.rank == 1 && acts[k].job.attempt == j.attempt);
                CHECK(acts[k].job.fence == 42 && acts[k].completed);
            }
            if (acts[k].kind == FTF_ACTION_RESUME_BALANCER) resume_at = seen;
        }
    }
    CHECK(released == 1);
    CHECK(release_at >= 0 && release_at < resume_at);
    CHECK_RC(ftf_coordinator_health(c, 1, &h, &inc), FTF_OK);
    CHECK(h == FTF_HEALTH_HEALTHY);
    CHECK_RC(ftf_coordinator_fence(c, 1, &token), FTF_NO_RECOVERY);
    /* after the end: a late grant names no attempt */
    CHECK_RC(ftf_coordinator_fence_granted(c, 5 * MS, 1, j.attempt, 42), FTF_NO_RECOVERY);
    ftf_coordinator_free(c);
}

TEST(refusal_and_abandoned_wait) {
    const ftf_config *cfg = fenced_config(1);
    const ftf_coordinator *c = NULL;
    CHECK_RC(ftf_coordinator_new(cfg, 5, NULL, 1 * MS, &c), FTF_OK);
    ftf_config_free(cfg);
    ftf_phase_job j = crash_and_ask(c, 2 * MS, 2);
    drain_events(c, FTF_EVENT_FENCE_REFUSED, NULL);
    CHECK_RC(ftf_coordinator_fence_refused(c, 3 * MS, 2, j.attempt, 99), FTF_UNKNOWN_ENUM);
    CHECK_RC(ftf_coordinator_fence_refused(c, 3 * MS, 2, j.attempt, FTF_REFUSAL_HELD), FTF_OK);
    ftf_event e;
    CHECK(drain_events(c, FTF_EVENT_FENCE_REFUSED, &e) == 1);
    CHECK(e.attempt == j.attempt && e.cause == FTF_REFUSAL_HELD);
    CHECK_RC(ftf_coordinator_fence_granted(c, 3 * MS, 2, j.attempt, 7), FTF_NO_RECOVERY);
    /* not asked again before now + fence_retry; then with the same number (no retry used) */
    ftf_action acts[8];
    CHECK_RC(ftf_coordinator_tick(c, 502 * MS), FTF_OK);
    CHECK(drain_actions(c, acts, 8) == 0);
    CHECK_RC(ftf_coordinator_tick(c, 503 * MS), FTF_OK);
    CHECK(drain_actions(c, acts, 8) == 1);
    CHECK(acts[0].kind == FTF_ACTION_ACQUIRE_FENCE && acts[0].job.number == 1);
    CHECK(acts[0].job.attempt != j.attempt);
    /* never answered: abandoned at the recovery timeout, the late grant refused */
    drain_events(c, FTF_EVENT_FENCE_REFUSED, NULL);
    CHECK_RC(ftf_coordinator_tick(c, 503 * MS + 10000 * MS), FTF_OK);
    CHECK(drain_events(c, FTF_EVENT_FENCE_REFUSED, &e) == 1);
    CHECK(e.cause == FTF_REFUSAL_TIMED_OUT && e.attempt == acts[0].job.attempt);
    CHECK_RC(ftf_coordinator_fence_granted(c, 20000 * MS, 2, acts[0].job.attempt, 9), FTF_NO_RECOVERY);
    ftf_coordinator_free(c);
}

TEST(nothing_starts_while_unavailable) {
    const ftf_config *cfg = fenced_config(1);
    const ftf_coordinator *c = NULL;
    CHECK_RC(ftf_coordinator_new(cfg, 5, NULL, 1 * MS, &c), FTF_OK);
    ftf_config_free(cfg);
    CHECK(ftf_coordinator_is_available(c));
    CHECK_RC(ftf_coordinator_set_available(c, 2 * MS, false), FTF_OK);
    CHECK(!ftf_coordinator_is_available(c));
    ftf_event e;
    CHECK(drain_events(c, FTF_EVENT_AVAILABILITY_CHANGED, &e) == 1);
    CHECK(!e.success && e.rank == FTF_NO_RANK);
    CHECK((ftf_coordinator_alerts(c, 2 * MS) & FTF_ALERT_COORDINATION_UNAVAILABLE) != 0);
    CHECK(ftf_coordinator_level(c) >= FTF_LEVEL_DEGRADED);
    uint32_t out;
    CHECK_RC(ftf_coordinator_report(c, 3 * MS, FTF_REPORT_CRASHED, 3, FTF_INCARNATION_ANY, &out), FTF_OK);
    ftf_action acts[8];
    CHECK(drain_actions(c, acts, 8) == 0);
    CHECK(ftf_coordinator_is_queued(c, 3));
    CHECK_RC(ftf_coordinator_set_available(c, 4 * MS, true), FTF_OK);
    CHECK(drain_events(c, FTF_EVENT_AVAILABILITY_CHANGED, &e) == 1 && e.success);
    CHECK(drain_actions(c, acts, 8) == 1 && acts[0].kind == FTF_ACTION_ACQUIRE_FENCE);
    /* unavailable while waiting: abandoned, its late grant refused */
    CHECK_RC(ftf_coordinator_set_available(c, 5 * MS, false), FTF_OK);
    CHECK(drain_events(c, FTF_EVENT_FENCE_REFUSED, &e) == 1 && e.cause == FTF_REFUSAL_UNAVAILABLE);
    CHECK_RC(ftf_coordinator_fence_granted(c, 5 * MS, 3, acts[0].job.attempt, 11), FTF_NO_RECOVERY);
    /* NULL handling */
    CHECK_RC(ftf_coordinator_set_available(NULL, 0, true), FTF_NULL_PARAMETER);
    CHECK(!ftf_coordinator_is_available(NULL));
    CHECK_RC(ftf_coordinator_fence_granted(NULL, 0, 0, 1, 1), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_fence_refused(NULL, 0, 0, 1, 0), FTF_NULL_PARAMETER);
    uint64_t t;
    uint32_t a;
    CHECK_RC(ftf_coordinator_fence(c, 3, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_fence(c, 99, &t), FTF_UNKNOWN_PARTITION);
    CHECK_RC(ftf_coordinator_fencing(c, 3, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_fencing(NULL, 3, &a), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_fence_granted(c, 6 * MS, 99, 1, 1), FTF_UNKNOWN_PARTITION);
    ftf_coordinator_free(c);
}

TEST(unfenced_answers_and_local_confirmation) {
    /* unfenced: phases carry token 0, fence answers are refused */
    const ftf_coordinator *c = NULL;
    CHECK_RC(ftf_coordinator_new(NULL, 5, NULL, 1 * MS, &c), FTF_OK);
    uint32_t out;
    CHECK_RC(ftf_coordinator_report(c, 2 * MS, FTF_REPORT_CRASHED, 0, FTF_INCARNATION_ANY, &out), FTF_OK);
    ftf_action acts[8];
    int n = drain_actions(c, acts, 8);
    CHECK(n == 3 && acts[2].kind == FTF_ACTION_RUN_PHASE && acts[2].job.fence == 0);
    CHECK_RC(ftf_coordinator_fence_granted(c, 3 * MS, 0, acts[2].job.attempt, 5), FTF_UNEXPECTED_STATE);
    ftf_coordinator_free(c);

    /* local confirmation off: a suspicion never becomes FAILED by itself */
    const ftf_config *cfg = fenced_config(0);
    CHECK_RC(ftf_coordinator_new(cfg, 5, NULL, 1 * MS, &c), FTF_OK);
    ftf_config_free(cfg);
    for (int i = 0; i < 4; i++) {
        CHECK_RC(ftf_coordinator_report(c, 2 * MS, FTF_REPORT_BARRIER_TIMEOUT, 4, FTF_INCARNATION_ANY, &out),
                 FTF_OK);
    }
    CHECK_RC(ftf_coordinator_tick(c, 100000 * MS), FTF_OK);
    uint32_t h = 0, inc = 0;
    CHECK_RC(ftf_coordinator_health(c, 4, &h, &inc), FTF_OK);
    CHECK(h == FTF_HEALTH_SUSPECTED);
    CHECK_RC(ftf_coordinator_report(c, 100001 * MS, FTF_REPORT_CRASHED, 4, FTF_INCARNATION_ANY, &out), FTF_OK);
    CHECK_RC(ftf_coordinator_health(c, 4, &h, &inc), FTF_OK);
    CHECK(h == FTF_HEALTH_FAILED);
    ftf_coordinator_free(c);
}

static bool never_called(void *ud, const ftf_phase_job *job) {
    (void)ud;
    (void)job;
    return false;
}

TEST(forest_refuses_a_fenced_config) {
    const ftf_config *cfg = fenced_config(1);
    ftf_recovery_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.run_phase = never_called;
    const ftf_forest *f = NULL;
    CHECK_RC(ftf_forest_new(cfg, 4, NULL, &cb, &f), FTF_INVALID_CONFIG);
    CHECK(f == NULL);
    ftf_config_free(cfg);
}

TEST(enum_names) {
    CHECK(strcmp(ftf_event_kind_name(FTF_EVENT_FENCE_GRANTED), "FENCE_GRANTED") == 0);
    CHECK(strcmp(ftf_event_kind_name(FTF_EVENT_FENCE_REFUSED), "FENCE_REFUSED") == 0);
    CHECK(strcmp(ftf_event_kind_name(FTF_EVENT_AVAILABILITY_CHANGED), "AVAILABILITY_CHANGED") == 0);
    CHECK(FTF_ACTION_ACQUIRE_FENCE == 6 && FTF_ACTION_RELEASE_FENCE == 7);
    CHECK(FTF_ALERT_COORDINATION_UNAVAILABLE == (1u << 9));
}

int main(void) {
    RUN(config_setters_and_getters);
    RUN(grant_runs_with_the_token_and_releases_once_before_resume);
    RUN(refusal_and_abandoned_wait);
    RUN(nothing_starts_while_unavailable);
    RUN(unfenced_answers_and_local_confirmation);
    RUN(forest_refuses_a_fenced_config);
    RUN(enum_names);
    return harness_summary();
}
