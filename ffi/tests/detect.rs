//! Issue 7, items 2, 11, 12 and 13 through the C ABI: failures per signal, the original's
//! alerts, the recommended K, per-partition statistics, thresholds changed at run time,
//! confirmation by count (Miri too: no threads except the unstarted forest's none).
#![allow(clippy::std_instead_of_core)] // std-only test code

use core::ffi::c_void;
use std::ptr;

use ftforest::callbacks::*;
use ftforest::config::*;
use ftforest::coordinator::*;
use ftforest::enums::ftf_report_kind::*;
use ftforest::enums::ftf_report_outcome::*;
use ftforest::enums::*;
use ftforest::event::*;
use ftforest::forest::*;
use ftforest::result::ftf_result::*;
use ftforest::stats::{ftf_partition_stats, FTF_NO_TIME};
use ftforest::table::ftf_health::*;
use ftforest::table::FTF_INCARNATION_ANY;
use ftforest::thresholds::*;

const MS: u64 = 1_000_000;

fn build(f: impl FnOnce(*mut ftf_config_builder)) -> *const ftf_config {
    let mut b = ptr::null_mut();
    assert_eq!(ftf_config_builder::ftf_config_builder_new(&mut b), FTF_OK);
    f(b);
    let mut c = ptr::null();
    assert_eq!(
        ftf_config_builder::ftf_config_builder_build(b, &mut c),
        FTF_OK
    );
    ftf_config_builder::ftf_config_builder_free(b);
    c
}

fn coordinator(cfg: *const ftf_config, n: u32) -> *const ftf_coordinator {
    let mut c = ptr::null();
    assert_eq!(
        ftf_coordinator::ftf_coordinator_new(cfg, n, ptr::null(), 0, &mut c),
        FTF_OK
    );
    c
}

fn report(c: *const ftf_coordinator, now: u64, kind: ftf_report_kind, rank: u32) -> u32 {
    let mut out = u32::MAX;
    assert_eq!(
        ftf_coordinator::ftf_coordinator_report(
            c,
            now,
            kind as u32,
            rank,
            FTF_INCARNATION_ANY,
            &mut out
        ),
        FTF_OK
    );
    while let Some(()) = poll_event(c) {}
    out
}

fn poll_event(c: *const ftf_coordinator) -> Option<()> {
    let mut e = ftf_event::default();
    (ftf_coordinator::ftf_coordinator_poll_event(c, &mut e) == FTF_OK).then_some(())
}

fn health(c: *const ftf_coordinator, rank: u32) -> u32 {
    let (mut h, mut i) = (u32::MAX, 0);
    assert_eq!(
        ftf_coordinator::ftf_coordinator_health(c, rank, &mut h, &mut i),
        FTF_OK
    );
    h
}

#[test]
fn heartbeat_does_not_hide_barrier_timeouts() {
    let c = coordinator(ptr::null(), 3);
    report(c, MS, FTF_REPORT_BARRIER_TIMEOUT, 1);
    report(c, 2 * MS, FTF_REPORT_HEARTBEAT_RECEIVED, 1);
    assert_eq!(
        report(c, 3 * MS, FTF_REPORT_BARRIER_TIMEOUT, 1),
        FTF_REPORT_SUSPECTED as u32
    );
    // The heartbeat does not clear the suspicion either.
    assert_eq!(
        report(c, 4 * MS, FTF_REPORT_HEARTBEAT_RECEIVED, 1),
        FTF_REPORT_COUNTED as u32
    );
    assert_eq!(health(c, 1), FTF_HEALTH_SUSPECTED as u32);
    let mut p = ftf_partition_stats::default();
    assert_eq!(
        ftf_coordinator::ftf_coordinator_partition_stats(c, 1, &mut p),
        FTF_OK
    );
    assert_eq!(
        (
            p.consecutive_barrier,
            p.consecutive_ghost_sync,
            p.consecutive_heartbeat
        ),
        (2, 0, 0)
    );
    assert_eq!((p.reports, p.suspicions, p.failures), (4, 1, 0));
    assert_eq!(p.last_report_ns, 4 * MS);
    assert_eq!(p.last_detection_latency_ns, FTF_NO_TIME);
    assert_eq!(p.last_recovery_latency_ns, FTF_NO_TIME);
    // Unknown rank and NULLs: typed errors, nothing written.
    let mut q = ftf_partition_stats {
        reports: 77,
        ..Default::default()
    };
    assert_eq!(
        ftf_coordinator::ftf_coordinator_partition_stats(c, 3, &mut q),
        FTF_UNKNOWN_PARTITION
    );
    assert_eq!(q.reports, 77);
    assert_eq!(
        ftf_coordinator::ftf_coordinator_partition_stats(ptr::null(), 0, &mut q),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_coordinator::ftf_coordinator_partition_stats(c, 0, ptr::null_mut()),
        FTF_NULL_PARAMETER
    );
    ftf_coordinator::ftf_coordinator_free(c);
}

