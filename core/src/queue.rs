//! The recovery queue: a bounded FIFO of partition ranks, each rank at most once.
//!
//! # Storage layout (caller storage `S: AsRef<[QueueSlot]>`, one `AtomicU32` per slot)
//!
//! ```text
//! slot:  0 .. W-1                    W .. W+capacity-1
//!        membership bitset           ring of ranks (FIFO)
//!        bit r%32 of word r/32       entry (head + i) % capacity = i-th oldest rank
//! ```
//!
//! `W = ceil(n / 32)`; `capacity = storage.len() - W` (at least 1). [`queue_storage_len`]
//! computes the length for a wanted capacity.
//!
//! # Invariants (hold whenever the ring lock is free)
//!
//! * `len <= capacity`; the ranks at ring positions `0..len` (from `head`) are distinct, and
//!   rank `r` is among them iff its membership bit is set.
//! * Hence `len <= n`: with `capacity >= n` a push never fails with [`PushError::Full`].
//! * Every rank that was pushed is either still in the queue or was returned by exactly one
//!   [`RecoveryQueue::pop`] / [`RecoveryQueue::remove`]: nothing is dropped silently.
//! * **Vacated ring entries read 0.** `pop` and `remove` zero the entry they vacate, so every
//!   slot outside the ring positions `0..len` reads 0 (as fresh storage does). An empty queue
//!   therefore leaves all-zero storage behind, and a later queue over the same storage with a
//!   larger `n` (whose bitset then covers former ring entries) does not mistake leftover
//!   ranks for membership bits.
//!
//! # Concurrency: a short spin lock (not lock-free) plus a seqlock for readers
//!
//! Two header words:
//! * `lock` (0 = free, 1 = held) serialises every operation on the ring:
//!   `compare_exchange_weak(0, 1, Acquire)` (pairs with the `Release` store of the previous
//!   unlock: the holder sees every earlier change); while it fails, spin on `Relaxed` loads
//!   (waiters never write the word); unlock is `store(0, Release)`.
//! * `seq` (even = stable, odd = a writer is changing the ring) lets
//!   [`RecoveryQueue::for_each`] read without the lock. A holder that is about to change the
//!   ring does `seq.fetch_add(1, Relaxed)` then `fence(Release)` (pairs with the reader's
//!   `fence(Acquire)`: a reader that saw any of the following writes also sees the odd `seq`
//!   and discards what it read), and before unlocking `seq.fetch_add(1, Release)` (pairs with
//!   the reader's `Acquire` load). Holders that change nothing leave `seq` alone. (`seq` wraps:
//!   only a reader stalled across exactly 2^31 changes could mistake it for unchanged.)
//!
//! Inside the lock: `Relaxed` loads/stores of `head`, `len` and the ring, O(1) for push/pop
//! and O(capacity) for remove. No user code runs inside. Membership bits and `len` are also
//! written `Release` and read `Acquire` by the lock-free readers [`RecoveryQueue::contains`]
//! and [`RecoveryQueue::len`].
//!
//! A thread preempted while holding the lock makes others spin until it runs again. Do not
//! use the queue from an interrupt handler that can preempt a holder on the same core (it
//! would spin forever); on such targets call it only from one priority level.
//!
//! # Memory
//!
//! `4 * (ceil(n / 32) + capacity)` bytes of caller storage plus a fixed header. With
//! `capacity = n` (never full) that is 4.125 bytes per partition; together with the
//! partition's [`HealthCell`](crate::HealthCell) (4 bytes), health state and queue membership
//! take **8.125 bytes per partition** (12.125 with the recovery lock's
//! [`LockSlot`](crate::LockSlot)), within the 16-byte budget.
//!
//! # Example
//!
//! ```
//! use ftforest_core::{queue_storage_len, PushError, QueueSlot, RecoveryQueue};
//!
//! const N: u32 = 100;
//! static SLOTS: [QueueSlot; queue_storage_len(N, N)] =
//!     [const { QueueSlot::new() }; queue_storage_len(N, N)];
//! let queue = RecoveryQueue::new(&SLOTS, N).unwrap();
//! queue.push(7).unwrap();
//! queue.push(3).unwrap();
//! assert_eq!(queue.push(7), Err(PushError::Duplicate));
//! let mut order = [0; 2];
//! let mut i = 0;
//! assert!(queue.for_each(|r| { order[i] = r; i += 1; }));
//! assert_eq!(order, [7, 3]);
//! assert_eq!(queue.pop(), Some(7));
//! ```

use core::fmt;

use crate::sync::{fence, spin_loop, AtomicU32, Ordering};

/// One word of queue storage (4 bytes): a membership bitset word or a ring entry.
#[derive(Debug)]
#[repr(transparent)]
pub struct QueueSlot(AtomicU32);

