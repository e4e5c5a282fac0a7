//! `ftf_partition_table`: per-partition health (state + incarnation in one atomic word),
//! per-state counts and the O(1) quorum test, for C.
//!
//! Invariants:
//!
//! * Health states cross the ABI as `uint32_t` (`ftf_health` values) and are range-checked
//!   (`FTF_UNKNOWN_ENUM`); "any state" / "any incarnation" are the sentinels `FTF_HEALTH_ANY`
//!   and `FTF_INCARNATION_ANY` (`UINT32_MAX`; incarnations have 29 bits, so no real value
//!   collides).
//! * The table is `Arc`-owned and `Sync`: transitions from many threads race safely; exactly
//!   one caller receives each `ftf_transition` (the core's CAS), so a C embedder that emits one
//!   event per returned transition emits exactly one event per change.
//! * Storage is a `Box<[HealthCell]>` of exactly `n` cells, allocated by `_new`.

use ftforest_core::{
    has_quorum, is_allowed, Counts, Health, HealthCell, PartitionTable, TableTransitionError,
    Transition,
};

#[cfg(feature = "std")]
use crate::handle::{arc_into_const_ptr, free_arc, to_arc_const_ptr, try_boxed, try_clone_arc};
use crate::handle::{try_out, try_ref_from_ptr, Castable, OwnershipArc};
use crate::panic::ffi_panic_boundary;
use crate::result::ftf_result;

/// Health of one partition (passed as `uint32_t`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ftf_health {
    /// Working normally; counts towards the quorum.
    FTF_HEALTH_HEALTHY = 0,
    /// Reported faulty, not yet confirmed.
    FTF_HEALTH_SUSPECTED = 1,
    /// Confirmed failed; waits for recovery.
    FTF_HEALTH_FAILED = 2,
    /// A recovery is running.
    FTF_HEALTH_RECOVERING = 3,
    /// Not a member (left, decommissioned, or not joined yet): counted nowhere, not in the
    /// quorum's denominator, no detection, no recovery (`ftf_coordinator_join` /
    /// `ftf_forest_join` bring it back HEALTHY with a new incarnation).
    FTF_HEALTH_ABSENT = 4,
}

/// "Any state" for the `from` argument of `ftf_partition_table_transition`.
pub const FTF_HEALTH_ANY: u32 = u32::MAX;
/// "Any (the current) incarnation" for the `incarnation` argument of
/// `ftf_partition_table_transition`.
pub const FTF_INCARNATION_ANY: u32 = u32::MAX;

/// Range-checks a health value from C.
pub(crate) fn health_from_u32(v: u32) -> Option<Health> {
    u8::try_from(v).ok().and_then(|b| Health::from_u8(b).ok())
}

/// One successful state change (exactly one caller receives each).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ftf_transition {
    /// The state replaced (an `ftf_health`).
    pub from: u32,
    /// The new state (an `ftf_health`).
    pub to: u32,
    /// The incarnation after the change (bumped on entering HEALTHY).
    pub incarnation: u32,
}

impl From<Transition> for ftf_transition {
    fn from(t: Transition) -> Self {
        ftf_transition {
            from: u32::from(t.from.as_u8()),
            to: u32::from(t.to.as_u8()),
            incarnation: t.incarnation,
        }
    }
}

/// Number of partitions per state.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ftf_counts {
    /// Partitions HEALTHY.
    pub healthy: u32,
    /// Partitions SUSPECTED.
    pub suspected: u32,
    /// Partitions FAILED.
    pub failed: u32,
    /// Partitions RECOVERING.
    pub recovering: u32,
    /// Ranks ABSENT (not members; the members are the other four counts).
    pub absent: u32,
}

impl From<Counts> for ftf_counts {
    fn from(c: Counts) -> Self {
        ftf_counts {
            healthy: c.healthy,
            suspected: c.suspected,
            failed: c.failed,
            recovering: c.recovering,
            absent: c.absent,
        }
    }
}

impl From<TableTransitionError> for ftf_result {
    fn from(e: TableTransitionError) -> Self {
        match e {
            TableTransitionError::UnknownPartition { .. } => ftf_result::FTF_UNKNOWN_PARTITION,
            TableTransitionError::Invalid { .. } => ftf_result::FTF_INVALID_TRANSITION,
            TableTransitionError::Stale { .. } => ftf_result::FTF_STALE,
            TableTransitionError::UnexpectedState { .. } => ftf_result::FTF_UNEXPECTED_STATE,
            _ => ftf_result::FTF_INVALID_ARGUMENT,
        }
    }
}

