//! The fieldless enums and flag constants of the coordinator's C ABI.
//!
//! Invariants:
//!
//! * Every enum is `#[repr(u32)]` with explicit values equal to the core enum's discriminant,
//!   so converting core → C is `as u8 as u32` and never loses information.
//! * Values coming from C are `uint32_t` and go through a `*_from_u32` function that rejects
//!   anything else (`FTF_UNKNOWN_ENUM` at the call site): no C value is ever transmuted.
//! * Struct fields that carry one of these enums are `uint32_t` too (a C23 enum type in a
//!   struct would change its size under some compilers).

use ftforest_core::coord::{HeartbeatMode, PauseTimeoutPolicy, Phase, Refusal, ReportKind};

/// A recovery phase (`uint32_t` in structs and arguments).
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ftf_phase {
    /// Not running.
    FTF_PHASE_IDLE = 0,
    /// Confirm what was lost.
    FTF_PHASE_DETECTING = 1,
    /// Move the failed partition's data to survivors.
    FTF_PHASE_REDISTRIBUTING = 2,
    /// Rebalance the forest.
    FTF_PHASE_REBALANCING = 3,
    /// Validate the ghost layer and invariants.
    FTF_PHASE_VALIDATING = 4,
    /// The attempt succeeded.
    FTF_PHASE_COMPLETE = 5,
    /// The attempt failed.
    FTF_PHASE_FAILED = 6,
}

/// What a report says about a partition.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ftf_report_kind {
    /// A barrier timed out waiting for the partition (failure).
    FTF_REPORT_BARRIER_TIMEOUT = 0,
    /// A barrier passed with the partition present (success).
    FTF_REPORT_BARRIER_PASSED = 1,
    /// Ghost-layer synchronisation with the partition failed (failure).
    FTF_REPORT_GHOST_SYNC_FAILURE = 2,
    /// Ghost-layer synchronisation succeeded (success).
    FTF_REPORT_GHOST_SYNC_SUCCESS = 3,
    /// A heartbeat from the partition arrived (success; feeds the heartbeat detector).
    FTF_REPORT_HEARTBEAT_RECEIVED = 4,
    /// An external detector saw a heartbeat missing (failure).
    FTF_REPORT_HEARTBEAT_MISSED = 5,
    /// The embedder says the partition is fine: a false alarm (success).
    FTF_REPORT_HEALTHY = 6,
    /// The partition is known dead: straight to FAILED (through SUSPECTED).
    FTF_REPORT_CRASHED = 7,
}

/// What a handled report did.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ftf_report_outcome {
    /// Counted; no transition.
    FTF_REPORT_COUNTED = 0,
    /// HEALTHY -> SUSPECTED.
    FTF_REPORT_SUSPECTED = 1,
    /// Now FAILED and handed to the recovery decision.
    FTF_REPORT_FAILED = 2,
    /// SUSPECTED -> HEALTHY (false alarm).
    FTF_REPORT_CLEARED = 3,
    /// Older incarnation: ignored.
    FTF_REPORT_STALE = 4,
    /// FAILED or RECOVERING: detection inputs no longer apply.
    FTF_REPORT_IGNORED = 5,
    /// ABSENT (not a member: it left, or has not joined): ignored entirely.
    FTF_REPORT_NOT_MEMBER = 6,
}