impl QueueSlot {
    /// An empty slot. `const`, so storage can be `static`
    /// (`[const { QueueSlot::new() }; LEN]`).
    #[cfg(not(ftforest_loom))]
    pub const fn new() -> Self {
        QueueSlot(AtomicU32::new(0))
    }

    /// An empty slot (not `const` under loom).
    #[cfg(ftforest_loom)]
    pub fn new() -> Self {
        QueueSlot(AtomicU32::new(0))
    }
}

impl Default for QueueSlot {
    fn default() -> Self {
        QueueSlot::new()
    }
}

/// Slots needed for `n` partitions and a ring of `capacity` entries:
/// `ceil(n / 32) + capacity`. With `capacity = n` that is `4.125` bytes per partition.
pub const fn queue_storage_len(n: u32, capacity: u32) -> usize {
    n.div_ceil(32) as usize + capacity as usize
}

/// Why [`RecoveryQueue::new`] refused its arguments.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum QueueConfigError {
    /// `n == 0`.
    NoPartitions,
    /// The storage has no room for a ring of at least one entry after the membership bitset.
    StorageTooSmall {
        /// Slots needed for capacity 1 (`ceil(n / 32) + 1`).
        needed: usize,
        /// Slots in the storage.
        len: usize,
    },
    /// A membership bit is set: the storage is (or was) used by another queue that still
    /// holds ranks in it. Storage belongs to one queue at a time; it is never reset behind a
    /// live queue's back.
    StorageInUse {
        /// The lowest rank whose membership bit is set.
        rank: u32,
    },
}

impl fmt::Display for QueueConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            QueueConfigError::NoPartitions => f.write_str("a recovery queue needs n >= 1"),
            QueueConfigError::StorageTooSmall { needed, len } => {
                write!(
                    f,
                    "queue storage holds {len} slots, at least {needed} needed"
                )
            }
            QueueConfigError::StorageInUse { rank } => {
                write!(
                    f,
                    "queue storage is in use: rank {rank} is queued by another queue"
                )
            }
        }
    }
}

/// Why [`RecoveryQueue::push`] did not enqueue a rank. The queue is unchanged.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PushError {
    /// The rank is already queued (it is not stored twice).
    Duplicate,
    /// The ring is full (only possible when `capacity < n`).
    Full,
    /// `rank >= n`.
    UnknownPartition,
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PushError::Duplicate => "partition already queued",
            PushError::Full => "recovery queue full",
            PushError::UnknownPartition => "unknown partition",
        })
    }
}

/// A bounded, duplicate-free FIFO of partition ranks `0..n` (see the module docs).
///
/// All methods take `&self`; any number of threads may use the queue at once.
#[derive(Debug)]
pub struct RecoveryQueue<S: AsRef<[QueueSlot]>> {
    storage: S,
    n: u32,
    words: usize,
    capacity: u32,
    lock: AtomicU32,
    seq: AtomicU32,
    head: AtomicU32,
    len: AtomicU32,
}

/// Holds the ring lock; unlocks on drop. Only the queue's own code runs while it lives.
struct RingGuard<'a> {
    lock: &'a AtomicU32,
    seq: &'a AtomicU32,
    writing: bool,
}

impl RingGuard<'_> {
    /// Announce a change of the ring to seqlock readers (once per critical section).
    fn begin_write(&mut self) {
        if !self.writing {
            self.writing = true;
            self.seq.fetch_add(1, Ordering::Relaxed);
            // Pairs with the Acquire fence in `unchanged`: the odd `seq` is ordered before
            // every write below.
            fence(Ordering::Release);
        }
    }
}

impl Drop for RingGuard<'_> {
    // Out of line: one body for every ring change (flash, issue 10).
    #[inline(never)]
    fn drop(&mut self) {
        if self.writing {
            // Release: pairs with the Acquire load of `for_each` (the change is complete).
            self.seq.fetch_add(1, Ordering::Release);
        }
        // Release: pairs with the Acquire CAS of the next `lock`.
        self.lock.store(0, Ordering::Release);
    }
}

