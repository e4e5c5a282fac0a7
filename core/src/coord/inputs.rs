//! The detection inputs of the coordinator: reports and ticks.
//!
//! Both clamp `now` to the latest instant seen (a backward step is zero elapsed time), run
//! the detection rules of `detect.rs` on the partition(s) concerned, carry out the resulting
//! table transitions (one event each) and hand newly FAILED partitions to the recovery
//! decision, then `drive` the pause and the queue (`recovery.rs`).
//!
//! Cost: a report is O(1) (plus O(1) amortised queue work). A tick scans all partitions only
//! when a partition deadline is due or heartbeats are enabled, and otherwise costs O(R).
//!
//! Backpressure (coordinator docs): a report is refused with `OutboxFull`, unchanged, when
//! the outbox lacks room for one step. A tick's scan takes one step per partition (plus one
//! for a FAILED partition whose decision is due) and stops, remembering its position in a
//! [`ScanCursor`], when room runs out; the next tick resumes there.

use super::coordinator::{Coordinator, RecState, ScanCursor};
use super::detect::{Detect, PartitionSlot, BACKOFF, ELSEWHERE, EXHAUSTED, FENCE_HOLD};
use super::event::Cause;
use super::gate::OpGate;
use super::pstats::PartitionStatsStorage;
use super::report::{Report, ReportError, ReportOutcome};
use crate::health::{Health, HealthCell};
use crate::lock::LockSlot;
use crate::queue::QueueSlot;
use crate::time::Instant;

