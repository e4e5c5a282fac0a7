//! [`Member`]: the tokio driver. It owns one etcd client, one lease kept alive by its own
//! loop (TTL/3), one prefix watch (re-created from the last revision + 1, re-listed after
//! compaction) and the sans-io adapter, and maps the adapter's operations onto etcd-client.
//!
//! Invariants: the adapter is only touched under its mutex and no embedder hook runs under it;
//! events are published in the order the adapter emitted them, none dropped (unbounded
//! channels; the first subscriber also gets everything emitted before it subscribed).

use std::sync::{Arc, Mutex};

use ftforest_core::coord::OpGate;
use ftforest_core::Tracker;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::config::ClusterConfig;
use crate::error::{ClusterError, WriteError};
use crate::fault::Fault;
use crate::hooks::ForestHooks;
use crate::proto::EventRecord;
use crate::stats::ClusterStats;

/// The local operation gate shared by the forest's threads and the cluster-wide pause.
pub type LocalTracker = Tracker<ftforest_core::StdWait, 8>;

/// The operation gate a member closes for the cluster-wide pause: its own [`LocalTracker`]
/// ([`Member::start`]) or the embedder's ([`Member::start_with_gate`], e.g. the C library's
/// tracker). Every method is non-blocking (see [`OpGate`]).
pub type Gate = Arc<dyn OpGate + Send + Sync>;

/// Where a member is in its life ([`Member::state`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MemberState {
    /// Registered and taking part (possibly self-fenced for now: see
    /// [`Member::may_write`]).
    Running,
    /// A graceful leave is in progress.
    Leaving,
    /// Left gracefully: every call answers `Stopped`.
    Left,
    /// etcd said the lease is gone (expired or revoked): the member is dead; drop it (a
    /// restart is a new process with new incarnations).
    LeaseLost,
    /// Stopped without a graceful leave ([`Member::abort`], or the driver ended).
    Stopped,
}

/// Event subscribers: the backlog until the first one subscribes.
#[derive(Default)]
pub(crate) struct Subscribers {
    backlog: Vec<EventRecord>,
    subs: Vec<UnboundedSender<EventRecord>>,
    had_one: bool,
}

impl Subscribers {
    #[allow(dead_code)] // used by the driver loop (next commit)
    pub(crate) fn publish(&mut self, r: EventRecord) {
        if !self.had_one {
            self.backlog.push(r);
            return;
        }
        self.subs.retain(|s| s.send(r.clone()).is_ok());
    }
    pub(crate) fn subscribe(&mut self) -> UnboundedReceiver<EventRecord> {
        let (tx, rx) = unbounded_channel();
        if !self.had_one {
            self.had_one = true;
            for r in self.backlog.drain(..) {
                let _ = tx.send(r);
            }
        }
        self.subs.push(tx);
        rx
    }
}

/// One process of the cluster (see the module docs).
pub struct Member {
    pub(crate) config: ClusterConfig,
    /// `Some` when started by [`Member::start`] (the member's own tracker).
    pub(crate) tracker: Option<Arc<LocalTracker>>,
    pub(crate) gate: Gate,
    pub(crate) subs: Arc<Mutex<Subscribers>>,
    pub(crate) driver: crate::driver::Handle,
}

impl Member {
    /// Connects to etcd, grants the lease, checks the `config` key, registers this process
    /// and its ranks, lists the prefix and starts the watch, keepalive and coordinator loops.
    ///
    /// Errors: [`ClusterError::Connect`] (no endpoint answered a Status request within the
    /// connect timeout: unreachable, as opposed to an etcd that answers without quorum),
    /// [`ClusterError::ConfigMismatch`], [`ClusterError::ZombieRejoinRefused`] (a hosted rank's
    /// previous incarnation failed), [`ClusterError::RankHosted`], [`ClusterError::Etcd`]
    /// (a request failed, or the start, connect included, did not finish within connect
    /// timeout + 10 request timeouts). On a refusal the lease is revoked; after a timeout it expires.
    pub async fn start(
        config: ClusterConfig,
        forest: Arc<dyn ForestHooks>,
    ) -> Result<Member, ClusterError> {
        let tracker = Arc::new(LocalTracker::with_waiter(ftforest_core::StdWait::new()));
        let mut m = Member::start_with_gate(config, forest, tracker.clone()).await?;
        m.tracker = Some(tracker);
        Ok(m)
    }

