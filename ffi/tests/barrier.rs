//! The barrier decorator through the C ABI (also run under Miri): every timeout reported,
//! an invalid callback result counted as a timeout, and a wait's report pinned to the
//! incarnation the partition had when the wait began.
#![allow(clippy::std_instead_of_core)] // std-only test code

use core::ffi::c_void;
use std::ptr;

use ftforest::barrier::*;
use ftforest::coordinator::*;
use ftforest::enums::ftf_report_kind::*;
use ftforest::enums::ftf_report_outcome::*;
use ftforest::enums::*;
use ftforest::result::ftf_result::{self, *};
use ftforest::table::ftf_health::*;
use ftforest::table::FTF_INCARNATION_ANY;

const MS: u64 = 1_000_000;

unsafe extern "C" fn scripted_barrier(ud: *mut c_void, _rank: u32, _timeout: u64) -> u32 {
    // SAFETY: the test passes a Vec<u32> that outlives the barrier.
    let script = unsafe { &mut *(ud as *mut Vec<u32>) };
    script
        .pop()
        .unwrap_or(ftf_barrier_outcome::FTF_BARRIER_PASSED as u32)
}

#[test]
fn barrier_reports_every_timeout() {
    let mut c = ptr::null();
    assert_eq!(
        ftf_coordinator::ftf_coordinator_new(
            ptr::null(),
            3,
            ptr::null(),
            ftforest::clock::ftf_now_ns(),
            &mut c
        ),
        FTF_OK
    );
    // Popped from the back: timeout, garbage, timeout, pass.
    let mut script: Vec<u32> = vec![0, 1, 42, 1];
    let mut b = ptr::null_mut();
    assert_eq!(
        ftf_barrier::ftf_barrier_new_for_coordinator(
            c,
            3,
            Some(scripted_barrier),
            ptr::null_mut(),
            None,
            true,
            &mut b
        ),
        FTF_UNKNOWN_PARTITION
    );
    assert_eq!(
        ftf_barrier::ftf_barrier_new_for_coordinator(
            c,
            1,
            None,
            ptr::null_mut(),
            None,
            true,
            &mut b
        ),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_barrier::ftf_barrier_new_for_coordinator(
            c,
            1,
            Some(scripted_barrier),
            &mut script as *mut Vec<u32> as *mut c_void,
            None,
            true,
            &mut b
        ),
        FTF_OK
    );
    let mut out = 99;
    let mut last = 99;
    assert_eq!(
        ftf_barrier::ftf_barrier_last_report(b, &mut last),
        FTF_EMPTY
    );
    assert_eq!(ftf_barrier::ftf_barrier_wait(b, MS, &mut out), FTF_OK);
    assert_eq!(out, ftf_barrier_outcome::FTF_BARRIER_TIMED_OUT as u32);
    assert_eq!(ftf_barrier::ftf_barrier_last_report(b, &mut last), FTF_OK);
    assert_eq!(last, FTF_REPORT_COUNTED as u32);
    out = 99;
    assert_eq!(
        ftf_barrier::ftf_barrier_wait(b, MS, &mut out),
        FTF_CALLBACK_FAILED
    );
    assert_eq!(out, 99);
    // Two consecutive failures (the invalid result counted as a timeout): SUSPECTED.
    let (mut h, mut inc) = (0, 0);
    assert_eq!(
        ftf_coordinator::ftf_coordinator_health(c, 1, &mut h, &mut inc),
        FTF_OK
    );
    assert_eq!(h, FTF_HEALTH_SUSPECTED as u32);
    assert_eq!(ftf_barrier::ftf_barrier_wait(b, MS, &mut out), FTF_OK);
    assert_eq!(ftf_barrier::ftf_barrier_wait(b, MS, &mut out), FTF_OK);
    assert_eq!(out, ftf_barrier_outcome::FTF_BARRIER_PASSED as u32);
    assert_eq!(ftf_barrier::ftf_barrier_last_report(b, &mut last), FTF_OK);
    assert_eq!(last, FTF_REPORT_CLEARED as u32);
    assert_eq!(
        ftf_coordinator::ftf_coordinator_health(c, 1, &mut h, &mut inc),
        FTF_OK
    );
    assert_eq!(
        h, FTF_HEALTH_HEALTHY as u32,
        "a pass clears the suspicion (false alarm)"
    );
    assert_eq!(ftf_barrier::ftf_barrier_timeouts(b), 3);
    assert_eq!(ftf_barrier::ftf_barrier_report_errors(b), 0);
    assert_eq!(
        ftf_barrier::ftf_barrier_wait(ptr::null_mut(), MS, &mut out),
        FTF_NULL_PARAMETER
    );
    ftf_coordinator::ftf_coordinator_free(c); // the barrier keeps it alive
    assert_eq!(ftf_barrier::ftf_barrier_wait(b, MS, &mut out), FTF_OK);
    ftf_barrier::ftf_barrier_free(b);
    ftf_barrier::ftf_barrier_free(ptr::null_mut());
    let _: ftf_result = FTF_OK;
}

