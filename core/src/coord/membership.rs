//! Runtime membership: partitions join and leave a running coordinator, within its capacity.
//!
//! A coordinator is created over `n` ranks, all of them members (HEALTHY, or whatever the
//! adopted cells say). [`Coordinator::leave`] and [`Coordinator::join`] change the set while
//! it runs; `n` stays the capacity (ranks `0..n` exist, [`Health::Absent`] ones are not
//! members).
//!
//! # Transitions (the cell's table, `health.rs`, restricted by the coordinator)
//!
//! | verb | from | to | condition | also |
//! |---|---|---|---|---|
//! | `leave` | HEALTHY, SUSPECTED | ABSENT | — | graceful: not a failure, no recovery |
//! | `leave` | FAILED | ABSENT | no local attempt holds the rank | decommissioned: taken out of the queue, retries dropped |
//! | `join` | ABSENT | HEALTHY | — | a new incarnation |
//! | `join` | FAILED | HEALTHY | no local attempt holds the rank | recovered elsewhere: taken out of the queue, a new incarnation |
//! | either | RECOVERING | — | — | [`MembershipError::Recovering`] |
//!
//! "A local attempt holds the rank" means a recovery slot of this coordinator owns its lock
//! permit: a running attempt (the partition is RECOVERING), or one abandoned at its recovery
//! timeout whose cancel the embedder has not acknowledged yet (the partition is FAILED, its
//! phase may still run). Both are refused with [`MembershipError::Recovering`]; the attempt
//! must end (or its cancel be acknowledged) first.
//!
//! # Invariants kept
//!
//! * An ABSENT rank is never queued, recovering, suspected or failed, and has no detection
//!   state: its [`PartitionSlot`] is reset when it leaves and again when it joins, reports
//!   about it return [`ReportOutcome::NotMember`](super::ReportOutcome::NotMember), ticks
//!   skip it.
//! * Quorum, the recovery decision's STATE 1/2/3, `QuorumLost`/`QuorumRestored`, the health
//!   level and the alert ratios count the current members only (`healthy > members / 2`).
//! * A join or a leave is neither a failure nor a recovery in the statistics: it moves
//!   `Stats::joins` / `Stats::leaves` only (a FAILED partition that leaves or is recovered
//!   elsewhere closes its failed attempts in the open-failure count).
//!
//! # Events (one step: at most 3, within `MAX_EVENTS_PER_STEP`)
//!
//! `StatusChanged` (cause [`Cause::Joined`] / [`Cause::Left`]), then `QuorumRestored` or
//! `QuorumLost` if the quorum changed, then `MemberJoined` / `MemberLeft`. Without outbox room
//! the call is refused with [`MembershipError::OutboxFull`] and nothing changes.

use core::fmt;

use super::coordinator::Coordinator;
use super::detect::PartitionSlot;
use super::event::{Cause, Event, Membership};
use super::gate::OpGate;
use super::pstats::PartitionStatsStorage;
use crate::health::{Health, HealthCell};
use crate::lock::LockSlot;
use crate::queue::QueueSlot;
use crate::time::Instant;

/// Why [`Coordinator::join`] or [`Coordinator::leave`] changed nothing.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum MembershipError {
    /// The rank is not below the coordinator's capacity `n`.
    UnknownPartition,
    /// `join`: the partition is already a member in good standing (HEALTHY or SUSPECTED).
    AlreadyMember,
    /// `leave`: the partition is not a member (ABSENT).
    NotMember,
    /// A local recovery attempt holds the partition (it is RECOVERING, or an abandoned
    /// attempt's cancel is not acknowledged yet): wait for it to end, then try again.
    Recovering,
    /// The event outbox has no room for this step's events: drain `poll_event` and call
    /// again (backpressure; nothing changed).
    OutboxFull,
}

impl fmt::Display for MembershipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MembershipError::UnknownPartition => "unknown partition rank",
            MembershipError::AlreadyMember => "the partition is already a member",
            MembershipError::NotMember => "the partition is not a member",
            MembershipError::Recovering => "a local recovery attempt holds the partition",
            MembershipError::OutboxFull => "event outbox full: drain events first",
        })
    }
}

