//! Heap storage for the coordinator (feature `std`): one allocation per storage kind, sized
//! for `n` partitions (65,536 partitions need 3.3 MiB, see `BYTES_PER_PARTITION`, plus 3 MiB
//! of per-partition statistics, which a boxed coordinator always keeps: 48 bytes each).

use std::boxed::Box;

use super::config::Config;
use super::coordinator::{Coordinator, Storage};
use super::detect::PartitionSlot;
use super::error::NewError;
use super::gate::OpGate;
use super::pstats::PartitionStatsSlot;
use crate::health::HealthCell;
use crate::lock::LockSlot;
use crate::queue::{queue_storage_len, QueueSlot};
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

/// Boxed storage for `n` partitions (fresh cells).
pub fn boxed_storage(n: u32) -> BoxedStorage {
    let n_us = n as usize;
    Storage {
        cells: (0..n_us).map(|_| HealthCell::new()).collect(),
        locks: (0..n_us).map(|_| LockSlot::new()).collect(),
        queue: (0..queue_storage_len(n, n))
            .map(|_| QueueSlot::new())
            .collect(),
        slots: (0..n_us).map(|_| PartitionSlot::new()).collect(),
    }
}

/// Boxed per-partition statistics storage for `n` partitions (48 bytes each).
pub fn boxed_stats(n: u32) -> Box<[PartitionStatsSlot]> {
    (0..n as usize).map(|_| PartitionStatsSlot::new()).collect()
}

impl<G: OpGate, const R: usize, const E: usize> BoxedCoordinator<G, R, E> {
    /// A coordinator for `n` partitions over freshly allocated storage, per-partition
    /// statistics included. (Over storage of your own: [`Coordinator::new_with_stats`] with
    /// [`boxed_storage`] and [`boxed_stats`].)
    pub fn new_boxed(config: Config, n: u32, gate: G, now: Instant) -> Result<Self, NewError> {
        Coordinator::new_with_stats(config, boxed_storage(n), boxed_stats(n), n, gate, now)
    }
}
