//! The partition table: one [`HealthCell`] per partition (dense ranks `0..n`), per-state counts
//! and an O(1) quorum test over the current members.
//!
//! # Invariants
//!
//! * `1 <= n <= storage.len()` and `n <= MAX_PARTITIONS`; only the first `n` cells are used.
//! * `counts[h]` (five `AtomicU32`, one per [`Health`]) = number of the first `n` cells in
//!   state `h`, **whenever no transition is in progress**. A transition made through
//!   [`PartitionTable::transition`] is: the cell CAS (see `health.rs`), then
//!   `counts[from].fetch_sub(1)`, then `counts[to].fetch_add(1)`. Between the CAS and the
//!   second RMW the transition is "in progress": each count may then differ from a scan by one
//!   per transition in progress (a concurrent later transition of the same cell may even make a
//!   raw count dip below zero; it is stored wrapping and read as `i32` clamped to `0..=n`).
//!   The raw counts never sum to more than `n` at any instant (a transition subtracts before
//!   it adds); [`PartitionTable::counts`] reads them one after another, so while transitions
//!   run its total may still exceed `n`.
//! * Members are the cells not in [`Health::Absent`]: `members = n - counts[Absent]`. `n` is
//!   the table's capacity (ranks `0..n` exist); partitions join (ABSENT → HEALTHY) and leave
//!   (→ ABSENT) at runtime within it, and the quorum counts members only.
//! * Transitions applied directly through a borrowed cell ([`PartitionTable::cell`] or the
//!   storage itself) bypass the counts; the counts are exact only if every transition goes
//!   through the table.
//!
//! # Orderings
//!
//! The count RMWs are `AcqRel` and count loads `Acquire`: a reader that sees a count updated
//! by a transition also sees everything the transitioning thread wrote before it (pairs with
//! the RMWs of every transition). Five counts are five loads: [`PartitionTable::counts`] is
//! not an atomic snapshot across states while transitions run, and neither is
//! [`PartitionTable::has_quorum`] (two loads: HEALTHY, then ABSENT).
//!
//! # Memory
//!
//! 4 bytes per partition (one `HealthCell`, caller storage) plus a fixed header: five `u32`
//! counts, `n`, and the storage handle (`S`: an array is inline, a slice is two words).
//!
//! # Example
//!
//! ```
//! use ftforest_core::{Health, HealthCell, PartitionTable};
//!
//! static CELLS: [HealthCell; 5] = [const { HealthCell::new() }; 5];
//! let table = PartitionTable::new(&CELLS, 5).unwrap();
//! table.transition(0, None, Health::Suspected, None).unwrap();
//! table.transition(1, None, Health::Suspected, None).unwrap();
//! assert!(table.has_quorum()); // 3 of 5 healthy
//! table.transition(2, None, Health::Suspected, None).unwrap();
//! assert!(!table.has_quorum()); // 2 of 5
//! // Two suspected partitions leave: 2 healthy of 3 members is a quorum.
//! table.transition(0, None, Health::Absent, None).unwrap();
//! table.transition(1, None, Health::Absent, None).unwrap();
//! assert!(table.has_quorum());
//! assert_eq!(table.members(), 3);
//! assert_eq!(table.counts(), table.scan());
//! ```

use core::fmt;

use crate::health::{Health, HealthCell, Transition, TransitionError};
use crate::sync::{AtomicU32, Ordering};

/// The largest partition count a table accepts (`i32::MAX`, so that a transiently negative
/// count can be told from a huge one).
pub const MAX_PARTITIONS: u32 = i32::MAX as u32;

/// Whether `healthy` partitions out of `total` form a quorum: a strict majority,
/// `healthy > total / 2` (integer division), as in the Java original. The coordinator and the
/// table pass the current members as `total` (ABSENT ranks are not counted).
///
/// `(3,5)` ✓, `(2,5)` ✗, `(2,4)` ✗, `(3,4)` ✓, `(1,1)` ✓, `(2,3)` ✓, `(1,3)` ✗, `(0,0)` ✗.
pub const fn has_quorum(healthy: u32, total: u32) -> bool {
    healthy > total / 2
}

