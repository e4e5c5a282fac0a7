//! One test per defect of the Java layer (digest §2) that concerns the coordinator, showing it
//! cannot happen here. B2 and B20 involve threads and live in `coord_monitor.rs` as well.
#![cfg(feature = "std")]

mod common;

use core::cell::Cell;
use core::time::Duration;
use std::vec::Vec;

use common::{ms, Sim, FULL};
use ftforest_core::coord::{
    Action, Alerts, Barrier, BarrierOutcome, Cause, Config, EscalationReason, Event, EventKind,
    HealthLevel, HeartbeatConfig, HeartbeatMode, ListenerSet, PauseTimeoutPolicy, Phase,
    PhaseDoneError, Report, ReportError, ReportOutcome, ReportingBarrier, RetryError,
};
use ftforest_core::{Health, ManualClock, RankError};

fn cfg() -> Config {
    Config::builder()
        .failure_confirmation(Duration::from_millis(500))
        // Under Miri, re-check quiescence less often: the pause-timeout scenarios then tick
        // 50 instead of 500 times per pause (the abort's hold stays 100 ms:
        // max(backoff_base, quiescence_poll)).
        .quiescence_poll(Duration::from_millis(if QUICK { 100 } else { 10 }))
        .build()
        .unwrap()
}

const QUICK: bool = cfg!(miri);

fn no_self_transitions(s: &Sim) {
    for e in &s.events {
        if let Event::StatusChanged(c) = e {
            assert_ne!(c.from, c.to, "old == new event: {c:?}");
        }
    }
}

/// B1: starting a recovery emits no FAILED→FAILED event, is not counted as a new failure and
/// cannot trigger another recovery.
#[test]
fn b1_no_self_triggering_recovery_storm() {
    let mut s = Sim::new(5, cfg());
    s.plan = Box::new(|j| j.number > 1); // first attempt fails, second succeeds
    s.suspect(1, 0);
    for t in (100..3000).step_by(100) {
        s.tick(t);
    }
    s.settle(5000);
    assert_eq!(s.health(1), Health::Healthy);
    no_self_transitions(&s);
    let st = s.c.stats();
    assert_eq!(st.failures_detected, 1);
    assert_eq!(st.recoveries_attempted, 2);
    assert_eq!(
        s.transitions(1),
        [
            (Health::Healthy, Health::Suspected),
            (Health::Suspected, Health::Failed),
            (Health::Failed, Health::Recovering),
            (Health::Recovering, Health::Failed),
            (Health::Failed, Health::Recovering),
            (Health::Recovering, Health::Healthy),
        ]
    );
    // Each recovery paused the forest exactly once.
    let pauses = s
        .actions
        .iter()
        .filter(|(_, a)| *a == Action::PauseBalancer)
        .count();
    assert_eq!(pauses, 2);
}

/// B2: the recovery that runs is the embedder's own phases (no legacy dispatch that always
/// fails): success comes from the embedder's answers.
#[test]
fn b2_recovery_runs_the_embedders_phases() {
    let mut s = Sim::new(3, cfg());
    let seen = std::rc::Rc::new(core::cell::RefCell::new(Vec::new()));
    let log = seen.clone();
    s.plan = Box::new(move |j| {
        log.borrow_mut().push(j.phase);
        true
    });
    s.report(0, Report::crashed(2));
    s.settle(1000);
    assert_eq!(*seen.borrow(), Phase::RUNNABLE);
    assert_eq!(s.health(2), Health::Healthy);
    assert_eq!(s.c.stats().recoveries_succeeded, 1);
}

