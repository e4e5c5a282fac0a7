//! Observability and local signals of a member: statistics, the coordinator's view,
//! OpenMetrics, hosted ranks and incarnations, local reports and fault injection.
//!
//! Invariants: none of these touches the network or waits (the member's state is read
//! under its short internal lock), so each may be called from every callback, pause/resume
//! hooks included; they answer after a leave too (the last snapshot), except `report`
//! and `fault`, which need a live member.

use core::time::Duration;

use ftforest_cluster::Fault;

use super::member::ftf_cluster;
use crate::coordinator::make_report;
use crate::enums::ftf_report_kind;
use crate::handle::{try_out, try_ref_from_ptr};
use crate::panic::ffi_panic_boundary;
use crate::result::ftf_result;
use crate::stats::ftf_stats;
use crate::table::FTF_INCARNATION_ANY;

/// A snapshot of a member's counters (`ftf_cluster_stats_get`). Counters only grow;
/// `available` and `self_fenced` are current states.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ftf_cluster_stats {
    /// Keepalive requests sent.
    pub keepalives_sent: u64,
    /// Keepalive answers with a positive TTL.
    pub keepalive_acks: u64,
    /// Largest keepalive round trip seen, in microseconds.
    pub keepalive_rtt_max_us: u64,
    /// Watch events applied.
    pub watch_events: u64,
    /// Watches re-created.
    pub watch_restarts: u64,
    /// Re-lists after compaction.
    pub relists: u64,
    /// etcd requests sent.
    pub requests: u64,
    /// Requests with an ambiguous outcome (resolved by reading back).
    pub ambiguous: u64,
    /// Requests that failed outright.
    pub failed: u64,
    /// Fenced writes accepted.
    pub writes_accepted: u64,
    /// Fenced writes refused.
    pub writes_refused: u64,
    /// Recovery locks granted to this process.
    pub locks_granted: u64,
    /// Recoveries this process completed.
    pub recoveries_completed: u64,
    /// Cluster-wide pauses this process acknowledged.
    pub pauses_acked: u64,
    /// etcd answers (false while requests fail).
    pub available: bool,
    /// Past the self-fence deadline (or the lease is gone).
    pub self_fenced: bool,
}

/// A fault to inject with `ftf_cluster_fault` (tests, demo); crosses the ABI as `uint32_t`.
/// One per `ftforest_cluster::Fault` variant (the timed stall is
/// `ftf_cluster_fault_stall`).
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ftf_cluster_fault_kind {
    /// Stop sending keepalives (the process runs on; it fences itself at its deadline and
    /// etcd expires its lease).
    FTF_CLUSTER_FAULT_DROP_KEEPALIVES = 0,
    /// No fault: keepalives are sent again (`Fault::None`).
    FTF_CLUSTER_FAULT_RESUME_KEEPALIVES = 1,
}

