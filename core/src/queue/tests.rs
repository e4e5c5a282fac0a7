//! Unit and property tests of the recovery queue.

extern crate std;

use super::*;
use proptest::prelude::*;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::vec::Vec;

fn slots<const L: usize>() -> [QueueSlot; L] {
    core::array::from_fn(|_| QueueSlot::new())
}

fn drain<S: AsRef<[QueueSlot]>>(q: &RecoveryQueue<S>) -> Vec<u32> {
    let mut v = Vec::new();
    assert!(q.for_each(|r| v.push(r)), "no concurrent writer");
    v
}

#[test]
fn storage_len_and_capacity() {
    assert_eq!(queue_storage_len(1, 1), 2);
    assert_eq!(queue_storage_len(32, 32), 33);
    assert_eq!(queue_storage_len(33, 33), 35);
    assert_eq!(queue_storage_len(65_536, 65_536), 2048 + 65_536);
    let q = RecoveryQueue::new(slots::<{ queue_storage_len(40, 40) }>(), 40).unwrap();
    assert_eq!(q.capacity(), 40);
    assert_eq!(q.partitions(), 40);
    assert!(q.is_empty());
    assert_eq!(core::mem::size_of::<QueueSlot>(), 4);
}

#[test]
fn new_rejects_bad_configuration() {
    assert_eq!(
        RecoveryQueue::new(slots::<4>(), 0).unwrap_err(),
        QueueConfigError::NoPartitions
    );
    // 33 partitions need two bitset words, so two slots leave no ring.
    assert_eq!(
        RecoveryQueue::new(slots::<2>(), 33).unwrap_err(),
        QueueConfigError::StorageTooSmall { needed: 3, len: 2 }
    );
    let none: &[QueueSlot] = &[];
    assert!(RecoveryQueue::new(none, 1).is_err());
    assert!(!std::format!("{}", QueueConfigError::NoPartitions).is_empty());
}

/// Storage belongs to one queue at a time: a second queue over storage a live queue still
/// uses is refused (it used to clear the bitset and lose the first queue's ranks).
#[test]
fn new_refuses_storage_in_use() {
    let storage = slots::<{ queue_storage_len(40, 4) }>();
    let first = RecoveryQueue::new(&storage, 40).unwrap();
    first.push(35).unwrap();
    first.push(3).unwrap();
    assert_eq!(
        RecoveryQueue::new(&storage, 40).unwrap_err(),
        QueueConfigError::StorageInUse { rank: 3 }
    );
    assert!(first.contains(35) && first.contains(3));
    assert_eq!(first.pop(), Some(35));
    assert_eq!(
        RecoveryQueue::new(&storage, 40).unwrap_err(),
        QueueConfigError::StorageInUse { rank: 3 }
    );
    assert_eq!(first.pop(), Some(3));
    let second = RecoveryQueue::new(&storage, 40).unwrap();
    assert!(second.is_empty());
    assert_eq!(second.push(3), Ok(()));
    assert!(!std::format!("{}", QueueConfigError::StorageInUse { rank: 3 }).is_empty());
}

/// Issue 7 item 8: an emptied queue leaves storage that a queue with a larger `n` accepts.
/// Before the fix `pop` and `remove` left old ranks in the ring; the larger bitset covered
/// them and `new` refused with `StorageInUse` although nothing was queued.
#[test]
fn emptied_storage_serves_a_queue_with_larger_n() {
    let storage = slots::<40>();
    let small = RecoveryQueue::new(&storage, 8).unwrap();
    // Wrap the ring a few times, then empty it by pop and by remove.
    for round in 0..3u32 {
        for r in 1..8 {
            small.push((r + round) % 8).unwrap();
        }
        assert!(small.remove((3 + round) % 8));
        assert!(small.remove((7 + round) % 8));
        while small.pop().is_some() {}
    }
    for r in [5, 6, 7] {
        small.push(r).unwrap();
    }
    assert!(small.remove(6));
    assert_eq!(drain(&small), [5, 7]);
    assert_eq!((small.pop(), small.pop()), (Some(5), Some(7)));
    let _ = small; // the first queue is done with the storage
                   // 39 bitset words for 1,248 partitions, leaving one ring entry.
    let large = match RecoveryQueue::new(&storage, 39 * 32) {
        Ok(q) => q,
        Err(e) => panic!("emptied storage refused for a larger n: {e:?}"),
    };
    assert!(
        storage.iter().all(|s| s.0.load(Ordering::Relaxed) == 0),
        "an empty queue leaves all-zero storage"
    );
    assert!(large.is_empty());
    large.push(1_000).unwrap();
    assert_eq!(large.pop(), Some(1_000));
}

