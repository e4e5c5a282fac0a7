//! A fixed-size log-bucket latency histogram (no allocation, 288 bytes).
//!
//! Values are recorded in whole microseconds `v`. Bucket layout (an HDR histogram with two
//! sub-bucket bits):
//!
//! * `v < 8`: bucket `v` (exact);
//! * `8 <= v < 2^32` µs (about 71.6 minutes), with `e = ⌊log2 v⌋` and `m` the two bits below
//!   the leading one: bucket `8 + 4·(e − 3) + m`, covering `[(4 + m)·2^(e−2), (5 + m)·2^(e−2))`;
//! * `v >= 2^32` µs: the last bucket (the exact maximum is kept beside it).
//!
//! That is [`BUCKETS`] = 125 buckets, each at most 25 % wide relative to its lower bound below
//! 2^32 µs. A percentile is the inclusive upper end of the bucket holding the
//! `⌈p·total⌉`-th smallest bucketed value, clamped to the exact `[min, max]` seen, so a
//! histogram of equal values reports that value exactly. The count, the average and the
//! maximum are exact (`sum / count`, saturating).
//!
//! Invariant (memory bound for constrained targets): buckets are `u16`. When a bucket would
//! pass `u16::MAX`, every bucket is halved first (rounding up, so no non-empty bucket becomes
//! empty): the percentiles then describe the distribution with older samples weighing half,
//! never a saturated, skewed one. Nothing panics.

use core::time::Duration;

use crate::arith::{div_u64, duration_from_micros, micros_of};

/// Number of buckets.
pub const BUCKETS: usize = 125;

/// First value (µs) of the last, open-ended bucket.
const LAST_FROM: u64 = 1 << 32;

/// Bucket of value `v` (µs).
pub const fn bucket_of(v: u64) -> usize {
    if v < 8 {
        return v as usize;
    }
    if v >= LAST_FROM {
        return BUCKETS - 1;
    }
    let e = 63 - v.leading_zeros();
    let m = (v >> (e - 2)) & 3;
    8 + 4 * (e as usize - 3) + m as usize
}

/// Inclusive range `[lo, hi]` of bucket `i` (µs); `i >= BUCKETS` reads as the last bucket.
pub const fn bucket_range(i: usize) -> (u64, u64) {
    if i >= BUCKETS - 1 {
        return (LAST_FROM, u64::MAX);
    }
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
    buckets: [u16; BUCKETS],
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
        let v = micros_of(d);
        let i = bucket_of(v);
        if self.buckets.get(i) == Some(&u16::MAX) {
            for b in self.buckets.iter_mut() {
                *b = b.div_ceil(2);
            }
        }
        if let Some(b) = self.buckets.get_mut(i) {
            *b += 1;
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
        (self.count != 0).then(|| duration_from_micros(div_u64(self.sum_us, self.count)))
    }

    /// The `permille`/1000 quantile (e.g. 950 for p95), `None` when empty.
    pub fn quantile(&self, permille: u32) -> Option<Duration> {
        if self.count == 0 {
            return None;
        }
        // At most BUCKETS · u16::MAX < 2^23: no overflow in u32 arithmetic below.
        let total: u32 = self.buckets.iter().map(|&n| u32::from(n)).sum();
        let target = (total * permille.min(1000)).div_ceil(1000).max(1);
        let mut seen: u32 = 0;
        for (i, &n) in self.buckets.iter().enumerate() {
            seen += u32::from(n);
            if seen >= target {
                let (_, hi) = bucket_range(i);
                // `min_us <= max_us` once a sample is recorded; `min`/`max` rather than
                // `clamp`, whose `min > max` assertion links the panic formatting (flash).
                let v = hi.min(self.max_us).max(self.min_us);
                return Some(duration_from_micros(v));
            }
        }
        Some(duration_from_micros(self.max_us))
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
            max: duration_from_micros(self.max_us),
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
            if (8..BUCKETS - 1).contains(&i) {
                assert!((hi - lo + 1) * 4 <= lo);
            }
            prev_hi = Some(hi);
        }
        assert_eq!(prev_hi, Some(u64::MAX));
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        assert_eq!(bucket_of(LAST_FROM - 1), BUCKETS - 2);
        assert_eq!(bucket_range(BUCKETS - 2).1, LAST_FROM - 1);
        assert_eq!(core::mem::size_of::<Histogram>(), 288);
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

    #[test]
    fn a_full_bucket_halves_all_and_keeps_the_distribution() {
        // (The buckets are filled directly, not by 200,000 `record`s: Miri runs this too.)
        let (ms, sec) = (bucket_of(1_000), bucket_of(1_000_000));
        let mut h = Histogram::new();
        h.record(Duration::from_millis(1));
        h.record(Duration::from_secs(1));
        // 3/4 of the samples at 1 ms, 1/4 at 1 s, the 1 ms bucket full.
        h.buckets[ms] = u16::MAX;
        h.buckets[sec] = u16::MAX / 3;
        h.record(Duration::from_millis(1));
        assert_eq!(
            h.buckets[ms],
            u16::MAX.div_ceil(2) + 1,
            "halved, then counted"
        );
        assert_eq!(h.buckets[sec], (u16::MAX / 3).div_ceil(2));
        assert_eq!(h.count(), 3, "the exact count is not halved");
        let within = |got: Option<Duration>, want: Duration| {
            let got = got.unwrap();
            got >= want && got <= want + want / 4
        };
        assert!(
            within(h.quantile(500), Duration::from_millis(1)),
            "{:?}",
            h.quantile(500)
        );
        assert!(
            within(h.quantile(700), Duration::from_millis(1)),
            "{:?}",
            h.quantile(700)
        );
        assert!(
            within(h.quantile(800), Duration::from_secs(1)),
            "{:?}",
            h.quantile(800)
        );
        assert_eq!(h.quantile(1000), Some(Duration::from_secs(1)));
        // A lone sample survives any number of halvings (rounding up).
        let mut h = Histogram::new();
        h.record(Duration::from_micros(3));
        for _ in 0..40 {
            h.buckets[bucket_of(5)] = u16::MAX;
            h.record(Duration::from_micros(5));
        }
        assert_eq!(h.buckets[bucket_of(3)], 1);
        assert_eq!(h.quantile(0), Some(Duration::from_micros(3)));
    }
}
