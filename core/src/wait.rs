//! Blocking without lost wake-ups: a futex-style [`WaitWord`] plus a pluggable
//! [`WaitStrategy`], and no wake-up call at all when nobody waits.
//!
//! # The word
//!
//! ```text
//!  31 ............................ 1   0
//! [sequence (wrapping, +1 per bump)] [WAITING]
//! ```
//!
//! `WAITING` says that a waiter announced itself since the last bump; only then does a
//! waker call [`WaitStrategy::wake_all`] (for `StdWait` a mutex and a condvar notify, a
//! syscall: most of what an idle `resume` used to cost, issue 7 item 15).
//!
//! # Protocol (futex semantics plus the waiter flag)
//!
//! ```text
//! waker ([`WaitWord::wake`]):                         waiter ([`WaitWord::wait`]):
//!   change the condition (atomic RMW/store)              seen = word.load()            (Acquire)
//!   prev = word.fetch_add(2)          (Release)          re-check the condition
//!   if prev & WAITING:                                   v = word.fetch_or(WAITING)     (Acquire)
//!       word.fetch_and(!WAITING)      (Relaxed)          if v's sequence != seen's: return (re-check)
//!       strategy.wake_all(&word)                         strategy.wait(&word, v | WAITING, deadline)
//! ```
//!
//! All four RMWs are on the one word, so they are totally ordered (its modification order).
//! Take a waiter that goes to sleep: its `fetch_or` read the sequence it saw before its
//! re-check, so every bump either precedes its `seen` load — then that Acquire load
//! synchronises with the bump's Release and the re-check saw the change — or follows its
//! `fetch_or`. Such a bump reads `WAITING` (set by this waiter, and cleared only by a
//! `fetch_and` that is itself followed by a `wake_all` and comes after this `fetch_or`), so
//! that waker calls `wake_all`; and the bump changed the word after the waiter read
//! `v | WAITING`, so `wait` (atomic comparison and sleep with respect to `wake_all`: under
//! the strategy's mutex, or inside the kernel for a futex) either returns at once or is
//! woken. The `fetch_and` may also wake a waiter early (it changes the word): waits may
//! return spuriously, and every caller loops. A bump that reads `WAITING` clear has no
//! waiter to wake: any later waiter reads a `seen` that includes the bump. Hence no
//! wake-up is lost, whatever orderings the condition itself uses, and a waker pays one RMW
//! (`fetch_add`) when nobody waits.
//!
//! # Strategies
//!
//! | strategy | blocks? | deadline domain | availability |
//! | --- | --- | --- | --- |
//! | [`SpinWait`] | never (one spin hint) | ignored | always |
//! | [`StdWait`] | `Mutex` + `Condvar` | [`StdClock`](crate::StdClock) | feature `std` |
//! | `LoomWait` | loom `Mutex` + `Condvar` | ignored (never times out) | `cfg(ftforest_loom)` |
//! | embedder's | e.g. C futex/condvar callbacks | the embedder's clock | implement the trait |
//!
//! An embedder (the C library) implements [`WaitStrategy`] with a callback pair
//! `wait(void *userdata, uint32_t *addr, uint32_t expected, uint64_t deadline_ns)` /
//! `wake_all(void *userdata, uint32_t *addr)`, passing [`WaitWord::as_ptr`] and
//! [`Instant::as_nanos`]: exactly the `FUTEX_WAIT`/`FUTEX_WAKE` contract. `wake_all` is
//! called only after a waiter announced itself.

use crate::sync::{AtomicU32, Ordering};
use crate::time::Instant;

/// Waiter flag (bit 0): a waiter announced itself since the last bump.
const WAITING: u32 = 1;
/// One step of the sequence (bits 1..31).
const SEQ_ONE: u32 = 2;

