//! Events: what happened, for observers, pulled through a fixed-capacity outbox.
//!
//! Exactly one event per transition (B1, B8): a [`StatusChange`] is emitted only for a
//! [`Transition`](crate::Transition) the partition table returned to the coordinator (the
//! table hands each transition to exactly one caller), never for a non-change (no
//! `FAILED → FAILED` "recovery initiated" event, no `HEALTHY → HEALTHY` on success, B9), and
//! bookkeeping (queueing, retries, phases) has its own event kinds, so a detection consumer
//! cannot mistake a recovery step for a new failure (the Java storm, B1).
//!
//! Every payload is a plain `Copy` struct of C-friendly fields (ranks `u32`, fieldless
//! enums, [`Instant`], `Duration`), so the C library maps the enum to a tag plus a union.
//!
//! [`Outbox`]: a bounded FIFO (heapless `Deque`). The coordinator never lets it overflow: it
//! starts a step only with room for [`MAX_EVENTS_PER_STEP`] events and otherwise refuses the
//! input (`OutboxFull`, nothing changed) or leaves the work for the next tick
//! (backpressure, see the coordinator's docs). An `Outbox` used on its own counts what a full
//! push drops ([`Outbox::dropped`]), never silently.
//!
//! # The bound per step
//!
//! | step | most events |
//! |---|---|
//! | report: `Crashed` on a HEALTHY partition | H→S, `QuorumLost`, S→F, `RecoveryQueued`, `Escalated` = **5** |
//! | report: failure / success | H→S + `QuorumLost`, or S→H + `QuorumRestored` = 2 |
//! | tick scan, one partition (detection) | as a report = 5 (an adopted RECOVERING cell: 1) |
//! | tick scan, one FAILED partition due (decision) | `RecoveryQueued`, `Escalated` = 2 |
//! | `retry` | `RecoveryQueued`, `Escalated` = 2 |
//! | start one queued attempt | F→R, then `PhaseChanged` (joined or pause complete), or a failed pause: R→F, `RecoveryFinished`, `Escalated` = 4 |
//! | pause complete (leader's first phase) | `PhaseChanged` = 1 |
//! | join one waiting attempt | as a start without its F→R = 3 |
//! | fail one attempt aborted by a pause timeout | R→F, `RetryScheduled` or `RecoveryFinished` + `Escalated` = 3 |
//! | expire one attempt (recovery timeout) | `PhaseChanged`, R→F, + 2 = 4 |
//! | escalate one unacknowledged cancel | `Escalated` = 1 |
//! | acknowledge a cancel (`cancel_done`, late `phase_done`) | none |
//! | `phase_done` | `PhaseChanged`, then R→H, `QuorumRestored`, `RecoveryFinished`, or R→F + 2 = 4 |
//! | `join` / `leave` | the transition (→ HEALTHY / → ABSENT), `QuorumRestored`/`QuorumLost`, `MemberJoined`/`MemberLeft` = 3 |
//! | take a permit (fenced: the attempt asks for its fence) | none |
//! | `fence_granted` | `FenceGranted`, then as a start from the queue = 5 |
//! | `fence_refused`; a fence wait abandoned (timeout, coordination unavailable) | `FenceRefused` = 1 |
//! | announce one availability change | `AvailabilityChanged` = 1 |
//!
//! A step nested in a report, a scan step or `retry` (starting the attempts a new FAILED
//! partition lets start) checks for one more slot than the bound, so the enclosing step
//! keeps room for its own last event.

use core::time::Duration;

use crate::health::Health;
use crate::time::Instant;

use super::fence::Refusal;
use super::phase::Phase;

/// The most events one step of the coordinator emits (module docs, "The bound per step"):
/// a `Crashed` report on a HEALTHY partition whose suspicion loses quorum. The coordinator
/// starts a step only with this many free outbox slots, and needs an outbox of at least this
/// capacity.
pub const MAX_EVENTS_PER_STEP: usize = 5;