/// B3: every barrier timeout is reported to detection.
#[test]
fn b3_barrier_decorator_reports_timeouts() {
    struct AlwaysLate(u32);
    impl Barrier for AlwaysLate {
        fn wait(&mut self, _: Duration) -> BarrierOutcome {
            self.0 += 1;
            BarrierOutcome::TimedOut
        }
    }
    let tracker = std::sync::Arc::new(ftforest_core::Tracker::new());
    let mut c = common::Coord::new_boxed(cfg(), 3, tracker, ms(0)).unwrap();
    let clock = ManualClock::new(ms(100));
    {
        let mut b = ReportingBarrier::new(AlwaysLate(0), &mut c, &clock, 1);
        assert_eq!(b.wait(Duration::from_millis(500)), BarrierOutcome::TimedOut);
        assert_eq!(b.wait(Duration::from_millis(500)), BarrierOutcome::TimedOut);
        assert_eq!((b.timeouts(), b.report_errors(), b.inner().0), (2, 0, 2));
    }
    assert_eq!(c.health(1).unwrap().0, Health::Suspected);
    let e = c.poll_event().unwrap();
    assert!(
        matches!(e, Event::StatusChanged(s) if s.cause == Cause::BarrierTimeout && s.time == ms(100))
    );
}

/// B6: heartbeat detection works (interval and phi modes).
#[test]
fn b6_heartbeat_detection_is_live() {
    for mode in [HeartbeatMode::Interval, HeartbeatMode::Phi] {
        let hb = HeartbeatConfig::DEFAULT.with_mode(mode);
        let mut s = Sim::new(3, cfg().to_builder().heartbeat(hb).build().unwrap());
        s.auto = false;
        // Ranks 0 and 2 beat every 500 ms; rank 1 is silent.
        let mut t = 0;
        while s.health(1) == Health::Healthy {
            t += 500;
            s.report(t, Report::heartbeat(0));
            s.report(t, Report::heartbeat(2));
            assert!(t <= 2000, "{mode:?}: not suspected by {t}");
        }
        assert_eq!(s.health(1), Health::Suspected);
        while s.health(1) == Health::Suspected {
            t += 500;
            s.report(t, Report::heartbeat(0));
            s.report(t, Report::heartbeat(2));
            assert!(t <= 5000, "{mode:?}: not failed by {t}");
        }
        assert_eq!(s.health(1), Health::Recovering);
        assert_eq!(
            (s.health(0), s.health(2)),
            (Health::Healthy, Health::Healthy)
        );
        let causes: Vec<_> = s
            .events
            .iter()
            .filter_map(|e| match e {
                Event::StatusChanged(c) if c.rank == 1 => Some(c.cause),
                _ => None,
            })
            .collect();
        assert_eq!(causes[0], Cause::HeartbeatTimeout);
    }
}

/// B7: counts are consecutive per signal: a success of the same signal resets them (issue 7
/// item 2: a success of another signal does not); a false alarm is an event.
#[test]
fn b7_consecutive_counting_and_false_alarm_events() {
    let mut s = Sim::new(3, cfg());
    for (i, (fail, ok)) in [
        (Report::barrier_timeout(0), Report::barrier_passed(0)),
        (Report::ghost_sync_failure(0), Report::ghost_sync_success(0)),
    ]
    .into_iter()
    .enumerate()
    {
        let t = 100 * i as u64;
        assert_eq!(s.report(t, fail), ReportOutcome::Counted);
        assert_eq!(s.report(t + 10, ok), ReportOutcome::Counted);
    }
    assert_eq!(s.health(0), Health::Healthy);
    assert_eq!(s.c.partition(0).unwrap().consecutive_failures(), 0);
    // After a false alarm (event!), a single failure does not re-suspect.
    s.suspect(0, 300);
    assert_eq!(s.report(360, Report::healthy(0)), ReportOutcome::Cleared);
    assert_eq!(
        s.transitions(0).last(),
        Some(&(Health::Suspected, Health::Healthy))
    );
    assert_eq!(
        s.report(370, Report::ghost_sync_failure(0)),
        ReportOutcome::Counted
    );
    assert_eq!(s.health(0), Health::Healthy);
    assert_eq!(s.c.stats().false_alarms, 1);
}

