//! Unit and property tests of the recovery lock, including the Java
//! Phase41RecoveryCoordinatorLockTest cases as behavioural tests of ours.

extern crate std;

use super::*;
use crate::table::has_quorum;
use core::sync::atomic::{AtomicU32 as StdAtomicU32, Ordering as StdOrdering};
use proptest::prelude::*;
use std::sync::{Arc, Barrier};
use std::vec::Vec;

fn slots<const N: usize>() -> [LockSlot; N] {
    core::array::from_fn(|_| LockSlot::new())
}

#[test]
fn new_validates_its_arguments() {
    assert_eq!(
        RecoveryLock::new(slots::<4>(), 0, 1).unwrap_err(),
        LockConfigError::NoPartitions
    );
    assert_eq!(
        RecoveryLock::new(slots::<4>(), 4, 0).unwrap_err(),
        LockConfigError::ZeroCapacity
    );
    assert_eq!(
        RecoveryLock::new(slots::<4>(), 5, 1).unwrap_err(),
        LockConfigError::StorageTooSmall { n: 5, len: 4 }
    );
    let lock = RecoveryLock::new(slots::<4>(), 3, 2).unwrap();
    assert_eq!(
        (lock.len(), lock.max_concurrent(), lock.active()),
        (3, 2, 0)
    );
    assert!(!lock.is_empty());
    assert_ne!(lock.id(), 0);
    assert!(!std::format!("{}", LockConfigError::ZeroCapacity).is_empty());
    assert_eq!(core::mem::size_of::<LockSlot>(), 4);
}

#[test]
fn ids_are_distinct() {
    let a = RecoveryLock::new(slots::<1>(), 1, 1).unwrap();
    let b = RecoveryLock::new(slots::<1>(), 1, 1).unwrap();
    assert_ne!(a.id(), b.id());
}

/// Storage belongs to one lock at a time: a second lock over slots a live lock still uses
/// is refused (it used to reset them and free the first lock's permits); the first lock is
/// untouched, and the storage is accepted again once its permits are released.
#[test]
fn new_refuses_storage_in_use() {
    let storage = slots::<3>();
    let first = RecoveryLock::new(&storage, 3, 2).unwrap();
    let held = first.try_acquire(2, true).unwrap();
    assert_eq!(
        RecoveryLock::new(&storage, 3, 2).unwrap_err(),
        LockConfigError::StorageInUse { rank: 2 }
    );
    assert!(first.is_recovering(2), "the live lock's permit survived");
    assert_eq!(
        first.try_acquire(2, true).unwrap_err(),
        AcquireError::AlreadyRecovering
    );
    // Only the first `n` slots matter.
    assert!(RecoveryLock::new(&storage, 2, 1).is_ok());
    // A claim half-way (PENDING) is in use too.
    storage[0].0.store(PENDING, Ordering::Relaxed);
    assert_eq!(
        RecoveryLock::new(&storage, 1, 1).unwrap_err(),
        LockConfigError::StorageInUse { rank: 0 }
    );
    storage[0].0.store(FREE, Ordering::Relaxed);
    drop(held);
    let second = RecoveryLock::new(&storage, 3, 2).unwrap();
    assert!(second.try_acquire(2, true).is_ok());
    assert!(!std::format!("{}", LockConfigError::StorageInUse { rank: 2 }).is_empty());
}

#[test]
fn one_recovery_per_partition_and_no_waiting_for_it() {
    let lock = RecoveryLock::new(slots::<4>(), 4, 3).unwrap();
    let p = lock.try_acquire(2, true).unwrap();
    assert_eq!(p.rank(), 2);
    assert_ne!(p.ticket(), 0);
    assert!(lock.is_recovering(2));
    assert_eq!(
        lock.try_acquire(2, true).unwrap_err(),
        AcquireError::AlreadyRecovering
    );
    assert_eq!(lock.active(), 1);
    drop(p);
    assert!(!lock.is_recovering(2));
    assert_eq!(lock.active(), 0);
    assert!(lock.try_acquire(2, true).is_ok());
}

#[test]
fn errors_are_checked_in_the_documented_order() {
    let lock = RecoveryLock::new(slots::<2>(), 2, 1).unwrap();
    assert_eq!(
        lock.try_acquire(2, false).unwrap_err(),
        AcquireError::UnknownPartition
    );
    let _held = lock.try_acquire(0, true).unwrap();
    assert_eq!(
        lock.try_acquire(0, false).unwrap_err(),
        AcquireError::NoQuorum
    );
    assert_eq!(
        lock.try_acquire(0, true).unwrap_err(),
        AcquireError::AlreadyRecovering
    );
    assert_eq!(
        lock.try_acquire(1, true).unwrap_err(),
        AcquireError::AtCapacity
    );
    assert!(
        !lock.is_recovering(1),
        "the AtCapacity path undid its claim"
    );
    assert!(!lock.is_recovering(9));
    assert!(!std::format!("{}", AcquireError::AtCapacity).is_empty());
}

