//! `ftf_op_slot`: the opt-in checked operation API for C (`ftf_op_begin_checked` /
//! `ftf_op_end_checked`), where every double end is detected.
//!
//! Why it exists: an `ftf_op_token` names (tracker, stripe), not one operation, so a second
//! `ftf_op_end` of a token while another operation of that stripe is in flight ends *that*
//! operation's count; the plain API can only detect a double end on an otherwise idle stripe.
//! Telling operations apart needs per-operation storage. The checked API takes it from the
//! caller: an `ftf_op_slot` (one `uint64_t`, zero-initialised) that holds the operation while
//! it is in flight. A per-stripe sequence number in the token would not do: it says which
//! begin a token came from, not whether that begin was already ended.
//!
//! # Slot word (accessed only atomically, through `AtomicU64::from_ptr`)
//!
//! ```text
//!  63          62 ... 48   47 ......... 16   15 ..... 0
//! [IN_FLIGHT]  [0 ... 0]   [tracker id]      [stripe]
//! ```
//!
//! * `0` = empty. Any other value without `IN_FLIGHT` is not a slot: `FTF_INVALID_ARGUMENT`
//!   (an uninitialised slot is caught whenever its garbage has bit 63 clear).
//! * `IN_FLIGHT | id << 16 | stripe` = holds one operation of tracker `id` on `stripe`
//!   (stripes are `< 2^16`, tracker ids are non-zero `u32`s).
//!
//! # Transitions
//!
//! | verb | slot RMW | tracker |
//! | --- | --- | --- |
//! | `begin_checked` | load: non-empty → refused (`FTF_BUSY`); then `begin_token`; then CAS `0 → v` | on a lost CAS: `end_token` (the undo) |
//! | `end_checked` | load `v`; check id and stripe; CAS `v → 0` (the winner) | the winner: `end_token` |
//!
//! Exactly one `end_checked` wins each value a `begin_checked` published (a CAS replaces it by
//! `0` once), so each checked begin is ended at most once and a second end of the same slot
//! reads `0`: `FTF_NOT_IN_FLIGHT`, whatever else is in flight. The slot is the operation's
//! name while it is in flight: an end that comes after the slot was begun again ends that
//! newer operation (as a `free` after the memory was reused), never an operation of another
//! slot. Orderings: Relaxed on the slot. Its word carries no data of its own (only which
//! tracker/stripe to decrement, re-checked by the tracker) and "one winner" follows from the
//! atomicity of the CAS alone; the operation's effects are published by the tracker's own
//! Release decrement, which pairs with the pauser's Acquire load (see the core tracker).
//!
//! Cost: one uncontended CAS on the caller's slot per begin and per end (plus a load), on top
//! of the token pair.

use core::sync::atomic::{AtomicU64, Ordering};

use ftforest_core::OpToken;

use crate::handle::try_ref_from_ptr;
use crate::panic::ffi_panic_boundary;
use crate::result::ftf_result;
use crate::tracker::{ftf_tracker, FfiTracker};

/// Caller-owned storage for one checked operation (see `ftf_op_begin_checked`).
///
/// Zero-initialise it (`ftf_op_slot slot = {0};`) and then treat it as opaque: only the
/// library reads or writes `state`, atomically, so several threads may pass the same slot at
/// once. It must be 8-byte aligned (automatic on 64-bit targets; `FTF_INVALID_ARGUMENT`
/// otherwise) and must not be copied while it holds an operation (a copy is a second name for
/// the same operation, the hazard this API removes).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Default)]
pub struct ftf_op_slot {
    /// Opaque: 0 when empty.
    pub state: u64,
}

/// Set while the slot holds an operation.
const IN_FLIGHT: u64 = 1 << 63;
/// The tracker id's position.
const ID_SHIFT: u32 = 16;
/// The stripe's bits.
const STRIPE_MASK: u64 = 0xFFFF;

// Tokens of the C ABI's tracker carry stripes that fit the slot's 16 bits.
const _: () = assert!(FfiTracker::STRIPES <= 1 << 16);

fn encode(t: OpToken) -> u64 {
    IN_FLIGHT | u64::from(t.tracker_id()) << ID_SHIFT | (u64::from(t.stripe()) & STRIPE_MASK)
}

/// The token a published slot value names (`None` for anything else).
fn decode(v: u64) -> Option<OpToken> {
    if v & IN_FLIGHT == 0 || v & !(IN_FLIGHT | (u64::from(u32::MAX) << ID_SHIFT) | STRIPE_MASK) != 0
    {
        return None;
    }
    let id = u32::try_from((v >> ID_SHIFT) & u64::from(u32::MAX)).ok()?;
    let stripe = u32::try_from(v & STRIPE_MASK).ok()?;
    Some(OpToken::from_parts(id, stripe))
}