#[test]
fn fifo_order_with_wrap_around() {
    let q = RecoveryQueue::new(slots::<{ queue_storage_len(8, 3) }>(), 8).unwrap();
    for round in 0..5u32 {
        for r in 0..3 {
            q.push((round + r) % 8).unwrap();
        }
        assert_eq!(q.peek(), Some(round % 8));
        assert_eq!(drain(&q), [round % 8, (round + 1) % 8, (round + 2) % 8]);
        for r in 0..3 {
            assert_eq!(q.pop(), Some((round + r) % 8));
        }
        assert_eq!(q.pop(), None);
        assert_eq!(q.peek(), None);
    }
}

#[test]
fn duplicates_are_refused_not_stored() {
    let q = RecoveryQueue::new(slots::<{ queue_storage_len(4, 4) }>(), 4).unwrap();
    q.push(2).unwrap();
    assert_eq!(q.push(2), Err(PushError::Duplicate));
    assert_eq!(q.len(), 1);
    assert_eq!(q.pop(), Some(2));
    assert_eq!(q.push(2), Ok(()), "a popped rank may be queued again");
}

#[test]
fn full_only_below_n_and_nothing_is_lost() {
    let q = RecoveryQueue::new(slots::<{ queue_storage_len(10, 2) }>(), 10).unwrap();
    q.push(7).unwrap();
    q.push(1).unwrap();
    assert_eq!(q.push(4), Err(PushError::Full));
    assert!(!q.contains(4), "a refused rank is not half-queued");
    assert_eq!(drain(&q), [7, 1]);
    // The duplicate check comes first: a queued rank is reported as such even when full.
    assert_eq!(q.push(7), Err(PushError::Duplicate));
}

#[test]
fn capacity_n_never_overflows_exhaustively() {
    const N: u32 = 37;
    let q = RecoveryQueue::new(slots::<{ queue_storage_len(N, N) }>(), N).unwrap();
    for round in 0..3 {
        for r in 0..N {
            assert_eq!(q.push((r * 11 + round) % N), Ok(()));
        }
        for r in 0..N {
            assert_eq!(q.push(r), Err(PushError::Duplicate), "every rank is in");
        }
        assert_eq!(q.len(), N);
        for r in 0..N {
            assert_eq!(q.pop(), Some((r * 11 + round) % N));
        }
    }
}

#[test]
fn unknown_ranks_are_typed_errors() {
    let q = RecoveryQueue::new(slots::<{ queue_storage_len(5, 5) }>(), 5).unwrap();
    assert_eq!(q.push(5), Err(PushError::UnknownPartition));
    assert_eq!(q.push(u32::MAX), Err(PushError::UnknownPartition));
    assert!(!q.contains(5));
    assert!(!q.remove(u32::MAX));
    assert!(q.is_empty());
    assert!(!std::format!("{}", PushError::Full).is_empty());
}

#[test]
fn remove_keeps_the_order_of_the_others() {
    let q = RecoveryQueue::new(slots::<{ queue_storage_len(6, 4) }>(), 6).unwrap();
    // Wrap the ring first so the shift crosses the end of the storage.
    q.push(0).unwrap();
    q.push(1).unwrap();
    q.pop();
    q.pop();
    for r in [5, 3, 4, 2] {
        q.push(r).unwrap();
    }
    assert!(q.remove(3));
    assert!(!q.contains(3));
    assert!(!q.remove(3), "second remove finds nothing");
    assert_eq!(drain(&q), [5, 4, 2]);
    assert!(q.remove(2));
    assert!(q.remove(5));
    assert_eq!(drain(&q), [4]);
    assert_eq!(q.len(), 1);
    q.push(3).unwrap();
    assert_eq!(drain(&q), [4, 3]);
}

#[test]
fn for_each_reports_a_prefix_when_the_queue_changes() {
    let q = RecoveryQueue::new(slots::<{ queue_storage_len(8, 8) }>(), 8).unwrap();
    for r in [6, 2, 7] {
        q.push(r).unwrap();
    }
    let mut seen = Vec::new();
    let complete = q.for_each(|r| {
        seen.push(r);
        if seen.len() == 1 {
            q.push(0).unwrap(); // a writer between two calls of f
        }
    });
    assert!(!complete);
    assert_eq!(seen, [6], "a prefix of the snapshot, nothing else");
    assert_eq!(drain(&q), [6, 2, 7, 0]);
}

