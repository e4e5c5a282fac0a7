//! Health level and alerts (digest §1.4 "Health level", §1.18 thresholds).
//!
//! The level is evaluated in precedence order, as in the Java `ForestHealthSnapshot`:
//! no quorum → [`HealthLevel::QuorumLost`]; else any FAILED or RECOVERING partition →
//! [`HealthLevel::Critical`]; else any SUSPECTED → [`HealthLevel::Degraded`]; else
//! [`HealthLevel::Healthy`]. Quorum is the one formula of the crate (`healthy > total / 2`,
//! integer division, [`crate::has_quorum`]); there is no "empty topology" case because a table
//! always has at least one partition (B24).
//!
//! Alerts are independent bits ([`Alerts`]), each computed from live figures on every call,
//! never from a stale snapshot (B24), so **each alert clears as soon as its condition does**.
//! Thresholds ([`AlertThresholds`], changeable on a running coordinator) and defaults:
//!
//! | bit | raised while | default | source |
//! |---|---|---|---|
//! | `LOW_HEALTHY_RATIO` | `healthy * 100 < total * min_healthy_percent` | 50 % | seed |
//! | `FAILED_PARTITIONS` | FAILED + RECOVERING `> max_failed` | 0 | `ForestMonitor` |
//! | `SLOW_RECOVERY` | average recovery latency `> max_avg_recovery` | 30 s | seed |
//! | `MANY_FAILURES` | attempted − succeeded recoveries of the failures still open `> max_unrecovered` | 5 | original |
//! | `PAUSE_STALLED` | operations in flight `max_pause_stall` into a pause | 5 s | seed |
//! | `LOW_SUCCESS_RATE` | succeeded / finished attempts `< min_success_permille / 1000` | 800 (0.8) | original |
//! | `QUEUE_BACKLOG` | recovery queue depth `> max_queue_depth` | 5 | original |
//! | `MANY_SUSPECTED` | SUSPECTED partitions `> max_suspected` | 2 | `ForestMonitor` |
//! | `SLOW_DETECTION` | average detection latency `> max_avg_detection` | 10 s | `ForestMonitor` |
//!
//! `MANY_FAILURES` is the original's "attempted − succeeded > 5" counted over the failures
//! that are still open (partitions not yet recovered): the attempts of a failure leave the
//! count when its partition recovers, so the alert clears (over the whole lifetime the
//! difference could only grow, and the alert would never clear); the attempts of a failure
//! that gave up (retries exhausted) leave it when the operator retries it (`retry` numbers
//! the new attempts from 1). Attempts still running
//! count, as in the original. The success rate is taken over *finished* attempts (a first
//! attempt that is still running does not read as a 0 % success rate) and is not evaluated
//! before any attempt finished; 0 disables it. `SLOW_DETECTION`'s default is twice the default
//! confirmation time, because detection latency here is measured from the first failure
//! report to FAILED and so includes `failure_confirmation` (the original's 500 ms default
//! compared a latency it never recorded, B18).

use core::fmt;
use core::time::Duration;

use super::config_error::{ConfigError, ConfigField, ConfigReason};

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
    /// More recovery attempts not (yet) succeeded, over the failures still open, than
    /// `max_unrecovered` (module docs).
    pub const MANY_FAILURES: Alerts = Alerts(1 << 3);
    /// Operations still in flight `max_pause_stall` after a pause began.
    pub const PAUSE_STALLED: Alerts = Alerts(1 << 4);
    /// Succeeded / finished recovery attempts below `min_success_permille` thousandths.
    pub const LOW_SUCCESS_RATE: Alerts = Alerts(1 << 5);
    /// More partitions in the recovery queue than `max_queue_depth`.
    pub const QUEUE_BACKLOG: Alerts = Alerts(1 << 6);
    /// More SUSPECTED partitions than `max_suspected`.
    pub const MANY_SUSPECTED: Alerts = Alerts(1 << 7);
    /// Average detection latency above `max_avg_detection`.
    pub const SLOW_DETECTION: Alerts = Alerts(1 << 8);
    /// The embedder said coordination (the fencing service, e.g. etcd) is unavailable
    /// (`Coordinator::set_available`, feature `fence`): no attempt asks
    /// for a fence or starts. Raised by the coordinator, not by [`alerts`]; clears when
    /// coordination is available again.
    pub const COORDINATION_UNAVAILABLE: Alerts = Alerts(1 << 9);
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

