//! The cluster C ABI under hostile callbacks and callers (regressions of a hostile review):
//! a pause hook unsubscribing the listener that is in `ftf_cluster_leave`; a leave while a
//! pause hook is stuck (graceful, the lease revoked, the wait bounded); a waiting tracker
//! call from a pause hook (`FTF_BUSY`); `ftf_cluster_free` while a listener is stuck
//! (bounded, finalizer once); no listener call after the last free from a listener; join /
//! put / get / leave inside a foreign tokio runtime (`FTF_BUSY`, the forest detached);
//! `https://` and malformed endpoints (a code, never a panic); leave from `run_phase`; a
//! pause hook of 3 x TTL (the lease kept, the ack only after the hook returned).
//! Every wait is bounded by a watchdog, so a regression fails instead of hanging.
//!
//! Needs `etcd` / `etcdctl` on PATH for most tests (see `etcd_fixture`).
#![cfg(all(feature = "cluster", not(miri)))]
#![allow(clippy::std_instead_of_core)] // std-only test code

mod common;
mod etcd_fixture;

use core::ffi::c_void;
use std::process::Command;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ftforest::callbacks::{ftf_listener_handle, ftf_recovery_callbacks};
use ftforest::cluster::events::ftf_cluster_event_kind::*;
use ftforest::cluster::{ftf_cluster, ftf_cluster_config, ftf_cluster_event};
use ftforest::event::ftf_phase_job;
use ftforest::forest::ftf_forest;
use ftforest::lock::{ftf_permit_token, ftf_recovery_lock};
use ftforest::result::ftf_result::{self, *};
use ftforest::tracker::{ftf_op_token, ftf_tracker};

use etcd_fixture::{config, etcd, Etcd};

// ---- helpers --------------------------------------------------------------------------

