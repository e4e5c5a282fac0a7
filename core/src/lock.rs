//! The recovery coordinator lock: at most one recovery per partition, at most K at once,
//! behind a quorum gate, with owner-checked release.
//!
//! # Words
//!
//! * one [`LockSlot`] (`AtomicU32`) per partition, caller storage:
//!   `FREE = 0` | `PENDING = u32::MAX` (an acquire or a release of this partition is in
//!   progress: a window of a few instructions, no waiting inside) | a ticket
//!   (`1..=u32::MAX - 1`, unique per lock among 2^32 − 2 consecutive acquisitions: the holder).
//! * `active: AtomicU32`: permits taken, `0..=K`.
//! * `next_ticket: AtomicU32`: ticket source (`fetch_add`, skipping `FREE` and `PENDING`).
//!
//! # Slot transitions
//!
//! | step | from → to | RMW (success / failure ordering) | by |
//! |---|---|---|---|
//! | claim | `FREE → PENDING` | CAS (`Acquire` / `Acquire`) | `try_acquire` |
//! | undo | `PENDING → FREE` | store (`Release`) | `try_acquire` at capacity |
//! | grant | `PENDING → ticket` | store (`Release`) | `try_acquire` after taking capacity |
//! | retire | `ticket → PENDING` | CAS (`Acquire` / `Relaxed`) | permit drop, `release_token` |
//! | free | `PENDING → FREE` | store (`Release`) | the same release, after returning capacity |
//!
//! Only the thread that wrote `PENDING` (claimer or releaser) writes the slot again, and only
//! the holder of `ticket` (its permit or its token) can make the CAS `ticket → PENDING`
//! succeed: a stale or foreign token names another ticket, or `PENDING`, and fails with
//! [`ReleaseError::NotHolder`] without touching the slot (B22). Each ticket is granted once,
//! so each grant is released at most once.
//!
//! # Acquire order and invariants
//!
//! `try_acquire`: unknown rank → quorum gate → claim the slot: it reads `FREE` (claimed) or a
//! ticket (`AlreadyRecovering`) or `PENDING` (another acquire or release of this partition is
//! half-way: spin with `Backoff` and read again, never answer from it) → take one of K by a
//! CAS loop on `active` (else undo the claim, `AtCapacity`) → grant.
//! Release: slot `ticket → PENDING`, then `active.fetch_sub(1)`, then slot `PENDING → FREE`.
//!
//! * never two holders of one partition: the claim CAS from `FREE` admits one claimer until
//!   the slot is `FREE` again;
//! * `#granted slots <= active <= K` at every instant: a grant follows its increment and a
//!   decrement follows its retire CAS;
//! * no leaked slot: every claim ends in an undo or a grant, a grant is released by the
//!   permit's drop or by `release_token`, and every retire ends in a free. When no acquire or
//!   release is in progress, `active == #granted slots`.
//!
//! # Exact answers
//!
//! A permit exists from the `active` increment of its acquire to the `active` decrement of
//! its release (its linearisation points). Each refusal is true at the instant of the read it
//! is made from:
//!
//! * `AlreadyRecovering` is answered only from a ticket, i.e. while a granted permit of the
//!   partition exists (a releasing one still shows `PENDING`, not its ticket, and is waited
//!   out); never from the transient claim of an acquire that may still fail;
//! * `AtCapacity` is answered only from `active >= K`, and a release returns its capacity
//!   before its slot reads `FREE`, so a re-acquire of the released partition never sees the
//!   freed slot with the capacity still taken.
//!
//! The price: an acquire that meets `PENDING` spins until the other thread's window (a few
//! atomic operations, no waiting, no user code) ends. Do not acquire from an interrupt
//! handler that can preempt an acquire or release *of the same partition* on the same core:
//! it would spin forever (acquires of other partitions never wait on each other).
//!
//! Bounds. The spin lasts as long as the other thread takes to finish its window, so it is
//! bounded by that thread's scheduling, not by this code: with `std` the `Backoff` yields
//! after a few rounds, so a preempted holder of the window gets the core back under any
//! time-slicing scheduler; without `std` it only spins. The interrupt restriction above
//! therefore also applies to a strict-priority scheduler without time slicing (an RTOS):
//! a higher-priority task must not acquire a partition that a lower-priority task on the
//! same core may be acquiring or releasing. Progress is lock-free, not wait-free: an
//! acquire meets `PENDING` only while another thread of the same partition is inside its
//! window, and each such window ends in a grant, an undo or a free, so a spinner can be
//! overtaken repeatedly (e.g. by `acquire_wait` retries of the same partition at capacity)
//! only while those others keep making steps.
//!
//! # Waiting for capacity
//!
//! Every release bumps a [`WaitWord`] after its `fetch_sub` ([`WaitWord::wake`]), which calls
//! [`WaitStrategy::wake_all`] only when a waiter announced itself;
//! [`RecoveryLock::acquire_wait`] reads the word before each retry and waits only while it is
//! unchanged (the futex protocol of `crate::wait`), so a release can never be missed by a
//! waiter. The extra cost per release is one RMW when nobody waits.
//!
//! # Orderings
//!
//! The claim CAS is `Acquire` and the free (and undo) store `Release`: the next recovery of a
//! partition sees everything its previous recovery wrote (pairs claim ↔ free, and claim ↔
//! undo). The retire CAS is `Acquire`: it pairs with the grant's `Release` store, so a token
//! released on another thread than the acquirer's orders the recovery after the grant.
//! `active` is taken with an `Acquire` CAS and returned with a `Release` `fetch_sub` (pairs
//! with the next taker), so the K-limit hands over memory like a semaphore.
//!
//! # Memory
//!
//! 4 bytes per partition (one [`LockSlot`], caller storage) plus a fixed header.
//!
//! # Example
//!
//! ```
//! use ftforest_core::{AcquireError, LockSlot, RecoveryLock};
//!
//! static SLOTS: [LockSlot; 8] = [const { LockSlot::new() }; 8];
//! let lock = RecoveryLock::new(&SLOTS, 8, 2).unwrap();
//! let first = lock.try_acquire(3, true).unwrap();
//! assert_eq!(lock.try_acquire(3, true).unwrap_err(), AcquireError::AlreadyRecovering);
//! let token = lock.try_acquire(4, true).unwrap().into_token(); // e.g. handed to C
//! assert_eq!(lock.try_acquire(5, true).unwrap_err(), AcquireError::AtCapacity);
//! drop(first);
//! lock.release_token(token).unwrap();
//! assert!(lock.release_token(token).is_err()); // a second release is refused
//! assert_eq!(lock.active(), 0);
//! ```

