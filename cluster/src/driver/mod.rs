//! The tokio side of [`Member`](crate::Member): one loop task owns the sans-io adapter's
//! inputs and outputs; requests run as their own tasks (cloned client, request timeout),
//! the watch as one task per generation, pause/resume hooks on the member's hook thread
//! (`hooks.rs`, in adapter order), phases on blocking threads handed off from there.
//!
//! Invariants: the adapter mutex is never held across an `.await` or an embedder call;
//! the loop never runs an embedder hook itself (a slow one cannot delay keepalives), except
//! `on_core_event`, which must hand the event off without blocking;
//! events are published in adapter order by the loop only (one publisher), stamped with
//! the wall clock; a watch input of an older generation is dropped (the adapter already
//! asked for a newer watch); the loop ends only when the adapter is `Stopped` or every
//! handle is gone, and then aborts its watch task.

mod exec;
mod hooks;
mod phase;
mod watch;

use core::time::Duration;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use etcd_client::{Client, ConnectOptions};
use ftforest_core::coord::PhaseJob;
use ftforest_core::Instant;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::ClusterConfig;
use crate::error::{ClusterError, WriteError};
use crate::fault::Fault;
use crate::hooks::ForestHooks;
use crate::member::{Gate, Subscribers};
use crate::proto::ops::{OpError, OpId, OpResult, Request, WatchInput};
use crate::proto::{Adapter, AdapterConfig, EventRecord, Hook, Status};
use crate::stats::ClusterStats;

pub(crate) use exec::Keeper;

/// Inputs of the loop.
pub(crate) enum Cmd {
    Result(OpId, Result<OpResult, OpError>),
    Watch(u64, WatchInput),
    PhaseDone(PhaseJob, bool),
    /// A pause hook returned: the pause ack may be due.
    HookDone,
    Leave(oneshot::Sender<()>),
    Wake,
}

/// State shared by the loop, the handle and the phase I/O.
pub(crate) struct Shared {
    adapter: Mutex<Adapter<Gate>>,
    base: std::time::Instant,
    pub(crate) client: Client,
    config: ClusterConfig,
    fault: Mutex<Fault>,
    subs: Arc<Mutex<Subscribers>>,
    /// Receives the coordinator's events (`ForestHooks::on_core_event`), from the loop only.
    core_sink: Arc<dyn ForestHooks>,
    pub(crate) tx: UnboundedSender<Cmd>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub(crate) fn now(&self) -> Instant {
        Instant::from_nanos(self.base.elapsed().as_nanos() as u64)
    }
    pub(crate) fn adapter(&self) -> MutexGuard<'_, Adapter<Gate>> {
        lock(&self.adapter)
    }
    fn publish(&self, events: Vec<crate::proto::ClusterEvent>) {
        if events.is_empty() {
            return;
        }
        let ts_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut subs = lock(&self.subs);
        for event in events {
            subs.publish(EventRecord {
                ts_ms,
                proc: self.config.proc_id().to_owned(),
                event,
            });
        }
    }
    /// Runs a fenced Txn built by the adapter and reports its outcome back to it.
    pub(crate) async fn fenced_txn(
        &self,
        txn: crate::proto::ops::Txn,
        rank: u32,
        token: u64,
        seq: u64,
    ) -> Result<u64, WriteError> {
        let mut client = self.client.clone();
        let mut keeper = Keeper::default();
        let res = exec::execute(
            &mut client,
            &mut keeper,
            Request::Txn(txn),
            self.config.request_timeout(),
        )
        .await
        .map(|r| match r {
            OpResult::Txn {
                succeeded,
                revision,
                ..
            } => (succeeded, revision),
            _ => (false, 0),
        });
        let now = self.now();
        let out = self.adapter().write_done(now, rank, token, seq, res);
        let _ = self.tx.send(Cmd::Wake);
        out
    }
}

/// The running driver.
pub(crate) struct Handle {
    shared: Arc<Shared>,
    /// The loop task; taken by `leave`/`abort` (so both work through `&self`).
    task: Mutex<Option<JoinHandle<()>>>,
    /// Set by `abort`: the loop was stopped without a graceful leave.
    aborted: core::sync::atomic::AtomicBool,
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Some(t) = lock(&self.task).take() {
            t.abort();
        }
    }
}

fn info(config: &ClusterConfig) -> String {
    let ranks: Vec<String> = config.ranks().iter().map(u32::to_string).collect();
    format!("pid={} ranks={}", std::process::id(), ranks.join(","))
}

