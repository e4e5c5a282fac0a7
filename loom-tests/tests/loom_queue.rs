#![cfg(ftforest_loom)]
//! Loom models of the recovery queue: concurrent pushes, pops and removes lose nothing and
//! duplicate nothing; a lock-free `for_each` sees only consistent snapshots.

use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use ftforest_core::{queue_storage_len, PushError, QueueSlot, RecoveryQueue};
use loom::sync::Arc;
use loom::thread;

fn model(name: &str, f: impl Fn() + Sync + Send + 'static) {
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    loom::model(move || {
        counter.fetch_add(1, Relaxed);
        f();
    });
    eprintln!("{name}: {} interleavings", runs.load(Relaxed));
}

type Queue = RecoveryQueue<Vec<QueueSlot>>;

fn queue(n: u32, capacity: u32) -> Arc<Queue> {
    let slots = (0..queue_storage_len(n, capacity))
        .map(|_| QueueSlot::new())
        .collect();
    Arc::new(RecoveryQueue::new(slots, n).unwrap())
}

fn drain(q: &Queue) -> Vec<u32> {
    core::iter::from_fn(|| q.pop()).collect()
}

/// Two threads each push a rank and pop once: every pushed rank is popped exactly once (by
/// one of them or by the final drain) and the queue ends empty. Two threads only: with three,
/// two spinning waiters can hand the CPU to each other forever under loom's scheduler.
#[test]
fn concurrent_push_pop_loses_and_duplicates_nothing() {
    model("concurrent_push_pop_loses_and_duplicates_nothing", || {
        let q = queue(4, 4);
        let other = {
            let q = q.clone();
            thread::spawn(move || {
                q.push(1).unwrap();
                q.pop()
            })
        };
        q.push(2).unwrap();
        let mine = q.pop();
        let theirs = other.join().unwrap();
        let mut all: Vec<u32> = [mine, theirs]
            .into_iter()
            .flatten()
            .chain(drain(&q))
            .collect();
        assert_eq!(q.len(), 0);
        all.sort_unstable();
        assert_eq!(all, [1, 2]);
        assert!(mine.is_some(), "a thread's own push precedes its pop");
        assert!(theirs.is_some());
    });
}

/// A full ring (capacity 1 < n): a push racing a pop either gets Full (and its rank is not
/// queued) or succeeds after the pop; nothing is dropped silently.
#[test]
fn full_ring_refuses_without_loss() {
    model("full_ring_refuses_without_loss", || {
        let q = queue(3, 1);
        q.push(0).unwrap();
        let pusher = {
            let q = q.clone();
            thread::spawn(move || q.push(1))
        };
        assert_eq!(q.pop(), Some(0));
        let pushed = pusher.join().unwrap();
        match pushed {
            Ok(()) => assert_eq!(drain(&q), [1]),
            Err(e) => {
                assert_eq!(e, PushError::Full);
                assert!(!q.contains(1));
                assert!(q.is_empty());
            }
        }
    });
}

/// The same rank pushed twice at once: stored once; the other push is told Duplicate.
#[test]
fn concurrent_duplicate_push_is_stored_once() {
    model("concurrent_duplicate_push_is_stored_once", || {
        let q = queue(2, 2);
        let other = {
            let q = q.clone();
            thread::spawn(move || q.push(1))
        };
        let mine = q.push(1);
        let theirs = other.join().unwrap();
        let mut results = [mine, theirs];
        results.sort_by_key(|r| r.is_err());
        assert_eq!(results, [Ok(()), Err(PushError::Duplicate)]);
        assert_eq!(drain(&q), [1]);
    });
}

/// `remove` and `pop` race for the only queued rank: exactly one of them gets it.
#[test]
fn remove_vs_pop_exactly_one_wins() {
    model("remove_vs_pop_exactly_one_wins", || {
        let q = queue(3, 3);
        q.push(2).unwrap();
        let remover = {
            let q = q.clone();
            thread::spawn(move || q.remove(2))
        };
        let popped = q.pop();
        let removed = remover.join().unwrap();
        assert!(
            removed != (popped == Some(2)),
            "removed {removed}, popped {popped:?}"
        );
        assert!(q.is_empty() && !q.contains(2));
    });
}

/// A reader iterates while a writer pops the head and pushes a new rank. A complete pass is
/// one of the three states the queue went through; an interrupted pass is a prefix of one.
#[test]
fn for_each_sees_a_consistent_snapshot() {
    model("for_each_sees_a_consistent_snapshot", || {
        let q = queue(3, 2);
        q.push(0).unwrap();
        q.push(1).unwrap();
        let writer = {
            let q = q.clone();
            thread::spawn(move || {
                assert_eq!(q.pop(), Some(0));
                q.push(2).unwrap();
            })
        };
        let mut seen = Vec::new();
        let complete = q.for_each(|r| seen.push(r));
        writer.join().unwrap();
        let states: [&[u32]; 3] = [&[0, 1], &[1], &[1, 2]];
        if complete {
            assert!(states.contains(&seen.as_slice()), "torn snapshot {seen:?}");
        } else {
            assert!(
                states.iter().any(|s| s.starts_with(&seen)),
                "torn prefix {seen:?}"
            );
        }
        assert_eq!(drain(&q), [1, 2]);
    });
}
