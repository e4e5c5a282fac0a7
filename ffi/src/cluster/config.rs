//! `ftf_cluster_config`: the builder of a member's configuration (a `Box`-owned value; one
//! thread at a time, like `ftf_config_builder`).
//!
//! Invariants: every string stored is valid UTF-8 (checked at the setter:
//! `FTF_INVALID_ARGUMENT`); every enum value is range-checked at the setter
//! (`FTF_UNKNOWN_ENUM`); every other value is stored as given and validated as a whole by
//! `ftf_cluster_config_check` and `ftf_cluster_join` (`FTF_INVALID_CONFIG`), by the cluster
//! crate's builder, so C and Rust refuse exactly the same configurations.

use core::ffi::{c_char, CStr};
use core::time::Duration;

use ftforest_cluster::{ClusterConfig, ConfigError, PausePolicy};

use crate::handle::{
    free_box, to_boxed_mut_ptr, try_from, try_mut_from_ptr, try_out, Castable, OwnershipBox,
};
use crate::panic::ffi_panic_boundary;
use crate::result::ftf_result;

/// Which timeout `ftf_cluster_config_set_timeout_ms` sets (crosses the ABI as `uint32_t`).
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ftf_cluster_timeout {
    /// Connecting to etcd (an endpoint must answer within it; default 2000 ms).
    FTF_CLUSTER_TIMEOUT_CONNECT = 0,
    /// Each etcd request (a timed-out write is ambiguous and read back; default 1000 ms).
    FTF_CLUSTER_TIMEOUT_REQUEST = 1,
    /// The recoverer's wait for every live process's pause ack (default 5000 ms).
    FTF_CLUSTER_TIMEOUT_PAUSE = 2,
    /// This process's wait for its own quiescence before `QUIESCENCE_OVERDUE` (default
    /// 2000 ms).
    FTF_CLUSTER_TIMEOUT_QUIESCENCE = 3,
    /// Subtracted from the lease deadline for self-fencing (default 300 ms; must stay below
    /// TTL / 3).
    FTF_CLUSTER_TIMEOUT_SELF_FENCE_MARGIN = 4,
}

/// What the recoverer does when not every live process acked the pause in time (crosses
/// the ABI as `uint32_t`).
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ftf_cluster_pause_policy {
    /// Give the lock up; the recovery is retried later (the default).
    FTF_CLUSTER_PAUSE_ABORT = 0,
    /// Run the phases anyway.
    FTF_CLUSTER_PAUSE_PROCEED = 1,
}

/// The Rust value behind an `ftf_cluster_config`.
#[derive(Clone, Debug)]
pub(crate) struct FfiClusterConfig {
    proc_id: String,
    n: u32,
    endpoints: Vec<String>,
    prefix: String,
    ranks: Vec<u32>,
    k: u32,
    ttl_ms: u64,
    connect_ms: u64,
    request_ms: u64,
    pause_ms: u64,
    quiescence_ms: u64,
    margin_ms: u64,
    policy: PausePolicy,
}

impl FfiClusterConfig {
    /// Validates the whole configuration (the cluster crate's builder). An `https://`
    /// endpoint is refused here (`BadEndpoint`): libftforest's etcd client is built without
    /// TLS, so such a member could never connect.
    pub(crate) fn build(&self) -> Result<ClusterConfig, ConfigError> {
        if self.endpoints.iter().any(|e| {
            e.get(..8)
                .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
        }) {
            return Err(ConfigError::BadEndpoint);
        }
        ClusterConfig::builder(self.proc_id.clone(), self.n)
            .endpoints(self.endpoints.iter().cloned())
            .prefix(self.prefix.clone())
            .ranks(self.ranks.iter().copied())
            .k(self.k)
            .ttl(Duration::from_millis(self.ttl_ms))
            .connect_timeout(Duration::from_millis(self.connect_ms))
            .request_timeout(Duration::from_millis(self.request_ms))
            .pause_timeout(Duration::from_millis(self.pause_ms))
            .quiescence_timeout(Duration::from_millis(self.quiescence_ms))
            .self_fence_margin(Duration::from_millis(self.margin_ms))
            .pause_policy(self.policy)
            .build()
    }
}

/// Longest string a setter accepts, in bytes (an endpoint or a prefix): longer is
/// `FTF_INVALID_ARGUMENT`.
pub const FTF_CLUSTER_MAX_STRING: usize = 4096;

/// Most ranks `ftf_cluster_config_add_rank` accepts (the cluster's partition limit, 65,536).
pub const FTF_CLUSTER_MAX_RANKS: u32 = 1 << 16;

