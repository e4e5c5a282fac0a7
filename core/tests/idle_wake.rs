//! Issue 7 item 15: a waker with nobody waiting does not call `WaitStrategy::wake_all`
//! (for `StdWait` a mutex and a condvar notify, most of what an idle pause + resume used to
//! cost), and a waiter that blocks is still woken. Public API only.
#![cfg(feature = "std")]

use core::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use ftforest_core::{
    Instant, LockSlot, RecoveryLock, StdClock, StdWait, Tracker, WaitOutcome, WaitStrategy,
    WaitWord,
};

/// `StdWait` that counts its `wake_all` calls (in a shared counter).
#[derive(Default)]
struct CountingWait {
    inner: StdWait,
    wakes: Arc<AtomicU32>,
}

impl WaitStrategy for CountingWait {
    fn wait(&self, word: &WaitWord, expected: u32, deadline: Instant) {
        self.inner.wait(word, expected, deadline);
    }
    fn wake_all(&self, word: &WaitWord) {
        self.wakes.fetch_add(1, Ordering::Relaxed);
        self.inner.wake_all(word);
    }
}

/// Before the fix every last resume (and every end that emptied a paused stripe) called
/// `wake_all`: this test saw 4 calls, not 0 (and 4 for the lock test below).
#[test]
fn idle_pause_resume_and_ends_never_call_wake_all() {
    let t: Tracker<CountingWait> = Tracker::with_waiter(CountingWait::default());
    for _ in 0..2 {
        drop(t.pause().unwrap());
    }
    let op = t.begin().unwrap();
    let pause = t.pause().unwrap();
    drop(op); // empties a paused stripe: nobody waits yet
    assert_eq!(
        pause.wait_quiescent(&StdClock, Instant::MAX),
        WaitOutcome::Quiescent
    );
    drop(pause);
    assert_eq!(t.waiter().wakes.load(Ordering::Relaxed), 0);
}

/// Same for the recovery lock: releases with nobody in `acquire_wait` skip `wake_all`.
#[test]
fn idle_permit_release_never_calls_wake_all() {
    let slots: Vec<LockSlot> = (0..4).map(|_| LockSlot::new()).collect();
    let wait = CountingWait::default();
    let wakes = Arc::clone(&wait.wakes);
    let lock = RecoveryLock::with_waiter(&slots[..], 4, 1, wait).unwrap();
    for rank in 0..4 {
        drop(lock.try_acquire(rank, true).unwrap());
    }
    assert_eq!(wakes.load(Ordering::Relaxed), 0);
}

/// The other half of the contract: a pauser that really blocks is woken by the last end, and
/// a `begin_wait` blocked by a pause is woken by the resume (threads, no timing: `Instant::MAX`
/// deadlines; the watchdog fails the test instead of hanging it).
#[test]
fn blocked_waiters_are_still_woken() {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let t: Arc<Tracker<CountingWait>> = Arc::new(Tracker::with_waiter(CountingWait::default()));
        let (tx, rx) = std::sync::mpsc::channel();
        let worker = {
            let t = Arc::clone(&t);
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let tok = t.begin_wait(&StdClock, Instant::MAX).unwrap().into_token();
                    std::thread::yield_now();
                    t.end_token(tok).unwrap();
                }
                tx.send(()).unwrap();
            })
        };
        while rx.try_recv().is_err() {
            let (p, out) = t.pause_wait(&StdClock, Instant::MAX).unwrap();
            assert_eq!(out, WaitOutcome::Quiescent);
            std::thread::yield_now();
            drop(p);
        }
        worker.join().unwrap();
        assert_eq!(t.in_flight(), 0);
        done_tx.send(()).unwrap();
    });
    // Watchdog: a lost wake-up shows up as a hang of the scenario thread.
    done_rx
        .recv_timeout(core::time::Duration::from_secs(120))
        .expect("watchdog: a waiter was never woken (or the scenario panicked)");
}
