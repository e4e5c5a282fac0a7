//! `ftf_forest`: the fault-tolerant forest runtime for C: the coordinator run on library
//! threads (the core's std `Monitor`), calling the embedder's recovery phases and hooks and
//! delivering events to listeners.
//!
//! Threads and callbacks (the contract every callback type below repeats):
//!
//! * one **dispatcher** thread ticks the coordinator (on `ftf_now_ns()` time), delivers events
//!   to listeners and calls the balancer/ghost-sync hooks and `cancel`, in the coordinator's
//!   order, one at a time;
//! * `max_concurrent` **worker** threads call `run_phase`; phases of different partitions run
//!   in parallel, phases of one attempt run in order, one at a time.
//! * No libftforest lock is held while a callback runs, so a callback may call every forest
//!   function, including `ftf_forest_is_running`, `ftf_forest_start`, `ftf_forest_stop` and
//!   the last `ftf_forest_free`, also while another thread stops or frees the forest. From a
//!   callback, stop and the last free never wait for a thread (they request, and return);
//!   start never waits. The only calls that wait are `ftf_forest_unsubscribe` of a listener
//!   the dispatcher is calling (from another thread), and stop / the last free from a thread
//!   that is not the forest's: they wait for callbacks in progress to return, so a callback
//!   must not wait for a thread in one of those calls. A callback must not unwind (C++:
//!   `noexcept`; an exception escaping into Rust aborts the process) and should return
//!   promptly: a phase that runs longer than the recovery timeout is abandoned (its `cancel`
//!   is called, its late result is ignored), and the forest stays paused until that phase
//!   call returns (the cancel's acknowledgement; a phase no worker had started is
//!   acknowledged at once).
//!
//! Invariants:
//!
//! * `Arc`-owned and thread-safe, with a count of *references* (`refs`: C handles and
//!   barriers, each also owning one `Arc` count) beside the `Arc`'s own count. The last
//!   reference closes the monitor (`Monitor::close_then`): from a thread that is not the
//!   forest's, it stops and joins the threads, then drops the state and the callbacks (whose
//!   finalizer runs exactly once) before returning. From inside a callback it only stops the
//!   threads and hands its `Arc` to the monitor, which drops it after the last callback has
//!   returned (on a library thread): callbacks still running on other threads may keep
//!   using the handle until they return, and nothing joins its own thread.
//! * Unsubscribing is synchronous (the core monitor's): once `ftf_forest_unsubscribe` returns
//!   `FTF_OK` the listener is never called again; called from another thread while the
//!   listener runs, it waits for that call to return (called from inside a listener it never
//!   waits). A listener's finalizer runs exactly once, when the listener can no longer be
//!   called: on `ftf_forest_unsubscribe` or right after the dispatcher lets go of it.

use core::ffi::c_void;
use core::mem::ManuallyDrop;
use core::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use ftforest_core::coord::{
    Event, ListenerHandle, Monitor, MonitorError, SubscribeError, UnsubscribeError,
};
use ftforest_core::Instant;

use crate::callbacks::{
    ftf_event_fn, ftf_listener_handle, ftf_recovery_callbacks, CListener, CRecovery,
};
use crate::clock::FfiClock;
use crate::config::ftf_config;
use crate::coordinator::{config_or_default, make_report, new_error, tracker_or_new};
use crate::coordinator_state::{
    ftf_partition_info, write_health, write_partition, write_partition_stats, write_recovery,
};
use crate::event::ftf_phase_job;
use crate::handle::{
    arc_from_raw, arc_into_const_ptr, clone_arc, to_arc_const_ptr, try_from, try_out,
    try_ref_from_ptr, Castable, OwnershipArc,
};
use crate::panic::ffi_panic_boundary;
use crate::result::ftf_result;
use crate::stats::{ftf_partition_stats, ftf_stats};
use crate::table::ftf_counts;
use crate::tracker::{ftf_tracker, FfiTracker};
use crate::wait::ftf_finalizer_fn;

