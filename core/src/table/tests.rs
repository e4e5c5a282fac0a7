//! Unit and property tests of the partition table, including the Java quorum truth table
//! (Phase41RecoveryCoordinatorLockTest.testQuorumCheck).

extern crate std;

use super::*;
use crate::health::is_allowed;
use proptest::prelude::*;
use std::sync::Arc;
use std::vec::Vec;

use Health::*;

fn cells<const N: usize>() -> [HealthCell; N] {
    core::array::from_fn(|_| HealthCell::new())
}

// ---- Phase41RecoveryCoordinatorLockTest.testQuorumCheck ----

#[test]
fn quorum_truth_table_of_the_java_original() {
    let yes = [(3, 5), (4, 5), (5, 5), (3, 4), (1, 1), (2, 3)];
    let no = [(2, 5), (1, 5), (2, 4), (1, 3)];
    for (healthy, total) in yes {
        assert!(has_quorum(healthy, total), "{healthy}/{total}");
    }
    for (healthy, total) in no {
        assert!(!has_quorum(healthy, total), "{healthy}/{total}");
    }
    assert!(!has_quorum(0, 0), "an empty system has no quorum");
    assert!(!has_quorum(0, 1));
    assert!(has_quorum(u32::MAX, u32::MAX));
    assert!(!has_quorum(u32::MAX / 2, u32::MAX));
}

#[test]
fn table_quorum_follows_the_healthy_count() {
    let table = PartitionTable::new(cells::<5>(), 5).unwrap();
    assert!(table.has_quorum());
    table.transition(0, None, Suspected, None).unwrap();
    table.transition(1, None, Suspected, None).unwrap();
    assert!(table.has_quorum(), "3 of 5");
    table.transition(2, None, Suspected, None).unwrap();
    assert!(!table.has_quorum(), "2 of 5");
    table.transition(2, None, Healthy, None).unwrap();
    assert!(table.has_quorum(), "3 of 5 again");
}

// ---- construction and ranks ----

#[test]
fn new_validates_n_against_the_storage() {
    assert_eq!(
        PartitionTable::new(cells::<4>(), 0).unwrap_err(),
        TableError::NoPartitions
    );
    assert_eq!(
        PartitionTable::new(cells::<4>(), 5).unwrap_err(),
        TableError::StorageTooSmall { n: 5, len: 4 }
    );
    assert_eq!(
        PartitionTable::new(cells::<4>(), MAX_PARTITIONS + 1).unwrap_err(),
        TableError::TooManyPartitions {
            n: MAX_PARTITIONS + 1
        }
    );
    let empty: &[HealthCell] = &[];
    assert_eq!(
        PartitionTable::new(empty, 1).unwrap_err(),
        TableError::StorageTooSmall { n: 1, len: 0 }
    );
    for e in [
        TableError::NoPartitions,
        TableError::StorageTooSmall { n: 5, len: 4 },
    ] {
        assert!(!std::format!("{e}").is_empty());
    }
}

#[test]
fn only_the_first_n_cells_are_used() {
    let storage = cells::<8>();
    let table = PartitionTable::new(&storage[..], 3).unwrap();
    assert_eq!(table.len(), 3);
    assert!(!table.is_empty());
    assert_eq!(
        table.counts(),
        Counts {
            healthy: 3,
            ..Counts::default()
        }
    );
    assert_eq!(table.scan(), table.counts());
    assert!(table.get(2).is_ok());
    assert_eq!(
        table.get(3),
        Err(RankError::UnknownPartition { rank: 3, len: 3 })
    );
}

#[test]
fn unknown_rank_is_a_typed_error_everywhere() {
    let table = PartitionTable::new(cells::<2>(), 2).unwrap();
    assert_eq!(
        table.cell(2).unwrap_err(),
        RankError::UnknownPartition { rank: 2, len: 2 }
    );
    assert_eq!(
        table.transition(u32::MAX, None, Suspected, None),
        Err(TableTransitionError::UnknownPartition {
            rank: u32::MAX,
            len: 2
        })
    );
    assert_eq!(table.counts().healthy, 2);
    assert!(std::format!("{}", RankError::UnknownPartition { rank: 9, len: 2 }).contains('9'));
}

#[test]
fn counts_start_from_a_scan_of_used_storage() {
    let storage = cells::<4>();
    storage[1].transition(None, Suspected, None).unwrap();
    storage[2].transition(None, Suspected, None).unwrap();
    storage[2].transition(None, Failed, None).unwrap();
    let table = PartitionTable::new(&storage, 4).unwrap();
    assert_eq!(
        table.counts(),
        Counts {
            healthy: 2,
            suspected: 1,
            failed: 1,
            recovering: 0,
            absent: 0
        }
    );
}

#[test]
fn cell_errors_pass_through_and_leave_counts_alone() {
    let table = PartitionTable::new(cells::<3>(), 3).unwrap();
    assert_eq!(
        table.transition(0, None, Failed, None),
        Err(TableTransitionError::Invalid {
            from: Healthy,
            to: Failed
        })
    );
    assert_eq!(
        table.transition(0, Some(Failed), Recovering, None),
        Err(TableTransitionError::UnexpectedState { actual: Healthy })
    );
    assert_eq!(
        table.transition(0, None, Suspected, Some(7)),
        Err(TableTransitionError::Stale { current: 0 })
    );
    assert_eq!(
        table.counts(),
        Counts {
            healthy: 3,
            ..Counts::default()
        }
    );
    let e: TableTransitionError = TransitionError::Stale { current: 7 }.into();
    assert_eq!(
        std::format!("{e}"),
        std::format!("{}", TransitionError::Stale { current: 7 })
    );
}

