//! `ftf_coordinator`: the sans-io fault-tolerance coordinator for C (the embedder drives it).
//!
//! The embedder feeds reports and `tick(now_ns)`, pulls actions (`ftf_action`: pause/resume the
//! balancer and ghost sync, run a recovery phase, cancel an attempt) and events (`ftf_event`),
//! and calls `ftf_coordinator_phase_done` when it finished a phase and
//! `ftf_coordinator_cancel_done` when an abandoned attempt (`FTF_ACTION_CANCEL_RECOVERY`) has
//! stopped (until then the forest stays paused). The coordinator never reads
//! a clock, starts no thread and never blocks; `ftf_forest` is the same coordinator run on
//! library threads with callbacks. This file holds the handle and the driving side (inputs and
//! polls); `coordinator_state.rs` the read side (per-partition state, counts, statistics,
//! metrics).
//!
//! Invariants:
//!
//! * `Arc`-owned; the core coordinator (`&mut self` API) sits behind one mutex, so every entry
//!   point may be called from any thread; calls are serialised. No callback exists here, so no
//!   user code ever runs under that mutex.
//! * The coordinator holds its own reference to the operation tracker it pauses (the
//!   `ftf_tracker` passed at creation, or one it created); forest threads begin/end operations
//!   on that tracker concurrently with the coordinator.
//! * Time: the largest `now_ns` seen is kept; an earlier value reads as "no time passed" (a
//!   backward clock step never produces a negative duration).
//! * Backpressure: no event is ever dropped. An input (report, phase result, retry) that would
//!   not fit its events into the outbox is refused with `FTF_OUTBOX_FULL` and changes nothing;
//!   work that follows an input or a tick stops early instead and `poll_timeout` says "now"
//!   until it is done. Draining `ftf_coordinator_poll_event` after every input (the documented
//!   loop) never meets either.

#[cfg(feature = "std")]
use std::sync::{Arc, Mutex, MutexGuard};

#[cfg(feature = "std")]
use ftforest_core::coord::BoxedCoordinator;
use ftforest_core::coord::{
    CancelDoneError, Config, MembershipError, NewError, PhaseDoneError, Report, ReportError,
    RetryError,
};
use ftforest_core::Instant;

use crate::config::ftf_config;
use crate::enums::{phase_from_u32, report_kind_from_u32};
use crate::event::{ftf_action, ftf_event};
#[cfg(feature = "std")]
use crate::handle::{arc_into_const_ptr, clone_arc, free_arc, to_arc_const_ptr, try_clone_arc};
use crate::handle::{try_from, try_out, try_ref_from_ptr, Castable, OwnershipArc};
use crate::panic::ffi_panic_boundary;
use crate::result::ftf_result;
use crate::table::FTF_INCARNATION_ANY;
#[cfg(feature = "std")]
use crate::tracker::ftf_tracker;
use crate::tracker::FfiTracker;
#[cfg(feature = "std")]
use crate::wait::FfiWait;

/// Recovery slots of a coordinator or forest: the largest accepted `max_concurrent`.
pub const FTF_MAX_CONCURRENT_RECOVERIES: u32 = 8;
/// Events a coordinator buffers between polls. An input whose events would not fit is refused
/// with `FTF_OUTBOX_FULL` (nothing changed); no event is ever dropped.
#[cfg(feature = "std")]
pub const FTF_EVENT_CAPACITY: u32 = 256;
/// Events a coordinator buffers between polls (bare-metal build: 16, 40 bytes each). An input
/// whose events would not fit is refused with `FTF_OUTBOX_FULL` (nothing changed).
#[cfg(not(feature = "std"))]
pub const FTF_EVENT_CAPACITY: u32 = 16;

/// The core coordinator type behind the handle (the core's default `R = 8`, `E = 256`).
#[cfg(feature = "std")]
pub(crate) type FfiCoord = BoxedCoordinator<Arc<FfiTracker>>;