/// The Rust table behind an `ftf_partition_table` handle.
pub(crate) type FfiTable = PartitionTable<crate::storage::Cells<HealthCell>>;

/// Partitions `0..n`, each with a health state and an incarnation; per-state counts; quorum.
///
/// Shared (`const ftf_partition_table *`): thread-safe, lock-free.
#[allow(non_camel_case_types)]
pub struct ftf_partition_table {
    _private: [u8; 0],
}

impl Castable for ftf_partition_table {
    type Ownership = OwnershipArc;
    type RustType = FfiTable;
}

/// The name of health state `health` (`"HEALTHY"`, ...) as a static NUL-terminated string;
/// `"UNKNOWN"` for a value that is not an `ftf_health`. Never NULL.
#[no_mangle]
pub extern "C" fn ftf_health_name(health: u32) -> *const core::ffi::c_char {
    ffi_panic_boundary! {
        match health_from_u32(health) {
            Some(Health::Healthy) => c"HEALTHY".as_ptr(),
            Some(Health::Suspected) => c"SUSPECTED".as_ptr(),
            Some(Health::Failed) => c"FAILED".as_ptr(),
            Some(Health::Recovering) => c"RECOVERING".as_ptr(),
            Some(Health::Absent) => c"ABSENT".as_ptr(),
            None => c"UNKNOWN".as_ptr(),
        }
    }
}

/// True when `from -> to` is in the transition table (HEALTHY->SUSPECTED, SUSPECTED->HEALTHY,
/// SUSPECTED->FAILED, FAILED->RECOVERING, RECOVERING->HEALTHY, RECOVERING->FAILED; membership:
/// HEALTHY/SUSPECTED/FAILED->ABSENT, ABSENT->HEALTHY, FAILED->HEALTHY); false for every other
/// pair, including unknown values.
#[no_mangle]
pub extern "C" fn ftf_health_transition_allowed(from: u32, to: u32) -> bool {
    ffi_panic_boundary! {
        match (health_from_u32(from), health_from_u32(to)) {
            (Some(f), Some(t)) => is_allowed(f, t),
            _ => false,
        }
    }
}

/// The quorum rule: `healthy > total / 2` (integer division, strict majority). Tables and
/// coordinators pass their current members as `total` (ABSENT ranks are not counted).
#[no_mangle]
pub extern "C" fn ftf_has_quorum(healthy: u32, total: u32) -> bool {
    ffi_panic_boundary! {
        has_quorum(healthy, total)
    }
}

