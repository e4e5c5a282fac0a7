//! The detection inputs of the coordinator: reports and ticks.
//!
//! Both clamp `now` to the latest instant seen (a backward step is zero elapsed time), run
//! the detection rules of `detect.rs` on the partition(s) concerned, carry out the resulting
//! table transitions (one event each) and hand newly FAILED partitions to the recovery
//! decision, then `drive` the pause and the queue (`recovery.rs`).
//!
//! Cost: a report is O(1) (plus O(1) amortised queue work). A tick scans all partitions only
//! when a partition deadline is due or heartbeats are enabled, and otherwise costs O(R).

use super::coordinator::Coordinator;
use super::detect::{Detect, PartitionSlot, BACKOFF, EXHAUSTED};
use super::event::Cause;
use super::gate::OpGate;
use super::report::{Report, ReportError, ReportOutcome};
use crate::health::{Health, HealthCell};
use crate::lock::LockSlot;
use crate::queue::QueueSlot;
use crate::time::Instant;

impl<H, L, Q, P, G, const R: usize, const E: usize> Coordinator<H, L, Q, P, G, R, E>
where
    H: AsRef<[HealthCell]>,
    L: AsRef<[LockSlot]>,
    Q: AsRef<[QueueSlot]>,
    P: AsRef<[PartitionSlot]> + AsMut<[PartitionSlot]>,
    G: OpGate,
{
    pub(crate) fn advance(&mut self, now: Instant) -> Instant {
        if now > self.now {
            self.now = now;
        }
        self.now
    }

    /// Feed one observation. O(1) except for the recovery decision's queue operations
    /// (O(1) amortised).
    pub fn handle_report(
        &mut self,
        now: Instant,
        report: Report,
    ) -> Result<ReportOutcome, ReportError> {
        let now = self.advance(now);
        let (health, inc) = self
            .table
            .get(report.rank)
            .map_err(|_| ReportError::UnknownPartition)?;
        if report.incarnation.is_some_and(|i| i != inc) {
            self.counters.on_stale();
            return Ok(ReportOutcome::Stale);
        }
        let cfg = self.cfg;
        let step = match self.part_mut(report.rank) {
            Some(p) => p.detect_report(health, report.kind, now, &cfg),
            None => return Err(ReportError::UnknownPartition),
        };
        let outcome = self.apply(report.rank, health, step, now);
        self.drive(now);
        Ok(outcome)
    }

    /// Advance time: confirmations, heartbeat verdicts, retries whose backoff expired,
    /// recovery timeouts, the pause, and the recovery queue. O(n) while some partition is
    /// SUSPECTED or FAILED or heartbeats are enabled, O(R) otherwise.
    pub fn tick(&mut self, now: Instant) {
        let now = self.advance(now);
        let heartbeats = self.cfg.heartbeat().enabled();
        let mut verdicts = heartbeats;
        if heartbeats {
            let paused_locally = self.last_tick.is_some_and(|t| {
                now.saturating_duration_since(t) > self.cfg.heartbeat().max_local_pause()
            });
            if paused_locally {
                // Our own stall, not the partitions' silence (Cassandra): re-base the clocks.
                for p in self.parts.as_mut().iter_mut().take(self.n as usize) {
                    p.hb.rebase(now);
                }
                verdicts = false;
            }
        }
        self.last_tick = Some(now);
        if heartbeats || self.part_deadline.is_some_and(|d| d <= now) {
            self.scan(now, verdicts);
        }
        self.expire_recoveries(now);
        self.drive(now);
    }

    fn scan(&mut self, now: Instant, verdicts: bool) {
        let cfg = self.cfg;
        let heartbeats = cfg.heartbeat().enabled();
        let mut next: Option<Instant> = None;
        for rank in 0..self.n {
            let Ok((mut health, _)) = self.table.get(rank) else {
                continue;
            };
            let step = match self.part_mut(rank) {
                Some(p) => p.detect_tick(health, now, &cfg, verdicts),
                None => continue,
            };
            if step != Detect::Nothing {
                self.apply(rank, health, step, now);
                health = self.table.get(rank).map_or(health, |(h, _)| h);
            }
            if health == Health::Failed {
                self.failed_due(rank, now);
                health = self.table.get(rank).map_or(health, |(h, _)| h);
            }
            if let Some(d) = self
                .partition(rank)
                .ok()
                .and_then(|p| p.next_deadline(health, &cfg, heartbeats))
            {
                next = Some(next.map_or(d, |x| x.min(d)));
            }
        }
        self.part_deadline = next;
    }

    /// A FAILED partition at tick time: start its retry when the backoff expired; schedule it
    /// if nothing else will (adopted cells, or any lost bookkeeping).
    fn failed_due(&mut self, rank: u32, now: Instant) {
        let Ok(p) = self.partition(rank).copied() else {
            return;
        };
        if p.flags & EXHAUSTED != 0 {
            return;
        }
        if p.flags & BACKOFF != 0 {
            if now < p.deadline {
                return;
            }
            if let Some(m) = self.part_mut(rank) {
                m.flags &= !BACKOFF;
            }
        } else if self.sched.queue().contains(rank) || self.recovery(rank).is_some() {
            return;
        }
        self.decide_and_admit(rank, now);
    }

    /// Carry out a detection step; returns the report outcome.
    fn apply(&mut self, rank: u32, health: Health, step: Detect, now: Instant) -> ReportOutcome {
        match step {
            Detect::Nothing => ReportOutcome::Counted,
            Detect::Ignore => {
                self.counters.on_ignored();
                ReportOutcome::Ignored
            }
            Detect::Suspect(cause) => {
                if self.suspect(rank, cause, now) {
                    ReportOutcome::Suspected
                } else {
                    ReportOutcome::Counted
                }
            }
            Detect::Confirm(cause) => {
                if health == Health::Healthy && !self.suspect(rank, cause, now) {
                    return ReportOutcome::Counted;
                }
                if self.transit(rank, Health::Suspected, Health::Failed, cause, now) {
                    let latency = self
                        .part_mut(rank)
                        .map(|p| p.on_failed(now))
                        .unwrap_or_default();
                    self.counters.on_failed(latency);
                    self.decide_and_admit(rank, now);
                    ReportOutcome::Failed
                } else {
                    ReportOutcome::Counted
                }
            }
            Detect::Clear(cause) => {
                if self.transit(rank, Health::Suspected, Health::Healthy, cause, now) {
                    let cfg = self.cfg;
                    if let Some(p) = self.part_mut(rank) {
                        p.on_healthy(now, &cfg, false);
                    }
                    self.counters.on_false_alarm();
                    ReportOutcome::Cleared
                } else {
                    ReportOutcome::Counted
                }
            }
        }
    }

    fn suspect(&mut self, rank: u32, cause: Cause, now: Instant) -> bool {
        if !self.transit(rank, Health::Healthy, Health::Suspected, cause, now) {
            return false;
        }
        let conf = self.cfg.failure_confirmation();
        if let Some(p) = self.part_mut(rank) {
            p.on_suspected(now, conf);
        }
        self.lower_deadline(now.saturating_add(conf));
        self.counters.on_suspected();
        true
    }
}
