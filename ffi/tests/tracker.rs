//! The tracker's C ABI called from Rust (also run under Miri).
#![allow(clippy::std_instead_of_core)] // std-only test code

use core::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use ftforest::result::ftf_result::{self, *};
use ftforest::tracker::*;
use ftforest::wait::*;

/// A tracker pointer that may cross threads (the handle is thread-safe by contract).
#[derive(Copy, Clone)]
struct Shared(*const ftf_tracker);
// SAFETY: `ftf_tracker` handles are usable from any thread.
unsafe impl Send for Shared {}

fn new_tracker() -> *const ftf_tracker {
    let mut t = ptr::null();
    assert_eq!(ftf_tracker::ftf_tracker_new(&mut t), FTF_OK);
    assert!(!t.is_null());
    t
}

#[test]
fn begin_end_pause_resume() {
    let t = new_tracker();
    let mut op = ftf_op_token::default();
    assert_eq!(ftf_tracker::ftf_op_begin(t, &mut op), FTF_OK);
    assert_eq!(op.tracker_id, ftf_tracker::ftf_tracker_id(t));
    assert_eq!(ftf_tracker::ftf_tracker_in_flight(t), 1);

    let mut p = ftf_pause_token::default();
    assert_eq!(ftf_tracker::ftf_tracker_pause(t, &mut p), FTF_OK);
    assert!(ftf_tracker::ftf_tracker_is_paused(t));
    let mut op2 = ftf_op_token::default();
    assert_eq!(ftf_tracker::ftf_op_begin(t, &mut op2), FTF_PAUSED);
    assert_eq!(op2, ftf_op_token::default(), "out-param untouched on error");
    assert_eq!(ftf_tracker::ftf_tracker_wait_quiescent(t, 0), FTF_TIMEOUT);
    assert_eq!(ftf_tracker::ftf_op_end(t, op), FTF_OK);
    assert_eq!(ftf_tracker::ftf_tracker_wait_quiescent(t, 0), FTF_OK);
    assert!(ftf_tracker::ftf_tracker_is_quiescent(t));
    assert_eq!(ftf_tracker::ftf_tracker_resume(t, p), FTF_OK);
    assert_eq!(ftf_tracker::ftf_tracker_resume(t, p), FTF_NOT_PAUSED);
    assert_eq!(
        ftf_tracker::ftf_tracker_wait_quiescent(t, 0),
        FTF_NOT_PAUSED
    );
    assert_eq!(ftf_tracker::ftf_op_end(t, op), FTF_NOT_IN_FLIGHT);
    assert_eq!(ftf_tracker::ftf_op_begin_on(t, 12345, &mut op2), FTF_OK);
    assert_eq!(ftf_tracker::ftf_op_end(t, op2), FTF_OK);
    ftf_tracker::ftf_tracker_free(t);
}

#[test]
fn counted_pauses_and_pause_wait() {
    let t = new_tracker();
    let (mut a, mut b) = (ftf_pause_token::default(), ftf_pause_token::default());
    let mut q = false;
    assert_eq!(
        ftf_tracker::ftf_tracker_pause_wait(t, 0, &mut a, &mut q),
        FTF_OK
    );
    assert!(q);
    assert_eq!(ftf_tracker::ftf_tracker_pause(t, &mut b), FTF_OK);
    assert_eq!(ftf_tracker::ftf_tracker_pause_depth(t), 2);
    assert_eq!(ftf_tracker::ftf_tracker_resume(t, a), FTF_OK);
    assert!(
        ftf_tracker::ftf_tracker_is_paused(t),
        "one pause still held"
    );
    assert_eq!(ftf_tracker::ftf_tracker_resume(t, b), FTF_OK);
    assert!(!ftf_tracker::ftf_tracker_is_paused(t));

    let mut tokens = [ftf_pause_token::default(); FTF_MAX_PAUSERS as usize];
    for tok in tokens.iter_mut() {
        assert_eq!(ftf_tracker::ftf_tracker_pause(t, tok), FTF_OK);
    }
    let mut extra = ftf_pause_token::default();
    assert_eq!(
        ftf_tracker::ftf_tracker_pause(t, &mut extra),
        FTF_TOO_MANY_PAUSERS
    );
    for tok in tokens {
        assert_eq!(ftf_tracker::ftf_tracker_resume(t, tok), FTF_OK);
    }
    ftf_tracker::ftf_tracker_free(t);
}

