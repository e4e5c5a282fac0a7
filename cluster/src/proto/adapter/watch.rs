//! Watch input: events applied to the view one revision at a time, then derived into
//! coordinator inputs and [`ClusterEvent`]s; compaction → re-list; a broken stream → resume
//! from the last revision + 1.
//!
//! Invariants: `Report::crashed(r)` only for a deletion of `members/r` whose deleted create
//! revision is the incarnation this process knew (each incarnation fails at most once here);
//! a deletion in the same revision as `epoch/r = left` is a leave, not a failure; a new
//! incarnation of `r` joins it in the coordinator (retried after a local attempt on `r`
//! ends, since a rank held by a local attempt cannot join). A watch that stays behind a
//! revision some answer already showed for [`WATCH_STALL`] is presumed silently dead
//! (etcd-client does not notice, etcd-client#48) and resumed from the last revision + 1.

use ftforest_core::coord::{OpGate, Report};
use ftforest_core::{Health, Instant};

use super::{Adapter, Pending, Status};
use crate::proto::event::ClusterEvent;
use crate::proto::keys::{KeyKind, EPOCH_LEFT};
use crate::proto::ops::{
    EventKind, KeyValue, OpError, OpResult, Request, Rev, WatchEvent, WatchInput,
};

/// How long the view may lag behind a revision seen in an answer before the watch is resumed.
pub const WATCH_STALL: core::time::Duration = core::time::Duration::from_secs(2);
/// First back-off between two watch re-creations without an event in between.
pub const WATCH_BACKOFF_MIN: core::time::Duration = core::time::Duration::from_millis(100);
/// Largest back-off between watch re-creations.
pub const WATCH_BACKOFF_MAX: core::time::Duration = core::time::Duration::from_secs(2);

impl<G: OpGate + Clone> Adapter<G> {
    /// An answer showed the store at `rev`: the watch must deliver up to it.
    pub(crate) fn saw_revision(&mut self, now: Instant, rev: Rev) {
        if rev > self.seen_rev {
            self.seen_rev = rev;
        }
        if self.seen_rev > self.view.rev() && self.lag_since.is_none() {
            self.lag_since = Some(now);
        }
    }

    /// Resumes a watch that lagged for [`WATCH_STALL`], or whose back-off ended.
    pub(crate) fn watch_tick(&mut self, now: Instant) {
        if self.status != Status::Running {
            return;
        }
        if self.watch_restart_at.is_some_and(|t| t <= now) {
            self.watch_restart_at = None;
            self.restart_watch_now();
        }
        if self.view.rev() >= self.seen_rev {
            self.lag_since = None;
            return;
        }
        if let Some(t) = self.lag_since {
            if now.saturating_duration_since(t) >= WATCH_STALL {
                self.lag_since = Some(now);
                self.restart_watch(now);
            }
        }
    }

    /// Resumes the watch from the last revision + 1: at once after a healthy stretch, else
    /// after a back-off (100 ms doubling to 2 s) so that a watch that cannot be created does
    /// not spin. The back-off resets when the watch delivers events.
    pub(crate) fn restart_watch(&mut self, now: Instant) {
        if self.watch_restart_at.is_some() {
            return;
        }
        if self.watch_backoff.is_zero() {
            self.watch_backoff = WATCH_BACKOFF_MIN;
            self.restart_watch_now();
        } else {
            self.watch_restart_at = Some(now.saturating_add(self.watch_backoff));
            self.watch_backoff = (self.watch_backoff * 2).min(WATCH_BACKOFF_MAX);
        }
    }

    fn restart_watch_now(&mut self) {
        let from = self.view.rev() + 1;
        self.stats.watch_restarts += 1;
        self.watch_from = Some(from);
        self.emit(ClusterEvent::WatchResumed {
            from_revision: from,
        });
    }

    pub(crate) fn on_watch(&mut self, now: Instant, input: WatchInput) {
        if !matches!(self.status, Status::Running | Status::Leaving) {
            return;
        }
        match input {
            WatchInput::Events(evs) => {
                // Skip what the view already has (a resumed watch may repeat nothing, but a
                // driver race could).
                let evs: Vec<WatchEvent> = evs
                    .into_iter()
                    .filter(|e| e.kv.mod_revision > self.view.rev())
                    .collect();
                self.stats.watch_events += evs.len() as u64;
                self.watch_backoff = core::time::Duration::ZERO;
                self.apply_events(now, evs);
            }
            WatchInput::Compacted { .. } => {
                let prefix = self.keys.prefix().to_owned();
                if !self.pending.values().any(|p| matches!(p, Pending::Relist)) {
                    self.send(Pending::Relist, Request::Range { prefix });
                }
            }
            WatchInput::Broken => self.restart_watch(now),
        }
    }

    pub(crate) fn on_relist(&mut self, now: Instant, res: Result<OpResult, OpError>) {
        match res {
            Ok(OpResult::Range { revision, kvs }) => {
                self.stats.relists += 1;
                let diff = self.view.relist(revision, kvs);
                self.emit(ClusterEvent::Relisted { revision });
                // The synthetic events all carry the list revision.
                let diff = diff
                    .into_iter()
                    .map(|mut e| {
                        if e.kind == EventKind::Delete {
                            e.kv.mod_revision = revision;
                        }
                        e
                    })
                    .collect::<Vec<_>>();
                self.derive_all(now, diff, true);
                self.watch_from = Some(revision + 1);
            }
            _ => {
                let prefix = self.keys.prefix().to_owned();
                self.retry_later(now, Pending::Relist, Request::Range { prefix });
            }
        }
    }

