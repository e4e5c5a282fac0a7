#![cfg(ftforest_loom)]
//! Loom models of the coordinator's concurrent parts:
//!
//! * the counted recovery mode: whoever is inside sees the forest paused, pause and resume
//!   side effects alternate and never overlap, every episode resumes;
//! * the scheduler (recovery lock + recovery queue): with admitters and releasers racing,
//!   every admitted partition is started exactly once and nothing stays queued;
//! * the coordinator against the operation gate: a phase is handed out only when no
//!   operation is in flight, while a forest thread begins and ends operations.

use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use core::time::Duration;

use ftforest_core::coord::{
    Action, Config, Coordinator, Enter, Exit, ModeError, PartitionSlot, Promote, RecoveryMode,
    Report, Scheduler, Storage,
};
use ftforest_core::{
    queue_storage_len, HealthCell, Instant, LockSlot, QueueSlot, RecoveryLock, RecoveryQueue,
    SpinWait, Tracker,
};
use loom::sync::atomic::{AtomicBool, AtomicU32};
use loom::sync::Arc;
use loom::thread;

fn model(name: &str, f: impl Fn() + Sync + Send + 'static) {
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let start = std::time::Instant::now();
    loom::model(move || {
        counter.fetch_add(1, Relaxed);
        f();
    });
    eprintln!(
        "{name}: {} interleavings in {:?}",
        runs.load(Relaxed),
        start.elapsed()
    );
}

/// The "forest" the mode pauses: a flag written with Relaxed stores, so only the mode's own
/// orderings can make a joiner see it set.
struct Forest {
    paused: AtomicBool,
    pauses: AtomicU32,
    resumes: AtomicU32,
}

fn enter(mode: &RecoveryMode, f: &Forest) {
    loop {
        match mode.try_enter() {
            Ok(Enter::First) => {
                assert!(!f.paused.load(Relaxed), "pause while paused");
                f.paused.store(true, Relaxed);
                f.pauses.fetch_add(1, Relaxed);
                mode.finish_enter().unwrap();
                return;
            }
            Ok(Enter::Joined) => return,
            Err(ModeError::Busy) => thread::yield_now(),
            Err(e) => panic!("{e:?}"),
        }
    }
}

fn exit(mode: &RecoveryMode, f: &Forest) {
    loop {
        match mode.try_exit() {
            Ok(Exit::Last) => {
                assert!(f.paused.load(Relaxed), "resume while resumed");
                f.paused.store(false, Relaxed);
                f.resumes.fetch_add(1, Relaxed);
                mode.finish_exit().unwrap();
                return;
            }
            Ok(Exit::Left) => return,
            Err(ModeError::Busy) => thread::yield_now(),
            Err(e) => panic!("{e:?}"),
        }
    }
}

/// Two recoveries enter and leave the mode concurrently, the second one twice.
#[test]
fn recovery_mode_count() {
    model("recovery_mode_count", || {
        let mode = Arc::new(RecoveryMode::new());
        let forest = Arc::new(Forest {
            paused: AtomicBool::new(false),
            pauses: AtomicU32::new(0),
            resumes: AtomicU32::new(0),
        });
        let t = {
            let (mode, forest) = (mode.clone(), forest.clone());
            thread::spawn(move || {
                enter(&mode, &forest);
                assert!(
                    forest.paused.load(Relaxed),
                    "inside recovery mode on a running forest"
                );
                exit(&mode, &forest);
            })
        };
        for _ in 0..2 {
            enter(&mode, &forest);
            assert!(
                forest.paused.load(Relaxed),
                "inside recovery mode on a running forest"
            );
            exit(&mode, &forest);
        }
        t.join().unwrap();
        assert_eq!(mode.count(), 0);
        assert!(!mode.is_active());
        assert!(!forest.paused.load(Relaxed));
        assert_eq!(forest.pauses.load(Relaxed), forest.resumes.load(Relaxed));
    });
}

/// A first enterer that gives up (pause timeout) races a second enterer.
#[test]
fn recovery_mode_abort() {
    model("recovery_mode_abort", || {
        let mode = Arc::new(RecoveryMode::new());
        let forest = Arc::new(Forest {
            paused: AtomicBool::new(false),
            pauses: AtomicU32::new(0),
            resumes: AtomicU32::new(0),
        });
        let t = {
            let (mode, forest) = (mode.clone(), forest.clone());
            thread::spawn(move || {
                enter(&mode, &forest);
                assert!(forest.paused.load(Relaxed));
                exit(&mode, &forest);
            })
        };
        loop {
            match mode.try_enter() {
                Ok(Enter::First) => {
                    forest.paused.store(true, Relaxed);
                    // Quiescence never came: undo and give up.
                    forest.paused.store(false, Relaxed);
                    mode.abort_enter().unwrap();
                    break;
                }
                Ok(Enter::Joined) => {
                    assert!(forest.paused.load(Relaxed));
                    exit(&mode, &forest);
                    break;
                }
                Err(ModeError::Busy) => thread::yield_now(),
                Err(e) => panic!("{e:?}"),
            }
        }
        t.join().unwrap();
        assert_eq!(mode.count(), 0);
        assert!(!forest.paused.load(Relaxed));
    });
}

