//! The in-flight operation tracker: `begin`/`end` around every forest operation, and a
//! counted `pause` that closes the gate and waits until nothing is in flight.
//!
//! # Stripe word (one `CachePadded<AtomicU32>` per stripe, `S` stripes)
//!
//! ```text
//!  31       30       29 ........................ 0
//! [PAUSED] [GUARD]  [in-flight count of this stripe]
//! ```
//!
//! * `PAUSED` is set on **every** stripe while at least one pause is held. It may also be
//!   set while none is: the last resume leaves the flags (*stale*), and the first `begin` on
//!   a stripe clears its flag (*reopens* it). See "Closing and reopening the gate" below.
//! * `GUARD` is never set at rest: `begin` refuses (`Overflow`) the increment that would
//!   reach it, so a stripe holds at most 2^30 − 1 operations and transient overshoot by
//!   concurrent rejected begins (≤ number of threads) can never carry into `PAUSED`.
//! * count = `word & !PAUSED`.
//!
//! # Transitions (each is ONE atomic RMW on one stripe)
//!
//! | verb | RMW | ordering | effect |
//! | --- | --- | --- | --- |
//! | `begin` | `fetch_add(1)` | Acquire | admitted iff `prev < GUARD - 1` (no flag, room left) |
//! | rejected `begin` | CAS loop `c → c-1` if `c & !PAUSED ≠ 0`, first try `c = prev + 1` | Release | rollback; if it leaves exactly `PAUSED`: bump + wake |
//! | `end` (guard) | CAS loop `c → c-1` if `c & !PAUSED ≠ 0`, first try `c` = the value its `begin` wrote | Release | if `c == PAUSED + 1`: bump + wake (the pauser) |
//! | `end_token` | CAS loop `c → c-1` if `c & !PAUSED ≠ 0`, first try `c = 1` | Release | else `NotInFlight`, never underflows |
//! | `begin` that read a stale `PAUSED` | gate `fetch_add(OPENER)`; if not `CLOSED`: CAS `c → c & !PAUSED`; gate `fetch_sub(OPENER)` | Acquire / AcqRel / Release | admitted (its increment stays) |
//! | first `pause` | gate `fetch_or(CLOSED)`, wait for openers, then `fetch_or(PAUSED)` on each stripe not already flagged | AcqRel | under the control lock |
//! | last `resume` | gate `fetch_and(!CLOSED)`; stripes untouched | Release | under the control lock, then bump (+ wake if anyone waits) |
//!
//! "bump + wake" = [`WaitWord::wake`]: a `fetch_add` (Release) on the wait word, and
//! [`WaitStrategy::wake_all`] only if a waiter announced itself (see [`crate::wait`]).
//!
//! # Why this is correct without SeqCst
//!
//! The gate flag and the count live in the **same word**, so admission is decided by one
//! RMW and there is no Dekker-style store/load pair (percpu-rwsem's `smp_mb` between
//! `this_cpu_inc` and reading `block` is needed only because its flag is another word).
//! All RMWs on one stripe are totally ordered (its modification order) and each RMW reads
//! the value written by its predecessor in that order. So for every stripe and every
//! `begin`, either
//!
//! * the `begin`'s `fetch_add` precedes the pauser's `fetch_or`: the `fetch_or` (and every
//!   later value) carries that operation's count until its `end`, so the pauser cannot
//!   see `PAUSED|0` on that stripe before the `end`; or
//! * it follows: it reads a value with `PAUSED` set and is rejected.
//!
//! A `begin` that happens-after `pause` returned is later in the stripe's modification
//! order than the `fetch_or` (write-write coherence), hence rejected: `pause` has
//! percpu_ref's *confirm* semantics. The pauser reads each stripe (Acquire) after its own
//! `fetch_or` (or after the first pauser's, through the control lock and the Acquire load
//! of the pause depth), so by coherence it sees the `fetch_or` or a later value. Reading
//! exactly `PAUSED` therefore means every admitted operation of that stripe has ended, and
//! since each `end` is a Release RMW and RMWs continue release sequences, the pauser's
//! Acquire load synchronises with all of them: their effects happen-before `Quiescent`.
//! `resume`'s Release (`fetch_and`) pairs with the Acquire of later `begin`s: the work done
//! while paused happens-before operations admitted after resume.
//!
//! A transient increment by a rejected `begin` can make a stripe read `PAUSED|1`
//! momentarily; its rollback then performs the wake (the Java original forgot it: B4).
//!
//! # Closing and reopening the gate (fewer than `S` writes per idle pause + resume)
//!
//! A one-RMW `begin` must find the gate in its own stripe word, so the first pause has to
//! flag every stripe. But nothing forces the last resume to clear them: it only clears
//! `CLOSED` in the control block's gate word (`pause.rs`), and a `begin` that reads `PAUSED`
//! (its slow path, taken anyway when paused) asks the gate word whether the flag is stale.
//! If so it clears the flag with a CAS (keeping every count) and is admitted. The next first
//! pause then writes only the stripes that were reopened since: an idle pause + resume (or
//! one on a tracker whose hot stripes are few) writes no stripe at all, and a stripe pays one
//! reopen per pause cycle, on its first `begin`.
//!
//! The handshake that keeps a reopen from slipping past a closing pause lives in one word,
//! `gate = CLOSED | openers`. A reopening `begin` registers (`fetch_add(OPENER)`) and reopens
//! only if that RMW read `CLOSED` clear; then leaves (`fetch_sub`, Release). The first pause
//! sets `CLOSED` (`fetch_or`, AcqRel) and, if that read openers, waits (Acquire loads) until
//! they left, **then** reads the stripes. In the gate's modification order every opener's
//! registration is before or after the `fetch_or(CLOSED)`: after, it read `CLOSED` and
//! reopens nothing; before, its CAS happens-before the pauser's stripe loads (its Release
//! exit is read by the pauser's Acquire), so the pauser sees the stripe reopened and flags
//! it again. Hence once the pauser has read a stripe as `PAUSED`, nothing clears that flag
//! until the last resume, and the confirm and quiescence arguments above hold as if the
//! pause had written it: every operation admitted on that stripe precedes (in the stripe's
//! modification order) the RMW that last set the flag. Work done while paused still
//! happens-before the operations admitted after the resume: the resume's Release
//! `fetch_and(!CLOSED)` is read by the reopener's Acquire registration, and later `begin`s on
//! that stripe read the release sequence of the reopening CAS.
//!
//! Loom: `reopen_races_the_next_pause` and `two_reopeners_and_a_pause` (both fail when the
//! pauser does not wait for the openers).
//!
//! # Every decrement is checked, and none starts with a load
//!
//! A token can be forged, stale or ended twice, so `end_token` may not blindly
//! `fetch_sub`: from a count of 0 that would borrow into `PAUSED`/`GUARD`. Worse, such a
//! token can take the count of a live guard (or the transient increment of a rejected
//! `begin`), so the guard's end (or the rollback) would then be the one to find 0. Undoing an
//! underflow with a second RMW is not atomic (issue 7 item 4: a `pause` whose `fetch_or`
//! fell between the `fetch_sub` and the undo was erased by it, letting `begin`s in while
//! paused; a `resume` in between left `PAUSED` set after the undo, refusing every `begin`
//! with nothing paused). So **every** decrement of a stripe — `end_token`, a guard's end and
//! a rejected `begin`'s rollback — is `checked_decrement`: a CAS whose expected value `c` has
//! `c & !PAUSED ≠ 0`; a count read as 0 means "nothing to end" and the word is not written.
//!
//! * The first attempt guesses `c`: `1` for `end_token` (one operation in flight, gate
//!   open: the common case of a caller that holds one operation at a time), the value its own
//!   `begin` wrote for a guard (right again whenever the stripe's other operations ended in
//!   LIFO order), `prev + 1` for a rollback. So the hot path is ONE `compare_exchange` and no
//!   load. Every later attempt expects the value the failed CAS
//!   returned, after checking its count: `0` gives `NotInFlight` with the word untouched.
//! * Hence every successful CAS replaces a value whose count is ≥ 1 by that value − 1:
//!   the count never underflows and the flags are never written, whatever the token. The
//!   guess only decides how many attempts are needed, never what a success writes (a CAS
//!   succeeds only if the word equals the expected value at that point of the stripe's
//!   modification order). A refusal is linearised at the failed CAS that read count 0
//!   (the failure ordering is Relaxed, as the load it replaces: a refusal publishes
//!   nothing).
//! * The success is a Release RMW on the stripe, as a `fetch_sub` would be, so the
//!   quiescence argument above holds unchanged; it wakes iff the value it replaced was
//!   `PAUSED|1` (it left exactly `PAUSED`). The guesses of `end_token` and of a guard have
//!   `PAUSED` clear (a guard's is a value that admitted its `begin`), so a paused stripe
//!   always takes a second attempt with the real value, and every replaced value's wake
//!   check is exact: no lost wake-up.
//!
//! Cost (x86-64, measured with `bench/examples/pair_loop.rs`): a relaxed load of the
//! stripe right after `begin`'s `lock xadd` put the load and the dependent `lock cmpxchg`
//! on the critical path (token pair 1.4–1.5× the `fetch_add`+`fetch_sub` floor); with the
//! guess the pair is two locked RMWs as for a guard (about 1.05×). With other operations
//! in flight on the stripe the guess fails once: a failed CAS then replaces the load
//! (measured no slower than load + CAS).
//!
//! # Waiting
//!
//! `wait_quiescent` / `begin_wait`: poll the condition; spin with `sync::Backoff`; then
//! `seen = word.load()`, re-check, `W::wait(word, seen, deadline)` (see [`crate::wait`]).
//! Every transition that can make a waiter's condition true bumps the word after it:
//! a stripe reaching exactly `PAUSED` (end, rollback) and the last resume.
//!
//! # Stripe choice and cost
//!
//! `begin` uses a per-thread stripe (feature `std`: assigned round-robin at the thread's
//! first `begin`), so threads hammer different cache lines; without `std` it uses stripe 0
//! and `begin_on(hint)` lets the embedder choose (e.g. the core id). `end` decrements the
//! stripe recorded in the guard/token, so ending on another thread is fine.
//! Memory: `S` cache lines for the stripes (`S × 128 B` on x86_64/aarch64, `S × 32 B` on
//! arm, `S × 64 B` on riscv32) plus one line of control data.

