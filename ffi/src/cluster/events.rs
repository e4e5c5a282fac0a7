//! Cluster events for C: `ftf_cluster_event`, the listeners (`ftf_cluster_subscribe` /
//! `ftf_cluster_unsubscribe`) and the member's event-dispatcher thread.
//!
//! Invariants:
//!
//! * One dispatcher thread per member calls every listener, in the order the member emitted
//!   the events, none dropped (except past [`FTF_CLUSTER_BACKLOG`] events while nobody ever
//!   subscribed: the oldest of those go first). Until the first subscription the events are
//!   kept; whoever is subscribed when the dispatcher next wakes gets that backlog first.
//! * No lock is held while a listener runs. Unsubscribing is synchronous: after `FTF_OK`
//!   the listener is never called again; from another thread while the dispatcher is in
//!   that listener it waits for the call to return; from the dispatcher itself (any
//!   listener) it never waits; from a pause/resume hook it refuses (`FTF_BUSY`) instead of
//!   waiting.
//! * Once the teardown begins (`stopping`, set by the last free before the handle's memory
//!   goes) no listener call starts: listeners are then only finalized.
//! * A listener's finalizer runs exactly once, when its last reference is dropped (on
//!   unsubscribe, or on the dispatcher right after, or when the member is torn down).
//! * `json` is `EventRecord::to_json()`: the line `ftf-node` prints, so `ftf-check` reads C
//!   nodes' logs too.
//! * The member coordinator's own events (`Msg::Core`, from `ForestHooks::on_core_event`)
//!   go, on the same dispatcher thread, in the coordinator's order, to the attached
//!   forest's `ftf_event` listeners through the core monitor's own delivery
//!   (`Monitor::deliver_external`: same conversion, same synchronous unsubscribe). They
//!   are not kept for later subscribers (like a local forest's events), and none is
//!   delivered once the teardown began (`stopping`, checked before each listener call).

use core::ffi::{c_char, c_void};
use std::collections::VecDeque;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;

use ftforest_cluster::{ClusterEvent, EventRecord};
use ftforest_core::coord::Event;

use super::member::ftf_cluster;
use super::threads::is_in_cluster_hook;
use crate::callbacks::ftf_listener_handle;
use crate::event::FTF_NO_RANK;
use crate::forest::ForestRef;
use crate::handle::{try_out, try_ref_from_ptr};
use crate::panic::ffi_panic_boundary;
use crate::result::ftf_result;
use crate::wait::ftf_finalizer_fn;

/// Listener slots of a cluster member.
pub const FTF_CLUSTER_MAX_LISTENERS: u32 = 16;

/// Events kept for the first subscriber while nobody ever subscribed (beyond: oldest
/// dropped, so a member nobody listens to does not grow without bound).
pub const FTF_CLUSTER_BACKLOG: u32 = 65_536;

