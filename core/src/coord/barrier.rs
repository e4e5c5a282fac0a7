//! The barrier decorator: every barrier timeout becomes a detection report.
//!
//! The embedder implements [`Barrier`] (a barrier with a timeout; the core never blocks by
//! itself). [`ReportingBarrier`] wraps one barrier that waits for one partition (`rank`) and,
//! on every call, forwards the outcome to a [`ReportSink`] (the coordinator, the std monitor
//! or a closure) at `clock.now()`:
//!
//! * [`BarrierOutcome::TimedOut`] → a `BarrierTimeout` report, always (the Java
//!   `FaultAwarePartitionRegistry` documented this and never did it, B3);
//! * [`BarrierOutcome::Passed`] → a `BarrierPassed` report (a success: it resets the
//!   consecutive-failure count, so "consecutive" means consecutive, B7), unless disabled with
//!   [`ReportingBarrier::report_passes`].
//!
//! Each report is pinned to the partition's incarnation when the wait began
//! ([`ReportSink::incarnation`]): a wait that straddles a recovery (or a cleared false alarm)
//! ends in a stale report that the coordinator ignores, so a timeout of the old life never
//! counts against the recovered partition.
//!
//! The outcome is returned unchanged. A sink that refuses a report (e.g. an unknown rank) is
//! counted in [`ReportingBarrier::report_errors`], never silently ignored.

use core::time::Duration;

use super::report::{Report, ReportKind, ReportSink};
use crate::time::Clock;

/// How a barrier wait ended.
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum BarrierOutcome {
    /// Everybody arrived.
    Passed = 0,
    /// The timeout expired first.
    TimedOut = 1,
}

/// A barrier with a timeout, implemented by the embedder.
pub trait Barrier {
    /// Wait for the other participants at most `timeout`.
    fn wait(&mut self, timeout: Duration) -> BarrierOutcome;
}

impl<B: Barrier + ?Sized> Barrier for &mut B {
    fn wait(&mut self, timeout: Duration) -> BarrierOutcome {
        (**self).wait(timeout)
    }
}

/// A [`Barrier`] that reports its outcomes about `rank` to a sink (see the module docs).
#[derive(Debug)]
pub struct ReportingBarrier<B, K, C> {
    inner: B,
    sink: K,
    clock: C,
    rank: u32,
    report_passes: bool,
    timeouts: u64,
    report_errors: u64,
}

impl<B: Barrier, K: ReportSink, C: Clock> ReportingBarrier<B, K, C> {
    /// Wrap `inner`, whose timeouts are blamed on partition `rank`.
    pub fn new(inner: B, sink: K, clock: C, rank: u32) -> Self {
        ReportingBarrier {
            inner,
            sink,
            clock,
            rank,
            report_passes: true,
            timeouts: 0,
            report_errors: 0,
        }
    }

    /// Whether passes are reported as successes (default: yes).
    pub fn report_passes(mut self, yes: bool) -> Self {
        self.report_passes = yes;
        self
    }

    /// Timeouts seen (each one was reported).
    pub fn timeouts(&self) -> u64 {
        self.timeouts
    }

    /// Reports the sink refused.
    pub fn report_errors(&self) -> u64 {
        self.report_errors
    }

    /// The wrapped barrier.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// The sink.
    pub fn sink(&self) -> &K {
        &self.sink
    }

    /// Unwrap into (barrier, sink, clock).
    pub fn into_parts(self) -> (B, K, C) {
        (self.inner, self.sink, self.clock)
    }
}

