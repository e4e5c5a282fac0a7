// ftforest/coordinator.hpp: ftf::coordinator, the sans-io coordinator driven by the embedder.
//
// Part of the C++17 wrapper; include <ftforest.hpp> (which includes every part), not this
// file alone. Conventions: see ftforest.hpp.
#ifndef FTFOREST_COORDINATOR_HPP
#define FTFOREST_COORDINATOR_HPP

#include <cstdint>
#include <optional>
#include <utility>

#include "base.hpp"
#include "config.hpp"
#include "tracker.hpp"

namespace ftf {

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
    /// Acknowledge a cancel (FTF_ACTION_CANCEL_RECOVERY): the abandoned attempt stopped.
    /// Until then the forest stays paused and the partition is not recovered again.
    void cancel_done(uint64_t now_ns, const ftf_phase_job &job) {
        check(ftf_coordinator_cancel_done(get(), now_ns, job.rank, job.attempt),
              "ftf_coordinator_cancel_done");
    }
    /// The attempt of `rank` whose cancel awaits its acknowledgement, if any.
    std::optional<uint32_t> cancelling(uint32_t rank) const {
        uint32_t a = 0;
        uint32_t rc = ftf_coordinator_cancelling(get(), rank, &a);
        if (rc == FTF_NO_RECOVERY) return std::nullopt;
        check(rc, "ftf_coordinator_cancelling");
        return a;
    }
    /// Fenced configurations: the fence asked for by FTF_ACTION_ACQUIRE_FENCE (`job`) was
    /// granted with `token` (non-zero); the attempt starts and every phase job carries it.
    /// Throws ftf::error on refusal; the token is then unused and must be released by the
    /// caller, except for FTF_OUTBOX_FULL (drain poll_event(), answer again) and FTF_BUSY
    /// when fence(job.rank) is this very token (a duplicate grant).
    void fence_granted(uint64_t now_ns, const ftf_phase_job &job, uint64_t token) {
        check(ftf_coordinator_fence_granted(get(), now_ns, job.rank, job.attempt, token),
              "ftf_coordinator_fence_granted");
    }
    /// The fence asked for by `job` was refused: no retry consumed, asked again after the
    /// fence retry time (FTF_REFUSAL_RECOVERED: not by itself; retry() schedules it).
    void fence_refused(uint64_t now_ns, const ftf_phase_job &job, ftf_refusal refusal) {
        check(ftf_coordinator_fence_refused(get(), now_ns, job.rank, job.attempt,
                                            static_cast<uint32_t>(refusal)),
              "ftf_coordinator_fence_refused");
    }
    /// Whether coordination (the fencing service) is available: while not, nothing starts.
    void set_available(uint64_t now_ns, bool available) {
        check(ftf_coordinator_set_available(get(), now_ns, available),
              "ftf_coordinator_set_available");
    }
    bool is_available() const noexcept { return ftf_coordinator_is_available(get()); }
    /// The token held by the attempt of `rank` (granted, not released yet), if any.
    std::optional<uint64_t> fence(uint32_t rank) const {
        uint64_t t = 0;
        uint32_t rc = ftf_coordinator_fence(get(), rank, &t);
        if (rc == FTF_NO_RECOVERY) return std::nullopt;
        check(rc, "ftf_coordinator_fence");
        return t;
    }
    /// The attempt of `rank` waiting for its fence, if any.
    std::optional<uint32_t> fencing(uint32_t rank) const {
        uint32_t a = 0;
        uint32_t rc = ftf_coordinator_fencing(get(), rank, &a);
        if (rc == FTF_NO_RECOVERY) return std::nullopt;
        check(rc, "ftf_coordinator_fencing");
        return a;
    }
    void retry(uint64_t now_ns, uint32_t rank) {
        check(ftf_coordinator_retry(get(), now_ns, rank), "ftf_coordinator_retry");
    }
    /// `rank` joins (ABSENT, or FAILED recovered elsewhere, -> HEALTHY); returns its new
    /// incarnation. Throws FTF_DUPLICATE (already a member), FTF_BUSY (its recovery runs),
    /// FTF_OUTBOX_FULL (drain poll_event() first); nothing changes then.
    uint32_t join(uint64_t now_ns, uint32_t rank) {
        uint32_t inc = 0;
        check(ftf_coordinator_join(get(), now_ns, rank, &inc), "ftf_coordinator_join");
        return inc;
    }
    /// `rank` leaves (-> ABSENT): graceful, not a failure; a FAILED rank is decommissioned.
    /// Throws FTF_UNEXPECTED_STATE (already ABSENT), FTF_BUSY, FTF_OUTBOX_FULL.
    void leave(uint64_t now_ns, uint32_t rank) {
        check(ftf_coordinator_leave(get(), now_ns, rank), "ftf_coordinator_leave");
    }
    /// The current members (ranks not ABSENT); quorum is over them.
    uint32_t members() const noexcept { return ftf_coordinator_members(get()); }
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
    ftf_partition_stats partition_stats(uint32_t rank) const {
        ftf_partition_stats s{};
        check(ftf_coordinator_partition_stats(get(), rank, &s),
              "ftf_coordinator_partition_stats");
        return s;
    }
    uint32_t alerts(uint64_t now_ns) const noexcept {
        return ftf_coordinator_alerts(get(), now_ns);
    }
    ftf_alert_thresholds thresholds() const {
        ftf_alert_thresholds t{};
        check(ftf_coordinator_thresholds(get(), &t), "ftf_coordinator_thresholds");
        return t;
    }
    /// Replace the alert thresholds while running (throws FTF_INVALID_CONFIG, unchanged).
    void set_thresholds(const ftf_alert_thresholds &t) {
        check(ftf_coordinator_set_thresholds(get(), &t), "ftf_coordinator_set_thresholds");
    }
    /// Whether the next input's events fit the outbox (else it throws FTF_OUTBOX_FULL: drain
    /// poll_event() first).
    bool has_outbox_room() const noexcept { return ftf_coordinator_has_outbox_room(get()); }
    ftf_level level() const noexcept {
        return static_cast<ftf_level>(ftf_coordinator_level(get()));
    }
    const ftf_coordinator *get() const noexcept { return h_.get(); }

private:
    using handle = detail::shared<ftf_coordinator, ftf_coordinator_clone, ftf_coordinator_free>;
    handle h_;
};

}  // namespace ftf

#endif  // FTFOREST_COORDINATOR_HPP
