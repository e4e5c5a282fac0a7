//! The std `Monitor`: threads, listeners outside locks (B20), the embedder's phases (B2),
//! idempotent start/stop keeping state (B25), concurrent recoveries (B21) and cancellation.
//!
//! No timing assertions: waits poll a condition with a generous liveness bound (60 s) that
//! only a hang would reach.
#![cfg(feature = "std")]

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use core::time::Duration;
use std::sync::{Arc, Mutex};
use std::vec::Vec;

use ftforest_core::coord::{
    CancelJob, Config, Event, EventKind, ListenerHandle, Monitor, Phase, PhaseJob, Recovery,
    Report, ReportOutcome, UnsubscribeError,
};
use ftforest_core::{Clock, Health, Instant, ManualClock, StdClock, Tracker};

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "hung waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[derive(Default)]
struct Log {
    calls: Mutex<Vec<String>>,
    inside: AtomicU32,
    max_inside: AtomicU32,
    cancelled: AtomicBool,
}

impl Log {
    fn push(&self, s: String) {
        self.calls.lock().unwrap().push(s);
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

/// Records everything; DETECTING optionally waits until `rendezvous` phases are inside at
/// once, or until cancelled.
struct Rec {
    log: Arc<Log>,
    rendezvous: u32,
    block_until_cancel: bool,
}

impl Rec {
    fn phase(&self, job: &PhaseJob) -> bool {
        self.log.push(format!("{}:{}", job.rank, job.phase));
        if job.phase == Phase::Detecting {
            let n = self.log.inside.fetch_add(1, Ordering::SeqCst) + 1;
            self.log.max_inside.fetch_max(n, Ordering::SeqCst);
            if self.rendezvous > 1 {
                wait_for("parallel phases", || {
                    self.log.max_inside.load(Ordering::SeqCst) >= self.rendezvous
                });
            }
            if self.block_until_cancel {
                wait_for("cancel", || self.log.cancelled.load(Ordering::SeqCst));
            }
            self.log.inside.fetch_sub(1, Ordering::SeqCst);
        }
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
    fn cancel(&self, job: &CancelJob) {
        self.log.push(format!("cancel {}", job.rank));
        self.log.cancelled.store(true, Ordering::SeqCst);
    }
    fn pause_balancer(&self) {
        self.log.push("pause balancer".into());
    }
    fn resume_balancer(&self) {
        self.log.push("resume balancer".into());
    }
    fn pause_ghost_sync(&self) {
        self.log.push("pause ghost".into());
    }
    fn resume_ghost_sync(&self) {
        self.log.push("resume ghost".into());
    }
}

fn rec(log: &Arc<Log>) -> Rec {
    Rec {
        log: log.clone(),
        rendezvous: 1,
        block_until_cancel: false,
    }
}

type M<C> = Monitor<Rec, Arc<Tracker>, C>;

fn monitor(n: u32, r: Rec) -> M<StdClock> {
    Monitor::new(Config::default(), n, Arc::new(Tracker::new()), r, StdClock).unwrap()
}

/// B2: a crashed partition is recovered through the embedder's phase methods, inside the
/// balancer/ghost-sync pause.
#[test]
fn monitor_runs_the_embedders_recovery() {
    let log = Arc::new(Log::default());
    let m = monitor(3, rec(&log));
    m.start().unwrap();
    assert_eq!(m.report(Report::crashed(1)), Ok(ReportOutcome::Failed));
    wait_for("recovery", || m.health(1).unwrap() == (Health::Healthy, 1));
    wait_for("resume", || log.calls().len() == 8);
    assert_eq!(
        log.calls(),
        [
            "pause balancer",
            "pause ghost",
            "1:DETECTING",
            "1:REDISTRIBUTING",
            "1:REBALANCING",
            "1:VALIDATING",
            "resume balancer",
            "resume ghost"
        ]
    );
    assert_eq!(m.stats().recoveries_succeeded, 1);
    m.stop();
}

/// start/stop are idempotent; stopping forgets nothing (B25); reports while stopped count.
#[test]
fn start_stop_idempotent_and_state_kept() {
    let log = Arc::new(Log::default());
    let m = monitor(5, rec(&log));
    m.stop();
    m.start().unwrap();
    m.start().unwrap();
    assert!(m.is_running());
    m.stop();
    m.stop();
    assert!(!m.is_running());
    // While stopped: the report is processed, the recovery waits for the threads.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    m.subscribe(move |e: &Event| s2.lock().unwrap().push(e.kind()))
        .unwrap();
    assert_eq!(m.report(Report::crashed(4)), Ok(ReportOutcome::Failed));
    assert_eq!(m.health(4).unwrap().0, Health::Recovering);
    assert!(seen.lock().unwrap().is_empty());
    m.start().unwrap();
    wait_for("recovery after restart", || {
        m.health(4).unwrap().0 == Health::Healthy
    });
    wait_for("events", || {
        seen.lock().unwrap().contains(&EventKind::RecoveryFinished)
    });
    assert_eq!(seen.lock().unwrap()[0], EventKind::StatusChanged);
}

/// B20: listeners run outside every lock: a listener may call back into the monitor.
#[test]
fn listeners_may_call_back_into_the_monitor() {
    let log = Arc::new(Log::default());
    let m = Arc::new(monitor(5, rec(&log)));
    let weak = Arc::downgrade(&m);
    let calls = Arc::new(AtomicU32::new(0));
    let c2 = calls.clone();
    m.subscribe(move |e: &Event| {
        let Some(m) = weak.upgrade() else { return };
        // Reads, a report, and a (un)subscription from inside a listener.
        let _ = m.stats();
        let _ = m.level();
        let _ = m.report(Report::heartbeat(0));
        if e.kind() == EventKind::RecoveryFinished {
            let h = m.subscribe(|_: &Event| {}).unwrap();
            m.unsubscribe(h).unwrap();
        }
        c2.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    m.start().unwrap();
    m.report(Report::crashed(2)).unwrap();
    wait_for("recovery", || m.health(2).unwrap().0 == Health::Healthy);
    wait_for("listener calls", || calls.load(Ordering::SeqCst) >= 8);
    m.stop();
}

/// Silence the expected panics whose message is `msg` (one per event: printing each with a
/// backtrace dominates the test's time, under Miri by far); every other panic is reported
/// as usual.
fn quiet_panics(msg: &'static str) {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&msg) {
            default(info);
        }
    }));
}

/// Five listeners receive every event in the same order; a panicking one stops nobody.
#[test]
fn five_listeners_and_a_panicking_one() {
    let log = Arc::new(Log::default());
    let m = monitor(7, rec(&log));
    let logs: Vec<Arc<Mutex<Vec<Event>>>> =
        (0..5).map(|_| Arc::new(Mutex::new(Vec::new()))).collect();
    quiet_panics("listener bug");
    m.subscribe(|_: &Event| panic!("listener bug")).unwrap();
    for l in &logs {
        let l = l.clone();
        m.subscribe(move |e: &Event| l.lock().unwrap().push(*e))
            .unwrap();
    }
    m.start().unwrap();
    for r in 0..3 {
        m.report(Report::crashed(r)).unwrap();
    }
    wait_for("three recoveries", || m.stats().recoveries_succeeded == 3);
    wait_for("delivery", || {
        logs.iter().all(|l| {
            l.lock()
                .unwrap()
                .iter()
                .filter(|e| e.kind() == EventKind::RecoveryFinished)
                .count()
                == 3
        })
    });
    m.stop();
    let first = logs[0].lock().unwrap().clone();
    for l in &logs[1..] {
        assert_eq!(*l.lock().unwrap(), first);
    }
    // 3 × (F, R, H transitions) at least, and the panics were contained per event.
    assert!(
        first
            .iter()
            .filter(|e| e.kind() == EventKind::StatusChanged)
            .count()
            >= 9
    );
    assert_eq!(m.callback_panics(), first.len() as u64);
}

/// B21: K recoveries of different partitions run at the same time on the monitor.
#[test]
fn recoveries_run_in_parallel() {
    let log = Arc::new(Log::default());
    let m = monitor(
        7,
        Rec {
            log: log.clone(),
            rendezvous: 3,
            block_until_cancel: false,
        },
    );
    m.start().unwrap();
    for r in 0..3 {
        m.report(Report::crashed(r)).unwrap();
    }
    wait_for("three recoveries", || m.stats().recoveries_succeeded == 3);
    assert_eq!(log.max_inside.load(Ordering::SeqCst), 3);
    let calls = log.calls();
    assert_eq!(calls.iter().filter(|c| *c == "pause balancer").count(), 1);
    m.stop();
}

struct Shared(Arc<ManualClock>);
impl Clock for Shared {
    fn now(&self) -> Instant {
        self.0.now()
    }
}

/// A recovery that runs past the recovery timeout is abandoned and the embedder told to
/// cancel it (manual clock, moved by the test).
#[test]
fn recovery_timeout_cancels_the_embedder() {
    let log = Arc::new(Log::default());
    let clock = Arc::new(ManualClock::new(Instant::from_millis(1)));
    let r = Rec {
        log: log.clone(),
        rendezvous: 1,
        block_until_cancel: true,
    };
    let m: M<Shared> = Monitor::new(
        Config::default(),
        3,
        Arc::new(Tracker::new()),
        r,
        Shared(clock.clone()),
    )
    .unwrap();
    m.start().unwrap();
    m.report(Report::crashed(0)).unwrap();
    wait_for("phase started", || {
        log.calls().iter().any(|c| c == "0:DETECTING")
    });
    clock.advance(Duration::from_secs(31));
    m.poke();
    wait_for("cancel", || log.cancelled.load(Ordering::SeqCst));
    wait_for("retry scheduled", || m.stats().recoveries_timed_out == 1);
    assert_eq!(m.health(0).unwrap().0, Health::Failed);
    // The late result of the cancelled phase acknowledged the cancel (its result ignored);
    // the retry (after backoff) succeeds.
    clock.advance(Duration::from_secs(1));
    m.poke();
    wait_for("retry", || m.health(0).unwrap().0 == Health::Healthy);
    m.stop();
    assert!(log.calls().iter().any(|c| c == "cancel 0"));
}

/// Backpressure is hidden: reports that meet a full outbox (256 slots, 200 crashes before
/// the dispatcher runs) are retried by the monitor; its users never see `OutboxFull`, and
/// listeners receive every event (four status changes per recovered partition).
#[test]
fn monitor_users_never_see_outbox_full() {
    let n: u32 = if cfg!(miri) { 20 } else { 500 };
    let failing = n * 2 / 5;
    let log = Arc::new(Log::default());
    let m = monitor(n, rec(&log));
    let status = Arc::new(AtomicU32::new(0));
    let s2 = status.clone();
    m.subscribe(move |e: &Event| {
        if e.kind() == EventKind::StatusChanged {
            s2.fetch_add(1, Ordering::SeqCst);
        }
    })
    .unwrap();
    for r in 0..failing {
        assert_eq!(m.report(Report::crashed(r)), Ok(ReportOutcome::Failed));
    }
    m.start().unwrap();
    wait_for("every recovery", || {
        m.stats().recoveries_succeeded == u64::from(failing)
    });
    wait_for("every status event", || {
        status.load(Ordering::SeqCst) >= 4 * failing
    });
    m.stop();
    assert_eq!(status.load(Ordering::SeqCst), 4 * failing);
    assert_eq!(m.stats().events_dropped, 0);
    assert_eq!(m.stats().healthy, n);
}

/// `unsubscribe` is synchronous: while a listener is being called on the dispatcher, an
/// `unsubscribe` on another thread waits for that call to return, and after it returns the
/// listener is never called again, although events keep coming.
#[test]
fn unsubscribe_waits_for_a_running_call_and_stops_delivery() {
    let log = Arc::new(Log::default());
    let m = Arc::new(monitor(5, rec(&log)));
    let inside = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let calls_after = Arc::new(AtomicU32::new(0));
    let unsubscribed = Arc::new(AtomicBool::new(false));
    let h = {
        let (inside, release) = (inside.clone(), release.clone());
        let (calls_after, unsubscribed) = (calls_after.clone(), unsubscribed.clone());
        m.subscribe(move |_: &Event| {
            if unsubscribed.load(Ordering::SeqCst) {
                calls_after.fetch_add(1, Ordering::SeqCst);
            }
            if !release.load(Ordering::SeqCst) {
                inside.store(true, Ordering::SeqCst);
                wait_for("release", || release.load(Ordering::SeqCst));
            }
        })
        .unwrap()
    };
    let other = Arc::new(AtomicU32::new(0));
    let o2 = other.clone();
    m.subscribe(move |_: &Event| {
        o2.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    m.start().unwrap();
    m.report(Report::crashed(1)).unwrap();
    wait_for("the listener runs", || inside.load(Ordering::SeqCst));
    let returned = Arc::new(AtomicBool::new(false));
    let unsub = {
        let (m, returned, unsubscribed) = (m.clone(), returned.clone(), unsubscribed.clone());
        std::thread::spawn(move || {
            m.unsubscribe(h).unwrap();
            unsubscribed.store(true, Ordering::SeqCst);
            returned.store(true, Ordering::SeqCst);
        })
    };
    // The unsubscriber is blocked while the call runs (it cannot have returned: the
    // listener is still parked inside its callback).
    for _ in 0..50 {
        std::thread::yield_now();
    }
    assert!(
        !returned.load(Ordering::SeqCst),
        "returned during a running call"
    );
    release.store(true, Ordering::SeqCst);
    unsub.join().unwrap();
    // More events: the others still get them, the removed one never again.
    let before = other.load(Ordering::SeqCst);
    m.report(Report::crashed(2)).unwrap();
    wait_for("recovery", || m.health(2).unwrap().0 == Health::Healthy);
    wait_for("delivery", || other.load(Ordering::SeqCst) > before + 4);
    m.stop();
    assert_eq!(calls_after.load(Ordering::SeqCst), 0);
    assert_eq!(m.unsubscribe(h), Err(UnsubscribeError::UnknownHandle));
}

/// A listener may unsubscribe itself from inside its callback without deadlocking, and is
/// not called again.
#[test]
fn a_listener_may_unsubscribe_itself() {
    let log = Arc::new(Log::default());
    let m = Arc::new(monitor(5, rec(&log)));
    let weak = Arc::downgrade(&m);
    let handle: Arc<Mutex<Option<ListenerHandle>>> = Arc::new(Mutex::new(None));
    let calls = Arc::new(AtomicU32::new(0));
    let h = {
        let (handle, calls) = (handle.clone(), calls.clone());
        m.subscribe(move |_: &Event| {
            calls.fetch_add(1, Ordering::SeqCst);
            let Some(m) = weak.upgrade() else { return };
            if let Some(h) = handle.lock().unwrap().take() {
                m.unsubscribe(h).unwrap();
            }
        })
        .unwrap()
    };
    *handle.lock().unwrap() = Some(h);
    let total = Arc::new(AtomicU32::new(0));
    let t2 = total.clone();
    m.subscribe(move |_: &Event| {
        t2.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    m.start().unwrap();
    m.report(Report::crashed(3)).unwrap();
    wait_for("recovery", || m.health(3).unwrap().0 == Health::Healthy);
    wait_for("delivery", || total.load(Ordering::SeqCst) >= 8);
    m.stop();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "called once, then removed itself"
    );
}

type WedgedMonitor = Monitor<WedgedRec, Arc<Tracker>, Shared>;

/// A DETECTING phase that stays wedged (ignores its cancel) until the test releases it.
struct Wedged {
    entered: AtomicBool,
    release: AtomicBool,
}

/// A monitor over 3 partitions whose phases wedge until released, on a manual clock at 1 ms,
/// pausing `tracker`.
fn wedged_monitor(
    cfg: Config,
    tracker: Arc<Tracker>,
) -> (Arc<ManualClock>, Arc<Wedged>, Arc<WedgedMonitor>) {
    let clock = Arc::new(ManualClock::new(Instant::from_millis(1)));
    let w = Arc::new(Wedged {
        entered: AtomicBool::new(false),
        release: AtomicBool::new(false),
    });
    let rec = WedgedRec(w.clone());
    let m = Monitor::new(cfg, 3, tracker, rec, Shared(clock.clone())).unwrap();
    (clock, w, Arc::new(m))
}

impl Wedged {
    fn phase(&self, job: &PhaseJob) -> bool {
        if job.phase == Phase::Detecting && !self.entered.swap(true, Ordering::SeqCst) {
            wait_for("release", || self.release.load(Ordering::SeqCst));
        }
        true
    }
}

struct WedgedRec(Arc<Wedged>);

impl Recovery for WedgedRec {
    fn detecting(&self, job: &PhaseJob) -> bool {
        self.0.phase(job)
    }
    fn redistributing(&self, job: &PhaseJob) -> bool {
        self.0.phase(job)
    }
    fn rebalancing(&self, job: &PhaseJob) -> bool {
        self.0.phase(job)
    }
    fn validating(&self, job: &PhaseJob) -> bool {
        self.0.phase(job)
    }
}

/// Seam of the cancel handshake and the lifecycle: a listener restarts the monitor (stop,
/// start) while the phase of an abandoned attempt is wedged in a worker of the old run. The
/// new run must still drive the coordinator (tick: the unacknowledged cancel is escalated at
/// `cancel_timeout`); the old worker's late result
/// then acknowledges the cancel, the forest reopens and the retry succeeds. (Before the fix
/// the new run's threads waited for every thread of the old run, the wedged worker
/// included: no tick, no escalation, nothing recovered, until the phase returned.)
#[test]
fn a_restart_from_a_listener_while_an_abandoned_phase_is_wedged_keeps_ticking() {
    let cfg = Config::builder()
        .recovery_timeout(Duration::from_secs(1))
        .cancel_timeout(Duration::from_secs(1))
        .backoff_base(Duration::from_millis(1))
        .backoff_cap(Duration::from_millis(1))
        .build()
        .unwrap();
    let (clock, w, m) = wedged_monitor(cfg, Arc::new(Tracker::new()));
    let weak = Arc::downgrade(&m);
    let restarted = Arc::new(AtomicBool::new(false));
    let r2 = restarted.clone();
    m.subscribe(move |e: &Event| {
        let Some(m) = weak.upgrade() else { return };
        if e.kind() == EventKind::RetryScheduled && !r2.swap(true, Ordering::SeqCst) {
            m.stop();
            m.start().unwrap();
        }
    })
    .unwrap();
    m.start().unwrap();
    m.report(Report::crashed(0)).unwrap();
    wait_for("wedged phase", || w.entered.load(Ordering::SeqCst));
    clock.advance(Duration::from_secs(2));
    m.poke();
    wait_for("restart from the listener", || {
        restarted.load(Ordering::SeqCst)
    });
    assert_eq!(m.stats().cancels_pending, 1);
    // Past the cancel timeout: the new run must tick and escalate (bounded wait, then
    // release the phase either way so the monitor can be dropped).
    clock.advance(Duration::from_secs(2));
    let start = std::time::Instant::now();
    while m.stats().cancels_escalated == 0 && start.elapsed() < Duration::from_secs(5) {
        m.poke();
        std::thread::sleep(Duration::from_millis(2));
    }
    let escalated = m.stats().cancels_escalated;
    w.release.store(true, Ordering::SeqCst);
    assert_eq!(escalated, 1, "the restarted monitor never ticked");
    assert_eq!(m.health(0).unwrap().0, Health::Failed);
    // The wedged phase returned: its late result acknowledged the cancel; the retry runs.
    // The retry's backoff (1 ms) expired long ago; the clock stays put from here on, so
    // the retry cannot time out while its phases run.
    wait_for("cancel acknowledged", || m.stats().cancels_pending == 0);
    wait_for("recovered", || {
        m.poke();
        m.health(0).unwrap().0 == Health::Healthy
    });
    assert_eq!(m.stats().recoveries_timed_out, 1);
    assert!(!m.with_coordinator(|c| c.in_recovery_mode()));
    m.stop();
}

/// Dropping the last monitor from a listener while the abandoned phase of a cancelled attempt
/// is still wedged in a worker: nothing is released early (the forest stays paused while the
/// phase runs), and once it returns the last thread drops the coordinator, which gives the
/// pause back (the shared tracker reopens) — nothing stays paused for good.
#[test]
fn last_drop_from_a_listener_with_a_cancelling_attempt_reopens_the_tracker_after_the_phase() {
    let cfg = Config::builder()
        .recovery_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let tracker = Arc::new(Tracker::new());
    let (clock, w, m) = wedged_monitor(cfg, tracker.clone());
    // The listener holds the last reference once the test lets go of its own.
    let slot: Arc<Mutex<Option<Arc<WedgedMonitor>>>> = Arc::new(Mutex::new(Some(m.clone())));
    let s2 = slot.clone();
    let dropped = Arc::new(AtomicBool::new(false));
    let d2 = dropped.clone();
    m.subscribe(move |e: &Event| {
        if e.kind() == EventKind::RetryScheduled {
            let last = s2.lock().unwrap().take();
            drop(last);
            d2.store(true, Ordering::SeqCst);
        }
    })
    .unwrap();
    m.start().unwrap();
    m.report(Report::crashed(0)).unwrap();
    wait_for("wedged phase", || w.entered.load(Ordering::SeqCst));
    assert_eq!(m.stats().cancels_pending, 0);
    drop(m);
    clock.advance(Duration::from_secs(2));
    // Poke through the slot while it still holds the monitor.
    wait_for("last drop in the listener", || {
        if let Some(m) = slot.lock().unwrap().as_ref() {
            m.poke();
        }
        dropped.load(Ordering::SeqCst)
    });
    assert!(tracker.is_paused(), "reopened while the phase still runs");
    w.release.store(true, Ordering::SeqCst);
    wait_for("the coordinator dropped by the last thread", || {
        Arc::strong_count(&w) == 1
    });
    // The recovery object may go before the coordinator in the monitor's drop: wait for the
    // coordinator's teardown too (a monitor that never gives the pause back hangs here).
    wait_for("the dropped monitor to give the pause back", || {
        !tracker.is_paused()
    });
}
