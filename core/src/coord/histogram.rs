//! A fixed-size log-bucket latency histogram (no allocation, ~1 KiB).
//!
//! Values are recorded in whole microseconds `v`. Bucket layout (an HDR histogram with two
//! sub-bucket bits):
//!
//! * `v < 8`: bucket `v` (exact);
//! * otherwise, with `e = ⌊log2 v⌋ ≥ 3` and `m` the two bits below the leading one,
//!   bucket `8 + 4·(e − 3) + m`, covering `[(4 + m)·2^(e−2), (5 + m)·2^(e−2))`.
//!
//! That is [`BUCKETS`] = 252 buckets for the whole `u64` range, each at most 25 % wide
//! relative to its lower bound. A percentile is the inclusive upper end of the bucket holding
//! the `⌈p·count⌉`-th smallest value, clamped to the exact `[min, max]` seen, so a histogram
//! of equal values reports that value exactly. The average is exact (`sum / count`).
//! Counters saturate; nothing panics.

use core::time::Duration;

/// Number of buckets.
pub const BUCKETS: usize = 252;

/// Bucket of value `v` (µs).
pub const fn bucket_of(v: u64) -> usize {
    if v < 8 {
        return v as usize;
    }
    let e = 63 - v.leading_zeros();
    let m = (v >> (e - 2)) & 3;
    8 + 4 * (e as usize - 3) + m as usize
}

/// Inclusive range `[lo, hi]` of bucket `i` (µs); `i >= BUCKETS` reads as the last bucket.
pub const fn bucket_range(i: usize) -> (u64, u64) {
    let i = if i >= BUCKETS { BUCKETS - 1 } else { i };
    if i < 8 {
        return (i as u64, i as u64);
    }
    let k = i - 8;
    let e = (k / 4) as u32 + 3;
    let m = (k % 4) as u64;
    let width = 1u64 << (e - 2);
    let lo = (4 + m) << (e - 2);
    (lo, lo + (width - 1))
}

/// Summary of a histogram: count, exact average and maximum, bucketed percentiles.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct LatencySummary {
    /// Number of samples (0: every other field is zero).
    pub count: u64,
    /// Exact mean.
    pub avg: Duration,
    /// Median (bucketed, ≤ 25 % high).
    pub p50: Duration,
    /// 95th percentile.
    pub p95: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Exact maximum.
    pub max: Duration,
}

/// The histogram.
#[derive(Clone, Debug)]
pub struct Histogram {
    buckets: [u32; BUCKETS],
    count: u64,
    sum_us: u64,
    min_us: u64,
    max_us: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl Histogram {
    /// Empty.
    pub const fn new() -> Self {
        Histogram {
            buckets: [0; BUCKETS],
            count: 0,
            sum_us: 0,
            min_us: u64::MAX,
            max_us: 0,
        }
    }

    /// Record one duration (truncated to whole microseconds, saturating at `u64::MAX` µs).
    pub fn record(&mut self, d: Duration) {
        let v = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        if let Some(b) = self.buckets.get_mut(bucket_of(v)) {
            *b = b.saturating_add(1);
        }
        self.count = self.count.saturating_add(1);
        self.sum_us = self.sum_us.saturating_add(v);
        self.min_us = self.min_us.min(v);
        self.max_us = self.max_us.max(v);
    }

    /// Samples recorded.
    pub const fn count(&self) -> u64 {
        self.count
    }

    /// Exact mean, `None` when empty.
    pub fn mean(&self) -> Option<Duration> {
        self.sum_us
            .checked_div(self.count)
            .map(Duration::from_micros)
    }

    /// The `permille`/1000 quantile (e.g. 950 for p95), `None` when empty.
    pub fn quantile(&self, permille: u32) -> Option<Duration> {
        if self.count == 0 {
            return None;
        }
        let p = u128::from(permille.min(1000));
        let target = (u128::from(self.count) * p).div_ceil(1000).max(1);
        let mut seen: u128 = 0;
        for (i, &n) in self.buckets.iter().enumerate() {
            seen += u128::from(n);
            if seen >= target {
                let (_, hi) = bucket_range(i);
                let v = hi.clamp(self.min_us, self.max_us);
                return Some(Duration::from_micros(v));
            }
        }
        Some(Duration::from_micros(self.max_us))
    }

    /// Count, average, p50, p95, p99 and max.
    pub fn summary(&self) -> LatencySummary {
        if self.count == 0 {
            return LatencySummary::default();
        }
        LatencySummary {
            count: self.count,
            avg: self.mean().unwrap_or_default(),
            p50: self.quantile(500).unwrap_or_default(),
            p95: self.quantile(950).unwrap_or_default(),
            p99: self.quantile(990).unwrap_or_default(),
            max: Duration::from_micros(self.max_us),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_tile_the_range() {
        let mut prev_hi: Option<u64> = None;
        for i in 0..BUCKETS {
            let (lo, hi) = bucket_range(i);
            assert!(lo <= hi);
            if let Some(p) = prev_hi {
                assert_eq!(lo, p + 1, "bucket {i}");
            }
            assert_eq!(bucket_of(lo), i);
            assert_eq!(bucket_of(hi), i);
            // Width at most 25 % of the lower bound beyond the exact ones.
            if i >= 8 {
                assert!((hi - lo + 1) * 4 <= lo);
            }
            prev_hi = Some(hi);
        }
        assert_eq!(prev_hi, Some(u64::MAX));
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn equal_values_are_reported_exactly() {
        let mut h = Histogram::new();
        assert_eq!(h.summary(), LatencySummary::default());
        assert_eq!(h.mean(), None);
        for _ in 0..10 {
            h.record(Duration::from_secs(5));
        }
        let s = h.summary();
        assert_eq!(s.count, 10);
        for d in [s.avg, s.p50, s.p95, s.p99, s.max] {
            assert_eq!(d, Duration::from_secs(5));
        }
    }

    #[test]
    fn percentiles_of_a_spread() {
        let mut h = Histogram::new();
        for ms in 1..=100u64 {
            h.record(Duration::from_millis(ms));
        }
        let s = h.summary();
        assert_eq!(s.avg, Duration::from_micros(50_500));
        assert_eq!(s.max, Duration::from_millis(100));
        let within = |got: Duration, want_ms: u64| {
            let want = Duration::from_millis(want_ms);
            got >= want && got <= want + want / 4
        };
        assert!(within(s.p50, 50), "{:?}", s.p50);
        assert!(within(s.p95, 95), "{:?}", s.p95);
        assert!(within(s.p99, 99), "{:?}", s.p99);
        assert!(s.p50 <= s.p95 && s.p95 <= s.p99 && s.p99 <= s.max);
    }

    #[test]
    fn saturates_instead_of_overflowing() {
        let mut h = Histogram::new();
        h.record(Duration::MAX);
        h.record(Duration::MAX);
        h.record(Duration::ZERO);
        assert_eq!(h.count(), 3);
        assert_eq!(h.quantile(1000), Some(Duration::from_micros(u64::MAX)));
        assert_eq!(h.quantile(0), Some(Duration::ZERO));
    }
}