fn spin_until(limit: Duration, f: impl Fn() -> bool) -> bool {
    let d = Instant::now() + limit;
    while !f() {
        if Instant::now() > d {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

unsafe extern "C" fn ok_phase(_ud: *mut c_void, _job: *const ftf_phase_job) -> bool {
    true
}

type Hook = unsafe extern "C" fn(*mut c_void);
type Phase = unsafe extern "C" fn(*mut c_void, *const ftf_phase_job) -> bool;

fn forest(n: u32, phase: Phase, pause: Option<Hook>) -> *const ftf_forest {
    let cb = ftf_recovery_callbacks {
        run_phase: Some(phase),
        pause_balancer: pause,
        ..common::ok_callbacks(None)
    };
    common::new_forest(n, &cb)
}

fn join(c: *mut ftf_cluster_config, f: *const ftf_forest) -> *const ftf_cluster {
    let mut m = ptr::null();
    assert_eq!(ftf_cluster::ftf_cluster_join(c, f, &mut m), FTF_OK);
    ftf_cluster_config::ftf_cluster_config_free(c);
    m
}

/// Two members: `a` hosts rank 0, `b` (the forest `fb`) ranks 1 and 2; freeing `a` makes
/// `b` recover rank 0 (a cluster-wide pause on `b`: its pause hook runs).
fn two_members(
    e: &Etcd,
    prefix: &str,
    fb: *const ftf_forest,
) -> (*const ftf_cluster, *const ftf_cluster) {
    let fa = forest(3, ok_phase, None);
    let a = join(config(&e.endpoint, prefix, "a", 3, &[0], 30_000), fa);
    let b = join(config(&e.endpoint, prefix, "b", 3, &[1, 2], 30_000), fb);
    ftf_forest::ftf_forest_free(fa);
    (a, b)
}

fn pack(h: ftf_listener_handle) -> u64 {
    (u64::from(h.set) << 32) | (u64::from(h.slot) << 16) | u64::from(h.generation)
}

fn unpack(raw: u64) -> ftf_listener_handle {
    ftf_listener_handle {
        set: (raw >> 32) as u32,
        slot: (raw >> 16 & 0xffff) as u32,
        generation: (raw & 0xffff) as u32,
    }
}

// ---- 1: pause hook unsubscribes the listener that is in leave -------------------------

static DL_B: AtomicPtr<ftf_cluster> = AtomicPtr::new(ptr::null_mut());
static DL_SLOT: AtomicU64 = AtomicU64::new(0);
static DL_IN_CALL: AtomicU32 = AtomicU32::new(0);
static DL_HOOK: AtomicU32 = AtomicU32::new(0);
static DL_LEAVE_RC: AtomicU32 = AtomicU32::new(u32::MAX);
static DL_UNSUB_RC: AtomicU32 = AtomicU32::new(u32::MAX);

unsafe extern "C" fn dl_listener(_ud: *mut c_void, e: *const ftf_cluster_event) {
    // SAFETY: valid for the call.
    let e = unsafe { &*e };
    // FAILED (rank 0) comes a few etcd round trips before the pause: the listener is in
    // this call when the hook runs.
    if e.kind == FTF_CLUSTER_EVENT_FAILED as u32
        && DL_IN_CALL
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    {
        spin_until(Duration::from_secs(20), || {
            DL_HOOK.load(Ordering::SeqCst) >= 1
        });
        let rc = ftf_cluster::ftf_cluster_leave(DL_B.load(Ordering::SeqCst));
        DL_LEAVE_RC.store(rc as u32, Ordering::SeqCst);
        DL_IN_CALL.store(2, Ordering::SeqCst);
    }
}

unsafe extern "C" fn dl_pause(_ud: *mut c_void) {
    if DL_HOOK
        .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
    {
        spin_until(Duration::from_secs(20), || {
            DL_IN_CALL.load(Ordering::SeqCst) == 1
        });
        let h = unpack(DL_SLOT.load(Ordering::SeqCst));
        let rc = ftf_cluster::ftf_cluster_unsubscribe(DL_B.load(Ordering::SeqCst), h);
        DL_UNSUB_RC.store(rc as u32, Ordering::SeqCst);
        DL_HOOK.store(2, Ordering::SeqCst);
    }
}

/// Before the fix: unsubscribe (in the hook, then inside the driver loop) waited for the
/// listener, which waited in leave for that loop: a permanent deadlock.
#[test]
fn hook_unsubscribing_a_listener_in_leave_does_not_deadlock() {
    let Some(e) = etcd("hs-dl") else { return };
    let fb = forest(3, ok_phase, Some(dl_pause));
    let (a, b) = two_members(&e, "ftf/hsdl/", fb);
    DL_B.store(b.cast_mut(), Ordering::SeqCst);
    let mut h = ftf_listener_handle::default();
    assert_eq!(
        ftf_cluster::ftf_cluster_subscribe(b, Some(dl_listener), ptr::null_mut(), None, &mut h),
        FTF_OK
    );
    DL_SLOT.store(pack(h), Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(500));
    ftf_cluster::ftf_cluster_free(a);
    let done = spin_until(Duration::from_secs(60), || {
        DL_LEAVE_RC.load(Ordering::SeqCst) != u32::MAX
            && DL_UNSUB_RC.load(Ordering::SeqCst) != u32::MAX
    });
    assert!(
        done,
        "watchdog (60 s): hook={} (2 = unsubscribe returned) listener={} (2 = leave returned): deadlock",
        DL_HOOK.load(Ordering::SeqCst),
        DL_IN_CALL.load(Ordering::SeqCst)
    );
    // The listener was in a call: the hook is refused instead of waiting.
    assert_eq!(DL_UNSUB_RC.load(Ordering::SeqCst), FTF_BUSY as u32);
    ftf_cluster::ftf_cluster_free(b);
    ftf_forest::ftf_forest_free(fb);
}

// ---- 1b: leave while a pause hook is stuck --------------------------------------------

static ST_IN: AtomicU32 = AtomicU32::new(0);
static ST_RELEASE: AtomicU32 = AtomicU32::new(0);

unsafe extern "C" fn st_pause(_ud: *mut c_void) {
    if ST_IN
        .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
    {
        // A stuck hook (bounded so the test process ends).
        spin_until(Duration::from_secs(60), || {
            ST_RELEASE.load(Ordering::SeqCst) == 1
        });
    }
}

/// Before the fix: leave's fallback abort awaited the loop task, stuck in the hook, before
/// revoking the lease: leave returned only when the hook did. Since hooks run on the hook
/// thread, the loop is not stuck: the leave is graceful (`FTF_OK`: ranks marked left, lease
/// revoked) and waits for the stuck hook at most one request timeout.
#[test]
fn leave_while_a_pause_hook_is_stuck_revokes_and_returns_bounded() {
    let Some(e) = etcd("hs-st") else { return };
    let fb = forest(3, ok_phase, Some(st_pause));
    let fa = forest(3, ok_phase, None);
    let a = join(config(&e.endpoint, "ftf/hsst/", "a", 3, &[0], 30_000), fa);
    let cb = config(&e.endpoint, "ftf/hsst/", "b", 3, &[1, 2], 30_000);
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_set_timeout_ms(cb, 1, 500),
        FTF_OK
    );
    let b = join(cb, fb);
    std::thread::sleep(Duration::from_millis(500));
    ftf_cluster::ftf_cluster_free(a);
    assert!(
        spin_until(Duration::from_secs(20), || ST_IN.load(Ordering::SeqCst)
            == 1),
        "watchdog: the pause hook never ran"
    );
    let bp = b as usize;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rc = ftf_cluster::ftf_cluster_leave(bp as *const ftf_cluster);
        let _ = tx.send(rc);
    });
    // 4 request timeouts for the leave, 2 for the abort: 3 s; the watchdog allows 15 s.
    let rc = rx.recv_timeout(Duration::from_secs(15));
    let members = Command::new("etcdctl")
        .args(["--endpoints", &e.endpoint, "get", "--prefix", "--keys-only"])
        .arg("ftf/hsst/members/")
        .env("ETCDCTL_API", "3")
        .output()
        .expect("etcdctl");
    ST_RELEASE.store(1, Ordering::SeqCst);
    let rc = rc.expect("watchdog (15 s): leave waited for a stuck pause hook");
    assert_eq!(rc, FTF_OK);
    let keys = String::from_utf8_lossy(&members.stdout);
    assert!(
        !keys.contains("members/1") && !keys.contains("members/2"),
        "the lease was not revoked: {keys}"
    );
    ftf_cluster::ftf_cluster_free(b);
    ftf_forest::ftf_forest_free(fa);
    ftf_forest::ftf_forest_free(fb);
}