/// The kind of an `ftf_cluster_event`: one per `ClusterEvent` variant of the cluster
/// crate, in its declaration order (`cluster/src/proto/event.rs`); the JSON's `"event"`
/// field is the same name in snake_case.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ftf_cluster_event_kind {
    /// The `config` key matched (or was created).
    FTF_CLUSTER_EVENT_CONFIG_CHECKED = 0,
    /// This process registered a hosted rank (`rank`, `incarnation`).
    FTF_CLUSTER_EVENT_REGISTERED = 1,
    /// A member key appeared (`rank`, `incarnation`).
    FTF_CLUSTER_EVENT_MEMBER_JOINED = 2,
    /// A rank left gracefully (`rank`).
    FTF_CLUSTER_EVENT_MEMBER_LEFT = 3,
    /// A local signal suspects `rank` (never starts a recovery).
    FTF_CLUSTER_EVENT_SUSPECTED = 4,
    /// `rank`'s member key (`incarnation`) was deleted: FAILED at `revision`.
    FTF_CLUSTER_EVENT_FAILED = 5,
    /// The partition quorum of a lock attempt, read by the lock Txn itself (`rank`; counts in
    /// the JSON).
    FTF_CLUSTER_EVENT_QUORUM_DECISION = 6,
    /// This process holds `rank`'s recovery lock (`token`).
    FTF_CLUSTER_EVENT_LOCK_GRANTED = 7,
    /// A lock attempt for `rank` was refused (reason in the JSON).
    FTF_CLUSTER_EVENT_LOCK_REFUSED = 8,
    /// The cluster-wide pause for `rank`'s recovery (`token`) was requested.
    FTF_CLUSTER_EVENT_PAUSE_REQUESTED = 9,
    /// This process acknowledged the pause (`rank`, `token`).
    FTF_CLUSTER_EVENT_PAUSE_ACKED = 10,
    /// Every live process acknowledged (`rank`, `token`; the recoverer).
    FTF_CLUSTER_EVENT_ALL_ACKED = 11,
    /// The pause timed out (`rank`, `token`; missing processes in the JSON).
    FTF_CLUSTER_EVENT_PAUSE_TIMED_OUT = 12,
    /// A phase was handed to the forest (`rank`, `token`; phase name in the JSON).
    FTF_CLUSTER_EVENT_PHASE = 13,
    /// A fenced write was applied (`rank`, `token`, `revision`).
    FTF_CLUSTER_EVENT_WRITE_ACCEPTED = 14,
    /// A fenced write was refused (`rank`, `token`).
    FTF_CLUSTER_EVENT_WRITE_REFUSED = 15,
    /// A fenced write got no answer (`rank`, `token`): it may be in etcd.
    FTF_CLUSTER_EVENT_WRITE_UNKNOWN = 16,
    /// This process completed `rank`'s recovery (`incarnation` = the new one, `token`).
    FTF_CLUSTER_EVENT_RECOVERY_FINISHED = 17,
    /// Still not quiescent at the quiescence timeout of a pause (`rank`, `token`).
    FTF_CLUSTER_EVENT_QUIESCENCE_OVERDUE = 18,
    /// A stray lock of this process is given up (`rank`, `token`).
    FTF_CLUSTER_EVENT_STRAY_LOCK_RELEASED = 19,
    /// This process gave `rank`'s lock up without completing (`token`).
    FTF_CLUSTER_EVENT_RECOVERY_ABANDONED = 20,
    /// The pause of `rank`'s recovery ended here (`token`).
    FTF_CLUSTER_EVENT_RESUMED = 21,
    /// etcd says this process's lease is gone: the member is dead.
    FTF_CLUSTER_EVENT_LEASE_LOST = 22,
    /// The self-fence deadline passed: no fenced write is sent.
    FTF_CLUSTER_EVENT_SELF_FENCED = 23,
    /// A later keepalive proved the lease alive: writes allowed again.
    FTF_CLUSTER_EVENT_UNFENCED = 24,
    /// etcd stopped answering: no recovery starts.
    FTF_CLUSTER_EVENT_UNAVAILABLE = 25,
    /// etcd answers again.
    FTF_CLUSTER_EVENT_AVAILABLE = 26,
    /// The watch was re-created (`revision` = its start).
    FTF_CLUSTER_EVENT_WATCH_RESUMED = 27,
    /// The watch fell behind compaction; the prefix was re-listed at `revision`.
    FTF_CLUSTER_EVENT_RELISTED = 28,
    /// A registration was refused: `rank`'s previous incarnation failed.
    FTF_CLUSTER_EVENT_ZOMBIE_REJOIN_REFUSED = 29,
}