impl ftf_cluster {
    /// The member's counters. `FTF_OK`; `FTF_NULL_PARAMETER`. Never blocks.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_stats_get(
        cluster: *const ftf_cluster,
        stats_out: *mut ftf_cluster_stats,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(cluster);
            let out = try_out!(stats_out);
            let s = c.member.stats();
            *out = ftf_cluster_stats {
                keepalives_sent: s.keepalives_sent,
                keepalive_acks: s.keepalive_acks,
                keepalive_rtt_max_us: s.keepalive_rtt_max_us,
                watch_events: s.watch_events,
                watch_restarts: s.watch_restarts,
                relists: s.relists,
                requests: s.requests,
                ambiguous: s.ambiguous,
                failed: s.failed,
                writes_accepted: s.writes_accepted,
                writes_refused: s.writes_refused,
                locks_granted: s.locks_granted,
                recoveries_completed: s.recoveries_completed,
                pauses_acked: s.pauses_acked,
                available: s.available,
                self_fenced: s.self_fenced,
            };
            ftf_result::FTF_OK
        }
    }

    /// The statistics of the member's coordinator (its view of the whole forest; the same
    /// struct as `ftf_forest_stats`). `FTF_OK`; `FTF_NULL_PARAMETER`. Never blocks.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_coordinator_stats(
        cluster: *const ftf_cluster,
        stats_out: *mut ftf_stats,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(cluster);
            let out = try_out!(stats_out);
            *out = c.member.coordinator_snapshot().0.into();
            ftf_result::FTF_OK
        }
    }

    /// The health level of the member's coordinator (`*level_out` = an `ftf_level`).
    /// `FTF_OK`; `FTF_NULL_PARAMETER`. Never blocks.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_level(
        cluster: *const ftf_cluster,
        level_out: *mut u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(cluster);
            let out = try_out!(level_out);
            *out = c.member.coordinator_snapshot().1 as u8 as u32;
            ftf_result::FTF_OK
        }
    }

    /// The member's OpenMetrics text (`ftforest_cluster_*` counters, then its coordinator's
    /// samples, `# EOF`), NUL-terminated, into `buf[0..len)`; the convention of
    /// `ftf_forest_metrics`: `*needed_out` = the size including the NUL on `FTF_OK` and on
    /// `FTF_BUFFER_TOO_SMALL` (then nothing is written); `buf` may be NULL when `len` is 0.
    /// `FTF_NULL_PARAMETER`. Never blocks.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_metrics(
        cluster: *const ftf_cluster,
        buf: *mut core::ffi::c_char,
        len: usize,
        needed_out: *mut usize,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(cluster);
            let mut text = String::with_capacity(4096);
            c.member.openmetrics(&mut text);
            crate::metrics::write_text(&text, buf, len, needed_out)
        }
    }

    /// The ranks hosted now (ascending; recovered ranks are added on completion) into
    /// `buf[0..cap)`. `FTF_OK` (`*count_out` = how many); `FTF_BUFFER_TOO_SMALL`
    /// (`*count_out` = how many there are, nothing written; `buf` may be NULL when `cap`
    /// is 0); `FTF_NULL_PARAMETER`. Never blocks.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_ranks(
        cluster: *const ftf_cluster,
        buf: *mut u32,
        cap: usize,
        count_out: *mut usize,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(cluster);
            let out = try_out!(count_out);
            let ranks = c.member.ranks();
            if ranks.len() > cap {
                *out = ranks.len();
                return ftf_result::FTF_BUFFER_TOO_SMALL;
            }
            if buf.is_null() && !ranks.is_empty() {
                return ftf_result::FTF_NULL_PARAMETER;
            }
            if !ranks.is_empty() {
                // SAFETY: C contract: `buf` points to `cap` writable `uint32_t`s, and
                // `ranks.len() <= cap`.
                let dst = unsafe { core::slice::from_raw_parts_mut(buf, ranks.len()) };
                dst.copy_from_slice(&ranks);
            }
            *out = ranks.len();
            ftf_result::FTF_OK
        }
    }

    /// The incarnation (its member key's create revision, an etcd revision) of a rank this
    /// process hosts now. `FTF_OK`; `FTF_UNKNOWN_PARTITION` (`rank >= n` or not hosted
    /// here); `FTF_NULL_PARAMETER`. Never blocks.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_incarnation(
        cluster: *const ftf_cluster,
        rank: u32,
        incarnation_out: *mut u64,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(cluster);
            let out = try_out!(incarnation_out);
            match c.member.incarnation(rank) {
                Some(i) => {
                    *out = i;
                    ftf_result::FTF_OK
                }
                None => ftf_result::FTF_UNKNOWN_PARTITION,
            }
        }
    }

    /// Feeds a local observation (`kind`: an `ftf_report_kind`) about `rank` to the member's
    /// coordinator: it may raise SUSPECTED (an event), never FAILED, and never starts a
    /// recovery (etcd confirms crashes). `FTF_OK`; `FTF_INVALID_ARGUMENT`
    /// (`FTF_REPORT_CRASHED`); `FTF_UNKNOWN_ENUM`; `FTF_UNKNOWN_PARTITION`;
    /// `FTF_UNEXPECTED_STATE` (the coordinator refused it, e.g. the rank is not a member);
    /// `FTF_NOT_RUNNING`; `FTF_LEASE_LOST`; `FTF_NULL_PARAMETER`. Never blocks.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_report(
        cluster: *const ftf_cluster,
        kind: u32,
        rank: u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(cluster);
            if kind == ftf_report_kind::FTF_REPORT_CRASHED as u32 {
                return ftf_result::FTF_INVALID_ARGUMENT;
            }
            let Some(report) = make_report(kind, rank, FTF_INCARNATION_ANY) else {
                return ftf_result::FTF_UNKNOWN_ENUM;
            };
            if let Err(e) = c.alive() {
                return e;
            }
            if rank >= c.n {
                return ftf_result::FTF_UNKNOWN_PARTITION;
            }
            if c.member.report(report) {
                ftf_result::FTF_OK
            } else {
                ftf_result::FTF_UNEXPECTED_STATE
            }
        }
    }

    /// Injects a fault (`fault`: an `ftf_cluster_fault_kind`; replaces the previous one). Tests
    /// and demos. `FTF_OK`; `FTF_UNKNOWN_ENUM`; `FTF_NOT_RUNNING`; `FTF_LEASE_LOST`;
    /// `FTF_NULL_PARAMETER`. Never blocks.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_fault(cluster: *const ftf_cluster, fault: u32) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(cluster);
            let f = match fault {
                0 => Fault::DropKeepalives,
                1 => Fault::None,
                _ => return ftf_result::FTF_UNKNOWN_ENUM,
            };
            if let Err(e) = c.alive() {
                return e;
            }
            c.member.fault(f);
            ftf_result::FTF_OK
        }
    }

    /// Injects `Fault::Stall`: the member's driver stops processing anything (watch,
    /// keepalives, timers, writes) for `ms` milliseconds, like a GC pause (tests, demos).
    /// `FTF_OK`; `FTF_INVALID_ARGUMENT` (`ms` 0 or above 3,600,000); `FTF_NOT_RUNNING`;
    /// `FTF_LEASE_LOST`; `FTF_NULL_PARAMETER`. Never blocks (the stall happens in the
    /// driver).
    #[no_mangle]
    pub extern "C" fn ftf_cluster_fault_stall(cluster: *const ftf_cluster, ms: u64) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(cluster);
            if ms == 0 || ms > 3_600_000 {
                return ftf_result::FTF_INVALID_ARGUMENT;
            }
            if let Err(e) = c.alive() {
                return e;
            }
            c.member.fault(Fault::Stall(Duration::from_millis(ms)));
            ftf_result::FTF_OK
        }
    }
}
