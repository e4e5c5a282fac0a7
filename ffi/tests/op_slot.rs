//! The op-token limitation (a token names a stripe, not an operation) and the checked slot API
//! that removes it, through the C ABI (also run under Miri).
#![allow(clippy::std_instead_of_core)] // std-only test code

use std::ptr;
use std::sync::Barrier;

use ftforest::op_slot::ftf_op_slot;
use ftforest::result::ftf_result::*;
use ftforest::tracker::*;

/// A tracker and a slot shared by threads (both are thread-safe by contract).
#[derive(Copy, Clone)]
struct Shared(*const ftf_tracker, *mut ftf_op_slot);
// SAFETY: the tracker handle and a slot are usable from any thread (atomics inside).
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

impl Shared {
    /// Ends the slot (a method, so closures capture the whole `Shared`, not its fields).
    fn end(self) -> ftforest::result::ftf_result {
        ftf_tracker::ftf_op_end_checked(self.0, self.1)
    }
}

fn new_tracker() -> *const ftf_tracker {
    let mut t = ptr::null();
    assert_eq!(ftf_tracker::ftf_tracker_new(&mut t), FTF_OK);
    t
}

/// The documented behaviour of a plain double end: detected on an idle stripe; on a busy
/// stripe it ends another operation's count (no corruption: the pause state stays exact and
/// the victim's own end is the one refused).
#[test]
fn plain_double_end_is_detected_only_on_an_idle_stripe() {
    let t = new_tracker();
    let (mut a, mut b) = (ftf_op_token::default(), ftf_op_token::default());
    // Idle stripe: the second end is refused.
    assert_eq!(ftf_tracker::ftf_op_begin_on(t, 3, &mut a), FTF_OK);
    assert_eq!(ftf_tracker::ftf_op_end(t, a), FTF_OK);
    assert_eq!(ftf_tracker::ftf_op_end(t, a), FTF_NOT_IN_FLIGHT);
    assert_eq!(ftf_tracker::ftf_tracker_in_flight(t), 0);
    // Busy stripe: `b` runs on the same stripe; a's second end takes b's count.
    assert_eq!(ftf_tracker::ftf_op_begin_on(t, 3, &mut a), FTF_OK);
    assert_eq!(ftf_tracker::ftf_op_begin_on(t, 3, &mut b), FTF_OK);
    assert_eq!(a, b, "the two tokens are the same value: (tracker, stripe)");
    assert_eq!(ftf_tracker::ftf_op_end(t, a), FTF_OK);
    assert_eq!(ftf_tracker::ftf_op_end(t, a), FTF_OK, "undetectable here");
    assert_eq!(ftf_tracker::ftf_tracker_in_flight(t), 0);
    // The hazard: a pause reports quiescence although b still runs.
    let mut p = ftf_pause_token::default();
    let mut q = false;
    assert_eq!(
        ftf_tracker::ftf_tracker_pause_wait(t, 0, &mut p, &mut q),
        FTF_OK
    );
    assert!(q);
    // b's own end is the detected one; the pause state is intact.
    assert_eq!(ftf_tracker::ftf_op_end(t, b), FTF_NOT_IN_FLIGHT);
    assert!(ftf_tracker::ftf_tracker_is_paused(t) && ftf_tracker::ftf_tracker_is_quiescent(t));
    assert_eq!(ftf_tracker::ftf_op_begin(t, &mut a), FTF_PAUSED);
    assert_eq!(ftf_tracker::ftf_tracker_resume(t, p), FTF_OK);
    assert!(!ftf_tracker::ftf_tracker_is_paused(t));
    assert_eq!(ftf_tracker::ftf_op_begin_on(t, 3, &mut a), FTF_OK);
    assert_eq!(ftf_tracker::ftf_tracker_in_flight(t), 1);
    assert_eq!(ftf_tracker::ftf_op_end(t, a), FTF_OK);
    ftf_tracker::ftf_tracker_free(t);
}

#[test]
fn checked_double_end_is_detected_on_a_busy_stripe() {
    let t = new_tracker();
    let (mut s1, mut s2) = (ftf_op_slot::default(), ftf_op_slot::default());
    assert_eq!(ftf_tracker::ftf_op_begin_checked(t, &mut s1), FTF_OK);
    assert_eq!(ftf_tracker::ftf_op_begin_checked(t, &mut s2), FTF_OK);
    assert_ne!(s1.state, 0);
    assert_eq!(s1.state, s2.state, "same thread, same stripe");
    assert_eq!(ftf_tracker::ftf_tracker_in_flight(t), 2);
    // A busy slot refuses a second begin and begins nothing.
    assert_eq!(ftf_tracker::ftf_op_begin_checked(t, &mut s1), FTF_BUSY);
    assert_eq!(ftf_tracker::ftf_tracker_in_flight(t), 2);
    assert_eq!(ftf_tracker::ftf_op_end_checked(t, &mut s1), FTF_OK);
    assert_eq!(s1.state, 0);
    assert_eq!(
        ftf_tracker::ftf_op_end_checked(t, &mut s1),
        FTF_NOT_IN_FLIGHT,
        "detected although s2 is in flight on the same stripe"
    );
    assert_eq!(ftf_tracker::ftf_tracker_in_flight(t), 1);
    let mut p = ftf_pause_token::default();
    let mut q = true;
    assert_eq!(
        ftf_tracker::ftf_tracker_pause_wait(t, 0, &mut p, &mut q),
        FTF_OK
    );
    assert!(!q, "s2 still holds the pause back");
    // Paused: the begin is refused and the slot stays empty.
    assert_eq!(ftf_tracker::ftf_op_begin_checked(t, &mut s1), FTF_PAUSED);
    assert_eq!(s1.state, 0);
    assert_eq!(ftf_tracker::ftf_op_end_checked(t, &mut s2), FTF_OK);
    assert_eq!(ftf_tracker::ftf_tracker_wait_quiescent(t, 0), FTF_OK);
    assert_eq!(ftf_tracker::ftf_tracker_resume(t, p), FTF_OK);
    // A slot is reusable once empty.
    assert_eq!(ftf_tracker::ftf_op_begin_checked(t, &mut s1), FTF_OK);
    assert_eq!(ftf_tracker::ftf_op_end_checked(t, &mut s1), FTF_OK);
    ftf_tracker::ftf_tracker_free(t);
}

