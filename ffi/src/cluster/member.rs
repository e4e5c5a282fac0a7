//! `ftf_cluster`: the member handle: join, leave, free.
//!
//! Invariants:
//!
//! * An `ftf_cluster` owns a tokio runtime (2 workers, `ftf-cluster`), the
//!   `ftforest_cluster::Member` started on it (on the attached forest's tracker as its gate,
//!   so `ftf_op_begin` / `ftf_op_end` stay as they are: no network, no lock), the event
//!   dispatcher thread and a counted reference to the attached forest.
//! * The forest is attached from a successful join until the teardown of the last handle
//!   (`ftf_forest_start` answers `FTF_BUSY` meanwhile); a failed join detaches it again
//!   (an `Attached` guard, so also on an unwind).
//! * The teardown (last `ftf_cluster_free`): first the registry stops listener calls
//!   (before the handle's memory goes, also on the hand-off path); a member that did not
//!   leave is aborted (lease revoked at once: the others see its ranks FAILED without
//!   waiting for the TTL; loops stopped); the dispatcher is joined with a deadline
//!   (`SHUTDOWN_WAIT`, then left: a stuck listener cannot hold the free); the runtime is shut down (its threads
//!   joined, bounded); the forest is detached and its reference dropped. On a member's own
//!   thread (a callback) or any tokio thread, the whole teardown runs on a new thread
//!   instead, so nothing joins itself and no runtime is dropped in an async context.

use core::time::Duration;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use ftforest_cluster::{Gate, Member, MemberState};
use tokio::runtime::Runtime;

use super::config::ftf_cluster_config;
use super::error::{cluster_error, state_error};
use super::events::{dispatch, CoreSink, Msg, Registry};
use super::hooks::CHooks;
use super::threads;
use crate::forest::{ftf_forest, ForestRef};
use crate::handle::{
    arc_from_raw, to_arc_const_ptr, try_from, try_out, try_ref_from_ptr, Castable, OwnershipArc,
};
use crate::panic::ffi_panic_boundary;
use crate::result::ftf_result;

/// A cluster member (one process of a forest spread over processes, on etcd). Shared
/// (`const ftf_cluster *`), thread-safe: every function may be called from any thread at
/// once (see each one for the callbacks it may be called from).
pub struct ftf_cluster {
    _private: [u8; 0],
}

impl Castable for ftf_cluster {
    type Ownership = OwnershipArc;
    type RustType = FfiCluster;
}

/// How long the teardown waits for the runtime's threads (a phase callback still running
/// is the only thing that can take long).
const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

/// What the teardown releases (see the module invariants).
struct Parts {
    member: Arc<Member>,
    rt: Runtime,
    forest: ForestRef,
    registry: Arc<Registry>,
    dispatcher: Option<JoinHandle<()>>,
    request_timeout: Duration,
}

impl Parts {
    fn teardown(self) {
        let Parts {
            member,
            rt,
            forest,
            registry,
            dispatcher,
            request_timeout,
        } = self;
        if matches!(
            member.state(),
            MemberState::Running | MemberState::LeaseLost | MemberState::Leaving
        ) {
            // Bounded by the request timeout inside; the outer bound is a second guard.
            let m = member.clone();
            let _ =
                rt.block_on(
                    async move { tokio::time::timeout(request_timeout * 2, m.abort()).await },
                );
        }
        registry.stop();
        if let Some(d) = dispatcher {
            // A listener stuck in a call is not waited for past SHUTDOWN_WAIT: the thread
            // is left (it exits after that call: no call starts once stopping).
            let deadline = std::time::Instant::now() + SHUTDOWN_WAIT;
            while !d.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            if d.is_finished() {
                let _ = d.join();
            }
        }
        registry.clear();
        {
            // The last reference may be this one (after a hand-off): drop the driver (its
            // client and tasks) inside the runtime's context.
            let _enter = rt.enter();
            drop(member);
        }
        rt.shutdown_timeout(SHUTDOWN_WAIT);
        forest.detach();
        drop(forest);
    }
}

