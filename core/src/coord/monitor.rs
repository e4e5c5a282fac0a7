//! The std monitor (feature `std`): runs a [`Coordinator`] on threads for you.
//!
//! # Threads
//!
//! * one **dispatcher**: loops "lock the coordinator, `tick(clock.now())` if `poll_timeout`
//!   is due, drain actions and events, unlock; deliver events to listeners; carry out actions; sleep until
//!   `poll_timeout` (at most [`MAX_SLEEP`]) or until woken". It is the only thread that calls
//!   listeners and hooks, so they see events and actions in the coordinator's order;
//! * `max_concurrent` **workers**: each takes a [`PhaseJob`] from a shared queue, calls the
//!   matching [`Recovery`] method, then locks the coordinator just long enough for
//!   `phase_done` and wakes the dispatcher. Phases of different partitions run in parallel.
//!   For an attempt abandoned at its recovery timeout that `phase_done` is the cancel's
//!   acknowledgement (the forest stays paused until the phase call returns); a cancelled
//!   job that no worker had taken yet is acknowledged by the dispatcher at once.
//!
//! # Locks and callbacks (B20)
//!
//! The coordinator mutex is never held while embedder code runs: listeners, hooks and phases
//! are all called after it is released. Listeners are copied out of their own mutex before
//! the calls. A listener or hook may therefore call back into the monitor (`report`,
//! `stats`, `subscribe`, `unsubscribe`, …) without deadlocking. A panicking listener, hook or
//! phase is contained ([`std::panic::catch_unwind`]): the others still run, a panicking
//! phase counts as a failed phase, and [`Monitor::callback_panics`] counts them.
//!
//! # Unsubscribing is synchronous
//!
//! After [`Monitor::unsubscribe`] returns, the listener is never called again. Each call of a
//! listener is announced under a small delivery mutex (`delivery`: which listener runs now,
//! on which thread) that is *not* held during the call; `unsubscribe` marks the listener
//! removed under that mutex and, if it is running on another thread, waits (condvar) until
//! that one call returns. The dispatcher skips removed listeners. A listener that
//! unsubscribes itself (or another) from inside a callback runs on the dispatcher thread, so
//! it never waits for itself: its current call is the one in progress, and no later call
//! happens. (Do not make a listener wait for another thread that unsubscribes it: that
//! thread waits for the listener. The same holds for [`Monitor::stop`] or dropping the
//! monitor from inside a listener while a phase or another thread unsubscribes that
//! listener: `stop` joins the worker, which waits for the listener. Unsubscribing a listener
//! that is *not* running, or calling any other monitor method from a listener, never waits:
//! `unsubscribe` holds no lock while it waits, and the dispatcher's delivery takes the
//! `delivery` mutex only around the bookkeeping, never across the call.)
//!
//! # Backpressure
//!
//! The coordinator's outbox never drops an event: an input refused with `OutboxFull` is
//! retried by the monitor after moving the waiting events (in order) to its own unbounded
//! spill queue, which the dispatcher delivers before the outbox's. Its users never see
//! `OutboxFull`. A tick that stops early for room makes `poll_timeout` "now", so the
//! dispatcher drains and ticks again without sleeping.
//!
//! # Lifecycle
//!
//! [`Monitor::start`] and [`Monitor::stop`] are idempotent; `stop` joins every thread (a
//! worker first finishes the phase it is running), keeps the coordinator's state and the
//! queued phase jobs, and `start` picks them up again (nothing is forgotten by a restart,
//! unlike the Java detector, B25). Dropping the monitor stops it.

use core::panic::AssertUnwindSafe;
use std::boxed::Box;
use std::collections::VecDeque;
use std::panic::catch_unwind;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::vec::Vec;

use core::fmt;
use core::time::Duration;

use super::action::{Action, CancelJob, PhaseJob};
use super::config::Config;
use super::coordinator_std::BoxedCoordinator;
use super::error::{NewError, PhaseDoneError, RetryError};
use super::event::Event;
use super::gate::OpGate;
use super::level::{Alerts, HealthLevel};
use super::listener::{ListenerHandle, ListenerSet, SubscribeError, UnsubscribeError};
use super::phase::Phase;
use super::report::{Report, ReportError, ReportOutcome, ReportSink};
use super::stats::Stats;
use crate::health::Health;
use crate::sync::{AtomicBool, AtomicU64, Ordering};
use crate::table::RankError;
use crate::time::{Clock, Instant};

