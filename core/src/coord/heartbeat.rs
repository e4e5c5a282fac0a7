//! Heartbeat failure detection over an injected clock, without floating point.
//!
//! The phi-accrual detector is behind the `phi-accrual` feature (default on): its `u128`
//! arithmetic costs about 1.9 KiB of flash on Cortex-M. Without the feature,
//! [`HeartbeatMode::Phi`] still exists (stable C enum values) but `validate` refuses it
//! with a typed error on `heartbeat.mode`.
//!
//! Per partition the detector keeps a [`HeartbeatState`] (16 bytes): the instant of the last
//! heartbeat, a running mean of the inter-arrival time in microseconds, and the detector's
//! current [`Verdict`]. The verdict is a pure function of `now`:
//!
//! * [`HeartbeatMode::Interval`]: `elapsed >= failure_timeout` → `Dead`, else
//!   `elapsed >= suspect_timeout` → `Suspect`, else `Alive` (inclusive comparisons, so that a
//!   tick at exactly [`HeartbeatState::next_deadline`] changes the verdict and a driver that
//!   sleeps until the deadline never spins).
//! * [`HeartbeatMode::Phi`]: Cassandra's exponential phi-accrual,
//!   `phi(t) = t / (mean · ln 10)`. `phi >= phi_suspect` is rewritten as
//!   `t >= phi_suspect · ln 10 · mean`, evaluated in `u128` nanoseconds with `ln 10` as the
//!   fixed-point constant [`LN_10_NANOS`], so neither `exp` nor `log` (absent from `core`) is
//!   needed. The fixed timeouts stay upper bounds: the threshold used is
//!   `min(suspect_timeout, phi threshold)` (resp. failure), so detection time is bounded even
//!   when the mean drifts upwards. Since `phi_failure > phi_suspect` and
//!   `failure_timeout > suspect_timeout`, the Dead threshold is never below the Suspect one.
//!
//! The mean is an exponentially weighted moving average with weight 1/8, seeded with the
//! configured interval; a sample is taken only while the verdict is `Alive` and the gap is
//! below `failure_timeout` (Akka: "a long pause will skew the stats").
//!
//! Unlike the Java detector (B25), there is no registration: ranks are dense, every member
//! is monitored from the coordinator's creation (a partition that joins later from its join:
//! its heartbeat clock restarts then; an ABSENT one is not monitored), a silence that jumps past the failure timeout
//! still produces the Suspect verdict first (the coordinator emits both transitions), and
//! nothing is forgotten by stopping a driver. Local pauses (Cassandra): when the driver's
//! ticks are further apart than `max_local_pause`, the coordinator re-bases every heartbeat
//! clock instead of convicting partitions for its own stall. So that a driver ticking when
//! `poll_timeout` asks never looks stalled, `poll_timeout` names a tick at least every
//! `max_local_pause / 2` while heartbeats are on (the next verdict may be further away:
//! `failure_timeout − suspect_timeout` is not bounded by `max_local_pause`).

use core::time::Duration;

use crate::time::Span;

use super::config_error::{ConfigError, ConfigField, ConfigReason};
use crate::time::Instant;

/// `ln 10` in units of 10⁻⁹ (2.302585093).
#[cfg(feature = "phi-accrual")]
pub const LN_10_NANOS: u128 = 2_302_585_093;

/// Which heartbeat detector runs.
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum HeartbeatMode {
    /// No heartbeat detection; heartbeat reports still count as successes/failures. Default,
    /// so that an embedder that sends no heartbeats does not see every partition fail.
    #[default]
    Off = 0,
    /// Fixed suspicion and failure timeouts since the last heartbeat.
    Interval = 1,
    /// Exponential phi accrual, bounded by the fixed timeouts (needs the `phi-accrual`
    /// feature; without it `HeartbeatConfig::validate` refuses this mode).
    Phi = 2,
}

/// The detector's opinion of one partition.
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Verdict {
    /// Heartbeats arrive in time.
    #[default]
    Alive = 0,
    /// Silent long enough to suspect.
    Suspect = 1,
    /// Silent long enough to declare failed.
    Dead = 2,
}

