//! `ftf_tracker`: the in-flight operation tracker (the pause barrier) for C.
//!
//! Invariants:
//!
//! * A tracker handle is `Arc`-owned (`const ftf_tracker *`): any number of C threads call
//!   `ftf_op_begin`/`ftf_op_end`/`ftf_tracker_pause`... on one handle concurrently; the core
//!   `Tracker` is `Sync` and lock-free on the begin/end path.
//! * An operation or a pause is a plain value token (`ftf_op_token`, `ftf_pause_token`) naming
//!   its tracker (by id) and its stripe or pause slot/generation. The core checks every token:
//!   a token of another tracker is `FTF_FOREIGN_HANDLE`; resuming twice is `FTF_NOT_PAUSED`
//!   (a pause token has a generation: always detected).
//! * **The op-token limitation.** An `ftf_op_token` names (tracker, stripe), not one
//!   operation: the library keeps a count per stripe and no per-operation storage. A second
//!   end of a token is `FTF_NOT_IN_FLIGHT` only while its stripe has nothing in flight;
//!   otherwise it ends one of the other operations of that stripe (which one is undefined) and
//!   a pause may then report quiescence while that operation still runs. It is never
//!   memory-unsafe and never corrupts the pause state (the count never underflows into the
//!   flag bits: the decrement is a CAS on a non-zero count). Callers who want every double
//!   end detected use the checked API (`op_slot.rs`: caller storage per operation) or the C++
//!   guard (`ftf::operation`, which ends exactly once by construction).
//! * Freeing a tracker handle drops one reference. The last free destroys the tracker even with
//!   operations in flight or pauses held: their tokens then name a dead object and must not be
//!   used with the freed pointer (nothing leaks, nothing else happens). A forest keeps its own
//!   reference, so freeing the C handle while a forest uses the tracker is safe.

use ftforest_core::{
    BeginError, EndError, OpGuard, OpToken, PauseError, PauseToken, ResumeError, Tracker,
    WaitOutcome,
};

use crate::clock::{deadline_after, FfiClock};
#[cfg(feature = "std")]
use crate::handle::{free_arc, to_arc_const_ptr, try_clone_arc};
use crate::handle::{try_out, try_ref_from_ptr, Castable, OwnershipArc};
use crate::panic::ffi_panic_boundary;
use crate::result::ftf_result;
#[cfg(feature = "std")]
use crate::wait::ftf_wait_callbacks;
use crate::wait::FfiWait;

/// The Rust tracker behind an `ftf_tracker` handle.
pub(crate) type FfiTracker = Tracker<FfiWait>;

/// The in-flight operation tracker: `ftf_op_begin`/`ftf_op_end` around every forest operation;
/// a counted pause closes the gate and waits until nothing is in flight.
///
/// Shared (`const ftf_tracker *`): thread-safe; `ftf_tracker_clone` adds a reference,
/// `ftf_tracker_free` drops one.
#[allow(non_camel_case_types)]
pub struct ftf_tracker {
    _private: [u8; 0],
}

impl Castable for ftf_tracker {
    type Ownership = OwnershipArc;
    type RustType = FfiTracker;
}

/// One admitted operation: pass it to `ftf_op_end` exactly once (from any thread).
///
/// A plain value; the fields are opaque to C (checked by the library, never trusted). It names
/// the tracker and the stripe, not the operation: see `ftf_op_end` for what a second end does
/// (use `ftf_op_begin_checked` / `ftf_op_end_checked` to have every double end detected).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ftf_op_token {
    /// The issuing tracker's id.
    pub tracker_id: u32,
    /// The stripe the operation was counted on.
    pub stripe: u32,
}

/// One held pause: pass it to `ftf_tracker_resume` exactly once (from any thread).
///
/// A plain value; the fields are opaque to C (checked by the library, never trusted).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ftf_pause_token {
    /// The issuing tracker's id.
    pub tracker_id: u32,
    /// The pause slot.
    pub slot: u32,
    /// The slot's generation (a stale or repeated resume is refused).
    pub generation: u32,
}

impl From<OpToken> for ftf_op_token {
    fn from(t: OpToken) -> Self {
        ftf_op_token {
            tracker_id: t.tracker_id(),
            stripe: t.stripe(),
        }
    }
}

impl From<ftf_op_token> for OpToken {
    fn from(t: ftf_op_token) -> Self {
        OpToken::from_parts(t.tracker_id, t.stripe)
    }
}