/// The kind of an `ftf_event`.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ftf_event_kind {
    /// A partition's health changed (`from`/`to` are `ftf_health`, `cause` an `ftf_cause`).
    FTF_EVENT_STATUS_CHANGED = 0,
    /// A recovery attempt changed phase (`from`/`to` are `ftf_phase`).
    FTF_EVENT_PHASE_CHANGED = 1,
    /// A partition entered the recovery queue (`cause` is an `ftf_queue_reason`).
    FTF_EVENT_RECOVERY_QUEUED = 2,
    /// A partition was escalated (`cause` is an `ftf_escalation_reason`).
    FTF_EVENT_ESCALATED = 3,
    /// Quorum was lost (`healthy`/`total`).
    FTF_EVENT_QUORUM_LOST = 4,
    /// Quorum was restored (`healthy`/`total`).
    FTF_EVENT_QUORUM_RESTORED = 5,
    /// A failed attempt will be retried (`number` = next attempt, `at_ns` = due time).
    FTF_EVENT_RETRY_SCHEDULED = 6,
    /// A recovery finished (`success`, `attempts`, `latency_ns`).
    FTF_EVENT_RECOVERY_FINISHED = 7,
    /// An attempt was granted its fence (`attempt`, `token`).
    FTF_EVENT_FENCE_GRANTED = 8,
    /// An attempt waiting for its fence ended without one (`attempt`, `cause` is an
    /// `ftf_refusal`): refused by the embedder, or abandoned by the coordinator (TIMED_OUT,
    /// UNAVAILABLE). No retry consumed.
    FTF_EVENT_FENCE_REFUSED = 9,
    /// Coordination became available or unavailable (`success` = available now).
    FTF_EVENT_AVAILABILITY_CHANGED = 10,
    /// A partition joined (`from` = ABSENT or FAILED, `to` = HEALTHY, `incarnation` = its new
    /// one); follows its STATUS_CHANGED (cause `FTF_CAUSE_JOINED`).
    FTF_EVENT_MEMBER_JOINED = 11,
    /// A partition left (`from` = its state before, `to` = ABSENT, `incarnation` = the life
    /// that left); follows its STATUS_CHANGED (cause `FTF_CAUSE_LEFT`). Not a failure.
    FTF_EVENT_MEMBER_LEFT = 12,
}

/// The kind of an `ftf_action`.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ftf_action_kind {
    /// Pause the cross-partition balancer (recovery mode entered).
    FTF_ACTION_PAUSE_BALANCER = 0,
    /// Pause automatic ghost synchronisation.
    FTF_ACTION_PAUSE_GHOST_SYNC = 1,
    /// Resume the balancer (recovery mode left).
    FTF_ACTION_RESUME_BALANCER = 2,
    /// Resume ghost synchronisation to its state before the pause.
    FTF_ACTION_RESUME_GHOST_SYNC = 3,
    /// Run phase `phase` of attempt `attempt` of `rank`, then call `_phase_done`.
    FTF_ACTION_RUN_PHASE = 4,
    /// Stop working on attempt `attempt` of `rank` (abandoned at the recovery timeout).
    FTF_ACTION_CANCEL_RECOVERY = 5,
    /// Fenced configurations: acquire the fence (cluster-wide lock) for attempt `attempt`
    /// (`number`) of `rank`, then answer with `ftf_coordinator_fence_granted` or
    /// `ftf_coordinator_fence_refused`. Handed out once per attempt; nothing is paused yet.
    FTF_ACTION_ACQUIRE_FENCE = 6,
    /// Fenced configurations: release the fence `job.fence` of attempt `attempt` of `rank`
    /// (it ended; `completed` says whether it completed). Exactly once per grant, before the
    /// resume hooks of the recovery-mode exit it causes.
    FTF_ACTION_RELEASE_FENCE = 7,
}

/// Why a fence was not granted (`ftf_coordinator_fence_refused`; `cause` of
/// `FTF_EVENT_FENCE_REFUSED`).
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ftf_refusal {
    /// Another process holds the partition's lock.
    FTF_REFUSAL_HELD = 0,
    /// K locks are held cluster-wide.
    FTF_REFUSAL_AT_CAPACITY = 1,
    /// The cluster-wide quorum check failed.
    FTF_REFUSAL_NO_QUORUM = 2,
    /// The fencing service could not be reached (or coordination became unavailable).
    FTF_REFUSAL_UNAVAILABLE = 3,
    /// Recovered elsewhere: the partition stays FAILED and unscheduled (until
    /// `ftf_coordinator_retry` or a membership change).
    FTF_REFUSAL_RECOVERED = 4,
    /// The fence wait reached its deadline.
    FTF_REFUSAL_TIMED_OUT = 5,
}

