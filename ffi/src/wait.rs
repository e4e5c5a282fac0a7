//! How libftforest blocks: the core's [`WaitStrategy`] chosen at run time, including a C
//! wait/wake callback pair (futex, condvar, RTOS semaphore...).
//!
//! Invariants:
//!
//! * `FfiWait` is one concrete type for every C-created tracker and lock, so all of them
//!   share one monomorphisation and handles stay simple.
//! * The callback variant is `Send + Sync` by the C contract stated on
//!   [`ftf_wait_callbacks`]: both callbacks are thread-safe and `userdata` may be used from any
//!   thread until the finalizer runs. The finalizer runs exactly once, when the object that
//!   owns the strategy is destroyed (the last handle reference freed), never on a failed `_new`.
//! * Deadlines handed to the callback are on `ftf_now_ns()`'s time line; `UINT64_MAX` means
//!   "no deadline".

use core::ffi::c_void;

#[cfg(feature = "std")]
use ftforest_core::StdWait;
use ftforest_core::{Instant, SpinWait, WaitStrategy, WaitWord};

use crate::result::ftf_result;

/// How a C-created object blocks a waiting thread (passed as `uint32_t`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ftf_wait_kind {
    /// Park the thread on a mutex + condition variable (the default).
    FTF_WAIT_PARK = 0,
    /// Never block: waiters busy-wait with backoff (no OS needed; burns a core while waiting).
    FTF_WAIT_SPIN = 1,
    /// Call the embedder's `ftf_wait_callbacks` (futex, condvar, RTOS semaphore...).
    FTF_WAIT_CALLBACKS = 2,
}

impl ftf_wait_kind {
    /// Range-checks a value from C.
    pub(crate) fn from_u32(n: u32) -> Option<Self> {
        match n {
            0 => Some(ftf_wait_kind::FTF_WAIT_PARK),
            1 => Some(ftf_wait_kind::FTF_WAIT_SPIN),
            2 => Some(ftf_wait_kind::FTF_WAIT_CALLBACKS),
            _ => None,
        }
    }
}

/// Blocks the calling thread while `*addr == expected`.
///
/// `expected` always has bit 0 (the waiter flag) set: the library announced this waiter on
/// `addr` before the call, so the next state change calls `wake`.
/// Called by the thread that waits (a pauser waiting for quiescence, a `begin_wait`, a waiting
/// recovery-lock acquire), with no libftforest lock held. Must return when `*addr != expected`
/// (read it atomically, e.g. `__atomic_load_n` or `FUTEX_WAIT`), when `wake` was called on
/// `addr` after the caller read `expected`, or when `ftf_now_ns() >= deadline_ns`
/// (`UINT64_MAX` = no deadline); it may also return early or spuriously (the library re-checks
/// and calls again). It must not miss a wake: make the comparison and the sleep atomic with
/// respect to `wake` (futex semantics, or check under the mutex `wake` takes). Must not unwind
/// (C++: `noexcept`), must not call back into libftforest.
pub type ftf_wait_fn = Option<
    unsafe extern "C" fn(userdata: *mut c_void, addr: *mut u32, expected: u32, deadline_ns: u64),
>;

/// Wakes every thread blocked in the `wait` callback on `addr`.
///
/// Called by the thread that changed the state (an operation's end, a resume, a permit
/// release), with no libftforest lock held, after `*addr` was changed, and only when a waiter
/// announced itself on `addr` since the previous wake (bit 0 of `*addr` is that waiter flag;
/// the library sets it before calling `wait`): a state change with nobody waiting costs no
/// callback. Must not block for
/// long, must not unwind (C++: `noexcept`), must not call back into libftforest.
pub type ftf_wake_fn = Option<unsafe extern "C" fn(userdata: *mut c_void, addr: *mut u32)>;

/// Releases `userdata` when the object that holds it is destroyed.
///
/// Called exactly once, by the thread that frees the last handle reference to the object,
/// with no libftforest lock held. Must not unwind.
pub type ftf_finalizer_fn = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// An embedder-supplied blocking strategy (see `ftf_wait_fn` / `ftf_wake_fn`).
///
/// `wait` and `wake` are required. `userdata` is passed to every call; it and both callbacks
/// must be usable from any thread. `finalizer` (optional) is called once when the owning
/// object is destroyed; when the `_new` call fails, it is not called and `userdata` stays the
/// caller's.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct ftf_wait_callbacks {
    /// Passed as the first argument of every callback.
    pub userdata: *mut c_void,
    /// Blocks while `*addr == expected` (required).
    pub wait: ftf_wait_fn,
    /// Wakes the waiters on `addr` (required).
    pub wake: ftf_wake_fn,
    /// Releases `userdata` (optional, may be NULL).
    pub finalizer: ftf_finalizer_fn,
}

/// The C callback pair as a [`WaitStrategy`].
#[derive(Debug)]
pub(crate) struct CallbackWait {
    userdata: *mut c_void,
    wait: unsafe extern "C" fn(*mut c_void, *mut u32, u32, u64),
    wake: unsafe extern "C" fn(*mut c_void, *mut u32),
    finalizer: ftf_finalizer_fn,
}