/// The core coordinator type behind the handle (bare metal: caller storage, `R = 8`,
/// `E = FTF_EVENT_CAPACITY`).
#[cfg(not(feature = "std"))]
pub(crate) type FfiCoord = ftforest_core::coord::Coordinator<
    crate::storage::Cells<ftforest_core::HealthCell>,
    crate::storage::Cells<ftforest_core::LockSlot>,
    crate::storage::Cells<ftforest_core::QueueSlot>,
    crate::storage::CellsMut<ftforest_core::coord::PartitionSlot>,
    &'static FfiTracker,
    { FTF_MAX_CONCURRENT_RECOVERIES as usize },
    { FTF_EVENT_CAPACITY as usize },
>;

/// The Rust state behind an `ftf_coordinator` handle.
#[cfg(feature = "std")]
pub(crate) struct FfiCoordinator {
    coord: Mutex<FfiCoord>,
    pub(crate) tracker: Arc<FfiTracker>,
}

/// The Rust state behind an `ftf_coordinator` handle (bare metal: calls are serialised by
/// a spin lock; drive the coordinator from one context, never from an interrupt handler).
#[cfg(not(feature = "std"))]
pub(crate) struct FfiCoordinator {
    pub(crate) coord: crate::bare::SpinLock<FfiCoord>,
}

#[cfg(feature = "std")]
impl FfiCoordinator {
    pub(crate) fn lock(&self) -> MutexGuard<'_, FfiCoord> {
        // The core never panics; a poisoned lock could only follow a bug caught by a panic
        // boundary, and the coordinator's state is consistent between its calls.
        self.coord
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl FfiCoordinator {
    /// The body of the per-rank lookups (`_cancelling`, `_fence`, `_fencing`):
    /// `FTF_UNKNOWN_PARTITION` for a rank outside the table; else `*out` = `f`'s answer and
    /// `FTF_OK`, or `FTF_NO_RECOVERY` with `*out` untouched when it has none.
    pub(crate) fn lookup<T>(
        &self,
        rank: u32,
        out: &mut T,
        f: impl FnOnce(&FfiCoord, u32) -> Option<T>,
    ) -> ftf_result {
        let c = self.lock();
        if rank >= c.len() {
            return ftf_result::FTF_UNKNOWN_PARTITION;
        }
        match f(&c, rank) {
            Some(v) => {
                *out = v;
                ftf_result::FTF_OK
            }
            None => ftf_result::FTF_NO_RECOVERY,
        }
    }
}

/// The sans-io coordinator: detection, quorum decisions, recovery scheduling, pause/resume and
/// statistics, driven by the embedder. Shared (`const ftf_coordinator *`), thread-safe
/// (calls are serialised by an internal mutex; no user code runs under it).
pub struct ftf_coordinator {
    _private: [u8; 0],
}

impl Castable for ftf_coordinator {
    type Ownership = OwnershipArc;
    type RustType = FfiCoordinator;
}

/// Maps the coordinator constructor's errors.
pub(crate) fn new_error(e: &NewError) -> ftf_result {
    match e {
        NewError::Config(_) => ftf_result::FTF_INVALID_CONFIG,
        NewError::OutOfMemory { .. } => ftf_result::FTF_OUT_OF_MEMORY,
        _ => ftf_result::FTF_INVALID_ARGUMENT,
    }
}

/// The config behind `config`, or the defaults for NULL.
pub(crate) fn config_or_default(config: *const ftf_config) -> Config {
    try_from(config).copied().unwrap_or_default()
}

/// The tracker behind `tracker` (a new reference), or a new parking tracker for NULL.
#[cfg(feature = "std")]
pub(crate) fn tracker_or_new(tracker: *const ftf_tracker) -> Arc<FfiTracker> {
    clone_arc(tracker).unwrap_or_else(|| Arc::new(FfiTracker::with_waiter(FfiWait::default())))
}

/// Builds a core report from C values.
pub(crate) fn make_report(kind: u32, rank: u32, incarnation: u32) -> Option<Report> {
    let kind = report_kind_from_u32(kind)?;
    Some(if incarnation == FTF_INCARNATION_ANY {
        Report::new(kind, rank)
    } else {
        Report::with_incarnation(kind, rank, incarnation)
    })
}

impl From<ReportError> for ftf_result {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::UnknownPartition => ftf_result::FTF_UNKNOWN_PARTITION,
            ReportError::OutboxFull => ftf_result::FTF_OUTBOX_FULL,
            _ => ftf_result::FTF_INVALID_ARGUMENT,
        }
    }
}