/// Detaches the forest when dropped still armed: a join that did not succeed (error or
/// unwind) never leaves it attached.
struct Attached(Option<ForestRef>);

impl Drop for Attached {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f.detach();
        }
    }
}

/// The Rust state behind an `ftf_cluster` handle.
pub(crate) struct FfiCluster {
    pub(crate) member: Arc<Member>,
    pub(crate) rt: tokio::runtime::Handle,
    pub(crate) registry: Arc<Registry>,
    pub(crate) n: u32,
    pub(crate) request_timeout: Duration,
    parts: Mutex<Option<Parts>>,
}

impl FfiCluster {
    /// `Err(code)` unless the member takes part (see `error.rs`).
    pub(crate) fn alive(&self) -> Result<(), ftf_result> {
        match state_error(self.member.state()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The checks of a blocking call about `rank`: not inside a pause/resume hook
    /// (`FTF_BUSY`), a live member, `rank < n` (`FTF_UNKNOWN_PARTITION`).
    pub(crate) fn ready_to_block(&self, rank: u32) -> Result<(), ftf_result> {
        if threads::may_not_block() {
            return Err(ftf_result::FTF_BUSY);
        }
        self.alive()?;
        if rank >= self.n {
            return Err(ftf_result::FTF_UNKNOWN_PARTITION);
        }
        Ok(())
    }
}

impl Drop for FfiCluster {
    fn drop(&mut self) {
        let parts = self
            .parts
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some(parts) = parts else {
            return;
        };
        // Before this handle's memory goes: no listener call starts any more (the
        // dispatcher may be the caller, with other listeners and events still to deliver).
        parts.registry.stop_calls();
        if !threads::must_hand_off() {
            parts.teardown();
            return;
        }
        // A callback thread or a runtime thread: nothing may be joined or dropped here.
        let slot = Arc::new(Mutex::new(Some(parts)));
        let moved = slot.clone();
        let spawned = std::thread::Builder::new()
            .name("ftf-cluster-free".into())
            .spawn(move || {
                let p = moved.lock().unwrap_or_else(|p| p.into_inner()).take();
                if let Some(p) = p {
                    p.teardown();
                }
            });
        if spawned.is_err() {
            // No thread: stop what can be stopped without waiting (the lease then expires).
            let p = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(p) = p {
                p.registry.stop();
                p.forest.detach();
                p.rt.shutdown_background();
            }
        }
    }
}

/// Starts the forwarding task (member events → dispatcher channel) and the dispatcher (which
/// also delivers the coordinator's events, sent by `CHooks`, to `forest`'s listeners).
fn start_events(
    member: &Member,
    rt: &Runtime,
    tx: Sender<Msg>,
    registry: Arc<Registry>,
    rx: std::sync::mpsc::Receiver<Msg>,
    forest: ForestRef,
) -> std::io::Result<JoinHandle<()>> {
    let mut events = member.events();
    rt.spawn(async move {
        while let Some(r) = events.recv().await {
            if tx.send(Msg::Event(r)).is_err() {
                break;
            }
        }
    });
    std::thread::Builder::new()
        .name("ftf-cluster-ev".into())
        .spawn(move || dispatch(registry, rx, forest))
}

impl ftf_cluster {
    /// Joins the cluster: connects to etcd (an endpoint must answer within the connect
    /// timeout), checks or creates the cluster's `config` key, registers this process and
    /// its ranks, and starts the keepalive / watch / coordinator loops. Blocks, bounded by
    /// the connect timeout + 13 request timeouts (the start: connect + 10; revoking the
    /// lease of a refused start: 2; one spare), + at most 10 s for the runtime's shutdown
    /// on an error.
    ///
    /// `forest` is attached: its tracker is the gate the cluster-wide pause closes
    /// (`ftf_op_begin` on `ftf_forest_tracker(forest)` is unchanged: no network, no lock),
    /// its `run_phase` runs the recovery phases (`job->fence` = the fencing token, never 0),
    /// its balancer/ghost-sync hooks are called at the cluster-wide pause/resume; `cancel`
    /// is never called; its `ftf_event` listeners get the member coordinator's events (on
    /// the member's dispatcher thread, see `ftf_event_fn`).
    /// The forest must not be running nor attached to another member;
    /// while attached, `ftf_forest_start` returns `FTF_BUSY`. The configuration is copied
    /// (free it after).
    ///
    /// `FTF_OK` (`*cluster_out` owns the member: free it with `ftf_cluster_free`);
    /// `FTF_NULL_PARAMETER`; `FTF_INVALID_CONFIG` (see `ftf_cluster_config_check`);
    /// `FTF_INVALID_ARGUMENT` (the forest's partition count is not the configuration's
    /// `n`: checked before connecting);
    /// `FTF_ALREADY_RUNNING` (the forest runs); `FTF_BUSY` (the forest is attached to
    /// another member, or this is called from a pause/resume hook or on a thread inside a
    /// tokio runtime other than a member's callback threads: it would block in an async
    /// context); `FTF_UNREACHABLE`;
    /// `FTF_CONFIG_MISMATCH`; `FTF_RANK_HELD`; `FTF_ZOMBIE_REJOIN`; `FTF_UNAVAILABLE`;
    /// `FTF_CALLBACK_FAILED` (the OS refused a thread). On an error nothing stays
    /// registered (the lease is revoked, or expires) and the forest is not attached (also
    /// if the join unwinds).
    /// Thread-safe.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_join(
        config: *const ftf_cluster_config,
        forest: *const ftf_forest,
        cluster_out: *mut *const ftf_cluster,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let Some(cfg) = try_from(config) else {
                return ftf_result::FTF_NULL_PARAMETER;
            };
            let out = try_out!(cluster_out);
            let Some(forest) = ForestRef::clone_from_ptr(forest) else {
                return ftf_result::FTF_NULL_PARAMETER;
            };
            if threads::may_not_block() {
                return ftf_result::FTF_BUSY;
            }
            let Ok(cc) = cfg.build() else {
                return ftf_result::FTF_INVALID_CONFIG;
            };
            let n = cc.n();
            // run_phase gets `job->rank < n`: a forest of another size would be handed ranks
            // it does not have (C code indexing per-partition arrays by rank overflows).
            if forest.monitor.with_coordinator(|c| c.len()) != n {
                return ftf_result::FTF_INVALID_ARGUMENT;
            }
            let request_timeout = cc.request_timeout();
            let bound = cc.connect_timeout() + cc.request_timeout() * 13;
            if let Err(e) = forest.attach() {
                return e;
            }
            // Detaches on every way out but success (an error return, or an unwind).
            let mut attached = Attached(Some(forest.share()));
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .thread_name("ftf-cluster")
                .on_thread_start(threads::block_sigpipe)
                .build()
            {
                Ok(rt) => rt,
                Err(_) => {
                    forest.detach();
                    return ftf_result::FTF_CALLBACK_FAILED;
                }
            };
            // Created before the start: the coordinator's first events (its members joining)
            // wait in the channel for the dispatcher.
            let (tx, rx) = std::sync::mpsc::channel();
            let hooks = Arc::new(CHooks {
                forest: forest.share(),
                core_events: CoreSink::new(tx.clone()),
            });
            let gate: Gate = forest.tracker.clone();
            let started = rt.block_on(async move {
                tokio::time::timeout(bound, Member::start_with_gate(cc, hooks, gate)).await
            });
            let member = match started {
                Ok(Ok(m)) => Arc::new(m),
                Ok(Err(e)) => {
                    rt.shutdown_timeout(SHUTDOWN_WAIT);
                    forest.detach();
                    return cluster_error(&e);
                }
                Err(_) => {
                    rt.shutdown_timeout(SHUTDOWN_WAIT);
                    forest.detach();
                    return ftf_result::FTF_UNAVAILABLE;
                }
            };
            let registry = Arc::new(Registry::new(tx.clone()));
            let dispatcher = match start_events(&member, &rt, tx, registry.clone(), rx, forest.share()) {
                Ok(d) => d,
                Err(_) => {
                    let m = member.clone();
                    rt.block_on(async move { m.abort().await });
                    drop(member);
                    rt.shutdown_timeout(SHUTDOWN_WAIT);
                    forest.detach();
                    return ftf_result::FTF_CALLBACK_FAILED;
                }
            };
            let handle = rt.handle().clone();
            let parts = Parts {
                member: member.clone(),
                rt,
                forest,
                registry: registry.clone(),
                dispatcher: Some(dispatcher),
                request_timeout,
            };
            attached.0 = None;
            *out = to_arc_const_ptr::<ftf_cluster>(FfiCluster {
                member,
                rt: handle,
                registry,
                n,
                request_timeout,
                parts: Mutex::new(Some(parts)),
            });
            ftf_result::FTF_OK
        }
    }

