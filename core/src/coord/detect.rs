//! Detection: per-partition state ([`PartitionSlot`]) and the pure rules that turn reports
//! and time into health transitions.
//!
//! # Per-partition state (caller storage, [`PartitionSlot`], 40 bytes)
//!
//! | field | meaning |
//! |---|---|
//! | `streaks: [u16; 3]` | per [`Signal`] (barrier, ghost sync, heartbeat): failure reports since that signal's last success (saturating) |
//! | `since: Instant` | HEALTHY/SUSPECTED: first failure of the current streak (all signals together); FAILED/RECOVERING: when it failed |
//! | `deadline: Instant` | SUSPECTED: confirmation due; FAILED with `BACKOFF` or `FENCE_HOLD`: retry due |
//! | `hb: HeartbeatState` | the heartbeat detector's record |
//! | `attempts: u8` | recovery attempts for the current failure |
//! | `flags: u8` | `BACKOFF` (waiting for a retry), `EXHAUSTED` (escalated after the last retry), `FENCE_HOLD` (waiting `fence_retry` after a refused fence), `ELSEWHERE` (refused as recovered by another process) |
//!
//! The three streak counters fill what was padding next to the single counter they replace:
//! the slot stays 40 bytes.
//!
//! # Signals: which success clears which failure (issue 7, item 2)
//!
//! Each failure report belongs to one [`Signal`] and adds one to that signal's streak; each
//! success report ends the streak of **its own signal only**:
//!
//! | report | streak it ends |
//! |---|---|
//! | `BarrierPassed` | barrier (`BarrierTimeout`) |
//! | `GhostSyncSuccess` | ghost sync (`GhostSyncFailure`) |
//! | `HeartbeatReceived` | heartbeat (`HeartbeatMissed`; also makes the detector's verdict Alive) |
//! | `Healthy` (the embedder's word for the whole partition) | every streak |
//!
//! So a partition whose heartbeat thread is alive but whose forest worker is wedged (a barrier
//! timeout after every heartbeat) keeps a growing barrier streak and is suspected, then
//! failed. A signal is *failing* while its streak is non-zero; the heartbeat signal is also
//! failing while the heartbeat detector's verdict is not Alive. The *total* is the sum of the
//! three streaks: without any success in between it counts every failure report, as the single
//! counter did, so the per-signal rule never suspects later than the old one.
//!
//! # Rules (`detect_report`, `detect_tick`)
//!
//! | health | input | result |
//! |---|---|---|
//! | HEALTHY | failure report | count; `total >= reports_before_suspicion` → Suspect |
//! | SUSPECTED | failure report | count; `reports_before_failure > 0` and `total >= reports_before_failure` → Confirm (rule by count); otherwise confirmation is by time |
//! | HEALTHY / SUSPECTED | success report | end its signal's streak; SUSPECTED and no signal failing → Clear |
//! | HEALTHY / SUSPECTED | `Healthy` report | end every streak; SUSPECTED → Clear |
//! | HEALTHY / SUSPECTED | `Crashed` | Confirm (through SUSPECTED when HEALTHY) |
//! | SUSPECTED | tick, `now >= deadline` | Confirm (ConfirmationTimeout, rule by time) |
//! | HEALTHY | heartbeat verdict Suspect | Suspect (HeartbeatTimeout) |
//! | HEALTHY / SUSPECTED | heartbeat verdict Dead | Confirm (HeartbeatTimeout), through SUSPECTED |
//! | FAILED / RECOVERING | any report | Ignore (recovery decides) |
//! | ABSENT | any report, any tick | nothing (not a member; the coordinator answers `NotMember` before these rules) |
//!
//! With `Config::local_confirmation` off (a cluster, where an external authority confirms
//! failures) no rule but `Crashed` confirms: the rule by count and the rule by time never
//! fire, and a `Dead` heartbeat verdict only suspects (a SUSPECTED partition stays SUSPECTED
//! until a success clears it or `Crashed` fails it).
//!
//! Stale reports (wrong incarnation) are filtered by the coordinator before these rules.
//! Nothing here touches the partition table: the coordinator performs the transition the
//! rule asks for, and only if the table grants it does it update the slot (`on_*`).

