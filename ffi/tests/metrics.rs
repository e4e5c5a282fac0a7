//! The OpenMetrics text of `ftf_stats_metrics` is the text the ffi crate wrote before the
//! writer moved into the core (`ftforest_core::coord::openmetrics`, issue 8): the golden files
//! in `tests/golden/` were written by the old ffi renderer, then re-blessed once for the three
//! added runtime-membership samples (`git log -p ffi/tests/golden`: only added lines)
//! (`FTF_BLESS=1 cargo test -p ftforest-ffi --test metrics` regenerates them; only do that for
//! a deliberate change of the text).
#![cfg(not(miri))]

use ftforest::ftf_result;
use ftforest::metrics::ftf_stats_metrics;
use ftforest::stats::{ftf_latency, ftf_stats};

fn stats() -> ftf_stats {
    let lat = |base: u64| ftf_latency {
        count: base,
        avg_ns: base * 1_000_003,
        p50_ns: base * 999_999_937,
        p95_ns: base * 2_000_000_011,
        p99_ns: u64::MAX - base,
        max_ns: u64::MAX,
    };
    ftf_stats {
        total: 41,
        healthy: 17,
        suspected: 5,
        failed: 3,
        recovering: 2,
        queue_depth: 7,
        queue_depth_max: 11,
        in_progress: 2,
        recovery_mode_depth: 2,
        quorum: true,
        success_rate_permille: 777,
        suspicions: 101,
        false_alarms: 102,
        failures_detected: 103,
        recoveries_attempted: 104,
        recoveries_succeeded: 105,
        recoveries_failed: 106,
        recoveries_retried: 107,
        recoveries_timed_out: 108,
        recoveries_queued: 109,
        escalations: 110,
        blocked_by_lock: 111,
        pause_timeouts: 112,
        quorum_losses: 113,
        stale_reports: 114,
        ignored_reports: 115,
        events_dropped: 0,
        detection_latency: lat(3),
        recovery_latency: lat(9),
        cancels_pending: 1,
        cancels_escalated: u64::MAX,
        absent: 4,
        joins: 12,
        leaves: 16,
    }
}

fn text(s: &ftf_stats, level: u32, alerts: u32) -> String {
    let mut needed = 0usize;
    let rc = ftf_stats_metrics(s, level, alerts, core::ptr::null_mut(), 0, &mut needed);
    assert_eq!(rc, ftf_result::FTF_BUFFER_TOO_SMALL);
    let mut buf = vec![0 as core::ffi::c_char; needed];
    let rc = ftf_stats_metrics(s, level, alerts, buf.as_mut_ptr(), buf.len(), &mut needed);
    assert_eq!(rc, ftf_result::FTF_OK);
    let bytes: Vec<u8> = buf[..needed - 1].iter().map(|&c| c as u8).collect();
    String::from_utf8(bytes).expect("utf-8")
}

fn golden(name: &str, got: &str) {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("FTF_BLESS").is_some() {
        std::fs::write(&path, got).expect("write golden");
        return;
    }
    let want = std::fs::read_to_string(&path).expect("golden file");
    assert!(got == want, "{name}: the OpenMetrics text changed:\n{got}");
}

#[test]
fn metrics_text_is_unchanged() {
    let s = stats();
    golden("metrics_critical.txt", &text(&s, 2, 0b10_0000_0101));
    // Every alert bit (unknown ones ignored) and a level that is not one: no level is 1.
    golden("metrics_unknown_level.txt", &text(&s, 7, u32::MAX));
    golden("metrics_default.txt", &text(&ftf_stats::default(), 0, 0));
}
