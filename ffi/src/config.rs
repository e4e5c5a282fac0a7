//! `ftf_config_builder` (mutable, one thread) → `ftf_config` (frozen, shared): the
//! coordinator's validated configuration for C.
//!
//! Invariants:
//!
//! * The builder is `Box`-owned (`ftf_config_builder *`): setters store plain values and never
//!   fail except on NULL or an unknown enum value; `ftf_config_builder_build` validates
//!   everything and, on `FTF_INVALID_CONFIG`, remembers the offending field and reason (static
//!   strings) for `ftf_config_builder_error_field` / `_error_reason`.
//! * Building does not consume the builder (it can be adjusted and built again; free it with
//!   `ftf_config_builder_free`), so there is no "use after build" to get wrong.
//! * A config is `Arc`-owned (`const ftf_config *`), immutable and thread-safe; a forest or
//!   coordinator copies it at creation, so the config may be freed right after.
//! * Durations cross the ABI as `uint64_t` nanoseconds.

#[cfg(feature = "std")]
use core::ffi::c_char;
use core::time::Duration;
#[cfg(feature = "std")]
use std::ffi::CString;

use ftforest_core::coord::{AlertThresholds, Config, ConfigBuilder, ConfigError, HeartbeatConfig};

use crate::enums::{heartbeat_mode_from_u32, pause_policy_from_u32};
#[cfg(feature = "std")]
use crate::handle::{
    arc_into_const_ptr, free_arc, free_box, to_arc_const_ptr, to_boxed_mut_ptr, try_clone_arc,
};
use crate::handle::{
    try_mut_from_ptr, try_out, try_ref_from_ptr, Castable, OwnershipArc, OwnershipBox,
};
use crate::panic::ffi_panic_boundary;
use crate::result::ftf_result;
use crate::thresholds::{ftf_alert_thresholds, read_thresholds};

/// The Rust state behind an `ftf_config_builder`.
pub(crate) struct FfiConfigBuilder {
    pub(crate) builder: ConfigBuilder,
    pub(crate) heartbeat: HeartbeatConfig,
    pub(crate) alerts: AlertThresholds,
    /// The last build's refusal: (field, reason) as C strings owned by the builder.
    #[cfg(feature = "std")]
    error: Option<(CString, CString)>,
    /// The last build's refusal (bare metal: no C strings are allocated).
    #[cfg(not(feature = "std"))]
    pub(crate) error: Option<ConfigError>,
}

impl FfiConfigBuilder {
    /// A builder holding the defaults.
    pub(crate) fn new() -> Self {
        let d = Config::DEFAULT;
        FfiConfigBuilder {
            builder: Config::builder(),
            heartbeat: *d.heartbeat(),
            alerts: *d.alerts(),
            error: None,
        }
    }
}

#[cfg(feature = "std")]
fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

/// A mutable configuration builder (starts from the defaults). Not thread-safe: use one
/// builder from one thread at a time.
pub struct ftf_config_builder {
    _private: [u8; 0],
}

impl Castable for ftf_config_builder {
    type Ownership = OwnershipBox;
    type RustType = FfiConfigBuilder;
}

/// A validated, immutable configuration. Shared (`const ftf_config *`), thread-safe.
pub struct ftf_config {
    _private: [u8; 0],
}

impl Castable for ftf_config {
    type Ownership = OwnershipArc;
    type RustType = Config;
}

fn ns(d: u64) -> Duration {
    Duration::from_nanos(d)
}

/// Applies `f` to the builder behind `b` (NULL → `FTF_NULL_PARAMETER`).
macro_rules! set {
    ($b:expr, |$x:ident| $body:expr) => {
        ffi_panic_boundary! {
            let $x = try_mut_from_ptr!($b);
            $x.error = None;
            $body;
            ftf_result::FTF_OK
        }
    };
}

