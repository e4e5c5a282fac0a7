//! The callbacks of `ftf_forest` and their adapters to the core's [`Recovery`] trait and
//! listener closures.
//!
//! Invariants:
//!
//! * Every callback is called with no libftforest lock held (the core's `Monitor` releases its
//!   mutexes before calling embedder code) and must not unwind.
//! * `userdata` and the callbacks are usable from any thread (C contract), which is what the
//!   `unsafe impl Send/Sync` below rely on.
//! * A finalizer runs exactly once, and only for callbacks the library took ownership of: each
//!   adapter carries an `armed` flag set after the creation or subscription succeeded.

use core::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};

use ftforest_core::coord::{CancelJob, Event, PhaseJob, Recovery};

use crate::event::{ftf_event, ftf_phase_job};
use crate::wait::ftf_finalizer_fn;

/// Runs one recovery phase (`job->phase`) of attempt `job->attempt` of partition `job->rank`;
/// returns true on success, false on failure (the attempt fails and is retried with backoff,
/// or escalated after the last retry).
///
/// Called on a forest worker thread, with no libftforest lock held; phases of different
/// partitions run concurrently. Must not unwind (C++: `noexcept`). May call every forest
/// function, including `ftf_forest_stop`, `ftf_forest_start` and the last `ftf_forest_free`
/// (from a callback they never wait for a thread; see `ftf_forest_free`).
pub type ftf_run_phase_fn =
    Option<unsafe extern "C" fn(userdata: *mut c_void, job: *const ftf_phase_job) -> bool>;

/// Told that attempt `job->attempt` of `job->rank` was abandoned at the recovery timeout: stop
/// working on it. The forest stays paused (and the partition is not recovered again) until
/// the `run_phase` call running for that attempt returns (its result is then ignored); a
/// phase that never returns keeps it paused and is escalated after the cancel timeout.
///
/// Called on the forest's dispatcher thread, with no libftforest lock held. Must not unwind.
pub type ftf_cancel_fn =
    Option<unsafe extern "C" fn(userdata: *mut c_void, job: *const ftf_phase_job)>;

/// A recovery-mode hook: pause or resume the cross-partition balancer or ghost sync.
///
/// Called on the forest's dispatcher thread, with no libftforest lock held; pauses are always
/// delivered before the phases they protect, and each resume follows its pause. Must not
/// unwind (C++: `noexcept`). On a forest attached to an `ftf_cluster`, called on the
/// member's hook thread (`ftf-cluster-hooks`), off its driver loop: a slow hook does not
/// delay keepalives, but the member's pause ack (and its later hooks and phases) wait for
/// it; the blocking and waiting calls return `FTF_BUSY` there (they would wait for the
/// pause this hook holds up: see the cluster thread table in the README).
pub type ftf_hook_fn = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// Receives one event (the pointer is valid for the call only).
///
/// Called on the forest's dispatcher thread, in the coordinator's order, with no libftforest
/// lock held; while the forest is attached to a cluster member (`ftf_cluster_join`), on that
/// member's event-dispatcher thread (`ftf-cluster-ev`) instead, with its coordinator's
/// events, in their order (not after the last `ftf_cluster_free` began).
/// Must not unwind (C++: `noexcept`). May call every forest function, including
/// `ftf_forest_unsubscribe` of itself, `ftf_forest_stop`, `ftf_forest_start` and the last
/// `ftf_forest_free` (from a callback they never wait for a thread; see `ftf_forest_free`).
pub type ftf_event_fn =
    Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const ftf_event)>;

/// The embedder's recovery: the phases (required), cancellation and the recovery-mode hooks
/// (optional, NULL = nothing to do). `userdata` is passed to every callback and must be usable
/// from any thread; `finalizer` (optional) runs once when the forest is destroyed (not when
/// `ftf_forest_new` fails).
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct ftf_recovery_callbacks {
    /// Passed as the first argument of every callback.
    pub userdata: *mut c_void,
    /// Runs a phase (required).
    pub run_phase: ftf_run_phase_fn,
    /// An attempt was abandoned (optional).
    pub cancel: ftf_cancel_fn,
    /// Recovery mode entered: pause the cross-partition balancer (optional).
    pub pause_balancer: ftf_hook_fn,
    /// Recovery mode left: resume the balancer (optional).
    pub resume_balancer: ftf_hook_fn,
    /// Recovery mode entered: pause ghost synchronisation (optional).
    pub pause_ghost_sync: ftf_hook_fn,
    /// Recovery mode left: restore ghost synchronisation to its previous setting (optional).
    pub resume_ghost_sync: ftf_hook_fn,
    /// Releases `userdata` when the forest is destroyed (optional).
    pub finalizer: ftf_finalizer_fn,
}