// ---- 2: a waiting tracker call from a pause hook --------------------------------------

static BW_TRACKER: AtomicPtr<ftf_tracker> = AtomicPtr::new(ptr::null_mut());
static BW_RC: AtomicU32 = AtomicU32::new(u32::MAX);
/// A standalone recovery lock (n = 2, K = 1) whose one permit (rank 0) the test holds: an
/// acquire of rank 1 can only wait for capacity.
static BW_LOCK: AtomicPtr<ftf_recovery_lock> = AtomicPtr::new(ptr::null_mut());
static BW_LOCK_RC: AtomicU32 = AtomicU32::new(u32::MAX);

unsafe extern "C" fn bw_pause(_ud: *mut c_void) {
    if BW_RC.load(Ordering::SeqCst) == u32::MAX {
        // 3 s each: the gate is reopened by the loop this hook runs in, so the first could
        // only time out; the lock's permit is held until the test ends, so the second too.
        let l = BW_LOCK.load(Ordering::SeqCst);
        let mut permit = ftf_permit_token::default();
        let rc = ftf_recovery_lock::ftf_recovery_lock_acquire_wait(
            l,
            1,
            true,
            3_000_000_000,
            &mut permit,
        );
        if rc == FTF_OK {
            ftf_recovery_lock::ftf_recovery_lock_release(l, permit);
        }
        BW_LOCK_RC.store(rc as u32, Ordering::SeqCst);
        let t = BW_TRACKER.load(Ordering::SeqCst);
        let mut op = ftf_op_token::default();
        let rc = ftf_tracker::ftf_op_begin_wait(t, 3_000_000_000, &mut op);
        if rc == FTF_OK {
            ftf_tracker::ftf_op_end(t, op);
        }
        BW_RC.store(rc as u32, Ordering::SeqCst);
    }
}

