//! The std `Monitor`'s lifecycle called from its own callbacks (issue 7 item 3): `is_running`,
//! `start`, `stop` and the last drop from a listener or a phase, while another thread stops
//! the monitor; runs never overlap. Also item 6: `Monitor::new` refuses a size before
//! allocating it.
//!
//! A hang fails the test through its own watchdog (`within`: the scenario runs on a thread,
//! the test waits on a channel with a generous bound that only a deadlock reaches). No timing
//! assertions.
#![cfg(feature = "std")]

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use core::time::Duration;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::vec::Vec;

use ftforest_core::coord::{BoxedCoordinator, Report};
use ftforest_core::coord::{
    Config, Event, EventKind, Monitor, MonitorError, NewError, PhaseJob, Recovery,
};
use ftforest_core::{Health, Instant, StdClock, TableError, Tracker, MAX_PARTITIONS};

/// How long a watchdog waits before it calls a hang: 30 s, 10× that under Miri (an
/// interpreter on a loaded 2-core machine took over 30 s for the stop-then-start scenario;
/// a watchdog detects deadlocks, it does not measure speed).
const WATCHDOG: Duration = Duration::from_secs(if cfg!(miri) { 300 } else { 30 });

/// Runs `f` on its own thread; fails with "deadlock: {what}" if it does not finish within
/// [`WATCHDOG`] (the stuck threads are left behind), and with `f`'s own panic if it fails.
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(WATCHDOG) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("deadlock: {what}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => match h.join() {
            Err(p) => std::panic::resume_unwind(p),
            Ok(()) => unreachable!("the scenario sends before it returns"),
        },
    }
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(start.elapsed() < WATCHDOG, "hung waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

type PhaseFn = Box<dyn Fn(&PhaseJob) -> bool + Send + Sync>;

/// A recovery whose phases run `phase`; `dropped` is set when the monitor lets go of it.
struct Rec {
    phase: PhaseFn,
    dropped: Arc<AtomicBool>,
}

impl Recovery for Rec {
    fn detecting(&self, job: &PhaseJob) -> bool {
        (self.phase)(job)
    }
    fn redistributing(&self, job: &PhaseJob) -> bool {
        (self.phase)(job)
    }
    fn rebalancing(&self, job: &PhaseJob) -> bool {
        (self.phase)(job)
    }
    fn validating(&self, job: &PhaseJob) -> bool {
        (self.phase)(job)
    }
}

impl Drop for Rec {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

type M = Monitor<Rec, Arc<Tracker>, StdClock>;

/// A monitor shared with its own callbacks through `slot` (a weak reference, as an embedder
/// would keep it).
fn monitor(phase: PhaseFn) -> (Arc<M>, Arc<OnceLock<Weak<M>>>, Arc<AtomicBool>) {
    let dropped = Arc::new(AtomicBool::new(false));
    let rec = Rec {
        phase,
        dropped: dropped.clone(),
    };
    let m = Arc::new(
        Monitor::new(
            Config::default(),
            4,
            Arc::new(Tracker::new()),
            rec,
            StdClock,
        )
        .unwrap(),
    );
    let slot = Arc::new(OnceLock::new());
    let _ = slot.set(Arc::downgrade(&m));
    (m, slot, dropped)
}

fn ok_phase() -> PhaseFn {
    Box::new(|_| true)
}

/// Subscribes a listener that, on its first call, says so on the returned channel, polls
/// `is_running` until another thread stops the monitor, then runs `then`.
fn after_stop_in_a_listener(
    m: &M,
    slot: Arc<OnceLock<Weak<M>>>,
    then: impl Fn(&M) + Send + Sync + 'static,
) -> mpsc::Receiver<()> {
    let (entered, rx) = mpsc::channel();
    let first = AtomicBool::new(true);
    m.subscribe(move |_: &Event| {
        if !first.swap(false, Ordering::SeqCst) {
            return;
        }
        let Some(m) = slot.get().and_then(Weak::upgrade) else {
            return;
        };
        entered.send(()).unwrap();
        while m.is_running() {
            std::thread::yield_now();
        }
        then(&m);
    })
    .unwrap();
    rx
}

/// (a) A listener polls `is_running` until it sees the stop another thread is making. Before
/// the fix `stop` held the thread lock while joining the dispatcher, which was blocked on that
/// lock inside `is_running`: a deadlock.
#[test]
fn is_running_from_a_listener_while_another_thread_stops() {
    within("is_running in a listener during stop", || {
        let (m, slot, _) = monitor(ok_phase());
        let saw_stop = Arc::new(AtomicBool::new(false));
        let s2 = saw_stop.clone();
        let rx = after_stop_in_a_listener(&m, slot, move |_| s2.store(true, Ordering::SeqCst));
        m.start().unwrap();
        m.report(Report::crashed(1)).unwrap();
        rx.recv().unwrap();
        m.stop();
        assert!(
            saw_stop.load(Ordering::SeqCst),
            "stop returned before the listener"
        );
        assert!(!m.is_running());
    });
}

/// (a) The same from a phase (a worker thread): `stop` joins the worker, which polls
/// `is_running`.
#[test]
fn is_running_from_a_phase_while_another_thread_stops() {
    let (entered, rx) = mpsc::channel::<()>();
    let entered = Mutex::new(Some(entered));
    let cell: Arc<OnceLock<Weak<M>>> = Arc::new(OnceLock::new());
    let c2 = cell.clone();
    let phase: PhaseFn = Box::new(move |_| {
        let Some(m) = c2.get().and_then(Weak::upgrade) else {
            return true;
        };
        if let Some(tx) = entered.lock().unwrap().take() {
            tx.send(()).unwrap();
            while m.is_running() {
                std::thread::yield_now();
            }
        }
        true
    });
    within("is_running in a phase during stop", move || {
        let (m, _, _) = monitor(phase);
        let _ = cell.set(Arc::downgrade(&m));
        m.start().unwrap();
        m.report(Report::crashed(2)).unwrap();
        rx.recv().unwrap();
        m.stop();
        assert!(!m.is_running());
    });
}

/// A listener restarts the monitor while another thread stops it: no deadlock (before the fix
/// `start` blocked on the lock `stop` held while joining the listener's thread); the start
/// comes after the stop, so the monitor runs again, on a new run that a later stop joins.
#[test]
fn start_from_a_listener_while_another_thread_stops() {
    within("start in a listener during stop", || {
        let (m, slot, _) = monitor(ok_phase());
        let restarted = Arc::new(AtomicBool::new(false));
        let r2 = restarted.clone();
        let rx = after_stop_in_a_listener(&m, slot, move |m| {
            m.start().unwrap();
            r2.store(true, Ordering::SeqCst);
        });
        m.start().unwrap();
        m.report(Report::crashed(1)).unwrap();
        rx.recv().unwrap();
        m.stop();
        assert!(restarted.load(Ordering::SeqCst));
        assert!(m.is_running(), "the listener's start came after the stop");
        wait_for("recovery on the new run", || {
            m.health(1).unwrap() == (Health::Healthy, 1)
        });
        m.stop();
        assert!(!m.is_running());
    });
}

/// Counts listener calls in progress (at most one may ever be) and records the thread of each.
#[derive(Default)]
struct Calls {
    inside: AtomicU32,
    max_inside: AtomicU32,
    total: AtomicU32,
    threads: Mutex<Vec<std::thread::ThreadId>>,
    kinds: Mutex<Vec<Event>>,
}

/// (b) A listener stops and restarts the monitor, then stays in the call a while. Before the
/// fix the new dispatcher ran beside the old one: the next events were delivered on another
/// thread while this call was still in progress. Now the new run waits for the old
/// dispatcher to leave, delivers everything in order, on one thread, and a stop from outside
/// joins both runs.
#[test]
fn stop_then_start_from_a_listener_never_runs_two_dispatchers() {
    within("stop + start in a listener", || {
        let (m, slot, _) = monitor(ok_phase());
        let calls = Arc::new(Calls::default());
        let (restarted, rx) = mpsc::channel();
        let restarted = Mutex::new(Some(restarted));
        let c2 = calls.clone();
        m.subscribe(move |e: &Event| {
            let now_inside = c2.inside.fetch_add(1, Ordering::SeqCst) + 1;
            c2.max_inside.fetch_max(now_inside, Ordering::SeqCst);
            c2.threads.lock().unwrap().push(std::thread::current().id());
            c2.kinds.lock().unwrap().push(*e);
            let total = c2.total.fetch_add(1, Ordering::SeqCst) + 1;
            if let Some(tx) = restarted.lock().unwrap().take() {
                let m = slot.get().and_then(Weak::upgrade).unwrap();
                m.stop();
                m.start().unwrap();
                tx.send(()).unwrap();
                // Stay a while: a second dispatcher would deliver the next events now.
                let start = std::time::Instant::now();
                while start.elapsed() < Duration::from_millis(300)
                    && c2.total.load(Ordering::SeqCst) == total
                {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            c2.inside.fetch_sub(1, Ordering::SeqCst);
        })
        .unwrap();
        m.start().unwrap();
        m.report(Report::crashed(1)).unwrap();
        rx.recv().unwrap();
        m.report(Report::crashed(3)).unwrap();
        wait_for("both recoveries", || {
            m.health(1).unwrap() == (Health::Healthy, 1)
                && m.health(3).unwrap() == (Health::Healthy, 1)
        });
        wait_for("every event delivered", || {
            let k = calls.kinds.lock().unwrap();
            k.iter()
                .filter(|e| matches!(e, Event::RecoveryFinished(f) if f.success))
                .count()
                == 2
        });
        m.stop();
        assert!(!m.is_running());
        let after_stop = calls.total.load(Ordering::SeqCst);
        assert_eq!(
            calls.inside.load(Ordering::SeqCst),
            0,
            "a listener still runs"
        );
        assert_eq!(
            calls.max_inside.load(Ordering::SeqCst),
            1,
            "listeners ran on two threads at once"
        );
        let threads = calls.threads.lock().unwrap().clone();
        let later: Vec<_> = threads[1..].iter().filter(|t| **t != threads[0]).collect();
        assert_eq!(later.len(), threads.len() - 1, "the old dispatcher went on");
        assert!(
            later.windows(2).all(|w| w[0] == w[1]),
            "two new dispatchers"
        );
        // Events of one partition arrive in the coordinator's order: it fails (a status
        // change) before its recovery finishes.
        for rank in [1, 3] {
            let k = calls.kinds.lock().unwrap();
            let of = |kind| {
                k.iter()
                    .position(|e| e.kind() == kind && e.rank() == Some(rank))
            };
            let (failed, finished) = (
                of(EventKind::StatusChanged),
                of(EventKind::RecoveryFinished),
            );
            assert!(failed < finished, "rank {rank}: {failed:?} {finished:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(calls.total.load(Ordering::SeqCst), after_stop);
    });
}

/// The last reference dropped inside a listener: the dispatcher does not join itself, no
/// further callback starts on it, and the recovery object is dropped once the threads are
/// gone.
#[test]
fn last_drop_from_a_listener() {
    within("last drop in a listener", || {
        let (m, _, dropped) = monitor(ok_phase());
        let holder: Arc<Mutex<Option<Arc<M>>>> = Arc::new(Mutex::new(None));
        let h2 = holder.clone();
        let after = Arc::new(AtomicU32::new(0));
        let a2 = after.clone();
        let gone = Arc::new(AtomicBool::new(false));
        let g2 = gone.clone();
        m.subscribe(move |_: &Event| {
            if g2.load(Ordering::SeqCst) {
                a2.fetch_add(1, Ordering::SeqCst);
            }
            if let Some(last) = h2.lock().unwrap().take() {
                wait_for("the test to let go", || Arc::strong_count(&last) == 1);
                g2.store(true, Ordering::SeqCst);
                drop(last);
            }
        })
        .unwrap();
        m.start().unwrap();
        *holder.lock().unwrap() = Some(m.clone());
        m.report(Report::crashed(0)).unwrap();
        drop(m); // the listener now holds the last reference
        wait_for("the recovery object dropped", || {
            dropped.load(Ordering::SeqCst)
        });
        assert_eq!(
            after.load(Ordering::SeqCst),
            0,
            "a listener ran after the drop"
        );
    });
}

/// A listener closes the monitor (`close_then`): the action runs after the last callback,
/// on a monitor thread; `start` is refused from then on.
#[test]
fn close_from_a_listener_runs_the_action_after_the_last_callback() {
    within("close in a listener", || {
        let (m, slot, _) = monitor(ok_phase());
        let done = Arc::new(AtomicU32::new(0));
        let (d2, first) = (done.clone(), AtomicBool::new(true));
        m.subscribe(move |_: &Event| {
            if first.swap(false, Ordering::SeqCst) {
                let m = slot.get().and_then(Weak::upgrade).unwrap();
                let d3 = d2.clone();
                m.close_then(move || {
                    d3.fetch_add(1, Ordering::SeqCst);
                });
                assert!(m.on_monitor_thread());
                assert!(matches!(m.start(), Err(MonitorError::Closed)));
            }
        })
        .unwrap();
        m.start().unwrap();
        m.report(Report::crashed(0)).unwrap();
        wait_for("close action", || done.load(Ordering::SeqCst) == 1);
        m.stop();
        assert!(!m.on_monitor_thread());
        assert!(matches!(m.start(), Err(MonitorError::Closed)));
        assert_eq!(done.load(Ordering::SeqCst), 1);
    });
}

/// Item 6: a size above `MAX_PARTITIONS` is refused before any allocation (before the fix the
/// storage for 2^32 - 1 partitions was allocated first: the process aborted).
#[test]
fn monitor_and_boxed_coordinator_refuse_too_many_partitions_before_allocating() {
    let rec = Rec {
        phase: ok_phase(),
        dropped: Arc::new(AtomicBool::new(false)),
    };
    let r: Result<M, _> = Monitor::new(
        Config::default(),
        u32::MAX,
        Arc::new(Tracker::new()),
        rec,
        StdClock,
    );
    assert!(matches!(
        r,
        Err(MonitorError::Coordinator(NewError::Table(
            TableError::TooManyPartitions { n: u32::MAX }
        )))
    ));
    let c = BoxedCoordinator::<Tracker>::new_boxed(
        Config::default(),
        MAX_PARTITIONS + 1,
        Tracker::new(),
        Instant::ZERO,
    );
    assert!(matches!(
        c.err(),
        Some(NewError::Table(TableError::TooManyPartitions { .. }))
    ));
}
