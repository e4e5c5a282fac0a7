//! The std `Monitor` with runtime membership (issue 8): `join`/`leave` while it runs, from
//! any thread and from inside a listener, with the events delivered in order.
//!
//! No timing assertions: waits poll a condition with a generous liveness bound (60 s) that
//! only a hang would reach.
#![cfg(feature = "std")]

mod common;

use core::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::vec::Vec;

use common::wait_for;
use ftforest_core::coord::{
    Config, Event, EventKind, MembershipError, Monitor, PhaseJob, Recovery, Report, ReportOutcome,
};
use ftforest_core::{Health, StdClock, Tracker};

/// Phases succeed; DETECTING waits while `hold` is set.
#[derive(Default)]
struct Rec {
    hold: Arc<AtomicBool>,
}

impl Rec {
    fn phase(&self, _job: &PhaseJob) -> bool {
        wait_for("the test to release the phase", || {
            !self.hold.load(Ordering::SeqCst)
        });
        true
    }
}

impl Recovery for Rec {
    fn detecting(&self, job: &PhaseJob) -> bool {
        self.phase(job)
    }
    fn redistributing(&self, job: &PhaseJob) -> bool {
        self.phase(job)
    }
    fn rebalancing(&self, job: &PhaseJob) -> bool {
        self.phase(job)
    }
    fn validating(&self, job: &PhaseJob) -> bool {
        self.phase(job)
    }
}

type M = Monitor<Rec, Arc<Tracker>, StdClock>;

fn monitor(n: u32, rec: Rec) -> Arc<M> {
    Arc::new(
        Monitor::new(
            Config::default(),
            n,
            Arc::new(Tracker::new()),
            rec,
            StdClock,
        )
        .unwrap(),
    )
}

fn recorder(m: &M) -> Arc<Mutex<Vec<Event>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    m.subscribe(move |e: &Event| s2.lock().unwrap().push(*e))
        .unwrap();
    seen
}

#[test]
fn join_and_leave_while_running() {
    let m = monitor(5, Rec::default());
    let seen = recorder(&m);
    m.start().unwrap();
    m.leave(3).unwrap();
    assert_eq!(m.health(3).unwrap(), (Health::Absent, 0));
    assert_eq!(m.leave(3), Err(MembershipError::NotMember));
    assert_eq!(m.report(Report::crashed(3)), Ok(ReportOutcome::NotMember));
    assert_eq!(m.join(3), Ok(1));
    assert_eq!(m.join(3), Err(MembershipError::AlreadyMember));
    assert_eq!(m.join(9), Err(MembershipError::UnknownPartition));
    wait_for("membership events", || {
        seen.lock()
            .unwrap()
            .iter()
            .any(|e| e.kind() == EventKind::MemberJoined)
    });
    let kinds: Vec<EventKind> = seen.lock().unwrap().iter().map(Event::kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::StatusChanged,
            EventKind::MemberLeft,
            EventKind::StatusChanged,
            EventKind::MemberJoined
        ]
    );
    let st = m.stats();
    assert_eq!((st.joins, st.leaves, st.absent), (1, 1, 0));
    assert_eq!((st.failures_detected, st.recoveries_attempted), (0, 0));
    m.stop();
}

/// A listener may leave and join partitions (B20: no lock is held while it runs), and a
/// partition whose recovery phase is running in a worker cannot leave until it ends.
#[test]
fn listeners_may_change_membership_and_recovering_ranks_are_refused() {
    let hold = Arc::new(AtomicBool::new(true));
    let m = monitor(5, Rec { hold: hold.clone() });
    let weak = Arc::downgrade(&m);
    let answers = Arc::new(Mutex::new(Vec::new()));
    let a2 = answers.clone();
    m.subscribe(move |e: &Event| {
        let Some(m) = weak.upgrade() else { return };
        // Rank 4 left: the listener brings it back at once.
        match e {
            Event::MemberLeft(l) if l.rank == 4 => {
                a2.lock().unwrap().push(m.join(l.rank).map(|_| ()));
            }
            _ => {}
        }
    })
    .unwrap();
    m.start().unwrap();
    assert_eq!(m.report(Report::crashed(1)), Ok(ReportOutcome::Failed));
    wait_for("the phase to start", || {
        m.health(1).unwrap().0 == Health::Recovering
    });
    assert_eq!(m.leave(1), Err(MembershipError::Recovering));
    assert_eq!(m.join(1), Err(MembershipError::Recovering));
    m.leave(4).unwrap();
    wait_for("the listener's join", || answers.lock().unwrap().len() == 1);
    assert_eq!(answers.lock().unwrap()[0], Ok(()));
    assert_eq!(m.health(4).unwrap(), (Health::Healthy, 1));
    hold.store(false, Ordering::SeqCst);
    wait_for("recovery", || m.health(1).unwrap().0 == Health::Healthy);
    m.leave(1).unwrap();
    assert_eq!(m.health(1).unwrap().0, Health::Absent);
    m.stop();
}

/// Threads join and leave their own ranks while another reports failures: afterwards the
/// counts agree with the states, and quorum is over the members.
#[test]
fn concurrent_membership_changes_keep_counts_consistent() {
    let m = monitor(8, Rec::default());
    m.start().unwrap();
    let rounds = if cfg!(miri) { 3 } else { 50 };
    std::thread::scope(|s| {
        for rank in 4..8u32 {
            let m = &m;
            s.spawn(move || {
                for _ in 0..rounds {
                    let _ = m.leave(rank);
                    let _ = m.join(rank);
                }
            });
        }
        let m = &m;
        s.spawn(move || {
            for _ in 0..rounds {
                for rank in 4..8u32 {
                    let _ = m.report(Report::heartbeat(rank));
                }
            }
        });
    });
    // Every thread ended with a join (a leave refused for a recovering rank leaves it a
    // member): all 8 are members, and the counts match the states.
    wait_for("quiet", || m.with_coordinator(|c| !c.in_recovery_mode()));
    m.with_coordinator(|c| {
        let scan = (0..8)
            .filter(|&r| c.health(r).unwrap().0 == Health::Absent)
            .count();
        assert_eq!(c.counts().absent as usize, scan);
        assert_eq!(c.members(), 8 - scan as u32);
        assert_eq!(c.counts().total(), 8);
    });
    let st = m.stats();
    assert_eq!(st.joins, st.leaves, "every leave was followed by its join");
    assert_eq!(st.failures_detected, 0);
    m.stop();
}
