//! The cluster C ABI against a real etcd (one `etcd` 3.4+ per test on free loopback ports,
//! in a temporary directory): join + events + owner put + get + leave; a configuration
//! mismatch; a rank held by another member; a free without leave that the other member sees
//! FAILED at once (TTL 30 s, so the lease's expiry cannot be what it saw) and then recovers
//! through the forest's C callbacks (fence = token, check_fence and token put from the
//! phase); the last free from a listener, a phase and a pause hook (handed off); synchronous
//! unsubscribe; a zombie rejoin; etcd killed under a member (codes, never a hang). Each
//! wait is bounded by a watchdog.
//!
//! Skipped with a printed reason when `etcd` / `etcdctl` are missing, unless
//! `FTF_REQUIRE_ETCD` (or `CI`) is set: then that is a failure.
#![cfg(all(feature = "cluster", not(miri)))]
#![allow(clippy::std_instead_of_core)] // std-only test code

mod common;
mod etcd_fixture;

use core::ffi::c_void;
use std::ffi::CStr;
use std::process::Command;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use ftforest::callbacks::{ftf_listener_handle, ftf_recovery_callbacks};
use ftforest::cluster::events::ftf_cluster_event_kind::{self, *};
use ftforest::cluster::io::FTF_CLUSTER_MAX_VALUE;
use ftforest::cluster::stats::ftf_cluster_fault_kind::*;
use ftforest::cluster::{ftf_cluster, ftf_cluster_config, ftf_cluster_event, ftf_cluster_stats};
use ftforest::enums::ftf_report_kind::{FTF_REPORT_BARRIER_TIMEOUT, FTF_REPORT_CRASHED};
use ftforest::event::ftf_phase_job;
use ftforest::forest::ftf_forest;
use ftforest::result::ftf_result::{self, *};
use ftforest::stats::ftf_stats;
use ftforest::tracker::{ftf_op_token, ftf_tracker};

use etcd_fixture::{config, etcd};

// ---- a C-like embedder ----------------------------------------------------------------

#[derive(Clone, Debug)]
struct Ev {
    kind: u32,
    rank: u32,
    incarnation: u64,
    token: u64,
    revision: u64,
    json: String,
}

#[derive(Debug)]
struct PhaseSeen {
    rank: u32,
    fence: u64,
    check: ftf_result,
    put: ftf_result,
    /// `ftf_op_begin` on the attached forest's tracker during the phase.
    begin: ftf_result,
}

/// The embedder's userdata: what the callbacks saw.
#[derive(Default)]
struct Probe {
    cluster: AtomicPtr<ftf_cluster>,
    /// The attached forest's tracker (the gate the cluster-wide pause closes).
    tracker: AtomicPtr<ftf_tracker>,
    events: Mutex<Vec<Ev>>,
    changed: Condvar,
    phases: Mutex<Vec<PhaseSeen>>,
    pauses: AtomicU32,
    resumes: AtomicU32,
    finalized: AtomicU32,
    /// Free the member from the listener at the first event of this kind.
    free_on: AtomicU32,
    freed: AtomicU32,
    /// 1: the first phase frees the member (last reference); 2: the first pause hook does.
    free_in_callback: AtomicU32,
    /// Blocking listener: 1 while in the first call, 2 once it returned.
    blocking: AtomicU32,
    release: AtomicU32,
}

fn probe<'a>(ud: *mut c_void) -> &'a Probe {
    // SAFETY: every Probe is leaked (lives for the whole test process).
    unsafe { &*(ud as *const Probe) }
}

fn new_probe() -> &'static Probe {
    let p = Box::leak(Box::<Probe>::default());
    p.free_on.store(u32::MAX, Ordering::SeqCst);
    p
}

unsafe extern "C" fn on_event(ud: *mut c_void, e: *const ftf_cluster_event) {
    let p = probe(ud);
    // SAFETY: valid for the call; `json` is NUL-terminated, `json_len` long.
    let e = unsafe { &*e };
    let json = unsafe { CStr::from_ptr(e.json) }
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(json.len(), e.json_len);
    p.events.lock().unwrap().push(Ev {
        kind: e.kind,
        rank: e.rank,
        incarnation: e.incarnation,
        token: e.token,
        revision: e.revision,
        json,
    });
    p.changed.notify_all();
    if e.kind == p.free_on.load(Ordering::SeqCst)
        && p.freed
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    {
        // The last free, from the dispatcher thread: must hand off, never join itself.
        ftf_cluster::ftf_cluster_free(p.cluster.load(Ordering::SeqCst));
        p.freed.store(2, Ordering::SeqCst);
        p.changed.notify_all();
    }
}

unsafe extern "C" fn on_event_blocking(ud: *mut c_void, _: *const ftf_cluster_event) {
    let p = probe(ud);
    if p.blocking
        .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
    {
        let deadline = Instant::now() + Duration::from_secs(10);
        while p.release.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        p.blocking.store(2, Ordering::SeqCst);
    }
}

