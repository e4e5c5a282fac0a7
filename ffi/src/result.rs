//! The one result enum of the C ABI, and its names.
//!
//! Invariants:
//!
//! * `FTF_OK` is `0`, so C can write `if (rc) ...`.
//! * Codes are grouped in families of a hundred: 1xx argument errors (the call was wrong),
//!   2xx state errors (the call was right but the object's state refused it), 3xx capacity,
//!   4xx callbacks, 5xx the cluster (`ftf_cluster_*`: etcd and the distributed protocol;
//!   present in every build so that numbers never depend on features), 9xx internal. A code's number never changes and a retired number is never
//!   reused (keep it here as a comment "reserved").
//! * Values coming *from* C are never transmuted into this enum: [`ftf_result::from_u32`]
//!   maps unknown numbers to `None` (a C value outside the enum would be UB as a Rust enum).

use core::ffi::c_char;

use crate::panic::ffi_panic_boundary;

/// Result of every fallible libftforest function.
///
/// Out-parameters are written only when the function returns `FTF_OK` (a size or count
/// out-parameter also with `FTF_BUFFER_TOO_SMALL`); there are no partial successes. Use `ftf_result_name()` / `ftf_result_message()` for text.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ftf_result {
    /// Success.
    FTF_OK = 0,

    // ---- 1xx: argument errors ----
    /// A required pointer argument was NULL.
    FTF_NULL_PARAMETER = 100,
    /// An argument is out of its documented range (a zero capacity, an out-of-range number...).
    FTF_INVALID_ARGUMENT = 101,
    /// A partition rank is not in `0..n`.
    FTF_UNKNOWN_PARTITION = 102,
    /// The caller's buffer is too small; the size needed was reported, nothing was written.
    FTF_BUFFER_TOO_SMALL = 103,
    /// An enum value passed as `uint32_t` is not one of the documented constants.
    FTF_UNKNOWN_ENUM = 104,
    /// A token, permit or subscription belongs to another object.
    FTF_FOREIGN_HANDLE = 105,
    /// A configuration value was refused; `ftf_config_builder_error_field()` names the field.
    FTF_INVALID_CONFIG = 106,
    /// Storage handed to a constructor is still in use by another lock or queue (the core's
    /// `StorageInUse`). The C constructors allocate fresh storage, so they do not return it
    /// today; the code is fixed for a constructor over caller storage.
    FTF_STORAGE_IN_USE = 107,

    // ---- 2xx: state errors ----
    /// The tracker is paused: the operation was rejected (never queued).
    FTF_PAUSED = 200,
    /// Resume of a pause that is not held (never paused, already resumed, or stale).
    FTF_NOT_PAUSED = 201,
    /// A deadline passed before the condition was reached.
    FTF_TIMEOUT = 202,
    /// The partitions do not have a quorum (strict majority healthy).
    FTF_NO_QUORUM = 203,
    /// The partition is already being recovered (or the object is busy with it; an
    /// `ftf_op_slot` that already holds an operation).
    FTF_BUSY = 204,
    /// End of an operation token or slot that is not in flight (already ended, or never
    /// begun).
    FTF_NOT_IN_FLIGHT = 205,
    /// The requested health or phase transition is not in the transition table.
    FTF_INVALID_TRANSITION = 206,
    /// A report or transition named an incarnation that is not the partition's current one
    /// (any mismatch: older, or one the partition never had).
    FTF_STALE = 207,
    /// The partition is not in the state the call required.
    FTF_UNEXPECTED_STATE = 208,
    /// A permit release by a caller that does not hold it (already released or stale).
    FTF_NOT_HOLDER = 209,
    /// Nothing to return (empty queue, no pending action or event).
    FTF_EMPTY = 210,
    /// The coordinator's monitor is already running.
    FTF_ALREADY_RUNNING = 211,
    /// The coordinator's monitor is not running.
    FTF_NOT_RUNNING = 212,
    /// The recovery referred to is not in progress (finished, abandoned, or never started).
    FTF_NO_RECOVERY = 213,

    // ---- 3xx: capacity ----
    /// The maximum number of concurrent recoveries is reached.
    FTF_AT_CAPACITY = 300,
    /// A bounded container (queue, outbox, listener slots) is full.
    FTF_FULL = 301,
    /// The item is already present (a partition queued twice; a partition joining that is
    /// already a member).
    FTF_DUPLICATE = 302,
    /// A counter would overflow (too many operations in flight on one stripe).
    FTF_OVERFLOW = 303,
    /// Too many concurrent pause holders.
    FTF_TOO_MANY_PAUSERS = 304,
    /// The coordinator's event outbox has no room for this input's events: drain
    /// `ftf_coordinator_poll_event`, then call again. Nothing changed (backpressure: no event
    /// is ever dropped).
    FTF_OUTBOX_FULL = 305,
    /// The memory for the size asked for could not be allocated (a constructor with a large
    /// `n` or capacity); nothing was created. Never an abort of the process.
    FTF_OUT_OF_MEMORY = 306,

    // ---- 4xx: callbacks ----
    /// An embedder callback reported failure.
    FTF_CALLBACK_FAILED = 400,

    // ---- 5xx: the cluster (ftf_cluster_*; see ffi/src/cluster/error.rs) ----
    /// No etcd endpoint answered within the connect timeout.
    FTF_UNREACHABLE = 500,
    /// The cluster's `config` key holds other n / K / TTL / layout than this configuration.
    FTF_CONFIG_MISMATCH = 501,
    /// A hosted rank is held by another live process.
    FTF_RANK_HELD = 502,
    /// A hosted rank's previous incarnation failed (it is being, or was, recovered
    /// elsewhere): it cannot be registered again (zombie rejoin refused).
    FTF_ZOMBIE_REJOIN = 503,
    /// etcd did not answer or has no quorum (the request failed or timed out; nothing was
    /// applied).
    FTF_UNAVAILABLE = 504,
    /// A write got no answer: it may or may not have been applied.
    FTF_AMBIGUOUS = 505,
    /// This process passed its self-fence deadline: nothing was sent.
    FTF_SELF_FENCED = 506,
    /// This process's lease expired or was revoked: the member is dead; free it.
    FTF_LEASE_LOST = 507,

    // ---- 9xx: internal ----
    /// A bug inside libftforest was caught at the boundary; the call had no further effect.
    FTF_PANIC = 900,
}

