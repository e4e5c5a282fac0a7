//! Issue 7, items 2, 11, 12 and 13: failures counted per signal (the wedged worker), the
//! original's alerts (raised and cleared), the recommended K, per-partition statistics,
//! thresholds changed on a running coordinator, confirmation by count and a zero recovery
//! timeout. Deterministic: the harness's manual millisecond clock, no wall time.
#![cfg(feature = "std")]

mod common;

use core::time::Duration;
use std::sync::Arc;

use common::{e2e_config, ms, Sim};
use ftforest_core::coord::PartitionSlot;
use ftforest_core::coord::{
    AlertThresholds, Alerts, Cause, Config, Coordinator, Event, HeartbeatConfig, HeartbeatMode,
    PartitionStatsError, Report, ReportOutcome, Signal, Storage,
};
use ftforest_core::{Health, HealthCell, LockSlot, QueueSlot, Tracker};

/// Item 2: a partition whose heartbeat thread is alive but whose forest worker is wedged: a
/// barrier timeout after every heartbeat, forever. It must be suspected, then failed. (Before
/// the fix every heartbeat reset the one shared counter and cleared SUSPECTED: never
/// suspected.)
#[test]
fn wedged_worker_with_live_heartbeats_is_suspected_then_failed() {
    let hb = HeartbeatConfig::DEFAULT.with_mode(HeartbeatMode::Interval);
    let cfg = e2e_config().to_builder().heartbeat(hb).build().unwrap();
    let mut s = Sim::new(5, cfg);
    s.auto = false;
    let mut suspected_at = None;
    let mut t = 0;
    while t < 3000 && s.health(2) != Health::Failed {
        // Every partition's heartbeat thread is alive ...
        for r in 0..5 {
            s.report(t, Report::heartbeat(r));
        }
        // ... but partition 2's forest worker never reaches the barrier.
        s.report(t + 10, Report::barrier_timeout(2));
        if suspected_at.is_none() && s.health(2) == Health::Suspected {
            suspected_at = Some(t);
        }
        t += 100;
    }
    let suspected_at = suspected_at.expect("wedged worker never suspected");
    // Two reports before suspicion: the second barrier timeout (t = 100).
    assert_eq!(suspected_at, 100);
    assert!(
        matches!(s.health(2), Health::Failed | Health::Recovering),
        "wedged worker not failed: {:?}",
        s.health(2)
    );
    // Confirmed by time, 1000 ms after the suspicion, never cleared in between.
    assert_eq!(s.first(2, Health::Failed), Some(ms(1110)));
    assert_eq!(
        s.transitions(2)
            .iter()
            .filter(|t| **t == (Health::Suspected, Health::Healthy))
            .count(),
        0
    );
    for r in [0, 1, 3, 4] {
        assert_eq!(s.health(r), Health::Healthy);
    }
}

/// Item 2: which success clears which failure (the table in `detect.rs`), through the
/// coordinator: a suspicion clears only once no signal is failing.
#[test]
fn suspicion_clears_only_when_every_signal_recovered() {
    let mut s = Sim::new(3, e2e_config());
    s.report(0, Report::barrier_timeout(0));
    assert_eq!(
        s.report(10, Report::ghost_sync_failure(0)),
        ReportOutcome::Suspected
    );
    let p = s.c.partition(0).unwrap();
    assert_eq!(
        (
            p.consecutive(Signal::Barrier),
            p.consecutive(Signal::GhostSync)
        ),
        (1, 1)
    );
    // A heartbeat and a barrier pass leave ghost sync failing.
    assert_eq!(s.report(20, Report::heartbeat(0)), ReportOutcome::Counted);
    assert_eq!(
        s.report(30, Report::barrier_passed(0)),
        ReportOutcome::Counted
    );
    assert_eq!(s.health(0), Health::Suspected);
    assert_eq!(
        s.report(40, Report::ghost_sync_success(0)),
        ReportOutcome::Cleared
    );
    // `Healthy` (the embedder's word) clears whatever is failing.
    s.report(100, Report::heartbeat_missed(1));
    s.report(110, Report::barrier_timeout(1));
    assert_eq!(s.health(1), Health::Suspected);
    assert_eq!(s.report(120, Report::healthy(1)), ReportOutcome::Cleared);
    assert_eq!(s.c.partition(1).unwrap().consecutive_failures(), 0);
}

