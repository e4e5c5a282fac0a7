//! `ftf_alert_thresholds`: the alert thresholds as a plain `#[repr(C)]` struct, for the
//! config builder and for changing them on a running `ftf_coordinator` or `ftf_forest`
//! (issue 7, items 11 and 13).
//!
//! Invariants:
//!
//! * Durations are `uint64_t` nanoseconds (saturating when read back).
//! * A set validates first (`min_healthy_percent <= 100`, `min_success_permille <= 1000`):
//!   `FTF_INVALID_CONFIG` changes nothing. A valid set takes effect on the next alerts
//!   query (alerts are computed from live figures, never latched) and changes nothing else.
//! * Sets and gets take the coordinator's lock once (the forest's: its monitor's coordinator
//!   lock, never held while a callback runs), so they may be called from any thread,
//!   including from inside a forest callback.

use core::time::Duration;

use ftforest_core::coord::{AlertThresholds, ConfigError};

use crate::config::duration_ns;
use crate::coordinator::ftf_coordinator;
#[cfg(feature = "std")]
use crate::forest::ftf_forest;
use crate::handle::{try_out, try_ref_from_ptr};
use crate::panic::ffi_panic_boundary;
use crate::result::ftf_result;

/// Alert thresholds (see `FTF_ALERT_*`). Defaults (`ftf_alert_thresholds_default`): 50 %,
/// 0, 30 s, 5, 5 s, 800, 5, 2, 10 s.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ftf_alert_thresholds {
    /// `FTF_ALERT_LOW_HEALTHY_RATIO` while `healthy * 100 < total * min_healthy_percent`
    /// (`<= 100`).
    pub min_healthy_percent: u32,
    /// `FTF_ALERT_FAILED_PARTITIONS` while FAILED + RECOVERING partitions exceed this.
    pub max_failed: u32,
    /// `FTF_ALERT_SLOW_RECOVERY` while the average recovery latency exceeds this.
    pub max_avg_recovery_ns: u64,
    /// `FTF_ALERT_MANY_FAILURES` while attempted - succeeded recoveries, over the failures
    /// still open, exceed this.
    pub max_unrecovered: u64,
    /// `FTF_ALERT_PAUSE_STALLED` while operations are in flight this long into a pause.
    pub max_pause_stall_ns: u64,
    /// `FTF_ALERT_LOW_SUCCESS_RATE` while succeeded / finished attempts are below this many
    /// thousandths (`<= 1000`; 0 disables).
    pub min_success_permille: u32,
    /// `FTF_ALERT_QUEUE_BACKLOG` while more partitions than this wait in the recovery queue.
    pub max_queue_depth: u32,
    /// `FTF_ALERT_MANY_SUSPECTED` while more partitions than this are SUSPECTED (the
    /// original monitor's maximum suspected partitions).
    pub max_suspected: u32,
    /// `FTF_ALERT_SLOW_DETECTION` while the average detection latency exceeds this (the
    /// original monitor's maximum detection latency).
    pub max_avg_detection_ns: u64,
}

impl From<AlertThresholds> for ftf_alert_thresholds {
    fn from(t: AlertThresholds) -> Self {
        ftf_alert_thresholds {
            min_healthy_percent: t.min_healthy_percent,
            max_failed: t.max_failed,
            max_avg_recovery_ns: duration_ns(t.max_avg_recovery),
            max_unrecovered: t.max_unrecovered,
            max_pause_stall_ns: duration_ns(t.max_pause_stall),
            min_success_permille: t.min_success_permille,
            max_queue_depth: t.max_queue_depth,
            max_suspected: t.max_suspected,
            max_avg_detection_ns: duration_ns(t.max_avg_detection),
        }
    }
}