/// B9: a recovery result cannot force a HEALTHY partition to FAILED; no old == new events.
#[test]
fn b9_no_forced_failure_and_no_noop_events() {
    let mut s = Sim::new(3, cfg());
    assert_eq!(
        s.c.phase_done(ms(0), 1, 1, Phase::Detecting, false),
        Err(PhaseDoneError::StaleAttempt)
    );
    assert_eq!(s.health(1), Health::Healthy);
    s.report(1, Report::crashed(1));
    s.settle(500);
    assert_eq!(s.health(1), Health::Healthy);
    // A late failure for the finished attempt changes nothing.
    let attempt = s.actions.iter().find_map(|(_, a)| match a {
        Action::RunPhase(j) => Some(j.attempt),
        _ => None,
    });
    assert_eq!(
        s.c.phase_done(ms(600), 1, attempt.unwrap(), Phase::Validating, false),
        Err(PhaseDoneError::StaleAttempt)
    );
    assert_eq!(s.health(1), Health::Healthy);
    no_self_transitions(&s);
}

/// B11: one phase machine per partition: repeated requests do not start overlapping
/// recoveries, and a repeated completion is refused.
#[test]
fn b11_no_overlapping_recoveries_of_one_partition() {
    let mut s = Sim::new(5, cfg());
    s.auto = false;
    for t in 0..5 {
        s.report(t, Report::crashed(0));
    }
    assert_eq!(s.jobs.len(), 1);
    let job = s.complete(0, true);
    assert_eq!(
        s.c.phase_done(ms(10), 0, job.attempt, job.phase, true),
        Err(PhaseDoneError::OutOfOrder {
            expected: Phase::Redistributing,
            got: Phase::Detecting
        })
    );
    // Skipping a phase is refused as well.
    assert_eq!(
        s.c.phase_done(ms(10), 0, job.attempt, Phase::Validating, true),
        Err(PhaseDoneError::OutOfOrder {
            expected: Phase::Redistributing,
            got: Phase::Validating
        })
    );
    assert_eq!(s.c.stats().recoveries_attempted, 1);
}

/// B12: a failed attempt is retried automatically; a retry cannot be forced mid-recovery.
#[test]
fn b12_retry_is_automatic_and_never_mid_recovery() {
    let mut s = Sim::new(5, cfg());
    s.auto = false;
    s.report(0, Report::crashed(4));
    assert_eq!(s.c.retry(ms(1), 4), Err(RetryError::NotFailed));
    s.complete(4, false);
    assert_eq!(s.health(4), Health::Failed);
    assert_eq!(s.c.retry(ms(2), 4), Err(RetryError::AlreadyScheduled));
    assert_eq!(s.c.retry(ms(2), 9), Err(RetryError::UnknownPartition));
    s.auto = true;
    s.settle(2000);
    assert_eq!(s.health(4), Health::Healthy);
}

/// B13: attempts are numbered 1, 2, 3 …
#[test]
fn b13_attempt_numbering() {
    let mut s = Sim::new(5, cfg());
    s.plan = Box::new(|j| j.number == 3);
    s.report(0, Report::crashed(0));
    s.settle(5000);
    let mut numbers: Vec<u32> = s
        .actions
        .iter()
        .filter_map(|(_, a)| match a {
            Action::RunPhase(j) if j.phase == Phase::Detecting => Some(j.number),
            _ => None,
        })
        .collect();
    numbers.dedup();
    assert_eq!(numbers, [1, 2, 3]);
    let ids: Vec<u32> = s
        .actions
        .iter()
        .filter_map(|(_, a)| match a {
            Action::RunPhase(j) if j.phase == Phase::Detecting => Some(j.attempt),
            _ => None,
        })
        .collect();
    assert!(ids.windows(2).all(|w| w[0] != w[1]));
}