/// Why a partition's health changed (`cause` of `FTF_EVENT_STATUS_CHANGED`).
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ftf_cause {
    /// Consecutive failures reached the threshold; the last was a barrier timeout.
    FTF_CAUSE_BARRIER_TIMEOUT = 0,
    /// ... the last was a ghost-sync failure.
    FTF_CAUSE_GHOST_SYNC_FAILURE = 1,
    /// ... the last was a reported missed heartbeat.
    FTF_CAUSE_HEARTBEAT_MISSED = 2,
    /// The heartbeat detector's verdict.
    FTF_CAUSE_HEARTBEAT_TIMEOUT = 3,
    /// The embedder reported a crash.
    FTF_CAUSE_CRASHED = 4,
    /// The confirmation time elapsed while SUSPECTED.
    FTF_CAUSE_CONFIRMATION_TIMEOUT = 5,
    /// A barrier passed (false alarm).
    FTF_CAUSE_BARRIER_PASSED = 6,
    /// A ghost sync succeeded (false alarm).
    FTF_CAUSE_GHOST_SYNC_SUCCESS = 7,
    /// A heartbeat arrived (false alarm).
    FTF_CAUSE_HEARTBEAT_RECEIVED = 8,
    /// The embedder marked the partition healthy.
    FTF_CAUSE_MARKED_HEALTHY = 9,
    /// A recovery attempt took the lock.
    FTF_CAUSE_RECOVERY_STARTED = 10,
    /// Every phase completed.
    FTF_CAUSE_RECOVERY_SUCCEEDED = 11,
    /// A phase reported failure.
    FTF_CAUSE_RECOVERY_FAILED = 12,
    /// The recovery timeout expired.
    FTF_CAUSE_RECOVERY_TIMED_OUT = 13,
    /// The pause did not reach quiescence in time.
    FTF_CAUSE_PAUSE_TIMED_OUT = 14,
    /// The partition joined (ABSENT -> HEALTHY, or FAILED -> HEALTHY recovered elsewhere).
    FTF_CAUSE_JOINED = 15,
    /// The partition left (-> ABSENT): graceful, or decommissioned while FAILED.
    FTF_CAUSE_LEFT = 16,
}

/// Why a partition waits in the recovery queue.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ftf_queue_reason {
    /// K recoveries are running.
    FTF_QUEUE_CAPACITY = 0,
    /// Quorum only holds counting the recoveries in progress.
    FTF_QUEUE_AWAITING_RECOVERIES = 1,
    /// Quorum is lost; recovered when it returns.
    FTF_QUEUE_QUORUM_LOST = 2,
}

/// Why a partition was escalated.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ftf_escalation_reason {
    /// Quorum lost; the partition stays queued.
    FTF_ESCALATION_QUORUM_LOST = 0,
    /// Every retry failed; FAILED until `_retry`.
    FTF_ESCALATION_RETRIES_EXHAUSTED = 1,
    /// An attempt abandoned at its recovery timeout was not acknowledged within the cancel
    /// timeout (`ftf_coordinator_cancel_done`, or the abandoned phase's late result); the
    /// forest stays paused until it is.
    FTF_ESCALATION_CANCEL_UNACKNOWLEDGED = 2,
}

/// Overall health level.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ftf_level {
    /// Every partition HEALTHY.
    FTF_LEVEL_HEALTHY = 0,
    /// Some SUSPECTED, none failed.
    FTF_LEVEL_DEGRADED = 1,
    /// Some FAILED or RECOVERING; quorum holds.
    FTF_LEVEL_CRITICAL = 2,
    /// HEALTHY partitions are not a strict majority.
    FTF_LEVEL_QUORUM_LOST = 3,
}

/// What to do when the pause does not reach quiescence before the pause timeout.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ftf_pause_policy {
    /// Abandon the attempt, reopen the gate, retry later (default): never recover on a running
    /// forest.
    FTF_PAUSE_ABORT_AND_RETRY = 0,
    /// Run the recovery anyway (opt-in; counted and alerted).
    FTF_PAUSE_PROCEED = 1,
}

/// Which heartbeat detector runs.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ftf_heartbeat_mode {
    /// No heartbeat detection (default).
    FTF_HEARTBEAT_OFF = 0,
    /// Fixed suspicion and failure timeouts since the last heartbeat.
    FTF_HEARTBEAT_INTERVAL = 1,
    /// Exponential phi accrual, bounded by the fixed timeouts.
    FTF_HEARTBEAT_PHI = 2,
}

/// The heartbeat detector's opinion of one partition.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ftf_heartbeat_verdict {
    /// Heartbeats arrive in time (or detection is off).
    FTF_VERDICT_ALIVE = 0,
    /// Silent long enough to suspect.
    FTF_VERDICT_SUSPECT = 1,
    /// Silent long enough to declare failed.
    FTF_VERDICT_DEAD = 2,
}