use core::time::Duration;

use super::config::Config;
use super::event::Cause;
use super::heartbeat::{HeartbeatState, Verdict};
use super::report::{ReportClass, ReportKind, Signal};
use crate::health::Health;
use crate::time::{Instant, Span};

pub(crate) const BACKOFF: u8 = 1;
pub(crate) const EXHAUSTED: u8 = 2;
/// FAILED, its fence was refused (or the wait abandoned): decided and queued again at
/// `deadline` (`fence_retry` later), like a retry that consumes none. 0 (never set, so
/// every test of it folds away) without the `fence` feature.
pub(crate) const FENCE_HOLD: u8 = if cfg!(feature = "fence") { 4 } else { 0 };
/// FAILED, its fence was refused as `Recovered` (another process recovered it): not
/// scheduled here again unless `retry` (or a membership change) says so. 0 without the
/// `fence` feature, as `FENCE_HOLD`.
pub(crate) const ELSEWHERE: u8 = if cfg!(feature = "fence") { 8 } else { 0 };

/// The coordinator's state of one partition (see the module docs). Plain data; create with
/// [`PartitionSlot::new`] (`const`), the coordinator resets it on construction.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PartitionSlot {
    pub(crate) since: Instant,
    pub(crate) deadline: Instant,
    pub(crate) hb: HeartbeatState,
    /// Failure streak per [`Signal`], indexed by its discriminant.
    pub(crate) streaks: [u16; 3],
    pub(crate) attempts: u8,
    pub(crate) flags: u8,
}

impl Default for PartitionSlot {
    fn default() -> Self {
        PartitionSlot::new()
    }
}

/// What detection asks the coordinator to do.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Detect {
    /// Counted or nothing to do.
    Nothing,
    /// HEALTHY → SUSPECTED.
    Suspect(Cause),
    /// → FAILED (through SUSPECTED when HEALTHY).
    Confirm(Cause),
    /// SUSPECTED → HEALTHY.
    Clear(Cause),
    /// FAILED or RECOVERING: the report does not apply.
    Ignore,
}

fn cause_of(kind: ReportKind) -> Cause {
    match kind {
        ReportKind::BarrierTimeout => Cause::BarrierTimeout,
        ReportKind::BarrierPassed => Cause::BarrierPassed,
        ReportKind::GhostSyncFailure => Cause::GhostSyncFailure,
        ReportKind::GhostSyncSuccess => Cause::GhostSyncSuccess,
        ReportKind::HeartbeatReceived => Cause::HeartbeatReceived,
        ReportKind::HeartbeatMissed => Cause::HeartbeatMissed,
        ReportKind::Healthy => Cause::MarkedHealthy,
        ReportKind::Crashed => Cause::Crashed,
    }
}

impl PartitionSlot {
    /// A fresh slot (the coordinator re-initialises it with its start time).
    pub const fn new() -> Self {
        PartitionSlot {
            since: Instant::ZERO,
            deadline: Instant::ZERO,
            hb: HeartbeatState::empty(),
            streaks: [0; 3],
            attempts: 0,
            flags: 0,
        }
    }

    /// A slot for a HEALTHY partition at `now` (new life: counters cleared, heartbeat clock
    /// restarted).
    // Out of line: smaller than its inlined copies (flash, issue 10).
    #[inline(never)]
    pub(crate) fn fresh(now: Instant, cfg: &Config) -> Self {
        PartitionSlot {
            since: now,
            deadline: now,
            hb: HeartbeatState::new(now, cfg.heartbeat()),
            streaks: [0; 3],
            attempts: 0,
            flags: 0,
        }
    }

