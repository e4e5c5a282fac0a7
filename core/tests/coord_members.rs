//! Runtime membership (issue 8): partitions join and leave a running coordinator within its
//! capacity. A graceful leave is not a failure, a joining partition starts HEALTHY with a
//! fresh incarnation, and quorum (decision, events, level, alerts) counts the current
//! members. Every test here fails on the fixed-set coordinator (no `join`/`leave`, quorum
//! over all `n`).
#![cfg(feature = "std")]

mod common;

use core::time::Duration;

use common::{ms, Sim};
use ftforest_core::coord::{
    AlertThresholds, Alerts, Cause, Config, Decision, Event, EventKind, HealthLevel, Membership,
    MembershipError, Report, ReportKind, ReportOutcome,
};
use ftforest_core::{Counts, Health};

fn cfg() -> Config {
    Config::builder()
        .failure_confirmation(Duration::from_millis(100))
        .max_retries(1)
        .backoff_base(Duration::from_millis(10))
        .recovery_timeout(Duration::from_secs(5))
        .max_concurrent(2)
        .build()
        .expect("config")
}

fn membership(sim: &Sim) -> Vec<(EventKind, Membership)> {
    sim.events
        .iter()
        .filter_map(|e| match e {
            Event::MemberJoined(m) => Some((EventKind::MemberJoined, *m)),
            Event::MemberLeft(m) => Some((EventKind::MemberLeft, *m)),
            _ => None,
        })
        .collect()
}

/// Fail `rank` and keep it FAILED: no phase runs (manual mode), so its first attempt waits.
fn crash(sim: &mut Sim, rank: u32, at: u64) {
    assert_eq!(sim.report(at, Report::crashed(rank)), ReportOutcome::Failed);
}

#[test]
fn a_leave_is_not_a_failure() {
    let mut sim = Sim::new(5, cfg());
    sim.c.leave(ms(10), 3).expect("leave");
    sim.pump();
    sim.settle(10_000);
    assert_eq!(sim.c.health(3), Ok((Health::Absent, 0)));
    assert_eq!(sim.transitions(3), vec![(Health::Healthy, Health::Absent)]);
    let st = sim.c.stats();
    assert_eq!(
        (st.failures_detected, st.recoveries_attempted, st.suspicions),
        (0, 0, 0),
        "a graceful leave is neither a failure nor a recovery"
    );
    assert_eq!((st.leaves, st.joins, st.absent, st.total), (1, 0, 1, 5));
    assert!(!sim.c.is_queued(3) && sim.c.recovery(3).is_none());
    assert!(!sim.c.in_recovery_mode() && !sim.tracker.is_paused());
    assert!(!sim.actions.iter().any(|_| true), "no pause, no phase");
    // One StatusChanged with cause Left, then MemberLeft.
    let kinds = sim.kinds();
    assert_eq!(kinds, vec![EventKind::StatusChanged, EventKind::MemberLeft]);
    assert!(matches!(
        sim.events[0],
        Event::StatusChanged(s) if s.cause == Cause::Left && s.incarnation == 0
    ));
    assert_eq!(
        membership(&sim),
        vec![(
            EventKind::MemberLeft,
            Membership {
                rank: 3,
                incarnation: 0,
                from: Health::Healthy,
                time: ms(10)
            }
        )]
    );
    // Nothing about the absent rank is detected any more: reports are NotMember, ticks
    // skip it.
    for r in [
        Report::barrier_timeout(3),
        Report::crashed(3),
        Report::healthy(3),
    ] {
        assert_eq!(sim.report(20_000, r), ReportOutcome::NotMember);
    }
    sim.settle(40_000);
    assert_eq!(sim.health(3), Health::Absent);
    assert_eq!(sim.c.stats().ignored_reports, 3);
    assert_eq!(sim.c.stats().failures_detected, 0);
}