fn crash_and_recover(s: &mut Sim, rank: u32, t: u64) {
    s.report(t, Report::crashed(rank));
    s.settle(t + 500);
    assert_eq!(s.health(rank), Health::Healthy, "rank {rank} not recovered");
}

/// Item 11: "many failures" is the original's attempted − succeeded > 5, over the failures
/// still open, so it clears when they recover. (Before the fix it counted failures detected
/// since creation: six failures, every one recovered at the first attempt, raised it for
/// good.)
#[test]
fn many_failures_alert_clears_when_the_failures_recover() {
    let cfg = e2e_config()
        .to_builder()
        .max_retries(10)
        .backoff_base(Duration::from_millis(10))
        .backoff_cap(Duration::from_millis(10))
        .build()
        .unwrap();
    let mut s = Sim::new(20, cfg);
    for (i, rank) in (10..16).enumerate() {
        crash_and_recover(&mut s, rank, 1000 * i as u64);
    }
    assert_eq!(s.c.stats().failures_detected, 6);
    assert!(
        !s.c.alerts(s.now).contains(Alerts::MANY_FAILURES),
        "six recovered failures keep MANY_FAILURES raised"
    );
    // Six failed attempts for a failure still open: raised.
    s.plan = Box::new(|job| job.number > 6);
    s.report(10_000, Report::crashed(0));
    let mut t = 10_000;
    while s.c.stats().recoveries_failed < 6 {
        t += 5;
        s.tick(t);
    }
    assert!(s.c.alerts(s.now).contains(Alerts::MANY_FAILURES));
    // The seventh attempt succeeds: the failure is closed, the alert clears.
    s.settle(t + 1000);
    assert_eq!(s.health(0), Health::Healthy);
    assert!(!s.c.alerts(s.now).contains(Alerts::MANY_FAILURES));
}

/// Item 11 with an operator `retry`: a failure whose retries ran out (escalated) and that
/// is then retried and recovered is closed, so its failed attempts leave "many failures".
/// (Before the fix `retry` restarted the attempt numbering and only the attempts of the
/// retried run were closed at the success: the given-up attempts stayed counted for good,
/// MANY_FAILURES raised with every partition HEALTHY.)
#[test]
fn many_failures_alert_clears_after_an_exhausted_failure_is_retried_and_recovered() {
    let cfg = e2e_config()
        .to_builder()
        .max_retries(1)
        .backoff_base(Duration::from_millis(10))
        .backoff_cap(Duration::from_millis(10))
        .build()
        .unwrap();
    let mut s = Sim::new(5, cfg);
    s.c.set_alert_thresholds(AlertThresholds {
        max_unrecovered: 0,
        ..AlertThresholds::DEFAULT
    })
    .unwrap();
    // Both attempts fail: escalated (EXHAUSTED), two failed attempts of an open failure.
    s.plan = Box::new(|_| false);
    s.report(0, Report::crashed(1));
    s.settle(1000);
    assert_eq!(s.health(1), Health::Failed);
    assert_eq!(s.c.stats().recoveries_failed, 2);
    assert!(s.c.alerts(s.now).contains(Alerts::MANY_FAILURES));
    // The operator retries; the attempt succeeds: nothing is open any more.
    s.plan = Box::new(|_| true);
    s.c.retry(s.now, 1).unwrap();
    s.pump();
    s.settle(2000);
    assert_eq!(s.health(1), Health::Healthy);
    assert!(
        !s.c.alerts(s.now).contains(Alerts::MANY_FAILURES),
        "a retried and recovered failure keeps MANY_FAILURES raised"
    );
}

