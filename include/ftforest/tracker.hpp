// ftforest/tracker.hpp: ftf::tracker and its guards ftf::operation and ftf::pause_guard.
//
// Part of the C++17 wrapper; include <ftforest.hpp> (which includes every part), not this
// file alone. Conventions: see ftforest.hpp.
#ifndef FTFOREST_TRACKER_HPP
#define FTFOREST_TRACKER_HPP

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <utility>

#include "base.hpp"

namespace ftf {

class tracker;

/// An admitted operation; ends it exactly once (destructor or end()).
///
/// The C ABI's contract is "end each ftf_op_token exactly once": a token names (tracker,
/// stripe), not one operation, so a second ftf_op_end of it while another operation of that
/// stripe is in flight ends *that* operation's count (see ftf_op_end in ftforest.h). This
/// guard makes a double end impossible: it is move-only, a moved-from guard is empty, and
/// end() empties the guard before it calls ftf_op_end, so end() twice, end() then the
/// destructor, or a move followed by both, end the operation once. Only release() gives the
/// token back to code that ends it by hand (and so takes the C contract back).
///
/// Lifetime: the guard borrows its tracker (it takes no reference of its own, so begin and
/// end stay one atomic RMW each on the caller's stripe, with no shared reference count):
/// keep a tracker handle alive while its operations are, as std::lock_guard needs its
/// mutex. The begin functions are deleted on rvalue trackers, so
/// `ftf::tracker().begin()` does not compile.
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

/// A held pause; resumes it exactly once (destructor or resume()). Holds its own tracker
/// reference (a pause is rare), so it may outlive every ftf::tracker object.
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
    /// Resumes now (throws on a library error); a second call does nothing.
    void resume() {
        if (t_) {
            const ftf_tracker *t = std::exchange(t_, nullptr);
            uint32_t rc = ftf_tracker_resume(t, tok_);
            ftf_tracker_free(t);
            check(rc, "ftf_tracker_resume");
        }
    }

private:
    friend class tracker;
    pause_guard(const ftf_tracker *t, ftf_pause_token tok, bool q) noexcept
        : t_(ftf_tracker_clone(t)), tok_(tok), quiescent_(q) {}
    void resume_quietly() noexcept {
        if (t_) {
            const ftf_tracker *t = std::exchange(t_, nullptr);
            (void)ftf_tracker_resume(t, tok_);
            ftf_tracker_free(t);
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
    operation begin() const & {
        ftf_op_token tok;
        check(ftf_op_begin(get(), &tok), "ftf_op_begin");
        return operation(get(), tok);
    }
    /// Begins an operation, or nullopt while paused.
    std::optional<operation> try_begin() const & {
        ftf_op_token tok;
        uint32_t rc = ftf_op_begin(get(), &tok);
        if (rc == FTF_PAUSED) {
            return std::nullopt;
        }
        check(rc, "ftf_op_begin");
        return operation(get(), tok);
    }
    /// Begins an operation on stripe `hint`, or nullopt while paused.
    std::optional<operation> try_begin_on(uint32_t hint) const & {
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
    std::optional<operation> begin_wait(std::chrono::duration<Rep, Period> timeout) const & {
        ftf_op_token tok;
        uint32_t rc = ftf_op_begin_wait(get(), to_ns(timeout), &tok);
        if (rc == FTF_TIMEOUT) {
            return std::nullopt;
        }
        check(rc, "ftf_op_begin_wait");
        return operation(get(), tok);
    }
    // An operation borrows its tracker: beginning one on a temporary would leave it dangling.
    operation begin() const && = delete;
    std::optional<operation> try_begin() const && = delete;
    std::optional<operation> try_begin_on(uint32_t hint) const && = delete;
    template <class Rep, class Period>
    std::optional<operation> begin_wait(std::chrono::duration<Rep, Period> timeout) const && = delete;

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

}  // namespace ftf

#endif  // FTFOREST_TRACKER_HPP
