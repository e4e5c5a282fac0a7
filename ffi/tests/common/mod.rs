//! Helpers shared by the ffi integration tests.
#![allow(dead_code)] // each test file uses a part

use core::ffi::c_void;
use std::ptr;

use ftforest::callbacks::ftf_recovery_callbacks;
use ftforest::event::ftf_phase_job;
use ftforest::forest::ftf_forest;
use ftforest::result::ftf_result::FTF_OK;
use ftforest::wait::ftf_finalizer_fn;

unsafe extern "C" fn run_phase_ok(_: *mut c_void, _: *const ftf_phase_job) -> bool {
    true
}

/// Recovery callbacks whose phases all succeed, no userdata, the given finalizer.
pub fn ok_callbacks(finalizer: ftf_finalizer_fn) -> ftf_recovery_callbacks {
    ftf_recovery_callbacks {
        userdata: ptr::null_mut(),
        run_phase: Some(run_phase_ok),
        cancel: None,
        pause_balancer: None,
        resume_balancer: None,
        pause_ghost_sync: None,
        resume_ghost_sync: None,
        finalizer,
    }
}

/// A forest of `n` partitions with the library clock and `callbacks` (asserted created).
pub fn new_forest(n: u32, callbacks: &ftf_recovery_callbacks) -> *const ftf_forest {
    let mut f = ptr::null();
    assert_eq!(
        ftf_forest::ftf_forest_new(ptr::null(), n, ptr::null(), callbacks, &mut f),
        FTF_OK
    );
    f
}

/// Runs `f` on a thread; fails if it does not return within `limit` (the watchdog).
pub fn within<T: Send + 'static>(
    limit: std::time::Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("watchdog: did not return within {limit:?}"))
}