/// How a barrier wait ended (returned by an `ftf_barrier_fn`).
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ftf_barrier_outcome {
    /// Everybody arrived.
    FTF_BARRIER_PASSED = 0,
    /// The timeout expired first.
    FTF_BARRIER_TIMED_OUT = 1,
}

/// Alert bit: healthy partitions below `min_healthy_percent`.
pub const FTF_ALERT_LOW_HEALTHY_RATIO: u32 = 1;
/// Alert bit: more FAILED/RECOVERING partitions than `max_failed`.
pub const FTF_ALERT_FAILED_PARTITIONS: u32 = 2;
/// Alert bit: average recovery latency above `max_avg_recovery`.
pub const FTF_ALERT_SLOW_RECOVERY: u32 = 4;
/// Alert bit: recovery attempts not (yet) succeeded, over the failures still open, above
/// `max_unrecovered` (the original's "attempted - succeeded > 5"; clears when they recover).
pub const FTF_ALERT_MANY_FAILURES: u32 = 8;
/// Alert bit: operations still in flight `max_pause_stall` into a pause.
pub const FTF_ALERT_PAUSE_STALLED: u32 = 16;
/// Alert bit: succeeded / finished recovery attempts below `min_success_permille`.
pub const FTF_ALERT_LOW_SUCCESS_RATE: u32 = 32;
/// Alert bit: more partitions in the recovery queue than `max_queue_depth`.
pub const FTF_ALERT_QUEUE_BACKLOG: u32 = 64;
/// Alert bit: more SUSPECTED partitions than `max_suspected`.
pub const FTF_ALERT_MANY_SUSPECTED: u32 = 128;
/// Alert bit: average detection latency above `max_avg_detection_ns`.
pub const FTF_ALERT_SLOW_DETECTION: u32 = 256;
/// Alert bit: coordination (the fencing service) is unavailable
/// (`ftf_coordinator_set_available`): no attempt asks for a fence or starts.
pub const FTF_ALERT_COORDINATION_UNAVAILABLE: u32 = 512;
/// Alert bit: an attempt abandoned at its recovery timeout is not acknowledged within the
/// cancel timeout (clears on the acknowledgement).
pub const FTF_ALERT_CANCEL_OVERDUE: u32 = 1 << 15;

// cbindgen cannot evaluate paths, so the bits are spelled out and checked here.
const _: () = {
    use ftforest_core::coord::Alerts;
    assert!(FTF_ALERT_LOW_HEALTHY_RATIO == Alerts::LOW_HEALTHY_RATIO.0);
    assert!(FTF_ALERT_FAILED_PARTITIONS == Alerts::FAILED_PARTITIONS.0);
    assert!(FTF_ALERT_SLOW_RECOVERY == Alerts::SLOW_RECOVERY.0);
    assert!(FTF_ALERT_MANY_FAILURES == Alerts::MANY_FAILURES.0);
    assert!(FTF_ALERT_PAUSE_STALLED == Alerts::PAUSE_STALLED.0);
    assert!(FTF_ALERT_LOW_SUCCESS_RATE == Alerts::LOW_SUCCESS_RATE.0);
    assert!(FTF_ALERT_QUEUE_BACKLOG == Alerts::QUEUE_BACKLOG.0);
    assert!(FTF_ALERT_MANY_SUSPECTED == Alerts::MANY_SUSPECTED.0);
    assert!(FTF_ALERT_SLOW_DETECTION == Alerts::SLOW_DETECTION.0);
    assert!(FTF_ALERT_COORDINATION_UNAVAILABLE == Alerts::COORDINATION_UNAVAILABLE.0);
    assert!(FTF_ALERT_CANCEL_OVERDUE == Alerts::CANCEL_OVERDUE.0);
};

/// Range-checks a phase from C.
pub(crate) fn phase_from_u32(v: u32) -> Option<Phase> {
    Some(match v {
        0 => Phase::Idle,
        1 => Phase::Detecting,
        2 => Phase::Redistributing,
        3 => Phase::Rebalancing,
        4 => Phase::Validating,
        5 => Phase::Complete,
        6 => Phase::Failed,
        _ => return None,
    })
}

/// Range-checks a refusal from C.
pub(crate) fn refusal_from_u32(v: u32) -> Option<Refusal> {
    Some(match v {
        0 => Refusal::Held,
        1 => Refusal::AtCapacity,
        2 => Refusal::NoQuorum,
        3 => Refusal::Unavailable,
        4 => Refusal::Recovered,
        5 => Refusal::TimedOut,
        _ => return None,
    })
}