/// The slot's word, or the error to return for a NULL or misaligned slot.
fn slot_word<'a>(slot: *mut ftf_op_slot) -> Result<&'a AtomicU64, ftf_result> {
    if slot.is_null() {
        return Err(ftf_result::FTF_NULL_PARAMETER);
    }
    let word = slot.cast::<u64>();
    if !word.cast::<AtomicU64>().is_aligned() {
        return Err(ftf_result::FTF_INVALID_ARGUMENT);
    }
    // SAFETY: non-NULL and aligned for `AtomicU64` (checked above); C contract: `slot` points
    // to a live `ftf_op_slot` for the duration of the call and, while it may be shared between
    // threads, is only accessed through this library (atomically), as the type's docs say.
    Ok(unsafe { AtomicU64::from_ptr(word) })
}

impl ftf_tracker {
    /// Begins an operation (on a stripe chosen as for `ftf_op_begin`) and stores it in `*slot` (checked
    /// mode): end it with `ftf_op_end_checked(tracker, slot)`. Lock-free, never blocks.
    ///
    /// Unlike a token, a slot names one operation: a second `ftf_op_end_checked` of the same
    /// slot is always refused, whatever else is in flight. `FTF_OK`; `FTF_BUSY` (the slot
    /// already holds an operation; nothing begun); `FTF_PAUSED`; `FTF_OVERFLOW`;
    /// `FTF_INVALID_ARGUMENT` (misaligned, or not a zero-initialised slot);
    /// `FTF_NULL_PARAMETER`. On an error the slot is unchanged.
    #[no_mangle]
    pub extern "C" fn ftf_op_begin_checked(
        tracker: *const ftf_tracker,
        slot: *mut ftf_op_slot,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let t = try_ref_from_ptr!(tracker);
            let word = match slot_word(slot) {
                Ok(w) => w,
                Err(e) => return e,
            };
            // Cheap refusal first: no begin (no transient count) for a busy slot.
            match word.load(Ordering::Relaxed) {
                0 => {}
                v if v & IN_FLIGHT != 0 => return ftf_result::FTF_BUSY,
                _ => return ftf_result::FTF_INVALID_ARGUMENT,
            }
            let token = match crate::tracker::begin_for_c(t) {
                Ok(tok) => tok,
                Err(e) => return e.into(),
            };
            // Relaxed: see the module header (the slot publishes no data of its own).
            match word.compare_exchange(0, encode(token), Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => ftf_result::FTF_OK,
                Err(now) => {
                    // Another thread filled (or scribbled on) the slot meanwhile: undo our
                    // begin. Our own count is on the stripe, so the checked end succeeds.
                    let _ = t.end_token(token);
                    if now & IN_FLIGHT != 0 {
                        ftf_result::FTF_BUSY
                    } else {
                        ftf_result::FTF_INVALID_ARGUMENT
                    }
                }
            }
        }
    }

    /// Ends the operation `*slot` holds and empties the slot (from any thread). Lock-free;
    /// wakes a pauser when this was the last operation in flight.
    ///
    /// `FTF_OK`; `FTF_NOT_IN_FLIGHT` (the slot is empty: ended already, or never begun; this
    /// is detected whatever else is in flight, and when two threads end one slot at once
    /// exactly one gets `FTF_OK`); `FTF_FOREIGN_HANDLE` (the slot holds an operation of
    /// another tracker: nothing changes, end it with that tracker); `FTF_INVALID_ARGUMENT`
    /// (misaligned or not a slot); `FTF_NULL_PARAMETER`.
    #[no_mangle]
    pub extern "C" fn ftf_op_end_checked(
        tracker: *const ftf_tracker,
        slot: *mut ftf_op_slot,
    ) -> ftf_result {
        ffi_panic_boundary! {
            let t = try_ref_from_ptr!(tracker);
            let word = match slot_word(slot) {
                Ok(w) => w,
                Err(e) => return e,
            };
            let mut cur = word.load(Ordering::Relaxed);
            loop {
                if cur == 0 {
                    return ftf_result::FTF_NOT_IN_FLIGHT;
                }
                let Some(token) = decode(cur) else {
                    return ftf_result::FTF_INVALID_ARGUMENT;
                };
                if token.tracker_id() != t.id() || token.stripe() as usize >= FfiTracker::STRIPES {
                    return ftf_result::FTF_FOREIGN_HANDLE;
                }
                // Relaxed: see the module header. Whoever replaces `cur` by 0 owns the end.
                match word.compare_exchange_weak(cur, 0, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => {
                        return match t.end_token(token) {
                            Ok(()) => ftf_result::FTF_OK,
                            // Only after the same operation was also ended through a plain
                            // token taken from elsewhere: reported, the count never underflows.
                            Err(e) => e.into(),
                        };
                    }
                    Err(now) => cur = now,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip_and_garbage_is_refused() {
        let tok = OpToken::from_parts(0xDEAD_BEEF, 0xFFFF);
        assert_eq!(decode(encode(tok)), Some(tok));
        assert_eq!(decode(0), None);
        assert_eq!(decode(1), None);
        assert_eq!(decode(IN_FLIGHT | 1 << 50), None);
    }
}
