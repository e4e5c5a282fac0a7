//! `ftf_recovery_queue`: a bounded FIFO of partition ranks, each at most once, for C.
//!
//! Invariants:
//!
//! * Storage is `Box<[QueueSlot]>` sized by the core's `queue_storage_len(n, capacity)`.
//! * Nothing is dropped silently: a push returns `FTF_DUPLICATE` / `FTF_FULL` /
//!   `FTF_UNKNOWN_PARTITION`; with `capacity >= n` the queue never fills.
//! * `Arc`-owned and `Sync`: the core serialises the ring with a short spin lock in which no
//!   user code runs.

#[cfg(feature = "std")]
use ftforest_core::{queue_storage_len, QueueConfigError};
use ftforest_core::{PushError, QueueSlot, RecoveryQueue};

#[cfg(feature = "std")]
use crate::handle::{arc_into_const_ptr, free_arc, to_arc_const_ptr, try_boxed, try_clone_arc};
use crate::handle::{try_out, try_ref_from_ptr, Castable, OwnershipArc};
use crate::panic::ffi_panic_boundary;
use crate::result::ftf_result;

impl From<PushError> for ftf_result {
    fn from(e: PushError) -> Self {
        match e {
            PushError::Duplicate => ftf_result::FTF_DUPLICATE,
            PushError::Full => ftf_result::FTF_FULL,
            PushError::UnknownPartition => ftf_result::FTF_UNKNOWN_PARTITION,
            _ => ftf_result::FTF_INVALID_ARGUMENT,
        }
    }
}

/// The Rust queue behind an `ftf_recovery_queue` handle.
pub(crate) type FfiQueue = RecoveryQueue<crate::storage::Cells<QueueSlot>>;

/// A bounded FIFO of partition ranks waiting for recovery; each rank at most once.
///
/// Shared (`const ftf_recovery_queue *`): thread-safe.
#[allow(non_camel_case_types)]
pub struct ftf_recovery_queue {
    _private: [u8; 0],
}

impl Castable for ftf_recovery_queue {
    type Ownership = OwnershipArc;
    type RustType = FfiQueue;
}

