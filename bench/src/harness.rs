//! Measurement loops shared by the bench files, generic over [`Peer`] / [`PausePeer`].
//!
//! * [`threads_on_one`]: `n` threads hammer one object with `begin`+`end` pairs; returns the
//!   slowest thread's time (per-thread cost = that / `iters`), for criterion's `iter_custom`.
//!   Threads start together on a spinning start line, so no thread runs alone while another is
//!   still waking up from a blocking barrier. The time is wall-clock or the thread's own CPU
//!   time ([`Timer`]); CPU time leaves out the time a thread spent preempted, which on a
//!   shared, oversubscribed machine otherwise dominates the spread.
//! * [`pause_wake`]: the pause wake latency: the time from the last `end` to `pause_wait`
//!   returning, one sample per cycle, each also appended to a [`Samples`] list so that the
//!   median and p99 can be reported next to criterion's mean.
//!
//! Timestamps of the two threads in [`pause_wake`] come from one `std::time::Instant` base
//! (CLOCK_MONOTONIC on Linux, comparable across threads).

use core::hint::{black_box, spin_loop};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use core::time::Duration;
use std::path::PathBuf;
use std::time::Instant;

use crate::{PausePeer, Peer};

/// One `begin` + `end` pair (a rejected `begin` ends nothing; it never happens while open).
#[inline(always)]
pub fn pair<P: Peer>(p: &P) {
    if let Some(op) = p.begin() {
        p.end(op);
    }
}

/// One `pause_wait` + `resume` (with nothing in flight, the pause returns at once).
#[inline(always)]
pub fn pause_resume<P: PausePeer>(p: &P) {
    let g = p.pause_wait();
    p.resume(g);
}

/// Spin until `done()` holds, yielding the CPU now and then (the machine is shared).
#[inline]
fn spin_until(mut done: impl FnMut() -> bool) {
    let mut spins = 0u32;
    while !done() {
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(1024) {
            std::thread::yield_now();
        } else {
            spin_loop();
        }
    }
}

/// Which clock a measurement reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Monotonic wall-clock time (`std::time::Instant`).
    Wall,
    /// CPU time consumed by the calling thread (`CLOCK_THREAD_CPUTIME_ID`; wall time on
    /// non-Unix hosts). Cache-miss stalls count; time spent preempted does not.
    ThreadCpu,
}

impl Timer {
    /// The current reading; only differences of readings on one thread are meaningful.
    pub fn now(self) -> Duration {
        match self {
            Timer::Wall => wall_now(),
            Timer::ThreadCpu => thread_cpu_now(),
        }
    }
}

fn wall_now() -> Duration {
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed()
}

/// CPU time consumed so far by the calling thread.
#[cfg(unix)]
pub fn thread_cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `timespec`; CLOCK_THREAD_CPUTIME_ID is supported by
    // every Unix this crate builds on (Linux, macOS ≥ 10.12, the BSDs). On failure `ts`
    // stays zero, which only makes one sample wrong, never UB.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// CPU time consumed so far by the calling thread (wall time: no portable thread clock here).
#[cfg(not(unix))]
pub fn thread_cpu_now() -> Duration {
    wall_now()
}

/// `n` threads each run `iters` `begin`+`end` pairs on `p` at the same time.
///
/// Returns the longest per-thread time read from `timer`, measured inside each thread from
/// the shared start line to its last pair; thread creation and joining are outside.
pub fn threads_on_one<P: Peer>(p: &P, n: u32, iters: u64, timer: Timer) -> Duration {
    let ready = AtomicU32::new(0);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    let p = black_box(p);
                    ready.fetch_add(1, Ordering::SeqCst);
                    spin_until(|| ready.load(Ordering::SeqCst) == n);
                    let start = timer.now();
                    for _ in 0..iters {
                        pair(p);
                    }
                    timer.now().saturating_sub(start)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Duration::MAX))
            .max()
            .unwrap_or_default()
    })
}

/// Latency samples in nanoseconds, with nearest-rank percentiles.
#[derive(Debug, Default, Clone)]
pub struct Samples(Vec<u64>);

impl Samples {
    /// Record one sample.
    pub fn push(&mut self, d: Duration) {
        self.0.push(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `q`-quantile (0 < q ≤ 1) by nearest rank, in ns; 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        let mut v = self.0.clone();
        v.sort_unstable();
        let n = v.len();
        if n == 0 {
            return 0;
        }
        // Nearest rank: the smallest value with at least q·n samples at or below it.
        let rank = (q * n as f64).ceil() as usize;
        v.get(rank.clamp(1, n) - 1).copied().unwrap_or(0)
    }

    /// Mean in ns; 0 when empty.
    pub fn mean(&self) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        self.0.iter().map(|&x| x as f64).sum::<f64>() / self.0.len() as f64
    }

