//! Issue 7, items 1, 5 and 7: the cancel handshake, the hold after a zero pause timeout,
//! nothing stranded after an input, and a clock at the top of its range.
//!
//! Every test drives the sans-io coordinator by hand on a manual millisecond time line (no
//! threads, no wall clock).
#![cfg(feature = "std")]

mod common;

use core::time::Duration;
use std::sync::Arc;
use std::vec::Vec;

use common::ms;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use ftforest_core::coord::{
    boxed_storage, Action, Alerts, BoxedCoordinator, BoxedStorage, CancelDoneError, CancelJob,
    Config, Coordinator, EscalationReason, Event, HeartbeatConfig, HeartbeatMode, Monitor,
    NewError, PartitionSlot, PhaseDoneError, PhaseJob, Recovery, Report, RetryError, Storage,
};
use ftforest_core::{
    Clock, Health, HealthCell, Instant, LockSlot, ManualClock, QueueSlot, Tracker,
};

type Coord = BoxedCoordinator<Arc<Tracker>>;

fn coord(n: u32, cfg: Config, tracker: &Arc<Tracker>, start: Instant) -> Coord {
    Coord::new_boxed(cfg, n, tracker.clone(), start).expect("coordinator")
}

/// Drain actions and events; returns (actions, events).
fn drain(c: &mut Coord) -> (Vec<Action>, Vec<Event>) {
    let mut a = Vec::new();
    while let Some(x) = c.poll_action() {
        a.push(x);
    }
    let mut e = Vec::new();
    while let Some(x) = c.poll_event() {
        e.push(x);
    }
    (a, e)
}

fn phases(actions: &[Action]) -> Vec<PhaseJob> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::RunPhase(j) => Some(*j),
            _ => None,
        })
        .collect()
}

/// Recovery timeout 100 ms, backoff 10 ms, K = 1.
fn cancel_cfg() -> Config {
    Config::builder()
        .max_concurrent(1)
        .recovery_timeout(Duration::from_millis(100))
        .backoff_base(Duration::from_millis(10))
        .backoff_cap(Duration::from_millis(10))
        .cancel_timeout(Duration::from_millis(1_000))
        .build()
        .expect("config")
}

/// Crash rank 0 at t = 0, hand out its first phase, let it run past the recovery timeout
/// and poll the cancel. Returns the abandoned job.
fn abandon(c: &mut Coord) -> PhaseJob {
    c.handle_report(ms(0), Report::crashed(0)).unwrap();
    let (a, _) = drain(c);
    let job = phases(&a)[0];
    c.tick(ms(100));
    let (a, e) = drain(c);
    assert!(
        a.iter()
            .any(|x| matches!(x, Action::CancelRecovery(j) if j.attempt == job.attempt)),
        "{a:?}"
    );
    assert!(e
        .iter()
        .any(|x| matches!(x, Event::StatusChanged(s) if s.rank == 0 && s.to == Health::Failed)));
    job
}

