//! The seed's Phase 4.4 suite (digest §3.5 `Phase44SystemIntegrationTest` and the
//! PhaseA2 forest tests), re-expressed for the sans-io coordinator under a manual clock.
#![cfg(feature = "std")]

mod common;

use core::cell::RefCell;
use core::time::Duration;
use std::rc::Rc;
use std::vec::Vec;

use common::{ms, Sim, FULL};
use ftforest_core::coord::{
    Action, Cause, Config, Event, EventKind, ListenerSet, Phase, PhaseDoneError, QueueReason,
    Report, ReportOutcome, RetryError,
};
use ftforest_core::Health;

fn fast() -> Config {
    // Phase44 fixture: failureConfirmationMs = 500.
    Config::builder()
        .failure_confirmation(Duration::from_millis(500))
        .build()
        .unwrap()
}

/// A1: detection → confirmation → recovery through all phases → HEALTHY.
#[test]
fn full_fault_detection_to_recovery_flow() {
    let mut s = Sim::new(3, fast());
    assert_eq!(
        s.report(0, Report::barrier_timeout(1)),
        ReportOutcome::Counted
    );
    assert_eq!(
        s.report(10, Report::barrier_timeout(1)),
        ReportOutcome::Suspected
    );
    assert_eq!(s.count(EventKind::StatusChanged), 1);
    s.tick(509);
    assert_eq!(s.health(1), Health::Suspected);
    s.tick(1010);
    // FAILED, then at once RECOVERING (quorum 2/3 holds, STATE 1).
    assert_eq!(s.first(1, Health::Failed), Some(ms(510)));
    s.settle(2000);
    assert_eq!(s.health(1), Health::Healthy);
    assert_eq!(s.phases(1), FULL);
    assert_eq!(
        s.transitions(1),
        [
            (Health::Healthy, Health::Suspected),
            (Health::Suspected, Health::Failed),
            (Health::Failed, Health::Recovering),
            (Health::Recovering, Health::Healthy)
        ]
    );
    let fin = s.finished();
    assert_eq!(fin.len(), 1);
    assert!(fin[0].success);
    assert_eq!(fin[0].attempts, 1);
    // Four phases of 10 ms from the failure at 510.
    assert_eq!(fin[0].latency, Duration::from_millis(40));
    // New life: incarnation 1, other partitions untouched.
    assert_eq!(s.c.health(1).unwrap(), (Health::Healthy, 1));
    assert_eq!(s.c.health(0).unwrap(), (Health::Healthy, 0));
    // Hooks: paused then resumed, exactly once each.
    let hooks: Vec<_> = s
        .actions
        .iter()
        .map(|(_, a)| *a)
        .filter(|a| !matches!(a, Action::RunPhase(_)))
        .collect();
    assert_eq!(
        hooks,
        [
            Action::PauseBalancer,
            Action::PauseGhostSync,
            Action::ResumeBalancer,
            Action::ResumeGhostSync
        ]
    );
    assert!(!s.tracker.is_paused());
    let st = s.c.stats();
    assert_eq!(
        (
            st.failures_detected,
            st.recoveries_attempted,
            st.recoveries_succeeded
        ),
        (1, 1, 1)
    );
    // The summary needs the `histograms` feature (a default one).
    if cfg!(feature = "histograms") {
        assert_eq!(st.detection_latency.count, 1);
        assert_eq!(st.detection_latency.avg, Duration::from_millis(510));
    }
}

/// A2: the recovery lock prevents a second recovery of the same partition.
#[test]
fn lock_prevents_parallel_recovery_of_one_partition() {
    let cfg = fast().to_builder().max_concurrent(1).build().unwrap();
    let mut s = Sim::new(3, cfg);
    s.auto = false;
    s.report(0, Report::crashed(0));
    assert_eq!(s.health(0), Health::Recovering);
    assert_eq!(s.jobs.len(), 1);
    let (attempt, number, phase) = s.c.recovery(0).unwrap();
    assert_eq!((number, phase), (1, Phase::Detecting));
    // More failure evidence and a manual retry do not start a second recovery.
    assert_eq!(s.report(5, Report::crashed(0)), ReportOutcome::Ignored);
    assert_eq!(
        s.report(6, Report::barrier_timeout(0)),
        ReportOutcome::Ignored
    );
    assert_eq!(s.c.retry(ms(7), 0), Err(RetryError::NotFailed));
    assert_eq!(s.c.in_progress(), 1);
    assert_eq!(s.jobs.len(), 1);
    // A completion for an attempt that is not the running one is refused.
    assert_eq!(
        s.c.phase_done(ms(8), 0, attempt + 1, Phase::Detecting, true),
        Err(PhaseDoneError::StaleAttempt)
    );
    for _ in 0..4 {
        s.complete(0, true);
    }
    assert_eq!(s.health(0), Health::Healthy);
    assert_eq!(s.c.stats().recoveries_attempted, 1);
    // The same attempt id is dead now.
    assert_eq!(
        s.c.phase_done(ms(9), 0, attempt, Phase::Detecting, true),
        Err(PhaseDoneError::StaleAttempt)
    );
}

