//! The protocol's transactions (etcd-cluster.md §3), built in one place.
//!
//! Invariants: every write that depends on ownership carries its fence as a compare: the
//! lock token (`create_revision(recovery/lock/r) == token`) for recovery writes, the
//! incarnation (`create_revision(members/r) == incarnation`) for owner writes, the pause
//! token (`create_revision(pause/r) == token`) for acks. No delete is ever sent by name
//! alone (etcd#22082). The Else branch of every writing Txn reads back what it compared, so
//! a refusal says why.

use super::keys::{Keys, EPOCH_HEALTHY, EPOCH_LEFT, EPOCH_RECOVERING};
use super::ops::{Check, Compare, LeaseId, Rev, Txn, TxnOp};
use super::params::Params;

fn cmp(key: String, check: Check) -> Compare {
    Compare { key, check }
}
fn put(key: String, value: impl Into<Vec<u8>>, lease: LeaseId) -> TxnOp {
    TxnOp::Put {
        key,
        value: value.into(),
        lease,
    }
}
fn del(key: String) -> TxnOp {
    TxnOp::Delete { key, prefix: false }
}
fn get(key: String) -> TxnOp {
    TxnOp::Get { key, prefix: false }
}

/// Create `config` if absent, else read it (Else: `[get config]`).
pub fn config_check(k: &Keys, p: &Params) -> Txn {
    Txn {
        compares: vec![cmp(k.config(), Check::CreateRevision(0))],
        success: vec![put(k.config(), p.encode(), 0)],
        failure: vec![get(k.config())],
    }
}

/// Put `procs/<proc>` on the process's lease (value: `info`).
pub fn proc_put(k: &Keys, proc_id: &str, info: &str, lease: LeaseId) -> Txn {
    Txn::read(vec![put(k.proc(proc_id), info, lease)])
}

/// Register rank `r`: `members/r` absent and `epoch/r` as last seen (`epoch_mod == 0`:
/// absent; else its mod revision, whose value said `left`). Puts `members/r` (own lease) and
/// `epoch/r = healthy`. Else: `[get members/r, get epoch/r]`.
pub fn register(k: &Keys, r: u32, proc_id: &str, lease: LeaseId, epoch_mod: Rev) -> Txn {
    let epoch_check = if epoch_mod == 0 {
        Check::CreateRevision(0)
    } else {
        Check::ModRevision(epoch_mod)
    };
    Txn {
        compares: vec![
            cmp(k.member(r), Check::CreateRevision(0)),
            cmp(k.epoch(r), epoch_check),
        ],
        success: vec![
            put(k.member(r), proc_id, lease),
            put(k.epoch(r), EPOCH_HEALTHY, 0),
        ],
        failure: vec![get(k.member(r)), get(k.epoch(r))],
    }
}

/// Linearizable read of every member key and every epoch (quorum policy), plus the
/// rank's lock: `[get members/, get epoch/, get lock/r]`.
pub fn quorum_read(k: &Keys, r: u32) -> Txn {
    Txn::read(vec![
        TxnOp::Get {
            key: k.members(),
            prefix: true,
        },
        TxnOp::Get {
            key: k.epochs(),
            prefix: true,
        },
        get(k.lock(r)),
    ])
}

/// The value of a lock key: who holds it, for which attempt, in which slot.
pub fn lock_value(proc_id: &str, attempt: u32, slot: u32) -> String {
    format!("{proc_id} {attempt} {slot}")
}

/// Parses [`lock_value`].
pub fn parse_lock_value(v: &[u8]) -> Option<(String, u32, u32)> {
    let s = core::str::from_utf8(v).ok()?;
    let mut it = s.split(' ');
    let p = it.next()?.to_owned();
    let a = it.next()?.parse().ok()?;
    let sl = it.next()?.parse().ok()?;
    it.next().is_none().then_some((p, a, sl))
}

/// The lock: `epoch/r` unchanged since the quorum read (`epoch_mod`), `members/r`, `lock/r`
/// and `slot/s` absent → put lock, slot, `pause/r` (all on the recoverer's lease) and
/// `epoch/r = recovering`, in one revision: the token. Else:
/// `[get members/r, get lock/r, get slot/s, get epoch/r]`.
pub fn lock(
    k: &Keys,
    r: u32,
    slot: u32,
    epoch_mod: Rev,
    proc_id: &str,
    attempt: u32,
    lease: LeaseId,
) -> Txn {
    Txn {
        compares: vec![
            cmp(k.epoch(r), Check::ModRevision(epoch_mod)),
            cmp(k.member(r), Check::CreateRevision(0)),
            cmp(k.lock(r), Check::CreateRevision(0)),
            cmp(k.slot(slot), Check::CreateRevision(0)),
        ],
        success: vec![
            put(k.lock(r), lock_value(proc_id, attempt, slot), lease),
            put(k.slot(slot), r.to_string(), lease),
            put(k.pause(r), proc_id, lease),
            put(k.epoch(r), EPOCH_RECOVERING, 0),
        ],
        failure: vec![
            get(k.member(r)),
            get(k.lock(r)),
            get(k.slot(slot)),
            get(k.epoch(r)),
        ],
    }
}