/// The core monitor type behind an `ftf_forest`.
pub(crate) type FfiMonitor = Monitor<CRecovery, Arc<FfiTracker>, FfiClock>;

/// The Rust state behind an `ftf_forest` handle.
pub(crate) struct FfiForest {
    pub(crate) monitor: FfiMonitor,
    pub(crate) tracker: Arc<FfiTracker>,
    /// Counted references (module invariants): C handles and barriers.
    refs: AtomicUsize,
    /// Attached to a cluster member (`ftf_cluster_join`): `ftf_forest_start` is refused.
    /// The mutex orders start against attach (start never waits while holding it).
    attached: std::sync::Mutex<bool>,
}

impl FfiForest {
    /// Marks the forest attached to a cluster member: `Err(FTF_ALREADY_RUNNING)` while its
    /// threads run, `Err(FTF_BUSY)` when another member holds it. Never waits (beyond the
    /// short attach lock).
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub(crate) fn attach(&self) -> Result<(), ftf_result> {
        let mut a = self.attached.lock().unwrap_or_else(|p| p.into_inner());
        if self.monitor.is_running() {
            return Err(ftf_result::FTF_ALREADY_RUNNING);
        }
        if *a {
            return Err(ftf_result::FTF_BUSY);
        }
        *a = true;
        Ok(())
    }

    /// Undoes [`attach`](Self::attach): `ftf_forest_start` works again.
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub(crate) fn detach(&self) {
        *self.attached.lock().unwrap_or_else(|p| p.into_inner()) = false;
    }
}

/// One counted reference to a forest (a C handle's or a barrier's); dropping the last one
/// closes the forest (module invariants).
pub(crate) struct ForestRef(Arc<FfiForest>);

impl ForestRef {
    /// A new reference to the forest behind `ptr`; `None` for NULL.
    pub(crate) fn clone_from_ptr(ptr: *const ftf_forest) -> Option<ForestRef> {
        let arc = clone_arc(ptr)?;
        // Relaxed, as `Arc::clone`: the caller's own reference keeps the count above zero.
        arc.refs.fetch_add(1, Ordering::Relaxed);
        Some(ForestRef(arc))
    }

    /// Takes over the reference a C handle owns; `None` for NULL.
    fn from_handle(ptr: *const ftf_forest) -> Option<ForestRef> {
        arc_from_raw(ptr).map(ForestRef)
    }

    /// One more counted reference to the same forest.
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub(crate) fn share(&self) -> ForestRef {
        // Relaxed, as `Arc::clone`: `self` keeps the count above zero.
        self.0.refs.fetch_add(1, Ordering::Relaxed);
        ForestRef(self.0.clone())
    }

    /// Hands the reference to C as a handle.
    fn into_handle(self) -> *const ftf_forest {
        let me = ManuallyDrop::new(self);
        // SAFETY: `me` is never dropped, so its `Arc` is moved out exactly once.
        arc_into_const_ptr::<ftf_forest>(unsafe { core::ptr::read(&me.0) })
    }
}

impl Deref for ForestRef {
    type Target = FfiForest;
    fn deref(&self) -> &FfiForest {
        &self.0
    }
}

impl Drop for ForestRef {
    fn drop(&mut self) {
        // AcqRel, as `Arc`'s drop: the last reference sees every use made through the others.
        if self.0.refs.fetch_sub(1, Ordering::AcqRel) == 1 {
            let keep = self.0.clone();
            self.0.monitor.close_then(move || drop(keep));
        }
    }
}

/// Listener slots of a forest.
pub const FTF_MAX_LISTENERS: u32 = 16;

const _: () = assert!(FTF_MAX_LISTENERS as usize == ftforest_core::coord::MONITOR_LISTENERS);

/// The fault-tolerant forest runtime (coordinator + dispatcher and worker threads).
/// Shared (`const ftf_forest *`), thread-safe.
pub struct ftf_forest {
    _private: [u8; 0],
}

impl Castable for ftf_forest {
    type Ownership = OwnershipArc;
    type RustType = FfiForest;
}

