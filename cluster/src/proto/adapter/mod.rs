//! [`Adapter`]: one process's sans-io cluster state machine.
//!
//! It owns the process's `Coordinator` (fenced, no local confirmation, all n ranks) and
//! translates in both directions:
//!
//! * inputs: [`handle_result`](Adapter::handle_result) (the answer to an op it emitted, or
//!   its ambiguity), [`handle_watch`](Adapter::handle_watch) (watch events, compaction,
//!   a broken stream), [`phase_done`](Adapter::phase_done), [`tick`](Adapter::tick) (time),
//!   and the commands [`leave`](Adapter::leave), [`set_drop_keepalives`](Adapter::set_drop_keepalives);
//!   every one takes `now` (monotonic, the caller's clock);
//! * outputs, pulled: [`poll_op`](Adapter::poll_op) (requests to send; answer each exactly
//!   once), [`poll_watch`](Adapter::poll_watch) (create the watch from this revision),
//!   [`poll_hook`](Adapter::poll_hook) (embedder work: phases, balancer/ghost pause),
//!   [`poll_event`](Adapter::poll_event) ([`ClusterEvent`]s),
//!   [`poll_core_event`](Adapter::poll_core_event) (the coordinator's own events, for the
//!   embedder's forest listeners), [`poll_timeout`](Adapter::poll_timeout).
//!
//! After every input drain all five `poll_*` queues, then sleep until `poll_timeout` or the
//! next input.
//!
//! # Invariants (checked per step by the seeded simulation)
//!
//! * Failure detection: `Report::crashed(r)` is fed only for a member-key deletion whose
//!   deleted create revision equals the incarnation this process knew for `r` (a stale or
//!   duplicate deletion is dropped), and never for a graceful leave (`epoch/r = left` in the
//!   same revision).
//! * No fenced write (phase write, ack, completion, give-up, owner write) is emitted once the
//!   local deadline (send time of the last acknowledged keepalive + TTL − margin) passed.
//! * A fence is granted to the coordinator only for a lock whose own Txn read partition
//!   quorum before its puts (or, its answer lost, whose read-back found it held with
//!   quorum), and only after every live process acknowledged the cluster-wide pause of that
//!   token (or the pause policy `Proceed` decided at the timeout); the lock, its slot and
//!   the pause key are one Txn, so the token is also the pause key's create revision. A lock
//!   without quorum is given up at once.
//! * Every ambiguous Txn is resolved by a read-back; a retry is always compare-guarded.

mod avail;
mod drive;
mod fence;
pub(crate) mod lease;
mod pause;
mod release;
mod start;
mod watch;
mod write;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use ftforest_core::coord::{BoxedCoordinator, Config as CoreConfig, Event, OpGate, PhaseJob};
use ftforest_core::Instant;

use super::event::ClusterEvent;
use super::keys::Keys;
use super::ops::{OpError, OpId, OpResult, Request, Rev, WatchInput};
use super::params::Params;
use super::view::View;
use crate::config::{ClusterConfig, PausePolicy};
use crate::error::ClusterError;
use crate::stats::ClusterStats;

pub use fence::FenceStage;
use lease::Lease;
use pause::LocalPause;

/// Recovery slots of the core coordinator (K must not exceed it).
pub const MAX_K: u32 = 8;

/// Coordinator events kept for [`Adapter::poll_core_event`] between two drains (a recovery
/// emits a few dozen; the driver drains after every input, so this bound is only reached by
/// an embedder that never polls them).
pub const CORE_EVENT_CAP: usize = 4096;

