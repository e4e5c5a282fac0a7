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
//! the calls. A panicking listener, hook or phase is contained
//! ([`std::panic::catch_unwind`]): the others still run, a panicking phase counts as a failed
//! phase, and [`Monitor::callback_panics`] counts them.
//!
//! # What a callback may call
//!
//! | callback | thread | runs |
//! |---|---|---|
//! | listeners, `pause_*`/`resume_*` hooks, [`Recovery::cancel`] | the dispatcher | one at a time, in the coordinator's order |
//! | the four phase methods | a worker | phases of different partitions in parallel |
//! | listeners, for events handed to [`deliver_external`](Monitor::deliver_external) (the monitor stopped) | the caller's thread | one at a time, in the caller's order |
//!
//! Every method may be called from every callback without deadlocking on the monitor:
//! [`report`](Monitor::report), [`join`](Monitor::join), [`leave`](Monitor::leave), the
//! getters, [`subscribe`](Monitor::subscribe) and
//! [`is_running`](Monitor::is_running) take only short internal locks that are never held
//! while embedder code runs or while a thread is joined; [`start`](Monitor::start) never
//! waits; [`stop`](Monitor::stop), [`close_then`](Monitor::close_then) and dropping the last
//! monitor only *request* the stop when called on one of the monitor's threads (they never
//! join from there). Two calls can wait, and only for embedder code:
//! [`unsubscribe`](Monitor::unsubscribe) of a listener that the dispatcher is calling right
//! now (from another thread: from a worker or an outside thread, never from a listener), and
//! `stop`/drop from outside the monitor's threads, which wait for the callbacks in progress
//! to return. So a callback must not wait for a thread that is in one of these calls about
//! it (a listener waiting for the phase that unsubscribes it; a phase waiting for the thread
//! that stops the monitor).
//!
//! # Unsubscribing is synchronous
//!
//! After [`Monitor::unsubscribe`] returns, the listener is never called again. Each call of a
//! listener is announced under a small delivery mutex (`delivery`: which listener runs now,
//! on which thread) that is *not* held during the call; `unsubscribe` marks the listener
//! removed under that mutex and, if it is running on another thread, waits (condvar) until
//! that one call returns. The dispatcher skips removed listeners. A listener that
//! unsubscribes itself (or another) from inside a callback runs on the dispatcher thread, so
//! it never waits: its current call is the one in progress, and no later call happens. Only
//! one dispatcher ever delivers at a time (see "Lifecycle"), so the one `delivery` slot
//! always names the call in progress.
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
//! [`Monitor::start`] and [`Monitor::stop`] are idempotent; state, the queued phase jobs and
//! whatever the dispatcher had taken out of the coordinator but not handed out yet (the rest
//! of its round: the event being delivered with the listeners still owed it, later events,
//! actions) are kept across a stop, and `start` picks them up again (nothing is forgotten by
//! a restart, unlike the Java detector, B25). A running thread starts no further callback
//! once its run is stopped (checked before each one).
//!
//! Each `start` opens a new numbered run (state machine in `lifecycle.rs`). Its threads call
//! nothing before the dispatchers of the previous runs have finished, so a `stop` and a
//! `start` from inside a listener never leave two dispatchers running: the old one finishes
//! the listener it is in, keeps the rest of its round, and exits; the new one delivers it.
//! A worker of a stopped run is not waited for: it finishes the phase it is in and reports
//! it (that attempt still holds its permit, so its partition gets no second phase), so a
//! wedged phase, abandoned and cancelled, never keeps a restarted monitor from ticking
//! (escalating the cancel, detecting, recovering other partitions).
//! `stop` from outside the monitor's threads joins every thread of the runs it stopped (a
//! worker first finishes the phase it is running); from a callback it returns at once.
//! [`Monitor::close_then`] stops for good and runs an action after the last callback.
//! Dropping the monitor closes it: from outside its threads, after joining them; from a
//! callback (the last `Arc<Monitor>` dropped by a listener), the threads finish their
//! current callback and exit on their own, and the recovery object is dropped by the last.

use core::panic::AssertUnwindSafe;
use std::boxed::Box;
use std::collections::VecDeque;
use std::panic::catch_unwind;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::vec::Vec;

use core::fmt;
use core::time::Duration;