    /// The heartbeat record.
    pub fn heartbeat(&self) -> &HeartbeatState {
        &self.hb
    }
    /// The total of the failure streaks of every signal (saturating): the failure reports
    /// not yet answered by a success of their own signal (module docs). Compared with
    /// `reports_before_suspicion` and `reports_before_failure`.
    pub fn consecutive_failures(&self) -> u16 {
        self.streaks.iter().fold(0u16, |a, &b| a.saturating_add(b))
    }
    /// Failure reports of `signal` since its last success (saturating).
    pub fn consecutive(&self, signal: Signal) -> u16 {
        self.streaks.get(signal as usize).copied().unwrap_or(0)
    }
    /// Whether some signal is failing: a non-zero streak, or a heartbeat verdict other than
    /// Alive (module docs).
    pub fn is_failing(&self) -> bool {
        self.streaks.iter().any(|&c| c > 0) || self.hb.verdict() != Verdict::Alive
    }
    /// Recovery attempts made for the current failure.
    pub fn attempts(&self) -> u8 {
        self.attempts
    }
    /// Whether a retry waits for its backoff to expire.
    pub fn is_backing_off(&self) -> bool {
        self.flags & BACKOFF != 0
    }
    /// Whether the partition was escalated after its last retry (waits for `retry`).
    pub fn is_exhausted(&self) -> bool {
        self.flags & EXHAUSTED != 0
    }

    /// Start or extend the failure streak of `signal`.
    fn count_failure(&mut self, signal: Signal, now: Instant) {
        if self.consecutive_failures() == 0 {
            self.since = now;
        }
        if let Some(c) = self.streaks.get_mut(signal as usize) {
            *c = c.saturating_add(1);
        }
    }

    /// Apply a report's rule (module docs). Mutates only the counters and heartbeat record.
    pub(crate) fn detect_report(
        &mut self,
        health: Health,
        kind: ReportKind,
        now: Instant,
        cfg: &Config,
    ) -> Detect {
        if matches!(health, Health::Failed | Health::Recovering | Health::Absent) {
            return Detect::Ignore;
        }
        match (kind.class(), kind.signal()) {
            (ReportClass::Failure, Some(signal)) => {
                self.count_failure(signal, now);
                let total = self.consecutive_failures();
                let by_count = cfg.reports_before_failure();
                if health == Health::Healthy && total >= cfg.reports_before_suspicion() {
                    Detect::Suspect(cause_of(kind))
                } else if health == Health::Suspected
                    && by_count > 0
                    && total >= by_count
                    && cfg.local_confirmation()
                {
                    Detect::Confirm(cause_of(kind))
                } else {
                    Detect::Nothing
                }
            }
            (ReportClass::Success, signal) => {
                match signal.and_then(|s| self.streaks.get_mut(s as usize)) {
                    Some(c) => *c = 0,
                    // `Healthy`: the embedder vouches for the whole partition.
                    None => self.streaks = [0; 3],
                }
                if kind == ReportKind::HeartbeatReceived {
                    self.hb.record(now, cfg.heartbeat());
                }
                let vouched = signal.is_none();
                if health == Health::Suspected && (vouched || !self.is_failing()) {
                    Detect::Clear(cause_of(kind))
                } else {
                    Detect::Nothing
                }
            }
            _ => {
                if self.consecutive_failures() == 0 {
                    self.since = now;
                }
                Detect::Confirm(cause_of(kind))
            }
        }
    }