use core::fmt;

use crate::sync::{AtomicU32, Backoff, Ordering};
use crate::time::{Clock, Instant};
use crate::wait::{SpinWait, WaitStrategy, WaitWord};

const FREE: u32 = 0;
const PENDING: u32 = u32::MAX;

/// The lock state of one partition (4 bytes): free, being claimed, or the holder's ticket.
#[derive(Debug)]
#[repr(transparent)]
pub struct LockSlot(AtomicU32);

impl LockSlot {
    /// A free slot. `const`, so storage can be `static` (`[const { LockSlot::new() }; N]`).
    #[cfg(not(ftforest_loom))]
    pub const fn new() -> Self {
        LockSlot(AtomicU32::new(FREE))
    }

    /// A free slot (not `const` under loom).
    #[cfg(ftforest_loom)]
    pub fn new() -> Self {
        LockSlot(AtomicU32::new(FREE))
    }
}

impl Default for LockSlot {
    fn default() -> Self {
        LockSlot::new()
    }
}

/// Why [`RecoveryLock::new`] refused its arguments.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum LockConfigError {
    /// `n == 0`.
    NoPartitions,
    /// The storage holds fewer than `n` slots.
    StorageTooSmall {
        /// Requested partitions.
        n: u32,
        /// Slots in the storage.
        len: usize,
    },
    /// `max_concurrent == 0`: no recovery could ever run.
    ZeroCapacity,
    /// A slot among the first `n` is not free: the storage is (or was) used by another lock,
    /// whose permits it still records. Storage belongs to one lock at a time; it is never
    /// reset behind a live lock's back.
    StorageInUse {
        /// The first partition whose slot is not free.
        rank: u32,
    },
}

