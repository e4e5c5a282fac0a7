//! Hostile configuration values are refused with a typed [`ConfigError`], by the builder
//! and by [`Adapter::new`] for a hand-made [`AdapterConfig`]: proc ids that would break the
//! space-separated lock value (or a key segment), an `n` the adapter would allocate tables
//! for, and timeouts / TTLs whose deadlines would overflow an `Instant`.

use core::time::Duration;
use std::sync::Arc;

use ftforest_cluster::config::{MAX_CLUSTER_PARTITIONS, MAX_PROC_ID_LEN, MAX_TIMEOUT, MAX_TTL};
use ftforest_cluster::proto::{Adapter, AdapterConfig, Params};
use ftforest_cluster::{ClusterConfig, ClusterError, ConfigError, PausePolicy};
use ftforest_core::coord::Config as CoreConfig;
use ftforest_core::{Instant, Tracker};

fn builder(proc_id: &str, n: u32) -> ftforest_cluster::ClusterConfigBuilder {
    ClusterConfig::builder(proc_id, n).endpoint("http://127.0.0.1:2379")
}

fn adapter_cfg(proc_id: &str, n: u32) -> AdapterConfig {
    AdapterConfig {
        proc_id: proc_id.into(),
        info: String::new(),
        ranks: vec![],
        params: Params {
            n,
            k: 1,
            ttl_ms: 2000,
        },
        prefix: "p/".into(),
        pause_timeout: Duration::from_secs(3),
        pause_policy: PausePolicy::Abort,
        margin: Duration::from_millis(200),
        quiescence_timeout: Duration::from_secs(2),
        unavailable_after: 3,
        core: CoreConfig::builder()
            .fenced(true)
            .local_confirmation(false)
            .build()
            .unwrap(),
    }
}

fn adapter_err(cfg: AdapterConfig) -> Option<ClusterError> {
    let gate: Arc<Tracker> = Arc::new(Tracker::new());
    Adapter::new(cfg, gate, Instant::from_millis(0)).err()
}

#[test]
fn proc_ids_that_break_the_lock_value_are_refused() {
    let long = "x".repeat(MAX_PROC_ID_LEN + 1);
    for bad in ["a b", "a\tb", "a\nb", "a\u{7}b", "", "a/b", long.as_str()] {
        assert_eq!(
            builder(bad, 4).build().err(),
            Some(ConfigError::BadProcId),
            "builder accepted {bad:?}"
        );
        assert!(
            matches!(
                adapter_err(adapter_cfg(bad, 4)),
                Some(ClusterError::Config(ConfigError::BadProcId))
            ),
            "Adapter::new accepted {bad:?}"
        );
    }
    let max = "y".repeat(MAX_PROC_ID_LEN);
    for good in ["n1", "node-1.rack_2:7", "ü", max.as_str()] {
        assert!(builder(good, 4).build().is_ok(), "{good:?}");
        assert!(adapter_err(adapter_cfg(good, 4)).is_none(), "{good:?}");
    }
}

#[test]
fn n_is_bounded_by_the_cluster_maximum() {
    assert!(builder("p", MAX_CLUSTER_PARTITIONS).build().is_ok());
    for n in [MAX_CLUSTER_PARTITIONS + 1, i32::MAX as u32, u32::MAX] {
        assert_eq!(
            builder("p", n).build().err(),
            Some(ConfigError::TooManyPartitions { n })
        );
        // Refused before any table of n entries is allocated.
        assert!(matches!(
            adapter_err(adapter_cfg("p", n)),
            Some(ClusterError::Config(ConfigError::TooManyPartitions { .. }))
        ));
    }
}

#[test]
fn timeouts_and_ttl_are_bounded() {
    let huge = [MAX_TIMEOUT + Duration::from_millis(1), Duration::MAX];
    for d in huge {
        for b in [
            builder("p", 4).connect_timeout(d),
            builder("p", 4).request_timeout(d),
            builder("p", 4).pause_timeout(d),
            builder("p", 4).quiescence_timeout(d),
        ] {
            assert_eq!(b.build().err(), Some(ConfigError::TimeoutTooLarge));
        }
    }
    assert!(builder("p", 4).request_timeout(MAX_TIMEOUT).build().is_ok());
    assert!(builder("p", 4).ttl(MAX_TTL).build().is_ok());
    for d in [MAX_TTL + Duration::from_secs(1), Duration::MAX] {
        assert_eq!(
            builder("p", 4).ttl(d).build().err(),
            Some(ConfigError::TtlTooLong),
            "{d:?}"
        );
    }
    let mut c = adapter_cfg("p", 4);
    c.params.ttl_ms = u64::MAX;
    assert!(matches!(
        adapter_err(c),
        Some(ClusterError::Config(ConfigError::TtlTooLong))
    ));
}