#[test]
fn a_joined_rank_starts_healthy_with_a_fresh_incarnation() {
    let mut sim = Sim::new(4, cfg());
    sim.c.leave(ms(0), 2).expect("leave");
    sim.pump();
    // Suspected, then it leaves: the suspicion does not follow it.
    sim.suspect(1, 10);
    assert_eq!(sim.health(1), Health::Suspected);
    sim.c.leave(ms(70), 1).expect("leave while suspected");
    sim.pump();
    sim.settle(1_000);
    assert_eq!(sim.health(1), Health::Absent, "not confirmed after leaving");
    let inc = sim.c.join(ms(1_000), 1).expect("join");
    sim.pump();
    assert_eq!(inc, 1, "life 0 left; the join starts life 1");
    assert_eq!(sim.c.health(1), Ok((Health::Healthy, inc)));
    let slot = sim.c.partition(1).expect("slot");
    assert_eq!(slot.consecutive_failures(), 0, "detection state reset");
    // A report about the life that left is stale; one about the new life counts.
    assert_eq!(
        sim.report(
            1_010,
            Report::with_incarnation(ReportKind::BarrierTimeout, 1, 0)
        ),
        ReportOutcome::Stale
    );
    assert_eq!(
        sim.report(1_020, Report::barrier_timeout(1)),
        ReportOutcome::Counted
    );
    let inc2 = sim.c.join(ms(1_030), 2).expect("join 2");
    sim.pump();
    assert_eq!(inc2, 1);
    let st = sim.c.stats();
    assert_eq!((st.joins, st.leaves, st.absent), (2, 2, 0));
    assert_eq!((st.false_alarms, st.recoveries_succeeded), (0, 0));
    assert!(matches!(
        membership(&sim).last(),
        Some((EventKind::MemberJoined, m)) if m.rank == 2 && m.incarnation == 1 && m.from == Health::Absent
    ));
}

#[test]
fn quorum_counts_the_current_members() {
    // 5 partitions; 2 leave: 3 members.
    let mut sim = Sim::new(5, cfg());
    sim.auto = false;
    for r in [3, 4] {
        sim.c.leave(ms(0), r).expect("leave");
    }
    sim.pump();
    assert_eq!(sim.c.members(), 3);
    assert!(sim.c.has_quorum());
    // One member fails: 2 healthy of 3 members is a quorum (of 5 it would not be): STATE 1,
    // the recovery starts at once.
    crash(&mut sim, 0, 10);
    assert!(sim.c.has_quorum(), "2 of 3 members");
    assert_eq!(sim.count(EventKind::QuorumLost), 0);
    assert!(
        sim.c.recovery(0).is_some(),
        "STATE 1 over members: recovered now"
    );
    assert!(!sim.events.iter().any(|e| matches!(e, Event::Escalated(_))));
    assert_eq!(sim.c.level(), HealthLevel::Critical);
    // A second healthy member leaves: 1 of 2 is no quorum, and the event says so.
    sim.c.leave(ms(20), 1).expect("leave");
    sim.pump();
    assert!(!sim.c.has_quorum());
    let lost: Vec<_> = sim
        .events
        .iter()
        .filter_map(|e| match e {
            Event::QuorumLost(q) => Some((q.healthy, q.total)),
            _ => None,
        })
        .collect();
    assert_eq!(lost, vec![(1, 2)]);
    assert_eq!(sim.c.level(), HealthLevel::QuorumLost);
    // It rejoins: 2 of 3, restored.
    sim.c.join(ms(30), 1).expect("join");
    sim.pump();
    assert!(sim.c.has_quorum());
    assert!(matches!(
        sim.events.iter().rev().find(|e| e.kind() == EventKind::QuorumRestored),
        Some(Event::QuorumRestored(q)) if (q.healthy, q.total) == (2, 3)
    ));
    assert_eq!(
        sim.c.counts(),
        Counts {
            healthy: 2,
            recovering: 1,
            absent: 2,
            ..Counts::default()
        }
    );
}

#[test]
fn decision_states_count_members() {
    // 5 partitions, 2 absent, then 2 of the 3 members fail. Over 5 this is STATE 3 (1 of 5
    // healthy); over 3 members the first failure is STATE 1 and the second STATE 2.
    let mut sim = Sim::new(5, cfg());
    sim.auto = false;
    for r in [3, 4] {
        sim.c.leave(ms(0), r).expect("leave");
    }
    sim.pump();
    crash(&mut sim, 0, 10);
    crash(&mut sim, 1, 20);
    let escalated = sim
        .events
        .iter()
        .filter(|e| matches!(e, Event::Escalated(_)))
        .count();
    assert_eq!(
        escalated, 0,
        "1 healthy + 1 recovering of 3 members: STATE 2, no escalation"
    );
    assert_eq!(ftforest_core::coord::decide(1, 3, 1), Decision::Queue);
    assert!(sim.c.is_queued(1) || sim.c.recovery(1).is_some());
}

