//! Outcomes and error values of the [`Tracker`](super::Tracker) verbs: one enum per
//! fallible verb, all `Copy`, `Debug`, `Display`, `PartialEq` and `#[non_exhaustive]`.

use core::fmt;

/// Why [`Tracker::begin`](super::Tracker::begin) (and its variants) admitted no operation.
///
/// A rejected begin has no lasting effect: its transient increment is rolled back (and the
/// rollback wakes a waiting pauser when it empties the stripe).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BeginError {
    /// The tracker is paused: rejected at once, never blocked, never queued.
    Paused,
    /// The caller's stripe already holds 2^30 − 1 operations in flight.
    Overflow,
    /// `begin_wait` only: the deadline passed while the tracker stayed paused.
    TimedOut,
}

/// How a wait for quiescence ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitOutcome {
    /// The tracker is paused and no operation is in flight; none can begin until the last
    /// pause is resumed. Everything done by the ended operations happens-before the return.
    Quiescent,
    /// The deadline passed with operations still in flight. The tracker stays paused: wait
    /// again or resume.
    TimedOut,
    /// The tracker is not paused (never was, or every pause was resumed while waiting), so
    /// there is no quiescence to wait for. Never returned to a waiter that holds a pause.
    NotPaused,
}

/// Why [`Tracker::end_token`](super::Tracker::end_token) refused a token.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndError {
    /// The token was issued by another tracker (or names a stripe this tracker lacks).
    ForeignToken,
    /// No operation is in flight on the token's stripe: the token was already ended.
    NotInFlight,
}

/// Why [`Tracker::resume_token`](super::Tracker::resume_token) refused a token.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResumeError {
    /// The token was issued by another tracker.
    ForeignToken,
    /// The token's pause is not held: it was already resumed (double or stale resume) or
    /// never issued. Nothing was reopened.
    NotPaused,
}

/// Why [`Tracker::pause`](super::Tracker::pause) could not take a pause.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PauseError {
    /// All [`MAX_PAUSERS`](super::MAX_PAUSERS) pause slots are held.
    TooManyPausers,
}

impl fmt::Display for BeginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BeginError::Paused => "operations are paused",
            BeginError::Overflow => "too many operations in flight on this stripe",
            BeginError::TimedOut => "deadline passed while operations stayed paused",
        })
    }
}

impl fmt::Display for WaitOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WaitOutcome::Quiescent => "quiescent",
            WaitOutcome::TimedOut => "timed out with operations in flight",
            WaitOutcome::NotPaused => "not paused",
        })
    }
}

impl fmt::Display for EndError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndError::ForeignToken => "operation token belongs to another tracker",
            EndError::NotInFlight => "no operation in flight for this token",
        })
    }
}

impl fmt::Display for ResumeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResumeError::ForeignToken => "pause token belongs to another tracker",
            ResumeError::NotPaused => "pause token is not held (already resumed or stale)",
        })
    }
}

impl fmt::Display for PauseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PauseError::TooManyPausers => "all pause slots are held",
        })
    }
}

impl core::error::Error for BeginError {}
impl core::error::Error for EndError {}
impl core::error::Error for ResumeError {}
impl core::error::Error for PauseError {}
