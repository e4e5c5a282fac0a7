//! Events and actions as flat `#[repr(C)]` structs (no unions: cbindgen-safe, C-simple).
//!
//! Invariants:
//!
//! * Each struct has a `kind` tag (`ftf_event_kind` / `ftf_action_kind`) and a fixed set of
//!   fields; a field that does not apply to the kind is zero (documented per field). Ranks that
//!   do not apply (quorum events) are `FTF_NO_RANK`.
//! * Times are the `now_ns` of the call that caused the event, on the caller's time line
//!   (the coordinator never reads a clock); durations are nanoseconds.

use ftforest_core::coord::{Action, CancelJob, Event, EventKind, PhaseJob};
use ftforest_core::Health;

use crate::config::duration_ns;

/// `rank` of an event that concerns no single partition (quorum lost/restored).
pub const FTF_NO_RANK: u32 = u32::MAX;

/// Something observers may want to know (see `ftf_event_kind` for the fields used).
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ftf_event {
    /// An `ftf_event_kind`.
    pub kind: u32,
    /// The partition, or `FTF_NO_RANK` for quorum events.
    pub rank: u32,
    /// When it happened (the caller's `now_ns`).
    pub time_ns: u64,
    /// STATUS_CHANGED, MEMBER_JOINED, MEMBER_LEFT: previous `ftf_health`; PHASE_CHANGED:
    /// previous `ftf_phase`.
    pub from: u32,
    /// STATUS_CHANGED: new `ftf_health`; MEMBER_JOINED: `FTF_HEALTH_HEALTHY`; MEMBER_LEFT:
    /// `FTF_HEALTH_ABSENT`; PHASE_CHANGED: new `ftf_phase`.
    pub to: u32,
    /// STATUS_CHANGED: the incarnation after the change; MEMBER_JOINED: the new
    /// incarnation; MEMBER_LEFT: the incarnation of the life that left.
    pub incarnation: u32,
    /// STATUS_CHANGED: an `ftf_cause`; RECOVERY_QUEUED: an `ftf_queue_reason`;
    /// ESCALATED: an `ftf_escalation_reason`.
    pub cause: u32,
    /// PHASE_CHANGED: the attempt id.
    pub attempt: u32,
    /// PHASE_CHANGED: the attempt number (from 1); RETRY_SCHEDULED: the next attempt's
    /// number; RECOVERY_FINISHED: attempts made.
    pub number: u32,
    /// RECOVERY_QUEUED: queue depth after insertion; QUORUM_*: HEALTHY partitions.
    pub count: u32,
    /// QUORUM_*: the current members (ABSENT partitions are not counted).
    pub total: u32,
    /// RECOVERY_FINISHED: whether the partition is HEALTHY again.
    pub success: bool,
    /// RETRY_SCHEDULED: when the retry is due.
    pub at_ns: u64,
    /// RECOVERY_FINISHED: FAILED to finished, in nanoseconds.
    pub latency_ns: u64,
}

impl From<Event> for ftf_event {
    fn from(e: Event) -> Self {
        let mut c = ftf_event {
            kind: e.kind() as u8 as u32,
            rank: e.rank().unwrap_or(FTF_NO_RANK),
            time_ns: e.time().as_nanos(),
            ..Default::default()
        };
        match e {
            Event::StatusChanged(s) => {
                c.from = u32::from(s.from.as_u8());
                c.to = u32::from(s.to.as_u8());
                c.incarnation = s.incarnation;
                c.cause = s.cause as u8 as u32;
            }
            Event::PhaseChanged(p) => {
                c.from = p.from as u8 as u32;
                c.to = p.to as u8 as u32;
                c.attempt = p.attempt;
                c.number = p.number;
            }
            Event::RecoveryQueued(q) => {
                c.count = q.depth;
                c.cause = q.reason as u8 as u32;
            }
            Event::Escalated(x) => {
                c.cause = x.reason as u8 as u32;
            }
            Event::QuorumLost(q) | Event::QuorumRestored(q) => {
                c.count = q.healthy;
                c.total = q.total;
            }
            Event::RetryScheduled(r) => {
                c.number = r.next_number;
                c.at_ns = r.at.as_nanos();
            }
            Event::RecoveryFinished(f) => {
                c.success = f.success;
                c.number = f.attempts;
                c.latency_ns = duration_ns(f.latency);
            }
            Event::MemberJoined(m) | Event::MemberLeft(m) => {
                c.from = u32::from(m.from.as_u8());
                c.to = u32::from(if e.kind() == EventKind::MemberJoined {
                    Health::Healthy.as_u8()
                } else {
                    Health::Absent.as_u8()
                });
                c.incarnation = m.incarnation;
            }
        }
        c
    }
}

/// One phase to run: run it, then report the result with `_phase_done` quoting `attempt`.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ftf_phase_job {
    /// The partition being recovered.
    pub rank: u32,
    /// The attempt's unique id (non-zero).
    pub attempt: u32,
    /// The attempt's number for this failure, from 1.
    pub number: u32,
    /// The `ftf_phase` to run (DETECTING..VALIDATING; for a cancel: the phase abandoned, or
    /// `FTF_PHASE_IDLE` when unknown).
    pub phase: u32,
}

impl From<PhaseJob> for ftf_phase_job {
    fn from(j: PhaseJob) -> Self {
        ftf_phase_job {
            rank: j.rank,
            attempt: j.attempt,
            number: j.number,
            phase: j.phase as u8 as u32,
        }
    }
}

impl From<CancelJob> for ftf_phase_job {
    fn from(j: CancelJob) -> Self {
        ftf_phase_job {
            rank: j.rank,
            attempt: j.attempt,
            number: 0,
            phase: 0,
        }
    }
}

/// Work for the embedder (see `ftf_action_kind`).
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ftf_action {
    /// An `ftf_action_kind`.
    pub kind: u32,
    /// RUN_PHASE / CANCEL_RECOVERY: the job; zero for the hook actions.
    pub job: ftf_phase_job,
}

impl From<Action> for ftf_action {
    fn from(a: Action) -> Self {
        let job = match a {
            Action::RunPhase(j) => j.into(),
            Action::CancelRecovery(j) => j.into(),
            _ => ftf_phase_job::default(),
        };
        ftf_action {
            kind: a.kind() as u8 as u32,
            job,
        }
    }
}
