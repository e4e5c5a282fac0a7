//! The recoverer side: `Action::AcquireFence` → one lock Txn (compares: `epoch/r` as the
//! view showed it, `members/r`, `lock/r`, `slot/s` absent; success: read every member key
//! and epoch, then lock, slot, pause and `epoch = recovering` in one revision: the token) →
//! the partition quorum judged from that read, i.e. at the token's revision → wait for every
//! live process's pause ack → `fence_granted(token)`. A lock whose own read shows no quorum
//! is given up at once (fenced on its token) and refused `NoQuorum`. The release (completion
//! or give-up) is in `release.rs`.
//!
//! Invariants: at most one fence entry per rank; no lock Txn is sent while the view already
//! shows no quorum (no pause for nothing); a lock reaches `Pausing` (so a pause can be
//! acknowledged into a grant, a phase can start, a fenced write can be sent for it) only
//! after a read at a revision where it was held showed quorum (the Txn's own read, or the
//! read-back of an ambiguous one); a fence is granted to the coordinator only from `Pausing`
//! with every live process acked (or the `Proceed` policy at the timeout); every lock this
//! process acquired and the coordinator did not take (no quorum, a refused grant:
//! `FenceError::must_release`, an abort at the pause timeout) is given up by a Txn fenced on
//! its token; an ambiguous lock, completion or give-up is resolved by reading the lock and
//! member keys back, and re-sent only as the same compare-guarded Txn. A lock that names
//! this process and sits on its live lease with no fence entry of ours holding it (a lock
//! Txn that timed out, was read back as absent, and committed later) is a stray: it is
//! given up by the same token-fenced Txn as soon as the view shows it.

use ftforest_core::coord::{FenceJob, OpGate, Refusal};
use ftforest_core::Instant;

use super::{Adapter, Pending, Status};
use crate::config::PausePolicy;
use crate::proto::event::{ClusterEvent, LockRefusal, QuorumVerdict};
use crate::proto::keys::EPOCH_LEFT;
use crate::proto::ops::{txn_kvs, KeyValue, OpError, OpResult, Request, Rev};
use crate::proto::txns;

/// Where this process is with a rank's fence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FenceStage {
    /// Lock Txn (with its quorum read) or its read-back in flight.
    Locking,
    /// Lock held; waiting for every live process's pause ack.
    Pausing {
        /// The token.
        token: Rev,
        /// The slot.
        slot: u32,
        /// When the lock was granted.
        since: Instant,
    },
    /// Granted to the coordinator; phases run.
    Granted {
        /// The token.
        token: Rev,
        /// The slot.
        slot: u32,
        /// The lock key was seen deleted (lease expiry): the completion will fail.
        lost: bool,
    },
    /// Completion or give-up Txn in flight.
    Releasing {
        /// The token.
        token: Rev,
        /// The slot.
        slot: u32,
    },
    /// The lock must be given up but the process may not write (self-fenced): the give-up
    /// is sent once writes are allowed again, or forgotten when the lease is gone.
    GiveUpPending {
        /// The token.
        token: Rev,
        /// The slot.
        slot: u32,
    },
}

/// One rank's fence.
#[derive(Clone, Debug)]
pub(crate) struct Fence {
    pub(crate) attempt: u32,
    pub(crate) stage: FenceStage,
}

fn to_refusal(r: LockRefusal) -> Refusal {
    match r {
        LockRefusal::Held => Refusal::Held,
        LockRefusal::AtCapacity => Refusal::AtCapacity,
        LockRefusal::NoQuorum => Refusal::NoQuorum,
        LockRefusal::Unavailable => Refusal::Unavailable,
        LockRefusal::Recovered => Refusal::Recovered,
    }
}