/// Heartbeat detector settings (digest §1.3 defaults: 500 ms / 2 s / 5 s).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct HeartbeatConfig {
    mode: HeartbeatMode,
    // Crate-visible spans: compared with `Instant::span_since` directly (see `Config`).
    pub(crate) interval: Span,
    pub(crate) suspect_timeout: Span,
    pub(crate) failure_timeout: Span,
    phi_suspect_milli: u32,
    phi_failure_milli: u32,
    pub(crate) max_local_pause: Span,
}

impl Default for HeartbeatConfig {
    fn default() -> Self {
        HeartbeatConfig::DEFAULT
    }
}

impl HeartbeatConfig {
    /// Off; 500 ms interval, 2 s suspicion, 5 s failure, phi 5.0 / 8.0, 5 s local pause.
    pub const DEFAULT: HeartbeatConfig = HeartbeatConfig {
        mode: HeartbeatMode::Off,
        interval: Span::of(Duration::from_millis(500)),
        suspect_timeout: Span::of(Duration::from_secs(2)),
        failure_timeout: Span::of(Duration::from_secs(5)),
        phi_suspect_milli: 5_000,
        phi_failure_milli: 8_000,
        max_local_pause: Span::of(Duration::from_secs(5)),
    };

    /// Check: `interval > 0`, `suspect_timeout > interval`, `failure_timeout >
    /// suspect_timeout`, `0 < phi_suspect < phi_failure`, `max_local_pause > suspect_timeout`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        #[cfg(not(feature = "phi-accrual"))]
        if matches!(self.mode, HeartbeatMode::Phi) {
            return Err(ConfigError::new(
                ConfigField::HeartbeatMode,
                ConfigReason::NeedsPhiAccrual,
            ));
        }
        if self.interval.is_zero() {
            return Err(ConfigError::new(
                ConfigField::HeartbeatInterval,
                ConfigReason::Positive,
            ));
        }
        if self.suspect_timeout <= self.interval {
            return Err(ConfigError::new(
                ConfigField::HeartbeatSuspectTimeout,
                ConfigReason::AboveInterval,
            ));
        }
        if self.failure_timeout <= self.suspect_timeout {
            return Err(ConfigError::new(
                ConfigField::HeartbeatFailureTimeout,
                ConfigReason::AboveSuspectTimeout,
            ));
        }
        if self.phi_suspect_milli == 0 {
            return Err(ConfigError::new(
                ConfigField::HeartbeatPhiSuspectMilli,
                ConfigReason::Positive,
            ));
        }
        if self.phi_failure_milli <= self.phi_suspect_milli {
            return Err(ConfigError::new(
                ConfigField::HeartbeatPhiFailureMilli,
                ConfigReason::AbovePhiSuspect,
            ));
        }
        if self.max_local_pause <= self.suspect_timeout {
            // A driver that ticks at `poll_timeout` ticks at least every `suspect_timeout`;
            // a smaller bound would read every such gap as a local pause and never convict.
            return Err(ConfigError::new(
                ConfigField::HeartbeatMaxLocalPause,
                ConfigReason::AboveSuspectTimeout,
            ));
        }
        Ok(())
    }

    /// Set the mode.
    pub const fn with_mode(mut self, m: HeartbeatMode) -> Self {
        self.mode = m;
        self
    }
    /// Set the expected heartbeat interval (seeds the phi mean).
    pub const fn with_interval(mut self, d: Duration) -> Self {
        self.interval = Span::of(d);
        self
    }
    /// Set the silence after which a partition is suspected.
    pub const fn with_suspect_timeout(mut self, d: Duration) -> Self {
        self.suspect_timeout = Span::of(d);
        self
    }
    /// Set the silence after which a partition is declared failed.
    pub const fn with_failure_timeout(mut self, d: Duration) -> Self {
        self.failure_timeout = Span::of(d);
        self
    }
    /// Set the phi thresholds in thousandths (5000 = 5.0).
    pub const fn with_phi_milli(mut self, suspect: u32, failure: u32) -> Self {
        self.phi_suspect_milli = suspect;
        self.phi_failure_milli = failure;
        self
    }
    /// Set the tick gap above which the driver itself is considered paused.
    pub const fn with_max_local_pause(mut self, d: Duration) -> Self {
        self.max_local_pause = Span::of(d);
        self
    }

    /// The mode.
    pub const fn mode(&self) -> HeartbeatMode {
        self.mode
    }
    /// The expected interval.
    pub const fn interval(&self) -> Duration {
        self.interval.get()
    }
    /// The suspicion timeout.
    pub const fn suspect_timeout(&self) -> Duration {
        self.suspect_timeout.get()
    }
    /// The failure timeout.
    pub const fn failure_timeout(&self) -> Duration {
        self.failure_timeout.get()
    }
    /// The phi suspicion threshold in thousandths.
    pub const fn phi_suspect_milli(&self) -> u32 {
        self.phi_suspect_milli
    }
    /// The phi failure threshold in thousandths.
    pub const fn phi_failure_milli(&self) -> u32 {
        self.phi_failure_milli
    }
    /// The local-pause threshold.
    pub const fn max_local_pause(&self) -> Duration {
        self.max_local_pause.get()
    }
    /// Whether any detector runs.
    pub const fn enabled(&self) -> bool {
        !matches!(self.mode, HeartbeatMode::Off)
    }
}

