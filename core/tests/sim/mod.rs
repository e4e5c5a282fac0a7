//! Building blocks of the seeded coordinator simulation (`coord_sim.rs`): a tiny
//! deterministic PRNG (xorshift64*, no dependency), the random configuration of one run and
//! the coverage counters that keep the simulation from going vacuous.
#![allow(dead_code)]

pub mod fence;

use core::time::Duration;

use ftforest_core::coord::{Config, HeartbeatConfig, HeartbeatMode, PauseTimeoutPolicy, Phase};

/// Every phase, for out-of-order `phase_done` calls.
pub const PHASES: [Phase; 7] = [
    Phase::Idle,
    Phase::Detecting,
    Phase::Redistributing,
    Phase::Rebalancing,
    Phase::Validating,
    Phase::Complete,
    Phase::Failed,
];

/// xorshift64* (no dependency); never seeded with zero.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform-ish in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    /// True with probability `p` percent.
    pub fn pct(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }
}

pub fn random_config(rng: &mut Rng) -> Config {
    let policy = if rng.pct(50) {
        PauseTimeoutPolicy::AbortAndRetry
    } else {
        PauseTimeoutPolicy::Proceed
    };
    let base = rng.range(0, 50);
    // Zero (documented as legal) in a fifth of the runs: issue 7, item 5.
    let pause = if rng.pct(20) { 0 } else { rng.range(0, 300) };
    // Heartbeats in a quarter of the runs (issue 7, item 7: no spinning driver with them).
    let hb = if rng.pct(25) {
        let interval = rng.range(10, 50);
        let suspect = interval * rng.range(3, 6);
        let mode = if rng.pct(50) {
            HeartbeatMode::Interval
        } else {
            HeartbeatMode::Phi
        };
        // In a third of them the failure timeout lies more than `max_local_pause` after the
        // suspect timeout (legal): a driver ticking when asked must still convict.
        let (failure, local_pause) = if rng.pct(33) {
            let lp = suspect + rng.range(1, 50);
            (suspect + lp + rng.range(1, 200), lp)
        } else {
            (suspect * 2, 5_000)
        };
        HeartbeatConfig::DEFAULT
            .with_mode(mode)
            .with_interval(Duration::from_millis(interval))
            .with_suspect_timeout(Duration::from_millis(suspect))
            .with_failure_timeout(Duration::from_millis(failure))
            .with_max_local_pause(Duration::from_millis(local_pause))
    } else {
        HeartbeatConfig::DEFAULT
    };
    // Zero (no timeout, issue 7 item 13) in a sixth of the runs: with cancels never
    // acknowledged and heartbeats on, nothing may spin or strand.
    let recovery = if rng.pct(16) { 0 } else { rng.range(20, 500) };
    Config::builder()
        .heartbeat(hb)
        .reports_before_suspicion(rng.range(1, 3) as u32)
        .failure_confirmation(Duration::from_millis(rng.range(0, 200)))
        .max_retries(rng.range(0, 3) as u32)
        .backoff_base(Duration::from_millis(base))
        .backoff_cap(Duration::from_millis(base + rng.range(0, 200)))
        .recovery_timeout(Duration::from_millis(recovery))
        .max_concurrent(rng.range(1, 4) as u32)
        .pause_timeout(Duration::from_millis(pause))
        .pause_timeout_policy(policy)
        .quiescence_poll(Duration::from_millis(rng.range(1, 20)))
        .cancel_timeout(Duration::from_millis(rng.range(1, 2_000)))
        .build()
        .expect("valid random config")
}

/// What the runs exercised (asserted at the end so the simulation cannot go vacuous).
#[derive(Debug, Default)]
pub struct Coverage {
    pub runs: u64,
    pub small_outbox: u64,
    pub phases: u64,
    pub succeeded: u64,
    pub failed_attempts: u64,
    pub retries_exhausted: u64,
    pub explicit_retries: u64,
    pub pause_timeouts: u64,
    pub cancels: u64,
    pub proceed_with_ops: u64,
    pub refused_calls: u64,
    pub stale_reports: u64,
    pub deferred: u64,
    pub backward_ticks: u64,
    pub quorum_lost_endings: u64,
    pub all_healthy_endings: u64,
    pub cancels_acked_at_once: u64,
    pub cancels_acked_late: u64,
    pub cancels_acked_by_phase_done: u64,
    pub cancels_acked_before_polled: u64,
    pub cancels_escalated: u64,
    pub phase_done_past_deadline: u64,
    pub duplicate_results: u64,
    pub driver_stops: u64,
    pub heartbeat_runs: u64,
    pub heartbeat_suspicions: u64,
    pub no_timeout_recoveries: u64,
    /// Runtime membership (issue 8, `sim/members.rs`).
    pub joins: u64,
    pub leaves: u64,
    pub decommissions: u64,
    pub recovered_elsewhere: u64,
    pub refused_membership: u64,
    pub not_member_reports: u64,
    pub quorum_by_membership: u64,
    pub fenced_runs: u64,
    pub fences_granted: u64,
    pub fences_refused: u64,
    pub fences_refused_recovered: u64,
    pub fence_waits_timed_out: u64,
    pub fence_waits_abandoned_unavailable: u64,
    pub fence_releases: u64,
    pub fence_releases_completed: u64,
    pub availability_flips: u64,
    pub hostile_fence_calls: u64,
    pub late_grants_refused: u64,
    pub grants_refused_unavailable: u64,
}

impl Coverage {
    pub fn merge(&mut self, o: &Coverage) {
        macro_rules! add {
            ($($f:ident),*) => { $( self.$f += o.$f; )* };
        }
        add!(
            runs,
            small_outbox,
            phases,
            succeeded,
            failed_attempts,
            retries_exhausted,
            explicit_retries,
            pause_timeouts,
            cancels,
            proceed_with_ops,
            refused_calls,
            stale_reports,
            deferred,
            backward_ticks,
            quorum_lost_endings,
            all_healthy_endings,
            cancels_acked_at_once,
            cancels_acked_late,
            cancels_acked_by_phase_done,
            cancels_acked_before_polled,
            cancels_escalated,
            phase_done_past_deadline,
            duplicate_results,
            driver_stops,
            heartbeat_runs,
            heartbeat_suspicions,
            no_timeout_recoveries,
            joins,
            leaves,
            decommissions,
            recovered_elsewhere,
            refused_membership,
            not_member_reports,
            quorum_by_membership,
            fenced_runs,
            fences_granted,
            fences_refused,
            fences_refused_recovered,
            fence_waits_timed_out,
            fence_waits_abandoned_unavailable,
            fence_releases,
            fence_releases_completed,
            availability_flips,
            hostile_fence_calls,
            late_grants_refused,
            grants_refused_unavailable
        );
    }
}