impl<G: OpGate + Clone> Adapter<G> {
    pub(crate) fn acquire(&mut self, now: Instant, job: FenceJob) {
        let r = job.rank;
        if let Some(f) = self.fences.get_mut(&r) {
            match f.stage {
                FenceStage::Releasing { .. }
                | FenceStage::Granted { .. }
                | FenceStage::GiveUpPending { .. } => {
                    let _ = self.coord.fence_refused(now, r, job.attempt, Refusal::Held);
                    self.emit(ClusterEvent::LockRefused {
                        rank: r,
                        refusal: LockRefusal::Held,
                    });
                }
                _ => {
                    // The previous attempt was abandoned by the coordinator: the new one
                    // inherits whatever is in flight (or the lock already held).
                    f.attempt = job.attempt;
                    self.check_all_acked(now);
                }
            }
            return;
        }
        if !self.lease.may_write(now) || self.status != Status::Running || !self.available {
            return self.refuse(now, r, job.attempt, LockRefusal::Unavailable);
        }
        if self.view.get(&self.keys.lock(r)).is_some() {
            // Held by someone (the watch may lag, but never shows a lock that was not
            // taken): no Txn needed to know the answer.
            return self.refuse(now, r, job.attempt, LockRefusal::Held);
        }
        if self.view.get(&self.keys.member(r)).is_some() {
            return self.refuse(now, r, job.attempt, LockRefusal::Recovered);
        }
        // The failure being recovered is the one the view shows: the lock Txn compares
        // `epoch/r` with it, so a recovery completed (and a new failure) or a leave since
        // then refuses the lock.
        let epoch_mod = match self.view.get(&self.keys.epoch(r)) {
            Some(kv) if kv.value != EPOCH_LEFT => kv.mod_revision,
            _ => return self.refuse(now, r, job.attempt, LockRefusal::Recovered),
        };
        // A pre-filter only (the view may lag): no quorum in the view → no lock Txn, so no
        // cluster-wide pause is requested just to be given up. Quorum in the view grants
        // nothing: the lock Txn's own read decides.
        let (healthy, members) = self.view_quorum();
        if healthy * 2 <= members {
            self.emit(ClusterEvent::QuorumDecision {
                rank: r,
                healthy,
                members,
                decision: QuorumVerdict::NoQuorum,
            });
            return self.refuse(now, r, job.attempt, LockRefusal::NoQuorum);
        }
        let mut order: Vec<u32> = txns::slot_order(r, self.cfg.params.k).collect();
        order.reverse();
        let Some(slot) = order.pop() else {
            return self.refuse(now, r, job.attempt, LockRefusal::AtCapacity);
        };
        self.fences.insert(
            r,
            Fence {
                attempt: job.attempt,
                stage: FenceStage::Locking,
            },
        );
        self.send_lock(r, job.attempt, slot, order, epoch_mod);
    }

    /// `(healthy, members)` in the local view (see [`txns::quorum_count`]).
    fn view_quorum(&self) -> (u32, u32) {
        let (mp, ep) = (self.keys.members(), self.keys.epochs());
        txns::quorum_count(
            &self.keys,
            self.cfg.params.n,
            self.view.prefixed(&mp),
            self.view.prefixed(&ep),
        )
    }

    /// Emits the quorum decision read at a revision where this process held `r`'s lock
    /// (`members`, `epochs`: that read's responses); whether quorum held.
    fn judge_quorum(&mut self, r: u32, members: &[KeyValue], epochs: &[KeyValue]) -> bool {
        let (healthy, total) = txns::quorum_count(&self.keys, self.cfg.params.n, members, epochs);
        let ok = healthy * 2 > total;
        self.emit(ClusterEvent::QuorumDecision {
            rank: r,
            healthy,
            members: total,
            decision: if ok {
                QuorumVerdict::Recover
            } else {
                QuorumVerdict::NoQuorum
            },
        });
        ok
    }

    /// A lock of ours whose read showed no quorum: given up at once (fenced on its token,
    /// or as soon as writes are allowed again), refused `NoQuorum`; nothing ran under it.
    fn no_quorum_give_up(&mut self, now: Instant, r: u32, attempt: u32, token: Rev, slot: u32) {
        self.send_give_up(now, r, token, slot);
        let _ = self.coord.fence_refused(now, r, attempt, Refusal::NoQuorum);
        self.emit(ClusterEvent::LockRefused {
            rank: r,
            refusal: LockRefusal::NoQuorum,
        });
    }