/// Item 11: success rate below 0.8 (over finished attempts) is raised, and clears once
/// enough attempts succeed.
#[test]
fn low_success_rate_raises_and_clears() {
    let cfg = e2e_config().to_builder().max_retries(1).build().unwrap();
    let mut s = Sim::new(20, cfg);
    assert!(!s.c.alerts(s.now).contains(Alerts::LOW_SUCCESS_RATE));
    // Rank 0 fails its first attempt and succeeds with the retry: 1 of 2.
    s.plan = Box::new(|job| !(job.rank == 0 && job.number == 1));
    s.report(0, Report::crashed(0));
    s.settle(300);
    assert_eq!(s.health(0), Health::Healthy);
    assert!(s.c.alerts(s.now).contains(Alerts::LOW_SUCCESS_RATE));
    // Three more successes: 4 of 5 = 0.8, not below.
    for (i, rank) in (1..4).enumerate() {
        crash_and_recover(&mut s, rank, 1000 + 1000 * i as u64);
    }
    assert!(!s.c.alerts(s.now).contains(Alerts::LOW_SUCCESS_RATE));
}

/// Item 11: more than 5 partitions in the recovery queue raises `QUEUE_BACKLOG`; draining it
/// clears the alert.
#[test]
fn queue_backlog_raises_and_clears() {
    let cfg = e2e_config().to_builder().max_concurrent(1).build().unwrap();
    let mut s = Sim::new(20, cfg);
    s.auto = false;
    for r in 0..6 {
        s.report(r as u64, Report::crashed(r));
    }
    // One running, five queued: not more than 5.
    assert_eq!(s.c.stats().queue_depth, 5);
    assert!(!s.c.alerts(s.now).contains(Alerts::QUEUE_BACKLOG));
    s.report(10, Report::crashed(6));
    assert_eq!(s.c.stats().queue_depth, 6);
    assert!(s.c.alerts(s.now).contains(Alerts::QUEUE_BACKLOG));
    s.auto = true;
    s.settle(5_000);
    assert_eq!(s.c.stats().queue_depth, 0);
    assert!(!s.c.alerts(s.now).contains(Alerts::QUEUE_BACKLOG));
}

/// Items 11 and 13: the monitor's maximum suspected partitions and maximum detection
/// latency, raised and cleared, and thresholds changed on the running coordinator.
#[test]
fn suspected_and_detection_alerts_with_thresholds_changed_at_run_time() {
    let mut s = Sim::new(20, e2e_config());
    for r in 0..3 {
        s.suspect(r, 10 * r as u64);
    }
    assert!(s.c.alerts(s.now).contains(Alerts::MANY_SUSPECTED));
    s.report(200, Report::healthy(2));
    assert!(!s.c.alerts(s.now).contains(Alerts::MANY_SUSPECTED));
    // Lower the limit at run time: two suspected now exceed 1.
    let t = AlertThresholds {
        max_suspected: 1,
        ..*s.c.config().alerts()
    };
    s.c.set_alert_thresholds(t).unwrap();
    assert!(s.c.alerts(s.now).contains(Alerts::MANY_SUSPECTED));
    assert_eq!(s.c.config().alerts().max_suspected, 1);
    // Confirmation after 1000 ms: average detection latency ~1050 ms.
    s.settle(3_000);
    assert!(s.c.stats().failures_detected >= 2);
    assert!(!s.c.alerts(s.now).contains(Alerts::SLOW_DETECTION));
    let slow = AlertThresholds {
        max_avg_detection: Duration::from_millis(500),
        ..t
    };
    s.c.set_alert_thresholds(slow).unwrap();
    assert!(s.c.alerts(s.now).contains(Alerts::SLOW_DETECTION));
    // Fast detections (crash reports: zero latency) bring the average down: cleared.
    for r in 10..16 {
        crash_and_recover(&mut s, r, 4_000 + 1000 * u64::from(r));
    }
    assert!(!s.c.alerts(s.now).contains(Alerts::SLOW_DETECTION));
    // An invalid value is refused by name, nothing changes.
    let bad = AlertThresholds {
        min_success_permille: 2000,
        ..slow
    };
    assert_eq!(
        s.c.set_alert_thresholds(bad).unwrap_err().field,
        "alerts.min_success_permille"
    );
    assert_eq!(*s.c.config().alerts(), slow);
}