#[test]
fn a_full_cycle_moves_one_partition_through_every_count() {
    let table = PartitionTable::new(cells::<2>(), 2).unwrap();
    let steps = [Suspected, Failed, Recovering, Healthy];
    for to in steps {
        table.transition(1, None, to, None).unwrap();
        assert_eq!(table.count(to), if to == Healthy { 2 } else { 1 });
        assert_eq!(table.counts().total(), 2);
        assert_eq!(table.counts(), table.scan());
    }
    assert_eq!(table.get(1), Ok((Healthy, 1)));
}

#[test]
fn quorum_counts_the_current_members_only() {
    // 5 ranks, 2 healthy, 3 suspected: no quorum of 5.
    let table = PartitionTable::new(cells::<5>(), 5).unwrap();
    for r in 2..5 {
        table.transition(r, None, Suspected, None).unwrap();
    }
    assert!(!table.has_quorum());
    // One suspected leaves: 2 of 4 is still no majority; a second: 2 of 3 is.
    table.transition(4, None, Absent, None).unwrap();
    assert_eq!((table.members(), table.has_quorum()), (4, false));
    table.transition(3, None, Absent, None).unwrap();
    assert_eq!((table.members(), table.has_quorum()), (3, true));
    // A healthy member leaving lowers both sides: 1 of 2 is no majority.
    table.transition(0, None, Absent, None).unwrap();
    assert_eq!((table.members(), table.has_quorum()), (2, false));
    // Rejoining (fresh incarnation) restores it: 2 of 3.
    let t = table.transition(0, Some(Absent), Healthy, None).unwrap();
    assert_eq!(t.incarnation, 1);
    assert!(table.has_quorum());
    assert_eq!(
        table.counts(),
        Counts {
            healthy: 2,
            suspected: 1,
            absent: 2,
            ..Counts::default()
        }
    );
    assert_eq!(table.counts(), table.scan());
    assert_eq!((table.counts().members(), table.counts().total()), (3, 5));
}

#[test]
fn count_clamps_a_transiently_negative_value() {
    let table = PartitionTable::new(cells::<2>(), 2).unwrap();
    // Simulate the in-progress window of the module docs: a decrement landed before the
    // increment it follows.
    table.counts[Failed.index()].fetch_sub(1, Ordering::AcqRel);
    assert_eq!(table.count(Failed), 0);
    table.counts[Healthy.index()].fetch_add(5, Ordering::AcqRel);
    assert_eq!(table.count(Healthy), 2, "clamped to n");
}

#[test]
fn counts_equal_scan_after_concurrent_transitions() {
    const N: usize = 64;
    let table = Arc::new(PartitionTable::new(cells::<N>(), N as u32).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let table = table.clone();
            std::thread::spawn(move || {
                let mut wins = 0u32;
                for round in 0..if cfg!(miri) { 16 } else { 200u32 } {
                    let rank = (round * 7 + t) % N as u32;
                    let to = Health::ALL[((round + t) % 5) as usize];
                    wins += u32::from(table.transition(rank, None, to, None).is_ok());
                }
                wins
            })
        })
        .collect();
    let wins: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(wins > 0);
    assert_eq!(table.counts(), table.scan());
    assert_eq!(table.counts().total(), N as u32);
}

// ---- property test: counts against a sequential model ----

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        // No regression files: keeps the tests hermetic (and Miri's isolation happy).
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn counts_match_a_model_and_the_scan(
        n in 1u32..9,
        ops in proptest::collection::vec((0u32..10, 0u8..5, any::<bool>()), 0..if cfg!(miri) { 20 } else { 80 }),
    ) {
        let table = PartitionTable::new(cells::<8>(), n.min(8)).unwrap();
        let n = n.min(8);
        let mut model = std::vec![(Healthy, 0u32); n as usize];
        for (rank, to, name_inc) in ops {
            let to = Health::from_u8(to).unwrap();
            let inc = name_inc.then(|| model.get(rank as usize).map_or(0, |m| m.1));
            let result = table.transition(rank, None, to, inc);
            match model.get_mut(rank as usize) {
                None => {
                    let unknown = matches!(
                        result,
                        Err(TableTransitionError::UnknownPartition { .. })
                    );
                    prop_assert!(unknown);
                }
                Some(m) if is_allowed(m.0, to) => {
                    let t = result.unwrap();
                    prop_assert_eq!(t.from, m.0);
                    if to == Healthy { m.1 += 1; }
                    *m = (to, m.1);
                    prop_assert_eq!(t.incarnation, m.1);
                }
                Some(m) => prop_assert_eq!(
                    result,
                    Err(TableTransitionError::Invalid { from: m.0, to })
                ),
            }
            let mut expected = Counts::default();
            for m in &model { expected.bump(m.0); }
            prop_assert_eq!(table.counts(), expected);
            prop_assert_eq!(table.scan(), expected);
            // Quorum over the current members: ABSENT ranks count on neither side.
            let members = n - expected.absent;
            prop_assert_eq!(table.members(), members);
            prop_assert_eq!(
                table.has_quorum(),
                expected.healthy > members / 2
            );
        }
    }
}
