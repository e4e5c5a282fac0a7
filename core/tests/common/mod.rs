//! A deterministic discrete-event harness around the sans-io coordinator.
//!
//! Time is a manual millisecond clock. The harness plays the embedder: it drains actions
//! after every input, tracks the balancer/ghost-sync hooks, runs each handed-out phase for
//! `phase_ms` of simulated time and reports it with the result chosen by `plan`, and honours
//! cancels. It checks two invariants on every action: a phase is only handed out while the
//! hooks are paused and the tracker is paused, and hook actions alternate (no resume without
//! a pause). No test asserts on wall-clock time.
#![allow(dead_code)]

use core::time::Duration;
use std::sync::Arc;
use std::vec::Vec;

use ftforest_core::coord::{
    Action, BoxedCoordinator, CancelJob, Config, Event, EventKind, Finished, Phase, PhaseJob,
    Report, ReportOutcome,
};
use ftforest_core::{Health, Instant, Tracker};

pub type Coord = BoxedCoordinator<Arc<Tracker>>;

pub fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

/// Polls `cond` every millisecond; panics naming `what` after 60 s (only a hang gets there:
/// the tests' watchdog, never a timing assertion).
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "hung waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Decides a phase's result: `(job) -> ok`.
pub type Plan = Box<dyn FnMut(&PhaseJob) -> bool>;

pub struct Sim {
    pub c: Coord,
    pub tracker: Arc<Tracker>,
    pub now: Instant,
    pub events: Vec<Event>,
    pub actions: Vec<(Instant, Action)>,
    /// Outstanding phase jobs: (due, job).
    pub jobs: Vec<(Instant, PhaseJob)>,
    pub cancelled: Vec<CancelJob>,
    pub phase_ms: u64,
    pub plan: Plan,
    /// Run handed-out phases automatically.
    pub auto: bool,
    pub balancer_paused: bool,
    pub ghost_paused: bool,
    /// Most phases running at once (different partitions).
    pub max_parallel: usize,
}

impl Sim {
    pub fn new(n: u32, cfg: Config) -> Sim {
        Sim::new_at(n, cfg, 0)
    }

    pub fn new_at(n: u32, cfg: Config, start_ms: u64) -> Sim {
        let tracker = Arc::new(Tracker::new());
        let c = Coord::new_boxed(cfg, n, tracker.clone(), ms(start_ms)).expect("coordinator");
        Sim {
            c,
            tracker,
            now: ms(start_ms),
            events: Vec::new(),
            actions: Vec::new(),
            jobs: Vec::new(),
            cancelled: Vec::new(),
            phase_ms: 10,
            plan: Box::new(|_| true),
            auto: true,
            balancer_paused: false,
            ghost_paused: false,
            max_parallel: 0,
        }
    }

    /// Drain actions and events, acting on actions like an embedder would.
    pub fn pump(&mut self) {
        while let Some(a) = self.c.poll_action() {
            self.actions.push((self.now, a));
            match a {
                Action::PauseBalancer => {
                    assert!(!self.balancer_paused, "double pause");
                    self.balancer_paused = true;
                }
                Action::ResumeBalancer => {
                    assert!(self.balancer_paused, "resume without pause");
                    self.balancer_paused = false;
                }
                Action::PauseGhostSync => {
                    assert!(!self.ghost_paused, "double pause");
                    self.ghost_paused = true;
                }
                Action::ResumeGhostSync => {
                    assert!(self.ghost_paused, "resume without pause");
                    self.ghost_paused = false;
                }
                Action::RunPhase(job) => {
                    assert!(
                        self.balancer_paused && self.ghost_paused,
                        "phase handed out on a running forest"
                    );
                    assert!(
                        self.tracker.is_paused(),
                        "phase handed out with the gate open"
                    );
                    assert!(job.phase.is_runnable());
                    self.jobs.push((
                        self.now
                            .saturating_add(Duration::from_millis(self.phase_ms)),
                        job,
                    ));
                    let parallel = self.jobs.len();
                    self.max_parallel = self.max_parallel.max(parallel);
                }
                Action::CancelRecovery(cj) => {
                    self.jobs.retain(|(_, j)| j.attempt != cj.attempt);
                    self.cancelled.push(cj);
                }
                // Fenced configurations only (recorded in `actions`; coord_fence.rs answers them).
                Action::AcquireFence(_) | Action::ReleaseFence(_) => {}
            }
        }
        while let Some(e) = self.c.poll_event() {
            self.events.push(e);
        }
    }

