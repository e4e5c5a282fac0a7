//! Heap storage for the coordinator (feature `std`): one allocation per storage kind, sized
//! for `n` partitions (65,536 partitions need 3.3 MiB, see `BYTES_PER_PARTITION`, plus 3 MiB
//! of per-partition statistics, which a boxed coordinator always keeps: 48 bytes each).
//!
//! Invariant: no function here aborts the process on a caller-chosen `n`. `n` is checked
//! against [`MAX_PARTITIONS`] before anything is allocated, and every allocation is fallible
//! (`try_reserve_exact`): a refused allocation is [`NewError::OutOfMemory`].

use std::boxed::Box;
use std::vec::Vec;

use super::config::Config;
use super::coordinator::{Coordinator, Storage};
use super::detect::PartitionSlot;
use super::error::NewError;
use super::gate::OpGate;
use super::pstats::PartitionStatsSlot;
use crate::health::HealthCell;
use crate::lock::LockSlot;
use crate::queue::{queue_storage_len, QueueSlot};
use crate::table::{TableError, MAX_PARTITIONS};
use crate::time::Instant;

/// Boxed caller storage.
pub type BoxedStorage =
    Storage<Box<[HealthCell]>, Box<[LockSlot]>, Box<[QueueSlot]>, Box<[PartitionSlot]>>;

/// A coordinator over boxed storage, with per-partition statistics
/// ([`Coordinator::partition_stats`]).
pub type BoxedCoordinator<G, const R: usize = 8, const E: usize = 256> = Coordinator<
    Box<[HealthCell]>,
    Box<[LockSlot]>,
    Box<[QueueSlot]>,
    Box<[PartitionSlot]>,
    G,
    R,
    E,
    Box<[PartitionStatsSlot]>,
>;

/// `len` fresh values in one fallible allocation; `None` when the allocator refuses it.
fn try_boxed<T>(len: usize, new: impl Fn() -> T) -> Option<Box<[T]>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).ok()?;
    v.extend((0..len).map(|_| new()));
    Some(v.into_boxed_slice())
}

/// Boxed storage for `n` partitions (fresh cells), or why not: `n > MAX_PARTITIONS` →
/// [`NewError::Table`]`(`[`TableError::TooManyPartitions`]`)` (checked before allocating), a
/// refused allocation → [`NewError::OutOfMemory`]. Never aborts on a large `n`.
pub fn try_boxed_storage(n: u32) -> Result<BoxedStorage, NewError> {
    if n > MAX_PARTITIONS {
        return Err(NewError::Table(TableError::TooManyPartitions { n }));
    }
    let n_us = n as usize;
    let oom = NewError::OutOfMemory { n };
    // Largest first: a size the allocator refuses is refused before anything is written.
    let slots = try_boxed(n_us, PartitionSlot::new).ok_or(oom)?;
    let cells = try_boxed(n_us, HealthCell::new).ok_or(oom)?;
    let locks = try_boxed(n_us, LockSlot::new).ok_or(oom)?;
    let queue = try_boxed(queue_storage_len(n, n), QueueSlot::new).ok_or(oom)?;
    Ok(Storage {
        cells,
        locks,
        queue,
        slots,
    })
}

/// Boxed storage for `n` partitions (fresh cells). When [`try_boxed_storage`] refuses `n`
/// (too many partitions, or out of memory) this returns *empty* storage instead of aborting,
/// which [`Coordinator::new`] then refuses with a typed error
/// ([`NewError::Table`]`(`[`TableError::StorageTooSmall`]`)`); use `try_boxed_storage` (or
/// [`BoxedCoordinator::new_boxed`]) to learn the reason.
pub fn boxed_storage(n: u32) -> BoxedStorage {
    try_boxed_storage(n).unwrap_or_else(|_| Storage {
        cells: Box::default(),
        locks: Box::default(),
        queue: Box::default(),
        slots: Box::default(),
    })
}

/// Boxed per-partition statistics storage for `n` partitions (48 bytes each), or why not
/// (as [`try_boxed_storage`]: checked before allocating, allocated fallibly).
pub fn try_boxed_stats(n: u32) -> Result<Box<[PartitionStatsSlot]>, NewError> {
    if n > MAX_PARTITIONS {
        return Err(NewError::Table(TableError::TooManyPartitions { n }));
    }
    try_boxed(n as usize, PartitionStatsSlot::new).ok_or(NewError::OutOfMemory { n })
}

/// Boxed per-partition statistics storage for `n` partitions (48 bytes each). When
/// [`try_boxed_stats`] refuses `n` this returns *empty* storage instead of aborting, which
/// [`Coordinator::new_with_stats`] refuses with [`NewError::StatsTooSmall`].
pub fn boxed_stats(n: u32) -> Box<[PartitionStatsSlot]> {
    try_boxed_stats(n).unwrap_or_default()
}

impl<G: OpGate, const R: usize, const E: usize> BoxedCoordinator<G, R, E> {
    /// A coordinator for `n` partitions over freshly allocated storage, per-partition
    /// statistics included. (Over storage of your own: [`Coordinator::new_with_stats`] with
    /// [`boxed_storage`] and [`boxed_stats`].) `n` is validated before anything is
    /// allocated, and the allocations are fallible: errors of [`try_boxed_storage`] and
    /// [`try_boxed_stats`], then of [`Coordinator::new_with_stats`]. Never aborts on a large `n`.
    pub fn new_boxed(config: Config, n: u32, gate: G, now: Instant) -> Result<Self, NewError> {
        let storage = try_boxed_storage(n)?;
        let stats = try_boxed_stats(n)?;
        Coordinator::new_with_stats(config, storage, stats, n, gate, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A size no allocator can give is refused, not aborted on.
    #[test]
    fn try_boxed_refuses_an_impossible_size() {
        assert!(try_boxed(usize::MAX / 2, HealthCell::new).is_none());
        assert_eq!(try_boxed(3, HealthCell::new).map(|b| b.len()), Some(3));
    }

    #[test]
    fn too_many_partitions_is_refused_before_allocating() {
        let n = MAX_PARTITIONS + 1;
        assert!(matches!(
            try_boxed_storage(n),
            Err(NewError::Table(TableError::TooManyPartitions { n: m })) if m == n
        ));
        assert!(boxed_storage(u32::MAX).cells.is_empty());
    }
}
