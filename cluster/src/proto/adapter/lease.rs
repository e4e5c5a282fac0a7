//! The process's lease: keepalive every TTL/3 and the self-fence deadline.
//!
//! Invariants: `deadline` = send time of the last keepalive (or grant) that etcd answered
//! with a positive TTL, + that TTL − margin, and it never moves backwards; etcd measures
//! the same lease from a later instant (it received the request after we sent it), so its
//! expiry is never earlier than our deadline + margin unless the local clock runs slow by
//! more than the margin. Past the deadline `may_write` is false; once etcd said the lease
//! is gone (`ttl <= 0`) it stays false for good.

use core::time::Duration;

use ftforest_core::coord::OpGate;
use ftforest_core::Instant;

use super::{Adapter, Pending, Status};
use crate::proto::event::ClusterEvent;
use crate::proto::ops::{OpError, OpResult, Request};

/// A failed keepalive is retried after TTL / this (100 ms at TTL 2 s), not at the next TTL/3.
pub(crate) const KEEPALIVE_RETRY_DIVISOR: u32 = 20;
/// A keepalive waits at most TTL / this for its answer (the request timeout if shorter): one
/// sent to an etcd member that just died must not use up the lease's slack.
pub(crate) const KEEPALIVE_TIMEOUT_DIVISOR: u32 = 4;

/// Lease bookkeeping.
#[derive(Clone, Debug)]
pub(crate) struct Lease {
    pub(crate) id: i64,
    pub(crate) ttl: Duration,
    pub(crate) grant_sent: Instant,
    pub(crate) deadline: Instant,
    pub(crate) next_keepalive: Option<Instant>,
    pub(crate) in_flight: bool,
    pub(crate) fenced: bool,
    pub(crate) lost: bool,
    pub(crate) drop_keepalives: bool,
    pub(crate) margin: Duration,
}

impl Lease {
    pub(crate) fn new() -> Lease {
        Lease {
            id: 0,
            ttl: Duration::ZERO,
            grant_sent: Instant::ZERO,
            deadline: Instant::ZERO,
            next_keepalive: None,
            in_flight: false,
            fenced: false,
            lost: false,
            drop_keepalives: false,
            margin: Duration::ZERO,
        }
    }

    /// A lease exists, etcd has not said it is gone, and the deadline is ahead.
    pub(crate) fn may_write(&self, now: Instant) -> bool {
        self.id != 0 && !self.lost && !self.fenced && now < self.deadline
    }

    /// Extends the deadline from an acknowledged request sent at `sent` (never backwards).
    pub(crate) fn acked(&mut self, sent: Instant, ttl: Duration) {
        let d = sent.saturating_add(ttl.saturating_sub(self.margin));
        if d > self.deadline {
            self.deadline = d;
        }
    }

    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        let mut t = if self.drop_keepalives || self.in_flight || self.lost {
            None
        } else {
            self.next_keepalive
        };
        if self.id != 0 && !self.fenced && !self.lost {
            t = Some(t.map_or(self.deadline, |t| {
                if self.deadline < t {
                    self.deadline
                } else {
                    t
                }
            }));
        }
        t
    }
}

impl<G: OpGate + Clone> Adapter<G> {
    pub(crate) fn on_granted(&mut self, now: Instant, lease: i64, ttl_ms: u64) {
        self.lease.id = lease;
        self.lease.ttl = Duration::from_millis(ttl_ms.min(self.cfg.params.ttl_ms));
        self.lease.margin = self.cfg.margin;
        let sent = self.lease.grant_sent;
        self.lease.acked(sent, self.lease.ttl);
        self.lease.next_keepalive = Some(now.saturating_add(self.lease.ttl / 3));
    }

    pub(crate) fn lease_tick(&mut self, now: Instant) {
        if self.lease.id == 0 || self.lease.lost || matches!(self.status, Status::Stopped(_)) {
            return;
        }
        if !self.lease.fenced && now >= self.lease.deadline {
            self.lease.fenced = true;
            self.stats.self_fenced = true;
            self.emit(ClusterEvent::SelfFenced {
                deadline_ms: self.lease.deadline.as_millis(),
            });
            self.sync_coord_available(now);
        }
        let due = self.lease.next_keepalive.is_some_and(|t| t <= now);
        if due && !self.lease.in_flight && !self.lease.drop_keepalives {
            self.lease.in_flight = true;
            self.lease.next_keepalive = Some(now.saturating_add(self.lease.ttl / 3));
            self.stats.keepalives_sent += 1;
            let lease = self.lease.id;
            self.send(
                Pending::KeepAlive { sent: now },
                Request::KeepAlive { lease },
            );
        } else if due && self.lease.drop_keepalives {
            self.lease.next_keepalive = Some(now.saturating_add(self.lease.ttl / 3));
        }
    }

    pub(crate) fn on_keepalive(
        &mut self,
        now: Instant,
        sent: Instant,
        res: Result<OpResult, OpError>,
    ) {
        self.lease.in_flight = false;
        let rtt = now.saturating_duration_since(sent).as_micros() as u64;
        if rtt > self.stats.keepalive_rtt_max_us {
            self.stats.keepalive_rtt_max_us = rtt;
        }
        match res {
            Ok(OpResult::KeepAlive { ttl_ms, .. }) if ttl_ms > 0 => {
                self.stats.keepalive_acks += 1;
                let ttl = Duration::from_millis(ttl_ms as u64).min(self.lease.ttl);
                self.lease.acked(sent, ttl);
                if self.lease.fenced && now < self.lease.deadline {
                    // etcd vouched for the lease after our deadline passed (e.g. it had lost
                    // quorum, which stops expiry): every key on it still exists.
                    self.lease.fenced = false;
                    self.stats.self_fenced = false;
                    self.emit(ClusterEvent::Unfenced {
                        deadline_ms: self.lease.deadline.as_millis(),
                    });
                    self.sync_coord_available(now);
                }
            }
            Ok(OpResult::KeepAlive { .. }) => self.lease_lost(now),
            Err(_) => {
                // The etcd member behind the stream died or did not answer: try again soon
                // (the client reconnects to another endpoint) instead of a whole TTL/3
                // later, so several attempts fit before the self-fence deadline.
                let retry = now.saturating_add(self.lease.ttl / KEEPALIVE_RETRY_DIVISOR);
                if self.lease.next_keepalive.is_none_or(|t| retry < t) {
                    self.lease.next_keepalive = Some(retry);
                }
            }
            _ => {}
        }
    }

    pub(crate) fn lease_lost(&mut self, now: Instant) {
        if self.lease.lost {
            return;
        }
        self.lease.lost = true;
        self.stats.self_fenced = true;
        self.emit(ClusterEvent::LeaseLost);
        if !self.lease.fenced {
            self.lease.fenced = true;
            self.emit(ClusterEvent::SelfFenced {
                deadline_ms: self.lease.deadline.as_millis(),
            });
        }
        self.sync_coord_available(now);
    }
}
