// ftforest/cluster.hpp: the cluster member (one process of a forest that spans processes,
// on etcd): ftf::ClusterConfig (the builder), ftf::ClusterMember (RAII over ftf_cluster) and
// its event subscription ftf::ClusterSubscription.
//
// Part of the C++17 wrapper; include <ftforest.hpp> with FTF_CLUSTER defined (which includes
// this part), not this file alone. Conventions: see ftforest.hpp. Threads: the member's
// event listener runs on its event-dispatcher thread; the attached forest's recovery
// callbacks (ftf::recovery) run the recovery phases of the ranks this process recovers,
// with job.fence = the fencing token (see ffi/README.md, "Cluster").
#ifndef FTFOREST_CLUSTER_HPP
#define FTFOREST_CLUSTER_HPP

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base.hpp"
#include "forest.hpp"

namespace ftf {

/// A member's configuration (etcd endpoints, key prefix, hosted ranks, TTL, K, timeouts).
/// Setters are fluent and throw ftf::error on a refused value; the whole configuration is
/// validated by check() and by ClusterMember::join. Move-only; not thread-safe.
class ClusterConfig {
public:
    /// `proc`: this process's id (1..128 bytes, no '/', whitespace or control characters);
    /// `n`: the partitions of the forest.
    ClusterConfig(const std::string &proc, uint32_t n) {
        ftf_cluster_config *c = nullptr;
        check(ftf_cluster_config_new(proc.c_str(), n, &c), "ftf_cluster_config_new");
        h_ = handle(c);
    }
    /// One etcd endpoint, e.g. "http://127.0.0.1:2379" (call once per endpoint).
    ClusterConfig &endpoint(const std::string &url) {
        check(ftf_cluster_config_add_endpoint(get(), url.c_str()), "ftf_cluster_config_add_endpoint");
        return *this;
    }
    /// The key prefix (ends with '/').
    ClusterConfig &prefix(const std::string &p) {
        check(ftf_cluster_config_set_prefix(get(), p.c_str()), "ftf_cluster_config_set_prefix");
        return *this;
    }
    /// A rank this process hosts (call once per rank).
    ClusterConfig &rank(uint32_t r) {
        check(ftf_cluster_config_add_rank(get(), r), "ftf_cluster_config_add_rank");
        return *this;
    }
    /// Concurrent recoveries cluster-wide.
    ClusterConfig &k(uint32_t k) {
        check(ftf_cluster_config_set_k(get(), k), "ftf_cluster_config_set_k");
        return *this;
    }
    /// The lease TTL (>= 2 s).
    template <class Rep, class Period>
    ClusterConfig &ttl(std::chrono::duration<Rep, Period> d) {
        check(ftf_cluster_config_set_ttl_ms(get(), to_ms(d)), "ftf_cluster_config_set_ttl_ms");
        return *this;
    }
    /// One of the timeouts (`ftf_cluster_timeout`).
    template <class Rep, class Period>
    ClusterConfig &timeout(ftf_cluster_timeout which, std::chrono::duration<Rep, Period> d) {
        check(ftf_cluster_config_set_timeout_ms(get(), static_cast<uint32_t>(which), to_ms(d)),
              "ftf_cluster_config_set_timeout_ms");
        return *this;
    }
    /// What the recoverer does at the pause timeout (`ftf_cluster_pause_policy`).
    ClusterConfig &pause_policy(ftf_cluster_pause_policy p) {
        check(ftf_cluster_config_set_pause_policy(get(), static_cast<uint32_t>(p)),
              "ftf_cluster_config_set_pause_policy");
        return *this;
    }
    /// Validates without connecting; throws ftf::error(FTF_INVALID_CONFIG).
    void validate() const { check(ftf_cluster_config_check(get()), "ftf_cluster_config_check"); }
    ftf_cluster_config *get() const noexcept { return h_.get(); }

private:
    template <class Rep, class Period>
    static uint64_t to_ms(std::chrono::duration<Rep, Period> d) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
        return ms < 0 ? 0u : static_cast<uint64_t>(ms);
    }
    using handle = detail::unique<ftf_cluster_config, ftf_cluster_config_free>;
    handle h_;
};

