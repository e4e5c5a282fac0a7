//! The scheduler: the recovery lock and the recovery queue used together, so that a queued
//! partition is never stranded and never started twice.
//!
//! Every partition to recover goes through the queue (FIFO; the queue refuses duplicates),
//! and [`Scheduler::promote`] starts the head:
//!
//! 1. `peek` the head `p` (none → [`Promote::Empty`]);
//! 2. `try_acquire(p, quorum)` — refused → [`Promote::Blocked`] with the reason
//!    (`AtCapacity`, `NoQuorum`, or `AlreadyRecovering` while a granted permit of `p` exists:
//!    a concurrent promoter won `p` and is about to remove it); nothing changes. `AtCapacity`
//!    is re-checked first (below);
//! 3. `remove(p)` — true → [`Promote::Started`] with the permit as a token; false (our peek
//!    was stale: another promoter started and removed `p`, or `cancel` removed it) → give the
//!    permit back (with the release fence below) and go back to 1.
//!
//! **Protocol** (the only rule for callers): after every [`Scheduler::admit`] and after every
//! [`Scheduler::release`], call `promote` until it returns `Empty` or `Blocked`.
//!
//! Why nothing starts twice: the lock admits one holder per rank, and only the holder that
//! also removed the rank from the queue reports `Started`.
//!
//! Why nothing is stranded: a rank stays queued only while its promote was blocked by
//! capacity, quorum or a granted permit of another promoter. Quorum is the caller's input
//! and the caller promotes again when it changes (the coordinator does so whenever a
//! partition becomes HEALTHY and on every tick). A granted permit belongs to a promoter that
//! removes the rank (and keeps promoting afterwards) or gives it back and re-peeks. Capacity
//! is freed only by `release`, whose caller then promotes. The dangerous interleaving (found
//! by the loom model) is a promoter P whose claim on `p` fails for capacity while a releaser
//! R frees capacity and its own promote meets P's transient claim on `p`. The lock answers
//! exactly (`crate::lock`, "Exact answers"): R's claim never reports `AlreadyRecovering`
//! from P's transient claim but spins it out, finds the slot free once P has undone its
//! claim, and sees its own freed capacity (a later value of `active` than its decrement, in
//! the counter's modification order); so R starts `p` unless another taker got that
//! capacity, in which case that taker releases and promotes later. Somebody starts `p`.
//!
//! Before the lock's answers were exact, R's promote could return `AlreadyRecovering` from
//! P's claim, a store-buffering pattern closed by a Dekker pair of `SeqCst` fences. They are
//! kept as a second, independent guard (one fence per release and per blocked promote, off
//! the hot path):
//!
//! * `release`: free the permit (`active -= 1`), then `fence(SeqCst)`, then (the caller's
//!   `promote`) claim the head;
//! * blocked `promote`: undo the claim (inside `try_acquire`), then `fence(SeqCst)`, then
//!   re-read `active`; capacity free → try again.
//!
//! In the fences' total order, if R's fence comes first, P's re-read sees the freed
//! capacity and P retries; if P's comes first, R's claim sees the undone (free) slot and R
//! starts `p`. (Loom: with the old, inexact lock and no fences `scheduler_no_stranding`
//! fails; with the exact lock it passes with or without the fences.)
//!
//! Everything is `&self` over the two lock-free/short-lock primitives; the loom model
//! (`loom-tests/tests/loom_coord.rs`) runs admitters, releasers and promoters against each
//! other and checks that at the end every admitted rank was started exactly once and the
//! queue is empty.

use crate::lock::{AcquireError, LockSlot, PermitToken, RecoveryLock, ReleaseError};
use crate::queue::{PushError, QueueSlot, RecoveryQueue};
use crate::sync::{fence, spin_loop, Ordering};

/// What one [`Scheduler::promote`] did.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Promote {
    /// The head partition holds the lock now (and left the queue); the caller runs its
    /// recovery and gives the token back to [`Scheduler::release`] exactly once.
    Started(PermitToken),
    /// The queue is empty.
    Empty,
    /// The head cannot start now (the reason is the lock's); the queue is unchanged.
    Blocked(AcquireError),
}

/// The recovery lock plus the recovery queue (see the module docs).
#[derive(Debug)]
pub struct Scheduler<L: AsRef<[LockSlot]>, Q: AsRef<[QueueSlot]>> {
    lock: RecoveryLock<L>,
    queue: RecoveryQueue<Q>,
}

impl<L: AsRef<[LockSlot]>, Q: AsRef<[QueueSlot]>> Scheduler<L, Q> {
    /// Pair a lock and a queue over the same partitions.
    pub fn new(lock: RecoveryLock<L>, queue: RecoveryQueue<Q>) -> Self {
        Scheduler { lock, queue }
    }

    /// The lock.
    pub fn lock(&self) -> &RecoveryLock<L> {
        &self.lock
    }