#[test]
fn checked_misuse_is_reported_and_changes_nothing() {
    let t = new_tracker();
    let other = new_tracker();
    let mut s = ftf_op_slot::default();
    assert_eq!(
        ftf_tracker::ftf_op_begin_checked(ptr::null(), &mut s),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_tracker::ftf_op_begin_checked(t, ptr::null_mut()),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_tracker::ftf_op_end_checked(ptr::null(), &mut s),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_tracker::ftf_op_end_checked(t, ptr::null_mut()),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_tracker::ftf_op_end_checked(t, &mut s),
        FTF_NOT_IN_FLIGHT
    );
    // Another tracker's slot: refused, the slot keeps its operation.
    assert_eq!(ftf_tracker::ftf_op_begin_checked(t, &mut s), FTF_OK);
    let held = s.state;
    assert_eq!(
        ftf_tracker::ftf_op_end_checked(other, &mut s),
        FTF_FOREIGN_HANDLE
    );
    assert_eq!(s.state, held);
    assert_eq!(ftf_tracker::ftf_op_end_checked(t, &mut s), FTF_OK);
    // Garbage (an uninitialised slot): not a slot, or a forged operation of no tracker.
    let mut junk = ftf_op_slot { state: 0x1234 };
    assert_eq!(
        ftf_tracker::ftf_op_begin_checked(t, &mut junk),
        FTF_INVALID_ARGUMENT
    );
    assert_eq!(
        ftf_tracker::ftf_op_end_checked(t, &mut junk),
        FTF_INVALID_ARGUMENT
    );
    let mut forged = ftf_op_slot { state: 1 << 63 };
    assert_eq!(ftf_tracker::ftf_op_begin_checked(t, &mut forged), FTF_BUSY);
    assert_eq!(
        ftf_tracker::ftf_op_end_checked(t, &mut forged),
        FTF_FOREIGN_HANDLE
    );
    assert_eq!((junk.state, forged.state), (0x1234, 1 << 63));
    // A misaligned slot is refused before it is touched.
    let mut buf = [0u64; 2];
    let misaligned = buf
        .as_mut_ptr()
        .cast::<u8>()
        .wrapping_add(4)
        .cast::<ftf_op_slot>();
    assert_eq!(
        ftf_tracker::ftf_op_begin_checked(t, misaligned),
        FTF_INVALID_ARGUMENT
    );
    assert_eq!(
        ftf_tracker::ftf_op_end_checked(t, misaligned),
        FTF_INVALID_ARGUMENT
    );
    assert_eq!(buf, [0, 0]);
    assert_eq!(ftf_tracker::ftf_tracker_in_flight(t), 0);
    ftf_tracker::ftf_tracker_free(other);
    ftf_tracker::ftf_tracker_free(t);
}

/// Two threads end one slot at once: exactly one wins, whatever else is in flight.
#[test]
fn racing_checked_ends_have_one_winner() {
    let rounds = if cfg!(miri) { 3 } else { 300 };
    let t = new_tracker();
    let mut bystander = ftf_op_slot::default();
    assert_eq!(ftf_tracker::ftf_op_begin_checked(t, &mut bystander), FTF_OK);
    for _ in 0..rounds {
        let mut slot = ftf_op_slot::default();
        assert_eq!(ftf_tracker::ftf_op_begin_checked(t, &mut slot), FTF_OK);
        let shared = Shared(t, &mut slot);
        let start = Barrier::new(2);
        let results: Vec<_> = std::thread::scope(|s| {
            let ends: Vec<_> = (0..2)
                .map(|_| {
                    let start = &start;
                    s.spawn(move || {
                        start.wait();
                        shared.end()
                    })
                })
                .collect();
            ends.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let wins = results.iter().filter(|r| **r == FTF_OK).count();
        assert_eq!(wins, 1, "{results:?}");
        assert!(results.contains(&FTF_NOT_IN_FLIGHT));
        assert_eq!(
            ftf_tracker::ftf_tracker_in_flight(t),
            1,
            "the bystander stays"
        );
    }
    assert_eq!(ftf_tracker::ftf_op_end_checked(t, &mut bystander), FTF_OK);
    ftf_tracker::ftf_tracker_free(t);
}
