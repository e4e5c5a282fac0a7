//! The coordinator's one validated configuration.
//!
//! Invariants maintained (checked by [`Config::validate`], which [`ConfigBuilder::build`] and
//! the coordinator's constructor both run):
//!
//! * `reports_before_suspicion` in `1..=u16::MAX` (the per-partition counters are `u16`).
//! * `reports_before_failure` is 0 (no confirmation by count) or in
//!   `reports_before_suspicion + 1..=u16::MAX`.
//! * `quiescence_poll > 0`, `cancel_timeout > 0`. (`recovery_timeout = 0` is legal: no
//!   timeout, as in the original.)
//! * `max_retries <= 254` (attempts are numbered `1..=max_retries + 1` in a `u8`).
//! * `backoff_base <= backoff_cap`.
//! * `max_concurrent >= 1` (the coordinator additionally checks it against its slot count).
//! * the heartbeat and alert sub-configurations are valid (see their own `validate`).
//! * `fence_retry > 0` (a refused fence is never asked for again at once: no busy loop
//!   against the fencing service).
//! * without the `fence` feature: `fenced` is off and `local_confirmation` on (the fence
//!   machinery is not compiled; only a fencing driver, e.g. the etcd adapter, needs it).
//!
//! Defaults come from the Java original (digest §1.2, §1.3): 2 reports before suspicion,
//! failure confirmation 5 s, heartbeat 500 ms / 2 s / 5 s, recovery timeout 30 s, 3 retries,
//! backoff 100 ms doubling up to 10 s, K = 3 concurrent recoveries, pause timeout 5 s with
//! [`PauseTimeoutPolicy::AbortAndRetry`], confirmation by time only. The original recommends
//! K = `min(n/4, 5)`, at least 1, for `n` partitions: [`Config::recommended_max_concurrent`].
//! The cancel timeout (not in the original, whose cancel was advisory) defaults to 30 s, one
//! recovery timeout. The fencing knobs are not in the original (issue 8): `fenced` is off,
//! `fence_retry` is 500 ms, `local_confirmation` is on. Unlike the original, every field is
//! read by the
//! coordinator (the Java `suspectTimeoutMs`, `autoRecoveryEnabled` and
//! `maxConcurrentRecoveries` were never read).

use core::time::Duration;

use crate::time::Span;

use super::config_error::{ConfigError, ConfigField, ConfigReason};
use super::heartbeat::HeartbeatConfig;
use super::level::AlertThresholds;

/// What the coordinator does when the operation tracker is still not quiescent when the
/// pause timeout expires.
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum PauseTimeoutPolicy {
    /// Abandon the attempts waiting for the pause (each counts as a failed attempt, retried
    /// with backoff), reopen the gate and resume the balancer and ghost sync. A recovery never
    /// runs while operations are in flight. The default.
    #[default]
    AbortAndRetry = 0,
    /// Run the recoveries anyway, on a forest that still has operations in flight. Opt-in;
    /// counted in the statistics and raised as an alert.
    Proceed = 1,
}

/// The validated configuration of a [`Coordinator`](super::Coordinator).
///
/// Build one with [`Config::builder`] (or take [`Config::default`]); a `Config` value that
/// exists has passed [`Config::validate`]. It is `Copy`: the coordinator keeps its own copy.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Config {
    reports_before_suspicion: u16,
    reports_before_failure: u16,
    // The spans are crate-visible: the coordinator adds them to `Instant`s as they are
    // (`Instant::add_span`), not through the `Duration` getters (flash and cycles, issue 10).
    pub(crate) failure_confirmation: Span,
    heartbeat: HeartbeatConfig,
    pub(crate) recovery_timeout: Span,
    max_retries: u8,
    pub(crate) backoff_base: Span,
    pub(crate) backoff_cap: Span,
    max_concurrent: u32,
    pub(crate) pause_timeout: Span,
    pause_timeout_policy: PauseTimeoutPolicy,
    pub(crate) quiescence_poll: Span,
    alerts: AlertThresholds,
    pub(crate) cancel_timeout: Span,
    fenced: bool,
    pub(crate) fence_retry: Span,
    local_confirmation: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config::DEFAULT
    }
}