/// Item 1: an attempt abandoned at its recovery timeout keeps the forest paused, keeps its
/// permit and is not handed out again, however long the embedder takes to acknowledge.
#[test]
fn abandoned_attempt_stays_cancelling_until_acknowledged() {
    let tracker = Arc::new(Tracker::new());
    let mut c = coord(5, cancel_cfg(), &tracker, ms(0));
    let job = abandon(&mut c);
    // Long past the backoff (10 ms) and the hold: nothing reopens, nothing restarts.
    for t in [110, 200, 500, 999] {
        c.tick(ms(t));
        let (a, _) = drain(&mut c);
        assert!(
            !a.iter().any(|x| matches!(
                x,
                Action::ResumeBalancer | Action::ResumeGhostSync | Action::RunPhase(_)
            )),
            "t = {t}: {a:?} while the abandoned phase may still run"
        );
        assert!(c.in_recovery_mode(), "t = {t}: recovery mode left");
        assert!(tracker.is_paused(), "t = {t}: gate reopened");
        assert_eq!(c.in_progress(), 1, "t = {t}: permit given back");
        assert_eq!(c.health(0).unwrap().0, Health::Failed);
        assert!(!c.is_queued(0), "t = {t}: queued again while cancelling");
    }
    assert_eq!(c.cancelling(0), Some(job.attempt));
    assert_eq!(c.stats().cancels_pending, 1);
    // A retry command is refused while the cancel is unacknowledged.
    assert!(c.retry(ms(999), 0).is_err());
    // Acknowledge: the forest resumes and the retry (backoff long expired) starts.
    assert_eq!(
        c.cancel_done(ms(999), 0, job.attempt.wrapping_add(7)),
        Err(CancelDoneError::NotCancelling)
    );
    c.cancel_done(ms(1_000), 0, job.attempt).unwrap();
    assert_eq!(c.cancelling(0), None);
    assert_eq!(
        c.cancel_done(ms(1_000), 0, job.attempt),
        Err(CancelDoneError::NotCancelling),
        "a second acknowledgement is refused"
    );
    let (a, _) = drain(&mut c);
    assert!(a.contains(&Action::ResumeBalancer), "{a:?}");
    assert!(!tracker.is_paused());
    let t = c.poll_timeout().expect("the due retry asks for a tick");
    assert!(t <= ms(1_000));
    c.tick(ms(1_000));
    let (a, _) = drain(&mut c);
    let next = phases(&a);
    assert_eq!(next.len(), 1, "{a:?}");
    assert_eq!((next[0].rank, next[0].number), (0, 2));
    assert_ne!(next[0].attempt, job.attempt);
    let st = c.stats();
    assert_eq!((st.cancels_pending, st.cancels_escalated), (0, 0));
}

/// Item 1: the abandoned phase's own late `phase_done` is the acknowledgement.
#[test]
fn late_phase_done_acknowledges_the_cancel() {
    let tracker = Arc::new(Tracker::new());
    let mut c = coord(5, cancel_cfg(), &tracker, ms(0));
    let job = abandon(&mut c);
    assert!(tracker.is_paused());
    // A wrong phase of the abandoned attempt is refused and changes nothing.
    assert_eq!(
        c.phase_done(
            ms(150),
            0,
            job.attempt,
            ftforest_core::coord::Phase::Validating,
            true
        ),
        Err(PhaseDoneError::OutOfOrder {
            expected: job.phase,
            got: ftforest_core::coord::Phase::Validating
        })
    );
    assert!(tracker.is_paused());
    c.phase_done(ms(150), 0, job.attempt, job.phase, true)
        .unwrap();
    assert_eq!(c.cancelling(0), None);
    assert!(!tracker.is_paused(), "acknowledged: the forest reopens");
    // The result itself counted for nothing: the attempt had failed.
    assert_eq!(c.health(0).unwrap().0, Health::Failed);
    assert_eq!(
        c.phase_done(ms(150), 0, job.attempt, job.phase, true),
        Err(PhaseDoneError::StaleAttempt)
    );
    // The retry was due at 110: the acknowledgement asked for a tick.
    assert!(c.poll_timeout().is_some_and(|t| t <= ms(150)));
    c.tick(ms(150));
    let (a, _) = drain(&mut c);
    assert_eq!(phases(&a).len(), 1, "{a:?}");
}

/// Item 1: a cancel never acknowledged is escalated once, raised as an alert and counted,
/// and the forest stays paused.
#[test]
fn unacknowledged_cancel_is_escalated_but_never_reopens() {
    let tracker = Arc::new(Tracker::new());
    let mut c = coord(5, cancel_cfg(), &tracker, ms(0));
    let job = abandon(&mut c);
    assert!(!c.alerts(ms(1_099)).contains(Alerts::CANCEL_OVERDUE));
    assert_eq!(c.poll_timeout(), Some(ms(1_100)), "the escalation deadline");
    c.tick(ms(1_100));
    let (_, e) = drain(&mut c);
    assert!(
        e.iter().any(|x| matches!(x, Event::Escalated(s)
            if s.rank == 0 && s.reason == EscalationReason::CancelUnacknowledged)),
        "{e:?}"
    );
    assert!(c.alerts(ms(1_100)).contains(Alerts::CANCEL_OVERDUE));
    assert_eq!(c.stats().cancels_escalated, 1);
    for t in [2_000, 60_000, 3_600_000] {
        c.tick(ms(t));
        let (a, e) = drain(&mut c);
        assert!(a.is_empty() && e.is_empty(), "t = {t}: {a:?} {e:?}");
        assert!(tracker.is_paused() && c.in_recovery_mode());
    }
    assert_eq!(c.stats().cancels_escalated, 1, "escalated once");
    c.cancel_done(ms(3_600_000), 0, job.attempt).unwrap();
    assert!(!c.alerts(ms(3_600_000)).contains(Alerts::CANCEL_OVERDUE));
    assert!(!tracker.is_paused());
}

