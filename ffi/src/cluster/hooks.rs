//! The attached forest's C callbacks as the cluster's `ForestHooks`.
//!
//! Invariants: each hook holds a counted reference to the forest (`ForestRef`), so the
//! forest's callbacks (and their `userdata`, finalized only when the forest closes) stay
//! valid while any cluster thread can still call them, even after `ftf_cluster_free` handed
//! the teardown off; `run_phase` gets `job->fence` = the recovery's token (never 0); the
//! pause/resume hooks run on the member's hook thread (off the driver loop) with the
//! cluster-hook flag set (`threads.rs`), so blocking and waiting calls from them are
//! refused (`FTF_BUSY`) instead of deadlocking on the pause that waits for the hook.

use ftforest_cluster::{ForestHooks, PhaseIo};
use ftforest_core::coord::{Event, PhaseJob, Recovery};

use super::threads;
use crate::forest::ForestRef;

/// `ForestHooks` over an attached `ftf_forest`'s `ftf_recovery_callbacks`.
pub(crate) struct CHooks {
    pub(crate) forest: ForestRef,
    /// Hands the member coordinator's events to the dispatcher (the forest's listeners).
    pub(crate) core_events: super::events::CoreSink,
}

impl ForestHooks for CHooks {
    fn run_phase(&self, job: PhaseJob, io: &PhaseIo) -> Result<(), ()> {
        let mut job = job;
        // The core carries the token in `fence`; the driver's is authoritative.
        job.fence = io.token();
        let ok = threads::on_callback(|| self.forest.monitor.recovery().phase(&job));
        if ok {
            Ok(())
        } else {
            Err(())
        }
    }
    fn pause_balancer(&self) {
        threads::in_cluster_hook(|| self.forest.monitor.recovery().pause_balancer())
    }
    fn resume_balancer(&self) {
        threads::in_cluster_hook(|| self.forest.monitor.recovery().resume_balancer())
    }
    fn pause_ghost_sync(&self) {
        threads::in_cluster_hook(|| self.forest.monitor.recovery().pause_ghost_sync())
    }
    fn resume_ghost_sync(&self) {
        threads::in_cluster_hook(|| self.forest.monitor.recovery().resume_ghost_sync())
    }
    fn on_core_event(&self, event: &Event) {
        self.core_events.send(*event);
    }
}