impl From<PauseToken> for ftf_pause_token {
    fn from(t: PauseToken) -> Self {
        ftf_pause_token {
            tracker_id: t.tracker_id(),
            slot: t.slot(),
            generation: t.generation(),
        }
    }
}

impl From<ftf_pause_token> for PauseToken {
    fn from(t: ftf_pause_token) -> Self {
        PauseToken::from_parts(t.tracker_id, t.slot, t.generation)
    }
}

impl From<BeginError> for ftf_result {
    fn from(e: BeginError) -> Self {
        match e {
            BeginError::Paused => ftf_result::FTF_PAUSED,
            BeginError::Overflow => ftf_result::FTF_OVERFLOW,
            BeginError::TimedOut => ftf_result::FTF_TIMEOUT,
            _ => ftf_result::FTF_INVALID_ARGUMENT,
        }
    }
}

impl From<EndError> for ftf_result {
    fn from(e: EndError) -> Self {
        match e {
            EndError::ForeignToken => ftf_result::FTF_FOREIGN_HANDLE,
            EndError::NotInFlight => ftf_result::FTF_NOT_IN_FLIGHT,
            _ => ftf_result::FTF_INVALID_ARGUMENT,
        }
    }
}

impl From<ResumeError> for ftf_result {
    fn from(e: ResumeError) -> Self {
        match e {
            ResumeError::ForeignToken => ftf_result::FTF_FOREIGN_HANDLE,
            ResumeError::NotPaused => ftf_result::FTF_NOT_PAUSED,
            _ => ftf_result::FTF_INVALID_ARGUMENT,
        }
    }
}

impl From<PauseError> for ftf_result {
    fn from(e: PauseError) -> Self {
        match e {
            PauseError::TooManyPausers => ftf_result::FTF_TOO_MANY_PAUSERS,
            _ => ftf_result::FTF_INVALID_ARGUMENT,
        }
    }
}

/// `FTF_OK` when quiescent, `FTF_TIMEOUT` when operations are still in flight,
/// `FTF_NOT_PAUSED` when there is no pause to be quiescent under.
pub(crate) fn outcome_result(o: WaitOutcome) -> ftf_result {
    match o {
        WaitOutcome::Quiescent => ftf_result::FTF_OK,
        WaitOutcome::TimedOut => ftf_result::FTF_TIMEOUT,
        _ => ftf_result::FTF_NOT_PAUSED,
    }
}

/// Writes an operation token with ONE 8-byte store. A C caller passes the token back to
/// `ftf_op_end` by value, i.e. with one 8-byte load from where it was written: two 4-byte
/// stores there defeat store-to-load forwarding (a stall of about 10 cycles per pair on x86,
/// issue 7 item 16).
#[inline(always)]
fn write_op_token(out: &mut ftf_op_token, token: ftf_op_token) {
    // SAFETY: `ftf_op_token` is `repr(C)` with two `u32` fields: 8 bytes, no padding, so every
    // token is a valid `u64` bit pattern (and the layout of `u64` in memory is the token's).
    let bits = unsafe { core::mem::transmute::<ftf_op_token, u64>(token) };
    // SAFETY: `out` is a unique reference to 8 writable bytes; the token's alignment is 4, so
    // the store is unaligned-capable.
    unsafe { core::ptr::write_unaligned(core::ptr::from_mut(out).cast::<u64>(), bits) }
}

/// Begins an operation for a C caller: on a stripe chosen from the calling thread's stack
/// address, not from a thread-local variable.
///
/// Why: the core's `begin` keeps each thread's stripe in a thread-local, and in a shared
/// library every thread-local access is a call to `__tls_get_addr` (general-dynamic TLS;
/// Rust has no stable way to ask for initial-exec). That call was about 3 ns of the C pair's
/// cost on the bench machine (issue 7 item 16). Threads run on disjoint stacks, so the
/// address of a local, taken at 64 KiB granularity and hashed (Fibonacci hashing), spreads
/// threads over the stripes like a random assignment; a thread's stripe may change with its
/// call depth, which is harmless (the token names the stripe it used).
#[inline(always)]
pub(crate) fn begin_for_c(t: &FfiTracker) -> Result<OpToken, BeginError> {
    let marker = 0u8;
    let addr = core::ptr::addr_of!(marker) as usize as u64;
    // The top 16 bits of the 64-bit product: a well-mixed stripe hint (`begin_on` takes it
    // modulo the stripe count).
    let hint = (addr >> 16).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 48;
    t.begin_on(hint as usize).map(OpGuard::into_token)
}

