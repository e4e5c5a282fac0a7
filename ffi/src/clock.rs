//! The library's clock: the core's `StdClock` (monotonic nanoseconds, origin at the first
//! reading in the process, never 0); in the bare-metal build, the embedder's clock callback
//! (`ftf_clock_set`; before it is set the clock reads 0 and every wait times out at once). Every deadline the library computes itself (pause and
//! begin timeouts, the wait callback's `deadline_ns`, the monitor's ticks) is on this time
//! line, and `ftf_now_ns()` reads it, so C code can turn a `deadline_ns` into a relative
//! timeout with `deadline_ns - ftf_now_ns()`.
//!
//! The sans-io entry points (reports, `tick`) take `now_ns` from the caller and never read this
//! clock: the caller may use any monotonic time line there (`clock_gettime`, `ftf_now_ns()`,
//! a simulated clock), as long as it uses one consistently for one forest.

#[cfg(feature = "std")]
use ftforest_core::StdClock;
use ftforest_core::{Clock, Instant};

use crate::panic::ffi_panic_boundary;

/// The library clock as a core [`Clock`].
#[cfg(feature = "std")]
pub(crate) type FfiClock = StdClock;

/// The library clock as a core [`Clock`] (bare metal: the embedder's callback).
#[cfg(not(feature = "std"))]
pub(crate) type FfiClock = crate::bare::BareClock;

/// Reads the library clock in nanoseconds.
pub(crate) fn now() -> Instant {
    #[cfg(feature = "std")]
    let clock = StdClock;
    #[cfg(not(feature = "std"))]
    let clock = crate::bare::BareClock;
    clock.now()
}

/// `now() + timeout_ns`, saturating; `UINT64_MAX` means "no deadline".
pub(crate) fn deadline_after(timeout_ns: u64) -> Instant {
    if timeout_ns == u64::MAX {
        return Instant::MAX;
    }
    Instant::from_nanos(now().as_nanos().saturating_add(timeout_ns))
}

/// The library clock in nanoseconds: monotonic, origin at the first reading in the process,
/// never 0.
///
/// Every `deadline_ns` the library computes or hands to a callback is on this time line.
/// Thread-safe, never fails.
#[no_mangle]
pub extern "C" fn ftf_now_ns() -> u64 {
    ffi_panic_boundary! {
        now().as_nanos()
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn clock_is_monotonic_and_nonzero() {
        let a = ftf_now_ns();
        let b = ftf_now_ns();
        assert!(a > 0);
        assert!(b >= a);
        assert!(deadline_after(0).as_nanos() >= b);
        assert_eq!(deadline_after(u64::MAX), Instant::MAX);
    }
}
