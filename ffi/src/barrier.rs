//! `ftf_barrier`: the forest barrier decorator for C. Wraps the embedder's barrier-with-timeout
//! for one partition and reports every outcome to a forest or coordinator: a timeout becomes a
//! `BARRIER_TIMEOUT` report (always: the Java decorator never reported, B3), a pass becomes a
//! `BARRIER_PASSED` success (unless disabled), which resets the consecutive-failure count (B7).
//!
//! Invariants:
//!
//! * `Box`-owned (`ftf_barrier *`): one barrier is used by one thread at a time (typically
//!   each participant owns one).
//! * Reports carry `ftf_now_ns()` time; a coordinator fed by barriers should use that time
//!   line for its other inputs too.
//! * A callback result that is not an `ftf_barrier_outcome` is treated as a timeout (reported:
//!   a broken barrier is never taken for a healthy one) and the wait returns
//!   `FTF_CALLBACK_FAILED`.
//! * A wait's report is about the partition's life when the wait began: `ftf_barrier_wait`
//!   reads the partition's incarnation just before it calls the embedder's barrier (the core's
//!   `ReportingBarrier` asks this file's sink through `ReportSink::incarnation`) and the
//!   report carries it. A wait that began before a recovery finished (or a false alarm was
//!   cleared) and ends after it is therefore refused as stale by the coordinator
//!   (`FTF_REPORT_STALE`): a timeout of the old life never counts against the recovered
//!   partition.
//! * The outcome of the last wait's report is kept for `ftf_barrier_last_report`.
//! * The barrier holds a reference to its forest or coordinator, so either may be freed first.

use core::cell::Cell;
use core::ffi::c_void;
use core::time::Duration;
use std::sync::Arc;

use ftforest_core::coord::{
    Barrier, BarrierOutcome, Report, ReportError, ReportOutcome, ReportSink, ReportingBarrier,
};
use ftforest_core::Instant;

use crate::clock::FfiClock;
use crate::config::duration_ns;
use crate::coordinator::{ftf_coordinator, FfiCoordinator};
use crate::forest::{ftf_forest, ForestRef};
use crate::handle::{
    free_box, to_boxed_mut_ptr, try_clone_arc, try_from, try_mut_from_ptr, try_out,
    try_ref_from_ptr, Castable, OwnershipBox,
};
use crate::panic::ffi_panic_boundary;
use crate::result::ftf_result;
use crate::wait::ftf_finalizer_fn;

/// Waits at most `timeout_ns` for the other participants of the barrier that partition `rank`
/// takes part in; returns an `ftf_barrier_outcome` (`FTF_BARRIER_PASSED` or
/// `FTF_BARRIER_TIMED_OUT`; any other value counts as a timeout and makes `ftf_barrier_wait`
/// return `FTF_CALLBACK_FAILED`).
///
/// Called on the thread that calls `ftf_barrier_wait`, with no libftforest lock held. Must not
/// unwind (C++: `noexcept`).
pub type ftf_barrier_fn =
    Option<unsafe extern "C" fn(userdata: *mut c_void, rank: u32, timeout_ns: u64) -> u32>;

/// Where a barrier's reports go.
enum Target {
    Coordinator(Arc<FfiCoordinator>),
    Forest(ForestRef),
}

impl Target {
    /// The partition's current incarnation (`None` for an unknown rank).
    fn incarnation(&self, rank: u32) -> Option<u32> {
        let health = match self {
            Target::Coordinator(c) => c.lock().health(rank),
            Target::Forest(f) => f.monitor.with_coordinator(|c| c.health(rank)),
        };
        health.ok().map(|(_, inc)| inc)
    }
}

/// The barrier's sink: the target, plus what the last report got (a `Cell`, because
/// `ftf_barrier_wait` reaches the sink only by shared reference; the handle is used by one
/// thread at a time).
struct Sink {
    target: Target,
    /// The last report's outcome (`None`: nothing reported yet, or refused).
    last: Cell<Option<ReportOutcome>>,
}

impl ReportSink for Sink {
    /// Read by the core's `ReportingBarrier` before each wait: the report is pinned to it.
    fn incarnation(&mut self, rank: u32) -> Option<u32> {
        self.target.incarnation(rank)
    }