impl From<ftf_alert_thresholds> for AlertThresholds {
    fn from(t: ftf_alert_thresholds) -> Self {
        AlertThresholds {
            min_healthy_percent: t.min_healthy_percent,
            max_failed: t.max_failed,
            max_avg_recovery: Duration::from_nanos(t.max_avg_recovery_ns),
            max_unrecovered: t.max_unrecovered,
            max_pause_stall: Duration::from_nanos(t.max_pause_stall_ns),
            min_success_permille: t.min_success_permille,
            max_queue_depth: t.max_queue_depth,
            max_suspected: t.max_suspected,
            max_avg_detection: Duration::from_nanos(t.max_avg_detection_ns),
        }
    }
}

/// Reads a caller's thresholds struct (NULL → None).
pub(crate) fn read_thresholds(t: *const ftf_alert_thresholds) -> Option<AlertThresholds> {
    // SAFETY: C contract: a non-NULL `t` points to a readable, initialised struct (copied).
    unsafe { t.as_ref() }.map(|t| AlertThresholds::from(*t))
}

/// Reads the caller's thresholds and hands them to `set` (a validating setter):
/// `FTF_NULL_PARAMETER` for NULL, `FTF_INVALID_CONFIG` when refused, else `FTF_OK`.
fn set_with(
    thresholds: *const ftf_alert_thresholds,
    set: impl FnOnce(AlertThresholds) -> Result<(), ConfigError>,
) -> ftf_result {
    let Some(t) = read_thresholds(thresholds) else {
        return ftf_result::FTF_NULL_PARAMETER;
    };
    match set(t) {
        Ok(()) => ftf_result::FTF_OK,
        Err(_) => ftf_result::FTF_INVALID_CONFIG,
    }
}

/// Writes the default thresholds. `FTF_OK`; `FTF_NULL_PARAMETER`.
#[no_mangle]
pub extern "C" fn ftf_alert_thresholds_default(
    thresholds_out: *mut ftf_alert_thresholds,
) -> ftf_result {
    ffi_panic_boundary! {
        let out = try_out!(thresholds_out);
        *out = AlertThresholds::DEFAULT.into();
        ftf_result::FTF_OK
    }
}

impl ftf_coordinator {
    /// Replaces the alert thresholds of the running coordinator (validated first; nothing
    /// else changes). `FTF_OK`; `FTF_INVALID_CONFIG` (`min_healthy_percent > 100` or
    /// `min_success_permille > 1000`; nothing changed); `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_set_thresholds(
        coordinator: *const ftf_coordinator,
        thresholds: *const ftf_alert_thresholds,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            set_with(thresholds, |t| c.lock().set_alert_thresholds(t))
        }
    }

    /// The alert thresholds in force. `FTF_OK`; `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_thresholds(
        coordinator: *const ftf_coordinator,
        thresholds_out: *mut ftf_alert_thresholds,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            let out = try_out!(thresholds_out);
            *out = (*c.lock().config().alerts()).into();
            ftf_result::FTF_OK
        }
    }
}

#[cfg(feature = "std")]
impl ftf_forest {
    #[cfg(feature = "std")]
    /// Replaces the alert thresholds of the forest's coordinator, running or not (as
    /// `ftf_coordinator_set_thresholds`); may be called from a callback.
    #[no_mangle]
    pub extern "C" fn ftf_forest_set_thresholds(
        forest: *const ftf_forest,
        thresholds: *const ftf_alert_thresholds,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let f = try_ref_from_ptr!(forest);
            set_with(thresholds, |t| f.monitor.set_alert_thresholds(t))
        }
    }

    #[cfg(feature = "std")]
    /// The alert thresholds in force. `FTF_OK`; `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_forest_thresholds(
        forest: *const ftf_forest,
        thresholds_out: *mut ftf_alert_thresholds,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let f = try_ref_from_ptr!(forest);
            let out = try_out!(thresholds_out);
            *out = f.monitor.with_coordinator(|c| *c.config().alerts()).into();
            ftf_result::FTF_OK
        }
    }
}
