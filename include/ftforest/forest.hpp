// ftforest/forest.hpp: ftf::forest (the runtime on library threads), its callbacks
// (ftf::recovery), listener subscriptions and the barrier decorator ftf::barrier.
//
// Part of the C++17 wrapper; include <ftforest.hpp> (which includes every part), not this
// file alone. Conventions: see ftforest.hpp.
#ifndef FTFOREST_FOREST_HPP
#define FTFOREST_FOREST_HPP

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base.hpp"
#include "config.hpp"
#include "tracker.hpp"

namespace ftf {

/// The embedder's recovery, as lambdas. run_phase is required; a phase that throws counts as
/// failed. Every callback runs on a library thread with no library lock held.
struct recovery {
    std::function<bool(const ftf_phase_job &)> run_phase;
    std::function<void(const ftf_phase_job &)> cancel;
    std::function<void()> pause_balancer, resume_balancer, pause_ghost_sync, resume_ghost_sync;
};

class forest;

/// A listener subscription; unsubscribes exactly once on destruction.
class subscription {
public:
    subscription() noexcept = default;
    subscription(const subscription &) = delete;
    subscription &operator=(const subscription &) = delete;
    subscription(subscription &&o) noexcept : f_(std::exchange(o.f_, nullptr)), h_(o.h_) {}
    subscription &operator=(subscription &&o) noexcept {
        if (this != &o) {
            reset();
            f_ = std::exchange(o.f_, nullptr);
            h_ = o.h_;
        }
        return *this;
    }
    ~subscription() { reset(); }
    /// Unsubscribes now (no-op when empty).
    void reset() noexcept {
        if (f_) {
            (void)ftf_forest_unsubscribe(f_, h_);
            ftf_forest_free(std::exchange(f_, nullptr));
        }
    }

private:
    friend class forest;
    subscription(const ftf_forest *f, ftf_listener_handle h) noexcept
        : f_(ftf_forest_clone(f)), h_(h) {}
    const ftf_forest *f_ = nullptr;
    ftf_listener_handle h_{};
};

/// The fault-tolerant forest runtime (coordinator + library threads). Copies share it.
class forest {
public:
    forest(const config &cfg, uint32_t n, const tracker &t, recovery r) {
        auto *rec = new recovery(std::move(r));
        ftf_recovery_callbacks cb{};
        cb.userdata = rec;
        cb.run_phase = [](void *ud, const ftf_phase_job *job) noexcept -> bool {
            try {
                return static_cast<recovery *>(ud)->run_phase(*job);
            } catch (...) {
                return false;
            }
        };
        cb.cancel = [](void *ud, const ftf_phase_job *job) noexcept {
            try {
                auto &f = static_cast<recovery *>(ud)->cancel;
                if (f) f(*job);
            } catch (...) {
            }
        };
        cb.pause_balancer = [](void *ud) noexcept { call(static_cast<recovery *>(ud)->pause_balancer); };
        cb.resume_balancer = [](void *ud) noexcept { call(static_cast<recovery *>(ud)->resume_balancer); };
        cb.pause_ghost_sync = [](void *ud) noexcept { call(static_cast<recovery *>(ud)->pause_ghost_sync); };
        cb.resume_ghost_sync = [](void *ud) noexcept { call(static_cast<recovery *>(ud)->resume_ghost_sync); };
        cb.finalizer = &detail::delete_fn<recovery>;
        if (!rec->run_phase) {
            delete rec;
            throw error(FTF_NULL_PARAMETER, "ftf::forest: run_phase is required");
        }
        const ftf_forest *f = nullptr;
        uint32_t rc = ftf_forest_new(cfg.get(), n, t.get(), &cb, &f);
        if (rc != FTF_OK) {
            delete rec;
            throw error(rc, "ftf_forest_new");
        }
        h_ = handle(f);
    }

    /// start/stop/running may be called from any callback, also while another thread stops
    /// the forest: from a callback, stop returns at once (see ftf_forest_stop).
    void start() {
        uint32_t rc = ftf_forest_start(get());
        if (rc != FTF_ALREADY_RUNNING) check(rc, "ftf_forest_start");
    }
    void stop() {
        uint32_t rc = ftf_forest_stop(get());
        if (rc != FTF_NOT_RUNNING) check(rc, "ftf_forest_stop");
    }
    bool running() const noexcept { return ftf_forest_is_running(get()); }
    /// The tracker recovery mode pauses.
    ftf::tracker tracker() const { return ftf::tracker::adopt(ftf_forest_tracker(get())); }

    /// Reports an observation made now; returns the ftf_report_outcome.
    ftf_report_outcome report(ftf_report_kind kind, uint32_t rank,
                              uint32_t incarnation = FTF_INCARNATION_ANY) {
        uint32_t out = 0;
        check(ftf_forest_report(get(), static_cast<uint32_t>(kind), rank, incarnation, &out),
              "ftf_forest_report");
        return static_cast<ftf_report_outcome>(out);
    }
    void retry(uint32_t rank) { check(ftf_forest_retry(get(), rank), "ftf_forest_retry"); }
    /// `rank` joins the running forest (-> HEALTHY); returns its new incarnation. Throws
    /// FTF_DUPLICATE (already a member) or FTF_BUSY (its recovery runs). Thread-safe.
    uint32_t join(uint32_t rank) {
        uint32_t inc = 0;
        check(ftf_forest_join(get(), rank, &inc), "ftf_forest_join");
        return inc;
    }
    /// `rank` leaves the running forest (-> ABSENT; not a failure). Throws
    /// FTF_UNEXPECTED_STATE (already ABSENT) or FTF_BUSY (its recovery runs). Thread-safe.
    void leave(uint32_t rank) { check(ftf_forest_leave(get(), rank), "ftf_forest_leave"); }
    void poke() { check(ftf_forest_poke(get())); }

