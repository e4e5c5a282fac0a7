//! The protocol's transactions (etcd-cluster.md §3), built in one place.
//!
//! Invariants: every write that depends on ownership carries its fence as a compare: the
//! lock token (`create_revision(recovery/lock/r) == token`) for recovery writes, the
//! incarnation (`create_revision(members/r) == incarnation`) for owner writes, the pause
//! token (`create_revision(pause/r) == token`) for acks. No delete is ever sent by name
//! alone (etcd#22082). The Else branch of every writing Txn reads back what it compared, so
//! a refusal says why.

use super::keys::{KeyKind, Keys, EPOCH_HEALTHY, EPOCH_LEFT, EPOCH_RECOVERING};
use super::ops::{Check, Compare, KeyValue, LeaseId, Rev, Txn, TxnOp};
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

/// Register every hosted rank of a process at once, all-or-nothing: for each `(r,
/// epoch_mod)` of `regs`, `members/r` absent and `epoch/r` as last seen (`epoch_mod == 0`:
/// absent; else its mod revision, whose value said `left`). Puts every `members/r` (own
/// lease) and `epoch/r = healthy` in one revision (every incarnation is that revision), so a
/// refusal of one rank registers none. Else: `[get members/r, get epoch/r]` per rank, in
/// `regs` order (see [`register_refusal`]).
pub fn register(k: &Keys, regs: &[(u32, Rev)], proc_id: &str, lease: LeaseId) -> Txn {
    let mut t = Txn {
        compares: Vec::with_capacity(2 * regs.len()),
        success: Vec::with_capacity(2 * regs.len()),
        failure: Vec::with_capacity(2 * regs.len()),
    };
    for &(r, epoch_mod) in regs {
        let epoch_check = if epoch_mod == 0 {
            Check::CreateRevision(0)
        } else {
            Check::ModRevision(epoch_mod)
        };
        t.compares.push(cmp(k.member(r), Check::CreateRevision(0)));
        t.compares.push(cmp(k.epoch(r), epoch_check));
        t.success.push(put(k.member(r), proc_id, lease));
        t.success.push(put(k.epoch(r), EPOCH_HEALTHY, 0));
        t.failure.push(get(k.member(r)));
        t.failure.push(get(k.epoch(r)));
    }
    t
}

/// Why a refused [`register`] was refused, from its Else branch (`[get members/r, get
/// epoch/r]` per rank of `regs`): the first rank whose `members/r` exists (`Ok`: held by a
/// live process), else the first whose `epoch/r` is not as last seen (`Err`: its previous
/// incarnation failed, a zombie rejoin). `None` if every compare held (not a refusal).
pub fn register_refusal(
    regs: &[(u32, Rev)],
    responses: &[super::ops::OpResponse],
) -> Option<Result<u32, u32>> {
    let kvs = |i: usize| super::ops::txn_kvs(responses, i);
    let held = regs
        .iter()
        .enumerate()
        .find(|(i, _)| !kvs(2 * i).is_empty());
    if let Some((_, &(r, _))) = held {
        return Some(Ok(r));
    }
    regs.iter()
        .enumerate()
        .find(|&(i, &(_, epoch_mod))| {
            let seen = kvs(2 * i + 1).first().map_or(0, |kv| kv.mod_revision);
            seen != epoch_mod
        })
        .map(|(_, &(r, _))| Err(r))
}

