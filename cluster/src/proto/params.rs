//! [`Params`]: the part of the configuration every process must share, and its encoding in
//! the `config` key.
//!
//! Invariant: the encoding is `v<LAYOUT_VERSION> n=<n> k=<k> ttl_ms=<ttl>`; any other text,
//! another layout version or other values decode to a mismatch, never to a partial match.

/// The key layout version (bump when a key's meaning changes).
pub const LAYOUT_VERSION: u32 = 1;

/// n, K and TTL: the values every process must agree on (Curator's semaphore warning).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Params {
    /// Partitions.
    pub n: u32,
    /// Concurrent recoveries (slot keys).
    pub k: u32,
    /// Lease TTL in milliseconds.
    pub ttl_ms: u64,
}

impl Params {
    /// The `config` key's value.
    pub fn encode(&self) -> String {
        format!(
            "v{LAYOUT_VERSION} n={} k={} ttl_ms={}",
            self.n, self.k, self.ttl_ms
        )
    }

    /// Whether `stored` (a `config` value) describes exactly these parameters at this layout.
    pub fn matches(&self, stored: &[u8]) -> bool {
        stored == self.encode().as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_match_only() {
        let p = Params {
            n: 4,
            k: 1,
            ttl_ms: 2000,
        };
        assert!(p.matches(b"v1 n=4 k=1 ttl_ms=2000"));
        assert!(!p.matches(b"v1 n=4 k=2 ttl_ms=2000"));
        assert!(!p.matches(b"v2 n=4 k=1 ttl_ms=2000"));
        assert!(!p.matches(b"v1 n=4 k=1 ttl_ms=20000"));
    }
}
