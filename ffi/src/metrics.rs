//! OpenMetrics / Prometheus text exposition of a statistics snapshot, for C.
//!
//! Invariants:
//!
//! * The text is the core's ([`ftforest_core::coord::openmetrics`]: valid OpenMetrics 1.0,
//!   ends with `# EOF\n`), so the C library and Rust embedders expose the same families; the
//!   bytes are those the C library wrote before the writer moved into the core plus the
//!   three runtime-membership samples (`tests/metrics.rs`, golden files).
//! * Writing into a caller buffer is all-or-nothing: when the buffer cannot hold the text and
//!   its terminating NUL, nothing is written and the size needed is reported.

use core::time::Duration;

use ftforest_core::coord::{openmetrics, Alerts, HealthLevel, LatencySummary, Stats};

use crate::result::ftf_result;
use crate::stats::{ftf_latency, ftf_stats};

/// A health level from C (`ftf_level`); `None` for any other value.
fn level_from_u32(level: u32) -> Option<HealthLevel> {
    [
        HealthLevel::Healthy,
        HealthLevel::Degraded,
        HealthLevel::Critical,
        HealthLevel::QuorumLost,
    ]
    .into_iter()
    .find(|l| *l as u8 as u32 == level)
}

fn latency(l: &ftf_latency) -> LatencySummary {
    LatencySummary {
        count: l.count,
        avg: Duration::from_nanos(l.avg_ns),
        p50: Duration::from_nanos(l.p50_ns),
        p95: Duration::from_nanos(l.p95_ns),
        p99: Duration::from_nanos(l.p99_ns),
        max: Duration::from_nanos(l.max_ns),
    }
}

/// The core snapshot a C `ftf_stats` stands for (every field the text uses; nanoseconds
/// convert back exactly).
fn core_stats(c: &ftf_stats) -> Stats {
    let mut s = Stats::default();
    s.total = c.total;
    s.healthy = c.healthy;
    s.suspected = c.suspected;
    s.failed = c.failed;
    s.recovering = c.recovering;
    s.absent = c.absent;
    s.queue_depth = c.queue_depth;
    s.queue_depth_max = c.queue_depth_max;
    s.in_progress = c.in_progress;
    s.recovery_mode_depth = c.recovery_mode_depth;
    s.quorum = c.quorum;
    s.suspicions = c.suspicions;
    s.false_alarms = c.false_alarms;
    s.failures_detected = c.failures_detected;
    s.recoveries_attempted = c.recoveries_attempted;
    s.recoveries_succeeded = c.recoveries_succeeded;
    s.recoveries_failed = c.recoveries_failed;
    s.recoveries_retried = c.recoveries_retried;
    s.recoveries_timed_out = c.recoveries_timed_out;
    s.recoveries_queued = c.recoveries_queued;
    s.escalations = c.escalations;
    s.blocked_by_lock = c.blocked_by_lock;
    s.pause_timeouts = c.pause_timeouts;
    s.quorum_losses = c.quorum_losses;
    s.stale_reports = c.stale_reports;
    s.ignored_reports = c.ignored_reports;
    s.events_dropped = c.events_dropped;
    s.detection_latency = latency(&c.detection_latency);
    s.recovery_latency = latency(&c.recovery_latency);
    s.cancels_pending = c.cancels_pending;
    s.cancels_escalated = c.cancels_escalated;
    s.joins = c.joins;
    s.leaves = c.leaves;
    s
}

/// The OpenMetrics text of a core snapshot (the coordinator's and the forest's metrics).
pub(crate) fn text(s: &Stats, level: HealthLevel, alerts: Alerts, in_flight: u32) -> String {
    let mut o = String::with_capacity(4096);
    // Writing into a String cannot fail.
    let _ = openmetrics::write(&mut o, s, Some(level), alerts, in_flight);
    o
}

/// The OpenMetrics text of a C snapshot `s` with the C level and alert bits.
pub(crate) fn render(s: &ftf_stats, level: u32, alerts: u32, in_flight: u32) -> String {
    let mut o = String::with_capacity(4096);
    // Writing into a String cannot fail.
    let _ = openmetrics::write(
        &mut o,
        &core_stats(s),
        level_from_u32(level),
        Alerts(alerts),
        in_flight,
    );
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
    use crate::enums::ftf_level;

    /// The coordinator's and forest's path (core snapshot) and `ftf_stats_metrics`' path (C
    /// snapshot) write the same bytes for the same statistics.
    #[test]
    fn core_and_c_snapshots_render_alike() {
        let mut s = Stats::default();
        s.healthy = 3;
        s.failed = 2;
        s.absent = 1;
        s.escalations = 9;
        s.joins = 4;
        s.recovery_latency = LatencySummary {
            count: 3,
            avg: Duration::from_nanos(1_234_567_891),
            p50: Duration::from_millis(900),
            p95: Duration::from_secs(4),
            p99: Duration::MAX,
            max: Duration::MAX,
        };
        for level in [HealthLevel::Healthy, HealthLevel::QuorumLost] {
            let alerts = Alerts::FAILED_PARTITIONS.union(Alerts::CANCEL_OVERDUE);
            assert_eq!(
                text(&s, level, alerts, 7),
                render(&s.into(), level as u8 as u32, alerts.0, 7)
            );
        }
    }

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
        // The families themselves are checked where they are written (core `openmetrics`).

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
