//! Deterministic, seeded simulation of the sans-io coordinator.
//!
//! Each seed drives one coordinator (5–40 partitions, random `Config`: K 1..=4, retries
//! 0..=3, short confirmation/backoff/recovery/pause timeouts, both pause-timeout policies,
//! outbox `E` of 256 or the minimum [`MAX_EVENTS_PER_STEP`]) through a few thousand random
//! steps: failure, success and stale reports, ticks with zero/small/large/backward clock
//! moves, forest operations begun and ended on the shared tracker (some long enough for the
//! pause to time out), phase completions with random results, late/duplicate/out-of-order
//! `phase_done` calls and `retry` commands. After every step the invariants of
//! [`Run::check`] hold; at the end failures stop and the run must converge (liveness).
//!
//! Invariants checked after every step: hook actions alternate and follow recovery mode, and
//! nothing stays paused (hooks, gate) without a recovery; a phase is handed out only on a
//! paused forest, with no operation in flight unless the policy is `Proceed`; one recovery
//! per partition, at most K phases outstanding; table counts (and `stats`) equal a scan;
//! every `StatusChanged` is an edge of the crate's transition table, starts where the last
//! one ended, never lowers the incarnation, and the events replay the table exactly; no event
//! dropped; queue depth equals its distinct members, all FAILED; queued partitions that
//! could start always have a `poll_timeout` (nothing stranded); refused `phase_done`,
//! `retry` and stale reports return the expected typed result and change nothing.
//!
//! Checked to catch deliberate breaks: dropping the "freed cancel slot asks for a tick" fix
//! (seed 9: queued partitions stranded with `poll_timeout` `None`), not reopening the gate
//! when recovery mode ends, and accepting reports of a newer incarnation.
//!
//! `FTF_SIM_SEEDS=N` runs seeds `0..N` instead of the fixed 64. A failure prints the seed and
//! the step. Under miri: 2 seeds × 100 steps. Everything is single-threaded and uses a
//! manual millisecond clock; no assertion depends on wall-clock time.

mod common;
mod sim;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::vec::Vec;

use common::ms;
use ftforest_core::coord::{
    Action, BoxedCoordinator, Cause, EscalationReason, Event, PauseTimeoutPolicy, Phase,
    PhaseDoneError, PhaseJob, Report, ReportKind, ReportOutcome, RetryError, Stats,
    MAX_EVENTS_PER_STEP,
};
use ftforest_core::{is_allowed, Counts, Health, OpToken, Tracker};
use sim::{random_config, Coverage, Rng, PHASES};

/// Everything observable that an refused input must leave unchanged.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    health: Vec<(Health, u32)>,
    queued: Vec<bool>,
    stats: Stats,
    timeout: Option<ftforest_core::Instant>,
    in_progress: u32,
    mode: bool,
}

struct Run<'a, const R: usize, const E: usize> {
    cov: &'a mut Coverage,
    seed: u64,
    step: u32,
    rng: Rng,
    c: BoxedCoordinator<Arc<Tracker>, R, E>,
    tracker: Arc<Tracker>,
    n: u32,
    k: usize,
    proceed: bool,
    /// Failures are injected only while quorum is comfortably held.
    gentle: bool,
    now: u64,
    /// Phases handed out and not completed or cancelled.
    jobs: Vec<PhaseJob>,
    /// Phases already completed or cancelled (for late/duplicate calls).
    old_jobs: Vec<PhaseJob>,
    /// Operations in flight: (end time, token).
    ops: Vec<(u64, OpToken)>,
    balancer_paused: bool,
    ghost_paused: bool,
    /// Last state and incarnation seen in events, per partition.
    seen: Vec<(Health, u32)>,
    /// Partitions escalated after their last retry (wait for `retry`).
    exhausted: BTreeSet<u32>,
}

