//! A refused configuration value ([`ConfigError`]): which field ([`ConfigField`]) and why
//! ([`ConfigReason`]).
//!
//! Invariant (flash, issue 10): the error is two one-byte enums, not two `&'static str`s.
//! The names and reasons are text only inside [`ConfigField::name`] and
//! [`ConfigReason::text`] (and the `Display` impls built on them), so a firmware that never
//! prints a configuration error links none of that text (about 0.7 KiB on Cortex-M), and
//! validation stores two bytes instead of four words per refusal.

use core::fmt;

/// A configuration field, as a [`ConfigError`] names it. [`ConfigField::name`] (and
/// `Display`) spells it as in [`ConfigBuilder`](super::ConfigBuilder), with the sub-config's
/// prefix (`"backoff_cap"`, `"heartbeat.suspect_timeout"`); it also compares equal to that
/// spelling (`e.field == "backoff_cap"`). `#[non_exhaustive]`: fields may be added.
#[non_exhaustive]
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ConfigField {
    /// `reports_before_suspicion`.
    ReportsBeforeSuspicion,
    /// `reports_before_failure`.
    ReportsBeforeFailure,
    /// `max_retries`.
    MaxRetries,
    /// `backoff_cap`.
    BackoffCap,
    /// `max_concurrent`.
    MaxConcurrent,
    /// `quiescence_poll`.
    QuiescencePoll,
    /// `cancel_timeout`.
    CancelTimeout,
    /// `fence_retry`.
    FenceRetry,
    /// `fenced`.
    Fenced,
    /// `local_confirmation`.
    LocalConfirmation,
    /// `heartbeat.mode`.
    HeartbeatMode,
    /// `heartbeat.interval`.
    HeartbeatInterval,
    /// `heartbeat.suspect_timeout`.
    HeartbeatSuspectTimeout,
    /// `heartbeat.failure_timeout`.
    HeartbeatFailureTimeout,
    /// `heartbeat.phi_suspect_milli`.
    HeartbeatPhiSuspectMilli,
    /// `heartbeat.phi_failure_milli`.
    HeartbeatPhiFailureMilli,
    /// `heartbeat.max_local_pause`.
    HeartbeatMaxLocalPause,
    /// `alerts.min_healthy_percent`.
    AlertsMinHealthyPercent,
    /// `alerts.min_success_permille`.
    AlertsMinSuccessPermille,
}

impl ConfigField {
    /// The field's name as spelled in the builders (see the type's docs).
    pub const fn name(self) -> &'static str {
        match self {
            ConfigField::ReportsBeforeSuspicion => "reports_before_suspicion",
            ConfigField::ReportsBeforeFailure => "reports_before_failure",
            ConfigField::MaxRetries => "max_retries",
            ConfigField::BackoffCap => "backoff_cap",
            ConfigField::MaxConcurrent => "max_concurrent",
            ConfigField::QuiescencePoll => "quiescence_poll",
            ConfigField::CancelTimeout => "cancel_timeout",
            ConfigField::FenceRetry => "fence_retry",
            ConfigField::Fenced => "fenced",
            ConfigField::LocalConfirmation => "local_confirmation",
            ConfigField::HeartbeatMode => "heartbeat.mode",
            ConfigField::HeartbeatInterval => "heartbeat.interval",
            ConfigField::HeartbeatSuspectTimeout => "heartbeat.suspect_timeout",
            ConfigField::HeartbeatFailureTimeout => "heartbeat.failure_timeout",
            ConfigField::HeartbeatPhiSuspectMilli => "heartbeat.phi_suspect_milli",
            ConfigField::HeartbeatPhiFailureMilli => "heartbeat.phi_failure_milli",
            ConfigField::HeartbeatMaxLocalPause => "heartbeat.max_local_pause",
            ConfigField::AlertsMinHealthyPercent => "alerts.min_healthy_percent",
            ConfigField::AlertsMinSuccessPermille => "alerts.min_success_permille",
        }
    }
}