    /// As [`start`](Self::start), on the embedder's operation gate instead of a tracker of
    /// the member's own: the cluster-wide pause closes `gate` (and waits for its
    /// quiescence before acking). The member never begins or ends operations on it, so the
    /// embedder's begin/end path is unchanged (no network, no lock). [`tracker`](Self::tracker)
    /// is then `None`.
    pub async fn start_with_gate(
        config: ClusterConfig,
        forest: Arc<dyn ForestHooks>,
        gate: Gate,
    ) -> Result<Member, ClusterError> {
        let subs = Arc::new(Mutex::new(Subscribers::default()));
        let driver =
            crate::driver::Handle::start(config.clone(), forest, gate.clone(), subs.clone())
                .await?;
        Ok(Member {
            config,
            tracker: None,
            gate,
            subs,
            driver,
        })
    }

    /// A receiver of every event from now on (the first call also receives all events
    /// emitted since `start` began). Never drops an event; the channel closes when the
    /// member stops.
    pub fn events(&self) -> UnboundedReceiver<EventRecord> {
        match self.subs.lock() {
            Ok(mut s) => s.subscribe(),
            Err(p) => p.into_inner().subscribe(),
        }
    }

    /// The member's own operation tracker (started by [`start`](Self::start); `None` after
    /// [`start_with_gate`](Self::start_with_gate)): forest threads `begin`/`end`
    /// cross-partition operations on it; the cluster-wide pause closes it and waits for its
    /// quiescence before acking.
    pub fn tracker(&self) -> Option<Arc<LocalTracker>> {
        self.tracker.clone()
    }

    /// The gate the cluster-wide pause closes (the tracker, or the embedder's gate).
    pub fn gate(&self) -> Gate {
        self.gate.clone()
    }

    /// The configuration.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// Owner write of `store/<rank>`, fenced on the rank's incarnation
    /// (`create_revision(members/<rank>) == incarnation`); returns its etcd revision.
    /// Refused after the self-fence deadline ([`WriteError::SelfFenced`]), for a rank this
    /// process does not host ([`WriteError::NotHosted`]), and when the incarnation is no
    /// longer current ([`WriteError::StaleFence`]).
    pub async fn fenced_put(&self, rank: u32, value: Vec<u8>) -> Result<u64, WriteError> {
        self.driver.fenced_put(rank, value).await
    }

    /// Graceful leave: each hosted rank is marked `left` (not a failure), then the lease is
    /// revoked and the loops stop. `Ok` only if every hosted rank was marked;
    /// [`ClusterError::NotAllLeft`] names the others (the lease is revoked anyway, so the
    /// other processes recover them).
    pub async fn leave(self) -> Result<(), ClusterError> {
        self.driver.leave().await
    }

    /// [`leave`](Self::leave) through a shared reference (for a member kept in an `Arc`):
    /// [`ClusterError::Stopped`] when another leave or [`abort`](Self::abort) stopped the
    /// loop first. Other calls racing it get `Stopped` / [`WriteError::SelfFenced`]
    /// afterwards.
    pub async fn leave_shared(&self) -> Result<(), ClusterError> {
        self.driver.leave().await
    }

