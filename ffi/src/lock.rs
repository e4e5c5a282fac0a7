//! `ftf_recovery_lock`: at most one recovery per partition, at most K at once, behind a quorum
//! gate, with owner-checked release, for C.
//!
//! Invariants:
//!
//! * A permit crosses the ABI as a plain `ftf_permit_token` (lock id, rank, ticket). Releasing
//!   checks all three: another lock's token is `FTF_FOREIGN_HANDLE`; a second release of the
//!   same token, or a forged one, is `FTF_NOT_HOLDER` and frees nothing, so a permit can never
//!   release another holder's slot (Java B22).
//! * `Arc`-owned and `Sync`: acquires and releases from many threads race safely.
//! * Freeing the last reference with permits outstanding is allowed; the tokens then name a
//!   dead lock (nothing leaks).

use ftforest_core::{AcquireError, LockSlot, PermitToken, RecoveryLock, ReleaseError};

use crate::clock::{deadline_after, FfiClock};
#[cfg(feature = "std")]
use crate::handle::{arc_into_const_ptr, free_arc, to_arc_const_ptr, try_boxed, try_clone_arc};
use crate::handle::{try_out, try_ref_from_ptr, Castable, OwnershipArc};
use crate::panic::ffi_panic_boundary;
use crate::result::ftf_result;
#[cfg(feature = "std")]
use crate::wait::ftf_wait_callbacks;
use crate::wait::FfiWait;
#[cfg(feature = "std")]
use ftforest_core::LockConfigError;

/// One held recovery permit: release it exactly once with `ftf_recovery_lock_release`.
/// A plain value; the fields are checked by the library, never trusted.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ftf_permit_token {
    /// The issuing lock's id.
    pub lock_id: u32,
    /// The partition being recovered.
    pub rank: u32,
    /// The holder's ticket.
    pub ticket: u32,
}

impl From<PermitToken> for ftf_permit_token {
    fn from(t: PermitToken) -> Self {
        ftf_permit_token {
            lock_id: t.lock_id,
            rank: t.rank,
            ticket: t.ticket,
        }
    }
}

impl From<ftf_permit_token> for PermitToken {
    fn from(t: ftf_permit_token) -> Self {
        PermitToken {
            lock_id: t.lock_id,
            rank: t.rank,
            ticket: t.ticket,
        }
    }
}

impl From<AcquireError> for ftf_result {
    fn from(e: AcquireError) -> Self {
        match e {
            AcquireError::NoQuorum => ftf_result::FTF_NO_QUORUM,
            AcquireError::AlreadyRecovering => ftf_result::FTF_BUSY,
            AcquireError::AtCapacity => ftf_result::FTF_AT_CAPACITY,
            AcquireError::UnknownPartition => ftf_result::FTF_UNKNOWN_PARTITION,
            AcquireError::TimedOut => ftf_result::FTF_TIMEOUT,
            _ => ftf_result::FTF_INVALID_ARGUMENT,
        }
    }
}

impl From<ReleaseError> for ftf_result {
    fn from(e: ReleaseError) -> Self {
        match e {
            ReleaseError::ForeignToken => ftf_result::FTF_FOREIGN_HANDLE,
            ReleaseError::NotHolder => ftf_result::FTF_NOT_HOLDER,
            ReleaseError::UnknownPartition => ftf_result::FTF_UNKNOWN_PARTITION,
            _ => ftf_result::FTF_INVALID_ARGUMENT,
        }
    }
}

/// The Rust lock behind an `ftf_recovery_lock` handle.
pub(crate) type FfiLock = RecoveryLock<crate::storage::Cells<LockSlot>, FfiWait>;

#[cfg(feature = "std")]
/// Validated arguments and fallibly allocated slots (before any callback is wrapped, so a
/// refusal never runs a finalizer).
fn lock_slots(n: u32, max_concurrent: u32) -> Result<Box<[LockSlot]>, ftf_result> {
    if n == 0 || max_concurrent == 0 || n > ftforest_core::MAX_PARTITIONS {
        return Err(ftf_result::FTF_INVALID_ARGUMENT);
    }
    try_boxed(n as usize, LockSlot::new).ok_or(ftf_result::FTF_OUT_OF_MEMORY)
}