/// Reads a C string as UTF-8: `FTF_NULL_PARAMETER`, or `FTF_INVALID_ARGUMENT` for bad UTF-8
/// or more than [`FTF_CLUSTER_MAX_STRING`] bytes.
pub(crate) fn c_string(p: *const c_char) -> Result<String, ftf_result> {
    if p.is_null() {
        return Err(ftf_result::FTF_NULL_PARAMETER);
    }
    // SAFETY: C contract: a non-NULL string argument is NUL-terminated and readable for the
    // call.
    let s = unsafe { CStr::from_ptr(p) };
    if s.to_bytes().len() > FTF_CLUSTER_MAX_STRING {
        return Err(ftf_result::FTF_INVALID_ARGUMENT);
    }
    s.to_str()
        .map(str::to_owned)
        .map_err(|_| ftf_result::FTF_INVALID_ARGUMENT)
}

/// The configuration of one cluster member (a builder). Owned (`ftf_cluster_config *`):
/// use it from one thread at a time; `ftf_cluster_join` copies it.
pub struct ftf_cluster_config {
    _private: [u8; 0],
}

impl Castable for ftf_cluster_config {
    type Ownership = OwnershipBox;
    type RustType = FfiClusterConfig;
}

macro_rules! setter {
    ($config:expr, |$c:ident| $body:expr) => {
        ffi_panic_boundary! {
            let $c = try_mut_from_ptr!($config);
            $body
        }
    };
}

