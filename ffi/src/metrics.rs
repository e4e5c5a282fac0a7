//! OpenMetrics / Prometheus text exposition of a statistics snapshot.
//!
//! Invariants:
//!
//! * The text is valid OpenMetrics 1.0 (and Prometheus 0.0.4 text, which accepts it): every
//!   family has `# TYPE` and `# HELP`, counters end in `_total`, latencies are `summary`
//!   families in seconds with `quantile` labels plus `_sum` / `_count`, and the text ends with
//!   `# EOF\n`.
//! * Writing into a caller buffer is all-or-nothing: when the buffer cannot hold the text and
//!   its terminating NUL, nothing is written and the size needed is reported.

use core::fmt::Write;

use crate::enums::ftf_level;
use crate::result::ftf_result;
use crate::stats::{ftf_latency, ftf_stats};

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# TYPE {name} {kind}");
    let _ = writeln!(out, "# HELP {name} {help}");
}

fn counter(out: &mut String, name: &str, help: &str, v: u64) {
    family(out, name, "counter", help);
    let _ = writeln!(out, "{name}_total {v}");
}

fn gauge(out: &mut String, name: &str, help: &str, v: u64) {
    family(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {v}");
}

fn seconds(ns: u64) -> String {
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

fn summary(out: &mut String, name: &str, help: &str, l: &ftf_latency) {
    family(out, name, "summary", help);
    for (q, v) in [("0.5", l.p50_ns), ("0.95", l.p95_ns), ("0.99", l.p99_ns)] {
        let _ = writeln!(out, "{name}{{quantile=\"{q}\"}} {}", seconds(v));
    }
    let sum = u128::from(l.avg_ns) * u128::from(l.count);
    let sum = u64::try_from(sum).unwrap_or(u64::MAX);
    let _ = writeln!(out, "{name}_sum {}", seconds(sum));
    let _ = writeln!(out, "{name}_count {}", l.count);
}

/// Renders `s` (plus the health level, the alert bits and the in-flight operations) as
/// OpenMetrics text.
pub(crate) fn render(s: &ftf_stats, level: u32, alerts: u32, in_flight: u32) -> String {
    let mut o = String::with_capacity(4096);
    family(
        &mut o,
        "ftforest_partitions",
        "gauge",
        "Partitions per health state.",
    );
    for (state, v) in [
        ("healthy", s.healthy),
        ("suspected", s.suspected),
        ("failed", s.failed),
        ("recovering", s.recovering),
    ] {
        let _ = writeln!(o, "ftforest_partitions{{state=\"{state}\"}} {v}");
    }
    gauge(
        &mut o,
        "ftforest_quorum",
        "1 when HEALTHY partitions are a strict majority.",
        u64::from(s.quorum),
    );
    family(
        &mut o,
        "ftforest_health_level",
        "gauge",
        "Overall health level (1 for the current level).",
    );
    for (name, v) in [
        ("healthy", ftf_level::FTF_LEVEL_HEALTHY),
        ("degraded", ftf_level::FTF_LEVEL_DEGRADED),
        ("critical", ftf_level::FTF_LEVEL_CRITICAL),
        ("quorum_lost", ftf_level::FTF_LEVEL_QUORUM_LOST),
    ] {
        let _ = writeln!(
            o,
            "ftforest_health_level{{ftforest_health_level=\"{name}\"}} {}",
            u32::from(level == v as u32)
        );
    }
    family(&mut o, "ftforest_alert", "gauge", "Alerts (1 when raised).");
    for (name, bit) in [
        (
            "low_healthy_ratio",
            crate::enums::FTF_ALERT_LOW_HEALTHY_RATIO,
        ),
        (
            "failed_partitions",
            crate::enums::FTF_ALERT_FAILED_PARTITIONS,
        ),
        ("slow_recovery", crate::enums::FTF_ALERT_SLOW_RECOVERY),
        ("many_failures", crate::enums::FTF_ALERT_MANY_FAILURES),
        ("pause_stalled", crate::enums::FTF_ALERT_PAUSE_STALLED),
        ("low_success_rate", crate::enums::FTF_ALERT_LOW_SUCCESS_RATE),
        ("queue_backlog", crate::enums::FTF_ALERT_QUEUE_BACKLOG),
        ("many_suspected", crate::enums::FTF_ALERT_MANY_SUSPECTED),
        ("slow_detection", crate::enums::FTF_ALERT_SLOW_DETECTION),
        ("cancel_overdue", crate::enums::FTF_ALERT_CANCEL_OVERDUE),
    ] {
        let _ = writeln!(
            o,
            "ftforest_alert{{ftforest_alert=\"{name}\"}} {}",
            u32::from(alerts & bit != 0)
        );
    }
    gauge(
        &mut o,
        "ftforest_operations_in_flight",
        "Forest operations in flight on the tracker.",
        u64::from(in_flight),
    );
    gauge(
        &mut o,
        "ftforest_recovery_queue_depth",
        "Partitions waiting in the recovery queue.",
        u64::from(s.queue_depth),
    );
    gauge(
        &mut o,
        "ftforest_recovery_queue_depth_max",
        "Largest recovery queue depth seen.",
        u64::from(s.queue_depth_max),
    );
    gauge(
        &mut o,
        "ftforest_recoveries_in_progress",
        "Recoveries holding the recovery lock.",
        u64::from(s.in_progress),
    );
    gauge(
        &mut o,
        "ftforest_recovery_mode_depth",
        "Recoveries inside recovery mode (forest paused).",
        u64::from(s.recovery_mode_depth),
    );
    gauge(
        &mut o,
        "ftforest_cancels_pending",
        "Abandoned recovery attempts whose cancel is not acknowledged.",
        u64::from(s.cancels_pending),
    );
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
    ] {
        counter(&mut o, name, help, v);
    }
    summary(
        &mut o,
        "ftforest_detection_latency_seconds",
        "First failure report to FAILED.",
        &s.detection_latency,
    );
    summary(
        &mut o,
        "ftforest_recovery_latency_seconds",
        "FAILED to recovered or given up.",
        &s.recovery_latency,
    );
    o.push_str("# EOF\n");
    o
}

/// Copies `text` plus a NUL into `(buf, len)`, all or nothing.
///
/// `*needed_out` = `text.len() + 1` on `FTF_OK` and on `FTF_BUFFER_TOO_SMALL` (then nothing is
/// written), untouched on `FTF_NULL_PARAMETER` (a NULL `needed_out`, or a NULL `buf` whose
/// `len` would hold the text). `buf` may be NULL when `len == 0`.
pub(crate) fn write_text(
    text: &str,
    buf: *mut core::ffi::c_char,
    len: usize,
    needed_out: *mut usize,
) -> ftf_result {
    let Some(needed) = crate::handle::out_param(needed_out) else {
        return ftf_result::FTF_NULL_PARAMETER;
    };
    let want = text.len() + 1;
    if len < want {
        *needed = want;
        return ftf_result::FTF_BUFFER_TOO_SMALL;
    }
    let Some(dst) = crate::handle::out_bytes(buf.cast::<u8>(), want) else {
        return ftf_result::FTF_NULL_PARAMETER;
    };
    *needed = want;
    let (body, nul) = dst.split_at_mut(text.len());
    body.copy_from_slice(text.as_bytes());
    if let Some(b) = nul.first_mut() {
        *b = 0;
    }
    ftf_result::FTF_OK
}

/// Writes the OpenMetrics text of a statistics snapshot `stats` (as returned by
/// `ftf_forest_stats` / `ftf_coordinator_stats`) with health level `level` and alert bits
/// `alerts`, NUL-terminated, into `buf[0..len)`.
///
/// `*needed_out` receives the size needed including the NUL, both on `FTF_OK` and on
/// `FTF_BUFFER_TOO_SMALL` (then nothing is written: call again with a larger buffer).
/// `FTF_NULL_PARAMETER` for a NULL `stats`/`needed_out` (or a NULL `buf` with a `len` large
/// enough); then `*needed_out` is left untouched. Thread-safe.
#[no_mangle]
pub extern "C" fn ftf_stats_metrics(
    stats: *const ftf_stats,
    level: u32,
    alerts: u32,
    buf: *mut core::ffi::c_char,
    len: usize,
    needed_out: *mut usize,
) -> ftf_result {
    crate::panic::ffi_panic_boundary! {
        // SAFETY: C contract: a non-NULL `stats` points to a readable ftf_stats.
        let Some(s) = (unsafe { stats.as_ref() }) else {
            return ftf_result::FTF_NULL_PARAMETER;
        };
        write_text(&render(s, level, alerts, 0), buf, len, needed_out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_well_formed_and_all_or_nothing() {
        let mut s = ftf_stats {
            total: 5,
            healthy: 4,
            failed: 1,
            quorum: true,
            failures_detected: 1,
            ..Default::default()
        };
        s.recovery_latency = ftf_latency {
            count: 2,
            avg_ns: 1_500_000_000,
            p50_ns: 1_000_000_000,
            p95_ns: 2_000_000_000,
            p99_ns: 2_000_000_000,
            max_ns: 2_000_000_000,
        };
        let t = render(&s, ftf_level::FTF_LEVEL_CRITICAL as u32, 2, 3);
        assert!(t.ends_with("# EOF\n"));
        assert!(t.contains("ftforest_partitions{state=\"failed\"} 1\n"));
        assert!(t.contains("ftforest_failures_detected_total 1\n"));
        assert!(t.contains("ftforest_health_level{ftforest_health_level=\"critical\"} 1\n"));
        assert!(t.contains("ftforest_alert{ftforest_alert=\"failed_partitions\"} 1\n"));
        assert!(t.contains("ftforest_recovery_latency_seconds_sum 3.000000000\n"));
        assert!(t.contains("ftforest_operations_in_flight 3\n"));
        // Every sample line belongs to a family declared before it.
        let mut declared = Vec::new();
        for line in t.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                declared.push(rest.split(' ').next().unwrap_or("").to_string());
            } else if !line.starts_with('#') {
                assert!(
                    declared.iter().any(|f| line.starts_with(f.as_str())),
                    "{line}"
                );
            }
        }

        let mut needed = 0usize;
        let mut small = vec![1 as core::ffi::c_char; 10];
        assert_eq!(
            write_text(&t, small.as_mut_ptr(), small.len(), &mut needed),
            ftf_result::FTF_BUFFER_TOO_SMALL
        );
        assert_eq!(needed, t.len() + 1);
        assert!(small.iter().all(|&b| b == 1), "nothing written");
        let mut big = vec![1 as core::ffi::c_char; needed];
        assert_eq!(
            write_text(&t, big.as_mut_ptr(), big.len(), &mut needed),
            ftf_result::FTF_OK
        );
        assert_eq!(big[needed - 1], 0);
        assert_eq!(
            write_text(&t, core::ptr::null_mut(), 0, &mut needed),
            ftf_result::FTF_BUFFER_TOO_SMALL
        );
        assert_eq!(
            write_text(&t, big.as_mut_ptr(), big.len(), core::ptr::null_mut()),
            ftf_result::FTF_NULL_PARAMETER
        );
        assert_eq!(
            ftf_stats_metrics(
                core::ptr::null(),
                0,
                0,
                big.as_mut_ptr(),
                big.len(),
                &mut needed
            ),
            ftf_result::FTF_NULL_PARAMETER
        );
    }
}