#[cfg(feature = "std")]
fn new_lock(
    slots: Box<[LockSlot]>,
    n: u32,
    max_concurrent: u32,
    wait: FfiWait,
    out: &mut *const ftf_recovery_lock,
) -> ftf_result {
    match RecoveryLock::with_waiter(slots, n, max_concurrent, wait) {
        Ok(l) => {
            *out = to_arc_const_ptr::<ftf_recovery_lock>(l);
            ftf_result::FTF_OK
        }
        Err(LockConfigError::StorageInUse { .. }) => ftf_result::FTF_STORAGE_IN_USE,
        Err(_) => ftf_result::FTF_INVALID_ARGUMENT,
    }
}

/// One recovery per partition, at most `max_concurrent` at once, only with quorum.
///
/// Shared (`const ftf_recovery_lock *`): thread-safe, lock-free.
#[allow(non_camel_case_types)]
pub struct ftf_recovery_lock {
    _private: [u8; 0],
}

impl Castable for ftf_recovery_lock {
    type Ownership = OwnershipArc;
    type RustType = FfiLock;
}

impl ftf_recovery_lock {
    #[cfg(feature = "std")]
    /// Creates a lock for partitions `0..n` admitting at most `max_concurrent` recoveries at
    /// once (a value above `n` acts as `n`).
    ///
    /// `FTF_INVALID_ARGUMENT` when `n == 0`, `n > 2^31 - 1` (refused before allocating) or
    /// `max_concurrent == 0`; `FTF_OUT_OF_MEMORY` (the slots for `n` partitions could not be
    /// allocated); `FTF_NULL_PARAMETER`. On `FTF_OK`, `*lock_out` owns one reference (free
    /// with `ftf_recovery_lock_free`).
    #[no_mangle]
    pub extern "C" fn ftf_recovery_lock_new(
        n: u32,
        max_concurrent: u32,
        lock_out: *mut *const ftf_recovery_lock,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let out = try_out!(lock_out);
            match lock_slots(n, max_concurrent) {
                Ok(slots) => new_lock(slots, n, max_concurrent, FfiWait::default(), out),
                Err(e) => e,
            }
        }
    }

    #[cfg(feature = "std")]
    /// As `ftf_recovery_lock_new`, with the wait strategy `ftf_recovery_lock_acquire_wait`
    /// blocks with: `wait_kind` is an `ftf_wait_kind` (`callbacks` required for
    /// `FTF_WAIT_CALLBACKS`, copied; its finalizer runs when the lock is destroyed, not when
    /// this call fails). `FTF_UNKNOWN_ENUM` for an unknown kind.
    #[no_mangle]
    pub extern "C" fn ftf_recovery_lock_new_with_wait(
        n: u32,
        max_concurrent: u32,
        wait_kind: u32,
        callbacks: *const ftf_wait_callbacks,
        lock_out: *mut *const ftf_recovery_lock,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let out = try_out!(lock_out);
            // Validate and allocate first: once the callbacks are wrapped, dropping them runs
            // their finalizer, which must not happen for a failed call.
            let slots = match lock_slots(n, max_concurrent) {
                Ok(s) => s,
                Err(e) => return e,
            };
            match FfiWait::from_c(wait_kind, callbacks) {
                Ok(w) => new_lock(slots, n, max_concurrent, w, out),
                Err(e) => e,
            }
        }
    }

    #[cfg(feature = "std")]
    /// Adds a reference; returns the same pointer (NULL for NULL).
    #[no_mangle]
    pub extern "C" fn ftf_recovery_lock_clone(
        lock: *const ftf_recovery_lock,
    ) -> *const ftf_recovery_lock {
        ffi_panic_boundary! {
            arc_into_const_ptr::<ftf_recovery_lock>(try_clone_arc!(lock))
        }
    }

    #[cfg(feature = "std")]
    /// Drops one reference; NULL is a no-op; the last one frees the lock.
    #[no_mangle]
    pub extern "C" fn ftf_recovery_lock_free(lock: *const ftf_recovery_lock) {
        ffi_panic_boundary! {
            free_arc(lock);
        }
    }

    /// The lock's process-unique, non-zero id (tokens carry it); 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_recovery_lock_id(lock: *const ftf_recovery_lock) -> u32 {
        ffi_panic_boundary! {
            try_ref_from_ptr!(lock).id()
        }
    }

    /// The number of partitions; 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_recovery_lock_len(lock: *const ftf_recovery_lock) -> u32 {
        ffi_panic_boundary! {
            try_ref_from_ptr!(lock).len()
        }
    }

    /// The maximum number of concurrent recoveries K; 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_recovery_lock_max_concurrent(lock: *const ftf_recovery_lock) -> u32 {
        ffi_panic_boundary! {
            try_ref_from_ptr!(lock).max_concurrent()
        }
    }

    /// Permits currently held (a snapshot, `0..=K`); 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_recovery_lock_active(lock: *const ftf_recovery_lock) -> u32 {
        ffi_panic_boundary! {
            try_ref_from_ptr!(lock).active()
        }
    }

    /// True while partition `rank` is held (a snapshot); false for NULL or an unknown rank.
    #[no_mangle]
    pub extern "C" fn ftf_recovery_lock_is_recovering(
        lock: *const ftf_recovery_lock,
        rank: u32,
    ) -> bool {
        ffi_panic_boundary! {
            try_ref_from_ptr!(lock).is_recovering(rank)
        }
    }

    /// Tries to start recovering `rank`; never waits. `quorum` is the caller's quorum decision
    /// (e.g. `ftf_partition_table_has_quorum`).
    ///
    /// Checks in order: `FTF_UNKNOWN_PARTITION`, `FTF_NO_QUORUM` (quorum false), `FTF_BUSY`
    /// (already being recovered), `FTF_AT_CAPACITY` (K held); `FTF_NULL_PARAMETER`. On
    /// `FTF_OK`, `*permit_out` holds the partition until `ftf_recovery_lock_release`; on error
    /// nothing is held.
    #[no_mangle]
    pub extern "C" fn ftf_recovery_lock_try_acquire(
        lock: *const ftf_recovery_lock,
        rank: u32,
        quorum: bool,
        permit_out: *mut ftf_permit_token,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let l = try_ref_from_ptr!(lock);
            let out = try_out!(permit_out);
            match l.try_acquire(rank, quorum) {
                Ok(p) => {
                    *out = p.into_token().into();
                    ftf_result::FTF_OK
                }
                Err(e) => e.into(),
            }
        }
    }

    /// As `ftf_recovery_lock_try_acquire`, but waits up to `timeout_ns` (`UINT64_MAX` =
    /// forever) while K recoveries hold the lock (spin, then the lock's wait strategy; woken
    /// by a release). Only capacity is waited out: `FTF_UNKNOWN_PARTITION`, `FTF_NO_QUORUM`
    /// and `FTF_BUSY` return at once. `FTF_TIMEOUT` when the deadline passes (nothing held).
    /// `FTF_BUSY` also from a cluster member's pause/resume hook (nothing done, nothing
    /// waited: the member's pause ack, and its later hooks and phases, wait for that hook);
    /// `ftf_recovery_lock_try_acquire` is fine there.
    #[no_mangle]
    pub extern "C" fn ftf_recovery_lock_acquire_wait(
        lock: *const ftf_recovery_lock,
        rank: u32,
        quorum: bool,
        timeout_ns: u64,
        permit_out: *mut ftf_permit_token,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let l = try_ref_from_ptr!(lock);
            let out = try_out!(permit_out);
            if crate::in_cluster_loop_hook() {
                return ftf_result::FTF_BUSY;
            }
            match l.acquire_wait(rank, quorum, &FfiClock::default(), deadline_after(timeout_ns)) {
                Ok(p) => {
                    *out = p.into_token().into();
                    ftf_result::FTF_OK
                }
                Err(e) => e.into(),
            }
        }
    }

    /// Releases the permit `permit` stands for, exactly once (from any thread).
    ///
    /// `FTF_OK`; `FTF_FOREIGN_HANDLE` (another lock's token); `FTF_NOT_HOLDER` (released
    /// twice, stale or forged: nothing freed); `FTF_UNKNOWN_PARTITION`; `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_recovery_lock_release(
        lock: *const ftf_recovery_lock,
        permit: ftf_permit_token,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let l = try_ref_from_ptr!(lock);
            match l.release_token(permit.into()) {
                Ok(()) => ftf_result::FTF_OK,
                Err(e) => e.into(),
            }
        }
    }
}