impl fmt::Display for LockConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LockConfigError::NoPartitions => f.write_str("a recovery lock needs n >= 1"),
            LockConfigError::StorageTooSmall { n, len } => {
                write!(
                    f,
                    "storage holds {len} lock slots, {n} partitions requested"
                )
            }
            LockConfigError::ZeroCapacity => f.write_str("max_concurrent must be at least 1"),
            LockConfigError::StorageInUse { rank } => {
                write!(
                    f,
                    "lock slot {rank} is in use: the storage belongs to another lock"
                )
            }
        }
    }
}

/// Why no permit was granted. Nothing was changed.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AcquireError {
    /// The caller reported no quorum: recoveries must not start.
    NoQuorum,
    /// A granted permit of this partition exists (answered only from a holder's ticket).
    /// Never waited for.
    AlreadyRecovering,
    /// K permits exist (answered only from `active >= K`).
    AtCapacity,
    /// `rank >= n`.
    UnknownPartition,
    /// The deadline passed while waiting for capacity.
    TimedOut,
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AcquireError::NoQuorum => "no quorum: recovery refused",
            AcquireError::AlreadyRecovering => "partition is already recovering",
            AcquireError::AtCapacity => "maximum number of concurrent recoveries reached",
            AcquireError::UnknownPartition => "unknown partition",
            AcquireError::TimedOut => "timed out waiting for a recovery slot",
        })
    }
}

/// Why [`RecoveryLock::release_token`] released nothing. Nothing was changed.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReleaseError {
    /// The token was issued by another lock.
    ForeignToken,
    /// The token's ticket does not hold the slot (already released, or stale).
    NotHolder,
    /// The token's rank is not a partition of this lock.
    UnknownPartition,
}

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReleaseError::ForeignToken => "permit token of another recovery lock",
            ReleaseError::NotHolder => "permit token does not hold the partition (stale)",
            ReleaseError::UnknownPartition => "permit token names an unknown partition",
        })
    }
}

/// A permit in plain-data form (for the C ABI): names the lock, the partition and the ticket.
///
/// Obtained from [`RecoveryPermit::into_token`]; give it back exactly once to
/// [`RecoveryLock::release_token`]. A copy released a second time is refused.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct PermitToken {
    /// [`RecoveryLock::id`] of the issuing lock.
    pub lock_id: u32,
    /// The partition.
    pub rank: u32,
    /// The holder's ticket.
    pub ticket: u32,
}

/// The right to recover one partition; releases the slot and the capacity exactly once, on
/// drop (or converts into a [`PermitToken`]).
#[must_use = "dropping a permit releases the recovery lock at once"]
#[derive(Debug)]
pub struct RecoveryPermit<'a, S: AsRef<[LockSlot]>, W: WaitStrategy = SpinWait> {
    lock: &'a RecoveryLock<S, W>,
    rank: u32,
    ticket: u32,
}

impl<S: AsRef<[LockSlot]>, W: WaitStrategy> RecoveryPermit<'_, S, W> {
    /// The partition this permit recovers.
    pub fn rank(&self) -> u32 {
        self.rank
    }

    /// The holder's ticket (non-zero).
    pub fn ticket(&self) -> u32 {
        self.ticket
    }

    /// Give up guard semantics: the lock stays held until the token is passed to
    /// [`RecoveryLock::release_token`].
    pub fn into_token(self) -> PermitToken {
        let token = PermitToken {
            lock_id: self.lock.id,
            rank: self.rank,
            ticket: self.ticket,
        };
        core::mem::forget(self);
        token
    }
}