impl<'a, const R: usize, const E: usize> Run<'a, R, E> {
    fn new(cov: &'a mut Coverage, seed: u64, mut rng: Rng) -> Self {
        let n = rng.range(5, 40) as u32;
        let cfg = random_config(&mut rng);
        let tracker = Arc::new(Tracker::new());
        let start = rng.range(0, 1000);
        let gentle = rng.pct(60);
        let c =
            BoxedCoordinator::<Arc<Tracker>, R, E>::new_boxed(cfg, n, tracker.clone(), ms(start))
                .expect("coordinator");
        cov.runs += 1;
        if E == MAX_EVENTS_PER_STEP {
            cov.small_outbox += 1;
        }
        Run {
            cov,
            seed,
            step: 0,
            rng,
            c,
            tracker,
            n,
            k: cfg.max_concurrent() as usize,
            proceed: cfg.pause_timeout_policy() == PauseTimeoutPolicy::Proceed,
            gentle,
            now: start,
            jobs: Vec::new(),
            old_jobs: Vec::new(),
            ops: Vec::new(),
            balancer_paused: false,
            ghost_paused: false,
            seen: vec![(Health::Healthy, 0); n as usize],
            exhausted: BTreeSet::new(),
        }
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "coord_sim seed {} step {} (n {}, R {}, E {}): {what}\nconfig {:?}",
            self.seed,
            self.step,
            self.n,
            R,
            E,
            self.c.config()
        );
    }

    fn ensure(&self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.fail(&what());
        }
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            health: (0..self.n)
                .map(|r| self.c.health(r).expect("rank"))
                .collect(),
            queued: (0..self.n).map(|r| self.c.is_queued(r)).collect(),
            stats: self.c.stats(),
            timeout: self.c.poll_timeout(),
            in_progress: self.c.in_progress(),
            mode: self.c.in_recovery_mode(),
        }
    }

    /// Drain actions and events like the embedder, checking each.
    fn pump(&mut self) {
        while let Some(a) = self.c.poll_action() {
            match a {
                Action::PauseBalancer => {
                    self.ensure(!self.balancer_paused, || "double balancer pause".into());
                    self.balancer_paused = true;
                }
                Action::ResumeBalancer => {
                    self.ensure(self.balancer_paused, || {
                        "balancer resume without pause".into()
                    });
                    self.balancer_paused = false;
                }
                Action::PauseGhostSync => {
                    self.ensure(!self.ghost_paused, || "double ghost pause".into());
                    self.ghost_paused = true;
                }
                Action::ResumeGhostSync => {
                    self.ensure(self.ghost_paused, || "ghost resume without pause".into());
                    self.ghost_paused = false;
                }
                Action::RunPhase(job) => {
                    self.ensure(self.balancer_paused && self.ghost_paused, || {
                        format!("{job:?} handed out on a running forest")
                    });
                    self.ensure(self.tracker.is_paused(), || {
                        format!("{job:?} handed out with the gate open")
                    });
                    self.ensure(self.proceed || self.tracker.in_flight() == 0, || {
                        format!(
                            "{job:?} handed out with {} operations in flight (AbortAndRetry)",
                            self.tracker.in_flight()
                        )
                    });
                    self.cov.phases += 1;
                    if self.tracker.in_flight() > 0 {
                        self.cov.proceed_with_ops += 1;
                    }
                    self.ensure(job.phase.is_runnable(), || format!("{job:?} not runnable"));
                    self.ensure(!self.jobs.iter().any(|j| j.rank == job.rank), || {
                        format!("{job:?}: two recoveries of one partition at once")
                    });
                    self.jobs.push(job);
                    self.ensure(self.jobs.len() <= self.k, || {
                        format!("{} phases outstanding, K = {}", self.jobs.len(), self.k)
                    });
                }
                Action::CancelRecovery(cj) => {
                    self.cov.cancels += 1;
                    if let Some(i) = self.jobs.iter().position(|j| j.attempt == cj.attempt) {
                        let j = self.jobs.remove(i);
                        self.old_jobs.push(j);
                    }
                }
            }
        }
        while let Some(e) = self.c.poll_event() {
            match e {
                Event::StatusChanged(s) => {
                    let Some(&(h, inc)) = self.seen.get(s.rank as usize) else {
                        self.fail(&format!("{s:?}: unknown rank"));
                    };
                    self.ensure(is_allowed(s.from, s.to), || format!("{s:?}: illegal"));
                    self.ensure(s.from == h, || format!("{s:?}: from, but last seen {h:?}"));
                    self.ensure(s.incarnation >= inc, || {
                        format!("{s:?}: incarnation went back from {inc}")
                    });
                    self.seen[s.rank as usize] = (s.to, s.incarnation);
                    match (s.from, s.to, s.cause) {
                        (Health::Recovering, Health::Healthy, _) => self.cov.succeeded += 1,
                        (_, _, Cause::PauseTimedOut) => self.cov.pause_timeouts += 1,
                        (Health::Recovering, Health::Failed, _) => self.cov.failed_attempts += 1,
                        _ => {}
                    }
                    if s.to != Health::Failed {
                        self.exhausted.remove(&s.rank);
                    }
                }
                Event::Escalated(x) if x.reason == EscalationReason::RetriesExhausted => {
                    self.exhausted.insert(x.rank);
                    self.cov.retries_exhausted += 1;
                }
                _ => {}
            }
        }
    }

    /// The invariants that hold after every drained step.
    fn check(&mut self) {
        let st = self.c.stats();
        self.ensure(st.events_dropped == 0, || "event dropped".into());
        self.ensure(self.c.pending_events() == 0, || "outbox not drained".into());
        // Table counts equal a scan, and the events told the truth.
        let mut scan = Counts::default();
        for r in 0..self.n {
            let (h, inc) = self.c.health(r).expect("rank");
            match h {
                Health::Healthy => scan.healthy += 1,
                Health::Suspected => scan.suspected += 1,
                Health::Failed => scan.failed += 1,
                Health::Recovering => scan.recovering += 1,
            }
            let seen = self.seen[r as usize];
            self.ensure(seen == (h, inc), || {
                format!("rank {r}: table {:?}, events said {seen:?}", (h, inc))
            });
        }
        self.ensure(self.c.counts() == scan, || {
            format!("counts {:?} != scan {scan:?}", self.c.counts())
        });
        self.ensure(
            (st.healthy, st.suspected, st.failed, st.recovering)
                == (scan.healthy, scan.suspected, scan.failed, scan.recovering),
            || format!("stats {st:?} != scan {scan:?}"),
        );
        // Queue: no duplicates, only FAILED partitions.
        let queued: Vec<u32> = (0..self.n).filter(|&r| self.c.is_queued(r)).collect();
        self.ensure(queued.len() as u32 == st.queue_depth, || {
            format!(
                "queue depth {} but {} distinct members",
                st.queue_depth,
                queued.len()
            )
        });
        for &r in &queued {
            let h = self.c.health(r).expect("rank").0;
            self.ensure(h == Health::Failed, || format!("queued rank {r} is {h:?}"));
        }
        // Nothing stranded: queued partitions that could start have a tick coming.
        if st.queue_depth > 0 && self.c.has_quorum() && (self.c.in_progress() as usize) < self.k {
            let t = self.c.poll_timeout();
            self.ensure(t.is_some(), || {
                format!(
                    "{} queued, quorum, {} of K = {} in progress, but poll_timeout is None",
                    st.queue_depth,
                    self.c.in_progress(),
                    self.k
                )
            });
        }
        // One recovery per partition, at most K.
        self.ensure(self.c.in_progress() as usize <= self.k, || {
            format!("{} in progress, K = {}", self.c.in_progress(), self.k)
        });
        for j in &self.jobs {
            let h = self.c.health(j.rank).expect("rank").0;
            self.ensure(h == Health::Recovering, || {
                format!("{j:?} outstanding on {h:?}")
            });
            self.ensure(
                self.c.recovery(j.rank).map(|r| r.0) == Some(j.attempt),
                || {
                    format!(
                        "{j:?} outstanding but coordinator runs {:?}",
                        self.c.recovery(j.rank)
                    )
                },
            );
        }
        // Hooks follow recovery mode; nothing stays paused without a recovery.
        let mode = self.c.in_recovery_mode();
        self.ensure(
            self.balancer_paused == mode && self.ghost_paused == mode,
            || {
                format!(
                    "mode {mode}, balancer {}, ghost {}",
                    self.balancer_paused, self.ghost_paused
                )
            },
        );
        if !self.c.has_deferred_work() && self.c.in_progress() == 0 {
            self.ensure(!mode, || "recovery mode without a recovery".into());
            self.ensure(!self.tracker.is_paused(), || {
                "gate closed without a recovery".into()
            });
        }
    }

    fn rank(&mut self) -> u32 {
        self.rng.range(0, u64::from(self.n) - 1) as u32
    }

    fn report(&mut self, r: Report) -> ReportOutcome {
        let out = self.c.handle_report(ms(self.now), r);
        let out = out.unwrap_or_else(|e| self.fail(&format!("{r:?} refused: {e:?}")));
        self.pump();
        out
    }

    fn tick(&mut self) {
        self.c.tick(ms(self.now));
        self.pump();
    }

    /// Finish deferred work (small outbox) the way the documented loop does.
    fn settle_deferred(&mut self) {
        let mut guard = 0;
        while self.c.has_deferred_work() {
            self.cov.deferred += 1;
            guard += 1;
            self.ensure(guard < 10_000, || "deferred work never finishes".into());
            self.tick();
        }
    }

    fn end_ops(&mut self, all: bool) {
        let now = self.now;
        let mut i = 0;
        while i < self.ops.len() {
            if all || self.ops[i].0 <= now {
                let (_, t) = self.ops.swap_remove(i);
                if let Err(e) = self.tracker.end_token(t) {
                    self.fail(&format!("end_token: {e:?}"));
                }
            } else {
                i += 1;
            }
        }
    }

    fn complete(&mut self, idx: usize, ok: bool) {
        let job = self.jobs.remove(idx);
        let r = self
            .c
            .phase_done(ms(self.now), job.rank, job.attempt, job.phase, ok);
        if let Err(e) = r {
            self.fail(&format!("phase_done {job:?} refused: {e:?}"));
        }
        self.old_jobs.push(job);
        self.pump();
    }

    /// A call that must be refused and change nothing.
    fn refused_phase_done(&mut self) {
        let before = self.snapshot();
        let (rank, attempt, phase) = match self.rng.range(0, 3) {
            0 if !self.old_jobs.is_empty() => {
                let i = self.rng.range(0, self.old_jobs.len() as u64 - 1) as usize;
                let j = self.old_jobs[i];
                (j.rank, j.attempt, j.phase)
            }
            1 if !self.jobs.is_empty() => {
                // The right attempt, a wrong phase.
                let i = self.rng.range(0, self.jobs.len() as u64 - 1) as usize;
                let j = self.jobs[i];
                let wrong = PHASES
                    .iter()
                    .copied()
                    .filter(|p| *p != j.phase)
                    .nth(self.rng.range(0, 5) as usize)
                    .expect("phase");
                (j.rank, j.attempt, wrong)
            }
            2 => (self.n + self.rng.range(0, 5) as u32, 1, Phase::Detecting),
            _ => {
                let r = self.rank();
                (r, u32::MAX - self.rng.range(0, 5) as u32, Phase::Detecting)
            }
        };
        // The typed error each case must get (everything handed out was polled, so a running
        // attempt's current phase is always requested).
        let expected = if rank >= self.n {
            PhaseDoneError::UnknownPartition
        } else {
            match self.c.recovery(rank) {
                Some((a, _, running)) if a == attempt => PhaseDoneError::OutOfOrder {
                    expected: running,
                    got: phase,
                },
                _ => PhaseDoneError::StaleAttempt,
            }
        };
        let ok = self.rng.pct(50);
        match self.c.phase_done(ms(self.now), rank, attempt, phase, ok) {
            Ok(()) => self.fail(&format!(
                "late/duplicate phase_done({rank}, {attempt}, {phase:?}) accepted"
            )),
            Err(e) => {
                self.ensure(e == expected, || {
                    format!(
                        "phase_done({rank}, {attempt}, {phase:?}): {e:?}, expected {expected:?}"
                    )
                });
                self.cov.refused_calls += 1;
            }
        }
        let a = self.c.poll_action();
        self.ensure(a.is_none(), || "refused call left an action".into());
        let e = self.c.poll_event();
        self.ensure(e.is_none(), || "refused call left an event".into());
        let after = self.snapshot();
        self.ensure(before == after, || {
            format!("refused phase_done changed state:\n{before:?}\n{after:?}")
        });
    }

    fn retry(&mut self, rank: u32) {
        let before = self.snapshot();
        match self.c.retry(ms(self.now), rank) {
            Ok(()) => {
                self.cov.explicit_retries += 1;
                let was = self.exhausted.remove(&rank);
                self.ensure(was, || {
                    format!("retry({rank}) accepted on a partition that was not escalated")
                });
                self.pump();
            }
            Err(RetryError::OutboxFull) => self.fail("OutboxFull on a drained outbox"),
            Err(e) => {
                self.ensure(!self.exhausted.contains(&rank), || {
                    format!("retry({rank}) of an escalated partition refused: {e:?}")
                });
                let after = self.snapshot();
                self.ensure(before == after, || {
                    format!("refused retry changed state: {e:?}")
                });
            }
        }
    }

    fn stale_report(&mut self) {
        let rank = self.rank();
        let (_, inc) = self.c.health(rank).expect("rank");
        let old = if inc > 0 && self.rng.pct(80) {
            inc - 1 - (self.rng.range(0, u64::from(inc) - 1) as u32)
        } else {
            inc + 1 + self.rng.range(0, 3) as u32
        };
        let kind = ReportKind::ALL[self.rng.range(0, ReportKind::ALL.len() as u64 - 1) as usize];
        let before = self.snapshot();
        let out = self.report(Report::with_incarnation(kind, rank, old));
        self.ensure(out == ReportOutcome::Stale, || {
            format!("report of incarnation {old} (current {inc}) was {out:?}")
        });
        self.cov.stale_reports += 1;
        let after = self.snapshot();
        self.ensure(
            before.health == after.health && before.queued == after.queued,
            || "stale report changed state".into(),
        );
    }

    fn random_step(&mut self) {
        let roll = self.rng.range(0, 99);
        match roll {
            0..=11 => {
                // Gentle runs never take quorum away (so liveness is checked with quorum).
                let c = self.c.counts();
                if self.gentle && c.healthy <= self.n / 2 + 2 {
                    return;
                }
                let r = self.rank();
                let kind = match self.rng.range(0, 9) {
                    0 => ReportKind::Crashed,
                    1..=4 => ReportKind::BarrierTimeout,
                    5..=7 => ReportKind::GhostSyncFailure,
                    _ => ReportKind::HeartbeatMissed,
                };
                let r = if self.rng.pct(30) {
                    let inc = self.c.health(r).expect("rank").1;
                    Report::with_incarnation(kind, r, inc)
                } else {
                    Report::new(kind, r)
                };
                self.report(r);
            }
            12..=21 => {
                let r = self.rank();
                let kind = match self.rng.range(0, 3) {
                    0 => ReportKind::BarrierPassed,
                    1 => ReportKind::GhostSyncSuccess,
                    2 => ReportKind::HeartbeatReceived,
                    _ => ReportKind::Healthy,
                };
                self.report(Report::new(kind, r));
            }
            22..=24 => self.stale_report(),
            25..=44 => {
                self.now = match self.rng.range(0, 9) {
                    0 => self.now,
                    1 => {
                        self.cov.backward_ticks += 1;
                        self.now.saturating_sub(self.rng.range(1, 500))
                    }
                    2 => self.now + self.rng.range(1_000, 60_000),
                    _ => self.now + self.rng.range(1, 60),
                };
                self.tick();
            }
            45..=49 => {
                // Follow the coordinator's own timeout, as the documented loop does.
                if let Some(t) = self.c.poll_timeout() {
                    let t = t.as_millis();
                    if t <= self.now + 10_000 {
                        self.now = self.now.max(t);
                    }
                }
                self.tick();
            }
            50..=59 => {
                if let Ok(t) = self.tracker.begin_token() {
                    let len = if self.rng.pct(20) {
                        self.rng.range(200, 5_000)
                    } else {
                        self.rng.range(0, 30)
                    };
                    self.ops.push((self.now + len, t));
                }
            }
            60..=62 => {
                if !self.ops.is_empty() {
                    let i = self.rng.range(0, self.ops.len() as u64 - 1) as usize;
                    let (_, t) = self.ops.swap_remove(i);
                    if let Err(e) = self.tracker.end_token(t) {
                        self.fail(&format!("end_token: {e:?}"));
                    }
                }
            }
            63..=84 => {
                if !self.jobs.is_empty() {
                    let i = self.rng.range(0, self.jobs.len() as u64 - 1) as usize;
                    let ok = self.rng.pct(75);
                    self.complete(i, ok);
                }
            }
            85..=91 => self.refused_phase_done(),
            _ => {
                let r = if !self.exhausted.is_empty() && self.rng.pct(60) {
                    let i = self.rng.range(0, self.exhausted.len() as u64 - 1) as usize;
                    *self.exhausted.iter().nth(i).expect("member")
                } else {
                    self.rank()
                };
                self.retry(r);
            }
        }
        self.end_ops(false);
        if self.rng.pct(70) {
            self.settle_deferred();
        }
    }

    /// Stop failures, end every operation, let phases succeed and time pass.
    fn converge(&mut self) {
        self.end_ops(true);
        for round in 0..2_000u32 {
            self.step += 1;
            self.settle_deferred();
            for r in 0..self.n {
                if self.c.health(r).expect("rank").0 == Health::Suspected {
                    self.report(Report::healthy(r));
                }
            }
            let exhausted: Vec<u32> = self.exhausted.iter().copied().collect();
            for r in exhausted {
                self.retry(r);
            }
            // Every handed-out phase succeeds at once, before time moves on.
            loop {
                self.settle_deferred();
                if self.jobs.is_empty() {
                    break;
                }
                while !self.jobs.is_empty() {
                    self.complete(0, true);
                }
            }
            self.check();
            let c = self.c.counts();
            if c.healthy == self.n {
                self.cov.all_healthy_endings += 1;
                return;
            }
            let stuck = c.recovering == 0 && self.jobs.is_empty() && !self.c.has_quorum();
            if stuck && round > 10 {
                // Quorum cannot return: every FAILED partition waits in the queue.
                for r in 0..self.n {
                    let h = self.c.health(r).expect("rank").0;
                    self.ensure(
                        h == Health::Healthy || (h == Health::Failed && self.c.is_queued(r)),
                        || {
                            format!(
                                "no quorum: rank {r} is {h:?}, queued {}",
                                self.c.is_queued(r)
                            )
                        },
                    );
                }
                self.cov.quorum_lost_endings += 1;
                return;
            }
            // Sleep until `poll_timeout`, as the documented loop does: with work left and
            // quorum present, "nothing to wait for" would strand it.
            let Some(t) = self.c.poll_timeout() else {
                if stuck {
                    continue;
                }
                self.fail(&format!(
                    "liveness: {:?} left but poll_timeout is None",
                    self.c.counts()
                ));
            };
            self.now = self.now.max(t.as_millis());
            self.tick();
        }
        let rec: Vec<_> = (0..self.n)
            .filter(|&r| self.c.health(r).expect("rank").0 != Health::Healthy)
            .map(|r| (r, self.c.health(r), self.c.recovery(r), self.c.is_queued(r)))
            .collect();
        self.fail(&format!(
            "no convergence: {:?}\n{rec:?}\nmode {} in_progress {} paused {} in_flight {} ops {} jobs {:?} timeout {:?} now {} deferred {}",
            self.c.counts(),
            self.c.in_recovery_mode(),
            self.c.in_progress(),
            self.tracker.is_paused(),
            self.tracker.in_flight(),
            self.ops.len(),
            self.jobs,
            self.c.poll_timeout(),
            self.now,
            self.c.has_deferred_work()
        ));
    }

    fn run(mut self, steps: u32) {
        self.check();
        for s in 0..steps {
            self.step = s;
            self.random_step();
            self.check();
        }
        self.converge();
        if self.c.has_quorum() {
            self.ensure(self.c.counts().healthy == self.n, || {
                "quorum but not all HEALTHY".into()
            });
        }
    }
}

