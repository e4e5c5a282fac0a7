//! A C forest attached to a cluster member gets its member coordinator's events through its
//! own `ftf_event` listeners (`ftf_forest_subscribe`), as a local forest would: two members
//! on a real etcd, one freed without leave; the survivor's forest listener sees rank 0's
//! FAILED status change, the recovery phases in order, and the recovery finished, in the
//! coordinator's order; a listener that unsubscribes itself from inside its call is called
//! exactly once and finalized exactly once. Every wait is bounded by a watchdog.
//!
//! Skipped with a printed reason when `etcd` / `etcdctl` are missing, unless
//! `FTF_REQUIRE_ETCD` (or `CI`) is set: then that is a failure.
#![cfg(all(feature = "cluster", not(miri)))]
#![allow(clippy::std_instead_of_core)] // std-only test code

mod common;
mod etcd_fixture;

use core::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use ftforest::callbacks::ftf_listener_handle;
use ftforest::cluster::ftf_cluster;
use ftforest::enums::ftf_event_kind::*;
use ftforest::enums::ftf_phase::*;
use ftforest::event::ftf_event;
use ftforest::forest::ftf_forest;
use ftforest::result::ftf_result::*;
use ftforest::table::ftf_health::*;

use etcd_fixture::{config, etcd};

/// What one forest's listeners saw.
#[derive(Default)]
struct Seen {
    events: Mutex<Vec<ftf_event>>,
    changed: Condvar,
    /// The dispatching thread of each call (all must be one thread).
    threads: Mutex<Vec<String>>,
    forest: std::sync::atomic::AtomicPtr<ftf_forest>,
    /// The self-unsubscribing listener: its handle, calls and finalizations.
    once: Mutex<ftf_listener_handle>,
    once_calls: AtomicU32,
    once_unsub: Mutex<Option<ftforest::result::ftf_result>>,
    once_finalized: AtomicU32,
}

fn seen<'a>(ud: *mut c_void) -> &'a Seen {
    // SAFETY: every Seen is leaked (lives for the whole test process).
    unsafe { &*(ud as *const Seen) }
}

unsafe extern "C" fn on_event(ud: *mut c_void, e: *const ftf_event) {
    let s = seen(ud);
    // SAFETY: valid for the call.
    let e = unsafe { *e };
    let name = std::thread::current().name().unwrap_or("?").to_owned();
    s.threads.lock().unwrap().push(name);
    s.events.lock().unwrap().push(e);
    s.changed.notify_all();
}

unsafe extern "C" fn on_event_once(ud: *mut c_void, _: *const ftf_event) {
    let s = seen(ud);
    s.once_calls.fetch_add(1, Ordering::SeqCst);
    let h = *s.once.lock().unwrap();
    // Unsubscribing itself from inside its call: never waits, never called again.
    let r = ftf_forest::ftf_forest_unsubscribe(s.forest.load(Ordering::SeqCst), h);
    s.once_unsub.lock().unwrap().get_or_insert(r);
}

unsafe extern "C" fn on_once_finalize(ud: *mut c_void) {
    seen(ud).once_finalized.fetch_add(1, Ordering::SeqCst);
}

impl Seen {
    /// Waits until `pred` holds over the events seen; fails at `limit` (watchdog).
    fn wait(&self, limit: Duration, what: &str, pred: impl Fn(&[ftf_event]) -> bool) {
        let deadline = Instant::now() + limit;
        let mut ev = self.events.lock().unwrap();
        loop {
            if pred(&ev) {
                return;
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "watchdog: {what} not seen within {limit:?}; forest events: {:#?}",
                *ev
            );
            ev = self.changed.wait_timeout(ev, deadline - now).unwrap().0;
        }
    }
}

fn forest(n: u32) -> *const ftf_forest {
    common::new_forest(n, &common::ok_callbacks(None))
}

fn finished(rank: u32) -> impl Fn(&[ftf_event]) -> bool {
    move |ev| {
        ev.iter()
            .any(|e| e.kind == FTF_EVENT_RECOVERY_FINISHED as u32 && e.rank == rank)
    }
}