/// A 32-bit word that wakers bump and waiters compare against (a futex word), with a
/// waiter flag so that a waker with nobody to wake skips [`WaitStrategy::wake_all`].
///
/// Only changes of the sequence matter, never its value: it wraps freely. It is
/// `#[repr(transparent)]` over an atomic with the layout of `u32`, so [`WaitWord::as_ptr`]
/// may be handed to a futex or a C condvar callback. Layout and protocol: module docs.
#[derive(Debug)]
#[repr(transparent)]
pub struct WaitWord {
    word: AtomicU32,
}

impl WaitWord {
    /// A word reading 0. `const`, so a word (and the primitive holding it) can live in a
    /// `static` (not under loom, whose atomics have no `const` constructor).
    #[cfg(not(ftforest_loom))]
    pub const fn new() -> Self {
        WaitWord {
            word: AtomicU32::new(0),
        }
    }

    /// A word reading 0 (loom build: not `const`).
    #[cfg(ftforest_loom)]
    pub fn new() -> Self {
        WaitWord {
            word: AtomicU32::new(0),
        }
    }

    /// The current value (Acquire: pairs with the Release of [`WaitWord::bump`], so a waiter
    /// that sees a bump also sees the condition change made before it). Read it before
    /// re-checking the condition, then pass it to [`WaitWord::wait`].
    #[inline]
    pub fn load(&self) -> u32 {
        self.word.load(Ordering::Acquire)
    }

    /// Announce a condition change: advance the sequence (`fetch_add(2, Release)`, wrapping)
    /// and, if a waiter announced itself since the last bump, clear the flag and return
    /// `true`: the caller must then call [`WaitStrategy::wake_all`]. Prefer
    /// [`WaitWord::wake`], which does both.
    #[inline]
    pub fn bump(&self) -> bool {
        // Release: pairs with the Acquire in `load`; publishes the condition change.
        let prev = self.word.fetch_add(SEQ_ONE, Ordering::Release);
        if prev & WAITING == 0 {
            return false;
        }
        // Relaxed: only the modification order matters (module docs); the sleeping waiters
        // are woken by the caller's `wake_all`, which follows.
        self.word.fetch_and(!WAITING, Ordering::Relaxed);
        true
    }

    /// Announce a condition change and wake the waiters, if any: [`WaitWord::bump`], then
    /// `strategy.wake_all(self)` only when a waiter announced itself. Call it after changing
    /// the condition.
    #[inline]
    pub fn wake<W: WaitStrategy + ?Sized>(&self, strategy: &W) {
        if self.bump() {
            strategy.wake_all(self);
        }
    }

    /// Block (through `strategy`) until the word moves past `seen`, `deadline` passes, or
    /// spuriously. `seen` is a value from [`WaitWord::load`] read **before** the caller
    /// re-checked its condition. Announces the waiter (sets the flag) first and returns at
    /// once if a bump came after `seen`. The caller loops: re-read, re-check, wait.
    #[inline]
    pub fn wait<W: WaitStrategy + ?Sized>(&self, strategy: &W, seen: u32, deadline: Instant) {
        // Acquire: a newer sequence read here comes with its condition change (the caller
        // re-checks anyway). The RMW places the flag in the word's modification order.
        let v = self.word.fetch_or(WAITING, Ordering::Acquire);
        if (v ^ seen) & !WAITING != 0 {
            return;
        }
        strategy.wait(self, v | WAITING, deadline);
    }

    /// The address of the word, for futex-style wait/wake callbacks. The pointer is valid
    /// as long as `self` is; it must only be accessed atomically (a futex does).
    #[cfg(not(ftforest_loom))]
    pub fn as_ptr(&self) -> *mut u32 {
        self.word.as_ptr()
    }
}

impl Default for WaitWord {
    fn default() -> Self {
        WaitWord::new()
    }
}

