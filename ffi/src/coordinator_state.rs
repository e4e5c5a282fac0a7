//! The read side of `ftf_coordinator` (and the per-partition views `ftf_forest` shares): a
//! partition's health, bookkeeping and running attempt, aggregate counts, statistics, level,
//! alerts and OpenMetrics text. `coordinator.rs` holds the handle and the driving side
//! (reports, ticks, phase results, polls).
//!
//! Invariants:
//!
//! * Every getter takes the coordinator's mutex once and reads one consistent state; nothing
//!   here changes the coordinator (except the largest `now_ns` seen, as every input does).
//! * Out-parameters are written only on `FTF_OK`; an unknown rank is `FTF_UNKNOWN_PARTITION`
//!   before anything is written.
//! * The `write_*` helpers take the core coordinator by reference, so `ftf_forest` answers the
//!   same questions from inside its monitor's lock with the same code.

use ftforest_core::coord::PartitionStatsError;
use ftforest_core::Instant;

use crate::coordinator::{ftf_coordinator, FfiCoord};
use crate::event::ftf_phase_job;
use crate::handle::{try_from, try_out, try_ref_from_ptr};
use crate::panic::ffi_panic_boundary;
use crate::result::ftf_result;
use crate::stats::{ftf_partition_stats, ftf_stats};
use crate::table::ftf_counts;

/// Writes `(health, incarnation)` of `rank` from any coordinator.
pub(crate) fn write_health(
    c: &FfiCoord,
    rank: u32,
    health_out: *mut u32,
    incarnation_out: *mut u32,
) -> ftf_result {
    let h_out = try_out!(health_out);
    let i_out = try_out!(incarnation_out);
    match c.health(rank) {
        Ok((h, inc)) => {
            *h_out = u32::from(h.as_u8());
            *i_out = inc;
            ftf_result::FTF_OK
        }
        Err(_) => ftf_result::FTF_UNKNOWN_PARTITION,
    }
}

/// The coordinator's detection and recovery bookkeeping of one partition.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ftf_partition_info {
    /// The `ftf_health`.
    pub health: u32,
    /// The incarnation (bumped each time the partition becomes HEALTHY again).
    pub incarnation: u32,
    /// Failure reports not yet answered by a success of their own signal (the total of the
    /// per-signal streaks, see `ftf_partition_stats` for each).
    pub consecutive_failures: u32,
    /// Recovery attempts made for the current failure.
    pub attempts: u32,
    /// A retry waits for its backoff to expire.
    pub backing_off: bool,
    /// Escalated after its last retry: waits for `_retry`.
    pub exhausted: bool,
    /// Waits in the recovery queue.
    pub queued: bool,
    /// The heartbeat detector's verdict (an `ftf_heartbeat_verdict`).
    pub heartbeat_verdict: u32,
    /// When the last heartbeat arrived (or detection started), on the coordinator's time line.
    pub last_heartbeat_ns: u64,
    /// Mean heartbeat interval observed (0 before two heartbeats).
    pub heartbeat_mean_ns: u64,
}

/// Writes the bookkeeping of `rank`.
pub(crate) fn write_partition(
    c: &FfiCoord,
    rank: u32,
    info_out: *mut ftf_partition_info,
) -> ftf_result {
    let out = try_out!(info_out);
    let (Ok((h, inc)), Ok(p)) = (c.health(rank), c.partition(rank)) else {
        return ftf_result::FTF_UNKNOWN_PARTITION;
    };
    let hb = p.heartbeat();
    *out = ftf_partition_info {
        health: u32::from(h.as_u8()),
        incarnation: inc,
        consecutive_failures: u32::from(p.consecutive_failures()),
        attempts: u32::from(p.attempts()),
        backing_off: p.is_backing_off(),
        exhausted: p.is_exhausted(),
        queued: c.is_queued(rank),
        heartbeat_verdict: hb.verdict() as u8 as u32,
        last_heartbeat_ns: hb.last().as_nanos(),
        heartbeat_mean_ns: crate::config::duration_ns(hb.mean()),
    };
    ftf_result::FTF_OK
}