/// B14: a clock stepping backwards during recovery yields zero, never negative, durations.
#[test]
fn b14_backward_clock_during_recovery() {
    let mut s = Sim::new_at(3, cfg(), 10_000);
    s.auto = false;
    s.report(10_000, Report::crashed(0));
    for t in [9_000u64, 1, 5_000, 0] {
        let (_, job) = s.jobs.remove(0);
        s.c.phase_done(ms(t), 0, job.attempt, job.phase, true)
            .unwrap();
        s.pump();
    }
    assert_eq!(s.health(0), Health::Healthy);
    let st = s.c.stats();
    assert_eq!(st.recovery_latency.max, Duration::ZERO);
    assert_eq!(s.phases(0), FULL);
}

/// B15: attempt accounting adds up (1 + max_retries attempts, not a running double count),
/// and a HEALTHY partition cannot be "recovered".
#[test]
fn b15_attempt_accounting() {
    let mut s = Sim::new(5, cfg());
    s.plan = Box::new(|_| false);
    s.report(0, Report::crashed(2));
    s.settle(10_000);
    let fin = s.finished();
    assert_eq!(fin.len(), 1);
    assert_eq!((fin[0].success, fin[0].attempts), (false, 4));
    assert_eq!(s.c.stats().recoveries_attempted, 4);
    assert!(s
        .events
        .iter()
        .any(|e| matches!(e, Event::Escalated(x) if x.rank == 2 && x.reason == EscalationReason::RetriesExhausted)));
    assert_eq!(s.c.retry(s.now, 0), Err(RetryError::NotFailed));
}

/// B18: backoff, cap, per-partition attempts; STATE 2 and STATE 3 partitions are recovered
/// when quorum returns; blocked acquisitions are counted; detection latency is recorded.
#[test]
fn b18_queue_retries_and_quorum_return() {
    // STATE 2: two recoveries in progress, a third failure waits for them.
    let mut s = Sim::new(5, cfg());
    s.auto = false;
    s.report(0, Report::crashed(0));
    s.report(1, Report::crashed(1));
    s.report(2, Report::crashed(2));
    assert!(s.c.is_queued(2));
    assert_eq!(s.health(2), Health::Failed);
    for _ in 0..4 {
        s.complete(0, true);
    }
    // Partition 0 is HEALTHY again: quorum holds, the queue is re-examined at once.
    assert_eq!(s.health(2), Health::Recovering);

    // STATE 3: ranks 1 and 2 fail while 0 is suspected: quorum (2 healthy of 5) is lost, both
    // are escalated and kept queued (Java never retried them). When 0's suspicion clears,
    // quorum returns and both recover.
    let mut r = Sim::new(5, cfg());
    r.auto = false;
    r.suspect(1, 0); // suspected at 50
    r.suspect(2, 0); // suspected at 50
    r.suspect(0, 10); // suspected at 60: quorum lost
    r.jump(555); // 1 and 2 confirmed (due 550), 0 not yet (due 560)
    assert_eq!(r.count(EventKind::Escalated), 2);
    assert!(r.c.is_queued(1) && r.c.is_queued(2));
    assert_eq!(r.c.in_progress(), 0);
    assert_eq!(r.report(556, Report::healthy(0)), ReportOutcome::Cleared);
    assert_eq!(r.count(EventKind::QuorumRestored), 1);
    assert_eq!(
        (r.health(1), r.health(2)),
        (Health::Recovering, Health::Recovering)
    );
    let st = r.c.stats();
    // The summary needs the `histograms` feature (a default one).
    if cfg!(feature = "histograms") {
        assert!(st.detection_latency.avg >= Duration::from_millis(500));
    }
    assert_eq!(st.quorum_losses, 1);
    assert_eq!(st.blocked_by_lock, 0);
}