/// One cluster event (the pointer and `json` are valid for the listener call only).
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct ftf_cluster_event {
    /// An `ftf_cluster_event_kind`.
    pub kind: u32,
    /// The rank, `FTF_NO_RANK` (`UINT32_MAX`) when the event has none.
    pub rank: u32,
    /// The incarnation (member key create revision): REGISTERED, MEMBER_JOINED, FAILED,
    /// RECOVERY_FINISHED (the new one); 0 otherwise.
    pub incarnation: u64,
    /// The fencing token (a lock Txn's revision; for owner writes the incarnation); 0 when
    /// not applicable.
    pub token: u64,
    /// An etcd revision: FAILED (the deletion), WRITE_ACCEPTED, WATCH_RESUMED (from),
    /// RELISTED; 0 otherwise.
    pub revision: u64,
    /// Wall-clock milliseconds since the Unix epoch (the JSON's `ts_ms`).
    pub ts_ms: u64,
    /// The event as `ftf-node` prints it: one JSON object, NUL-terminated.
    pub json: *const c_char,
    /// `strlen(json)`.
    pub json_len: usize,
}

/// Receives one cluster event.
///
/// Called on the member's event-dispatcher thread (`ftf-cluster-ev`), in protocol order,
/// none dropped (the first subscriber also gets every event since the join began), with
/// no libftforest lock held. May call every `ftf_cluster_*` function, blocking ones
/// included, `ftf_cluster_unsubscribe` of itself and the last `ftf_cluster_free` (from here
/// neither waits for a thread). Must not unwind (C++: `noexcept`).
pub type ftf_cluster_event_fn =
    Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const ftf_cluster_event)>;

