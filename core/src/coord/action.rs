//! Actions: the work the coordinator hands to the embedder (sans-io: it does none itself).
//!
//! Actions are not queued records that could overflow; they are derived from state when the
//! embedder polls, in this order:
//!
//! 1. [`Action::CancelRecovery`] once for every attempt abandoned at the recovery timeout
//!    while its phase was handed out. Handing it out frees nothing: the attempt keeps its
//!    recovery slot, lock permit and recovery-mode count until the embedder acknowledges
//!    that the phase stopped (`Coordinator::cancel_done`, or the abandoned phase's late
//!    `phase_done`);
//! 2. [`Action::ReleaseFence`] once for every attempt that was granted a fence and ended
//!    (fenced configurations, `fence.rs`): they wait in a queue of at most `R` records
//!    (never dropped: an attempt asks for a fence only while granted fences plus releases
//!    not yet handed out stay below K), so a release always comes before the resume hooks
//!    of the recovery-mode exit its attempt caused;
//! 3. the balancer/ghost-sync hooks: [`Hooks`] remembers what the embedder was last told
//!    (`paused` or not) and emits the difference to the desired state (recovery mode active
//!    or not). Pause/resume pairs that happen between two polls cancel out, so the embedder
//!    never sees a resume after the pause it should honour; the pauses always come before
//!    any `RunPhase` of the same poll sequence;
//! 4. [`Action::AcquireFence`] once for every attempt that holds its lock permit and waits
//!    for a fence (fenced configurations only; not while coordination is unavailable);
//! 5. [`Action::RunPhase`] for every running attempt whose current phase was not handed out
//!    yet (several at once: recoveries of different partitions run concurrently, up to K,
//!    unlike the Java single-thread executor, B21).

use super::phase::Phase;

/// "Run this phase of this attempt, then call `phase_done`."
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct PhaseJob {
    /// The partition being recovered.
    pub rank: u32,
    /// The attempt's unique id (non-zero); quote it in `phase_done`.
    pub attempt: u32,
    /// The attempt's number for this failure, from 1 (B13).
    pub number: u32,
    /// The phase to run ([`Phase::Detecting`]..=[`Phase::Validating`]).
    pub phase: Phase,
    /// The fencing token the attempt was granted
    /// ([`Coordinator::fence_granted`](super::Coordinator::fence_granted)); every write the
    /// phase makes should carry it so that a stale recoverer is refused by the receiver.
    /// 0 when the configuration is not fenced.
    pub fence: u64,
}

/// "Acquire the fence (the cluster-wide recovery lock) for this attempt, then answer with
/// [`Coordinator::fence_granted`](super::Coordinator::fence_granted) or
/// [`Coordinator::fence_refused`](super::Coordinator::fence_refused)." Handed out once per
/// attempt; the attempt holds a local lock permit but has paused nothing yet.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct FenceJob {
    /// The partition to recover.
    pub rank: u32,
    /// The attempt's unique id (non-zero); quote it in the answer.
    pub attempt: u32,
    /// The number the attempt will have for this failure once granted, from 1.
    pub number: u32,
}

/// "Release the fence granted to this attempt": the attempt ended. Handed out exactly once
/// for every granted attempt (not when the coordinator is dropped), before the resume hooks
/// of the recovery-mode exit it caused.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct FenceRelease {
    /// The partition.
    pub rank: u32,
    /// The attempt's id.
    pub attempt: u32,
    /// The token it was granted (non-zero).
    pub token: u64,
    /// `true` only when the attempt completed (the partition is HEALTHY again); `false`
    /// after a failed phase, a recovery timeout (once the cancel was acknowledged), a pause
    /// abort or escalation.
    pub completed: bool,
}

/// "Stop working on this attempt, then acknowledge"
/// ([`Coordinator::cancel_done`](super::Coordinator::cancel_done), or the abandoned phase's
/// late `phase_done`, whose result is ignored). Until acknowledged the forest stays paused.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct CancelJob {
    /// The partition.
    pub rank: u32,
    /// The abandoned attempt's id.
    pub attempt: u32,
}

/// Work for the embedder.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Pause the cross-partition balancer (recovery mode entered).
    PauseBalancer,
    /// Pause automatic ghost synchronisation.
    PauseGhostSync,
    /// Resume the balancer (recovery mode left).
    ResumeBalancer,
    /// Resume ghost synchronisation *to the state it had before the pause* (the Java
    /// forest force-enabled it, B21).
    ResumeGhostSync,
    /// Run a phase.
    RunPhase(PhaseJob),
    /// Cancel an abandoned attempt (then acknowledge it).
    CancelRecovery(CancelJob),
    /// Acquire a fence for an attempt (fenced configurations; then answer it).
    AcquireFence(FenceJob),
    /// Release a granted fence (fenced configurations; the attempt ended).
    ReleaseFence(FenceRelease),
}

/// The action's kind, fieldless (C tag).
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// [`Action::PauseBalancer`].
    PauseBalancer = 0,
    /// [`Action::PauseGhostSync`].
    PauseGhostSync = 1,
    /// [`Action::ResumeBalancer`].
    ResumeBalancer = 2,
    /// [`Action::ResumeGhostSync`].
    ResumeGhostSync = 3,
    /// [`Action::RunPhase`].
    RunPhase = 4,
    /// [`Action::CancelRecovery`].
    CancelRecovery = 5,
    /// [`Action::AcquireFence`].
    AcquireFence = 6,
    /// [`Action::ReleaseFence`].
    ReleaseFence = 7,
}

impl Action {
    /// The kind.
    pub const fn kind(&self) -> ActionKind {
        match self {
            Action::PauseBalancer => ActionKind::PauseBalancer,
            Action::PauseGhostSync => ActionKind::PauseGhostSync,
            Action::ResumeBalancer => ActionKind::ResumeBalancer,
            Action::ResumeGhostSync => ActionKind::ResumeGhostSync,
            Action::RunPhase(_) => ActionKind::RunPhase,
            Action::CancelRecovery(_) => ActionKind::CancelRecovery,
            Action::AcquireFence(_) => ActionKind::AcquireFence,
            Action::ReleaseFence(_) => ActionKind::ReleaseFence,
        }
    }
}

/// What the embedder was last told about the balancer and ghost sync.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Hooks {
    balancer_paused: bool,
    ghost_paused: bool,
}

impl Hooks {
    /// The next hook action that brings the embedder to `paused`, if any.
    pub(crate) fn next(&mut self, paused: bool) -> Option<Action> {
        if self.balancer_paused != paused {
            self.balancer_paused = paused;
            return Some(if paused {
                Action::PauseBalancer
            } else {
                Action::ResumeBalancer
            });
        }
        if self.ghost_paused != paused {
            self.ghost_paused = paused;
            return Some(if paused {
                Action::PauseGhostSync
            } else {
                Action::ResumeGhostSync
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_emit_differences_only() {
        let mut h = Hooks::default();
        assert_eq!(h.next(false), None);
        assert_eq!(h.next(true), Some(Action::PauseBalancer));
        assert_eq!(h.next(true), Some(Action::PauseGhostSync));
        assert_eq!(h.next(true), None);
        assert_eq!(h.next(false), Some(Action::ResumeBalancer));
        assert_eq!(h.next(false), Some(Action::ResumeGhostSync));
        assert_eq!(h.next(false), None);
        assert_eq!(Action::ResumeGhostSync.kind(), ActionKind::ResumeGhostSync);
    }
}