#[test]
fn leaving_a_non_healthy_member_can_restore_quorum() {
    // 5 partitions, K = 2, phases never finish on their own. Ranks 0 and 1 crash and start
    // recovering; rank 2 crashes with 2 of 5 healthy: no quorum, queued (STATE 2).
    let mut sim = Sim::new(5, cfg());
    sim.auto = false;
    for r in 0..3 {
        crash(&mut sim, r, 10 + u64::from(r));
    }
    assert!(sim.c.recovery(0).is_some() && sim.c.recovery(1).is_some());
    assert!(sim.c.is_queued(2) && !sim.c.has_quorum());
    assert_eq!(
        sim.c.leave(ms(100), 0),
        Err(MembershipError::Recovering),
        "a RECOVERING partition cannot leave"
    );
    assert_eq!(sim.c.join(ms(100), 1), Err(MembershipError::Recovering));
    // Rank 2 is FAILED and queued: decommissioned, out of the queue. 2 healthy of 4 members:
    // still no quorum.
    sim.c.leave(ms(110), 2).expect("decommission");
    sim.pump();
    assert!(!sim.c.is_queued(2));
    assert_eq!(sim.health(2), Health::Absent);
    assert_eq!(sim.c.stats().queue_depth, 0);
    assert!(!sim.c.has_quorum());
    // Rank 0's attempt fails (a retry is scheduled); then it is decommissioned: 2 healthy of
    // 3 members (rank 1 recovering, 3, 4): quorum restored by a leave.
    sim.complete(0, false);
    assert_eq!(sim.health(0), Health::Failed);
    assert!(sim.c.partition(0).expect("slot").is_backing_off());
    sim.c
        .leave(ms(120), 0)
        .expect("decommission after the attempt ended");
    sim.pump();
    assert!(sim.c.has_quorum());
    assert!(matches!(
        sim.events.iter().rev().find(|e| e.kind() == EventKind::QuorumRestored),
        Some(Event::QuorumRestored(q)) if (q.healthy, q.total) == (2, 3)
    ));
    // Its retry was dropped with it: time passes, nothing restarts rank 0.
    sim.tick(10_000);
    assert_eq!(sim.health(0), Health::Absent);
    let st = sim.c.stats();
    assert_eq!(st.failures_detected, 3, "the leaves added no failure");
    assert_eq!((st.leaves, st.recoveries_attempted), (2, 2));
}

#[test]
fn recovered_elsewhere_joins_a_failed_rank_and_dequeues_it() {
    let mut sim = Sim::new(5, cfg());
    sim.auto = false;
    // Three crash; K = 2 so rank 2 waits in the queue (quorum lost too).
    for r in 0..3 {
        crash(&mut sim, r, 10 + u64::from(r));
    }
    assert!(sim.c.is_queued(2));
    let before = sim.c.health(2).expect("rank").1;
    let inc = sim.c.join(ms(50), 2).expect("recovered elsewhere");
    sim.pump();
    assert_eq!(inc, before + 1);
    assert_eq!(sim.c.health(2), Ok((Health::Healthy, inc)));
    assert!(!sim.c.is_queued(2));
    assert_eq!(
        sim.transitions(2).last(),
        Some(&(Health::Failed, Health::Healthy))
    );
    assert!(matches!(
        membership(&sim).last(),
        Some((EventKind::MemberJoined, m)) if m.from == Health::Failed && m.incarnation == inc
    ));
    let st = sim.c.stats();
    assert_eq!((st.recoveries_succeeded, st.joins), (0, 1));
    // Quorum back (3 of 5): the event says so.
    assert!(sim.c.has_quorum());
    // Joining a member in good standing is refused and changes nothing.
    assert_eq!(sim.c.join(ms(60), 2), Err(MembershipError::AlreadyMember));
    assert_eq!(sim.c.join(ms(60), 4), Err(MembershipError::AlreadyMember));
}

#[test]
fn refused_membership_calls_change_nothing() {
    let mut sim = Sim::new(3, cfg());
    assert_eq!(sim.c.join(ms(0), 3), Err(MembershipError::UnknownPartition));
    assert_eq!(
        sim.c.leave(ms(0), u32::MAX),
        Err(MembershipError::UnknownPartition)
    );
    assert_eq!(sim.c.join(ms(0), 0), Err(MembershipError::AlreadyMember));
    sim.c.leave(ms(0), 0).expect("leave");
    sim.pump();
    let before = (sim.c.stats(), sim.c.counts(), sim.c.poll_timeout());
    assert_eq!(sim.c.leave(ms(5), 0), Err(MembershipError::NotMember));
    assert_eq!(sim.c.poll_event(), None);
    assert_eq!(
        before,
        (sim.c.stats(), sim.c.counts(), sim.c.poll_timeout())
    );
    for e in [
        MembershipError::UnknownPartition,
        MembershipError::AlreadyMember,
        MembershipError::NotMember,
        MembershipError::Recovering,
        MembershipError::OutboxFull,
    ] {
        assert!(!format!("{e}").is_empty());
    }
}