/// How a thread waits for a [`WaitWord`] to change.
///
/// # Contract for implementors
///
/// * [`wait`](WaitStrategy::wait) may return at any time (spuriously, early, late): every
///   caller re-checks its condition and the clock in a loop. It must **not** stay blocked
///   after a [`wake_all`](WaitStrategy::wake_all) on the same word that was called after the
///   waiter read `expected`: the comparison `word == expected` and the decision to sleep must
///   be atomic with respect to `wake_all` (futex semantics). A strategy that never blocks
///   (like [`SpinWait`]) trivially satisfies this.
/// * `deadline` is in the domain of the [`Clock`](crate::Clock) the caller waits with; a
///   strategy that blocks must interpret it in that domain or return early (never later than
///   necessary to let the caller notice the deadline). [`Instant::MAX`] means "no deadline".
/// * Neither method may panic or unwind.
///
/// The trait is object safe, so `&dyn WaitStrategy` works too.
pub trait WaitStrategy {
    /// Block while `word.load() == expected`, until woken, until `deadline` (in the clock
    /// domain the caller uses), or spuriously. Must not miss a wake that happened after
    /// `expected` was read.
    fn wait(&self, word: &WaitWord, expected: u32, deadline: Instant);

    /// Wake every thread blocked in [`wait`](WaitStrategy::wait) on `word`. The caller has
    /// already bumped `word`. Called (by [`WaitWord::wake`]) only when a waiter announced
    /// itself since the previous bump, so an idle waker never gets here.
    fn wake_all(&self, word: &WaitWord);

    /// Whether a [`Tracker`](crate::Tracker) that waits with this strategy reopens its
    /// stripes **eagerly**: the last resume clears the `PAUSED` flag of every stripe (`S`
    /// writes), and a `begin` never reopens a stripe, so the first pause never waits for a
    /// reopening `begin`. `false` (the default, *lazy* reopen): the last resume leaves the
    /// flags and the first `begin` on each stripe clears its own, so an idle pause + resume
    /// writes no stripe.
    ///
    /// Choose eager (wrap the strategy in [`EagerReopen`]) when `pause`/`resume` may run in
    /// an interrupt handler, or a higher-priority task on the same core, that can preempt a
    /// `begin` of the same tracker: with lazy reopen, a first pause that preempts a `begin`
    /// in the few instructions where it reopens its stripe would spin forever, since that
    /// `begin` cannot continue until the handler returns. A constant per strategy type, so
    /// the code of the other mode is compiled out.
    #[inline]
    fn eager_reopen(&self) -> bool {
        false
    }
}

impl<W: WaitStrategy + ?Sized> WaitStrategy for &W {
    #[inline]
    fn wait(&self, word: &WaitWord, expected: u32, deadline: Instant) {
        (**self).wait(word, expected, deadline)
    }

    #[inline]
    fn wake_all(&self, word: &WaitWord) {
        (**self).wake_all(word)
    }

    #[inline]
    fn eager_reopen(&self) -> bool {
        (**self).eager_reopen()
    }
}

/// `W`, with **eager reopen** (see [`WaitStrategy::eager_reopen`]): for a tracker that an
/// interrupt handler pauses and resumes while the main loop runs operations on it.
/// `static T: Tracker<EagerReopen<SpinWait>, 1> = Tracker::with_waiter(EagerReopen(SpinWait));`
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EagerReopen<W>(pub W);

impl<W: WaitStrategy> WaitStrategy for EagerReopen<W> {
    #[inline]
    fn wait(&self, word: &WaitWord, expected: u32, deadline: Instant) {
        self.0.wait(word, expected, deadline)
    }

    #[inline]
    fn wake_all(&self, word: &WaitWord) {
        self.0.wake_all(word)
    }

    #[inline]
    fn eager_reopen(&self) -> bool {
        true
    }
}

/// Never blocks: `wait` issues one spin hint (a yield under loom) and returns, so callers
/// busy-wait with backoff. The `no_std` default; zero-sized.
///
/// Right for short waits or single-core targets where the waited-for work runs in an
/// interrupt; a long pause with `SpinWait` burns a core.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SpinWait;

impl WaitStrategy for SpinWait {
    #[inline]
    fn wait(&self, _word: &WaitWord, _expected: u32, _deadline: Instant) {
        crate::sync::spin_loop();
    }