    pub fn report(&mut self, at_ms: u64, r: Report) -> ReportOutcome {
        self.run_until(ms(at_ms));
        let out = self.c.handle_report(self.now, r).expect("report");
        self.pump();
        out
    }

    pub fn tick(&mut self, at_ms: u64) {
        self.run_until(ms(at_ms));
        self.c.tick(self.now);
        self.pump();
    }

    /// Jump the clock to `at_ms` and tick once (no intermediate deadlines are visited).
    pub fn jump(&mut self, at_ms: u64) {
        self.now = ms(at_ms);
        self.c.tick(self.now);
        self.pump();
    }

    /// Complete one outstanding job now (manual mode).
    pub fn complete(&mut self, rank: u32, ok: bool) -> PhaseJob {
        let i = self
            .jobs
            .iter()
            .position(|(_, j)| j.rank == rank)
            .expect("no job for rank");
        let (_, job) = self.jobs.remove(i);
        self.c
            .phase_done(self.now, job.rank, job.attempt, job.phase, ok)
            .expect("phase_done");
        self.pump();
        job
    }

    /// Process every job completion and timeout up to `t` in time order, then set the clock.
    pub fn run_until(&mut self, t: Instant) {
        loop {
            let next_job = if self.auto {
                self.jobs.iter().map(|(d, _)| *d).min()
            } else {
                None
            };
            let next_timeout = self.c.poll_timeout();
            let next = match (next_job, next_timeout) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(x) => x,
                    None => break,
                },
            };
            if next > t {
                break;
            }
            if next > self.now {
                self.now = next;
            }
            if next_job == Some(next) {
                let i = self.jobs.iter().position(|(d, _)| *d == next).expect("job");
                let (_, job) = self.jobs.remove(i);
                let ok = (self.plan)(&job);
                self.c
                    .phase_done(self.now, job.rank, job.attempt, job.phase, ok)
                    .expect("phase_done");
            } else {
                self.c.tick(self.now);
            }
            self.pump();
        }
        if t > self.now {
            self.now = t;
        }
    }

    /// Run until nothing is pending on time any more (or `limit_ms`).
    pub fn settle(&mut self, limit_ms: u64) {
        self.run_until(ms(limit_ms));
        self.c.tick(self.now);
        self.pump();
    }

    pub fn health(&self, rank: u32) -> Health {
        self.c.health(rank).expect("rank").0
    }

    pub fn kinds(&self) -> Vec<EventKind> {
        self.events.iter().map(Event::kind).collect()
    }

    /// Status changes of `rank`: (from, to).
    pub fn transitions(&self, rank: u32) -> Vec<(Health, Health)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::StatusChanged(s) if s.rank == rank => Some((s.from, s.to)),
                _ => None,
            })
            .collect()
    }

    /// Phases `rank` entered, in order.
    pub fn phases(&self, rank: u32) -> Vec<Phase> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::PhaseChanged(p) if p.rank == rank => Some(p.to),
                _ => None,
            })
            .collect()
    }

    /// Time of the first status change of `rank` to `to`.
    pub fn first(&self, rank: u32, to: Health) -> Option<Instant> {
        self.events.iter().find_map(|e| match e {
            Event::StatusChanged(s) if s.rank == rank && s.to == to => Some(s.time),
            _ => None,
        })
    }

    /// Every `RecoveryFinished` event so far, in order.
    pub fn finished(&self) -> Vec<Finished> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::RecoveryFinished(f) => Some(*f),
                _ => None,
            })
            .collect()
    }

    pub fn count(&self, k: EventKind) -> usize {
        self.events.iter().filter(|e| e.kind() == k).count()
    }

    /// Two barrier timeouts at `t` and `t + 50` (the digest's scripts).
    pub fn suspect(&mut self, rank: u32, t: u64) {
        self.report(t, Report::barrier_timeout(rank));
        self.report(t + 50, Report::barrier_timeout(rank));
    }
}

pub const FULL: [Phase; 5] = [
    Phase::Detecting,
    Phase::Redistributing,
    Phase::Rebalancing,
    Phase::Validating,
    Phase::Complete,
];

/// The digest's E2E configuration: confirmation 1000 ms, 3 retries, 30 s recovery timeout,
/// K = 3.
pub fn e2e_config() -> Config {
    Config::builder()
        .failure_confirmation(Duration::from_millis(1000))
        .max_retries(3)
        .recovery_timeout(Duration::from_secs(30))
        .max_concurrent(3)
        .build()
        .expect("config")
}