#[test]
fn foreign_tokens_and_nulls() {
    let t1 = new_tracker();
    let t2 = new_tracker();
    let mut op = ftf_op_token::default();
    assert_eq!(ftf_tracker::ftf_op_begin(t1, &mut op), FTF_OK);
    assert_eq!(ftf_tracker::ftf_op_end(t2, op), FTF_FOREIGN_HANDLE);
    let forged = ftf_op_token { stripe: 999, ..op };
    assert_eq!(ftf_tracker::ftf_op_end(t1, forged), FTF_FOREIGN_HANDLE);
    let mut p = ftf_pause_token::default();
    assert_eq!(ftf_tracker::ftf_tracker_pause(t1, &mut p), FTF_OK);
    assert_eq!(ftf_tracker::ftf_tracker_resume(t2, p), FTF_FOREIGN_HANDLE);
    assert_eq!(ftf_tracker::ftf_tracker_resume(t1, p), FTF_OK);
    assert_eq!(ftf_tracker::ftf_op_end(t1, op), FTF_OK);

    assert_eq!(
        ftf_tracker::ftf_tracker_new(ptr::null_mut()),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_tracker::ftf_op_begin(ptr::null(), &mut op),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_tracker::ftf_op_begin(t1, ptr::null_mut()),
        FTF_NULL_PARAMETER
    );
    assert_eq!(ftf_tracker::ftf_op_end(ptr::null(), op), FTF_NULL_PARAMETER);
    assert_eq!(
        ftf_tracker::ftf_tracker_pause(ptr::null(), &mut p),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_tracker::ftf_tracker_pause_wait(t1, 0, &mut p, ptr::null_mut()),
        FTF_NULL_PARAMETER
    );
    assert!(
        !ftf_tracker::ftf_tracker_is_paused(t1),
        "NULL out-param took no pause"
    );
    assert_eq!(
        ftf_tracker::ftf_tracker_resume(ptr::null(), p),
        FTF_NULL_PARAMETER
    );
    assert_eq!(ftf_tracker::ftf_tracker_id(ptr::null()), 0);
    assert_eq!(ftf_tracker::ftf_tracker_in_flight(ptr::null()), 0);
    assert!(ftf_tracker::ftf_tracker_clone(ptr::null()).is_null());
    ftf_tracker::ftf_tracker_free(ptr::null());

    let c = ftf_tracker::ftf_tracker_clone(t1);
    assert_eq!(c, t1);
    ftf_tracker::ftf_tracker_free(t1);
    assert_eq!(
        ftf_tracker::ftf_op_begin(c, &mut op),
        FTF_OK,
        "clone keeps it alive"
    );
    // Freed with an operation in flight: allowed, nothing leaks.
    ftf_tracker::ftf_tracker_free(c);
    ftf_tracker::ftf_tracker_free(t2);
}

#[test]
fn wait_kinds_are_range_checked() {
    let mut t = ptr::null();
    assert_eq!(
        ftf_tracker::ftf_tracker_new_with_wait(3, ptr::null(), &mut t),
        FTF_UNKNOWN_ENUM
    );
    assert_eq!(
        ftf_tracker::ftf_tracker_new_with_wait(u32::MAX, ptr::null(), &mut t),
        FTF_UNKNOWN_ENUM
    );
    assert_eq!(
        ftf_tracker::ftf_tracker_new_with_wait(
            ftf_wait_kind::FTF_WAIT_CALLBACKS as u32,
            ptr::null(),
            &mut t
        ),
        FTF_NULL_PARAMETER
    );
    assert!(t.is_null());
    assert_eq!(
        ftf_tracker::ftf_tracker_new_with_wait(
            ftf_wait_kind::FTF_WAIT_SPIN as u32,
            ptr::null(),
            &mut t
        ),
        FTF_OK
    );
    let mut p = ftf_pause_token::default();
    let mut q = false;
    assert_eq!(
        ftf_tracker::ftf_tracker_pause_wait(t, 1_000, &mut p, &mut q),
        FTF_OK
    );
    assert!(q);
    ftf_tracker::ftf_tracker_free(t);
}

/// A spin-based "C" wait strategy implemented in Rust with the C signatures, counting calls.
struct Counters {
    waits: AtomicUsize,
    wakes: AtomicUsize,
    finalized: AtomicUsize,
}

unsafe extern "C" fn test_wait(ud: *mut c_void, addr: *mut u32, expected: u32, _deadline: u64) {
    // SAFETY: the tests pass a `Counters` that outlives the tracker.
    let c = unsafe { &*(ud as *const Counters) };
    c.waits.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the library passes the address of a live atomic word.
    let word = unsafe { AtomicU32::from_ptr(addr) };
    if word.load(Ordering::SeqCst) == expected {
        std::thread::yield_now();
    }
}

