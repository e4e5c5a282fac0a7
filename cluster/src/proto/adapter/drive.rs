//! Drains the coordinator after every input: its actions become Txns (fences), embedder
//! hooks (phases, balancer/ghost pause) and events; local suspicions (not the SUSPECTED
//! step of a crash report) are reported as [`ClusterEvent::Suspected`]; every coordinator
//! event is also kept, in order, for [`poll_core_event`](Adapter::poll_core_event).
//!
//! Invariant: `drive` runs at the end of every input, so no coordinator action waits for
//! the next input; `CancelRecovery` needs no hook (the abandoned phase's late `phase_done`
//! is its acknowledgement).

use ftforest_core::coord::{Action, Cause, Event, OpGate};
use ftforest_core::{Health, Instant};

use super::{Adapter, Hook};
use crate::proto::event::ClusterEvent;

impl<G: OpGate + Clone> Adapter<G> {
    pub(crate) fn drive(&mut self, now: Instant) {
        self.sync_coord_available(now);
        self.release_tick(now);
        // Bounded: each action is handed out once; a handful per recovery.
        for _ in 0..10_000 {
            while let Some(ev) = self.coord.poll_event() {
                if let Event::StatusChanged(s) = ev {
                    if s.to == Health::Suspected && s.cause != Cause::Crashed {
                        self.emit(ClusterEvent::Suspected { rank: s.rank });
                    }
                }
                self.keep_core_event(ev);
            }
            let Some(a) = self.coord.poll_action() else {
                break;
            };
            match a {
                Action::AcquireFence(job) => self.acquire(now, job),
                Action::ReleaseFence(rel) => self.release(now, rel),
                Action::RunPhase(job) => {
                    self.emit(ClusterEvent::Phase {
                        rank: job.rank,
                        token: job.fence,
                        phase: job.phase.name().to_owned(),
                    });
                    self.hooks.push_back(Hook::RunPhase {
                        job,
                        token: job.fence,
                    });
                }
                Action::PauseBalancer => {
                    self.coord_paused.0 = true;
                    self.sync_hooks();
                }
                Action::ResumeBalancer => {
                    self.coord_paused.0 = false;
                    self.sync_hooks();
                }
                Action::PauseGhostSync => {
                    self.coord_paused.1 = true;
                    self.sync_hooks();
                }
                Action::ResumeGhostSync => {
                    self.coord_paused.1 = false;
                    self.sync_hooks();
                }
                Action::CancelRecovery(_) => {}
            }
        }
        while let Some(ev) = self.coord.poll_event() {
            self.keep_core_event(ev);
        }
    }
}
