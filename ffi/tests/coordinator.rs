//! The sans-io coordinator and config builder through the C ABI (Miri too; the barrier is in
//! `barrier.rs`).
#![allow(clippy::std_instead_of_core)] // std-only test code

use std::ptr;

use ftforest::config::*;
use ftforest::coordinator::*;
use ftforest::coordinator_state::ftf_partition_info;
use ftforest::enums::ftf_action_kind::*;
use ftforest::enums::ftf_event_kind::*;
use ftforest::enums::ftf_phase::*;
use ftforest::enums::ftf_report_kind::*;
use ftforest::enums::ftf_report_outcome::*;
use ftforest::enums::*;
use ftforest::event::*;
use ftforest::result::ftf_result::*;
use ftforest::stats::ftf_stats;
use ftforest::table::ftf_health::*;
use ftforest::table::{ftf_counts, FTF_INCARNATION_ANY};
use ftforest::tracker::*;

const MS: u64 = 1_000_000;

fn config(k: u32) -> *const ftf_config {
    let mut b = ptr::null_mut();
    assert_eq!(ftf_config_builder::ftf_config_builder_new(&mut b), FTF_OK);
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_reports_before_suspicion(b, 2),
        FTF_OK
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_failure_confirmation_ns(b, 100 * MS),
        FTF_OK
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_max_concurrent(b, k),
        FTF_OK
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_pause_timeout_ns(
            b,
            1000 * MS,
            ftf_pause_policy::FTF_PAUSE_ABORT_AND_RETRY as u32
        ),
        FTF_OK
    );
    let mut c = ptr::null();
    assert_eq!(
        ftf_config_builder::ftf_config_builder_build(b, &mut c),
        FTF_OK
    );
    ftf_config_builder::ftf_config_builder_free(b);
    c
}

fn cstr(p: *const core::ffi::c_char) -> String {
    assert!(!p.is_null());
    // SAFETY: the library returns static NUL-terminated strings.
    unsafe { core::ffi::CStr::from_ptr(p) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn config_builder_validates_and_names_the_field() {
    let mut b = ptr::null_mut();
    assert_eq!(ftf_config_builder::ftf_config_builder_new(&mut b), FTF_OK);
    let mut c = ptr::null();
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_backoff_ns(b, 10 * MS, MS),
        FTF_OK
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_build(b, &mut c),
        FTF_INVALID_CONFIG
    );
    assert!(c.is_null());
    assert_eq!(
        cstr(ftf_config_builder::ftf_config_builder_error_field(b)),
        "backoff_cap"
    );
    assert!(!cstr(ftf_config_builder::ftf_config_builder_error_reason(b)).is_empty());
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_backoff_ns(b, MS, 10 * MS),
        FTF_OK
    );
    assert!(ftf_config_builder::ftf_config_builder_error_field(b).is_null());
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_reports_before_suspicion(b, 70000),
        FTF_OK
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_build(b, &mut c),
        FTF_INVALID_CONFIG
    );
    assert_eq!(
        cstr(ftf_config_builder::ftf_config_builder_error_field(b)),
        "reports_before_suspicion"
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_reports_before_suspicion(b, 3),
        FTF_OK
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_heartbeat(b, 9, MS, 2 * MS, 3 * MS),
        FTF_UNKNOWN_ENUM
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_pause_timeout_ns(b, MS, 2),
        FTF_UNKNOWN_ENUM
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_heartbeat(
            b,
            ftf_heartbeat_mode::FTF_HEARTBEAT_INTERVAL as u32,
            10 * MS,
            5 * MS,
            30 * MS
        ),
        FTF_OK
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_build(b, &mut c),
        FTF_INVALID_CONFIG
    );
    assert_eq!(
        cstr(ftf_config_builder::ftf_config_builder_error_field(b)),
        "heartbeat.suspect_timeout"
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_heartbeat(
            b,
            ftf_heartbeat_mode::FTF_HEARTBEAT_PHI as u32,
            10 * MS,
            20 * MS,
            30 * MS
        ),
        FTF_OK
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_heartbeat_phi(b, 1000, 2000),
        FTF_OK
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_heartbeat_max_local_pause_ns(b, 100 * MS),
        FTF_OK
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_alerts(b, 101, 0, MS, 5, MS),
        FTF_OK
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_build(b, &mut c),
        FTF_INVALID_CONFIG
    );
    assert_eq!(
        cstr(ftf_config_builder::ftf_config_builder_error_field(b)),
        "alerts.min_healthy_percent"
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_alerts(b, 50, 0, MS, 5, MS),
        FTF_OK
    );
    // A zero recovery timeout is accepted: no timeout (issue 7, item 13).
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_recovery_timeout_ns(b, 0),
        FTF_OK
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_build(b, &mut c),
        FTF_OK
    );
    assert_eq!(ftf_config::ftf_config_recovery_timeout_ns(c), 0);
    ftf_config::ftf_config_free(c);
    c = ptr::null();
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_recovery_timeout_ns(b, 500 * MS),
        FTF_OK
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_max_retries(b, 300),
        FTF_OK
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_build(b, &mut c),
        FTF_INVALID_CONFIG
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_max_retries(b, 2),
        FTF_OK
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_quiescence_poll_ns(b, MS),
        FTF_OK
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_build(b, &mut c),
        FTF_OK
    );
    assert_eq!(ftf_config::ftf_config_recovery_timeout_ns(c), 500 * MS);
    assert_eq!(ftf_config::ftf_config_max_concurrent(c), 3);
    let c2 = ftf_config::ftf_config_clone(c);
    ftf_config::ftf_config_free(c);
    ftf_config::ftf_config_free(c2);
    ftf_config_builder::ftf_config_builder_free(b);
    ftf_config_builder::ftf_config_builder_free(ptr::null_mut());
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_max_retries(ptr::null_mut(), 1),
        FTF_NULL_PARAMETER
    );
    let mut d = ptr::null();
    assert_eq!(ftf_config::ftf_config_default(&mut d), FTF_OK);
    assert_eq!(ftf_config::ftf_config_pause_timeout_ns(d), 5000 * MS);
    assert_eq!(ftf_config::ftf_config_failure_confirmation_ns(d), 5000 * MS);
    ftf_config::ftf_config_free(d);
}

