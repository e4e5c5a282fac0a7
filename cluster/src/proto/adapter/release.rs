//! The end of a granted fence: `Action::ReleaseFence { completed: true }` → the completion
//! Txn (lock still `token` → `members/r` on this process's lease, whose revision is the new
//! incarnation; `epoch/r = healthy`; lock, slot, pause and acks deleted), `completed: false`
//! → the give-up Txn (lock, slot, pause and acks deleted; `epoch/r` stays `recovering`, the
//! rank is FAILED again).
//!
//! Invariants: both Txns compare `create_revision(recovery/lock/r) == token`, so at most one
//! completion per (rank, failed incarnation) and no release of someone else's lock; an
//! ambiguous answer is resolved by reading lock and member back (completed iff `members/r`
//! is on our lease with a create revision above the token), and only the same
//! compare-guarded Txn is ever re-sent; past the self-fence deadline nothing is sent (the
//! lease's expiry releases everything), and a completion that cannot happen reports the rank
//! crashed again to the coordinator.

use ftforest_core::coord::{FenceRelease, OpGate, Report};
use ftforest_core::Instant;

use super::fence::{Fence, FenceStage};
use super::{Adapter, Pending};
use crate::proto::event::ClusterEvent;
use crate::proto::ops::{txn_kvs, OpError, OpResult, Request, Rev};
use crate::proto::txns;

impl<G: OpGate + Clone> Adapter<G> {
    pub(crate) fn release(&mut self, now: Instant, rel: FenceRelease) {
        let r = rel.rank;
        let slot = match self.fences.get(&r).map(|f| &f.stage) {
            Some(FenceStage::Granted { token, slot, .. }) if *token == rel.token => *slot,
            _ => return,
        };
        if !self.lease.may_write(now) {
            // Self-fenced: nothing may be written. If the lease expires it takes lock, slot
            // and pause with it; if it survives (etcd had lost quorum) the lock is given up
            // once writes are allowed again (`GiveUpPending`), never left behind.
            if let Some(f) = self.fences.get_mut(&r) {
                f.stage = FenceStage::GiveUpPending {
                    token: rel.token,
                    slot,
                };
            }
            if rel.completed {
                let _ = self.coord.handle_report(now, Report::crashed(r));
            }
            return;
        }
        if let Some(f) = self.fences.get_mut(&r) {
            f.stage = FenceStage::Releasing {
                token: rel.token,
                slot,
            };
        }
        if rel.completed {
            let t = txns::complete(
                &self.keys,
                r,
                slot,
                rel.token,
                &self.cfg.proc_id,
                self.lease.id,
            );
            self.send(
                Pending::Complete {
                    rank: r,
                    token: rel.token,
                    slot,
                },
                Request::Txn(t),
            );
        } else {
            self.send_give_up(now, r, rel.token, slot);
        }
    }

    pub(crate) fn send_give_up(&mut self, now: Instant, r: u32, token: Rev, slot: u32) {
        let stage = if self.lease.may_write(now) {
            FenceStage::Releasing { token, slot }
        } else {
            FenceStage::GiveUpPending { token, slot }
        };
        let pending = matches!(stage, FenceStage::GiveUpPending { .. });
        match self.fences.get_mut(&r) {
            Some(f) => f.stage = stage,
            None => {
                self.fences.insert(r, Fence { attempt: 0, stage });
            }
        }
        if pending {
            return;
        }
        let t = txns::give_up(&self.keys, r, slot, token);
        self.send(
            Pending::GiveUp {
                rank: r,
                token,
                slot,
            },
            Request::Txn(t),
        );
    }

    /// Gives up the locks whose release had to wait for writes to be allowed again, or
    /// forgets them once the lease is gone (its expiry deleted them).
    pub(crate) fn release_tick(&mut self, now: Instant) {
        let pending: Vec<(u32, Rev, u32)> = self
            .fences
            .iter()
            .filter_map(|(r, f)| match f.stage {
                FenceStage::GiveUpPending { token, slot } => Some((*r, token, slot)),
                _ => None,
            })
            .collect();
        for (r, token, slot) in pending {
            if self.lease.lost {
                self.fences.remove(&r);
                self.emit(ClusterEvent::RecoveryAbandoned { rank: r, token });
            } else if self.lease.may_write(now) {
                self.send_give_up(now, r, token, slot);
            }
        }
    }

