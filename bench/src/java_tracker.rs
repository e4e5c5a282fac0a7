//! A faithful port of Luciferase's `InFlightOperationTracker` (digest §1.13), defects included.
//!
//! State, as in Java:
//!
//! * `active: AtomicInteger` → [`AtomicI32`]; every Java atomic/volatile access is sequentially
//!   consistent, so every access here is `SeqCst`.
//! * `volatile boolean paused` → [`AtomicBool`] (`SeqCst` loads and stores).
//! * `AtomicReference<CountDownLatch> latch` → `Mutex<Option<Arc<Latch>>>`: the reference is only
//!   touched on the slow paths (pause, and an `end` that reaches zero while paused), so a mutex
//!   around the pointer changes no hot-path cost. `CountDownLatch(1)` → [`Latch`], a count under a
//!   `Mutex` with a `Condvar`.
//!
//! Protocol (Java's, unchanged):
//!
//! * `beginOperation`: increment FIRST, then read `paused`; if paused, decrement (rollback) and
//!   reject. The rollback never counts the latch down: Java's lost wake-up B4(a) is kept.
//! * `OperationToken.close`: `if (!closed) { closed = true; endOperation(); }`;
//!   `endOperation`: `remaining = decrementAndGet(); if (paused && remaining == 0)` count the
//!   current latch down, if any. The Java token is a heap object with a volatile flag; here it is a
//!   stack value with a plain flag (what HotSpot's escape analysis makes of it in a tight loop),
//!   which is the cheaper reading of the original.
//! * `pauseAndWait`: `paused = true`; zero in flight → done; else install a NEW latch, re-check
//!   zero → done; else await the latch with the timeout (stays paused on timeout).
//! * `resume`: `paused = false; latch = null` (not counted: one resume undoes every pause, B5).

use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use core::time::Duration;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use crate::{PausePeer, Peer};

/// Java's `CountDownLatch`, ported as a count under a mutex plus a condition variable.
#[derive(Debug)]
pub struct Latch {
    count: Mutex<u32>,
    zero: Condvar,
}

impl Latch {
    /// A latch that opens after `count` calls to [`Latch::count_down`].
    pub fn new(count: u32) -> Self {
        Latch {
            count: Mutex::new(count),
            zero: Condvar::new(),
        }
    }

    /// Decrement the count (not below zero); at zero, wake every waiter.
    ///
    /// The notify comes after the unlock, so a woken waiter does not immediately block on
    /// the mutex again; Java's AQS latch likewise just unparks. No wake is lost: the count
    /// changes under the mutex and a waiter checks it under the mutex before sleeping.
    pub fn count_down(&self) {
        let mut c = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        let opened = *c == 1;
        *c = c.saturating_sub(1);
        drop(c);
        if opened {
            self.zero.notify_all();
        }
    }

    /// Wait until the count is zero or `timeout` passes; true when the count reached zero.
    pub fn await_timeout(&self, timeout: Duration) -> bool {
        let c = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        let (c, _) = self
            .zero
            .wait_timeout_while(c, timeout, |c| *c > 0)
            .unwrap_or_else(PoisonError::into_inner);
        *c == 0
    }
}

/// The Java tracker, port of `InFlightOperationTracker`.
#[derive(Debug, Default)]
pub struct JavaTracker {
    active: AtomicI32,
    paused: AtomicBool,
    latch: Mutex<Option<Arc<Latch>>>,
}

/// Port of the Java `OperationToken` (`AutoCloseable`).
#[derive(Debug)]
pub struct JavaToken<'a> {
    tracker: &'a JavaTracker,
    closed: bool,
}

impl JavaToken<'_> {
    /// `close()`: ends the operation unless this token was already closed.
    #[inline]
    pub fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            self.tracker.end_operation();
        }
    }
}

impl JavaTracker {
    /// `tryBeginOperation()`: `Some(token)`, or `None` while paused.
    #[inline]
    pub fn try_begin_operation(&self) -> Option<JavaToken<'_>> {
        self.active.fetch_add(1, Ordering::SeqCst);
        if self.paused.load(Ordering::SeqCst) {
            // Rollback without counting the latch down: Java's B4(a), kept on purpose.
            self.active.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(JavaToken {
            tracker: self,
            closed: false,
        })
    }

    #[inline]
    fn end_operation(&self) {
        let remaining = self.active.fetch_sub(1, Ordering::SeqCst) - 1;
        if self.paused.load(Ordering::SeqCst) && remaining == 0 {
            self.count_down_current_latch();
        }
    }

    #[cold]
    fn count_down_current_latch(&self) {
        let current = self
            .latch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(l) = current {
            l.count_down();
        }
    }

    /// `pauseAndWait(timeout)`: true when drained, false on timeout (and still paused).
    pub fn pause_and_wait(&self, timeout: Duration) -> bool {
        self.paused.store(true, Ordering::SeqCst);
        if self.active.load(Ordering::SeqCst) == 0 {
            return true;
        }
        let l = Arc::new(Latch::new(1));
        *self.latch.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&l));
        if self.active.load(Ordering::SeqCst) == 0 {
            return true;
        }
        l.await_timeout(timeout)
    }

    /// `resume()`: reopen, drop the latch. Not counted, not owner-checked.
    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
        *self.latch.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// `getActiveCount()`.
    pub fn active_count(&self) -> i32 {
        self.active.load(Ordering::SeqCst)
    }
}

impl Peer for JavaTracker {
    const NAME: &'static str = "java_port";
    type Op<'a> = JavaToken<'a>;

    fn create() -> Self {
        JavaTracker::default()
    }

    #[inline]
    fn begin(&self) -> Option<JavaToken<'_>> {
        self.try_begin_operation()
    }

    #[inline]
    fn end(&self, mut op: JavaToken<'_>) {
        op.close();
    }
}

impl PausePeer for JavaTracker {
    type Pause<'a> = ();

    fn pause_wait(&self) {
        // A minute: never reached by the harness (it ends the operation within microseconds).
        let drained = self.pause_and_wait(Duration::from_secs(60));
        debug_assert!(drained);
    }

    fn resume(&self, _p: ()) {
        JavaTracker::resume(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn begin_is_rejected_while_paused_and_rolls_back() {
        let t = JavaTracker::default();
        assert!(t.pause_and_wait(Duration::from_millis(1)));
        assert!(t.try_begin_operation().is_none());
        assert_eq!(t.active_count(), 0);
        t.resume();
        let mut tok = t.try_begin_operation().expect("open");
        assert_eq!(t.active_count(), 1);
        tok.close();
        tok.close();
        assert_eq!(t.active_count(), 0, "sequential double close is idempotent");
    }

    #[test]
    fn pauser_is_woken_by_the_last_end() {
        let t = JavaTracker::default();
        let mut tok = t.try_begin_operation().expect("open");
        std::thread::scope(|s| {
            let h = s.spawn(|| t.pause_and_wait(Duration::from_secs(60)));
            while !t.paused.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
            tok.close();
            assert!(h.join().expect("pauser"));
        });
    }

    #[test]
    fn timed_out_pause_stays_paused() {
        let t = JavaTracker::default();
        let mut tok = t.try_begin_operation().expect("open");
        assert!(!t.pause_and_wait(Duration::from_millis(1)));
        assert!(t.try_begin_operation().is_none());
        tok.close();
        assert_eq!(t.active_count(), 0);
        assert!(
            t.try_begin_operation().is_none(),
            "still paused until resume"
        );
    }
}
