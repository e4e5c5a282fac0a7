//! Error values of the coordinator's fallible verbs (one enum per verb; `Copy`, `Debug`,
//! `Display`, `PartialEq`, `#[non_exhaustive]`). Every error leaves the coordinator unchanged.

use core::fmt;

use super::config_error::ConfigError;
use super::phase::Phase;
use crate::lock::LockConfigError;
use crate::queue::QueueConfigError;
use crate::table::TableError;

/// Why [`Coordinator::new`](super::Coordinator::new) refused its arguments.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NewError {
    /// An invalid configuration field.
    Config(ConfigError),
    /// The health cells (see [`TableError`]).
    Table(TableError),
    /// The lock slots (see [`LockConfigError`]).
    Lock(LockConfigError),
    /// The queue slots (see [`QueueConfigError`]).
    Queue(QueueConfigError),
    /// The queue cannot hold every partition (`queue_storage_len(n, n)` slots needed).
    QueueTooSmall {
        /// Ring capacity the storage gives.
        capacity: u32,
        /// Partitions.
        n: u32,
    },
    /// Fewer than `n` partition slots.
    SlotsTooSmall {
        /// Partitions.
        n: u32,
        /// Slots given.
        len: usize,
    },
    /// Per-partition statistics storage given, but fewer than `n` slots (`new_with_stats`).
    StatsTooSmall {
        /// Partitions.
        n: u32,
        /// Statistics slots given.
        len: usize,
    },
    /// The event outbox `E` cannot hold one step's events.
    OutboxTooSmall {
        /// `E`.
        capacity: usize,
        /// [`MAX_EVENTS_PER_STEP`](super::MAX_EVENTS_PER_STEP).
        needed: usize,
    },
    /// The heap storage for `n` partitions could not be allocated (feature `std`:
    /// `new_boxed`, `try_boxed_storage`, `Monitor::new`). Nothing was kept.
    OutOfMemory {
        /// Partitions asked for.
        n: u32,
    },
}

impl fmt::Display for NewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NewError::Config(e) => fmt::Display::fmt(e, f),
            NewError::Table(e) => fmt::Display::fmt(e, f),
            NewError::Lock(e) => fmt::Display::fmt(e, f),
            NewError::Queue(e) => fmt::Display::fmt(e, f),
            NewError::QueueTooSmall { capacity, n } => {
                write!(f, "recovery queue holds {capacity} ranks, {n} needed")
            }
            NewError::SlotsTooSmall { n, len } => {
                write!(f, "{len} partition slots given, {n} needed")
            }
            NewError::StatsTooSmall { n, len } => {
                write!(f, "{len} partition statistics slots given, {n} needed")
            }
            NewError::OutboxTooSmall { capacity, needed } => {
                write!(f, "event outbox holds {capacity} events, {needed} needed")
            }
            NewError::OutOfMemory { n } => {
                write!(f, "cannot allocate the storage for {n} partitions")
            }
        }
    }
}

/// Why [`Coordinator::phase_done`](super::Coordinator::phase_done) refused a completion. Nothing changed.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PhaseDoneError {
    /// `rank >= n`.
    UnknownPartition,
    /// No running attempt has this id for this partition (it finished, was abandoned at its
    /// recovery timeout and acknowledged, or never existed). The first late result of an
    /// abandoned, unacknowledged attempt is not an error: it is the acknowledgement.
    StaleAttempt,
    /// The attempt's current phase was not handed out by `poll_action` yet.
    NotRequested,
    /// Another phase is running: a skipped or repeated phase (for an abandoned attempt:
    /// not the abandoned phase).
    OutOfOrder {
        /// The running phase.
        expected: Phase,
        /// The phase reported.
        got: Phase,
    },
    /// The event outbox has no room for this step's events: drain `poll_event`, then call
    /// again (backpressure; nothing changed).
    OutboxFull,
}

impl fmt::Display for PhaseDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhaseDoneError::UnknownPartition => f.write_str("unknown partition"),
            PhaseDoneError::StaleAttempt => f.write_str("no such running recovery attempt"),
            PhaseDoneError::NotRequested => f.write_str("phase was not handed out yet"),
            PhaseDoneError::OutOfOrder { expected, got } => {
                write!(f, "phase {got} reported while {expected} is running")
            }
            PhaseDoneError::OutboxFull => f.write_str("event outbox full: drain events first"),
        }
    }
}

/// Why [`Coordinator::retry`](super::Coordinator::retry) did nothing.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RetryError {
    /// `rank >= n`.
    UnknownPartition,
    /// The partition is not FAILED.
    NotFailed,
    /// The partition is FAILED but already queued, backing off or recovering: it will be
    /// retried without help.
    AlreadyScheduled,
    /// The partition's last attempt was abandoned at its recovery timeout and its cancel is
    /// not acknowledged yet (its phase may still run): acknowledge it first
    /// ([`Coordinator::cancel_done`](super::Coordinator::cancel_done)).
    Cancelling,
    /// The event outbox has no room for this step's events: drain `poll_event`, then call
    /// again (backpressure; nothing changed).
    OutboxFull,
}

