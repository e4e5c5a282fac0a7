//! The coordinator: the sans-io driver of detection, decisions, recovery and events.
//!
//! # Shape (quinn-proto's four kinds of method)
//!
//! * inputs: [`handle_report`](Coordinator::handle_report), [`tick`](Coordinator::tick),
//!   [`phase_done`](Coordinator::phase_done), [`cancel_done`](Coordinator::cancel_done) (the
//!   cancel handshake, `recovery.rs`), and the commands [`retry`](Coordinator::retry),
//!   [`join`](Coordinator::join) and [`leave`](Coordinator::leave) (runtime membership,
//!   `membership.rs`); each takes `now`;
//! * outputs, pulled: [`poll_action`](Coordinator::poll_action) (work for the embedder),
//!   [`poll_event`](Coordinator::poll_event) (news for observers),
//!   [`poll_timeout`](Coordinator::poll_timeout) (when to call `tick` next);
//! * getters on `&self`: [`health`](Coordinator::health), [`stats`](Coordinator::stats),
//!   [`partition_stats`](Coordinator::partition_stats), [`level`](Coordinator::level),
//!   [`alerts`](Coordinator::alerts), …; the command
//!   [`set_alert_thresholds`](Coordinator::set_alert_thresholds).
//!
//! After every input, drain `poll_action` and `poll_event`, then sleep until `poll_timeout`
//! (or the next input) and call `tick`. Calling `tick` early or twice is a no-op ("spurious
//! ticks are harmless"); calling it late only delays what was due.
//!
//! # Backpressure: no event is ever dropped
//!
//! Events go to a bounded outbox of `E` slots. Every transition emits exactly one event and
//! none is dropped: the coordinator works in *steps* (one report, one phase completion, one
//! partition of a tick's scan, one attempt started, failed or joined, …), each of which
//! emits at most [`MAX_EVENTS_PER_STEP`] events, and it starts a step only when the outbox
//! has that much room:
//!
//! * the inputs `handle_report`, `phase_done`, `retry`, `join` and `leave` check first and,
//!   without room, return their `OutboxFull` error **without changing anything**: drain
//!   `poll_event` and call again ([`Coordinator::has_outbox_room`] tells beforehand);
//! * the work that follows an input (starting queued recoveries, completing a pause, …) and
//!   `tick`'s work stop early when room runs out and leave the rest for the next `tick`;
//!   [`poll_timeout`](Coordinator::poll_timeout) then returns "now" until it is done. Nothing
//!   is lost or reordered, only delayed until the embedder drains the outbox.
//!
//! `new` refuses an `E` below [`MAX_EVENTS_PER_STEP`]. With the default `E = 256` a
//! coordinator drained after every input (the documented loop) never defers anything.
//!
//! # Time
//!
//! The coordinator never reads a clock. It keeps the largest `now` it was given and uses
//! `max(now, that)`: a backward clock step reads as zero elapsed time (no negative duration,
//! no panic: B14); a forward jump makes everything that became due happen in that call, in
//! rank order (SUSPECTED partitions past their confirmation become FAILED, and so on). A
//! deadline that saturates at [`Instant::MAX`] (the clock at the top of its range) lies past
//! the end of the time line: it never fires and `poll_timeout` does not name it (so a driver
//! near the top neither cancels attempts as they start nor spins on "now").
//!
//! # Concurrency contract
//!
//! Inputs and polls take `&mut self`: one caller at a time. To drive it from several threads,
//! wrap it in a mutex and deliver the polled actions and events *after* releasing the mutex
//! (the std `Monitor` does exactly this, so listeners and embedder hooks never run under the
//! coordinator's lock, B20). The operation gate (the shared tracker) is the one object used
//! concurrently: forest threads `begin`/`end` operations on it while the coordinator closes
//! it and checks quiescence. Getters take `&self`.
//!
//! # Memory per partition
//!
//! [`BYTES_PER_PARTITION`] = 4 (health cell) + 4 (lock slot) + 4 (queue ring entry) + 40
//! ([`PartitionSlot`], three per-signal failure streaks included) = 52 bytes, plus one
//! queue-membership bit (4/32 byte), all in caller storage. 65,536 partitions: 3.3 MiB.
//! Per-partition statistics are optional: 48 more bytes ([`PartitionStatsSlot`]) per
//! partition with [`Coordinator::new_with_stats`] (the boxed coordinator keeps them: 3 MiB
//! more for 65,536), none with [`Coordinator::new`]. The coordinator's own size is fixed (it
//! grows with `R` recovery slots and `E` event slots, not with `n`).