impl ftf_partition_table {
    #[cfg(feature = "std")]
    /// Creates a table of `n` partitions (ranks `0..n`), all HEALTHY with incarnation 0.
    ///
    /// `FTF_INVALID_ARGUMENT` when `n == 0` or `n > 2^31 - 1` (refused before allocating);
    /// `FTF_OUT_OF_MEMORY` (the cells for `n` partitions could not be allocated);
    /// `FTF_NULL_PARAMETER`. On `FTF_OK`, `*table_out` owns one reference (free with
    /// `ftf_partition_table_free`).
    #[no_mangle]
    pub extern "C" fn ftf_partition_table_new(
        n: u32,
        table_out: *mut *const ftf_partition_table,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let out = try_out!(table_out);
            if n == 0 || n > ftforest_core::MAX_PARTITIONS {
                return ftf_result::FTF_INVALID_ARGUMENT;
            }
            let Some(cells) = try_boxed(n as usize, HealthCell::new) else {
                return ftf_result::FTF_OUT_OF_MEMORY;
            };
            match PartitionTable::new(cells, n) {
                Ok(t) => {
                    *out = to_arc_const_ptr::<ftf_partition_table>(t);
                    ftf_result::FTF_OK
                }
                Err(_) => ftf_result::FTF_INVALID_ARGUMENT,
            }
        }
    }

    #[cfg(feature = "std")]
    /// Adds a reference; returns the same pointer (NULL for NULL).
    #[no_mangle]
    pub extern "C" fn ftf_partition_table_clone(
        table: *const ftf_partition_table,
    ) -> *const ftf_partition_table {
        ffi_panic_boundary! {
            arc_into_const_ptr::<ftf_partition_table>(try_clone_arc!(table))
        }
    }

    #[cfg(feature = "std")]
    /// Drops one reference; NULL is a no-op; the last one frees the table.
    #[no_mangle]
    pub extern "C" fn ftf_partition_table_free(table: *const ftf_partition_table) {
        ffi_panic_boundary! {
            free_arc(table);
        }
    }

    /// The number of partitions `n`; 0 for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_partition_table_len(table: *const ftf_partition_table) -> u32 {
        ffi_panic_boundary! {
            try_ref_from_ptr!(table).len()
        }
    }

    /// Reads partition `rank`'s state (an `ftf_health`) and incarnation in one atomic load.
    ///
    /// `FTF_OK`, `FTF_UNKNOWN_PARTITION`, `FTF_NULL_PARAMETER` (any pointer).
    #[no_mangle]
    pub extern "C" fn ftf_partition_table_get(
        table: *const ftf_partition_table,
        rank: u32,
        health_out: *mut u32,
        incarnation_out: *mut u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let t = try_ref_from_ptr!(table);
            let h_out = try_out!(health_out);
            let i_out = try_out!(incarnation_out);
            match t.get(rank) {
                Ok((h, inc)) => {
                    *h_out = u32::from(h.as_u8());
                    *i_out = inc;
                    ftf_result::FTF_OK
                }
                Err(_) => ftf_result::FTF_UNKNOWN_PARTITION,
            }
        }
    }

    /// Moves partition `rank` to `to` along the transition table, atomically, keeping the
    /// counts in step. `from`: the state required now (`FTF_HEALTH_ANY` = any);
    /// `incarnation`: the life the caller's report is about (`FTF_INCARNATION_ANY` = current).
    ///
    /// `FTF_OK` (`*transition_out` written; exactly one racing caller gets it);
    /// `FTF_UNKNOWN_PARTITION`; `FTF_UNKNOWN_ENUM` (bad `from`/`to`); `FTF_STALE` (other
    /// incarnation); `FTF_UNEXPECTED_STATE` (not in `from`); `FTF_INVALID_TRANSITION` (edge
    /// not in the table); `FTF_NULL_PARAMETER`. An error changes nothing.
    #[no_mangle]
    pub extern "C" fn ftf_partition_table_transition(
        table: *const ftf_partition_table,
        rank: u32,
        from: u32,
        to: u32,
        incarnation: u32,
        transition_out: *mut ftf_transition,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let t = try_ref_from_ptr!(table);
            let out = try_out!(transition_out);
            let from = if from == FTF_HEALTH_ANY {
                None
            } else {
                match health_from_u32(from) {
                    Some(h) => Some(h),
                    None => return ftf_result::FTF_UNKNOWN_ENUM,
                }
            };
            let Some(to) = health_from_u32(to) else {
                return ftf_result::FTF_UNKNOWN_ENUM;
            };
            let inc = (incarnation != FTF_INCARNATION_ANY).then_some(incarnation);
            match t.transition(rank, from, to, inc) {
                Ok(tr) => {
                    *out = tr.into();
                    ftf_result::FTF_OK
                }
                Err(e) => e.into(),
            }
        }
    }

    /// The number of partitions in state `health` (O(1)); 0 for NULL or an unknown state.
    #[no_mangle]
    pub extern "C" fn ftf_partition_table_count(
        table: *const ftf_partition_table,
        health: u32,
    ) -> u32 {
        ffi_panic_boundary! {
            let t = try_ref_from_ptr!(table);
            health_from_u32(health).map_or(0, |h| t.count(h))
        }
    }

    /// All five counts (O(1), maintained atomically).
    #[no_mangle]
    pub extern "C" fn ftf_partition_table_counts(
        table: *const ftf_partition_table,
        counts_out: *mut ftf_counts,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let t = try_ref_from_ptr!(table);
            let out = try_out!(counts_out);
            *out = t.counts().into();
            ftf_result::FTF_OK
        }
    }

    /// All five counts by a full O(n) scan; equals `ftf_partition_table_counts` when no
    /// transition is in progress.
    #[no_mangle]
    pub extern "C" fn ftf_partition_table_scan(
        table: *const ftf_partition_table,
        counts_out: *mut ftf_counts,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let t = try_ref_from_ptr!(table);
            let out = try_out!(counts_out);
            *out = t.scan().into();
            ftf_result::FTF_OK
        }
    }

    /// True when a strict majority of all partitions is HEALTHY (O(1)); false for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_partition_table_has_quorum(table: *const ftf_partition_table) -> bool {
        ffi_panic_boundary! {
            try_ref_from_ptr!(table).has_quorum()
        }
    }
}