/// Item 1: dropping a coordinator with an unacknowledged cancel gives back its permit and
/// its pause: the storage serves the next coordinator and the forest runs.
#[test]
fn dropping_a_coordinator_with_a_cancelling_attempt_releases_everything() {
    type Borrowed<'a> = Coordinator<
        &'a [HealthCell],
        &'a [LockSlot],
        &'a [QueueSlot],
        &'a mut [PartitionSlot],
        &'a Tracker,
    >;
    fn on<'a>(
        s: &'a mut BoxedStorage,
        t: &'a Tracker,
        now: Instant,
    ) -> Result<Borrowed<'a>, NewError> {
        let storage = Storage {
            cells: &s.cells[..],
            locks: &s.locks[..],
            queue: &s.queue[..],
            slots: &mut s.slots[..],
        };
        Coordinator::new(cancel_cfg(), storage, 5, t, now)
    }
    let tracker = Tracker::new();
    let mut storage = boxed_storage(5);
    {
        let mut c = on(&mut storage, &tracker, ms(0)).unwrap();
        c.handle_report(ms(0), Report::crashed(0)).unwrap();
        while c.poll_action().is_some() {}
        c.tick(ms(100));
        while c.poll_action().is_some() {}
        assert!(c.cancelling(0).is_some());
        assert!(tracker.is_paused());
    }
    assert!(
        !tracker.is_paused(),
        "the dropped coordinator's pause was given back"
    );
    let c2 = on(&mut storage, &tracker, ms(200));
    assert!(c2.is_ok(), "lock storage still in use: {:?}", c2.err());
}

/// Item 5: with `pause_timeout = 0` and an operation in flight, one input makes one pause
/// attempt, then holds the queue (documented hold after a pause timeout).
#[test]
fn zero_pause_timeout_honours_the_hold() {
    let cfg = Config::builder()
        .max_concurrent(3)
        .pause_timeout(Duration::ZERO)
        .failure_confirmation(Duration::ZERO)
        .build()
        .unwrap();
    let tracker = Arc::new(Tracker::new());
    let mut c = coord(9, cfg, &tracker, ms(0));
    let _op = tracker.begin().unwrap();
    // Three failures queued while the forest is held by nothing yet: report them while the
    // first attempt's pause is the one that times out.
    c.handle_report(ms(0), Report::crashed(0)).unwrap();
    drain(&mut c);
    assert_eq!(c.stats().pause_timeouts, 1);
    c.handle_report(ms(1), Report::crashed(1)).unwrap();
    c.handle_report(ms(1), Report::crashed(2)).unwrap();
    c.handle_report(ms(1), Report::crashed(3)).unwrap();
    drain(&mut c);
    assert_eq!(
        c.stats().pause_timeouts,
        1,
        "held: no pause inside the hold"
    );
    // The hold ends (max(backoff_base, quiescence_poll) = 100 ms): one tick, one pause.
    c.tick(ms(100));
    drain(&mut c);
    assert_eq!(
        c.stats().pause_timeouts,
        2,
        "one tick started and aborted several attempts"
    );
    assert_eq!(c.stats().recoveries_attempted, 2);
}