/// A cluster event listener subscription; unsubscribes exactly once on destruction (after
/// which the listener is never called again). It holds a share of the member (as the forest's
/// ftf::subscription holds a forest reference): the member is freed when the last of the
/// ClusterMember and its subscriptions goes.
class ClusterSubscription {
public:
    ClusterSubscription() noexcept = default;
    ClusterSubscription(const ClusterSubscription &) = delete;
    ClusterSubscription &operator=(const ClusterSubscription &) = delete;
    ClusterSubscription(ClusterSubscription &&o) noexcept : c_(std::move(o.c_)), h_(o.h_) {}
    ClusterSubscription &operator=(ClusterSubscription &&o) noexcept {
        if (this != &o) {
            reset();
            c_ = std::move(o.c_);
            h_ = o.h_;
        }
        return *this;
    }
    ~ClusterSubscription() { reset(); }
    /// Unsubscribes now (no-op when empty).
    void reset() noexcept {
        if (c_) {
            (void)ftf_cluster_unsubscribe(c_.get(), h_);
            c_.reset();
        }
    }

private:
    friend class ClusterMember;
    ClusterSubscription(std::shared_ptr<const ftf_cluster> c, ftf_listener_handle h) noexcept
        : c_(std::move(c)), h_(h) {}
    std::shared_ptr<const ftf_cluster> c_;
    ftf_listener_handle h_{};
};

/// One process's membership of the cluster, with a forest attached. Move-only. The end of
/// the member (this object and its subscriptions gone) frees it: without leave() first its
/// lease is revoked at once (the others see its ranks FAILED); the forest is detached
/// either way. Thread-safe: every
/// method may be called from any thread, also from the forest's recovery callbacks.
class ClusterMember {
public:
    /// Joins (blocks: connect + a few requests, bounded by the configuration's timeouts).
    /// Throws ftf::error: FTF_UNREACHABLE, FTF_CONFIG_MISMATCH, FTF_RANK_HELD,
    /// FTF_ZOMBIE_REJOIN, FTF_UNAVAILABLE, FTF_INVALID_CONFIG, FTF_ALREADY_RUNNING (the
    /// forest runs), FTF_BUSY (attached elsewhere).
    static ClusterMember join(const ClusterConfig &cfg, const forest &f) {
        const ftf_cluster *c = nullptr;
        check(ftf_cluster_join(cfg.get(), f.get(), &c), "ftf_cluster_join");
        return ClusterMember(c);
    }
    ClusterMember(const ClusterMember &) = delete;
    ClusterMember &operator=(const ClusterMember &) = delete;
    ClusterMember(ClusterMember &&) noexcept = default;
    ClusterMember &operator=(ClusterMember &&) noexcept = default;
    ~ClusterMember() = default;

