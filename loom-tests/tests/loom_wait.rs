#![cfg(ftforest_loom)]
//! Loom models of the wait word's waiter flag (`core/src/wait.rs`, issue 7 item 15): a
//! waker calls `wake_all` only when a waiter announced itself, and no wake-up is lost. A
//! lost wake-up shows up as a loom deadlock (`LoomWait` blocks until notified; it has no
//! timeout).
//!
//! `one_waiter_one_waker` was also run against two broken variants of the protocol, and
//! failed with a loom deadlock each time: a waiter that does not announce itself (`load`
//! instead of `fetch_or(WAITING)`, then waits on the loaded value), and a waker that first
//! reads the flag with a plain load and skips the bump when it is clear.
//!
//! Run: `RUSTFLAGS="--cfg ftforest_loom" LOOM_MAX_PREEMPTIONS=3 CARGO_TARGET_DIR=target/loom
//! cargo test --release -p ftforest-loom-tests --test loom_wait`

use ftforest_core::{Instant, LoomWait, WaitWord};
use loom::sync::atomic::{AtomicU32, Ordering};
use loom::sync::Arc;
use loom::thread;

/// A condition (a counter reaching `target`) guarded by a wait word.
struct Cond {
    count: AtomicU32,
    word: WaitWord,
    strategy: LoomWait,
}

impl Cond {
    fn new() -> Arc<Self> {
        Arc::new(Cond {
            count: AtomicU32::new(0),
            word: WaitWord::new(),
            strategy: LoomWait::new(),
        })
    }

    /// The waker: change the condition, then `wake`.
    fn signal(&self) {
        self.count.fetch_add(1, Ordering::Release);
        self.word.wake(&self.strategy);
    }

    /// The waiter loop of every blocking call in the crate: read the word, re-check, wait.
    fn wait_for(&self, target: u32) {
        loop {
            let seen = self.word.load();
            if self.count.load(Ordering::Acquire) >= target {
                return;
            }
            self.word.wait(&self.strategy, seen, Instant::MAX);
        }
    }
}

/// One waiter, one waker: the waiter returns whatever the interleaving.
#[test]
fn one_waiter_one_waker() {
    loom::model(|| {
        let c = Cond::new();
        let waker = {
            let c = Arc::clone(&c);
            thread::spawn(move || c.signal())
        };
        c.wait_for(1);
        waker.join().unwrap();
    });
}

/// Two waiters, one waker signalling twice: the first wake's clearing of the flag may race
/// the second waiter's announcement; both waiters still return.
#[test]
fn two_waiters_one_waker() {
    // Four threads with two condvar waiters: bounded to 2 preemptions (3 takes minutes).
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b.check(|| {
        let c = Cond::new();
        let waker = {
            let c = Arc::clone(&c);
            thread::spawn(move || {
                c.signal();
                c.signal();
            })
        };
        let other = {
            let c = Arc::clone(&c);
            thread::spawn(move || c.wait_for(2))
        };
        c.wait_for(2);
        other.join().unwrap();
        waker.join().unwrap();
    });
}

/// Two wakers, one waiter: a waker that finds the flag cleared by the other skips
/// `wake_all`; the waiter still returns.
#[test]
fn one_waiter_two_wakers() {
    loom::model(|| {
        let c = Cond::new();
        let wakers: Vec<_> = (0..2)
            .map(|_| {
                let c = Arc::clone(&c);
                thread::spawn(move || c.signal())
            })
            .collect();
        c.wait_for(2);
        for w in wakers {
            w.join().unwrap();
        }
    });
}

/// A waiter that must wait twice (two conditions in a row) across two wakes: the flag is
/// set again after the first wake cleared it.
#[test]
fn waiter_announces_again_after_a_wake() {
    loom::model(|| {
        let c = Cond::new();
        let waker = {
            let c = Arc::clone(&c);
            thread::spawn(move || {
                c.signal();
                c.signal();
            })
        };
        c.wait_for(1);
        c.wait_for(2);
        waker.join().unwrap();
    });
}