/// Item 13: statistics per partition, by rank, with typed errors.
#[test]
fn per_partition_statistics() {
    let mut s = Sim::new(4, e2e_config());
    assert_eq!(
        s.c.partition_stats(4).unwrap_err(),
        PartitionStatsError::UnknownPartition
    );
    let p = s.c.partition_stats(1).unwrap();
    assert_eq!((p.reports, p.last_report, p.suspicions), (0, None, 0));
    s.report(100, Report::barrier_timeout(1));
    s.report(120, Report::heartbeat_missed(1));
    s.report(130, Report::heartbeat_missed(1));
    let p = s.c.partition_stats(1).unwrap();
    assert_eq!(p.consecutive, [1, 0, 2]);
    assert_eq!(p.consecutive(Signal::Heartbeat), 2);
    assert_eq!((p.reports, p.suspicions), (3, 1));
    assert_eq!(p.last_report, Some(ms(130)));
    // Confirmed at 1120 (detection 1020 ms), recovered by the harness's phases.
    s.settle(2_000);
    assert_eq!(s.health(1), Health::Healthy);
    let p = s.c.partition_stats(1).unwrap();
    assert_eq!(
        (p.failures, p.recoveries_attempted, p.recoveries_succeeded),
        (1, 1, 1)
    );
    assert_eq!(p.last_detection_latency, Some(Duration::from_millis(1020)));
    // Four phases of 10 ms after the failure at 1120.
    assert_eq!(p.last_recovery_latency, Some(Duration::from_millis(40)));
    assert_eq!(p.consecutive, [0; 3]);
    // Other partitions untouched.
    assert_eq!(s.c.partition_stats(0).unwrap().reports, 0);

    // A coordinator made without statistics storage says so.
    let tracker: Arc<Tracker> = Arc::new(Tracker::new());
    let storage = Storage {
        cells: [HealthCell::new(), HealthCell::new()],
        locks: [LockSlot::new(), LockSlot::new()],
        queue: [
            QueueSlot::new(),
            QueueSlot::new(),
            QueueSlot::new(),
            QueueSlot::new(),
        ],
        slots: [PartitionSlot::new(), PartitionSlot::new()],
    };
    let c: Coordinator<_, _, _, _, _> =
        Coordinator::new(Config::default(), storage, 2, tracker, ms(0)).unwrap();
    assert_eq!(
        c.partition_stats(0).unwrap_err(),
        PartitionStatsError::Disabled
    );
}

/// Item 13: the original's simple handler: the first failure report suspects, the second
/// (of any signal) confirms FAILED; beside the rule by time.
#[test]
fn confirmation_by_count() {
    let cfg = e2e_config()
        .to_builder()
        .reports_before_suspicion(1)
        .reports_before_failure(2)
        .build()
        .unwrap();
    let mut s = Sim::new(5, cfg);
    s.auto = false;
    assert_eq!(
        s.report(0, Report::ghost_sync_failure(3)),
        ReportOutcome::Suspected
    );
    assert_eq!(
        s.report(10, Report::barrier_timeout(3)),
        ReportOutcome::Failed
    );
    let causes: Vec<_> = s
        .events
        .iter()
        .filter_map(|e| match e {
            Event::StatusChanged(c) if c.rank == 3 => Some((c.to, c.cause)),
            _ => None,
        })
        .collect();
    assert_eq!(
        &causes[..2],
        &[
            (Health::Suspected, Cause::GhostSyncFailure),
            (Health::Failed, Cause::BarrierTimeout)
        ]
    );
    // The rule by time still applies to a partition that gets only one report.
    s.report(20, Report::heartbeat_missed(4));
    s.tick(1020);
    assert!(matches!(s.health(4), Health::Failed | Health::Recovering));
}

