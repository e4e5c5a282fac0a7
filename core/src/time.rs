//! The only time types of the core: an opaque monotonic [`Instant`] in
//! nanoseconds and `core::time::Duration`. The core never reads a clock; time
//! arrives as `now` arguments or through the [`Clock`] trait.
//!
//! All arithmetic saturates: a clock that steps backwards yields zero elapsed
//! time, never a negative duration or a panic (the Java original threw, B14).

use core::time::Duration;

/// A point on the embedder's monotonic time line, in nanoseconds since an
/// arbitrary origin chosen by the clock.
///
/// Only differences between instants of the same clock are meaningful.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The origin of the time line.
    pub const ZERO: Instant = Instant(0);
    /// The last representable instant; used as "no deadline".
    pub const MAX: Instant = Instant(u64::MAX);

    /// An instant `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Self {
        Instant(nanos)
    }

    /// An instant `millis` milliseconds after the origin (saturating).
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis.saturating_mul(1_000_000))
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Whole milliseconds since the origin.
    pub const fn as_millis(self) -> u64 {
        crate::arith::div_u64(self.0, 1_000_000)
    }

    /// `self - earlier`, or zero when `earlier` is later (a backward clock step).
    #[inline(never)]
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        crate::arith::duration_from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// `self + d`, saturating at [`Instant::MAX`].
    pub fn saturating_add(self, d: Duration) -> Instant {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(nanos))
    }
}

/// A source of monotonic time, supplied by the embedder.
///
/// Implementations must be monotonic in the common case; the core tolerates
/// backward steps (treated as zero elapsed time) but cannot detect a clock that
/// runs too fast.
pub trait Clock {
    /// The current instant.
    fn now(&self) -> Instant;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Instant {
        (**self).now()
    }
}

/// A clock that only moves when told to: for tests and simulations.
///
/// Thread-safe: `set` and `advance` may race with `now` from other threads.
#[derive(Debug)]
pub struct ManualClock {
    nanos: crate::sync::AtomicU64,
}

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: Instant) -> Self {
        ManualClock {
            nanos: crate::sync::AtomicU64::new(start.0),
        }
    }

    /// Move the clock forward by `d` (saturating).
    pub fn advance(&self, d: Duration) {
        let add = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let mut cur = self.nanos.load(crate::sync::Ordering::Acquire);
        loop {
            let next = cur.saturating_add(add);
            match self.nanos.compare_exchange_weak(
                cur,
                next,
                crate::sync::Ordering::AcqRel,
                crate::sync::Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Set the clock to `t`, forwards or backwards (backward steps are allowed
    /// so that tests can exercise clock edge cases).
    pub fn set(&self, t: Instant) {
        self.nanos.store(t.0, crate::sync::Ordering::Release);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new(Instant::ZERO)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        Instant(self.nanos.load(crate::sync::Ordering::Acquire))
    }
}

/// The host's monotonic clock (`std::time::Instant`), origin at first use.
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy, Default)]
pub struct StdClock;

#[cfg(feature = "std")]
impl Clock for StdClock {
    fn now(&self) -> Instant {
        extern crate std;
        use std::sync::OnceLock;
        static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
        let origin = *ORIGIN.get_or_init(std::time::Instant::now);
        let nanos = u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX);
        // Start at 1 ns so that Instant::ZERO can mean "never".
        Instant(nanos.saturating_add(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backward_step_is_zero_elapsed() {
        let a = Instant::from_millis(10);
        let b = Instant::from_millis(5);
        assert_eq!(b.saturating_duration_since(a), Duration::ZERO);
        assert_eq!(a.saturating_duration_since(b), Duration::from_millis(5));
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(Instant::from_millis(1000));
        assert_eq!(c.now(), Instant::from_millis(1000));
        c.advance(Duration::from_millis(500));
        assert_eq!(c.now(), Instant::from_millis(1500));
        c.set(Instant::from_millis(3000));
        assert_eq!(c.now().as_millis(), 3000);
        c.set(Instant::from_millis(100));
        assert_eq!(c.now().as_millis(), 100);
        c.advance(Duration::MAX);
        assert_eq!(c.now(), Instant::MAX);
    }
}

/// A duration stored in 8 bytes (whole nanoseconds, saturating at `u64::MAX` ns, about 584
/// years) instead of `Duration`'s 16: the configuration keeps a dozen of them inside every
/// coordinator value, which counts on microcontrollers (issue 10's fixed-RAM goal). Crate
/// internal; the public API takes and returns `Duration`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Span(u64);

impl Span {
    /// `d` in whole nanoseconds, saturating.
    pub(crate) const fn of(d: Duration) -> Span {
        let n = d.as_nanos();
        Span(if n > u64::MAX as u128 {
            u64::MAX
        } else {
            n as u64
        })
    }

    /// As a `Duration`.
    pub(crate) const fn get(self) -> Duration {
        crate::arith::duration_from_nanos(self.0)
    }

    /// Whether zero.
    pub(crate) const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Zero.
    pub(crate) const ZERO: Span = Span(0);

    /// `self · k`, `None` past `u64::MAX` ns.
    pub(crate) const fn checked_mul(self, k: u32) -> Option<Span> {
        match self.0.checked_mul(k as u64) {
            Some(n) => Some(Span(n)),
            None => None,
        }
    }

    /// Half, rounded down (as `Duration / 2` of [`Span::get`], exactly).
    pub(crate) const fn half(self) -> Span {
        Span(self.0 / 2)
    }

    /// Whole microseconds (as `Duration::as_micros` of [`Span::get`]).
    pub(crate) const fn as_micros(self) -> u64 {
        crate::arith::div_u64(self.0, 1_000)
    }
}

/// Instant arithmetic on [`Span`]s: what `saturating_add` / `saturating_duration_since` do
/// with the `Duration` of a span, without the round trip through `Duration` (a division by
/// 10^9 and a 128-bit multiplication each; they cost flash and cycles on 32-bit cores).
impl Instant {
    /// `self + s`, saturating at [`Instant::MAX`] (= `self.saturating_add(s.get())`).
    #[inline(never)]
    pub(crate) const fn add_span(self, s: Span) -> Instant {
        Instant(self.0.saturating_add(s.0))
    }

    /// `self - earlier`, or zero when `earlier` is later
    /// (= `Span::of(self.saturating_duration_since(earlier))`).
    pub(crate) const fn span_since(self, earlier: Instant) -> Span {
        Span(self.0.saturating_sub(earlier.0))
    }
}
