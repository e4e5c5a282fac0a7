//! # ftforest-bench
//!
//! The alternatives a user would pick instead of ftforest's [`Tracker`](ftforest_core::Tracker),
//! behind one pair of traits so that every benchmark loops over all of them with the same code:
//!
//! * [`Peer`]: `begin` admits one operation (or rejects it while paused), `end` finishes it.
//! * [`PausePeer`]: `pause_wait` closes the gate and blocks until nothing is in flight;
//!   `resume` reopens it.
//!
//! The peers, one file each:
//!
//! | type | file | what it is |
//! | --- | --- | --- |
//! | [`Floor`] | `floor.rs` | one `fetch_add` + one `fetch_sub` on one `AtomicU32`: the cost floor, cannot pause |
//! | [`FtGuard`], [`FtToken`], [`FtBeginOn`], [`FtSpinGuard`] | `ftforest.rs` | ftforest's `Tracker`: guard, token, explicit stripe, spin-only waiting |
//! | [`JavaTracker`] | `java_tracker.rs` | a faithful port of Luciferase's `InFlightOperationTracker` |
//! | [`StdRwLock`], [`PlRwLock`], [`Sharded`] | `rwlocks.rs` | read lock = operation, write lock = pause |
//! | [`MutexCounter`] | `mutex_counter.rs` | a counter and a paused flag under one `std::sync::Mutex` |
//! | [`OneWord`] | `one_word.rs` | `PAUSED \| count` in one `AtomicU32`: the floor of pause + resume |
//!
//! Monomorphised generics, not trait objects: a virtual call would add a few nanoseconds to
//! every peer and hide the differences being measured. [`for_each_peer!`] and
//! [`for_each_pause_peer!`] list the peers once for the bench files.
//!
//! [`harness`] holds the measurement loops (1 thread, 2 threads on one object, pause wake
//! latency) and the percentile bookkeeping.

pub mod floor;
pub mod ftforest;
pub mod harness;
pub mod java_tracker;
pub mod mutex_counter;
pub mod one_word;
pub mod rwlocks;

pub use floor::Floor;
pub use ftforest::{FtBeginOn, FtGuard, FtSpinGuard, FtToken};
pub use java_tracker::JavaTracker;
pub use mutex_counter::MutexCounter;
pub use one_word::OneWord;
pub use rwlocks::{PlRwLock, Sharded, StdRwLock};

/// Something that admits and finishes operations: the hot path being compared.
///
/// Implementations are `Sync` so that the 2-thread benchmark can share one object.
pub trait Peer: Sync {
    /// Benchmark id (stable: `ratios.py` keys on it).
    const NAME: &'static str;

    /// Proof of one admitted operation; passing it to [`Peer::end`] finishes the operation.
    type Op<'a>
    where
        Self: 'a;

    /// A fresh, open (not paused) object.
    fn create() -> Self;

    /// Admit one operation, or `None` when the gate is closed. Never blocks.
    fn begin(&self) -> Option<Self::Op<'_>>;

    /// Finish the operation `op` admitted by [`Peer::begin`] on `self`.
    fn end(&self, op: Self::Op<'_>);
}

/// A [`Peer`] that can also be paused: the pause barrier.
pub trait PausePeer: Peer {
    /// Proof of one held pause; passing it to [`PausePeer::resume`] reopens the gate.
    type Pause<'a>
    where
        Self: 'a;

    /// Close the gate, then block until no operation is in flight.
    ///
    /// Returns once quiescent; the harness never lets the wait run into a deadline.
    fn pause_wait(&self) -> Self::Pause<'_>;

    /// Release the pause `p` taken by [`PausePeer::pause_wait`].
    fn resume(&self, p: Self::Pause<'_>);
}

/// Calls `$m!(Type)` once for every [`Peer`], in table order (floor first).
#[macro_export]
macro_rules! for_each_peer {
    ($m:ident) => {
        $m!($crate::Floor);
        $m!($crate::FtGuard);
        $m!($crate::FtToken);
        $m!($crate::JavaTracker);
        $m!($crate::StdRwLock);
        $m!($crate::PlRwLock);
        $m!($crate::Sharded);
        $m!($crate::MutexCounter);
        $m!($crate::OneWord);
    };
}

/// Calls `$m!(Type)` once for every [`PausePeer`] (every peer except the floor, plus the
/// spin-only ftforest variant).
#[macro_export]
macro_rules! for_each_pause_peer {
    ($m:ident) => {
        $m!($crate::FtGuard);
        $m!($crate::FtSpinGuard);
        $m!($crate::JavaTracker);
        $m!($crate::StdRwLock);
        $m!($crate::PlRwLock);
        $m!($crate::Sharded);
        $m!($crate::MutexCounter);
        $m!($crate::OneWord);
    };
}