/// Range-checks a report kind from C.
pub(crate) fn report_kind_from_u32(v: u32) -> Option<ReportKind> {
    ReportKind::ALL.get(usize::try_from(v).ok()?).copied()
}

/// Range-checks a pause policy from C.
pub(crate) fn pause_policy_from_u32(v: u32) -> Option<PauseTimeoutPolicy> {
    match v {
        0 => Some(PauseTimeoutPolicy::AbortAndRetry),
        1 => Some(PauseTimeoutPolicy::Proceed),
        _ => None,
    }
}

/// Range-checks a heartbeat mode from C.
pub(crate) fn heartbeat_mode_from_u32(v: u32) -> Option<HeartbeatMode> {
    match v {
        0 => Some(HeartbeatMode::Off),
        1 => Some(HeartbeatMode::Interval),
        2 => Some(HeartbeatMode::Phi),
        _ => None,
    }
}

/// The name of phase `phase` (`"DETECTING"`, ...) as a static NUL-terminated string;
/// `"UNKNOWN"` for a value that is not an `ftf_phase`. Never NULL.
#[no_mangle]
pub extern "C" fn ftf_phase_name(phase: u32) -> *const core::ffi::c_char {
    crate::panic::ffi_panic_boundary! {
        match phase_from_u32(phase) {
            Some(Phase::Idle) => c"IDLE".as_ptr(),
            Some(Phase::Detecting) => c"DETECTING".as_ptr(),
            Some(Phase::Redistributing) => c"REDISTRIBUTING".as_ptr(),
            Some(Phase::Rebalancing) => c"REBALANCING".as_ptr(),
            Some(Phase::Validating) => c"VALIDATING".as_ptr(),
            Some(Phase::Complete) => c"COMPLETE".as_ptr(),
            Some(Phase::Failed) => c"FAILED".as_ptr(),
            None => c"UNKNOWN".as_ptr(),
        }
    }
}

/// The name of health level `level` (`"HEALTHY"`, `"DEGRADED"`, `"CRITICAL"`,
/// `"QUORUM_LOST"`) as a static NUL-terminated string; `"UNKNOWN"` otherwise. Never NULL.
#[no_mangle]
pub extern "C" fn ftf_level_name(level: u32) -> *const core::ffi::c_char {
    crate::panic::ffi_panic_boundary! {
        match level {
            0 => c"HEALTHY".as_ptr(),
            1 => c"DEGRADED".as_ptr(),
            2 => c"CRITICAL".as_ptr(),
            3 => c"QUORUM_LOST".as_ptr(),
            _ => c"UNKNOWN".as_ptr(),
        }
    }
}

/// The name of event kind `kind` (`"STATUS_CHANGED"`, ...) as a static NUL-terminated string;
/// `"UNKNOWN"` otherwise. Never NULL.
#[no_mangle]
pub extern "C" fn ftf_event_kind_name(kind: u32) -> *const core::ffi::c_char {
    crate::panic::ffi_panic_boundary! {
        match kind {
            0 => c"STATUS_CHANGED".as_ptr(),
            1 => c"PHASE_CHANGED".as_ptr(),
            2 => c"RECOVERY_QUEUED".as_ptr(),
            3 => c"ESCALATED".as_ptr(),
            4 => c"QUORUM_LOST".as_ptr(),
            5 => c"QUORUM_RESTORED".as_ptr(),
            6 => c"RETRY_SCHEDULED".as_ptr(),
            7 => c"RECOVERY_FINISHED".as_ptr(),
            8 => c"FENCE_GRANTED".as_ptr(),
            9 => c"FENCE_REFUSED".as_ptr(),
            10 => c"AVAILABILITY_CHANGED".as_ptr(),
            11 => c"MEMBER_JOINED".as_ptr(),
            12 => c"MEMBER_LEFT".as_ptr(),
            _ => c"UNKNOWN".as_ptr(),
        }
    }
}