    #[inline]
    fn wake_all(&self, _word: &WaitWord) {}
}

/// Parks threads on a `std::sync::Mutex` + `Condvar` (feature `std`).
///
/// `wait` re-reads the word under the mutex and sleeps only if it still equals `expected`;
/// `wake_all` takes the same mutex before notifying, so a wake cannot slip between the
/// check and the sleep. Deadlines are interpreted in [`StdClock`](crate::StdClock)'s
/// domain: wait with a `StdClock` (or [`Instant::MAX`]) when using `StdWait`. A deadline
/// from another clock only makes `wait` return too early or too late; it never loses a wake.
///
/// One `StdWait` may serve several words (a wake then also wakes waiters of other words,
/// spuriously). Size: one mutex and one condvar (8 bytes on Linux).
#[cfg(feature = "std")]
#[derive(Debug, Default)]
pub struct StdWait {
    lock: std::sync::Mutex<()>,
    cond: std::sync::Condvar,
}

#[cfg(feature = "std")]
impl StdWait {
    /// A strategy with no waiters; `const`, usable in statics.
    pub const fn new() -> Self {
        StdWait {
            lock: std::sync::Mutex::new(()),
            cond: std::sync::Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        // The mutex guards no data (`()`), so a poisoned lock is still perfectly usable.
        self.lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(feature = "std")]
impl WaitStrategy for StdWait {
    fn wait(&self, word: &WaitWord, expected: u32, deadline: Instant) {
        use crate::time::Clock;
        let guard = self.lock();
        // Checked under the mutex: pairs with `wake_all` taking the mutex after its bump.
        if word.load() != expected {
            return;
        }
        if deadline == Instant::MAX {
            drop(self.cond.wait(guard));
            return;
        }
        let now = crate::time::StdClock.now();
        if now >= deadline {
            return;
        }
        drop(
            self.cond
                .wait_timeout(guard, deadline.saturating_duration_since(now)),
        );
    }

    fn wake_all(&self, _word: &WaitWord) {
        // Taking the mutex orders this wake after any waiter's check-under-mutex that
        // missed the bump: that waiter is then already inside `Condvar::wait`.
        drop(self.lock());
        self.cond.notify_all();
    }
}

/// The loom model of [`StdWait`] (`cfg(ftforest_loom)` only): loom's `Mutex` + `Condvar`,
/// so a lost wake-up shows up in a model as a deadlock.
///
/// Loom cannot time out, so `wait` ignores the deadline and blocks until woken (models
/// that exercise time-outs pass an already-passed deadline, which the callers check
/// before waiting).
#[cfg(ftforest_loom)]
#[derive(Debug, Default)]
pub struct LoomWait {
    lock: loom::sync::Mutex<()>,
    cond: loom::sync::Condvar,
}

#[cfg(ftforest_loom)]
impl LoomWait {
    /// A strategy with no waiters.
    pub fn new() -> Self {
        LoomWait {
            lock: loom::sync::Mutex::new(()),
            cond: loom::sync::Condvar::new(),
        }
    }

    fn lock(&self) -> loom::sync::MutexGuard<'_, ()> {
        match self.lock.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

#[cfg(ftforest_loom)]
impl WaitStrategy for LoomWait {
    fn wait(&self, word: &WaitWord, expected: u32, _deadline: Instant) {
        let guard = self.lock();
        if word.load() != expected {
            return;
        }
        drop(self.cond.wait(guard));
    }

    fn wake_all(&self, _word: &WaitWord) {
        drop(self.lock());
        self.cond.notify_all();
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::time::{Clock, StdClock};
    use std::sync::Arc;

    #[test]
    fn bump_changes_the_word_and_wraps() {
        let w = WaitWord::new();
        assert_eq!(w.load(), 0);
        assert!(!w.bump(), "nobody announced: no wake needed");
        assert_eq!(w.load(), SEQ_ONE);
        // SAFETY: `w` is alive and only this thread accesses it; an atomic store through
        // the pointer is how a futex-based embedder would use it.
        unsafe { core::sync::atomic::AtomicU32::from_ptr(w.as_ptr()) }
            .store(u32::MAX, core::sync::atomic::Ordering::Relaxed);
        assert!(w.bump(), "the flag was set: wake needed");
        assert_eq!(w.load(), 0, "wrapped, flag cleared");
    }

    /// Counts `wake_all` calls; `wait` returns at once (so a test can drive the protocol on
    /// one thread).
    #[derive(Default)]
    struct Counting {
        wakes: core::cell::Cell<u32>,
        waits: core::cell::Cell<u32>,
    }

    impl WaitStrategy for Counting {
        fn wait(&self, word: &WaitWord, expected: u32, _deadline: Instant) {
            assert_eq!(word.load(), expected, "sleeps only on the announced value");
            assert_eq!(expected & WAITING, WAITING);
            self.waits.set(self.waits.get() + 1);
        }
        fn wake_all(&self, _word: &WaitWord) {
            self.wakes.set(self.wakes.get() + 1);
        }
    }

    /// Issue 7 item 15: `wake` calls `wake_all` only after a waiter announced itself, once
    /// per announcement; a waiter whose `seen` is stale does not sleep.
    #[test]
    fn wake_calls_wake_all_only_when_someone_waits() {
        let s = Counting::default();
        let w = WaitWord::new();
        w.wake(&s);
        w.wake(&s);
        assert_eq!(s.wakes.get(), 0, "idle wakers skip wake_all");
        let seen = w.load();
        w.wait(&s, seen, Instant::MAX);
        assert_eq!(s.waits.get(), 1);
        w.wake(&s);
        assert_eq!(s.wakes.get(), 1, "an announced waiter is woken");
        w.wake(&s);
        assert_eq!(s.wakes.get(), 1, "the flag was cleared by the first wake");
        // A stale `seen` (a bump since): returns without sleeping, flag set anyway (a later
        // wake then wakes spuriously, which is allowed).
        w.wait(&s, seen, Instant::MAX);
        assert_eq!(s.waits.get(), 1);
    }

    #[test]
    fn std_wait_returns_at_once_when_word_changed() {
        let s = StdWait::new();
        let w = WaitWord::new();
        let seen = w.load();
        w.bump();
        // Would block forever (no deadline) if the stale value were not detected.
        s.wait(&w, seen, Instant::MAX);
    }

    #[test]
    fn std_wait_returns_at_passed_deadline() {
        let s = StdWait::new();
        let w = WaitWord::new();
        s.wait(&w, w.load(), StdClock.now());
        s.wait(&w, w.load(), Instant::ZERO);
    }

    #[test]
    fn std_wait_is_woken_by_wake() {
        let s = Arc::new(StdWait::new());
        let w = Arc::new(WaitWord::new());
        let cond = Arc::new(core::sync::atomic::AtomicBool::new(false));
        let (s2, w2, c2) = (Arc::clone(&s), Arc::clone(&w), Arc::clone(&cond));
        let waker = std::thread::spawn(move || {
            c2.store(true, core::sync::atomic::Ordering::Relaxed);
            w2.wake(&*s2);
        });
        // Whether the wake lands before or after we block, we must return.
        loop {
            let seen = w.load();
            if cond.load(core::sync::atomic::Ordering::Relaxed) {
                break;
            }
            w.wait(&*s, seen, Instant::MAX);
        }
        waker.join().unwrap();
    }

    #[test]
    fn spin_wait_never_blocks_and_is_object_safe() {
        let w = WaitWord::new();
        let d: &dyn WaitStrategy = &SpinWait;
        d.wait(&w, w.load(), Instant::MAX);
        d.wake_all(&w);
        fn through_generic<X: WaitStrategy>(x: X, w: &WaitWord) {
            x.wait(w, 0, Instant::MAX);
            x.wake_all(w);
        }
        let by_ref: &SpinWait = &SpinWait;
        through_generic(by_ref, &w);
    }
}
