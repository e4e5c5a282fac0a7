// ftforest/primitives.hpp: the standalone primitives: ftf::partition_table, ftf::recovery_lock
// (with ftf::permit) and ftf::recovery_queue.
//
// Part of the C++17 wrapper; include <ftforest.hpp> (which includes every part), not this
// file alone. Conventions: see ftforest.hpp.
#ifndef FTFOREST_PRIMITIVES_HPP
#define FTFOREST_PRIMITIVES_HPP

#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "base.hpp"

namespace ftf {

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

/// A held recovery permit; released exactly once (destructor or release()). Holds its own
/// lock reference, so it may outlive every ftf::recovery_lock object.
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
    /// Releases now (throws on a library error); a second call does nothing.
    void release() {
        if (l_) {
            const ftf_recovery_lock *l = std::exchange(l_, nullptr);
            uint32_t rc = ftf_recovery_lock_release(l, tok_);
            ftf_recovery_lock_free(l);
            check(rc, "ftf_recovery_lock_release");
        }
    }

private:
    friend class recovery_lock;
    permit(const ftf_recovery_lock *l, ftf_permit_token t) noexcept
        : l_(ftf_recovery_lock_clone(l)), tok_(t) {}
    void release_quietly() noexcept {
        if (l_) {
            const ftf_recovery_lock *l = std::exchange(l_, nullptr);
            (void)ftf_recovery_lock_release(l, tok_);
            ftf_recovery_lock_free(l);
        }
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

#endif  // FTFOREST_PRIMITIVES_HPP