/// What the adapter needs to know (derived from a [`ClusterConfig`]).
#[derive(Clone, Debug)]
pub struct AdapterConfig {
    /// This process.
    pub proc_id: String,
    /// `procs/<proc>` value (e.g. `pid=123 ranks=0,1`).
    pub info: String,
    /// Ranks to register at start.
    pub ranks: Vec<u32>,
    /// Shared parameters.
    pub params: Params,
    /// Key prefix.
    pub prefix: String,
    /// Cluster-wide pause timeout (recoverer side).
    pub pause_timeout: core::time::Duration,
    /// What the pause timeout does.
    pub pause_policy: PausePolicy,
    /// Self-fence margin.
    pub margin: core::time::Duration,
    /// Local quiescence wait after which `QuiescenceOverdue` is emitted (no ack is sent
    /// while operations are in flight).
    pub quiescence_timeout: core::time::Duration,
    /// Consecutive failed requests after which etcd counts as unavailable.
    pub unavailable_after: u32,
    /// The coordinator's configuration (fenced, no local confirmation).
    pub core: CoreConfig,
}

impl AdapterConfig {
    /// From a driver configuration; `info` goes into `procs/<proc>`.
    pub fn from_cluster(c: &ClusterConfig, info: String) -> Result<AdapterConfig, ClusterError> {
        let core = CoreConfig::builder()
            .fenced(true)
            .local_confirmation(false)
            .max_concurrent(c.k())
            .build()
            .map_err(|e| ClusterError::Etcd(format!("core config: {e:?}")))?;
        Ok(AdapterConfig {
            proc_id: c.proc_id().to_owned(),
            info,
            ranks: c.ranks().to_vec(),
            params: c.params(),
            prefix: c.prefix().to_owned(),
            pause_timeout: c.pause_timeout(),
            pause_policy: c.pause_policy(),
            margin: c.self_fence_margin(),
            quiescence_timeout: c.quiescence_timeout(),
            unavailable_after: 3,
            core,
        })
    }
}

/// Work for the embedder (its forest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hook {
    /// Run this phase (its `fence` is the token), then call [`Adapter::phase_done`].
    RunPhase {
        /// The job.
        job: PhaseJob,
        /// The recovery's fencing token.
        token: Rev,
    },
    /// Pause the balancer.
    PauseBalancer,
    /// Resume the balancer.
    ResumeBalancer,
    /// Pause ghost sync.
    PauseGhostSync,
    /// Resume ghost sync.
    ResumeGhostSync,
}

/// Where the adapter is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Granting the lease, checking the config, registering.
    Starting,
    /// Registered and watching.
    Running,
    /// Leaving gracefully.
    Leaving,
    /// Stopped: `None` after a graceful leave, else why.
    Stopped(Option<ClusterError>),
}

/// Why an op was sent (routes its answer).
#[derive(Clone, Debug)]
pub(crate) enum Pending {
    Grant,
    Config,
    ProcPut,
    InitialList,
    /// The one registration Txn of every hosted rank: `(rank, epoch_mod)` each.
    Register {
        regs: Vec<(u32, Rev)>,
    },
    RegisterReadBack {
        regs: Vec<(u32, Rev)>,
    },
    KeepAlive {
        sent: Instant,
    },
    Relist,
    Lock {
        rank: u32,
        slot: u32,
        left: Vec<u32>,
        epoch_mod: Rev,
    },
    LockReadBack {
        rank: u32,
    },
    Complete {
        rank: u32,
        token: Rev,
        slot: u32,
    },
    CompleteReadBack {
        rank: u32,
        token: Rev,
        slot: u32,
    },
    GiveUp {
        rank: u32,
        token: Rev,
        slot: u32,
    },
    GiveUpReadBack {
        rank: u32,
        token: Rev,
        slot: u32,
    },
    Ack {
        rank: u32,
        token: Rev,
        in_flight: u32,
    },
    Leave {
        rank: u32,
        /// Re-sent after an ambiguous or failed answer.
        resent: bool,
    },
    Revoke,
}