/// Read-back after an ambiguous lock, completion or give-up: `[get lock/r, get members/r]`.
pub fn readback(k: &Keys, r: u32) -> Txn {
    Txn::read(vec![get(k.lock(r)), get(k.member(r))])
}

/// Completion: the lock is still `token` → `members/r` on the recoverer's lease (the new
/// incarnation is this Txn's revision), `epoch/r = healthy`, lock, slot, pause and acks
/// deleted. Else: `[get lock/r, get members/r]`.
pub fn complete(k: &Keys, r: u32, slot: u32, token: Rev, proc_id: &str, lease: LeaseId) -> Txn {
    Txn {
        compares: vec![cmp(k.lock(r), Check::CreateRevision(token))],
        success: vec![
            put(k.member(r), proc_id, lease),
            put(k.epoch(r), EPOCH_HEALTHY, 0),
            del(k.lock(r)),
            del(k.slot(slot)),
            del(k.pause(r)),
            TxnOp::Delete {
                key: k.acks(r),
                prefix: true,
            },
        ],
        failure: vec![get(k.lock(r)), get(k.member(r))],
    }
}

/// Give up: the lock is still `token` → delete lock, slot, pause and acks (`epoch/r` stays
/// `recovering`: the rank is FAILED again). Else: `[get lock/r, get members/r]`.
pub fn give_up(k: &Keys, r: u32, slot: u32, token: Rev) -> Txn {
    Txn {
        compares: vec![cmp(k.lock(r), Check::CreateRevision(token))],
        success: vec![
            del(k.lock(r)),
            del(k.slot(slot)),
            del(k.pause(r)),
            TxnOp::Delete {
                key: k.acks(r),
                prefix: true,
            },
        ],
        failure: vec![get(k.lock(r)), get(k.member(r))],
    }
}

/// Pause ack: the pause is still `token` → `ack/r/<proc> = token` on the acker's lease.
pub fn ack(k: &Keys, r: u32, token: Rev, proc_id: &str, lease: LeaseId) -> Txn {
    Txn {
        compares: vec![cmp(k.pause(r), Check::CreateRevision(token))],
        success: vec![put(k.ack(r, proc_id), token.to_string(), lease)],
        failure: vec![get(k.pause(r))],
    }
}

/// Recovery write of `store/<rank>`: fenced on the lock of `fenced_rank` (the rank being
/// recovered) holding `token`. Else: `[get lock/<fenced_rank>]`.
pub fn phase_put(k: &Keys, fenced_rank: u32, token: Rev, rank: u32, value: Vec<u8>) -> Txn {
    Txn {
        compares: vec![cmp(k.lock(fenced_rank), Check::CreateRevision(token))],
        success: vec![put(k.store(rank), value, 0)],
        failure: vec![get(k.lock(fenced_rank))],
    }
}

/// Owner write of `store/<rank>`: fenced on the incarnation. Else: `[get members/r]`.
pub fn owner_put(k: &Keys, r: u32, incarnation: Rev, value: Vec<u8>) -> Txn {
    Txn {
        compares: vec![cmp(k.member(r), Check::CreateRevision(incarnation))],
        success: vec![put(k.store(r), value, 0)],
        failure: vec![get(k.member(r))],
    }
}

/// Read of `store/<rank>`.
pub fn store_get(k: &Keys, r: u32) -> Txn {
    Txn::read(vec![get(k.store(r))])
}

/// Graceful leave of rank `r`: the incarnation is still ours → delete `members/r`, put
/// `epoch/r = left` (one revision: watchers see a leave, not a failure).
pub fn leave(k: &Keys, r: u32, incarnation: Rev) -> Txn {
    Txn {
        compares: vec![cmp(k.member(r), Check::CreateRevision(incarnation))],
        success: vec![del(k.member(r)), put(k.epoch(r), EPOCH_LEFT, 0)],
        failure: vec![get(k.member(r))],
    }
}

/// The order in which a rank tries the K slots: `hash(r) mod K`, then the next ones.
pub fn slot_order(r: u32, k: u32) -> impl Iterator<Item = u32> {
    // Fibonacci hashing spreads consecutive ranks over the slots.
    let start = if k == 0 {
        0
    } else {
        ((r as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32 % k
    };
    (0..k).map(move |i| (start + i) % k.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_value_round_trip_and_slots() {
        assert_eq!(
            parse_lock_value(lock_value("n1", 7, 2).as_bytes()),
            Some(("n1".into(), 7, 2))
        );
        assert_eq!(parse_lock_value(b"n1 7"), None);
        let s: Vec<u32> = slot_order(5, 3).collect();
        assert_eq!(s.len(), 3);
        let mut sorted = s.clone();
        sorted.sort();
        assert_eq!(sorted, vec![0, 1, 2]);
    }
}
