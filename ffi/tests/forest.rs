//! The forest runtime (monitor threads + C callbacks + listeners) through the C ABI.
#![allow(clippy::std_instead_of_core)] // std-only test code

use core::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use ftforest::callbacks::*;
use ftforest::enums::ftf_event_kind::*;
use ftforest::enums::ftf_report_kind::*;
use ftforest::enums::*;
use ftforest::event::*;
use ftforest::forest::*;
use ftforest::result::ftf_result::*;
use ftforest::stats::ftf_stats;
use ftforest::table::ftf_health::*;
use ftforest::table::FTF_INCARNATION_ANY;
use ftforest::tracker::*;

#[derive(Default)]
struct Embedder {
    phases: AtomicU32,
    fail_first: AtomicU32,
    pauses: AtomicU32,
    resumes: AtomicU32,
    finalized: AtomicU32,
    events: Mutex<Vec<ftf_event>>,
    listener_finalized: AtomicU32,
}

fn emb<'a>(ud: *mut c_void) -> &'a Embedder {
    // SAFETY: the tests pass an Embedder that outlives the forest.
    unsafe { &*(ud as *const Embedder) }
}

unsafe extern "C" fn run_phase(ud: *mut c_void, job: *const ftf_phase_job) -> bool {
    let e = emb(ud);
    // SAFETY: valid for the call.
    let job = unsafe { &*job };
    e.phases.fetch_add(1, Ordering::SeqCst);
    // Fail the very first phase once: the attempt is retried with backoff.
    !(job.number == 1 && e.fail_first.swap(0, Ordering::SeqCst) == 1)
}
unsafe extern "C" fn pause(ud: *mut c_void) {
    emb(ud).pauses.fetch_add(1, Ordering::SeqCst);
}
unsafe extern "C" fn resume(ud: *mut c_void) {
    emb(ud).resumes.fetch_add(1, Ordering::SeqCst);
}
unsafe extern "C" fn finalize(ud: *mut c_void) {
    emb(ud).finalized.fetch_add(1, Ordering::SeqCst);
}
unsafe extern "C" fn on_event(ud: *mut c_void, ev: *const ftf_event) {
    // SAFETY: valid for the call.
    let ev = unsafe { *ev };
    emb(ud)
        .events
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(ev);
}
unsafe extern "C" fn listener_fin(ud: *mut c_void) {
    emb(ud).listener_finalized.fetch_add(1, Ordering::SeqCst);
}

fn callbacks(e: &Embedder) -> ftf_recovery_callbacks {
    ftf_recovery_callbacks {
        userdata: e as *const Embedder as *mut c_void,
        run_phase: Some(run_phase),
        cancel: None,
        pause_balancer: Some(pause),
        resume_balancer: Some(resume),
        pause_ghost_sync: None,
        resume_ghost_sync: None,
        finalizer: Some(finalize),
    }
}

