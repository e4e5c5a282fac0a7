//! [`ClusterConfig`]: one process's view of the cluster, validated by its builder.
//!
//! Invariants (checked by [`ClusterConfigBuilder::build`], so every `ClusterConfig` holds them):
//! `n >= 1`; `1 <= k <= min(n, MAX_K)` (the coordinator's recovery slots); every hosted
//! rank `< n`, no duplicates; `ttl >= 2 s` (etcd's minimum; a smaller TTL is silently
//! raised by the server, which would make the local self-fence deadline wrong); `self_fence_margin < ttl / 3`; the prefix ends with `/`;
//! at least one endpoint; a proc id of 1..=[`MAX_PROC_ID_LEN`] bytes without `/`,
//! whitespace or control characters (it is a key segment and the first field of the
//! space-separated lock value); `n <= `[`MAX_CLUSTER_PARTITIONS`]; every timeout in
//! `(0, `[`MAX_TIMEOUT`]`]`, the TTL at most [`MAX_TTL`] (so no deadline computed from
//! them overflows an `Instant`). The shared part (n, K, TTL, layout
//! version) must equal the `config` key in etcd, checked at start.

use core::time::Duration;

use crate::proto::Params;

/// The largest `n` a cluster accepts: one member key, one epoch key and one table entry
/// per rank, all read by every quorum decision (far below the core's `MAX_PARTITIONS`).
pub const MAX_CLUSTER_PARTITIONS: u32 = 1 << 16;
/// The longest proc id, in bytes.
pub const MAX_PROC_ID_LEN: usize = 128;
/// The longest connect, request, pause or quiescence timeout (one hour).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// The longest lease TTL (one hour).
pub const MAX_TTL: Duration = Duration::from_secs(3600);

/// Checks a proc id (see the module invariants).
pub(crate) fn check_proc_id(id: &str) -> Result<(), ConfigError> {
    let bad = id.is_empty()
        || id.len() > MAX_PROC_ID_LEN
        || id
            .chars()
            .any(|c| c == '/' || c.is_whitespace() || c.is_control());
    if bad {
        Err(ConfigError::BadProcId)
    } else {
        Ok(())
    }
}

/// An endpoint is `http://` or `https://` followed by a host, without whitespace or
/// control characters (anything else fails in the client with a less useful error).
fn check_endpoint(e: &str) -> bool {
    let rest = e
        .strip_prefix("http://")
        .or_else(|| e.strip_prefix("https://"));
    rest.is_some_and(|r| {
        !r.is_empty()
            && !r.starts_with('/')
            && !e.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

/// Checks `n` (see the module invariants).
pub(crate) fn check_n(n: u32) -> Result<(), ConfigError> {
    match n {
        0 => Err(ConfigError::NoPartitions),
        n if n > MAX_CLUSTER_PARTITIONS => Err(ConfigError::TooManyPartitions { n }),
        _ => Ok(()),
    }
}

/// What to do when not every live process acknowledged the cluster-wide pause in time.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum PausePolicy {
    /// Give the lock up (the recovery is retried later). The default: no phase runs while
    /// a live process may still have cross-partition work in flight.
    #[default]
    Abort,
    /// Run the phases anyway (reported in `PauseTimedOut { proceeded: true }`).
    Proceed,
}

/// A validated configuration (see the module invariants). Build with [`ClusterConfig::builder`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    pub(crate) endpoints: Vec<String>,
    pub(crate) prefix: String,
    pub(crate) proc_id: String,
    pub(crate) ranks: Vec<u32>,
    pub(crate) params: Params,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) pause_timeout: Duration,
    pub(crate) pause_policy: PausePolicy,
    pub(crate) self_fence_margin: Duration,
    pub(crate) quiescence_timeout: Duration,
}

/// A refused configuration value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// `n == 0`.
    NoPartitions,
    /// `n > MAX_CLUSTER_PARTITIONS`.
    TooManyPartitions {
        /// The value given.
        n: u32,
    },
    /// `k == 0`, `k > n` or `k > MAX_K` (8, the coordinator's recovery slots).
    BadK {
        /// The value given.
        k: u32,
    },
    /// A hosted rank `>= n`.
    RankOutOfRange {
        /// The rank.
        rank: u32,
    },
    /// A hosted rank listed twice.
    DuplicateRank {
        /// The rank.
        rank: u32,
    },
    /// TTL below etcd's 2 s minimum.
    TtlTooShort,
    /// `self_fence_margin >= ttl / 3`.
    MarginTooLarge,
    /// No etcd endpoint.
    NoEndpoints,
    /// An endpoint is not `http://<host>…` or `https://<host>…` (or holds whitespace or a
    /// control character).
    BadEndpoint,
    /// The prefix is empty or does not end with `/`.
    BadPrefix,
    /// The proc id is empty, longer than `MAX_PROC_ID_LEN` bytes, or contains `/`,
    /// whitespace or a control character.
    BadProcId,
    /// A timeout is zero.
    ZeroTimeout,
    /// A timeout is above `MAX_TIMEOUT`.
    TimeoutTooLarge,
    /// The TTL is above `MAX_TTL`.
    TtlTooLong,
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "invalid cluster config: {self:?}")
    }
}

