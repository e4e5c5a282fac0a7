//! Issue 7, item 1 through the C ABI (Miri too): `ftf_coordinator_cancel_done`, the
//! abandoned phase's late result as acknowledgement, `ftf_coordinator_cancelling`, the
//! cancel timeout, its escalation, alert and statistics.
#![allow(clippy::std_instead_of_core)] // std-only test code

use std::ptr;

use ftforest::config::*;
use ftforest::coordinator::*;
use ftforest::enums::ftf_action_kind::*;
use ftforest::enums::ftf_event_kind::*;
use ftforest::enums::ftf_phase::*;
use ftforest::enums::ftf_report_kind::*;
use ftforest::enums::*;
use ftforest::event::*;
use ftforest::result::ftf_result::*;
use ftforest::stats::ftf_stats;
use ftforest::table::FTF_INCARNATION_ANY;
use ftforest::tracker::*;

const MS: u64 = 1_000_000;

fn config() -> *const ftf_config {
    let mut b = ptr::null_mut();
    assert_eq!(ftf_config_builder::ftf_config_builder_new(&mut b), FTF_OK);
    let mut c = ptr::null();
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_cancel_timeout_ns(b, 0),
        FTF_OK
    );
    assert_eq!(
        ftf_config_builder::ftf_config_builder_build(b, &mut c),
        FTF_INVALID_CONFIG
    );
    for r in [
        ftf_config_builder::ftf_config_builder_set_cancel_timeout_ns(b, 500 * MS),
        ftf_config_builder::ftf_config_builder_set_max_concurrent(b, 1),
        ftf_config_builder::ftf_config_builder_set_recovery_timeout_ns(b, 100 * MS),
        ftf_config_builder::ftf_config_builder_set_backoff_ns(b, 10 * MS, 10 * MS),
        ftf_config_builder::ftf_config_builder_build(b, &mut c),
    ] {
        assert_eq!(r, FTF_OK);
    }
    assert_eq!(
        ftf_config_builder::ftf_config_builder_set_cancel_timeout_ns(ptr::null_mut(), MS),
        FTF_NULL_PARAMETER
    );
    ftf_config_builder::ftf_config_builder_free(b);
    assert_eq!(ftf_config::ftf_config_cancel_timeout_ns(c), 500 * MS);
    assert_eq!(ftf_config::ftf_config_cancel_timeout_ns(ptr::null()), 0);
    c
}

fn actions(c: *const ftf_coordinator) -> Vec<ftf_action> {
    let mut v = Vec::new();
    let mut a = ftf_action::default();
    while ftf_coordinator::ftf_coordinator_poll_action(c, &mut a) == FTF_OK {
        v.push(a);
    }
    v
}

fn events(c: *const ftf_coordinator) -> Vec<ftf_event> {
    let mut v = Vec::new();
    let mut e = ftf_event::default();
    while ftf_coordinator::ftf_coordinator_poll_event(c, &mut e) == FTF_OK {
        v.push(e);
    }
    v
}

fn stats(c: *const ftf_coordinator) -> ftf_stats {
    let mut s = ftf_stats::default();
    assert_eq!(ftf_coordinator::ftf_coordinator_stats(c, &mut s), FTF_OK);
    s
}