impl ftf_result {
    /// Every code except `FTF_PANIC`, in numeric order.
    ///
    /// cbindgen:ignore
    pub const ALL: [ftf_result; 39] = [
        ftf_result::FTF_OK,
        ftf_result::FTF_NULL_PARAMETER,
        ftf_result::FTF_INVALID_ARGUMENT,
        ftf_result::FTF_UNKNOWN_PARTITION,
        ftf_result::FTF_BUFFER_TOO_SMALL,
        ftf_result::FTF_UNKNOWN_ENUM,
        ftf_result::FTF_FOREIGN_HANDLE,
        ftf_result::FTF_INVALID_CONFIG,
        ftf_result::FTF_STORAGE_IN_USE,
        ftf_result::FTF_PAUSED,
        ftf_result::FTF_NOT_PAUSED,
        ftf_result::FTF_TIMEOUT,
        ftf_result::FTF_NO_QUORUM,
        ftf_result::FTF_BUSY,
        ftf_result::FTF_NOT_IN_FLIGHT,
        ftf_result::FTF_INVALID_TRANSITION,
        ftf_result::FTF_STALE,
        ftf_result::FTF_UNEXPECTED_STATE,
        ftf_result::FTF_NOT_HOLDER,
        ftf_result::FTF_EMPTY,
        ftf_result::FTF_ALREADY_RUNNING,
        ftf_result::FTF_NOT_RUNNING,
        ftf_result::FTF_NO_RECOVERY,
        ftf_result::FTF_AT_CAPACITY,
        ftf_result::FTF_FULL,
        ftf_result::FTF_DUPLICATE,
        ftf_result::FTF_OVERFLOW,
        ftf_result::FTF_TOO_MANY_PAUSERS,
        ftf_result::FTF_OUTBOX_FULL,
        ftf_result::FTF_OUT_OF_MEMORY,
        ftf_result::FTF_CALLBACK_FAILED,
        ftf_result::FTF_UNREACHABLE,
        ftf_result::FTF_CONFIG_MISMATCH,
        ftf_result::FTF_RANK_HELD,
        ftf_result::FTF_ZOMBIE_REJOIN,
        ftf_result::FTF_UNAVAILABLE,
        ftf_result::FTF_AMBIGUOUS,
        ftf_result::FTF_SELF_FENCED,
        ftf_result::FTF_LEASE_LOST,
    ];

    /// The code with number `n`, or `None` when `n` is not a code.
    pub fn from_u32(n: u32) -> Option<ftf_result> {
        if n == ftf_result::FTF_PANIC as u32 {
            return Some(ftf_result::FTF_PANIC);
        }
        ftf_result::ALL.iter().copied().find(|r| *r as u32 == n)
    }

