//! The recovery lock and queue on target, with the interrupt as a second user.
//!
//! Interrupt rules exercised: the handler may `try_acquire`/release partitions that `main`
//! never acquires (an acquire of a partition whose acquire/release `main` is half-way through
//! would spin forever: `main` cannot finish it while the handler runs), and may read the
//! queue's `len` and `contains` (single loads), but never `push`/`pop`/`remove` while `main`
//! does (the ring's spin lock) nor `for_each` (it spins while a change is half-way: found by
//! this suite, which hung there until the outer timeout).

use core::sync::atomic::{AtomicU32, Ordering::*};

use ftforest_core::{
    queue_storage_len, AcquireError, LockSlot, PushError, QueueSlot, RecoveryLock, RecoveryQueue,
    ReleaseError,
};
use ftforest_firmware::cell::Once;
use ftforest_firmware::harness::TestResult;
use ftforest_firmware::{bump, ensure, set_hook, wait_ticks};

const N: u32 = 8;
const K: u32 = 2;
static LOCK_SLOTS: [LockSlot; N as usize] = [const { LockSlot::new() }; N as usize];
static LOCK: Once<RecoveryLock<&'static [LockSlot; N as usize]>> = Once::new();
static ISR_GRANTS: AtomicU32 = AtomicU32::new(0);
static ISR_FULL: AtomicU32 = AtomicU32::new(0);
static ISR_BAD: AtomicU32 = AtomicU32::new(0);

/// Acquire and release partitions 4..8 (never acquired by main) inside the handler.
fn lock_hook() {
    let Some(l) = LOCK.get() else { return };
    for rank in 4..N {
        match l.try_acquire(rank, true) {
            Ok(p) => {
                if l.active() > K {
                    bump(&ISR_BAD);
                }
                drop(p);
                bump(&ISR_GRANTS);
            }
            Err(AcquireError::AtCapacity) => bump(&ISR_FULL),
            Err(_) => bump(&ISR_BAD),
        }
    }
}

pub fn lock() -> TestResult {
    let Ok(l) = RecoveryLock::new(&LOCK_SLOTS, N, K) else {
        ensure!(false, "lock over 8 slots");
        return Ok(());
    };
    let Ok(l) = LOCK.set(l) else {
        ensure!(false, "the test runs once");
        return Ok(());
    };
    // Exact refusals.
    let p0 = l.try_acquire(0, true);
    ensure!(p0.is_ok(), "first permit");
    ensure!(
        matches!(l.try_acquire(0, true), Err(AcquireError::AlreadyRecovering)),
        "one recovery per partition"
    );
    let p1 = l.try_acquire(1, true);
    ensure!(p1.is_ok(), "second permit");
    ensure!(
        matches!(l.try_acquire(2, true), Err(AcquireError::AtCapacity)),
        "at most K at once"
    );
    ensure!(
        matches!(l.try_acquire(2, false), Err(AcquireError::NoQuorum)),
        "no quorum, no recovery"
    );
    ensure!(
        matches!(l.try_acquire(N, true), Err(AcquireError::UnknownPartition)),
        "unknown partition"
    );
    let tok = match p0 {
        Ok(p) => p.into_token(),
        Err(_) => return Ok(()),
    };
    ensure!(l.release_token(tok).is_ok(), "release by token");
    ensure!(
        l.release_token(tok) == Err(ReleaseError::NotHolder),
        "a second release is refused"
    );
    drop(p1);
    ensure!(l.active() == 0, "all released");

    // Main acquires 0..4 while the handler acquires 4..8: only grants and AtCapacity.
    set_hook(Some(lock_hook));
    let (mut grants, mut full) = (0u32, 0u32);
    for round in 0..3000u32 {
        match l.try_acquire(round % 4, true) {
            Ok(p) => {
                ensure!(l.active() <= K, "never more than K permits");
                grants += 1;
                drop(p);
            }
            Err(AcquireError::AtCapacity) => full += 1,
            Err(_) => ensure!(false, "only AtCapacity may refuse here"),
        }
    }
    wait_ticks(2);
    set_hook(None);
    ensure!(
        ISR_BAD.load(Relaxed) == 0,
        "the handler got only grants and AtCapacity"
    );
    ensure!(
        grants > 0 && ISR_GRANTS.load(Relaxed) > 0,
        "both contexts got permits"
    );
    let _ = full;
    ensure!(l.active() == 0, "no permit leaked");
    Ok(())
}

