//! The recoverer side: `Action::AcquireFence` → linearizable quorum read → lock Txn (lock,
//! slot, pause and `epoch = recovering` in one revision: the token) → wait for every live
//! process's pause ack → `fence_granted(token)`. The release (completion or give-up) is in
//! `release.rs`.
//!
//! Invariants: at most one fence entry per rank; a fence is granted to the coordinator only
//! from `Pausing` with every live process acked (or the `Proceed` policy at the timeout);
//! every lock this process acquired and the coordinator did not take (a refused grant:
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
use crate::proto::keys::{KeyKind, EPOCH_LEFT};
use crate::proto::ops::{txn_kvs, OpError, OpResult, Request, Rev};
use crate::proto::txns;

/// Where this process is with a rank's fence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FenceStage {
    /// Quorum read in flight.
    Quorum,
    /// Lock Txn (or its read-back) in flight.
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
            // taken): no read needed to know the answer.
            return self.refuse(now, r, job.attempt, LockRefusal::Held);
        }
        self.fences.insert(
            r,
            Fence {
                attempt: job.attempt,
                stage: FenceStage::Quorum,
            },
        );
        let t = txns::quorum_read(&self.keys, r);
        self.send(Pending::Quorum { rank: r }, Request::Txn(t));
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
            Pending::Quorum { rank, .. } => self.on_quorum(now, rank, res),
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

    fn on_quorum(&mut self, now: Instant, r: u32, res: Result<OpResult, OpError>) {
        let Some(attempt) = self.attempt_of(r) else {
            return;
        };
        let Ok(OpResult::Txn { responses, .. }) = res else {
            return self.refuse(now, r, attempt, LockRefusal::Unavailable);
        };
        let n = self.cfg.params.n;
        let rank_of = |key: &str, keys: &crate::proto::keys::Keys| match keys.parse(key) {
            Some(KeyKind::Member(x) | KeyKind::Epoch(x)) if x < n => Some(x),
            _ => None,
        };
        let healthy = txn_kvs(&responses, 0)
            .iter()
            .filter(|kv| rank_of(&kv.key, &self.keys).is_some())
            .count() as u32;
        let epochs = txn_kvs(&responses, 1);
        let members = epochs
            .iter()
            .filter(|kv| rank_of(&kv.key, &self.keys).is_some() && kv.value != EPOCH_LEFT)
            .count() as u32;
        let mine = txn_kvs(&responses, 0)
            .iter()
            .any(|kv| rank_of(&kv.key, &self.keys) == Some(r));
        let epoch = epochs
            .iter()
            .find(|kv| rank_of(&kv.key, &self.keys) == Some(r))
            .cloned();
        let held = !txn_kvs(&responses, 2).is_empty();
        let ok = healthy * 2 > members;
        self.emit(ClusterEvent::QuorumDecision {
            rank: r,
            healthy,
            members,
            decision: if ok {
                QuorumVerdict::Recover
            } else {
                QuorumVerdict::NoQuorum
            },
        });
        let epoch_mod = match epoch {
            Some(kv) if kv.value != EPOCH_LEFT => kv.mod_revision,
            _ => return self.refuse(now, r, attempt, LockRefusal::Recovered),
        };
        if mine {
            return self.refuse(now, r, attempt, LockRefusal::Recovered);
        }
        if !ok {
            return self.refuse(now, r, attempt, LockRefusal::NoQuorum);
        }
        if held {
            return self.refuse(now, r, attempt, LockRefusal::Held);
        }
        if !self.lease.may_write(now) {
            return self.refuse(now, r, attempt, LockRefusal::Unavailable);
        }
        let mut order: Vec<u32> = txns::slot_order(r, self.cfg.params.k).collect();
        order.reverse();
        let Some(slot) = order.pop() else {
            return self.refuse(now, r, attempt, LockRefusal::AtCapacity);
        };
        self.send_lock(r, attempt, slot, order, epoch_mod);
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
                ..
            }) => self.locked(now, r, revision, slot),
            Ok(OpResult::Txn { responses, .. }) => {
                let why = if !txn_kvs(&responses, 0).is_empty() {
                    LockRefusal::Recovered
                } else if !txn_kvs(&responses, 1).is_empty() {
                    LockRefusal::Held
                } else if txn_kvs(&responses, 3)
                    .first()
                    .is_none_or(|kv| kv.mod_revision != epoch_mod)
                {
                    // epoch/r changed since the quorum read: someone else moved first.
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
                let t = txns::readback(&self.keys, r);
                self.send(Pending::LockReadBack { rank: r }, Request::Txn(t));
            }
        }
    }

    fn on_lock_readback(&mut self, now: Instant, r: u32, res: Result<OpResult, OpError>) {
        let Ok(OpResult::Txn { responses, .. }) = res else {
            let t = txns::readback(&self.keys, r);
            return self.retry_later(now, Pending::LockReadBack { rank: r }, Request::Txn(t));
        };
        let ours = txn_kvs(&responses, 0).first().and_then(|kv| {
            let (p, _, slot) = txns::parse_lock_value(&kv.value)?;
            (p == self.cfg.proc_id && kv.lease == self.lease.id)
                .then_some((kv.create_revision, slot))
        });
        match (ours, self.attempt_of(r)) {
            (Some((token, slot)), Some(_)) => self.locked(now, r, token, slot),
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