/// Per-state partition counts.
///
/// Not `#[non_exhaustive]` so that it can be written as a literal; `absent` was added with
/// runtime membership (issue 8).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Counts {
    /// Partitions in [`Health::Healthy`].
    pub healthy: u32,
    /// Partitions in [`Health::Suspected`].
    pub suspected: u32,
    /// Partitions in [`Health::Failed`].
    pub failed: u32,
    /// Partitions in [`Health::Recovering`].
    pub recovering: u32,
    /// Ranks in [`Health::Absent`] (not members).
    pub absent: u32,
}

impl Counts {
    /// The count of state `h`.
    pub const fn get(&self, h: Health) -> u32 {
        match h {
            Health::Healthy => self.healthy,
            Health::Suspected => self.suspected,
            Health::Failed => self.failed,
            Health::Recovering => self.recovering,
            Health::Absent => self.absent,
        }
    }

    /// The members: the sum of every count but `absent` (saturating).
    pub const fn members(&self) -> u32 {
        self.healthy
            .saturating_add(self.suspected)
            .saturating_add(self.failed)
            .saturating_add(self.recovering)
    }

    /// The sum of all five counts, absent ranks included (saturating): the table's `n`
    /// whenever no transition is in progress.
    pub const fn total(&self) -> u32 {
        self.members().saturating_add(self.absent)
    }

    #[cfg(test)]
    fn bump(&mut self, h: Health) {
        let c = match h {
            Health::Healthy => &mut self.healthy,
            Health::Suspected => &mut self.suspected,
            Health::Failed => &mut self.failed,
            Health::Recovering => &mut self.recovering,
            Health::Absent => &mut self.absent,
        };
        *c = c.saturating_add(1);
    }
}

/// Why [`PartitionTable::new`] refused its arguments.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TableError {
    /// `n == 0`: a table needs at least one partition.
    NoPartitions,
    /// The storage holds fewer than `n` cells.
    StorageTooSmall {
        /// Requested partitions.
        n: u32,
        /// Cells in the storage.
        len: usize,
    },
    /// `n > MAX_PARTITIONS`.
    TooManyPartitions {
        /// Requested partitions.
        n: u32,
    },
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TableError::NoPartitions => f.write_str("a partition table needs n >= 1"),
            TableError::StorageTooSmall { n, len } => {
                write!(f, "storage holds {len} cells, {n} partitions requested")
            }
            TableError::TooManyPartitions { n } => {
                write!(f, "{n} partitions exceed the maximum of {MAX_PARTITIONS}")
            }
        }
    }
}

/// A rank outside `0..n`.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RankError {
    /// `rank >= len`.
    UnknownPartition {
        /// The rank asked for.
        rank: u32,
        /// The number of partitions.
        len: u32,
    },
}

impl fmt::Display for RankError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RankError::UnknownPartition { rank, len } => {
                write!(f, "unknown partition {rank} (ranks are 0..{len})")
            }
        }
    }
}

/// Why [`PartitionTable::transition`] changed nothing: an unknown rank, or one of the
/// [`TransitionError`] cases of the cell.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TableTransitionError {
    /// `rank >= len`.
    UnknownPartition {
        /// The rank asked for.
        rank: u32,
        /// The number of partitions.
        len: u32,
    },
    /// See [`TransitionError::Invalid`].
    Invalid {
        /// The current state.
        from: Health,
        /// The requested state.
        to: Health,
    },
    /// See [`TransitionError::Stale`].
    Stale {
        /// The current incarnation.
        current: u32,
    },
    /// See [`TransitionError::UnexpectedState`].
    UnexpectedState {
        /// The current state.
        actual: Health,
    },
}

