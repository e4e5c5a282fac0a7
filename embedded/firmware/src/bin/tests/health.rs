//! Health cells and the partition table with transitions from main and the interrupt.

use core::sync::atomic::{AtomicU32, Ordering::*};

use ftforest_core::{Health, HealthCell, PartitionTable, TableTransitionError};
use ftforest_firmware::cell::Once;
use ftforest_firmware::harness::TestResult;
use ftforest_firmware::{bump, ensure, set_hook, wait_ticks};

const N: u32 = 8;
static CELLS: [HealthCell; N as usize] = [const { HealthCell::new() }; N as usize];
static TABLE: Once<PartitionTable<&'static [HealthCell; N as usize]>> = Once::new();
static ISR_FLIPS: AtomicU32 = AtomicU32::new(0);
static ISR_BAD: AtomicU32 = AtomicU32::new(0);
static ISR_READS: AtomicU32 = AtomicU32::new(0);

/// The interrupt toggles partitions 0..4 between HEALTHY and SUSPECTED and reads the
/// quorum (an O(1) read of the counts; no assertion on it mid-transition).
fn flip_hook() {
    let Some(t) = TABLE.get() else { return };
    for rank in 0..4 {
        let to = match t.get(rank) {
            Ok((Health::Healthy, _)) => Health::Suspected,
            Ok((Health::Suspected, _)) => Health::Healthy,
            _ => {
                bump(&ISR_BAD);
                continue;
            }
        };
        if t.transition(rank, None, to, None).is_err() {
            bump(&ISR_BAD);
        }
        bump(&ISR_FLIPS);
    }
    let _ = core::hint::black_box(t.has_quorum());
    bump(&ISR_READS);
}

pub fn table_and_quorum() -> TestResult {
    let Ok(table) = PartitionTable::new(&CELLS, N) else {
        ensure!(false, "table over 8 cells");
        return Ok(());
    };
    let Ok(t) = TABLE.set(table) else {
        ensure!(false, "the test runs once");
        return Ok(());
    };
    ensure!(
        t.has_quorum() && t.count(Health::Healthy) == N,
        "fresh table: all healthy"
    );

    // Typed errors, never a panic.
    ensure!(
        matches!(
            t.transition(4, None, Health::Failed, None),
            Err(TableTransitionError::Invalid { .. })
        ),
        "HEALTHY -> FAILED is not in the table"
    );
    ensure!(t.get(N).is_err(), "rank out of range is an error");

    // Main runs partitions 4..8 through whole lives while the interrupt flips 0..4.
    set_hook(Some(flip_hook));
    let cycle = [
        Health::Suspected,
        Health::Failed,
        Health::Recovering,
        Health::Healthy,
    ];
    let mut lives = 0u32;
    for round in 0..300u32 {
        let rank = 4 + round % 4;
        for to in cycle {
            ensure!(
                t.transition(rank, None, to, None).is_ok(),
                "main's transition"
            );
        }
        lives += 1;
    }
    wait_ticks(3);
    set_hook(None);
    ensure!(
        ISR_BAD.load(Relaxed) == 0,
        "the interrupt's transitions all succeeded"
    );
    ensure!(ISR_FLIPS.load(Relaxed) > 0, "the interrupt ran");
    ensure!(t.counts() == t.scan(), "O(1) counts equal a scan once idle");
    let inc4 = t.get(4).map(|(_, i)| i).unwrap_or(0);
    ensure!(
        inc4 == lives / 4,
        "each life entered HEALTHY once (incarnation)"
    );
    ensure!(
        matches!(
            t.transition(4, None, Health::Suspected, Some(inc4.wrapping_add(1))),
            Err(TableTransitionError::Stale { .. })
        ),
        "a report about another life is stale"
    );

    // Quorum: healthy > n / 2.
    for rank in 0..4 {
        if let Ok((Health::Suspected, _)) = t.get(rank) {
            ensure!(
                t.transition(rank, None, Health::Healthy, None).is_ok(),
                "heal"
            );
        }
    }
    ensure!(t.has_quorum(), "8 of 8");
    for rank in 4..8 {
        ensure!(
            t.transition(rank, None, Health::Suspected, None).is_ok(),
            "suspect"
        );
    }
    ensure!(!t.has_quorum(), "4 of 8 healthy is no quorum");
    ensure!(
        t.transition(4, None, Health::Healthy, None).is_ok(),
        "heal one"
    );
    ensure!(t.has_quorum(), "5 of 8 is a quorum");
    Ok(())
}