/// Why a partition's health changed.
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    /// Consecutive failure reports reached the threshold; the last was a barrier timeout.
    BarrierTimeout = 0,
    /// … the last was a ghost-sync failure.
    GhostSyncFailure = 1,
    /// … the last was a missed heartbeat reported by the embedder.
    HeartbeatMissed = 2,
    /// The heartbeat detector's verdict (silence or phi over the threshold).
    HeartbeatTimeout = 3,
    /// The embedder reported the partition crashed.
    Crashed = 4,
    /// The confirmation time elapsed while SUSPECTED.
    ConfirmationTimeout = 5,
    /// A barrier passed (false alarm).
    BarrierPassed = 6,
    /// A ghost sync succeeded (false alarm).
    GhostSyncSuccess = 7,
    /// A heartbeat arrived (false alarm).
    HeartbeatReceived = 8,
    /// The embedder marked the partition healthy (false alarm).
    MarkedHealthy = 9,
    /// A recovery attempt took the lock.
    RecoveryStarted = 10,
    /// Every phase completed.
    RecoverySucceeded = 11,
    /// A phase reported failure.
    RecoveryFailed = 12,
    /// The recovery timeout expired; the attempt was abandoned and cancelled.
    RecoveryTimedOut = 13,
    /// The pause did not reach quiescence in time (policy `AbortAndRetry`).
    PauseTimedOut = 14,
    /// The partition joined ([`Coordinator::join`](super::Coordinator::join)): ABSENT →
    /// HEALTHY, or FAILED → HEALTHY when it was recovered elsewhere; a new incarnation.
    Joined = 15,
    /// The partition left ([`Coordinator::leave`](super::Coordinator::leave)): a graceful
    /// leave (HEALTHY/SUSPECTED → ABSENT) or a decommission (FAILED → ABSENT). Not a failure.
    Left = 16,
}

/// A partition's health changed (one per table transition).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct StatusChange {
    /// The partition.
    pub rank: u32,
    /// Previous state.
    pub from: Health,
    /// New state.
    pub to: Health,
    /// Incarnation after the change (a new one when `to` is HEALTHY).
    pub incarnation: u32,
    /// Why.
    pub cause: Cause,
    /// When (the `now` of the call that caused it).
    pub time: Instant,
}

/// A recovery attempt moved to another phase.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct PhaseChange {
    /// The partition.
    pub rank: u32,
    /// The attempt's unique id (as in the actions).
    pub attempt: u32,
    /// The attempt's number for this failure, from 1.
    pub number: u32,
    /// Previous phase.
    pub from: Phase,
    /// New phase.
    pub to: Phase,
    /// When.
    pub time: Instant,
}

/// A partition entered the recovery queue.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Queued {
    /// The partition.
    pub rank: u32,
    /// Queue length after the insertion.
    pub depth: u32,
    /// Why it could not start at once.
    pub reason: QueueReason,
    /// When.
    pub time: Instant,
}

/// Why a partition waits in the queue.
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum QueueReason {
    /// K recoveries are running, earlier partitions wait for a slot, or the queue is held
    /// briefly after a pause timed out.
    Capacity = 0,
    /// STATE 2: quorum only holds counting the recoveries in progress.
    AwaitingRecoveries = 1,
    /// STATE 3: quorum is lost; recovered when it returns.
    QuorumLost = 2,
}

/// A partition was escalated (operators should look).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Escalation {
    /// The partition.
    pub rank: u32,
    /// Why.
    pub reason: EscalationReason,
    /// When.
    pub time: Instant,
}

/// Why a partition was escalated.
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum EscalationReason {
    /// STATE 3: quorum lost; the partition stays queued and is recovered when quorum returns.
    QuorumLost = 0,
    /// `max_retries` retries failed; the partition stays FAILED until
    /// [`Coordinator::retry`](super::Coordinator::retry).
    RetriesExhausted = 1,
    /// An attempt abandoned at its recovery timeout was not acknowledged within
    /// `cancel_timeout` ([`Coordinator::cancel_done`](super::Coordinator::cancel_done) or
    /// the abandoned phase's late `phase_done`); the forest stays paused until it is.
    CancelUnacknowledged = 2,
}

/// Quorum was lost or restored.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct QuorumChange {
    /// HEALTHY partitions after the change.
    pub healthy: u32,
    /// The current members after the change (ABSENT ranks are not counted): quorum is
    /// `healthy > total / 2`.
    pub total: u32,
    /// When.
    pub time: Instant,
}

/// A failed attempt will be retried.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Retry {
    /// The partition.
    pub rank: u32,
    /// The number of the next attempt (2 for the first retry).
    pub next_number: u32,
    /// When the retry becomes due (`time + backoff`).
    pub at: Instant,
    /// When.
    pub time: Instant,
}