impl Handle {
    pub(crate) async fn start(
        config: ClusterConfig,
        forest: Arc<dyn ForestHooks>,
        tracker: Gate,
        subs: Arc<Mutex<Subscribers>>,
    ) -> Result<Handle, ClusterError> {
        // Start is a handful of sequential requests; a registration whose answer keeps
        // getting lost is read back forever, so the whole start (connect included) is
        // bounded by connect timeout + 10 request timeouts.
        let start_deadline =
            tokio::time::Instant::now() + config.connect_timeout() + config.request_timeout() * 10;
        let opts = ConnectOptions::new()
            .with_connect_timeout(config.connect_timeout())
            .with_timeout(config.request_timeout());
        // etcd-client's channel connects lazily: a Status request (answered by any member,
        // quorum or not) proves that an endpoint answers, so "unreachable" is told apart
        // from "reachable but unavailable" (a lease grant that times out).
        let connect = async {
            let mut c = Client::connect(config.endpoints(), Some(opts)).await?;
            c.status().await?;
            Ok::<Client, etcd_client::Error>(c)
        };
        let client = match tokio::time::timeout(config.connect_timeout(), connect).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Err(ClusterError::Connect(e.to_string())),
            Err(_) => return Err(ClusterError::Connect("connect timed out".into())),
        };
        let base = std::time::Instant::now();
        let acfg = AdapterConfig::from_cluster(&config, info(&config))?;
        let (gate, outstanding) = hooks::HookQueue::gate(tracker);
        let adapter = Adapter::new(acfg, gate, Instant::ZERO)?;
        let (tx, rx) = unbounded_channel();
        let shared = Arc::new(Shared {
            adapter: Mutex::new(adapter),
            base,
            client,
            config,
            fault: Mutex::new(Fault::None),
            subs,
            core_sink: forest.clone(),
            tx,
        });
        let hook_queue = hooks::HookQueue::start(
            shared.clone(),
            forest,
            outstanding,
            tokio::runtime::Handle::current(),
        )
        .map_err(|e| ClusterError::Etcd(format!("hook thread: {e}")))?;
        let (status_tx, mut status_rx) = tokio::sync::watch::channel(Status::Starting);
        let task = tokio::spawn(run(shared.clone(), rx, hook_queue, status_tx));
        let handle = Handle {
            shared,
            task: Mutex::new(Some(task)),
            aborted: core::sync::atomic::AtomicBool::new(false),
        };
        loop {
            let s = status_rx.borrow_and_update().clone();
            match s {
                Status::Starting => {}
                Status::Stopped(e) => {
                    // Let the loop revoke the lease before giving up.
                    let t = lock(&handle.task).take();
                    if let Some(t) = t {
                        let wait = handle.shared.config.request_timeout() * 2;
                        let _ = tokio::time::timeout(wait, t).await;
                    }
                    return Err(e.unwrap_or(ClusterError::Stopped));
                }
                _ => return Ok(handle),
            }
            match tokio::time::timeout_at(start_deadline, status_rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(ClusterError::Stopped),
                // Dropping the handle aborts the loop; the lease, if any, expires.
                Err(_) => return Err(ClusterError::Etcd("start timed out".into())),
            }
        }
    }

    pub(crate) async fn fenced_put(&self, rank: u32, value: Vec<u8>) -> Result<u64, WriteError> {
        let now = self.shared.now();
        let built = self.shared.adapter().owner_write(now, rank, value);
        let _ = self.shared.tx.send(Cmd::Wake);
        let (txn, inc, seq) = built?;
        self.shared.fenced_txn(txn, rank, inc, seq).await
    }

    pub(crate) async fn leave(&self) -> Result<(), ClusterError> {
        if self.aborted.load(core::sync::atomic::Ordering::Acquire) {
            return Err(ClusterError::Stopped);
        }
        let (tx, rx) = oneshot::channel();
        if self.shared.tx.send(Cmd::Leave(tx)).is_err() {
            return Err(ClusterError::Stopped);
        }
        let _ = rx.await;
        let t = lock(&self.task).take();
        match t {
            Some(t) => {
                let _ = t.await;
                self.shared.adapter().leave_result()
            }
            // Another leave (or an abort) took the loop first.
            None => Err(ClusterError::Stopped),
        }
    }

    /// Stops the loop without a graceful leave and revokes the lease: the other processes
    /// see this process's ranks FAILED at once. The lease is revoked FIRST (bounded by the
    /// request timeout), then the loop task is waited for, also bounded by the request
    /// timeout (the loop runs no forest hook itself; a hook stuck on the hook thread is
    /// left to finish on its own, and nothing fenced is sent any more: the lease is marked
    /// lost). So this returns within 2 request timeouts.
    pub(crate) async fn abort(&self) {
        self.aborted
            .store(true, core::sync::atomic::Ordering::Release);
        let t = lock(&self.task).take();
        if let Some(t) = &t {
            t.abort();
        }
        let lease = {
            let mut a = self.shared.adapter();
            let id = a.lease.id;
            let live = id != 0 && !a.lease.lost;
            // Nothing fenced is sent on this lease any more.
            a.lease.lost = true;
            live.then_some(id)
        };
        if let Some(lease) = lease {
            let mut c = self.shared.client.clone();
            let _ =
                tokio::time::timeout(self.shared.config.request_timeout(), c.lease_revoke(lease))
                    .await;
        }
        if let Some(t) = t {
            let _ = tokio::time::timeout(self.shared.config.request_timeout(), t).await;
        }
    }

    pub(crate) fn state(&self) -> crate::member::MemberState {
        use crate::member::MemberState;
        if self.aborted.load(core::sync::atomic::Ordering::Acquire) {
            return MemberState::Stopped;
        }
        let a = self.shared.adapter();
        match a.status() {
            Status::Stopped(None) => MemberState::Left,
            Status::Stopped(Some(_)) => MemberState::Stopped,
            Status::Leaving => MemberState::Leaving,
            Status::Starting | Status::Running if a.lease.lost => MemberState::LeaseLost,
            Status::Starting | Status::Running => MemberState::Running,
        }
    }

    pub(crate) fn lock_token(&self, rank: u32) -> Option<u64> {
        match self.shared.adapter().fence_stage(rank) {
            Some(crate::proto::adapter::FenceStage::Granted {
                token, lost: false, ..
            }) => Some(token),
            _ => None,
        }
    }

    pub(crate) fn may_write(&self) -> bool {
        let now = self.shared.now();
        self.shared.adapter().may_write(now)
    }

    pub(crate) fn incarnation(&self, rank: u32) -> Option<u64> {
        let a = self.shared.adapter();
        if a.hosted.contains(&rank) {
            a.incarnation(rank)
        } else {
            None
        }
    }

    pub(crate) async fn phase_put(
        &self,
        rank: u32,
        token: u64,
        value: Vec<u8>,
    ) -> Result<u64, WriteError> {
        let now = self.shared.now();
        let built = self
            .shared
            .adapter()
            .phase_write(now, rank, token, rank, value);
        let _ = self.shared.tx.send(Cmd::Wake);
        let (txn, seq) = built?;
        self.shared.fenced_txn(txn, rank, token, seq).await
    }

    pub(crate) async fn get(&self, rank: u32) -> Result<Option<Vec<u8>>, WriteError> {
        let key = self.shared.adapter().keys().store(rank);
        let mut client = self.shared.client.clone();
        let timeout = self.shared.config.request_timeout();
        match tokio::time::timeout(timeout, client.get(key, None::<etcd_client::GetOptions>)).await
        {
            Ok(Ok(r)) => Ok(r.kvs().first().map(|kv| kv.value().to_vec())),
            _ => Err(WriteError::Unavailable { ambiguous: false }),
        }
    }

    pub(crate) fn ranks(&self) -> Vec<u32> {
        self.shared.adapter().hosted()
    }

    pub(crate) fn stats(&self) -> ClusterStats {
        self.shared.adapter().stats()
    }

    pub(crate) fn coordinator_snapshot(
        &self,
    ) -> (
        ftforest_core::coord::Stats,
        ftforest_core::coord::HealthLevel,
        ftforest_core::coord::Alerts,
    ) {
        let now = self.shared.now();
        let a = self.shared.adapter();
        let c = a.coordinator();
        (c.stats(), c.level(), c.alerts(now))
    }

    pub(crate) fn report(&self, r: ftforest_core::coord::Report) -> bool {
        let now = self.shared.now();
        let ok = self.shared.adapter().report(now, r);
        let _ = self.shared.tx.send(Cmd::Wake);
        ok
    }

    pub(crate) fn fault(&self, f: Fault) {
        *lock(&self.shared.fault) = f;
        self.shared
            .adapter()
            .set_drop_keepalives(f == Fault::DropKeepalives);
        let _ = self.shared.tx.send(Cmd::Wake);
    }
}