type Sched = Scheduler<[LockSlot; 3], [QueueSlot; queue_storage_len(3, 3)]>;

fn scheduler(k: u32) -> Sched {
    let lock =
        RecoveryLock::new([LockSlot::new(), LockSlot::new(), LockSlot::new()], 3, k).unwrap();
    let queue = RecoveryQueue::new(core::array::from_fn(|_| QueueSlot::new()), 3).unwrap();
    Scheduler::new(lock, queue)
}

/// The protocol: after admit and after every release, promote until Empty or Blocked.
fn drain(s: &Sched, started: &[AtomicU32; 3]) {
    loop {
        match s.promote(true) {
            Promote::Started(t) => {
                started[t.rank as usize].fetch_add(1, Relaxed);
                s.release(t).unwrap();
            }
            Promote::Empty | Promote::Blocked(_) => return,
        }
    }
}

/// Lock + queue: two admitters/recoverers and K = 1; nothing stranded, nothing doubled.
#[test]
fn scheduler_no_stranding() {
    model("scheduler_no_stranding", || {
        let s = Arc::new(scheduler(1));
        let started = Arc::new([AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0)]);
        let t = {
            let (s, started) = (s.clone(), started.clone());
            thread::spawn(move || {
                s.admit(1).unwrap();
                drain(&s, &started);
            })
        };
        s.admit(0).unwrap();
        drain(&s, &started);
        t.join().unwrap();
        assert!(s.queue().is_empty(), "a queued partition was stranded");
        assert_eq!(s.lock().active(), 0);
        assert_eq!(started[0].load(Relaxed), 1);
        assert_eq!(started[1].load(Relaxed), 1);
    });
}

/// Two promoters race for the same queued head (K = 2): it starts exactly once.
#[test]
fn scheduler_racing_promoters() {
    model("scheduler_racing_promoters", || {
        let s = Arc::new(scheduler(2));
        let started = Arc::new([AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0)]);
        s.admit(2).unwrap();
        s.admit(0).unwrap();
        let t = {
            let (s, started) = (s.clone(), started.clone());
            thread::spawn(move || drain(&s, &started))
        };
        drain(&s, &started);
        t.join().unwrap();
        assert!(s.queue().is_empty());
        assert_eq!((started[0].load(Relaxed), started[2].load(Relaxed)), (1, 1));
    });
}

type Coord<'a> = Coordinator<
    [HealthCell; 3],
    [LockSlot; 3],
    [QueueSlot; queue_storage_len(3, 3)],
    &'a mut [PartitionSlot],
    &'a Tracker<SpinWait, 1>,
    2,
    16,
>;

/// The coordinator hands out a phase only when no forest operation is in flight, while a
/// forest thread begins and ends an operation concurrently.
#[test]
fn coordinator_phase_only_when_quiescent() {
    model("coordinator_phase_only_when_quiescent", || {
        let tracker: Arc<Tracker<SpinWait, 1>> = Arc::new(Tracker::new());
        let inside = Arc::new(AtomicBool::new(false));
        let forest = {
            let inside = inside.clone();
            let tracker = tracker.clone();
            thread::spawn(move || {
                if let Ok(op) = tracker.begin() {
                    inside.store(true, Relaxed);
                    inside.store(false, Relaxed);
                    drop(op);
                }
            })
        };
        let cfg = Config::builder()
            .max_concurrent(1)
            .pause_timeout(Duration::from_secs(3600))
            .build()
            .unwrap();
        let mut slots = [PartitionSlot::new(); 3];
        let storage = Storage {
            cells: core::array::from_fn(|_| HealthCell::new()),
            locks: core::array::from_fn(|_| LockSlot::new()),
            queue: core::array::from_fn(|_| QueueSlot::new()),
            slots: &mut slots[..],
        };
        let mut c: Coord<'_> =
            Coordinator::new(cfg, storage, 3, &*tracker, Instant::from_millis(1)).unwrap();
        c.handle_report(Instant::from_millis(1), Report::crashed(0))
            .unwrap();
        let mut t = 1;
        'outer: loop {
            while let Some(a) = c.poll_action() {
                if let Action::RunPhase(_) = a {
                    assert!(
                        !inside.load(Relaxed),
                        "phase handed out with an operation in flight"
                    );
                    break 'outer;
                }
            }
            t += 1;
            thread::yield_now();
            c.tick(Instant::from_millis(t));
        }
        forest.join().unwrap();
    });
}