    /// The queue.
    pub fn queue(&self) -> &RecoveryQueue<Q> {
        &self.queue
    }

    /// Queue `rank` for recovery (then call [`Scheduler::promote`]). A rank must not be
    /// admitted while its own recovery holds the lock (the coordinator's state machine
    /// guarantees it: only FAILED partitions are admitted, a holder is RECOVERING, or FAILED
    /// with an abandoned attempt awaiting its cancel's acknowledgement, which is not
    /// admitted until then).
    pub fn admit(&self, rank: u32) -> Result<(), PushError> {
        self.queue.push(rank)
    }

    /// Try to start the head of the queue (see the module docs).
    pub fn promote(&self, quorum: bool) -> Promote {
        loop {
            let Some(rank) = self.queue.peek() else {
                return Promote::Empty;
            };
            match self.lock.try_acquire(rank, quorum) {
                Ok(permit) => {
                    if self.queue.remove(rank) {
                        return Promote::Started(permit.into_token());
                    }
                    // A stale peek (the rank was started and removed by another promoter,
                    // or cancelled, between our peek and our claim): give the capacity
                    // back, as `release` does, Dekker fence included.
                    drop(permit);
                    fence(Ordering::SeqCst);
                }
                Err(AcquireError::UnknownPartition) => {
                    // Unreachable when lock and queue share `n`; drop the entry rather than
                    // block the queue forever.
                    self.queue.remove(rank);
                }
                Err(AcquireError::AtCapacity) => {
                    // Dekker pair with `release` (module docs): our claim was undone before
                    // this fence; a release ordered before it is visible to the re-read.
                    fence(Ordering::SeqCst);
                    if self.lock.active() < self.lock.max_concurrent() {
                        spin_loop();
                        continue;
                    }
                    return Promote::Blocked(AcquireError::AtCapacity);
                }
                Err(e) => return Promote::Blocked(e),
            }
        }
    }

    /// Give back a permit obtained from `promote` (then call `promote`).
    pub fn release(&self, token: PermitToken) -> Result<(), ReleaseError> {
        let r = self.lock.release_token(token);
        // Dekker pair with a blocked `promote` (module docs): the freed capacity is ordered
        // before the claims of the promote that follows.
        fence(Ordering::SeqCst);
        r
    }

    /// Take `rank` out of the queue if it is there.
    pub fn cancel(&self, rank: u32) -> bool {
        self.queue.remove(rank)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::queue_storage_len;

    fn sched(n: u32, k: u32) -> Scheduler<std::vec::Vec<LockSlot>, std::vec::Vec<QueueSlot>> {
        let locks = (0..n).map(|_| LockSlot::new()).collect();
        let q = (0..queue_storage_len(n, n))
            .map(|_| QueueSlot::new())
            .collect();
        Scheduler::new(
            RecoveryLock::new(locks, n, k).unwrap(),
            RecoveryQueue::new(q, n).unwrap(),
        )
    }

    #[test]
    fn fifo_capacity_and_release() {
        let s = sched(8, 2);
        assert_eq!(s.promote(true), Promote::Empty);
        for r in [5, 1, 3] {
            s.admit(r).unwrap();
        }
        assert_eq!(s.admit(1), Err(PushError::Duplicate));
        let Promote::Started(a) = s.promote(true) else {
            panic!()
        };
        let Promote::Started(b) = s.promote(true) else {
            panic!()
        };
        assert_eq!((a.rank, b.rank), (5, 1));
        assert_eq!(s.promote(true), Promote::Blocked(AcquireError::AtCapacity));
        assert!(s.queue().contains(3));
        s.release(a).unwrap();
        assert_eq!(s.release(a), Err(ReleaseError::NotHolder));
        assert_eq!(s.promote(false), Promote::Blocked(AcquireError::NoQuorum));
        let Promote::Started(c) = s.promote(true) else {
            panic!()
        };
        assert_eq!(c.rank, 3);
        assert_eq!(s.promote(true), Promote::Empty);
        s.release(b).unwrap();
        s.release(c).unwrap();
        assert_eq!(s.lock().active(), 0);
    }

    #[test]
    fn cancel_removes_and_head_of_line_is_reported() {
        let s = sched(4, 1);
        s.admit(2).unwrap();
        s.admit(3).unwrap();
        assert!(s.cancel(2));
        assert!(!s.cancel(2));
        let Promote::Started(t) = s.promote(true) else {
            panic!()
        };
        assert_eq!(t.rank, 3);
        s.admit(1).unwrap();
        assert_eq!(s.promote(true), Promote::Blocked(AcquireError::AtCapacity));
        s.release(t).unwrap();
        assert!(matches!(
            s.promote(true),
            Promote::Started(PermitToken { rank: 1, .. })
        ));
    }
}