    /// Tells the coordinator no, drops the entry, emits `LockRefused`.
    fn refuse(&mut self, now: Instant, r: u32, attempt: u32, why: LockRefusal) {
        self.fences.remove(&r);
        self.emit(ClusterEvent::LockRefused {
            rank: r,
            refusal: why,
        });
        let _ = self.coord.fence_refused(now, r, attempt, to_refusal(why));
        if why == LockRefusal::Recovered {
            self.join_coord(now, r);
        }
    }

    fn attempt_of(&self, r: u32) -> Option<u32> {
        self.fences.get(&r).map(|f| f.attempt)
    }

    pub(crate) fn on_fence_result(
        &mut self,
        now: Instant,
        p: Pending,
        res: Result<OpResult, OpError>,
    ) {
        match p {
            Pending::Lock {
                rank,
                slot,
                left,
                epoch_mod,
                ..
            } => self.on_lock(now, rank, slot, left, epoch_mod, res),
            Pending::LockReadBack { rank, .. } => self.on_lock_readback(now, rank, res),
            Pending::Complete { rank, token, slot } => {
                self.on_complete(now, rank, token, slot, false, res)
            }
            Pending::CompleteReadBack { rank, token, slot } => {
                self.on_complete(now, rank, token, slot, true, res)
            }
            Pending::GiveUp { rank, token, slot } => {
                self.on_give_up(now, rank, token, slot, false, res)
            }
            Pending::GiveUpReadBack { rank, token, slot } => {
                self.on_give_up(now, rank, token, slot, true, res)
            }
            _ => {}
        }
    }

    fn send_lock(&mut self, r: u32, attempt: u32, slot: u32, left: Vec<u32>, epoch_mod: Rev) {
        if let Some(f) = self.fences.get_mut(&r) {
            f.stage = FenceStage::Locking;
        }
        let t = txns::lock(
            &self.keys,
            r,
            slot,
            epoch_mod,
            &self.cfg.proc_id,
            attempt,
            self.lease.id,
        );
        self.send(
            Pending::Lock {
                rank: r,
                slot,
                left,
                epoch_mod,
            },
            Request::Txn(t),
        );
    }

    fn on_lock(
        &mut self,
        now: Instant,
        r: u32,
        slot: u32,
        mut left: Vec<u32>,
        epoch_mod: Rev,
        res: Result<OpResult, OpError>,
    ) {
        let Some(attempt) = self.attempt_of(r) else {
            // Nobody waits any more; an ambiguous or granted lock must still be released.
            return self.release_orphan(now, r, res);
        };
        match res {
            Ok(OpResult::Txn {
                succeeded: true,
                revision,
                responses,
            }) => {
                // The success branch read members and epochs before its puts: the quorum
                // at the token's own revision.
                let (members, epochs) = (txn_kvs(&responses, 0), txn_kvs(&responses, 1));
                if self.judge_quorum(r, members, epochs) {
                    self.locked(now, r, revision, slot)
                } else {
                    self.no_quorum_give_up(now, r, attempt, revision, slot)
                }
            }
            Ok(OpResult::Txn { responses, .. }) => {
                let why = if !txn_kvs(&responses, 0).is_empty() {
                    LockRefusal::Recovered
                } else if !txn_kvs(&responses, 1).is_empty() {
                    LockRefusal::Held
                } else if txn_kvs(&responses, 3)
                    .first()
                    .is_none_or(|kv| kv.mod_revision != epoch_mod)
                {
                    // epoch/r changed since the view showed the failure: someone else
                    // moved first (locked, or completed and the new incarnation failed).
                    LockRefusal::Held
                } else if let Some(next) = left.pop() {
                    if !self.lease.may_write(now) {
                        return self.refuse(now, r, attempt, LockRefusal::Unavailable);
                    }
                    return self.send_lock(r, attempt, next, left, epoch_mod);
                } else {
                    LockRefusal::AtCapacity
                };
                self.refuse(now, r, attempt, why)
            }
            _ => {
                let t = txns::lock_readback(&self.keys, r);
                self.send(Pending::LockReadBack { rank: r }, Request::Txn(t));
            }
        }
    }