unsafe extern "C" fn on_finalize(ud: *mut c_void) {
    probe(ud).finalized.fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn run_phase(ud: *mut c_void, job: *const ftf_phase_job) -> bool {
    let p = probe(ud);
    // SAFETY: valid for the call.
    let job = unsafe { &*job };
    let c = p.cluster.load(Ordering::SeqCst);
    if p.free_in_callback.load(Ordering::SeqCst) == 1
        && p.freed
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    {
        // The last free on a runtime blocking thread: handed off, never waits for itself.
        ftf_cluster::ftf_cluster_free(c);
        p.freed.store(2, Ordering::SeqCst);
        return true;
    }
    if p.freed.load(Ordering::SeqCst) != 0 {
        // Freed: a phase still handed out must not touch the handle (the C contract).
        return true;
    }
    let mut op = ftf_op_token::default();
    let begin = ftf_tracker::ftf_op_begin(p.tracker.load(Ordering::SeqCst), &mut op);
    if begin == FTF_OK {
        ftf_tracker::ftf_op_end(p.tracker.load(Ordering::SeqCst), op);
    }
    let check = ftf_cluster::ftf_cluster_check_fence(c, job.rank, job.fence);
    let data = b"recovered";
    let mut rev = 0;
    let put =
        ftf_cluster::ftf_cluster_put(c, job.rank, job.fence, data.as_ptr(), data.len(), &mut rev);
    p.phases.lock().unwrap().push(PhaseSeen {
        rank: job.rank,
        fence: job.fence,
        check,
        put,
        begin,
    });
    check == FTF_OK && put == FTF_OK
}

unsafe extern "C" fn pause_hook(ud: *mut c_void) {
    let p = probe(ud);
    p.pauses.fetch_add(1, Ordering::SeqCst);
    // Blocking calls are refused inside a pause hook (the hook thread); local ones work.
    let c = p.cluster.load(Ordering::SeqCst);
    if p.free_in_callback.load(Ordering::SeqCst) == 2
        && p.freed
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    {
        // The last free inside a pause hook (a member's callback thread): handed off.
        ftf_cluster::ftf_cluster_free(c);
        p.freed.store(2, Ordering::SeqCst);
        return;
    }
    if p.freed.load(Ordering::SeqCst) != 0 {
        return;
    }
    let mut rev = 0;
    assert_eq!(
        ftf_cluster::ftf_cluster_put(c, 0, 0, ptr::null(), 0, &mut rev),
        FTF_BUSY
    );
    let mut st = ftf_cluster_stats::default();
    assert_eq!(ftf_cluster::ftf_cluster_stats_get(c, &mut st), FTF_OK);
}

unsafe extern "C" fn resume_hook(ud: *mut c_void) {
    probe(ud).resumes.fetch_add(1, Ordering::SeqCst);
}

impl Probe {
    /// Waits until `pred` holds over the events seen; fails at `limit` (watchdog).
    fn wait(&self, limit: Duration, what: &str, pred: impl Fn(&[Ev]) -> bool) -> Vec<Ev> {
        let deadline = Instant::now() + limit;
        let mut ev = self.events.lock().unwrap();
        loop {
            if pred(&ev) {
                return ev.clone();
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "watchdog: {what} not seen within {limit:?}; events: {:#?}",
                *ev
            );
            ev = self.changed.wait_timeout(ev, deadline - now).unwrap().0;
        }
    }
}

fn has(kind: ftf_cluster_event_kind, rank: u32) -> impl Fn(&[Ev]) -> bool {
    move |ev| ev.iter().any(|e| e.kind == kind as u32 && e.rank == rank)
}

fn forest_for(p: &'static Probe, n: u32) -> *const ftf_forest {
    let cb = ftf_recovery_callbacks {
        userdata: p as *const Probe as *mut c_void,
        run_phase: Some(run_phase),
        cancel: None,
        pause_balancer: Some(pause_hook),
        resume_balancer: Some(resume_hook),
        pause_ghost_sync: None,
        resume_ghost_sync: None,
        finalizer: None,
    };
    common::new_forest(n, &cb)
}

/// Joins (bounded by its own timeouts; the watchdog is the test's event waits).
fn join(
    c: *mut ftf_cluster_config,
    f: *const ftf_forest,
) -> Result<*const ftf_cluster, ftf_result> {
    let mut m = ptr::null();
    match ftf_cluster::ftf_cluster_join(c, f, &mut m) {
        FTF_OK => Ok(m),
        e => {
            assert!(m.is_null(), "no handle on an error");
            Err(e)
        }
    }
}

fn subscribe(m: *const ftf_cluster, p: &'static Probe) -> ftf_listener_handle {
    let mut h = ftf_listener_handle::default();
    let ud = p as *const Probe as *mut c_void;
    assert_eq!(
        ftf_cluster::ftf_cluster_subscribe(m, Some(on_event), ud, Some(on_finalize), &mut h),
        FTF_OK
    );
    h
}

const W: Duration = Duration::from_secs(20);

// ---- tests ----------------------------------------------------------------------------

#[test]
fn join_events_owner_put_get_and_leave() {
    let Some(e) = etcd("basic") else { return };
    let p = new_probe();
    let f = forest_for(p, 4);
    let c = config(&e.endpoint, "ftf/basic/", "c1", 4, &[1], 2000);
    let m = join(c, f).expect("join");
    p.cluster.store(m.cast_mut(), Ordering::SeqCst);
    // Attached: the forest does not start, nor join another member.
    assert_eq!(ftf_forest::ftf_forest_start(f), FTF_BUSY);
    let c2 = config(&e.endpoint, "ftf/basic/", "c2", 4, &[2], 2000);
    assert_eq!(join(c2, f).unwrap_err(), FTF_BUSY);
    ftf_cluster_config::ftf_cluster_config_free(c2);
    // The first subscriber gets every event since the join began.
    let h = subscribe(m, p);
    let ev = p.wait(W, "registered", has(FTF_CLUSTER_EVENT_REGISTERED, 1));
    assert_eq!(
        ev[0].kind, FTF_CLUSTER_EVENT_CONFIG_CHECKED as u32,
        "{ev:#?}"
    );
    assert!(ev[0].json.starts_with("{\"ts_ms\":") && ev[0].json.contains("\"proc\":\"c1\""));
    assert!(
        ev[0].json.contains("\"event\":\"config_checked\""),
        "{}",
        ev[0].json
    );
    let reg = ev
        .iter()
        .find(|x| x.kind == FTF_CLUSTER_EVENT_REGISTERED as u32)
        .unwrap()
        .clone();
    assert!(reg.incarnation > 0);
    let mut inc = 0;
    assert_eq!(ftf_cluster::ftf_cluster_incarnation(m, 1, &mut inc), FTF_OK);
    assert_eq!(inc, reg.incarnation);
    assert_eq!(
        ftf_cluster::ftf_cluster_incarnation(m, 2, &mut inc),
        FTF_UNKNOWN_PARTITION
    );

    // Owner write (token 0), then read it back.
    let mut rev = 0;
    assert_eq!(
        ftf_cluster::ftf_cluster_put(m, 1, 0, b"hello".as_ptr(), 5, &mut rev),
        FTF_OK
    );
    assert!(rev > reg.incarnation);
    let ev = p.wait(
        W,
        "write_accepted",
        has(FTF_CLUSTER_EVENT_WRITE_ACCEPTED, 1),
    );
    let w = ev
        .iter()
        .find(|x| x.kind == FTF_CLUSTER_EVENT_WRITE_ACCEPTED as u32)
        .unwrap();
    assert_eq!((w.revision, w.token), (rev, reg.incarnation));
    let mut len = 0;
    assert_eq!(
        ftf_cluster::ftf_cluster_get(m, 1, ptr::null_mut(), 0, &mut len),
        FTF_BUFFER_TOO_SMALL
    );
    assert_eq!(len, 5);
    let mut buf = [0u8; 16];
    assert_eq!(
        ftf_cluster::ftf_cluster_get(m, 1, buf.as_mut_ptr(), 16, &mut len),
        FTF_OK
    );
    assert_eq!(&buf[..len], b"hello");
    assert_eq!(
        ftf_cluster::ftf_cluster_get(m, 2, buf.as_mut_ptr(), 16, &mut len),
        FTF_EMPTY
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_get(m, 4, buf.as_mut_ptr(), 16, &mut len),
        FTF_UNKNOWN_PARTITION
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_get(m, 1, ptr::null_mut(), 16, &mut len),
        FTF_NULL_PARAMETER
    );

    // Refusals: not hosted, out of range, no lock, too big, NULL data.
    let mut r2 = 7;
    assert_eq!(
        ftf_cluster::ftf_cluster_put(m, 2, 0, b"x".as_ptr(), 1, &mut r2),
        FTF_UNKNOWN_PARTITION
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_put(m, 4, 0, b"x".as_ptr(), 1, &mut r2),
        FTF_UNKNOWN_PARTITION
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_put(m, 2, 12345, b"x".as_ptr(), 1, &mut r2),
        FTF_STALE
    );
    let big = vec![0u8; 10 << 20];
    assert_eq!(
        ftf_cluster::ftf_cluster_put(m, 1, 0, big.as_ptr(), big.len(), &mut r2),
        FTF_INVALID_ARGUMENT
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_put(m, 1, 0, big.as_ptr(), FTF_CLUSTER_MAX_VALUE + 1, &mut r2),
        FTF_INVALID_ARGUMENT
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_put(m, 1, 0, ptr::null(), 3, &mut r2),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_put(m, 1, 0, b"x".as_ptr(), 1, ptr::null_mut()),
        FTF_NULL_PARAMETER
    );
    assert_eq!(r2, 7, "out-parameter untouched on errors");
    assert_eq!(ftf_cluster::ftf_cluster_check_fence(m, 1, 5), FTF_STALE);
    assert_eq!(ftf_cluster::ftf_cluster_check_fence(m, 1, 0), FTF_STALE);
    assert_eq!(
        ftf_cluster::ftf_cluster_check_fence(m, 4, 5),
        FTF_UNKNOWN_PARTITION
    );

    // Observability.
    let mut count = 0;
    assert_eq!(
        ftf_cluster::ftf_cluster_ranks(m, ptr::null_mut(), 0, &mut count),
        FTF_BUFFER_TOO_SMALL
    );
    assert_eq!(count, 1);
    let mut ranks = [0u32; 4];
    assert_eq!(
        ftf_cluster::ftf_cluster_ranks(m, ranks.as_mut_ptr(), 4, &mut count),
        FTF_OK
    );
    assert_eq!(&ranks[..count], &[1]);
    let mut st = ftf_cluster_stats::default();
    assert_eq!(ftf_cluster::ftf_cluster_stats_get(m, &mut st), FTF_OK);
    assert!(
        st.requests > 0 && st.writes_accepted >= 1 && st.available && !st.self_fenced,
        "{st:?}"
    );
    let mut cs = ftf_stats::default();
    assert_eq!(
        ftf_cluster::ftf_cluster_coordinator_stats(m, &mut cs),
        FTF_OK
    );
    assert_eq!(cs.total, 4);
    let mut level = 99;
    assert_eq!(ftf_cluster::ftf_cluster_level(m, &mut level), FTF_OK);
    assert!(level < 99);
    let mut need = 0;
    assert_eq!(
        ftf_cluster::ftf_cluster_metrics(m, ptr::null_mut(), 0, &mut need),
        FTF_BUFFER_TOO_SMALL
    );
    let mut text = vec![0u8; need];
    assert_eq!(
        ftf_cluster::ftf_cluster_metrics(m, text.as_mut_ptr().cast(), need, &mut need),
        FTF_OK
    );
    let text = CStr::from_bytes_with_nul(&text).unwrap().to_str().unwrap();
    assert!(
        text.contains("ftforest_cluster_requests_total") && text.ends_with("# EOF\n"),
        "{text}"
    );

    // Local signals and faults.
    assert_eq!(
        ftf_cluster::ftf_cluster_report(m, FTF_REPORT_CRASHED as u32, 2),
        FTF_INVALID_ARGUMENT
    );
    assert_eq!(ftf_cluster::ftf_cluster_report(m, 99, 2), FTF_UNKNOWN_ENUM);
    assert_eq!(
        ftf_cluster::ftf_cluster_report(m, FTF_REPORT_BARRIER_TIMEOUT as u32, 4),
        FTF_UNKNOWN_PARTITION
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_report(m, FTF_REPORT_BARRIER_TIMEOUT as u32, 2),
        FTF_OK
    );
    assert_eq!(ftf_cluster::ftf_cluster_fault(m, 7), FTF_UNKNOWN_ENUM);
    assert_eq!(
        ftf_cluster::ftf_cluster_fault_stall(m, 0),
        FTF_INVALID_ARGUMENT
    );

    // Listener handles are checked.
    let forged = ftf_listener_handle {
        set: h.set ^ 1,
        ..h
    };
    assert_eq!(
        ftf_cluster::ftf_cluster_unsubscribe(m, forged),
        FTF_FOREIGN_HANDLE
    );
    let stale = ftf_listener_handle {
        generation: h.generation + 1,
        ..h
    };
    assert_eq!(
        ftf_cluster::ftf_cluster_unsubscribe(m, stale),
        FTF_NOT_HOLDER
    );

    // Graceful leave; then the member is stopped for every call that needs it.
    assert_eq!(ftf_cluster::ftf_cluster_leave(m), FTF_OK);
    assert_eq!(ftf_cluster::ftf_cluster_leave(m), FTF_NOT_RUNNING);
    assert_eq!(
        ftf_cluster::ftf_cluster_put(m, 1, 0, b"x".as_ptr(), 1, &mut r2),
        FTF_NOT_RUNNING
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_get(m, 1, buf.as_mut_ptr(), 16, &mut len),
        FTF_NOT_RUNNING
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_check_fence(m, 1, 5),
        FTF_NOT_RUNNING
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_stats_get(m, &mut st),
        FTF_OK,
        "stats still answer"
    );
    assert_eq!(ftf_cluster::ftf_cluster_unsubscribe(m, h), FTF_OK);
    assert_eq!(ftf_cluster::ftf_cluster_unsubscribe(m, h), FTF_NOT_HOLDER);
    assert_eq!(
        p.finalized.load(Ordering::SeqCst),
        1,
        "finalizer once, at unsubscribe"
    );
    ftf_cluster::ftf_cluster_free(m);
    // Detached by the free: the forest starts again.
    assert_eq!(ftf_forest::ftf_forest_start(f), FTF_OK);
    assert_eq!(ftf_forest::ftf_forest_stop(f), FTF_OK);
    assert_eq!(p.finalized.load(Ordering::SeqCst), 1);
    ftf_forest::ftf_forest_free(f);
    ftf_cluster_config::ftf_cluster_config_free(c);
}

#[test]
fn config_mismatch_and_a_rank_held_elsewhere() {
    let Some(e) = etcd("refuse") else { return };
    let (pa, pb) = (new_probe(), new_probe());
    let (fa, fb) = (forest_for(pa, 4), forest_for(pb, 5));
    let ca = config(&e.endpoint, "ftf/refuse/", "a", 4, &[0], 2000);
    let a = join(ca, fa).expect("join a");
    let cb = config(&e.endpoint, "ftf/refuse/", "b", 5, &[1], 2000);
    assert_eq!(join(cb, fb).unwrap_err(), FTF_CONFIG_MISMATCH);
    // Rank 0 is held: the join of {2, 3, 0} is refused and registers none of its ranks
    // (one all-or-nothing registration Txn), so a retry of {2, 3} joins (neither FAILED
    // for `a` nor a zombie).
    let cb2 = config(&e.endpoint, "ftf/refuse/", "b", 4, &[2, 3, 0], 2000);
    let fb2 = forest_for(pb, 4);
    assert_eq!(join(cb2, fb2).unwrap_err(), FTF_RANK_HELD);
    // A refused join leaves the forest detached.
    assert_eq!(ftf_forest::ftf_forest_start(fb2), FTF_OK);
    assert_eq!(ftf_forest::ftf_forest_stop(fb2), FTF_OK);
    let cb3 = config(&e.endpoint, "ftf/refuse/", "b", 4, &[2, 3], 2000);
    let b = join(cb3, fb2).expect("the retry of {2, 3} joins");
    assert_eq!(ftf_cluster::ftf_cluster_leave(b), FTF_OK);
    ftf_cluster::ftf_cluster_free(b);
    assert_eq!(ftf_cluster::ftf_cluster_leave(a), FTF_OK);
    ftf_cluster::ftf_cluster_free(a);
    for f in [fa, fb, fb2] {
        ftf_forest::ftf_forest_free(f);
    }
    for c in [ca, cb, cb2, cb3] {
        ftf_cluster_config::ftf_cluster_config_free(c);
    }
}

#[test]
fn free_without_leave_is_seen_failed_at_once_and_recovered_through_the_c_callbacks() {
    let Some(e) = etcd("recover") else { return };
    // TTL 30 s: the survivor sees FAILED far sooner only because the free revoked the lease.
    let ttl = 30_000;
    let (pa, pb) = (new_probe(), new_probe());
    let (fa, fb) = (forest_for(pa, 3), forest_for(pb, 3));
    let ca = config(&e.endpoint, "ftf/recover/", "a", 3, &[0], ttl);
    let cb = config(&e.endpoint, "ftf/recover/", "b", 3, &[1, 2], ttl);
    let a = join(ca, fa).expect("join a");
    pa.cluster.store(a.cast_mut(), Ordering::SeqCst);
    let b = join(cb, fb).expect("join b");
    pb.cluster.store(b.cast_mut(), Ordering::SeqCst);
    let tb = ftf_forest::ftf_forest_tracker(fb);
    pb.tracker.store(tb.cast_mut(), Ordering::SeqCst);
    subscribe(b, pb);
    pb.wait(W, "b registered", has(FTF_CLUSTER_EVENT_REGISTERED, 2));
    // Joined: the forest's tracker is untouched (operations begin and end as before).
    let mut op = ftf_op_token::default();
    assert_eq!(ftf_tracker::ftf_op_begin(tb, &mut op), FTF_OK);
    assert_eq!(ftf_tracker::ftf_op_end(tb, op), FTF_OK);
    let freed_at = Instant::now();
    ftf_cluster::ftf_cluster_free(a);
    let ev = pb.wait(
        Duration::from_secs(15),
        "failed(0) on b",
        has(FTF_CLUSTER_EVENT_FAILED, 0),
    );
    assert!(
        freed_at.elapsed() < Duration::from_millis(ttl),
        "seen before the TTL could expire it"
    );
    let failed = ev
        .iter()
        .find(|x| x.kind == FTF_CLUSTER_EVENT_FAILED as u32)
        .unwrap();
    assert!(failed.incarnation > 0 && failed.revision > failed.incarnation);
    // The survivor recovers rank 0 through the forest's C callbacks.
    let ev = pb.wait(
        W,
        "recovery_finished(0)",
        has(FTF_CLUSTER_EVENT_RECOVERY_FINISHED, 0),
    );
    let token = ev
        .iter()
        .find(|x| x.kind == FTF_CLUSTER_EVENT_LOCK_GRANTED as u32 && x.rank == 0)
        .expect("lock granted")
        .token;
    assert!(token > 0);
    let phases = pb.phases.lock().unwrap();
    assert_eq!(phases.len(), 4, "{phases:#?}");
    for ph in phases.iter() {
        // The cluster-wide pause closed the attached forest's tracker for the phases.
        assert_eq!(ph.begin, FTF_PAUSED, "{ph:?}");
        assert_eq!(
            (ph.rank, ph.fence, ph.check, ph.put),
            (0, token, FTF_OK, FTF_OK),
            "{ph:?}"
        );
    }
    drop(phases);
    assert!(pb.pauses.load(Ordering::SeqCst) >= 1);
    // The resume hook runs when the pause key vanishes, after the completion's event.
    let deadline = Instant::now() + W;
    while pb.resumes.load(Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "watchdog: resume hook never called"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut ranks = [0u32; 4];
    let mut count = 0;
    assert_eq!(
        ftf_cluster::ftf_cluster_ranks(b, ranks.as_mut_ptr(), 4, &mut count),
        FTF_OK
    );
    assert_eq!(&ranks[..count], &[0, 1, 2]);
    let mut buf = [0u8; 32];
    let mut len = 0;
    assert_eq!(
        ftf_cluster::ftf_cluster_get(b, 0, buf.as_mut_ptr(), 32, &mut len),
        FTF_OK
    );
    assert_eq!(&buf[..len], b"recovered");
    // The lock is released at completion: its token no longer fences anything.
    assert_eq!(ftf_cluster::ftf_cluster_check_fence(b, 0, token), FTF_STALE);
    let mut rev = 0;
    assert_eq!(
        ftf_cluster::ftf_cluster_put(b, 0, token, b"late".as_ptr(), 4, &mut rev),
        FTF_STALE
    );
    // Resumed: the gate is open again.
    assert_eq!(ftf_tracker::ftf_op_begin(tb, &mut op), FTF_OK);
    assert_eq!(ftf_tracker::ftf_op_end(tb, op), FTF_OK);
    ftf_tracker::ftf_tracker_free(tb);
    // The freed member's forest is detached.
    assert_eq!(ftf_forest::ftf_forest_start(fa), FTF_OK);
    assert_eq!(ftf_forest::ftf_forest_stop(fa), FTF_OK);
    assert_eq!(ftf_cluster::ftf_cluster_leave(b), FTF_OK);
    ftf_cluster::ftf_cluster_free(b);
    assert_eq!(
        pb.finalized.load(Ordering::SeqCst),
        1,
        "listener finalized once at free"
    );
    for f in [fa, fb] {
        ftf_forest::ftf_forest_free(f);
    }
    for c in [ca, cb] {
        ftf_cluster_config::ftf_cluster_config_free(c);
    }
}

#[test]
fn last_free_from_a_listener_hands_the_teardown_off() {
    let Some(e) = etcd("handoff") else { return };
    let p = new_probe();
    let f = forest_for(p, 2);
    let c = config(&e.endpoint, "ftf/handoff/", "h", 2, &[0], 2000);
    let m = join(c, f).expect("join");
    p.cluster.store(m.cast_mut(), Ordering::SeqCst);
    p.free_on
        .store(FTF_CLUSTER_EVENT_WRITE_ACCEPTED as u32, Ordering::SeqCst);
    subscribe(m, p);
    let mut rev = 0;
    assert_eq!(
        ftf_cluster::ftf_cluster_put(m, 0, 0, b"x".as_ptr(), 1, &mut rev),
        FTF_OK
    );
    // The listener freed the last reference (returning at once); the handed-off teardown
    // finalizes the listener and detaches the forest.
    wait_teardown(p, f);
    ftf_forest::ftf_forest_free(f);
    ftf_cluster_config::ftf_cluster_config_free(c);
}

/// A handed-off teardown finished: the listener was finalized once and the forest detached.
fn wait_teardown(p: &Probe, f: *const ftf_forest) {
    let deadline = Instant::now() + W;
    while p.freed.load(Ordering::SeqCst) != 2 || p.finalized.load(Ordering::SeqCst) != 1 {
        assert!(
            Instant::now() < deadline,
            "watchdog: teardown did not finish (freed {}, finalized {}); events: {:#?}",
            p.freed.load(Ordering::SeqCst),
            p.finalized.load(Ordering::SeqCst),
            p.events
                .lock()
                .unwrap()
                .iter()
                .map(|e| e.json.clone())
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    loop {
        match ftf_forest::ftf_forest_start(f) {
            FTF_OK => break,
            FTF_BUSY => {
                assert!(Instant::now() < deadline, "watchdog: forest never detached");
                std::thread::sleep(Duration::from_millis(10));
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(ftf_forest::ftf_forest_stop(f), FTF_OK);
    assert_eq!(p.finalized.load(Ordering::SeqCst), 1);
}

/// The last free of the recoverer from its own `run_phase` (mode 1, a tokio blocking
/// thread) or from its pause hook (mode 2, on the member's hook thread): no panic ("cannot drop
/// a runtime in a context where blocking is not allowed"), no self-join, teardown done.
fn last_free_from_a_recovery_callback(mode: u32) {
    let Some(e) = etcd(&format!("cbfree{mode}")) else {
        return;
    };
    let prefix = format!("ftf/cbfree{mode}/");
    let (pa, pb) = (new_probe(), new_probe());
    let (fa, fb) = (forest_for(pa, 3), forest_for(pb, 3));
    let ca = config(&e.endpoint, &prefix, "a", 3, &[0], 30_000);
    let cb = config(&e.endpoint, &prefix, "b", 3, &[1, 2], 30_000);
    let a = join(ca, fa).expect("join a");
    let b = join(cb, fb).expect("join b");
    pb.cluster.store(b.cast_mut(), Ordering::SeqCst);
    pb.free_in_callback.store(mode, Ordering::SeqCst);
    subscribe(b, pb);
    pb.wait(W, "b registered", has(FTF_CLUSTER_EVENT_REGISTERED, 2));
    ftf_cluster::ftf_cluster_free(a);
    wait_teardown(pb, fb);
    for f in [fa, fb] {
        ftf_forest::ftf_forest_free(f);
    }
    for c in [ca, cb] {
        ftf_cluster_config::ftf_cluster_config_free(c);
    }
}

#[test]
fn last_free_from_run_phase_hands_the_teardown_off() {
    last_free_from_a_recovery_callback(1);
}

#[test]
fn last_free_from_a_pause_hook_hands_the_teardown_off() {
    last_free_from_a_recovery_callback(2);
}

#[test]
fn unsubscribe_from_another_thread_waits_for_the_running_call() {
    let Some(e) = etcd("unsub") else { return };
    let p = new_probe();
    let f = forest_for(p, 2);
    let c = config(&e.endpoint, "ftf/unsub/", "u", 2, &[0], 2000);
    let m = join(c, f).expect("join");
    let mut h = ftf_listener_handle::default();
    let ud = p as *const Probe as *mut c_void;
    assert_eq!(
        ftf_cluster::ftf_cluster_subscribe(
            m,
            Some(on_event_blocking),
            ud,
            Some(on_finalize),
            &mut h
        ),
        FTF_OK
    );
    // The backlog (config_checked, registered) reaches the listener, which blocks.
    let deadline = Instant::now() + W;
    while p.blocking.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "watchdog: listener never called");
        std::thread::sleep(Duration::from_millis(1));
    }
    let (mp, hh, pp) = (m as usize, h, ud as usize);
    let t = std::thread::spawn(move || {
        let rc = ftf_cluster::ftf_cluster_unsubscribe(mp as *const ftf_cluster, hh);
        (rc, probe(pp as *mut c_void).blocking.load(Ordering::SeqCst))
    });
    // Give the unsubscribe time to (wrongly) return early; then let the listener finish.
    std::thread::sleep(Duration::from_millis(100));
    p.release.store(1, Ordering::SeqCst);
    let (rc, seen) = t.join().unwrap();
    assert_eq!(rc, FTF_OK);
    assert_eq!(
        seen, 2,
        "unsubscribe returned while the listener was still running"
    );
    assert_eq!(p.finalized.load(Ordering::SeqCst), 1);
    ftf_cluster::ftf_cluster_free(m);
    ftf_forest::ftf_forest_free(f);
    ftf_cluster_config::ftf_cluster_config_free(c);
}

#[test]
fn a_rank_whose_member_died_cannot_rejoin() {
    let Some(e) = etcd("zombie") else { return };
    let p = new_probe();
    let f = forest_for(p, 2);
    let c = config(&e.endpoint, "ftf/zombie/", "z", 2, &[0], 2000);
    let m = join(c, f).expect("join");
    // Free without leave: the lease is revoked, rank 0's member key goes, its epoch stays
    // (nobody can recover it: no quorum of live members).
    ftf_cluster::ftf_cluster_free(m);
    assert_eq!(join(c, f).unwrap_err(), FTF_ZOMBIE_REJOIN);
    // Refused joins leave the forest detached.
    assert_eq!(ftf_forest::ftf_forest_start(f), FTF_OK);
    assert_eq!(ftf_forest::ftf_forest_stop(f), FTF_OK);
    ftf_forest::ftf_forest_free(f);
    ftf_cluster_config::ftf_cluster_config_free(c);
}

#[test]
fn etcd_gone_gives_codes_never_a_hang() {
    let Some(mut e) = etcd("gone") else { return };
    let p = new_probe();
    let f = forest_for(p, 2);
    let c = config(&e.endpoint, "ftf/gone/", "g", 2, &[0], 2000);
    for which in [0u32, 1] {
        // connect and request timeouts: 300 ms
        assert_eq!(
            ftf_cluster_config::ftf_cluster_config_set_timeout_ms(c, which, 300),
            FTF_OK
        );
    }
    let m = join(c, f).expect("join");
    let _ = e.child.kill();
    let _ = e.child.wait();
    let mp = m as usize;
    let limit = Duration::from_secs(20);
    let put = common::within(limit, move || {
        let mut rev = 0;
        ftf_cluster::ftf_cluster_put(mp as *const ftf_cluster, 0, 0, b"x".as_ptr(), 1, &mut rev)
    });
    assert!(
        [FTF_AMBIGUOUS, FTF_UNAVAILABLE, FTF_SELF_FENCED].contains(&put),
        "{put:?}"
    );
    let get = common::within(limit, move || {
        let mut buf = [0u8; 8];
        let mut len = 0;
        ftf_cluster::ftf_cluster_get(mp as *const ftf_cluster, 0, buf.as_mut_ptr(), 8, &mut len)
    });
    assert_eq!(get, FTF_UNAVAILABLE);
    let leave = common::within(limit, move || {
        ftf_cluster::ftf_cluster_leave(mp as *const ftf_cluster)
    });
    assert!([FTF_UNAVAILABLE, FTF_OK].contains(&leave), "{leave:?}");
    common::within(limit, move || {
        ftf_cluster::ftf_cluster_free(mp as *const ftf_cluster)
    });
    assert_eq!(ftf_forest::ftf_forest_start(f), FTF_OK);
    assert_eq!(ftf_forest::ftf_forest_stop(f), FTF_OK);
    ftf_forest::ftf_forest_free(f);
    // A join against the dead endpoint: unreachable, bounded.
    let cp = c as usize;
    let f2 = forest_for(new_probe(), 2);
    let f2p = f2 as usize;
    let rc = common::within(limit, move || {
        let mut out = ptr::null();
        ftf_cluster::ftf_cluster_join(
            cp as *mut ftf_cluster_config,
            f2p as *const ftf_forest,
            &mut out,
        )
    });
    assert_eq!(rc, FTF_UNREACHABLE);
    ftf_forest::ftf_forest_free(f2);
    ftf_cluster_config::ftf_cluster_config_free(c);
}

#[test]
fn stalled_keepalives_fence_the_member_then_the_lease_is_lost() {
    let Some(e) = etcd("stall") else { return };
    let p = new_probe();
    let f = forest_for(p, 2);
    let c = config(&e.endpoint, "ftf/stall/", "s", 2, &[0], 2000);
    let m = join(c, f).expect("join");
    subscribe(m, p);
    p.wait(W, "registered", has(FTF_CLUSTER_EVENT_REGISTERED, 0));
    assert_eq!(
        ftf_cluster::ftf_cluster_fault(m, FTF_CLUSTER_FAULT_DROP_KEEPALIVES as u32),
        FTF_OK
    );
    // Past TTL - margin since the last acknowledged keepalive: fenced, nothing is sent.
    p.wait(W, "self_fenced", |ev| {
        ev.iter()
            .any(|e| e.kind == FTF_CLUSTER_EVENT_SELF_FENCED as u32)
    });
    let mut rev = 0;
    assert_eq!(
        ftf_cluster::ftf_cluster_put(m, 0, 0, b"x".as_ptr(), 1, &mut rev),
        FTF_SELF_FENCED
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_check_fence(m, 0, 1),
        FTF_SELF_FENCED
    );
    let mut st = ftf_cluster_stats::default();
    assert_eq!(ftf_cluster::ftf_cluster_stats_get(m, &mut st), FTF_OK);
    assert!(st.self_fenced);
    // Wait until etcd expired the lease (the member key is gone), so the next keepalive
    // cannot revive it; then keepalives again: the answer says it is gone, the member is dead.
    let deadline = Instant::now() + W;
    loop {
        let out = Command::new("etcdctl")
            .args(["--endpoints", &e.endpoint, "get", "ftf/stall/members/0"])
            .env("ETCDCTL_API", "3")
            .output()
            .expect("etcdctl");
        let text = String::from_utf8_lossy(&out.stdout);
        if out.status.success() && text.trim().is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "watchdog: lease never expired: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        ftf_cluster::ftf_cluster_fault(m, FTF_CLUSTER_FAULT_RESUME_KEEPALIVES as u32),
        FTF_OK
    );
    p.wait(W, "lease_lost", |ev| {
        ev.iter()
            .any(|e| e.kind == FTF_CLUSTER_EVENT_LEASE_LOST as u32)
    });
    assert_eq!(
        ftf_cluster::ftf_cluster_put(m, 0, 0, b"x".as_ptr(), 1, &mut rev),
        FTF_LEASE_LOST
    );
    assert_eq!(ftf_cluster::ftf_cluster_leave(m), FTF_LEASE_LOST);
    assert_eq!(
        ftf_cluster::ftf_cluster_check_fence(m, 0, 1),
        FTF_LEASE_LOST
    );
    ftf_cluster::ftf_cluster_free(m);
    assert_eq!(p.finalized.load(Ordering::SeqCst), 1);
    ftf_forest::ftf_forest_free(f);
    ftf_cluster_config::ftf_cluster_config_free(c);
}
