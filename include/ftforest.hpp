// ftforest.hpp: a header-only C++17 wrapper over the libftforest C ABI (ftforest.h).
//
// * Handles are RAII values: shared handles (tracker, config, coordinator, forest, partition
//   table, recovery lock/queue) copy by adding a library reference and free one on
//   destruction; owned handles (config_builder, barrier) are move-only.
// * Operations and pauses are guards: ftf::operation ends its operation, ftf::pause_guard
//   resumes its pause, ftf::subscription unsubscribes, each exactly once, on destruction.
// * Callbacks are lambdas (std::function) carried to C as userdata with a finalizer that
//   deletes them. The trampolines are noexcept: an exception escaping a callback is caught
//   (a run_phase that throws counts as a failed phase; a listener's or hook's exception is
//   dropped), never propagated through the library (that would abort the process).
// * Errors: every failing call throws ftf::error (a std::system_error whose code() is in
//   ftf::category(), value = the ftf_result). Functions whose failure is an expected outcome
//   return it instead (try_begin -> std::optional, poll_* -> std::optional).
//
// Threading is the library's: see ffi/README.md. Link with -lftforest (pkg-config ftforest).
#ifndef FTFOREST_HPP
#define FTFOREST_HPP

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "ftforest.h"

namespace ftf {

// ---------------------------------------------------------------------------------- errors

/// The error category of ftf_result codes.
class error_category_impl final : public std::error_category {
public:
    const char *name() const noexcept override { return "ftforest"; }
    std::string message(int code) const override {
        return ftf_result_message(static_cast<uint32_t>(code));
    }
};

/// The single instance of the ftforest error category.
inline const std::error_category &category() noexcept {
    static const error_category_impl instance;
    return instance;
}

/// An ftf_result as a std::error_code.
inline std::error_code make_error_code(uint32_t rc) noexcept {
    return {static_cast<int>(rc), category()};
}

/// A failed libftforest call.
class error : public std::system_error {
public:
    explicit error(uint32_t rc, const std::string &what = {})
        : std::system_error(make_error_code(rc),
                            what.empty() ? std::string(ftf_result_name(rc))
                                         : what + ": " + ftf_result_name(rc)),
          rc_(rc) {}
    /// The ftf_result.
    uint32_t result() const noexcept { return rc_; }

private:
    uint32_t rc_;
};

/// Throws ftf::error unless rc is FTF_OK.
inline void check(uint32_t rc, const char *what = "") {
    if (rc != FTF_OK) {
        throw error(rc, what);
    }
}

/// Nanoseconds for the C ABI.
template <class Rep, class Period>
inline uint64_t to_ns(std::chrono::duration<Rep, Period> d) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    return ns < 0 ? 0u : static_cast<uint64_t>(ns);
}

/// No timeout.
inline constexpr uint64_t forever = UINT64_MAX;

