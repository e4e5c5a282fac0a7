//! Coordinator benchmarks at 65,536 partitions.
//!
//! * `coordinator/decide`: the pure STATE 1/2/3 decision from three counts.
//! * `coordinator/failure_report/65536`: one `handle_report(Crashed)` on a HEALTHY partition of
//!   a 65,536-partition coordinator: two table transitions (HEALTHY→SUSPECTED→FAILED, two
//!   events), the O(1) quorum counts, the decision, the queue push and promote, and — while
//!   fewer than K recoveries run — the lock permit, FAILED→RECOVERING and recovery mode.
//!   Goal (issue 3): ≤ 1 µs.
//! * `coordinator/counted_reports/65536`: a failure report below the threshold followed by a
//!   success report (the steady-state detection path; no transition).
//! * `coordinator/tick_idle/65536`: `tick` with nothing due (no partition scan).
//! * `coordinator/tick_heartbeats/65536`: `tick` with heartbeat detection on (one O(n) scan of
//!   every partition's heartbeat verdict).
//!
//! Memory: prints `BYTES_PER_PARTITION` and the caller storage of 65,536 partitions (goal:
//! ≤ 64 bytes per partition) and fails if the goal is missed; prints the optional
//! per-partition statistics (`PartitionStatsSlot`, which the boxed coordinator measured here
//! keeps) separately.
//!
//! Each measured batch runs on a coordinator prepared outside the timed region; events are
//! drained outside it too (an unpolled outbox would only count drops).

use core::hint::black_box;
use core::time::Duration;
use std::sync::Arc;
use std::time::Instant as WallInstant;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ftforest_core::coord::{
    decide, BoxedCoordinator, Config, HeartbeatConfig, HeartbeatMode, PartitionStatsSlot, Report,
    BYTES_PER_PARTITION,
};
use ftforest_core::{queue_storage_len, Instant, Tracker};

const N: u32 = 65_536;
/// Reports per prepared coordinator: stays below n/2 so quorum holds throughout.
const BATCH: u32 = 4_096;

type Coord = BoxedCoordinator<Arc<Tracker>>;

fn coordinator() -> Coord {
    let tracker = Arc::new(Tracker::new());
    let cfg = Config::default();
    Coord::new_boxed(cfg, N, tracker, Instant::from_millis(1)).expect("coordinator")
}

fn drain(c: &mut Coord) {
    while c.poll_event().is_some() {}
    while c.poll_action().is_some() {}
}

fn memory() {
    let per = BYTES_PER_PARTITION;
    let queue_bits = queue_storage_len(N, N) * 4 - N as usize * 4;
    let total = per * N as usize + queue_bits;
    println!(
        "coordinator memory: {per} bytes per partition (+1 queue bit); {N} partitions = {total} bytes ({:.3} bytes/partition)",
        total as f64 / f64::from(N)
    );
    let stats = core::mem::size_of::<PartitionStatsSlot>();
    println!(
        "optional per-partition statistics: {stats} bytes per partition; {N} partitions = {} bytes",
        stats * N as usize
    );
    assert!(
        per <= 64,
        "per-partition state {per} B exceeds the 64 B goal"
    );
}

fn bench(c: &mut Criterion) {
    memory();
    let mut g = c.benchmark_group("coordinator");

    g.bench_function("decide", |b| {
        b.iter(|| decide(black_box(40_000), black_box(N), black_box(2)))
    });

    g.bench_function(BenchmarkId::new("failure_report", N), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0u64;
            while done < iters {
                let mut c = coordinator();
                let now = Instant::from_millis(2);
                let k = (iters - done).min(u64::from(BATCH)) as u32;
                for chunk in (0..k).collect::<Vec<_>>().chunks(128) {
                    let start = WallInstant::now();
                    for &i in chunk {
                        // Spread the ranks over the table.
                        let r = (i * 16) % N;
                        black_box(c.handle_report(now, Report::crashed(r)).ok());
                    }
                    total += start.elapsed();
                    drain(&mut c);
                }
                done += u64::from(k);
            }
            total
        })
    });

    g.bench_function(BenchmarkId::new("counted_reports", N), |b| {
        let mut c = coordinator();
        let mut r = 0u32;
        let now = Instant::from_millis(2);
        b.iter(|| {
            r = (r + 7919) % N;
            black_box(c.handle_report(now, Report::barrier_timeout(r)).ok());
            black_box(c.handle_report(now, Report::barrier_passed(r)).ok());
        })
    });

    g.bench_function(BenchmarkId::new("tick_idle", N), |b| {
        let mut c = coordinator();
        let mut t = 2u64;
        b.iter(|| {
            t += 1;
            c.tick(Instant::from_millis(t));
        })
    });

    g.bench_function(BenchmarkId::new("tick_heartbeats", N), |b| {
        // Heartbeat detection on: every tick evaluates every partition's verdict (O(n)).
        let hb = HeartbeatConfig::DEFAULT.with_mode(HeartbeatMode::Interval);
        let cfg = Config::builder().heartbeat(hb).build().expect("config");
        let mut c = Coord::new_boxed(cfg, N, Arc::new(Tracker::new()), Instant::from_millis(1))
            .expect("coordinator");
        let mut t = 1_000_000u64; // ns; stays far below the 2 s suspicion timeout
        b.iter(|| {
            t += 1;
            c.tick(black_box(Instant::from_nanos(t)));
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench
}
criterion_main!(benches);