fn drain_events(c: *const ftf_coordinator) -> Vec<ftf_event> {
    let mut v = Vec::new();
    let mut e = ftf_event::default();
    while ftf_coordinator::ftf_coordinator_poll_event(c, &mut e) == FTF_OK {
        v.push(e);
    }
    v
}

fn drain_actions(c: *const ftf_coordinator) -> Vec<ftf_action> {
    let mut v = Vec::new();
    let mut a = ftf_action::default();
    while ftf_coordinator::ftf_coordinator_poll_action(c, &mut a) == FTF_OK {
        v.push(a);
    }
    v
}

#[test]
fn full_detection_to_recovery_flow() {
    let cfg = config(2);
    let mut c = ptr::null();
    assert_eq!(
        ftf_coordinator::ftf_coordinator_new(cfg, 5, ptr::null(), MS, &mut c),
        FTF_OK
    );
    ftf_config::ftf_config_free(cfg);
    let t = ftf_coordinator::ftf_coordinator_tracker(c);
    let mut op = ftf_op_token::default();
    assert_eq!(ftf_tracker::ftf_op_begin(t, &mut op), FTF_OK);

    let mut out = 99;
    let bt = FTF_REPORT_BARRIER_TIMEOUT as u32;
    assert_eq!(
        ftf_coordinator::ftf_coordinator_report(c, 2 * MS, bt, 3, FTF_INCARNATION_ANY, &mut out),
        FTF_OK
    );
    assert_eq!(out, FTF_REPORT_COUNTED as u32);
    assert_eq!(
        ftf_coordinator::ftf_coordinator_report(c, 3 * MS, bt, 3, FTF_INCARNATION_ANY, &mut out),
        FTF_OK
    );
    assert_eq!(out, FTF_REPORT_SUSPECTED as u32);
    let ev = drain_events(c);
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (ev[0].kind, ev[0].rank, ev[0].from, ev[0].to),
        (
            FTF_EVENT_STATUS_CHANGED as u32,
            3,
            FTF_HEALTH_HEALTHY as u32,
            FTF_HEALTH_SUSPECTED as u32
        )
    );
    assert_eq!(ev[0].cause, ftf_cause::FTF_CAUSE_BARRIER_TIMEOUT as u32);

    let mut deadline = 0;
    assert_eq!(
        ftf_coordinator::ftf_coordinator_poll_timeout(c, &mut deadline),
        FTF_OK
    );
    assert!(deadline <= 103 * MS);
    assert_eq!(ftf_coordinator::ftf_coordinator_tick(c, 103 * MS), FTF_OK);
    // FAILED, recovery started: the pause is taken but an operation is in flight.
    assert!(ftf_coordinator::ftf_coordinator_in_recovery_mode(c));
    assert!(ftf_tracker::ftf_tracker_is_paused(t));
    let acts = drain_actions(c);
    assert!(acts
        .iter()
        .any(|a| a.kind == FTF_ACTION_PAUSE_BALANCER as u32));
    assert!(
        acts.iter().all(|a| a.kind != FTF_ACTION_RUN_PHASE as u32),
        "no phase while operations run"
    );
    assert_eq!(ftf_tracker::ftf_op_end(t, op), FTF_OK);
    assert_eq!(ftf_coordinator::ftf_coordinator_tick(c, 110 * MS), FTF_OK);
    let mut now = 110 * MS;
    let mut phases = Vec::new();
    loop {
        let acts = drain_actions(c);
        let Some(run) = acts.iter().find(|a| a.kind == FTF_ACTION_RUN_PHASE as u32) else {
            break;
        };
        let job = run.job;
        assert_eq!(job.rank, 3);
        phases.push(job.phase);
        let mut cur = ftf_phase_job::default();
        assert_eq!(
            ftf_coordinator::ftf_coordinator_recovery(c, 3, &mut cur),
            FTF_OK
        );
        assert_eq!(cur.attempt, job.attempt);
        // A skipped phase is refused; the right one is accepted.
        if job.phase != FTF_PHASE_VALIDATING as u32 {
            assert_eq!(
                ftf_coordinator::ftf_coordinator_phase_done(
                    c,
                    now,
                    3,
                    job.attempt,
                    FTF_PHASE_VALIDATING as u32,
                    true
                ),
                FTF_INVALID_TRANSITION
            );
        }
        assert_eq!(
            ftf_coordinator::ftf_coordinator_phase_done(c, now, 3, job.attempt, 77, true),
            FTF_UNKNOWN_ENUM
        );
        assert_eq!(
            ftf_coordinator::ftf_coordinator_phase_done(
                c,
                now,
                3,
                job.attempt + 100,
                job.phase,
                true
            ),
            FTF_NO_RECOVERY
        );
        assert_eq!(
            ftf_coordinator::ftf_coordinator_phase_done(c, now, 3, job.attempt, job.phase, true),
            FTF_OK
        );
        now += MS;
    }
    assert_eq!(
        phases,
        vec![
            FTF_PHASE_DETECTING as u32,
            FTF_PHASE_REDISTRIBUTING as u32,
            FTF_PHASE_REBALANCING as u32,
            FTF_PHASE_VALIDATING as u32
        ]
    );
    assert!(!ftf_coordinator::ftf_coordinator_in_recovery_mode(c));
    assert!(!ftf_tracker::ftf_tracker_is_paused(t), "resumed");
    let (mut h, mut inc) = (0, 0);
    assert_eq!(
        ftf_coordinator::ftf_coordinator_health(c, 3, &mut h, &mut inc),
        FTF_OK
    );
    assert_eq!((h, inc), (FTF_HEALTH_HEALTHY as u32, 1));
    let ev = drain_events(c);
    assert!(ev
        .iter()
        .any(|e| e.kind == FTF_EVENT_RECOVERY_FINISHED as u32 && e.success && e.rank == 3));
    let mut s = ftf_stats::default();
    assert_eq!(ftf_coordinator::ftf_coordinator_stats(c, &mut s), FTF_OK);
    assert_eq!(
        (s.failures_detected, s.recoveries_succeeded, s.healthy),
        (1, 1, 5)
    );
    assert_eq!(s.success_rate_permille, 1000);
    let mut counts = ftf_counts::default();
    assert_eq!(
        ftf_coordinator::ftf_coordinator_counts(c, &mut counts),
        FTF_OK
    );
    assert_eq!(counts.healthy, 5);
    assert_eq!(
        ftf_coordinator::ftf_coordinator_level(c),
        ftf_level::FTF_LEVEL_HEALTHY as u32
    );
    assert!(ftf_coordinator::ftf_coordinator_has_quorum(c));
    let mut need = 0usize;
    assert_eq!(
        ftf_coordinator::ftf_coordinator_metrics(c, now, ptr::null_mut(), 0, &mut need),
        FTF_BUFFER_TOO_SMALL
    );
    let mut buf = vec![0 as core::ffi::c_char; need];
    assert_eq!(
        ftf_coordinator::ftf_coordinator_metrics(c, now, buf.as_mut_ptr(), need, &mut need),
        FTF_OK
    );
    // SAFETY: NUL-terminated by the call.
    let text = unsafe { core::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    assert!(text.contains("ftforest_recoveries_succeeded_total 1\n"));
    // Stale report: the old incarnation.
    assert_eq!(
        ftf_coordinator::ftf_coordinator_report(c, now, bt, 3, 0, &mut out),
        FTF_OK
    );
    assert_eq!(out, FTF_REPORT_STALE as u32);
    assert_eq!(
        ftf_coordinator::ftf_coordinator_report(c, now, bt, 5, FTF_INCARNATION_ANY, &mut out),
        FTF_UNKNOWN_PARTITION
    );
    assert_eq!(
        ftf_coordinator::ftf_coordinator_report(c, now, 8, 3, FTF_INCARNATION_ANY, &mut out),
        FTF_UNKNOWN_ENUM
    );
    assert_eq!(
        ftf_coordinator::ftf_coordinator_retry(c, now, 3),
        FTF_UNEXPECTED_STATE
    );
    assert_eq!(
        ftf_coordinator::ftf_coordinator_retry(c, now, 9),
        FTF_UNKNOWN_PARTITION
    );
    ftf_tracker::ftf_tracker_free(t);
    ftf_coordinator::ftf_coordinator_free(c);
}

