//! `ftf_coordinator`, fenced recovery and coordination availability (issue 8): the C side of
//! `ftforest_core::coord`'s `fence.rs`.
//!
//! With `ftf_config_builder_set_fenced(b, true)` an attempt that got its local lock permit
//! first asks for a fence: `FTF_ACTION_ACQUIRE_FENCE` (`job.rank`, `job.attempt`,
//! `job.number`), handed out once and answered with `ftf_coordinator_fence_granted` (a
//! non-zero token: the attempt starts, every `FTF_ACTION_RUN_PHASE` carries it in
//! `job.fence`) or `ftf_coordinator_fence_refused` (an `ftf_refusal`: no retry consumed, the
//! partition asks again after the fence retry time, except `FTF_REFUSAL_RECOVERED`). When a
//! granted attempt ends, `FTF_ACTION_RELEASE_FENCE` hands the token back exactly once
//! (`completed` only on success), before the resume hooks. A fence request not answered
//! within the recovery timeout (the cancel timeout when there is none) is abandoned
//! (`FTF_EVENT_FENCE_REFUSED` with `FTF_REFUSAL_TIMED_OUT`); its late grant is refused.
//!
//! **A refused grant is not used**: on any result but `FTF_OK` and `FTF_OUTBOX_FULL` (drain
//! events, answer again) the embedder releases what it acquired, except `FTF_BUSY` when
//! `ftf_coordinator_fence` reports the very token it offered (a duplicate grant).
//!
//! Invariants: every entry point NULL-checks its handle and out-parameters, runs inside the
//! panic boundary, range-checks enum values (`FTF_UNKNOWN_ENUM`) and changes nothing on an
//! error; out-parameters are written only on `FTF_OK`.

use ftforest_core::coord::FenceError;
use ftforest_core::Instant;

use crate::coordinator::ftf_coordinator;
use crate::enums::refusal_from_u32;
use crate::handle::{try_out, try_ref_from_ptr};
use crate::panic::ffi_panic_boundary;
use crate::result::ftf_result;

impl From<FenceError> for ftf_result {
    fn from(e: FenceError) -> Self {
        match e {
            FenceError::UnknownPartition => ftf_result::FTF_UNKNOWN_PARTITION,
            FenceError::ZeroToken => ftf_result::FTF_INVALID_ARGUMENT,
            FenceError::StaleAttempt | FenceError::Abandoned => ftf_result::FTF_NO_RECOVERY,
            FenceError::AlreadyGranted { .. } => ftf_result::FTF_BUSY,
            FenceError::OutboxFull => ftf_result::FTF_OUTBOX_FULL,
            // NotFenced, NotRequested, Unavailable.
            _ => ftf_result::FTF_UNEXPECTED_STATE,
        }
    }
}