fn run_seed(cov: &mut Coverage, seed: u64, steps: u32) {
    let mut rng = Rng::new(seed);
    // R = 4 (K <= 4) makes recovery slots scarce: a cancelled attempt holds one until its
    // cancel is polled.
    match rng.range(0, 3) {
        0 => Run::<8, MAX_EVENTS_PER_STEP>::new(cov, seed, rng).run(steps),
        1 => Run::<4, MAX_EVENTS_PER_STEP>::new(cov, seed, rng).run(steps),
        2 => Run::<4, 256>::new(cov, seed, rng).run(steps),
        _ => Run::<8, 256>::new(cov, seed, rng).run(steps),
    }
}

#[test]
fn seeded_simulation() {
    let (seeds, steps) = if cfg!(miri) {
        (2, 100)
    } else {
        let n = std::env::var("FTF_SIM_SEEDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(64u64);
        (n, 2_000)
    };
    // Two shards on two threads (the machine has 2 cores); each seed's run is still
    // single-threaded and deterministic.
    let shards: u64 = if cfg!(miri) { 1 } else { 2 };
    let mut cov = Coverage::default();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..shards)
            .map(|shard| {
                scope.spawn(move || {
                    let mut cov = Coverage::default();
                    for seed in (shard..seeds).step_by(shards as usize) {
                        run_seed(&mut cov, seed, steps);
                    }
                    cov
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(c) => cov.merge(&c),
                Err(e) => std::panic::resume_unwind(e),
            }
        }
    });
    std::println!("{cov:#?}");
    if cfg!(miri) {
        return;
    }
    // The fixed seeds exercise every path the simulation is about.
    let c = &cov;
    for (name, v) in [
        ("small outbox runs", c.small_outbox),
        ("recoveries succeeded", c.succeeded),
        ("attempts failed", c.failed_attempts),
        ("retries exhausted", c.retries_exhausted),
        ("explicit retries", c.explicit_retries),
        ("pause timeouts (AbortAndRetry)", c.pause_timeouts),
        ("cancels", c.cancels),
        (
            "phases run with operations in flight (Proceed)",
            c.proceed_with_ops,
        ),
        ("refused phase_done calls", c.refused_calls),
        ("stale reports", c.stale_reports),
        ("deferred work", c.deferred),
        ("backward ticks", c.backward_ticks),
        ("runs ending without quorum", c.quorum_lost_endings),
        ("runs ending all HEALTHY", c.all_healthy_endings),
    ] {
        assert!(v > 0, "the simulation never exercised: {name}");
    }
}