fn micros_of(s: Span) -> u32 {
    u32::try_from(s.as_micros()).unwrap_or(u32::MAX).max(1)
}

/// Per-partition heartbeat record (16 bytes, plain data, usable without `std`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct HeartbeatState {
    last: Instant,
    mean_us: u32,
    verdict: Verdict,
}

impl HeartbeatState {
    /// A record whose last heartbeat is `now` with the mean seeded by `cfg.interval()()`.
    pub fn new(now: Instant, cfg: &HeartbeatConfig) -> Self {
        HeartbeatState {
            last: now,
            mean_us: micros_of(cfg.interval),
            verdict: Verdict::Alive,
        }
    }

    /// An inert record (origin, 1 µs mean); the coordinator resets it before use.
    pub const fn empty() -> Self {
        HeartbeatState {
            last: Instant::ZERO,
            mean_us: 1,
            verdict: Verdict::Alive,
        }
    }

    /// Start a fresh life at `now` (after a recovery): as [`HeartbeatState::new`].
    pub fn reset(&mut self, now: Instant, cfg: &HeartbeatConfig) {
        *self = HeartbeatState::new(now, cfg);
    }

    /// Pretend the last heartbeat arrived at `now`, keeping the mean (local pause).
    pub fn rebase(&mut self, now: Instant) {
        if now > self.last {
            self.last = now;
        }
        self.verdict = Verdict::Alive;
    }

    /// The instant of the last heartbeat.
    pub const fn last(&self) -> Instant {
        self.last
    }
    /// The running mean inter-arrival time.
    pub const fn mean(&self) -> Duration {
        crate::arith::duration_from_micros(self.mean_us as u64)
    }
    /// The verdict as of the last [`HeartbeatState::update`] or [`HeartbeatState::record`].
    pub const fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// A heartbeat arrived at `now`: sample the gap (while Alive and below the failure
    /// timeout) and become Alive. Returns the verdict it had before.
    pub fn record(&mut self, now: Instant, cfg: &HeartbeatConfig) -> Verdict {
        let before = self.verdict;
        let gap = now.span_since(self.last);
        if before == Verdict::Alive && gap < cfg.failure_timeout && !gap.is_zero() {
            let sample = i64::from(micros_of(gap));
            let mean = i64::from(self.mean_us);
            let next = mean + (sample - mean) / 8;
            self.mean_us = u32::try_from(next.max(1)).unwrap_or(u32::MAX);
        }
        if now > self.last {
            self.last = now;
        }
        self.verdict = Verdict::Alive;
        before
    }

    /// The silence after which the verdict becomes Suspect (resp. Dead).
    fn thresholds(&self, cfg: &HeartbeatConfig) -> (Span, Span) {
        match cfg.mode {
            #[cfg(feature = "phi-accrual")]
            HeartbeatMode::Phi => {
                let s = Span::of(phi_threshold(cfg.phi_suspect_milli, self.mean_us));
                let f = Span::of(phi_threshold(cfg.phi_failure_milli, self.mean_us));
                (s.min(cfg.suspect_timeout), f.min(cfg.failure_timeout))
            }
            _ => (cfg.suspect_timeout, cfg.failure_timeout),
        }
    }