/// What the during-wait callback needs: the script and the coordinator to report to.
struct Healing {
    coordinator: *const ftf_coordinator,
    outcome: u32,
}

/// A barrier whose partition is cleared (a HEALTHY report, new incarnation) while it waits,
/// and which then times out.
unsafe extern "C" fn healing_barrier(ud: *mut c_void, rank: u32, _timeout: u64) -> u32 {
    // SAFETY: the test passes a `Healing` that outlives the barrier.
    let h = unsafe { &mut *(ud as *mut Healing) };
    let kind = FTF_REPORT_HEALTHY as u32;
    let now = ftforest::clock::ftf_now_ns();
    let rc = ftf_coordinator::ftf_coordinator_report(
        h.coordinator,
        now,
        kind,
        rank,
        FTF_INCARNATION_ANY,
        &mut h.outcome,
    );
    assert_eq!(rc, FTF_OK);
    ftf_barrier_outcome::FTF_BARRIER_TIMED_OUT as u32
}

#[test]
fn a_wait_across_a_new_incarnation_is_stale() {
    let mut c = ptr::null();
    let now = ftforest::clock::ftf_now_ns();
    assert_eq!(
        ftf_coordinator::ftf_coordinator_new(ptr::null(), 3, ptr::null(), now, &mut c),
        FTF_OK
    );
    let mut out = 0;
    for _ in 0..2 {
        let kind = FTF_REPORT_BARRIER_TIMEOUT as u32;
        let rc = ftf_coordinator::ftf_coordinator_report(c, now, kind, 2, u32::MAX, &mut out);
        assert_eq!(rc, FTF_OK);
    }
    assert_eq!(out, FTF_REPORT_SUSPECTED as u32);
    let mut healing = Healing {
        coordinator: c,
        outcome: 99,
    };
    let mut b = ptr::null_mut();
    assert_eq!(
        ftf_barrier::ftf_barrier_new_for_coordinator(
            c,
            2,
            Some(healing_barrier),
            &mut healing as *mut Healing as *mut c_void,
            None,
            true,
            &mut b
        ),
        FTF_OK
    );
    assert_eq!(ftf_barrier::ftf_barrier_wait(b, MS, &mut out), FTF_OK);
    assert_eq!(out, ftf_barrier_outcome::FTF_BARRIER_TIMED_OUT as u32);
    assert_eq!(healing.outcome, FTF_REPORT_CLEARED as u32);
    let mut last = 99;
    assert_eq!(ftf_barrier::ftf_barrier_last_report(b, &mut last), FTF_OK);
    assert_eq!(last, FTF_REPORT_STALE as u32, "about incarnation 0, now 1");
    let mut info = ftforest::coordinator_state::ftf_partition_info::default();
    assert_eq!(
        ftf_coordinator::ftf_coordinator_partition(c, 2, &mut info),
        FTF_OK
    );
    assert_eq!(
        (info.health, info.incarnation, info.consecutive_failures),
        (FTF_HEALTH_HEALTHY as u32, 1, 0)
    );
    assert_eq!(
        ftf_barrier::ftf_barrier_last_report(ptr::null(), &mut last),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_barrier::ftf_barrier_last_report(b, ptr::null_mut()),
        FTF_NULL_PARAMETER
    );
    ftf_barrier::ftf_barrier_free(b);
    ftf_coordinator::ftf_coordinator_free(c);
}