impl<H, L, Q, P, G, const R: usize, const E: usize, S> Coordinator<H, L, Q, P, G, R, E, S>
where
    H: AsRef<[HealthCell]>,
    L: AsRef<[LockSlot]>,
    Q: AsRef<[QueueSlot]>,
    P: AsRef<[PartitionSlot]> + AsMut<[PartitionSlot]>,
    G: OpGate,
    S: PartitionStatsStorage,
{
    // Out of line: smaller than its inlined copies (flash, issue 10).
    #[inline(never)]
    pub(crate) fn advance(&mut self, now: Instant) -> Instant {
        if now > self.now {
            self.now = now;
        }
        self.now
    }

    /// Feed one observation. O(1) except for the recovery decision's queue operations
    /// (O(1) amortised).
    ///
    /// A report about an ABSENT rank (it left, or never joined) changes nothing and returns
    /// [`ReportOutcome::NotMember`].
    ///
    /// Errors (nothing changed, the report is not counted): `rank >= n` →
    /// [`ReportError::UnknownPartition`]; fewer than
    /// [`MAX_EVENTS_PER_STEP`](super::MAX_EVENTS_PER_STEP) free outbox slots →
    /// [`ReportError::OutboxFull`]: drain `poll_event` and report again.
    pub fn handle_report(
        &mut self,
        now: Instant,
        report: Report,
    ) -> Result<ReportOutcome, ReportError> {
        let (health, inc) = self
            .table
            .get(report.rank)
            .map_err(|_| ReportError::UnknownPartition)?;
        if !self.room(0) {
            return Err(ReportError::OutboxFull);
        }
        let now = self.advance(now);
        if report.incarnation.is_some_and(|i| i != inc) {
            self.counters.on_stale();
            return Ok(ReportOutcome::Stale);
        }
        if health == Health::Absent {
            // Not a member (left, or not joined yet): no detection state is touched.
            self.counters.on_ignored();
            return Ok(ReportOutcome::NotMember);
        }
        self.pstat(report.rank, |p| p.on_report(now));
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
    ///
    /// Stops early when the outbox runs out of room, leaving the rest (in order) for the
    /// next call; `poll_timeout` is then `now` (see "Backpressure" in the coordinator docs).
    pub fn tick(&mut self, now: Instant) {
        let now = self.advance(now);
        self.deferred = false;
        let heartbeats = self.cfg.heartbeat().enabled();
        let mut verdicts = heartbeats;
        if heartbeats {
            let paused_locally = self
                .last_tick
                .is_some_and(|t| now.span_since(t) > self.cfg.heartbeat().max_local_pause);
            if paused_locally {
                // Our own stall, not the partitions' silence (Cassandra): re-base the clocks.
                for p in self.parts.as_mut().iter_mut().take(self.n as usize) {
                    p.hb.rebase(now);
                }
                verdicts = false;
            }
        }
        self.last_tick = Some(now);
        let due = self.part_deadline <= now;
        if (heartbeats || due || self.scan_at.is_some()) && !self.scan(now, verdicts) {
            self.deferred = true;
            return;
        }
        if !self.expire_recoveries(now) {
            self.deferred = true;
            return;
        }
        self.drive(now);
    }

    /// Every partition's time rules, one step each (resuming an interrupted scan). Returns
    /// `false` when it stopped for lack of room (the cursor says where to resume).
    fn scan(&mut self, now: Instant, verdicts: bool) -> bool {
        let cfg = self.cfg;
        let heartbeats = cfg.heartbeat().enabled();
        let mut cur = match self.scan_at.take() {
            Some(c) => c,
            None => {
                // Deadlines lowered while this scan runs (a failed attempt's backoff, a new
                // suspicion) collect here and are merged at the end.
                self.part_deadline = Instant::MAX;
                ScanCursor {
                    rank: 0,
                    detected: false,
                    next: Instant::MAX,
                }
            }
        };
        while cur.rank < self.n {
            let rank = cur.rank;
            if !cur.detected {
                if !self.room(0) {
                    self.scan_at = Some(cur);
                    return false;
                }
                self.detect_one(rank, now, verdicts);
                cur.detected = true;
            }
            let Ok((mut health, _)) = self.table.get(rank) else {
                cur.rank += 1;
                cur.detected = false;
                continue;
            };
            if health == Health::Failed && self.failed_is_due(rank, now) {
                if !self.room(0) {
                    self.scan_at = Some(cur);
                    return false;
                }
                self.failed_due(rank, now);
                health = self.table.get(rank).map_or(health, |(h, _)| h);
            }
            // A partition whose abandoned attempt awaits its cancel has no deadline of its
            // own: its retry becomes due when the cancel is acknowledged.
            if let Some(d) = self
                .partition(rank)
                .ok()
                .filter(|_| self.cancelling(rank).is_none())
                .and_then(|p| p.next_deadline(health, &cfg, heartbeats))
            {
                cur.next = cur.next.min(d);
            }
            cur.rank += 1;
            cur.detected = false;
        }
        self.lower_deadline(cur.next);
        true
    }

    /// The detection step of one partition at tick time (at most one step's events).
    // Out of line: smaller than its inlined copies (flash, issue 10).
    #[inline(never)]
    fn detect_one(&mut self, rank: u32, now: Instant, verdicts: bool) {
        let Ok((health, _)) = self.table.get(rank) else {
            return;
        };
        if health == Health::Recovering && !self.holds(rank) {
            // Adopted: a recovery interrupted with a previous coordinator (see `new`).
            if self.transit(
                rank,
                Health::Recovering,
                Health::Failed,
                Cause::RecoveryFailed,
                now,
            ) {
                if let Some(p) = self.part_mut(rank) {
                    p.on_failed(now);
                }
            }
            return;
        }
        let cfg = self.cfg;
        let step = match self.part_mut(rank) {
            Some(p) => p.detect_tick(health, now, &cfg, verdicts),
            None => return,
        };
        if step != Detect::Nothing {
            self.apply(rank, health, step, now);
        }
    }

    /// Whether a recovery slot of this coordinator holds `rank`'s permit.
    pub(crate) fn holds(&self, rank: u32) -> bool {
        self.recs.iter().any(|s| {
            s.rank == rank
                && matches!(
                    s.state,
                    RecState::Fencing
                        | RecState::Waiting
                        | RecState::Running
                        | RecState::Aborting
                        | RecState::Cancelling
                )
        })
    }

    /// Whether `failed_due` would act on this FAILED partition now.
    fn failed_is_due(&self, rank: u32, now: Instant) -> bool {
        let Ok(p) = self.partition(rank) else {
            return false;
        };
        if p.flags & (EXHAUSTED | ELSEWHERE) != 0
            || self.cancelling(rank).is_some()
            || self.fencing(rank).is_some()
        {
            return false;
        }
        if p.flags & (BACKOFF | FENCE_HOLD) != 0 {
            return now >= p.deadline;
        }
        !(self.sched.queue().contains(rank) || self.recovery(rank).is_some())
    }

    /// A FAILED partition at tick time: start its retry when the backoff expired; schedule it
    /// if nothing else will (adopted cells, or any lost bookkeeping). One step.
    fn failed_due(&mut self, rank: u32, now: Instant) {
        if !self.failed_is_due(rank, now) {
            return;
        }
        if let Some(m) = self.part_mut(rank) {
            m.flags &= !(BACKOFF | FENCE_HOLD);
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
                    self.pstat(rank, |p| p.on_failed(latency));
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
        let conf = self.cfg.failure_confirmation;
        if let Some(p) = self.part_mut(rank) {
            p.on_suspected(now, conf);
        }
        self.lower_deadline(now.add_span(conf));
        self.counters.on_suspected();
        self.pstat(rank, |p| p.on_suspected());
        true
    }
}