impl<B: Barrier, K: ReportSink, C: Clock> Barrier for ReportingBarrier<B, K, C> {
    fn wait(&mut self, timeout: Duration) -> BarrierOutcome {
        // The wait is about the partition's life when it began (see the module docs).
        let life = self.sink.incarnation(self.rank);
        let outcome = self.inner.wait(timeout);
        let kind = match outcome {
            BarrierOutcome::TimedOut => {
                self.timeouts = self.timeouts.saturating_add(1);
                Some(ReportKind::BarrierTimeout)
            }
            BarrierOutcome::Passed if self.report_passes => Some(ReportKind::BarrierPassed),
            BarrierOutcome::Passed => None,
        };
        let report = kind.map(|k| match life {
            Some(inc) => Report::with_incarnation(k, self.rank, inc),
            None => Report::new(k, self.rank),
        });
        if let Some(r) = report {
            if self.sink.report(self.clock.now(), r).is_err() {
                self.report_errors = self.report_errors.saturating_add(1);
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::super::report::{FnSink, ReportError, ReportOutcome};
    use super::*;
    use crate::time::{Instant, ManualClock};
    use std::vec::Vec;

    struct Script(Vec<BarrierOutcome>);
    impl Barrier for Script {
        fn wait(&mut self, _: Duration) -> BarrierOutcome {
            self.0.pop().unwrap_or(BarrierOutcome::Passed)
        }
    }

    #[test]
    fn every_timeout_is_reported() {
        let clock = ManualClock::new(Instant::from_millis(42));
        let mut seen: Vec<(Instant, Report)> = Vec::new();
        let sink = FnSink(
            |now: Instant, r: Report| -> Result<ReportOutcome, ReportError> {
                seen.push((now, r));
                Ok(ReportOutcome::Counted)
            },
        );
        let script = Script(std::vec![
            BarrierOutcome::TimedOut,
            BarrierOutcome::Passed,
            BarrierOutcome::TimedOut,
            BarrierOutcome::TimedOut,
        ]);
        let mut b = ReportingBarrier::new(script, sink, &clock, 3);
        let outcomes: Vec<_> = (0..4).map(|_| b.wait(Duration::from_millis(500))).collect();
        assert_eq!(b.timeouts(), 3);
        assert_eq!(b.report_errors(), 0);
        drop(b);
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| **o == BarrierOutcome::TimedOut)
                .count(),
            3
        );
        let kinds: Vec<_> = seen.iter().map(|(_, r)| r.kind).collect();
        assert_eq!(
            kinds,
            [
                ReportKind::BarrierTimeout,
                ReportKind::BarrierTimeout,
                ReportKind::BarrierPassed,
                ReportKind::BarrierTimeout
            ]
        );
        assert!(seen
            .iter()
            .all(|(t, r)| *t == Instant::from_millis(42) && r.rank == 3));
    }

    #[test]
    fn refused_reports_are_counted_and_passes_can_be_silenced() {
        let sink = FnSink(
            |_: Instant, _: Report| -> Result<ReportOutcome, ReportError> {
                Err(ReportError::UnknownPartition)
            },
        );
        let clock = ManualClock::default();
        let mut b =
            ReportingBarrier::new(Script(std::vec![BarrierOutcome::TimedOut]), sink, &clock, 9)
                .report_passes(false);
        assert_eq!(b.wait(Duration::ZERO), BarrierOutcome::TimedOut);
        assert_eq!(b.wait(Duration::ZERO), BarrierOutcome::Passed);
        assert_eq!((b.timeouts(), b.report_errors()), (1, 1));
    }

    /// A sink whose partition changes life while the barrier waits.
    struct Lives<'a> {
        life: &'a core::cell::Cell<u32>,
        seen: Vec<Report>,
    }

    impl ReportSink for Lives<'_> {
        fn report(&mut self, _: Instant, r: Report) -> Result<ReportOutcome, ReportError> {
            self.seen.push(r);
            Ok(ReportOutcome::Counted)
        }
        fn incarnation(&mut self, _: u32) -> Option<u32> {
            Some(self.life.get())
        }
    }

    /// A barrier during whose wait the partition is recovered (incarnation 4 → 5).
    struct RecoveredDuringWait<'a>(&'a core::cell::Cell<u32>);

    impl Barrier for RecoveredDuringWait<'_> {
        fn wait(&mut self, _: Duration) -> BarrierOutcome {
            self.0.set(self.0.get() + 1);
            BarrierOutcome::TimedOut
        }
    }

    #[test]
    fn a_report_is_pinned_to_the_life_its_wait_began_in() {
        let life = core::cell::Cell::new(4);
        let clock = ManualClock::new(Instant::ZERO);
        let sink = Lives {
            life: &life,
            seen: Vec::new(),
        };
        let mut b = ReportingBarrier::new(RecoveredDuringWait(&life), sink, &clock, 2);
        b.wait(Duration::ZERO);
        b.wait(Duration::ZERO);
        let seen: Vec<_> = b.sink().seen.iter().map(|r| r.incarnation).collect();
        // Each report is about the life when its wait began, not the one it ended in.
        assert_eq!(seen, [Some(4), Some(5)]);
        assert_eq!(life.get(), 6);
    }
}
