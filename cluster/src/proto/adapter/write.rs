//! Fenced writes of `store/<rank>` built for the driver: owner writes (fenced on the
//! incarnation) and recovery-phase writes (fenced on the lock token), and their outcomes.
//!
//! Invariants: nothing is built past the self-fence deadline (`WriteRefused` and
//! `WriteError::SelfFenced` instead); every outcome is reported exactly once, as
//! `WriteAccepted` (applied at that revision), `WriteRefused` (the compare failed, or the
//! request was refused before it was applied) or `WriteUnknown` (no answer: it may be in
//! etcd); sequence numbers are unique per process.

use ftforest_core::coord::OpGate;
use ftforest_core::Instant;

use super::Adapter;
use crate::error::WriteError;
use crate::proto::event::ClusterEvent;
use crate::proto::ops::{OpError, Rev, Txn};

impl<G: OpGate + Clone> Adapter<G> {
    /// Owner write of `store/<rank>` (fenced on the incarnation): the Txn to send and its
    /// sequence number, or why not (self-fenced, not hosted).
    pub fn owner_write(
        &mut self,
        now: Instant,
        rank: u32,
        value: Vec<u8>,
    ) -> Result<(Txn, Rev, u64), WriteError> {
        let now = self.advance(now);
        let seq = self.take_seq();
        let inc = match (self.hosted.contains(&rank), self.incarnation(rank)) {
            (true, Some(i)) => i,
            _ => return Err(WriteError::NotHosted { rank }),
        };
        if !self.lease.may_write(now) {
            self.write_refused(rank, inc, seq);
            return Err(WriteError::SelfFenced);
        }
        Ok((
            crate::proto::txns::owner_put(&self.keys, rank, inc, value),
            inc,
            seq,
        ))
    }

    /// Recovery write of `store/<rank>` fenced on `fenced_rank`'s lock `token`.
    pub fn phase_write(
        &mut self,
        now: Instant,
        fenced_rank: u32,
        token: Rev,
        rank: u32,
        value: Vec<u8>,
    ) -> Result<(Txn, u64), WriteError> {
        let now = self.advance(now);
        let seq = self.take_seq();
        if !self.lease.may_write(now) {
            self.write_refused(rank, token, seq);
            return Err(WriteError::SelfFenced);
        }
        Ok((
            crate::proto::txns::phase_put(&self.keys, fenced_rank, token, rank, value),
            seq,
        ))
    }

    /// The outcome of a write built by [`owner_write`](Self::owner_write) or
    /// [`phase_write`](Self::phase_write): `Ok((succeeded, revision))`.
    pub fn write_done(
        &mut self,
        now: Instant,
        rank: u32,
        token: Rev,
        seq: u64,
        res: Result<(bool, Rev), OpError>,
    ) -> Result<Rev, WriteError> {
        let now = self.advance(now);
        let out = match res {
            Ok((true, rev)) => {
                self.on_success(now);
                self.saw_revision(now, rev);
                self.stats.writes_accepted += 1;
                self.emit(ClusterEvent::WriteAccepted {
                    rank,
                    token,
                    seq,
                    revision: rev,
                });
                Ok(rev)
            }
            Ok((false, _)) => {
                self.on_success(now);
                self.write_refused(rank, token, seq);
                Err(WriteError::StaleFence)
            }
            Err(e) => {
                self.on_failure(now, e);
                if e == OpError::Ambiguous {
                    self.emit(ClusterEvent::WriteUnknown { rank, token, seq });
                } else {
                    self.write_refused(rank, token, seq);
                }
                Err(WriteError::Unavailable {
                    ambiguous: e == OpError::Ambiguous,
                })
            }
        };
        self.drive(now);
        out
    }

    pub(crate) fn take_seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    pub(crate) fn write_refused(&mut self, rank: u32, token: Rev, seq: u64) {
        self.stats.writes_refused += 1;
        self.emit(ClusterEvent::WriteRefused { rank, token, seq });
    }
}