    /// Stops the member without a graceful leave, as promptly as possible: the loops stop
    /// (no keepalive, no fenced write is sent any more) and the lease is revoked (one
    /// request, bounded by the request timeout, sent before the loop is waited for), so the
    /// other processes see every rank of this process FAILED at once, as after a crash,
    /// without waiting for the TTL. If the revoke gets no answer the lease simply expires.
    /// Returns within 2 request timeouts (a forest hook stuck on the hook thread is not
    /// waited for). Idempotent; safe beside other calls.
    pub async fn abort(&self) {
        self.driver.abort().await
    }

    /// Where the member is in its life (a snapshot; never blocks on the network).
    pub fn state(&self) -> MemberState {
        self.driver.state()
    }

    /// The fencing token of `rank`'s recovery lock when this process holds it and its
    /// phases may run (granted, lock key not seen deleted); `None` otherwise. Local
    /// state only, no network.
    pub fn lock_token(&self, rank: u32) -> Option<u64> {
        self.driver.lock_token(rank)
    }

    /// Whether a fenced write may be sent now: the lease is alive and the self-fence
    /// deadline (send time of the last acknowledged keepalive + TTL − margin) is ahead.
    /// Local state only, no network.
    pub fn may_write(&self) -> bool {
        self.driver.may_write()
    }

    /// The incarnation (member key create revision) of a rank this process hosts now;
    /// `None` for a rank it does not host.
    pub fn incarnation(&self, rank: u32) -> Option<u64> {
        self.driver.incarnation(rank)
    }

    /// Recovery write of `store/<rank>` outside a [`PhaseIo`](crate::PhaseIo) (e.g. from
    /// another language's phase callback), applied only if
    /// `create_revision(recovery/lock/<rank>) == token`; returns its etcd revision. Errors as
    /// [`PhaseIo::put`](crate::PhaseIo::put).
    pub async fn token_put(
        &self,
        rank: u32,
        token: u64,
        value: Vec<u8>,
    ) -> Result<u64, WriteError> {
        self.driver.phase_put(rank, token, value).await
    }

    /// Linearizable read of `store/<rank>` (`None`: no value), bounded by the request
    /// timeout ([`WriteError::Unavailable`] when etcd did not answer).
    pub async fn get(&self, rank: u32) -> Result<Option<Vec<u8>>, WriteError> {
        self.driver.get(rank).await
    }

    /// The coordinator's statistics, level and alerts now (this process's view of the
    /// whole forest).
    pub fn coordinator_snapshot(
        &self,
    ) -> (
        ftforest_core::coord::Stats,
        ftforest_core::coord::HealthLevel,
        ftforest_core::coord::Alerts,
    ) {
        self.driver.coordinator_snapshot()
    }

    /// Ranks hosted now (recovered ranks are added on completion).
    pub fn ranks(&self) -> Vec<u32> {
        self.driver.ranks()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> ClusterStats {
        self.driver.stats()
    }

    /// Appends one OpenMetrics exposition: the cluster counters (`ftforest_cluster_*`), then
    /// this process's coordinator (the core's writer: partitions per state, recoveries,
    /// latencies, level, alerts, in-flight operations), ending with `# EOF`.
    pub fn openmetrics(&self, out: &mut String) {
        self.stats().write_openmetrics(out);
        let (stats, level, alerts) = self.driver.coordinator_snapshot();
        let _ = ftforest_core::coord::openmetrics::write(
            out,
            &stats,
            Some(level),
            alerts,
            self.gate.in_flight(),
        );
    }

    /// Feeds a local observation (barrier timeout, ghost-sync failure, heartbeat…) to this
    /// process's coordinator: it may raise SUSPECTED early (an event), never FAILED, and never
    /// starts a recovery by itself; `Report::crashed` is refused (`false`), etcd confirms
    /// crashes.
    pub fn report(&self, report: ftforest_core::coord::Report) -> bool {
        self.driver.report(report)
    }

    /// Injects a fault (tests, demo).
    pub fn fault(&self, fault: Fault) {
        self.driver.fault(fault)
    }
}