/// A recovery finished: succeeded, or gave up after the last retry.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Finished {
    /// The partition.
    pub rank: u32,
    /// Whether the partition is HEALTHY again.
    pub success: bool,
    /// Attempts made for this failure (1 + retries).
    pub attempts: u32,
    /// From FAILED to now (includes queueing and backoff; never negative, B14).
    pub latency: Duration,
    /// When.
    pub time: Instant,
}

/// A partition joined or left the set of members (runtime membership, issue 8).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Membership {
    /// The partition.
    pub rank: u32,
    /// Joined: the new incarnation (a fresh life). Left: the incarnation of the life that
    /// left (the cell keeps it while ABSENT).
    pub incarnation: u32,
    /// The partition's state before the change (`Absent` or `Failed` for a join; `Healthy`,
    /// `Suspected` or `Failed` for a leave).
    pub from: Health,
    /// When.
    pub time: Instant,
}

/// An attempt was granted its fence ([`Coordinator::fence_granted`](super::Coordinator::fence_granted)).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct FenceGrant {
    /// The partition.
    pub rank: u32,
    /// The attempt's id.
    pub attempt: u32,
    /// The fencing token (non-zero); every `PhaseJob` of the attempt carries it.
    pub token: u64,
    /// When.
    pub time: Instant,
}

/// An attempt waiting for its fence ended without one: the embedder refused it
/// ([`Coordinator::fence_refused`](super::Coordinator::fence_refused)), or the coordinator
/// abandoned the wait ([`Refusal::TimedOut`]: the fence wait reached its deadline;
/// [`Refusal::Unavailable`]: coordination became unavailable). No retry is consumed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct FenceRefusal {
    /// The partition.
    pub rank: u32,
    /// The attempt's id.
    pub attempt: u32,
    /// Why.
    pub refusal: Refusal,
    /// When.
    pub time: Instant,
}

/// Coordination became available or unavailable
/// (`Coordinator::set_available`, feature `fence`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct AvailabilityChange {
    /// The new state.
    pub available: bool,
    /// When (the `now` of the step that announced it).
    pub time: Instant,
}

/// Something observers may want to know.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// See [`StatusChange`].
    StatusChanged(StatusChange),
    /// See [`PhaseChange`].
    PhaseChanged(PhaseChange),
    /// See [`Queued`].
    RecoveryQueued(Queued),
    /// See [`Escalation`].
    Escalated(Escalation),
    /// Quorum was lost.
    QuorumLost(QuorumChange),
    /// Quorum was restored.
    QuorumRestored(QuorumChange),
    /// See [`Retry`].
    RetryScheduled(Retry),
    /// See [`Finished`].
    RecoveryFinished(Finished),
    /// See [`FenceGrant`].
    FenceGranted(FenceGrant),
    /// See [`FenceRefusal`].
    FenceRefused(FenceRefusal),
    /// See [`AvailabilityChange`].
    AvailabilityChanged(AvailabilityChange),
    /// A partition joined (see [`Membership`]); follows its `StatusChanged` (→ HEALTHY,
    /// [`Cause::Joined`]).
    MemberJoined(Membership),
    /// A partition left (see [`Membership`]); follows its `StatusChanged` (→ ABSENT,
    /// [`Cause::Left`]).
    MemberLeft(Membership),
}

/// The event's kind, fieldless (C tag).
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// [`Event::StatusChanged`].
    StatusChanged = 0,
    /// [`Event::PhaseChanged`].
    PhaseChanged = 1,
    /// [`Event::RecoveryQueued`].
    RecoveryQueued = 2,
    /// [`Event::Escalated`].
    Escalated = 3,
    /// [`Event::QuorumLost`].
    QuorumLost = 4,
    /// [`Event::QuorumRestored`].
    QuorumRestored = 5,
    /// [`Event::RetryScheduled`].
    RetryScheduled = 6,
    /// [`Event::RecoveryFinished`].
    RecoveryFinished = 7,
    /// [`Event::FenceGranted`].
    FenceGranted = 8,
    /// [`Event::FenceRefused`].
    FenceRefused = 9,
    /// [`Event::AvailabilityChanged`].
    AvailabilityChanged = 10,
    /// [`Event::MemberJoined`].
    MemberJoined = 11,
    /// [`Event::MemberLeft`].
    MemberLeft = 12,
}