// SAFETY: the C contract of `ftf_wait_callbacks` requires `userdata` and both callbacks to be
// usable from any thread at any time until the finalizer runs; this type holds nothing else.
unsafe impl Send for CallbackWait {}
// SAFETY: as above; the callbacks are only called through `&self` and are thread-safe by
// contract.
unsafe impl Sync for CallbackWait {}

impl Drop for CallbackWait {
    fn drop(&mut self) {
        if let Some(fin) = self.finalizer {
            // SAFETY: the embedder supplied `fin` for this `userdata`; it runs exactly once
            // (this drop), after the last use of the callbacks.
            unsafe { fin(self.userdata) }
        }
    }
}

impl WaitStrategy for CallbackWait {
    fn wait(&self, word: &WaitWord, expected: u32, deadline: Instant) {
        // SAFETY: `wait` is the embedder's function for this `userdata`; `word.as_ptr()` stays
        // valid for the duration of the call (the word lives in the object we borrow).
        unsafe { (self.wait)(self.userdata, word.as_ptr(), expected, deadline.as_nanos()) }
    }

    fn wake_all(&self, word: &WaitWord) {
        // SAFETY: as in `wait`.
        unsafe { (self.wake)(self.userdata, word.as_ptr()) }
    }
}

/// The blocking strategy of every C-created tracker and lock.
#[derive(Debug)]
pub(crate) enum FfiWait {
    /// Mutex + condvar parking; deadlines on the library clock (`StdClock`).
    #[cfg(feature = "std")]
    Park(StdWait),
    /// Busy-wait.
    Spin(SpinWait),
    /// The embedder's callbacks.
    Callbacks(CallbackWait),
}

#[cfg(feature = "std")]
impl Default for FfiWait {
    /// Parking.
    fn default() -> Self {
        FfiWait::Park(StdWait::new())
    }
}

#[cfg(not(feature = "std"))]
impl Default for FfiWait {
    /// Busy-waiting (bare metal: no OS to park on).
    fn default() -> Self {
        FfiWait::Spin(SpinWait)
    }
}

impl FfiWait {
    /// Builds the strategy for `kind`; `callbacks` is required for `FTF_WAIT_CALLBACKS` and
    /// ignored otherwise.
    pub(crate) fn from_c(
        kind: u32,
        callbacks: *const ftf_wait_callbacks,
    ) -> Result<FfiWait, ftf_result> {
        match ftf_wait_kind::from_u32(kind) {
            None => Err(ftf_result::FTF_UNKNOWN_ENUM),
            #[cfg(feature = "std")]
            Some(ftf_wait_kind::FTF_WAIT_PARK) => Ok(FfiWait::Park(StdWait::new())),
            // Bare metal: nothing to park on; `FTF_WAIT_SPIN` or the callbacks.
            #[cfg(not(feature = "std"))]
            Some(ftf_wait_kind::FTF_WAIT_PARK) => Err(ftf_result::FTF_INVALID_ARGUMENT),
            Some(ftf_wait_kind::FTF_WAIT_SPIN) => Ok(FfiWait::Spin(SpinWait)),
            Some(ftf_wait_kind::FTF_WAIT_CALLBACKS) => {
                // SAFETY: C contract: a non-NULL `callbacks` points to a readable struct for
                // the duration of the call (it is copied here).
                let Some(cb) = (unsafe { callbacks.as_ref() }) else {
                    return Err(ftf_result::FTF_NULL_PARAMETER);
                };
                match (cb.wait, cb.wake) {
                    (Some(wait), Some(wake)) => Ok(FfiWait::Callbacks(CallbackWait {
                        userdata: cb.userdata,
                        wait,
                        wake,
                        finalizer: cb.finalizer,
                    })),
                    _ => Err(ftf_result::FTF_NULL_PARAMETER),
                }
            }
        }
    }
}

impl WaitStrategy for FfiWait {
    /// The bare-metal build reopens eagerly: its trackers are paused and resumed from
    /// interrupt handlers while the main loop runs operations (see
    /// `WaitStrategy::eager_reopen`). The hosted build reopens lazily (threads, no handlers).
    #[inline]
    fn eager_reopen(&self) -> bool {
        cfg!(not(feature = "std"))
    }

    fn wait(&self, word: &WaitWord, expected: u32, deadline: Instant) {
        match self {
            #[cfg(feature = "std")]
            FfiWait::Park(w) => w.wait(word, expected, deadline),
            FfiWait::Spin(w) => w.wait(word, expected, deadline),
            FfiWait::Callbacks(w) => w.wait(word, expected, deadline),
        }
    }

    fn wake_all(&self, word: &WaitWord) {
        match self {
            #[cfg(feature = "std")]
            FfiWait::Park(w) => w.wake_all(word),
            FfiWait::Spin(w) => w.wake_all(word),
            FfiWait::Callbacks(w) => w.wake_all(word),
        }
    }
}
