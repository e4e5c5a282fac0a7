// ftforest/config.hpp: ftf::config and ftf::config_builder.
//
// Part of the C++17 wrapper; include <ftforest.hpp> (which includes every part), not this
// file alone. Conventions: see ftforest.hpp.
#ifndef FTFOREST_CONFIG_HPP
#define FTFOREST_CONFIG_HPP

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include "base.hpp"

namespace ftf {

/// The default alert thresholds (see ftf_alert_thresholds).
inline ftf_alert_thresholds default_alert_thresholds() {
    ftf_alert_thresholds t{};
    check(ftf_alert_thresholds_default(&t), "ftf_alert_thresholds_default");
    return t;
}

class config {
public:
    /// The defaults.
    config() {
        const ftf_config *c = nullptr;
        check(ftf_config_default(&c), "ftf_config_default");
        h_ = handle(c);
    }
    uint32_t max_concurrent() const noexcept { return ftf_config_max_concurrent(get()); }
    bool fenced() const noexcept { return ftf_config_fenced(get()); }
    bool local_confirmation() const noexcept { return ftf_config_local_confirmation(get()); }
    uint32_t reports_before_failure() const noexcept {
        return ftf_config_reports_before_failure(get());
    }
    ftf_alert_thresholds alert_thresholds() const {
        ftf_alert_thresholds t{};
        check(ftf_config_alert_thresholds(get(), &t), "ftf_config_alert_thresholds");
        return t;
    }
    /// The original's recommended K for n partitions: min(n / 4, 5), at least 1.
    static uint32_t recommended_max_concurrent(uint32_t n) noexcept {
        return ftf_recommended_max_concurrent(n);
    }
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
    /// Confirmation by count (0 = off; otherwise above reports_before_suspicion).
    config_builder &reports_before_failure(uint32_t n) {
        check(ftf_config_builder_set_reports_before_failure(h_.get(), n));
        return *this;
    }
    config_builder &alert_thresholds(const ftf_alert_thresholds &t) {
        check(ftf_config_builder_set_alert_thresholds(h_.get(), &t));
        return *this;
    }
    template <class R, class P>
    config_builder &failure_confirmation(std::chrono::duration<R, P> d) {
        check(ftf_config_builder_set_failure_confirmation_ns(h_.get(), to_ns(d)));
        return *this;
    }
    /// Zero: no recovery timeout.
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
    template <class R, class P>
    config_builder &cancel_timeout(std::chrono::duration<R, P> d) {
        check(ftf_config_builder_set_cancel_timeout_ns(h_.get(), to_ns(d)));
        return *this;
    }
    /// Fenced recovery: attempts ask for a fence (FTF_ACTION_ACQUIRE_FENCE) before they start.
    config_builder &fenced(bool on) {
        check(ftf_config_builder_set_fenced(h_.get(), on));
        return *this;
    }
    template <class R, class P>
    config_builder &fence_retry(std::chrono::duration<R, P> d) {
        check(ftf_config_builder_set_fence_retry_ns(h_.get(), to_ns(d)));
        return *this;
    }
    /// false: local signals only suspect; only FTF_REPORT_CRASHED fails a partition.
    config_builder &local_confirmation(bool on) {
        check(ftf_config_builder_set_local_confirmation(h_.get(), on));
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

}  // namespace ftf

#endif  // FTFOREST_CONFIG_HPP