/// The C callbacks as the core's [`Recovery`]. The finalizer runs on drop only once `armed`
/// (set after the forest was created, so a failed `ftf_forest_new` leaves `userdata` alone).
pub(crate) struct CRecovery(pub(crate) ftf_recovery_callbacks, pub(crate) AtomicBool);

// SAFETY: the C contract of `ftf_recovery_callbacks` requires `userdata` and every callback to
// be usable from any thread until the finalizer runs; nothing else is held.
unsafe impl Send for CRecovery {}
// SAFETY: as above; callbacks are only invoked through `&self`.
unsafe impl Sync for CRecovery {}

impl CRecovery {
    /// Calls `run_phase` (false when it is NULL).
    pub(crate) fn phase(&self, job: &PhaseJob) -> bool {
        let Some(f) = self.0.run_phase else {
            return false;
        };
        let c = ftf_phase_job::from(*job);
        // SAFETY: `f` is the embedder's callback for this userdata; `&c` lives for the call.
        unsafe { f(self.0.userdata, &c) }
    }

    fn hook(&self, h: ftf_hook_fn) {
        if let Some(f) = h {
            // SAFETY: the embedder's callback for this userdata.
            unsafe { f(self.0.userdata) }
        }
    }
}

impl Recovery for CRecovery {
    fn detecting(&self, job: &PhaseJob) -> bool {
        self.phase(job)
    }
    fn redistributing(&self, job: &PhaseJob) -> bool {
        self.phase(job)
    }
    fn rebalancing(&self, job: &PhaseJob) -> bool {
        self.phase(job)
    }
    fn validating(&self, job: &PhaseJob) -> bool {
        self.phase(job)
    }
    fn cancel(&self, job: &CancelJob) {
        if let Some(f) = self.0.cancel {
            let c = ftf_phase_job::from(*job);
            // SAFETY: the embedder's callback; `&c` lives for the call.
            unsafe { f(self.0.userdata, &c) }
        }
    }
    fn pause_balancer(&self) {
        self.hook(self.0.pause_balancer)
    }
    fn resume_balancer(&self) {
        self.hook(self.0.resume_balancer)
    }
    fn pause_ghost_sync(&self) {
        self.hook(self.0.pause_ghost_sync)
    }
    fn resume_ghost_sync(&self) {
        self.hook(self.0.resume_ghost_sync)
    }
}

impl Drop for CRecovery {
    fn drop(&mut self) {
        if !self.1.load(Ordering::Acquire) {
            return;
        }
        if let Some(fin) = self.0.finalizer {
            // SAFETY: runs once, when the monitor's shared state is dropped: after its last
            // thread let go of it, so no callback runs or will run.
            unsafe { fin(self.0.userdata) }
        }
    }
}

/// A C event listener; its finalizer runs when the last reference is dropped, once `armed`
/// (set after a successful subscription).
pub(crate) struct CListener {
    pub(crate) userdata: *mut c_void,
    pub(crate) callback: unsafe extern "C" fn(*mut c_void, *const ftf_event),
    pub(crate) finalizer: ftf_finalizer_fn,
    pub(crate) armed: AtomicBool,
}

// SAFETY: C contract of `ftf_forest_subscribe`: `userdata` and the callbacks are usable from
// any thread (the dispatcher calls the listener, any thread may finalize it).
unsafe impl Send for CListener {}
// SAFETY: as above.
unsafe impl Sync for CListener {}

impl CListener {
    pub(crate) fn deliver(&self, e: &Event) {
        let c = ftf_event::from(*e);
        // SAFETY: the embedder's callback for this userdata; `&c` lives for the call.
        unsafe { (self.callback)(self.userdata, &c) }
    }
}

impl Drop for CListener {
    fn drop(&mut self) {
        if !self.armed.load(Ordering::Acquire) {
            return;
        }
        if let Some(fin) = self.finalizer {
            // SAFETY: the last reference to the listener is gone: it is never called again.
            unsafe { fin(self.userdata) }
        }
    }
}

/// Names one listener subscription (a plain value, checked by the library).
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ftf_listener_handle {
    /// The issuing forest's listener-set id.
    pub set: u32,
    /// The slot.
    pub slot: u32,
    /// The slot's generation.
    pub generation: u32,
}
