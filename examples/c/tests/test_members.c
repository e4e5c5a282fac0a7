/* Runtime membership (issue 8) through the C ABI: ftf_coordinator_join/_leave (sans-io) and
   ftf_forest_join/_leave (library threads). A graceful leave is not a failure, a joining
   partition starts HEALTHY with a fresh incarnation, quorum counts the current members;
   every misuse is a typed result code and changes nothing.
   No timing assertions: waits poll for an outcome with a generous deadline; a deadlock is
   caught by a watchdog (alarm) that aborts with the name of the test. */
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "watchdog.h"

#define MS 1000000ull

static void sleep_ms(unsigned ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Drains the coordinator's events; counts those of `kind`, remembers the last one of it. */
static int drain(const ftf_coordinator *c, uint32_t kind, ftf_event *last) {
    ftf_event e;
    int n = 0;
    while (ftf_coordinator_poll_event(c, &e) == FTF_OK) {
        if (e.kind == kind) {
            n++;
            if (last) *last = e;
        }
    }
    return n;
}

TEST(coordinator_leave_is_not_a_failure_and_join_starts_a_new_life) {
    const ftf_coordinator *c = NULL;
    CHECK_RC(ftf_coordinator_new(NULL, 5, NULL, 0, &c), FTF_OK);
    CHECK(ftf_coordinator_members(c) == 5);
    CHECK_RC(ftf_coordinator_leave(c, 10 * MS, 3), FTF_OK);
    ftf_event ev;
    CHECK(drain(c, FTF_EVENT_MEMBER_LEFT, &ev) == 1);
    CHECK(ev.rank == 3 && ev.from == FTF_HEALTH_HEALTHY && ev.to == FTF_HEALTH_ABSENT &&
          ev.incarnation == 0 && ev.time_ns == 10 * MS);
    uint32_t h = 99, inc = 99;
    CHECK_RC(ftf_coordinator_health(c, 3, &h, &inc), FTF_OK);
    CHECK(h == FTF_HEALTH_ABSENT && inc == 0);
    CHECK(ftf_coordinator_members(c) == 4);
    ftf_counts counts;
    CHECK_RC(ftf_coordinator_counts(c, &counts), FTF_OK);
    CHECK(counts.healthy == 4 && counts.absent == 1);
    /* reports about it are NOT_MEMBER, never a failure */
    uint32_t out = 99;
    CHECK_RC(ftf_coordinator_report(c, 20 * MS, FTF_REPORT_CRASHED, 3, FTF_INCARNATION_ANY, &out),
             FTF_OK);
    CHECK(out == FTF_REPORT_NOT_MEMBER);
    CHECK_RC(ftf_coordinator_tick(c, 10000 * MS), FTF_OK);
    ftf_stats s;
    CHECK_RC(ftf_coordinator_stats(c, &s), FTF_OK);
    CHECK(s.failures_detected == 0 && s.recoveries_attempted == 0 && s.leaves == 1 &&
          s.joins == 0 && s.absent == 1 && s.total == 5 && s.quorum);
    /* misuse: typed codes, nothing changes */
    CHECK_RC(ftf_coordinator_leave(c, 11 * MS, 3), FTF_UNEXPECTED_STATE);
    CHECK_RC(ftf_coordinator_join(c, 11 * MS, 0, &inc), FTF_DUPLICATE);
    CHECK_RC(ftf_coordinator_join(c, 11 * MS, 5, &inc), FTF_UNKNOWN_PARTITION);
    CHECK_RC(ftf_coordinator_leave(c, 11 * MS, 5), FTF_UNKNOWN_PARTITION);
    CHECK_RC(ftf_coordinator_join(c, 11 * MS, 3, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_join(NULL, 11 * MS, 3, &inc), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_coordinator_leave(NULL, 11 * MS, 3), FTF_NULL_PARAMETER);
    CHECK(ftf_coordinator_members(NULL) == 0);
    CHECK(ftf_coordinator_members(c) == 4);
    /* the join: HEALTHY, incarnation 1 */
    inc = 99;
    CHECK_RC(ftf_coordinator_join(c, 12000 * MS, 3, &inc), FTF_OK);
    CHECK(inc == 1);
    CHECK(drain(c, FTF_EVENT_MEMBER_JOINED, &ev) == 1);
    CHECK(ev.from == FTF_HEALTH_ABSENT && ev.to == FTF_HEALTH_HEALTHY && ev.incarnation == 1);
    CHECK_RC(ftf_coordinator_health(c, 3, &h, &inc), FTF_OK);
    CHECK(h == FTF_HEALTH_HEALTHY && inc == 1);
    /* a report about the life that left is stale */
    CHECK_RC(ftf_coordinator_report(c, 12001 * MS, FTF_REPORT_CRASHED, 3, 0, &out), FTF_OK);
    CHECK(out == FTF_REPORT_STALE);
    CHECK_RC(ftf_coordinator_stats(c, &s), FTF_OK);
    CHECK(s.joins == 1 && s.absent == 0 && s.recoveries_succeeded == 0);
    CHECK(strcmp(ftf_health_name(FTF_HEALTH_ABSENT), "ABSENT") == 0);
    CHECK(strcmp(ftf_event_kind_name(FTF_EVENT_MEMBER_JOINED), "MEMBER_JOINED") == 0);
    CHECK(strcmp(ftf_cause_name(FTF_CAUSE_LEFT), "LEFT") == 0);
    CHECK(ftf_health_transition_allowed(FTF_HEALTH_ABSENT, FTF_HEALTH_HEALTHY));
    CHECK(!ftf_health_transition_allowed(FTF_HEALTH_RECOVERING, FTF_HEALTH_ABSENT));
    ftf_coordinator_free(c);
}

TEST(coordinator_quorum_counts_the_current_members) {
    const ftf_coordinator *c = NULL;
    CHECK_RC(ftf_coordinator_new(NULL, 5, NULL, 0, &c), FTF_OK);
    CHECK_RC(ftf_coordinator_leave(c, 0, 3), FTF_OK);
    CHECK_RC(ftf_coordinator_leave(c, 0, 4), FTF_OK);
    drain(c, FTF_EVENT_MEMBER_LEFT, NULL);
    /* 2 of 3 members healthy after a crash: quorum holds (over 5 it would not) */
    uint32_t out;
    CHECK_RC(ftf_coordinator_report(c, MS, FTF_REPORT_CRASHED, 0, FTF_INCARNATION_ANY, &out),
             FTF_OK);
    CHECK(out == FTF_REPORT_FAILED);
    CHECK(ftf_coordinator_has_quorum(c));
    CHECK(drain(c, FTF_EVENT_QUORUM_LOST, NULL) == 0);
    /* a RECOVERING partition can neither leave nor join */
    uint32_t h, inc;
    CHECK_RC(ftf_coordinator_health(c, 0, &h, &inc), FTF_OK);
    CHECK(h == FTF_HEALTH_RECOVERING);
    CHECK_RC(ftf_coordinator_leave(c, 2 * MS, 0), FTF_BUSY);
    CHECK_RC(ftf_coordinator_join(c, 2 * MS, 0, &inc), FTF_BUSY);
    /* a healthy member leaves: 1 of 2, quorum lost, and the event counts the members */
    CHECK_RC(ftf_coordinator_leave(c, 3 * MS, 1), FTF_OK);
    ftf_event ev;
    CHECK(drain(c, FTF_EVENT_QUORUM_LOST, &ev) == 1);
    CHECK(ev.count == 1 && ev.total == 2);
    CHECK(!ftf_coordinator_has_quorum(c));
    CHECK(ftf_coordinator_level(c) == FTF_LEVEL_QUORUM_LOST);
    CHECK_RC(ftf_coordinator_join(c, 4 * MS, 1, &inc), FTF_OK);
    CHECK(drain(c, FTF_EVENT_QUORUM_RESTORED, &ev) == 1);
    CHECK(ev.count == 2 && ev.total == 3);
    ftf_coordinator_free(c);
}

TEST(table_counts_absent_ranks_and_quorum_over_members) {
    const ftf_partition_table *t = NULL;
    CHECK_RC(ftf_partition_table_new(3, &t), FTF_OK);
    ftf_transition tr;
    CHECK_RC(ftf_partition_table_transition(t, 1, FTF_HEALTH_ANY, FTF_HEALTH_SUSPECTED,
                                            FTF_INCARNATION_ANY, &tr), FTF_OK);
    CHECK_RC(ftf_partition_table_transition(t, 2, FTF_HEALTH_ANY, FTF_HEALTH_SUSPECTED,
                                            FTF_INCARNATION_ANY, &tr), FTF_OK);
    CHECK(!ftf_partition_table_has_quorum(t)); /* 1 of 3 */
    CHECK_RC(ftf_partition_table_transition(t, 2, FTF_HEALTH_SUSPECTED, FTF_HEALTH_ABSENT,
                                            FTF_INCARNATION_ANY, &tr), FTF_OK);
    CHECK(tr.from == FTF_HEALTH_SUSPECTED && tr.to == FTF_HEALTH_ABSENT && tr.incarnation == 0);
    CHECK(!ftf_partition_table_has_quorum(t)); /* 1 of 2 */
    CHECK_RC(ftf_partition_table_transition(t, 1, FTF_HEALTH_ANY, FTF_HEALTH_ABSENT,
                                            FTF_INCARNATION_ANY, &tr), FTF_OK);
    CHECK(ftf_partition_table_has_quorum(t)); /* 1 of 1 */
    ftf_counts c;
    CHECK_RC(ftf_partition_table_counts(t, &c), FTF_OK);
    CHECK(c.healthy == 1 && c.suspected == 0 && c.absent == 2);
    CHECK(ftf_partition_table_count(t, FTF_HEALTH_ABSENT) == 2);
    /* ABSENT only joins: a report-driven edge out of it is refused */
    CHECK_RC(ftf_partition_table_transition(t, 1, FTF_HEALTH_ANY, FTF_HEALTH_SUSPECTED,
                                            FTF_INCARNATION_ANY, &tr), FTF_INVALID_TRANSITION);
    CHECK_RC(ftf_partition_table_transition(t, 1, FTF_HEALTH_ABSENT, FTF_HEALTH_HEALTHY,
                                            FTF_INCARNATION_ANY, &tr), FTF_OK);
    CHECK(tr.incarnation == 1);
    ftf_partition_table_free(t);
}

typedef struct {
    atomic_int joined, left, phases;
    atomic_int hold; /* phases wait while set */
    const ftf_forest *forest;
    atomic_int rejoin_rc; /* the listener's ftf_forest_join result, + 1 */
} members_embedder;

static bool members_phase(void *ud, const ftf_phase_job *job) {
    members_embedder *e = ud;
    (void)job;
    atomic_fetch_add(&e->phases, 1);
    while (atomic_load(&e->hold)) sleep_ms(1);
    return true;
}

static void members_on_event(void *ud, const ftf_event *ev) {
    members_embedder *e = ud;
    if (ev->kind == FTF_EVENT_MEMBER_JOINED) atomic_fetch_add(&e->joined, 1);
    if (ev->kind == FTF_EVENT_MEMBER_LEFT) {
        atomic_fetch_add(&e->left, 1);
        /* a listener may change membership (no lock is held while it runs) */
        if (ev->rank == 4) {
            uint32_t inc = 0;
            atomic_store(&e->rejoin_rc, 1 + (int)ftf_forest_join(e->forest, 4, &inc));
        }
    }
}

TEST(forest_join_and_leave_while_running) {
    watchdog("forest_join_and_leave_while_running");
    members_embedder e = {0};
    atomic_store(&e.hold, 1);
    ftf_recovery_callbacks cb = {&e, members_phase, NULL, NULL, NULL, NULL, NULL, NULL};
    const ftf_forest *f = NULL;
    CHECK_RC(ftf_forest_new(NULL, 5, NULL, &cb, &f), FTF_OK);
    e.forest = f;
    ftf_listener_handle lh;
    CHECK_RC(ftf_forest_subscribe(f, members_on_event, &e, NULL, &lh), FTF_OK);
    CHECK_RC(ftf_forest_start(f), FTF_OK);
    CHECK_RC(ftf_forest_leave(f, 3), FTF_OK);
    uint32_t h = 99, inc = 99;
    CHECK_RC(ftf_forest_health(f, 3, &h, &inc), FTF_OK);
    CHECK(h == FTF_HEALTH_ABSENT);
    CHECK_RC(ftf_forest_leave(f, 3), FTF_UNEXPECTED_STATE);
    uint32_t out = 99;
    CHECK_RC(ftf_forest_report(f, FTF_REPORT_CRASHED, 3, FTF_INCARNATION_ANY, &out), FTF_OK);
    CHECK(out == FTF_REPORT_NOT_MEMBER);
    CHECK_RC(ftf_forest_join(f, 3, &inc), FTF_OK);
    CHECK(inc == 1);
    CHECK_RC(ftf_forest_join(f, 3, &inc), FTF_DUPLICATE);
    CHECK_RC(ftf_forest_join(f, 9, &inc), FTF_UNKNOWN_PARTITION);
    CHECK_RC(ftf_forest_join(f, 3, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_forest_join(NULL, 3, &inc), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_forest_leave(NULL, 3), FTF_NULL_PARAMETER);
    /* rank 1 crashes; its phase is held: it cannot leave until the attempt ends */
    CHECK_RC(ftf_forest_report(f, FTF_REPORT_CRASHED, 1, FTF_INCARNATION_ANY, &out), FTF_OK);
    for (int i = 0; i < 6000 && atomic_load(&e.phases) == 0; i++) sleep_ms(10);
    CHECK(atomic_load(&e.phases) > 0);
    CHECK_RC(ftf_forest_leave(f, 1), FTF_BUSY);
    CHECK_RC(ftf_forest_join(f, 1, &inc), FTF_BUSY);
    /* rank 4 leaves; the listener joins it back */
    CHECK_RC(ftf_forest_leave(f, 4), FTF_OK);
    for (int i = 0; i < 6000 && atomic_load(&e.rejoin_rc) == 0; i++) sleep_ms(10);
    CHECK(atomic_load(&e.rejoin_rc) == 1 + FTF_OK);
    CHECK_RC(ftf_forest_health(f, 4, &h, &inc), FTF_OK);
    CHECK(h == FTF_HEALTH_HEALTHY && inc == 1);
    atomic_store(&e.hold, 0);
    for (int i = 0; i < 6000; i++) {
        if (ftf_forest_health(f, 1, &h, &inc) == FTF_OK && h == FTF_HEALTH_HEALTHY) break;
        sleep_ms(10);
    }
    CHECK(h == FTF_HEALTH_HEALTHY);
    CHECK_RC(ftf_forest_leave(f, 1), FTF_OK);
    ftf_stats s;
    CHECK_RC(ftf_forest_stats(f, &s), FTF_OK);
    CHECK(s.leaves == 3 && s.joins == 2 && s.absent == 1 && s.failures_detected == 1);
    for (int i = 0; i < 6000 && (atomic_load(&e.left) < 3 || atomic_load(&e.joined) < 2); i++) {
        sleep_ms(10);
    }
    CHECK(atomic_load(&e.left) == 3 && atomic_load(&e.joined) == 2);
    CHECK_RC(ftf_forest_stop(f), FTF_OK);
    ftf_forest_free(f);
    watchdog_off();
}

int main(void) {
    RUN(coordinator_leave_is_not_a_failure_and_join_starts_a_new_life);
    RUN(coordinator_quorum_counts_the_current_members);
    RUN(table_counts_absent_ranks_and_quorum_over_members);
    RUN(forest_join_and_leave_while_running);
    return harness_summary();
}
