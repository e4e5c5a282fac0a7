//! Start (lease → config check → `procs/<proc>` → initial listing → rank registration →
//! watch) and graceful leave (per rank `left` Txn → lease revoke).
//!
//! Invariants: a rank is registered only by the registration Txn, whose compares require
//! `members/r` absent and `epoch/r` absent or unchanged since it was read as `left`; so a
//! process whose rank was declared FAILED (epoch `healthy`/`recovering`, member key gone) can
//! never re-register it (zombie rejoin refused, typed error), and an ambiguous registration is
//! resolved by reading `members/r` back (ours iff it is on our lease). Every hosted rank is
//! checked against the initial listing before the first registration is sent, so a start
//! refused for a rank seen hosted or failed there registers nothing. Any start failure stops
//! the adapter with its error; the driver revokes the lease. An ambiguous or failed leave
//! Txn is re-sent (same incarnation compare) while writes are allowed, and the lease is
//! revoked only once no leave is pending or delayed; a re-sent leave refused because the
//! incarnation is gone means the first one committed (`MemberLeft`).

use ftforest_core::coord::{OpGate, Report};
use ftforest_core::Instant;

use super::{Adapter, Pending, Status};
use crate::error::ClusterError;
use crate::proto::event::ClusterEvent;
use crate::proto::keys::{KeyKind, EPOCH_LEFT};
use crate::proto::ops::{txn_kvs, OpError, OpResult, Request, Rev};
use crate::proto::txns;

impl<G: OpGate + Clone> Adapter<G> {
    pub(crate) fn fail_start(&mut self, now: Instant, e: ClusterError) {
        if let ClusterError::ZombieRejoinRefused { rank } = e {
            self.emit(ClusterEvent::ZombieRejoinRefused { rank });
        }
        self.status = Status::Stopped(Some(e));
        self.sync_coord_available(now);
        if self.lease.id != 0 {
            let lease = self.lease.id;
            self.send(Pending::Revoke, Request::LeaseRevoke { lease });
        }
        // Nothing is written on this lease any more (it is being revoked).
        self.lease.lost = true;
    }

    pub(crate) fn on_start_result(
        &mut self,
        now: Instant,
        p: Pending,
        res: Result<OpResult, OpError>,
    ) {
        if self.status != Status::Starting {
            return;
        }
        let res = match res {
            Ok(r) => r,
            Err(_) => {
                // Start has no read-back for the lease grant (an orphan lease just expires);
                // the registration is read back below.
                match p {
                    Pending::Register { rank, epoch_mod }
                    | Pending::RegisterReadBack { rank, epoch_mod } => {
                        let t = crate::proto::ops::Txn::read(vec![crate::proto::ops::TxnOp::Get {
                            key: self.keys.member(rank),
                            prefix: false,
                        }]);
                        self.retry_later(
                            now,
                            Pending::RegisterReadBack { rank, epoch_mod },
                            Request::Txn(t),
                        );
                    }
                    _ => {
                        self.fail_start(now, ClusterError::Etcd(format!("start step {p:?} failed")))
                    }
                }
                return;
            }
        };
        match (p, res) {
            (Pending::Grant, OpResult::LeaseGranted { lease, ttl_ms }) => {
                self.on_granted(now, lease, ttl_ms);
                let t = txns::config_check(&self.keys, &self.cfg.params);
                self.send(Pending::Config, Request::Txn(t));
            }
            (
                Pending::Config,
                OpResult::Txn {
                    succeeded,
                    responses,
                    ..
                },
            ) => {
                let ours = self.cfg.params.encode();
                if !succeeded {
                    let stored = txn_kvs(&responses, 0)
                        .first()
                        .map(|kv| String::from_utf8_lossy(&kv.value).into_owned())
                        .unwrap_or_default();
                    if stored != ours {
                        return self.fail_start(now, ClusterError::ConfigMismatch { stored, ours });
                    }
                }
                let p = self.cfg.params;
                self.emit(ClusterEvent::ConfigChecked {
                    n: p.n,
                    k: p.k,
                    ttl_ms: p.ttl_ms,
                });
                let t =
                    txns::proc_put(&self.keys, &self.cfg.proc_id, &self.cfg.info, self.lease.id);
                self.send(Pending::ProcPut, Request::Txn(t));
            }
            (Pending::ProcPut, OpResult::Txn { .. }) => {
                let prefix = self.keys.prefix().to_owned();
                self.send(Pending::InitialList, Request::Range { prefix });
            }
            (Pending::InitialList, OpResult::Range { revision, kvs }) => {
                self.initial_state(now, revision, kvs);
            }
            (
                Pending::Register { rank, .. },
                OpResult::Txn {
                    succeeded: true,
                    revision,
                    ..
                },
            ) => self.registered(now, rank, revision),
            (Pending::Register { rank, .. }, OpResult::Txn { responses, .. }) => {
                let hosted_elsewhere = !txn_kvs(&responses, 0).is_empty();
                let e = if hosted_elsewhere {
                    ClusterError::RankHosted { rank }
                } else {
                    ClusterError::ZombieRejoinRefused { rank }
                };
                self.fail_start(now, e);
            }
            (Pending::RegisterReadBack { rank, epoch_mod }, OpResult::Txn { responses, .. }) => {
                match txn_kvs(&responses, 0).first() {
                    Some(kv) if kv.lease == self.lease.id => {
                        let c = kv.create_revision;
                        self.registered(now, rank, c)
                    }
                    Some(_) => self.fail_start(now, ClusterError::RankHosted { rank }),
                    None => {
                        // Not applied: the compare-guarded registration may be sent again.
                        let t = txns::register(
                            &self.keys,
                            rank,
                            &self.cfg.proc_id,
                            self.lease.id,
                            epoch_mod,
                        );
                        self.send(Pending::Register { rank, epoch_mod }, Request::Txn(t));
                    }
                }
            }
            (p, r) => self.fail_start(
                now,
                ClusterError::Etcd(format!("unexpected answer {r:?} to {p:?}")),
            ),
        }
    }