    /// The read-back of an ambiguous lock (`[lock/r, members/r, members/, epochs/]`): a lock
    /// of ours is judged by the quorum read with it (its own Txn's read was lost), and
    /// given up when there is none; no lock → refused (a late commit is a stray).
    fn on_lock_readback(&mut self, now: Instant, r: u32, res: Result<OpResult, OpError>) {
        let Ok(OpResult::Txn { responses, .. }) = res else {
            let t = txns::lock_readback(&self.keys, r);
            return self.retry_later(now, Pending::LockReadBack { rank: r }, Request::Txn(t));
        };
        let ours = txn_kvs(&responses, 0).first().and_then(|kv| {
            let (p, _, slot) = txns::parse_lock_value(&kv.value)?;
            (p == self.cfg.proc_id && kv.lease == self.lease.id)
                .then_some((kv.create_revision, slot))
        });
        match (ours, self.attempt_of(r)) {
            (Some((token, slot)), Some(attempt)) => {
                let (members, epochs) = (txn_kvs(&responses, 2), txn_kvs(&responses, 3));
                if self.judge_quorum(r, members, epochs) {
                    self.locked(now, r, token, slot)
                } else {
                    self.no_quorum_give_up(now, r, attempt, token, slot)
                }
            }
            (Some((token, slot)), None) => self.send_give_up(now, r, token, slot),
            (None, Some(attempt)) => self.refuse(now, r, attempt, LockRefusal::Unavailable),
            (None, None) => {}
        }
    }

    /// A lock Txn answered after its fence entry vanished; released defensively (a late
    /// commit after a read-back is caught by [`Self::release_strays`]).
    fn release_orphan(&mut self, now: Instant, r: u32, res: Result<OpResult, OpError>) {
        if let Ok(OpResult::Txn {
            succeeded: true,
            revision,
            ..
        }) = res
        {
            let slot = self
                .view
                .get(&self.keys.lock(r))
                .and_then(|kv| txns::parse_lock_value(&kv.value))
                .map_or(0, |(_, _, s)| s);
            self.send_give_up(now, r, revision, slot);
        }
    }

    /// Gives up every lock the view shows on this process's live lease, naming this
    /// process, for a rank with no fence entry here: a lock Txn that committed after its
    /// read-back had found nothing (the entry was dropped), or a lock left by an entry that
    /// is gone. The give-up compares `create_revision == token`, so it never deletes a later
    /// lock; while it is in flight the rank has a `Releasing` entry (no second give-up).
    pub(crate) fn release_strays(&mut self, now: Instant) {
        if self.lease.lost || self.lease.id == 0 {
            return;
        }
        let strays: Vec<(u32, Rev, u32)> = (0..self.cfg.params.n)
            .filter(|r| !self.fences.contains_key(r))
            .filter_map(|r| {
                let kv = self.view.get(&self.keys.lock(r))?;
                let (p, _, slot) = txns::parse_lock_value(&kv.value)?;
                (p == self.cfg.proc_id && kv.lease == self.lease.id).then_some((
                    r,
                    kv.create_revision,
                    slot,
                ))
            })
            .collect();
        for (r, token, slot) in strays {
            self.emit(ClusterEvent::StrayLockReleased { rank: r, token });
            self.send_give_up(now, r, token, slot);
        }
    }

    fn locked(&mut self, now: Instant, r: u32, token: Rev, slot: u32) {
        self.stats.locks_granted += 1;
        self.emit(ClusterEvent::LockGranted {
            rank: r,
            token,
            slot,
        });
        if let Some(f) = self.fences.get_mut(&r) {
            f.stage = FenceStage::Pausing {
                token,
                slot,
                since: now,
            };
        }
        self.check_all_acked(now);
    }