/// Item 7: an attempt whose pause aborts in the last step of an input (a promotion right
/// after the hold, one operation in flight) must not be left RECOVERING with its permit and
/// no tick to come.
#[test]
fn pause_aborted_by_the_last_step_is_not_stranded() {
    let cfg = Config::builder()
        .max_concurrent(1)
        .max_retries(0)
        .pause_timeout(Duration::ZERO)
        .failure_confirmation(Duration::ZERO)
        .backoff_base(Duration::from_millis(50))
        .backoff_cap(Duration::from_millis(50))
        .build()
        .unwrap();
    let tracker = Arc::new(Tracker::new());
    let mut c = coord(5, cfg, &tracker, ms(0));
    let _op = tracker.begin().unwrap();
    c.handle_report(ms(0), Report::crashed(0)).unwrap();
    c.handle_report(ms(10), Report::crashed(1)).unwrap();
    drain(&mut c);
    assert!(c.is_queued(1), "held after the pause timeout");
    // Follow `poll_timeout` like the documented loop until the hold (50 ms) ends.
    let mut t = ms(10);
    while t < ms(50) {
        t = c.poll_timeout().expect("the hold ends").max(t);
        c.tick(t);
    }
    drain(&mut c);
    let stranded = c.health(1).unwrap().0 == Health::Recovering && c.poll_timeout().is_none();
    assert!(
        !stranded,
        "rank 1 RECOVERING with a permit ({} in progress), no phase, no pause, no tick",
        c.in_progress()
    );
    assert_eq!(c.in_progress(), 0);
}

/// Item 7: with the clock at the top of its range an attempt is not cancelled as it starts.
#[test]
fn clock_at_the_top_does_not_cancel_starting_attempts() {
    let tracker = Arc::new(Tracker::new());
    let mut c = coord(5, Config::default(), &tracker, Instant::MAX);
    c.handle_report(Instant::MAX, Report::crashed(0)).unwrap();
    let (a, _) = drain(&mut c);
    assert_eq!(phases(&a).len(), 1);
    c.tick(Instant::MAX);
    let (a, _) = drain(&mut c);
    assert!(
        !a.iter().any(|x| matches!(x, Action::CancelRecovery(_))),
        "cancelled as it started: {a:?}"
    );
    assert_eq!(c.health(0).unwrap().0, Health::Recovering);
}

/// Item 7: with heartbeats on and the clock at the top, `poll_timeout` must not keep
/// answering "now" while `tick` changes nothing (a spinning driver).
#[test]
fn clock_at_the_top_does_not_spin_the_driver() {
    let hb = HeartbeatConfig::DEFAULT.with_mode(HeartbeatMode::Interval);
    let cfg = Config::builder().heartbeat(hb).build().unwrap();
    let tracker = Arc::new(Tracker::new());
    let near = Instant::from_nanos(u64::MAX - 1_000);
    let mut c = coord(5, cfg, &tracker, near);
    for r in 0..5 {
        c.handle_report(near, Report::heartbeat(r)).unwrap();
    }
    drain(&mut c);
    let mut spins = 0;
    for _ in 0..10 {
        match c.poll_timeout() {
            Some(t) if t <= Instant::MAX => {
                let before = c.stats();
                c.tick(t);
                let (a, e) = drain(&mut c);
                if a.is_empty() && e.is_empty() && c.stats() == before {
                    spins += 1;
                }
            }
            _ => break,
        }
    }
    assert!(
        spins < 2,
        "poll_timeout answered {:?} {spins} times, tick did nothing",
        c.poll_timeout()
    );
}

/// Item 1: `retry` of an escalated partition whose abandoned attempt is not acknowledged is
/// refused (typed, nothing changes); after the acknowledgement it is accepted.
#[test]
fn retry_waits_for_the_acknowledgement() {
    let cfg = cancel_cfg().to_builder().max_retries(0).build().unwrap();
    let tracker = Arc::new(Tracker::new());
    let mut c = coord(5, cfg, &tracker, ms(0));
    let job = abandon(&mut c);
    assert!(c.partition(0).unwrap().is_exhausted());
    assert_eq!(c.retry(ms(200), 0), Err(RetryError::Cancelling));
    assert_eq!(
        c.cancel_done(ms(200), 9, 1),
        Err(CancelDoneError::UnknownPartition)
    );
    c.cancel_done(ms(200), 0, job.attempt).unwrap();
    assert_eq!(c.retry(ms(200), 0), Ok(()));
    let (a, _) = drain(&mut c);
    assert_eq!(phases(&a).len(), 1, "{a:?}");
}