    fn report(&mut self, now: Instant, report: Report) -> Result<ReportOutcome, ReportError> {
        let r = match &self.target {
            Target::Coordinator(c) => c.lock().handle_report(now, report),
            Target::Forest(f) => f.monitor.report_at(now, report),
        };
        self.last.set(r.ok());
        r
    }
}

/// The embedder's barrier.
struct CBarrier {
    userdata: *mut c_void,
    wait: unsafe extern "C" fn(*mut c_void, u32, u64) -> u32,
    finalizer: ftf_finalizer_fn,
    rank: u32,
    /// The last callback result was not an `ftf_barrier_outcome`.
    invalid: bool,
}

impl Barrier for CBarrier {
    fn wait(&mut self, timeout: Duration) -> BarrierOutcome {
        // SAFETY: the embedder's callback for this userdata.
        let r = unsafe { (self.wait)(self.userdata, self.rank, duration_ns(timeout)) };
        self.invalid = false;
        match r {
            0 => BarrierOutcome::Passed,
            1 => BarrierOutcome::TimedOut,
            _ => {
                self.invalid = true;
                BarrierOutcome::TimedOut
            }
        }
    }
}

impl Drop for CBarrier {
    fn drop(&mut self) {
        if let Some(fin) = self.finalizer {
            // SAFETY: runs once, when the barrier is freed (never after a failed `_new`).
            unsafe { fin(self.userdata) }
        }
    }
}

/// The Rust state behind an `ftf_barrier` handle.
pub(crate) struct FfiBarrier(ReportingBarrier<CBarrier, Sink, FfiClock>);

/// A barrier decorator for one partition (see `ftf_barrier_fn`). Owned by one thread at a
/// time (`ftf_barrier *`); free with `ftf_barrier_free`.
pub struct ftf_barrier {
    _private: [u8; 0],
}

impl Castable for ftf_barrier {
    type Ownership = OwnershipBox;
    type RustType = FfiBarrier;
}

/// The embedder's side of a barrier, as passed to `_new`.
struct BarrierArgs {
    wait: ftf_barrier_fn,
    userdata: *mut c_void,
    finalizer: ftf_finalizer_fn,
    report_passes: bool,
}

fn new_barrier(
    target: Target,
    len: u32,
    rank: u32,
    args: BarrierArgs,
    barrier_out: *mut *mut ftf_barrier,
) -> ftf_result {
    let BarrierArgs {
        wait,
        userdata,
        finalizer,
        report_passes,
    } = args;
    let out = try_out!(barrier_out);
    let Some(wait) = wait else {
        return ftf_result::FTF_NULL_PARAMETER;
    };
    if rank >= len {
        return ftf_result::FTF_UNKNOWN_PARTITION;
    }
    let inner = CBarrier {
        userdata,
        wait,
        finalizer,
        rank,
        invalid: false,
    };
    let sink = Sink {
        target,
        last: Cell::new(None),
    };
    let b =
        ReportingBarrier::new(inner, sink, FfiClock::default(), rank).report_passes(report_passes);
    *out = to_boxed_mut_ptr::<ftf_barrier>(FfiBarrier(b));
    ftf_result::FTF_OK
}