/// Alert thresholds (defaults: the table in the module docs). Validated by
/// [`AlertThresholds::validate`] when a configuration is built and when they are replaced on a
/// running coordinator ([`Coordinator::set_alert_thresholds`](super::Coordinator::set_alert_thresholds)).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AlertThresholds {
    /// Alert when `healthy * 100 < total * min_healthy_percent` (default 50).
    pub min_healthy_percent: u32,
    /// Alert when FAILED + RECOVERING partitions exceed this (default 0).
    pub max_failed: u32,
    /// Alert when the average recovery latency exceeds this (default 30 s).
    pub max_avg_recovery: Duration,
    /// Alert when recovery attempts not (yet) succeeded, over the failures still open,
    /// exceed this (default 5; the original's "attempted − succeeded > 5").
    pub max_unrecovered: u64,
    /// Alert when operations are still in flight this long into a pause (default 5 s).
    pub max_pause_stall: Duration,
    /// Alert when succeeded / finished attempts fall below this many thousandths (default
    /// 800 = 0.8; `ForestMonitor`'s default was 900; 0 disables; at most 1000).
    pub min_success_permille: u32,
    /// Alert when more partitions than this wait in the recovery queue (default 5).
    pub max_queue_depth: u32,
    /// Alert when more partitions than this are SUSPECTED (default 2, `ForestMonitor`).
    pub max_suspected: u32,
    /// Alert when the average detection latency exceeds this (default 10 s).
    pub max_avg_detection: Duration,
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
        max_unrecovered: 5,
        max_pause_stall: Duration::from_secs(5),
        min_success_permille: 800,
        max_queue_depth: 5,
        max_suspected: 2,
        max_avg_detection: Duration::from_secs(10),
    };

    /// `min_healthy_percent <= 100`, `min_success_permille <= 1000`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.min_healthy_percent > 100 {
            return Err(ConfigError::new(
                ConfigField::AlertsMinHealthyPercent,
                ConfigReason::AtMost100,
            ));
        }
        if self.min_success_permille > 1000 {
            return Err(ConfigError::new(
                ConfigField::AlertsMinSuccessPermille,
                ConfigReason::AtMost1000,
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
    /// Recovery attempts not (yet) succeeded over the failures still open.
    pub unrecovered: u64,
    /// How long a pause has been waiting with operations still in flight (None if not).
    pub pause_stall: Option<Duration>,
    /// Succeeded / finished attempts in thousandths (None before any attempt finished).
    pub success_permille: Option<u32>,
    /// Partitions in the recovery queue.
    pub queue_depth: u32,
    /// SUSPECTED partitions.
    pub suspected: u32,
    /// Average detection latency, if any failure was detected.
    pub avg_detection: Option<Duration>,
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
    if input.unrecovered > t.max_unrecovered {
        a = a.union(Alerts::MANY_FAILURES);
    }
    if matches!(input.pause_stall, Some(d) if d >= t.max_pause_stall) {
        a = a.union(Alerts::PAUSE_STALLED);
    }
    if matches!(input.success_permille, Some(r) if r < t.min_success_permille) {
        a = a.union(Alerts::LOW_SUCCESS_RATE);
    }
    if input.queue_depth > t.max_queue_depth {
        a = a.union(Alerts::QUEUE_BACKLOG);
    }
    if input.suspected > t.max_suspected {
        a = a.union(Alerts::MANY_SUSPECTED);
    }
    if matches!(input.avg_detection, Some(d) if d > t.max_avg_detection) {
        a = a.union(Alerts::SLOW_DETECTION);
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
            unrecovered: 1,
            ..calm
        };
        assert_eq!(alerts(&one, &t), Alerts::FAILED_PARTITIONS);
        let bad = AlertInput {
            healthy: 1,
            total: 3,
            failed: 2,
            avg_recovery: Some(Duration::from_secs(31)),
            unrecovered: 6,
            pause_stall: Some(Duration::from_secs(5)),
            success_permille: Some(799),
            queue_depth: 6,
            suspected: 3,
            avg_detection: Some(Duration::from_millis(10_001)),
        };
        let a = alerts(&bad, &t);
        assert_eq!(a.count(), 9);
        assert!(a.contains(Alerts::LOW_HEALTHY_RATIO.union(Alerts::PAUSE_STALLED)));
        // Boundaries: exactly 50 % healthy, exactly 30 s, exactly 5 unrecovered, exactly
        // 0.8, exactly 5 queued, exactly 2 suspected, exactly 10 s: no alert.
        let edge = AlertInput {
            healthy: 2,
            total: 4,
            failed: 0,
            avg_recovery: Some(Duration::from_secs(30)),
            unrecovered: 5,
            pause_stall: Some(Duration::from_millis(4999)),
            success_permille: Some(800),
            queue_depth: 5,
            suspected: 2,
            avg_detection: Some(Duration::from_secs(10)),
        };
        assert!(alerts(&edge, &t).is_empty());
        // No finished attempt: no success-rate alert; a zero threshold disables it.
        let none = AlertInput {
            success_permille: None,
            ..edge
        };
        assert!(alerts(&none, &t).is_empty());
        let off = AlertThresholds {
            min_success_permille: 0,
            ..t
        };
        let zero = AlertInput {
            success_permille: Some(0),
            ..edge
        };
        assert!(alerts(&zero, &off).is_empty());
        assert_eq!(alerts(&zero, &t), Alerts::LOW_SUCCESS_RATE);
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
            unrecovered: 1,
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
        assert_eq!(
            AlertThresholds {
                min_success_permille: 1001,
                ..t
            }
            .validate()
            .unwrap_err()
            .field,
            "alerts.min_success_permille"
        );
    }
}