    /// Print `group/id: n, median, p99, mean` and write them as JSON next to criterion's
    /// results (`<criterion dir>/<group>/<id>/percentiles.json`) for `ratios.py`.
    pub fn report(&self, group: &str, id: &str) {
        let (median, p99, mean) = (self.quantile(0.5), self.quantile(0.99), self.mean());
        println!(
            "{group}/{id}: {} samples, median {median} ns, p99 {p99} ns, mean {mean:.0} ns",
            self.len()
        );
        let dir = criterion_dir().join(group).join(id);
        let json = format!(
            "{{\"samples\": {}, \"median_ns\": {median}, \"p99_ns\": {p99}, \"mean_ns\": {mean:.1}}}\n",
            self.len()
        );
        if let Err(e) = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(dir.join("percentiles.json"), json))
        {
            eprintln!("could not write percentiles for {group}/{id}: {e}");
        }
    }
}

/// Where criterion writes its results: `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`,
/// else `<target>/criterion` found from this executable (`<target>/release/deps/<bench>`).
pub fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.join("criterion")))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// Run `iters` pause cycles on `p` and return the summed wake latency.
///
/// One cycle: a holder thread begins an operation; the calling thread announces itself and
/// calls `pause_wait`; the holder keeps the operation open for `hold` more (long enough for
/// every peer's waiter to have left its spinning phase and blocked), stamps `t0` and ends
/// the operation; the pauser stamps `t1` as soon as `pause_wait` returns. The sample is
/// `t1 - t0`. The pauser then resumes and the next cycle starts.
///
/// Panics if `pause_wait` returns before the holder's `end` (a broken barrier).
pub fn pause_wake<P: PausePeer>(p: &P, iters: u64, hold: Duration, out: &mut Samples) -> Duration {
    let base = Instant::now();
    let held = AtomicU64::new(0); // cycle whose operation the holder has begun
    let pausing = AtomicU64::new(0); // cycle whose pause_wait the pauser is entering
    let stamped = AtomicU64::new(0); // cycle whose t0 is in `t0`
    let t0 = AtomicU64::new(0); // ns since `base` just before the last `end`
    let done = AtomicU64::new(0); // cycle the pauser has measured and resumed
    let nanos = |i: Instant| u64::try_from(i.duration_since(base).as_nanos()).unwrap_or(u64::MAX);
    let mut total = Duration::ZERO;
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 1..=iters {
                let op = loop {
                    if let Some(op) = p.begin() {
                        break op;
                    }
                    spin_loop();
                };
                held.store(i, Ordering::SeqCst);
                spin_until(|| pausing.load(Ordering::SeqCst) == i);
                let until = Instant::now() + hold;
                while Instant::now() < until {
                    spin_loop();
                }
                t0.store(nanos(Instant::now()), Ordering::SeqCst);
                stamped.store(i, Ordering::SeqCst);
                p.end(op);
                spin_until(|| done.load(Ordering::SeqCst) == i);
            }
        });
        for i in 1..=iters {
            spin_until(|| held.load(Ordering::SeqCst) == i);
            pausing.store(i, Ordering::SeqCst);
            let g = p.pause_wait();
            let t1 = nanos(Instant::now());
            // The peer's own synchronisation orders the holder's stores before this point.
            assert_eq!(
                stamped.load(Ordering::SeqCst),
                i,
                "{}: pause_wait returned while an operation was in flight",
                P::NAME
            );
            let d = Duration::from_nanos(t1.saturating_sub(t0.load(Ordering::SeqCst)));
            out.push(d);
            total += d;
            p.resume(g);
            done.store(i, Ordering::SeqCst);
        }
    });
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let mut s = Samples::default();
        for n in 1..=100 {
            s.push(Duration::from_nanos(n));
        }
        assert_eq!(s.quantile(0.5), 50);
        assert_eq!(s.quantile(0.99), 99);
        assert_eq!(s.quantile(1.0), 100);
        assert_eq!(Samples::default().quantile(0.5), 0);
    }

    #[test]
    fn two_threads_run_every_pair() {
        let f = crate::Floor::create();
        assert!(threads_on_one(&f, 2, 100_000, Timer::Wall) > Duration::ZERO);
        assert!(threads_on_one(&f, 2, 100_000, Timer::ThreadCpu) > Duration::ZERO);
    }

    fn wake_cycles<P: PausePeer>() {
        let p = P::create();
        let mut s = Samples::default();
        pause_wake(&p, 5, Duration::from_micros(10), &mut s);
        assert_eq!(s.len(), 5, "{}", P::NAME);
        // Reopened after the last cycle: a begin is admitted again.
        assert!(p.begin().is_some(), "{} stayed paused", P::NAME);
    }

    #[test]
    fn every_pause_peer_completes_wake_cycles() {
        macro_rules! run {
            ($t:ty) => {
                wake_cycles::<$t>()
            };
        }
        crate::for_each_pause_peer!(run);
    }

    #[test]
    fn every_peer_survives_two_threads() {
        macro_rules! run {
            ($t:ty) => {{
                let p = <$t>::create();
                assert!(threads_on_one(&p, 2, 1000, Timer::Wall) > Duration::ZERO);
            }};
        }
        crate::for_each_peer!(run);
    }
}