impl Config {
    /// The defaults listed in the module docs.
    pub const DEFAULT: Config = Config {
        reports_before_suspicion: 2,
        reports_before_failure: 0,
        failure_confirmation: Span::of(Duration::from_secs(5)),
        heartbeat: HeartbeatConfig::DEFAULT,
        recovery_timeout: Span::of(Duration::from_secs(30)),
        max_retries: 3,
        backoff_base: Span::of(Duration::from_millis(100)),
        backoff_cap: Span::of(Duration::from_secs(10)),
        max_concurrent: 3,
        pause_timeout: Span::of(Duration::from_secs(5)),
        pause_timeout_policy: PauseTimeoutPolicy::AbortAndRetry,
        quiescence_poll: Span::of(Duration::from_millis(10)),
        alerts: AlertThresholds::DEFAULT,
        cancel_timeout: Span::of(Duration::from_secs(30)),
        fenced: false,
        fence_retry: Span::of(Duration::from_millis(500)),
        local_confirmation: true,
    };

    /// A builder starting from the defaults.
    pub const fn builder() -> ConfigBuilder {
        ConfigBuilder {
            cfg: Config::DEFAULT,
            reports_before_suspicion: 2,
            reports_before_failure: 0,
            max_retries: 3,
        }
    }

    /// The original's recommended K for `n` partitions: `min(n / 4, 5)`, at least 1
    /// (`n = 0..=7` → 1, `8` → 2, `20` and more → 5). Not the default (which stays 3, the
    /// original's `FaultConfiguration` default): pass it to
    /// [`ConfigBuilder::max_concurrent`] when the partition count is known.
    pub const fn recommended_max_concurrent(n: u32) -> u32 {
        let k = n / 4;
        if k < 1 {
            1
        } else if k > 5 {
            5
        } else {
            k
        }
    }

    /// A builder starting from this configuration (the original is unchanged).
    pub const fn to_builder(&self) -> ConfigBuilder {
        ConfigBuilder {
            cfg: *self,
            reports_before_suspicion: self.reports_before_suspicion as u32,
            reports_before_failure: self.reports_before_failure as u32,
            max_retries: self.max_retries as u32,
        }
    }