#[test]
fn cancel_is_acknowledged_through_the_c_abi() {
    let cfg = config();
    let mut c = ptr::null();
    assert_eq!(
        ftf_coordinator::ftf_coordinator_new(cfg, 5, ptr::null(), 0, &mut c),
        FTF_OK
    );
    ftf_config::ftf_config_free(cfg);
    let t = ftf_coordinator::ftf_coordinator_tracker(c);
    let mut out = 0;
    assert_eq!(
        ftf_coordinator::ftf_coordinator_report(
            c,
            0,
            FTF_REPORT_CRASHED as u32,
            0,
            FTF_INCARNATION_ANY,
            &mut out
        ),
        FTF_OK
    );
    let a = actions(c);
    assert_eq!(a.len(), 3);
    assert_eq!(a[2].kind, FTF_ACTION_RUN_PHASE as u32);
    let job = a[2].job;
    events(c);
    assert_eq!(ftf_coordinator::ftf_coordinator_tick(c, 100 * MS), FTF_OK);
    let a = actions(c);
    assert_eq!(a.len(), 1, "only the cancel: nothing resumes");
    assert_eq!(a[0].kind, FTF_ACTION_CANCEL_RECOVERY as u32);
    let mut attempt = 0;
    assert_eq!(
        ftf_coordinator::ftf_coordinator_cancelling(c, 0, &mut attempt),
        FTF_OK
    );
    assert_eq!(attempt, job.attempt);
    attempt = 77;
    assert_eq!(
        ftf_coordinator::ftf_coordinator_cancelling(c, 1, &mut attempt),
        FTF_NO_RECOVERY
    );
    assert_eq!(
        ftf_coordinator::ftf_coordinator_cancelling(c, 5, &mut attempt),
        FTF_UNKNOWN_PARTITION
    );
    assert_eq!(attempt, 77, "out-parameter untouched on error");
    assert_eq!(
        ftf_coordinator::ftf_coordinator_cancelling(c, 0, ptr::null_mut()),
        FTF_NULL_PARAMETER
    );
    assert!(ftf_tracker::ftf_tracker_is_paused(t));
    assert_eq!(stats(c).cancels_pending, 1);
    assert_eq!(
        ftf_coordinator::ftf_coordinator_retry(c, 200 * MS, 0),
        FTF_BUSY
    );
    // Escalated at 100 + 500 ms, once; the alert is raised; still paused.
    assert_eq!(ftf_coordinator::ftf_coordinator_tick(c, 600 * MS), FTF_OK);
    let e = events(c);
    assert_eq!(
        e.iter()
            .filter(|e| e.kind == FTF_EVENT_ESCALATED as u32
                && e.cause == ftf_escalation_reason::FTF_ESCALATION_CANCEL_UNACKNOWLEDGED as u32)
            .count(),
        1
    );
    assert_ne!(
        ftf_coordinator::ftf_coordinator_alerts(c, 600 * MS) & FTF_ALERT_CANCEL_OVERDUE,
        0
    );
    assert_eq!(stats(c).cancels_escalated, 1);
    assert!(ftf_tracker::ftf_tracker_is_paused(t));
    // Misuse changes nothing.
    for (rank, att, want) in [
        (5, job.attempt, FTF_UNKNOWN_PARTITION),
        (0, job.attempt + 1, FTF_NO_RECOVERY),
    ] {
        assert_eq!(
            ftf_coordinator::ftf_coordinator_cancel_done(c, 700 * MS, rank, att),
            want
        );
    }
    assert_eq!(
        ftf_coordinator::ftf_coordinator_cancel_done(ptr::null(), 700 * MS, 0, job.attempt),
        FTF_NULL_PARAMETER
    );
    assert!(ftf_tracker::ftf_tracker_is_paused(t));
    // Acknowledged: resumes; a second acknowledgement is refused.
    assert_eq!(
        ftf_coordinator::ftf_coordinator_cancel_done(c, 700 * MS, 0, job.attempt),
        FTF_OK
    );
    assert_eq!(
        ftf_coordinator::ftf_coordinator_cancel_done(c, 700 * MS, 0, job.attempt),
        FTF_NO_RECOVERY
    );
    assert!(!ftf_tracker::ftf_tracker_is_paused(t));
    assert_eq!(stats(c).cancels_pending, 0);
    // The retry, then its timeout; this time the late result acknowledges.
    assert_eq!(ftf_coordinator::ftf_coordinator_tick(c, 700 * MS), FTF_OK);
    let a = actions(c);
    let run = a
        .iter()
        .find(|a| a.kind == FTF_ACTION_RUN_PHASE as u32)
        .expect("retry");
    assert_eq!(run.job.number, 2);
    assert_eq!(ftf_coordinator::ftf_coordinator_tick(c, 800 * MS), FTF_OK);
    actions(c);
    assert_eq!(
        ftf_coordinator::ftf_coordinator_phase_done(
            c,
            810 * MS,
            0,
            run.job.attempt,
            FTF_PHASE_VALIDATING as u32,
            true
        ),
        FTF_INVALID_TRANSITION
    );
    assert!(ftf_tracker::ftf_tracker_is_paused(t));
    assert_eq!(
        ftf_coordinator::ftf_coordinator_phase_done(
            c,
            810 * MS,
            0,
            run.job.attempt,
            FTF_PHASE_DETECTING as u32,
            true
        ),
        FTF_OK
    );
    assert!(!ftf_tracker::ftf_tracker_is_paused(t));
    ftf_tracker::ftf_tracker_free(t);
    ftf_coordinator::ftf_coordinator_free(c);
}

#[test]
fn freeing_a_coordinator_with_an_unacknowledged_cancel_reopens_the_tracker() {
    let cfg = config();
    let mut tr = ptr::null();
    assert_eq!(ftf_tracker::ftf_tracker_new(&mut tr), FTF_OK);
    let mut c = ptr::null();
    assert_eq!(
        ftf_coordinator::ftf_coordinator_new(cfg, 5, tr, 0, &mut c),
        FTF_OK
    );
    ftf_config::ftf_config_free(cfg);
    let mut out = 0;
    ftf_coordinator::ftf_coordinator_report(
        c,
        0,
        FTF_REPORT_CRASHED as u32,
        2,
        FTF_INCARNATION_ANY,
        &mut out,
    );
    actions(c);
    ftf_coordinator::ftf_coordinator_tick(c, 100 * MS);
    actions(c);
    let mut attempt = 0;
    assert_eq!(
        ftf_coordinator::ftf_coordinator_cancelling(c, 2, &mut attempt),
        FTF_OK
    );
    assert!(ftf_tracker::ftf_tracker_is_paused(tr));
    ftf_coordinator::ftf_coordinator_free(c);
    assert!(!ftf_tracker::ftf_tracker_is_paused(tr));
    ftf_tracker::ftf_tracker_free(tr);
}