impl ftf_coordinator {
    /// The fence asked for by `FTF_ACTION_ACQUIRE_FENCE` (attempt `attempt` of `rank`) was
    /// granted with `token` (non-zero). The attempt starts (FAILED→RECOVERING, recovery mode,
    /// pause, phases); each of its `FTF_ACTION_RUN_PHASE` jobs carries `job.fence = token`.
    /// Drain actions and events afterwards.
    ///
    /// `FTF_OK`; `FTF_NULL_PARAMETER`; `FTF_UNKNOWN_PARTITION`; `FTF_INVALID_ARGUMENT`
    /// (token 0); `FTF_NO_RECOVERY` (no such attempt: it ended, was refused, or was abandoned
    /// while waiting: the grant came too late); `FTF_BUSY` (the attempt was granted already:
    /// `ftf_coordinator_fence` names its token); `FTF_UNEXPECTED_STATE` (the configuration is
    /// not fenced, the request was not handed out yet, or coordination is unavailable);
    /// `FTF_OUTBOX_FULL` (drain `ftf_coordinator_poll_event`, then answer again). An error
    /// changes nothing and the coordinator does not use the token: release it (module docs).
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_fence_granted(
        coordinator: *const ftf_coordinator,
        now_ns: u64,
        rank: u32,
        attempt: u32,
        token: u64,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            match c.lock().fence_granted(Instant::from_nanos(now_ns), rank, attempt, token) {
                Ok(()) => ftf_result::FTF_OK,
                Err(e) => e.into(),
            }
        }
    }

    /// The fence asked for by `FTF_ACTION_ACQUIRE_FENCE` was refused (`refusal`, an
    /// `ftf_refusal`). The attempt ends without consuming a retry: its permit is released
    /// and the partition asks again after the fence retry time (`FTF_REFUSAL_RECOVERED`:
    /// never by itself; `ftf_coordinator_retry` schedules it again). Accepted while
    /// coordination is unavailable.
    ///
    /// `FTF_OK`; `FTF_NULL_PARAMETER`; `FTF_UNKNOWN_ENUM`; `FTF_UNKNOWN_PARTITION`;
    /// `FTF_NO_RECOVERY`; `FTF_BUSY` (already granted: the attempt runs on);
    /// `FTF_UNEXPECTED_STATE` (not fenced, or not handed out yet); `FTF_OUTBOX_FULL`. An
    /// error changes nothing.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_fence_refused(
        coordinator: *const ftf_coordinator,
        now_ns: u64,
        rank: u32,
        attempt: u32,
        refusal: u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            let Some(refusal) = refusal_from_u32(refusal) else {
                return ftf_result::FTF_UNKNOWN_ENUM;
            };
            match c.lock().fence_refused(Instant::from_nanos(now_ns), rank, attempt, refusal) {
                Ok(()) => ftf_result::FTF_OK,
                Err(e) => e.into(),
            }
        }
    }

    /// Tells the coordinator whether coordination (the fencing service) is available. While
    /// unavailable no attempt asks for a fence or starts (queued partitions wait; granted
    /// attempts go on), attempts waiting for their fence are abandoned
    /// (`FTF_EVENT_FENCE_REFUSED`, `FTF_REFUSAL_UNAVAILABLE`), the level is at least
    /// DEGRADED and `FTF_ALERT_COORDINATION_UNAVAILABLE` is raised. Each change emits one
    /// `FTF_EVENT_AVAILABILITY_CHANGED`; with a full outbox the state changes at once and the
    /// event waits for the next tick. Starts available.
    ///
    /// `FTF_OK`; `FTF_NULL_PARAMETER`. The bare-metal build has no fence machinery
    /// (ftforest-core without its `fence` feature): coordination is always available there,
    /// `available = true` changes nothing (`FTF_OK`) and `available = false` is refused with
    /// `FTF_UNEXPECTED_STATE`.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_set_available(
        coordinator: *const ftf_coordinator,
        now_ns: u64,
        available: bool,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            #[cfg(feature = "std")]
            {
                c.lock().set_available(Instant::from_nanos(now_ns), available);
                ftf_result::FTF_OK
            }
            #[cfg(not(feature = "std"))]
            {
                let _ = (c, now_ns);
                if available {
                    ftf_result::FTF_OK
                } else {
                    ftf_result::FTF_UNEXPECTED_STATE
                }
            }
        }
    }

    /// Whether coordination is available (`ftf_coordinator_set_available`); false for NULL.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_is_available(coordinator: *const ftf_coordinator) -> bool {
        ffi_panic_boundary! {
            try_ref_from_ptr!(coordinator).lock().is_available()
        }
    }

    /// The fencing token held by the attempt of `rank` (granted and not released yet).
    /// `FTF_OK` (`*token_out` = the token); `FTF_NO_RECOVERY` (none); `FTF_UNKNOWN_PARTITION`;
    /// `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_fence(
        coordinator: *const ftf_coordinator,
        rank: u32,
        token_out: *mut u64,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            let out = try_out!(token_out);
            c.lookup(rank, out, |c, r| c.fence(r))
        }
    }

    /// The attempt of `rank` waiting for its fence. `FTF_OK` (`*attempt_out` = its id);
    /// `FTF_NO_RECOVERY` (none); `FTF_UNKNOWN_PARTITION`; `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_coordinator_fencing(
        coordinator: *const ftf_coordinator,
        rank: u32,
        attempt_out: *mut u32,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(coordinator);
            let out = try_out!(attempt_out);
            c.lookup(rank, out, |c, r| c.fencing(r))
        }
    }
}