mod error;
mod guard;
mod pause;

pub use error::{BeginError, EndError, PauseError, ResumeError, WaitOutcome};
pub use guard::{OpGuard, OpToken, PauseGuard, PauseToken};
pub use pause::MAX_PAUSERS;

use crate::sync::{AtomicU32, Backoff, CachePadded, Ordering};
use crate::time::{Clock, Instant};
use crate::wait::{SpinWait, WaitStrategy, WaitWord};

/// Stripe flag: the gate is closed (set on every stripe while any pause is held).
const PAUSED: u32 = 1 << 31;
/// Overflow guard bit: never set at rest (see the module header).
const GUARD: u32 = 1 << 30;
/// A `begin` is admitted iff the stripe value it replaced is below this: no flag set and
/// the count stays below `GUARD`.
const ADMIT_BELOW: u32 = GUARD - 1;
/// Largest supported stripe count (tokens carry the stripe as `u32`).
const MAX_STRIPES: usize = 1 << 16;

/// Counts operations in flight and lets pausers close the gate and wait until none are.
///
/// * `W`: how waiters block ([`SpinWait`] by default, [`StdWait`](crate::StdWait) under
///   `std`, or an embedder's strategy).
/// * `S`: number of stripes, `1..=65536` (checked at compile time); a power of two is not
///   required but makes the stripe choice a mask.
///
/// ```compile_fail
/// // S = 0 does not compile (a post-monomorphisation error, never a run-time panic).
/// let t: ftforest_core::Tracker<ftforest_core::SpinWait, 0> = ftforest_core::Tracker::new();
/// ```
///
/// # Guarantees
///
/// * `begin` never blocks: while paused it fails at once with [`BeginError::Paused`].
/// * An [`OpGuard`] ends its operation exactly once (on drop); tokens are checked.
/// * Once a pause wait has returned [`WaitOutcome::Quiescent`], no operation is in flight
///   and no `begin` succeeds until the last pause is resumed.
/// * Pauses are counted (up to [`MAX_PAUSERS`] holders); the gate reopens only when every
///   holder has resumed, and resuming a pause not held is an error.
/// * No lost wake-ups (in particular a rejected `begin`'s rollback wakes the pauser).
/// * No function panics. `begin`/`end` are lock-free (one RMW each); `pause`/`resume` take a
///   short internal spin lock (no user code inside), so do not call them from an interrupt
///   handler that may preempt another `pause`/`resume` of the same tracker.
///
/// # Memory
///
/// `S` padded stripes (`S × 128 B` on x86_64/aarch64, `S × 32 B` on arm, `S × 64 B` on
/// riscv32) plus about 50 bytes of control data (and `W`), rounded up to the alignment:
/// 1 152 B for the default `Tracker` on x86_64.
///
/// # Example
///
/// ```
/// use ftforest_core::{BeginError, ManualClock, Instant, Tracker, WaitOutcome};
///
/// let tracker: Tracker = Tracker::new();
/// let op = tracker.begin().unwrap();
/// let pause = tracker.pause().unwrap();
/// assert_eq!(tracker.begin().err(), Some(BeginError::Paused));
/// drop(op);
/// let clock = ManualClock::new(Instant::ZERO);
/// assert_eq!(pause.wait_quiescent(&clock, Instant::MAX), WaitOutcome::Quiescent);
/// drop(pause); // resumes
/// assert!(tracker.begin().is_ok());
/// ```
pub struct Tracker<W: WaitStrategy = SpinWait, const S: usize = 8> {
    stripes: [CachePadded<AtomicU32>; S],
    control: pause::Control,
    word: WaitWord,
    /// Lazily assigned process-unique id (0 = not yet assigned), so `new` can be `const`.
    id: AtomicU32,
    waiter: W,
}