use super::action::{Action, Hooks, PhaseJob};
#[cfg(feature = "fence")]
use super::action::{FenceJob, FenceRelease};
use super::config::Config;
use super::config_error::{ConfigError, ConfigField, ConfigReason};
use super::detect::PartitionSlot;
use super::error::NewError;
use super::event::{Cause, Event, Outbox, QuorumChange, StatusChange, MAX_EVENTS_PER_STEP};
use super::gate::OpGate;
use super::level::AlertThresholds;
use super::level::{alerts, health_level, AlertInput, Alerts, HealthLevel};
use super::mode::RecoveryMode;
use super::phase::{Phase, PhaseMachine};
use super::pstats::{
    NoPartitionStats, PartitionStats, PartitionStatsError, PartitionStatsSlot,
    PartitionStatsStorage,
};
use super::report::{Report, ReportError, ReportOutcome, ReportSink};
use super::sched::Scheduler;
use super::stats::{Counters, Stats};
use crate::health::{Health, HealthCell};
use crate::lock::{LockSlot, PermitToken, RecoveryLock};
use crate::queue::{QueueSlot, RecoveryQueue};
use crate::table::{Counts, PartitionTable, RankError};
use crate::time::Instant;
use crate::tracker::PauseToken;

/// Bytes of caller storage per partition (see the module docs); the queue's membership bit
/// adds `1/8` byte more.
pub const BYTES_PER_PARTITION: usize = core::mem::size_of::<HealthCell>()
    + core::mem::size_of::<LockSlot>()
    + core::mem::size_of::<QueueSlot>()
    + core::mem::size_of::<PartitionSlot>();

/// The caller storage of a coordinator.
///
/// * `cells`: at least `n` [`HealthCell`]s;
/// * `locks`: at least `n` [`LockSlot`]s;
/// * `queue`: at least [`queue_storage_len(n, n)`](crate::queue_storage_len) [`QueueSlot`]s
///   (a queue that can hold every partition never overflows);
/// * `slots`: at least `n` [`PartitionSlot`]s.
///
/// Arrays (`static` ones too: every cell type has a `const fn new`), borrowed slices and
/// boxes all work.
#[derive(Debug)]
pub struct Storage<H, L, Q, P> {
    /// Health cells.
    pub cells: H,
    /// Recovery-lock slots.
    pub locks: L,
    /// Recovery-queue slots.
    pub queue: Q,
    /// Coordinator state per partition.
    pub slots: P,
}

/// State of one recovery slot.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum RecState {
    Free,
    /// Fenced configurations: holds the lock permit, waits for its fence (`pending`: the
    /// `AcquireFence` was not handed out yet; `deadline`: when the wait is abandoned). The
    /// partition is still FAILED and nothing is paused (`fence.rs`).
    Fencing,
    /// Holds the lock, waits for recovery mode (the pause).
    Waiting,
    /// Inside recovery mode, running phases.
    Running,
    /// Abandoned at the recovery timeout while its phase was handed out (the phase may still
    /// run): keeps its permit and its recovery-mode count until the embedder acknowledges
    /// the cancel (`cancel_done`, or the abandoned phase's late `phase_done`). `pending`:
    /// the cancel was not polled yet; `deadline`: when it is escalated.
    Cancelling,
    /// Was Waiting when the pause timed out (policy `AbortAndRetry`); fails in the next step
    /// that has room (still holds its permit, the partition is RECOVERING until then).
    Aborting,
}

/// One in-progress recovery attempt.
#[derive(Copy, Clone, Debug)]
pub(crate) struct RecSlot {
    pub(crate) state: RecState,
    pub(crate) rank: u32,
    pub(crate) attempt: u32,
    pub(crate) number: u8,
    pub(crate) machine: PhaseMachine,
    /// The current phase (Running) or the cancel (Cancelling) was not handed out yet.
    pub(crate) pending: bool,
    /// Cancelling: the unacknowledged cancel was escalated.
    pub(crate) escalated: bool,
    /// Counted in the recovery mode (must exit it).
    pub(crate) joined: bool,
    pub(crate) permit: PermitToken,
    /// Recovery timeout (Running); cancel escalation (Cancelling); fence wait (Fencing).
    pub(crate) deadline: Instant,
    /// The granted fencing token (0: none; always 0 unfenced). Non-zero from the grant until
    /// the slot is vacated, which queues its `ReleaseFence` (`fence.rs`).
    #[cfg(feature = "fence")]
    pub(crate) fence: u64,
}

impl RecSlot {
    pub(crate) const FREE: RecSlot = RecSlot {
        state: RecState::Free,
        rank: 0,
        attempt: 0,
        number: 0,
        machine: PhaseMachine::new(),
        pending: false,
        escalated: false,
        joined: false,
        permit: PermitToken {
            lock_id: 0,
            rank: 0,
            ticket: 0,
        },
        deadline: Instant::ZERO,
        #[cfg(feature = "fence")]
        fence: 0,
    };