impl ftf_barrier {
    /// Creates a barrier for partition `rank` whose outcomes are reported to `forest`
    /// (timeouts always; passes when `report_passes`). `wait` is required; `finalizer`
    /// (optional) runs once on `ftf_barrier_free` (not when this call fails).
    ///
    /// `FTF_OK` (`*barrier_out` owned by the caller); `FTF_UNKNOWN_PARTITION`;
    /// `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_barrier_new_for_forest(
        forest: *const ftf_forest,
        rank: u32,
        wait: ftf_barrier_fn,
        userdata: *mut c_void,
        finalizer: ftf_finalizer_fn,
        report_passes: bool,
        barrier_out: *mut *mut ftf_barrier,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let Some(f) = ForestRef::clone_from_ptr(forest) else {
                return ftf_result::FTF_NULL_PARAMETER;
            };
            let len = f.monitor.with_coordinator(|c| c.len());
            let args = BarrierArgs { wait, userdata, finalizer, report_passes };
            new_barrier(Target::Forest(f), len, rank, args, barrier_out)
        }
    }

    /// As `ftf_barrier_new_for_forest`, reporting to a sans-io coordinator (at `ftf_now_ns()`
    /// time). The embedder drains the coordinator's events: a report it refuses for a full
    /// outbox is lost and counted in `ftf_barrier_report_errors` (a forest never refuses
    /// one).
    #[no_mangle]
    pub extern "C" fn ftf_barrier_new_for_coordinator(
        coordinator: *const ftf_coordinator,
        rank: u32,
        wait: ftf_barrier_fn,
        userdata: *mut c_void,
        finalizer: ftf_finalizer_fn,
        report_passes: bool,
        barrier_out: *mut *mut ftf_barrier,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_clone_arc!(coordinator);
            let len = c.lock().len();
            let args = BarrierArgs { wait, userdata, finalizer, report_passes };
            new_barrier(Target::Coordinator(c), len, rank, args, barrier_out)
        }
    }

    /// Frees a barrier (runs its finalizer); NULL is a no-op.
    #[no_mangle]
    pub extern "C" fn ftf_barrier_free(barrier: *mut ftf_barrier) {
        ffi_panic_boundary! {
            free_box(barrier);
        }
    }

    /// Waits at most `timeout_ns` through the embedder's barrier and reports the outcome.
    ///
    /// The report is about the partition's life (incarnation) when the wait began: if the
    /// partition became HEALTHY again during the wait (recovered, or a false alarm cleared),
    /// the report is stale and ignored (`ftf_barrier_last_report` gives `FTF_REPORT_STALE`),
    /// so a wait that began before a recovery finished never counts against the recovered
    /// partition.
    ///
    /// `FTF_OK` (`*outcome_out` = an `ftf_barrier_outcome`); `FTF_CALLBACK_FAILED` (the
    /// callback returned an unknown value: reported as a timeout; `*outcome_out` untouched);
    /// `FTF_NULL_PARAMETER`; `FTF_BUSY` from a cluster member's pause/resume hook (nothing done: what it
    /// waits for comes only after the pause, whose ack waits for that hook).
    #[no_mangle]
    pub extern "C" fn ftf_barrier_wait(
        barrier: *mut ftf_barrier,
        timeout_ns: u64,
        outcome_out: *mut u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let b = try_mut_from_ptr!(barrier);
            let out = try_out!(outcome_out);
            if crate::in_cluster_loop_hook() {
                return ftf_result::FTF_BUSY;
            }
            b.0.sink().last.set(None);
            let outcome = b.0.wait(Duration::from_nanos(timeout_ns));
            if b.0.inner().invalid {
                return ftf_result::FTF_CALLBACK_FAILED;
            }
            *out = outcome as u8 as u32;
            ftf_result::FTF_OK
        }
    }

    /// Timeouts seen (each was reported); 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_barrier_timeouts(barrier: *const ftf_barrier) -> u64 {
        ffi_panic_boundary! {
            try_from(barrier).map_or(0, |b| b.0.timeouts())
        }
    }

    /// What the forest or coordinator made of the last wait's report: `*outcome_out` = an
    /// `ftf_report_outcome` (e.g. `FTF_REPORT_COUNTED`, `FTF_REPORT_SUSPECTED` when this
    /// timeout made the partition SUSPECTED, `FTF_REPORT_IGNORED` when it is already FAILED or
    /// RECOVERING, `FTF_REPORT_STALE` when the partition became HEALTHY again during the
    /// wait).
    ///
    /// `FTF_OK`; `FTF_EMPTY` (no wait yet, a pass that is not reported, or a refused report:
    /// see `ftf_barrier_report_errors`); `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_barrier_last_report(
        barrier: *const ftf_barrier,
        outcome_out: *mut u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let b = try_ref_from_ptr!(barrier);
            let out = try_out!(outcome_out);
            match b.0.sink().last.get() {
                Some(o) => {
                    *out = o as u8 as u32;
                    ftf_result::FTF_OK
                }
                None => ftf_result::FTF_EMPTY,
            }
        }
    }

    /// Reports the forest or coordinator refused (should stay 0: an unknown rank cannot
    /// happen, and only a coordinator whose event outbox is left full refuses one); 0 for
    /// NULL.
    #[no_mangle]
    pub extern "C" fn ftf_barrier_report_errors(barrier: *const ftf_barrier) -> u64 {
        ffi_panic_boundary! {
            try_from(barrier).map_or(0, |b| b.0.report_errors())
        }
    }
}