/// `kind`, `rank`, `incarnation`, `token`, `revision` of an event.
fn fields(e: &ClusterEvent) -> (ftf_cluster_event_kind, u32, u64, u64, u64) {
    use ftf_cluster_event_kind as K;
    use ClusterEvent as E;
    let none = FTF_NO_RANK;
    match e {
        E::ConfigChecked { .. } => (K::FTF_CLUSTER_EVENT_CONFIG_CHECKED, none, 0, 0, 0),
        E::Registered { rank, incarnation } => {
            (K::FTF_CLUSTER_EVENT_REGISTERED, *rank, *incarnation, 0, 0)
        }
        E::MemberJoined { rank, incarnation } => (
            K::FTF_CLUSTER_EVENT_MEMBER_JOINED,
            *rank,
            *incarnation,
            0,
            0,
        ),
        E::MemberLeft { rank } => (K::FTF_CLUSTER_EVENT_MEMBER_LEFT, *rank, 0, 0, 0),
        E::Suspected { rank } => (K::FTF_CLUSTER_EVENT_SUSPECTED, *rank, 0, 0, 0),
        E::Failed {
            rank,
            incarnation,
            revision,
        } => (
            K::FTF_CLUSTER_EVENT_FAILED,
            *rank,
            *incarnation,
            0,
            *revision,
        ),
        E::QuorumDecision { rank, .. } => (K::FTF_CLUSTER_EVENT_QUORUM_DECISION, *rank, 0, 0, 0),
        E::LockGranted { rank, token, .. } => {
            (K::FTF_CLUSTER_EVENT_LOCK_GRANTED, *rank, 0, *token, 0)
        }
        E::LockRefused { rank, .. } => (K::FTF_CLUSTER_EVENT_LOCK_REFUSED, *rank, 0, 0, 0),
        E::PauseRequested { rank, token } => {
            (K::FTF_CLUSTER_EVENT_PAUSE_REQUESTED, *rank, 0, *token, 0)
        }
        E::PauseAcked { rank, token, .. } => {
            (K::FTF_CLUSTER_EVENT_PAUSE_ACKED, *rank, 0, *token, 0)
        }
        E::AllAcked { rank, token, .. } => (K::FTF_CLUSTER_EVENT_ALL_ACKED, *rank, 0, *token, 0),
        E::PauseTimedOut { rank, token, .. } => {
            (K::FTF_CLUSTER_EVENT_PAUSE_TIMED_OUT, *rank, 0, *token, 0)
        }
        E::Phase { rank, token, .. } => (K::FTF_CLUSTER_EVENT_PHASE, *rank, 0, *token, 0),
        E::WriteAccepted {
            rank,
            token,
            revision,
            ..
        } => (
            K::FTF_CLUSTER_EVENT_WRITE_ACCEPTED,
            *rank,
            0,
            *token,
            *revision,
        ),
        E::WriteRefused { rank, token, .. } => {
            (K::FTF_CLUSTER_EVENT_WRITE_REFUSED, *rank, 0, *token, 0)
        }
        E::WriteUnknown { rank, token, .. } => {
            (K::FTF_CLUSTER_EVENT_WRITE_UNKNOWN, *rank, 0, *token, 0)
        }
        E::RecoveryFinished {
            rank,
            new_incarnation,
            token,
            ..
        } => (
            K::FTF_CLUSTER_EVENT_RECOVERY_FINISHED,
            *rank,
            *new_incarnation,
            *token,
            0,
        ),
        E::QuiescenceOverdue { rank, token, .. } => {
            (K::FTF_CLUSTER_EVENT_QUIESCENCE_OVERDUE, *rank, 0, *token, 0)
        }
        E::StrayLockReleased { rank, token } => (
            K::FTF_CLUSTER_EVENT_STRAY_LOCK_RELEASED,
            *rank,
            0,
            *token,
            0,
        ),
        E::RecoveryAbandoned { rank, token } => {
            (K::FTF_CLUSTER_EVENT_RECOVERY_ABANDONED, *rank, 0, *token, 0)
        }
        E::Resumed { rank, token } => (K::FTF_CLUSTER_EVENT_RESUMED, *rank, 0, *token, 0),
        E::LeaseLost => (K::FTF_CLUSTER_EVENT_LEASE_LOST, none, 0, 0, 0),
        E::SelfFenced { .. } => (K::FTF_CLUSTER_EVENT_SELF_FENCED, none, 0, 0, 0),
        E::Unfenced { .. } => (K::FTF_CLUSTER_EVENT_UNFENCED, none, 0, 0, 0),
        E::Unavailable => (K::FTF_CLUSTER_EVENT_UNAVAILABLE, none, 0, 0, 0),
        E::Available => (K::FTF_CLUSTER_EVENT_AVAILABLE, none, 0, 0, 0),
        E::WatchResumed { from_revision } => (
            K::FTF_CLUSTER_EVENT_WATCH_RESUMED,
            none,
            0,
            0,
            *from_revision,
        ),
        E::Relisted { revision } => (K::FTF_CLUSTER_EVENT_RELISTED, none, 0, 0, *revision),
        E::ZombieRejoinRefused { rank } => {
            (K::FTF_CLUSTER_EVENT_ZOMBIE_REJOIN_REFUSED, *rank, 0, 0, 0)
        }
    }
}

/// An event ready for C: the struct's fields and its JSON line (owned).
pub(crate) struct Delivered {
    json: CString,
    kind: u32,
    rank: u32,
    incarnation: u64,
    token: u64,
    revision: u64,
    ts_ms: u64,
}

impl Delivered {
    pub(crate) fn new(r: &EventRecord) -> Delivered {
        let (kind, rank, incarnation, token, revision) = fields(&r.event);
        // serde_json escapes every control character, so the line holds no NUL.
        let json = CString::new(r.to_json()).unwrap_or_default();
        Delivered {
            json,
            kind: kind as u32,
            rank,
            incarnation,
            token,
            revision,
            ts_ms: r.ts_ms,
        }
    }

    /// The C view; borrows `self` (the JSON pointer).
    pub(crate) fn as_c(&self) -> ftf_cluster_event {
        ftf_cluster_event {
            kind: self.kind,
            rank: self.rank,
            incarnation: self.incarnation,
            token: self.token,
            revision: self.revision,
            ts_ms: self.ts_ms,
            json: self.json.as_ptr(),
            json_len: self.json.as_bytes().len(),
        }
    }
}

