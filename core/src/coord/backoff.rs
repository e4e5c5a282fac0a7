//! Retry backoff: exponential, capped, saturating.
//!
//! The delay before retry `n` (`n = 1` is the retry after the first failed attempt) is
//! `min(base · 2^(n−1), cap)`, computed without overflow (a shift past 2^63 saturates to the
//! cap). With the defaults (base 100 ms) that is 100, 200, 400 ms, … — the Java
//! `BarrierRecoveryImpl` schedule, but with a cap and driven by deadlines (`poll_timeout`)
//! rather than `Thread.sleep`. After `max_retries` retries the partition is escalated.

use core::time::Duration;

use crate::time::Span;

/// Whether another attempt is allowed after `attempts` attempts (numbered from 1) failed.
pub const fn may_retry(attempts: u8, max_retries: u8) -> bool {
    (attempts as u32) <= (max_retries as u32)
}

/// The delay before retry `n` (`n >= 1`; `n == 0` is treated as 1).
pub fn backoff(n: u32, base: Duration, cap: Duration) -> Duration {
    let shift = n.max(1) - 1;
    if base.is_zero() {
        return Duration::ZERO;
    }
    if shift >= 32 {
        return cap;
    }
    base.checked_mul(1u32 << shift).unwrap_or(cap).min(cap)
}

/// [`backoff`] on the configuration's [`Span`]s (the coordinator's path): the same delay
/// whenever `cap` fits a `Span` (a configured one always does: a product past `u64::MAX` ns
/// exceeds the cap, so both return the cap), without `Duration`'s 96-bit multiplication.
pub(crate) fn backoff_span(n: u32, base: Span, cap: Span) -> Span {
    let shift = n.max(1) - 1;
    if base.is_zero() {
        return Span::ZERO;
    }
    if shift >= 32 {
        return cap;
    }
    base.checked_mul(1u32 << shift).unwrap_or(cap).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_base_then_caps() {
        let b = Duration::from_millis(100);
        let c = Duration::from_secs(1);
        let got: [u64; 7] =
            core::array::from_fn(|i| backoff(i as u32 + 1, b, c).as_millis() as u64);
        assert_eq!(got, [100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(backoff(0, b, c), b);
        assert_eq!(backoff(40, b, c), c);
        assert_eq!(backoff(u32::MAX, b, c), c);
        assert_eq!(backoff(3, Duration::ZERO, Duration::ZERO), Duration::ZERO);
        assert_eq!(backoff(50, Duration::ZERO, c), Duration::ZERO);
        assert_eq!(backoff(33, Duration::MAX, Duration::MAX), Duration::MAX);
    }

    #[test]
    fn retry_budget() {
        // max_retries = 3: attempts 1, 2, 3 may be followed by a retry, attempt 4 may not.
        assert!(may_retry(1, 3) && may_retry(3, 3));
        assert!(!may_retry(4, 3));
        assert!(!may_retry(1, 0));
        assert!(may_retry(254, 254) && !may_retry(255, 254));
    }

    #[test]
    fn span_twin_agrees_with_backoff() {
        let spans = [
            0,
            1,
            999,
            100_000_000,
            3_000_000_000,
            1 << 40,
            u64::MAX / 3,
            u64::MAX,
        ];
        for &b in &spans {
            for &c in &spans {
                for n in [0, 1, 2, 5, 20, 31, 32, 33, 64, u32::MAX] {
                    let (bs, cs) = (
                        Span::of(Duration::from_nanos(b)),
                        Span::of(Duration::from_nanos(c)),
                    );
                    let want = backoff(n, bs.get(), cs.get());
                    assert_eq!(
                        backoff_span(n, bs, cs).get(),
                        want,
                        "n {n} base {b} cap {c}"
                    );
                }
            }
        }
    }
}
