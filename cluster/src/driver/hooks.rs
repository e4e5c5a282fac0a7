//! The member's hook thread: the embedder's pause/resume hooks run here, off the driver
//! loop, so a slow `pause_balancer` never delays keepalives, watch handling or fenced
//! writes; phases are handed from here to blocking threads.
//!
//! Invariants: one thread per member consumes one FIFO queue, so hooks run in the order
//! the adapter emitted them (a pause before the phases it protects, each resume after its
//! pause: a phase is handed to a blocking thread only after every hook queued before it
//! returned). `outstanding` counts the pause hooks taken from the adapter (counted under
//! its lock, by [`HookQueue::collected`]) that have not returned yet; the adapter's gate
//! ([`HookGate`]) is not quiescent while it is non-zero, so no pause ack is written before
//! this process's balancer and ghost sync paused. After each hook the thread sends
//! [`Cmd::HookDone`], so the ack goes out at once. A hook that panics counts as returned.

use core::panic::AssertUnwindSafe;
use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;
use std::panic::catch_unwind;
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;

use ftforest_core::coord::OpGate;
use ftforest_core::tracker::{PauseError, PauseToken, ResumeError};
use tokio::sync::oneshot;

use super::{phase, Cmd, Shared};
use crate::hooks::{ForestHooks, PhaseIo};
use crate::member::Gate;
use crate::proto::Hook;

/// The embedder's gate as the adapter sees it: also not quiescent while a pause hook is
/// pending or running.
pub(crate) struct HookGate {
    inner: Gate,
    outstanding: Arc<AtomicU32>,
}

impl OpGate for HookGate {
    fn close(&self) -> Result<PauseToken, PauseError> {
        self.inner.close()
    }
    fn reopen(&self, token: PauseToken) -> Result<(), ResumeError> {
        self.inner.reopen(token)
    }
    fn is_quiescent(&self) -> bool {
        self.outstanding.load(Ordering::Acquire) == 0 && self.inner.is_quiescent()
    }
    fn in_flight(&self) -> u32 {
        self.inner.in_flight()
    }
}

enum Job {
    Hook(Hook),
    /// Answered once every job queued before it was done.
    Flush(oneshot::Sender<()>),
}

/// The loop's end of the hook thread's queue.
pub(crate) struct HookQueue {
    tx: Sender<Job>,
    outstanding: Arc<AtomicU32>,
}

fn is_pause(h: &Hook) -> bool {
    matches!(h, Hook::PauseBalancer | Hook::PauseGhostSync)
}

impl HookQueue {
    /// Wraps `gate` (for the adapter) and returns the queue whose pause hooks it waits for.
    pub(crate) fn gate(gate: Gate) -> (Gate, Arc<AtomicU32>) {
        let outstanding = Arc::new(AtomicU32::new(0));
        let g = HookGate {
            inner: gate,
            outstanding: outstanding.clone(),
        };
        (Arc::new(g), outstanding)
    }

    /// Starts the hook thread of a member.
    pub(crate) fn start(
        shared: Arc<Shared>,
        forest: Arc<dyn ForestHooks>,
        outstanding: Arc<AtomicU32>,
        rt: tokio::runtime::Handle,
    ) -> std::io::Result<HookQueue> {
        let (tx, rx) = channel::<Job>();
        let done = outstanding.clone();
        std::thread::Builder::new()
            .name("ftf-cluster-hooks".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    match job {
                        Job::Hook(h) => run(&shared, &forest, &done, &rt, h),
                        Job::Flush(w) => {
                            let _ = w.send(());
                        }
                    }
                }
            })?;
        Ok(HookQueue { tx, outstanding })
    }

    /// Counts the pause hooks among `hooks`, just taken from the adapter; call it under the
    /// adapter's lock, so no quiescence check sees one uncounted.
    pub(crate) fn collected(&self, hooks: &[Hook]) {
        let n = hooks.iter().filter(|h| is_pause(h)).count() as u32;
        if n > 0 {
            self.outstanding.fetch_add(n, Ordering::AcqRel);
        }
    }

    /// Queues `h` behind every hook queued before it.
    pub(crate) fn push(&self, h: Hook) {
        let pause = is_pause(&h);
        if self.tx.send(Job::Hook(h)).is_err() && pause {
            // The thread is gone (it cannot be while the queue lives): never leave the
            // count up, or the pause would never be acked.
            self.outstanding.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Waits (at most `wait`) until every hook queued so far returned.
    pub(crate) async fn flush(&self, wait: Duration) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Job::Flush(tx)).is_ok() {
            let _ = tokio::time::timeout(wait, rx).await;
        }
    }
}

fn run(
    shared: &Arc<Shared>,
    forest: &Arc<dyn ForestHooks>,
    outstanding: &AtomicU32,
    rt: &tokio::runtime::Handle,
    h: Hook,
) {
    let pause = is_pause(&h);
    let _ = catch_unwind(AssertUnwindSafe(|| match h {
        Hook::RunPhase { job, token } => {
            let forest = forest.clone();
            let io = PhaseIo {
                rank: job.rank,
                token,
                inner: Box::new(phase::DriverIo {
                    shared: shared.clone(),
                    rt: rt.clone(),
                    fenced_rank: job.rank,
                }),
            };
            let tx = shared.tx.clone();
            rt.spawn_blocking(move || {
                let ok = forest.run_phase(job, &io).is_ok();
                let _ = tx.send(Cmd::PhaseDone(job, ok));
            });
        }
        Hook::PauseBalancer => forest.pause_balancer(),
        Hook::ResumeBalancer => forest.resume_balancer(),
        Hook::PauseGhostSync => forest.pause_ghost_sync(),
        Hook::ResumeGhostSync => forest.resume_ghost_sync(),
    }));
    if pause {
        outstanding.fetch_sub(1, Ordering::AcqRel);
        let _ = shared.tx.send(Cmd::HookDone);
    }
}