    fn apply_events(&mut self, now: Instant, evs: Vec<WatchEvent>) {
        self.derive_all(now, evs, false);
    }

    /// Applies (unless `applied`) and derives events grouped by revision.
    fn derive_all(&mut self, now: Instant, evs: Vec<WatchEvent>, applied: bool) {
        let mut i = 0;
        while i < evs.len() {
            let rev = evs[i].kv.mod_revision;
            let mut j = i;
            while j < evs.len() && (applied || evs[j].kv.mod_revision == rev) {
                j += 1;
            }
            let group = &evs[i..j];
            let prevs: Vec<Option<KeyValue>> = if applied {
                vec![None; group.len()]
            } else {
                group.iter().map(|e| self.view.apply(e)).collect()
            };
            for (e, prev) in group.iter().zip(prevs) {
                self.derive(now, e, prev, applied);
            }
            i = j;
        }
        self.after_watch(now);
    }

    fn derive(&mut self, now: Instant, e: &WatchEvent, prev: Option<KeyValue>, relisted: bool) {
        let Some(kind) = self.keys.parse(&e.kv.key) else {
            return;
        };
        let rev = e.kv.mod_revision;
        match (kind, e.kind) {
            (KeyKind::Member(r), EventKind::Put) if r < self.cfg.params.n => {
                self.member_put(now, r, &e.kv)
            }
            (KeyKind::Member(r), EventKind::Delete) if r < self.cfg.params.n => {
                // After a re-list the deleted key's create revision is unknown: the known
                // incarnation is the one that vanished.
                let deleted = if relisted {
                    self.incarnation(r)
                } else {
                    prev.map(|kv| kv.create_revision)
                };
                self.member_deleted(now, r, deleted, rev)
            }
            (KeyKind::Pause(r), EventKind::Put) => {
                let t = e.kv.create_revision;
                if self.pauses.get(&r).map(|p| p.token) != Some(t) {
                    if self.pauses.contains_key(&r) {
                        self.end_local_pause(now, r);
                    }
                    self.start_local_pause(now, r, t);
                }
            }
            (KeyKind::Pause(r), EventKind::Delete) => self.end_local_pause(now, r),
            (KeyKind::Lock(r), EventKind::Delete) => {
                let tok = if relisted {
                    None
                } else {
                    prev.map(|kv| kv.create_revision)
                };
                self.lock_vanished(now, r, tok);
            }
            _ => {}
        }
    }

    fn member_put(&mut self, now: Instant, r: u32, kv: &KeyValue) {
        let c = kv.create_revision;
        if self.incarnation(r) == Some(c) {
            return;
        }
        self.inc[r as usize] = Some(c);
        if kv.lease == self.lease.id && kv.value == self.cfg.proc_id.as_bytes() {
            self.hosted.insert(r);
        } else {
            self.hosted.remove(&r);
        }
        self.emit(ClusterEvent::MemberJoined {
            rank: r,
            incarnation: c,
        });
        self.join_coord(now, r);
    }

    pub(crate) fn join_coord(&mut self, now: Instant, r: u32) {
        match self.coord.health(r) {
            Ok((Health::Healthy | Health::Suspected, _)) => {
                self.pending_join.remove(&r);
            }
            Ok((Health::Recovering, _)) => {
                self.pending_join.insert(r);
            }
            Ok(_) => {
                if self.coord.join(now, r).is_ok() {
                    self.pending_join.remove(&r);
                } else {
                    self.pending_join.insert(r);
                }
            }
            Err(_) => {}
        }
    }

    fn member_deleted(&mut self, now: Instant, r: u32, deleted: Option<Rev>, rev: Rev) {
        let left = self
            .view
            .get(&self.keys.epoch(r))
            .is_some_and(|kv| kv.value == EPOCH_LEFT);
        let known = self.incarnation(r);
        if deleted.is_none() || deleted != known {
            return; // stale: not the incarnation we know
        }
        self.inc[r as usize] = None;
        self.hosted.remove(&r);
        self.pending_join.remove(&r);
        if left {
            self.emit(ClusterEvent::MemberLeft { rank: r });
            let _ = self.coord.leave(now, r);
            return;
        }
        let inc = deleted.unwrap_or(0);
        self.failed_inc[r as usize] = Some(inc);
        self.emit(ClusterEvent::Failed {
            rank: r,
            incarnation: inc,
            revision: rev,
        });
        let _ = self.coord.handle_report(now, Report::crashed(r));
    }

    fn after_watch(&mut self, now: Instant) {
        let joins: Vec<u32> = self.pending_join.iter().copied().collect();
        for r in joins {
            if self.incarnation(r).is_some() {
                self.join_coord(now, r);
            } else {
                self.pending_join.remove(&r);
            }
        }
        self.check_all_acked(now);
        self.release_strays(now);
    }
}