impl ftf_recovery_queue {
    #[cfg(feature = "std")]
    /// Creates an empty queue for ranks `0..n` holding at most `capacity` ranks. A queue
    /// never holds more than `n` ranks (each at most once), so a `capacity` above `n` is
    /// clamped to `n` (`ftf_recovery_queue_capacity` then reports `n`).
    ///
    /// `FTF_INVALID_ARGUMENT` when `n == 0`, `n > 2^31 - 1` (refused before allocating) or
    /// `capacity == 0`; `FTF_OUT_OF_MEMORY` (the storage could not be allocated);
    /// `FTF_NULL_PARAMETER`. On `FTF_OK`, `*queue_out` owns one reference (free with
    /// `ftf_recovery_queue_free`).
    #[no_mangle]
    pub extern "C" fn ftf_recovery_queue_new(
        n: u32,
        capacity: u32,
        queue_out: *mut *const ftf_recovery_queue,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let out = try_out!(queue_out);
            if n == 0 || capacity == 0 || n > ftforest_core::MAX_PARTITIONS {
                return ftf_result::FTF_INVALID_ARGUMENT;
            }
            let len = queue_storage_len(n, capacity.min(n));
            let Some(slots) = try_boxed(len, QueueSlot::new) else {
                return ftf_result::FTF_OUT_OF_MEMORY;
            };
            match RecoveryQueue::new(slots, n) {
                Ok(q) => {
                    *out = to_arc_const_ptr::<ftf_recovery_queue>(q);
                    ftf_result::FTF_OK
                }
                Err(QueueConfigError::StorageInUse { .. }) => ftf_result::FTF_STORAGE_IN_USE,
                Err(_) => ftf_result::FTF_INVALID_ARGUMENT,
            }
        }
    }

    #[cfg(feature = "std")]
    /// Adds a reference; returns the same pointer (NULL for NULL).
    #[no_mangle]
    pub extern "C" fn ftf_recovery_queue_clone(
        queue: *const ftf_recovery_queue,
    ) -> *const ftf_recovery_queue {
        ffi_panic_boundary! {
            arc_into_const_ptr::<ftf_recovery_queue>(try_clone_arc!(queue))
        }
    }

    #[cfg(feature = "std")]
    /// Drops one reference; NULL is a no-op; the last one frees the queue.
    #[no_mangle]
    pub extern "C" fn ftf_recovery_queue_free(queue: *const ftf_recovery_queue) {
        ffi_panic_boundary! {
            free_arc(queue);
        }
    }

    /// Appends `rank`. `FTF_OK`; `FTF_DUPLICATE` (already queued); `FTF_FULL`;
    /// `FTF_UNKNOWN_PARTITION`; `FTF_NULL_PARAMETER`. An error changes nothing.
    #[no_mangle]
    pub extern "C" fn ftf_recovery_queue_push(
        queue: *const ftf_recovery_queue,
        rank: u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            match try_ref_from_ptr!(queue).push(rank) {
                Ok(()) => ftf_result::FTF_OK,
                Err(e) => e.into(),
            }
        }
    }

    /// Removes the oldest rank into `*rank_out`. `FTF_OK`; `FTF_EMPTY`; `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_recovery_queue_pop(
        queue: *const ftf_recovery_queue,
        rank_out: *mut u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let q = try_ref_from_ptr!(queue);
            let out = try_out!(rank_out);
            match q.pop() {
                Some(r) => {
                    *out = r;
                    ftf_result::FTF_OK
                }
                None => ftf_result::FTF_EMPTY,
            }
        }
    }

    /// Reads the oldest rank without removing it. `FTF_OK`; `FTF_EMPTY`; `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_recovery_queue_peek(
        queue: *const ftf_recovery_queue,
        rank_out: *mut u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let q = try_ref_from_ptr!(queue);
            let out = try_out!(rank_out);
            match q.peek() {
                Some(r) => {
                    *out = r;
                    ftf_result::FTF_OK
                }
                None => ftf_result::FTF_EMPTY,
            }
        }
    }

    /// Removes `rank` wherever it is; true if it was queued (false for NULL).
    #[no_mangle]
    pub extern "C" fn ftf_recovery_queue_remove(
        queue: *const ftf_recovery_queue,
        rank: u32,
    ) -> bool {
        ffi_panic_boundary! {
            try_ref_from_ptr!(queue).remove(rank)
        }
    }

    /// True if `rank` is queued (a snapshot); false for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_recovery_queue_contains(
        queue: *const ftf_recovery_queue,
        rank: u32,
    ) -> bool {
        ffi_panic_boundary! {
            try_ref_from_ptr!(queue).contains(rank)
        }
    }

    /// Ranks queued now (a snapshot); 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_recovery_queue_len(queue: *const ftf_recovery_queue) -> u32 {
        ffi_panic_boundary! {
            try_ref_from_ptr!(queue).len()
        }
    }

    /// The fixed capacity; 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_recovery_queue_capacity(queue: *const ftf_recovery_queue) -> u32 {
        ffi_panic_boundary! {
            try_ref_from_ptr!(queue).capacity()
        }
    }

    #[cfg(feature = "std")]
    /// Copies a consistent snapshot of the queued ranks, oldest first, into `ranks[0..len)`.
    ///
    /// `*count_out` receives the number of ranks on `FTF_OK` and on `FTF_BUFFER_TOO_SMALL`
    /// (then nothing is written to `ranks`; retry with a larger buffer). `ranks` may be NULL
    /// when `len == 0`. `FTF_NULL_PARAMETER` for a NULL queue or `count_out`, or a NULL `ranks`
    /// while ranks are queued and `len` would hold them (then `*count_out` is untouched).
    #[no_mangle]
    pub extern "C" fn ftf_recovery_queue_snapshot(
        queue: *const ftf_recovery_queue,
        ranks: *mut u32,
        len: usize,
        count_out: *mut usize,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let q = try_ref_from_ptr!(queue);
            let count = try_out!(count_out);
            // Grows to the ranks actually queued (never sized from the capacity, which may be
            // large).
            let mut snap: Vec<u32> = Vec::new();
            loop {
                snap.clear();
                if q.for_each(|r| snap.push(r)) {
                    break;
                }
            }
            if snap.len() > len {
                *count = snap.len();
                return ftf_result::FTF_BUFFER_TOO_SMALL;
            }
            if !snap.is_empty() && ranks.is_null() {
                return ftf_result::FTF_NULL_PARAMETER;
            }
            if !snap.is_empty() {
                // SAFETY: C contract: a non-NULL `ranks` points to `len` writable u32s; we
                // write `snap.len() <= len` of them.
                let dst = unsafe { core::slice::from_raw_parts_mut(ranks, snap.len()) };
                dst.copy_from_slice(&snap);
            }
            *count = snap.len();
            ftf_result::FTF_OK
        }
    }
}
