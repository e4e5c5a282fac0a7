#![cfg(ftforest_loom)]
//! Loom models of the partition table: after concurrent transitions the maintained counts
//! equal a scan; while they run, every count stays within its bounds (the transient "-1" of
//! a decrement that overtakes its increment is never visible as a huge count).

use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use ftforest_core::{Counts, Health, HealthCell, PartitionTable};
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

fn table(n: usize) -> Arc<PartitionTable<Vec<HealthCell>>> {
    let cells = (0..n).map(|_| HealthCell::new()).collect();
    Arc::new(PartitionTable::new(cells, n as u32).unwrap())
}

/// Two partitions change at once: counts equal the scan afterwards.
#[test]
fn counts_equal_scan_after_transitions_on_two_cells() {
    model("counts_equal_scan_after_transitions_on_two_cells", || {
        let t = table(3);
        let other = {
            let t = t.clone();
            thread::spawn(move || {
                t.transition(1, None, Health::Suspected, None).unwrap();
            })
        };
        t.transition(0, None, Health::Suspected, None).unwrap();
        assert!(t.count(Health::Healthy) >= 1 && t.count(Health::Healthy) <= 2);
        other.join().unwrap();
        assert_eq!(
            t.counts(),
            Counts {
                healthy: 1,
                suspected: 2,
                failed: 0,
                recovering: 0,
                absent: 0,
            }
        );
        assert_eq!(t.counts(), t.scan());
        assert!(!t.has_quorum());
    });
}

/// One partition moves HEALTHY→SUSPECTED on one thread and SUSPECTED→FAILED on another (when
/// it sees SUSPECTED): the second thread's decrement of SUSPECTED may land before the first
/// thread's increment. An observer never sees a count outside 0..=n, and once both are done
/// the counts equal the scan.
#[test]
fn chained_transitions_of_one_cell_keep_counts_bounded() {
    model(
        "chained_transitions_of_one_cell_keep_counts_bounded",
        || {
            let t = table(2);
            let suspecter = {
                let t = t.clone();
                thread::spawn(move || {
                    t.transition(0, Some(Health::Healthy), Health::Suspected, None)
                        .unwrap();
                })
            };
            let confirmer = {
                let t = t.clone();
                thread::spawn(move || {
                    t.transition(0, Some(Health::Suspected), Health::Failed, None)
                })
            };
            for h in [Health::Suspected, Health::Failed, Health::Healthy] {
                let c = t.count(h);
                assert!(c <= 2, "{h} count {c} out of bounds");
            }
            suspecter.join().unwrap();
            let confirmed = confirmer.join().unwrap().is_ok();
            let expected = if confirmed {
                Counts {
                    healthy: 1,
                    suspected: 0,
                    failed: 1,
                    recovering: 0,
                    absent: 0,
                }
            } else {
                Counts {
                    healthy: 1,
                    suspected: 1,
                    failed: 0,
                    recovering: 0,
                    absent: 0,
                }
            };
            assert_eq!(t.scan(), expected);
            assert_eq!(t.counts(), expected);
        },
    );
}

/// Two threads push the same partition along different paths (suspect then confirm; suspect
/// then clear), each step from whatever state it finds, while a third partition changes on
/// the main thread: every count a thread reads stays in `0..=n`, and once all are done the
/// counts equal the scan.
#[test]
fn racing_paths_end_with_counts_equal_scan() {
    model("racing_paths_end_with_counts_equal_scan", || {
        let t = table(2);
        let paths = [
            [Health::Suspected, Health::Failed],
            [Health::Suspected, Health::Healthy],
        ];
        let handles: Vec<_> = paths
            .into_iter()
            .map(|path| {
                let t = t.clone();
                thread::spawn(move || {
                    let mut wins = 0;
                    for to in path {
                        wins += usize::from(t.transition(0, None, to, None).is_ok());
                    }
                    let s = t.count(Health::Suspected);
                    assert!(s <= 2, "SUSPECTED count {s}");
                    wins
                })
            })
            .collect();
        t.transition(1, None, Health::Suspected, None).unwrap();
        let wins: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert!(wins >= 1);
        assert_eq!(t.counts(), t.scan());
        assert_eq!(t.counts().total(), 2);
    });
}

/// A graceful leave races a failure report on the same partition (issue 8): the leave wins
/// from whatever state it finds (HEALTHY or SUSPECTED), the report either lands first or is
/// refused on the ABSENT cell; an observer never sees a count out of bounds; afterwards the
/// partition is ABSENT, the counts equal the scan and the quorum counts the one member left.
#[test]
fn leave_races_a_report() {
    model("leave_races_a_report", || {
        let t = table(2);
        let reporter = {
            let t = t.clone();
            thread::spawn(move || {
                t.transition(0, Some(Health::Healthy), Health::Suspected, Some(0))
            })
        };
        let left = t.transition(0, None, Health::Absent, None).unwrap();
        for h in Health::ALL {
            let c = t.count(h);
            assert!(c <= 2, "{h} count {c} out of bounds");
        }
        let reported = reporter.join().unwrap();
        match reported {
            Ok(r) => assert_eq!((r.from, left.from), (Health::Healthy, Health::Suspected)),
            Err(_) => assert_eq!(left.from, Health::Healthy),
        }
        assert_eq!(t.get(0), Ok((Health::Absent, 0)));
        assert_eq!(t.counts(), t.scan());
        assert_eq!(t.members(), 1);
        assert!(t.has_quorum(), "1 healthy of 1 member");
    });
}

/// A join (ABSENT → HEALTHY, new incarnation) races a stale report naming the life that
/// left: the report is refused whichever runs first (the ABSENT cell refuses any report, the
/// joined cell refuses the old incarnation), and the counts end equal to the scan.
#[test]
fn join_races_a_stale_report() {
    model("join_races_a_stale_report", || {
        let t = table(2);
        t.transition(1, None, Health::Absent, None).unwrap();
        let reporter = {
            let t = t.clone();
            thread::spawn(move || t.transition(1, None, Health::Suspected, Some(0)))
        };
        let joined = t
            .transition(1, Some(Health::Absent), Health::Healthy, None)
            .unwrap();
        assert_eq!(joined.incarnation, 1);
        assert!(
            reporter.join().unwrap().is_err(),
            "a report about the old life never lands"
        );
        assert_eq!(t.get(1), Ok((Health::Healthy, 1)));
        assert_eq!(t.counts(), t.scan());
        assert_eq!(t.members(), 2);
    });
}