/// The dispatcher never sleeps longer than this, so a clock that jumps without waking it
/// (e.g. a `ManualClock` in tests) is noticed.
pub const MAX_SLEEP: Duration = Duration::from_millis(50);

/// Listener slots of a monitor.
pub const MONITOR_LISTENERS: usize = 16;

/// The embedder's recovery: one method per phase, plus cancellation and the hooks recovery
/// mode uses. Called on the monitor's threads, never under its locks.
pub trait Recovery: Send + Sync + 'static {
    /// Run DETECTING for `job`; `true` on success.
    fn detecting(&self, job: &PhaseJob) -> bool;
    /// Run REDISTRIBUTING.
    fn redistributing(&self, job: &PhaseJob) -> bool;
    /// Run REBALANCING.
    fn rebalancing(&self, job: &PhaseJob) -> bool;
    /// Run VALIDATING.
    fn validating(&self, job: &PhaseJob) -> bool;
    /// The attempt timed out: stop working on it. Advisory: the monitor keeps the forest
    /// paused and the partition out of recovery until the phase call running for this
    /// attempt returns (its result is then ignored); a phase that never returns keeps it
    /// paused (escalated after `Config::cancel_timeout`). Return from the phase promptly.
    fn cancel(&self, _job: &CancelJob) {}
    /// Recovery mode entered: pause the cross-partition balancer.
    fn pause_balancer(&self) {}
    /// Recovery mode left: resume the balancer.
    fn resume_balancer(&self) {}
    /// Recovery mode entered: pause ghost synchronisation.
    fn pause_ghost_sync(&self) {}
    /// Recovery mode left: restore ghost synchronisation to its previous setting.
    fn resume_ghost_sync(&self) {}
}

/// Why the monitor could not be built or started.
#[non_exhaustive]
#[derive(Debug)]
pub enum MonitorError {
    /// The coordinator refused its arguments.
    Coordinator(NewError),
    /// The OS refused a thread.
    Spawn(std::io::Error),
}

impl fmt::Display for MonitorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MonitorError::Coordinator(e) => write!(f, "coordinator: {e}"),
            MonitorError::Spawn(e) => write!(f, "cannot start a monitor thread: {e}"),
        }
    }
}

impl core::error::Error for MonitorError {}

/// One subscription: the callback and whether it was unsubscribed (written only under the
/// `delivery` mutex, so `Relaxed` suffices: the mutex orders it).
struct ListenerEntry {
    f: Box<dyn Fn(&Event) + Send + Sync>,
    removed: AtomicBool,
}

type SharedListener = Arc<ListenerEntry>;

/// Which listener is being called now, and on which thread (see "Unsubscribing is
/// synchronous").
#[derive(Default)]
struct Delivery {
    current: Option<(SharedListener, std::thread::ThreadId)>,
}

struct Shared<R, G: OpGate, C> {
    coord: Mutex<BoxedCoordinator<G>>,
    /// Events moved out of the coordinator's outbox so that a refused input could be
    /// retried; delivered before the outbox's (locked after `coord`, never before).
    spilled: Mutex<VecDeque<Event>>,
    listeners: Mutex<ListenerSet<SharedListener, MONITOR_LISTENERS>>,
    delivery: Mutex<Delivery>,
    delivered: Condvar,
    recovery: R,
    clock: C,
    /// Dispatcher wake-up flag.
    wake: Mutex<bool>,
    wake_cv: Condvar,
    /// Phase jobs for the workers.
    jobs: Mutex<VecDeque<PhaseJob>>,
    jobs_cv: Condvar,
    stop: AtomicBool,
    panics: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned mutex only means a panic elsewhere; the data are plain counters and queues
    // whose invariants hold between statements, so keep going.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<R: Recovery, G: OpGate + Send + 'static, C: Clock + Send + Sync + 'static> Shared<R, G, C> {
    fn notify(&self) {
        *lock(&self.wake) = true;
        self.wake_cv.notify_all();
    }