/// Before the fix: `FTF_TIMEOUT` after 3 s (with `UINT64_MAX`: never returned); and
/// `ftf_recovery_lock_acquire_wait` waited its 3 s in the hook (`FTF_TIMEOUT`).
#[test]
fn waiting_calls_from_a_pause_hook_are_refused() {
    let Some(e) = etcd("hs-bw") else { return };
    let mut lock = ptr::null();
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_new(2, 1, &mut lock),
        FTF_OK
    );
    let mut held = ftf_permit_token::default();
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_try_acquire(lock, 0, true, &mut held),
        FTF_OK
    );
    BW_LOCK.store(lock.cast_mut(), Ordering::SeqCst);
    let fb = forest(3, ok_phase, Some(bw_pause));
    BW_TRACKER.store(
        ftf_forest::ftf_forest_tracker(fb).cast_mut(),
        Ordering::SeqCst,
    );
    let (a, b) = two_members(&e, "ftf/hsbw/", fb);
    std::thread::sleep(Duration::from_millis(500));
    ftf_cluster::ftf_cluster_free(a);
    assert!(
        spin_until(Duration::from_secs(30), || BW_RC.load(Ordering::SeqCst)
            != u32::MAX),
        "watchdog: the pause hook never returned"
    );
    assert_eq!(BW_RC.load(Ordering::SeqCst), FTF_BUSY as u32);
    assert_eq!(BW_LOCK_RC.load(Ordering::SeqCst), FTF_BUSY as u32);
    ftf_cluster::ftf_cluster_free(b);
    ftf_forest::ftf_forest_free(fb);
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_release(lock, held),
        FTF_OK
    );
    ftf_recovery_lock::ftf_recovery_lock_free(lock);
}

// ---- 3: free while a listener is stuck -------------------------------------------------

static BL_RELEASE: AtomicU32 = AtomicU32::new(0);
static BL_IN: AtomicU32 = AtomicU32::new(0);
static BL_FINALIZED: AtomicU32 = AtomicU32::new(0);

unsafe extern "C" fn bl_listener(_ud: *mut c_void, _e: *const ftf_cluster_event) {
    BL_IN.fetch_add(1, Ordering::SeqCst);
    // A stuck listener (bounded at 60 s so the test process ends).
    spin_until(Duration::from_secs(60), || {
        BL_RELEASE.load(Ordering::SeqCst) == 1
    });
}

unsafe extern "C" fn bl_finalize(_ud: *mut c_void) {
    BL_FINALIZED.fetch_add(1, Ordering::SeqCst);
}

