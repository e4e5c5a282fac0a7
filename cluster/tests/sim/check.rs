//! The simulation's invariants, checked after every step (and, for liveness, once after
//! the quiet period): at most K locks; every store write carries a fence compare; exactly one
//! completion per (rank, failed incarnation); a running process whose lease etcd expired
//! cannot write; at most one process holds a rank's current lock; no phase while a live
//! process is not paused or has an operation in flight, nor under a lock that never had
//! partition quorum while held; afterwards every rank is a member
//! again (when partition quorum allows), no pause key is left and every view caught up.

use std::collections::BTreeMap;

use ftforest_cluster::proto::keys::KeyKind;
use ftforest_cluster::proto::ops::{Check, Rev, TxnOp};
use ftforest_cluster::proto::{FenceStage, Status};
use ftforest_core::coord::PhaseJob;

use super::harness::{instant, Sim};

impl Sim {
    /// "No phase while any live process has not acknowledged the pause."
    pub(super) fn check_phase_start(
        &self,
        i: usize,
        job: &PhaseJob,
        token: Rev,
    ) -> Result<(), String> {
        let me = &self.procs[i];
        // Only a recoverer whose lease is still alive counts (a zombie's writes are refused).
        if !self.etcd.kvs.contains_key(&self.keys.proc(&me.name)) {
            return Ok(());
        }
        if self
            .etcd
            .kvs
            .get(&self.keys.lock(job.rank))
            .map(|kv| kv.create_revision)
            != Some(token)
        {
            return Ok(());
        }
        // The lock was judged with partition quorum at a revision where it was held (its
        // own Txn's read, or the read-back of an ambiguous one): it has been held since
        // `token`, so quorum held at some revision in [token, now].
        if !self.etcd.quorum_since(token) {
            return Err(format!(
                "{} runs {:?} of rank {} under token {token}, but partition quorum held at no \
                 revision since the lock was taken",
                me.name, job.phase, job.rank
            ));
        }
        for p in &self.procs {
            // A process still starting does no forest work yet (its `Member` does not
            // exist); it lists the keyspace after registering `procs/<proc>`, so it starts
            // paused or is waited for.
            let live = p
                .adapter
                .as_ref()
                .is_some_and(|a| *a.status() != Status::Starting)
                && self.etcd.kvs.contains_key(&self.keys.proc(&p.name));
            if !live {
                continue;
            }
            if p.gate.in_flight() != 0 || !p.gate.is_paused() {
                return Err(format!(
                    "{} runs {:?} of rank {} (token {token}) while live {} is not paused \
                     (in flight {}, paused {})",
                    me.name,
                    job.phase,
                    job.rank,
                    p.name,
                    p.gate.in_flight(),
                    p.gate.is_paused()
                ));
            }
        }
        Ok(())
    }

    pub(super) fn check(&mut self) -> Result<(), String> {
        // At most K locks, slots consistent.
        let locks = self
            .etcd
            .kvs
            .keys()
            .filter(|k| matches!(self.keys.parse(k), Some(KeyKind::Lock(_))))
            .count() as u32;
        if locks > self.k {
            return Err(format!("{locks} locks held, K = {}", self.k));
        }
        // Every writing Txn since the last check.
        let applied = self.etcd.applied[self.checked_applied..].to_vec();
        self.checked_applied = self.etcd.applied.len();
        for ap in applied {
            let ops = &ap.txn.success;
            let puts_store = ops.iter().any(|o| matches!(o, TxnOp::Put { key, .. } if matches!(self.keys.parse(key), Some(KeyKind::Store(_)))));
            if puts_store {
                let fenced = ap.txn.compares.iter().any(|c| {
                    matches!(c.check, Check::CreateRevision(t) if t != 0)
                        && matches!(
                            self.keys.parse(&c.key),
                            Some(KeyKind::Lock(_) | KeyKind::Member(_))
                        )
                });
                if !fenced {
                    return Err(format!("unfenced store write at {}: {:?}", ap.rev, ap.txn));
                }
            }
            // A completion: puts members/r and deletes lock/r in one Txn.
            for o in ops {
                if let TxnOp::Put { key, .. } = o {
                    if let Some(KeyKind::Member(r)) = self.keys.parse(key) {
                        let completes = ops.iter().any(
                            |d| matches!(d, TxnOp::Delete { key, .. } if *key == self.keys.lock(r)),
                        );
                        if completes {
                            let failed = self.etcd.last_deleted_create(&self.keys.member(r));
                            if !self.completions.insert((r, failed)) {
                                return Err(format!(
                                    "second completion of rank {r} for failed incarnation {failed} at {}",
                                    ap.rev
                                ));
                            }
                        }
                    }
                }
            }
        }
        // Self-fencing: a running process whose lease etcd expired may not write.
        let now = instant(self.now_ms);
        for p in &self.procs {
            let Some(a) = p.adapter.as_ref() else {
                continue;
            };
            if p.frozen_until > self.now_ms || a.lease_id() == 0 {
                continue;
            }
            if !self.etcd.leases.contains_key(&a.lease_id()) && a.may_write(now) {
                return Err(format!(
                    "{}: lease {} expired in etcd but the process may still write (deadline {:?})",
                    p.name,
                    a.lease_id(),
                    a.deadline()
                ));
            }
        }
        // Per rank: at most one process believes it is granted with the current token.
        let mut granted: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
        for p in &self.procs {
            let Some(a) = p.adapter.as_ref() else {
                continue;
            };
            for r in 0..self.n {
                if let Some(FenceStage::Granted { token, .. }) = a.fence_stage(r) {
                    if self
                        .etcd
                        .kvs
                        .get(&self.keys.lock(r))
                        .map(|kv| kv.create_revision)
                        == Some(token)
                    {
                        granted.entry(r).or_default().push(&p.name);
                    }
                }
            }
        }
        if let Some((r, who)) = granted.iter().find(|(_, v)| v.len() > 1) {
            return Err(format!("rank {r} held by {who:?} at once"));
        }
        Ok(())
    }

    /// Liveness after the faults stop: with partition quorum, every rank is a member again.
    pub fn check_converged(&self) -> Result<(), String> {
        let members = (0..self.n)
            .filter(|r| self.etcd.kvs.contains_key(&self.keys.member(*r)))
            .count() as u32;
        let epochs = (0..self.n)
            .filter(|r| {
                self.etcd
                    .kvs
                    .get(&self.keys.epoch(*r))
                    .is_some_and(|kv| kv.value != b"left")
            })
            .count() as u32;
        let live_procs = self
            .procs
            .iter()
            .filter(|p| {
                p.adapter
                    .as_ref()
                    .is_some_and(|a| *a.status() == Status::Running)
            })
            .count();
        if members * 2 > epochs && members < epochs && live_procs > 0 {
            return Err(format!(
                "not converged: {members} of {epochs} ranks are members after the quiet period"
            ));
        }
        for p in &self.procs {
            let Some(a) = p.adapter.as_ref() else {
                continue;
            };
            if *a.status() == Status::Running && a.may_write(instant(self.now_ms)) {
                // Everyone's view caught up (a silently dead watch was resumed).
                if self.etcd.rev > a.view().rev() + 50 {
                    return Err(format!(
                        "{}: view at {} but etcd at {} after the quiet period",
                        p.name,
                        a.view().rev(),
                        self.etcd.rev
                    ));
                }
            }
        }
        if self
            .etcd
            .kvs
            .keys()
            .any(|k| matches!(self.keys.parse(k), Some(KeyKind::Pause(_))))
            && members == epochs
        {
            return Err("a pause key outlived every recovery".into());
        }
        Ok(())
    }
}