// ---- Phase41RecoveryCoordinatorLockTest ----

/// testSemaphoreLimit: K = 3, 9 of 10 healthy; a fourth partition is refused until one of the
/// three releases.
#[test]
fn phase41_semaphore_limit() {
    let lock = RecoveryLock::new(slots::<10>(), 10, 3).unwrap();
    let quorum = has_quorum(9, 10);
    let p1 = lock.try_acquire(1, quorum).unwrap();
    let p2 = lock.try_acquire(2, quorum).unwrap();
    let p3 = lock.try_acquire(3, quorum).unwrap();
    assert_eq!(lock.active(), 3);
    assert_eq!(
        lock.try_acquire(4, quorum).unwrap_err(),
        AcquireError::AtCapacity
    );
    assert_eq!(lock.active(), 3);
    drop(p1);
    assert_eq!(lock.active(), 2);
    let p4 = lock.try_acquire(4, quorum).unwrap();
    assert_eq!(lock.active(), 3);
    drop((p2, p3, p4));
    assert_eq!(lock.active(), 0);
}

/// testConcurrentLockAcquisition: 10 threads, distinct partitions, K = 3. Each thread either
/// gets a permit or is told AtCapacity; never more than 3 hold at once; all slots end free.
#[test]
fn phase41_concurrent_lock_acquisition() {
    let lock = Arc::new(RecoveryLock::new(slots::<10>(), 10, 3).unwrap());
    let holding = Arc::new(StdAtomicU32::new(0));
    let max_seen = Arc::new(StdAtomicU32::new(0));
    let start = Arc::new(Barrier::new(10));
    let handles: Vec<_> = (0..10u32)
        .map(|rank| {
            let (lock, holding, max_seen, start) = (
                lock.clone(),
                holding.clone(),
                max_seen.clone(),
                start.clone(),
            );
            std::thread::spawn(move || {
                start.wait();
                match lock.try_acquire(rank, has_quorum(10, 10)) {
                    Ok(permit) => {
                        let now = holding.fetch_add(1, StdOrdering::SeqCst) + 1;
                        max_seen.fetch_max(now, StdOrdering::SeqCst);
                        assert!(lock.active() <= 3);
                        std::thread::yield_now();
                        holding.fetch_sub(1, StdOrdering::SeqCst);
                        drop(permit);
                        true
                    }
                    Err(e) => {
                        assert_eq!(e, AcquireError::AtCapacity);
                        false
                    }
                }
            })
        })
        .collect();
    let results: Vec<bool> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let successes = results.iter().filter(|&&ok| ok).count();
    assert_eq!(results.len(), 10, "every thread finished with an answer");
    assert!(successes >= 3, "the first three always get in");
    assert!(max_seen.load(StdOrdering::SeqCst) <= 3);
    assert_eq!(lock.active(), 0);
    assert!((0..10).all(|r| !lock.is_recovering(r)));
}

/// testQuorumLossRecoveryRejection: 2 of 5 healthy → refused, nothing held; 3 of 5 → granted.
#[test]
fn phase41_quorum_loss_rejection() {
    let lock = RecoveryLock::new(slots::<5>(), 5, 3).unwrap();
    assert_eq!(
        lock.try_acquire(0, has_quorum(2, 5)).unwrap_err(),
        AcquireError::NoQuorum
    );
    assert_eq!(lock.active(), 0);
    assert!(!lock.is_recovering(0));
    let _p = lock.try_acquire(0, has_quorum(3, 5)).unwrap();
    assert_eq!(lock.active(), 1);
}

// ---- tokens (C ABI) and B22 ----

#[test]
fn token_releases_exactly_once() {
    let lock = RecoveryLock::new(slots::<2>(), 2, 1).unwrap();
    let t = lock.try_acquire(1, true).unwrap().into_token();
    assert_eq!((t.lock_id, t.rank), (lock.id(), 1));
    assert!(lock.is_recovering(1), "into_token keeps the lock held");
    assert_eq!(lock.active(), 1);
    assert_eq!(lock.release_token(t), Ok(()));
    assert_eq!(lock.active(), 0);
    assert_eq!(lock.release_token(t), Err(ReleaseError::NotHolder));
    assert_eq!(lock.active(), 0, "no double decrement");
}

