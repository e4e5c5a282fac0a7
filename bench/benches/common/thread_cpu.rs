//! A criterion [`Measurement`] that reads the bench thread's CPU time instead of the wall
//! clock, shared by the bench files through `#[path]` (not a bench target of its own).
//!
//! On a shared, oversubscribed machine a preempted thread's wall clock keeps running; its CPU
//! time does not, while every stall the thread itself suffers (cache-line transfers, atomic
//! RMWs) still counts. Values are `Duration`s formatted like wall time.

use core::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use ftforest_bench::harness;

/// Criterion measurement reading the bench thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`).
pub struct ThreadCpu(WallTime);

impl ThreadCpu {
    /// The measurement (stateless).
    pub fn new() -> Self {
        ThreadCpu(WallTime)
    }
}

impl Measurement for ThreadCpu {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        harness::thread_cpu_now()
    }
    fn end(&self, start: Duration) -> Duration {
        harness::thread_cpu_now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        // Same unit (ns as f64) as wall time, so the same formatting.
        self.0.formatter()
    }
}