/// Before the fix: free joined the dispatcher, stuck in the listener: it returned only when
/// the listener did.
#[test]
fn free_while_a_listener_is_stuck_is_bounded_and_finalizes_once() {
    let Some(e) = etcd("hs-bl") else { return };
    let f = forest(2, ok_phase, None);
    let m = join(config(&e.endpoint, "ftf/hsbl/", "h", 2, &[0], 2000), f);
    let mut h = ftf_listener_handle::default();
    assert_eq!(
        ftf_cluster::ftf_cluster_subscribe(
            m,
            Some(bl_listener),
            ptr::null_mut(),
            Some(bl_finalize),
            &mut h
        ),
        FTF_OK
    );
    assert!(spin_until(Duration::from_secs(10), || BL_IN
        .load(Ordering::SeqCst)
        == 1));
    let mp = m as usize;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        ftf_cluster::ftf_cluster_free(mp as *const ftf_cluster);
        let _ = tx.send(());
    });
    // SHUTDOWN_WAIT (10 s) for the dispatcher + the abort; the watchdog allows 25 s.
    let r = rx.recv_timeout(Duration::from_secs(25));
    let calls_at_free = BL_IN.load(Ordering::SeqCst);
    BL_RELEASE.store(1, Ordering::SeqCst);
    assert!(
        r.is_ok(),
        "watchdog (25 s): ftf_cluster_free waited for a stuck listener"
    );
    // The stuck call returns; no further call starts; the finalizer runs once.
    assert!(
        spin_until(Duration::from_secs(10), || BL_FINALIZED
            .load(Ordering::SeqCst)
            == 1),
        "watchdog: the finalizer never ran"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(BL_FINALIZED.load(Ordering::SeqCst), 1);
    assert_eq!(BL_IN.load(Ordering::SeqCst), calls_at_free);
    assert_eq!(ftf_forest::ftf_forest_start(f), FTF_OK, "forest detached");
    ftf_forest::ftf_forest_stop(f);
    ftf_forest::ftf_forest_free(f);
}

// ---- 4: no listener call after the last free from a listener --------------------------

static HF_M: AtomicPtr<ftf_cluster> = AtomicPtr::new(ptr::null_mut());
static HF_FREED: AtomicU32 = AtomicU32::new(0);
static HF_AFTER: AtomicU32 = AtomicU32::new(0);

unsafe extern "C" fn hf_l1(_ud: *mut c_void, e: *const ftf_cluster_event) {
    // SAFETY: valid for the call.
    let e = unsafe { &*e };
    if e.kind == FTF_CLUSTER_EVENT_WRITE_ACCEPTED as u32 && HF_FREED.load(Ordering::SeqCst) == 0 {
        ftf_cluster::ftf_cluster_free(HF_M.load(Ordering::SeqCst));
        HF_FREED.store(1, Ordering::SeqCst);
    }
}

unsafe extern "C" fn hf_l2(_ud: *mut c_void, _e: *const ftf_cluster_event) {
    if HF_FREED.load(Ordering::SeqCst) == 1 {
        // A listener may call any ftf_cluster_* function on its member: the handle is gone.
        HF_AFTER.fetch_add(1, Ordering::SeqCst);
    }
}

/// Before the fix: the dispatcher went on calling `hf_l2` (same event, then every queued
/// one) after the handle's memory was freed.
#[test]
fn no_listener_is_called_after_the_last_free_from_a_listener() {
    let Some(e) = etcd("hs-hf") else { return };
    let f = forest(2, ok_phase, None);
    let m = join(config(&e.endpoint, "ftf/hshf/", "h", 2, &[0], 2000), f);
    HF_M.store(m.cast_mut(), Ordering::SeqCst);
    let mut h = ftf_listener_handle::default();
    assert_eq!(
        ftf_cluster::ftf_cluster_subscribe(m, Some(hf_l1), ptr::null_mut(), None, &mut h),
        FTF_OK
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_subscribe(m, Some(hf_l2), ptr::null_mut(), None, &mut h),
        FTF_OK
    );
    let mut rev = 0;
    assert_eq!(
        ftf_cluster::ftf_cluster_put(m, 0, 0, b"x".as_ptr(), 1, &mut rev),
        FTF_OK
    );
    assert!(
        spin_until(Duration::from_secs(10), || HF_FREED.load(Ordering::SeqCst)
            == 1),
        "watchdog: no WRITE_ACCEPTED"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        HF_AFTER.load(Ordering::SeqCst),
        0,
        "a listener was called after the member's handle was freed (hand-off)"
    );
    assert!(
        spin_until(Duration::from_secs(30), || ftf_forest::ftf_forest_start(f)
            == FTF_OK),
        "watchdog: the handed-off teardown never detached the forest"
    );
    ftf_forest::ftf_forest_stop(f);
    ftf_forest::ftf_forest_free(f);
}