/// One C listener; its finalizer runs when the last reference is dropped.
struct Listener {
    userdata: *mut c_void,
    callback: unsafe extern "C" fn(*mut c_void, *const ftf_cluster_event),
    finalizer: ftf_finalizer_fn,
}

// SAFETY: C contract of `ftf_cluster_subscribe`: `userdata` and the callbacks are usable
// from any thread (the dispatcher calls, any thread may finalize).
unsafe impl Send for Listener {}
// SAFETY: as above; the callback is only called through `&self`, by the dispatcher.
unsafe impl Sync for Listener {}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(fin) = self.finalizer {
            // SAFETY: the last reference is gone: the listener is never called again.
            unsafe { fin(self.userdata) }
        }
    }
}

/// The listener slots.
struct Slots {
    listeners: [Option<Arc<Listener>>; FTF_CLUSTER_MAX_LISTENERS as usize],
    generations: [u32; FTF_CLUSTER_MAX_LISTENERS as usize],
    /// The (slot, generation) the dispatcher is calling now.
    calling: Option<(u32, u32)>,
}

/// What the dispatcher thread reads.
pub(crate) enum Msg {
    /// An event of the member.
    Event(EventRecord),
    /// An event of the member's coordinator, for the attached forest's listeners.
    Core(Event),
    /// A subscription was added (deliver the backlog).
    Wake,
    /// The member is torn down: exit.
    Stop,
}

/// Where the driver loop hands the member coordinator's events (`on_core_event`): the
/// dispatcher's channel. Never blocks (an unbounded channel, drained by the dispatcher; the
/// driver keeps at most `CORE_EVENT_CAP` per pass).
pub(crate) struct CoreSink(Mutex<Sender<Msg>>);

impl CoreSink {
    /// A sink feeding the dispatcher that reads `tx`'s receiver.
    pub(crate) fn new(tx: Sender<Msg>) -> CoreSink {
        CoreSink(Mutex::new(tx))
    }
    /// Queues `e` for the dispatcher (dropped once the dispatcher is gone: torn down).
    pub(crate) fn send(&self, e: Event) {
        let _ = lock(&self.0).send(Msg::Core(e));
    }
}

/// The listeners of one member, shared by the handle and its dispatcher thread.
pub(crate) struct Registry {
    set: u32,
    slots: Mutex<Slots>,
    idle: Condvar,
    dispatcher: Mutex<Option<ThreadId>>,
    wake: Mutex<Sender<Msg>>,
    /// Set once the teardown begins (before the handle's memory goes): no listener call
    /// starts any more.
    stopping: AtomicBool,
}