    /// The coordinator's initial state from the listing, then the registrations.
    fn initial_state(
        &mut self,
        now: Instant,
        revision: Rev,
        kvs: Vec<crate::proto::ops::KeyValue>,
    ) {
        let _ = self.view.relist(revision, kvs);
        let n = self.cfg.params.n;
        for r in 0..n {
            let member = self.view.get(&self.keys.member(r)).cloned();
            let epoch = self
                .view
                .get(&self.keys.epoch(r))
                .map(|kv| kv.value.clone());
            match (member, epoch) {
                (Some(kv), _) => {
                    self.inc[r as usize] = Some(kv.create_revision);
                }
                (None, Some(e)) if e != EPOCH_LEFT => {
                    // FAILED (or FAILED again after a recoverer died): queue it here too.
                    let _ = self.coord.handle_report(now, Report::crashed(r));
                }
                _ => {
                    let _ = self.coord.leave(now, r);
                }
            }
        }
        // Pauses in force: a joining process starts paused.
        let pauses: Vec<(u32, Rev)> = self
            .view
            .prefixed(&format!("{}pause/", self.keys.prefix()))
            .filter_map(|kv| match self.keys.parse(&kv.key) {
                Some(KeyKind::Pause(r)) => Some((r, kv.create_revision)),
                _ => None,
            })
            .collect();
        for (r, t) in pauses {
            self.start_local_pause(now, r, t);
        }
        // Every rank is checked against the listing before any registration is sent: a
        // rank refused after another one's registration committed would leave that one
        // registered on a lease the refusal revokes, i.e. FAILED (and never re-registrable).
        let ranks = self.cfg.ranks.clone();
        let mut register = Vec::with_capacity(ranks.len());
        for rank in ranks {
            let member = self.view.get(&self.keys.member(rank));
            if member.is_some() {
                return self.fail_start(now, ClusterError::RankHosted { rank });
            }
            let epoch = self.view.get(&self.keys.epoch(rank));
            let epoch_mod = match epoch {
                None => 0,
                Some(kv) if kv.value == EPOCH_LEFT => kv.mod_revision,
                Some(_) => return self.fail_start(now, ClusterError::ZombieRejoinRefused { rank }),
            };
            register.push((rank, epoch_mod));
        }
        for (rank, epoch_mod) in register {
            self.registering.insert(rank);
            let t = txns::register(
                &self.keys,
                rank,
                &self.cfg.proc_id,
                self.lease.id,
                epoch_mod,
            );
            self.send(Pending::Register { rank, epoch_mod }, Request::Txn(t));
        }
        self.maybe_running(now);
    }