    /// Graceful leave: every hosted rank is marked left (not a failure), the lease is
    /// revoked, the loops stop; afterwards every call needing a live member returns
    /// `FTF_NOT_RUNNING` (statistics still answer). Blocks, at most 4 request timeouts for
    /// the marks; then the lease is revoked without them (sent first, then the loop is
    /// waited for: at most 4 more request timeouts, even if the loop is stuck in a forest
    /// hook) and this returns `FTF_UNAVAILABLE`.
    ///
    /// `FTF_OK` (every hosted rank was marked left); `FTF_NOT_RUNNING` (already left or
    /// stopped); `FTF_LEASE_LOST` (the lease was already gone: nothing to mark);
    /// `FTF_STALE` (a rank's mark was refused by its incarnation compare: the rank was no
    /// longer this process's); `FTF_UNAVAILABLE` (a mark could not be written or was not
    /// confirmed: etcd did not answer, or this process was past its self-fence deadline).
    /// On `FTF_STALE` / `FTF_UNAVAILABLE` the lease is still revoked (or expires), so the
    /// others see the unmarked ranks FAILED and recover them; `FTF_BUSY` (from a
    /// pause/resume hook, or on a thread inside another tokio runtime); `FTF_NULL_PARAMETER`.
    /// Thread-safe; callable from `run_phase` and listeners.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_leave(cluster: *const ftf_cluster) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(cluster);
            if threads::may_not_block() {
                return ftf_result::FTF_BUSY;
            }
            if let Err(e) = c.alive() {
                return e;
            }
            // Past the self-fence deadline the marks cannot be sent: the leave only revokes
            // the lease (the others then see the ranks FAILED).
            let could_mark = c.member.may_write();
            let m = c.member.clone();
            let bound = c.request_timeout * 4;
            let r = c.rt.block_on(async move {
                match tokio::time::timeout(bound, m.leave_shared()).await {
                    Ok(r) => Some(r),
                    Err(_) => {
                        // abort revokes first and bounds its wait for the loop itself;
                        // this outer bound is a second guard.
                        let _ = tokio::time::timeout(bound, m.abort()).await;
                        None
                    }
                }
            });
            match r {
                Some(Ok(())) if could_mark => ftf_result::FTF_OK,
                Some(Ok(())) => ftf_result::FTF_UNAVAILABLE,
                Some(Err(e)) => cluster_error(&e),
                None => ftf_result::FTF_UNAVAILABLE,
            }
        }
    }

    /// Releases the handle; NULL is a no-op. The member stops: if it did not leave, its
    /// lease is revoked at once (its ranks are then seen FAILED by the others immediately,
    /// like a crash without waiting for the TTL; at most 2 request timeouts); from the
    /// moment this is called no listener call starts (listeners are only finalized, exactly
    /// once, also when this is called from a listener: the others are not called for that
    /// event nor any later one); the dispatcher is joined (at most 10 s: a listener stuck in
    /// a call is left behind and finalized when it returns); the runtime's threads are
    /// joined (at most 10 s for a phase still running); the forest is detached (`ftf_forest_start`
    /// works again) and released. Called from one of the member's callbacks (or any tokio
    /// thread) it returns at once and a new thread does all that (the forest is detached
    /// when it finishes). Must be the last use of the handle.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_free(cluster: *const ftf_cluster) {
        ffi_panic_boundary! {
            drop(arc_from_raw(cluster));
        }
    }
}