impl fmt::Display for RetryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RetryError::UnknownPartition => "unknown partition",
            RetryError::NotFailed => "partition is not FAILED",
            RetryError::AlreadyScheduled => "partition is already scheduled for recovery",
            RetryError::Cancelling => "the partition's abandoned attempt is not acknowledged yet",
            RetryError::OutboxFull => "event outbox full: drain events first",
        })
    }
}

/// Why [`Coordinator::cancel_done`](super::Coordinator::cancel_done) refused an
/// acknowledgement. Nothing changed.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum CancelDoneError {
    /// `rank >= n`.
    UnknownPartition,
    /// No attempt of this partition with this id waits for its cancel to be acknowledged
    /// (never abandoned, already acknowledged, or never existed).
    NotCancelling,
}

impl fmt::Display for CancelDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CancelDoneError::UnknownPartition => "unknown partition",
            CancelDoneError::NotCancelling => "no abandoned attempt with this id awaits its cancel",
        })
    }
}

/// Why [`Coordinator::fence_granted`](super::Coordinator::fence_granted) or
/// [`Coordinator::fence_refused`](super::Coordinator::fence_refused) refused an answer.
/// Nothing changed.
///
/// **A refused grant is not used.** Whatever the adapter acquired for it (the cluster-wide
/// lock and its token) must be released by the adapter, except in two cases that
/// [`FenceError::must_release`] spells out: [`FenceError::OutboxFull`] (drain `poll_event`
/// and answer again) and [`FenceError::AlreadyGranted`] naming the same token (a duplicate
/// answer: that token is the running attempt's, released later through its
/// [`Action::ReleaseFence`](super::Action::ReleaseFence)).
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FenceError {
    /// `rank >= n`.
    UnknownPartition,
    /// The configuration is not fenced ([`Config::fenced`](super::Config::fenced)): no
    /// attempt ever waits for a fence.
    NotFenced,
    /// A grant with token 0 (tokens are non-zero: 0 means "unfenced" in a `PhaseJob`).
    ZeroToken,
    /// No attempt of this partition with this id exists (it ended, was refused, or never
    /// existed).
    StaleAttempt,
    /// The coordinator abandoned this attempt while it waited for its fence (the wait
    /// reached its deadline, or coordination became unavailable; a
    /// [`FenceRefused`](super::Event::FenceRefused) event said so). The grant came too late.
    /// Remembered for the last `R` abandoned attempts; older ones read as `StaleAttempt`.
    Abandoned,
    /// The attempt's [`Action::AcquireFence`](super::Action::AcquireFence) was not handed
    /// out yet: nobody could have asked for this fence.
    NotRequested,
    /// The attempt is not waiting for a fence any more: it was granted `token` already (a
    /// second grant, or a refusal after the grant).
    AlreadyGranted {
        /// The token the attempt runs with.
        token: u64,
    },
    /// Coordination is unavailable (`Coordinator::set_available`):
    /// no attempt starts. The attempt is abandoned by the next step (a `FenceRefused` event
    /// with [`Refusal::Unavailable`](super::Refusal::Unavailable)).
    Unavailable,
    /// The event outbox has no room for this step's events: drain `poll_event`, then answer
    /// again (backpressure; nothing changed).
    OutboxFull,
}

impl FenceError {
    /// Whether the adapter must release the fence (lock) it holds for the refused grant of
    /// `token`: `true` for every error except [`FenceError::OutboxFull`] (answer again) and
    /// [`FenceError::AlreadyGranted`] with this very token (a duplicate grant: the attempt
    /// runs with it and its release comes as an action).
    pub const fn must_release(&self, token: u64) -> bool {
        match self {
            FenceError::OutboxFull => false,
            FenceError::AlreadyGranted { token: t } => *t != token,
            _ => true,
        }
    }
}

impl fmt::Display for FenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FenceError::UnknownPartition => f.write_str("unknown partition"),
            FenceError::NotFenced => f.write_str("the configuration is not fenced"),
            FenceError::ZeroToken => f.write_str("fencing tokens are non-zero"),
            FenceError::StaleAttempt => f.write_str("no such recovery attempt"),
            FenceError::Abandoned => {
                f.write_str("the attempt was abandoned while it waited for its fence")
            }
            FenceError::NotRequested => f.write_str("the fence was not asked for yet"),
            FenceError::AlreadyGranted { token } => {
                write!(f, "the attempt was already granted token {token}")
            }
            FenceError::Unavailable => f.write_str("coordination is unavailable"),
            FenceError::OutboxFull => f.write_str("event outbox full: drain events first"),
        }
    }
}