impl<const S: usize> Tracker<SpinWait, S> {
    /// A tracker whose waiters spin ([`SpinWait`]). `const`: usable in a `static`.
    #[cfg(not(ftforest_loom))]
    pub const fn new() -> Self {
        Tracker::with_waiter(SpinWait)
    }

    /// A tracker whose waiters spin ([`SpinWait`]) (loom build: not `const`).
    #[cfg(ftforest_loom)]
    pub fn new() -> Self {
        Tracker::with_waiter(SpinWait)
    }
}

impl<W: WaitStrategy + Default, const S: usize> Default for Tracker<W, S> {
    fn default() -> Self {
        Tracker::with_waiter(W::default())
    }
}

impl<W: WaitStrategy, const S: usize> core::fmt::Debug for Tracker<W, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Tracker")
            .field("id", &self.id())
            .field("stripes", &S)
            .field("in_flight", &self.in_flight())
            .field("pause_depth", &self.pause_depth())
            .finish()
    }
}

impl<W: WaitStrategy, const S: usize> Tracker<W, S> {
    /// Compile-time check of `S` (evaluated when a tracker type is instantiated).
    const VALID_STRIPES: () = assert!(
        S >= 1 && S <= MAX_STRIPES,
        "Tracker needs 1..=65536 stripes"
    );