    /// The granted fencing token (0: none; always 0 without the `fence` feature).
    #[inline(always)]
    pub(crate) const fn token(&self) -> u64 {
        #[cfg(feature = "fence")]
        {
            self.fence
        }
        #[cfg(not(feature = "fence"))]
        {
            0
        }
    }
}

/// The coordinator's view of the pause.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Pause {
    /// Recovery mode empty; the gate is open (as far as we are concerned).
    Idle,
    /// First enterer closed the gate and waits for quiescence until `deadline`.
    Pausing {
        since: Instant,
        deadline: Instant,
        leader: usize,
    },
    /// Inside recovery mode; `since` is when the pause began.
    Active { since: Instant },
}

/// Where an interrupted tick scan resumes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScanCursor {
    /// The partition to look at next.
    pub(crate) rank: u32,
    /// Its detection step is done; its FAILED follow-up is not.
    pub(crate) detected: bool,
    /// Earliest deadline of the partitions scanned so far.
    /// (`Instant::MAX`: none yet.)
    pub(crate) next: Instant,
}

/// The heavyweight fault-tolerant coordinator (see the module docs).
///
/// * `H`, `L`, `Q`, `P`: caller storage (see [`Storage`]);
/// * `G`: the operation gate recovery mode closes (`&Tracker`, `Arc<Tracker>`, …);
/// * `R`: recovery slots, the most attempts that can be in progress (must be at least
///   `max_concurrent`; every occupied slot holds a permit, an attempt abandoned at its
///   timeout included, so `R = max_concurrent` never delays a start);
/// * `E`: event outbox capacity, at least [`MAX_EVENTS_PER_STEP`] (a full outbox delays
///   work, it never drops an event: see "Backpressure" in the module docs);
/// * `S`: optional per-partition statistics storage ([`PartitionStatsStorage`]; the default
///   [`NoPartitionStats`] keeps none, see [`Coordinator::new_with_stats`]).
#[derive(Debug)]
pub struct Coordinator<
    H,
    L,
    Q,
    P,
    G,
    const R: usize = 8,
    const E: usize = 256,
    S = NoPartitionStats,
> where
    H: AsRef<[HealthCell]>,
    L: AsRef<[LockSlot]>,
    Q: AsRef<[QueueSlot]>,
    P: AsRef<[PartitionSlot]> + AsMut<[PartitionSlot]>,
    G: OpGate,
{
    pub(crate) cfg: Config,
    pub(crate) table: PartitionTable<H>,
    pub(crate) sched: Scheduler<L, Q>,
    pub(crate) parts: P,
    pub(crate) n: u32,
    pub(crate) gate: G,
    pub(crate) mode: RecoveryMode,
    pub(crate) pause: Pause,
    pub(crate) pause_token: Option<PauseToken>,
    /// The last pause ended by its timeout with operations in flight (alert latch).
    pub(crate) pause_overran: bool,
    pub(crate) hooks: Hooks,
    pub(crate) recs: [RecSlot; R],
    pub(crate) events: Outbox<Event, E>,
    pub(crate) counters: Counters,
    pub(crate) now: Instant,
    pub(crate) last_tick: Option<Instant>,
    pub(crate) quorum: bool,
    pub(crate) next_attempt: u32,
    /// Earliest partition deadline (may be early: a tick then scans and finds nothing;
    /// `Instant::MAX`: none, which is never due before the end of the time line).
    pub(crate) part_deadline: Instant,
    /// Recovery-mode exits owed by finished attempts (performed at the end of the input).
    pub(crate) pending_exits: u32,
    /// After a pause timed out (AbortAndRetry): the queue waits until then.
    pub(crate) hold_until: Option<Instant>,
    /// Work was left undone for lack of outbox room: `poll_timeout` says "now".
    pub(crate) deferred: bool,
    /// An interrupted tick scan.
    pub(crate) scan_at: Option<ScanCursor>,
    /// Per-partition statistics (optional caller storage, `pstats.rs`).
    pub(crate) pstats: S,
    /// Coordination is available (`set_available`); while not, no attempt asks for a
    /// fence or starts. (Without the `fence` feature always available: no field.)
    #[cfg(feature = "fence")]
    pub(crate) available: bool,
    /// Availability changes not announced yet (each is one `AvailabilityChanged` event;
    /// they alternate, starting from `!announced`).
    #[cfg(feature = "fence")]
    pub(crate) avail_pending: u32,
    /// The availability the last `AvailabilityChanged` event (or the start) said.
    #[cfg(feature = "fence")]
    pub(crate) announced: bool,
    /// `ReleaseFence`s not handed out yet (at most K: see `fence.rs`).
    #[cfg(feature = "fence")]
    pub(crate) releases: Outbox<FenceRelease, R>,
    /// The ids of the last `R` attempts the coordinator abandoned while they waited for their
    /// fence (ids are unique per coordinator; a late grant of one is answered with
    /// `FenceError::Abandoned`).
    #[cfg(feature = "fence")]
    pub(crate) abandoned: [u32; R],
    /// Where the next abandoned attempt is written in `abandoned`.
    #[cfg(feature = "fence")]
    pub(crate) abandoned_at: usize,
}