/// B22: a stale token (its holder already released) can never free the slot of the next
/// holder of the same partition.
#[test]
fn stale_token_cannot_release_the_next_holder() {
    let lock = RecoveryLock::new(slots::<2>(), 2, 2).unwrap();
    let old = lock.try_acquire(0, true).unwrap().into_token();
    lock.release_token(old).unwrap();
    let new_holder = lock.try_acquire(0, true).unwrap();
    assert_eq!(lock.release_token(old), Err(ReleaseError::NotHolder));
    assert!(lock.is_recovering(0));
    assert_eq!(lock.active(), 1);
    assert_eq!(
        lock.try_acquire(0, true).unwrap_err(),
        AcquireError::AlreadyRecovering
    );
    drop(new_holder);
    assert_eq!(lock.active(), 0);
}

#[test]
fn foreign_forged_and_unknown_tokens_are_refused() {
    let a = RecoveryLock::new(slots::<2>(), 2, 2).unwrap();
    let b = RecoveryLock::new(slots::<2>(), 2, 2).unwrap();
    let ta = a.try_acquire(0, true).unwrap().into_token();
    let _pb = b.try_acquire(0, true).unwrap();
    assert_eq!(b.release_token(ta), Err(ReleaseError::ForeignToken));
    assert_eq!(b.active(), 1);
    let bad_rank = PermitToken { rank: 7, ..ta };
    assert_eq!(
        a.release_token(bad_rank),
        Err(ReleaseError::UnknownPartition)
    );
    for ticket in [0, u32::MAX, ta.ticket + 1] {
        assert_eq!(
            a.release_token(PermitToken { ticket, ..ta }),
            Err(ReleaseError::NotHolder),
            "ticket {ticket}"
        );
    }
    assert_eq!(a.active(), 1);
    assert_eq!(a.release_token(ta), Ok(()));
    assert!(!std::format!("{}", ReleaseError::ForeignToken).is_empty());
}

#[test]
fn tickets_skip_the_reserved_values() {
    let lock = RecoveryLock::new(slots::<1>(), 1, 1).unwrap();
    lock.next_ticket.store(u32::MAX - 1, Ordering::Relaxed);
    for _ in 0..4 {
        let p = lock.try_acquire(0, true).unwrap();
        assert!(p.ticket() != FREE && p.ticket() != PENDING);
    }
}

// ---- property test: the lock against a sequential model ----

#[derive(Clone, Debug)]
enum Op {
    Acquire(u32, bool),
    Drop(usize),
    IntoToken(usize),
    ReleaseToken(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u32..7, proptest::bool::weighted(0.9)).prop_map(|(r, q)| Op::Acquire(r, q)),
        2 => (0usize..8).prop_map(Op::Drop),
        1 => (0usize..8).prop_map(Op::IntoToken),
        2 => (0usize..8).prop_map(Op::ReleaseToken),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        // No regression files: keeps the tests hermetic (and Miri's isolation happy).
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn lock_matches_a_model(k in 1u32..4, ops in proptest::collection::vec(op(), 0..80)) {
        const N: u32 = 6;
        let lock = RecoveryLock::new(slots::<6>(), N, k).unwrap();
        let mut permits: Vec<RecoveryPermit<'_, _>> = Vec::new();
        // Every token ever issued, with whether it still holds its slot.
        let mut tokens: Vec<(PermitToken, bool)> = Vec::new();
        let mut held = [false; N as usize];
        for op in ops {
            match op {
                Op::Acquire(rank, quorum) => {
                    let active = held.iter().filter(|&&h| h).count() as u32;
                    let expected = if rank >= N {
                        Err(AcquireError::UnknownPartition)
                    } else if !quorum {
                        Err(AcquireError::NoQuorum)
                    } else if held[rank as usize] {
                        Err(AcquireError::AlreadyRecovering)
                    } else if active >= k {
                        Err(AcquireError::AtCapacity)
                    } else {
                        Ok(rank)
                    };
                    let got = lock.try_acquire(rank, quorum);
                    prop_assert_eq!(got.as_ref().map(|p| p.rank()).map_err(|e| *e), expected);
                    if let Ok(p) = got {
                        held[rank as usize] = true;
                        permits.push(p);
                    }
                }
                Op::Drop(i) if i < permits.len() => {
                    let p = permits.swap_remove(i);
                    held[p.rank() as usize] = false;
                }
                Op::IntoToken(i) if i < permits.len() => {
                    tokens.push((permits.swap_remove(i).into_token(), true));
                }
                Op::ReleaseToken(i) if i < tokens.len() => {
                    let (t, live) = tokens[i];
                    let expected = if live { Ok(()) } else { Err(ReleaseError::NotHolder) };
                    prop_assert_eq!(lock.release_token(t), expected);
                    if live {
                        held[t.rank as usize] = false;
                        tokens[i].1 = false;
                    }
                }
                _ => {}
            }
            let active = held.iter().filter(|&&h| h).count() as u32;
            prop_assert!(active <= k);
            prop_assert_eq!(lock.active(), active);
            for r in 0..N {
                prop_assert_eq!(lock.is_recovering(r), held[r as usize]);
            }
        }
        drop(permits);
        for (t, live) in tokens {
            prop_assert_eq!(lock.release_token(t).is_ok(), live);
        }
        prop_assert_eq!(lock.active(), 0, "no leaked slot");
        for r in 0..N {
            prop_assert!(!lock.is_recovering(r));
        }
    }
}