#[test]
fn an_abandoned_attempt_awaiting_its_cancel_holds_the_rank() {
    let cfg = Config::builder()
        .recovery_timeout(Duration::from_millis(100))
        .max_retries(2)
        .build()
        .expect("config");
    let mut sim = Sim::new(5, cfg);
    sim.auto = false;
    crash(&mut sim, 0, 0);
    assert!(sim.c.recovery(0).is_some());
    sim.tick(200);
    let cancelling = sim.c.cancelling(0).expect("cancel pending");
    assert_eq!(sim.health(0), Health::Failed);
    assert_eq!(sim.c.leave(ms(210), 0), Err(MembershipError::Recovering));
    assert_eq!(sim.c.join(ms(210), 0), Err(MembershipError::Recovering));
    sim.c.cancel_done(ms(220), 0, cancelling).expect("ack");
    sim.pump();
    // Released: now it may be decommissioned (its backoff retry is dropped).
    if sim.health(0) == Health::Failed {
        sim.c.leave(ms(230), 0).expect("decommission");
        sim.pump();
        sim.settle(5_000);
        assert_eq!(sim.health(0), Health::Absent);
        assert!(!sim.c.is_queued(0) && sim.c.recovery(0).is_none());
    }
}

#[test]
fn level_and_alerts_use_member_ratios() {
    // 4 partitions, 2 leave, the 2 members are healthy: fully healthy, no LOW_HEALTHY_RATIO
    // (over 4 it would be 50 %).
    let t = AlertThresholds {
        min_healthy_percent: 75,
        ..AlertThresholds::default()
    };
    let cfg = cfg().to_builder().alerts(t).build().expect("config");
    let mut sim = Sim::new(4, cfg);
    for r in [2, 3] {
        sim.c.leave(ms(0), r).expect("leave");
    }
    sim.pump();
    assert_eq!(sim.c.level(), HealthLevel::Healthy);
    assert!(!sim.c.alerts(ms(1)).contains(Alerts::LOW_HEALTHY_RATIO));
    assert!(sim.c.stats().quorum);
}

#[test]
fn membership_respects_backpressure() {
    use ftforest_core::coord::BoxedCoordinator;
    use ftforest_core::coord::MAX_EVENTS_PER_STEP;
    use ftforest_core::Tracker;
    use std::sync::Arc;
    let t = Arc::new(Tracker::new());
    let mut c =
        BoxedCoordinator::<Arc<Tracker>, 8, MAX_EVENTS_PER_STEP>::new_boxed(cfg(), 3, t, ms(0))
            .expect("coordinator");
    c.leave(ms(0), 0).expect("leave");
    // The outbox holds the leave's events: the next input is refused, unchanged.
    assert_eq!(c.leave(ms(1), 1), Err(MembershipError::OutboxFull));
    assert_eq!(c.join(ms(1), 0), Err(MembershipError::OutboxFull));
    assert_eq!(c.health(1), Ok((Health::Healthy, 0)));
    while c.poll_event().is_some() {}
    c.join(ms(2), 0).expect("join after draining");
}

#[test]
fn recovered_elsewhere_drops_the_local_retry_and_starts_clean() {
    let mut sim = Sim::new(5, cfg());
    sim.auto = false;
    crash(&mut sim, 0, 0);
    sim.complete(0, false);
    let p = sim.c.partition(0).expect("slot");
    assert!(p.is_backing_off() && p.attempts() == 1);
    let inc = sim.c.join(ms(1), 0).expect("recovered elsewhere");
    sim.pump();
    assert_eq!(sim.c.health(0), Ok((Health::Healthy, inc)));
    let p = sim.c.partition(0).expect("slot");
    assert!(!p.is_backing_off() && !p.is_exhausted() && p.attempts() == 0);
    assert_eq!(p.consecutive_failures(), 0);
    // The local retry is gone: time passes, no second attempt.
    sim.tick(60_000);
    let st = sim.c.stats();
    assert_eq!((st.recoveries_attempted, st.recoveries_succeeded), (1, 0));
    assert_eq!(st.joins, 1);
    assert_eq!(sim.health(0), Health::Healthy);
}