    pub(crate) fn on_complete(
        &mut self,
        now: Instant,
        r: u32,
        token: Rev,
        slot: u32,
        readback: bool,
        res: Result<OpResult, OpError>,
    ) {
        let responses = match res {
            Ok(OpResult::Txn {
                succeeded: true,
                revision,
                ..
            }) if !readback => return self.finished(now, r, token, revision),
            // Else branch, or the read-back: [lock/r, members/r].
            Ok(OpResult::Txn { responses, .. }) => responses,
            _ => {
                let t = txns::readback(&self.keys, r);
                return self.retry_later(
                    now,
                    Pending::CompleteReadBack {
                        rank: r,
                        token,
                        slot,
                    },
                    Request::Txn(t),
                );
            }
        };
        let lock = txn_kvs(&responses, 0).first().cloned();
        let member = txn_kvs(&responses, 1).first().cloned();
        if let Some(m) = member {
            if m.lease == self.lease.id && m.create_revision > token {
                return self.finished(now, r, token, m.create_revision);
            }
        }
        let ours = lock.is_some_and(|l| l.create_revision == token);
        if ours && !self.lease.may_write(now) && !self.lease.lost {
            // Still ours but no write may be sent (self-fenced while etcd was away): read
            // again until writes are allowed (complete then) or the lease is gone.
            let t = txns::readback(&self.keys, r);
            return self.retry_later(
                now,
                Pending::CompleteReadBack {
                    rank: r,
                    token,
                    slot,
                },
                Request::Txn(t),
            );
        }
        if ours && self.lease.may_write(now) {
            let t = txns::complete(&self.keys, r, slot, token, &self.cfg.proc_id, self.lease.id);
            self.send(
                Pending::Complete {
                    rank: r,
                    token,
                    slot,
                },
                Request::Txn(t),
            );
            return;
        }
        // Lost the lock before completing: the rank is FAILED again in etcd.
        self.fences.remove(&r);
        self.emit(ClusterEvent::RecoveryAbandoned { rank: r, token });
        let _ = self.coord.handle_report(now, Report::crashed(r));
    }

    fn finished(&mut self, now: Instant, r: u32, token: Rev, new_inc: Rev) {
        let _ = now;
        self.fences.remove(&r);
        let old = self.failed_inc[r as usize].unwrap_or(0);
        self.inc[r as usize] = Some(new_inc);
        self.hosted.insert(r);
        self.stats.recoveries_completed += 1;
        self.emit(ClusterEvent::RecoveryFinished {
            rank: r,
            old_incarnation: old,
            new_incarnation: new_inc,
            token,
        });
    }

    pub(crate) fn on_give_up(
        &mut self,
        now: Instant,
        r: u32,
        token: Rev,
        slot: u32,
        readback: bool,
        res: Result<OpResult, OpError>,
    ) {
        match res {
            Ok(OpResult::Txn { responses, .. }) => {
                // Only a read-back can find the lock still ours (a refused give-up compared it).
                let still = readback
                    && txn_kvs(&responses, 0)
                        .first()
                        .is_some_and(|l| l.create_revision == token);
                if still && !self.lease.lost {
                    // Given up now, or as soon as writes are allowed again.
                    return self.send_give_up(now, r, token, slot);
                }
                self.fences.remove(&r);
                self.emit(ClusterEvent::RecoveryAbandoned { rank: r, token });
            }
            _ => {
                let t = txns::readback(&self.keys, r);
                self.retry_later(
                    now,
                    Pending::GiveUpReadBack {
                        rank: r,
                        token,
                        slot,
                    },
                    Request::Txn(t),
                );
            }
        }
    }
}