/// A3: three partitions recover independently and concurrently (K = 3).
#[test]
fn three_partitions_recover_independently() {
    let mut s = Sim::new(7, fast());
    s.auto = false;
    for r in 0..3 {
        s.report(r as u64, Report::crashed(r));
    }
    // Three attempts in flight at once, each with its own phase.
    assert_eq!(s.jobs.len(), 3);
    assert_eq!(s.c.in_progress(), 3);
    // Interleave: 2 advances twice, 0 once, 1 fails its first phase.
    s.complete(2, true);
    s.complete(2, true);
    s.complete(0, true);
    s.complete(1, false);
    assert_eq!(s.health(1), Health::Failed);
    assert_eq!(s.c.recovery(2).unwrap().2, Phase::Rebalancing);
    assert_eq!(s.c.recovery(0).unwrap().2, Phase::Redistributing);
    s.auto = true;
    s.settle(1000);
    for r in 0..3 {
        assert_eq!(s.health(r), Health::Healthy, "rank {r}");
        assert_eq!(*s.phases(r).last().unwrap(), Phase::Complete);
    }
    assert!(s.max_parallel >= 3);
    assert_eq!(s.c.stats().recoveries_retried, 1);
}

/// B1: a cascade of failures recovers in rank (= detection) order when only one recovery
/// may run at a time.
#[test]
fn cascading_failure_with_rank_ordered_recovery() {
    let cfg = fast().to_builder().max_concurrent(1).build().unwrap();
    let mut s = Sim::new(7, cfg);
    // Suspected in cascade; all confirmations fall due in the same tick.
    s.suspect(2, 0);
    s.suspect(0, 10);
    s.suspect(1, 20);
    s.run_until(ms(100));
    s.auto = false;
    s.jump(2000);
    // Confirmed in rank order within the tick: 0 starts, 1 and 2 queue behind it.
    let started: Vec<u32> = s
        .events
        .iter()
        .filter_map(|e| match e {
            Event::StatusChanged(c) if c.to == Health::Recovering => Some(c.rank),
            _ => None,
        })
        .collect();
    assert_eq!(started, [0]);
    assert!(s.c.is_queued(1) && s.c.is_queued(2));
    s.auto = true;
    s.settle(5000);
    let order: Vec<u32> = s
        .events
        .iter()
        .filter_map(|e| match e {
            Event::RecoveryFinished(f) => Some(f.rank),
            _ => None,
        })
        .collect();
    assert_eq!(order, [0, 1, 2]);
    assert_eq!(s.c.stats().blocked_by_lock, 2);
}

/// B2: four partitions failing within 100 ms: three run, the fourth waits for a slot.
#[test]
fn four_partitions_failing_within_100ms() {
    let mut s = Sim::new(9, fast());
    s.auto = false;
    for (i, r) in [1u32, 3, 5, 7].iter().enumerate() {
        s.report(25 * i as u64, Report::crashed(*r));
    }
    assert_eq!(s.c.in_progress(), 3);
    assert!(s.c.is_queued(7));
    let q: Vec<_> = s
        .events
        .iter()
        .filter_map(|e| match e {
            Event::RecoveryQueued(q) => Some((q.rank, q.reason)),
            _ => None,
        })
        .collect();
    assert_eq!(q, [(7, QueueReason::Capacity)]);
    s.auto = true;
    s.settle(2000);
    for r in [1, 3, 5, 7] {
        assert_eq!(s.health(r), Health::Healthy);
        assert_eq!(s.phases(r), FULL);
    }
    let st = s.c.stats();
    assert_eq!(
        (
            st.recoveries_succeeded,
            st.blocked_by_lock,
            st.queue_depth_max
        ),
        (4, 1, 1)
    );
}