impl<S: AsRef<[QueueSlot]>> RecoveryQueue<S> {
    /// An empty queue for ranks `0..n` over `storage` (layout in the module docs).
    ///
    /// **Storage belongs to one queue at a time.** `new` never writes the storage: a
    /// membership bitset with a bit set (another queue holds ranks in it) is refused with
    /// [`QueueConfigError::StorageInUse`] rather than silently cleared. The ring entries are
    /// not read (the bitset says the queue is empty). Storage whose bitset reads empty is
    /// accepted: building a second queue over storage that a live queue still uses is a
    /// misuse this check cannot always see, so give each queue its own storage, or reuse it
    /// only after the previous queue is gone.
    ///
    /// Errors: `n == 0` → [`QueueConfigError::NoPartitions`]; fewer than
    /// `ceil(n / 32) + 1` slots → [`QueueConfigError::StorageTooSmall`]; any bit of the
    /// bitset words set → [`QueueConfigError::StorageInUse`].
    pub fn new(storage: S, n: u32) -> Result<Self, QueueConfigError> {
        if n == 0 {
            return Err(QueueConfigError::NoPartitions);
        }
        let words = n.div_ceil(32) as usize;
        let len = storage.as_ref().len();
        if len <= words {
            return Err(QueueConfigError::StorageTooSmall {
                needed: words + 1,
                len,
            });
        }
        let capacity = u32::try_from(len - words).unwrap_or(u32::MAX);
        // Acquire: pairs with the Release `fetch_and` of a previous user's last pop/remove.
        let in_use = storage
            .as_ref()
            .iter()
            .take(words)
            .enumerate()
            .find_map(|(i, w)| {
                let bits = w.0.load(Ordering::Acquire);
                (bits != 0).then(|| {
                    (i as u32)
                        .saturating_mul(32)
                        .saturating_add(bits.trailing_zeros())
                })
            });
        if let Some(rank) = in_use {
            return Err(QueueConfigError::StorageInUse { rank });
        }
        Ok(RecoveryQueue {
            storage,
            n,
            words,
            capacity,
            lock: AtomicU32::new(0),
            seq: AtomicU32::new(0),
            head: AtomicU32::new(0),
            len: AtomicU32::new(0),
        })
    }

    /// The number of partitions `n`.
    pub fn partitions(&self) -> u32 {
        self.n
    }

    /// The ring capacity (fixed). With `capacity() >= partitions()` the queue never fills.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// The number of queued ranks (`Acquire` load; a snapshot).
    pub fn len(&self) -> u32 {
        self.len.load(Ordering::Acquire)
    }

    /// Whether no rank is queued (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `rank` is queued (a snapshot; lock-free). `false` for unknown ranks.
    pub fn contains(&self, rank: u32) -> bool {
        match self.member_word(rank) {
            // Acquire: pairs with the Release fetch_or of `push`.
            Some((word, bit)) => word.load(Ordering::Acquire) & bit != 0,
            None => false,
        }
    }

    /// Append `rank` at the back.
    ///
    /// Errors (queue unchanged): `rank >= n` → [`PushError::UnknownPartition`]; already queued
    /// → [`PushError::Duplicate`]; ring full → [`PushError::Full`] (never when
    /// `capacity() >= partitions()`).
    pub fn push(&self, rank: u32) -> Result<(), PushError> {
        let (word, bit) = self.member_word(rank).ok_or(PushError::UnknownPartition)?;
        let mut guard = self.lock();
        if word.load(Ordering::Relaxed) & bit != 0 {
            return Err(PushError::Duplicate);
        }
        let head = self.head.load(Ordering::Relaxed);
        let len = self.len.load(Ordering::Relaxed);
        if len >= self.capacity {
            return Err(PushError::Full);
        }
        let slot = self.ring_slot(head, len).ok_or(PushError::Full)?;
        guard.begin_write();
        slot.store(rank, Ordering::Relaxed);
        // Release: pairs with the Acquire loads of `contains` and `len`.
        word.fetch_or(bit, Ordering::Release);
        self.len.store(len + 1, Ordering::Release);
        Ok(())
    }

    /// Remove and return the oldest rank, or `None` when empty.
    pub fn pop(&self) -> Option<u32> {
        let mut guard = self.lock();
        let head = self.head.load(Ordering::Relaxed);
        let len = self.len.load(Ordering::Relaxed);
        if len == 0 {
            return None;
        }
        let slot = self.ring_slot(head, 0)?;
        let rank = slot.load(Ordering::Relaxed);
        guard.begin_write();
        // Vacated entries read 0 (see "Vacated ring entries" in the module docs).
        slot.store(0, Ordering::Relaxed);
        // Every ring entry is a known rank (only `push` writes entries, after its check).
        if let Some((word, bit)) = self.member_word(rank) {
            word.fetch_and(!bit, Ordering::Release);
        }
        self.head.store(self.advance(head, 1), Ordering::Relaxed);
        self.len.store(len - 1, Ordering::Release);
        Some(rank)
    }

    /// The oldest rank without removing it (a snapshot), or `None` when empty.
    pub fn peek(&self) -> Option<u32> {
        let _guard = self.lock();
        let head = self.head.load(Ordering::Relaxed);
        if self.len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        self.ring_slot(head, 0).map(|s| s.load(Ordering::Relaxed))
    }

