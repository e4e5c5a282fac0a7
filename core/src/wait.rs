//! Blocking without lost wake-ups: a futex-style [`WaitWord`] plus a pluggable
//! [`WaitStrategy`].
//!
//! # Protocol (futex semantics)
//!
//! ```text
//! waker:   change the condition (atomic RMW/store)      waiter:  seen = word.load()   (Acquire)
//!          word.bump()            (fetch_add, Release)           re-check the condition
//!          strategy.wake_all(&word)                              strategy.wait(&word, seen, deadline)
//! ```
//!
//! `wait` blocks only while `word` still holds `seen`, and that check is atomic with respect
//! to `wake_all` (under the strategy's mutex, or inside the kernel for a futex). So a wake
//! that happens after the waiter read `seen` either changed the word before the check (the
//! waiter returns at once) or finds the waiter already blocked (and wakes it). If the
//! waiter's `seen` already includes the bump, its Acquire load synchronises with the bump's
//! Release and the re-check sees the changed condition. Hence no wake-up is lost, whatever
//! orderings the condition itself uses.
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
//! [`Instant::as_nanos`]: exactly the `FUTEX_WAIT`/`FUTEX_WAKE` contract.

use crate::sync::{AtomicU32, Ordering};
use crate::time::Instant;

/// A 32-bit sequence word that wakers bump and waiters compare against (a futex word).
///
/// Only its changes matter, never its value: it wraps freely. It is `#[repr(transparent)]`
/// over an atomic with the layout of `u32`, so [`WaitWord::as_ptr`] may be handed to a
/// futex or a C condvar callback.
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
    /// that sees a bump also sees the condition change made before it).
    #[inline]
    pub fn load(&self) -> u32 {
        self.word.load(Ordering::Acquire)
    }

    /// Announce a condition change: `fetch_add(1, Release)` (wrapping). Call it after
    /// changing the condition and before [`WaitStrategy::wake_all`].
    #[inline]
    pub fn bump(&self) {
        // Release: pairs with the Acquire in `load`; publishes the condition change.
        self.word.fetch_add(1, Ordering::Release);
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
    /// already bumped `word`.
    fn wake_all(&self, word: &WaitWord);
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
        w.bump();
        assert_eq!(w.load(), 1);
        // SAFETY: `w` is alive and only this thread accesses it; an atomic store through
        // the pointer is how a futex-based embedder would use it.
        unsafe { core::sync::atomic::AtomicU32::from_ptr(w.as_ptr()) }
            .store(u32::MAX, core::sync::atomic::Ordering::Relaxed);
        w.bump();
        assert_eq!(w.load(), 0);
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
    fn std_wait_is_woken_by_wake_all() {
        let s = Arc::new(StdWait::new());
        let w = Arc::new(WaitWord::new());
        let seen = w.load();
        let (s2, w2) = (Arc::clone(&s), Arc::clone(&w));
        let waker = std::thread::spawn(move || {
            w2.bump();
            s2.wake_all(&w2);
        });
        // Whether the wake lands before or after we block, we must return.
        while w.load() == seen {
            s.wait(&w, seen, Instant::MAX);
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