/// B3: transient then persistent failure: retries with backoff 100, 200, 400 ms, then
/// escalation; a manual retry starts over.
#[test]
fn transient_then_persistent_failure_with_retry_and_backoff() {
    let mut s = Sim::new(5, fast());
    // Transient: the first attempt fails in Rebalancing, the second succeeds.
    s.plan = Box::new(|j| !(j.number == 1 && j.phase == Phase::Rebalancing));
    s.report(0, Report::crashed(0));
    s.run_until(ms(30));
    assert_eq!(s.health(0), Health::Failed);
    let retry: Vec<_> = s
        .events
        .iter()
        .filter_map(|e| match e {
            Event::RetryScheduled(r) => Some(*r),
            _ => None,
        })
        .collect();
    assert_eq!(retry.len(), 1);
    assert_eq!((retry[0].next_number, retry[0].at), (2, ms(130)));
    s.tick(129);
    assert_eq!(s.health(0), Health::Failed);
    s.settle(1000);
    assert_eq!(s.health(0), Health::Healthy);
    let fin = s.finished().last().copied();
    assert_eq!(fin.map(|f| (f.success, f.attempts)), Some((true, 2)));

    // Persistent: every attempt fails; 1 + 3 retries, then escalation.
    let mut p = Sim::new(5, fast());
    p.plan = Box::new(|_| false);
    p.report(0, Report::crashed(3));
    p.settle(10_000);
    assert_eq!(p.health(3), Health::Failed);
    let at: Vec<_> = p
        .events
        .iter()
        .filter_map(|e| match e {
            Event::RetryScheduled(r) => Some(r.at.saturating_duration_since(r.time).as_millis()),
            _ => None,
        })
        .collect();
    assert_eq!(at, [100, 200, 400]);
    let st = p.c.stats();
    assert_eq!(
        (
            st.recoveries_attempted,
            st.recoveries_failed,
            st.recoveries_retried,
            st.escalations
        ),
        (4, 4, 3, 1)
    );
    assert!(p.c.partition(3).unwrap().is_exhausted());
    assert_eq!(p.c.poll_timeout(), None);
    // Manual retry: numbering starts over, and this time it works.
    p.plan = Box::new(|_| true);
    p.c.retry(p.now, 3).unwrap();
    p.pump();
    assert_eq!(p.c.recovery(3).map(|r| r.1), Some(1));
    p.settle(20_000);
    assert_eq!(p.health(3), Health::Healthy);
}

/// C1: no state leaks between two partitions' recoveries.
#[test]
fn no_state_leak_between_recoveries() {
    let mut s = Sim::new(5, fast());
    s.auto = false;
    s.report(0, Report::barrier_timeout(4));
    s.report(1, Report::crashed(0));
    s.report(2, Report::crashed(1));
    s.complete(1, false);
    s.complete(0, true);
    // Partition 1's failure did not touch partition 0's attempt, nor 4's detection count.
    assert_eq!(
        s.c.recovery(0).map(|r| (r.1, r.2)),
        Some((1, Phase::Redistributing))
    );
    assert_eq!(s.c.partition(0).unwrap().attempts(), 1);
    assert_eq!(s.c.partition(1).unwrap().attempts(), 1);
    assert!(s.c.partition(1).unwrap().is_backing_off());
    assert!(!s.c.partition(0).unwrap().is_backing_off());
    assert_eq!(s.c.partition(4).unwrap().consecutive_failures(), 1);
    s.auto = true;
    s.settle(1000);
    assert_eq!(s.c.partition(1).unwrap().attempts(), 0);
    let fins: Vec<_> = s
        .events
        .iter()
        .filter_map(|e| match e {
            Event::RecoveryFinished(f) => Some((f.rank, f.attempts)),
            _ => None,
        })
        .collect();
    assert_eq!(fins, [(0, 1), (1, 2)]);
    // Recovered partitions start a new life with clean counters.
    assert_eq!(s.c.partition(0).unwrap().consecutive_failures(), 0);
}

/// C2: five listeners receive every event, in the same order.
#[test]
fn five_concurrent_listeners_receive_every_event() {
    let mut s = Sim::new(5, fast());
    s.suspect(2, 0);
    s.settle(3000);
    type Seen = Rc<RefCell<Vec<Event>>>;
    let logs: Vec<Seen> = (0..5).map(|_| Rc::new(RefCell::new(Vec::new()))).collect();
    type L = Box<dyn Fn(&Event)>;
    let mut set: ListenerSet<L, 8> = ListenerSet::new();
    for l in &logs {
        let l = l.clone();
        set.subscribe(Box::new(move |e: &Event| l.borrow_mut().push(*e)))
            .unwrap();
    }
    for e in &s.events {
        assert_eq!(set.notify(e), 5);
    }
    for l in &logs {
        assert_eq!(*l.borrow(), s.events);
    }
    // Every phase, in order, for each listener.
    assert_eq!(s.phases(2), FULL);
}