impl ftf_config_builder {
    #[cfg(feature = "std")]
    /// Creates a builder holding the defaults (2 reports before suspicion, no confirmation by
    /// count, 5 s confirmation, heartbeats off (500 ms / 2 s / 5 s, phi 5.0 / 8.0), 30 s
    /// recovery timeout, 3 retries, backoff 100 ms doubling to 10 s, 3 concurrent recoveries,
    /// 5 s pause timeout with abort-and-retry, 10 ms quiescence poll, the default alert
    /// thresholds of `ftf_alert_thresholds_default`).
    ///
    /// On `FTF_OK`, `*builder_out` is owned by the caller: free it with
    /// `ftf_config_builder_free`.
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_new(
        builder_out: *mut *mut ftf_config_builder,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let out = try_out!(builder_out);
            *out = to_boxed_mut_ptr::<ftf_config_builder>(FfiConfigBuilder::new());
            ftf_result::FTF_OK
        }
    }

    #[cfg(feature = "std")]
    /// Frees a builder; NULL is a no-op. Configs built from it stay valid.
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_free(builder: *mut ftf_config_builder) {
        ffi_panic_boundary! {
            free_box(builder);
        }
    }

    /// Failure reports before a HEALTHY partition is SUSPECTED (`1..=65535`): the total of the
    /// per-signal streaks (barrier, ghost sync, heartbeat), where a success report ends the
    /// streak of its own signal only (`FTF_REPORT_HEALTHY`: of every signal).
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_set_reports_before_suspicion(
        builder: *mut ftf_config_builder,
        n: u32,
    ) -> ftf_result {
        set!(builder, |b| b.builder =
            b.builder.reports_before_suspicion(n))
    }

    /// Confirmation by count: a SUSPECTED partition whose failure total (as for
    /// `ftf_config_builder_set_reports_before_suspicion`) reaches `n` is confirmed FAILED by
    /// that report, beside the confirmation by time. 0 = off (the default); otherwise above
    /// the reports before suspicion, at most 65535 (checked by build). The original's simple
    /// handler: suspicion 1, failure 2.
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_set_reports_before_failure(
        builder: *mut ftf_config_builder,
        n: u32,
    ) -> ftf_result {
        set!(builder, |b| b.builder = b.builder.reports_before_failure(n))
    }

    /// Time a partition stays SUSPECTED before it is confirmed FAILED (0 = next tick).
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_set_failure_confirmation_ns(
        builder: *mut ftf_config_builder,
        nanos: u64,
    ) -> ftf_result {
        set!(builder, |b| b.builder =
            b.builder.failure_confirmation(ns(nanos)))
    }

    /// The time one recovery attempt may take before it is abandoned and cancelled; 0 = no
    /// timeout (an attempt runs until its phases report, as the original accepted).
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_set_recovery_timeout_ns(
        builder: *mut ftf_config_builder,
        nanos: u64,
    ) -> ftf_result {
        set!(builder, |b| b.builder =
            b.builder.recovery_timeout(ns(nanos)))
    }

    /// Retries after a failed attempt before the partition is escalated (`0..=254`).
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_set_max_retries(
        builder: *mut ftf_config_builder,
        n: u32,
    ) -> ftf_result {
        set!(builder, |b| b.builder = b.builder.max_retries(n))
    }

    /// Backoff before retry n: `base * 2^(n-1)`, capped at `cap` (`base <= cap`).
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_set_backoff_ns(
        builder: *mut ftf_config_builder,
        base_ns: u64,
        cap_ns: u64,
    ) -> ftf_result {
        set!(builder, |b| b.builder =
            b.builder.backoff_base(ns(base_ns)).backoff_cap(ns(cap_ns)))
    }

    /// Recoveries running at once, K (`>= 1`; a coordinator or forest accepts at most
    /// `FTF_MAX_CONCURRENT_RECOVERIES`). The original recommends
    /// `ftf_recommended_max_concurrent(n)`; the default is 3.
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_set_max_concurrent(
        builder: *mut ftf_config_builder,
        k: u32,
    ) -> ftf_result {
        set!(builder, |b| b.builder = b.builder.max_concurrent(k))
    }

    /// How long recovery mode waits for the operations in flight to end, and what happens
    /// then: `policy` is an `ftf_pause_policy` (`FTF_UNKNOWN_ENUM` otherwise).
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_set_pause_timeout_ns(
        builder: *mut ftf_config_builder,
        nanos: u64,
        policy: u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let b = try_mut_from_ptr!(builder);
            let Some(p) = pause_policy_from_u32(policy) else {
                return ftf_result::FTF_UNKNOWN_ENUM;
            };
            b.error = None;
            b.builder = b.builder.pause_timeout(ns(nanos)).pause_timeout_policy(p);
            ftf_result::FTF_OK
        }
    }

    /// How often a pausing coordinator re-checks quiescence (> 0).
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_set_quiescence_poll_ns(
        builder: *mut ftf_config_builder,
        nanos: u64,
    ) -> ftf_result {
        set!(builder, |b| b.builder =
            b.builder.quiescence_poll(ns(nanos)))
    }

    /// How long an attempt abandoned at its recovery timeout may wait for the embedder's
    /// acknowledgement (`ftf_coordinator_cancel_done`, or the abandoned phase's late result)
    /// before it is escalated (event, alert, statistic); the forest stays paused until the
    /// acknowledgement either way (> 0; default 30 s).
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_set_cancel_timeout_ns(
        builder: *mut ftf_config_builder,
        nanos: u64,
    ) -> ftf_result {
        set!(builder, |b| b.builder = b.builder.cancel_timeout(ns(nanos)))
    }

    /// Fenced recovery (default false): an attempt that got its local lock permit first asks
    /// for a fence (`FTF_ACTION_ACQUIRE_FENCE`, answered with
    /// `ftf_coordinator_fence_granted` / `_fence_refused`) and starts only once granted.
    /// Only an embedder that talks to a fencing service can answer: `ftf_forest_new`
    /// refuses a fenced configuration (`FTF_INVALID_CONFIG`, field `fenced`).
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_set_fenced(
        builder: *mut ftf_config_builder,
        fenced: bool,
    ) -> ftf_result {
        set!(builder, |b| b.builder = b.builder.fenced(fenced))
    }

    /// How long a partition whose fence was refused (or whose fence wait was abandoned) waits
    /// before it asks again (> 0; default 500 ms).
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_set_fence_retry_ns(
        builder: *mut ftf_config_builder,
        nanos: u64,
    ) -> ftf_result {
        set!(builder, |b| b.builder = b.builder.fence_retry(ns(nanos)))
    }

    /// Whether local signals confirm failures (default true). False (a cluster, where an
    /// external authority confirms them): local signals only raise SUSPECTED; only an
    /// `FTF_REPORT_CRASHED` report fails a partition.
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_set_local_confirmation(
        builder: *mut ftf_config_builder,
        on: bool,
    ) -> ftf_result {
        set!(builder, |b| b.builder = b.builder.local_confirmation(on))
    }

    /// The heartbeat detector: `mode` is an `ftf_heartbeat_mode` (`FTF_UNKNOWN_ENUM`
    /// otherwise); `interval < suspect_timeout < failure_timeout` is checked by build.
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_set_heartbeat(
        builder: *mut ftf_config_builder,
        mode: u32,
        interval_ns: u64,
        suspect_timeout_ns: u64,
        failure_timeout_ns: u64,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let b = try_mut_from_ptr!(builder);
            let Some(m) = heartbeat_mode_from_u32(mode) else {
                return ftf_result::FTF_UNKNOWN_ENUM;
            };
            b.error = None;
            b.heartbeat = b
                .heartbeat
                .with_mode(m)
                .with_interval(ns(interval_ns))
                .with_suspect_timeout(ns(suspect_timeout_ns))
                .with_failure_timeout(ns(failure_timeout_ns));
            ftf_result::FTF_OK
        }
    }

    /// Phi-accrual thresholds in thousandths (`0 < suspect < failure`; default 5000 / 8000).
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_set_heartbeat_phi(
        builder: *mut ftf_config_builder,
        suspect_milli: u32,
        failure_milli: u32,
    ) -> ftf_result {
        set!(builder, |b| b.heartbeat =
            b.heartbeat.with_phi_milli(suspect_milli, failure_milli))
    }

    /// A gap between ticks longer than this is the detector's own stall, not the partitions'
    /// silence: heartbeat verdicts are skipped for that tick (above the suspect timeout,
    /// default 5 s). `ftf_coordinator_poll_timeout` asks for a tick at least every half of
    /// it while heartbeats are on, so a driver that ticks when asked never looks stalled.
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_set_heartbeat_max_local_pause_ns(
        builder: *mut ftf_config_builder,
        nanos: u64,
    ) -> ftf_result {
        set!(builder, |b| b.heartbeat =
            b.heartbeat.with_max_local_pause(ns(nanos)))
    }

    /// The first five alert thresholds (defaults 50 %, 0, 30 s, 5, 5 s): healthy ratio below
    /// `min_healthy_percent` (`<= 100`), more than `max_failed` FAILED/RECOVERING partitions,
    /// average recovery above `max_avg_recovery_ns`, more than `max_unrecovered` recovery
    /// attempts not succeeded over the failures still open, and operations in flight
    /// `max_pause_stall_ns` into a pause. The others keep their values; set them all with
    /// `ftf_config_builder_set_alert_thresholds`.
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_set_alerts(
        builder: *mut ftf_config_builder,
        min_healthy_percent: u32,
        max_failed: u32,
        max_avg_recovery_ns: u64,
        max_unrecovered: u64,
        max_pause_stall_ns: u64,
    ) -> ftf_result {
        set!(builder, |b| b.alerts = AlertThresholds {
            min_healthy_percent,
            max_failed,
            max_avg_recovery: ns(max_avg_recovery_ns),
            max_unrecovered,
            max_pause_stall: ns(max_pause_stall_ns),
            ..b.alerts
        })
    }

    /// Every alert threshold (see `ftf_alert_thresholds`; copied; checked by build).
    /// `FTF_OK`; `FTF_NULL_PARAMETER` (also for a NULL `thresholds`).
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_set_alert_thresholds(
        builder: *mut ftf_config_builder,
        thresholds: *const ftf_alert_thresholds,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let b = try_mut_from_ptr!(builder);
            let Some(t) = read_thresholds(thresholds) else {
                return ftf_result::FTF_NULL_PARAMETER;
            };
            b.error = None;
            b.alerts = t;
            ftf_result::FTF_OK
        }
    }

    #[cfg(feature = "std")]
    /// Validates the builder's values and creates a frozen config. The builder is not
    /// consumed.
    ///
    /// `FTF_OK` (`*config_out` owns one reference: free with `ftf_config_free`);
    /// `FTF_INVALID_CONFIG` (see `ftf_config_builder_error_field`/`_error_reason`);
    /// `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_build(
        builder: *mut ftf_config_builder,
        config_out: *mut *const ftf_config,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let b = try_mut_from_ptr!(builder);
            let out = try_out!(config_out);
            let built = b.builder.heartbeat(b.heartbeat).alerts(b.alerts).build();
            match built {
                Ok(cfg) => {
                    b.error = None;
                    *out = to_arc_const_ptr::<ftf_config>(cfg);
                    ftf_result::FTF_OK
                }
                Err(e) => {
                    let e: ConfigError = e;
                    b.error = Some((c_string(e.field.name()), c_string(e.reason.text())));
                    ftf_result::FTF_INVALID_CONFIG
                }
            }
        }
    }

    #[cfg(feature = "std")]
    /// The field refused by the last `ftf_config_builder_build` (e.g. `"backoff_cap"`,
    /// `"heartbeat.suspect_timeout"`), NUL-terminated and owned by the builder: valid until
    /// the next call on the builder or its free. NULL when the last build succeeded, no build
    /// happened since the last setter, or `builder` is NULL.
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_error_field(
        builder: *mut ftf_config_builder,
    ) -> *const c_char {
        ffi_panic_boundary! {
            let b = try_mut_from_ptr!(builder);
            b.error.as_ref().map_or(core::ptr::null(), |e| e.0.as_ptr())
        }
    }

    #[cfg(feature = "std")]
    /// Why the last build refused the field (owned by the builder, same lifetime as
    /// `ftf_config_builder_error_field`), or NULL as for it.
    #[no_mangle]
    pub extern "C" fn ftf_config_builder_error_reason(
        builder: *mut ftf_config_builder,
    ) -> *const c_char {
        ffi_panic_boundary! {
            let b = try_mut_from_ptr!(builder);
            b.error.as_ref().map_or(core::ptr::null(), |e| e.1.as_ptr())
        }
    }
}