    /// Run an input on the coordinator; when it is refused for lack of outbox room
    /// (`full`), spill the waiting events (in order) and run it again. Never returns the
    /// refusal: after the spill the outbox is empty, which is room for any one step.
    fn input<T, E>(
        &self,
        mut f: impl FnMut(&mut BoxedCoordinator<G>) -> Result<T, E>,
        full: impl Fn(&E) -> bool,
    ) -> Result<T, E> {
        let mut c = lock(&self.coord);
        loop {
            match f(&mut c) {
                Err(e) if full(&e) => {
                    let mut spilled = lock(&self.spilled);
                    let before = spilled.len();
                    while let Some(ev) = c.poll_event() {
                        spilled.push_back(ev);
                    }
                    if spilled.len() == before {
                        // Cannot happen (an empty outbox has room); never spin on it.
                        return Err(e);
                    }
                }
                r => return r,
            }
        }
    }

    /// Call `l` with `e` unless it was unsubscribed (see "Unsubscribing is synchronous").
    fn deliver(&self, l: &SharedListener, e: &Event) {
        {
            let mut d = lock(&self.delivery);
            if l.removed.load(Ordering::Relaxed) {
                return;
            }
            d.current = Some((l.clone(), std::thread::current().id()));
        }
        self.guarded(|| (l.f)(e));
        lock(&self.delivery).current = None;
        self.delivered.notify_all();
    }

    fn guarded(&self, f: impl FnOnce()) -> bool {
        let ok = catch_unwind(AssertUnwindSafe(f)).is_ok();
        if !ok {
            self.panics.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    /// One dispatcher round; returns how long to sleep.
    fn round(&self) -> Duration {
        let mut actions = Vec::new();
        let mut events = Vec::new();
        let (now, next) = {
            let mut c = lock(&self.coord);
            let now = self.clock.now();
            // Only when something is due: inputs drive the coordinator themselves, and a
            // tick with heartbeats enabled scans every partition.
            if c.poll_timeout().is_some_and(|t| t <= now) {
                c.tick(now);
            }
            while let Some(a) = c.poll_action() {
                actions.push(a);
            }
            events.extend(lock(&self.spilled).drain(..));
            while let Some(e) = c.poll_event() {
                events.push(e);
            }
            (now, c.poll_timeout())
        };
        if !events.is_empty() {
            let mut snapshot: Vec<SharedListener> = Vec::new();
            lock(&self.listeners).for_each(|l| snapshot.push(l.clone()));
            for e in &events {
                for l in &snapshot {
                    self.deliver(l, e);
                }
            }
        }
        for a in actions {
            match a {
                Action::PauseBalancer => {
                    self.guarded(|| self.recovery.pause_balancer());
                }
                Action::ResumeBalancer => {
                    self.guarded(|| self.recovery.resume_balancer());
                }
                Action::PauseGhostSync => {
                    self.guarded(|| self.recovery.pause_ghost_sync());
                }
                Action::ResumeGhostSync => {
                    self.guarded(|| self.recovery.resume_ghost_sync());
                }
                Action::CancelRecovery(j) => {
                    let unstarted = {
                        let mut q = lock(&self.jobs);
                        let before = q.len();
                        q.retain(|q| q.attempt != j.attempt);
                        q.len() != before
                    };
                    self.guarded(|| self.recovery.cancel(&j));
                    if unstarted {
                        // No worker took the phase: nothing runs, acknowledge now. Otherwise
                        // the worker's `phase_done`, when the phase call returns, does.
                        let now = self.clock.now();
                        let _ = self.input(|c| c.cancel_done(now, j.rank, j.attempt), |_| false);
                    }
                }
                Action::RunPhase(j) => {
                    lock(&self.jobs).push_back(j);
                    self.jobs_cv.notify_one();
                }
            }
        }
        next.map_or(MAX_SLEEP, |t| {
            t.saturating_duration_since(now).min(MAX_SLEEP)
        })
    }

    fn dispatcher(&self) {
        while !self.stop.load(Ordering::Acquire) {
            let sleep = self.round();
            let mut woken = lock(&self.wake);
            if !*woken && !sleep.is_zero() && !self.stop.load(Ordering::Acquire) {
                woken = self
                    .wake_cv
                    .wait_timeout(woken, sleep)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|p| p.into_inner().0);
            }
            *woken = false;
        }
    }

    fn worker(&self) {
        loop {
            let job = {
                let mut q = lock(&self.jobs);
                loop {
                    if self.stop.load(Ordering::Acquire) {
                        return;
                    }
                    if let Some(j) = q.pop_front() {
                        break j;
                    }
                    q = self
                        .jobs_cv
                        .wait(q)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
            };
            let mut ok = false;
            let r = &self.recovery;
            self.guarded(|| {
                ok = match job.phase {
                    Phase::Detecting => r.detecting(&job),
                    Phase::Redistributing => r.redistributing(&job),
                    Phase::Rebalancing => r.rebalancing(&job),
                    Phase::Validating => r.validating(&job),
                    _ => false,
                }
            });
            // For an attempt abandoned meanwhile (recovery timeout) this is the cancel's
            // acknowledgement: the phase call returned, so the forest may resume. Another
            // refusal cannot concern a running phase. (`OutboxFull` is handled by `input`.)
            let now = self.clock.now();
            let _ = self.input(
                |c| c.phase_done(now, job.rank, job.attempt, job.phase, ok),
                |e| *e == PhaseDoneError::OutboxFull,
            );
            self.notify();
        }
    }
}

/// The coordinator on threads (see the module docs).
pub struct Monitor<R: Recovery, G: OpGate + Send + 'static, C: Clock + Send + Sync + 'static> {
    shared: Arc<Shared<R, G, C>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    workers: usize,
}

impl<R, G, C> fmt::Debug for Monitor<R, G, C>
where
    R: Recovery,
    G: OpGate + Send + 'static,
    C: Clock + Send + Sync + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Monitor")
            .field("running", &self.is_running())
            .finish()
    }
}

