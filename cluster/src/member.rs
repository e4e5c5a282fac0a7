//! [`Member`]: the tokio driver. It owns one etcd client, one lease kept alive by its own
//! loop (TTL/3), one prefix watch (re-created from the last revision + 1, re-listed after
//! compaction) and the sans-io adapter, and maps the adapter's operations onto etcd-client.
//!
//! Invariants: the adapter is only touched under its mutex and no embedder hook runs under it;
//! events are published in the order the adapter emitted them, none dropped (unbounded
//! channels; the first subscriber also gets everything emitted before it subscribed).

use std::sync::{Arc, Mutex};

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
    pub(crate) tracker: Arc<LocalTracker>,
    pub(crate) subs: Arc<Mutex<Subscribers>>,
    pub(crate) driver: crate::driver::Handle,
}

impl Member {
    /// Connects to etcd, grants the lease, checks the `config` key, registers this process
    /// and its ranks, lists the prefix and starts the watch, keepalive and coordinator loops.
    ///
    /// Errors: [`ClusterError::Connect`] (no endpoint answered within the connect timeout),
    /// [`ClusterError::ConfigMismatch`], [`ClusterError::ZombieRejoinRefused`] (a hosted rank's
    /// previous incarnation failed), [`ClusterError::RankHosted`], [`ClusterError::Etcd`]
    /// (a request failed, or the start did not finish within connect timeout + 10 request
    /// timeouts). On a refusal the lease is revoked; after a timeout it expires.
    pub async fn start(
        config: ClusterConfig,
        forest: Arc<dyn ForestHooks>,
    ) -> Result<Member, ClusterError> {
        let tracker = Arc::new(LocalTracker::with_waiter(ftforest_core::StdWait::new()));
        let subs = Arc::new(Mutex::new(Subscribers::default()));
        let driver =
            crate::driver::Handle::start(config.clone(), forest, tracker.clone(), subs.clone())
                .await?;
        Ok(Member {
            config,
            tracker,
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

    /// The local operation gate: forest threads `begin`/`end` cross-partition operations on
    /// it; the cluster-wide pause closes it and waits for its quiescence before acking.
    pub fn tracker(&self) -> Arc<LocalTracker> {
        self.tracker.clone()
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
    /// revoked and the loops stop.
    pub async fn leave(self) -> Result<(), ClusterError> {
        self.driver.leave().await
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
            self.tracker.in_flight(),
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