#[test]
fn thresholds_change_on_a_running_coordinator() {
    let c = coordinator(ptr::null(), 10);
    let mut t = ftf_alert_thresholds::default();
    assert_eq!(ftf_alert_thresholds_default(&mut t), FTF_OK);
    assert_eq!(
        (
            t.min_success_permille,
            t.max_queue_depth,
            t.max_suspected,
            t.max_unrecovered
        ),
        (800, 5, 2, 5)
    );
    for r in 0..3 {
        report(c, MS, FTF_REPORT_CRASHED, r);
    }
    // Three FAILED/RECOVERING: FAILED_PARTITIONS (max 0) but no backlog (K = 3, none queued).
    let a = ftf_coordinator::ftf_coordinator_alerts(c, MS);
    assert_ne!(a & FTF_ALERT_FAILED_PARTITIONS, 0);
    assert_eq!(a & FTF_ALERT_QUEUE_BACKLOG, 0);
    t.max_failed = 3;
    assert_eq!(
        ftf_coordinator::ftf_coordinator_set_thresholds(c, &t),
        FTF_OK
    );
    assert_eq!(
        ftf_coordinator::ftf_coordinator_alerts(c, MS) & FTF_ALERT_FAILED_PARTITIONS,
        0
    );
    let mut back = ftf_alert_thresholds::default();
    assert_eq!(
        ftf_coordinator::ftf_coordinator_thresholds(c, &mut back),
        FTF_OK
    );
    assert_eq!(back, t);
    // Invalid: refused, nothing changed.
    let bad = ftf_alert_thresholds {
        min_success_permille: 1001,
        ..t
    };
    assert_eq!(
        ftf_coordinator::ftf_coordinator_set_thresholds(c, &bad),
        FTF_INVALID_CONFIG
    );
    assert_eq!(
        ftf_coordinator::ftf_coordinator_set_thresholds(c, ptr::null()),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_coordinator::ftf_coordinator_thresholds(c, &mut back),
        FTF_OK
    );
    assert_eq!(back, t);
    ftf_coordinator::ftf_coordinator_free(c);
}