use super::action::{Action, CancelJob, PhaseJob};
use super::config::Config;
use super::config_error::ConfigError;
use super::coordinator_std::BoxedCoordinator;
use super::error::{NewError, PhaseDoneError, RetryError};
use super::event::Event;
use super::gate::OpGate;
use super::level::AlertThresholds;
use super::level::{Alerts, HealthLevel};
use super::lifecycle::{Lifecycle, RunId, StartError};
use super::listener::{ListenerHandle, ListenerSet, SubscribeError, UnsubscribeError};
use super::membership::MembershipError;
use super::phase::Phase;
use super::pstats::{PartitionStats, PartitionStatsError};
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
    /// [`Monitor::close_then`] was called: the monitor never starts again.
    Closed,
}

impl fmt::Display for MonitorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MonitorError::Coordinator(e) => write!(f, "coordinator: {e}"),
            MonitorError::Spawn(e) => write!(f, "cannot start a monitor thread: {e}"),
            MonitorError::Closed => f.write_str("the monitor is closed"),
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

/// What a stopped dispatcher had taken out of the coordinator but not handed out yet, kept
/// for the next run (see "Lifecycle"): the event it was delivering with the listeners still
/// owed it, then the actions of its round.
#[derive(Default)]
struct Held {
    partial: Option<(Event, Vec<SharedListener>)>,
    actions: VecDeque<Action>,
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
    /// Runs, their threads, stop and close (see `lifecycle.rs`).
    life: Lifecycle,
    /// Left over by a stopped dispatcher (locked after `coord`, or alone).
    held: Mutex<Held>,
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