    /// Grants every `Pausing` fence whose pause every live process acknowledged.
    pub(crate) fn check_all_acked(&mut self, now: Instant) {
        let pausing: Vec<(u32, Rev)> = self
            .fences
            .iter()
            .filter_map(|(r, f)| match f.stage {
                FenceStage::Pausing { token, .. } => Some((*r, token)),
                _ => None,
            })
            .collect();
        for (r, token) in pausing {
            // The view must have caught up with the lock's revision: every process
            // registered before it is then in `live`, and every later one listed the pause
            // key at its start and so starts paused.
            if self.view.rev() < token {
                continue;
            }
            let live = self.view.procs(&self.keys);
            let acked = self.view.acked(&self.keys, r, token);
            if live.iter().all(|p| acked.contains(p)) && !live.is_empty() {
                self.emit(ClusterEvent::AllAcked {
                    rank: r,
                    token,
                    procs: live,
                });
                self.grant(now, r);
            }
        }
    }

    fn grant(&mut self, now: Instant, r: u32) {
        let Some(f) = self.fences.get(&r).cloned() else {
            return;
        };
        let FenceStage::Pausing { token, slot, .. } = f.stage else {
            return;
        };
        if let Some(e) = self.fences.get_mut(&r) {
            e.stage = FenceStage::Granted {
                token,
                slot,
                lost: false,
            };
        }
        match self.coord.fence_granted(now, r, f.attempt, token) {
            Ok(()) => {}
            Err(e) if !e.must_release(token) => {
                if let Some(e) = self.fences.get_mut(&r) {
                    e.stage = FenceStage::Pausing {
                        token,
                        slot,
                        since: now,
                    };
                }
            }
            Err(_) => self.send_give_up(now, r, token, slot),
        }
    }

    /// Pause timeouts of `Pausing` fences; stray locks.
    pub(crate) fn fence_tick(&mut self, now: Instant) {
        self.release_strays(now);
        let due: Vec<(u32, Rev, u32)> = self
            .fences
            .iter()
            .filter_map(|(r, f)| match f.stage {
                FenceStage::Pausing { token, slot, since }
                    if now.saturating_duration_since(since) >= self.cfg.pause_timeout =>
                {
                    Some((*r, token, slot))
                }
                _ => None,
            })
            .collect();
        for (r, token, slot) in due {
            let live = self.view.procs(&self.keys);
            let acked = self.view.acked(&self.keys, r, token);
            let missing: Vec<String> = live.into_iter().filter(|p| !acked.contains(p)).collect();
            let proceed = self.cfg.pause_policy == PausePolicy::Proceed;
            self.emit(ClusterEvent::PauseTimedOut {
                rank: r,
                token,
                missing,
                proceeded: proceed,
            });
            if proceed {
                self.grant(now, r);
            } else {
                let attempt = self.attempt_of(r).unwrap_or(0);
                self.send_give_up(now, r, token, slot);
                let _ = self
                    .coord
                    .fence_refused(now, r, attempt, Refusal::Unavailable);
                self.emit(ClusterEvent::LockRefused {
                    rank: r,
                    refusal: LockRefusal::Unavailable,
                });
            }
        }
    }

    /// The lock key of `r` was deleted (`token`: its create revision, None after a re-list).
    pub(crate) fn lock_vanished(&mut self, now: Instant, r: u32, token: Option<Rev>) {
        let Some(f) = self.fences.get(&r).cloned() else {
            return;
        };
        let ours = |t: Rev| token.is_none_or(|x| x == t);
        match f.stage {
            FenceStage::Pausing { token: t, .. } if ours(t) => {
                // Our lease expired with the lock: nothing to release.
                self.refuse(now, r, f.attempt, LockRefusal::Held);
            }
            FenceStage::GiveUpPending { token: t, .. } if ours(t) => {
                // Gone with the lease (or given up): nothing left to release.
                self.fences.remove(&r);
                self.emit(ClusterEvent::RecoveryAbandoned { rank: r, token: t });
            }
            FenceStage::Granted { token: t, slot, .. } if ours(t) => {
                if let Some(e) = self.fences.get_mut(&r) {
                    e.stage = FenceStage::Granted {
                        token: t,
                        slot,
                        lost: true,
                    };
                }
            }
            _ => {}
        }
    }
}