/// B19: unsubscribe by handle works, only once, and only for its subscription.
#[test]
fn b19_unsubscribe_by_handle() {
    let a = Cell::new(0);
    let b = Cell::new(0);
    type L<'a> = Box<dyn Fn(&Event) + 'a>;
    let mut set: ListenerSet<L<'_>, 4> = ListenerSet::new();
    // Two subscriptions of closures that look the same.
    let ha = set
        .subscribe(Box::new(|_: &Event| a.set(a.get() + 1)))
        .unwrap();
    let _hb = set
        .subscribe(Box::new(|_: &Event| b.set(b.get() + 1)))
        .unwrap();
    let e = Event::QuorumLost(ftforest_core::coord::QuorumChange {
        healthy: 0,
        total: 1,
        time: ms(0),
    });
    set.notify(&e);
    assert!(set.unsubscribe(ha).is_ok());
    assert!(set.unsubscribe(ha).is_err());
    set.notify(&e);
    assert_eq!((a.get(), b.get()), (1, 2));
}

/// B21: recovery mode is counted; concurrent recoveries really overlap; a recovery never
/// runs while operations are in flight (default policy); the recovery timeout is enforced
/// and the embedder told to cancel.
#[test]
fn b21_counted_mode_concurrency_pause_and_timeouts() {
    // Counted: three overlapping recoveries, one pause, one resume, gate closed throughout.
    let mut s = Sim::new(7, cfg());
    s.auto = false;
    for r in 0..3 {
        s.report(r as u64, Report::crashed(r));
    }
    assert_eq!(s.jobs.len(), 3);
    assert_eq!(s.c.stats().recovery_mode_depth, 3);
    for r in 0..2 {
        for _ in 0..4 {
            s.complete(r, true);
        }
        assert!(s.tracker.is_paused());
        assert!(s.balancer_paused);
    }
    for _ in 0..4 {
        s.complete(2, true);
    }
    assert!(!s.tracker.is_paused() && !s.balancer_paused && !s.ghost_paused);
    assert_eq!(
        s.actions
            .iter()
            .filter(|(_, a)| *a == Action::ResumeBalancer)
            .count(),
        1
    );

    // In-flight operations: no phase until quiescent; abort at the pause timeout.
    let mut p = Sim::new(5, cfg());
    p.auto = false;
    let gate = p.tracker.clone();
    let op = gate.begin().unwrap();
    p.report(0, Report::crashed(1));
    assert!(p.jobs.is_empty());
    assert!(p.tracker.is_paused());
    assert!(
        p.tracker.begin().is_err(),
        "the gate is closed while pausing"
    );
    p.tick(4999);
    assert!(p.jobs.is_empty());
    assert!(!p.c.alerts(ms(4999)).contains(Alerts::PAUSE_STALLED));
    p.tick(5000);
    assert_eq!(p.health(1), Health::Failed);
    assert!(
        !p.tracker.is_paused(),
        "gate reopened after the aborted pause"
    );
    assert!(p.c.alerts(ms(5000)).contains(Alerts::PAUSE_STALLED));
    assert_eq!(p.c.stats().pause_timeouts, 1);
    assert!(p
        .events
        .iter()
        .any(|e| matches!(e, Event::StatusChanged(c) if c.cause == Cause::PauseTimedOut)));
    drop(op);
    p.auto = true;
    p.settle(10_000);
    assert_eq!(p.health(1), Health::Healthy);

    // Opt-in Proceed: runs despite the operation, raising the alert.
    let proceed = cfg()
        .to_builder()
        .pause_timeout_policy(PauseTimeoutPolicy::Proceed)
        .build()
        .unwrap();
    let mut q = Sim::new(5, proceed);
    q.auto = false;
    let gate_q = q.tracker.clone();
    let _op = gate_q.begin().unwrap();
    q.report(0, Report::crashed(1));
    q.tick(5000);
    assert_eq!(q.jobs.len(), 1);
    assert!(q.c.alerts(ms(5000)).contains(Alerts::PAUSE_STALLED));

    // Recovery timeout: the attempt is abandoned, the embedder told to cancel, a retry follows
    // once the abandoned phase's late result acknowledged the cancel (issue 7, item 1; the
    // handshake itself is tested in `coord_cancel.rs`).
    let mut t = Sim::new(5, cfg());
    t.auto = false;
    t.report(0, Report::crashed(3));
    let attempt = t.jobs[0].1.attempt;
    t.jump(30_000);
    assert_eq!(t.cancelled.len(), 1);
    assert_eq!((t.cancelled[0].rank, t.cancelled[0].attempt), (3, attempt));
    assert!(
        t.tracker.is_paused(),
        "paused until the cancel is acknowledged"
    );
    assert_eq!(
        t.c.phase_done(ms(30_001), 3, attempt, Phase::Detecting, true),
        Ok(())
    );
    assert!(!t.tracker.is_paused());
    assert_eq!(
        t.c.phase_done(ms(30_001), 3, attempt, Phase::Detecting, true),
        Err(PhaseDoneError::StaleAttempt)
    );
    assert_eq!(t.c.stats().recoveries_timed_out, 1);
    assert!(t.c.partition(3).unwrap().is_backing_off());
}