    /// Subscribes a listener (dispatcher thread; exceptions are swallowed).
    subscription subscribe(std::function<void(const ftf_event &)> fn) {
        auto h = detail::subscribe<ftf_event>(
            [&](ftf_event_fn cb, void *ud, ftf_finalizer_fn fin, ftf_listener_handle *out) {
                return ftf_forest_subscribe(get(), cb, ud, fin, out);
            },
            std::move(fn), "ftf_forest_subscribe");
        return subscription(get(), h);
    }

    /// (health, incarnation) of `rank`.
    std::pair<ftf_health, uint32_t> health(uint32_t rank) const {
        uint32_t h = 0, inc = 0;
        check(ftf_forest_health(get(), rank, &h, &inc), "ftf_forest_health");
        return {static_cast<ftf_health>(h), inc};
    }
    ftf_counts counts() const {
        ftf_counts c{};
        check(ftf_forest_counts(get(), &c), "ftf_forest_counts");
        return c;
    }
    /// Detection and recovery bookkeeping of `rank`.
    ftf_partition_info partition(uint32_t rank) const {
        ftf_partition_info i{};
        check(ftf_forest_partition(get(), rank, &i), "ftf_forest_partition");
        return i;
    }
    ftf_stats stats() const {
        ftf_stats s{};
        check(ftf_forest_stats(get(), &s), "ftf_forest_stats");
        return s;
    }
    ftf_partition_stats partition_stats(uint32_t rank) const {
        ftf_partition_stats s{};
        check(ftf_forest_partition_stats(get(), rank, &s), "ftf_forest_partition_stats");
        return s;
    }
    ftf_alert_thresholds thresholds() const {
        ftf_alert_thresholds t{};
        check(ftf_forest_thresholds(get(), &t), "ftf_forest_thresholds");
        return t;
    }
    /// Replace the alert thresholds while running (throws FTF_INVALID_CONFIG, unchanged).
    void set_thresholds(const ftf_alert_thresholds &t) {
        check(ftf_forest_set_thresholds(get(), &t), "ftf_forest_set_thresholds");
    }
    ftf_level level() const noexcept { return static_cast<ftf_level>(ftf_forest_level(get())); }
    uint32_t alerts() const noexcept { return ftf_forest_alerts(get()); }
    bool in_recovery_mode() const noexcept { return ftf_forest_in_recovery_mode(get()); }
    /// The OpenMetrics text.
    std::string metrics() const {
        return detail::read_text(
            [&](char *buf, size_t len, size_t *needed) {
                return ftf_forest_metrics(get(), buf, len, needed);
            },
            "ftf_forest_metrics");
    }
    const ftf_forest *get() const noexcept { return h_.get(); }

private:
    static void call(const std::function<void()> &f) noexcept {
        try {
            if (f) f();
        } catch (...) {
        }
    }
    using handle = detail::shared<ftf_forest, ftf_forest_clone, ftf_forest_free>;
    handle h_;
};

/// The barrier decorator for one partition; `wait(timeout)` returns an outcome and reports it
/// to the forest (pinned to the partition's incarnation when the wait began).
class barrier {
public:
    barrier(const forest &f, uint32_t rank, std::function<ftf_barrier_outcome(uint64_t)> wait,
            bool report_passes = true) {
        using F = std::function<ftf_barrier_outcome(uint64_t)>;
        auto *fn = new F(std::move(wait));
        ftf_barrier *b = nullptr;
        uint32_t rc = ftf_barrier_new_for_forest(
            f.get(), rank,
            [](void *ud, uint32_t, uint64_t timeout_ns) noexcept -> uint32_t {
                try {
                    return static_cast<uint32_t>((*static_cast<F *>(ud))(timeout_ns));
                } catch (...) {
                    return FTF_BARRIER_TIMED_OUT;
                }
            },
            fn, &detail::delete_fn<F>, report_passes, &b);
        if (rc != FTF_OK) {
            delete fn;
            throw error(rc, "ftf_barrier_new_for_forest");
        }
        h_ = handle(b);
    }
    /// Waits through the embedder's barrier and reports the outcome to the forest.
    template <class Rep, class Period>
    ftf_barrier_outcome wait(std::chrono::duration<Rep, Period> timeout) {
        uint32_t out = 0;
        check(ftf_barrier_wait(h_.get(), to_ns(timeout), &out), "ftf_barrier_wait");
        return static_cast<ftf_barrier_outcome>(out);
    }
    uint64_t timeouts() const noexcept { return ftf_barrier_timeouts(h_.get()); }
    /// Reports the forest refused (should stay 0).
    uint64_t report_errors() const noexcept { return ftf_barrier_report_errors(h_.get()); }
    /// What the forest made of the last wait's report (FTF_REPORT_STALE: the partition became
    /// HEALTHY again during the wait); nullopt when nothing was reported.
    std::optional<ftf_report_outcome> last_report() const {
        uint32_t out = 0;
        uint32_t rc = ftf_barrier_last_report(h_.get(), &out);
        if (rc == FTF_EMPTY) return std::nullopt;
        check(rc, "ftf_barrier_last_report");
        return static_cast<ftf_report_outcome>(out);
    }

private:
    using handle = detail::unique<ftf_barrier, ftf_barrier_free>;
    handle h_;
};

}  // namespace ftf

#endif  // FTFOREST_FOREST_HPP
