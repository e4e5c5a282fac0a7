//! Whether etcd answers: consecutive failed requests make it unavailable (the coordinator
//! then starts no recovery), the next success makes it available again (and resumes the
//! watch, which etcd-client does not notice dying).
//!
//! Invariant: the coordinator is available exactly while etcd answers, the lease may write
//! and the adapter is running (`sync_coord_available` after every change of the three).

use ftforest_core::coord::OpGate;
use ftforest_core::Instant;

use super::{Adapter, Status};
use crate::proto::event::ClusterEvent;
use crate::proto::ops::OpError;

impl<G: OpGate + Clone> Adapter<G> {
    pub(crate) fn on_success(&mut self, now: Instant) {
        self.failures = 0;
        if !self.available {
            self.available = true;
            self.stats.available = true;
            self.emit(ClusterEvent::Available);
            self.sync_coord_available(now);
            if self.status == Status::Running {
                // etcd-client does not notice a dead watch stream (etcd-client#48): after an
                // outage resume it from the last revision seen.
                self.restart_watch(now);
            }
        }
    }

    pub(crate) fn on_failure(&mut self, now: Instant, e: OpError) {
        if e == OpError::Ambiguous {
            self.stats.ambiguous += 1;
        } else {
            self.stats.failed += 1;
        }
        self.failures = self.failures.saturating_add(1);
        if self.available && self.failures >= self.cfg.unavailable_after {
            self.available = false;
            self.stats.available = false;
            self.emit(ClusterEvent::Unavailable);
            self.sync_coord_available(now);
        }
    }

    /// The coordinator may start recoveries only while etcd answers, the lease is alive and
    /// the process is not fenced or leaving.
    pub(crate) fn sync_coord_available(&mut self, now: Instant) {
        let ok =
            self.available && self.lease.may_write(now) && matches!(self.status, Status::Running);
        if self.coord.is_available() != ok {
            self.coord.set_available(now, ok);
        }
    }
}