unsafe extern "C" fn test_wake(ud: *mut c_void, _addr: *mut u32) {
    // SAFETY: as in test_wait.
    let c = unsafe { &*(ud as *const Counters) };
    c.wakes.fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn test_finalize(ud: *mut c_void) {
    // SAFETY: as in test_wait.
    let c = unsafe { &*(ud as *const Counters) };
    c.finalized.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn callback_wait_strategy_blocks_and_finalizes_once() {
    let counters = Counters {
        waits: AtomicUsize::new(0),
        wakes: AtomicUsize::new(0),
        finalized: AtomicUsize::new(0),
    };
    let cb = ftf_wait_callbacks {
        userdata: &counters as *const Counters as *mut c_void,
        wait: Some(test_wait),
        wake: Some(test_wake),
        finalizer: Some(test_finalize),
    };
    let mut t = ptr::null();
    assert_eq!(
        ftf_tracker::ftf_tracker_new_with_wait(
            ftf_wait_kind::FTF_WAIT_CALLBACKS as u32,
            &cb,
            &mut t
        ),
        FTF_OK
    );
    let shared = Shared(t);
    let mut op = ftf_op_token::default();
    assert_eq!(ftf_tracker::ftf_op_begin(t, &mut op), FTF_OK);
    let waits = &counters.waits;
    let ender = std::thread::scope(|scope| {
        let h = scope.spawn(move || {
            // End the operation only once the pauser has blocked in the C wait callback
            // (deterministic: it cannot become quiescent before this end).
            while waits.load(Ordering::SeqCst) == 0 {
                std::thread::yield_now();
            }
            ftf_tracker::ftf_op_end({ shared }.0, op)
        });
        let mut p = ftf_pause_token::default();
        let mut q = false;
        assert_eq!(
            ftf_tracker::ftf_tracker_pause_wait(t, u64::MAX, &mut p, &mut q),
            FTF_OK
        );
        assert!(q, "quiescent once the other thread ended its operation");
        (h.join().ok(), p)
    });
    let (ended, p) = ender;
    assert_eq!(ended, Some(FTF_OK));
    assert!(
        counters.waits.load(Ordering::SeqCst) > 0,
        "the pauser blocked through the callback"
    );
    assert_eq!(ftf_tracker::ftf_tracker_resume(t, p), FTF_OK);
    assert_eq!(counters.finalized.load(Ordering::SeqCst), 0);
    ftf_tracker::ftf_tracker_free(t);
    assert_eq!(counters.finalized.load(Ordering::SeqCst), 1);
    let _ = counters.wakes.load(Ordering::SeqCst);
}

#[test]
fn begin_wait_is_woken_by_resume() {
    let t = new_tracker();
    let mut p = ftf_pause_token::default();
    assert_eq!(ftf_tracker::ftf_tracker_pause(t, &mut p), FTF_OK);
    let mut op = ftf_op_token::default();
    assert_eq!(
        ftf_tracker::ftf_op_begin_wait(t, 1_000_000, &mut op),
        FTF_TIMEOUT
    );
    let shared = Shared(t);
    let waiter = std::thread::spawn(move || {
        let t = { shared }.0;
        let mut op = ftf_op_token::default();
        let rc = ftf_tracker::ftf_op_begin_wait(t, u64::MAX, &mut op);
        (rc, ftf_tracker::ftf_op_end(t, op))
    });
    std::thread::sleep(std::time::Duration::from_millis(10));
    assert_eq!(ftf_tracker::ftf_tracker_resume(t, p), FTF_OK);
    assert_eq!(waiter.join().ok(), Some((FTF_OK, FTF_OK)));
    ftf_tracker::ftf_tracker_free(t);
}

#[test]
fn many_threads_one_handle() {
    let t = new_tracker();
    let shared = Shared(t);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let t = { shared }.0;
                let mut ok = 0u32;
                for _ in 0..200 {
                    let mut op = ftf_op_token::default();
                    match ftf_tracker::ftf_op_begin(t, &mut op) {
                        FTF_OK => {
                            assert_eq!(ftf_tracker::ftf_op_end(t, op), FTF_OK);
                            ok += 1;
                        }
                        rc => assert_eq!(rc, FTF_PAUSED),
                    }
                }
                ok
            })
        })
        .collect();
    for _ in 0..20 {
        let mut p = ftf_pause_token::default();
        let mut q = false;
        assert_eq!(
            ftf_tracker::ftf_tracker_pause_wait(t, u64::MAX, &mut p, &mut q),
            FTF_OK
        );
        // Quiescent; `in_flight` may still count a rejected begin's transient increment.
        assert!(q);
        assert_eq!(ftf_tracker::ftf_tracker_resume(t, p), FTF_OK);
    }
    let total: u32 = threads.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    assert!(total <= 800);
    assert_eq!(ftf_tracker::ftf_tracker_in_flight(t), 0);
    ftf_tracker::ftf_tracker_free(t);
    let _: ftf_result = FTF_OK;
}