namespace detail {

/// A reference-counted library handle: copy = clone, destroy = free.
template <class T, const T *(*Clone)(const T *), void (*Free)(const T *)>
class shared {
public:
    shared() noexcept = default;
    explicit shared(const T *adopt) noexcept : p_(adopt) {}
    shared(const shared &o) noexcept : p_(o.p_ ? Clone(o.p_) : nullptr) {}
    shared(shared &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    shared &operator=(shared o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~shared() { Free(p_); }
    const T *get() const noexcept { return p_; }
    explicit operator bool() const noexcept { return p_ != nullptr; }

private:
    const T *p_ = nullptr;
};

/// A uniquely owned library handle: move-only, destroy = free.
template <class T, void (*Free)(T *)>
class unique {
public:
    unique() noexcept = default;
    explicit unique(T *adopt) noexcept : p_(adopt) {}
    unique(const unique &) = delete;
    unique &operator=(const unique &) = delete;
    unique(unique &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    unique &operator=(unique &&o) noexcept {
        if (this != &o) {
            Free(p_);
            p_ = std::exchange(o.p_, nullptr);
        }
        return *this;
    }
    ~unique() { Free(p_); }
    T *get() const noexcept { return p_; }

private:
    T *p_ = nullptr;
};

template <class F>
void delete_fn(void *p) noexcept {
    delete static_cast<F *>(p);
}

}  // namespace detail

// --------------------------------------------------------------------------------- tracker

class tracker;

/// An admitted operation; ends it exactly once (destructor or end()).
class operation {
public:
    operation(const operation &) = delete;
    operation &operator=(const operation &) = delete;
    operation(operation &&o) noexcept : t_(std::exchange(o.t_, nullptr)), tok_(o.tok_) {}
    operation &operator=(operation &&o) noexcept {
        if (this != &o) {
            end_quietly();
            t_ = std::exchange(o.t_, nullptr);
            tok_ = o.tok_;
        }
        return *this;
    }
    ~operation() { end_quietly(); }
    /// Ends the operation now (throws on a library error).
    void end() {
        if (t_) {
            check(ftf_op_end(std::exchange(t_, nullptr), tok_), "ftf_op_end");
        }
    }
    /// The plain token (for code that ends it through the C ABI; release() first).
    ftf_op_token token() const noexcept { return tok_; }
    /// Gives up the guard: the caller ends the token with ftf_op_end.
    ftf_op_token release() noexcept {
        t_ = nullptr;
        return tok_;
    }

private:
    friend class tracker;
    operation(const ftf_tracker *t, ftf_op_token tok) noexcept : t_(t), tok_(tok) {}
    void end_quietly() noexcept {
        if (t_) {
            (void)ftf_op_end(std::exchange(t_, nullptr), tok_);
        }
    }
    const ftf_tracker *t_;
    ftf_op_token tok_;
};

/// A held pause; resumes it exactly once (destructor or resume()).
class pause_guard {
public:
    pause_guard(const pause_guard &) = delete;
    pause_guard &operator=(const pause_guard &) = delete;
    pause_guard(pause_guard &&o) noexcept
        : t_(std::exchange(o.t_, nullptr)), tok_(o.tok_), quiescent_(o.quiescent_) {}
    pause_guard &operator=(pause_guard &&o) noexcept {
        if (this != &o) {
            resume_quietly();
            t_ = std::exchange(o.t_, nullptr);
            tok_ = o.tok_;
            quiescent_ = o.quiescent_;
        }
        return *this;
    }
    ~pause_guard() { resume_quietly(); }
    /// Whether nothing was in flight when the pause wait returned.
    bool quiescent() const noexcept { return quiescent_; }
    /// Waits up to `timeout` for quiescence; true when quiescent.
    template <class Rep, class Period>
    bool wait_quiescent(std::chrono::duration<Rep, Period> timeout) {
        uint32_t rc = ftf_tracker_wait_quiescent(t_, to_ns(timeout));
        if (rc == FTF_TIMEOUT) {
            return false;
        }
        check(rc, "ftf_tracker_wait_quiescent");
        return quiescent_ = true;
    }
    /// Resumes now (throws on a library error).
    void resume() {
        if (t_) {
            check(ftf_tracker_resume(std::exchange(t_, nullptr), tok_), "ftf_tracker_resume");
        }
    }

private:
    friend class tracker;
    pause_guard(const ftf_tracker *t, ftf_pause_token tok, bool q) noexcept
        : t_(t), tok_(tok), quiescent_(q) {}
    void resume_quietly() noexcept {
        if (t_) {
            (void)ftf_tracker_resume(std::exchange(t_, nullptr), tok_);
        }
    }
    const ftf_tracker *t_;
    ftf_pause_token tok_;
    bool quiescent_;
};

/// The in-flight operation tracker (shared; copies share one tracker).
class tracker {
public:
    /// Waiters park on a mutex + condition variable.
    tracker() {
        const ftf_tracker *t = nullptr;
        check(ftf_tracker_new(&t), "ftf_tracker_new");
        h_ = handle(t);
    }
    /// FTF_WAIT_PARK or FTF_WAIT_SPIN.
    explicit tracker(ftf_wait_kind kind) {
        const ftf_tracker *t = nullptr;
        check(ftf_tracker_new_with_wait(static_cast<uint32_t>(kind), nullptr, &t),
              "ftf_tracker_new_with_wait");
        h_ = handle(t);
    }
    /// Waiters block through `wait(addr, expected, deadline_ns)` / `wake(addr)` (futex
    /// semantics; see ftf_wait_fn). Both run on library-calling threads and must be noexcept
    /// in spirit: an exception is swallowed.
    tracker(std::function<void(uint32_t *, uint32_t, uint64_t)> wait,
            std::function<void(uint32_t *)> wake) {
        struct fns {
            std::function<void(uint32_t *, uint32_t, uint64_t)> wait;
            std::function<void(uint32_t *)> wake;
        };
        auto *f = new fns{std::move(wait), std::move(wake)};
        ftf_wait_callbacks cb{};
        cb.userdata = f;
        cb.wait = [](void *ud, uint32_t *addr, uint32_t expected, uint64_t deadline) noexcept {
            try {
                static_cast<fns *>(ud)->wait(addr, expected, deadline);
            } catch (...) {
            }
        };
        cb.wake = [](void *ud, uint32_t *addr) noexcept {
            try {
                static_cast<fns *>(ud)->wake(addr);
            } catch (...) {
            }
        };
        cb.finalizer = &detail::delete_fn<fns>;
        const ftf_tracker *t = nullptr;
        uint32_t rc = ftf_tracker_new_with_wait(FTF_WAIT_CALLBACKS, &cb, &t);
        if (rc != FTF_OK) {
            delete f;
            throw error(rc, "ftf_tracker_new_with_wait");
        }
        h_ = handle(t);
    }
    /// Adopts a reference the caller owns (e.g. from ftf_forest_tracker).
    static tracker adopt(const ftf_tracker *t) { return tracker(handle(t)); }

    /// Begins an operation; throws ftf::error(FTF_PAUSED) while paused.
    operation begin() const {
        ftf_op_token tok;
        check(ftf_op_begin(get(), &tok), "ftf_op_begin");
        return operation(get(), tok);
    }
    /// Begins an operation, or nullopt while paused.
    std::optional<operation> try_begin() const {
        ftf_op_token tok;
        uint32_t rc = ftf_op_begin(get(), &tok);
        if (rc == FTF_PAUSED) {
            return std::nullopt;
        }
        check(rc, "ftf_op_begin");
        return operation(get(), tok);
    }
    /// Begins an operation on stripe `hint`, or nullopt while paused.
    std::optional<operation> try_begin_on(uint32_t hint) const {
        ftf_op_token tok;
        uint32_t rc = ftf_op_begin_on(get(), hint, &tok);
        if (rc == FTF_PAUSED) {
            return std::nullopt;
        }
        check(rc, "ftf_op_begin_on");
        return operation(get(), tok);
    }
    /// Begins an operation, waiting up to `timeout` while paused; nullopt on timeout.
    template <class Rep, class Period>
    std::optional<operation> begin_wait(std::chrono::duration<Rep, Period> timeout) const {
        ftf_op_token tok;
        uint32_t rc = ftf_op_begin_wait(get(), to_ns(timeout), &tok);
        if (rc == FTF_TIMEOUT) {
            return std::nullopt;
        }
        check(rc, "ftf_op_begin_wait");
        return operation(get(), tok);
    }
    /// Takes a pause (closes the gate) without waiting.
    pause_guard pause() const {
        ftf_pause_token tok;
        check(ftf_tracker_pause(get(), &tok), "ftf_tracker_pause");
        return pause_guard(get(), tok, false);
    }
    /// Takes a pause and waits up to `timeout` for quiescence (see pause_guard::quiescent()).
    template <class Rep, class Period>
    pause_guard pause_wait(std::chrono::duration<Rep, Period> timeout) const {
        ftf_pause_token tok;
        bool q = false;
        check(ftf_tracker_pause_wait(get(), to_ns(timeout), &tok, &q), "ftf_tracker_pause_wait");
        return pause_guard(get(), tok, q);
    }
    bool is_paused() const noexcept { return ftf_tracker_is_paused(get()); }
    bool is_quiescent() const noexcept { return ftf_tracker_is_quiescent(get()); }
    uint32_t in_flight() const noexcept { return ftf_tracker_in_flight(get()); }
    uint32_t pause_depth() const noexcept { return ftf_tracker_pause_depth(get()); }
    uint32_t id() const noexcept { return ftf_tracker_id(get()); }
    const ftf_tracker *get() const noexcept { return h_.get(); }

private:
    using handle = detail::shared<ftf_tracker, ftf_tracker_clone, ftf_tracker_free>;
    explicit tracker(handle h) : h_(std::move(h)) {}
    handle h_;
};

// ---------------------------------------------------------------------------------- config

class config {
public:
    /// The defaults.
    config() {
        const ftf_config *c = nullptr;
        check(ftf_config_default(&c), "ftf_config_default");
        h_ = handle(c);
    }
    uint32_t max_concurrent() const noexcept { return ftf_config_max_concurrent(get()); }
    const ftf_config *get() const noexcept { return h_.get(); }

private:
    friend class config_builder;
    using handle = detail::shared<ftf_config, ftf_config_clone, ftf_config_free>;
    explicit config(handle h) : h_(std::move(h)) {}
    handle h_;
};

/// Fluent builder; build() throws ftf::error naming the refused field.
class config_builder {
public:
    config_builder() {
        ftf_config_builder *b = nullptr;
        check(ftf_config_builder_new(&b), "ftf_config_builder_new");
        h_ = handle(b);
    }
    config_builder &reports_before_suspicion(uint32_t n) {
        check(ftf_config_builder_set_reports_before_suspicion(h_.get(), n));
        return *this;
    }
    template <class R, class P>
    config_builder &failure_confirmation(std::chrono::duration<R, P> d) {
        check(ftf_config_builder_set_failure_confirmation_ns(h_.get(), to_ns(d)));
        return *this;
    }
    template <class R, class P>
    config_builder &recovery_timeout(std::chrono::duration<R, P> d) {
        check(ftf_config_builder_set_recovery_timeout_ns(h_.get(), to_ns(d)));
        return *this;
    }
    config_builder &max_retries(uint32_t n) {
        check(ftf_config_builder_set_max_retries(h_.get(), n));
        return *this;
    }
    template <class R1, class P1, class R2, class P2>
    config_builder &backoff(std::chrono::duration<R1, P1> base, std::chrono::duration<R2, P2> cap) {
        check(ftf_config_builder_set_backoff_ns(h_.get(), to_ns(base), to_ns(cap)));
        return *this;
    }
    config_builder &max_concurrent(uint32_t k) {
        check(ftf_config_builder_set_max_concurrent(h_.get(), k));
        return *this;
    }
    template <class R, class P>
    config_builder &pause_timeout(std::chrono::duration<R, P> d,
                                  ftf_pause_policy policy = FTF_PAUSE_ABORT_AND_RETRY) {
        check(ftf_config_builder_set_pause_timeout_ns(h_.get(), to_ns(d),
                                                      static_cast<uint32_t>(policy)));
        return *this;
    }
    template <class R, class P>
    config_builder &quiescence_poll(std::chrono::duration<R, P> d) {
        check(ftf_config_builder_set_quiescence_poll_ns(h_.get(), to_ns(d)));
        return *this;
    }
    template <class R1, class P1, class R2, class P2, class R3, class P3>
    config_builder &heartbeat(ftf_heartbeat_mode mode, std::chrono::duration<R1, P1> interval,
                              std::chrono::duration<R2, P2> suspect,
                              std::chrono::duration<R3, P3> failure) {
        check(ftf_config_builder_set_heartbeat(h_.get(), static_cast<uint32_t>(mode),
                                               to_ns(interval), to_ns(suspect), to_ns(failure)));
        return *this;
    }
    config build() {
        const ftf_config *c = nullptr;
        uint32_t rc = ftf_config_builder_build(h_.get(), &c);
        if (rc != FTF_OK) {
            const char *field = ftf_config_builder_error_field(h_.get());
            const char *reason = ftf_config_builder_error_reason(h_.get());
            throw error(rc, std::string("config field ") + (field ? field : "?") + " " +
                                (reason ? reason : ""));
        }
        return config(config::handle(c));
    }

private:
    using handle = detail::unique<ftf_config_builder, ftf_config_builder_free>;
    handle h_;
};

// -------------------------------------------------------------------------------- forest

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
    void poke() { check(ftf_forest_poke(get())); }

    /// Subscribes a listener (dispatcher thread; exceptions are swallowed).
    subscription subscribe(std::function<void(const ftf_event &)> fn) {
        using F = std::function<void(const ftf_event &)>;
        auto *f = new F(std::move(fn));
        ftf_listener_handle h{};
        uint32_t rc = ftf_forest_subscribe(
            get(),
            [](void *ud, const ftf_event *e) noexcept {
                try {
                    (*static_cast<F *>(ud))(*e);
                } catch (...) {
                }
            },
            f, &detail::delete_fn<F>, &h);
        if (rc != FTF_OK) {
            delete f;
            throw error(rc, "ftf_forest_subscribe");
        }
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
    ftf_level level() const noexcept { return static_cast<ftf_level>(ftf_forest_level(get())); }
    uint32_t alerts() const noexcept { return ftf_forest_alerts(get()); }
    bool in_recovery_mode() const noexcept { return ftf_forest_in_recovery_mode(get()); }
    /// The OpenMetrics text.
    std::string metrics() const {
        size_t needed = 0;
        uint32_t rc = ftf_forest_metrics(get(), nullptr, 0, &needed);
        for (int i = 0; i < 4 && rc == FTF_BUFFER_TOO_SMALL; i++) {
            std::vector<char> buf(needed);
            rc = ftf_forest_metrics(get(), buf.data(), buf.size(), &needed);
            if (rc == FTF_OK) return std::string(buf.data(), needed - 1);
        }
        check(rc, "ftf_forest_metrics");
        return {};
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

/// The barrier decorator for one partition; `wait(timeout_ns)` returns an outcome.
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

private:
    using handle = detail::unique<ftf_barrier, ftf_barrier_free>;
    handle h_;
};

// ---------------------------------------------------------------------------- coordinator

/// The sans-io coordinator: the embedder feeds reports/ticks and polls actions and events.
class coordinator {
public:
    coordinator(const config &cfg, uint32_t n, const tracker &t, uint64_t now_ns) {
        const ftf_coordinator *c = nullptr;
        check(ftf_coordinator_new(cfg.get(), n, t.get(), now_ns, &c), "ftf_coordinator_new");
        h_ = handle(c);
    }
    ftf_report_outcome report(uint64_t now_ns, ftf_report_kind kind, uint32_t rank,
                              uint32_t incarnation = FTF_INCARNATION_ANY) {
        uint32_t out = 0;
        check(ftf_coordinator_report(get(), now_ns, static_cast<uint32_t>(kind), rank,
                                     incarnation, &out),
              "ftf_coordinator_report");
        return static_cast<ftf_report_outcome>(out);
    }
    void tick(uint64_t now_ns) { check(ftf_coordinator_tick(get(), now_ns)); }
    void phase_done(uint64_t now_ns, const ftf_phase_job &job, bool ok) {
        check(ftf_coordinator_phase_done(get(), now_ns, job.rank, job.attempt, job.phase, ok),
              "ftf_coordinator_phase_done");
    }
    void retry(uint64_t now_ns, uint32_t rank) {
        check(ftf_coordinator_retry(get(), now_ns, rank), "ftf_coordinator_retry");
    }
    std::optional<ftf_action> poll_action() {
        ftf_action a{};
        uint32_t rc = ftf_coordinator_poll_action(get(), &a);
        if (rc == FTF_EMPTY) return std::nullopt;
        check(rc, "ftf_coordinator_poll_action");
        return a;
    }
    std::optional<ftf_event> poll_event() {
        ftf_event e{};
        uint32_t rc = ftf_coordinator_poll_event(get(), &e);
        if (rc == FTF_EMPTY) return std::nullopt;
        check(rc, "ftf_coordinator_poll_event");
        return e;
    }
    std::optional<uint64_t> poll_timeout() const {
        uint64_t d = 0;
        uint32_t rc = ftf_coordinator_poll_timeout(get(), &d);
        if (rc == FTF_EMPTY) return std::nullopt;
        check(rc, "ftf_coordinator_poll_timeout");
        return d;
    }
    std::pair<ftf_health, uint32_t> health(uint32_t rank) const {
        uint32_t h = 0, inc = 0;
        check(ftf_coordinator_health(get(), rank, &h, &inc), "ftf_coordinator_health");
        return {static_cast<ftf_health>(h), inc};
    }
    ftf_stats stats() const {
        ftf_stats s{};
        check(ftf_coordinator_stats(get(), &s), "ftf_coordinator_stats");
        return s;
    }
    ftf_partition_info partition(uint32_t rank) const {
        ftf_partition_info i{};
        check(ftf_coordinator_partition(get(), rank, &i), "ftf_coordinator_partition");
        return i;
    }
    ftf_level level() const noexcept {
        return static_cast<ftf_level>(ftf_coordinator_level(get()));
    }
    const ftf_coordinator *get() const noexcept { return h_.get(); }

private:
    using handle = detail::shared<ftf_coordinator, ftf_coordinator_clone, ftf_coordinator_free>;
    handle h_;
};

// ------------------------------------------------------------- partition table, lock, queue

/// Health per partition with O(1) counts and quorum (shared).
class partition_table {
public:
    explicit partition_table(uint32_t n) {
        const ftf_partition_table *t = nullptr;
        check(ftf_partition_table_new(n, &t), "ftf_partition_table_new");
        h_ = handle(t);
    }
    uint32_t size() const noexcept { return ftf_partition_table_len(get()); }
    std::pair<ftf_health, uint32_t> health(uint32_t rank) const {
        uint32_t h = 0, inc = 0;
        check(ftf_partition_table_get(get(), rank, &h, &inc), "ftf_partition_table_get");
        return {static_cast<ftf_health>(h), inc};
    }
    /// Moves `rank` to `to`; nullopt when the change is refused because the state or the
    /// incarnation changed meanwhile (FTF_UNEXPECTED_STATE / FTF_STALE); throws otherwise.
    std::optional<ftf_transition> transition(uint32_t rank, ftf_health to,
                                             uint32_t from = FTF_HEALTH_ANY,
                                             uint32_t incarnation = FTF_INCARNATION_ANY) {
        ftf_transition t{};
        uint32_t rc = ftf_partition_table_transition(get(), rank, from, static_cast<uint32_t>(to),
                                                     incarnation, &t);
        if (rc == FTF_UNEXPECTED_STATE || rc == FTF_STALE) return std::nullopt;
        check(rc, "ftf_partition_table_transition");
        return t;
    }
    ftf_counts counts() const {
        ftf_counts c{};
        check(ftf_partition_table_counts(get(), &c), "ftf_partition_table_counts");
        return c;
    }
    bool has_quorum() const noexcept { return ftf_partition_table_has_quorum(get()); }
    const ftf_partition_table *get() const noexcept { return h_.get(); }

private:
    using handle = detail::shared<ftf_partition_table, ftf_partition_table_clone,
                                  ftf_partition_table_free>;
    handle h_;
};

/// A held recovery permit; released exactly once (destructor or release()).
class permit {
public:
    permit(const permit &) = delete;
    permit &operator=(const permit &) = delete;
    permit(permit &&o) noexcept : l_(std::exchange(o.l_, nullptr)), tok_(o.tok_) {}
    permit &operator=(permit &&o) noexcept {
        if (this != &o) {
            release_quietly();
            l_ = std::exchange(o.l_, nullptr);
            tok_ = o.tok_;
        }
        return *this;
    }
    ~permit() { release_quietly(); }
    uint32_t rank() const noexcept { return tok_.rank; }
    void release() {
        if (l_) check(ftf_recovery_lock_release(std::exchange(l_, nullptr), tok_), "ftf_recovery_lock_release");
    }

private:
    friend class recovery_lock;
    permit(const ftf_recovery_lock *l, ftf_permit_token t) noexcept : l_(l), tok_(t) {}
    void release_quietly() noexcept {
        if (l_) (void)ftf_recovery_lock_release(std::exchange(l_, nullptr), tok_);
    }
    const ftf_recovery_lock *l_;
    ftf_permit_token tok_;
};

/// One recovery per partition, at most K at once (shared).
class recovery_lock {
public:
    recovery_lock(uint32_t n, uint32_t max_concurrent) {
        const ftf_recovery_lock *l = nullptr;
        check(ftf_recovery_lock_new(n, max_concurrent, &l), "ftf_recovery_lock_new");
        h_ = handle(l);
    }
    /// A permit, or nullopt when busy / at capacity / without quorum (`why` gets the code).
    std::optional<permit> try_acquire(uint32_t rank, bool quorum, uint32_t *why = nullptr) {
        ftf_permit_token t{};
        uint32_t rc = ftf_recovery_lock_try_acquire(get(), rank, quorum, &t);
        if (why) *why = rc;
        if (rc == FTF_BUSY || rc == FTF_AT_CAPACITY || rc == FTF_NO_QUORUM) return std::nullopt;
        check(rc, "ftf_recovery_lock_try_acquire");
        return permit(get(), t);
    }
    /// Waits up to `timeout` for capacity; nullopt on timeout or when busy / without quorum.
    template <class Rep, class Period>
    std::optional<permit> acquire_wait(uint32_t rank, bool quorum,
                                       std::chrono::duration<Rep, Period> timeout,
                                       uint32_t *why = nullptr) {
        ftf_permit_token t{};
        uint32_t rc = ftf_recovery_lock_acquire_wait(get(), rank, quorum, to_ns(timeout), &t);
        if (why) *why = rc;
        if (rc == FTF_TIMEOUT || rc == FTF_BUSY || rc == FTF_NO_QUORUM) return std::nullopt;
        check(rc, "ftf_recovery_lock_acquire_wait");
        return permit(get(), t);
    }
    uint32_t active() const noexcept { return ftf_recovery_lock_active(get()); }
    bool is_recovering(uint32_t rank) const noexcept { return ftf_recovery_lock_is_recovering(get(), rank); }
    const ftf_recovery_lock *get() const noexcept { return h_.get(); }

private:
    using handle = detail::shared<ftf_recovery_lock, ftf_recovery_lock_clone, ftf_recovery_lock_free>;
    handle h_;
};

/// A bounded, duplicate-free FIFO of ranks (shared).
class recovery_queue {
public:
    recovery_queue(uint32_t n, uint32_t capacity) {
        const ftf_recovery_queue *q = nullptr;
        check(ftf_recovery_queue_new(n, capacity, &q), "ftf_recovery_queue_new");
        h_ = handle(q);
    }
    /// false when already queued; throws when full or the rank is unknown.
    bool push(uint32_t rank) {
        uint32_t rc = ftf_recovery_queue_push(get(), rank);
        if (rc == FTF_DUPLICATE) return false;
        check(rc, "ftf_recovery_queue_push");
        return true;
    }
    std::optional<uint32_t> pop() {
        uint32_t r = 0;
        if (ftf_recovery_queue_pop(get(), &r) == FTF_OK) return r;
        return std::nullopt;
    }
    bool remove(uint32_t rank) noexcept { return ftf_recovery_queue_remove(get(), rank); }
    bool contains(uint32_t rank) const noexcept { return ftf_recovery_queue_contains(get(), rank); }
    uint32_t size() const noexcept { return ftf_recovery_queue_len(get()); }
    std::vector<uint32_t> snapshot() const {
        std::vector<uint32_t> v(ftf_recovery_queue_capacity(get()));
        size_t n = 0;
        check(ftf_recovery_queue_snapshot(get(), v.data(), v.size(), &n), "ftf_recovery_queue_snapshot");
        v.resize(n);
        return v;
    }
    const ftf_recovery_queue *get() const noexcept { return h_.get(); }

private:
    using handle = detail::shared<ftf_recovery_queue, ftf_recovery_queue_clone, ftf_recovery_queue_free>;
    handle h_;
};

}  // namespace ftf


#endif  // FTFOREST_HPP