impl From<TransitionError> for TableTransitionError {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::Invalid { from, to } => TableTransitionError::Invalid { from, to },
            TransitionError::Stale { current } => TableTransitionError::Stale { current },
            TransitionError::UnexpectedState { actual } => {
                TableTransitionError::UnexpectedState { actual }
            }
        }
    }
}

impl From<RankError> for TableTransitionError {
    fn from(e: RankError) -> Self {
        match e {
            RankError::UnknownPartition { rank, len } => {
                TableTransitionError::UnknownPartition { rank, len }
            }
        }
    }
}

impl fmt::Display for TableTransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TableTransitionError::UnknownPartition { rank, len } => {
                fmt::Display::fmt(&RankError::UnknownPartition { rank, len }, f)
            }
            TableTransitionError::Invalid { from, to } => {
                fmt::Display::fmt(&TransitionError::Invalid { from, to }, f)
            }
            TableTransitionError::Stale { current } => {
                fmt::Display::fmt(&TransitionError::Stale { current }, f)
            }
            TableTransitionError::UnexpectedState { actual } => {
                fmt::Display::fmt(&TransitionError::UnexpectedState { actual }, f)
            }
        }
    }
}

/// Health of `n` partitions with O(1) per-state counts and quorum.
///
/// `S` is the caller's storage: `[HealthCell; N]`, `&[HealthCell]`, `Box<[HealthCell]>`, ….
/// All methods take `&self`; the table is `Sync` when `S` is, and any number of threads may
/// transition partitions at once.
#[derive(Debug)]
pub struct PartitionTable<S: AsRef<[HealthCell]>> {
    cells: S,
    n: u32,
    counts: [AtomicU32; 5],
}

impl<S: AsRef<[HealthCell]>> PartitionTable<S> {
    /// A table over the first `n` cells of `storage`.
    ///
    /// The counts start from a scan of those cells, so a storage that is not fresh is counted
    /// as it is (no other thread may transition them during `new`).
    ///
    /// Errors: `n == 0` → [`TableError::NoPartitions`]; `n > storage.len()` →
    /// [`TableError::StorageTooSmall`]; `n > MAX_PARTITIONS` → [`TableError::TooManyPartitions`].
    pub fn new(storage: S, n: u32) -> Result<Self, TableError> {
        if n == 0 {
            return Err(TableError::NoPartitions);
        }
        if n > MAX_PARTITIONS {
            return Err(TableError::TooManyPartitions { n });
        }
        let len = storage.as_ref().len();
        if usize::try_from(n).map_or(true, |n| n > len) {
            return Err(TableError::StorageTooSmall { n, len });
        }
        let cells = storage.as_ref();
        let initial = tally(cells.get(..n as usize).unwrap_or(cells));
        Ok(PartitionTable {
            counts: initial.map(AtomicU32::new),
            cells: storage,
            n,
        })
    }

    /// The number of partitions `n` (ranks are `0..n`), members and absent ranks together:
    /// the table's capacity.
    pub fn len(&self) -> u32 {
        self.n
    }

    /// The current members: `n` minus the ABSENT ranks (O(1), one `Acquire` load; a snapshot,
    /// see [`PartitionTable::count`]).
    pub fn members(&self) -> u32 {
        self.n.saturating_sub(self.count(Health::Absent))
    }

    /// Always `false`: a table has at least one partition.
    pub fn is_empty(&self) -> bool {
        false
    }

    fn used(&self) -> &[HealthCell] {
        let cells = self.cells.as_ref();
        // `new` checked n <= len; `get` keeps this total regardless.
        cells.get(..self.n as usize).unwrap_or(cells)
    }

    /// The cell of `rank`, for reads. Transitions made directly on it bypass the counts (see
    /// the module docs); use [`PartitionTable::transition`].
    pub fn cell(&self, rank: u32) -> Result<&HealthCell, RankError> {
        self.used()
            .get(rank as usize)
            .ok_or(RankError::UnknownPartition { rank, len: self.n })
    }