/// The name of cause `cause` (`"BARRIER_TIMEOUT"`, ...) as a static NUL-terminated string;
/// `"UNKNOWN"` otherwise. Never NULL.
#[no_mangle]
pub extern "C" fn ftf_cause_name(cause: u32) -> *const core::ffi::c_char {
    crate::panic::ffi_panic_boundary! {
        match cause {
            0 => c"BARRIER_TIMEOUT".as_ptr(),
            1 => c"GHOST_SYNC_FAILURE".as_ptr(),
            2 => c"HEARTBEAT_MISSED".as_ptr(),
            3 => c"HEARTBEAT_TIMEOUT".as_ptr(),
            4 => c"CRASHED".as_ptr(),
            5 => c"CONFIRMATION_TIMEOUT".as_ptr(),
            6 => c"BARRIER_PASSED".as_ptr(),
            7 => c"GHOST_SYNC_SUCCESS".as_ptr(),
            8 => c"HEARTBEAT_RECEIVED".as_ptr(),
            9 => c"MARKED_HEALTHY".as_ptr(),
            10 => c"RECOVERY_STARTED".as_ptr(),
            11 => c"RECOVERY_SUCCEEDED".as_ptr(),
            12 => c"RECOVERY_FAILED".as_ptr(),
            13 => c"RECOVERY_TIMED_OUT".as_ptr(),
            14 => c"PAUSE_TIMED_OUT".as_ptr(),
            15 => c"JOINED".as_ptr(),
            16 => c"LEFT".as_ptr(),
            _ => c"UNKNOWN".as_ptr(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ftforest_core::coord::Cause;

    #[test]
    fn c_values_match_core_discriminants() {
        for (i, p) in [
            Phase::Idle,
            Phase::Detecting,
            Phase::Redistributing,
            Phase::Rebalancing,
            Phase::Validating,
            Phase::Complete,
            Phase::Failed,
        ]
        .into_iter()
        .enumerate()
        {
            assert_eq!(phase_from_u32(i as u32), Some(p));
            assert_eq!(p as u8 as usize, i);
        }
        assert_eq!(phase_from_u32(7), None);
        for k in ReportKind::ALL {
            assert_eq!(report_kind_from_u32(k as u8 as u32), Some(k));
        }
        assert_eq!(report_kind_from_u32(8), None);
        assert_eq!(report_kind_from_u32(u32::MAX), None);
        assert_eq!(pause_policy_from_u32(2), None);
        assert_eq!(heartbeat_mode_from_u32(3), None);
        for v in 0..6 {
            assert_eq!(refusal_from_u32(v).map(|r| r as u8 as u32), Some(v));
        }
        assert_eq!(refusal_from_u32(6), None);
        assert_eq!(
            ftf_refusal::FTF_REFUSAL_TIMED_OUT as u32,
            Refusal::TimedOut as u8 as u32
        );
        assert_eq!(
            Cause::PauseTimedOut as u8 as u32,
            ftf_cause::FTF_CAUSE_PAUSE_TIMED_OUT as u32
        );
        // SAFETY: the name functions return static NUL-terminated strings.
        let name = unsafe { core::ffi::CStr::from_ptr(ftf_cause_name(14)) };
        assert_eq!(name.to_bytes(), b"PAUSE_TIMED_OUT");
        // Runtime membership (issue 8).
        use ftforest_core::coord::{EventKind, ReportOutcome};
        assert_eq!(
            Cause::Joined as u8 as u32,
            ftf_cause::FTF_CAUSE_JOINED as u32
        );
        assert_eq!(Cause::Left as u8 as u32, ftf_cause::FTF_CAUSE_LEFT as u32);
        assert_eq!(
            EventKind::MemberJoined as u8 as u32,
            ftf_event_kind::FTF_EVENT_MEMBER_JOINED as u32
        );
        assert_eq!(
            EventKind::MemberLeft as u8 as u32,
            ftf_event_kind::FTF_EVENT_MEMBER_LEFT as u32
        );
        assert_eq!(
            ReportOutcome::NotMember as u8 as u32,
            ftf_report_outcome::FTF_REPORT_NOT_MEMBER as u32
        );
        // SAFETY: as above.
        let name = unsafe { core::ffi::CStr::from_ptr(ftf_event_kind_name(12)) };
        assert_eq!(name.to_bytes(), b"MEMBER_LEFT");
        // SAFETY: as above.
        let name = unsafe { core::ffi::CStr::from_ptr(ftf_cause_name(15)) };
        assert_eq!(name.to_bytes(), b"JOINED");
    }
}