impl ftf_config {
    #[cfg(feature = "std")]
    /// Creates a config holding the defaults (see `ftf_config_builder_new`).
    ///
    /// On `FTF_OK`, `*config_out` owns one reference: free it with `ftf_config_free`.
    #[no_mangle]
    pub extern "C" fn ftf_config_default(config_out: *mut *const ftf_config) -> ftf_result {
        ffi_panic_boundary! {
            let out = try_out!(config_out);
            *out = to_arc_const_ptr::<ftf_config>(Config::DEFAULT);
            ftf_result::FTF_OK
        }
    }

    #[cfg(feature = "std")]
    /// Adds a reference; returns the same pointer (NULL for NULL).
    #[no_mangle]
    pub extern "C" fn ftf_config_clone(config: *const ftf_config) -> *const ftf_config {
        ffi_panic_boundary! {
            arc_into_const_ptr::<ftf_config>(try_clone_arc!(config))
        }
    }

    #[cfg(feature = "std")]
    /// Drops one reference; NULL is a no-op.
    #[no_mangle]
    pub extern "C" fn ftf_config_free(config: *const ftf_config) {
        ffi_panic_boundary! {
            free_arc(config);
        }
    }

    /// The configured K (maximum concurrent recoveries); 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_config_max_concurrent(config: *const ftf_config) -> u32 {
        ffi_panic_boundary! {
            try_ref_from_ptr!(config).max_concurrent()
        }
    }

    /// The configured failure-confirmation time in nanoseconds; 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_config_failure_confirmation_ns(config: *const ftf_config) -> u64 {
        ffi_panic_boundary! {
            duration_ns(try_ref_from_ptr!(config).failure_confirmation())
        }
    }

    /// The configured recovery timeout in nanoseconds (0 = no timeout); 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_config_recovery_timeout_ns(config: *const ftf_config) -> u64 {
        ffi_panic_boundary! {
            duration_ns(try_ref_from_ptr!(config).recovery_timeout())
        }
    }

    /// The configured pause timeout in nanoseconds; 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_config_pause_timeout_ns(config: *const ftf_config) -> u64 {
        ffi_panic_boundary! {
            duration_ns(try_ref_from_ptr!(config).pause_timeout())
        }
    }

    /// The configured confirmation by count (0 = off); 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_config_reports_before_failure(config: *const ftf_config) -> u32 {
        ffi_panic_boundary! {
            u32::from(try_ref_from_ptr!(config).reports_before_failure())
        }
    }

    /// The configured alert thresholds. `FTF_OK`; `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_config_alert_thresholds(
        config: *const ftf_config,
        thresholds_out: *mut ftf_alert_thresholds,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(config);
            let out = try_out!(thresholds_out);
            *out = (*c.alerts()).into();
            ftf_result::FTF_OK
        }
    }

    /// The configured cancel timeout in nanoseconds; 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_config_cancel_timeout_ns(config: *const ftf_config) -> u64 {
        ffi_panic_boundary! {
            duration_ns(try_ref_from_ptr!(config).cancel_timeout())
        }
    }

    /// Whether the configuration is fenced; false for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_config_fenced(config: *const ftf_config) -> bool {
        ffi_panic_boundary! {
            try_ref_from_ptr!(config).fenced()
        }
    }

    /// The configured fence retry time in nanoseconds; 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_config_fence_retry_ns(config: *const ftf_config) -> u64 {
        ffi_panic_boundary! {
            duration_ns(try_ref_from_ptr!(config).fence_retry())
        }
    }

    /// Whether local signals confirm failures; false for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_config_local_confirmation(config: *const ftf_config) -> bool {
        ffi_panic_boundary! {
            try_ref_from_ptr!(config).local_confirmation()
        }
    }
}

/// The original's recommended K for `n` partitions: `min(n / 4, 5)`, at least 1 (pass it to
/// `ftf_config_builder_set_max_concurrent`; the default stays 3). Never fails.
#[no_mangle]
pub extern "C" fn ftf_recommended_max_concurrent(n: u32) -> u32 {
    ffi_panic_boundary! {
        Config::recommended_max_concurrent(n)
    }
}

/// A duration in whole nanoseconds, saturating at `UINT64_MAX`.
pub(crate) fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