fn wait_until(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..2000 {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

#[test]
fn crash_is_recovered_by_the_runtime_with_one_retry() {
    let owner = Box::into_raw(Box::new(Embedder::default()));
    // SAFETY: freed at the end of the test, after the forest (and its threads) are gone.
    let e: &Embedder = unsafe { &*owner };
    e.fail_first.store(1, Ordering::SeqCst);
    let mut b = ptr::null_mut();
    assert_eq!(
        ftforest::config::ftf_config_builder::ftf_config_builder_new(&mut b),
        FTF_OK
    );
    assert_eq!(
        ftforest::config::ftf_config_builder::ftf_config_builder_set_backoff_ns(
            b, 1_000_000, 2_000_000
        ),
        FTF_OK
    );
    let mut cfg = ptr::null();
    assert_eq!(
        ftforest::config::ftf_config_builder::ftf_config_builder_build(b, &mut cfg),
        FTF_OK
    );
    ftforest::config::ftf_config_builder::ftf_config_builder_free(b);
    let cb = callbacks(e);
    let mut f = ptr::null();
    assert_eq!(
        ftf_forest::ftf_forest_new(cfg, 5, ptr::null(), &cb, &mut f),
        FTF_OK
    );
    ftforest::config::ftf_config::ftf_config_free(cfg);
    let mut h = ftf_listener_handle::default();
    assert_eq!(
        ftf_forest::ftf_forest_subscribe(
            f,
            Some(on_event),
            e as *const Embedder as *mut c_void,
            Some(listener_fin),
            &mut h
        ),
        FTF_OK
    );
    assert_eq!(ftf_forest::ftf_forest_stop(f), FTF_NOT_RUNNING);
    assert_eq!(ftf_forest::ftf_forest_start(f), FTF_OK);
    assert_eq!(ftf_forest::ftf_forest_start(f), FTF_ALREADY_RUNNING);
    assert!(ftf_forest::ftf_forest_is_running(f));

    let mut out = 0;
    assert_eq!(
        ftf_forest::ftf_forest_report(
            f,
            FTF_REPORT_CRASHED as u32,
            2,
            FTF_INCARNATION_ANY,
            &mut out
        ),
        FTF_OK
    );
    assert_eq!(out, ftf_report_outcome::FTF_REPORT_FAILED as u32);
    let healthy_again = wait_until(|| {
        let (mut hh, mut inc) = (0, 0);
        ftf_forest::ftf_forest_health(f, 2, &mut hh, &mut inc) == FTF_OK
            && hh == FTF_HEALTH_HEALTHY as u32
            && inc == 1
    });
    assert!(healthy_again, "partition 2 recovered");
    assert!(
        wait_until(|| e.resumes.load(Ordering::SeqCst) >= 1),
        "balancer resumed"
    );
    assert!(wait_until(|| e
        .events
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .any(|ev| ev.kind == FTF_EVENT_RECOVERY_FINISHED as u32)));
    assert_eq!(ftf_forest::ftf_forest_stop(f), FTF_OK);
    assert_eq!(e.phases.load(Ordering::SeqCst), 5, "1 failed + 4 phases");
    assert_eq!(
        e.pauses.load(Ordering::SeqCst),
        e.resumes.load(Ordering::SeqCst)
    );
    let mut s = ftf_stats::default();
    assert_eq!(ftf_forest::ftf_forest_stats(f, &mut s), FTF_OK);
    assert_eq!(
        (
            s.recoveries_attempted,
            s.recoveries_failed,
            s.recoveries_succeeded,
            s.recoveries_retried
        ),
        (2, 1, 1, 1)
    );
    let events = e.events.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let fin = events
        .iter()
        .find(|ev| ev.kind == FTF_EVENT_RECOVERY_FINISHED as u32)
        .copied();
    assert_eq!(
        fin.map(|x| (x.rank, x.success, x.number)),
        Some((2, true, 2))
    );
    assert!(events
        .iter()
        .any(|ev| ev.kind == FTF_EVENT_RETRY_SCHEDULED as u32));
    assert_eq!(
        ftf_forest::ftf_forest_level(f),
        ftf_level::FTF_LEVEL_HEALTHY as u32
    );
    let mut need = 0usize;
    assert_eq!(
        ftf_forest::ftf_forest_metrics(f, ptr::null_mut(), 0, &mut need),
        FTF_BUFFER_TOO_SMALL
    );
    let mut buf = vec![0 as core::ffi::c_char; need];
    assert_eq!(
        ftf_forest::ftf_forest_metrics(f, buf.as_mut_ptr(), need, &mut need),
        FTF_OK
    );
    assert_eq!(ftf_forest::ftf_forest_callback_panics(f), 0);

    // Unsubscribe: the finalizer runs once; a second unsubscribe is refused.
    assert_eq!(e.listener_finalized.load(Ordering::SeqCst), 0);
    assert_eq!(ftf_forest::ftf_forest_unsubscribe(f, h), FTF_OK);
    assert_eq!(e.listener_finalized.load(Ordering::SeqCst), 1);
    assert_eq!(ftf_forest::ftf_forest_unsubscribe(f, h), FTF_NOT_HOLDER);
    let foreign = ftf_listener_handle {
        set: h.set + 1000,
        ..h
    };
    assert_eq!(
        ftf_forest::ftf_forest_unsubscribe(f, foreign),
        FTF_FOREIGN_HANDLE
    );

    let t = ftf_forest::ftf_forest_tracker(f);
    assert!(!t.is_null());
    assert!(!ftf_tracker::ftf_tracker_is_paused(t));
    ftf_tracker::ftf_tracker_free(t);
    assert_eq!(e.finalized.load(Ordering::SeqCst), 0);
    ftf_forest::ftf_forest_free(f);
    assert_eq!(
        e.finalized.load(Ordering::SeqCst),
        1,
        "callbacks finalized once"
    );
    // SAFETY: from Box::into_raw above; nothing uses it any more.
    drop(unsafe { Box::from_raw(owner) });
}

#[test]
fn forest_arguments_are_checked() {
    let owner = Box::into_raw(Box::new(Embedder::default()));
    // SAFETY: freed at the end of the test, after the forest is gone.
    let e: &Embedder = unsafe { &*owner };
    let mut cb = callbacks(e);
    let mut f = ptr::null();
    assert_eq!(
        ftf_forest::ftf_forest_new(ptr::null(), 3, ptr::null(), ptr::null(), &mut f),
        FTF_NULL_PARAMETER
    );
    cb.run_phase = None;
    assert_eq!(
        ftf_forest::ftf_forest_new(ptr::null(), 3, ptr::null(), &cb, &mut f),
        FTF_NULL_PARAMETER
    );
    cb.run_phase = Some(run_phase);
    assert_eq!(
        ftf_forest::ftf_forest_new(ptr::null(), 0, ptr::null(), &cb, &mut f),
        FTF_INVALID_ARGUMENT
    );
    assert_eq!(
        e.finalized.load(Ordering::SeqCst),
        0,
        "no finalizer on failed creation"
    );
    let mut t = ptr::null();
    assert_eq!(ftf_tracker::ftf_tracker_new(&mut t), FTF_OK);
    assert_eq!(
        ftf_forest::ftf_forest_new(ptr::null(), 3, t, &cb, &mut f),
        FTF_OK
    );
    let ft = ftf_forest::ftf_forest_tracker(f);
    assert_eq!(ft, t, "the forest pauses the tracker it was given");
    ftf_tracker::ftf_tracker_free(ft);
    let mut out = 0;
    assert_eq!(
        ftf_forest::ftf_forest_report(f, 99, 0, FTF_INCARNATION_ANY, &mut out),
        FTF_UNKNOWN_ENUM
    );
    assert_eq!(
        ftf_forest::ftf_forest_report(
            f,
            FTF_REPORT_BARRIER_TIMEOUT as u32,
            3,
            FTF_INCARNATION_ANY,
            &mut out
        ),
        FTF_UNKNOWN_PARTITION
    );
    assert_eq!(
        ftf_forest::ftf_forest_report_at(
            f,
            1,
            FTF_REPORT_HEALTHY as u32,
            0,
            FTF_INCARNATION_ANY,
            &mut out
        ),
        FTF_OK
    );
    assert_eq!(ftf_forest::ftf_forest_retry(f, 0), FTF_UNEXPECTED_STATE);
    assert_eq!(ftf_forest::ftf_forest_poke(f), FTF_OK);
    assert_eq!(
        ftf_forest::ftf_forest_subscribe(
            f,
            None,
            ptr::null_mut(),
            None,
            &mut ftf_listener_handle::default()
        ),
        FTF_NULL_PARAMETER
    );
    let mut handles = Vec::new();
    for _ in 0..FTF_MAX_LISTENERS {
        let mut h = ftf_listener_handle::default();
        assert_eq!(
            ftf_forest::ftf_forest_subscribe(
                f,
                Some(on_event),
                e as *const Embedder as *mut c_void,
                Some(listener_fin),
                &mut h
            ),
            FTF_OK
        );
        handles.push(h);
    }
    let mut h = ftf_listener_handle::default();
    assert_eq!(
        ftf_forest::ftf_forest_subscribe(
            f,
            Some(on_event),
            e as *const Embedder as *mut c_void,
            Some(listener_fin),
            &mut h
        ),
        FTF_FULL
    );
    assert_eq!(
        e.listener_finalized.load(Ordering::SeqCst),
        0,
        "no finalizer for a refused subscription"
    );
    assert_eq!(
        ftf_forest::ftf_forest_stats(ptr::null(), &mut ftf_stats::default()),
        FTF_NULL_PARAMETER
    );
    assert!(!ftf_forest::ftf_forest_is_running(ptr::null()));
    assert!(ftf_forest::ftf_forest_clone(ptr::null()).is_null());
    ftf_forest::ftf_forest_free(ptr::null());
    ftf_tracker::ftf_tracker_free(t);
    ftf_forest::ftf_forest_free(f);
    assert_eq!(
        e.listener_finalized.load(Ordering::SeqCst),
        FTF_MAX_LISTENERS,
        "subscribed listeners finalized with the forest"
    );
    assert_eq!(e.finalized.load(Ordering::SeqCst), 1);
    // SAFETY: from Box::into_raw above; nothing uses it any more.
    drop(unsafe { Box::from_raw(owner) });
}