// ---- 5: blocking calls inside a foreign tokio runtime ---------------------------------

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Before the fix: join panicked in `block_on` after the forest was attached
/// (`FTF_PANIC`, forest left attached: `ftf_forest_start` gave `FTF_BUSY`).
#[test]
fn join_inside_a_tokio_runtime_is_refused_and_leaves_the_forest_detached() {
    let f = forest(2, ok_phase, None);
    let c = config("http://127.0.0.1:1", "ftf/hsrt/", "p", 2, &[0], 2000);
    let (fp, cp) = (f as usize, c as usize);
    let rc = runtime().block_on(async move {
        let mut m = ptr::null();
        ftf_cluster::ftf_cluster_join(cp as *const _, fp as *const _, &mut m)
    });
    assert_eq!(rc, FTF_BUSY);
    assert_eq!(
        ftf_forest::ftf_forest_start(f),
        FTF_OK,
        "forest left attached"
    );
    ftf_forest::ftf_forest_stop(f);
    ftf_forest::ftf_forest_free(f);
    ftf_cluster_config::ftf_cluster_config_free(c);
}

/// Before the fix: `FTF_PANIC` for each.
#[test]
fn put_get_leave_inside_a_tokio_runtime_are_refused() {
    let Some(e) = etcd("hs-rt") else { return };
    let f = forest(2, ok_phase, None);
    let m = join(config(&e.endpoint, "ftf/hsrt2/", "p", 2, &[0], 2000), f);
    let mp = m as usize;
    let rcs = runtime().block_on(async move {
        let m = mp as *const ftf_cluster;
        let mut rev = 0;
        let put = ftf_cluster::ftf_cluster_put(m, 0, 0, b"x".as_ptr(), 1, &mut rev);
        let mut buf = [0u8; 8];
        let mut len = 0;
        let get = ftf_cluster::ftf_cluster_get(m, 0, buf.as_mut_ptr(), buf.len(), &mut len);
        let leave = ftf_cluster::ftf_cluster_leave(m);
        (put, get, leave)
    });
    assert_eq!(rcs, (FTF_BUSY, FTF_BUSY, FTF_BUSY));
    assert_eq!(ftf_cluster::ftf_cluster_leave(m), FTF_OK);
    ftf_cluster::ftf_cluster_free(m);
    ftf_forest::ftf_forest_free(f);
}

// ---- 6: endpoints -----------------------------------------------------------------------

/// Before the fix: `https://` passed the check (`FTF_OK`) though no TLS client exists.
#[test]
fn https_endpoints_are_refused_at_check() {
    for ep in ["https://127.0.0.1:2379", "HTTPS://etcd.example:2379"] {
        let c = config(ep, "ftf/hs/", "p", 2, &[0], 2000);
        assert_eq!(
            ftf_cluster_config::ftf_cluster_config_check(c),
            FTF_INVALID_CONFIG,
            "{ep}"
        );
        ftf_cluster_config::ftf_cluster_config_free(c);
    }
}

/// Endpoints that pass the builder's form check but cannot work: a code, never a panic,
/// the forest detached afterwards.
#[test]
fn hostile_endpoints_give_a_code_and_leave_the_forest_detached() {
    for ep in [
        "https://127.0.0.1:1",
        "http://[::1",
        "http://127.0.0.1:99999",
        "http://%%%",
        "http://a:b:c",
        "http://127.0.0.1:1/p?x#y",
        "http://h\u{e9}h\u{f6}st:1",
        "http://@",
        "http://:0",
    ] {
        let c = config(ep, "ftf/hs/", "p", 2, &[0], 2000);
        for which in [0, 1] {
            assert_eq!(
                ftf_cluster_config::ftf_cluster_config_set_timeout_ms(c, which, 300),
                FTF_OK
            );
        }
        let f = forest(2, ok_phase, None);
        let mut m = ptr::null();
        let rc: ftf_result = ftf_cluster::ftf_cluster_join(c, f, &mut m);
        assert_ne!(rc, FTF_PANIC, "{ep}");
        assert_ne!(rc, FTF_OK, "{ep}");
        assert!(m.is_null(), "{ep}");
        assert_eq!(
            ftf_forest::ftf_forest_start(f),
            FTF_OK,
            "{ep}: forest still attached"
        );
        ftf_forest::ftf_forest_stop(f);
        ftf_forest::ftf_forest_free(f);
        ftf_cluster_config::ftf_cluster_config_free(c);
    }
}