/// Writes the statistics of `rank`.
pub(crate) fn write_partition_stats(
    c: &FfiCoord,
    rank: u32,
    stats_out: *mut ftf_partition_stats,
) -> ftf_result {
    let out = try_out!(stats_out);
    match c.partition_stats(rank) {
        Ok(p) => {
            *out = p.into();
            ftf_result::FTF_OK
        }
        Err(PartitionStatsError::UnknownPartition) => ftf_result::FTF_UNKNOWN_PARTITION,
        // Boxed coordinators always keep statistics; the bare-metal one keeps none.
        Err(_) => ftf_result::FTF_UNEXPECTED_STATE,
    }
}

/// Writes the running attempt of `rank` (phase = current phase).
pub(crate) fn write_recovery(c: &FfiCoord, rank: u32, job_out: *mut ftf_phase_job) -> ftf_result {
    let out = try_out!(job_out);
    if rank >= c.len() {
        return ftf_result::FTF_UNKNOWN_PARTITION;
    }
    match c.recovery(rank) {
        Some((attempt, number, phase)) => {
            *out = ftf_phase_job {
                rank,
                attempt,
                number,
                phase: phase as u8 as u32,
                fence: c.fence(rank).unwrap_or(0),
            };
            ftf_result::FTF_OK
        }
        None => ftf_result::FTF_NO_RECOVERY,
    }
}
impl ftf_coordinator {
    /// The number of partitions `n` (members and ABSENT ranks: the capacity within which
    /// partitions join and leave); 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_len(coordinator: *const ftf_coordinator) -> u32 {
        ffi_panic_boundary! {
            try_ref_from_ptr!(coordinator).lock().len()
        }
    }

    /// `rank`'s state (an `ftf_health`) and incarnation. `FTF_OK`; `FTF_UNKNOWN_PARTITION`;
    /// `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_health(
        coordinator: *const ftf_coordinator,
        rank: u32,
        health_out: *mut u32,
        incarnation_out: *mut u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            write_health(&c.lock(), rank, health_out, incarnation_out)
        }
    }

    /// The detection and recovery bookkeeping of `rank`. `FTF_OK`; `FTF_UNKNOWN_PARTITION`;
    /// `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_partition(
        coordinator: *const ftf_coordinator,
        rank: u32,
        info_out: *mut ftf_partition_info,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            write_partition(&c.lock(), rank, info_out)
        }
    }

    /// The statistics of `rank` (per-signal consecutive failures, suspicions, failures,
    /// recoveries, last report time, last detection and recovery latency). `FTF_OK`;
    /// `FTF_UNKNOWN_PARTITION`; `FTF_NULL_PARAMETER`; in the bare-metal build, whose
    /// coordinator keeps no per-partition statistics, `FTF_UNEXPECTED_STATE` for a known
    /// rank.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_partition_stats(
        coordinator: *const ftf_coordinator,
        rank: u32,
        stats_out: *mut ftf_partition_stats,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            write_partition_stats(&c.lock(), rank, stats_out)
        }
    }

    /// Per-state counts (O(1)). `FTF_OK`; `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_counts(
        coordinator: *const ftf_coordinator,
        counts_out: *mut ftf_counts,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            let out = try_out!(counts_out);
            *out = c.lock().counts().into();
            ftf_result::FTF_OK
        }
    }

    /// The current members: ranks that are not ABSENT (O(1)); 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_members(coordinator: *const ftf_coordinator) -> u32 {
        ffi_panic_boundary! {
            try_ref_from_ptr!(coordinator).lock().members()
        }
    }

    /// Whether HEALTHY partitions are a strict majority of the current members (ABSENT ranks
    /// count on neither side); false for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_has_quorum(coordinator: *const ftf_coordinator) -> bool {
        ffi_panic_boundary! {
            try_ref_from_ptr!(coordinator).lock().has_quorum()
        }
    }

    /// The running attempt of `rank` (`phase` = its current phase). `FTF_OK`;
    /// `FTF_NO_RECOVERY` (none running); `FTF_UNKNOWN_PARTITION`; `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_recovery(
        coordinator: *const ftf_coordinator,
        rank: u32,
        job_out: *mut ftf_phase_job,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            write_recovery(&c.lock(), rank, job_out)
        }
    }

    /// Attempts holding the recovery lock now; 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_in_progress(coordinator: *const ftf_coordinator) -> u32 {
        ffi_panic_boundary! {
            try_ref_from_ptr!(coordinator).lock().in_progress()
        }
    }

    /// Whether recovery mode is active (the forest is paused or being paused); false for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_in_recovery_mode(
        coordinator: *const ftf_coordinator,
    ) -> bool {
        ffi_panic_boundary! {
            try_ref_from_ptr!(coordinator).lock().in_recovery_mode()
        }
    }

    /// Whether `rank` waits in the recovery queue; false for NULL or an unknown rank.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_is_queued(
        coordinator: *const ftf_coordinator,
        rank: u32,
    ) -> bool {
        ffi_panic_boundary! {
            try_ref_from_ptr!(coordinator).lock().is_queued(rank)
        }
    }

    /// Whether the event outbox has room for one more input's events (then the next report,
    /// phase result or retry does not return `FTF_OUTBOX_FULL`; draining
    /// `ftf_coordinator_poll_event` until `FTF_EMPTY` always makes it true); false for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_has_outbox_room(coordinator: *const ftf_coordinator) -> bool {
        ffi_panic_boundary! {
            try_ref_from_ptr!(coordinator).lock().has_outbox_room()
        }
    }

    /// Events waiting to be polled; 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_pending_events(coordinator: *const ftf_coordinator) -> u32 {
        ffi_panic_boundary! {
            u32::try_from(try_ref_from_ptr!(coordinator).lock().pending_events()).unwrap_or(u32::MAX)
        }
    }

    /// A statistics snapshot. `FTF_OK`; `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_stats(
        coordinator: *const ftf_coordinator,
        stats_out: *mut ftf_stats,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            let out = try_out!(stats_out);
            *out = c.lock().stats().into();
            ftf_result::FTF_OK
        }
    }

    /// The health level (an `ftf_level`) from live counts; `FTF_LEVEL_QUORUM_LOST` for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_level(coordinator: *const ftf_coordinator) -> u32 {
        ffi_panic_boundary! {
            let Some(c) = try_from(coordinator) else {
                return crate::enums::ftf_level::FTF_LEVEL_QUORUM_LOST as u32;
            };
            c.lock().level() as u8 as u32
        }
    }

    /// The alerts raised at `now_ns` (`FTF_ALERT_*` bits); 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_alerts(
        coordinator: *const ftf_coordinator,
        now_ns: u64,
    ) -> u32 {
        ffi_panic_boundary! {
            try_ref_from_ptr!(coordinator).lock().alerts(Instant::from_nanos(now_ns)).0
        }
    }

    #[cfg(feature = "std")]
    /// Writes the statistics, level and alerts at `now_ns` as OpenMetrics text
    /// (NUL-terminated) into `buf[0..len)`; see `ftf_stats_metrics` for the buffer contract.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_metrics(
        coordinator: *const ftf_coordinator,
        now_ns: u64,
        buf: *mut core::ffi::c_char,
        len: usize,
        needed_out: *mut usize,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            let (stats, level, alerts) = {
                let g = c.lock();
                (g.stats(), g.level(), g.alerts(Instant::from_nanos(now_ns)))
            };
            let text = crate::metrics::text(&stats, level, alerts, c.tracker.in_flight());
            crate::metrics::write_text(&text, buf, len, needed_out)
        }
    }
}