impl ftf_cluster_config {
    /// A new configuration for process `proc_id` of a forest of `n` partitions, with the
    /// defaults: prefix `ftf/default/`, no endpoint, no rank, TTL 2000 ms, K 1, connect
    /// 2000 ms, request 1000 ms, pause 5000 ms (policy ABORT), self-fence margin 300 ms,
    /// quiescence 2000 ms.
    ///
    /// `proc_id`: 1..128 bytes of UTF-8 without `/`, whitespace or control characters (its
    /// content and `n` are checked by `ftf_cluster_config_check` / `ftf_cluster_join`).
    /// `FTF_OK` (`*config_out` owns the builder: free it with `ftf_cluster_config_free`);
    /// `FTF_INVALID_ARGUMENT` (not UTF-8, or longer than `FTF_CLUSTER_MAX_STRING`);
    /// `FTF_NULL_PARAMETER`. Thread-safe (creates a new object).
    #[no_mangle]
    pub extern "C" fn ftf_cluster_config_new(
        proc_id: *const c_char,
        n: u32,
        config_out: *mut *mut ftf_cluster_config,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let out = try_out!(config_out);
            let proc_id = match c_string(proc_id) {
                Ok(s) => s,
                Err(e) => return e,
            };
            *out = to_boxed_mut_ptr::<ftf_cluster_config>(FfiClusterConfig {
                proc_id,
                n,
                endpoints: Vec::new(),
                prefix: "ftf/default/".into(),
                ranks: Vec::new(),
                k: 1,
                ttl_ms: 2000,
                connect_ms: 2000,
                request_ms: 1000,
                pause_ms: 5000,
                quiescence_ms: 2000,
                margin_ms: 300,
                policy: PausePolicy::Abort,
            });
            ftf_result::FTF_OK
        }
    }

    /// Frees a configuration; NULL is a no-op. Not while another thread uses it.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_config_free(config: *mut ftf_cluster_config) {
        ffi_panic_boundary! {
            free_box(config);
        }
    }

    /// Adds an etcd endpoint, e.g. `"http://127.0.0.1:2379"` (its form is checked at
    /// check/join: `http://` and a host; `https://` is refused there with
    /// `FTF_INVALID_CONFIG`: this library's etcd client has no TLS). `FTF_OK`; `FTF_INVALID_ARGUMENT` (not
    /// UTF-8, too long, or already 64 endpoints); `FTF_NULL_PARAMETER`. One thread at a time.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_config_add_endpoint(
        config: *mut ftf_cluster_config,
        endpoint: *const c_char,
    ) -> ftf_result {
        setter!(config, |c| {
            let e = match c_string(endpoint) {
                Ok(s) => s,
                Err(e) => return e,
            };
            if c.endpoints.len() >= 64 {
                return ftf_result::FTF_INVALID_ARGUMENT;
            }
            c.endpoints.push(e);
            ftf_result::FTF_OK
        })
    }

    /// Sets the key prefix, e.g. `"ftf/my-forest/"` (must end with `/`: checked at join).
    /// `FTF_OK`; `FTF_INVALID_ARGUMENT` (not UTF-8, too long); `FTF_NULL_PARAMETER`. One
    /// thread at a time.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_config_set_prefix(
        config: *mut ftf_cluster_config,
        prefix: *const c_char,
    ) -> ftf_result {
        setter!(config, |c| {
            match c_string(prefix) {
                Ok(s) => {
                    c.prefix = s;
                    ftf_result::FTF_OK
                }
                Err(e) => e,
            }
        })
    }

    /// Adds a rank this process hosts (`rank < n`, no duplicate, at most 64 ranks per
    /// process, as all are registered in one etcd Txn: checked at check/join,
    /// `FTF_INVALID_CONFIG`).
    /// `FTF_OK`; `FTF_INVALID_ARGUMENT` (already `FTF_CLUSTER_MAX_RANKS` ranks);
    /// `FTF_NULL_PARAMETER`. One thread at a time.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_config_add_rank(
        config: *mut ftf_cluster_config,
        rank: u32,
    ) -> ftf_result {
        setter!(config, |c| {
            if c.ranks.len() >= FTF_CLUSTER_MAX_RANKS as usize {
                return ftf_result::FTF_INVALID_ARGUMENT;
            }
            c.ranks.push(rank);
            ftf_result::FTF_OK
        })
    }

    /// Sets K, the most concurrent recoveries cluster-wide (`1..=min(n, 8)`: checked at
    /// join). `FTF_OK`; `FTF_NULL_PARAMETER`. One thread at a time.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_config_set_k(
        config: *mut ftf_cluster_config,
        k: u32,
    ) -> ftf_result {
        setter!(config, |c| {
            c.k = k;
            ftf_result::FTF_OK
        })
    }

    /// Sets the lease TTL in milliseconds (2000..=3,600,000: checked at join). `FTF_OK`;
    /// `FTF_NULL_PARAMETER`. One thread at a time.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_config_set_ttl_ms(
        config: *mut ftf_cluster_config,
        ttl_ms: u64,
    ) -> ftf_result {
        setter!(config, |c| {
            c.ttl_ms = ttl_ms;
            ftf_result::FTF_OK
        })
    }

    /// Sets one timeout (`which`: an `ftf_cluster_timeout`) in milliseconds (each in
    /// `1..=3,600,000`, the margin below TTL / 3: checked at join). `FTF_OK`;
    /// `FTF_UNKNOWN_ENUM`; `FTF_NULL_PARAMETER`. One thread at a time.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_config_set_timeout_ms(
        config: *mut ftf_cluster_config,
        which: u32,
        ms: u64,
    ) -> ftf_result {
        setter!(config, |c| {
            let slot = match which {
                0 => &mut c.connect_ms,
                1 => &mut c.request_ms,
                2 => &mut c.pause_ms,
                3 => &mut c.quiescence_ms,
                4 => &mut c.margin_ms,
                _ => return ftf_result::FTF_UNKNOWN_ENUM,
            };
            *slot = ms;
            ftf_result::FTF_OK
        })
    }

    /// Sets the pause policy (`policy`: an `ftf_cluster_pause_policy`). `FTF_OK`;
    /// `FTF_UNKNOWN_ENUM`; `FTF_NULL_PARAMETER`. One thread at a time.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_config_set_pause_policy(
        config: *mut ftf_cluster_config,
        policy: u32,
    ) -> ftf_result {
        setter!(config, |c| {
            c.policy = match policy {
                0 => PausePolicy::Abort,
                1 => PausePolicy::Proceed,
                _ => return ftf_result::FTF_UNKNOWN_ENUM,
            };
            ftf_result::FTF_OK
        })
    }

    /// Validates the whole configuration without connecting: `FTF_OK`, or
    /// `FTF_INVALID_CONFIG` (what `ftf_cluster_join` would refuse: n outside 1..=65,536,
    /// K outside 1..=min(n, 8), a rank >= n or twice, TTL outside 2 s..=1 h, margin >= TTL
    /// / 3, no endpoint or a malformed one (not `http://<host>`; `https://` is refused: no
    /// TLS), a prefix not ending with `/`, a bad proc id, a
    /// timeout of 0 or above 1 h); `FTF_NULL_PARAMETER`. Never blocks.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_config_check(config: *const ftf_cluster_config) -> ftf_result {
        ffi_panic_boundary! {
            let Some(c) = try_from(config) else {
                return ftf_result::FTF_NULL_PARAMETER;
            };
            match c.build() {
                Ok(_) => ftf_result::FTF_OK,
                Err(_) => ftf_result::FTF_INVALID_CONFIG,
            }
        }
    }
}
