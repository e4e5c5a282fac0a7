//! Issue 8 through the C ABI (Miri too): fenced recovery (`FTF_ACTION_ACQUIRE_FENCE`,
//! `ftf_coordinator_fence_granted` / `_fence_refused`, the token in `ftf_phase_job.fence`,
//! `FTF_ACTION_RELEASE_FENCE` once), availability, the result codes of hostile answers and
//! out-parameters left untouched on error.
#![allow(clippy::std_instead_of_core)] // std-only test code

use std::ptr;

use ftforest::config::*;
use ftforest::coordinator::*;
use ftforest::enums::ftf_action_kind::*;
use ftforest::enums::ftf_event_kind::*;
use ftforest::enums::ftf_refusal::*;
use ftforest::enums::ftf_report_kind::*;
use ftforest::enums::*;
use ftforest::event::*;
use ftforest::result::ftf_result::*;
use ftforest::table::FTF_INCARNATION_ANY;

const MS: u64 = 1_000_000;

fn fenced_config() -> *const ftf_config {
    let mut b = ptr::null_mut();
    assert_eq!(ftf_config_builder::ftf_config_builder_new(&mut b), FTF_OK);
    let mut c = ptr::null();
    for r in [
        ftf_config_builder::ftf_config_builder_set_fenced(b, true),
        ftf_config_builder::ftf_config_builder_set_fence_retry_ns(b, 100 * MS),
        ftf_config_builder::ftf_config_builder_set_local_confirmation(b, false),
        ftf_config_builder::ftf_config_builder_build(b, &mut c),
    ] {
        assert_eq!(r, FTF_OK);
    }
    ftf_config_builder::ftf_config_builder_free(b);
    assert!(ftf_config::ftf_config_fenced(c));
    assert!(!ftf_config::ftf_config_local_confirmation(c));
    assert_eq!(ftf_config::ftf_config_fence_retry_ns(c), 100 * MS);
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

fn crash(c: *const ftf_coordinator, now: u64, rank: u32) {
    let mut out = 0;
    let kind = FTF_REPORT_CRASHED as u32;
    let r =
        ftf_coordinator::ftf_coordinator_report(c, now, kind, rank, FTF_INCARNATION_ANY, &mut out);
    assert_eq!(r, FTF_OK);
}

#[test]
fn fenced_recovery_through_the_c_abi() {
    let cfg = fenced_config();
    let mut c = ptr::null();
    assert_eq!(
        ftf_coordinator::ftf_coordinator_new(cfg, 5, ptr::null(), 0, &mut c),
        FTF_OK
    );
    ftf_config::ftf_config_free(cfg);
    crash(c, MS, 2);
    let a = actions(c);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].kind, FTF_ACTION_ACQUIRE_FENCE as u32);
    let job = a[0].job;
    assert_eq!((job.rank, job.number, job.fence), (2, 1, 0));
    let mut attempt = 0;
    assert_eq!(
        ftf_coordinator::ftf_coordinator_fencing(c, 2, &mut attempt),
        FTF_OK
    );
    assert_eq!(attempt, job.attempt);
    let mut token = 5;
    assert_eq!(
        ftf_coordinator::ftf_coordinator_fence(c, 2, &mut token),
        FTF_NO_RECOVERY
    );
    assert_eq!(token, 5, "out-parameter untouched on error");
    events(c);

    // Hostile answers: codes, nothing changes.
    let grant =
        |rank, attempt, token| ftf_coordinator_fence::grant(c, 2 * MS, rank, attempt, token);
    assert_eq!(grant(2, job.attempt, 0), FTF_INVALID_ARGUMENT);
    assert_eq!(grant(7, job.attempt, 9), FTF_UNKNOWN_PARTITION);
    assert_eq!(grant(2, job.attempt + 1, 9), FTF_NO_RECOVERY);
    assert_eq!(
        ftf_coordinator::ftf_coordinator_fence_refused(c, 2 * MS, 2, job.attempt, 6),
        FTF_UNKNOWN_ENUM
    );
    assert!(events(c).is_empty() && actions(c).is_empty());

    assert_eq!(grant(2, job.attempt, 9), FTF_OK);
    assert_eq!(grant(2, job.attempt, 9), FTF_BUSY);
    assert_eq!(
        ftf_coordinator::ftf_coordinator_fence(c, 2, &mut token),
        FTF_OK
    );
    assert_eq!(token, 9);
    let e = events(c);
    assert!(e
        .iter()
        .any(|e| e.kind == FTF_EVENT_FENCE_GRANTED as u32 && e.token == 9));
    let mut releases = 0;
    let mut now = 3 * MS;
    for _ in 0..10 {
        for a in actions(c) {
            if a.kind == FTF_ACTION_RUN_PHASE as u32 {
                assert_eq!(a.job.fence, 9);
                assert_eq!(
                    ftf_coordinator::ftf_coordinator_phase_done(
                        c,
                        now,
                        a.job.rank,
                        a.job.attempt,
                        a.job.phase,
                        true
                    ),
                    FTF_OK
                );
            }
            if a.kind == FTF_ACTION_RELEASE_FENCE as u32 {
                assert_eq!(
                    (a.job.rank, a.job.attempt, a.job.fence),
                    (2, job.attempt, 9)
                );
                assert!(a.completed);
                releases += 1;
            }
        }
        now += MS;
    }
    assert_eq!(releases, 1);

    // Availability: refused while unavailable, then a refusal with no retry consumed.
    assert_eq!(
        ftf_coordinator::ftf_coordinator_set_available(c, now, false),
        FTF_OK
    );
    assert!(!ftf_coordinator::ftf_coordinator_is_available(c));
    assert_ne!(
        ftf_coordinator::ftf_coordinator_alerts(c, now) & FTF_ALERT_COORDINATION_UNAVAILABLE,
        0
    );
    assert!(events(c)
        .iter()
        .any(|e| e.kind == FTF_EVENT_AVAILABILITY_CHANGED as u32 && !e.success));
    assert_eq!(
        ftf_coordinator::ftf_coordinator_set_available(c, now, true),
        FTF_OK
    );
    crash(c, now, 1);
    let a = actions(c);
    assert_eq!(a.len(), 1);
    assert_eq!(
        ftf_coordinator::ftf_coordinator_fence_refused(
            c,
            now,
            1,
            a[0].job.attempt,
            FTF_REFUSAL_AT_CAPACITY as u32
        ),
        FTF_OK
    );
    assert!(events(c)
        .iter()
        .any(|e| e.kind == FTF_EVENT_FENCE_REFUSED as u32
            && e.cause == FTF_REFUSAL_AT_CAPACITY as u32));
    assert_eq!(
        ftf_coordinator::ftf_coordinator_set_available(ptr::null(), now, true),
        FTF_NULL_PARAMETER
    );
    assert!(!ftf_coordinator::ftf_coordinator_is_available(ptr::null()));
    ftf_coordinator::ftf_coordinator_free(c);
}

/// Short-hand for the grant entry point (keeps the test readable).
mod ftf_coordinator_fence {
    use ftforest::coordinator::ftf_coordinator;
    use ftforest::result::ftf_result;

    pub fn grant(
        c: *const ftf_coordinator,
        now: u64,
        rank: u32,
        attempt: u32,
        token: u64,
    ) -> ftf_result {
        ftf_coordinator::ftf_coordinator_fence_granted(c, now, rank, attempt, token)
    }
}
