//! The [`Monitor`](super::Monitor)'s run lifecycle (feature `std`): which threads run, which
//! run they belong to, who joins them, and what may be called from inside them.
//!
//! # State machine
//!
//! Every [`start`](Lifecycle::start) opens a new **run** numbered by a generation `g`
//! (1, 2, …); its threads are registered as **members** `{ g, thread id, join handle, done }`.
//! One word, `current = g << 1 | running`, is the state every thread and
//! [`is_running`](Lifecycle::is_running) reads without a lock:
//!
//! ```text
//!            start (g += 1)                  stop / close
//!  STOPPED ------------------> RUNNING(g) ---------------> STOPPED   (g's threads exiting)
//!     ^ |                                                     |
//!     | +-- close: CLOSED (start refused for ever) <----------+
//! ```
//!
//! * A thread of run `g` keeps going only while `current == g << 1 | 1`
//!   ([`is_current`](Lifecycle::is_current)); once that is false it starts no further
//!   embedder callback and exits, marking itself `done` as its very last step.
//! * **Ordered callbacks of two runs never overlap.** A member is *ordered* (the dispatcher:
//!   listeners, hooks, cancels) or not (a worker: one phase at a time). A new run's threads
//!   first wait ([`wait_turn`](Lifecycle::wait_turn)) until every ordered member of an older
//!   run is `done`, so after a `stop` and a `start` from inside a callback, the old
//!   dispatcher finishes the callback it is in and exits before the new one calls anything:
//!   listeners never run on two threads at once, and events stay in order. A stopped run's
//!   worker is not waited for: it only finishes the phase it is in (which holds its attempt's
//!   recovery permit, so no second phase of that partition can start) and reports it, its
//!   return acknowledging a cancel. Waiting for it would let one wedged phase (the very case
//!   a cancel is for) freeze the new run: no tick, no cancel escalation, no detection.
//! * **Nothing waits while holding the lifecycle mutex**, and no callback runs under it:
//!   `is_running`, `start` and the stop request never block on a join.
//! * **Joining.** A stop from a thread that is not a member joins every member of the runs it
//!   stopped (and any older one), so when it returns no callback of those runs is running. A
//!   member (a callback calling `stop`, or dropping the last monitor) never joins or waits
//!   for another member: that member may be waiting for it (a phase unsubscribing the
//!   listener that is running). Its run's threads exit on their own; their handles are joined
//!   by the next stop from outside, or detached when the monitor is gone.
//! * **Closing** ([`close`](Lifecycle::close)) is a stop that also refuses every later
//!   `start`. Actions registered with it run exactly once, when no member is left running
//!   embedder code: at once (after joining) when closed from outside, else on the last member
//!   to finish. The C forest uses this to free its handle after the last callback that may
//!   still be using it has returned.

use std::boxed::Box;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{JoinHandle, ThreadId};
use std::vec::Vec;

use crate::sync::{AtomicU64, Ordering};

/// The run a thread belongs to (its generation).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunId(u64);

/// Why [`Lifecycle::start`] started nothing.
#[derive(Debug)]
pub(crate) enum StartError {
    /// Closed for good.
    Closed,
    /// The OS refused a thread (the threads already spawned are stopped).
    Spawn(std::io::Error),
}

/// One registered thread.
struct Member {
    run: u64,
    id: ThreadId,
    /// `None` while a joiner holds it (the member is removed once joined).
    handle: Option<JoinHandle<()>>,
    /// Set by the thread as its last step: it calls no embedder code any more.
    done: bool,
    /// A later run's threads wait for it to be `done` (module docs).
    ordered: bool,
}

type OnLast = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct State {
    /// The latest run's generation (0: never started).
    run: u64,
    running: bool,
    closed: bool,
    members: Vec<Member>,
    /// Run once, by whoever sees the monitor closed with no member left running.
    on_last: Vec<OnLast>,
}

impl State {
    fn is_member(&self, id: ThreadId) -> bool {
        self.members.iter().any(|m| m.id == id)
    }
    fn all_done(&self) -> bool {
        self.members.iter().all(|m| m.done)
    }
}

/// The run registry of one monitor (see the module docs).
#[derive(Default)]
pub(crate) struct Lifecycle {
    state: Mutex<State>,
    /// Signalled when a member finishes or is joined, and when a run is stopped.
    changed: Condvar,
    /// `run << 1 | running`, written under `state`, read lock-free (Release/Acquire: a thread
    /// that sees its run stopped also sees what the stopper wrote before).
    current: AtomicU64,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    // The state is only changed in short, panic-free sections.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Lifecycle {
    /// Whether a run is current (started, not stopped). Never blocks.
    pub(crate) fn is_running(&self) -> bool {
        self.current.load(Ordering::Acquire) & 1 == 1
    }

    /// Whether `run` is the current, running run. Never blocks.
    pub(crate) fn is_current(&self, run: RunId) -> bool {
        self.current.load(Ordering::Acquire) == (run.0 << 1 | 1)
    }

