//! Tracker benchmarks, every peer side by side (see `bench/README.md` for the table):
//!
//! * `tracker_1t/<peer>`: one `begin` + `end` pair on one thread (thread CPU time).
//! * `tracker_2t/<peer>`: two threads on one object; CPU time per thread per pair.
//! * `tracker_2t_wall/<peer>`: the same, wall-clock time per thread per pair.
//! * `pause_resume_idle/<peer>`: `pause_wait` + `resume` with nothing in flight, one thread
//!   (thread CPU time; a futex syscall's kernel time counts).
//! * `pause_wake/<peer>`: last `end` → `pause_wait` returning (wall clock); criterion reports
//!   the mean, the bench prints median and p99 (and writes them to `percentiles.json`).
//!
//! Why thread CPU time for the hot path: the machine these numbers come from is shared and
//! oversubscribed, and a preempted thread's wall clock keeps running. CPU time still counts
//! every cache-line transfer stall (that is the contention being measured) but not the time
//! a thread sat preempted. The wall-clock 2-thread group is kept for comparison.

use core::hint::black_box;
use core::time::Duration;

use criterion::measurement::{Measurement, WallTime};
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use ftforest_bench::harness::{self, Samples, Timer};

#[path = "common/thread_cpu.rs"]
mod thread_cpu;
use ftforest_bench::{for_each_pause_peer, for_each_peer, FtBeginOn, PausePeer, Peer};
use thread_cpu::ThreadCpu;

/// How long the holder keeps the last operation open after the pauser started waiting:
/// long enough for every peer's waiter to be past its spinning phase (blocked).
const HOLD: Duration = Duration::from_micros(100);

fn one_thread<P: Peer>(g: &mut BenchmarkGroup<'_, ThreadCpu>) {
    let p = P::create();
    g.bench_function(P::NAME, |b| {
        let p = black_box(&p);
        b.iter(|| harness::pair(p));
    });
}

fn two_threads<P: Peer, M: Measurement<Value = Duration>>(
    g: &mut BenchmarkGroup<'_, M>,
    timer: Timer,
) {
    let p = P::create();
    g.bench_function(P::NAME, |b| {
        b.iter_custom(|iters| harness::threads_on_one(&p, 2, iters, timer));
    });
}

fn idle_pause<P: PausePeer>(g: &mut BenchmarkGroup<'_, ThreadCpu>) {
    let p = P::create();
    g.bench_function(P::NAME, |b| {
        let p = black_box(&p);
        b.iter(|| harness::pause_resume(p));
    });
}

fn wake<P: PausePeer>(g: &mut BenchmarkGroup<'_, WallTime>) {
    let p = P::create();
    let mut samples = Samples::default();
    g.bench_function(P::NAME, |b| {
        b.iter_custom(|iters| harness::pause_wake(&p, iters, HOLD, &mut samples));
    });
    samples.report("pause_wake", P::NAME);
}

fn tracker_1t(c: &mut Criterion<ThreadCpu>) {
    let mut g = c.benchmark_group("tracker_1t");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    macro_rules! run {
        ($t:ty) => {
            one_thread::<$t>(&mut g)
        };
    }
    for_each_peer!(run);
    run!(FtBeginOn);
    g.finish();
}

fn pause_resume_idle(c: &mut Criterion<ThreadCpu>) {
    let mut g = c.benchmark_group("pause_resume_idle");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    macro_rules! run {
        ($t:ty) => {
            idle_pause::<$t>(&mut g)
        };
    }
    for_each_pause_peer!(run);
    g.finish();
}

fn tracker_2t(c: &mut Criterion<ThreadCpu>) {
    let mut g = c.benchmark_group("tracker_2t");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    macro_rules! run {
        ($t:ty) => {
            two_threads::<$t, _>(&mut g, Timer::ThreadCpu)
        };
    }
    for_each_peer!(run);
    g.finish();
}

fn tracker_2t_wall(c: &mut Criterion) {
    let mut g = c.benchmark_group("tracker_2t_wall");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    macro_rules! run {
        ($t:ty) => {
            two_threads::<$t, _>(&mut g, Timer::Wall)
        };
    }
    for_each_peer!(run);
    g.finish();
}

fn pause_wake(c: &mut Criterion) {
    let mut g = c.benchmark_group("pause_wake");
    g.warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    macro_rules! run {
        ($t:ty) => {
            wake::<$t>(&mut g)
        };
    }
    for_each_pause_peer!(run);
    g.finish();
}

// Fewer bootstrap resamples than the default 100 000: the analysis otherwise costs more wall
// time than the measurement on this 2-core machine, for no visible change in the estimates.
fn cpu_config() -> Criterion<ThreadCpu> {
    Criterion::default()
        .nresamples(20_000)
        .with_measurement(ThreadCpu::new())
}

fn wall_config() -> Criterion {
    Criterion::default().nresamples(20_000)
}

criterion_group! {
    name = cpu;
    config = cpu_config();
    targets = tracker_1t, pause_resume_idle, tracker_2t
}
criterion_group! {
    name = wall;
    config = wall_config();
    targets = tracker_2t_wall, pause_wake
}
criterion_main!(cpu, wall);