    /// Apply the time rules at `now` (module docs).
    pub(crate) fn detect_tick(
        &mut self,
        health: Health,
        now: Instant,
        cfg: &Config,
        heartbeats: bool,
    ) -> Detect {
        if matches!(health, Health::Failed | Health::Recovering | Health::Absent) {
            return Detect::Nothing;
        }
        if heartbeats {
            if let Some((_, to)) = self.hb.update(now, cfg.heartbeat()) {
                if self.consecutive_failures() == 0 && health == Health::Healthy {
                    self.since = now;
                }
                let local = cfg.local_confirmation();
                match (to, health) {
                    (Verdict::Dead, _) if local => return Detect::Confirm(Cause::HeartbeatTimeout),
                    (Verdict::Dead | Verdict::Suspect, Health::Healthy) => {
                        return Detect::Suspect(Cause::HeartbeatTimeout)
                    }
                    _ => {}
                }
            }
        }
        if health == Health::Suspected && now >= self.deadline && cfg.local_confirmation() {
            return Detect::Confirm(Cause::ConfirmationTimeout);
        }
        Detect::Nothing
    }

    /// The table granted HEALTHY → SUSPECTED at `now`: arm the confirmation deadline.
    pub(crate) fn on_suspected(&mut self, now: Instant, confirmation: Span) {
        self.deadline = now.add_span(confirmation);
    }

    /// The table granted SUSPECTED → FAILED at `now`: returns the detection latency (first
    /// failure of the streak to now, zero after a backward clock step) and starts the failure.
    // Out of line: smaller than its inlined copies (flash, issue 10).
    #[inline(never)]
    pub(crate) fn on_failed(&mut self, now: Instant) -> Duration {
        let latency = now.saturating_duration_since(self.since);
        self.since = now;
        self.streaks = [0; 3];
        self.attempts = 0;
        self.flags = 0;
        latency
    }

    /// The table granted → HEALTHY at `now` (false alarm or recovery).
    pub(crate) fn on_healthy(&mut self, now: Instant, cfg: &Config, fresh_life: bool) {
        if fresh_life {
            *self = PartitionSlot::fresh(now, cfg);
        } else {
            self.streaks = [0; 3];
        }
    }