    /// Whether the calling thread is one of the registered threads.
    pub(crate) fn on_member_thread(&self) -> bool {
        lock(&self.state).is_member(std::thread::current().id())
    }

    /// Opens a new run and registers the `count` threads `spawn(run)` creates (under the
    /// lifecycle mutex: a new thread blocks in [`wait_turn`](Self::wait_turn) until it is
    /// registered), each with whether it is ordered (module docs). `Ok(false)`: already
    /// running, nothing done. Never waits for a thread.
    pub(crate) fn start(
        &self,
        count: usize,
        mut spawn: impl FnMut(RunId) -> std::io::Result<(JoinHandle<()>, bool)>,
    ) -> Result<bool, StartError> {
        let mut st = lock(&self.state);
        if st.closed {
            return Err(StartError::Closed);
        }
        if st.running {
            return Ok(false);
        }
        st.run += 1;
        st.running = true;
        let run = RunId(st.run);
        self.current.store(run.0 << 1 | 1, Ordering::Release);
        for _ in 0..count {
            match spawn(run) {
                Ok((h, ordered)) => {
                    let id = h.thread().id();
                    st.members.push(Member {
                        run: run.0,
                        id,
                        handle: Some(h),
                        done: false,
                        ordered,
                    });
                }
                Err(e) => {
                    self.stop_locked(&mut st);
                    return Err(StartError::Spawn(e));
                }
            }
        }
        // Threads that finished are only returning: joining them never waits for anything.
        let me = std::thread::current().id();
        let mut finished = Vec::new();
        st.members.retain_mut(|m| match m.handle.take() {
            Some(h) if m.done && m.id != me => {
                finished.push(h);
                false
            }
            h => {
                m.handle = h;
                true
            }
        });
        drop(st);
        for h in finished {
            let _ = h.join();
        }
        Ok(true)
    }

    fn stop_locked(&self, st: &mut State) {
        if st.running {
            st.running = false;
            self.current.store(st.run << 1, Ordering::Release);
        }
        self.changed.notify_all();
    }

    /// Stops the current run (if any) without waiting; returns the generation to pass to
    /// [`join`](Self::join). The caller then wakes the threads.
    pub(crate) fn request_stop(&self) -> RunId {
        let mut st = lock(&self.state);
        self.stop_locked(&mut st);
        RunId(st.run)
    }

    /// Stops for good (later starts are refused) and registers `on_last`, which runs once no
    /// member is left running embedder code. Returns the generation to [`join`](Self::join)
    /// and `on_last` back when it must run now (no member running).
    pub(crate) fn close(&self, on_last: Option<OnLast>) -> (RunId, Option<OnLast>) {
        let mut st = lock(&self.state);
        st.closed = true;
        self.stop_locked(&mut st);
        let run = RunId(st.run);
        match on_last {
            Some(f) if !st.all_done() && st.is_member(std::thread::current().id()) => {
                st.on_last.push(f);
                (run, None)
            }
            f => (run, f),
        }
    }

    /// From a thread that is not a member: joins every member of runs up to `upto` (waiting
    /// for those another joiner holds). From a member: returns at once (module docs).
    pub(crate) fn join(&self, upto: RunId) {
        let me = std::thread::current().id();
        let mut st = lock(&self.state);
        if st.is_member(me) {
            return;
        }
        loop {
            let next = st
                .members
                .iter_mut()
                .find(|m| m.run <= upto.0 && m.handle.is_some())
                .and_then(|m| m.handle.take().map(|h| (m.id, h)));
            if let Some((id, h)) = next {
                drop(st);
                let _ = h.join();
                st = lock(&self.state);
                st.members.retain(|m| m.id != id);
                self.changed.notify_all();
                continue;
            }
            if !st.members.iter().any(|m| m.run <= upto.0) {
                return;
            }
            st = self
                .changed
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// A new run's thread: waits until every ordered member of an older run is done.
    /// `false` when `run` was stopped meanwhile (the thread must exit without calling
    /// anything).
    pub(crate) fn wait_turn(&self, run: RunId) -> bool {
        let mut st = lock(&self.state);
        loop {
            if !self.is_current(run) {
                return false;
            }
            if !st
                .members
                .iter()
                .any(|m| m.run < run.0 && m.ordered && !m.done)
            {
                return true;
            }
            st = self
                .changed
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The calling member's last step: marks it done, and runs the closing actions if it is
    /// the last member running embedder code of a closed monitor (outside the mutex).
    pub(crate) fn exit(&self) {
        let me = std::thread::current().id();
        let on_last = {
            let mut st = lock(&self.state);
            if let Some(m) = st.members.iter_mut().find(|m| m.id == me) {
                m.done = true;
            }
            self.changed.notify_all();
            if st.closed && st.all_done() {
                core::mem::take(&mut st.on_last)
            } else {
                Vec::new()
            }
        };
        for f in on_last {
            f();
        }
    }
}