#[test]
fn concurrent_pushers_and_poppers_lose_and_duplicate_nothing() {
    const N: u32 = if cfg!(miri) { 8 } else { 64 };
    let q = Arc::new(RecoveryQueue::new(slots::<{ queue_storage_len(N, N) }>(), N).unwrap());
    let popped = Arc::new(Mutex::new(Vec::new()));
    let pushers: Vec<_> = (0..2u32)
        .map(|t| {
            let q = q.clone();
            std::thread::spawn(move || {
                for r in (t..N).step_by(2) {
                    q.push(r).unwrap();
                }
            })
        })
        .collect();
    let poppers: Vec<_> = (0..2)
        .map(|_| {
            let (q, popped) = (q.clone(), popped.clone());
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                for _ in 0..N * 4 {
                    if let Some(r) = q.pop() {
                        mine.push(r);
                    }
                }
                popped.lock().unwrap().extend(mine);
            })
        })
        .collect();
    for h in pushers.into_iter().chain(poppers) {
        h.join().unwrap();
    }
    let mut all = popped.lock().unwrap().clone();
    while let Some(r) = q.pop() {
        all.push(r);
    }
    all.sort_unstable();
    assert_eq!(all, (0..N).collect::<Vec<_>>());
}

// ---- property test: the queue against a VecDeque model ----

#[derive(Clone, Debug)]
enum Op {
    Push(u32),
    Pop,
    Remove(u32),
    Contains(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u32..12).prop_map(Op::Push),
        2 => Just(Op::Pop),
        1 => (0u32..12).prop_map(Op::Remove),
        1 => (0u32..12).prop_map(Op::Contains),
    ]
}

fn check_against_model(
    n: u32,
    cap: u32,
    ops: &[Op],
    storage: &[QueueSlot],
) -> Result<(), TestCaseError> {
    let used = queue_storage_len(n, cap);
    let q = RecoveryQueue::new(&storage[..used], n).unwrap();
    prop_assert_eq!(q.capacity(), cap);
    let mut model: VecDeque<u32> = VecDeque::new();
    for op in ops {
        match *op {
            Op::Push(r) => {
                let expected = if r >= n {
                    Err(PushError::UnknownPartition)
                } else if model.contains(&r) {
                    Err(PushError::Duplicate)
                } else if model.len() as u32 >= cap {
                    Err(PushError::Full)
                } else {
                    model.push_back(r);
                    Ok(())
                };
                let got = q.push(r);
                if cap >= n {
                    prop_assert_ne!(got, Err(PushError::Full), "capacity >= n never overflows");
                }
                prop_assert_eq!(got, expected);
            }
            Op::Pop => prop_assert_eq!(q.pop(), model.pop_front()),
            Op::Remove(r) => {
                let pos = model.iter().position(|&m| m == r);
                if let Some(p) = pos {
                    model.remove(p);
                }
                prop_assert_eq!(q.remove(r), pos.is_some());
            }
            Op::Contains(r) => prop_assert_eq!(q.contains(r), model.contains(&r)),
        }
        prop_assert_eq!(q.len() as usize, model.len());
        prop_assert_eq!(drain(&q), model.iter().copied().collect::<Vec<_>>());
        prop_assert_eq!(q.peek(), model.front().copied());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        // No regression files: keeps the tests hermetic (and Miri's isolation happy).
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn queue_matches_a_fifo_model(
        n in 1u32..12,
        cap in 1u32..14,
        ops in proptest::collection::vec(op(), 0..if cfg!(miri) { 24 } else { 100 }),
    ) {
        let storage = slots::<16>();
        check_against_model(n, cap, &ops, &storage)?;
    }

    /// With capacity >= n, no sequence of operations ever yields `Full`.
    #[test]
    fn capacity_at_least_n_never_overflows(
        n in 1u32..12,
        extra in 0u32..3,
        ops in proptest::collection::vec(op(), 0..if cfg!(miri) { 24 } else { 100 }),
    ) {
        let storage = slots::<16>();
        check_against_model(n, n + extra, &ops, &storage)?;
    }
}