impl core::error::Error for ConfigError {}

/// Builder for [`ClusterConfig`]; every setter is infallible, [`build`](Self::build) validates.
#[derive(Clone, Debug)]
pub struct ClusterConfigBuilder {
    cfg: ClusterConfig,
}

impl ClusterConfig {
    /// A builder with the defaults: prefix `ftf/default/`, TTL 2 s, K = 1, connect timeout
    /// 2 s, request timeout 1 s, pause timeout 5 s (policy [`PausePolicy::Abort`]),
    /// self-fence margin 300 ms, local quiescence timeout (before `QuiescenceOverdue`) 2 s.
    pub fn builder(proc_id: impl Into<String>, n: u32) -> ClusterConfigBuilder {
        ClusterConfigBuilder {
            cfg: ClusterConfig {
                endpoints: Vec::new(),
                prefix: "ftf/default/".into(),
                proc_id: proc_id.into(),
                ranks: Vec::new(),
                params: Params {
                    n,
                    k: 1,
                    ttl_ms: 2000,
                },
                connect_timeout: Duration::from_secs(2),
                request_timeout: Duration::from_secs(1),
                pause_timeout: Duration::from_secs(5),
                pause_policy: PausePolicy::Abort,
                self_fence_margin: Duration::from_millis(300),
                quiescence_timeout: Duration::from_secs(2),
            },
        }
    }
    /// etcd client endpoints (`http://127.0.0.1:2379`; `https://` needs a TLS-enabled
    /// etcd-client, which this crate does not enable).
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }
    /// Key prefix (ends with `/`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
    /// This process's id (unique among live processes).
    pub fn proc_id(&self) -> &str {
        &self.proc_id
    }
    /// Ranks this process hosts at start.
    pub fn ranks(&self) -> &[u32] {
        &self.ranks
    }
    /// Partitions in the forest.
    pub fn n(&self) -> u32 {
        self.params.n
    }
    /// At most K concurrent recoveries.
    pub fn k(&self) -> u32 {
        self.params.k
    }
    /// Lease TTL.
    pub fn ttl(&self) -> Duration {
        Duration::from_millis(self.params.ttl_ms)
    }
    /// The shared parameters stored in the `config` key.
    pub fn params(&self) -> Params {
        self.params
    }
    /// Per-request timeout (a timed-out Txn is ambiguous and is read back).
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }
    /// Connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }
    /// How long the recoverer waits for every live process's pause ack.
    pub fn pause_timeout(&self) -> Duration {
        self.pause_timeout
    }
    /// What happens when the pause times out.
    pub fn pause_policy(&self) -> PausePolicy {
        self.pause_policy
    }
    /// Subtracted from the lease deadline for self-fencing.
    pub fn self_fence_margin(&self) -> Duration {
        self.self_fence_margin
    }
    /// How long a process waits for its own quiescence before reporting it overdue
    /// (`QuiescenceOverdue`); it still does not ack with operations in flight: the
    /// recoverer's pause timeout and policy decide.
    pub fn quiescence_timeout(&self) -> Duration {
        self.quiescence_timeout
    }
}