/// Set ids of cluster listener handles (distinct from forests' ids: high bit set).
static NEXT_SET: AtomicU32 = AtomicU32::new(0x8000_0001);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Registry {
    pub(crate) fn new(wake: Sender<Msg>) -> Registry {
        let set = NEXT_SET.fetch_add(1, Ordering::Relaxed) | 0x8000_0000;
        Registry {
            set,
            slots: Mutex::new(Slots {
                listeners: Default::default(),
                generations: [0; FTF_CLUSTER_MAX_LISTENERS as usize],
                calling: None,
            }),
            idle: Condvar::new(),
            dispatcher: Mutex::new(None),
            wake: Mutex::new(wake),
            stopping: AtomicBool::new(false),
        }
    }

    /// No listener call starts from now on (the call in progress, if any, finishes). Set
    /// by the last `ftf_cluster_free` before the handle's memory goes.
    pub(crate) fn stop_calls(&self) {
        // Under the slots lock: a call that has not yet marked itself `calling` sees it.
        let _slots = lock(&self.slots);
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Stops the calls and asks the dispatcher to exit (after the call it is in, if any).
    pub(crate) fn stop(&self) {
        self.stop_calls();
        let _ = lock(&self.wake).send(Msg::Stop);
    }

    fn subscribe(&self, l: Listener) -> Result<ftf_listener_handle, Listener> {
        let mut s = lock(&self.slots);
        let Some(i) = s.listeners.iter().position(Option::is_none) else {
            return Err(l);
        };
        let generation = s.generations[i].wrapping_add(1).max(1);
        s.generations[i] = generation;
        s.listeners[i] = Some(Arc::new(l));
        drop(s);
        let _ = lock(&self.wake).send(Msg::Wake);
        Ok(ftf_listener_handle {
            set: self.set,
            slot: i as u32,
            generation,
        })
    }

    fn unsubscribe(&self, h: ftf_listener_handle) -> ftf_result {
        if h.set != self.set {
            return ftf_result::FTF_FOREIGN_HANDLE;
        }
        let i = h.slot as usize;
        let on_dispatcher = *lock(&self.dispatcher) == Some(std::thread::current().id());
        let mut s = lock(&self.slots);
        let held =
            i < s.listeners.len() && s.generations[i] == h.generation && s.listeners[i].is_some();
        if !held {
            return ftf_result::FTF_NOT_HOLDER;
        }
        if !on_dispatcher && s.calling == Some((h.slot, h.generation)) && is_in_cluster_hook() {
            // Waiting here would stall the hook thread (the pause ack waits for it), and
            // the listener may itself be waiting for that pause (leave, put, get): refuse,
            // nothing changed.
            return ftf_result::FTF_BUSY;
        }
        let taken = s.listeners[i].take();
        if !on_dispatcher {
            while s.calling == Some((h.slot, h.generation)) {
                s = self.idle.wait(s).unwrap_or_else(|p| p.into_inner());
            }
        }
        drop(s);
        // The finalizer runs here unless the dispatcher still holds a reference (then
        // there, right after its call).
        drop(taken);
        ftf_result::FTF_OK
    }

    fn snapshot(&self) -> Vec<(u32, u32, Arc<Listener>)> {
        let s = lock(&self.slots);
        s.listeners
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.as_ref().map(|l| (i as u32, s.generations[i], l.clone())))
            .collect()
    }

    /// Calls one listener unless it was unsubscribed meanwhile.
    fn call(&self, slot: u32, generation: u32, l: &Listener, ev: &ftf_cluster_event) {
        {
            let mut s = lock(&self.slots);
            let live =
                s.generations[slot as usize] == generation && s.listeners[slot as usize].is_some();
            // Checked under the slots lock, so a teardown that set `stopping` and then
            // cleared the slots never races a call starting.
            if !live || self.stopping.load(Ordering::SeqCst) {
                return;
            }
            s.calling = Some((slot, generation));
        }
        // SAFETY: the embedder's callback for this userdata; `ev` (and its JSON) live for
        // the call.
        super::threads::on_callback(|| unsafe { (l.callback)(l.userdata, ev) });
        lock(&self.slots).calling = None;
        self.idle.notify_all();
    }

    /// Drops every listener (teardown); their finalizers run once the dispatcher let go.
    pub(crate) fn clear(&self) {
        let taken: Vec<Arc<Listener>> = lock(&self.slots)
            .listeners
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        drop(taken);
    }
}

