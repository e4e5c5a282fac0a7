//! Dropping a coordinator: it gives back what it holds in objects that outlive it.
//!
//! The lock slots, queue slots and the operation gate are shared with the caller (caller
//! storage, a `&Tracker` or `Arc<Tracker>`). A coordinator that is dropped with recoveries in
//! progress would otherwise leave permits in the lock storage (refused by the next
//! coordinator's `RecoveryLock::new` as `StorageInUse`), ranks in the queue storage, and the
//! forest paused for good. Health cells are left as they are: a successor adopts them
//! (`Coordinator::new`: RECOVERING cells are failed and scheduled again).
//!
//! Why this releases exactly the permits the coordinator holds: every permit it takes is
//! turned into a token by `Scheduler::promote` and, in the same call (`start_attempt`),
//! either stored in a recovery slot (`Waiting`, later `Running`, `Aborting` or `Cancelling`)
//! or released; `release_slot` and `acknowledge` give it back before a slot becomes `Free`.
//! So the tokens in the occupied slots are all of them (an abandoned attempt whose cancel
//! was never acknowledged included: dropping the coordinator is the one other way its
//! permit and pause are given back), each released once (a token
//! released twice would be refused as `NotHolder`, never free another holder's slot), and
//! each release bumps the lock's wait word (a thread in `acquire_wait` is woken).
//! Drop needs `&mut self`, so no input of this coordinator runs meanwhile; an embedder phase
//! still running on its own thread simply finds no coordinator to report to. (The std
//! `Monitor` keeps its coordinator in an `Arc` shared with its threads: it is dropped only
//! after every worker has finished its phase and let go of it.)

use super::coordinator::{Coordinator, RecState};
use super::detect::PartitionSlot;
use super::gate::OpGate;
use crate::health::HealthCell;
use crate::lock::LockSlot;
use crate::queue::QueueSlot;

impl<H, L, Q, P, G, const R: usize, const E: usize, S> Drop for Coordinator<H, L, Q, P, G, R, E, S>
where
    H: AsRef<[HealthCell]>,
    L: AsRef<[LockSlot]>,
    Q: AsRef<[QueueSlot]>,
    P: AsRef<[PartitionSlot]> + AsMut<[PartitionSlot]>,
    G: OpGate,
{
    /// Give back what the coordinator holds in shared objects: its recovery permits, its
    /// queued ranks (so the lock and queue storage can serve a successor) and its pause of
    /// the operation gate (a dropped coordinator can never resume the forest). Health cells
    /// are left as they are: a successor adopts them (see `new`).
    fn drop(&mut self) {
        for s in &self.recs {
            if s.state != RecState::Free {
                let _ = self.sched.release(s.permit);
            }
        }
        while self.sched.queue().pop().is_some() {}
        if let Some(t) = self.pause_token.take() {
            let _ = self.gate.reopen(t);
        }
    }
}