    /// The verdict at `now` (pure; a backward clock step reads as zero silence).
    pub fn verdict_at(&self, now: Instant, cfg: &HeartbeatConfig) -> Verdict {
        if !cfg.enabled() {
            return Verdict::Alive;
        }
        let t = now.span_since(self.last);
        let (s, f) = self.thresholds(cfg);
        if t >= f {
            Verdict::Dead
        } else if t >= s {
            Verdict::Suspect
        } else {
            Verdict::Alive
        }
    }

    /// Re-evaluate at `now`; returns `Some((from, to))` when the verdict got worse. (It only
    /// gets better through [`HeartbeatState::record`].)
    pub fn update(&mut self, now: Instant, cfg: &HeartbeatConfig) -> Option<(Verdict, Verdict)> {
        let v = self.verdict_at(now, cfg);
        if v > self.verdict {
            let from = self.verdict;
            self.verdict = v;
            Some((from, v))
        } else {
            None
        }
    }

    /// The instant at which the verdict will next get worse, if it can.
    pub fn next_deadline(&self, cfg: &HeartbeatConfig) -> Option<Instant> {
        if !cfg.enabled() {
            return None;
        }
        let (s, f) = self.thresholds(cfg);
        match self.verdict {
            Verdict::Alive => Some(self.last.add_span(s)),
            Verdict::Suspect => Some(self.last.add_span(f)),
            Verdict::Dead => None,
        }
    }
}