impl<R, G, C> Monitor<R, G, C>
where
    R: Recovery,
    G: OpGate + Send + 'static,
    C: Clock + Send + Sync + 'static,
{
    /// A stopped monitor over a new coordinator for `n` partitions (boxed storage).
    pub fn new(
        config: Config,
        n: u32,
        gate: G,
        recovery: R,
        clock: C,
    ) -> Result<Self, MonitorError> {
        let now = clock.now();
        let coord =
            BoxedCoordinator::new_boxed(config, n, gate, now).map_err(MonitorError::Coordinator)?;
        Ok(Monitor {
            shared: Arc::new(Shared {
                coord: Mutex::new(coord),
                spilled: Mutex::new(VecDeque::new()),
                listeners: Mutex::new(ListenerSet::new()),
                delivery: Mutex::new(Delivery::default()),
                delivered: Condvar::new(),
                recovery,
                clock,
                wake: Mutex::new(false),
                wake_cv: Condvar::new(),
                jobs: Mutex::new(VecDeque::new()),
                jobs_cv: Condvar::new(),
                stop: AtomicBool::new(false),
                panics: AtomicU64::new(0),
            }),
            threads: Mutex::new(Vec::new()),
            workers: config.max_concurrent() as usize,
        })
    }

    /// Start the dispatcher and the workers; a no-op when running.
    pub fn start(&self) -> Result<(), MonitorError> {
        let mut threads = lock(&self.threads);
        if !threads.is_empty() {
            return Ok(());
        }
        self.shared.stop.store(false, Ordering::Release);
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new().name(name.into()).spawn(f)
        };
        let s = self.shared.clone();
        match spawn("ftforest-dispatch", Box::new(move || s.dispatcher())) {
            Ok(h) => threads.push(h),
            Err(e) => return Err(MonitorError::Spawn(e)),
        }
        for _ in 0..self.workers {
            let s = self.shared.clone();
            match spawn("ftforest-recovery", Box::new(move || s.worker())) {
                Ok(h) => threads.push(h),
                Err(e) => {
                    drop(threads);
                    self.stop();
                    return Err(MonitorError::Spawn(e));
                }
            }
        }
        Ok(())
    }

    /// Stop and join every thread (except the calling one, if `stop` runs inside a callback);
    /// a no-op when stopped. State and queued jobs are kept.
    pub fn stop(&self) {
        let mut threads = lock(&self.threads);
        if threads.is_empty() {
            return;
        }
        self.shared.stop.store(true, Ordering::Release);
        self.shared.notify();
        {
            let _q = lock(&self.shared.jobs);
            self.shared.jobs_cv.notify_all();
        }
        let me = std::thread::current().id();
        for h in threads.drain(..) {
            // A monitor dropped from one of its own callbacks must not join itself: that
            // thread exits on its own once it sees `stop`.
            if h.thread().id() != me {
                let _ = h.join();
            }
        }
    }

    /// Whether the threads run.
    pub fn is_running(&self) -> bool {
        !lock(&self.threads).is_empty()
    }

    /// Feed a report observed now (the monitor's clock); wakes the dispatcher.
    pub fn report(&self, report: Report) -> Result<ReportOutcome, ReportError> {
        let now = self.shared.clock.now();
        self.report_at(now, report)
    }

    /// Feed a report observed at `now`. Never [`ReportError::OutboxFull`] (module docs,
    /// "Backpressure").
    pub fn report_at(&self, now: Instant, report: Report) -> Result<ReportOutcome, ReportError> {
        let r = self.shared.input(
            |c| c.handle_report(now, report),
            |e| *e == ReportError::OutboxFull,
        );
        self.shared.notify();
        r
    }

    /// See [`Coordinator::retry`](super::Coordinator::retry). Never
    /// [`RetryError::OutboxFull`] (module docs, "Backpressure").
    pub fn retry(&self, rank: u32) -> Result<(), RetryError> {
        let now = self.shared.clock.now();
        let r = self
            .shared
            .input(|c| c.retry(now, rank), |e| *e == RetryError::OutboxFull);
        self.shared.notify();
        r
    }

    /// Wake the dispatcher (e.g. after moving a manual clock).
    pub fn poke(&self) {
        self.shared.notify();
    }

    /// Subscribe a listener; it is called on the dispatcher thread, outside every lock, with
    /// every event emitted from now on until it is unsubscribed.
    pub fn subscribe(
        &self,
        f: impl Fn(&Event) + Send + Sync + 'static,
    ) -> Result<ListenerHandle, SubscribeError> {
        lock(&self.shared.listeners).subscribe(Arc::new(ListenerEntry {
            f: Box::new(f),
            removed: AtomicBool::new(false),
        }))
    }

    /// Remove the subscription `handle` names (only that one). Synchronous: once this
    /// returns `Ok`, the listener is never called again. If it is being called on another
    /// thread right now, this waits for that call to return; called from inside a listener
    /// (any listener, including the one removed) it never waits. See the module docs.
    pub fn unsubscribe(&self, handle: ListenerHandle) -> Result<(), UnsubscribeError> {
        let entry = lock(&self.shared.listeners).unsubscribe(handle)?;
        let me = std::thread::current().id();
        let mut d = lock(&self.shared.delivery);
        entry.removed.store(true, Ordering::Relaxed);
        while d
            .current
            .as_ref()
            .is_some_and(|(l, t)| Arc::ptr_eq(l, &entry) && *t != me)
        {
            d = self
                .shared
                .delivered
                .wait(d)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        Ok(())
    }

    /// `(state, incarnation)` of `rank`.
    pub fn health(&self, rank: u32) -> Result<(Health, u32), RankError> {
        lock(&self.shared.coord).health(rank)
    }

    /// Statistics snapshot.
    pub fn stats(&self) -> Stats {
        lock(&self.shared.coord).stats()
    }

    /// Health level.
    pub fn level(&self) -> HealthLevel {
        lock(&self.shared.coord).level()
    }

    /// Alerts at the monitor clock's now.
    pub fn alerts(&self) -> Alerts {
        let now = self.shared.clock.now();
        lock(&self.shared.coord).alerts(now)
    }

    /// Read the coordinator under its lock (do not block inside `f`).
    pub fn with_coordinator<T>(&self, f: impl FnOnce(&BoxedCoordinator<G>) -> T) -> T {
        f(&lock(&self.shared.coord))
    }

    /// The embedder's recovery object.
    pub fn recovery(&self) -> &R {
        &self.shared.recovery
    }

    /// Listener, hook and phase panics contained so far.
    pub fn callback_panics(&self) -> u64 {
        self.shared.panics.load(Ordering::Relaxed)
    }
}

impl<R, G, C> Drop for Monitor<R, G, C>
where
    R: Recovery,
    G: OpGate + Send + 'static,
    C: Clock + Send + Sync + 'static,
{
    fn drop(&mut self) {
        self.stop();
    }
}

impl<R, G, C> ReportSink for &Monitor<R, G, C>
where
    R: Recovery,
    G: OpGate + Send + 'static,
    C: Clock + Send + Sync + 'static,
{
    fn report(&mut self, now: Instant, report: Report) -> Result<ReportOutcome, ReportError> {
        self.report_at(now, report)
    }

    fn incarnation(&mut self, rank: u32) -> Option<u32> {
        self.health(rank).ok().map(|(_, inc)| inc)
    }
}