    /// The number of stripes `S`.
    pub const STRIPES: usize = S;

    /// An unpaused tracker with nothing in flight that blocks waiters with `waiter`.
    /// `const` (not under loom), so a tracker can live in a `static`.
    #[cfg(not(ftforest_loom))]
    pub const fn with_waiter(waiter: W) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID_STRIPES;
        Tracker {
            stripes: [const { CachePadded::new(AtomicU32::new(0)) }; S],
            control: pause::Control::new(),
            word: WaitWord::new(),
            id: AtomicU32::new(0),
            waiter,
        }
    }

    /// An unpaused tracker with nothing in flight that blocks waiters with `waiter`.
    #[cfg(ftforest_loom)]
    pub fn with_waiter(waiter: W) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID_STRIPES;
        Tracker {
            stripes: core::array::from_fn(|_| CachePadded::new(AtomicU32::new(0))),
            control: pause::Control::new(),
            word: WaitWord::new(),
            id: AtomicU32::new(0),
            waiter,
        }
    }

    /// True when this tracker reopens eagerly: its wait strategy says so
    /// ([`WaitStrategy::eager_reopen`], e.g. [`EagerReopen`](crate::EagerReopen)).
    pub fn is_eager_reopen(&self) -> bool {
        self.waiter.eager_reopen()
    }

    /// This tracker's process-unique, non-zero id (assigned at first use; stable after).
    /// Tokens carry it so that a token of another tracker is refused.
    #[inline]
    pub fn id(&self) -> u32 {
        // Relaxed: the id is a label; the CAS in `assign_id` makes every caller agree on
        // one value, and once read non-zero it never changes.
        let id = self.id.load(Ordering::Relaxed);
        if id != 0 {
            return id;
        }
        self.assign_id()
    }

    /// First use of the id (or a relaxed read that has not seen it yet): assign it once.
    #[cold]
    #[inline(never)]
    fn assign_id(&self) -> u32 {
        let fresh = crate::sync::next_object_id();
        match self
            .id
            .compare_exchange(0, fresh, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => fresh,
            Err(winner) => winner,
        }
    }

    /// The wait strategy.
    pub fn waiter(&self) -> &W {
        &self.waiter
    }

    /// Begin an operation on the calling thread's stripe. Never blocks.
    ///
    /// Ok: the operation is in flight until the guard drops (or its token is ended); no
    /// pause can report quiescence before that. `Err(Paused)`: the tracker is paused (any
    /// `pause` that happened-before this call is seen). `Err(Overflow)`: the stripe is full.
    #[inline]
    pub fn begin(&self) -> Result<OpGuard<'_, W, S>, BeginError> {
        self.begin_on(thread_stripe())
    }

    /// Begin an operation on stripe `stripe_hint % S` (e.g. a core or worker index).
    /// Same guarantees as [`Tracker::begin`].
    #[inline]
    pub fn begin_on(&self, stripe_hint: usize) -> Result<OpGuard<'_, W, S>, BeginError> {
        let index = stripe_hint.checked_rem(S).unwrap_or(0);
        let Some(stripe) = self.stripes.get(index) else {
            // Unreachable: index < S. Kept instead of indexing so that nothing can panic.
            return Err(BeginError::Overflow);
        };
        // Acquire: pairs with the Release of the CAS that reopened this stripe after the last
        // resume (work done while paused happens-before this operation). The value read
        // decides admission.
        let prev = stripe.fetch_add(1, Ordering::Acquire);
        // `index < S <= 2^16`: the cast is lossless.
        if prev < ADMIT_BELOW {
            Ok(OpGuard::new(self, stripe, index as u32, prev + 1))
        } else {
            match self.begin_slow(stripe, prev) {
                Ok(guess) => Ok(OpGuard::new(self, stripe, index as u32, guess)),
                Err(e) => Err(e),
            }
        }
    }

    /// Begin an operation, waiting (spin, then `W::wait`) while the tracker is paused, until
    /// `clock.now() >= deadline` ([`BeginError::TimedOut`]). Returns `Overflow` at once.
    /// Woken by the last resume.
    pub fn begin_wait(
        &self,
        clock: &impl Clock,
        deadline: Instant,
    ) -> Result<OpGuard<'_, W, S>, BeginError> {
        let hint = thread_stripe();
        let index = hint.checked_rem(S).unwrap_or(0);
        let outcome = self.block_on(clock, deadline, || {
            let stripe = self.stripes.get(index)?;
            // Cheap check first: no transient increment while the gate is visibly closed (a
            // flag left by the last resume is not: the begin below reopens that stripe).
            if stripe.load(Ordering::Acquire) & PAUSED != 0 && self.control.is_closed() {
                return None;
            }
            match self.begin_on(index) {
                Err(BeginError::Paused) => None,
                other => Some(other),
            }
        });
        outcome.unwrap_or(Err(BeginError::TimedOut))
    }

    /// Begin an operation and return its plain token (for the C ABI) instead of a guard.
    /// The caller must pass the token to [`Tracker::end_token`] exactly once.
    #[inline]
    pub fn begin_token(&self) -> Result<OpToken, BeginError> {
        self.begin().map(OpGuard::into_token)
    }

    /// End the operation named by `token` (from [`OpGuard::into_token`] or
    /// [`Tracker::begin_token`]).
    ///
    /// Checked: a token of another tracker gives `ForeignToken`; a token whose stripe has
    /// nothing in flight gives `NotInFlight` (the decrement is a CAS that never lets the
    /// count underflow into the flag bits). A token does not identify one operation, only
    /// its stripe: ending a token twice while another operation of the same stripe is in
    /// flight ends that other operation's count (its guard's later end then finds nothing to
    /// end and writes nothing: a count never goes below zero, the flags are never touched). Wakes the pauser when it empties a paused stripe.
    #[inline]
    pub fn end_token(&self, token: OpToken) -> Result<(), EndError> {
        if token.tracker_id() != self.id() {
            return Err(EndError::ForeignToken);
        }
        let Some(stripe) = usize::try_from(token.stripe())
            .ok()
            .and_then(|i| self.stripes.get(i))
        else {
            return Err(EndError::ForeignToken);
        };
        // First guess: one operation in flight, gate open (see the module header: the guess
        // only saves the load; every CAS expects a value with a non-zero count).
        match checked_decrement(stripe, 1) {
            Some(replaced) => {
                if replaced == PAUSED | 1 {
                    self.wake();
                }
                Ok(())
            }
            None => Err(EndError::NotInFlight),
        }
    }

    /// Wait until the tracker is quiescent (paused, nothing in flight), the deadline passes
    /// (`clock.now() >= deadline`), or it is not paused. Does not pause by itself: call it
    /// while holding a pause (see [`Tracker::pause_wait`], [`PauseGuard::wait_quiescent`]).
    ///
    /// Returns [`WaitOutcome::Quiescent`] only after every admitted operation has ended
    /// (their effects happen-before the return); [`WaitOutcome::TimedOut`] leaves the
    /// tracker paused. A thread that waits while holding an operation of this tracker waits
    /// for itself until the deadline.
    pub fn wait_quiescent(&self, clock: &impl Clock, deadline: Instant) -> WaitOutcome {
        self.block_on(clock, deadline, || self.quiescence())
            .unwrap_or(WaitOutcome::TimedOut)
    }

    /// True iff the tracker is paused and every stripe reads exactly `PAUSED` (nothing in
    /// flight, no transient rejected begin). A snapshot: only stable while a pause is held.
    pub fn is_quiescent(&self) -> bool {
        self.quiescence() == Some(WaitOutcome::Quiescent)
    }

    /// Operations in flight, summed over the stripes (a snapshot; may include a rejected
    /// begin's transient increment; exact when the tracker is quiescent or idle).
    pub fn in_flight(&self) -> u32 {
        self.stripes.iter().fold(0u32, |sum, s| {
            sum.saturating_add(s.load(Ordering::Acquire) & !PAUSED)
        })
    }

    /// `None` while neither quiescent nor known unpaused.
    fn quiescence(&self) -> Option<WaitOutcome> {
        // Acquire: pairs with the Release store of the depth after the first pauser's
        // `fetch_or`s, so the stripe reads below see `PAUSED` or a later value.
        if self.control.depth.load(Ordering::Acquire) == 0 {
            return Some(WaitOutcome::NotPaused);
        }
        // Acquire: pairs with each `end`'s Release CAS (via the release sequence).
        if self
            .stripes
            .iter()
            .all(|s| s.load(Ordering::Acquire) == PAUSED)
        {
            Some(WaitOutcome::Quiescent)
        } else {
            None
        }
    }

    /// End the operation counted on `stripe` (guard drop): ONE `compare_exchange` from
    /// `guess` (the value the guard's own `begin` left) when nothing else changed the stripe
    /// since; otherwise the checked loop of `end_slow`. Never decrements a count of 0.
    #[inline]
    pub(crate) fn end_on(&self, stripe: &AtomicU32, guess: u32) {
        // Release: pairs with the pauser's Acquire load of the stripe, so the operation's
        // effects happen-before `Quiescent`. `guess` has a count >= 1 and no flag (it is the
        // value an admitted `begin` wrote), so this success neither underflows nor wakes.
        if let Err(actual) =
            stripe.compare_exchange(guess, guess - 1, Ordering::Release, Ordering::Relaxed)
        {
            self.end_slow(stripe, actual);
        }
    }

    #[cold]
    #[inline(never)]
    fn end_slow(&self, stripe: &AtomicU32, actual: u32) {
        // `None`: a forged or doubled token already ended this guard's count (misuse, see
        // `end_token`); there is nothing left to end and the word stays untouched.
        if checked_decrement(stripe, actual) == Some(PAUSED | 1) {
            self.wake();
        }
    }

    /// A `begin` whose `fetch_add` read `prev >= ADMIT_BELOW`: a `PAUSED` flag (held, or
    /// left by the last resume: then reopen the stripe and admit) or a full stripe. Returns
    /// the guard's guess, or rolls back and says why.
    #[cold]
    #[inline(never)]
    fn begin_slow(&self, stripe: &AtomicU32, prev: u32) -> Result<u32, BeginError> {
        let count = prev & !PAUSED;
        let why = if prev & PAUSED == 0 {
            BeginError::Overflow
        } else if self.waiter.eager_reopen() || !self.control.reopen(stripe) {
            // Eager reopen never reopens here: a flag is a held pause (or a resume clearing
            // the stripes right now).
            BeginError::Paused
        } else if count < ADMIT_BELOW {
            // The flag was stale; the stripe is open and our increment stays counted.
            return Ok(count + 1);
        } else {
            BeginError::Overflow
        };
        Err(self.reject(stripe, prev, why))
    }

    /// Roll back a rejected begin (whose `fetch_add` read `prev`); returns `why`.
    fn reject(&self, stripe: &AtomicU32, prev: u32, why: BeginError) -> BeginError {
        // A checked decrement, guessing that nothing changed since our increment: a forged
        // `end_token` may already have taken the transient count (`None`: nothing to undo).
        if checked_decrement(stripe, prev.wrapping_add(1)) == Some(PAUSED | 1) {
            // B4: the rollback emptied a paused stripe; the pauser may be waiting for it.
            self.wake();
        }
        why
    }

    /// Announce a condition change to waiters: bump (Release) then wake.
    #[cold]
    #[inline(never)]
    fn wake(&self) {
        self.word.wake(&self.waiter);
    }

    /// Poll `cond` until it yields, spinning then waiting on the word; `None` once
    /// `clock.now() >= deadline` with `cond` still pending.
    fn block_on<R>(
        &self,
        clock: &impl Clock,
        deadline: Instant,
        mut cond: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        let mut backoff = Backoff::new();
        loop {
            if let Some(r) = cond() {
                return Some(r);
            }
            if clock.now() >= deadline {
                return None;
            }
            // Under loom the spin phase only multiplies interleavings; go straight to the
            // wait strategy, whose lost-wake-up freedom is what the models check.
            if !cfg!(ftforest_loom) && !backoff.is_completed() {
                backoff.snooze();
                continue;
            }
            // Read the word, then re-check: a change after this read bumps the word, and
            // `wait` returns at once if the word moved (futex semantics, see `crate::wait`).
            let seen = self.word.load();
            if let Some(r) = cond() {
                return Some(r);
            }
            self.word.wait(&self.waiter, seen, deadline);
        }
    }

    /// The raw stripe word at `index` (unit tests).
    #[cfg(test)]
    pub(crate) fn stripe(&self, index: usize) -> Option<&AtomicU32> {
        self.stripes.get(index).map(|s| &**s)
    }
}