impl<H, L, Q, P, G, const R: usize, const E: usize> Coordinator<H, L, Q, P, G, R, E>
where
    H: AsRef<[HealthCell]>,
    L: AsRef<[LockSlot]>,
    Q: AsRef<[QueueSlot]>,
    P: AsRef<[PartitionSlot]> + AsMut<[PartitionSlot]>,
    G: OpGate,
{
    /// A coordinator for partitions `0..n` over `storage`, closing `gate` in recovery mode,
    /// started at `now`, without per-partition statistics
    /// ([`Coordinator::new_with_stats`] keeps them). See `new_with_stats` for the rest.
    pub fn new(
        config: Config,
        storage: Storage<H, L, Q, P>,
        n: u32,
        gate: G,
        now: Instant,
    ) -> Result<Self, NewError> {
        Self::new_with_stats(config, storage, NoPartitionStats, n, gate, now)
    }
}

impl<H, L, Q, P, G, const R: usize, const E: usize, S> Coordinator<H, L, Q, P, G, R, E, S>
where
    H: AsRef<[HealthCell]>,
    L: AsRef<[LockSlot]>,
    Q: AsRef<[QueueSlot]>,
    P: AsRef<[PartitionSlot]> + AsMut<[PartitionSlot]>,
    G: OpGate,
    S: PartitionStatsStorage,
{
    /// A coordinator for partitions `0..n` over `storage`, closing `gate` in recovery mode,
    /// started at `now`, keeping per-partition statistics in `stats` (at least `n`
    /// [`PartitionStatsSlot`]s, reset here; [`NoPartitionStats`] for none, which is what
    /// [`Coordinator::new`] passes).
    ///
    /// The health cells are taken as they are (fresh cells are HEALTHY): a SUSPECTED cell
    /// gets a full confirmation window from `now`, a FAILED one is scheduled on the first
    /// tick, and a RECOVERING one (a recovery interrupted with a previous coordinator) is
    /// failed on the first tick (`poll_timeout` is `now`), with its one event; an ABSENT cell
    /// stays out of the membership until it [`join`](Coordinator::join)s. Fresh cells make
    /// every rank `0..n` a member. Every partition's heartbeat clock starts at `now`.
    /// Partitions join and leave later within `n` (see `membership.rs`).
    ///
    /// The lock and queue storage must not be in use: storage belongs to one coordinator at
    /// a time (a dropped coordinator releases its permits and empties its queue, so its
    /// storage can serve the next one; see [`RecoveryLock::new`] and [`RecoveryQueue::new`]).
    ///
    /// Errors: see [`NewError`]; `config.max_concurrent() > R` is a configuration error on
    /// `max_concurrent`; `E < MAX_EVENTS_PER_STEP` is [`NewError::OutboxTooSmall`].
    ///
    /// Errors also: [`NewError::StatsTooSmall`] (some, but fewer than `n`, statistics slots).
    pub fn new_with_stats(
        config: Config,
        storage: Storage<H, L, Q, P>,
        mut stats: S,
        n: u32,
        gate: G,
        now: Instant,
    ) -> Result<Self, NewError> {
        config.validate().map_err(NewError::Config)?;
        if E < MAX_EVENTS_PER_STEP {
            return Err(NewError::OutboxTooSmall {
                capacity: E,
                needed: MAX_EVENTS_PER_STEP,
            });
        }
        if config.max_concurrent() as usize > R {
            return Err(NewError::Config(ConfigError::new(
                ConfigField::MaxConcurrent,
                ConfigReason::AboveRecoverySlots,
            )));
        }
        let table = PartitionTable::new(storage.cells, n).map_err(NewError::Table)?;
        let lock =
            RecoveryLock::new(storage.locks, n, config.max_concurrent()).map_err(NewError::Lock)?;
        let queue = RecoveryQueue::new(storage.queue, n).map_err(NewError::Queue)?;
        if queue.capacity() < n {
            return Err(NewError::QueueTooSmall {
                capacity: queue.capacity(),
                n,
            });
        }
        let mut parts = storage.slots;
        let len = parts.as_ref().len();
        if usize::try_from(n).map_or(true, |n| n > len) {
            return Err(NewError::SlotsTooSmall { n, len });
        }
        let stats_len = stats.as_ref().len();
        if stats_len != 0 && usize::try_from(n).map_or(true, |n| n > stats_len) {
            return Err(NewError::StatsTooSmall { n, len: stats_len });
        }
        // Fresh state for every rank, adopting the cells as they are (see above): a
        // SUSPECTED one gets a full confirmation window from `now`; every other state needs
        // nothing here (RECOVERING ones are failed by the first tick's scan, one step each,
        // with room: `part_deadline` is `now`). One pass, no event.
        let conf = config.failure_confirmation;
        for (rank, p) in (0..n).zip(parts.as_mut().iter_mut()) {
            *p = PartitionSlot::fresh(now, &config);
            if let Ok((Health::Suspected, _)) = table.get(rank) {
                p.on_suspected(now, conf);
            }
        }
        for p in stats.as_mut().iter_mut().take(n as usize) {
            *p = PartitionStatsSlot::new();
        }
        let quorum = table.has_quorum();
        Ok(Coordinator {
            cfg: config,
            table,
            sched: Scheduler::new(lock, queue),
            parts,
            n,
            gate,
            mode: RecoveryMode::new(),
            pause: Pause::Idle,
            pause_token: None,
            pause_overran: false,
            hooks: Hooks::default(),
            recs: [RecSlot::FREE; R],
            events: Outbox::new(),
            counters: Counters::default(),
            now,
            last_tick: None,
            quorum,
            next_attempt: 1,
            part_deadline: now,
            pending_exits: 0,
            hold_until: None,
            deferred: false,
            scan_at: None,
            pstats: stats,
            #[cfg(feature = "fence")]
            available: true,
            #[cfg(feature = "fence")]
            avail_pending: 0,
            #[cfg(feature = "fence")]
            announced: true,
            #[cfg(feature = "fence")]
            releases: Outbox::new(),
            #[cfg(feature = "fence")]
            abandoned: [0; R],
            #[cfg(feature = "fence")]
            abandoned_at: 0,
        })
    }

    // ----------------------------------------------------------------------------- getters

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }
    /// The number of partitions `n`, members and ABSENT ranks together: the capacity within
    /// which partitions [`join`](Coordinator::join) and [`leave`](Coordinator::leave)
    /// (see [`members`](Coordinator::members)).
    pub fn len(&self) -> u32 {
        self.n
    }
    /// Always `false`: there is at least one partition.
    pub fn is_empty(&self) -> bool {
        false
    }
    /// The operation gate.
    pub fn gate(&self) -> &G {
        &self.gate
    }
    /// `(state, incarnation)` of `rank`.
    // Out of line: smaller than its inlined copies (flash, issue 10).
    #[inline(never)]
    pub fn health(&self, rank: u32) -> Result<(Health, u32), RankError> {
        self.table.get(rank)
    }
    /// The detection state of `rank`.
    pub fn partition(&self, rank: u32) -> Result<&PartitionSlot, RankError> {
        self.parts
            .as_ref()
            .get(..self.n as usize)
            .and_then(|s| s.get(rank as usize))
            .ok_or(RankError::UnknownPartition { rank, len: self.n })
    }
    /// Per-state counts (O(1)), ABSENT ranks included (`Counts::absent`).
    pub fn counts(&self) -> Counts {
        self.table.counts()
    }
    /// Whether HEALTHY partitions are a strict majority of the current members (O(1);
    /// ABSENT ranks count on neither side).
    pub fn has_quorum(&self) -> bool {
        self.table.has_quorum()
    }
    /// The running attempt of `rank`: `(attempt id, number, phase)`.
    pub fn recovery(&self, rank: u32) -> Option<(u32, u32, Phase)> {
        self.recs
            .iter()
            .find(|s| matches!(s.state, RecState::Waiting | RecState::Running) && s.rank == rank)
            .map(|s| (s.attempt, u32::from(s.number), s.machine.phase()))
    }
    /// Attempts holding the recovery lock now, including abandoned attempts whose cancel is
    /// not acknowledged yet (their phase may still run, so they keep their share of K).
    pub fn in_progress(&self) -> u32 {
        self.sched.lock().active()
    }
    /// The attempt of `rank` abandoned at its recovery timeout whose cancel the embedder has
    /// not acknowledged yet (its id), if any. While it exists the partition stays FAILED and
    /// is not recovered again, and recovery mode stays active (see
    /// [`cancel_done`](Coordinator::cancel_done)).
    // Out of line: smaller than its inlined copies (flash, issue 10).
    #[inline(never)]
    pub fn cancelling(&self, rank: u32) -> Option<u32> {
        self.recs
            .iter()
            .find(|s| s.state == RecState::Cancelling && s.rank == rank)
            .map(|s| s.attempt)
    }
    /// Abandoned attempts whose cancel is not acknowledged yet.
    pub(crate) fn cancels_pending(&self) -> u32 {
        self.recs
            .iter()
            .filter(|s| s.state == RecState::Cancelling)
            .count() as u32
    }
    /// Whether recovery mode is active (the forest is paused or being paused).
    pub fn in_recovery_mode(&self) -> bool {
        self.mode.is_active()
    }
    /// Whether `rank` waits in the recovery queue.
    pub fn is_queued(&self, rank: u32) -> bool {
        self.sched.queue().contains(rank)
    }
    /// Events waiting in the outbox.
    pub fn pending_events(&self) -> usize {
        self.events.len()
    }

    /// Whether the outbox has room for one more step ([`MAX_EVENTS_PER_STEP`] free slots):
    /// `handle_report`, `phase_done`, `retry`, `join` and `leave` then do not return
    /// `OutboxFull`. Draining `poll_event` until it returns `None` always makes it true.
    pub fn has_outbox_room(&self) -> bool {
        self.room(0)
    }

    /// Whether work was left for the next `tick` for lack of outbox room (`poll_timeout` is
    /// then "now").
    pub fn has_deferred_work(&self) -> bool {
        self.deferred || self.scan_at.is_some()
    }

    /// A statistics snapshot with live counts.
    pub fn stats(&self) -> Stats {
        let mut s = self.counters.snapshot();
        let c = self.table.counts();
        s.total = self.n;
        s.healthy = c.healthy;
        s.suspected = c.suspected;
        s.failed = c.failed;
        s.recovering = c.recovering;
        s.absent = c.absent;
        s.queue_depth = self.sched.queue().len();
        s.in_progress = self.sched.lock().active();
        s.recovery_mode_depth = self.mode.count();
        s.quorum = self.table.has_quorum();
        s.cancels_pending = self.cancels_pending();
        // Always 0 (backpressure, module docs); kept in the snapshot for the C ABI.
        s.events_dropped = self.events.dropped();
        s
    }

    /// The health level from live counts; at least [`HealthLevel::Degraded`] while
    /// coordination is unavailable (`set_available`, feature `fence`).
    pub fn level(&self) -> HealthLevel {
        let c = self.table.counts();
        let level = health_level(
            c.healthy,
            c.suspected,
            c.failed.saturating_add(c.recovering),
            c.members(),
        );
        if self.is_available() {
            level
        } else {
            level.max(HealthLevel::Degraded)
        }
    }

    /// The alerts raised at `now` under the configured thresholds.
    pub fn alerts(&self, now: Instant) -> Alerts {
        let now = now.max(self.now);
        let c = self.table.counts();
        let stall = match self.pause {
            Pause::Pausing { since, .. } | Pause::Active { since } if self.gate.in_flight() > 0 => {
                Some(now.saturating_duration_since(since))
            }
            _ if self.pause_overran => Some(self.cfg.pause_timeout()),
            _ => None,
        };
        let input = AlertInput {
            healthy: c.healthy,
            total: c.members(),
            failed: c.failed.saturating_add(c.recovering),
            avg_recovery: self.counters.avg_recovery(),
            unrecovered: self.counters.unrecovered(),
            pause_stall: stall,
            success_permille: self.counters.finished_success_permille(),
            queue_depth: self.sched.queue().len(),
            suspected: c.suspected,
            avg_detection: self.counters.avg_detection(),
        };
        let overdue = self.recs.iter().any(|s| {
            s.state == RecState::Cancelling
                && (s.escalated || (s.deadline != Instant::MAX && s.deadline <= now))
        });
        let mut raised = alerts(&input, self.cfg.alerts());
        if overdue {
            raised = raised.union(Alerts::CANCEL_OVERDUE);
        }
        if !self.is_available() {
            raised = raised.union(Alerts::COORDINATION_UNAVAILABLE);
        }
        raised
    }

    /// Replace the alert thresholds of this running coordinator (the original monitor's
    /// maximum suspected partitions, maximum detection latency, minimum recovery success rate
    /// and the rest, see [`AlertThresholds`]). Validated first: an invalid value is refused
    /// with the field named and nothing changes. Takes effect on the next
    /// [`alerts`](Coordinator::alerts) call (alerts are computed, not latched); nothing else
    /// in the configuration changes.
    pub fn set_alert_thresholds(&mut self, thresholds: AlertThresholds) -> Result<(), ConfigError> {
        self.cfg.set_alerts(thresholds)
    }

    /// The statistics of partition `rank` (per-signal consecutive failures, suspicions,
    /// failures, recoveries, last report time, last detection and recovery latency).
    ///
    /// Errors: `rank >= n` → [`PartitionStatsError::UnknownPartition`]; a coordinator made
    /// without statistics storage ([`Coordinator::new`]) →
    /// [`PartitionStatsError::Disabled`].
    pub fn partition_stats(&self, rank: u32) -> Result<PartitionStats, PartitionStatsError> {
        let p = self
            .partition(rank)
            .map_err(|_| PartitionStatsError::UnknownPartition)?;
        let slot = self
            .pstats
            .as_ref()
            .get(rank as usize)
            .ok_or(PartitionStatsError::Disabled)?;
        Ok(slot.snapshot(p.streaks))
    }

    /// Update `rank`'s statistics slot, if this coordinator keeps them.
    pub(crate) fn pstat(&mut self, rank: u32, f: impl FnOnce(&mut PartitionStatsSlot)) {
        if let Some(s) = self.pstats.as_mut().get_mut(rank as usize) {
            f(s);
        }
    }

    // ----------------------------------------------------------------------------- outputs

    /// The next action for the embedder (order: cancels, fence releases, hook changes,
    /// fence requests, phases; see `action.rs`). Drain it after every input. Handing out a
    /// cancel frees nothing: the abandoned attempt keeps its permit and recovery mode until
    /// the embedder acknowledges it ([`cancel_done`](Coordinator::cancel_done)). A fence
    /// request is handed out only while coordination is available and fewer than K fences
    /// are granted or asked for (releases not handed out yet included).
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        if let Some(s) = self
            .recs
            .iter_mut()
            .find(|s| s.state == RecState::Cancelling && s.pending)
        {
            s.pending = false;
            return Some(Action::CancelRecovery(Self::cancel_job(s)));
        }
        #[cfg(feature = "fence")]
        if let Some(r) = self.releases.pop() {
            return Some(Action::ReleaseFence(r));
        }
        if let Some(a) = self.hooks.next(self.mode.is_active()) {
            return Some(a);
        }
        #[cfg(feature = "fence")]
        if self.available && self.fences_out() < self.cfg.max_concurrent() {
            if let Some(s) = self
                .recs
                .iter_mut()
                .find(|s| s.state == RecState::Fencing && s.pending)
            {
                s.pending = false;
                return Some(Action::AcquireFence(FenceJob {
                    rank: s.rank,
                    attempt: s.attempt,
                    number: u32::from(s.number),
                }));
            }
        }
        if let Some(s) = self
            .recs
            .iter_mut()
            .find(|s| s.state == RecState::Running && s.pending)
        {
            s.pending = false;
            return Some(Action::RunPhase(PhaseJob {
                rank: s.rank,
                attempt: s.attempt,
                number: u32::from(s.number),
                phase: s.machine.phase(),
                fence: s.token(),
            }));
        }
        None
    }

    /// The next event (oldest first).
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop()
    }

    /// When `tick` should be called next, if anything is pending on time. Changes only
    /// through the inputs (`handle_report`, `tick`, `phase_done`, `cancel_done`, `retry`,
    /// `fence_granted`, `fence_refused`, `set_available`). An attempt waiting for its fence
    /// is named by its wait's deadline.
    /// While work was left undone for lack of outbox room
    /// ([`Coordinator::has_deferred_work`]) it is the latest `now` seen: drain `poll_event`,
    /// then `tick`.
    ///
    /// After every input either this names when to tick, or nothing waits on time: every
    /// attempt holding a permit has its phase or its cancel handed out (it waits for
    /// `phase_done` or `cancel_done`; its recovery timeout or cancel escalation, if still
    /// ahead, is included here) or waits for a pause whose deadline and quiescence poll are
    /// included here. A deadline that saturated at [`Instant::MAX`] (past the end of the
    /// time line) is never reached and not named; only the quiescence poll of a pause is
    /// (polling the gate is real work even at the top of the range). With heartbeats on, it
    /// is never more than `max_local_pause / 2` after the last tick (see `heartbeat.rs`,
    /// local pauses).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.has_deferred_work() || self.recs.iter().any(|s| s.state == RecState::Aborting) {
            return Some(self.now);
        }
        // The earliest deadline, `Instant::MAX` standing for none: a deadline saturated at
        // `Instant::MAX` is never reached and so is not named, as if absent (one `min` per
        // candidate instead of an `Option` each: flash, issue 10).
        let mut t = self.part_deadline;
        // With heartbeats, a tick gap above `max_local_pause` reads as the driver's own stall
        // (heartbeat clocks re-based, no verdicts): a driver that ticks when asked must never
        // make one, even when the next verdict is further away (`failure_timeout` may lie
        // more than `max_local_pause` after `suspect_timeout`).
        if let Some(last) = self.last_tick.filter(|_| self.cfg.heartbeat().enabled()) {
            t = t.min(last.add_span(self.cfg.heartbeat().max_local_pause.half()));
        }
        for s in self.recs.iter() {
            match s.state {
                RecState::Running | RecState::Fencing => t = t.min(s.deadline),
                RecState::Cancelling if !s.escalated => t = t.min(s.deadline),
                _ => {}
            }
        }
        if let Some(h) = self.hold_until {
            if !self.sched.queue().is_empty()
                || self.recs.iter().any(|s| s.state == RecState::Waiting)
            {
                t = t.min(h);
            }
        }
        if let Pause::Pausing { deadline, .. } = self.pause {
            // The quiescence poll is named even at `Instant::MAX` (polling is real work).
            return Some(
                t.min(deadline)
                    .min(self.now.add_span(self.cfg.quiescence_poll)),
            );
        }
        (t != Instant::MAX).then_some(t)
    }

    // Out of line: one body instead of a copy per call site (flash on microcontrollers,
    // issue 10; README "Footprint").
    #[inline(never)]
    pub(crate) fn lower_deadline(&mut self, d: Instant) {
        self.part_deadline = self.part_deadline.min(d);
    }

    // Out of line: smaller than its inlined copies (flash, issue 10).
    #[inline(never)]
    pub(crate) fn part_mut(&mut self, rank: u32) -> Option<&mut PartitionSlot> {
        let n = self.n as usize;
        self.parts
            .as_mut()
            .get_mut(..n)
            .and_then(|s| s.get_mut(rank as usize))
    }

    /// One table transition, its one event, and the quorum check it may imply.
    pub(crate) fn transit(
        &mut self,
        rank: u32,
        from: Health,
        to: Health,
        cause: Cause,
        now: Instant,
    ) -> bool {
        let Ok(t) = self.table.transition(rank, Some(from), to, None) else {
            return false;
        };
        self.emit(Event::StatusChanged(StatusChange {
            rank,
            from: t.from,
            to: t.to,
            incarnation: t.incarnation,
            cause,
            time: now,
        }));
        // Quorum is `healthy > members / 2`: only transitions into or out of HEALTHY or ABSENT
        // move it, and `check_quorum` emits only on a change, so checking after every
        // transition adds no event.
        self.check_quorum(now);
        true
    }

    fn check_quorum(&mut self, now: Instant) {
        let q = self.table.has_quorum();
        if q == self.quorum {
            return;
        }
        self.quorum = q;
        let change = QuorumChange {
            healthy: self.table.count(Health::Healthy),
            total: self.table.members(),
            time: now,
        };
        if q {
            self.emit(Event::QuorumRestored(change));
        } else {
            self.counters.on_quorum_lost();
            self.emit(Event::QuorumLost(change));
        }
    }

    /// Whether the outbox has room for one step plus `reserve` more events. (Not inlined:
    /// every step asks, and one body is smaller than a dozen inlined copies, issue 10.)
    #[inline(never)]
    pub(crate) fn room(&self, reserve: usize) -> bool {
        E.saturating_sub(self.events.len()) >= MAX_EVENTS_PER_STEP.saturating_add(reserve)
    }

    /// Queue one event. Every step checked [`Coordinator::room`] before it began and emits
    /// at most [`MAX_EVENTS_PER_STEP`], so the push always succeeds; were the bound ever
    /// wrong, the loss would be counted (`Stats::events_dropped`), never silent.
    // Out of line: one body instead of a copy per call site (flash on microcontrollers,
    // issue 10; README "Footprint").
    #[inline(never)]
    pub(crate) fn emit(&mut self, e: Event) {
        if !self.events.push(e) {
            self.counters.on_event_dropped();
        }
    }
}

impl<H, L, Q, P, G, const R: usize, const E: usize, S> ReportSink
    for Coordinator<H, L, Q, P, G, R, E, S>
where
    H: AsRef<[HealthCell]>,
    L: AsRef<[LockSlot]>,
    Q: AsRef<[QueueSlot]>,
    P: AsRef<[PartitionSlot]> + AsMut<[PartitionSlot]>,
    G: OpGate,
    S: PartitionStatsStorage,
{
    fn report(&mut self, now: Instant, report: Report) -> Result<ReportOutcome, ReportError> {
        self.handle_report(now, report)
    }

    fn incarnation(&mut self, rank: u32) -> Option<u32> {
        self.health(rank).ok().map(|(_, inc)| inc)
    }
}