const CAP: u32 = 4;
const QLEN: usize = queue_storage_len(N, CAP);
static QUEUE_SLOTS: [QueueSlot; QLEN] = [const { QueueSlot::new() }; QLEN];
static QUEUE: Once<RecoveryQueue<&'static [QueueSlot; QLEN]>> = Once::new();
static Q_READS: AtomicU32 = AtomicU32::new(0);
static Q_BAD: AtomicU32 = AtomicU32::new(0);

/// Single-load readers only: `len` and `contains` (never `for_each`: see the module docs).
fn queue_hook() {
    let Some(q) = QUEUE.get() else { return };
    if q.len() > CAP {
        bump(&Q_BAD);
    }
    let queued = (0..N).filter(|&r| q.contains(r)).count() as u32;
    // Main may be half-way through a push or pop: at most one membership bit is off.
    if queued > CAP + 1 {
        bump(&Q_BAD);
    }
    bump(&Q_READS);
}

pub fn queue() -> TestResult {
    let Ok(q) = RecoveryQueue::new(&QUEUE_SLOTS, N) else {
        ensure!(false, "queue over its slots");
        return Ok(());
    };
    let Ok(q) = QUEUE.set(q) else {
        ensure!(false, "the test runs once");
        return Ok(());
    };
    ensure!(q.capacity() == CAP, "capacity from the storage");
    for r in [3, 1, 2] {
        ensure!(q.push(r).is_ok(), "push");
    }
    ensure!(
        q.push(1) == Err(PushError::Duplicate),
        "each partition at most once"
    );
    ensure!(
        q.push(N) == Err(PushError::UnknownPartition),
        "unknown partition"
    );
    ensure!(q.push(7).is_ok(), "fourth");
    ensure!(q.push(6) == Err(PushError::Full), "bounded");
    ensure!(q.remove(1) && !q.contains(1), "remove");
    ensure!(
        q.pop() == Some(3) && q.pop() == Some(2) && q.pop() == Some(7),
        "FIFO"
    );
    ensure!(q.pop().is_none() && q.is_empty(), "empty");

    // Main pushes and pops; the handler reads lock-free.
    set_hook(Some(queue_hook));
    // A model FIFO: the queue must pop exactly what it says.
    let (mut model, mut head, mut len) = ([0u32; CAP as usize], 0usize, 0usize);
    for round in 0..3000u32 {
        let r = (round * 5 + round / 7) % N;
        match q.push(r) {
            Ok(()) => {
                ensure!(len < CAP as usize, "push succeeds only with room");
                model[(head + len) % CAP as usize] = r;
                len += 1;
            }
            Err(PushError::Full) => {
                ensure!(len == CAP as usize, "Full only when full");
                ensure!(q.pop() == Some(model[head]), "FIFO order under interrupts");
                head = (head + 1) % CAP as usize;
                len -= 1;
            }
            Err(PushError::Duplicate) => {
                ensure!(
                    (0..len).any(|i| model[(head + i) % CAP as usize] == r),
                    "Duplicate only when queued"
                )
            }
            Err(_) => ensure!(false, "unexpected push error"),
        }
    }
    wait_ticks(2);
    set_hook(None);
    ensure!(
        Q_BAD.load(Relaxed) == 0,
        "lock-free readers never saw an impossible queue"
    );
    ensure!(Q_READS.load(Relaxed) > 0, "the handler read the queue");
    Ok(())
}