impl<H, L, Q, P, G, const R: usize, const E: usize, S> Coordinator<H, L, Q, P, G, R, E, S>
where
    H: AsRef<[HealthCell]>,
    L: AsRef<[LockSlot]>,
    Q: AsRef<[QueueSlot]>,
    P: AsRef<[PartitionSlot]> + AsMut<[PartitionSlot]>,
    G: OpGate,
    S: PartitionStatsStorage,
{
    /// Partition `rank` joins: ABSENT → HEALTHY, or FAILED → HEALTHY when it was recovered
    /// elsewhere (module docs). Returns the new incarnation: a fresh life, so reports about
    /// an earlier one are stale. Its detection state starts over (no failure streak, the
    /// heartbeat clock restarted at `now`); a FAILED partition leaves the recovery queue and
    /// its retries are dropped. Quorum is re-evaluated over the members and queued
    /// recoveries that it now allows start in this call.
    ///
    /// Errors change nothing: [`MembershipError::UnknownPartition`],
    /// [`MembershipError::AlreadyMember`] (HEALTHY or SUSPECTED),
    /// [`MembershipError::Recovering`], [`MembershipError::OutboxFull`].
    pub fn join(&mut self, now: Instant, rank: u32) -> Result<u32, MembershipError> {
        let from = self.membership_check(rank)?;
        if matches!(from, Health::Healthy | Health::Suspected) {
            return Err(MembershipError::AlreadyMember);
        }
        self.change_membership(now, rank, from, Health::Healthy)
    }

    /// Partition `rank` leaves: HEALTHY/SUSPECTED → ABSENT (graceful: not a failure, nothing
    /// is recovered), or FAILED → ABSENT (decommissioned: out of the recovery queue, retries
    /// dropped). The incarnation is kept while ABSENT; a later [`join`](Coordinator::join)
    /// starts a new one. Quorum is re-evaluated over the remaining members (a leave may
    /// lose it, or restore it when a non-HEALTHY member leaves; queued recoveries it now
    /// allows start in this call).
    ///
    /// Errors change nothing: [`MembershipError::UnknownPartition`],
    /// [`MembershipError::NotMember`] (already ABSENT), [`MembershipError::Recovering`],
    /// [`MembershipError::OutboxFull`].
    pub fn leave(&mut self, now: Instant, rank: u32) -> Result<(), MembershipError> {
        let from = self.membership_check(rank)?;
        if from == Health::Absent {
            return Err(MembershipError::NotMember);
        }
        self.change_membership(now, rank, from, Health::Absent)
            .map(|_| ())
    }

    /// The current members: ranks that are not ABSENT (O(1)). Quorum is
    /// `healthy > members / 2`.
    pub fn members(&self) -> u32 {
        self.table.members()
    }

    /// The common checks of `join`/`leave`: the rank exists and no local attempt holds it.
    /// Returns its state.
    fn membership_check(&self, rank: u32) -> Result<Health, MembershipError> {
        let (health, _) = self
            .table
            .get(rank)
            .map_err(|_| MembershipError::UnknownPartition)?;
        if health == Health::Recovering || self.holds(rank) {
            return Err(MembershipError::Recovering);
        }
        Ok(health)
    }

    /// One join (`to` = HEALTHY) or leave (`to` = ABSENT) of a rank in state `from`, checked
    /// by the caller: one step (the transition, the quorum change, the membership event),
    /// then `drive`. Returns the incarnation after the change.
    fn change_membership(
        &mut self,
        now: Instant,
        rank: u32,
        from: Health,
        to: Health,
    ) -> Result<u32, MembershipError> {
        if !self.room(0) {
            return Err(MembershipError::OutboxFull);
        }
        let now = self.advance(now);
        let joined = to == Health::Healthy;
        let cause = if joined { Cause::Joined } else { Cause::Left };
        self.forget_failure(rank, from);
        if !self.transit(rank, from, to, cause, now) {
            // Unreachable: `&mut self` and the caller's checks fix the state.
            return Err(MembershipError::Recovering);
        }
        let incarnation = self.table.get(rank).map_or(0, |(_, inc)| inc);
        let cfg = self.cfg;
        if let Some(p) = self.part_mut(rank) {
            *p = PartitionSlot::fresh(now, &cfg);
        }
        let m = Membership {
            rank,
            incarnation,
            from,
            time: now,
        };
        if joined {
            self.counters.on_joined();
            self.emit(Event::MemberJoined(m));
        } else {
            self.counters.on_left();
            self.emit(Event::MemberLeft(m));
        }
        self.drive(now);
        Ok(incarnation)
    }

    /// A FAILED partition that leaves or was recovered elsewhere: out of the queue, and its
    /// failed attempts leave the open-failure count. Nothing for other states.
    fn forget_failure(&mut self, rank: u32, from: Health) {
        if from != Health::Failed {
            return;
        }
        let _ = self.sched.cancel(rank);
        let attempts = self.partition(rank).map_or(0, |p| p.attempts);
        self.counters.on_failure_closed(attempts);
    }
}
