//! Issue 7 item 3 through the C ABI (Miri checks the handle hand-over): the last
//! `ftf_forest_free` from inside a listener while a phase on a worker keeps using the handle.
//! A hang fails by the watchdog (`recv_timeout`), not by CI's limit.
#![allow(clippy::std_instead_of_core)] // std-only test code

use core::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use ftforest::callbacks::{ftf_listener_handle, ftf_recovery_callbacks};
use ftforest::enums::ftf_report_kind::FTF_REPORT_CRASHED;
use ftforest::event::{ftf_event, ftf_phase_job};
use ftforest::forest::ftf_forest;
use ftforest::result::ftf_result::FTF_OK;
use ftforest::table::FTF_INCARNATION_ANY;

struct Shared {
    handle: AtomicPtr<ftf_forest>,
    main_let_go: AtomicBool,
    phase_entered: AtomicBool,
    freed: AtomicBool,
    saw_stop: AtomicBool,
    finalized: AtomicU32,
}

fn sh<'a>(ud: *mut c_void) -> &'a Shared {
    // SAFETY: the test's Shared outlives the forest (it waits for the finalizer).
    unsafe { &*(ud as *const Shared) }
}

fn forest(s: &Shared) -> *const ftf_forest {
    s.handle.load(Ordering::SeqCst).cast_const()
}

unsafe extern "C" fn phase(ud: *mut c_void, job: *const ftf_phase_job) -> bool {
    let s = sh(ud);
    // SAFETY: valid for the call.
    let job = unsafe { &*job };
    if job.rank == 1 && !s.phase_entered.swap(true, Ordering::SeqCst) {
        while !s.main_let_go.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        let f = forest(s);
        let mut out = 0;
        // An event for the listener, which frees the last reference while this phase runs.
        ftf_forest::ftf_forest_report(
            f,
            FTF_REPORT_CRASHED as u32,
            2,
            FTF_INCARNATION_ANY,
            &mut out,
        );
        while ftf_forest::ftf_forest_is_running(f) {
            std::thread::yield_now();
        }
        s.saw_stop.store(true, Ordering::SeqCst);
    }
    true
}

unsafe extern "C" fn listener(ud: *mut c_void, ev: *const ftf_event) {
    let s = sh(ud);
    // SAFETY: valid for the call.
    let ev = unsafe { &*ev };
    if ev.rank == 2
        && s.phase_entered.load(Ordering::SeqCst)
        && !s.freed.swap(true, Ordering::SeqCst)
    {
        ftf_forest::ftf_forest_free(forest(s)); // the last reference
    }
}

unsafe extern "C" fn finalize(ud: *mut c_void) {
    sh(ud).finalized.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn last_free_in_a_listener_while_a_phase_uses_the_handle() {
    let raw = Box::into_raw(Box::new(Shared {
        handle: AtomicPtr::new(ptr::null_mut()),
        main_let_go: AtomicBool::new(false),
        phase_entered: AtomicBool::new(false),
        freed: AtomicBool::new(false),
        saw_stop: AtomicBool::new(false),
        finalized: AtomicU32::new(0),
    }));
    // SAFETY: freed below only after the finalizer ran (nothing uses it afterwards).
    let s: &'static Shared = unsafe { &*raw };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let ud = s as *const Shared as *mut c_void;
        let cb = ftf_recovery_callbacks {
            userdata: ud,
            run_phase: Some(phase),
            cancel: None,
            pause_balancer: None,
            resume_balancer: None,
            pause_ghost_sync: None,
            resume_ghost_sync: None,
            finalizer: Some(finalize),
        };
        let mut f = ptr::null();
        assert_eq!(
            ftf_forest::ftf_forest_new(ptr::null(), 4, ptr::null(), &cb, &mut f),
            FTF_OK
        );
        s.handle.store(f.cast_mut(), Ordering::SeqCst); // this reference is the listener's
        let mine = ftf_forest::ftf_forest_clone(f);
        let mut h = ftf_listener_handle::default();
        assert_eq!(
            ftf_forest::ftf_forest_subscribe(mine, Some(listener), ud, None, &mut h),
            FTF_OK
        );
        assert_eq!(ftf_forest::ftf_forest_start(mine), FTF_OK);
        let mut out = 0;
        assert_eq!(
            ftf_forest::ftf_forest_report(
                mine,
                FTF_REPORT_CRASHED as u32,
                1,
                FTF_INCARNATION_ANY,
                &mut out
            ),
            FTF_OK
        );
        while !s.phase_entered.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        ftf_forest::ftf_forest_free(mine); // not the last
        s.main_let_go.store(true, Ordering::SeqCst);
        while s.finalized.load(Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("deadlock: the last free in a listener");
    assert!(s.saw_stop.load(Ordering::SeqCst));
    assert_eq!(s.finalized.load(Ordering::SeqCst), 1);
    // SAFETY: the finalizer ran: the library holds no reference to `raw` any more.
    drop(unsafe { Box::from_raw(raw) });
}