/// The dispatcher thread's body: delivers `rx` to the listeners (cluster events to the
/// member's, coordinator events to `forest`'s) until `Stop` (or every sender is gone).
pub(crate) fn dispatch(reg: Arc<Registry>, rx: Receiver<Msg>, forest: ForestRef) {
    super::threads::mark_cluster_thread();
    *lock(&reg.dispatcher) = Some(std::thread::current().id());
    let mut backlog: VecDeque<Delivered> = VecDeque::new();
    let mut backlog_done = false;
    while let Ok(msg) = rx.recv() {
        if reg.stopping.load(Ordering::SeqCst) {
            break;
        }
        let ev = match msg {
            Msg::Stop => break,
            Msg::Wake => None,
            Msg::Event(r) => Some(Delivered::new(&r)),
            Msg::Core(e) => {
                // The forest is attached (its monitor cannot start), so this thread is its
                // only deliverer; each listener gets `ftf_event::from(e)` (callbacks.rs).
                super::threads::on_callback(|| {
                    forest
                        .monitor
                        .deliver_external(&e, || !reg.stopping.load(Ordering::SeqCst))
                });
                continue;
            }
        };
        let listeners = reg.snapshot();
        if !backlog_done && !listeners.is_empty() {
            backlog_done = true;
            for d in backlog.drain(..) {
                let c = d.as_c();
                for (slot, generation, l) in &listeners {
                    reg.call(*slot, *generation, l, &c);
                }
            }
        }
        let Some(d) = ev else {
            continue;
        };
        if !backlog_done {
            if backlog.len() >= FTF_CLUSTER_BACKLOG as usize {
                backlog.pop_front();
            }
            backlog.push_back(d);
            continue;
        }
        let c = d.as_c();
        for (slot, generation, l) in &listeners {
            reg.call(*slot, *generation, l, &c);
        }
    }
}