/// One process's cluster state machine (see the module docs).
pub struct Adapter<G: OpGate + Clone> {
    pub(crate) cfg: AdapterConfig,
    pub(crate) keys: Keys,
    pub(crate) coord: BoxedCoordinator<G>,
    pub(crate) gate: G,
    pub(crate) view: View,
    pub(crate) status: Status,
    pub(crate) lease: Lease,
    next_op: OpId,
    pub(crate) pending: BTreeMap<OpId, Pending>,
    ops: VecDeque<(OpId, Request)>,
    pub(crate) delayed: Vec<(Instant, Pending, Request)>,
    events: VecDeque<ClusterEvent>,
    /// The coordinator's events, oldest first, at most [`CORE_EVENT_CAP`] (beyond: the
    /// oldest is dropped and counted in `stats.core_events_dropped`).
    core_events: VecDeque<Event>,
    pub(crate) hooks: VecDeque<Hook>,
    pub(crate) watch_from: Option<Rev>,
    /// Known incarnation (member key create revision) per rank.
    pub(crate) inc: Vec<Option<Rev>>,
    /// The last incarnation that failed, per rank.
    pub(crate) failed_inc: Vec<Option<Rev>>,
    pub(crate) hosted: BTreeSet<u32>,
    pub(crate) fences: BTreeMap<u32, fence::Fence>,
    pub(crate) pauses: BTreeMap<u32, LocalPause>,
    /// Balancer / ghost-sync pause as the coordinator asked for it.
    pub(crate) coord_paused: (bool, bool),
    /// What the embedder was last told.
    pub(crate) told_paused: (bool, bool),
    pub(crate) available: bool,
    pub(crate) failures: u32,
    pub(crate) pending_join: BTreeSet<u32>,
    pub(crate) registering: BTreeSet<u32>,
    /// Ranks of a graceful leave whose `left` mark is not confirmed yet (set when the leave
    /// begins; a confirmed mark removes the rank).
    pub(crate) unmarked: BTreeSet<u32>,
    /// A leave Txn was refused by its incarnation compare (the rank was no longer ours).
    pub(crate) leave_refused: bool,
    pub(crate) stats: ClusterStats,
    pub(crate) next_seq: u64,
    pub(crate) now: Instant,
    /// Highest revision seen in any answer (header revisions).
    pub(crate) seen_rev: Rev,
    /// Since when the view lags behind `seen_rev` (a silent dead watch, etcd-client#48).
    pub(crate) lag_since: Option<Instant>,
    /// Back-off before the next watch re-creation (zero: at once).
    pub(crate) watch_backoff: core::time::Duration,
    /// A watch re-creation waiting for its back-off.
    pub(crate) watch_restart_at: Option<Instant>,
}

impl<G: OpGate + Clone> Adapter<G> {
    /// A new adapter; its first op (the lease grant) is ready in `poll_op`. `gate` is the
    /// local operation gate (shared with the forest's threads).
    pub fn new(cfg: AdapterConfig, gate: G, now: Instant) -> Result<Self, ClusterError> {
        let n = cfg.params.n;
        // The builder's checks, for a hand-made config: `inc` is `n` long and the lock
        // value is split on spaces.
        crate::config::check_n(n).map_err(ClusterError::Config)?;
        crate::config::check_proc_id(&cfg.proc_id).map_err(ClusterError::Config)?;
        if cfg.params.ttl_ms > crate::config::MAX_TTL.as_millis() as u64 {
            return Err(ClusterError::Config(crate::config::ConfigError::TtlTooLong));
        }
        if cfg.params.k > MAX_K {
            return Err(ClusterError::Config(crate::config::ConfigError::BadK {
                k: cfg.params.k,
            }));
        }
        let coord = BoxedCoordinator::new_boxed(cfg.core, n, gate.clone(), now)
            .map_err(|e| ClusterError::Etcd(format!("coordinator: {e:?}")))?;
        let keys = Keys::new(&cfg.prefix);
        let mut a = Adapter {
            keys,
            coord,
            gate,
            view: View::default(),
            status: Status::Starting,
            lease: Lease::new(),
            next_op: 1,
            pending: BTreeMap::new(),
            ops: VecDeque::new(),
            delayed: Vec::new(),
            events: VecDeque::new(),
            core_events: VecDeque::new(),
            hooks: VecDeque::new(),
            watch_from: None,
            inc: vec![None; n as usize],
            failed_inc: vec![None; n as usize],
            hosted: BTreeSet::new(),
            fences: BTreeMap::new(),
            pauses: BTreeMap::new(),
            coord_paused: (false, false),
            told_paused: (false, false),
            available: true,
            failures: 0,
            pending_join: BTreeSet::new(),
            registering: BTreeSet::new(),
            unmarked: BTreeSet::new(),
            leave_refused: false,
            stats: ClusterStats {
                available: true,
                ..ClusterStats::default()
            },
            next_seq: 1,
            now,
            seen_rev: 0,
            lag_since: None,
            watch_backoff: core::time::Duration::ZERO,
            watch_restart_at: None,
            cfg,
        };
        let ttl_ms = a.cfg.params.ttl_ms;
        a.lease.grant_sent = now;
        a.send(Pending::Grant, Request::LeaseGrant { ttl_ms });
        Ok(a)
    }

