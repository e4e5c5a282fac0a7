//! [`ForestHooks`] (what the embedder's forest does on the driver's behalf) and [`PhaseIo`]
//! (the token-fenced writes a recovery phase may make).
//!
//! Invariant: every write through a [`PhaseIo`] carries the recovery's fencing token and is
//! a Txn that compares `create_revision(recovery/lock/<rank>) == token`; none is sent after
//! the process's self-fence deadline.

use ftforest_core::coord::{Event, PhaseJob};

use crate::error::WriteError;

/// The embedder's forest. Called from the driver's blocking threads, never under its locks.
pub trait ForestHooks: Send + Sync + 'static {
    /// Run one recovery phase of `job.rank` (on a blocking thread). `io.token()` is the fence
    /// of this recovery (equal to `job.fence` once the core carries it). Return `Err(())` to
    /// fail the attempt (it is retried with backoff by the coordinator).
    #[allow(clippy::result_unit_err)]
    fn run_phase(&self, job: PhaseJob, io: &PhaseIo) -> Result<(), ()>;
    /// Pause the cross-partition balancer (cluster-wide pause or local recovery mode).
    fn pause_balancer(&self) {}
    /// Resume the balancer.
    fn resume_balancer(&self) {}
    /// Pause ghost synchronisation.
    fn pause_ghost_sync(&self) {}
    /// Resume ghost synchronisation.
    fn resume_ghost_sync(&self) {}
    /// One event of this process's coordinator (status changes, recovery phases, recoveries
    /// finished, escalations, quorum, fences, availability: what a local forest's listeners
    /// get), each exactly once, in the coordinator's order. Called on the driver loop's task
    /// (a tokio worker thread), never under the driver's locks, after the
    /// [`ClusterEvent`](crate::ClusterEvent)s of the same pass were published; events of one
    /// member never overlap. Must return promptly and must not block (the loop, keepalives
    /// included, waits for it): hand the event to another thread. Default: nothing.
    fn on_core_event(&self, _event: &Event) {}
}

/// The fenced I/O handle of one phase: writes go to `store/<rank>` only if the recovery's
/// lock is still ours (`create_revision(lock) == token`).
pub struct PhaseIo {
    pub(crate) rank: u32,
    pub(crate) token: u64,
    pub(crate) inner: Box<dyn PhaseBackend>,
}

/// What a [`PhaseIo`] needs from the driver (kept private to the crate's drivers).
pub(crate) trait PhaseBackend: Send + Sync {
    fn put(&self, rank: u32, token: u64, value: Vec<u8>) -> Result<u64, WriteError>;
    fn get(&self, rank: u32) -> Result<Option<Vec<u8>>, WriteError>;
}

impl PhaseIo {
    /// The rank being recovered.
    pub fn rank(&self) -> u32 {
        self.rank
    }
    /// The recovery's fencing token (the lock Txn's revision).
    pub fn token(&self) -> u64 {
        self.token
    }
    /// Token-fenced write of `store/<rank>`; returns the write's etcd revision. Refused with
    /// [`WriteError::StaleFence`] once another recoverer took over, and
    /// [`WriteError::SelfFenced`] past the local deadline. Blocks (call it from the phase).
    pub fn put(&self, rank: u32, value: impl Into<Vec<u8>>) -> Result<u64, WriteError> {
        self.inner.put(rank, self.token, value.into())
    }
    /// Reads `store/<rank>` (linearizable), e.g. the dead rank's data in REDISTRIBUTING.
    pub fn get(&self, rank: u32) -> Result<Option<Vec<u8>>, WriteError> {
        self.inner.get(rank)
    }
}

impl core::fmt::Debug for PhaseIo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PhaseIo")
            .field("rank", &self.rank)
            .field("token", &self.token)
            .finish()
    }
}