impl From<RetryError> for ftf_result {
    fn from(e: RetryError) -> Self {
        match e {
            RetryError::UnknownPartition => ftf_result::FTF_UNKNOWN_PARTITION,
            RetryError::NotFailed => ftf_result::FTF_UNEXPECTED_STATE,
            RetryError::AlreadyScheduled | RetryError::Cancelling => ftf_result::FTF_BUSY,
            RetryError::OutboxFull => ftf_result::FTF_OUTBOX_FULL,
            _ => ftf_result::FTF_INVALID_ARGUMENT,
        }
    }
}

impl From<MembershipError> for ftf_result {
    fn from(e: MembershipError) -> Self {
        match e {
            MembershipError::UnknownPartition => ftf_result::FTF_UNKNOWN_PARTITION,
            MembershipError::AlreadyMember => ftf_result::FTF_DUPLICATE,
            MembershipError::NotMember => ftf_result::FTF_UNEXPECTED_STATE,
            MembershipError::Recovering => ftf_result::FTF_BUSY,
            MembershipError::OutboxFull => ftf_result::FTF_OUTBOX_FULL,
            _ => ftf_result::FTF_INVALID_ARGUMENT,
        }
    }
}

impl From<PhaseDoneError> for ftf_result {
    fn from(e: PhaseDoneError) -> Self {
        match e {
            PhaseDoneError::UnknownPartition => ftf_result::FTF_UNKNOWN_PARTITION,
            PhaseDoneError::StaleAttempt => ftf_result::FTF_NO_RECOVERY,
            PhaseDoneError::NotRequested => ftf_result::FTF_UNEXPECTED_STATE,
            PhaseDoneError::OutOfOrder { .. } => ftf_result::FTF_INVALID_TRANSITION,
            PhaseDoneError::OutboxFull => ftf_result::FTF_OUTBOX_FULL,
            _ => ftf_result::FTF_INVALID_ARGUMENT,
        }
    }
}

impl From<CancelDoneError> for ftf_result {
    fn from(e: CancelDoneError) -> Self {
        match e {
            CancelDoneError::UnknownPartition => ftf_result::FTF_UNKNOWN_PARTITION,
            CancelDoneError::NotCancelling => ftf_result::FTF_NO_RECOVERY,
            _ => ftf_result::FTF_INVALID_ARGUMENT,
        }
    }
}