    // ---- getters -------------------------------------------------------------------

    /// Where the adapter is in its life.
    pub fn status(&self) -> &Status {
        &self.status
    }
    /// The process id.
    pub fn proc_id(&self) -> &str {
        &self.cfg.proc_id
    }
    /// The key layout.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }
    /// The lease (0 before it is granted).
    pub fn lease_id(&self) -> i64 {
        self.lease.id
    }
    /// The outcome of the graceful [`leave`](Self::leave), once it stopped the adapter:
    /// `Ok` when every rank hosted when it began was marked `left` (or no leave began),
    /// else [`ClusterError::NotAllLeft`] naming the others (the lease was revoked anyway,
    /// so the other processes see those ranks FAILED).
    pub fn leave_result(&self) -> Result<(), ClusterError> {
        if self.unmarked.is_empty() {
            return Ok(());
        }
        Err(ClusterError::NotAllLeft {
            ranks: self.unmarked.iter().copied().collect(),
            stale: self.leave_refused,
        })
    }
    /// Ranks hosted now.
    pub fn hosted(&self) -> Vec<u32> {
        self.hosted.iter().copied().collect()
    }
    /// The incarnation this process knows for `rank` (None: not a live member in its view).
    pub fn incarnation(&self, rank: u32) -> Option<Rev> {
        self.inc.get(rank as usize).copied().flatten()
    }
    /// The coordinator (read-only: health, stats, level).
    pub fn coordinator(&self) -> &BoxedCoordinator<G> {
        &self.coord
    }
    /// The recoverer-side state of `rank`'s fence, if this process is acquiring or holds it.
    pub fn fence_stage(&self, rank: u32) -> Option<FenceStage> {
        self.fences.get(&rank).map(|f| f.stage.clone())
    }
    /// Tokens of the cluster-wide pauses this process currently honours, by rank.
    pub fn local_pauses(&self) -> Vec<(u32, Rev, bool)> {
        self.pauses
            .iter()
            .map(|(r, p)| (*r, p.token, p.acked))
            .collect()
    }
    /// Whether a fenced write may be sent now (lease alive, before the local deadline).
    pub fn may_write(&self, now: Instant) -> bool {
        self.lease.may_write(now)
    }
    /// The local deadline (send time of the last acknowledged keepalive + TTL − margin).
    pub fn deadline(&self) -> Instant {
        self.lease.deadline
    }
    /// A snapshot of the counters.
    pub fn stats(&self) -> ClusterStats {
        self.stats
    }
    /// Requests sent and not answered yet (or not polled yet).
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty() || !self.ops.is_empty()
    }
    /// The local view (watch image).
    pub fn view(&self) -> &View {
        &self.view
    }

    // ---- outputs -------------------------------------------------------------------

    /// The next request to send; answer it exactly once with [`handle_result`](Self::handle_result).
    #[must_use]
    pub fn poll_op(&mut self) -> Option<(OpId, Request)> {
        self.ops.pop_front()
    }
    /// `Some(rev)`: (re)create the prefix watch starting at `rev` (cancel any older one).
    #[must_use]
    pub fn poll_watch(&mut self) -> Option<Rev> {
        self.watch_from.take()
    }
    /// The next embedder hook.
    #[must_use]
    pub fn poll_hook(&mut self) -> Option<Hook> {
        self.hooks.pop_front()
    }
    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ClusterEvent> {
        self.events.pop_front()
    }
    /// The next event of this process's coordinator (status changes, recovery phases,
    /// recoveries finished, escalations, quorum, fences, ...), in the order it emitted them.
    /// Kept for the embedder's forest listeners; at most [`CORE_EVENT_CAP`] wait here (drain
    /// after every input, like [`poll_event`](Self::poll_event)): past that the oldest is
    /// dropped and counted in [`ClusterStats::core_events_dropped`].
    #[must_use]
    pub fn poll_core_event(&mut self) -> Option<Event> {
        self.core_events.pop_front()
    }
    /// When to call [`tick`](Self::tick) next (None: only on input).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if matches!(self.status, Status::Stopped(_)) {
            return None;
        }
        let mut t = self.lease.next_timeout();
        let mut min = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t: Instant| if x < t { x } else { t }));
            }
        };
        min(self.coord.poll_timeout());
        min(self.lag_since.map(|t| t.saturating_add(watch::WATCH_STALL)));
        min(self.watch_restart_at);
        for (at, _, _) in &self.delayed {
            min(Some(*at));
        }
        for f in self.fences.values() {
            if let FenceStage::Pausing { since, .. } = f.stage {
                min(Some(since.saturating_add(self.cfg.pause_timeout)));
            }
        }
        for p in self.pauses.values() {
            if !p.acked && p.ack_op.is_none() {
                // Polling for quiescence (or waiting out a failed ack's back-off).
                let poll = self
                    .now
                    .saturating_add(core::time::Duration::from_millis(2));
                min(Some(if p.not_before > poll {
                    p.not_before
                } else {
                    poll
                }));
            }
        }
        t
    }

    // ---- inputs --------------------------------------------------------------------

    /// The answer to op `id` (`Err`: no answer; `Ambiguous` = it may have been applied).
    /// Unknown ids are ignored.
    pub fn handle_result(&mut self, now: Instant, id: OpId, res: Result<OpResult, OpError>) {
        let now = self.advance(now);
        let Some(p) = self.pending.remove(&id) else {
            return;
        };
        match &res {
            Ok(r) => {
                self.on_success(now);
                if let OpResult::Txn { revision, .. }
                | OpResult::Range { revision, .. }
                | OpResult::KeepAlive { revision, .. } = r
                {
                    self.saw_revision(now, *revision);
                }
            }
            Err(e) => self.on_failure(now, *e),
        }
        self.route(now, p, res);
        self.drive(now);
    }

    /// Watch input.
    pub fn handle_watch(&mut self, now: Instant, input: WatchInput) {
        let now = self.advance(now);
        self.on_watch(now, input);
        self.drive(now);
    }

    /// The embedder finished `job` (`ok`: the phase succeeded).
    pub fn phase_done(&mut self, now: Instant, job: PhaseJob, ok: bool) {
        let now = self.advance(now);
        let _ = self
            .coord
            .phase_done(now, job.rank, job.attempt, job.phase, ok);
        self.drive(now);
    }

    /// Time passes: keepalives, self-fence deadline, pause timeouts, quiescence, retries,
    /// the coordinator's own timers.
    pub fn tick(&mut self, now: Instant) {
        let now = self.advance(now);
        self.lease_tick(now);
        let due: Vec<(Instant, Pending, Request)> = {
            let (due, later): (Vec<_>, Vec<_>) =
                self.delayed.drain(..).partition(|(at, _, _)| *at <= now);
            self.delayed = later;
            due
        };
        for (_, p, r) in due {
            self.resend(p, r);
        }
        self.pause_tick(now);
        self.fence_tick(now);
        self.release_tick(now);
        self.watch_tick(now);
        self.coord.tick(now);
        self.drive(now);
    }

    /// A local observation about a partition (barrier timeout, ghost-sync failure, heartbeat,
    /// or their successes). With `local_confirmation(false)` it can raise SUSPECTED (a
    /// [`ClusterEvent::Suspected`]) or clear it, never FAILED: only etcd's member-key
    /// deletion fails a partition. `Report::crashed` is refused here (`false`): a crash is
    /// etcd's to confirm. Returns whether the coordinator took the report.
    pub fn report(&mut self, now: Instant, report: ftforest_core::coord::Report) -> bool {
        let now = self.advance(now);
        if report.kind == ftforest_core::coord::ReportKind::Crashed {
            return false;
        }
        let ok = self.coord.handle_report(now, report).is_ok();
        self.drive(now);
        ok
    }

    /// Fault injection: stop (or restart) sending keepalives.
    pub fn set_drop_keepalives(&mut self, drop: bool) {
        self.lease.drop_keepalives = drop;
    }

    /// Graceful leave: every hosted rank is marked `left` (one Txn each, fenced on its
    /// incarnation), then the lease is revoked; `Stopped(None)` when done.
    pub fn leave(&mut self, now: Instant) {
        let now = self.advance(now);
        self.begin_leave(now);
        self.drive(now);
    }

    // ---- shared helpers ------------------------------------------------------------

    fn advance(&mut self, now: Instant) -> Instant {
        if now > self.now {
            self.now = now;
        }
        self.now
    }

    pub(crate) fn emit(&mut self, e: ClusterEvent) {
        self.events.push_back(e);
    }

    /// Keeps one coordinator event for [`poll_core_event`](Self::poll_core_event) (bounded:
    /// never blocks, never grows past [`CORE_EVENT_CAP`]).
    pub(crate) fn keep_core_event(&mut self, e: Event) {
        if self.core_events.len() >= CORE_EVENT_CAP {
            self.core_events.pop_front();
            self.stats.core_events_dropped += 1;
        }
        self.core_events.push_back(e);
    }

    pub(crate) fn send(&mut self, p: Pending, r: Request) -> OpId {
        let id = self.next_op;
        self.next_op += 1;
        self.stats.requests += 1;
        self.pending.insert(id, p);
        self.ops.push_back((id, r));
        id
    }

    /// Sends again after a delay (compare-guarded ops and reads only).
    pub(crate) fn retry_later(&mut self, now: Instant, p: Pending, r: Request) {
        self.delayed.push((
            now.saturating_add(core::time::Duration::from_millis(100)),
            p,
            r,
        ));
    }

    fn resend(&mut self, p: Pending, r: Request) {
        self.send(p, r);
    }

    fn route(&mut self, now: Instant, p: Pending, res: Result<OpResult, OpError>) {
        match p {
            Pending::Grant
            | Pending::Config
            | Pending::ProcPut
            | Pending::InitialList
            | Pending::Register { .. }
            | Pending::RegisterReadBack { .. } => self.on_start_result(now, p, res),
            Pending::KeepAlive { sent } => self.on_keepalive(now, sent, res),
            Pending::Relist => self.on_relist(now, res),
            Pending::Lock { .. }
            | Pending::LockReadBack { .. }
            | Pending::Complete { .. }
            | Pending::CompleteReadBack { .. }
            | Pending::GiveUp { .. }
            | Pending::GiveUpReadBack { .. } => self.on_fence_result(now, p, res),
            Pending::Ack {
                rank,
                token,
                in_flight,
            } => self.on_ack_result(now, rank, token, in_flight, res),
            Pending::Leave { .. } | Pending::Revoke => self.on_leave_result(now, p, res),
        }
    }
}