// ---- acquire_wait ----

use crate::time::{Instant, ManualClock};

#[test]
fn acquire_wait_returns_at_once_for_everything_but_capacity() {
    let lock = RecoveryLock::new(slots::<3>(), 3, 1).unwrap();
    let clock = ManualClock::new(Instant::ZERO);
    let held = lock.acquire_wait(0, true, &clock, Instant::MAX).unwrap();
    // With no deadline, these would hang if they were waited out.
    for (rank, quorum, err) in [
        (9, true, AcquireError::UnknownPartition),
        (1, false, AcquireError::NoQuorum),
        (0, true, AcquireError::AlreadyRecovering),
    ] {
        assert_eq!(
            lock.acquire_wait(rank, quorum, &clock, Instant::MAX)
                .unwrap_err(),
            err
        );
    }
    drop(held);
}

#[test]
fn acquire_wait_times_out_at_the_deadline_holding_nothing() {
    let lock = RecoveryLock::new(slots::<2>(), 2, 1).unwrap();
    let clock = ManualClock::new(Instant::from_millis(10));
    let _held = lock.try_acquire(0, true).unwrap();
    for deadline in [Instant::ZERO, Instant::from_millis(10)] {
        assert_eq!(
            lock.acquire_wait(1, true, &clock, deadline).unwrap_err(),
            AcquireError::TimedOut
        );
    }
    assert!(!lock.is_recovering(1));
    assert_eq!(lock.active(), 1);
}

/// The deadline is read from the caller's clock: advancing a ManualClock from another thread
/// ends the wait (no real time involved).
#[test]
fn acquire_wait_follows_the_manual_clock() {
    let lock = RecoveryLock::new(slots::<2>(), 2, 1).unwrap();
    let clock = ManualClock::new(Instant::ZERO);
    let _held = lock.try_acquire(0, true).unwrap();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| lock.acquire_wait(1, true, &clock, Instant::from_millis(5)));
        clock.advance(core::time::Duration::from_millis(5));
        assert_eq!(waiter.join().unwrap().unwrap_err(), AcquireError::TimedOut);
    });
    assert!(!lock.is_recovering(1));
}

/// A waiter blocked in the std wait strategy gets the capacity a release returns.
#[test]
#[cfg(feature = "std")]
fn acquire_wait_is_woken_by_a_release() {
    let lock = RecoveryLock::with_waiter(slots::<2>(), 2, 1, crate::wait::StdWait::new()).unwrap();
    let clock = crate::time::StdClock;
    let held = lock.try_acquire(0, true).unwrap();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            lock.acquire_wait(1, true, &clock, Instant::MAX)
                .map(|p| p.rank())
        });
        drop(held);
        assert_eq!(waiter.join().unwrap(), Ok(1));
    });
    assert_eq!(lock.active(), 0);
}

/// testConcurrentLockAcquisition with the waiting acquire: 10 threads, K = 3, no deadline —
/// all ten recover, never more than three at once, nothing leaks.
#[test]
#[cfg(feature = "std")]
fn phase41_concurrent_acquisition_with_waiting() {
    let lock =
        RecoveryLock::with_waiter(slots::<10>(), 10, 3, crate::wait::StdWait::new()).unwrap();
    let holding = StdAtomicU32::new(0);
    let max_seen = StdAtomicU32::new(0);
    let start = Barrier::new(10);
    let successes = std::thread::scope(|s| {
        let handles: Vec<_> = (0..10u32)
            .map(|rank| {
                let (lock, holding, max_seen, start) = (&lock, &holding, &max_seen, &start);
                s.spawn(move || {
                    start.wait();
                    let permit = lock
                        .acquire_wait(rank, true, &crate::time::StdClock, Instant::MAX)
                        .unwrap();
                    let now = holding.fetch_add(1, StdOrdering::SeqCst) + 1;
                    max_seen.fetch_max(now, StdOrdering::SeqCst);
                    std::thread::yield_now();
                    holding.fetch_sub(1, StdOrdering::SeqCst);
                    drop(permit);
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join())
            .filter(Result::is_ok)
            .count()
    });
    assert_eq!(successes, 10);
    assert!(max_seen.load(StdOrdering::SeqCst) <= 3);
    assert_eq!(lock.active(), 0);
}