    /// Graceful leave: the hosted ranks are marked left (not a failure), the lease revoked.
    /// Throws FTF_UNAVAILABLE (could not mark them; the lease still ends); a second leave
    /// is a no-op.
    void leave() {
        uint32_t rc = ftf_cluster_leave(get());
        if (rc != FTF_NOT_RUNNING) check(rc, "ftf_cluster_leave");
    }
    /// A fenced write of `rank`'s value: token 0 = an owner write (this process hosts the
    /// rank), else a recovery write under that fencing token. Returns the etcd revision.
    /// Throws FTF_STALE (not applied), FTF_SELF_FENCED, FTF_UNAVAILABLE, FTF_AMBIGUOUS, ...
    uint64_t put(uint32_t rank, uint64_t token, const std::vector<uint8_t> &bytes) {
        uint64_t rev = 0;
        check(ftf_cluster_put(get(), rank, token, bytes.data(), bytes.size(), &rev),
              "ftf_cluster_put");
        return rev;
    }
    /// The rank's value (linearizable read); nullopt when it has none.
    std::optional<std::vector<uint8_t>> get(uint32_t rank) const {
        size_t len = 0;
        uint32_t rc = ftf_cluster_get(get(), rank, nullptr, 0, &len);
        for (int i = 0; i < 4 && rc == FTF_BUFFER_TOO_SMALL; i++) {
            std::vector<uint8_t> buf(len);
            rc = ftf_cluster_get(get(), rank, buf.data(), buf.size(), &len);
            if (rc == FTF_OK) {
                buf.resize(len);
                return buf;
            }
        }
        if (rc == FTF_EMPTY) return std::nullopt;
        check(rc, "ftf_cluster_get");
        return std::vector<uint8_t>{};  // FTF_OK at cap 0: the empty value
    }
    /// Whether this process holds `rank`'s recovery lock with exactly `token` and may write
    /// (local, never blocks). Throws FTF_SELF_FENCED / FTF_NOT_RUNNING / FTF_UNKNOWN_PARTITION.
    bool check_fence(uint32_t rank, uint64_t token) const {
        uint32_t rc = ftf_cluster_check_fence(get(), rank, token);
        if (rc == FTF_STALE) return false;
        check(rc, "ftf_cluster_check_fence");
        return true;
    }
    /// A local observation about `rank` (may raise SUSPECTED, never FAILED).
    void report(ftf_report_kind kind, uint32_t rank) {
        check(ftf_cluster_report(get(), static_cast<uint32_t>(kind), rank), "ftf_cluster_report");
    }
    /// Subscribes a listener (the member's event-dispatcher thread, in protocol order; the
    /// first subscriber also gets every event since join began; exceptions are swallowed).
    ClusterSubscription subscribe(std::function<void(const ftf_cluster_event &)> fn) {
        auto h = detail::subscribe<ftf_cluster_event>(
            [&](ftf_cluster_event_fn cb, void *ud, ftf_finalizer_fn fin, ftf_listener_handle *out) {
                return ftf_cluster_subscribe(get(), cb, ud, fin, out);
            },
            std::move(fn), "ftf_cluster_subscribe");
        return ClusterSubscription(c_, h);
    }
    ftf_cluster_stats stats() const {
        ftf_cluster_stats s{};
        check(ftf_cluster_stats_get(get(), &s), "ftf_cluster_stats_get");
        return s;
    }
    /// The member's coordinator statistics (its view of the whole forest).
    ftf_stats coordinator_stats() const {
        ftf_stats s{};
        check(ftf_cluster_coordinator_stats(get(), &s), "ftf_cluster_coordinator_stats");
        return s;
    }
    /// The ranks hosted now (recovered ranks included).
    std::vector<uint32_t> ranks() const {
        size_t count = 0;
        uint32_t rc = ftf_cluster_ranks(get(), nullptr, 0, &count);
        for (int i = 0; i < 4 && rc == FTF_BUFFER_TOO_SMALL; i++) {
            std::vector<uint32_t> buf(count);
            rc = ftf_cluster_ranks(get(), buf.data(), buf.size(), &count);
            if (rc == FTF_OK) {
                buf.resize(count);
                return buf;
            }
        }
        check(rc, "ftf_cluster_ranks");
        return {};
    }
    /// The incarnation of a hosted rank (its member key's create revision).
    uint64_t incarnation(uint32_t rank) const {
        uint64_t inc = 0;
        check(ftf_cluster_incarnation(get(), rank, &inc), "ftf_cluster_incarnation");
        return inc;
    }
    /// The OpenMetrics text.
    std::string metrics() const {
        return detail::read_text(
            [&](char *buf, size_t len, size_t *needed) {
                return ftf_cluster_metrics(get(), buf, len, needed);
            },
            "ftf_cluster_metrics");
    }
    /// A fault hook (an FTF_CLUSTER_FAULT_* value; tests and demos).
    void fault(uint32_t f) {
        check(ftf_cluster_fault(get(), f), "ftf_cluster_fault");
    }
    /// The C handle (NULL after a move).
    const ftf_cluster *get() const noexcept { return c_.get(); }

private:
    // Adopting: if the shared_ptr's control block cannot be allocated, the member is freed.
    explicit ClusterMember(const ftf_cluster *c) : c_(c, &ftf_cluster_free) {}
    std::shared_ptr<const ftf_cluster> c_;
};

}  // namespace ftf

#endif  // FTFOREST_CLUSTER_HPP