/// A recovery whose DETECTING blocks until the test releases it (ignoring the cancel, like a
/// phase stuck in a system call), counting its calls.
#[derive(Default)]
struct Stuck {
    release: AtomicBool,
    cancels: AtomicU32,
    detecting: AtomicU32,
    resumed: AtomicBool,
}

struct StuckRef(Arc<Stuck>);

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "watchdog: hung waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

impl Recovery for StuckRef {
    fn detecting(&self, _: &PhaseJob) -> bool {
        if self.0.detecting.fetch_add(1, Ordering::SeqCst) == 0 {
            wait_for("the test to release the phase", || {
                self.0.release.load(Ordering::SeqCst)
            });
        }
        true
    }
    fn redistributing(&self, _: &PhaseJob) -> bool {
        true
    }
    fn rebalancing(&self, _: &PhaseJob) -> bool {
        true
    }
    fn validating(&self, _: &PhaseJob) -> bool {
        true
    }
    fn cancel(&self, _: &CancelJob) {
        self.0.cancels.fetch_add(1, Ordering::SeqCst);
    }
    fn resume_balancer(&self) {
        self.0.resumed.store(true, Ordering::SeqCst);
    }
}

struct SharedClock(Arc<ManualClock>);
impl Clock for SharedClock {
    fn now(&self) -> Instant {
        self.0.now()
    }
}

/// Item 1, std Monitor: the worker's phase call returning is the acknowledgement. Until it
/// returns, the forest stays paused and the partition is not recovered again.
#[test]
fn monitor_keeps_the_forest_paused_until_the_phase_returns() {
    let stuck = Arc::new(Stuck::default());
    let clock = Arc::new(ManualClock::new(ms(1)));
    let tracker: Arc<Tracker> = Arc::new(Tracker::new());
    let m = Monitor::new(
        cancel_cfg(),
        3,
        tracker.clone(),
        StuckRef(stuck.clone()),
        SharedClock(clock.clone()),
    )
    .unwrap();
    // A failing assertion must not leave the worker blocked (the monitor's drop joins it).
    struct Release(Arc<Stuck>);
    impl Drop for Release {
        fn drop(&mut self) {
            self.0.release.store(true, Ordering::SeqCst);
        }
    }
    let _release = Release(stuck.clone());
    m.start().unwrap();
    m.report(Report::crashed(0)).unwrap();
    wait_for("phase started", || {
        stuck.detecting.load(Ordering::SeqCst) == 1
    });
    clock.advance(Duration::from_millis(200));
    m.poke();
    wait_for("cancel", || stuck.cancels.load(Ordering::SeqCst) == 1);
    wait_for("timeout counted", || m.stats().recoveries_timed_out == 1);
    // The phase is still inside `detecting`: nothing may reopen or restart.
    assert!(tracker.is_paused(), "gate reopened while the phase runs");
    assert!(m.with_coordinator(|c| c.in_recovery_mode()));
    assert!(
        !stuck.resumed.load(Ordering::SeqCst),
        "balancer resumed while the phase runs"
    );
    assert!(m.with_coordinator(|c| c.cancelling(0)).is_some());
    clock.advance(Duration::from_millis(200));
    m.poke();
    assert_eq!(
        stuck.detecting.load(Ordering::SeqCst),
        1,
        "handed out again"
    );
    // The phase returns: acknowledged, the retry runs and succeeds.
    stuck.release.store(true, Ordering::SeqCst);
    wait_for("retry succeeded", || {
        m.health(0).unwrap().0 == Health::Healthy
    });
    wait_for("resumed", || !tracker.is_paused());
    assert_eq!(m.stats().cancels_pending, 0);
    m.stop();
}
