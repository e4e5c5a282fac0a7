//! OpenMetrics / Prometheus text exposition of a statistics snapshot: one writer shared by the
//! C library (`ftf_*_metrics`) and Rust embedders (the cluster node's HTTP endpoint).
//!
//! `no_std`, no allocator: [`write()`] streams into any [`core::fmt::Write`] (a `String`, a
//! fixed buffer, a socket adapter).
//!
//! # Invariants
//!
//! * The text is valid OpenMetrics 1.0 (and Prometheus 0.0.4 text, which accepts it): every
//!   family has `# TYPE` and `# HELP` before its samples, counters end in `_total`, latencies
//!   are `summary` families in seconds with `quantile` labels plus `_sum` / `_count`, and the
//!   text ends with `# EOF\n`.
//! * The families, their order and their formatting are fixed: the text for given inputs is
//!   the one the C library wrote before this writer moved here (golden files in
//!   `ffi/tests/golden/`) plus three samples for runtime membership (issue 8), each on a
//!   line of its own: `ftforest_partitions{state="absent"}` (ABSENT ranks: the members are
//!   the other four states) and the counters `ftforest_member_joins_total` and
//!   `ftforest_member_leaves_total`. Durations are written as exact decimal seconds with nine
//!   digits (`1.500000000`), from nanoseconds saturated at `u64::MAX`.
//! * A write error of the sink is returned as soon as it happens (the text is then
//!   truncated); the writer itself never fails and never panics.
//!
//! # Example
//!
//! ```
//! use ftforest_core::coord::{openmetrics, Alerts, HealthLevel, Stats};
//!
//! let mut s = Stats::default();
//! s.total = 3;
//! s.healthy = 3;
//! s.quorum = true;
//! let mut text = String::new();
//! openmetrics::write(&mut text, &s, Some(HealthLevel::Healthy), Alerts::NONE, 0).unwrap();
//! assert!(text.contains("ftforest_partitions{state=\"healthy\"} 3\n"));
//! assert!(text.ends_with("# EOF\n"));
//! ```

use core::fmt::{self, Write};
use core::time::Duration;

use super::histogram::LatencySummary;
use super::level::{Alerts, HealthLevel};
use super::stats::Stats;

/// Every alert bit with its label value in the `ftforest_alert` family, in output order.
pub const ALERT_LABELS: [(&str, Alerts); 10] = [
    ("low_healthy_ratio", Alerts::LOW_HEALTHY_RATIO),
    ("failed_partitions", Alerts::FAILED_PARTITIONS),
    ("slow_recovery", Alerts::SLOW_RECOVERY),
    ("many_failures", Alerts::MANY_FAILURES),
    ("pause_stalled", Alerts::PAUSE_STALLED),
    ("low_success_rate", Alerts::LOW_SUCCESS_RATE),
    ("queue_backlog", Alerts::QUEUE_BACKLOG),
    ("many_suspected", Alerts::MANY_SUSPECTED),
    ("slow_detection", Alerts::SLOW_DETECTION),
    ("cancel_overdue", Alerts::CANCEL_OVERDUE),
];

fn family<W: Write>(out: &mut W, name: &str, kind: &str, help: &str) -> fmt::Result {
    writeln!(out, "# TYPE {name} {kind}")?;
    writeln!(out, "# HELP {name} {help}")
}

fn counter<W: Write>(out: &mut W, name: &str, help: &str, v: u64) -> fmt::Result {
    family(out, name, "counter", help)?;
    writeln!(out, "{name}_total {v}")
}

fn gauge<W: Write>(out: &mut W, name: &str, help: &str, v: u64) -> fmt::Result {
    family(out, name, "gauge", help)?;
    writeln!(out, "{name} {v}")
}

/// `ns` nanoseconds as decimal seconds with nine fraction digits.
struct Seconds(u64);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09}",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn summary<W: Write>(out: &mut W, name: &str, help: &str, l: &LatencySummary) -> fmt::Result {
    family(out, name, "summary", help)?;
    for (q, v) in [("0.5", l.p50), ("0.95", l.p95), ("0.99", l.p99)] {
        writeln!(out, "{name}{{quantile=\"{q}\"}} {}", Seconds(nanos(v)))?;
    }
    let sum = u128::from(nanos(l.avg)) * u128::from(l.count);
    let sum = u64::try_from(sum).unwrap_or(u64::MAX);
    writeln!(out, "{name}_sum {}", Seconds(sum))?;
    writeln!(out, "{name}_count {}", l.count)
}