/// Item 13: a recovery timeout of zero means "no timeout" (the original accepted 0). Before
/// the fix the configuration was refused ("recovery_timeout: must be positive").
#[test]
fn zero_recovery_timeout_means_no_timeout() {
    let cfg = e2e_config()
        .to_builder()
        .recovery_timeout(Duration::ZERO)
        .build()
        .expect("a zero recovery timeout is accepted");
    let mut s = Sim::new(3, cfg);
    s.auto = false;
    s.report(0, Report::crashed(1));
    assert_eq!(s.health(1), Health::Recovering);
    assert_eq!(s.jobs.len(), 1);
    // No deadline while the phase runs (once the suspicion's early deadline has passed):
    // nothing for `tick` to do, ever.
    s.tick(1_000);
    assert_eq!(s.c.poll_timeout(), None);
    s.jump(10 * 3_600 * 1000);
    assert_eq!(s.health(1), Health::Recovering);
    assert!(s.cancelled.is_empty());
    assert_eq!(s.c.stats().recoveries_timed_out, 0);
    // The phases finish whenever they finish.
    for _ in 0..4 {
        s.complete(1, true);
    }
    assert_eq!(s.health(1), Health::Healthy);
}

/// Item 12: the original's recommended K.
#[test]
fn recommended_max_concurrent() {
    assert_eq!(Config::recommended_max_concurrent(3), 1);
    assert_eq!(Config::recommended_max_concurrent(12), 3);
    assert_eq!(Config::recommended_max_concurrent(1000), 5);
    let k = Config::recommended_max_concurrent(8);
    let cfg = Config::builder().max_concurrent(k).build().unwrap();
    assert_eq!(cfg.max_concurrent(), 2);
}

struct NoRecovery;
impl ftforest_core::coord::Recovery for NoRecovery {
    fn detecting(&self, _: &ftforest_core::coord::PhaseJob) -> bool {
        true
    }
    fn redistributing(&self, _: &ftforest_core::coord::PhaseJob) -> bool {
        true
    }
    fn rebalancing(&self, _: &ftforest_core::coord::PhaseJob) -> bool {
        true
    }
    fn validating(&self, _: &ftforest_core::coord::PhaseJob) -> bool {
        true
    }
}

/// Item 13 through the std `Monitor` (not started: no threads): per-partition statistics
/// and thresholds changed while it exists.
#[test]
fn monitor_partition_stats_and_thresholds() {
    use ftforest_core::coord::Monitor;
    use ftforest_core::ManualClock;
    let clock = ManualClock::new(ms(5));
    let m = Monitor::new(
        e2e_config(),
        4,
        Arc::new(Tracker::<ftforest_core::SpinWait, 8>::new()),
        NoRecovery,
        clock,
    )
    .unwrap();
    m.report_at(ms(7), Report::barrier_timeout(2)).unwrap();
    let p = m.partition_stats(2).unwrap();
    assert_eq!((p.reports, p.last_report), (1, Some(ms(7))));
    assert_eq!(p.consecutive(Signal::Barrier), 1);
    assert_eq!(
        m.partition_stats(9).unwrap_err(),
        PartitionStatsError::UnknownPartition
    );
    let t = AlertThresholds {
        max_failed: 3,
        ..AlertThresholds::DEFAULT
    };
    m.set_alert_thresholds(t).unwrap();
    assert_eq!(m.with_coordinator(|c| *c.config().alerts()), t);
    let bad = AlertThresholds {
        min_healthy_percent: 101,
        ..t
    };
    assert!(m.set_alert_thresholds(bad).is_err());
    assert_eq!(m.with_coordinator(|c| c.config().alerts().max_failed), 3);
}