#[test]
fn attached_forest_listeners_get_the_member_coordinators_events_in_order() {
    let Some(e) = etcd("coreev") else { return };
    // TTL 30 s: FAILED comes from the free's lease revoke, not from an expiry.
    let ttl = 30_000;
    let (fa, fb) = (forest(3), forest(3));
    let s = Box::leak(Box::<Seen>::default());
    s.forest.store(fb.cast_mut(), Ordering::SeqCst);
    let ud = s as *const Seen as *mut c_void;
    let mut h = ftf_listener_handle::default();
    assert_eq!(
        ftf_forest::ftf_forest_subscribe(fb, Some(on_event), ud, None, &mut h),
        FTF_OK
    );
    let mut once = ftf_listener_handle::default();
    assert_eq!(
        ftf_forest::ftf_forest_subscribe(
            fb,
            Some(on_event_once),
            ud,
            Some(on_once_finalize),
            &mut once
        ),
        FTF_OK
    );
    *s.once.lock().unwrap() = once;

    let ca = config(&e.endpoint, "ftf/coreev/", "a", 3, &[0], ttl);
    let cb = config(&e.endpoint, "ftf/coreev/", "b", 3, &[1, 2], ttl);
    let mut a = ptr::null();
    assert_eq!(ftf_cluster::ftf_cluster_join(ca, fa, &mut a), FTF_OK);
    let mut b = ptr::null();
    assert_eq!(ftf_cluster::ftf_cluster_join(cb, fb, &mut b), FTF_OK);
    // b's coordinator saw its own ranks join (after the initial list, which holds a's).
    s.wait(Duration::from_secs(15), "rank 2 joined on b", |ev| {
        ev.iter().any(|e| {
            e.kind == FTF_EVENT_MEMBER_JOINED as u32
                && e.rank == 2
                && e.to == FTF_HEALTH_HEALTHY as u32
        })
    });

    // Freed without leave: the lease is revoked, b sees rank 0 FAILED and recovers it.
    ftf_cluster::ftf_cluster_free(a);
    s.wait(
        Duration::from_secs(30),
        "rank 0's recovery finished on b's forest listener",
        finished(0),
    );

    let ev = s.events.lock().unwrap().clone();
    let r0: Vec<ftf_event> = ev.iter().filter(|e| e.rank == 0).copied().collect();
    let pos = |p: &dyn Fn(&ftf_event) -> bool| r0.iter().position(p);
    let failed =
        pos(&|e| e.kind == FTF_EVENT_STATUS_CHANGED as u32 && e.to == FTF_HEALTH_FAILED as u32)
            .unwrap_or_else(|| panic!("no FAILED status change for rank 0: {r0:#?}"));
    let phases: Vec<(usize, u32)> = r0
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == FTF_EVENT_PHASE_CHANGED as u32)
        .map(|(i, e)| (i, e.to))
        .collect();
    let done = pos(&|e| e.kind == FTF_EVENT_RECOVERY_FINISHED as u32).unwrap();
    assert!(r0[done].success, "recovery of rank 0 failed: {r0:#?}");
    // The phases, in order, between FAILED and finished.
    let order: Vec<u32> = phases.iter().map(|(_, p)| *p).collect();
    let want = [
        FTF_PHASE_DETECTING as u32,
        FTF_PHASE_REDISTRIBUTING as u32,
        FTF_PHASE_REBALANCING as u32,
        FTF_PHASE_VALIDATING as u32,
    ];
    let mut it = order.iter();
    for w in want {
        assert!(
            it.any(|p| *p == w),
            "phase {w} missing or out of order in {order:?}"
        );
    }
    assert!(
        phases.iter().all(|(i, _)| *i > failed && *i < done),
        "phases outside FAILED..finished: {r0:#?}"
    );
    // Event times never go back (the coordinator's order).
    assert!(ev.windows(2).all(|w| w[0].time_ns <= w[1].time_ns));
    // One thread delivered them all: the member's dispatcher.
    let threads = s.threads.lock().unwrap().clone();
    assert!(threads.iter().all(|t| t == "ftf-cluster-ev"), "{threads:?}");
    // The self-unsubscribing listener: one call, FTF_OK, finalized once.
    assert_eq!(s.once_calls.load(Ordering::SeqCst), 1);
    assert_eq!(*s.once_unsub.lock().unwrap(), Some(FTF_OK));
    assert_eq!(s.once_finalized.load(Ordering::SeqCst), 1);

    ftf_cluster::ftf_cluster_free(b);
    // Detached again: the forest starts, and its listener still belongs to it.
    assert_eq!(ftf_forest::ftf_forest_start(fb), FTF_OK);
    assert_eq!(ftf_forest::ftf_forest_unsubscribe(fb, h), FTF_OK);
    ftf_forest::ftf_forest_free(fb);
    ftf_forest::ftf_forest_free(fa);
}