    /// The next instant at which `detect_tick` could change something, if any.
    pub(crate) fn next_deadline(
        &self,
        health: Health,
        cfg: &Config,
        heartbeats: bool,
    ) -> Option<Instant> {
        let hb = if heartbeats && matches!(health, Health::Healthy | Health::Suspected) {
            self.hb.next_deadline(cfg.heartbeat())
        } else {
            None
        };
        let own = match health {
            Health::Suspected if cfg.local_confirmation() => Some(self.deadline),
            Health::Failed if self.flags & (BACKOFF | FENCE_HOLD) != 0 => Some(self.deadline),
            _ => None,
        };
        match (hb, own) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coord::heartbeat::HeartbeatMode;

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    #[test]
    fn slot_is_forty_bytes() {
        // Three per-signal streaks replaced one counter and its padding.
        assert_eq!(core::mem::size_of::<PartitionSlot>(), 40);
    }

    #[test]
    fn consecutive_means_consecutive_per_signal() {
        let cfg = Config::default();
        let mut s = PartitionSlot::fresh(ms(0), &cfg);
        assert_eq!(
            s.detect_report(Health::Healthy, ReportKind::BarrierTimeout, ms(10), &cfg),
            Detect::Nothing
        );
        // A success of another signal leaves the barrier streak alone ...
        assert_eq!(
            s.detect_report(Health::Healthy, ReportKind::GhostSyncSuccess, ms(15), &cfg),
            Detect::Nothing
        );
        assert_eq!(s.consecutive(Signal::Barrier), 1);
        // ... a success of its own signal ends it.
        assert_eq!(
            s.detect_report(Health::Healthy, ReportKind::BarrierPassed, ms(20), &cfg),
            Detect::Nothing
        );
        assert_eq!(s.consecutive_failures(), 0);
        assert_eq!(
            s.detect_report(Health::Healthy, ReportKind::GhostSyncFailure, ms(30), &cfg),
            Detect::Nothing
        );
        assert_eq!(
            s.detect_report(Health::Healthy, ReportKind::HeartbeatReceived, ms(35), &cfg),
            Detect::Nothing
        );
        // Failures of different signals add up (never later than the single counter).
        assert_eq!(
            s.detect_report(Health::Healthy, ReportKind::HeartbeatMissed, ms(40), &cfg),
            Detect::Suspect(Cause::HeartbeatMissed)
        );
        // The streak began at the first failure after the last success of that signal.
        assert_eq!(s.since, ms(30));
        s.on_suspected(ms(40), cfg.failure_confirmation);
        assert_eq!(
            s.detect_report(Health::Suspected, ReportKind::BarrierTimeout, ms(50), &cfg),
            Detect::Nothing
        );
        // A heartbeat ends only the heartbeat streak: ghost sync and barrier still fail, so
        // the suspicion stays.
        assert_eq!(
            s.detect_report(
                Health::Suspected,
                ReportKind::HeartbeatReceived,
                ms(60),
                &cfg
            ),
            Detect::Nothing
        );
        assert_eq!(
            (
                s.consecutive(Signal::Barrier),
                s.consecutive(Signal::GhostSync),
                s.consecutive(Signal::Heartbeat)
            ),
            (1, 1, 0)
        );
        assert_eq!(
            s.detect_tick(Health::Suspected, ms(5039), &cfg, false),
            Detect::Nothing
        );
        assert_eq!(
            s.detect_tick(Health::Suspected, ms(5040), &cfg, false),
            Detect::Confirm(Cause::ConfirmationTimeout)
        );
        assert_eq!(s.on_failed(ms(5040)), Duration::from_millis(5010));
        assert_eq!(
            s.detect_report(Health::Failed, ReportKind::Healthy, ms(6000), &cfg),
            Detect::Ignore
        );
    }

    #[test]
    fn suspicion_clears_only_when_no_signal_fails() {
        let cfg = Config::default();
        let mut s = PartitionSlot::fresh(ms(0), &cfg);
        s.detect_report(Health::Healthy, ReportKind::BarrierTimeout, ms(1), &cfg);
        s.detect_report(Health::Healthy, ReportKind::GhostSyncFailure, ms(2), &cfg);
        assert_eq!(
            s.detect_report(Health::Suspected, ReportKind::BarrierPassed, ms(3), &cfg),
            Detect::Nothing
        );
        assert_eq!(
            s.detect_report(Health::Suspected, ReportKind::GhostSyncSuccess, ms(4), &cfg),
            Detect::Clear(Cause::GhostSyncSuccess)
        );
        // `Healthy` vouches for the whole partition.
        s.detect_report(Health::Healthy, ReportKind::BarrierTimeout, ms(5), &cfg);
        s.detect_report(Health::Healthy, ReportKind::HeartbeatMissed, ms(6), &cfg);
        assert_eq!(
            s.detect_report(Health::Suspected, ReportKind::Healthy, ms(7), &cfg),
            Detect::Clear(Cause::MarkedHealthy)
        );
        assert_eq!(s.consecutive_failures(), 0);
    }

    #[test]
    fn confirmation_by_count_is_the_simple_handler() {
        // SimpleFaultHandler: 1st report → SUSPECTED, 2nd → FAILED.
        let cfg = Config::builder()
            .reports_before_suspicion(1)
            .reports_before_failure(2)
            .build()
            .unwrap();
        let mut s = PartitionSlot::fresh(ms(0), &cfg);
        assert_eq!(
            s.detect_report(Health::Healthy, ReportKind::GhostSyncFailure, ms(1), &cfg),
            Detect::Suspect(Cause::GhostSyncFailure)
        );
        assert_eq!(
            s.detect_report(Health::Suspected, ReportKind::BarrierTimeout, ms(2), &cfg),
            Detect::Confirm(Cause::BarrierTimeout)
        );
        // Off by default: confirmation by time only.
        let d = Config::default();
        let mut t = PartitionSlot::fresh(ms(0), &d);
        for i in 0..10 {
            let h = if i < 2 {
                Health::Healthy
            } else {
                Health::Suspected
            };
            assert_ne!(
                t.detect_report(h, ReportKind::BarrierTimeout, ms(i), &d),
                Detect::Confirm(Cause::BarrierTimeout)
            );
        }
    }

    #[test]
    fn success_clears_a_suspicion_and_crash_confirms() {
        let cfg = Config::default();
        let mut s = PartitionSlot::fresh(ms(0), &cfg);
        assert_eq!(
            s.detect_report(Health::Suspected, ReportKind::Healthy, ms(1), &cfg),
            Detect::Clear(Cause::MarkedHealthy)
        );
        assert_eq!(
            s.detect_report(Health::Healthy, ReportKind::Crashed, ms(2), &cfg),
            Detect::Confirm(Cause::Crashed)
        );
        assert_eq!(s.on_failed(ms(2)), Duration::ZERO);
        // Backward clock: latency clamps to zero (B14).
        let mut t = PartitionSlot::fresh(ms(0), &cfg);
        t.detect_report(Health::Healthy, ReportKind::BarrierTimeout, ms(900), &cfg);
        assert_eq!(t.on_failed(ms(100)), Duration::ZERO);
    }

    #[test]
    fn heartbeat_verdicts_drive_suspicion_and_failure() {
        let cfg = Config::builder()
            .heartbeat(crate::coord::HeartbeatConfig::DEFAULT.with_mode(HeartbeatMode::Interval))
            .build()
            .unwrap();
        let mut s = PartitionSlot::fresh(ms(0), &cfg);
        assert_eq!(s.next_deadline(Health::Healthy, &cfg, true), Some(ms(2000)));
        assert_eq!(
            s.detect_tick(Health::Healthy, ms(1999), &cfg, true),
            Detect::Nothing
        );
        assert_eq!(
            s.detect_tick(Health::Healthy, ms(2000), &cfg, true),
            Detect::Suspect(Cause::HeartbeatTimeout)
        );
        s.on_suspected(ms(2000), cfg.failure_confirmation);
        assert_eq!(
            s.next_deadline(Health::Suspected, &cfg, true),
            Some(ms(5000))
        );
        assert_eq!(
            s.detect_tick(Health::Suspected, ms(5000), &cfg, true),
            Detect::Confirm(Cause::HeartbeatTimeout)
        );
        // A heartbeat while suspected clears.
        let mut u = PartitionSlot::fresh(ms(0), &cfg);
        u.detect_tick(Health::Healthy, ms(2500), &cfg, true);
        assert_eq!(
            u.detect_report(
                Health::Suspected,
                ReportKind::HeartbeatReceived,
                ms(2600),
                &cfg
            ),
            Detect::Clear(Cause::HeartbeatReceived)
        );
        assert_eq!(u.heartbeat().verdict(), Verdict::Alive);
        // A silence jumping past the failure timeout confirms directly (the coordinator makes
        // two transitions of it).
        let mut v = PartitionSlot::fresh(ms(0), &cfg);
        assert_eq!(
            v.detect_tick(Health::Healthy, ms(9000), &cfg, true),
            Detect::Confirm(Cause::HeartbeatTimeout)
        );
    }

    #[test]
    fn deadlines_by_state() {
        let cfg = Config::default();
        let mut s = PartitionSlot::fresh(ms(0), &cfg);
        assert_eq!(s.next_deadline(Health::Healthy, &cfg, false), None);
        s.deadline = ms(77);
        assert_eq!(s.next_deadline(Health::Failed, &cfg, false), None);
        s.flags = BACKOFF;
        assert_eq!(s.next_deadline(Health::Failed, &cfg, false), Some(ms(77)));
        assert!(s.is_backing_off() && !s.is_exhausted());
        assert_eq!(s.next_deadline(Health::Recovering, &cfg, true), None);
    }
}
