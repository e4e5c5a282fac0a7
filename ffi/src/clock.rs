//! The library's clock: `CLOCK_MONOTONIC` in nanoseconds, the time line of every `now_ns` and
//! `deadline_ns` argument of the C ABI that the library reads itself.
//!
//! Choosing the POSIX monotonic clock (not an origin private to the library) lets C code build
//! deadlines with `clock_gettime(CLOCK_MONOTONIC)` and hand them to `futex(FUTEX_WAIT_BITSET)`
//! or `pthread_cond_timedwait` with a `CLOCK_MONOTONIC` condition attribute without
//! conversion. On non-Unix hosts it falls back to the core's `StdClock` (origin at first use).
//!
//! The sans-io entry points (`ftf_forest_report`, `ftf_forest_tick`, ...) take `now_ns` from
//! the caller and never read this clock: the caller may use any monotonic time line there, as
//! long as it uses one consistently for one forest.

use ftforest_core::{Clock, Instant};

use crate::panic::ffi_panic_boundary;

/// The library clock as a core [`Clock`].
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct FfiClock;

impl Clock for FfiClock {
    fn now(&self) -> Instant {
        Instant::from_nanos(now_ns())
    }
}

/// Reads `CLOCK_MONOTONIC` (Unix) in nanoseconds.
#[cfg(unix)]
pub(crate) fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on the Unix
    // targets we build for, so the call cannot fail (on failure `ts` stays zero).
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

/// The core's `StdClock` (origin at first use) where there is no POSIX clock.
#[cfg(not(unix))]
pub(crate) fn now_ns() -> u64 {
    ftforest_core::StdClock.now().as_nanos()
}

/// The library clock: `CLOCK_MONOTONIC` in nanoseconds on Unix.
///
/// Every `deadline_ns` the library computes (pause and begin timeouts, the wait callback's
/// deadline, the monitor's ticks) is on this time line. Thread-safe, never fails.
#[no_mangle]
pub extern "C" fn ftf_now_ns() -> u64 {
    ffi_panic_boundary! {
        now_ns()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_is_monotonic_and_nonzero() {
        let a = ftf_now_ns();
        let b = ftf_now_ns();
        assert!(a > 0);
        assert!(b >= a);
        assert!(FfiClock.now().as_nanos() >= b);
    }
}