impl ftf_forest {
    /// Creates a stopped forest runtime for partitions `0..n` (all HEALTHY) that recovers
    /// through `callbacks` (copied; `run_phase` required).
    ///
    /// `config`: NULL for the defaults (copied). `tracker`: the operation tracker recovery
    /// mode pauses (the forest keeps its own reference), or NULL to create one
    /// (`ftf_forest_tracker`). Start the threads with `ftf_forest_start`.
    ///
    /// `FTF_OK` (`*forest_out` owns one reference: free with `ftf_forest_free`);
    /// `FTF_INVALID_ARGUMENT` (`n == 0` or above `2^31 - 1`, refused before allocating);
    /// `FTF_OUT_OF_MEMORY` (the storage for `n` partitions could not be allocated);
    /// `FTF_INVALID_CONFIG` (`max_concurrent` above `FTF_MAX_CONCURRENT_RECOVERIES`, or a
    /// fenced configuration: the forest's threads cannot answer fences, drive an
    /// `ftf_coordinator` instead);
    /// `FTF_NULL_PARAMETER` (also for a NULL `run_phase`).
    /// On error the callbacks' finalizer is not called.
    #[no_mangle]
    pub extern "C" fn ftf_forest_new(
        config: *const ftf_config,
        n: u32,
        tracker: *const ftf_tracker,
        callbacks: *const ftf_recovery_callbacks,
        forest_out: *mut *const ftf_forest,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let out = try_out!(forest_out);
            // SAFETY: C contract: a non-NULL `callbacks` points to a readable struct (copied).
            let Some(cb) = (unsafe { callbacks.as_ref() }).copied() else {
                return ftf_result::FTF_NULL_PARAMETER;
            };
            if cb.run_phase.is_none() {
                return ftf_result::FTF_NULL_PARAMETER;
            }
            if n == 0 || n > ftforest_core::MAX_PARTITIONS {
                return ftf_result::FTF_INVALID_ARGUMENT;
            }
            let cfg = config_or_default(config);
            let tracker = tracker_or_new(tracker);
            // Unarmed until created: on failure the embedder keeps its userdata.
            let recovery = CRecovery(cb, AtomicBool::new(false));
            match Monitor::new(cfg, n, tracker.clone(), recovery, FfiClock::default()) {
                Ok(monitor) => {
                    // Release: pairs with the Acquire in `CRecovery::drop`.
                    monitor.recovery().1.store(true, Ordering::Release);
                    let refs = AtomicUsize::new(1);
                    let attached = std::sync::Mutex::new(false);
                    *out = to_arc_const_ptr::<ftf_forest>(FfiForest {
                        monitor,
                        tracker,
                        refs,
                        attached,
                    });
                    ftf_result::FTF_OK
                }
                Err(MonitorError::Coordinator(e)) => new_error(&e),
                Err(_) => ftf_result::FTF_INVALID_ARGUMENT,
            }
        }
    }

    /// Adds a reference; returns the same pointer (NULL for NULL).
    #[no_mangle]
    pub extern "C" fn ftf_forest_clone(forest: *const ftf_forest) -> *const ftf_forest {
        ffi_panic_boundary! {
            match ForestRef::clone_from_ptr(forest) {
                Some(r) => r.into_handle(),
                None => core::ptr::null(),
            }
        }
    }

    /// Drops one reference; NULL is a no-op. The last one (counting the barriers made for
    /// the forest) stops the threads for good. Called from a thread that is not the
    /// forest's, it joins them (a running phase is finished first) and runs the finalizers
    /// before returning. Called from inside a callback, it returns at once: the threads
    /// finish the callbacks they are in (those may still use the handle) and exit, and the
    /// last of them frees the forest and runs the finalizers. Either way no callback starts
    /// on the calling thread after this call.
    #[no_mangle]
    pub extern "C" fn ftf_forest_free(forest: *const ftf_forest) {
        ffi_panic_boundary! {
            drop(ForestRef::from_handle(forest));
        }
    }

    /// Starts the dispatcher and `max_concurrent` worker threads. Never waits; callable from
    /// a callback (after a stop there, the new threads call nothing until the old dispatcher
    /// has finished its callback: listeners never run on two threads at once; an old
    /// worker still in a phase finishes it alongside the new run, which keeps ticking).
    /// `FTF_OK`; `FTF_ALREADY_RUNNING` (no effect); `FTF_NOT_RUNNING` (the forest's last
    /// reference was freed: it never starts again); `FTF_BUSY` (attached to a cluster member
    /// by `ftf_cluster_join`: the cluster decides recoveries; works again once the member is
    /// freed); `FTF_CALLBACK_FAILED` (the OS refused a thread; nothing runs);
    /// `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_forest_start(forest: *const ftf_forest) -> ftf_result {
        ffi_panic_boundary! {
            let f = try_ref_from_ptr!(forest);
            let attached = f.attached.lock().unwrap_or_else(|p| p.into_inner());
            if *attached {
                return ftf_result::FTF_BUSY;
            }
            if f.monitor.is_running() {
                return ftf_result::FTF_ALREADY_RUNNING;
            }
            match f.monitor.start() {
                Ok(()) => ftf_result::FTF_OK,
                Err(MonitorError::Closed) => ftf_result::FTF_NOT_RUNNING,
                Err(_) => ftf_result::FTF_CALLBACK_FAILED,
            }
        }
    }

    /// Stops the threads; state and queued work are kept for the next start. From a thread
    /// that is not the forest's it joins them (a running phase finishes first: when it
    /// returns no callback runs); from inside a callback it returns at once (no callback
    /// starts on the calling thread afterwards; the others finish the callback they are in).
    /// `FTF_OK`; `FTF_NOT_RUNNING` (no effect); `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_forest_stop(forest: *const ftf_forest) -> ftf_result {
        ffi_panic_boundary! {
            let f = try_ref_from_ptr!(forest);
            if !f.monitor.is_running() {
                return ftf_result::FTF_NOT_RUNNING;
            }
            f.monitor.stop();
            ftf_result::FTF_OK
        }
    }

    /// Whether the threads run (started and not stopped); false for NULL. Never blocks.
    #[no_mangle]
    pub extern "C" fn ftf_forest_is_running(forest: *const ftf_forest) -> bool {
        ffi_panic_boundary! {
            try_ref_from_ptr!(forest).monitor.is_running()
        }
    }

    /// A new reference to the operation tracker recovery mode pauses (free it with
    /// `ftf_tracker_free`); NULL for NULL. Forest operations begin/end on it.
    #[no_mangle]
    pub extern "C" fn ftf_forest_tracker(forest: *const ftf_forest) -> *const ftf_tracker {
        ffi_panic_boundary! {
            let f = try_ref_from_ptr!(forest);
            arc_into_const_ptr::<ftf_tracker>(f.tracker.clone())
        }
    }

    /// Feeds an observation about `rank` made now (`ftf_now_ns()`); wakes the dispatcher.
    /// `kind`: an `ftf_report_kind`; `incarnation`: `FTF_INCARNATION_ANY` or the life the
    /// report is about.
    ///
    /// `FTF_OK` (`*outcome_out` = an `ftf_report_outcome`); `FTF_UNKNOWN_PARTITION`;
    /// `FTF_UNKNOWN_ENUM`; `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_forest_report(
        forest: *const ftf_forest,
        kind: u32,
        rank: u32,
        incarnation: u32,
        outcome_out: *mut u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let f = try_ref_from_ptr!(forest);
            let out = try_out!(outcome_out);
            let Some(report) = make_report(kind, rank, incarnation) else {
                return ftf_result::FTF_UNKNOWN_ENUM;
            };
            match f.monitor.report(report) {
                Ok(o) => {
                    *out = o as u8 as u32;
                    ftf_result::FTF_OK
                }
                Err(e) => e.into(),
            }
        }
    }

    /// As `ftf_forest_report`, observed at `now_ns` (on `ftf_now_ns()`'s time line).
    #[no_mangle]
    pub extern "C" fn ftf_forest_report_at(
        forest: *const ftf_forest,
        now_ns: u64,
        kind: u32,
        rank: u32,
        incarnation: u32,
        outcome_out: *mut u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let f = try_ref_from_ptr!(forest);
            let out = try_out!(outcome_out);
            let Some(report) = make_report(kind, rank, incarnation) else {
                return ftf_result::FTF_UNKNOWN_ENUM;
            };
            match f.monitor.report_at(Instant::from_nanos(now_ns), report) {
                Ok(o) => {
                    *out = o as u8 as u32;
                    ftf_result::FTF_OK
                }
                Err(e) => e.into(),
            }
        }
    }

    /// Recovers an escalated partition again. `FTF_OK`; `FTF_UNKNOWN_PARTITION`;
    /// `FTF_UNEXPECTED_STATE` (not FAILED); `FTF_BUSY` (already scheduled);
    /// `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_forest_retry(forest: *const ftf_forest, rank: u32) -> ftf_result {
        ffi_panic_boundary! {
            match try_ref_from_ptr!(forest).monitor.retry(rank) {
                Ok(()) => ftf_result::FTF_OK,
                Err(e) => e.into(),
            }
        }
    }

    /// Partition `rank` joins the running (or stopped) forest now: ABSENT -> HEALTHY, or
    /// FAILED -> HEALTHY when recovered elsewhere; `*incarnation_out` = its new incarnation.
    /// Thread-safe; may be called from any thread and from every callback. Listeners get
    /// STATUS_CHANGED (`FTF_CAUSE_JOINED`) and MEMBER_JOINED.
    ///
    /// `FTF_OK`; `FTF_UNKNOWN_PARTITION`; `FTF_DUPLICATE` (already a member); `FTF_BUSY`
    /// (its recovery is running); `FTF_NULL_PARAMETER` (checked first). Never
    /// `FTF_OUTBOX_FULL`. Nothing changes on an error.
    #[no_mangle]
    pub extern "C" fn ftf_forest_join(
        forest: *const ftf_forest,
        rank: u32,
        incarnation_out: *mut u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let f = try_ref_from_ptr!(forest);
            let out = try_out!(incarnation_out);
            match f.monitor.join(rank) {
                Ok(inc) => {
                    *out = inc;
                    ftf_result::FTF_OK
                }
                Err(e) => e.into(),
            }
        }
    }

    /// Partition `rank` leaves the running (or stopped) forest now: a graceful leave is not a
    /// failure (nothing is recovered); a FAILED partition is decommissioned. Thread-safe, as
    /// `ftf_forest_join`. Listeners get STATUS_CHANGED (`FTF_CAUSE_LEFT`) and MEMBER_LEFT.
    ///
    /// `FTF_OK`; `FTF_UNKNOWN_PARTITION`; `FTF_UNEXPECTED_STATE` (already ABSENT); `FTF_BUSY`
    /// (its recovery is running: leave it once the attempt ends); `FTF_NULL_PARAMETER`.
    /// Never `FTF_OUTBOX_FULL`. Nothing changes on an error.
    #[no_mangle]
    pub extern "C" fn ftf_forest_leave(forest: *const ftf_forest, rank: u32) -> ftf_result {
        ffi_panic_boundary! {
            match try_ref_from_ptr!(forest).monitor.leave(rank) {
                Ok(()) => ftf_result::FTF_OK,
                Err(e) => e.into(),
            }
        }
    }

    /// Wakes the dispatcher (it ticks at least every 50 ms anyway). `FTF_OK`;
    /// `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_forest_poke(forest: *const ftf_forest) -> ftf_result {
        ffi_panic_boundary! {
            try_ref_from_ptr!(forest).monitor.poke();
            ftf_result::FTF_OK
        }
    }

    /// Subscribes `callback` (see `ftf_event_fn`) with `userdata` and an optional `finalizer`
    /// for it (runs once, when the listener can no longer be called).
    ///
    /// `FTF_OK` (`*handle_out` names the subscription); `FTF_FULL` (`FTF_MAX_LISTENERS`
    /// taken; the finalizer is not called); `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_forest_subscribe(
        forest: *const ftf_forest,
        callback: ftf_event_fn,
        userdata: *mut c_void,
        finalizer: ftf_finalizer_fn,
        handle_out: *mut ftf_listener_handle,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let f = try_ref_from_ptr!(forest);
            let out = try_out!(handle_out);
            let Some(callback) = callback else {
                return ftf_result::FTF_NULL_PARAMETER;
            };
            let listener = Arc::new(CListener {
                userdata,
                callback,
                finalizer,
                armed: AtomicBool::new(false),
            });
            let in_closure = listener.clone();
            let res = f.monitor.subscribe(move |e: &Event| in_closure.deliver(e));
            match res {
                Ok(h) => {
                    // Subscribed: from now on the finalizer belongs to the listener. Release:
                    // pairs with the Acquire in `CListener::drop`.
                    listener.armed.store(true, Ordering::Release);
                    *out = ftf_listener_handle { set: h.set, slot: h.slot, generation: h.generation };
                    ftf_result::FTF_OK
                }
                Err(SubscribeError::Full) => ftf_result::FTF_FULL,
                Err(_) => ftf_result::FTF_FULL,
            }
        }
    }

    /// Removes the subscription `handle` names (only that one).
    ///
    /// Synchronous: once this returns `FTF_OK` the listener is never called again. If the
    /// dispatcher is calling it right now, this waits until that call returns (so a listener
    /// must not wait for a thread that unsubscribes it); from inside a listener (itself or
    /// another) it never waits. The finalizer may still run on the dispatcher just after this
    /// returns: free `userdata` in the finalizer, not after this call.
    ///
    /// `FTF_OK`; `FTF_FOREIGN_HANDLE` (another forest's handle); `FTF_NOT_HOLDER` (already
    /// unsubscribed or never subscribed); `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_forest_unsubscribe(
        forest: *const ftf_forest,
        handle: ftf_listener_handle,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let f = try_ref_from_ptr!(forest);
            let h = ListenerHandle { set: handle.set, slot: handle.slot, generation: handle.generation };
            match f.monitor.unsubscribe(h) {
                Ok(()) => ftf_result::FTF_OK,
                Err(UnsubscribeError::ForeignHandle) => ftf_result::FTF_FOREIGN_HANDLE,
                Err(_) => ftf_result::FTF_NOT_HOLDER,
            }
        }
    }

    /// `rank`'s state (an `ftf_health`) and incarnation. `FTF_OK`; `FTF_UNKNOWN_PARTITION`;
    /// `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_forest_health(
        forest: *const ftf_forest,
        rank: u32,
        health_out: *mut u32,
        incarnation_out: *mut u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let f = try_ref_from_ptr!(forest);
            f.monitor.with_coordinator(|c| write_health(c, rank, health_out, incarnation_out))
        }
    }

    /// The detection and recovery bookkeeping of `rank` (see `ftf_partition_info`; times on
    /// `ftf_now_ns()`). `FTF_OK`; `FTF_UNKNOWN_PARTITION`; `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_forest_partition(
        forest: *const ftf_forest,
        rank: u32,
        info_out: *mut ftf_partition_info,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let f = try_ref_from_ptr!(forest);
            f.monitor.with_coordinator(|c| write_partition(c, rank, info_out))
        }
    }

    /// The statistics of `rank` (see `ftf_partition_stats`; times on `ftf_now_ns()`).
    /// `FTF_OK`; `FTF_UNKNOWN_PARTITION`; `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_forest_partition_stats(
        forest: *const ftf_forest,
        rank: u32,
        stats_out: *mut ftf_partition_stats,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let f = try_ref_from_ptr!(forest);
            f.monitor.with_coordinator(|c| write_partition_stats(c, rank, stats_out))
        }
    }

    /// Per-state counts. `FTF_OK`; `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_forest_counts(
        forest: *const ftf_forest,
        counts_out: *mut ftf_counts,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let f = try_ref_from_ptr!(forest);
            let out = try_out!(counts_out);
            *out = f.monitor.with_coordinator(|c| c.counts()).into();
            ftf_result::FTF_OK
        }
    }

    /// The running attempt of `rank`. `FTF_OK`; `FTF_NO_RECOVERY`; `FTF_UNKNOWN_PARTITION`;
    /// `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_forest_recovery(
        forest: *const ftf_forest,
        rank: u32,
        job_out: *mut ftf_phase_job,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let f = try_ref_from_ptr!(forest);
            f.monitor.with_coordinator(|c| write_recovery(c, rank, job_out))
        }
    }

    /// Whether recovery mode is active (the forest is paused or being paused); false for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_forest_in_recovery_mode(forest: *const ftf_forest) -> bool {
        ffi_panic_boundary! {
            try_ref_from_ptr!(forest).monitor.with_coordinator(|c| c.in_recovery_mode())
        }
    }

    /// Whether `rank` waits in the recovery queue; false for NULL or an unknown rank.
    #[no_mangle]
    pub extern "C" fn ftf_forest_is_queued(forest: *const ftf_forest, rank: u32) -> bool {
        ffi_panic_boundary! {
            try_ref_from_ptr!(forest).monitor.with_coordinator(|c| c.is_queued(rank))
        }
    }

    /// A statistics snapshot. `FTF_OK`; `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_forest_stats(
        forest: *const ftf_forest,
        stats_out: *mut ftf_stats,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let f = try_ref_from_ptr!(forest);
            let out = try_out!(stats_out);
            *out = f.monitor.stats().into();
            ftf_result::FTF_OK
        }
    }

    /// The health level (an `ftf_level`); `FTF_LEVEL_QUORUM_LOST` for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_forest_level(forest: *const ftf_forest) -> u32 {
        ffi_panic_boundary! {
            let Some(f) = try_from(forest) else {
                return crate::enums::ftf_level::FTF_LEVEL_QUORUM_LOST as u32;
            };
            f.monitor.level() as u8 as u32
        }
    }

    /// The alerts raised now (`FTF_ALERT_*` bits); 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_forest_alerts(forest: *const ftf_forest) -> u32 {
        ffi_panic_boundary! {
            try_ref_from_ptr!(forest).monitor.alerts().0
        }
    }

    /// Callback panics contained by the runtime so far (always 0 for C callbacks, which
    /// cannot panic; counted for completeness); 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_forest_callback_panics(forest: *const ftf_forest) -> u64 {
        ffi_panic_boundary! {
            try_ref_from_ptr!(forest).monitor.callback_panics()
        }
    }

    /// Writes the statistics, level, alerts and operations in flight as OpenMetrics text
    /// (NUL-terminated) into `buf[0..len)`, so a C service can serve `/metrics` with one call.
    ///
    /// `*needed_out` receives the size needed including the NUL on `FTF_OK` and on
    /// `FTF_BUFFER_TOO_SMALL` (then nothing is written). `buf` may be NULL when `len == 0`
    /// (to ask for the size). `FTF_NULL_PARAMETER` for a NULL forest or `needed_out`, or a
    /// NULL `buf` with a `len` large enough (then `*needed_out` is untouched).
    #[no_mangle]
    pub extern "C" fn ftf_forest_metrics(
        forest: *const ftf_forest,
        buf: *mut core::ffi::c_char,
        len: usize,
        needed_out: *mut usize,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let f = try_ref_from_ptr!(forest);
            let stats = f.monitor.stats();
            let level = f.monitor.level();
            let alerts = f.monitor.alerts();
            let text = crate::metrics::text(&stats, level, alerts, f.tracker.in_flight());
            crate::metrics::write_text(&text, buf, len, needed_out)
        }
    }
}