#[test]
fn coordinator_arguments_are_checked() {
    let mut c = ptr::null();
    assert_eq!(
        ftf_coordinator::ftf_coordinator_new(ptr::null(), 0, ptr::null(), 0, &mut c),
        FTF_INVALID_ARGUMENT
    );
    let cfg = config(FTF_MAX_CONCURRENT_RECOVERIES + 1);
    assert_eq!(
        ftf_coordinator::ftf_coordinator_new(cfg, 3, ptr::null(), 0, &mut c),
        FTF_INVALID_CONFIG
    );
    ftf_config::ftf_config_free(cfg);
    assert!(c.is_null());
    assert_eq!(
        ftf_coordinator::ftf_coordinator_new(ptr::null(), 3, ptr::null(), 0, ptr::null_mut()),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_coordinator::ftf_coordinator_new(ptr::null(), 3, ptr::null(), 0, &mut c),
        FTF_OK
    );
    let mut a = ftf_action::default();
    assert_eq!(
        ftf_coordinator::ftf_coordinator_poll_action(c, &mut a),
        FTF_EMPTY
    );
    let mut e = ftf_event::default();
    assert_eq!(
        ftf_coordinator::ftf_coordinator_poll_event(c, &mut e),
        FTF_EMPTY
    );
    let mut job = ftf_phase_job::default();
    assert_eq!(
        ftf_coordinator::ftf_coordinator_recovery(c, 0, &mut job),
        FTF_NO_RECOVERY
    );
    assert_eq!(
        ftf_coordinator::ftf_coordinator_recovery(c, 3, &mut job),
        FTF_UNKNOWN_PARTITION
    );
    assert_eq!(
        ftf_coordinator::ftf_coordinator_poll_action(ptr::null(), &mut a),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_coordinator::ftf_coordinator_tick(ptr::null(), 0),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_coordinator::ftf_coordinator_level(ptr::null()),
        ftf_level::FTF_LEVEL_QUORUM_LOST as u32
    );
    assert_eq!(ftf_coordinator::ftf_coordinator_len(c), 3);
    assert_eq!(ftf_coordinator::ftf_coordinator_pending_events(c), 0);
    assert_eq!(ftf_coordinator::ftf_coordinator_in_progress(c), 0);
    assert!(!ftf_coordinator::ftf_coordinator_is_queued(c, 0));
    assert_eq!(ftf_coordinator::ftf_coordinator_alerts(c, 0), 0);
    let c2 = ftf_coordinator::ftf_coordinator_clone(c);
    ftf_coordinator::ftf_coordinator_free(c);
    ftf_coordinator::ftf_coordinator_free(c2);
}

