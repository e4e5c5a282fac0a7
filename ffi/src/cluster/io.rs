//! Fenced I/O of a member: `ftf_cluster_put`, `ftf_cluster_get`, `ftf_cluster_check_fence`.
//!
//! Invariants: `check_fence` is local (the member's state under its short internal lock; no
//! network, never waits for I/O); `put` and `get` block the calling thread on the member's
//! runtime, each bounded by the request timeout, and are refused (`FTF_BUSY`) inside a
//! pause/resume hook (the pause ack waits for it); out-parameters are written only on
//! `FTF_OK` (and `*len_out` with `FTF_BUFFER_TOO_SMALL`).

use super::error::write_error;
use super::member::ftf_cluster;
use crate::handle::{out_bytes, try_out, try_ref_from_ptr};
use crate::panic::ffi_panic_boundary;
use crate::result::ftf_result;

/// Largest value `ftf_cluster_put` sends, in bytes (etcd refuses requests above 1.5 MiB by
/// default): larger is `FTF_INVALID_ARGUMENT`, before anything is sent.
pub const FTF_CLUSTER_MAX_VALUE: usize = 1 << 20;

impl ftf_cluster {
    /// Local fence check before a write made on behalf of a recovery (the etcd compare in
    /// `ftf_cluster_put` is the real guard). No network, never waits for I/O; callable from
    /// every callback.
    ///
    /// `FTF_OK`: this process holds `rank`'s recovery lock with exactly `token` and is before
    /// its self-fence deadline; `FTF_STALE`: it does not (another token, no lock, `token` 0);
    /// `FTF_SELF_FENCED`: past the deadline; `FTF_NOT_RUNNING` (left, stopped);
    /// `FTF_LEASE_LOST`; `FTF_UNKNOWN_PARTITION` (`rank >= n`); `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_check_fence(
        cluster: *const ftf_cluster,
        rank: u32,
        token: u64,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(cluster);
            if let Err(e) = c.alive() {
                return e;
            }
            if rank >= c.n {
                return ftf_result::FTF_UNKNOWN_PARTITION;
            }
            if !c.member.may_write() {
                return ftf_result::FTF_SELF_FENCED;
            }
            match c.member.lock_token(rank) {
                Some(t) if t == token && token != 0 => ftf_result::FTF_OK,
                _ => ftf_result::FTF_STALE,
            }
        }
    }

    /// Fenced write of `rank`'s value in the cluster store (key `store/<rank>`).
    ///
    /// `token != 0`: a recovery-phase write, applied only if
    /// `create_revision(recovery/lock/<rank>) == token`. `token == 0`: an owner write by the
    /// process hosting `rank`, applied only if the rank's incarnation is still current.
    /// Blocks (the request timeout at most). `FTF_OK` (`*revision_out` = the write's etcd
    /// revision); `FTF_STALE` (the fence did not hold: not applied); `FTF_SELF_FENCED`
    /// (nothing sent); `FTF_UNAVAILABLE` (not applied); `FTF_AMBIGUOUS` (the write Txn got no
    /// answer within the request timeout, or failed with any transport / etcd error: it may
    /// or may not have been applied, even if it never reached etcd; read the value back with
    /// `ftf_cluster_get` to tell); `FTF_UNKNOWN_PARTITION` (`rank >= n`, or an owner write of a rank
    /// not hosted here); `FTF_INVALID_ARGUMENT` (`len > FTF_CLUSTER_MAX_VALUE`);
    /// `FTF_NOT_RUNNING`; `FTF_LEASE_LOST`; `FTF_BUSY` (from a pause/resume hook, or
    /// on a thread inside a tokio runtime other than the member's own callback threads);
    /// `FTF_NULL_PARAMETER` (`data` NULL with `len > 0`, or `revision_out` NULL).
    /// Thread-safe; callable from `run_phase` and listeners.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_put(
        cluster: *const ftf_cluster,
        rank: u32,
        token: u64,
        data: *const u8,
        len: usize,
        revision_out: *mut u64,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(cluster);
            let out = try_out!(revision_out);
            if data.is_null() && len > 0 {
                return ftf_result::FTF_NULL_PARAMETER;
            }
            if len > FTF_CLUSTER_MAX_VALUE {
                return ftf_result::FTF_INVALID_ARGUMENT;
            }
            if let Err(e) = c.ready_to_block(rank) {
                return e;
            }
            let value = if len == 0 {
                Vec::new()
            } else {
                // SAFETY: C contract: `data` points to `len` readable bytes for the call
                // (non-NULL checked above); copied before anything else runs.
                unsafe { core::slice::from_raw_parts(data, len) }.to_vec()
            };
            let m = c.member.clone();
            let r = c.rt.block_on(async move {
                if token == 0 {
                    m.fenced_put(rank, value).await
                } else {
                    m.token_put(rank, token, value).await
                }
            });
            match r {
                Ok(rev) => {
                    *out = rev;
                    ftf_result::FTF_OK
                }
                Err(e) => write_error(&e, c.member.state()),
            }
        }
    }

    /// Linearizable read of `rank`'s value (`store/<rank>`). Blocks (the request timeout at
    /// most).
    ///
    /// `FTF_OK`: `*len_out` = the value's length, copied into `buf`;
    /// `FTF_BUFFER_TOO_SMALL`: `*len_out` = the length needed, nothing copied (`buf` may be
    /// NULL when `cap` is 0); `FTF_EMPTY`: no value; `FTF_UNAVAILABLE`;
    /// `FTF_UNKNOWN_PARTITION`; `FTF_NOT_RUNNING`; `FTF_LEASE_LOST`; `FTF_BUSY` (from a
    /// pause/resume hook, or on a thread inside another tokio runtime);
    /// `FTF_NULL_PARAMETER` (`len_out` NULL, or `buf` NULL with
    /// `cap > 0`). Thread-safe; callable from `run_phase` and listeners.
    #[no_mangle]
    pub extern "C" fn ftf_cluster_get(
        cluster: *const ftf_cluster,
        rank: u32,
        buf: *mut u8,
        cap: usize,
        len_out: *mut usize,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let c = try_ref_from_ptr!(cluster);
            let out = try_out!(len_out);
            let Some(dst) = out_bytes(buf, cap) else {
                return ftf_result::FTF_NULL_PARAMETER;
            };
            if let Err(e) = c.ready_to_block(rank) {
                return e;
            }
            let m = c.member.clone();
            match c.rt.block_on(async move { m.get(rank).await }) {
                Ok(Some(v)) if v.len() <= dst.len() => {
                    dst[..v.len()].copy_from_slice(&v);
                    *out = v.len();
                    ftf_result::FTF_OK
                }
                Ok(Some(v)) => {
                    *out = v.len();
                    ftf_result::FTF_BUFFER_TOO_SMALL
                }
                Ok(None) => ftf_result::FTF_EMPTY,
                Err(e) => write_error(&e, c.member.state()),
            }
        }
    }
}