/// `ceil(phi_milli/1000 · ln 10 · mean)` as a duration.
#[cfg(feature = "phi-accrual")]
pub fn phi_threshold(phi_milli: u32, mean_us: u32) -> Duration {
    // nanos = phi_milli * LN_10_NANOS * mean_us * 1000 / (1000 * 10^9)
    //       = phi_milli * LN_10_NANOS * mean_us / 10^9
    let num = u128::from(phi_milli) * LN_10_NANOS * u128::from(mean_us);
    let nanos = num.div_ceil(1_000_000_000);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    #[test]
    fn interval_mode_is_inclusive_and_ordered() {
        let cfg = HeartbeatConfig::DEFAULT.with_mode(HeartbeatMode::Interval);
        let mut h = HeartbeatState::new(ms(1000), &cfg);
        assert_eq!(h.next_deadline(&cfg), Some(ms(3000)));
        assert_eq!(h.update(ms(2999), &cfg), None);
        assert_eq!(
            h.update(ms(3000), &cfg),
            Some((Verdict::Alive, Verdict::Suspect))
        );
        assert_eq!(h.next_deadline(&cfg), Some(ms(6000)));
        assert_eq!(
            h.update(ms(6000), &cfg),
            Some((Verdict::Suspect, Verdict::Dead))
        );
        assert_eq!(h.next_deadline(&cfg), None);
        assert_eq!(h.record(ms(6100), &cfg), Verdict::Dead);
        assert_eq!(h.verdict(), Verdict::Alive);
        // A jump straight past the failure timeout reports Alive -> Dead in one step; the
        // coordinator turns it into two transitions (B25).
        assert_eq!(
            h.update(ms(20_000), &cfg),
            Some((Verdict::Alive, Verdict::Dead))
        );
    }

    #[test]
    fn backward_clock_is_zero_silence() {
        let cfg = HeartbeatConfig::DEFAULT.with_mode(HeartbeatMode::Interval);
        let h = HeartbeatState::new(ms(5000), &cfg);
        assert_eq!(h.verdict_at(ms(10), &cfg), Verdict::Alive);
    }

    #[test]
    fn off_mode_never_convicts() {
        let cfg = HeartbeatConfig::DEFAULT;
        let mut h = HeartbeatState::new(ms(0), &cfg);
        assert_eq!(h.update(ms(1_000_000), &cfg), None);
        assert_eq!(h.next_deadline(&cfg), None);
    }

    #[test]
    #[cfg(feature = "phi-accrual")]
    fn phi_threshold_matches_cassandra_formula() {
        // phi 8 with mean 100 ms: 8 * ln 10 * 0.1 s = 1.842068 s.
        let d = phi_threshold(8_000, 100_000);
        assert_eq!(d.as_micros(), 1_842_068);
        // phi 1 with 1 µs mean: ln 10 µs.
        assert_eq!(phi_threshold(1000, 1), Duration::from_nanos(2303));
    }

    #[test]
    #[cfg(feature = "phi-accrual")]
    fn phi_mode_adapts_to_fast_heartbeats_and_stays_bounded() {
        let cfg = HeartbeatConfig::DEFAULT
            .with_mode(HeartbeatMode::Phi)
            .with_interval(Duration::from_millis(100))
            .with_suspect_timeout(Duration::from_secs(2))
            .with_failure_timeout(Duration::from_secs(5));
        let mut h = HeartbeatState::new(ms(0), &cfg);
        for i in 1..=50 {
            h.record(ms(i * 100), &cfg);
        }
        assert_eq!(h.mean(), Duration::from_millis(100));
        // phi 5 * ln 10 * 100 ms = 1.151 s < 2 s: suspicion comes from phi.
        let d = h.next_deadline(&cfg).unwrap();
        assert_eq!(d.saturating_duration_since(ms(5000)).as_micros(), 1_151_292);
        assert_eq!(h.verdict_at(ms(6150), &cfg), Verdict::Alive);
        assert_eq!(h.verdict_at(ms(6152), &cfg), Verdict::Suspect);
        // phi 8 → 1.842 s < 5 s.
        assert_eq!(h.verdict_at(ms(6843), &cfg), Verdict::Dead);
        // Slow heartbeats: the mean grows but the fixed timeouts bound detection.
        let mut slow = HeartbeatState::new(ms(0), &cfg);
        for i in 1..=100 {
            slow.record(ms(i * 1900), &cfg);
        }
        let last = ms(100 * 1900);
        assert_eq!(
            slow.verdict_at(last.saturating_add(Duration::from_secs(2)), &cfg),
            Verdict::Suspect
        );
        assert_eq!(
            slow.verdict_at(last.saturating_add(Duration::from_secs(5)), &cfg),
            Verdict::Dead
        );
    }

    #[test]
    #[cfg(feature = "phi-accrual")]
    fn long_gaps_are_not_sampled() {
        let cfg = HeartbeatConfig::DEFAULT.with_mode(HeartbeatMode::Phi);
        let mut h = HeartbeatState::new(ms(0), &cfg);
        h.record(ms(60_000), &cfg);
        assert_eq!(h.mean(), Duration::from_millis(500));
        h.update(ms(70_000), &cfg);
        assert_eq!(h.verdict(), Verdict::Dead);
        h.record(ms(70_100), &cfg);
        assert_eq!(h.mean(), Duration::from_millis(500));
    }

    #[test]
    fn config_validation_names_fields() {
        let base = HeartbeatConfig::DEFAULT;
        assert_eq!(base.validate(), Ok(()));
        let bad = [
            (base.with_interval(Duration::ZERO), "heartbeat.interval"),
            (
                base.with_suspect_timeout(Duration::from_millis(500)),
                "heartbeat.suspect_timeout",
            ),
            (
                base.with_failure_timeout(Duration::from_secs(2)),
                "heartbeat.failure_timeout",
            ),
            (base.with_phi_milli(0, 10), "heartbeat.phi_suspect_milli"),
            (base.with_phi_milli(5, 5), "heartbeat.phi_failure_milli"),
            (
                base.with_max_local_pause(Duration::ZERO),
                "heartbeat.max_local_pause",
            ),
            (
                base.with_max_local_pause(Duration::from_secs(2)),
                "heartbeat.max_local_pause",
            ),
        ];
        for (c, f) in bad {
            assert_eq!(c.validate().unwrap_err().field, f);
        }
    }

    #[test]
    fn state_is_sixteen_bytes() {
        assert_eq!(core::mem::size_of::<HeartbeatState>(), 16);
    }
}