/// Writes `stats` with the health `level` (`None`: a value that is no level, e.g. from C;
/// every level sample is then 0), the raised `alerts` (bits outside [`ALERT_LABELS`] are not
/// written) and the operations `in_flight` on the tracker, as OpenMetrics text into `out`
/// (module docs for the guarantees). Returns the sink's first error, if any.
pub fn write<W: Write>(
    out: &mut W,
    stats: &Stats,
    level: Option<HealthLevel>,
    alerts: Alerts,
    in_flight: u32,
) -> fmt::Result {
    let s = stats;
    family(
        out,
        "ftforest_partitions",
        "gauge",
        "Partitions per health state.",
    )?;
    for (state, v) in [
        ("healthy", s.healthy),
        ("suspected", s.suspected),
        ("failed", s.failed),
        ("recovering", s.recovering),
        ("absent", s.absent),
    ] {
        writeln!(out, "ftforest_partitions{{state=\"{state}\"}} {v}")?;
    }
    gauge(
        out,
        "ftforest_quorum",
        "1 when HEALTHY partitions are a strict majority.",
        u64::from(s.quorum),
    )?;
    family(
        out,
        "ftforest_health_level",
        "gauge",
        "Overall health level (1 for the current level).",
    )?;
    for (name, v) in [
        ("healthy", HealthLevel::Healthy),
        ("degraded", HealthLevel::Degraded),
        ("critical", HealthLevel::Critical),
        ("quorum_lost", HealthLevel::QuorumLost),
    ] {
        writeln!(
            out,
            "ftforest_health_level{{ftforest_health_level=\"{name}\"}} {}",
            u32::from(level == Some(v))
        )?;
    }
    family(out, "ftforest_alert", "gauge", "Alerts (1 when raised).")?;
    for (name, bit) in ALERT_LABELS {
        writeln!(
            out,
            "ftforest_alert{{ftforest_alert=\"{name}\"}} {}",
            u32::from(alerts.contains(bit))
        )?;
    }
    for (name, help, v) in [
        (
            "ftforest_operations_in_flight",
            "Forest operations in flight on the tracker.",
            in_flight,
        ),
        (
            "ftforest_recovery_queue_depth",
            "Partitions waiting in the recovery queue.",
            s.queue_depth,
        ),
        (
            "ftforest_recovery_queue_depth_max",
            "Largest recovery queue depth seen.",
            s.queue_depth_max,
        ),
        (
            "ftforest_recoveries_in_progress",
            "Recoveries holding the recovery lock.",
            s.in_progress,
        ),
        (
            "ftforest_recovery_mode_depth",
            "Recoveries inside recovery mode (forest paused).",
            s.recovery_mode_depth,
        ),
        (
            "ftforest_cancels_pending",
            "Abandoned recovery attempts whose cancel is not acknowledged.",
            s.cancels_pending,
        ),
    ] {
        gauge(out, name, help, u64::from(v))?;
    }
    for (name, help, v) in [
        (
            "ftforest_suspicions",
            "HEALTHY to SUSPECTED transitions.",
            s.suspicions,
        ),
        (
            "ftforest_false_alarms",
            "SUSPECTED to HEALTHY transitions.",
            s.false_alarms,
        ),
        (
            "ftforest_failures_detected",
            "SUSPECTED to FAILED transitions.",
            s.failures_detected,
        ),
        (
            "ftforest_recoveries_attempted",
            "Recovery attempts started.",
            s.recoveries_attempted,
        ),
        (
            "ftforest_recoveries_succeeded",
            "Recovery attempts that completed every phase.",
            s.recoveries_succeeded,
        ),
        (
            "ftforest_recoveries_failed",
            "Recovery attempts that failed.",
            s.recoveries_failed,
        ),
        (
            "ftforest_recoveries_retried",
            "Retries scheduled with backoff.",
            s.recoveries_retried,
        ),
        (
            "ftforest_recoveries_timed_out",
            "Attempts abandoned at the recovery timeout.",
            s.recoveries_timed_out,
        ),
        (
            "ftforest_recoveries_queued",
            "Partitions put in the recovery queue.",
            s.recoveries_queued,
        ),
        (
            "ftforest_escalations",
            "Escalations (quorum lost or retries exhausted).",
            s.escalations,
        ),
        (
            "ftforest_blocked_by_lock",
            "Queued recoveries blocked by the concurrency limit.",
            s.blocked_by_lock,
        ),
        (
            "ftforest_pause_timeouts",
            "Pauses that timed out with operations in flight.",
            s.pause_timeouts,
        ),
        (
            "ftforest_quorum_losses",
            "Times quorum was lost.",
            s.quorum_losses,
        ),
        (
            "ftforest_stale_reports",
            "Reports ignored for an older incarnation.",
            s.stale_reports,
        ),
        (
            "ftforest_ignored_reports",
            "Reports about FAILED or RECOVERING partitions.",
            s.ignored_reports,
        ),
        (
            "ftforest_events_dropped",
            "Events dropped because the outbox was full.",
            s.events_dropped,
        ),
        (
            "ftforest_cancels_escalated",
            "Cancels not acknowledged within the cancel timeout.",
            s.cancels_escalated,
        ),
        (
            "ftforest_member_joins",
            "Partitions that joined (not recoveries).",
            s.joins,
        ),
        (
            "ftforest_member_leaves",
            "Partitions that left (not failures).",
            s.leaves,
        ),
    ] {
        counter(out, name, help, v)?;
    }
    summary(
        out,
        "ftforest_detection_latency_seconds",
        "First failure report to FAILED.",
        &s.detection_latency,
    )?;
    summary(
        out,
        "ftforest_recovery_latency_seconds",
        "FAILED to recovered or given up.",
        &s.recovery_latency,
    )?;
    out.write_str("# EOF\n")
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn sample() -> Stats {
        Stats {
            total: 5,
            healthy: 4,
            failed: 1,
            quorum: true,
            failures_detected: 1,
            recovery_latency: LatencySummary {
                count: 2,
                avg: Duration::from_millis(1_500),
                p50: Duration::from_secs(1),
                p95: Duration::from_secs(2),
                p99: Duration::from_secs(2),
                max: Duration::from_secs(2),
            },
            ..Stats::default()
        }
    }

    #[test]
    fn text_is_well_formed() {
        let mut t = String::new();
        write(
            &mut t,
            &sample(),
            Some(HealthLevel::Critical),
            Alerts::FAILED_PARTITIONS,
            3,
        )
        .unwrap();
        assert!(t.ends_with("# EOF\n"));
        for line in [
            "ftforest_partitions{state=\"failed\"} 1\n",
            "ftforest_failures_detected_total 1\n",
            "ftforest_health_level{ftforest_health_level=\"critical\"} 1\n",
            "ftforest_health_level{ftforest_health_level=\"healthy\"} 0\n",
            "ftforest_alert{ftforest_alert=\"failed_partitions\"} 1\n",
            "ftforest_alert{ftforest_alert=\"low_healthy_ratio\"} 0\n",
            "ftforest_recovery_latency_seconds_sum 3.000000000\n",
            "ftforest_recovery_latency_seconds{quantile=\"0.5\"} 1.000000000\n",
            "ftforest_operations_in_flight 3\n",
            "ftforest_partitions{state=\"absent\"} 0\n",
            "ftforest_member_joins_total 0\n",
        ] {
            assert!(t.contains(line), "missing {line:?}");
        }
        // Every sample belongs to a family declared (TYPE and HELP) before it.
        let mut declared: Vec<&str> = Vec::new();
        let mut helped: Vec<&str> = Vec::new();
        for line in t.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                declared.push(rest.split(' ').next().unwrap_or(""));
            } else if let Some(rest) = line.strip_prefix("# HELP ") {
                helped.push(rest.split(' ').next().unwrap_or(""));
            } else if line != "# EOF" {
                let fam = declared
                    .iter()
                    .find(|f| line.starts_with(**f))
                    .unwrap_or_else(|| panic!("undeclared sample {line}"));
                assert!(helped.contains(fam), "no HELP for {fam}");
            }
        }
        assert_eq!(declared, helped);
    }

    #[test]
    fn unknown_level_sets_no_level_and_unknown_alert_bits_are_ignored() {
        let mut t = String::new();
        write(&mut t, &Stats::default(), None, Alerts(u32::MAX), 0).unwrap();
        assert_eq!(t.matches("ftforest_health_level{").count(), 4);
        assert!(!t.contains("ftforest_health_level{ftforest_health_level=\"healthy\"} 1"));
        assert_eq!(t.matches("ftforest_alert{").count(), ALERT_LABELS.len());
        assert!(!t.contains("ftforest_alert{ftforest_alert=\"cancel_overdue\"} 0"));
    }

    #[test]
    fn durations_saturate_and_keep_nine_digits() {
        let s = Stats {
            detection_latency: LatencySummary {
                count: 3,
                avg: Duration::MAX,
                p50: Duration::from_nanos(7),
                ..LatencySummary::default()
            },
            ..Stats::default()
        };
        let mut t = String::new();
        write(&mut t, &s, Some(HealthLevel::Healthy), Alerts::NONE, 0).unwrap();
        assert!(t.contains("ftforest_detection_latency_seconds{quantile=\"0.5\"} 0.000000007\n"));
        // avg saturates at u64::MAX ns; the sum of 3 such saturates too.
        assert!(t.contains("ftforest_detection_latency_seconds_sum 18446744073.709551615\n"));
    }

    /// A sink that fails after `budget` bytes: the error comes back, no panic.
    struct Tiny {
        budget: usize,
    }
    impl Write for Tiny {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.budget = self.budget.checked_sub(s.len()).ok_or(fmt::Error)?;
            Ok(())
        }
    }

    #[test]
    fn a_sink_error_is_returned() {
        let mut sink = Tiny { budget: 100 };
        assert_eq!(
            write(&mut sink, &sample(), None, Alerts::NONE, 0),
            Err(fmt::Error)
        );
        let mut sink = Tiny { budget: 1 << 20 };
        assert_eq!(write(&mut sink, &sample(), None, Alerts::NONE, 0), Ok(()));
    }
}