impl<S: AsRef<[LockSlot]>, W: WaitStrategy> Drop for RecoveryPermit<'_, S, W> {
    fn drop(&mut self) {
        // Cannot fail for a live permit: its ticket holds the slot (module docs).
        let _ = self.lock.release(self.rank, self.ticket);
    }
}

/// One recovery per partition, at most `max_concurrent` at once (see the module docs).
///
/// All methods take `&self`; any number of threads may acquire and release at once.
#[derive(Debug)]
pub struct RecoveryLock<S: AsRef<[LockSlot]>, W: WaitStrategy = SpinWait> {
    slots: S,
    n: u32,
    max: u32,
    id: u32,
    active: AtomicU32,
    next_ticket: AtomicU32,
    /// Bumped by every release; [`RecoveryLock::acquire_wait`] waits on it.
    word: WaitWord,
    waiter: W,
}

impl<S: AsRef<[LockSlot]>> RecoveryLock<S, SpinWait> {
    /// A lock whose [`RecoveryLock::acquire_wait`] spins ([`SpinWait`]); see
    /// [`RecoveryLock::with_waiter`] for the arguments and errors.
    pub fn new(storage: S, n: u32, max_concurrent: u32) -> Result<Self, LockConfigError> {
        RecoveryLock::with_waiter(storage, n, max_concurrent, SpinWait)
    }
}

impl<S: AsRef<[LockSlot]>, W: WaitStrategy> RecoveryLock<S, W> {
    /// A lock for partitions `0..n` over the first `n` slots of `storage`, admitting at most
    /// `max_concurrent` recoveries at once (a K above `n` is allowed and acts as `n`), whose
    /// [`RecoveryLock::acquire_wait`] blocks with `waiter`.
    ///
    /// **Storage belongs to one lock at a time.** The slots record the permits of the lock
    /// that uses them, so `new` never writes them: storage whose first `n` slots are not all
    /// free (another lock holds permits in it, or left some behind as unreleased tokens) is
    /// refused with [`LockConfigError::StorageInUse`] rather than silently reset. Storage
    /// that reads all free is accepted: building a second lock over storage that a live lock
    /// still uses is a misuse this check cannot always see (the two would share slots but
    /// not their capacity counts), so give each lock its own storage, or reuse it only after
    /// the previous lock is gone.
    ///
    /// Errors: `n == 0` → [`LockConfigError::NoPartitions`]; `n > storage.len()` →
    /// [`LockConfigError::StorageTooSmall`]; `max_concurrent == 0` →
    /// [`LockConfigError::ZeroCapacity`]; a slot in use → [`LockConfigError::StorageInUse`].
    pub fn with_waiter(
        storage: S,
        n: u32,
        max_concurrent: u32,
        waiter: W,
    ) -> Result<Self, LockConfigError> {
        if n == 0 {
            return Err(LockConfigError::NoPartitions);
        }
        if max_concurrent == 0 {
            return Err(LockConfigError::ZeroCapacity);
        }
        let len = storage.as_ref().len();
        if usize::try_from(n).map_or(true, |n| n > len) {
            return Err(LockConfigError::StorageTooSmall { n, len });
        }
        // Acquire: pairs with the Release free/undo store of a previous user of the storage,
        // so its recoveries happen-before ours.
        if let Some(rank) = storage
            .as_ref()
            .iter()
            .take(n as usize)
            .position(|slot| slot.0.load(Ordering::Acquire) != FREE)
        {
            return Err(LockConfigError::StorageInUse {
                rank: u32::try_from(rank).unwrap_or(u32::MAX),
            });
        }
        Ok(RecoveryLock {
            slots: storage,
            n,
            max: max_concurrent,
            id: crate::sync::next_object_id(),
            active: AtomicU32::new(0),
            next_ticket: AtomicU32::new(1),
            word: WaitWord::new(),
            waiter,
        })
    }

    /// This lock's process-unique, non-zero id (named by its tokens).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The number of partitions `n`.
    pub fn len(&self) -> u32 {
        self.n
    }