#[test]
fn builder_confirmation_by_count_thresholds_and_recommended_k() {
    assert_eq!(ftf_recommended_max_concurrent(0), 1);
    assert_eq!(ftf_recommended_max_concurrent(12), 3);
    assert_eq!(ftf_recommended_max_concurrent(u32::MAX), 5);
    // reports_before_failure must exceed reports_before_suspicion.
    let mut b = ptr::null_mut();
    assert_eq!(ftf_config_builder::ftf_config_builder_new(&mut b), FTF_OK);
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_reports_before_failure(b, 2),
        FTF_OK
    );
    let mut c = ptr::null();
    assert_eq!(
        ftf_config_builder::ftf_config_builder_build(b, &mut c),
        FTF_INVALID_CONFIG
    );
    assert!(c.is_null());
    ftf_config_builder::ftf_config_builder_free(b);

    let mut t = ftf_alert_thresholds::default();
    assert_eq!(ftf_alert_thresholds_default(&mut t), FTF_OK);
    t.max_suspected = 0;
    let cfg = build(|b| {
        assert_eq!(
            ftf_config_builder::ftf_config_builder_set_reports_before_suspicion(b, 1),
            FTF_OK
        );
        assert_eq!(
            ftf_config_builder::ftf_config_builder_set_reports_before_failure(b, 2),
            FTF_OK
        );
        assert_eq!(
            ftf_config_builder::ftf_config_builder_set_alert_thresholds(b, &t),
            FTF_OK
        );
        assert_eq!(
            ftf_config_builder::ftf_config_builder_set_alert_thresholds(b, ptr::null()),
            FTF_NULL_PARAMETER
        );
    });
    assert_eq!(ftf_config::ftf_config_reports_before_failure(cfg), 2);
    let mut back = ftf_alert_thresholds::default();
    assert_eq!(
        ftf_config::ftf_config_alert_thresholds(cfg, &mut back),
        FTF_OK
    );
    assert_eq!(back, t);
    let c = coordinator(cfg, 5);
    // The simple handler: first report suspects, second confirms.
    assert_eq!(
        report(c, MS, FTF_REPORT_GHOST_SYNC_FAILURE, 4),
        FTF_REPORT_SUSPECTED as u32
    );
    assert_ne!(
        ftf_coordinator::ftf_coordinator_alerts(c, MS) & FTF_ALERT_MANY_SUSPECTED,
        0
    );
    assert_eq!(
        report(c, 2 * MS, FTF_REPORT_BARRIER_TIMEOUT, 4),
        FTF_REPORT_FAILED as u32
    );
    assert_eq!(
        ftf_coordinator::ftf_coordinator_alerts(c, 2 * MS) & FTF_ALERT_MANY_SUSPECTED,
        0
    );
    ftf_coordinator::ftf_coordinator_free(c);
    ftf_config::ftf_config_free(cfg);
}

unsafe extern "C" fn ok_phase(_: *mut c_void, _: *const ftf_phase_job) -> bool {
    true
}

#[test]
fn forest_partition_stats_and_thresholds() {
    let cb = ftf_recovery_callbacks {
        userdata: ptr::null_mut(),
        run_phase: Some(ok_phase),
        cancel: None,
        pause_balancer: None,
        resume_balancer: None,
        pause_ghost_sync: None,
        resume_ghost_sync: None,
        finalizer: None,
    };
    let mut f = ptr::null();
    assert_eq!(
        ftf_forest::ftf_forest_new(ptr::null(), 4, ptr::null(), &cb, &mut f),
        FTF_OK
    );
    let mut outcome = u32::MAX;
    assert_eq!(
        ftf_forest::ftf_forest_report_at(
            f,
            5 * MS,
            FTF_REPORT_HEARTBEAT_MISSED as u32,
            2,
            FTF_INCARNATION_ANY,
            &mut outcome
        ),
        FTF_OK
    );
    assert_eq!(outcome, FTF_REPORT_COUNTED as u32);
    let mut p = ftf_partition_stats::default();
    assert_eq!(ftf_forest::ftf_forest_partition_stats(f, 2, &mut p), FTF_OK);
    assert_eq!((p.consecutive_heartbeat, p.reports), (1, 1));
    // On the forest's time line (the later of `now_ns` and its clock).
    assert!(p.last_report_ns >= 5 * MS && p.last_report_ns != FTF_NO_TIME);
    assert_eq!(
        ftf_forest::ftf_forest_partition_stats(f, 4, &mut p),
        FTF_UNKNOWN_PARTITION
    );
    let mut t = ftf_alert_thresholds::default();
    assert_eq!(ftf_forest::ftf_forest_thresholds(f, &mut t), FTF_OK);
    t.max_queue_depth = 9;
    assert_eq!(ftf_forest::ftf_forest_set_thresholds(f, &t), FTF_OK);
    let mut back = ftf_alert_thresholds::default();
    assert_eq!(ftf_forest::ftf_forest_thresholds(f, &mut back), FTF_OK);
    assert_eq!(back.max_queue_depth, 9);
    t.min_healthy_percent = 101;
    assert_eq!(
        ftf_forest::ftf_forest_set_thresholds(f, &t),
        FTF_INVALID_CONFIG
    );
    ftf_forest::ftf_forest_free(f);
}