    fn registered(&mut self, now: Instant, rank: u32, incarnation: Rev) {
        self.registering.remove(&rank);
        self.hosted.insert(rank);
        self.inc[rank as usize] = Some(incarnation);
        let _ = self.coord.join(now, rank);
        self.emit(ClusterEvent::Registered { rank, incarnation });
        self.maybe_running(now);
    }

    fn maybe_running(&mut self, now: Instant) {
        if self.status == Status::Starting && self.registering.is_empty() {
            self.status = Status::Running;
            self.watch_from = Some(self.view.rev() + 1);
            self.sync_coord_available(now);
        }
    }

    pub(crate) fn begin_leave(&mut self, now: Instant) {
        if !matches!(self.status, Status::Running | Status::Starting) {
            return;
        }
        self.status = Status::Leaving;
        self.sync_coord_available(now);
        let ranks: Vec<u32> = self.hosted.iter().copied().collect();
        let mut sent = false;
        if self.lease.may_write(now) {
            for r in ranks {
                if let Some(inc) = self.incarnation(r) {
                    let t = txns::leave(&self.keys, r, inc);
                    let p = Pending::Leave {
                        rank: r,
                        resent: false,
                    };
                    self.send(p, Request::Txn(t));
                    sent = true;
                }
            }
        }
        if !sent {
            self.revoke();
        }
    }

    fn revoke(&mut self) {
        if self.lease.id != 0 && !self.lease.lost {
            let lease = self.lease.id;
            self.lease.lost = true;
            self.send(Pending::Revoke, Request::LeaseRevoke { lease });
        } else {
            self.status = Status::Stopped(None);
        }
    }

    pub(crate) fn on_leave_result(
        &mut self,
        now: Instant,
        p: Pending,
        res: Result<OpResult, OpError>,
    ) {
        match p {
            Pending::Leave { rank, resent } => {
                let inc = self.incarnation(rank);
                // Succeeded, or (a re-sent leave after an ambiguous answer) refused because
                // `members/r` of this incarnation is gone: the first one committed.
                let left = match &res {
                    Ok(OpResult::Txn {
                        succeeded: true, ..
                    }) => true,
                    // Only our lease-bound incarnation was compared and nobody else deletes it
                    // while we may write: gone means our first leave committed.
                    Ok(OpResult::Txn { responses, .. }) if resent => txn_kvs(responses, 0)
                        .first()
                        .is_none_or(|kv| Some(kv.create_revision) != inc),
                    _ => false,
                };
                if res.is_err() && self.lease.may_write(now) {
                    if let Some(inc) = inc {
                        // Ambiguous or failed: resolved by re-sending the same compare-guarded
                        // Txn (its Else branch reads `members/r` back).
                        let t = txns::leave(&self.keys, rank, inc);
                        let p = Pending::Leave { rank, resent: true };
                        return self.retry_later(now, p, Request::Txn(t));
                    }
                }
                if left {
                    self.hosted.remove(&rank);
                    self.inc[rank as usize] = None;
                    let _ = self.coord.leave(now, rank);
                    self.emit(ClusterEvent::MemberLeft { rank });
                }
                let is_leave = |p: &Pending| matches!(p, Pending::Leave { .. });
                let more = self.pending.values().any(is_leave)
                    || self.delayed.iter().any(|(_, p, _)| is_leave(p));
                if !more && self.status == Status::Leaving {
                    self.revoke();
                }
            }
            Pending::Revoke => {
                if self.status == Status::Leaving {
                    self.status = Status::Stopped(None);
                }
                self.lease.lost = true;
            }
            _ => {}
        }
    }
}