    /// The constant's name as a NUL-terminated static string.
    pub fn name_cstr(self) -> &'static core::ffi::CStr {
        use ftf_result::*;
        match self {
            FTF_OK => c"FTF_OK",
            FTF_NULL_PARAMETER => c"FTF_NULL_PARAMETER",
            FTF_INVALID_ARGUMENT => c"FTF_INVALID_ARGUMENT",
            FTF_UNKNOWN_PARTITION => c"FTF_UNKNOWN_PARTITION",
            FTF_BUFFER_TOO_SMALL => c"FTF_BUFFER_TOO_SMALL",
            FTF_UNKNOWN_ENUM => c"FTF_UNKNOWN_ENUM",
            FTF_FOREIGN_HANDLE => c"FTF_FOREIGN_HANDLE",
            FTF_INVALID_CONFIG => c"FTF_INVALID_CONFIG",
            FTF_STORAGE_IN_USE => c"FTF_STORAGE_IN_USE",
            FTF_PAUSED => c"FTF_PAUSED",
            FTF_NOT_PAUSED => c"FTF_NOT_PAUSED",
            FTF_TIMEOUT => c"FTF_TIMEOUT",
            FTF_NO_QUORUM => c"FTF_NO_QUORUM",
            FTF_BUSY => c"FTF_BUSY",
            FTF_NOT_IN_FLIGHT => c"FTF_NOT_IN_FLIGHT",
            FTF_INVALID_TRANSITION => c"FTF_INVALID_TRANSITION",
            FTF_STALE => c"FTF_STALE",
            FTF_UNEXPECTED_STATE => c"FTF_UNEXPECTED_STATE",
            FTF_NOT_HOLDER => c"FTF_NOT_HOLDER",
            FTF_EMPTY => c"FTF_EMPTY",
            FTF_ALREADY_RUNNING => c"FTF_ALREADY_RUNNING",
            FTF_NOT_RUNNING => c"FTF_NOT_RUNNING",
            FTF_NO_RECOVERY => c"FTF_NO_RECOVERY",
            FTF_AT_CAPACITY => c"FTF_AT_CAPACITY",
            FTF_FULL => c"FTF_FULL",
            FTF_DUPLICATE => c"FTF_DUPLICATE",
            FTF_OVERFLOW => c"FTF_OVERFLOW",
            FTF_TOO_MANY_PAUSERS => c"FTF_TOO_MANY_PAUSERS",
            FTF_OUTBOX_FULL => c"FTF_OUTBOX_FULL",
            FTF_OUT_OF_MEMORY => c"FTF_OUT_OF_MEMORY",
            FTF_CALLBACK_FAILED => c"FTF_CALLBACK_FAILED",
            FTF_UNREACHABLE => c"FTF_UNREACHABLE",
            FTF_CONFIG_MISMATCH => c"FTF_CONFIG_MISMATCH",
            FTF_RANK_HELD => c"FTF_RANK_HELD",
            FTF_ZOMBIE_REJOIN => c"FTF_ZOMBIE_REJOIN",
            FTF_UNAVAILABLE => c"FTF_UNAVAILABLE",
            FTF_AMBIGUOUS => c"FTF_AMBIGUOUS",
            FTF_SELF_FENCED => c"FTF_SELF_FENCED",
            FTF_LEASE_LOST => c"FTF_LEASE_LOST",
            FTF_PANIC => c"FTF_PANIC",
        }
    }

    /// A one-line English description as a NUL-terminated static string.
    pub fn message_cstr(self) -> &'static core::ffi::CStr {
        use ftf_result::*;
        match self {
            FTF_OK => c"success",
            FTF_NULL_PARAMETER => c"a required pointer argument was NULL",
            FTF_INVALID_ARGUMENT => c"an argument is out of range",
            FTF_UNKNOWN_PARTITION => c"partition rank out of range",
            FTF_BUFFER_TOO_SMALL => c"buffer too small; size needed reported",
            FTF_UNKNOWN_ENUM => c"unknown enum value",
            FTF_FOREIGN_HANDLE => c"token or handle belongs to another object",
            FTF_INVALID_CONFIG => c"invalid configuration value",
            FTF_STORAGE_IN_USE => c"storage still in use by another object",
            FTF_PAUSED => c"operations are paused",
            FTF_NOT_PAUSED => c"pause not held",
            FTF_TIMEOUT => c"deadline passed",
            FTF_NO_QUORUM => c"no quorum of healthy partitions",
            FTF_BUSY => c"busy: partition already being recovered, or slot already in use",
            FTF_NOT_IN_FLIGHT => c"operation not in flight",
            FTF_INVALID_TRANSITION => c"transition not allowed",
            FTF_STALE => c"stale incarnation",
            FTF_UNEXPECTED_STATE => c"partition not in the required state",
            FTF_NOT_HOLDER => c"permit not held by the caller",
            FTF_EMPTY => c"nothing available",
            FTF_ALREADY_RUNNING => c"monitor already running",
            FTF_NOT_RUNNING => c"monitor not running",
            FTF_NO_RECOVERY => c"no such recovery in progress",
            FTF_AT_CAPACITY => c"maximum concurrent recoveries reached",
            FTF_FULL => c"container full",
            FTF_DUPLICATE => c"item already present",
            FTF_OVERFLOW => c"counter overflow",
            FTF_TOO_MANY_PAUSERS => c"too many pause holders",
            FTF_OUTBOX_FULL => c"event outbox full: drain events, then call again",
            FTF_OUT_OF_MEMORY => c"cannot allocate memory for the size asked for",
            FTF_CALLBACK_FAILED => c"an embedder callback reported failure",
            FTF_UNREACHABLE => c"no etcd endpoint answered within the connect timeout",
            FTF_CONFIG_MISMATCH => c"the cluster's stored configuration differs from this one",
            FTF_RANK_HELD => c"a hosted rank is held by another live process",
            FTF_ZOMBIE_REJOIN => c"a hosted rank's previous incarnation failed: rejoin refused",
            FTF_UNAVAILABLE => c"etcd did not answer or has no quorum; nothing was applied",
            FTF_AMBIGUOUS => {
                c"a write got no answer or a transport error: it may or may not have been applied"
            }
            FTF_SELF_FENCED => c"past the self-fence deadline: nothing was sent",
            FTF_LEASE_LOST => c"the lease expired or was revoked: the member is dead",
            FTF_PANIC => c"internal error (caught panic)",
        }
    }
}

