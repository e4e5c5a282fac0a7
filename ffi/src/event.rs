//! Events and actions as flat `#[repr(C)]` structs (no unions: cbindgen-safe, C-simple).
//!
//! Invariants:
//!
//! * Each struct has a `kind` tag (`ftf_event_kind` / `ftf_action_kind`) and a fixed set of
//!   fields; a field that does not apply to the kind is zero (documented per field). Ranks that
//!   do not apply (quorum events) are `FTF_NO_RANK`.
//! * Times are the `now_ns` of the call that caused the event, on the caller's time line
//!   (the coordinator never reads a clock); durations are nanoseconds.

use ftforest_core::coord::{Action, CancelJob, Event, EventKind, FenceJob, FenceRelease, PhaseJob};
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
    /// ESCALATED: an `ftf_escalation_reason`; FENCE_REFUSED: an `ftf_refusal`.
    pub cause: u32,
    /// PHASE_CHANGED, FENCE_GRANTED, FENCE_REFUSED: the attempt id.
    pub attempt: u32,
    /// PHASE_CHANGED: the attempt number (from 1); RETRY_SCHEDULED: the next attempt's
    /// number; RECOVERY_FINISHED: attempts made.
    pub number: u32,
    /// RECOVERY_QUEUED: queue depth after insertion; QUORUM_*: HEALTHY partitions.
    pub count: u32,
    /// QUORUM_*: the current members (ABSENT partitions are not counted).
    pub total: u32,
    /// RECOVERY_FINISHED: whether the partition is HEALTHY again; AVAILABILITY_CHANGED:
    /// whether coordination is available now.
    pub success: bool,
    /// RETRY_SCHEDULED: when the retry is due.
    pub at_ns: u64,
    /// RECOVERY_FINISHED: FAILED to finished, in nanoseconds.
    pub latency_ns: u64,
    /// FENCE_GRANTED: the fencing token (non-zero).
    pub token: u64,
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
            Event::FenceGranted(g) => {
                c.attempt = g.attempt;
                c.token = g.token;
            }
            Event::FenceRefused(r) => {
                c.attempt = r.attempt;
                c.cause = r.refusal as u8 as u32;
            }
            Event::AvailabilityChanged(a) => {
                c.success = a.available;
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
    /// `FTF_PHASE_IDLE` when unknown; `FTF_PHASE_IDLE` for the fence actions).
    pub phase: u32,
    /// RUN_PHASE: the attempt's fencing token (every write of the phase should carry it;
    /// 0 when the configuration is not fenced); RELEASE_FENCE: the token to release;
    /// 0 otherwise.
    pub fence: u64,
}

impl From<PhaseJob> for ftf_phase_job {
    fn from(j: PhaseJob) -> Self {
        ftf_phase_job {
            rank: j.rank,
            attempt: j.attempt,
            number: j.number,
            phase: j.phase as u8 as u32,
            fence: j.fence,
        }
    }
}

impl From<FenceJob> for ftf_phase_job {
    fn from(j: FenceJob) -> Self {
        ftf_phase_job {
            rank: j.rank,
            attempt: j.attempt,
            number: j.number,
            phase: 0,
            fence: 0,
        }
    }
}

impl From<FenceRelease> for ftf_phase_job {
    fn from(r: FenceRelease) -> Self {
        ftf_phase_job {
            rank: r.rank,
            attempt: r.attempt,
            number: 0,
            phase: 0,
            fence: r.token,
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
            fence: 0,
        }
    }
}

/// Work for the embedder (see `ftf_action_kind`).
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ftf_action {
    /// An `ftf_action_kind`.
    pub kind: u32,
    /// RUN_PHASE / CANCEL_RECOVERY / ACQUIRE_FENCE / RELEASE_FENCE: the job (for
    /// RELEASE_FENCE, `job.fence` is the token); zero for the hook actions.
    pub job: ftf_phase_job,
    /// RELEASE_FENCE: whether the attempt completed (the partition is HEALTHY again);
    /// false otherwise.
    pub completed: bool,
}

impl From<Action> for ftf_action {
    fn from(a: Action) -> Self {
        let (job, completed) = match a {
            Action::RunPhase(j) => (j.into(), false),
            Action::CancelRecovery(j) => (j.into(), false),
            Action::AcquireFence(j) => (j.into(), false),
            Action::ReleaseFence(r) => (r.into(), r.completed),
            _ => (ftf_phase_job::default(), false),
        };
        ftf_action {
            kind: a.kind() as u8 as u32,
            job,
            completed,
        }
    }
}