    /// The current `(state, incarnation)` of `rank` (one atomic load).
    pub fn get(&self, rank: u32) -> Result<(Health, u32), RankError> {
        self.cell(rank).map(HealthCell::load)
    }

    /// Transition `rank` as [`HealthCell::transition`] does, and keep the counts in step.
    ///
    /// Exactly one caller receives each `Transition`. The counts reflect it once this call
    /// returns; while it runs, they may differ from a scan (module docs). Lock-free.
    pub fn transition(
        &self,
        rank: u32,
        from: Option<Health>,
        to: Health,
        incarnation: Option<u32>,
    ) -> Result<Transition, TableTransitionError> {
        let t = self.cell(rank)?.transition(from, to, incarnation)?;
        // Leaving first, then entering: the sum of the counts never exceeds n because of this
        // thread. AcqRel: pairs with the Acquire loads of `count`/`counts`/`has_quorum`.
        if let Some(c) = self.counts.get(t.from.index()) {
            c.fetch_sub(1, Ordering::AcqRel);
        }
        if let Some(c) = self.counts.get(t.to.index()) {
            c.fetch_add(1, Ordering::AcqRel);
        }
        Ok(t)
    }

    /// The maintained count of state `h` (O(1), one `Acquire` load, clamped to `0..=n`).
    // Out of line: one body instead of a copy per call site (flash on microcontrollers,
    // issue 10; README "Footprint").
    #[inline(never)]
    pub fn count(&self, h: Health) -> u32 {
        let raw = self
            .counts
            .get(h.index())
            .map_or(0, |c| c.load(Ordering::Acquire));
        // A count may transiently be "-1" (module docs): read it as i32 and clamp.
        let signed = raw as i32;
        if signed < 0 {
            0
        } else {
            (signed as u32).min(self.n)
        }
    }

    /// The five maintained counts (O(1); five loads, see the module docs).
    pub fn counts(&self) -> Counts {
        Counts {
            healthy: self.count(Health::Healthy),
            suspected: self.count(Health::Suspected),
            failed: self.count(Health::Failed),
            recovering: self.count(Health::Recovering),
            absent: self.count(Health::Absent),
        }
    }

    /// Whether the healthy partitions form a quorum of the current members:
    /// `has_quorum(count(Healthy), members())`, O(1). ABSENT ranks count on neither side.
    ///
    /// A snapshot: it reflects every transition completed before the call; the answer may be
    /// outdated as soon as it is returned. Two loads (HEALTHY, then ABSENT): a join or leave
    /// racing the call may be seen in one count and not the other, as with any transition
    /// in progress (module docs).
    // Out of line: one body instead of a copy per call site (flash on microcontrollers,
    // issue 10; README "Footprint").
    #[inline(never)]
    pub fn has_quorum(&self) -> bool {
        has_quorum(self.count(Health::Healthy), self.members())
    }

    /// Count the states by reading every cell (O(n)). Equals [`PartitionTable::counts`]
    /// whenever no transition is in progress.
    pub fn scan(&self) -> Counts {
        let [healthy, suspected, failed, recovering, absent] = tally(self.used());
        Counts {
            healthy,
            suspected,
            failed,
            recovering,
            absent,
        }
    }
}

/// The number of `cells` per state, indexed by [`Health::index`] (one load per cell). At most
/// `MAX_PARTITIONS` cells are counted (`new` checks `n`), so no total overflows.
fn tally(cells: &[HealthCell]) -> [u32; 5] {
    let mut t = [0u32; 5];
    for cell in cells {
        if let Some(x) = t.get_mut(cell.state().index()) {
            *x = x.wrapping_add(1);
        }
    }
    t
}

#[cfg(test)]
mod tests;