// ---- leave from run_phase ---------------------------------------------------------------

static LP_B: AtomicPtr<ftf_cluster> = AtomicPtr::new(ptr::null_mut());
static LP_RC: AtomicU32 = AtomicU32::new(u32::MAX);

unsafe extern "C" fn leave_phase(_ud: *mut c_void, _job: *const ftf_phase_job) -> bool {
    if LP_RC.load(Ordering::SeqCst) == u32::MAX {
        let rc = ftf_cluster::ftf_cluster_leave(LP_B.load(Ordering::SeqCst));
        LP_RC.store(rc as u32, Ordering::SeqCst);
    }
    true
}

/// `ftf_cluster_leave` from `run_phase` (documented as allowed) returns, with `FTF_OK`.
#[test]
fn leave_from_run_phase_returns() {
    let Some(e) = etcd("hs-lp") else { return };
    let fb = forest(3, leave_phase, None);
    let (a, b) = two_members(&e, "ftf/hslp/", fb);
    LP_B.store(b.cast_mut(), Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(500));
    ftf_cluster::ftf_cluster_free(a);
    assert!(
        spin_until(Duration::from_secs(30), || LP_RC.load(Ordering::SeqCst)
            != u32::MAX),
        "watchdog: leave from run_phase never returned"
    );
    assert_eq!(LP_RC.load(Ordering::SeqCst), FTF_OK as u32);
    ftf_cluster::ftf_cluster_free(b);
    ftf_forest::ftf_forest_free(fb);
}

// ---- 5: a slow pause hook (3 x TTL) ---------------------------------------------------

static SL_ENDPOINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
static SL_CALLS: AtomicU32 = AtomicU32::new(0);
/// `ack/0/b` was in etcd while the hook had not returned yet.
static SL_ACKED_EARLY: AtomicU32 = AtomicU32::new(0);
static SL_RETURNED_MS: AtomicU64 = AtomicU64::new(0);
static SL_ACKED_MS: AtomicU64 = AtomicU64::new(0);
static SL_FENCED: AtomicU32 = AtomicU32::new(0);
static SL_RECOVERED: AtomicU32 = AtomicU32::new(0);
const SL_TTL_MS: u64 = 2_000;

fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

