//! # ftforest-core
//!
//! The fault-tolerance core of a partitioned forest (octree, tetree, …): lock-free
//! primitives plus a sans-io coordinator, `#![no_std]` without an allocator.
//!
//! Data flows through the crate in this order:
//!
//! 1. [`Tracker`] — `begin`/`end` around every forest operation; `pause` closes the gate
//!    and waits until nothing is in flight; pauses are counted.
//! 2. [`HealthCell`] / [`PartitionTable`] — per-partition health
//!    (HEALTHY → SUSPECTED → FAILED → RECOVERING → HEALTHY, and ABSENT for a rank that is not a
//!    member) as an atomic state machine with an incarnation number, per-state counts and an
//!    O(1) quorum test over the current members.
//! 3. [`RecoveryLock`] and [`RecoveryQueue`] — at most one recovery per partition, at most K at
//!    once; a bounded, duplicate-free FIFO of partitions waiting for recovery.
//! 4. [`coord`] — detection, confirmation, quorum decisions, recovery orchestration, events and
//!    statistics, driven by reports and `tick(now)`; partitions join and leave at runtime
//!    within the coordinator's capacity.
//!
//! ## Guarantees
//!
//! * No public function panics or allocates; every misuse is a typed error value.
//! * The core starts no threads, never sleeps and never reads a clock by itself: time arrives
//!   as `now` arguments or through a [`Clock`]; blocking goes through a [`WaitStrategy`].
//! * Capacity is fixed by the embedder through caller storage (arrays, slices or boxes).
//! * Every concurrent primitive has a loom model in `loom-tests/`.
//!
//! ## Features
//!
//! * `std` (default): [`StdWait`] (thread parking), [`StdClock`], thread-local stripe
//!   selection for the tracker, and the background monitor.
//! * `phi-accrual` (default): the phi-accrual heartbeat detector
//!   ([`coord::HeartbeatMode::Phi`]); without it that mode is a configuration error and the
//!   `u128` arithmetic it needs is not linked (about 1.9 KiB of flash on Cortex-M).
//! * `critical-section`: pass-through of portable-atomic's critical-section backend, needed on
//!   targets without atomic read-modify-write (thumbv6m-none-eabi, riscv32imc-unknown-none-elf).
#![no_std]
#![deny(missing_docs)]
#![warn(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[cfg(any(feature = "std", test))]
extern crate std;

pub(crate) mod arith;
pub(crate) mod sync;

pub mod time;
pub mod wait;

pub mod tracker;

pub mod health;
pub mod table;

pub mod lock;
pub mod queue;

pub mod coord;

pub use health::*;
pub use lock::*;
pub use queue::*;
pub use table::*;
pub use time::*;
pub use tracker::*;
pub use wait::*;
