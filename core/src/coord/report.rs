//! Inputs to detection: one [`Report`] per observation about one partition.
//!
//! A report names the partition by dense rank, says what was observed ([`ReportKind`]) and may
//! carry the incarnation the observer believed current. The time of the observation is the
//! `now` argument of [`Coordinator::handle_report`](super::Coordinator::handle_report).
//!
//! Kinds split into *failures* (count towards suspicion), *successes* (end a failure streak,
//! B7), and one *definitive* kind ([`ReportKind::Crashed`]) for an embedder that observed the
//! partition's death directly. Every failure and success but [`ReportKind::Healthy`] belongs to
//! one [`Signal`] (barrier, ghost sync, heartbeat): a success ends the streak of *its own*
//! signal only, so a live heartbeat never hides a wedged barrier (see `detect.rs` for the full
//! table); `Healthy` is the embedder's word for the whole partition and ends every streak. A
//! report whose incarnation is not the partition's current one is *stale*: it describes a
//! previous life and is ignored entirely (memberlist refutation; Java had no incarnations).

use core::fmt;

/// What was observed.
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReportKind {
    /// A barrier with a timeout expired waiting for the partition (failure).
    BarrierTimeout = 0,
    /// A barrier passed with the partition present (success).
    BarrierPassed = 1,
    /// Ghost-layer synchronisation with the partition failed (failure).
    GhostSyncFailure = 2,
    /// Ghost-layer synchronisation with the partition succeeded (success).
    GhostSyncSuccess = 3,
    /// A heartbeat from the partition arrived (success; feeds the heartbeat detector).
    HeartbeatReceived = 4,
    /// An external detector saw a heartbeat missing (failure).
    HeartbeatMissed = 5,
    /// The embedder says the partition is fine: a false alarm (success).
    Healthy = 6,
    /// The partition is known dead (process exit, connection reset): HEALTHY or SUSPECTED
    /// partitions go straight to FAILED, through SUSPECTED (two transitions, two events).
    Crashed = 7,
}

/// The independent observation channels whose failures are counted separately (see
/// [`ReportKind::signal`]).
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    /// Barrier waits: `BarrierTimeout` (failure), `BarrierPassed` (success).
    Barrier = 0,
    /// Ghost-layer synchronisation: `GhostSyncFailure`, `GhostSyncSuccess`.
    GhostSync = 1,
    /// Heartbeats: `HeartbeatMissed`, `HeartbeatReceived` (and the heartbeat detector's
    /// verdict, when it runs).
    Heartbeat = 2,
}

impl Signal {
    /// Every signal, in discriminant order (the index of its streak counter).
    pub const ALL: [Signal; 3] = [Signal::Barrier, Signal::GhostSync, Signal::Heartbeat];
}

/// How a report is classified.
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReportClass {
    /// Counts towards suspicion.
    Failure = 0,
    /// Ends the failure streak of its signal (`Healthy`: of every signal); clears a suspicion
    /// once no signal is failing.
    Success = 1,
    /// Fails the partition at once.
    Definitive = 2,
}

impl ReportKind {
    /// Every kind, in discriminant order.
    pub const ALL: [ReportKind; 8] = [
        ReportKind::BarrierTimeout,
        ReportKind::BarrierPassed,
        ReportKind::GhostSyncFailure,
        ReportKind::GhostSyncSuccess,
        ReportKind::HeartbeatReceived,
        ReportKind::HeartbeatMissed,
        ReportKind::Healthy,
        ReportKind::Crashed,
    ];

    /// Failure, success or definitive.
    pub const fn class(self) -> ReportClass {
        match self {
            ReportKind::BarrierTimeout
            | ReportKind::GhostSyncFailure
            | ReportKind::HeartbeatMissed => ReportClass::Failure,
            ReportKind::BarrierPassed
            | ReportKind::GhostSyncSuccess
            | ReportKind::HeartbeatReceived
            | ReportKind::Healthy => ReportClass::Success,
            ReportKind::Crashed => ReportClass::Definitive,
        }
    }

    /// The signal this kind reports on; `None` for `Healthy` (the whole partition) and
    /// `Crashed` (definitive).
    pub const fn signal(self) -> Option<Signal> {
        match self {
            ReportKind::BarrierTimeout | ReportKind::BarrierPassed => Some(Signal::Barrier),
            ReportKind::GhostSyncFailure | ReportKind::GhostSyncSuccess => Some(Signal::GhostSync),
            ReportKind::HeartbeatReceived | ReportKind::HeartbeatMissed => Some(Signal::Heartbeat),
            ReportKind::Healthy | ReportKind::Crashed => None,
        }
    }
}

/// One observation about one partition.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Report {
    /// What was observed.
    pub kind: ReportKind,
    /// The partition's dense rank.
    pub rank: u32,
    /// The incarnation the observer saw, if it knows one; a mismatch makes the report stale.
    pub incarnation: Option<u32>,
}

