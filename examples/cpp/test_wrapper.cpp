// Tests of include/ftforest.hpp: RAII, guards, lambdas, exceptions / error codes, and the
// sans-io coordinator driven from C++. Prints "N passed, M failed"; exits non-zero on failure.
#include <atomic>
#include <chrono>
#include <optional>
#include <cstdio>
#include <thread>
#include <type_traits>

#include "ftforest.hpp"

using namespace std::chrono_literals;

static int passed, failed, current_failed;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            std::fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            current_failed = 1;                                                      \
        }                                                                            \
    } while (0)

template <class F>
static uint32_t throws_code(F &&f) {
    try {
        f();
    } catch (const ftf::error &e) {
        return e.result();
    }
    return FTF_OK;
}

#define RUN(fn)                                                                \
    do {                                                                       \
        current_failed = 0;                                                    \
        try {                                                                  \
            fn();                                                              \
        } catch (const std::exception &e) {                                    \
            std::fprintf(stderr, "  unexpected exception: %s\n", e.what());    \
            current_failed = 1;                                                \
        }                                                                      \
        if (current_failed) { failed++; std::printf("FAIL %s\n", #fn); }       \
        else { passed++; std::printf("ok   %s\n", #fn); }                      \
    } while (0)

static void tracker_guards() {
    ftf::tracker t;
    {
        ftf::operation op = t.begin();
        CHECK(t.in_flight() == 1);
        ftf::pause_guard p = t.pause();
        CHECK(t.is_paused());
        CHECK(!t.try_begin().has_value());
        CHECK(throws_code([&] { (void)t.begin(); }) == FTF_PAUSED);
        CHECK(!p.wait_quiescent(1ms));
        op.end();
        CHECK(p.wait_quiescent(1s));
    }  // pause resumed by the guard
    CHECK(!t.is_paused() && t.in_flight() == 0);
    ftf::tracker copy = t;  // shares the tracker
    CHECK(copy.id() == t.id());
    auto op = copy.try_begin_on(3);
    CHECK(op.has_value() && t.in_flight() == 1);
    op.reset();
    CHECK(t.in_flight() == 0);
    {
        ftf::pause_guard p = t.pause_wait(1s);
        CHECK(p.quiescent());
        CHECK(!t.begin_wait(1ms).has_value());
    }
    CHECK(t.begin_wait(1ms).has_value());
}

// Beginning an operation on a temporary tracker does not compile (the guard would dangle).
template <class T, class = void>
struct can_begin : std::false_type {};
template <class T>
struct can_begin<T, std::void_t<decltype(std::declval<T>().begin())>> : std::true_type {};
static_assert(can_begin<ftf::tracker &>::value, "begin on an lvalue tracker");
static_assert(!can_begin<ftf::tracker>::value, "begin on a temporary tracker is deleted");

// The C ABI's contract is "end each ftf_op_token exactly once" (a second end may end another
// operation of the same stripe, undetected); the guard cannot end twice.
static void operation_guard_cannot_double_end() {
    ftf::tracker t;
    std::optional<ftf::operation> a = t.try_begin_on(5);
    std::optional<ftf::operation> b = t.try_begin_on(5);  // same stripe: same token value
    CHECK(a && b && a->token().stripe == b->token().stripe && t.in_flight() == 2);
    a->end();
    a->end();  // empty now: no second ftf_op_end that would take b's count
    CHECK(t.in_flight() == 1);
    ftf::operation moved = std::move(*b);
    b.reset();  // the moved-from guard ends nothing
    CHECK(t.in_flight() == 1);
    a.reset();  // nor does the ended one
    CHECK(t.in_flight() == 1);
    {
        ftf::pause_guard p = t.pause();
        CHECK(!p.wait_quiescent(1ms));  // `moved` still holds the pause back
        moved.end();
        CHECK(p.wait_quiescent(1s));
    }
    CHECK(t.in_flight() == 0 && !t.is_paused());
    // release() hands the token to C: one manual end, then the contract's documented code.
    ftf_op_token tok = t.begin().release();
    CHECK(ftf_op_end(t.get(), tok) == FTF_OK);
    CHECK(ftf_op_end(t.get(), tok) == FTF_NOT_IN_FLIGHT);  // idle stripe: detected
}

// A pause guard and a permit hold their own references: they may outlive the handle objects.
static void guards_outlive_their_handles() {
    std::optional<ftf::pause_guard> p;
    uint32_t id = 0;
    {
        ftf::tracker t;
        id = t.id();
        p.emplace(t.pause());
    }
    CHECK(id != 0);
    p->resume();  // the tracker is still alive through the guard
    p->resume();  // no-op
    std::optional<ftf::permit> permit;
    {
        ftf::recovery_lock lock(3, 1);
        permit = lock.try_acquire(1, true);
        CHECK(permit.has_value());
    }
    CHECK(permit->rank() == 1);
    permit->release();
    permit->release();  // no-op
}

static void custom_wait_lambdas() {
    std::atomic<int> waits{0}, wakes{0};
    ftf::tracker t(
        [&](uint32_t *, uint32_t, uint64_t) {
            ++waits;
            std::this_thread::yield();
        },
        [&](uint32_t *) { ++wakes; });
    ftf::operation op = t.begin();
    std::thread ender([&] {
        std::this_thread::sleep_for(10ms);
        op.end();
    });
    ftf::pause_guard p = t.pause_wait(5s);
    ender.join();
    CHECK(p.quiescent());
    CHECK(waits > 0);
    ftf::tracker spin(FTF_WAIT_SPIN);
    CHECK(spin.pause_wait(1ms).quiescent());
}

static void errors_are_system_errors() {
    ftf::error e(FTF_NO_QUORUM, "ctx");
    CHECK(e.result() == FTF_NO_QUORUM);
    CHECK(e.code() == ftf::make_error_code(FTF_NO_QUORUM));
    CHECK(std::string(e.code().category().name()) == "ftforest");
    CHECK(e.code().message() == ftf_result_message(FTF_NO_QUORUM));
    CHECK(std::string(e.what()).find("FTF_NO_QUORUM") != std::string::npos);
    uint32_t rc = throws_code([] { ftf::config_builder().backoff(10ms, 1ms).build(); });
    CHECK(rc == FTF_INVALID_CONFIG);
    try {
        ftf::config_builder().max_concurrent(0).build();
        CHECK(false);
    } catch (const ftf::error &x) {
        CHECK(std::string(x.what()).find("max_concurrent") != std::string::npos);
    }
    CHECK(throws_code([] { ftf::partition_table t(0); }) == FTF_INVALID_ARGUMENT);
}

static void table_lock_queue() {
    ftf::partition_table t(3);
    CHECK(t.size() == 3 && t.has_quorum());
    auto tr = t.transition(0, FTF_HEALTH_SUSPECTED, FTF_HEALTH_HEALTHY);
    CHECK(tr && tr->to == FTF_HEALTH_SUSPECTED);
    CHECK(!t.transition(0, FTF_HEALTH_SUSPECTED, FTF_HEALTH_HEALTHY));
    CHECK(throws_code([&] { t.transition(0, FTF_HEALTH_RECOVERING); }) == FTF_INVALID_TRANSITION);
    CHECK(t.health(0).first == FTF_HEALTH_SUSPECTED && t.counts().suspected == 1);

    ftf::recovery_lock l(3, 1);
    uint32_t why = 0;
    {
        auto a = l.try_acquire(1, true);
        CHECK(a && a->rank() == 1 && l.is_recovering(1));
        CHECK(!l.try_acquire(2, true, &why) && why == FTF_AT_CAPACITY);
        CHECK(!l.try_acquire(1, true, &why) && why == FTF_BUSY);
    }  // released by the guard
    CHECK(l.active() == 0);
    CHECK(!l.try_acquire(1, false, &why) && why == FTF_NO_QUORUM);
    {
        auto a = l.acquire_wait(0, true, 1ms);
        CHECK(a.has_value());
        CHECK(!l.acquire_wait(2, true, 1ms, &why) && why == FTF_TIMEOUT);
    }

    ftf::recovery_queue q(3, 3);
    CHECK(q.push(2) && !q.push(2) && q.push(0));
    CHECK(q.snapshot() == std::vector<uint32_t>({2, 0}));
    CHECK(throws_code([&] { q.push(7); }) == FTF_UNKNOWN_PARTITION);
    CHECK(q.pop() == std::optional<uint32_t>(2) && q.contains(0) && q.remove(0) && q.size() == 0);
    CHECK(!q.pop());
}

static void coordinator_sans_io() {
    ftf::config cfg = ftf::config_builder().failure_confirmation(10ms).build();
    ftf::tracker t;
    ftf::coordinator c(cfg, 4, t, 0);
    const uint64_t ms = 1000000;
    CHECK(c.report(1 * ms, FTF_REPORT_CRASHED, 2) == FTF_REPORT_FAILED);
    CHECK(c.health(2).first == FTF_HEALTH_RECOVERING);
    CHECK(t.is_paused());
    int phases = 0;
    uint64_t now = 2 * ms;
    for (int guard = 0; guard < 20; guard++, now += ms) {
        while (auto a = c.poll_action()) {
            if (a->kind == FTF_ACTION_RUN_PHASE) {
                c.phase_done(now, a->job, true);
                phases++;
            }
        }
    }
    CHECK(phases == 4);
    CHECK(c.health(2).first == FTF_HEALTH_HEALTHY && c.health(2).second == 1);
    CHECK(!t.is_paused());
    int finished = 0;
    while (auto e = c.poll_event()) {
        if (e->kind == FTF_EVENT_RECOVERY_FINISHED && e->success) finished++;
    }
    CHECK(finished == 1);
    CHECK(c.has_outbox_room());  // drained
    CHECK(c.stats().recoveries_succeeded == 1 && c.level() == FTF_LEVEL_HEALTHY);
    CHECK(c.partition(2).incarnation == 1 && c.partition(2).attempts == 0);
    CHECK(throws_code([&] { c.retry(now, 2); }) == FTF_UNEXPECTED_STATE);
    CHECK(throws_code([&] { c.phase_done(now, ftf_phase_job{2, 999, 1, FTF_PHASE_DETECTING, 0}, true); }) ==
          FTF_NO_RECOVERY);
}

// Issue 8: runtime membership through the wrapper.
static void coordinator_membership() {
    ftf::config cfg = ftf::config_builder().failure_confirmation(10ms).build();
    ftf::tracker t;
    ftf::coordinator c(cfg, 4, t, 0);
    const uint64_t ms = 1000000;
    c.leave(1 * ms, 3);
    CHECK(c.members() == 3 && c.health(3).first == FTF_HEALTH_ABSENT);
    CHECK(c.report(2 * ms, FTF_REPORT_CRASHED, 3) == FTF_REPORT_NOT_MEMBER);
    CHECK(throws_code([&] { c.leave(3 * ms, 3); }) == FTF_UNEXPECTED_STATE);
    CHECK(throws_code([&] { c.join(3 * ms, 0); }) == FTF_DUPLICATE);
    CHECK(c.join(4 * ms, 3) == 1 && c.health(3) == std::make_pair(FTF_HEALTH_HEALTHY, 1u));
    int joined = 0, left = 0;
    while (auto e = c.poll_event()) {
        joined += e->kind == FTF_EVENT_MEMBER_JOINED;
        left += e->kind == FTF_EVENT_MEMBER_LEFT;
    }
    CHECK(joined == 1 && left == 1);
    ftf_stats s = c.stats();
    CHECK(s.joins == 1 && s.leaves == 1 && s.failures_detected == 0 && s.absent == 0);
}

// Issue 7, item 1: the cancel handshake through the wrapper.
static void coordinator_cancel_handshake() {
    ftf::config cfg = ftf::config_builder()
                          .recovery_timeout(100ms)
                          .cancel_timeout(1s)
                          .backoff(10ms, 10ms)
                          .build();
    ftf::tracker t;
    ftf::coordinator c(cfg, 4, t, 0);
    const uint64_t ms = 1000000;
    c.report(0, FTF_REPORT_CRASHED, 1);
    std::optional<ftf_phase_job> cancelled;
    while (c.poll_action()) {
    }
    c.tick(100 * ms);
    while (auto a = c.poll_action()) {
        if (a->kind == FTF_ACTION_CANCEL_RECOVERY) cancelled = a->job;
    }
    CHECK(cancelled.has_value());
    if (!cancelled) return;
    CHECK(c.cancelling(1) == cancelled->attempt);
    CHECK(!c.cancelling(0).has_value());
    c.tick(500 * ms);
    CHECK(t.is_paused());  // still paused: the abandoned phase may run
    CHECK(c.stats().cancels_pending == 1);
    c.cancel_done(500 * ms, *cancelled);
    CHECK(!t.is_paused());
    CHECK(throws_code([&] { c.cancel_done(500 * ms, *cancelled); }) == FTF_NO_RECOVERY);
}

// Issue 8: a fenced attempt through the wrapper: request, grant, token in phases, release.
static void coordinator_fenced_recovery() {
    ftf::config cfg = ftf::config_builder()
                          .fenced(true)
                          .fence_retry(200ms)
                          .local_confirmation(false)
                          .build();
    CHECK(cfg.fenced() && !cfg.local_confirmation());
    ftf::tracker t;
    ftf::coordinator c(cfg, 4, t, 0);
    const uint64_t ms = 1000000;
    c.report(1 * ms, FTF_REPORT_CRASHED, 3);
    std::optional<ftf_phase_job> ask;
    while (auto a = c.poll_action()) {
        if (a->kind == FTF_ACTION_ACQUIRE_FENCE) ask = a->job;
    }
    CHECK(ask.has_value() && !t.is_paused());
    if (!ask) return;
    CHECK(c.fencing(3) == ask->attempt);
    CHECK(throws_code([&] { c.fence_granted(2 * ms, *ask, 0); }) == FTF_INVALID_ARGUMENT);
    c.fence_granted(2 * ms, *ask, 77);
    CHECK(c.fence(3) == uint64_t{77});
    CHECK(throws_code([&] { c.fence_refused(2 * ms, *ask, FTF_REFUSAL_HELD); }) == FTF_BUSY);
    int releases = 0, phases = 0;
    uint64_t now = 3 * ms;
    for (int guard = 0; guard < 20; guard++, now += ms) {
        while (auto a = c.poll_action()) {
            if (a->kind == FTF_ACTION_RUN_PHASE) {
                CHECK(a->job.fence == 77);
                c.phase_done(now, a->job, true);
                phases++;
            }
            if (a->kind == FTF_ACTION_RELEASE_FENCE) {
                CHECK(a->job.fence == 77 && a->completed);
                releases++;
            }
        }
    }
    CHECK(phases == 4 && releases == 1);
    CHECK(!c.fence(3).has_value());
    c.set_available(now, false);
    CHECK(!c.is_available() && c.level() >= FTF_LEVEL_DEGRADED);
    c.set_available(now, true);
    CHECK(c.is_available());
}

static void barrier_reports_to_the_forest() {
    ftf::recovery rec;
    rec.run_phase = [](const ftf_phase_job &) { return true; };
    ftf::config cfg = ftf::config_builder().reports_before_suspicion(2).build();
    ftf::tracker t;
    ftf::forest f(cfg, 3, t, rec);  // not started: reports are handled synchronously
    int calls = 0;
    ftf::barrier b(f, 2, [&](uint64_t timeout_ns) {
        ++calls;
        CHECK(timeout_ns == 1000000);
        if (calls == 3) throw std::runtime_error("a throwing barrier counts as a timeout");
        return calls == 4 ? FTF_BARRIER_PASSED : FTF_BARRIER_TIMED_OUT;
    });
    CHECK(!b.last_report().has_value());
    CHECK(b.wait(1ms) == FTF_BARRIER_TIMED_OUT);
    CHECK(b.last_report() == FTF_REPORT_COUNTED);
    CHECK(b.wait(1ms) == FTF_BARRIER_TIMED_OUT);
    CHECK(b.last_report() == FTF_REPORT_SUSPECTED);
    CHECK(f.health(2).first == FTF_HEALTH_SUSPECTED);
    CHECK(b.wait(1ms) == FTF_BARRIER_TIMED_OUT);
    CHECK(b.wait(1ms) == FTF_BARRIER_PASSED);
    CHECK(b.last_report() == FTF_REPORT_CLEARED);
    CHECK(f.health(2) == std::make_pair(FTF_HEALTH_HEALTHY, 1u));
    CHECK(b.timeouts() == 3 && b.report_errors() == 0);
    CHECK(throws_code([&] { ftf::barrier bad(f, 3, [](uint64_t) { return FTF_BARRIER_PASSED; }); }) ==
          FTF_UNKNOWN_PARTITION);
}

static void forest_lambdas_and_subscription() {
    std::atomic<int> phases{0}, events{0};
    ftf::recovery rec;
    rec.run_phase = [&](const ftf_phase_job &job) {
        ++phases;
        if (job.number == 1 && job.phase == FTF_PHASE_REDISTRIBUTING) {
            throw std::runtime_error("a throwing phase counts as a failed phase");
        }
        return true;
    };
    ftf::config cfg = ftf::config_builder().backoff(1ms, 2ms).build();
    ftf::tracker t;
    ftf::forest f(cfg, 3, t, rec);
    {
        ftf::subscription s = f.subscribe([&](const ftf_event &) {
            ++events;
            throw 42;  // swallowed by the trampoline
        });
        f.start();
        f.start();  // idempotent
        CHECK(f.report(FTF_REPORT_CRASHED, 1) == FTF_REPORT_FAILED);
        for (int i = 0; i < 2000 && !(f.health(1).first == FTF_HEALTH_HEALTHY); i++) {
            std::this_thread::sleep_for(5ms);
        }
        CHECK(f.health(1) == std::make_pair(FTF_HEALTH_HEALTHY, 1u));
        f.stop();
        f.stop();
    }
    CHECK(phases == 6);  // DETECTING, REDISTRIBUTING (threw), then all four
    CHECK(events > 0);
    ftf_stats s = f.stats();
    CHECK(s.recoveries_failed == 1 && s.recoveries_succeeded == 1);
    CHECK(f.metrics().find("# EOF") != std::string::npos);
    CHECK(f.partition(1).health == FTF_HEALTH_HEALTHY);
    ftf_partition_stats ps = f.partition_stats(1);
    CHECK(ps.failures == 1 && ps.recoveries_attempted == 2 && ps.recoveries_succeeded == 1);
    CHECK(ps.last_recovery_latency_ns != FTF_NO_TIME);
    ftf_alert_thresholds th = f.thresholds();
    th.max_failed = 2;
    f.set_thresholds(th);
    CHECK(f.thresholds().max_failed == 2);
    CHECK(throws_code([&] { (void)f.partition(3); }) == FTF_UNKNOWN_PARTITION);
    ftf::recovery none;
    CHECK(throws_code([&] { ftf::forest g(cfg, 3, t, none); }) == FTF_NULL_PARAMETER);
}

// Issue 7: per-signal detection, per-partition statistics, thresholds at run time,
// confirmation by count, recommended K.
static void coordinator_detection_and_thresholds() {
    CHECK(ftf::config::recommended_max_concurrent(12) == 3);
    ftf_alert_thresholds th = ftf::default_alert_thresholds();
    CHECK(th.max_queue_depth == 5 && th.min_success_permille == 800);
    ftf::config cfg = ftf::config_builder()
                          .reports_before_suspicion(1)
                          .reports_before_failure(2)
                          .alert_thresholds(th)
                          .build();
    CHECK(cfg.reports_before_failure() == 2);
    CHECK(cfg.alert_thresholds().max_suspected == 2);
    CHECK(throws_code([] { ftf::config_builder().reports_before_failure(2).build(); }) ==
          FTF_INVALID_CONFIG);
    ftf::tracker t;
    ftf::coordinator c(cfg, 5, t, 0);
    CHECK(c.report(1, FTF_REPORT_BARRIER_TIMEOUT, 2) == FTF_REPORT_SUSPECTED);
    CHECK(c.report(2, FTF_REPORT_HEARTBEAT_RECEIVED, 2) == FTF_REPORT_COUNTED);
    CHECK(c.health(2).first == FTF_HEALTH_SUSPECTED);
    ftf_partition_stats ps = c.partition_stats(2);
    CHECK(ps.consecutive_barrier == 1 && ps.reports == 2 && ps.suspicions == 1);
    CHECK(ps.last_report_ns == 2 && ps.last_detection_latency_ns == FTF_NO_TIME);
    CHECK(c.report(3, FTF_REPORT_GHOST_SYNC_FAILURE, 2) == FTF_REPORT_FAILED);
    while (c.poll_event()) {
    }
    th.max_failed = 1;
    c.set_thresholds(th);
    CHECK(c.thresholds().max_failed == 1);
    CHECK((c.alerts(3) & FTF_ALERT_FAILED_PARTITIONS) == 0);
    th.min_healthy_percent = 101;
    CHECK(throws_code([&] { c.set_thresholds(th); }) == FTF_INVALID_CONFIG);
    CHECK(c.thresholds().min_healthy_percent == 50);
    CHECK(throws_code([&] { (void)c.partition_stats(5); }) == FTF_UNKNOWN_PARTITION);
}

int main() {
    RUN(tracker_guards);
    RUN(operation_guard_cannot_double_end);
    RUN(guards_outlive_their_handles);
    RUN(custom_wait_lambdas);
    RUN(errors_are_system_errors);
    RUN(table_lock_queue);
    RUN(coordinator_sans_io);
    RUN(coordinator_membership);
    RUN(coordinator_detection_and_thresholds);
    RUN(coordinator_cancel_handshake);
    RUN(coordinator_fenced_recovery);
    RUN(forest_lambdas_and_subscription);
    RUN(barrier_reports_to_the_forest);
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