/// The constant name of result code `result` (e.g. `"FTF_PAUSED"`), as a static NUL-terminated
/// string; `"FTF_UNKNOWN_RESULT"` for a number that is not a code.
///
/// Never returns NULL; the string must not be freed. Thread-safe.
#[no_mangle]
pub extern "C" fn ftf_result_name(result: u32) -> *const c_char {
    ffi_panic_boundary! {
        match ftf_result::from_u32(result) {
            Some(r) => r.name_cstr().as_ptr(),
            None => c"FTF_UNKNOWN_RESULT".as_ptr(),
        }
    }
}

/// A one-line English description of result code `result`, as a static NUL-terminated string;
/// `"unknown result code"` for a number that is not a code.
///
/// Never returns NULL; the string must not be freed. Thread-safe.
#[no_mangle]
pub extern "C" fn ftf_result_message(result: u32) -> *const c_char {
    ffi_panic_boundary! {
        match ftf_result::from_u32(result) {
            Some(r) => r.message_cstr().as_ptr(),
            None => c"unknown result code".as_ptr(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ffi::CStr;

    #[test]
    fn codes_are_unique_sorted_and_named_after_themselves() {
        let mut prev: Option<u32> = None;
        for r in ftf_result::ALL
            .iter()
            .copied()
            .chain([ftf_result::FTF_PANIC])
        {
            let n = r as u32;
            if let Some(p) = prev {
                assert!(n > p, "codes must be strictly increasing: {p} then {n}");
            }
            prev = Some(n);
            assert_eq!(ftf_result::from_u32(n), Some(r));
            assert_eq!(r.name_cstr().to_str().ok(), Some(format!("{r:?}").as_str()));
            assert!(!r.message_cstr().to_bytes().is_empty());
        }
        assert_eq!(ftf_result::FTF_OK as u32, 0);
    }

    #[test]
    fn unknown_numbers_have_fallback_names() {
        for n in [1u32, 99, 199, 499, 508, 899, 901, u32::MAX] {
            assert_eq!(ftf_result::from_u32(n), None);
            // SAFETY: ftf_result_name never returns NULL and returns static C strings.
            let s = unsafe { CStr::from_ptr(ftf_result_name(n)) };
            assert_eq!(s.to_bytes(), b"FTF_UNKNOWN_RESULT");
            // SAFETY: as above.
            let m = unsafe { CStr::from_ptr(ftf_result_message(n)) };
            assert_eq!(m.to_bytes(), b"unknown result code");
        }
        // SAFETY: as above.
        let s = unsafe { CStr::from_ptr(ftf_result_name(200)) };
        assert_eq!(s.to_bytes(), b"FTF_PAUSED");
    }
}