/// What one pass over the adapter's outputs collected.
struct Outputs {
    ops: Vec<(OpId, Request)>,
    watch: Option<u64>,
    hooks: Vec<Hook>,
    events: Vec<crate::proto::ClusterEvent>,
    core_events: Vec<ftforest_core::coord::Event>,
    timeout: Option<Instant>,
    status: Status,
}

fn collect(a: &mut Adapter<Gate>) -> Outputs {
    let mut o = Outputs {
        ops: Vec::new(),
        watch: a.poll_watch(),
        hooks: Vec::new(),
        events: Vec::new(),
        core_events: Vec::new(),
        timeout: None,
        status: a.status().clone(),
    };
    while let Some(op) = a.poll_op() {
        o.ops.push(op);
    }
    while let Some(h) = a.poll_hook() {
        o.hooks.push(h);
    }
    while let Some(e) = a.poll_event() {
        o.events.push(e);
    }
    while let Some(e) = a.poll_core_event() {
        o.core_events.push(e);
    }
    o.timeout = a.poll_timeout();
    o
}

async fn run(
    shared: Arc<Shared>,
    mut rx: UnboundedReceiver<Cmd>,
    hook_queue: hooks::HookQueue,
    status_tx: tokio::sync::watch::Sender<Status>,
) {
    let keeper = Arc::new(tokio::sync::Mutex::new(Keeper::default()));
    let mut watch_gen = 0u64;
    let mut watch_task: Option<JoinHandle<()>> = None;
    let mut leave_waiters: Vec<oneshot::Sender<()>> = Vec::new();
    let timeout = shared.config.request_timeout();
    let ka_timeout =
        timeout.min(shared.config.ttl() / crate::proto::adapter::lease::KEEPALIVE_TIMEOUT_DIVISOR);
    loop {
        let stall = {
            let mut f = lock(&shared.fault);
            match *f {
                Fault::Stall(d) => {
                    *f = Fault::None;
                    Some(d)
                }
                _ => None,
            }
        };
        if let Some(d) = stall {
            // The whole driver stops, like a paused process: no keepalive, no input.
            tokio::time::sleep(d).await;
        }
        let out = {
            let mut a = shared.adapter();
            let out = collect(&mut a);
            // Counted under the adapter lock: no quiescence check sees a pause hook that
            // left the adapter's queue but is not counted yet.
            hook_queue.collected(&out.hooks);
            out
        };
        shared.publish(out.events);
        for e in &out.core_events {
            shared.core_sink.on_core_event(e);
        }
        for (id, req) in out.ops {
            let mut client = shared.client.clone();
            let keeper = keeper.clone();
            let tx = shared.tx.clone();
            tokio::spawn(async move {
                let mut k = keeper.lock().await;
                let is_ka = matches!(req, Request::KeepAlive { .. });
                let r = if is_ka {
                    exec::execute(&mut client, &mut k, req, ka_timeout).await
                } else {
                    drop(k);
                    let mut own = Keeper::default();
                    exec::execute(&mut client, &mut own, req, timeout).await
                };
                let _ = tx.send(Cmd::Result(id, r));
            });
        }
        if let Some(from) = out.watch {
            if let Some(t) = watch_task.take() {
                t.abort();
            }
            watch_gen += 1;
            let prefix = shared.config.prefix().to_owned();
            watch_task = Some(tokio::spawn(watch::run(
                shared.client.clone(),
                prefix,
                from,
                watch_gen,
                shared.tx.clone(),
            )));
        }
        for h in out.hooks {
            hook_queue.push(h);
        }
        status_tx.send_if_modified(|s| {
            if *s != out.status {
                *s = out.status.clone();
                true
            } else {
                false
            }
        });
        if let Status::Stopped(_) = out.status {
            if !shared.adapter().has_pending() || rx.is_closed() {
                for w in leave_waiters.drain(..) {
                    let _ = w.send(());
                }
                break;
            }
        }
        let sleep_until = out.timeout.map(|t| {
            tokio::time::Instant::from_std(shared.base + Duration::from_nanos(t.as_nanos()))
        });
        let cmd = match sleep_until {
            Some(at) => tokio::select! {
                c = rx.recv() => c,
                _ = tokio::time::sleep_until(at) => {
                    let now = shared.now();
                    shared.adapter().tick(now);
                    continue;
                }
            },
            None => rx.recv().await,
        };
        let Some(cmd) = cmd else {
            break;
        };
        let now = shared.now();
        let mut a = shared.adapter();
        match cmd {
            Cmd::Result(id, r) => a.handle_result(now, id, r),
            Cmd::Watch(gen, input) if gen == watch_gen => a.handle_watch(now, input),
            Cmd::Watch(..) => {}
            Cmd::PhaseDone(job, ok) => a.phase_done(now, job, ok),
            Cmd::HookDone => a.tick(now),
            Cmd::Leave(w) => {
                leave_waiters.push(w);
                a.leave(now);
            }
            Cmd::Wake => {}
        }
        if a.poll_timeout().is_some_and(|t| t <= now) {
            a.tick(now);
        }
    }
    if let Some(t) = watch_task.take() {
        t.abort();
    }
    // The resume hooks of a leave run before it returns (bounded: a stuck hook is left).
    hook_queue.flush(timeout).await;
    for w in leave_waiters {
        let _ = w.send(());
    }
}