/// D1: full recovery under a test clock: timestamps are the clock's, in order.
#[test]
fn full_recovery_under_test_clock() {
    let mut s = Sim::new(3, fast());
    s.suspect(0, 0);
    let suspected = s.first(0, Health::Suspected).unwrap();
    assert_eq!(suspected, ms(50));
    s.settle(1000);
    let failed = s.first(0, Health::Failed).unwrap();
    assert_eq!(failed, ms(550));
    assert!(failed >= suspected);
    let times: Vec<_> = s.events.iter().map(Event::time).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(s.health(0), Health::Healthy);
}

/// D2: clock edge cases — zero advance, a large jump, backward steps, concurrent advances.
#[test]
fn clock_edge_cases() {
    // Zero advance: everything at one instant still completes, latency zero.
    let mut z = Sim::new_at(3, fast(), 7000);
    z.phase_ms = 0;
    z.report(7000, Report::crashed(1));
    z.settle(7000);
    assert_eq!(z.health(1), Health::Healthy);
    let st = z.c.stats();
    assert_eq!(st.recovery_latency.max, Duration::ZERO);
    assert_eq!(st.detection_latency.max, Duration::ZERO);

    // Large jump: 10 s after suspicion → FAILED (and recovered) in one tick.
    let mut j = Sim::new(3, fast());
    j.suspect(2, 0);
    j.auto = false;
    j.jump(10_050);
    assert_eq!(j.first(2, Health::Failed), Some(ms(10_050)));
    assert_eq!(j.health(2), Health::Recovering);

    // Backward steps: before confirmation nothing is confirmed early; during recovery the
    // clock going back is zero elapsed time (no negative latency, no failure).
    let mut b = Sim::new(3, fast());
    b.suspect(0, 1000);
    b.c.tick(ms(10));
    assert_eq!(b.health(0), Health::Suspected);
    b.auto = false;
    b.tick(1600);
    assert_eq!(b.first(0, Health::Failed), Some(ms(1550)));
    // Every phase reported with a time far in the past.
    for _ in 0..4 {
        let (_, job) = b.jobs.remove(0);
        b.c.phase_done(ms(5), 0, job.attempt, job.phase, true)
            .unwrap();
        b.pump();
    }
    assert_eq!(b.health(0), Health::Healthy);
    let fin = b.finished().first().copied();
    // Measured against the latest instant seen (1600), never negative.
    assert_eq!(fin.unwrap().latency, Duration::from_millis(50));
    assert!(b.events.iter().all(|e| e.time() >= ms(1000)));

    // Two threads advance a shared manual clock by 500 each; the tick then confirms.
    let clock = std::sync::Arc::new(ftforest_core::ManualClock::new(ms(0)));
    let mut t = Sim::new(3, fast());
    t.suspect(1, 0);
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let c = clock.clone();
            std::thread::spawn(move || c.advance(Duration::from_millis(500)))
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    use ftforest_core::Clock;
    let now = clock.now();
    assert_eq!(now, ms(1000));
    t.auto = false;
    t.jump(now.as_millis());
    assert_eq!(t.first(1, Health::Failed), Some(ms(1000)));
}

/// PhaseA2: recovery blocked while quorum is lost (5 partitions, 3 failed).
#[test]
fn recovery_blocked_when_quorum_lost() {
    let mut s = Sim::new(5, fast());
    s.auto = false;
    for r in 0..3 {
        s.suspect(r, 0);
    }
    s.tick(600);
    // Quorum went at the third suspicion; the failures are escalated and kept queued.
    assert!(!s.c.has_quorum());
    assert_eq!(s.count(EventKind::QuorumLost), 1);
    assert_eq!(s.c.in_progress(), 0);
    assert_eq!(s.c.stats().escalations, 3);
    for r in 0..3 {
        assert!(s.c.is_queued(r));
    }
    assert!(!s
        .actions
        .iter()
        .any(|(_, a)| matches!(a, Action::RunPhase(_))));
    assert!(s
        .events
        .iter()
        .any(|e| matches!(e, Event::StatusChanged(c) if c.cause == Cause::ConfirmationTimeout)));
}