impl Event {
    /// The kind.
    pub const fn kind(&self) -> EventKind {
        match self {
            Event::StatusChanged(_) => EventKind::StatusChanged,
            Event::PhaseChanged(_) => EventKind::PhaseChanged,
            Event::RecoveryQueued(_) => EventKind::RecoveryQueued,
            Event::Escalated(_) => EventKind::Escalated,
            Event::QuorumLost(_) => EventKind::QuorumLost,
            Event::QuorumRestored(_) => EventKind::QuorumRestored,
            Event::RetryScheduled(_) => EventKind::RetryScheduled,
            Event::RecoveryFinished(_) => EventKind::RecoveryFinished,
            Event::FenceGranted(_) => EventKind::FenceGranted,
            Event::FenceRefused(_) => EventKind::FenceRefused,
            Event::AvailabilityChanged(_) => EventKind::AvailabilityChanged,
            Event::MemberJoined(_) => EventKind::MemberJoined,
            Event::MemberLeft(_) => EventKind::MemberLeft,
        }
    }

    /// The partition concerned, if one is.
    pub const fn rank(&self) -> Option<u32> {
        match self {
            Event::StatusChanged(e) => Some(e.rank),
            Event::PhaseChanged(e) => Some(e.rank),
            Event::RecoveryQueued(e) => Some(e.rank),
            Event::Escalated(e) => Some(e.rank),
            Event::RetryScheduled(e) => Some(e.rank),
            Event::RecoveryFinished(e) => Some(e.rank),
            Event::MemberJoined(e) | Event::MemberLeft(e) => Some(e.rank),
            Event::FenceGranted(e) => Some(e.rank),
            Event::FenceRefused(e) => Some(e.rank),
            Event::QuorumLost(_) | Event::QuorumRestored(_) | Event::AvailabilityChanged(_) => None,
        }
    }

    /// When it happened.
    pub const fn time(&self) -> Instant {
        match self {
            Event::StatusChanged(e) => e.time,
            Event::PhaseChanged(e) => e.time,
            Event::RecoveryQueued(e) => e.time,
            Event::Escalated(e) => e.time,
            Event::RetryScheduled(e) => e.time,
            Event::RecoveryFinished(e) => e.time,
            Event::FenceGranted(e) => e.time,
            Event::FenceRefused(e) => e.time,
            Event::AvailabilityChanged(e) => e.time,
            Event::MemberJoined(e) | Event::MemberLeft(e) => e.time,
            Event::QuorumLost(e) | Event::QuorumRestored(e) => e.time,
        }
    }
}

/// A bounded FIFO of `N` items whose overflow is counted, never silent (the coordinator
/// never overflows its outbox: it checks for room first).
#[derive(Debug)]
pub struct Outbox<T, const N: usize> {
    items: heapless::Deque<T, N>,
    dropped: u64,
}

impl<T, const N: usize> Default for Outbox<T, N> {
    fn default() -> Self {
        Outbox::new()
    }
}

impl<T, const N: usize> Outbox<T, N> {
    /// Empty.
    pub const fn new() -> Self {
        Outbox {
            items: heapless::Deque::new(),
            dropped: 0,
        }
    }

    /// Append; when full, drop `item`, count it and return `false`.
    pub fn push(&mut self, item: T) -> bool {
        match self.items.push_back(item) {
            Ok(()) => true,
            Err(_) => {
                self.dropped = self.dropped.saturating_add(1);
                false
            }
        }
    }

    /// The oldest item.
    pub fn pop(&mut self) -> Option<T> {
        self.items.pop_front()
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Items dropped because the outbox was full, since creation.
    pub const fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_is_counted() {
        let mut o: Outbox<u32, 2> = Outbox::new();
        assert!(o.push(1) && o.push(2));
        assert!(!o.push(3));
        assert_eq!((o.len(), o.dropped()), (2, 1));
        assert_eq!(o.pop(), Some(1));
        assert!(o.push(4));
        assert_eq!(o.pop(), Some(2));
        assert_eq!(o.pop(), Some(4));
        assert!(o.is_empty());
    }

    #[test]
    fn accessors() {
        let t = Instant::from_millis(7);
        let e = Event::QuorumLost(QuorumChange {
            healthy: 1,
            total: 3,
            time: t,
        });
        assert_eq!(
            (e.kind(), e.rank(), e.time()),
            (EventKind::QuorumLost, None, t)
        );
        let s = Event::StatusChanged(StatusChange {
            rank: 2,
            from: Health::Healthy,
            to: Health::Suspected,
            incarnation: 0,
            cause: Cause::BarrierTimeout,
            time: t,
        });
        assert_eq!((s.kind(), s.rank()), (EventKind::StatusChanged, Some(2)));
        assert_eq!(core::mem::size_of::<Event>(), 40);
    }
}