    /// Wakes every thread after a stop request: the dispatcher's sleep and idle workers (both
    /// check their run under the mutex they wait on, so the wake-up is not lost).
    fn wake_all(&self) {
        self.notify();
        let _q = lock(&self.jobs);
        self.jobs_cv.notify_all();
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

    /// One dispatcher round of `run`; returns how long to sleep, or `None` when `run` was
    /// stopped before every callback of the round was made (the rest is [`Held`] for the next
    /// run, in order).
    fn round(&self, run: RunId) -> Option<Duration> {
        let (now, next, partial, mut actions, events) = {
            let mut c = lock(&self.coord);
            let now = self.clock.now();
            // Only when something is due: inputs drive the coordinator themselves, and a
            // tick with heartbeats enabled scans every partition.
            if c.poll_timeout().is_some_and(|t| t <= now) {
                c.tick(now);
            }
            let (partial, mut actions) = {
                let mut h = lock(&self.held);
                (h.partial.take(), core::mem::take(&mut h.actions))
            };
            while let Some(a) = c.poll_action() {
                actions.push_back(a);
            }
            let mut events: VecDeque<Event> = lock(&self.spilled).drain(..).collect();
            while let Some(e) = c.poll_event() {
                events.push_back(e);
            }
            (now, c.poll_timeout(), partial, actions, events)
        };
        let mut snapshot: Vec<SharedListener> = Vec::new();
        if !events.is_empty() {
            lock(&self.listeners).for_each(|l| snapshot.push(l.clone()));
        }
        let mut owed = partial
            .into_iter()
            .chain(events.into_iter().map(|e| (e, snapshot.clone())));
        while let Some((e, ls)) = owed.next() {
            for (i, l) in ls.iter().enumerate() {
                if !self.life.is_current(run) {
                    // Stopped (perhaps by this very listener): keep the rest, in order.
                    let rest = owed.by_ref().map(|(e, _)| e).collect();
                    self.hold(Some((e, ls[i..].to_vec())), rest, actions);
                    return None;
                }
                self.deliver(l, &e);
            }
        }
        while let Some(a) = actions.pop_front() {
            if !self.life.is_current(run) {
                actions.push_front(a);
                self.hold(None, Vec::new(), actions);
                return None;
            }
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
                        // It may have resumed the forest or started the next attempt: the
                        // next round hands that out at once, not after this round's sleep.
                        self.notify();
                    }
                }
                Action::RunPhase(j) => {
                    lock(&self.jobs).push_back(j);
                    self.jobs_cv.notify_one();
                }
                // `new` refuses fenced configurations: these are never handed out here.
                Action::AcquireFence(_) | Action::ReleaseFence(_) => {}
            }
        }
        Some(next.map_or(MAX_SLEEP, |t| {
            t.saturating_duration_since(now).min(MAX_SLEEP)
        }))
    }

    /// Keeps what a stopped round did not hand out for the next run: the event being
    /// delivered with the listeners still owed it, the later events (before any spilled
    /// since: they are older), and the actions.
    fn hold(
        &self,
        partial: Option<(Event, Vec<SharedListener>)>,
        rest: Vec<Event>,
        actions: VecDeque<Action>,
    ) {
        {
            let mut h = lock(&self.held);
            h.partial = partial;
            h.actions = actions;
        }
        let mut spilled = lock(&self.spilled);
        for e in rest.into_iter().rev() {
            spilled.push_front(e);
        }
    }

    fn dispatcher(&self, run: RunId) {
        if !self.life.wait_turn(run) {
            return;
        }
        while self.life.is_current(run) {
            let Some(sleep) = self.round(run) else {
                return;
            };
            let mut woken = lock(&self.wake);
            if !*woken && !sleep.is_zero() && self.life.is_current(run) {
                woken = self
                    .wake_cv
                    .wait_timeout(woken, sleep)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|p| p.into_inner().0);
            }
            *woken = false;
        }
    }

    fn worker(&self, run: RunId) {
        if !self.life.wait_turn(run) {
            return;
        }
        loop {
            let job = {
                let mut q = lock(&self.jobs);
                loop {
                    if !self.life.is_current(run) {
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
    ///
    /// A fenced configuration ([`Config::fenced`]) is refused with
    /// [`MonitorError::Coordinator`]`(`[`NewError::Config`]`)` naming the field `fenced`:
    /// only a driver that talks to a fencing service can answer fences.
    pub fn new(
        config: Config,
        n: u32,
        gate: G,
        recovery: R,
        clock: C,
    ) -> Result<Self, MonitorError> {
        if config.fenced() {
            return Err(MonitorError::Coordinator(NewError::Config(
                ConfigError::FENCED_UNSUPPORTED,
            )));
        }
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
                life: Lifecycle::default(),
                held: Mutex::new(Held::default()),
                panics: AtomicU64::new(0),
            }),
            workers: config.max_concurrent() as usize,
        })
    }

    /// Start the dispatcher and the workers of a new run; a no-op when running. Never waits,
    /// so it may be called from any callback: if the previous run's dispatcher is still
    /// finishing (it was stopped from a callback), the new threads call nothing until it has
    /// exited (module docs, "Lifecycle"); so a listener that restarts the monitor must
    /// return before it can see the new run do anything (do not wait for it there).
    /// [`MonitorError::Closed`] after [`close_then`](Self::close_then).
    pub fn start(&self) -> Result<(), MonitorError> {
        let workers = self.workers;
        let mut spawned = 0usize;
        let r = self.shared.life.start(1 + workers, |run| {
            let s = self.shared.clone();
            let (name, dispatcher) = if spawned == 0 {
                ("ftforest-dispatch", true)
            } else {
                ("ftforest-recovery", false)
            };
            spawned += 1;
            let h = std::thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    // Marks the thread done however it ends (module docs, "Lifecycle").
                    struct Exit<'a>(&'a Lifecycle);
                    impl Drop for Exit<'_> {
                        fn drop(&mut self) {
                            self.0.exit();
                        }
                    }
                    let _exit = Exit(&s.life);
                    if dispatcher {
                        s.dispatcher(run);
                    } else {
                        s.worker(run);
                    }
                })?;
            // Only the dispatcher's callbacks are ordered across runs ("Lifecycle").
            Ok((h, dispatcher))
        });
        match r {
            Ok(_) => Ok(()),
            Err(StartError::Closed) => Err(MonitorError::Closed),
            Err(StartError::Spawn(e)) => {
                // The threads already spawned were stopped; join them (unless in a callback).
                let run = self.shared.life.request_stop();
                self.shared.wake_all();
                self.shared.life.join(run);
                Err(MonitorError::Spawn(e))
            }
        }
    }

    /// Stop the current run; a no-op when stopped. State, queued phase jobs and whatever the
    /// dispatcher had not handed out yet are kept for the next [`start`](Self::start).
    ///
    /// From a thread that is not one of the monitor's, this joins every thread of the stopped
    /// runs: when it returns, no callback of theirs is running (a worker first finishes the
    /// phase it is in). From inside a callback (a listener, hook or phase) it only requests
    /// the stop and returns at once, without waiting for any thread (they may be waiting for
    /// this one): the run starts no further callback on the calling thread, and its other
    /// threads exit after the callback they are in.
    pub fn stop(&self) {
        let run = self.shared.life.request_stop();
        self.shared.wake_all();
        self.shared.life.join(run);
    }

    /// Stop for good ([`start`](Self::start) is then refused with [`MonitorError::Closed`])
    /// and run `last` exactly once, when no thread of the monitor runs embedder code any more:
    /// before returning (after joining every thread) when called from outside the monitor's
    /// threads, else on the last of them to finish, after its last callback. Never waits
    /// when called from a callback. Dropping the monitor closes it.
    pub fn close_then(&self, last: impl FnOnce() + Send + 'static) {
        self.close(Some(Box::new(last)));
    }

    fn close(&self, last: Option<Box<dyn FnOnce() + Send>>) {
        let (run, now) = self.shared.life.close(last);
        self.shared.wake_all();
        self.shared.life.join(run);
        if let Some(f) = now {
            f();
        }
    }

    /// Whether a run is current (started and not stopped). Never blocks: callable from any
    /// callback while another thread stops or drops the monitor.
    pub fn is_running(&self) -> bool {
        self.shared.life.is_running()
    }

    /// Whether the calling thread is one of the monitor's (inside one of its callbacks).
    pub fn on_monitor_thread(&self) -> bool {
        self.shared.life.on_member_thread()
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

    /// Partition `rank` joins while the monitor runs (or is stopped): see
    /// [`Coordinator::join`](super::Coordinator::join) (ABSENT → HEALTHY, or FAILED →
    /// HEALTHY when recovered elsewhere; returns the new incarnation). Thread-safe: one
    /// short lock of the coordinator, like [`report`](Monitor::report); may be called from
    /// any thread and from every callback. The events (`StatusChanged`, quorum,
    /// `MemberJoined`) reach the listeners through the dispatcher, which this call wakes.
    /// Never [`MembershipError::OutboxFull`] (module docs, "Backpressure").
    pub fn join(&self, rank: u32) -> Result<u32, MembershipError> {
        let now = self.shared.clock.now();
        let r = self
            .shared
            .input(|c| c.join(now, rank), |e| *e == MembershipError::OutboxFull);
        self.shared.notify();
        r
    }

    /// Partition `rank` leaves while the monitor runs (or is stopped): see
    /// [`Coordinator::leave`](super::Coordinator::leave) (a graceful leave is not a failure;
    /// a FAILED partition is decommissioned). Thread-safe, as [`join`](Monitor::join). A
    /// partition whose recovery is running (a phase in a worker) is refused with
    /// [`MembershipError::Recovering`]: leave it once the attempt ends. Never
    /// [`MembershipError::OutboxFull`].
    pub fn leave(&self, rank: u32) -> Result<(), MembershipError> {
        let now = self.shared.clock.now();
        let r = self.shared.input(
            |c| c.leave(now, rank),
            |e| *e == MembershipError::OutboxFull,
        );
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

    /// Delivers `e`, an event of a coordinator run *elsewhere* (e.g. by a cluster member the
    /// forest is attached to), to the listeners subscribed now, on the calling thread, one
    /// at a time, in subscription-slot order, exactly as the dispatcher delivers its own:
    /// outside every lock, a panic contained and counted, and with the same synchronous
    /// unsubscribe (a listener may unsubscribe itself or another without waiting; from
    /// another thread `unsubscribe` waits for the call in progress). `go` is asked before
    /// each call; once it answers false no further listener is called for `e`.
    ///
    /// Returns false, delivering nothing, while the monitor runs: its own dispatcher is then
    /// the only deliverer (two deliverers would share the one "call in progress" slot).
    /// The caller must not deliver from two threads at once either, and must keep the
    /// monitor from starting meanwhile (e.g. `ftforest-ffi` refuses `start` while attached).
    pub fn deliver_external(&self, e: &Event, mut go: impl FnMut() -> bool) -> bool {
        if self.is_running() {
            return false;
        }
        let mut snapshot: Vec<SharedListener> = Vec::new();
        lock(&self.shared.listeners).for_each(|l| snapshot.push(l.clone()));
        for l in &snapshot {
            if !go() {
                break;
            }
            self.shared.deliver(l, e);
        }
        true
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

    /// Replace the alert thresholds of the running coordinator (see
    /// [`Coordinator::set_alert_thresholds`](super::Coordinator::set_alert_thresholds));
    /// an invalid value is refused by name and nothing changes. Never waits for a callback.
    pub fn set_alert_thresholds(&self, thresholds: AlertThresholds) -> Result<(), ConfigError> {
        lock(&self.shared.coord).set_alert_thresholds(thresholds)
    }

    /// The statistics of partition `rank` (see
    /// [`Coordinator::partition_stats`](super::Coordinator::partition_stats); a monitor
    /// always keeps them).
    pub fn partition_stats(&self, rank: u32) -> Result<PartitionStats, PartitionStatsError> {
        lock(&self.shared.coord).partition_stats(rank)
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
        self.close(None);
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