impl Report {
    /// A report without incarnation (never stale).
    pub const fn new(kind: ReportKind, rank: u32) -> Self {
        Report {
            kind,
            rank,
            incarnation: None,
        }
    }
    /// A report about incarnation `inc` of `rank`.
    pub const fn with_incarnation(kind: ReportKind, rank: u32, inc: u32) -> Self {
        Report {
            kind,
            rank,
            incarnation: Some(inc),
        }
    }
    /// `BarrierTimeout` for `rank`.
    pub const fn barrier_timeout(rank: u32) -> Self {
        Report::new(ReportKind::BarrierTimeout, rank)
    }
    /// `BarrierPassed` for `rank`.
    pub const fn barrier_passed(rank: u32) -> Self {
        Report::new(ReportKind::BarrierPassed, rank)
    }
    /// `GhostSyncFailure` for `rank`.
    pub const fn ghost_sync_failure(rank: u32) -> Self {
        Report::new(ReportKind::GhostSyncFailure, rank)
    }
    /// `GhostSyncSuccess` for `rank`.
    pub const fn ghost_sync_success(rank: u32) -> Self {
        Report::new(ReportKind::GhostSyncSuccess, rank)
    }
    /// `HeartbeatReceived` for `rank`.
    pub const fn heartbeat(rank: u32) -> Self {
        Report::new(ReportKind::HeartbeatReceived, rank)
    }
    /// `HeartbeatMissed` for `rank`.
    pub const fn heartbeat_missed(rank: u32) -> Self {
        Report::new(ReportKind::HeartbeatMissed, rank)
    }
    /// `Healthy` for `rank`.
    pub const fn healthy(rank: u32) -> Self {
        Report::new(ReportKind::Healthy, rank)
    }
    /// `Crashed` for `rank`.
    pub const fn crashed(rank: u32) -> Self {
        Report::new(ReportKind::Crashed, rank)
    }
}

/// What a handled report did (exactly one value per call).
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReportOutcome {
    /// Counted (a failure below the threshold, a success on a HEALTHY partition, a failure on
    /// an already SUSPECTED partition); no transition.
    Counted = 0,
    /// HEALTHY → SUSPECTED.
    Suspected = 1,
    /// Now FAILED (a `Crashed` report), and handed to the recovery decision.
    Failed = 2,
    /// SUSPECTED → HEALTHY (false alarm; new incarnation).
    Cleared = 3,
    /// The incarnation did not match: ignored entirely.
    Stale = 4,
    /// The partition is FAILED or RECOVERING: detection inputs no longer apply.
    Ignored = 5,
    /// The partition is ABSENT (not a member: it left, or has not joined): the report is
    /// ignored entirely (counted in `Stats::ignored_reports`). A report racing a leave ends
    /// here, never in a panic or an error.
    NotMember = 6,
}

/// A report that could not be handled.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReportError {
    /// The rank is not below the table's length.
    UnknownPartition,
    /// The coordinator's event outbox has no room for this report's events: drain
    /// `poll_event`, then report again (backpressure; nothing changed, the report was not
    /// counted).
    OutboxFull,
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::UnknownPartition => f.write_str("unknown partition rank"),
            ReportError::OutboxFull => f.write_str("event outbox full: drain events first"),
        }
    }
}

/// Anything that accepts reports: the coordinator, the std monitor, or a closure. Used by the
/// [`ReportingBarrier`](super::ReportingBarrier).
pub trait ReportSink {
    /// Deliver `report`, observed at `now`.
    fn report(
        &mut self,
        now: crate::time::Instant,
        report: Report,
    ) -> Result<ReportOutcome, ReportError>;

    /// The current incarnation of `rank`, if the sink knows it (`None`: unknown rank, or a
    /// sink without health state). A [`ReportingBarrier`](super::ReportingBarrier) reads it
    /// before each wait and pins the wait's report to it, so a wait that began before a
    /// recovery (or a cleared false alarm) and ends after it is refused as stale instead of
    /// counting against the partition's new life.
    fn incarnation(&mut self, rank: u32) -> Option<u32> {
        let _ = rank;
        None
    }
}

/// Adapts a closure `FnMut(Instant, Report) -> Result<ReportOutcome, ReportError>` into a
/// [`ReportSink`].
#[derive(Debug, Clone, Copy)]
pub struct FnSink<F>(pub F);

impl<F> ReportSink for FnSink<F>
where
    F: FnMut(crate::time::Instant, Report) -> Result<ReportOutcome, ReportError>,
{
    fn report(
        &mut self,
        now: crate::time::Instant,
        report: Report,
    ) -> Result<ReportOutcome, ReportError> {
        (self.0)(now, report)
    }
}

impl<K: ReportSink + ?Sized> ReportSink for &mut K {
    fn report(
        &mut self,
        now: crate::time::Instant,
        report: Report,
    ) -> Result<ReportOutcome, ReportError> {
        (**self).report(now, report)
    }

    fn incarnation(&mut self, rank: u32) -> Option<u32> {
        (**self).incarnation(rank)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_partition_the_kinds() {
        let failures = ReportKind::ALL
            .iter()
            .filter(|k| k.class() == ReportClass::Failure)
            .count();
        let successes = ReportKind::ALL
            .iter()
            .filter(|k| k.class() == ReportClass::Success)
            .count();
        assert_eq!((failures, successes), (3, 4));
        assert_eq!(ReportKind::Crashed.class(), ReportClass::Definitive);
        for (i, k) in ReportKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i);
            // Every failure and every success but `Healthy` has a signal.
            let has = k.signal().is_some();
            assert_eq!(has, !matches!(k, ReportKind::Healthy | ReportKind::Crashed));
        }
        for (i, s) in Signal::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
        }
    }

    #[test]
    fn constructors_fill_rank_and_incarnation() {
        assert_eq!(
            Report::barrier_timeout(3),
            Report {
                kind: ReportKind::BarrierTimeout,
                rank: 3,
                incarnation: None
            }
        );
        assert_eq!(
            Report::with_incarnation(ReportKind::Healthy, 1, 7).incarnation,
            Some(7)
        );
        assert_eq!(
            std::format!("{}", ReportError::UnknownPartition),
            "unknown partition rank"
        );
    }
}