/// The partition quorum at one revision, from the member keys and the epochs read at it:
/// `(healthy, members)`, where `healthy` counts the live member keys and `members` the ranks
/// whose epoch is not `left` (both for ranks below `n`). Quorum holds iff `healthy * 2 >
/// members`.
pub fn quorum_count<'a>(
    k: &Keys,
    n: u32,
    member_kvs: impl IntoIterator<Item = &'a KeyValue>,
    epoch_kvs: impl IntoIterator<Item = &'a KeyValue>,
) -> (u32, u32) {
    let rank_of = |key: &str| match k.parse(key) {
        Some(KeyKind::Member(x) | KeyKind::Epoch(x)) if x < n => Some(x),
        _ => None,
    };
    let healthy = member_kvs
        .into_iter()
        .filter(|kv| rank_of(&kv.key).is_some())
        .count() as u32;
    let members = epoch_kvs
        .into_iter()
        .filter(|kv| rank_of(&kv.key).is_some() && kv.value != EPOCH_LEFT)
        .count() as u32;
    (healthy, members)
}

fn get_prefix(key: String) -> TxnOp {
    TxnOp::Get { key, prefix: true }
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

/// The lock and the quorum read in one Txn: `epoch/r` unchanged since the caller's view
/// showed the failure it recovers (`epoch_mod`: its mod revision there), `members/r`,
/// `lock/r` and `slot/s` absent → **read every member key and every epoch** (before the
/// puts, so at the Txn's own revision, atomically with the grant: see [`quorum_count`]),
/// then put lock, slot, `pause/r` (all on the recoverer's lease) and `epoch/r = recovering`,
/// in one revision: the token. The caller must give the lock up (a [`give_up`] fenced on
/// the token) when the read shows no quorum. Success responses: `[get members/, get
/// epochs/, put, put, put, put]`. Else: `[get members/r, get lock/r, get slot/s, get
/// epoch/r]`.
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
            get_prefix(k.members()),
            get_prefix(k.epochs()),
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

/// Read-back after an ambiguous [`lock`]: `[get lock/r, get members/r, get members/, get
/// epochs/]`, one linearizable read, so a lock found ours is judged by the quorum at a
/// revision where it is held (the lock Txn's own read was lost with its answer).
pub fn lock_readback(k: &Keys, r: u32) -> Txn {
    Txn::read(vec![
        get(k.lock(r)),
        get(k.member(r)),
        get_prefix(k.members()),
        get_prefix(k.epochs()),
    ])
}

/// Read-back after an ambiguous completion or give-up: `[get lock/r, get members/r]`.
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
    use super::super::ops::{KeyValue, OpResponse};
    use super::*;

    #[test]
    fn one_registration_txn_for_every_rank_and_its_refusal_names_the_rank() {
        let k = Keys::new("p/");
        let regs = [(2, 0), (3, 7), (1, 0)];
        let t = register(&k, &regs, "b", 9);
        assert_eq!(
            (t.compares.len(), t.success.len(), t.failure.len()),
            (6, 6, 6)
        );
        let kv = |key: String, mod_revision| KeyValue {
            key,
            value: b"x".to_vec(),
            create_revision: mod_revision,
            mod_revision,
            lease: 0,
        };
        let get = |kvs: Vec<KeyValue>| OpResponse::Get { kvs };
        // Rank 1 held by a live member (rank 3's epoch as last seen: `left` at 7).
        let held = [
            get(vec![]),
            get(vec![]),
            get(vec![]),
            get(vec![kv(k.epoch(3), 7)]),
            get(vec![kv(k.member(1), 5)]),
            get(vec![kv(k.epoch(1), 5)]),
        ];
        assert_eq!(register_refusal(&regs, &held), Some(Ok(1)));
        // Rank 3's epoch moved since it was read as `left`: its incarnation failed.
        let zombie = [
            get(vec![]),
            get(vec![]),
            get(vec![]),
            get(vec![kv(k.epoch(3), 8)]),
            get(vec![]),
            get(vec![]),
        ];
        assert_eq!(register_refusal(&regs, &zombie), Some(Err(3)));
        let fine = [
            get(vec![]),
            get(vec![]),
            get(vec![]),
            get(vec![kv(k.epoch(3), 7)]),
            get(vec![]),
            get(vec![]),
        ];
        assert_eq!(register_refusal(&regs, &fine), None);
    }

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