impl ClusterConfigBuilder {
    /// Adds an etcd endpoint.
    pub fn endpoint(mut self, e: impl Into<String>) -> Self {
        self.cfg.endpoints.push(e.into());
        self
    }
    /// Replaces the endpoints.
    pub fn endpoints<I: IntoIterator<Item = S>, S: Into<String>>(mut self, es: I) -> Self {
        self.cfg.endpoints = es.into_iter().map(Into::into).collect();
        self
    }
    /// Key prefix, e.g. `ftf/<forest>/` (must end with `/`).
    pub fn prefix(mut self, p: impl Into<String>) -> Self {
        self.cfg.prefix = p.into();
        self
    }
    /// Ranks hosted by this process.
    pub fn ranks(mut self, r: impl IntoIterator<Item = u32>) -> Self {
        self.cfg.ranks = r.into_iter().collect();
        self
    }
    /// K, the slot count.
    pub fn k(mut self, k: u32) -> Self {
        self.cfg.params.k = k;
        self
    }
    /// Lease TTL (whole milliseconds).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.cfg.params.ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        self
    }
    /// Connect timeout.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.cfg.connect_timeout = d;
        self
    }
    /// Request timeout.
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.cfg.request_timeout = d;
        self
    }
    /// Cluster-wide pause timeout.
    pub fn pause_timeout(mut self, d: Duration) -> Self {
        self.cfg.pause_timeout = d;
        self
    }
    /// Cluster-wide pause timeout policy.
    pub fn pause_policy(mut self, p: PausePolicy) -> Self {
        self.cfg.pause_policy = p;
        self
    }
    /// Self-fence margin.
    pub fn self_fence_margin(mut self, d: Duration) -> Self {
        self.cfg.self_fence_margin = d;
        self
    }
    /// Local quiescence timeout.
    pub fn quiescence_timeout(mut self, d: Duration) -> Self {
        self.cfg.quiescence_timeout = d;
        self
    }
    /// Validates (module invariants) and builds.
    pub fn build(self) -> Result<ClusterConfig, ConfigError> {
        let c = self.cfg;
        let p = c.params;
        check_n(p.n)?;
        if p.k == 0 || p.k > p.n || p.k > crate::proto::adapter::MAX_K {
            return Err(ConfigError::BadK { k: p.k });
        }
        let mut seen = std::collections::BTreeSet::new();
        for &r in &c.ranks {
            if r >= p.n {
                return Err(ConfigError::RankOutOfRange { rank: r });
            }
            if !seen.insert(r) {
                return Err(ConfigError::DuplicateRank { rank: r });
            }
        }
        if p.ttl_ms < 2000 {
            return Err(ConfigError::TtlTooShort);
        }
        if p.ttl_ms > MAX_TTL.as_millis() as u64 {
            return Err(ConfigError::TtlTooLong);
        }
        if c.self_fence_margin.as_millis() as u64 >= p.ttl_ms / 3 {
            return Err(ConfigError::MarginTooLarge);
        }
        if c.endpoints.is_empty() {
            return Err(ConfigError::NoEndpoints);
        }
        if !c.endpoints.iter().all(|e| check_endpoint(e)) {
            return Err(ConfigError::BadEndpoint);
        }
        if c.prefix.is_empty() || !c.prefix.ends_with('/') {
            return Err(ConfigError::BadPrefix);
        }
        check_proc_id(&c.proc_id)?;
        let timeouts = [
            c.connect_timeout,
            c.request_timeout,
            c.pause_timeout,
            c.quiescence_timeout,
        ];
        if timeouts.contains(&Duration::ZERO) {
            return Err(ConfigError::ZeroTimeout);
        }
        if timeouts.iter().any(|t| *t > MAX_TIMEOUT) {
            return Err(ConfigError::TimeoutTooLarge);
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b() -> ClusterConfigBuilder {
        ClusterConfig::builder("p1", 4).endpoint("http://127.0.0.1:2379")
    }

    #[test]
    fn validation_names_the_field() {
        assert!(b().ranks([0, 1]).build().is_ok());
        assert_eq!(b().k(5).build(), Err(ConfigError::BadK { k: 5 }));
        let big = ClusterConfig::builder("p1", 20).endpoint("http://127.0.0.1:2379");
        assert_eq!(big.k(9).build(), Err(ConfigError::BadK { k: 9 }));
        assert_eq!(
            b().ranks([4]).build(),
            Err(ConfigError::RankOutOfRange { rank: 4 })
        );
        assert_eq!(
            b().ranks([1, 1]).build(),
            Err(ConfigError::DuplicateRank { rank: 1 })
        );
        assert_eq!(
            b().ttl(Duration::from_secs(1)).build(),
            Err(ConfigError::TtlTooShort)
        );
        assert_eq!(b().prefix("x").build(), Err(ConfigError::BadPrefix));
        assert_eq!(
            ClusterConfig::builder("p1", 4).build(),
            Err(ConfigError::NoEndpoints)
        );
        assert_eq!(
            b().self_fence_margin(Duration::from_secs(1)).build(),
            Err(ConfigError::MarginTooLarge)
        );
        for bad in [
            "",
            "127.0.0.1:2379",
            "http://",
            "http:// x",
            "ftp://h",
            "http:///x",
        ] {
            assert_eq!(
                ClusterConfig::builder("p1", 4).endpoint(bad).build(),
                Err(ConfigError::BadEndpoint),
                "{bad:?}"
            );
        }
        assert!(ClusterConfig::builder("p1", 4)
            .endpoint("https://etcd.example:2379")
            .build()
            .is_ok());
    }
}