/// B24: statistics and level are live, never panic, and need no "empty topology" case.
#[test]
fn b24_live_stats_and_level() {
    let mut s = Sim::new(1, cfg());
    assert_eq!(s.c.level(), HealthLevel::Healthy);
    assert_eq!(s.c.stats().success_rate_permille(), None);
    assert_eq!(
        s.c.health(1),
        Err(RankError::UnknownPartition { rank: 1, len: 1 })
    );
    assert_eq!(
        s.c.handle_report(ms(0), Report::heartbeat(7)),
        Err(ReportError::UnknownPartition)
    );
    s.suspect(0, 0);
    assert_eq!(s.c.level(), HealthLevel::QuorumLost);
    assert_eq!(s.c.stats().suspected, 1);
    s.report(60, Report::healthy(0));
    assert_eq!(s.c.level(), HealthLevel::Healthy);
    let mut t = Sim::new(3, cfg());
    t.auto = false;
    t.report(0, Report::crashed(0));
    assert_eq!(t.c.level(), HealthLevel::Critical);
    assert_eq!(t.c.stats().recovering, 1);
    assert!(t.c.alerts(ms(0)).contains(Alerts::FAILED_PARTITIONS));
}

/// B25: the heartbeat detector never skips SUSPECTED, keeps every partition monitored, and
/// refuses unknown ranks instead of registering them silently.
#[test]
fn b25_heartbeat_jump_and_registration() {
    let hb = HeartbeatConfig::DEFAULT.with_mode(HeartbeatMode::Interval);
    let mut s = Sim::new(3, cfg().to_builder().heartbeat(hb).build().unwrap());
    s.auto = false;
    s.report(100, Report::heartbeat(0));
    s.report(100, Report::heartbeat(1));
    // Rank 2 never beat: it is monitored from the start. One tick far past the failure
    // timeout (within the local-pause bound: previous tick at 1900).
    s.jump(1900);
    s.jump(5100);
    let t2 = s.transitions(2);
    assert_eq!(
        t2[..2],
        [
            (Health::Healthy, Health::Suspected),
            (Health::Suspected, Health::Failed)
        ]
    );
    assert_eq!(
        s.c.handle_report(ms(5200), Report::heartbeat(3)),
        Err(ReportError::UnknownPartition)
    );
    // A tick gap above max_local_pause is our own stall: nobody is convicted for it.
    let mut l = Sim::new(3, cfg().to_builder().heartbeat(hb).build().unwrap());
    l.jump(1000);
    l.jump(60_000);
    assert_eq!(l.c.counts().healthy, 3);
    l.jump(61_000);
    assert_eq!(l.c.counts().healthy, 3);
    l.jump(62_000);
    assert_eq!(l.c.counts().suspected, 3);
}