    /// Check every invariant listed in the module docs; the first violation is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.reports_before_suspicion == 0 {
            return Err(ConfigError::new(
                ConfigField::ReportsBeforeSuspicion,
                ConfigReason::AtLeastOne,
            ));
        }
        if self.reports_before_failure != 0
            && self.reports_before_failure <= self.reports_before_suspicion
        {
            return Err(ConfigError::new(
                ConfigField::ReportsBeforeFailure,
                ConfigReason::ZeroOrAboveSuspicion,
            ));
        }
        if self.max_retries > 254 {
            return Err(ConfigError::new(
                ConfigField::MaxRetries,
                ConfigReason::AtMost254,
            ));
        }
        if self.backoff_cap < self.backoff_base {
            return Err(ConfigError::new(
                ConfigField::BackoffCap,
                ConfigReason::AtLeastBackoffBase,
            ));
        }
        if self.max_concurrent == 0 {
            return Err(ConfigError::new(
                ConfigField::MaxConcurrent,
                ConfigReason::AtLeastOne,
            ));
        }
        if self.quiescence_poll.is_zero() {
            return Err(ConfigError::new(
                ConfigField::QuiescencePoll,
                ConfigReason::Positive,
            ));
        }
        if self.cancel_timeout.is_zero() {
            return Err(ConfigError::new(
                ConfigField::CancelTimeout,
                ConfigReason::Positive,
            ));
        }
        if self.fence_retry.is_zero() {
            return Err(ConfigError::new(
                ConfigField::FenceRetry,
                ConfigReason::Positive,
            ));
        }
        #[cfg(not(feature = "fence"))]
        if self.fenced {
            return Err(ConfigError::new(
                ConfigField::Fenced,
                ConfigReason::NeedsFence,
            ));
        }
        #[cfg(not(feature = "fence"))]
        if !self.local_confirmation {
            return Err(ConfigError::new(
                ConfigField::LocalConfirmation,
                ConfigReason::NeedsFence,
            ));
        }
        self.heartbeat.validate()?;
        self.alerts.validate()?;
        Ok(())
    }

    /// Failure reports (barrier timeouts, ghost-sync failures, missed heartbeats, in any mix)
    /// that move a HEALTHY partition to SUSPECTED: the total of the per-signal streaks, where
    /// a success report ends the streak of its own signal only (`detect.rs`, "Signals").
    pub const fn reports_before_suspicion(&self) -> u16 {
        self.reports_before_suspicion
    }
    /// Confirmation by count: a SUSPECTED partition whose failure total (as for
    /// [`Config::reports_before_suspicion`]) reaches this is confirmed FAILED by that report,
    /// beside the confirmation by time. 0 (the default) = by time only. The original's
    /// `SimpleFaultHandler` is `reports_before_suspicion = 1`, `reports_before_failure = 2`.
    pub const fn reports_before_failure(&self) -> u16 {
        self.reports_before_failure
    }
    /// How long a partition stays SUSPECTED before `tick` confirms it FAILED (inclusive);
    /// the rule by time, always on (`Duration::MAX` in effect disables it).
    pub const fn failure_confirmation(&self) -> Duration {
        self.failure_confirmation.get()
    }
    /// The heartbeat detector's settings.
    pub const fn heartbeat(&self) -> &HeartbeatConfig {
        &self.heartbeat
    }
    /// How long the phases of one attempt may take before it is abandoned and cancelled;
    /// zero means no timeout (the original accepted 0: an attempt then runs until its phases
    /// report).
    pub const fn recovery_timeout(&self) -> Duration {
        self.recovery_timeout.get()
    }
    /// Retries after the first attempt; attempt `max_retries + 1` failing escalates.
    pub const fn max_retries(&self) -> u8 {
        self.max_retries
    }
    /// The backoff before retry `n` is `min(backoff_base · 2^(n−1), backoff_cap)`.
    pub const fn backoff_base(&self) -> Duration {
        self.backoff_base.get()
    }
    /// Upper bound of the retry backoff.
    pub const fn backoff_cap(&self) -> Duration {
        self.backoff_cap.get()
    }
    /// K: recoveries of different partitions that may run at once.
    pub const fn max_concurrent(&self) -> u32 {
        self.max_concurrent
    }
    /// How long entering recovery mode waits for in-flight operations to drain.
    pub const fn pause_timeout(&self) -> Duration {
        self.pause_timeout.get()
    }
    /// What happens when the pause timeout expires with operations still in flight.
    pub const fn pause_timeout_policy(&self) -> PauseTimeoutPolicy {
        self.pause_timeout_policy
    }
    /// While waiting for quiescence, [`poll_timeout`](super::Coordinator::poll_timeout) asks
    /// to be ticked at least this often (the core cannot be woken by the tracker).
    pub const fn quiescence_poll(&self) -> Duration {
        self.quiescence_poll.get()
    }
    /// Thresholds of the health alerts.
    pub const fn alerts(&self) -> &AlertThresholds {
        &self.alerts
    }

    /// Replace the alert thresholds (validated), leaving every other field as it is. Used by
    /// [`Coordinator::set_alert_thresholds`](super::Coordinator::set_alert_thresholds).
    pub(crate) fn set_alerts(&mut self, a: AlertThresholds) -> Result<(), ConfigError> {
        a.validate()?;
        self.alerts = a;
        Ok(())
    }
    /// How long an attempt abandoned at its recovery timeout may wait for the embedder's
    /// acknowledgement (`cancel_done`, or the abandoned phase's late `phase_done`) before it
    /// is escalated: one [`Escalated`](super::Event::Escalated) event
    /// ([`CancelUnacknowledged`](super::EscalationReason::CancelUnacknowledged)), the
    /// [`CANCEL_OVERDUE`](super::Alerts::CANCEL_OVERDUE) alert and
    /// [`Stats::cancels_escalated`](super::Stats::cancels_escalated). Escalation never
    /// reopens the forest: the attempt keeps its permit and recovery mode until acknowledged.
    /// Default 30 s.
    pub const fn cancel_timeout(&self) -> Duration {
        self.cancel_timeout.get()
    }
    /// Whether every attempt first asks the embedder for a fence (the cluster-wide recovery
    /// lock and its fencing token) once it holds its local lock permit:
    /// [`Action::AcquireFence`](super::Action::AcquireFence), answered with
    /// [`Coordinator::fence_granted`](super::Coordinator::fence_granted) or
    /// [`Coordinator::fence_refused`](super::Coordinator::fence_refused); see `fence.rs`.
    /// Default `false` (attempts start at once, as before). Only a driver that talks to a
    /// fencing service can answer fences: the std `Monitor` (and the C forest) refuse a
    /// fenced configuration. Always `false` without the `fence` feature (validation refuses
    /// `fenced(true)` there).
    pub const fn fenced(&self) -> bool {
        cfg!(feature = "fence") && self.fenced
    }
    /// How long a partition whose fence was refused waits before its attempt asks again
    /// (it is decided and queued again when the wait ends; the refusal does not consume a
    /// retry). Also the wait after an attempt was abandoned while waiting for its fence.
    /// Positive; default 500 ms.
    pub const fn fence_retry(&self) -> Duration {
        self.fence_retry.get()
    }
    /// Whether local signals confirm a failure: `true` (the default) lets the confirmation
    /// time, the report count and the heartbeat detector's `Dead` verdict move a SUSPECTED
    /// partition to FAILED. `false` (a cluster, where an external authority such as etcd's
    /// member-key deletion confirms failures): local signals only raise SUSPECTED, and
    /// only [`Report::crashed`](super::Report::crashed) fails a partition. Always `true`
    /// without the `fence` feature (validation refuses `local_confirmation(false)` there).
    pub const fn local_confirmation(&self) -> bool {
        !cfg!(feature = "fence") || self.local_confirmation
    }
}