impl ftf_tracker {
    #[cfg(feature = "std")]
    /// Creates a tracker whose waiters park on a mutex + condition variable.
    ///
    /// On `FTF_OK`, `*tracker_out` owns one reference: free it with `ftf_tracker_free`.
    #[no_mangle]
    pub extern "C" fn ftf_tracker_new(tracker_out: *mut *const ftf_tracker) -> ftf_result {
        ffi_panic_boundary! {
            let out = try_out!(tracker_out);
            *out = to_arc_const_ptr::<ftf_tracker>(Tracker::with_waiter(FfiWait::default()));
            ftf_result::FTF_OK
        }
    }

    #[cfg(feature = "std")]
    /// Creates a tracker that blocks waiters with `wait_kind` (an `ftf_wait_kind`):
    /// `FTF_WAIT_PARK`, `FTF_WAIT_SPIN`, or `FTF_WAIT_CALLBACKS` with `callbacks` (copied; both
    /// `wait` and `wake` required; `callbacks` is ignored for the other kinds and may be NULL).
    ///
    /// Errors: `FTF_UNKNOWN_ENUM` (unknown kind), `FTF_NULL_PARAMETER`. On `FTF_OK`,
    /// `*tracker_out` owns one reference (free with `ftf_tracker_free`; the callbacks'
    /// finalizer runs when the last reference is freed). On error the finalizer is not called.
    #[no_mangle]
    pub extern "C" fn ftf_tracker_new_with_wait(
        wait_kind: u32,
        callbacks: *const ftf_wait_callbacks,
        tracker_out: *mut *const ftf_tracker,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let out = try_out!(tracker_out);
            let wait = match FfiWait::from_c(wait_kind, callbacks) {
                Ok(w) => w,
                Err(e) => return e,
            };
            *out = to_arc_const_ptr::<ftf_tracker>(Tracker::with_waiter(wait));
            ftf_result::FTF_OK
        }
    }

    #[cfg(feature = "std")]
    /// Adds a reference to `tracker` and returns it (the same pointer); NULL for NULL.
    /// Each reference is freed with `ftf_tracker_free`.
    #[no_mangle]
    pub extern "C" fn ftf_tracker_clone(tracker: *const ftf_tracker) -> *const ftf_tracker {
        ffi_panic_boundary! {
            let arc = try_clone_arc!(tracker);
            crate::handle::arc_into_const_ptr::<ftf_tracker>(arc)
        }
    }

    #[cfg(feature = "std")]
    /// Drops one reference; NULL is a no-op. The last reference destroys the tracker even with
    /// operations in flight or pauses held (their tokens become meaningless; nothing leaks).
    /// Freeing a reference twice is undefined behaviour, as for `free(3)`.
    #[no_mangle]
    pub extern "C" fn ftf_tracker_free(tracker: *const ftf_tracker) {
        ffi_panic_boundary! {
            free_arc(tracker);
        }
    }

    /// The tracker's process-unique, non-zero id (tokens carry it); 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_tracker_id(tracker: *const ftf_tracker) -> u32 {
        ffi_panic_boundary! {
            try_ref_from_ptr!(tracker).id()
        }
    }

    /// Begins an operation on a stripe chosen from the calling thread's stack address (threads
    /// on different stacks spread over the stripes; no thread-local lookup). Never blocks.
    /// Lock-free.
    ///
    /// `FTF_OK`: `*token_out` is in flight until passed to `ftf_op_end`. `FTF_PAUSED`: the
    /// tracker is paused (rejected, not queued). `FTF_OVERFLOW`: 2^30-1 operations on this
    /// stripe. `FTF_NULL_PARAMETER`.
    ///
    /// Contract: end each token **exactly once**. The token names (tracker, stripe), not this
    /// operation, so the library cannot tell a second end of it from the end of another
    /// operation of the same stripe (see `ftf_op_end`). For detected double ends use
    /// `ftf_op_begin_checked`.
    #[no_mangle]
    pub extern "C" fn ftf_op_begin(
        tracker: *const ftf_tracker,
        token_out: *mut ftf_op_token,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let t = try_ref_from_ptr!(tracker);
            let out = try_out!(token_out);
            match begin_for_c(t) {
                Ok(tok) => {
                    write_op_token(out, tok.into());
                    ftf_result::FTF_OK
                }
                Err(e) => e.into(),
            }
        }
    }

    /// Begins an operation on stripe `stripe_hint % stripes` (e.g. a worker or core index),
    /// otherwise as `ftf_op_begin`.
    #[no_mangle]
    pub extern "C" fn ftf_op_begin_on(
        tracker: *const ftf_tracker,
        stripe_hint: u32,
        token_out: *mut ftf_op_token,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let t = try_ref_from_ptr!(tracker);
            let out = try_out!(token_out);
            match t.begin_on(stripe_hint as usize) {
                Ok(guard) => {
                    write_op_token(out, guard.into_token().into());
                    ftf_result::FTF_OK
                }
                Err(e) => e.into(),
            }
        }
    }

    /// Begins an operation, waiting while the tracker is paused for at most `timeout_ns`
    /// (`UINT64_MAX` = forever) on the tracker's wait strategy.
    ///
    /// `FTF_OK` (token written), `FTF_TIMEOUT` (still paused at the deadline),
    /// `FTF_OVERFLOW`, `FTF_NULL_PARAMETER`; `FTF_BUSY` from a cluster member's pause/resume hook (nothing done: what it
    /// waits for comes only after the pause, whose ack waits for that hook).
    #[no_mangle]
    pub extern "C" fn ftf_op_begin_wait(
        tracker: *const ftf_tracker,
        timeout_ns: u64,
        token_out: *mut ftf_op_token,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let t = try_ref_from_ptr!(tracker);
            let out = try_out!(token_out);
            if crate::in_cluster_loop_hook() {
                return ftf_result::FTF_BUSY;
            }
            match t.begin_wait(&FfiClock::default(), deadline_after(timeout_ns)) {
                Ok(guard) => {
                    write_op_token(out, guard.into_token().into());
                    ftf_result::FTF_OK
                }
                Err(e) => e.into(),
            }
        }
    }

    /// Ends the operation named by `token` (from any thread). Lock-free; wakes a pauser when
    /// this was the last operation in flight.
    ///
    /// `FTF_OK`; `FTF_FOREIGN_HANDLE` (token of another tracker, or a forged stripe);
    /// `FTF_NOT_IN_FLIGHT` (nothing in flight on the token's stripe: ended twice, or never
    /// begun). An error changes nothing.
    ///
    /// Contract: each token must be ended **exactly once**. A token names (tracker, stripe),
    /// not one operation, and the library keeps no per-operation storage, so a second end of
    /// the same token (or a forged one) is detected (`FTF_NOT_IN_FLIGHT`) only when its stripe
    /// has nothing in flight. Otherwise it returns `FTF_OK` and it is undefined which
    /// operation's count it ends: one that is still running then no longer holds a pause
    /// back, and a pause may report quiescence while it runs (its own later end is then the
    /// detected one). This is never memory-unsafe and never corrupts the pause state (the
    /// count cannot underflow into the flag bits). To have every double end detected, use
    /// `ftf_op_begin_checked` / `ftf_op_end_checked` (one caller-owned `ftf_op_slot` per
    /// operation) or the C++ `ftf::operation` guard.
    #[no_mangle]
    pub extern "C" fn ftf_op_end(tracker: *const ftf_tracker, token: ftf_op_token) -> ftf_result {
        ffi_panic_boundary! {
            let t = try_ref_from_ptr!(tracker);
            match t.end_token(token.into()) {
                Ok(()) => ftf_result::FTF_OK,
                Err(e) => e.into(),
            }
        }
    }

    /// Takes a pause (counted) and returns at once: every later `ftf_op_begin` is rejected
    /// with `FTF_PAUSED` until this and every other held pause are resumed. Operations
    /// already in flight continue; wait for them with `ftf_tracker_wait_quiescent`.
    ///
    /// `FTF_OK` (`*token_out` written), `FTF_TOO_MANY_PAUSERS`, `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_tracker_pause(
        tracker: *const ftf_tracker,
        token_out: *mut ftf_pause_token,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let t = try_ref_from_ptr!(tracker);
            let out = try_out!(token_out);
            match t.pause_token() {
                Ok(tok) => {
                    *out = tok.into();
                    ftf_result::FTF_OK
                }
                Err(e) => e.into(),
            }
        }
    }

    /// Takes a pause, then waits up to `timeout_ns` (`UINT64_MAX` = forever) until no
    /// operation is in flight.
    ///
    /// Returns `FTF_OK` whenever the pause was taken (then `*token_out` is written, and
    /// `*quiescent_out` is `true` when nothing is in flight, `false` when the timeout passed
    /// first: the pause is held either way, resume it or wait again).
    /// `FTF_TOO_MANY_PAUSERS`, `FTF_NULL_PARAMETER` (nothing taken); `FTF_BUSY` from a cluster member's pause/resume hook (nothing done: what it
    /// waits for comes only after the pause, whose ack waits for that hook).
    #[no_mangle]
    pub extern "C" fn ftf_tracker_pause_wait(
        tracker: *const ftf_tracker,
        timeout_ns: u64,
        token_out: *mut ftf_pause_token,
        quiescent_out: *mut bool,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let t = try_ref_from_ptr!(tracker);
            let out = try_out!(token_out);
            let q_out = try_out!(quiescent_out);
            if crate::in_cluster_loop_hook() {
                return ftf_result::FTF_BUSY;
            }
            match t.pause_wait(&FfiClock::default(), deadline_after(timeout_ns)) {
                Ok((guard, outcome)) => {
                    *q_out = outcome == WaitOutcome::Quiescent;
                    *out = guard.into_token().into();
                    ftf_result::FTF_OK
                }
                Err(e) => e.into(),
            }
        }
    }

    /// Waits up to `timeout_ns` (`UINT64_MAX` = forever) until the tracker is paused with no
    /// operation in flight.
    ///
    /// `FTF_OK` (quiescent: nothing in flight, nothing can begin until the last resume),
    /// `FTF_TIMEOUT` (still paused, operations in flight), `FTF_NOT_PAUSED` (no pause held),
    /// `FTF_NULL_PARAMETER`; `FTF_BUSY` from a cluster member's pause/resume hook (nothing done: what it
    /// waits for comes only after the pause, whose ack waits for that hook).
    #[no_mangle]
    pub extern "C" fn ftf_tracker_wait_quiescent(
        tracker: *const ftf_tracker,
        timeout_ns: u64,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let t = try_ref_from_ptr!(tracker);
            if crate::in_cluster_loop_hook() {
                return ftf_result::FTF_BUSY;
            }
            outcome_result(t.wait_quiescent(&FfiClock::default(), deadline_after(timeout_ns)))
        }
    }

    /// Gives back the pause named by `token` (from any thread). The gate reopens when no other
    /// pause is held.
    ///
    /// `FTF_OK`; `FTF_FOREIGN_HANDLE` (another tracker's token); `FTF_NOT_PAUSED` (this pause
    /// is not held: resumed twice, stale, or never taken). An error changes nothing.
    #[no_mangle]
    pub extern "C" fn ftf_tracker_resume(
        tracker: *const ftf_tracker,
        token: ftf_pause_token,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let t = try_ref_from_ptr!(tracker);
            match t.resume_token(token.into()) {
                Ok(()) => ftf_result::FTF_OK,
                Err(e) => e.into(),
            }
        }
    }

    /// True while at least one pause is held (a snapshot); false for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_tracker_is_paused(tracker: *const ftf_tracker) -> bool {
        ffi_panic_boundary! {
            try_ref_from_ptr!(tracker).is_paused()
        }
    }

    /// True when the tracker is paused and no operation is in flight (a snapshot, stable
    /// only while a pause is held); false for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_tracker_is_quiescent(tracker: *const ftf_tracker) -> bool {
        ffi_panic_boundary! {
            try_ref_from_ptr!(tracker).is_quiescent()
        }
    }

    /// Number of operations in flight (a snapshot); 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_tracker_in_flight(tracker: *const ftf_tracker) -> u32 {
        ffi_panic_boundary! {
            try_ref_from_ptr!(tracker).in_flight()
        }
    }

    /// Number of pauses held (a snapshot, at most `FTF_MAX_PAUSERS`); 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_tracker_pause_depth(tracker: *const ftf_tracker) -> u32 {
        ffi_panic_boundary! {
            try_ref_from_ptr!(tracker).pause_depth()
        }
    }
}

/// The most pauses one tracker holds at once (`FTF_TOO_MANY_PAUSERS` beyond).
pub const FTF_MAX_PAUSERS: u32 = 8;

// cbindgen cannot evaluate paths, so the constant is spelled out and checked here.
const _: () = assert!(FTF_MAX_PAUSERS as usize == ftforest_core::MAX_PAUSERS);