/// Decrement the count of `stripe` by one without ever going below zero: CAS `cur → cur - 1`
/// from the guess `cur`, then from the value each failed CAS read. Returns the value replaced,
/// or `None` (nothing written) once the count reads 0. Flags are never written: every
/// successful CAS replaces a value whose count is at least 1 by that value minus one.
///
/// Release on success: pairs with the pauser's Acquire load (as `end` always did). Relaxed on
/// failure: the value read only decides refusal or the next attempt.
#[inline(always)]
fn checked_decrement(stripe: &AtomicU32, mut cur: u32) -> Option<u32> {
    loop {
        if cur & !PAUSED == 0 {
            return None;
        }
        match stripe.compare_exchange_weak(cur, cur - 1, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => return Some(cur),
            Err(actual) => cur = actual,
        }
    }
}

/// The calling thread's stripe hint: assigned round-robin at the thread's first use
/// (feature `std`); 0 without `std` or under loom.
#[inline]
fn thread_stripe() -> usize {
    #[cfg(all(feature = "std", not(ftforest_loom)))]
    {
        use core::cell::Cell;
        static NEXT: crate::sync::AtomicUsize = crate::sync::AtomicUsize::new(0);
        std::thread_local! {
            static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
        }
        STRIPE
            .try_with(|c| {
                let v = c.get();
                if v != usize::MAX {
                    return v;
                }
                // Relaxed: a hint, not synchronisation.
                let v = NEXT.fetch_add(1, Ordering::Relaxed) & (usize::MAX >> 1);
                c.set(v);
                v
            })
            .unwrap_or(0)
    }
    #[cfg(not(all(feature = "std", not(ftforest_loom))))]
    {
        0
    }
}

#[cfg(test)]
mod tests;
