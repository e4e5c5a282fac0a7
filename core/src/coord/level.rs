//! Health level and alerts (digest §1.4 "Health level", §1.18 thresholds).
//!
//! The level is evaluated in precedence order, as in the Java `ForestHealthSnapshot`:
//! no quorum → [`HealthLevel::QuorumLost`]; else any FAILED or RECOVERING partition →
//! [`HealthLevel::Critical`]; else any SUSPECTED → [`HealthLevel::Degraded`]; else
//! [`HealthLevel::Healthy`]. Quorum is the one formula of the crate (`healthy > total / 2`,
//! integer division, [`crate::has_quorum`]); there is no "empty topology" case because a table
//! always has at least one partition (B24).
//!
//! Alerts are independent bits ([`Alerts`]) with the seed's thresholds as defaults: healthy
//! ratio below 50 %, more than 0 failed partitions, average recovery latency above 30 s,
//! more than 5 failures accumulated, and operations still in flight 5 s into a pause. Both are
//! computed from live counts on every call, never from a stale snapshot (B24).

use core::fmt;
use core::time::Duration;

use super::config::ConfigError;

/// Overall health, worst first in precedence.
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HealthLevel {
    /// Every partition HEALTHY.
    Healthy = 0,
    /// Some partition SUSPECTED, none failed.
    Degraded = 1,
    /// Some partition FAILED or RECOVERING, quorum holds.
    Critical = 2,
    /// HEALTHY partitions are not a strict majority.
    QuorumLost = 3,
}

/// The level from per-state counts (see the module docs for the precedence).
pub const fn health_level(
    healthy: u32,
    suspected: u32,
    failed_or_recovering: u32,
    total: u32,
) -> HealthLevel {
    if !crate::table::has_quorum(healthy, total) {
        HealthLevel::QuorumLost
    } else if failed_or_recovering > 0 {
        HealthLevel::Critical
    } else if suspected > 0 {
        HealthLevel::Degraded
    } else {
        HealthLevel::Healthy
    }
}

/// A set of raised alerts (bit flags; C-friendly `u32`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Alerts(pub u32);

impl Alerts {
    /// No alert.
    pub const NONE: Alerts = Alerts(0);
    /// Healthy partitions below `min_healthy_percent` of all.
    pub const LOW_HEALTHY_RATIO: Alerts = Alerts(1 << 0);
    /// More FAILED/RECOVERING partitions than `max_failed`.
    pub const FAILED_PARTITIONS: Alerts = Alerts(1 << 1);
    /// Average recovery latency above `max_avg_recovery`.
    pub const SLOW_RECOVERY: Alerts = Alerts(1 << 2);
    /// More failures detected in total than `max_failures`.
    pub const MANY_FAILURES: Alerts = Alerts(1 << 3);
    /// Operations still in flight `max_pause_stall` after a pause began.
    pub const PAUSE_STALLED: Alerts = Alerts(1 << 4);
    /// An attempt abandoned at its recovery timeout has not been acknowledged within
    /// `Config::cancel_timeout` (the forest stays paused until it is). Raised by the
    /// coordinator, not by [`alerts`]; clears on the acknowledgement.
    pub const CANCEL_OVERDUE: Alerts = Alerts(1 << 15);

    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: Alerts) -> bool {
        self.0 & other.0 == other.0
    }
    /// Whether no alert is raised.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The union.
    pub const fn union(self, other: Alerts) -> Alerts {
        Alerts(self.0 | other.0)
    }
    /// The number of raised alerts.
    pub const fn count(self) -> u32 {
        self.0.count_ones()
    }
}

impl fmt::Display for HealthLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HealthLevel::Healthy => "HEALTHY",
            HealthLevel::Degraded => "DEGRADED",
            HealthLevel::Critical => "CRITICAL",
            HealthLevel::QuorumLost => "QUORUM_LOST",
        })
    }
}

/// Alert thresholds (defaults: the seed's table).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AlertThresholds {
    /// Alert when `healthy * 100 < total * min_healthy_percent` (default 50).
    pub min_healthy_percent: u32,
    /// Alert when FAILED + RECOVERING partitions exceed this (default 0).
    pub max_failed: u32,
    /// Alert when the average recovery latency exceeds this (default 30 s).
    pub max_avg_recovery: Duration,
    /// Alert when failures detected since creation exceed this (default 5).
    pub max_failures: u64,
    /// Alert when operations are still in flight this long into a pause (default 5 s).
    pub max_pause_stall: Duration,
}

impl Default for AlertThresholds {
    fn default() -> Self {
        AlertThresholds::DEFAULT
    }
}