impl fmt::Display for ConfigField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `field == "backoff_cap"`: compares with the field's [`name`](ConfigField::name).
impl PartialEq<&str> for ConfigField {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

/// Why a [`ConfigError`]'s field was refused. [`ConfigReason::text`] (and `Display`) is a
/// short human-readable reason (`"must be positive"`). `#[non_exhaustive]`: reasons may be
/// added.
#[non_exhaustive]
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ConfigReason {
    /// Must be at least 1.
    AtLeastOne,
    /// Must be positive (a zero duration).
    Positive,
    /// Must be at most 100 (a percentage).
    AtMost100,
    /// Must be at most 254 (`max_retries`: attempts are numbered in a `u8`).
    AtMost254,
    /// Must be at most 1000 (a permille).
    AtMost1000,
    /// Must be at most 65535 (the per-partition counters are `u16`).
    AtMost65535,
    /// `reports_before_failure`: must be 0 (off) or exceed `reports_before_suspicion`.
    ZeroOrAboveSuspicion,
    /// `backoff_cap`: must be at least `backoff_base`.
    AtLeastBackoffBase,
    /// Must exceed `heartbeat.interval`.
    AboveInterval,
    /// Must exceed `heartbeat.suspect_timeout`.
    AboveSuspectTimeout,
    /// Must exceed `heartbeat.phi_suspect_milli`.
    AbovePhiSuspect,
    /// `max_concurrent` exceeds the coordinator's recovery slots (its `R`).
    AboveRecoverySlots,
    /// Phi-accrual heartbeats need ftforest-core's `phi-accrual` feature.
    NeedsPhiAccrual,
    /// Fenced recovery (and `local_confirmation(false)`) need ftforest-core's `fence`
    /// feature.
    NeedsFence,
    /// This driver cannot answer fences (the std `Monitor`, the C forest): drive a
    /// `Coordinator` with a fencing adapter.
    NoFencingDriver,
}

impl ConfigReason {
    /// The reason as a short sentence fragment (see the type's docs).
    pub const fn text(self) -> &'static str {
        match self {
            ConfigReason::AtLeastOne => "must be at least 1",
            ConfigReason::Positive => "must be positive",
            ConfigReason::AtMost100 => "must be at most 100",
            ConfigReason::AtMost254 => "must be at most 254",
            ConfigReason::AtMost1000 => "must be at most 1000",
            ConfigReason::AtMost65535 => "must be at most 65535",
            ConfigReason::ZeroOrAboveSuspicion => {
                "must be 0 (off) or exceed reports_before_suspicion"
            }
            ConfigReason::AtLeastBackoffBase => "must be at least backoff_base",
            ConfigReason::AboveInterval => "must exceed heartbeat.interval",
            ConfigReason::AboveSuspectTimeout => "must exceed heartbeat.suspect_timeout",
            ConfigReason::AbovePhiSuspect => "must exceed heartbeat.phi_suspect_milli",
            ConfigReason::AboveRecoverySlots => "exceeds the coordinator's recovery slots (R)",
            ConfigReason::NeedsPhiAccrual => "phi accrual needs the `phi-accrual` feature",
            ConfigReason::NeedsFence => "needs the `fence` feature",
            ConfigReason::NoFencingDriver => {
                "this driver cannot answer fences: drive a Coordinator with a fencing adapter"
            }
        }
    }
}

impl fmt::Display for ConfigReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// A refused configuration value: which field, and why. `Display` names both, e.g.
/// ``invalid configuration field `backoff_cap`: must be at least backoff_base``.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The field (its [`name`](ConfigField::name) is spelled as in the builders, e.g.
    /// `"backoff_cap"`, `"heartbeat.suspect_timeout"`).
    pub field: ConfigField,
    /// Why ([`text`](ConfigReason::text): a short human-readable reason).
    pub reason: ConfigReason,
}

impl ConfigError {
    pub(crate) const fn new(field: ConfigField, reason: ConfigReason) -> Self {
        ConfigError { field, reason }
    }

    /// The refusal of a fenced configuration ([`Config::fenced`](super::Config::fenced)) by
    /// a driver that cannot answer fences (the std `Monitor`, the C forest): field
    /// `fenced`.
    pub const FENCED_UNSUPPORTED: ConfigError =
        ConfigError::new(ConfigField::Fenced, ConfigReason::NoFencingDriver);
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid configuration field `{}`: {}",
            self.field, self.reason
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_and_display() {
        let e = ConfigError::new(ConfigField::BackoffCap, ConfigReason::AtLeastBackoffBase);
        assert_eq!(e.field, "backoff_cap");
        assert!(e.field != "backoff_base");
        assert_eq!(
            std::format!("{e}"),
            "invalid configuration field `backoff_cap`: must be at least backoff_base"
        );
        assert_eq!(ConfigField::HeartbeatMode.name(), "heartbeat.mode");
    }
}