    /// Remove `rank` wherever it is, keeping the order of the others. Returns whether it was
    /// queued (`false` for unknown ranks). O(capacity) inside the lock.
    pub fn remove(&self, rank: u32) -> bool {
        let Some((word, bit)) = self.member_word(rank) else {
            return false;
        };
        let mut guard = self.lock();
        if word.load(Ordering::Relaxed) & bit == 0 {
            return false;
        }
        let head = self.head.load(Ordering::Relaxed);
        let len = self.len.load(Ordering::Relaxed);
        let Some(at) = (0..len).find(|&i| {
            self.ring_slot(head, i)
                .is_some_and(|s| s.load(Ordering::Relaxed) == rank)
        }) else {
            return false;
        };
        guard.begin_write();
        // Shift the younger entries one position towards the head.
        for i in at..len - 1 {
            if let (Some(dst), Some(src)) = (self.ring_slot(head, i), self.ring_slot(head, i + 1)) {
                dst.store(src.load(Ordering::Relaxed), Ordering::Relaxed);
            }
        }
        // The youngest position is now vacated: it reads 0 again (see the module docs).
        if let Some(last) = self.ring_slot(head, len - 1) {
            last.store(0, Ordering::Relaxed);
        }
        word.fetch_and(!bit, Ordering::Release);
        self.len.store(len - 1, Ordering::Release);
        true
    }

    /// Call `f` with the queued ranks of one snapshot, oldest first, without taking the lock
    /// and without allocating (a seqlock read: `f` runs outside any critical section).
    ///
    /// Returns `true` if `f` received the whole snapshot; `false` if the queue changed while
    /// `f` was being called, in which case `f` received a prefix (in FIFO order) of the
    /// snapshot and nothing else. `f` never receives a rank that was not queued at the
    /// snapshot. Spins while a writer holds the lock before the first call of `f`.
    pub fn for_each(&self, mut f: impl FnMut(u32)) -> bool {
        loop {
            // Acquire: pairs with the Release increment that ended the last change.
            let seq = self.seq.load(Ordering::Acquire);
            if seq & 1 != 0 {
                spin_loop();
                continue;
            }
            let head = self.head.load(Ordering::Relaxed);
            let len = self.len.load(Ordering::Relaxed).min(self.capacity);
            if !self.unchanged(seq) {
                spin_loop();
                continue;
            }
            for i in 0..len {
                let Some(slot) = self.ring_slot(head, i) else {
                    return false;
                };
                let rank = slot.load(Ordering::Relaxed);
                if !self.unchanged(seq) {
                    return false;
                }
                f(rank);
            }
            return true;
        }
    }

    /// Seqlock validation: no change of the ring began since `seq` was read.
    fn unchanged(&self, seq: u32) -> bool {
        // Acquire fence: pairs with the Release fence of `begin_write`; if any value read
        // before this fence was written by a change, the load below sees its odd `seq` or a
        // later one.
        fence(Ordering::Acquire);
        self.seq.load(Ordering::Relaxed) == seq
    }

    // Out of line: smaller than its inlined copies (flash, issue 10).
    #[inline(never)]
    fn lock(&self) -> RingGuard<'_> {
        // Acquire: pairs with the Release store of the previous unlock. Waiters only read the
        // word (a failed CAS writes nothing), so the holder's line is not bounced by them.
        while self
            .lock
            .compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            while self.lock.load(Ordering::Relaxed) != 0 {
                spin_loop();
            }
        }
        RingGuard {
            lock: &self.lock,
            seq: &self.seq,
            writing: false,
        }
    }

    // Out of line: smaller than its inlined copies (flash, issue 10).
    #[inline(never)]
    fn member_word(&self, rank: u32) -> Option<(&AtomicU32, u32)> {
        if rank >= self.n {
            return None;
        }
        let word = self.storage.as_ref().get((rank / 32) as usize)?;
        Some((&word.0, 1 << (rank % 32)))
    }

    /// `(head + i) mod capacity`, for `head < capacity` and `i <= capacity` (the ring
    /// invariants): one conditional subtraction, no division (a 64-bit modulo cost 0.9 KiB of
    /// flash on Cortex-M and linked a division-by-zero panic path). Outside those bounds it
    /// still never overflows or panics; `ring_slot` bounds-checks the result.
    fn advance(&self, head: u32, i: u32) -> u32 {
        let to_end = self.capacity.saturating_sub(head);
        if i >= to_end {
            i - to_end
        } else {
            head + i
        }
    }

    /// The ring entry `i` positions behind `head`.
    // Out of line: smaller than its inlined copies (flash, issue 10).
    #[inline(never)]
    fn ring_slot(&self, head: u32, i: u32) -> Option<&AtomicU32> {
        let pos = self.words.checked_add(self.advance(head, i) as usize)?;
        self.storage.as_ref().get(pos).map(|s| &s.0)
    }
}

#[cfg(test)]
mod tests;