impl AlertThresholds {
    /// The seed's thresholds.
    pub const DEFAULT: AlertThresholds = AlertThresholds {
        min_healthy_percent: 50,
        max_failed: 0,
        max_avg_recovery: Duration::from_secs(30),
        max_failures: 5,
        max_pause_stall: Duration::from_secs(5),
    };

    /// `min_healthy_percent <= 100`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.min_healthy_percent > 100 {
            return Err(ConfigError::new(
                "alerts.min_healthy_percent",
                "must be at most 100",
            ));
        }
        Ok(())
    }
}

/// The live figures alerts are computed from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct AlertInput {
    /// HEALTHY partitions.
    pub healthy: u32,
    /// All partitions.
    pub total: u32,
    /// FAILED + RECOVERING partitions.
    pub failed: u32,
    /// Average recovery latency, if any recovery finished.
    pub avg_recovery: Option<Duration>,
    /// Failures detected since creation.
    pub failures: u64,
    /// How long a pause has been waiting with operations still in flight (None if not).
    pub pause_stall: Option<Duration>,
}

/// The alerts raised by `input` under `t`.
pub fn alerts(input: &AlertInput, t: &AlertThresholds) -> Alerts {
    let mut a = Alerts::NONE;
    let healthy = u64::from(input.healthy) * 100;
    let floor = u64::from(input.total) * u64::from(t.min_healthy_percent);
    if healthy < floor {
        a = a.union(Alerts::LOW_HEALTHY_RATIO);
    }
    if input.failed > t.max_failed {
        a = a.union(Alerts::FAILED_PARTITIONS);
    }
    if matches!(input.avg_recovery, Some(d) if d > t.max_avg_recovery) {
        a = a.union(Alerts::SLOW_RECOVERY);
    }
    if input.failures > t.max_failures {
        a = a.union(Alerts::MANY_FAILURES);
    }
    if matches!(input.pause_stall, Some(d) if d >= t.max_pause_stall) {
        a = a.union(Alerts::PAUSE_STALLED);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_precedence_matches_forest_monitor() {
        // ForestMonitorTest: 3 partitions.
        assert_eq!(health_level(3, 0, 0, 3), HealthLevel::Healthy);
        assert_eq!(health_level(2, 1, 0, 3), HealthLevel::Degraded);
        assert_eq!(health_level(2, 0, 1, 3), HealthLevel::Critical);
        assert_eq!(health_level(1, 0, 2, 3), HealthLevel::QuorumLost);
        assert_eq!(health_level(2, 1, 1, 4), HealthLevel::QuorumLost);
        assert_eq!(health_level(1, 0, 0, 1), HealthLevel::Healthy);
        assert_eq!(std::format!("{}", HealthLevel::QuorumLost), "QUORUM_LOST");
    }

    #[test]
    fn default_thresholds_raise_exactly_the_seed_alerts() {
        let t = AlertThresholds::DEFAULT;
        let calm = AlertInput {
            healthy: 3,
            total: 3,
            ..AlertInput::default()
        };
        assert_eq!(alerts(&calm, &t), Alerts::NONE);
        // One failed of three: exactly one alert (ForestMonitorTest).
        let one = AlertInput {
            healthy: 2,
            total: 3,
            failed: 1,
            failures: 1,
            ..calm
        };
        assert_eq!(alerts(&one, &t), Alerts::FAILED_PARTITIONS);
        let bad = AlertInput {
            healthy: 1,
            total: 3,
            failed: 2,
            avg_recovery: Some(Duration::from_secs(31)),
            failures: 6,
            pause_stall: Some(Duration::from_secs(5)),
        };
        let a = alerts(&bad, &t);
        assert_eq!(a.count(), 5);
        assert!(a.contains(Alerts::LOW_HEALTHY_RATIO.union(Alerts::PAUSE_STALLED)));
        // Boundaries: exactly 50 % healthy, exactly 30 s, exactly 5 failures: no alert.
        let edge = AlertInput {
            healthy: 2,
            total: 4,
            failed: 0,
            avg_recovery: Some(Duration::from_secs(30)),
            failures: 5,
            pause_stall: Some(Duration::from_millis(4999)),
        };
        assert!(alerts(&edge, &t).is_empty());
    }

    #[test]
    fn relaxed_thresholds_raise_none_for_one_failure() {
        let t = AlertThresholds {
            max_failed: 1,
            ..AlertThresholds::DEFAULT
        };
        let one = AlertInput {
            healthy: 2,
            total: 3,
            failed: 1,
            failures: 1,
            ..AlertInput::default()
        };
        assert!(alerts(&one, &t).is_empty());
        assert_eq!(
            AlertThresholds {
                min_healthy_percent: 101,
                ..t
            }
            .validate()
            .unwrap_err()
            .field,
            "alerts.min_healthy_percent"
        );
    }
}
