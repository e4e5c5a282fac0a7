//! 64-bit division without compiler-builtins' 64-bit divider (issue 10, flash).
//!
//! On 32-bit cores every `u64 / u64` (including the ones inside `Duration::from_nanos` and
//! `Duration::from_micros`) calls `__aeabi_uldivmod` / `__udivdi3`, whose generic
//! implementation takes about 0.9 KiB of flash on thumbv7em: more than the code that divides.
//! The core's few 64-bit divisions (durations of latencies and statistics, the heartbeat
//! mean) go through [`div_u64`] instead: a hardware `u32` division when both operands fit,
//! else a shift-subtract loop (at most 64 steps; only for operands of 2^32 or more, i.e.
//! spans of 4.3 s and more in nanoseconds). On 64-bit targets it is the native division.
//!
//! Invariant: every function here returns exactly what the native operation it replaces
//! returns (`n / d`, `Duration::from_nanos`, `Duration::from_micros`); none panics.

use core::time::Duration;

const NANOS_PER_SEC: u64 = 1_000_000_000;
const MICROS_PER_SEC: u64 = 1_000_000;

/// `n / d`, and `0` when `d == 0` (callers never divide by zero; no panic path either way).
#[inline(never)]
pub(crate) const fn div_u64(n: u64, d: u64) -> u64 {
    if d == 0 {
        return 0;
    }
    #[cfg(target_pointer_width = "64")]
    {
        n / d
    }
    #[cfg(not(target_pointer_width = "64"))]
    {
        if n >> 32 == 0 && d >> 32 == 0 {
            return ((n as u32) / (d as u32)) as u64;
        }
        long_div(n, d)
    }
}

/// `n / d` (`d > 0`) by restoring division from the highest set bit of `n` down: the
/// 32-bit targets' path of [`div_u64`] for operands of 2^32 or more (tested on every host).
#[cfg_attr(target_pointer_width = "64", allow(dead_code))]
const fn long_div(n: u64, d: u64) -> u64 {
    if n < d {
        return 0;
    }
    let mut q: u64 = 0;
    let mut r: u64 = 0;
    let mut i = 64 - n.leading_zeros();
    while i > 0 {
        i -= 1;
        // `r < d` here: shifting it may carry out only when `d >= 2^63`, and then `r`
        // (with the carry) exceeds `d`.
        let carry = r >> 63;
        r = (r << 1) | ((n >> i) & 1);
        if carry != 0 || r >= d {
            r = r.wrapping_sub(d);
            q |= 1 << i;
        }
    }
    q
}

/// `Duration::from_nanos(n)`, through [`div_u64`].
#[inline(never)]
pub(crate) const fn duration_from_nanos(n: u64) -> Duration {
    let secs = div_u64(n, NANOS_PER_SEC);
    // `n - secs·10^9 < 10^9`; the `%` (a no-op) lets the compiler see it, so
    // `Duration::new` links no carry (and no overflow panic).
    let sub = (n - secs * NANOS_PER_SEC) as u32 % NANOS_PER_SEC as u32;
    Duration::new(secs, sub)
}

/// `Duration::from_micros(n)`, through [`div_u64`].
#[inline(never)]
pub(crate) const fn duration_from_micros(n: u64) -> Duration {
    let secs = div_u64(n, MICROS_PER_SEC);
    // As above: the `%` is a no-op that bounds the nanoseconds below 10^9 for the compiler.
    let sub = (n - secs * MICROS_PER_SEC) as u32 % MICROS_PER_SEC as u32;
    Duration::new(secs, sub * 1_000)
}

/// `d` in whole microseconds, saturating at `u64::MAX`: `d.as_micros()` without its 128-bit
/// multiplication.
#[inline(never)]
pub(crate) const fn micros_of(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(MICROS_PER_SEC)
        .saturating_add(d.subsec_micros() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUES: [u64; 14] = [
        0,
        1,
        7,
        999,
        1_000,
        999_999,
        1_000_000,
        NANOS_PER_SEC - 1,
        NANOS_PER_SEC,
        u32::MAX as u64,
        1 << 32,
        123_456_789_012_345,
        u64::MAX / 3,
        u64::MAX,
    ];

    #[test]
    fn matches_the_native_operations() {
        for &n in &VALUES {
            assert_eq!(duration_from_nanos(n), Duration::from_nanos(n), "{n}");
            assert_eq!(duration_from_micros(n), Duration::from_micros(n), "{n}");
            for d in [Duration::from_nanos(n), Duration::new(n, 999_999_999)] {
                let native = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
                assert_eq!(micros_of(d), native, "{d:?}");
            }
            for &d in &VALUES[1..] {
                assert_eq!(div_u64(n, d), n / d, "{n} / {d}");
                assert_eq!(long_div(n, d), n / d, "{n} / {d}");
            }
            assert_eq!(long_div(n, (1 << 63) + 5), n / ((1 << 63) + 5));
        }
        assert_eq!(div_u64(5, 0), 0);
    }
}