impl ftf_coordinator {
    #[cfg(feature = "std")]
    /// Creates a coordinator for partitions `0..n` (all HEALTHY) started at `now_ns`.
    ///
    /// `config`: NULL for the defaults (copied; may be freed afterwards). `tracker`: the
    /// operation tracker recovery mode pauses (the coordinator keeps its own reference), or
    /// NULL to create one (get it with `ftf_coordinator_tracker`).
    ///
    /// `FTF_OK` (`*coordinator_out` owns one reference: free with `ftf_coordinator_free`);
    /// `FTF_INVALID_ARGUMENT` (`n == 0` or above `2^31 - 1`, refused before allocating);
    /// `FTF_OUT_OF_MEMORY` (the storage for `n` partitions could not be allocated);
    /// `FTF_INVALID_CONFIG` (`max_concurrent` above `FTF_MAX_CONCURRENT_RECOVERIES`);
    /// `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_new(
        config: *const ftf_config,
        n: u32,
        tracker: *const ftf_tracker,
        now_ns: u64,
        coordinator_out: *mut *const ftf_coordinator,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let out = try_out!(coordinator_out);
            if n == 0 || n > ftforest_core::MAX_PARTITIONS {
                return ftf_result::FTF_INVALID_ARGUMENT;
            }
            let cfg = config_or_default(config);
            let tracker = tracker_or_new(tracker);
            match FfiCoord::new_boxed(cfg, n, tracker.clone(), Instant::from_nanos(now_ns)) {
                Ok(c) => {
                    *out = to_arc_const_ptr::<ftf_coordinator>(FfiCoordinator {
                        coord: Mutex::new(c),
                        tracker,
                    });
                    ftf_result::FTF_OK
                }
                Err(e) => new_error(&e),
            }
        }
    }

    #[cfg(feature = "std")]
    /// Adds a reference; returns the same pointer (NULL for NULL).
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_clone(
        coordinator: *const ftf_coordinator,
    ) -> *const ftf_coordinator {
        ffi_panic_boundary! {
            arc_into_const_ptr::<ftf_coordinator>(try_clone_arc!(coordinator))
        }
    }

    #[cfg(feature = "std")]
    /// Drops one reference; NULL is a no-op. The last one frees the coordinator and gives
    /// back what it holds in objects that outlive it: the pause it holds on the tracker is
    /// resumed (the forest reopens), its recovery permits are released and its queue is
    /// emptied. A phase the embedder is still running for it has nowhere to report to; stop
    /// the embedder's phases first if they must not overlap the reopened forest.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_free(coordinator: *const ftf_coordinator) {
        ffi_panic_boundary! {
            free_arc(coordinator);
        }
    }

    #[cfg(feature = "std")]
    /// A new reference to the operation tracker this coordinator pauses (free it with
    /// `ftf_tracker_free`); NULL for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_tracker(
        coordinator: *const ftf_coordinator,
    ) -> *const ftf_tracker {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            arc_into_const_ptr::<ftf_tracker>(c.tracker.clone())
        }
    }

    /// Feeds one observation about `rank`, made at `now_ns`. `kind` is an `ftf_report_kind`;
    /// `incarnation` is the life the report is about (`FTF_INCARNATION_ANY` = current; another
    /// value than the current one makes the report stale and ignored).
    ///
    /// `FTF_OK` (`*outcome_out` = an `ftf_report_outcome`); `FTF_UNKNOWN_PARTITION`;
    /// `FTF_UNKNOWN_ENUM`; `FTF_OUTBOX_FULL` (the report was not counted: drain
    /// `ftf_coordinator_poll_event`, then report again); `FTF_NULL_PARAMETER`. Then drain
    /// actions and events.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_report(
        coordinator: *const ftf_coordinator,
        now_ns: u64,
        kind: u32,
        rank: u32,
        incarnation: u32,
        outcome_out: *mut u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            let out = try_out!(outcome_out);
            let Some(report) = make_report(kind, rank, incarnation) else {
                return ftf_result::FTF_UNKNOWN_ENUM;
            };
            match c.lock().handle_report(Instant::from_nanos(now_ns), report) {
                Ok(o) => {
                    *out = o as u8 as u32;
                    ftf_result::FTF_OK
                }
                Err(e) => e.into(),
            }
        }
    }

    /// Advances time to `now_ns`: confirmations, heartbeat verdicts, retries, recovery
    /// timeouts, the pause, the queue. Early or repeated ticks are harmless. When the event
    /// outbox runs out of room the tick stops early and `ftf_coordinator_poll_timeout` returns
    /// "now" until the rest is done: drain events, then tick again.
    /// `FTF_OK`; `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_tick(
        coordinator: *const ftf_coordinator,
        now_ns: u64,
    ) -> ftf_result {
        ffi_panic_boundary! {
            try_ref_from_ptr!(coordinator).lock().tick(Instant::from_nanos(now_ns));
            ftf_result::FTF_OK
        }
    }

    /// The embedder finished phase `phase` (an `ftf_phase`) of attempt `attempt` of `rank`,
    /// successfully (`ok`) or not. The phase must be the one handed out last for that attempt.
    ///
    /// `FTF_OK`; `FTF_UNKNOWN_PARTITION`; `FTF_UNKNOWN_ENUM` (bad phase); `FTF_NO_RECOVERY`
    /// (no such running attempt: finished, or cancelled and acknowledged);
    /// `FTF_UNEXPECTED_STATE` (the phase was not handed out yet); `FTF_INVALID_TRANSITION`
    /// (skipped or repeated phase); `FTF_OUTBOX_FULL` (drain `ftf_coordinator_poll_event`,
    /// then call again). An error changes nothing.
    ///
    /// For an attempt abandoned at its recovery timeout (`FTF_ACTION_CANCEL_RECOVERY`) whose
    /// cancel is not acknowledged yet, the abandoned phase's late result is the
    /// acknowledgement (as `ftf_coordinator_cancel_done`): `FTF_OK`, the result is ignored;
    /// another phase of that attempt is `FTF_INVALID_TRANSITION`.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_phase_done(
        coordinator: *const ftf_coordinator,
        now_ns: u64,
        rank: u32,
        attempt: u32,
        phase: u32,
        ok: bool,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            let Some(phase) = phase_from_u32(phase) else {
                return ftf_result::FTF_UNKNOWN_ENUM;
            };
            match c.lock().phase_done(Instant::from_nanos(now_ns), rank, attempt, phase, ok) {
                Ok(()) => ftf_result::FTF_OK,
                Err(e) => e.into(),
            }
        }
    }

    /// Acknowledges a cancel: attempt `attempt` of `rank`, abandoned at its recovery timeout
    /// (`FTF_ACTION_CANCEL_RECOVERY`), has stopped; none of its phases runs any more. Until
    /// then the attempt keeps its recovery slot and the forest stays paused (the balancer and
    /// ghost sync too), and the partition is not recovered again; a cancel not acknowledged
    /// within the cancel timeout is escalated (`FTF_ESCALATION_CANCEL_UNACKNOWLEDGED`,
    /// `FTF_ALERT_CANCEL_OVERDUE`, `cancels_escalated`), never released. Then drain actions
    /// and events (the forest may resume, the retry may start).
    ///
    /// `FTF_OK`; `FTF_UNKNOWN_PARTITION`; `FTF_NO_RECOVERY` (no abandoned attempt with this id
    /// awaits its acknowledgement: already acknowledged, or never cancelled);
    /// `FTF_NULL_PARAMETER`. An error changes nothing.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_cancel_done(
        coordinator: *const ftf_coordinator,
        now_ns: u64,
        rank: u32,
        attempt: u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            match c.lock().cancel_done(Instant::from_nanos(now_ns), rank, attempt) {
                Ok(()) => ftf_result::FTF_OK,
                Err(e) => e.into(),
            }
        }
    }

    /// The attempt of `rank` abandoned at its recovery timeout whose cancel is not
    /// acknowledged yet. `FTF_OK` (`*attempt_out` = its id); `FTF_NO_RECOVERY` (none);
    /// `FTF_UNKNOWN_PARTITION`; `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_cancelling(
        coordinator: *const ftf_coordinator,
        rank: u32,
        attempt_out: *mut u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            let out = try_out!(attempt_out);
            c.lookup(rank, out, |c, r| c.cancelling(r))
        }
    }

    /// Recovers an escalated partition again (FAILED after its last retry).
    ///
    /// `FTF_OK`; `FTF_UNKNOWN_PARTITION`; `FTF_UNEXPECTED_STATE` (not FAILED); `FTF_BUSY`
    /// (already queued, backing off or recovering, or its abandoned attempt is not
    /// acknowledged yet); `FTF_OUTBOX_FULL` (drain `ftf_coordinator_poll_event`, then call
    /// again); `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_retry(
        coordinator: *const ftf_coordinator,
        now_ns: u64,
        rank: u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            match try_ref_from_ptr!(coordinator).lock().retry(Instant::from_nanos(now_ns), rank) {
                Ok(()) => ftf_result::FTF_OK,
                Err(e) => e.into(),
            }
        }
    }

    /// Partition `rank` joins at `now_ns`: ABSENT -> HEALTHY, or FAILED -> HEALTHY when it was
    /// recovered elsewhere (out of the recovery queue). It starts a new life:
    /// `*incarnation_out` = the new incarnation (reports naming an older one are stale), its
    /// detection state is reset. Quorum is re-evaluated over the members. Events:
    /// STATUS_CHANGED (`FTF_CAUSE_JOINED`), QUORUM_RESTORED if it came back, MEMBER_JOINED.
    ///
    /// `FTF_OK`; `FTF_UNKNOWN_PARTITION`; `FTF_DUPLICATE` (already a member: HEALTHY or
    /// SUSPECTED); `FTF_BUSY` (a local recovery attempt holds it: RECOVERING, or an abandoned
    /// attempt's cancel is not acknowledged); `FTF_OUTBOX_FULL` (drain
    /// `ftf_coordinator_poll_event`, then call again); `FTF_NULL_PARAMETER` (checked first).
    /// Nothing changes on an error. Then drain actions and events.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_join(
        coordinator: *const ftf_coordinator,
        now_ns: u64,
        rank: u32,
        incarnation_out: *mut u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            let out = try_out!(incarnation_out);
            match c.lock().join(Instant::from_nanos(now_ns), rank) {
                Ok(inc) => {
                    *out = inc;
                    ftf_result::FTF_OK
                }
                Err(e) => e.into(),
            }
        }
    }

    /// Partition `rank` leaves at `now_ns`: HEALTHY/SUSPECTED -> ABSENT (graceful: not a
    /// failure, nothing is recovered) or FAILED -> ABSENT (decommissioned: out of the recovery
    /// queue, retries dropped). It keeps its incarnation while ABSENT; reports about it return
    /// `FTF_REPORT_NOT_MEMBER`. Quorum is re-evaluated over the remaining members. Events:
    /// STATUS_CHANGED (`FTF_CAUSE_LEFT`), QUORUM_LOST/RESTORED if it changed, MEMBER_LEFT.
    ///
    /// `FTF_OK`; `FTF_UNKNOWN_PARTITION`; `FTF_UNEXPECTED_STATE` (already ABSENT); `FTF_BUSY`
    /// (a local recovery attempt holds it); `FTF_OUTBOX_FULL`; `FTF_NULL_PARAMETER`. Nothing
    /// changes on an error. Then drain actions and events.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_leave(
        coordinator: *const ftf_coordinator,
        now_ns: u64,
        rank: u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            match try_ref_from_ptr!(coordinator).lock().leave(Instant::from_nanos(now_ns), rank) {
                Ok(()) => ftf_result::FTF_OK,
                Err(e) => e.into(),
            }
        }
    }

    /// The next action for the embedder (cancels first, then balancer/ghost-sync hooks, then
    /// phases). `FTF_OK` (`*action_out` written); `FTF_EMPTY`; `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_poll_action(
        coordinator: *const ftf_coordinator,
        action_out: *mut ftf_action,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            let out = try_out!(action_out);
            match c.lock().poll_action() {
                Some(a) => {
                    *out = a.into();
                    ftf_result::FTF_OK
                }
                None => ftf_result::FTF_EMPTY,
            }
        }
    }

    /// The next event, oldest first. `FTF_OK` (`*event_out` written); `FTF_EMPTY`;
    /// `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_poll_event(
        coordinator: *const ftf_coordinator,
        event_out: *mut ftf_event,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            let out = try_out!(event_out);
            match c.lock().poll_event() {
                Some(e) => {
                    *out = e.into();
                    ftf_result::FTF_OK
                }
                None => ftf_result::FTF_EMPTY,
            }
        }
    }

    /// When `ftf_coordinator_tick` should be called next. `FTF_OK` (`*deadline_ns_out`
    /// written, on the caller's time line; the latest `now_ns` seen while work waits for
    /// outbox room); `FTF_EMPTY` (nothing pending on time); `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_poll_timeout(
        coordinator: *const ftf_coordinator,
        deadline_ns_out: *mut u64,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            let out = try_out!(deadline_ns_out);
            match c.lock().poll_timeout() {
                Some(t) => {
                    *out = t.as_nanos();
                    ftf_result::FTF_OK
                }
                None => ftf_result::FTF_EMPTY,
            }
        }
    }
}

// cbindgen cannot evaluate paths; the slot count is the core's default `R`.
#[cfg(feature = "std")]
const _: () = assert!(FTF_MAX_CONCURRENT_RECOVERIES == 8 && FTF_EVENT_CAPACITY == 256);