/// Builder of a [`Config`]; every setter takes plain values (C-friendly) and [`build`]
/// validates.
///
/// [`build`]: ConfigBuilder::build
#[derive(Copy, Clone, Debug)]
pub struct ConfigBuilder {
    cfg: Config,
    // Kept wide so that out-of-range values are refused by `build` rather than truncated.
    reports_before_suspicion: u32,
    reports_before_failure: u32,
    max_retries: u32,
}

impl ConfigBuilder {
    /// See [`Config::reports_before_suspicion`]; `1..=65535`.
    pub const fn reports_before_suspicion(mut self, n: u32) -> Self {
        self.reports_before_suspicion = n;
        self
    }
    /// See [`Config::reports_before_failure`]; 0 (off) or above `reports_before_suspicion`,
    /// at most 65535.
    pub const fn reports_before_failure(mut self, n: u32) -> Self {
        self.reports_before_failure = n;
        self
    }
    /// See [`Config::failure_confirmation`]; zero confirms on the next tick.
    pub const fn failure_confirmation(mut self, d: Duration) -> Self {
        self.cfg.failure_confirmation = Span::of(d);
        self
    }
    /// See [`Config::heartbeat`].
    pub const fn heartbeat(mut self, h: HeartbeatConfig) -> Self {
        self.cfg.heartbeat = h;
        self
    }
    /// See [`Config::recovery_timeout`]; zero = no timeout.
    pub const fn recovery_timeout(mut self, d: Duration) -> Self {
        self.cfg.recovery_timeout = Span::of(d);
        self
    }
    /// See [`Config::max_retries`]; `0..=254`.
    pub const fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }
    /// See [`Config::backoff_base`].
    pub const fn backoff_base(mut self, d: Duration) -> Self {
        self.cfg.backoff_base = Span::of(d);
        self
    }
    /// See [`Config::backoff_cap`]; must be at least the base.
    pub const fn backoff_cap(mut self, d: Duration) -> Self {
        self.cfg.backoff_cap = Span::of(d);
        self
    }
    /// See [`Config::max_concurrent`]; at least 1.
    pub const fn max_concurrent(mut self, k: u32) -> Self {
        self.cfg.max_concurrent = k;
        self
    }
    /// See [`Config::pause_timeout`].
    pub const fn pause_timeout(mut self, d: Duration) -> Self {
        self.cfg.pause_timeout = Span::of(d);
        self
    }
    /// See [`Config::pause_timeout_policy`].
    pub const fn pause_timeout_policy(mut self, p: PauseTimeoutPolicy) -> Self {
        self.cfg.pause_timeout_policy = p;
        self
    }
    /// See [`Config::quiescence_poll`]; must be positive.
    pub const fn quiescence_poll(mut self, d: Duration) -> Self {
        self.cfg.quiescence_poll = Span::of(d);
        self
    }
    /// See [`Config::alerts`].
    pub const fn alerts(mut self, a: AlertThresholds) -> Self {
        self.cfg.alerts = a;
        self
    }
    /// See [`Config::cancel_timeout`]; must be positive.
    pub const fn cancel_timeout(mut self, d: Duration) -> Self {
        self.cfg.cancel_timeout = Span::of(d);
        self
    }
    /// See [`Config::fenced`].
    pub const fn fenced(mut self, on: bool) -> Self {
        self.cfg.fenced = on;
        self
    }
    /// See [`Config::fence_retry`]; must be positive.
    pub const fn fence_retry(mut self, d: Duration) -> Self {
        self.cfg.fence_retry = Span::of(d);
        self
    }
    /// See [`Config::local_confirmation`].
    pub const fn local_confirmation(mut self, on: bool) -> Self {
        self.cfg.local_confirmation = on;
        self
    }

    /// Validate and return the configuration, or the first invalid field.
    pub fn build(self) -> Result<Config, ConfigError> {
        let mut cfg = self.cfg;
        cfg.reports_before_suspicion = match u16::try_from(self.reports_before_suspicion) {
            Ok(n) => n,
            Err(_) => {
                return Err(ConfigError::new(
                    ConfigField::ReportsBeforeSuspicion,
                    ConfigReason::AtMost65535,
                ))
            }
        };
        cfg.reports_before_failure = match u16::try_from(self.reports_before_failure) {
            Ok(n) => n,
            Err(_) => {
                return Err(ConfigError::new(
                    ConfigField::ReportsBeforeFailure,
                    ConfigReason::AtMost65535,
                ))
            }
        };
        cfg.max_retries = match u8::try_from(self.max_retries) {
            Ok(n) => n,
            Err(_) => {
                return Err(ConfigError::new(
                    ConfigField::MaxRetries,
                    ConfigReason::AtMost254,
                ))
            }
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_digest_values() {
        let c = Config::default();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.reports_before_suspicion(), 2);
        assert_eq!(c.failure_confirmation(), Duration::from_secs(5));
        assert_eq!(c.heartbeat().interval(), Duration::from_millis(500));
        assert_eq!(c.heartbeat().suspect_timeout(), Duration::from_secs(2));
        assert_eq!(c.heartbeat().failure_timeout(), Duration::from_secs(5));
        assert_eq!(c.recovery_timeout(), Duration::from_secs(30));
        assert_eq!(c.max_retries(), 3);
        assert_eq!(c.backoff_base(), Duration::from_millis(100));
        assert_eq!(c.max_concurrent(), 3);
        assert_eq!(c.pause_timeout(), Duration::from_secs(5));
        assert_eq!(c.pause_timeout_policy(), PauseTimeoutPolicy::AbortAndRetry);
        assert_eq!(c.cancel_timeout(), Duration::from_secs(30));
        assert!(!c.fenced());
        assert_eq!(c.fence_retry(), Duration::from_millis(500));
        assert!(c.local_confirmation());
        assert_eq!(Config::builder().build(), Ok(c));
    }

    #[test]
    fn each_invalid_field_is_named() {
        let cases: &[(ConfigBuilder, &str)] = &[
            (
                Config::builder().reports_before_suspicion(0),
                "reports_before_suspicion",
            ),
            (
                Config::builder().reports_before_suspicion(70_000),
                "reports_before_suspicion",
            ),
            (
                Config::builder().reports_before_failure(2),
                "reports_before_failure",
            ),
            (
                Config::builder().reports_before_failure(70_000),
                "reports_before_failure",
            ),
            (
                Config::builder()
                    .reports_before_suspicion(3)
                    .reports_before_failure(1),
                "reports_before_failure",
            ),
            (Config::builder().max_retries(255), "max_retries"),
            (Config::builder().max_retries(1000), "max_retries"),
            (
                Config::builder()
                    .backoff_base(Duration::from_secs(2))
                    .backoff_cap(Duration::from_secs(1)),
                "backoff_cap",
            ),
            (Config::builder().max_concurrent(0), "max_concurrent"),
            (
                Config::builder().quiescence_poll(Duration::ZERO),
                "quiescence_poll",
            ),
            (
                Config::builder().cancel_timeout(Duration::ZERO),
                "cancel_timeout",
            ),
            (Config::builder().fence_retry(Duration::ZERO), "fence_retry"),
        ];
        for &(b, field) in cases {
            let e = b.build().unwrap_err();
            assert_eq!(e.field, field);
            assert!(std::format!("{e}").contains(field));
        }
    }

    /// Without the `fence` feature a configuration asking for the fence machinery is
    /// refused, the field named (`cargo test -p ftforest-core --no-default-features
    /// --features std --lib`).
    #[cfg(not(feature = "fence"))]
    #[test]
    fn fencing_needs_its_feature() {
        let e = Config::builder().fenced(true).build().unwrap_err();
        assert_eq!(e.field, "fenced");
        let e = Config::builder()
            .local_confirmation(false)
            .build()
            .unwrap_err();
        assert_eq!(e.field, "local_confirmation");
        let c = Config::builder().fenced(false).build().unwrap();
        assert!(!c.fenced() && c.local_confirmation());
    }

    #[test]
    fn builder_changes_only_its_field_and_zero_timeouts_are_legal() {
        let base = Config::default();
        let c = base
            .to_builder()
            .failure_confirmation(Duration::ZERO)
            .pause_timeout(Duration::ZERO)
            .recovery_timeout(Duration::ZERO)
            .backoff_base(Duration::ZERO)
            .max_retries(0)
            .build()
            .unwrap();
        assert_eq!(c.failure_confirmation(), Duration::ZERO);
        assert_eq!(c.pause_timeout(), Duration::ZERO);
        assert_eq!(c.max_retries(), 0);
        assert_eq!(c.recovery_timeout(), Duration::ZERO);
        assert_eq!(c.backoff_cap(), base.backoff_cap());
        assert_eq!(base, Config::default());
        let d = Config::builder()
            .pause_timeout_policy(PauseTimeoutPolicy::Proceed)
            .build()
            .unwrap();
        assert_eq!(d.pause_timeout_policy(), PauseTimeoutPolicy::Proceed);
    }

    #[test]
    fn recommended_k_is_min_quarter_five_at_least_one() {
        let k = Config::recommended_max_concurrent;
        assert_eq!(
            [k(0), k(1), k(7), k(8), k(12), k(19), k(20), k(u32::MAX)],
            [1, 1, 1, 2, 3, 4, 5, 5]
        );
    }
}