unsafe extern "C" fn sl_pause(_ud: *mut c_void) {
    SL_CALLS.fetch_add(1, Ordering::SeqCst);
    let endpoint = SL_ENDPOINT.get().cloned().unwrap_or_default();
    let until = Instant::now() + Duration::from_millis(3 * SL_TTL_MS);
    while Instant::now() < until {
        let out = Command::new("etcdctl")
            .args(["--endpoints", &endpoint, "get", "--keys-only"])
            .arg("ftf/hssl/ack/0/b")
            .env("ETCDCTL_API", "3")
            .output();
        if out.is_ok_and(|o| !String::from_utf8_lossy(&o.stdout).trim().is_empty()) {
            SL_ACKED_EARLY.store(1, Ordering::SeqCst);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    SL_RETURNED_MS.store(wall_ms(), Ordering::SeqCst);
}

unsafe extern "C" fn sl_listener(_ud: *mut c_void, e: *const ftf_cluster_event) {
    // SAFETY: valid for the call.
    let e = unsafe { &*e };
    if e.kind == FTF_CLUSTER_EVENT_SELF_FENCED as u32
        || e.kind == FTF_CLUSTER_EVENT_LEASE_LOST as u32
    {
        SL_FENCED.fetch_add(1, Ordering::SeqCst);
    }
    if e.kind == FTF_CLUSTER_EVENT_PAUSE_ACKED as u32 && e.rank == 0 {
        let _ = SL_ACKED_MS.compare_exchange(0, e.ts_ms, Ordering::SeqCst, Ordering::SeqCst);
    }
    if e.kind == FTF_CLUSTER_EVENT_RECOVERY_FINISHED as u32 && e.rank == 0 {
        SL_RECOVERED.store(1, Ordering::SeqCst);
    }
}

/// Before the fix: the hook ran inside the driver loop, so 3 x TTL without keepalives:
/// `b` self-fenced, lost its lease (its member keys deleted) and the recovery of rank 0
/// never finished; its ack was sent before the hook even ran.
#[test]
fn a_slow_pause_hook_keeps_the_lease_and_delays_the_ack() {
    let Some(e) = etcd("hs-sl") else { return };
    let _ = SL_ENDPOINT.set(e.endpoint.clone());
    let fb = forest(3, ok_phase, Some(sl_pause));
    let fa = forest(3, ok_phase, None);
    let cfg = |name: &str, ranks: &[u32]| {
        let c = config(&e.endpoint, "ftf/hssl/", name, 3, ranks, SL_TTL_MS);
        // Longer than the hook: the recoverer waits for the slow process's ack.
        assert_eq!(
            ftf_cluster_config::ftf_cluster_config_set_timeout_ms(c, 2, 30_000),
            FTF_OK
        );
        c
    };
    let a = join(cfg("a", &[0]), fa);
    let b = join(cfg("b", &[1, 2]), fb);
    let mut h = ftf_listener_handle::default();
    assert_eq!(
        ftf_cluster::ftf_cluster_subscribe(b, Some(sl_listener), ptr::null_mut(), None, &mut h),
        FTF_OK
    );
    std::thread::sleep(Duration::from_millis(500));
    // Rank 0's lease is revoked: b recovers it, pausing itself (the slow hook).
    ftf_cluster::ftf_cluster_free(a);
    let recovered = spin_until(Duration::from_secs(40), || {
        SL_RECOVERED.load(Ordering::SeqCst) == 1
    });
    std::thread::sleep(Duration::from_millis(200));
    let members = Command::new("etcdctl")
        .args(["--endpoints", &e.endpoint, "get", "--prefix", "--keys-only"])
        .arg("ftf/hssl/members/")
        .env("ETCDCTL_API", "3")
        .output()
        .expect("etcdctl");
    let keys = String::from_utf8_lossy(&members.stdout).into_owned();
    let returned = SL_RETURNED_MS.load(Ordering::SeqCst);
    let acked = SL_ACKED_MS.load(Ordering::SeqCst);
    let mut failures = Vec::new();
    if !recovered {
        failures.push("watchdog (40 s): rank 0 not recovered".to_owned());
    }
    if SL_CALLS.load(Ordering::SeqCst) == 0 {
        failures.push("the pause hook was not called".to_owned());
    }
    if SL_FENCED.load(Ordering::SeqCst) != 0 {
        failures.push("b reported self_fenced / lease_lost".to_owned());
    }
    if !keys.contains("members/1") || !keys.contains("members/2") {
        failures.push(format!("b's member keys are gone: {keys}"));
    }
    if SL_ACKED_EARLY.load(Ordering::SeqCst) != 0 {
        failures.push("b's ack was in etcd before its pause hook returned".to_owned());
    }
    if returned == 0 || acked < returned {
        failures.push(format!(
            "PAUSE_ACKED at {acked} ms, hook returned at {returned} ms"
        ));
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(ftf_cluster::ftf_cluster_leave(b), FTF_OK);
    ftf_cluster::ftf_cluster_free(b);
    ftf_forest::ftf_forest_free(fa);
    ftf_forest::ftf_forest_free(fb);
}
