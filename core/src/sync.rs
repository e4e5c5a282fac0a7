//! The only module that names an atomic implementation.
//!
//! * `cfg(ftforest_loom)`: loom's model-checked atomics, so `loom-tests/` explores
//!   every interleaving of the real protocol code.
//! * otherwise: `portable-atomic`, which re-exports the native atomics where the
//!   target has them and falls back (critical section, when the embedder enables
//!   our `critical-section` feature) where it has none (thumbv6m, riscv32imc).
//!
//! Every spin loop in the crate calls [`spin_loop`], which under loom yields to
//! the model scheduler (an un-yielding spin makes loom exceed its branch limit).

#[cfg(ftforest_loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64};

#[cfg(not(ftforest_loom))]
pub(crate) use portable_atomic::{fence, AtomicBool, AtomicU32, AtomicU64};

/// Only the std build picks per-thread stripes with a word-sized counter.
#[cfg(all(feature = "std", not(ftforest_loom)))]
pub(crate) use portable_atomic::AtomicUsize;

pub(crate) use core::sync::atomic::Ordering;

/// Cache-line padding (crossbeam's, target-specific alignment: 128 B on x86_64/aarch64,
/// 32 B on arm, 64 B on riscv32). Padding only, no atomics: the same type under loom.
pub(crate) use crossbeam_utils::CachePadded;

/// A process-unique, non-zero object id (tracker, lock, table, ...), so that tokens can
/// name their owner.
///
/// Ids come from one global counter starting at 1 and skip 0 on wrap-around; they are
/// unique among the first 2^32 − 1 objects of a process (an id is reused only after the
/// counter wraps, i.e. after 4 294 967 295 constructions). The counter is a label source,
/// not part of any protocol, so `Relaxed` suffices (uniqueness comes from the RMW's total
/// modification order). Under loom it is a plain `core` atomic outside the model: ids are
/// not what the models check.
pub(crate) fn next_object_id() -> u32 {
    #[cfg(ftforest_loom)]
    static NEXT_ID: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(1);
    #[cfg(not(ftforest_loom))]
    static NEXT_ID: AtomicU32 = AtomicU32::new(1);
    loop {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        if id != 0 {
            return id;
        }
    }
}

/// One step of a busy wait: a CPU pause hint, or a yield to the loom scheduler.
#[inline]
pub(crate) fn spin_loop() {
    #[cfg(ftforest_loom)]
    loom::thread::yield_now();
    #[cfg(not(ftforest_loom))]
    core::hint::spin_loop();
}

/// Bounded exponential backoff for waits: crossbeam-utils' `Backoff` (spin `2^step` times,
/// then, with `std`, yield; `is_completed` once spinning stops paying off), except under loom,
/// where crossbeam's ladder would spin outside the model and each step yields to loom instead.
///
/// Callers `snooze` while waiting for another thread and block on their wait strategy once
/// [`Backoff::is_completed`] says so.
pub(crate) struct Backoff {
    #[cfg(not(ftforest_loom))]
    inner: crossbeam_utils::Backoff,
    #[cfg(ftforest_loom)]
    step: u32,
}

impl Backoff {
    /// Loom: steps before `is_completed` (crossbeam's `YIELD_LIMIT`).
    #[cfg(ftforest_loom)]
    const YIELD_LIMIT: u32 = 10;

    pub(crate) fn new() -> Self {
        Backoff {
            #[cfg(not(ftforest_loom))]
            inner: crossbeam_utils::Backoff::new(),
            #[cfg(ftforest_loom)]
            step: 0,
        }
    }

    /// Busy-wait a little longer each call.
    #[inline]
    pub(crate) fn snooze(&mut self) {
        #[cfg(not(ftforest_loom))]
        self.inner.snooze();
        #[cfg(ftforest_loom)]
        {
            spin_loop();
            self.step = self.step.saturating_add(1);
        }
    }

    /// True once spinning stops paying off: block instead.
    #[inline]
    pub(crate) fn is_completed(&self) -> bool {
        #[cfg(not(ftforest_loom))]
        return self.inner.is_completed();
        #[cfg(ftforest_loom)]
        return self.step > Self::YIELD_LIMIT;
    }
}
