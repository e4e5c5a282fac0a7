//! A forest of 5 partitions embedded from Rust with the std `Monitor`.
//!
//! Worker threads run forest operations through the shared tracker; partition 3 stops
//! answering its barrier; the monitor detects it (two consecutive barrier timeouts →
//! SUSPECTED, confirmation → FAILED), decides with the quorum (4/5 healthy: recover now),
//! pauses the forest (no operation runs during the recovery), runs the four phases on its
//! worker threads, resumes, and the example prints the events and statistics.
//!
//! Run: `cargo run --release -p ftforest-core --example forest`. Exits non-zero if an
//! invariant broke (an operation ran during the pause, or the partition stayed unhealthy).

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use core::time::Duration;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;

use ftforest_core::coord::{Config, Event, Monitor, PhaseJob, Recovery, Report};
use ftforest_core::{Health, StdClock, Tracker};

const PARTITIONS: u32 = 5;
const FAILING: u32 = 3;

/// The embedder's side: the recovery phases and the balancer/ghost-sync hooks.
struct Forest {
    tracker: Arc<Tracker>,
    /// Set while recovery mode holds the forest paused (between the hooks).
    paused: AtomicBool,
    /// Operations that completed while `paused` was set: must stay 0.
    ops_during_pause: AtomicU64,
}

impl Forest {
    fn phase(&self, name: &str, job: &PhaseJob) -> bool {
        // The forest is quiescent here: the tracker is paused and nothing is in flight.
        let quiet = self.tracker.is_paused() && self.tracker.in_flight() == 0;
        println!(
            "  phase {name:<15} partition {} attempt {} (forest quiescent: {quiet})",
            job.rank, job.attempt
        );
        thread::sleep(Duration::from_millis(5));
        true
    }
}

impl Recovery for Forest {
    fn detecting(&self, job: &PhaseJob) -> bool {
        self.phase("DETECTING", job)
    }
    fn redistributing(&self, job: &PhaseJob) -> bool {
        self.phase("REDISTRIBUTING", job)
    }
    fn rebalancing(&self, job: &PhaseJob) -> bool {
        self.phase("REBALANCING", job)
    }
    fn validating(&self, job: &PhaseJob) -> bool {
        self.phase("VALIDATING", job)
    }
    fn pause_balancer(&self) {
        self.paused.store(true, Ordering::SeqCst);
        println!("  balancer paused");
    }
    fn resume_balancer(&self) {
        self.paused.store(false, Ordering::SeqCst);
        println!("  balancer resumed");
    }
    fn pause_ghost_sync(&self) {
        println!("  ghost sync paused");
    }
    fn resume_ghost_sync(&self) {
        println!("  ghost sync resumed");
    }
}

fn main() -> ExitCode {
    let tracker = Arc::new(Tracker::new());
    let config = match Config::builder()
        .failure_confirmation(Duration::from_millis(100))
        .pause_timeout(Duration::from_millis(500))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("config: {e}");
            return ExitCode::FAILURE;
        }
    };
    let forest = Forest {
        tracker: tracker.clone(),
        paused: AtomicBool::new(false),
        ops_during_pause: AtomicU64::new(0),
    };
    let monitor = match Monitor::new(config, PARTITIONS, tracker.clone(), forest, StdClock) {
        Ok(m) => Arc::new(m),
        Err(e) => {
            eprintln!("monitor: {e}");
            return ExitCode::FAILURE;
        }
    };
    let _listener = monitor.subscribe(|e: &Event| match e {
        Event::StatusChanged(s) => println!(
            "event: partition {} {:?} -> {:?} (incarnation {}, cause {:?})",
            s.rank, s.from, s.to, s.incarnation, s.cause
        ),
        Event::RecoveryFinished(f) => println!(
            "event: partition {} recovery finished: success={} attempts={} latency={:?}",
            f.rank, f.success, f.attempts, f.latency
        ),
        Event::PhaseChanged(_) => {}
        other => println!("event: {other:?}"),
    });
    if let Err(e) = monitor.start() {
        eprintln!("start: {e}");
        return ExitCode::FAILURE;
    }

    // Forest workers: operations through the tracker; rejected (Paused) while recovering.
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let rejected = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (tracker, stop, done, rejected, monitor) = (
                tracker.clone(),
                stop.clone(),
                done.clone(),
                rejected.clone(),
                monitor.clone(),
            );
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match tracker.begin() {
                        Ok(op) => {
                            let during = monitor.recovery().paused.load(Ordering::SeqCst);
                            thread::sleep(Duration::from_micros(200));
                            if during {
                                monitor
                                    .recovery()
                                    .ops_during_pause
                                    .fetch_add(1, Ordering::SeqCst);
                            }
                            drop(op);
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {
                            rejected.fetch_add(1, Ordering::Relaxed);
                            thread::sleep(Duration::from_millis(1));
                        }
                    }
                }
            })
        })
        .collect();

    // The barrier rounds: partition 3 times out twice, the others pass.
    for round in 0..2 {
        thread::sleep(Duration::from_millis(20));
        for rank in 0..PARTITIONS {
            let report = if rank == FAILING {
                Report::barrier_timeout(rank)
            } else {
                Report::barrier_passed(rank)
            };
            if let Err(e) = monitor.report(report) {
                eprintln!("report: {e}");
            }
        }
        println!("barrier round {round}: partition {FAILING} timed out");
    }

    // Wait (bounded) for the monitor to confirm, recover and resume.
    let mut healthy = false;
    for _ in 0..400 {
        thread::sleep(Duration::from_millis(5));
        let h = monitor.health(FAILING).map(|(h, _)| h);
        if h == Ok(Health::Healthy) && monitor.stats().recoveries_succeeded > 0 {
            healthy = true;
            break;
        }
    }
    thread::sleep(Duration::from_millis(20));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    monitor.stop();

    let stats = monitor.stats();
    let during = monitor.recovery().ops_during_pause.load(Ordering::SeqCst);
    println!(
        "\noperations: {} done, {} rejected while paused",
        done.load(Ordering::Relaxed),
        rejected.load(Ordering::Relaxed)
    );
    println!("health level: {:?}", monitor.level());
    println!("stats: {stats:#?}");
    if !healthy || during != 0 {
        eprintln!("INVARIANT BROKEN: healthy={healthy}, operations during pause={during}");
        return ExitCode::FAILURE;
    }
    println!("ok: partition {FAILING} recovered, no operation ran during the pause");
    ExitCode::SUCCESS
}
