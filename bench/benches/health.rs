//! Health benchmarks:
//!
//! * `health/load`: one `HealthCell::load` (state + incarnation from one atomic word).
//! * `health/cycle_cell`: one full cycle HEALTHY→SUSPECTED→FAILED→RECOVERING→HEALTHY on one
//!   cell (four CAS transitions, each with the caller's expected state and incarnation).
//! * `health/cycle_table`: the same cycle through `PartitionTable::transition`, which also
//!   maintains the per-state counts.
//! * `quorum/has_quorum/<n>` vs `quorum/scan/<n>` at n = 16, 1 024 and 65 536 partitions:
//!   the O(1) quorum test next to the O(n) full scan.
//!
//! All single-threaded, timed in thread CPU time (see `common/thread_cpu.rs`).

use core::hint::black_box;
use core::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ftforest_core::{Health, HealthCell, PartitionTable};

#[path = "common/thread_cpu.rs"]
mod thread_cpu;
use thread_cpu::ThreadCpu;

const PARTITIONS: [u32; 3] = [16, 1_024, 65_536];

/// One full cycle on a cell that starts HEALTHY; true when all four transitions won.
#[inline]
fn cycle_cell(cell: &HealthCell) -> bool {
    let (_, inc) = cell.load();
    let a = cell.transition(Some(Health::Healthy), Health::Suspected, Some(inc));
    let b = cell.transition(Some(Health::Suspected), Health::Failed, Some(inc));
    let c = cell.transition(Some(Health::Failed), Health::Recovering, Some(inc));
    let d = cell.transition(Some(Health::Recovering), Health::Healthy, Some(inc));
    a.is_ok() & b.is_ok() & c.is_ok() & d.is_ok()
}

/// The same cycle for partition `rank` of `table`, through the table (counts maintained).
#[inline]
fn cycle_table<S: AsRef<[HealthCell]>>(table: &PartitionTable<S>, rank: u32) -> bool {
    let Ok((_, inc)) = table.get(rank) else {
        return false;
    };
    let a = table.transition(rank, Some(Health::Healthy), Health::Suspected, Some(inc));
    let b = table.transition(rank, Some(Health::Suspected), Health::Failed, Some(inc));
    let c = table.transition(rank, Some(Health::Failed), Health::Recovering, Some(inc));
    let d = table.transition(rank, Some(Health::Recovering), Health::Healthy, Some(inc));
    a.is_ok() & b.is_ok() & c.is_ok() & d.is_ok()
}

fn table(n: u32) -> PartitionTable<Vec<HealthCell>> {
    let storage: Vec<HealthCell> = (0..n).map(|_| HealthCell::new()).collect();
    match PartitionTable::new(storage, n) {
        Ok(t) => t,
        Err(e) => panic!("table of {n}: {e}"),
    }
}

fn health(c: &mut Criterion<ThreadCpu>) {
    let mut g = c.benchmark_group("health");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);

    let cell = HealthCell::new();
    g.bench_function("load", |b| b.iter(|| black_box(&cell).load()));

    assert!(cycle_cell(&cell), "a full cycle must succeed");
    g.bench_function("cycle_cell", |b| b.iter(|| cycle_cell(black_box(&cell))));

    let t = table(16);
    assert!(cycle_table(&t, 3), "a full table cycle must succeed");
    g.bench_function("cycle_table", |b| b.iter(|| cycle_table(black_box(&t), 3)));
    g.finish();
}

fn quorum(c: &mut Criterion<ThreadCpu>) {
    let mut g = c.benchmark_group("quorum");
    g.warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(30);
    for n in PARTITIONS {
        let t = table(n);
        // A realistic table: a minority not healthy, so the test is not trivially "all".
        for rank in 0..n / 3 {
            let _ = t.transition(rank, Some(Health::Healthy), Health::Suspected, None);
        }
        assert!(t.has_quorum());
        assert_eq!(t.counts(), t.scan(), "counts equal a scan at rest");
        g.bench_with_input(BenchmarkId::new("has_quorum", n), &t, |b, t| {
            b.iter(|| black_box(t).has_quorum())
        });
        g.bench_with_input(BenchmarkId::new("scan", n), &t, |b, t| {
            b.iter(|| black_box(t).scan())
        });
    }
    g.finish();
}

fn config() -> Criterion<ThreadCpu> {
    Criterion::default()
        .nresamples(20_000)
        .with_measurement(ThreadCpu::new())
}

criterion_group! {
    name = benches;
    config = config();
    targets = health, quorum
}
criterion_main!(benches);
