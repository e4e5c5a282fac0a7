//! The cluster-wide pause, as every process (the recoverer included) honours it: on seeing
//! `pause/<r>` (token = its create revision) close the local gate, pause balancer and ghost
//! sync, wait for local quiescence, then write `ack/<r>/<proc> = token` fenced on the pause
//! key still holding that token. Past the quiescence timeout with operations still in
//! flight the process does not ack: it emits `QuiescenceOverdue` once and keeps waiting; the
//! recoverer's pause-timeout policy decides (abort, or proceed without this ack). When the pause
//! key vanishes (completion, give-up, or the recoverer's lease expiry) reopen and resume.
//!
//! Invariants: one gate close per honoured pause, reopened exactly once when it ends; the
//! balancer/ghost hooks are the OR of "some cluster pause" and "the coordinator's recovery
//! mode", emitted only on edges (pause before any phase of the same poll sequence); no ack
//! is written past the self-fence deadline; an ack is written only after the gate was closed
//! and the process was quiescent (no operation in flight, and no balancer/ghost pause hook
//! still waiting in the hook queue: the driver's gate also counts the ones it took and that
//! did not return yet), never on a timeout.

use ftforest_core::coord::OpGate;
use ftforest_core::{Instant, PauseToken};

use super::{Adapter, Hook, Pending};
use crate::proto::event::ClusterEvent;
use crate::proto::ops::{OpError, OpResult, Request, Rev};
use crate::proto::txns;

/// One cluster-wide pause this process honours.
#[derive(Clone, Debug)]
pub(crate) struct LocalPause {
    pub(crate) token: Rev,
    pub(crate) gate: Option<PauseToken>,
    pub(crate) since: Instant,
    pub(crate) acked: bool,
    pub(crate) ack_op: Option<u64>,
    /// No ack is (re)sent before this (a failed ack backs off 100 ms).
    pub(crate) not_before: Instant,
    /// `QuiescenceOverdue` was emitted for this pause.
    pub(crate) overdue: bool,
}

impl<G: OpGate + Clone> Adapter<G> {
    pub(crate) fn start_local_pause(&mut self, now: Instant, r: u32, token: Rev) {
        let gate = self.gate.close().ok();
        self.pauses.insert(
            r,
            LocalPause {
                token,
                gate,
                since: now,
                acked: false,
                ack_op: None,
                not_before: now,
                overdue: false,
            },
        );
        self.emit(ClusterEvent::PauseRequested { rank: r, token });
        self.sync_hooks();
        self.pause_tick(now);
    }

    pub(crate) fn end_local_pause(&mut self, _now: Instant, r: u32) {
        if let Some(p) = self.pauses.remove(&r) {
            if let Some(t) = p.gate {
                let _ = self.gate.reopen(t);
            }
            self.emit(ClusterEvent::Resumed {
                rank: r,
                token: p.token,
            });
            self.sync_hooks();
        }
    }

    /// Acks every pause whose local quiescence was reached; reports (once per pause) the
    /// ones still waiting past the quiescence timeout, without acking them.
    pub(crate) fn pause_tick(&mut self, now: Instant) {
        if !self.lease.may_write(now) {
            return;
        }
        // A pause hook not yet taken by the embedder has not paused anything.
        let queued = self
            .hooks
            .iter()
            .any(|h| matches!(h, Hook::PauseBalancer | Hook::PauseGhostSync));
        let quiescent = !queued && self.gate.is_quiescent();
        if !quiescent {
            let in_flight = self.gate.in_flight();
            let overdue: Vec<(u32, Rev)> = self
                .pauses
                .iter()
                .filter(|(_, p)| !p.acked && !p.overdue)
                .filter(|(_, p)| {
                    now.saturating_duration_since(p.since) >= self.cfg.quiescence_timeout
                })
                .map(|(r, p)| (*r, p.token))
                .collect();
            for (r, token) in overdue {
                if let Some(p) = self.pauses.get_mut(&r) {
                    p.overdue = true;
                }
                self.emit(ClusterEvent::QuiescenceOverdue {
                    rank: r,
                    token,
                    in_flight,
                });
            }
            return;
        }
        let due: Vec<(u32, Rev)> = self
            .pauses
            .iter()
            .filter(|(_, p)| !p.acked && p.ack_op.is_none() && p.not_before <= now)
            .map(|(r, p)| (*r, p.token))
            .collect();
        for (r, token) in due {
            let t = txns::ack(&self.keys, r, token, &self.cfg.proc_id, self.lease.id);
            let in_flight = 0;
            let id = self.send(
                Pending::Ack {
                    rank: r,
                    token,
                    in_flight,
                },
                Request::Txn(t),
            );
            if let Some(p) = self.pauses.get_mut(&r) {
                p.ack_op = Some(id);
            }
        }
    }

    pub(crate) fn on_ack_result(
        &mut self,
        now: Instant,
        r: u32,
        token: Rev,
        in_flight: u32,
        res: Result<OpResult, OpError>,
    ) {
        let Some(p) = self.pauses.get_mut(&r) else {
            return;
        };
        if p.token != token {
            return;
        }
        p.ack_op = None;
        match res {
            Ok(OpResult::Txn {
                succeeded: true, ..
            }) => {
                p.acked = true;
                self.stats.pauses_acked += 1;
                let proc = self.cfg.proc_id.clone();
                self.emit(ClusterEvent::PauseAcked {
                    rank: r,
                    token,
                    proc,
                    in_flight,
                });
            }
            Ok(_) => {} // the pause ended or changed: the watch will tell
            Err(_) => {
                // Ambiguous or failed: the ack is compare-guarded and idempotent, so the next
                // tick sends it again (after a short delay).
                p.not_before = now.saturating_add(core::time::Duration::from_millis(100));
            }
        }
    }

    /// Emits balancer/ghost hooks for the difference between what the embedder was told
    /// and (any cluster pause) OR (the coordinator's recovery mode).
    pub(crate) fn sync_hooks(&mut self) {
        let cluster = !self.pauses.is_empty();
        let want = (
            cluster || self.coord_paused.0,
            cluster || self.coord_paused.1,
        );
        if want.0 != self.told_paused.0 {
            self.told_paused.0 = want.0;
            self.hooks.push_back(if want.0 {
                Hook::PauseBalancer
            } else {
                Hook::ResumeBalancer
            });
        }
        if want.1 != self.told_paused.1 {
            self.told_paused.1 = want.1;
            self.hooks.push_back(if want.1 {
                Hook::PauseGhostSync
            } else {
                Hook::ResumeGhostSync
            });
        }
    }
}