impl ftf_cluster {
    /// Subscribes `callback` (see `ftf_cluster_event_fn`) with `userdata` and an optional
    /// `finalizer` (runs exactly once, when the listener can no longer be called).
    ///
    /// `FTF_OK` (`*handle_out` names the subscription); `FTF_FULL`
    /// (`FTF_CLUSTER_MAX_LISTENERS` taken; the finalizer is not called);
    /// `FTF_NULL_PARAMETER` (also a NULL callback). Never blocks; callable from every
    /// callback.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_subscribe(
        cluster: *const ftf_cluster,
        callback: ftf_cluster_event_fn,
        userdata: *mut c_void,
        finalizer: ftf_finalizer_fn,
        handle_out: *mut ftf_listener_handle,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(cluster);
            let out = try_out!(handle_out);
            let Some(callback) = callback else {
                return ftf_result::FTF_NULL_PARAMETER;
            };
            match c.registry.subscribe(Listener { userdata, callback, finalizer }) {
                Ok(h) => {
                    *out = h;
                    ftf_result::FTF_OK
                }
                Err(l) => {
                    // Not subscribed: the embedder keeps its userdata.
                    core::mem::forget(l);
                    ftf_result::FTF_FULL
                }
            }
        }
    }

    /// Removes the subscription `handle` names. Synchronous: after `FTF_OK` the listener is
    /// never called again; if the dispatcher is calling it right now (and this is another
    /// thread) this waits for that call to return, so a listener must not wait for a thread
    /// that unsubscribes it; from the dispatcher thread (any listener) it never waits; from
    /// a forest pause/resume hook it never waits either: `FTF_BUSY` (nothing changed, try
    /// again later) while the dispatcher is calling that listener. The finalizer may run on
    /// the dispatcher just after this returns.
    ///
    /// `FTF_OK`; `FTF_BUSY` (see above); `FTF_FOREIGN_HANDLE` (another member's or a
    /// forest's handle);
    /// `FTF_NOT_HOLDER` (already unsubscribed, never subscribed); `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_unsubscribe(
        cluster: *const ftf_cluster,
        handle: ftf_listener_handle,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(cluster);
            c.registry.unsubscribe(handle)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One event of every `ClusterEvent` variant, in declaration order: its kind is its
    /// index and its JSON `"event"` is the kind's name without the prefix, in lower case
    /// (so a variant inserted, moved or renamed in the cluster crate fails here).
    #[test]
    fn kinds_follow_the_variants_in_declaration_order() {
        use ftforest_cluster::{LockRefusal, QuorumVerdict};
        let s = || String::from("p");
        let all = [
            ClusterEvent::ConfigChecked {
                n: 1,
                k: 1,
                ttl_ms: 2000,
            },
            ClusterEvent::Registered {
                rank: 1,
                incarnation: 2,
            },
            ClusterEvent::MemberJoined {
                rank: 1,
                incarnation: 2,
            },
            ClusterEvent::MemberLeft { rank: 1 },
            ClusterEvent::Suspected { rank: 1 },
            ClusterEvent::Failed {
                rank: 1,
                incarnation: 2,
                revision: 3,
            },
            ClusterEvent::QuorumDecision {
                rank: 1,
                healthy: 1,
                members: 2,
                decision: QuorumVerdict::Recover,
            },
            ClusterEvent::LockGranted {
                rank: 1,
                token: 4,
                slot: 0,
            },
            ClusterEvent::LockRefused {
                rank: 1,
                refusal: LockRefusal::Held,
            },
            ClusterEvent::PauseRequested { rank: 1, token: 4 },
            ClusterEvent::PauseAcked {
                rank: 1,
                token: 4,
                proc: s(),
                in_flight: 0,
            },
            ClusterEvent::AllAcked {
                rank: 1,
                token: 4,
                procs: vec![s()],
            },
            ClusterEvent::PauseTimedOut {
                rank: 1,
                token: 4,
                missing: vec![],
                proceeded: false,
            },
            ClusterEvent::Phase {
                rank: 1,
                token: 4,
                phase: "DETECTING".into(),
            },
            ClusterEvent::WriteAccepted {
                rank: 1,
                token: 4,
                seq: 1,
                revision: 5,
            },
            ClusterEvent::WriteRefused {
                rank: 1,
                token: 4,
                seq: 1,
            },
            ClusterEvent::WriteUnknown {
                rank: 1,
                token: 4,
                seq: 1,
            },
            ClusterEvent::RecoveryFinished {
                rank: 1,
                old_incarnation: 2,
                new_incarnation: 6,
                token: 4,
            },
            ClusterEvent::QuiescenceOverdue {
                rank: 1,
                token: 4,
                in_flight: 1,
            },
            ClusterEvent::StrayLockReleased { rank: 1, token: 4 },
            ClusterEvent::RecoveryAbandoned { rank: 1, token: 4 },
            ClusterEvent::Resumed { rank: 1, token: 4 },
            ClusterEvent::LeaseLost,
            ClusterEvent::SelfFenced { deadline_ms: 1 },
            ClusterEvent::Unfenced { deadline_ms: 1 },
            ClusterEvent::Unavailable,
            ClusterEvent::Available,
            ClusterEvent::WatchResumed { from_revision: 7 },
            ClusterEvent::Relisted { revision: 7 },
            ClusterEvent::ZombieRejoinRefused { rank: 1 },
        ];
        for (i, event) in all.into_iter().enumerate() {
            let d = Delivered::new(&EventRecord {
                ts_ms: 7,
                proc: s(),
                event,
            });
            let c = d.as_c();
            assert_eq!(c.kind as usize, i);
            assert_eq!(c.ts_ms, 7);
            let json = d.json.to_str().unwrap();
            assert_eq!(c.json_len, json.len());
            let name = format!("{:?}", fields_kind(c.kind));
            let name = name.trim_start_matches("FTF_CLUSTER_EVENT_").to_lowercase();
            assert!(
                json.contains(&format!("\"event\":\"{name}\"")),
                "{i}: {json}"
            );
            assert!(json.starts_with("{\"ts_ms\":7,\"proc\":\"p\","), "{json}");
        }
    }

    /// The kind with value `v` (test helper).
    fn fields_kind(v: u32) -> ftf_cluster_event_kind {
        assert!(v <= ftf_cluster_event_kind::FTF_CLUSTER_EVENT_ZOMBIE_REJOIN_REFUSED as u32);
        // SAFETY: `v` is in the enum's dense range 0..=29 (checked above), `repr(u32)`.
        unsafe { core::mem::transmute::<u32, ftf_cluster_event_kind>(v) }
    }
}