    /// Always `false`: a lock has at least one partition.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// K: the most recoveries that may hold permits at once.
    pub fn max_concurrent(&self) -> u32 {
        self.max
    }

    /// Permits currently taken (`0..=K`; a snapshot, `Acquire`).
    pub fn active(&self) -> u32 {
        self.active.load(Ordering::Acquire)
    }

    /// Whether `rank` is held, being granted or being released (a snapshot). `false` for
    /// unknown ranks.
    pub fn is_recovering(&self, rank: u32) -> bool {
        self.slot(rank)
            .is_some_and(|s| s.load(Ordering::Acquire) != FREE)
    }

    /// Try to start recovering `rank`; never waits.
    ///
    /// `quorum` is the caller's quorum decision (e.g. [`crate::PartitionTable::has_quorum`]).
    /// Checks, in order: `rank < n` ([`AcquireError::UnknownPartition`]), `quorum`
    /// ([`AcquireError::NoQuorum`]), the partition's slot ([`AcquireError::AlreadyRecovering`]),
    /// capacity ([`AcquireError::AtCapacity`]). On error nothing is held.
    ///
    /// Every refusal is exact (module docs, "Exact answers"): `AlreadyRecovering` means a
    /// granted permit of `rank` existed when the slot was read, `AtCapacity` that K permits
    /// existed. "Never waits" means no waiting for another permit: an acquire or release of
    /// the same partition that is half-way (its slot reads `PENDING`) is spun out with
    /// `Backoff`, a window of a few atomic operations (see the module docs for the one
    /// restriction this implies in interrupt handlers).
    pub fn try_acquire(
        &self,
        rank: u32,
        quorum: bool,
    ) -> Result<RecoveryPermit<'_, S, W>, AcquireError> {
        let slot = self.slot(rank).ok_or(AcquireError::UnknownPartition)?;
        if !quorum {
            return Err(AcquireError::NoQuorum);
        }
        self.claim(slot)?;
        let mut cur = self.active.load(Ordering::Relaxed);
        loop {
            if cur >= self.max {
                // Undo the claim; Release pairs with the next claim's Acquire.
                slot.store(FREE, Ordering::Release);
                return Err(AcquireError::AtCapacity);
            }
            // Acquire: pairs with the Release fetch_sub of the permit whose capacity we take.
            match self.active.compare_exchange_weak(
                cur,
                cur + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => {
                    cur = actual;
                    crate::sync::spin_loop();
                }
            }
        }
        let ticket = self.new_ticket();
        // Release: pairs with the Acquire of `is_recovering` and of a token release on
        // another thread (which must read the ticket to free the slot).
        slot.store(ticket, Ordering::Release);
        Ok(RecoveryPermit {
            lock: self,
            rank,
            ticket,
        })
    }

    /// Like [`RecoveryLock::try_acquire`], but waits for capacity until `deadline` (read from
    /// `clock`): spins with backoff, then blocks with the wait strategy until a release.
    ///
    /// Only [`AcquireError::AtCapacity`] is waited out (until the deadline, however often it
    /// is met); `UnknownPartition`, `NoQuorum` and `AlreadyRecovering` return at once (as does
    /// any of them met while retrying). Like `try_acquire`'s, these answers are exact:
    /// `AlreadyRecovering` only while a granted permit of `rank` exists, never because another
    /// acquire of `rank` was half-way (that acquire is spun out and may still end
    /// `AtCapacity`, which this call then keeps waiting out). When the deadline passes first:
    /// [`AcquireError::TimedOut`], nothing held. No lost wake-up: the
    /// wait word is read before the retry, and every release bumps it after returning its
    /// capacity (see `crate::wait`). Waiters are not served in FIFO order.
    pub fn acquire_wait(
        &self,
        rank: u32,
        quorum: bool,
        clock: &impl Clock,
        deadline: Instant,
    ) -> Result<RecoveryPermit<'_, S, W>, AcquireError> {
        let mut backoff = Backoff::new();
        loop {
            match self.try_acquire(rank, quorum) {
                Err(AcquireError::AtCapacity) => {}
                other => return other,
            }
            if clock.now() >= deadline {
                return Err(AcquireError::TimedOut);
            }
            // Under loom the spin phase only multiplies interleavings; the models check the
            // wait strategy's protocol.
            if !cfg!(ftforest_loom) && !backoff.is_completed() {
                backoff.snooze();
                continue;
            }
            // Read the word, then retry: a release after this read bumps the word, so `wait`
            // returns at once (futex semantics); a release before it is seen by the retry.
            let seen = self.word.load();
            match self.try_acquire(rank, quorum) {
                Err(AcquireError::AtCapacity) => {}
                other => return other,
            }
            self.word.wait(&self.waiter, seen, deadline);
        }
    }

    /// Release the permit a [`PermitToken`] stands for, exactly once.
    ///
    /// Errors (nothing released): token of another lock → [`ReleaseError::ForeignToken`];
    /// unknown rank → [`ReleaseError::UnknownPartition`]; the ticket does not hold the slot
    /// (second release of the same token, a forged or stale token) →
    /// [`ReleaseError::NotHolder`]. Never frees a slot that another holder owns (B22).
    pub fn release_token(&self, token: PermitToken) -> Result<(), ReleaseError> {
        if token.lock_id != self.id {
            return Err(ReleaseError::ForeignToken);
        }
        self.release(token.rank, token.ticket)
    }

    /// Claim `slot` (`FREE → PENDING`): `Ok` once claimed, `AlreadyRecovering` when it holds
    /// a ticket; a `PENDING` slot (another acquire or release half-way) is spun out.
    fn claim(&self, slot: &AtomicU32) -> Result<(), AcquireError> {
        let mut backoff = Backoff::new();
        loop {
            // Acquire (success): pairs with the Release free (or undo) store that made the
            // slot FREE. Acquire (failure): a ticket read here was stored by a grant (Release).
            match slot.compare_exchange(FREE, PENDING, Ordering::Acquire, Ordering::Acquire) {
                Ok(_) => return Ok(()),
                Err(PENDING) => backoff.snooze(),
                Err(_) => return Err(AcquireError::AlreadyRecovering),
            }
        }
    }

    fn release(&self, rank: u32, ticket: u32) -> Result<(), ReleaseError> {
        let slot = self.slot(rank).ok_or(ReleaseError::UnknownPartition)?;
        if ticket == FREE || ticket == PENDING {
            return Err(ReleaseError::NotHolder);
        }
        // Retire: only the holder's ticket matches (module docs). Acquire: pairs with the
        // grant's Release store (the token may be released on another thread).
        slot.compare_exchange(ticket, PENDING, Ordering::Acquire, Ordering::Relaxed)
            .map_err(|_| ReleaseError::NotHolder)?;
        // Release: pairs with the Acquire CAS of the next capacity taker. Cannot underflow:
        // this ticket was granted after its increment and is released only once.
        self.active.fetch_sub(1, Ordering::Release);
        // Free the slot only now that the capacity is back (exact `AtCapacity`). Release:
        // publishes the recovery's writes to the next claimer (pairs with the claim's
        // Acquire).
        slot.store(FREE, Ordering::Release);
        // Capacity changed: bump after the decrement (Release, pairs with the Acquire load
        // of a waiter in `acquire_wait`), then wake (futex protocol of `crate::wait`).
        self.word.wake(&self.waiter);
        Ok(())
    }

    fn slot(&self, rank: u32) -> Option<&AtomicU32> {
        if rank >= self.n {
            return None;
        }
        self.slots.as_ref().get(rank as usize).map(|s| &s.0)
    }

    /// A fresh ticket: neither `FREE` nor `PENDING`. Relaxed: tickets only need to differ.
    fn new_ticket(&self) -> u32 {
        loop {
            let t = self.next_ticket.fetch_add(1, Ordering::Relaxed);
            if t != FREE && t != PENDING {
                return t;
            }
        }
    }
}

#[cfg(test)]
mod tests;
