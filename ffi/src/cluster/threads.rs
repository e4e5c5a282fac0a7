//! Which thread is which, for the calls that must not wait on it.
//!
//! Invariants: `IN_CLUSTER_HOOK` is set exactly while a pause/resume hook runs, on the
//! member's hook thread (`ftf-cluster-hooks`, off the driver loop). The blocking and
//! waiting functions refuse it with `FTF_BUSY`: the gate they would wait for reopens only
//! after the pause, whose ack waits for this very hook (a deadlock), and a hook that waits
//! delays the member's later hooks and phases. `CLUSTER_THREAD` is set on every thread a
//! member runs callbacks on (dispatcher, phases, hooks), where the last free must not join
//! threads or drop a runtime (it hands the teardown to a new thread instead).
//! Every runtime thread of a member blocks SIGPIPE ([`block_sigpipe`]).

use core::cell::Cell;

thread_local! {
    static IN_CLUSTER_HOOK: Cell<bool> = const { Cell::new(false) };
    static CLUSTER_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Restores a thread-local flag on drop (also when a callback panics through Rust code).
struct Restore(&'static std::thread::LocalKey<Cell<bool>>, bool);

impl Drop for Restore {
    fn drop(&mut self) {
        let v = self.1;
        self.0.with(|c| c.set(v));
    }
}

fn with_flag<R>(key: &'static std::thread::LocalKey<Cell<bool>>, f: impl FnOnce() -> R) -> R {
    let old = key.with(|c| c.replace(true));
    let _restore = Restore(key, old);
    f()
}

/// Runs a pause/resume hook: marks the thread as inside a cluster hook meanwhile.
pub(crate) fn in_cluster_hook<R>(f: impl FnOnce() -> R) -> R {
    with_flag(&IN_CLUSTER_HOOK, || with_flag(&CLUSTER_THREAD, f))
}

/// Runs a callback on a member's thread (phase, listener).
pub(crate) fn on_callback<R>(f: impl FnOnce() -> R) -> R {
    with_flag(&CLUSTER_THREAD, f)
}

/// Marks the calling thread (a dispatcher) as a member's thread for good.
pub(crate) fn mark_cluster_thread() {
    CLUSTER_THREAD.with(|c| c.set(true));
}

/// Inside a pause/resume hook: blocking calls are refused (`FTF_BUSY`).
pub(crate) fn is_in_cluster_hook() -> bool {
    IN_CLUSTER_HOOK.with(Cell::get)
}

/// On a thread where a blocking call (join, leave, put, get) must not block: inside a
/// pause/resume hook, or on a thread inside a tokio runtime that is not one of a member's
/// callback threads (tokio's `block_on` panics there).
pub(crate) fn may_not_block() -> bool {
    is_in_cluster_hook()
        || (!CLUSTER_THREAD.with(Cell::get) && tokio::runtime::Handle::try_current().is_ok())
}

/// On a thread where the teardown must not wait for threads or drop a runtime: a member's
/// callback thread, or any tokio runtime thread.
pub(crate) fn must_hand_off() -> bool {
    CLUSTER_THREAD.with(Cell::get) || tokio::runtime::Handle::try_current().is_ok()
}

/// Blocks SIGPIPE on the calling thread; run at the start of each of a member's runtime
/// threads (they do its network I/O). A C program keeps SIGPIPE's default action
/// (terminate the process), unlike a Rust binary, and a vectored write to a connection etcd
/// has closed raises it: blocked on the writing thread, the write fails with `EPIPE`
/// instead (a request error, then a result code). The embedder's own threads keep their
/// signal mask.
pub(crate) fn block_sigpipe() {
    // SAFETY: `set` is a local sigset_t initialised by sigemptyset before use;
    // pthread_sigmask changes only the calling thread's mask and accepts a NULL old set.
    unsafe {
        let mut set: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, core::ptr::null_mut());
    }
}
