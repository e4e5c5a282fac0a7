//! Reader-writer locks used as pause barriers: a read lock is one operation, the write lock is
//! the pause (it waits for every reader to leave and keeps new ones out).
//!
//! `begin` is `try_read`, so that a closed gate rejects at once as every other peer does; on the
//! uncontended path it costs the same as `read` (one CAS on the lock word). Poisoning cannot
//! happen here (no benchmark panics while holding a lock) and is ignored.
//!
//! * [`StdRwLock`]: `std::sync::RwLock` (futex-based on Linux: one shared state word).
//! * [`PlRwLock`]: `parking_lot::RwLock` (one state word, parking lot for waiters).
//! * [`Sharded`]: `crossbeam_utils::sync::ShardedLock` (one cache-padded `RwLock` per shard;
//!   a reader locks the shard of its thread index, the writer locks every shard).

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};

use crossbeam_utils::sync::{ShardedLock, ShardedLockReadGuard, ShardedLockWriteGuard};

use crate::{PausePeer, Peer};

/// `std::sync::RwLock<()>` as a pause barrier.
#[derive(Debug, Default)]
pub struct StdRwLock(RwLock<()>);

impl Peer for StdRwLock {
    const NAME: &'static str = "std_rwlock";
    type Op<'a> = RwLockReadGuard<'a, ()>;

    fn create() -> Self {
        StdRwLock::default()
    }

    #[inline]
    fn begin(&self) -> Option<RwLockReadGuard<'_, ()>> {
        match self.0.try_read() {
            Ok(g) => Some(g),
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    #[inline]
    fn end(&self, op: RwLockReadGuard<'_, ()>) {
        drop(op);
    }
}

impl PausePeer for StdRwLock {
    type Pause<'a> = RwLockWriteGuard<'a, ()>;

    fn pause_wait(&self) -> RwLockWriteGuard<'_, ()> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn resume(&self, p: RwLockWriteGuard<'_, ()>) {
        drop(p);
    }
}

/// `parking_lot::RwLock<()>` as a pause barrier.
#[derive(Debug, Default)]
pub struct PlRwLock(parking_lot::RwLock<()>);

impl Peer for PlRwLock {
    const NAME: &'static str = "parking_lot_rwlock";
    type Op<'a> = parking_lot::RwLockReadGuard<'a, ()>;

    fn create() -> Self {
        PlRwLock::default()
    }

    #[inline]
    fn begin(&self) -> Option<parking_lot::RwLockReadGuard<'_, ()>> {
        self.0.try_read()
    }

    #[inline]
    fn end(&self, op: parking_lot::RwLockReadGuard<'_, ()>) {
        drop(op);
    }
}

impl PausePeer for PlRwLock {
    type Pause<'a> = parking_lot::RwLockWriteGuard<'a, ()>;

    fn pause_wait(&self) -> parking_lot::RwLockWriteGuard<'_, ()> {
        self.0.write()
    }

    fn resume(&self, p: parking_lot::RwLockWriteGuard<'_, ()>) {
        drop(p);
    }
}

/// `crossbeam_utils::sync::ShardedLock<()>` as a pause barrier.
#[derive(Debug, Default)]
pub struct Sharded(ShardedLock<()>);

impl Peer for Sharded {
    const NAME: &'static str = "sharded_lock";
    type Op<'a> = ShardedLockReadGuard<'a, ()>;

    fn create() -> Self {
        Sharded::default()
    }

    #[inline]
    fn begin(&self) -> Option<ShardedLockReadGuard<'_, ()>> {
        match self.0.try_read() {
            Ok(g) => Some(g),
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    #[inline]
    fn end(&self, op: ShardedLockReadGuard<'_, ()>) {
        drop(op);
    }
}

impl PausePeer for Sharded {
    type Pause<'a> = ShardedLockWriteGuard<'a, ()>;

    fn pause_wait(&self) -> ShardedLockWriteGuard<'_, ()> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn resume(&self, p: ShardedLockWriteGuard<'_, ()>) {
        drop(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate_rejects_while_paused<P: PausePeer>() {
        let p = P::create();
        let op = p.begin().expect("open gate admits");
        p.end(op);
        let pause = p.pause_wait();
        assert!(p.begin().is_none(), "{} admitted while paused", P::NAME);
        p.resume(pause);
        assert!(p.begin().is_some());
    }

    #[test]
    fn every_rwlock_rejects_while_paused() {
        gate_rejects_while_paused::<StdRwLock>();
        gate_rejects_while_paused::<PlRwLock>();
        gate_rejects_while_paused::<Sharded>();
    }
}