/// Backpressure: an input whose events would not fit is refused with `FTF_OUTBOX_FULL` and
/// changes nothing; draining the events makes room; no event is ever dropped.
#[test]
fn a_full_outbox_refuses_inputs_until_drained() {
    let cfg = config(1);
    let mut c = ptr::null();
    assert_eq!(
        ftf_coordinator::ftf_coordinator_new(cfg, 3, ptr::null(), MS, &mut c),
        FTF_OK
    );
    ftf_config::ftf_config_free(cfg);
    let (bt, healthy) = (FTF_REPORT_BARRIER_TIMEOUT as u32, FTF_REPORT_HEALTHY as u32);
    let any = FTF_INCARNATION_ANY;
    // Suspect and clear partition 0 again and again without polling a single event.
    let mut out = 0;
    let mut refused = None;
    'fill: for round in 0..1000u32 {
        for kind in [bt, bt, healthy] {
            let rc = ftf_coordinator::ftf_coordinator_report(c, MS, kind, 0, any, &mut out);
            if rc == FTF_OUTBOX_FULL {
                refused = Some((round, kind));
                break 'fill;
            }
            assert_eq!(rc, FTF_OK);
        }
    }
    let (_, kind) = refused.expect("the outbox fills up");
    assert!(!ftf_coordinator::ftf_coordinator_has_outbox_room(c));
    let pending = ftf_coordinator::ftf_coordinator_pending_events(c);
    assert!(pending > FTF_EVENT_CAPACITY - 5 && pending <= FTF_EVENT_CAPACITY);
    // Nothing changed: the same refusal again, the partition's state as before.
    let mut before = ftf_partition_info::default();
    assert_eq!(
        ftf_coordinator::ftf_coordinator_partition(c, 0, &mut before),
        FTF_OK
    );
    assert_eq!(
        ftf_coordinator::ftf_coordinator_report(c, MS, kind, 0, any, &mut out),
        FTF_OUTBOX_FULL
    );
    let mut after = ftf_partition_info::default();
    assert_eq!(
        ftf_coordinator::ftf_coordinator_partition(c, 0, &mut after),
        FTF_OK
    );
    assert_eq!(before, after);
    assert_eq!(ftf_coordinator::ftf_coordinator_pending_events(c), pending);
    // Drain: every event is there, in order, and the input is accepted again.
    assert_eq!(drain_events(c).len(), pending as usize);
    assert!(ftf_coordinator::ftf_coordinator_has_outbox_room(c));
    assert_eq!(
        ftf_coordinator::ftf_coordinator_report(c, MS, kind, 0, any, &mut out),
        FTF_OK
    );
    let mut s = ftf_stats::default();
    assert_eq!(ftf_coordinator::ftf_coordinator_stats(c, &mut s), FTF_OK);
    assert_eq!(s.events_dropped, 0);
    assert!(!ftf_coordinator::ftf_coordinator_has_outbox_room(
        ptr::null()
    ));
    ftf_coordinator::ftf_coordinator_free(c);
}
