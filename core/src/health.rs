//! Partition health: a five-state machine with an incarnation number, in one atomic word.
//!
//! # Word layout ([`HealthCell`], one `AtomicU32`)
//!
//! ```text
//!  31                                   3 2  0
//! +--------------------------------------+----+
//! |        incarnation (29 bits)         |st. |
//! +--------------------------------------+----+
//! ```
//!
//! * bits 0..=2: the [`Health`] discriminant (0..=4; the values 5..=7 never occur, because
//!   only [`HealthCell::transition`] writes the word and it writes only encoded [`Health`]
//!   values);
//! * bits 3..=31: the incarnation, `0..=INCARNATION_MAX`, wrapping to 0 after
//!   [`INCARNATION_MAX`].
//!
//! A new cell reads `(Healthy, 0)`.
//!
//! # Transition table ([`TRANSITIONS`], [`is_allowed`])
//!
//! | from \ to   | Healthy | Suspected | Failed | Recovering | Absent  |
//! |-------------|---------|-----------|--------|------------|---------|
//! | Healthy     |         | yes       |        |            | yes (l) |
//! | Suspected   | yes (*) |           | yes    |            | yes (l) |
//! | Failed      | yes (e) |           |        | yes        | yes (d) |
//! | Recovering  | yes (*) |           | yes    |            |         |
//! | Absent      | yes (j) |           |        |            |         |
//!
//! (*) Entering `Healthy` starts a new life: the incarnation becomes `(old + 1) mod 2^29`, so a
//! report that names the previous incarnation is refused as [`TransitionError::Stale`].
//!
//! Membership (partitions join and leave at runtime, within the table's capacity):
//! (l) a graceful leave, (d) a failed partition decommissioned, (j) a join, (e) a failed
//! partition recovered elsewhere (by another process; the coordinator allows it only while
//! no local recovery attempt holds the partition). (j) and (e) enter `Healthy`, so they too
//! start a new life. A `Recovering` partition can neither leave nor rejoin: its attempt must
//! end first. `Absent` keeps the incarnation of the life that left; only entering `Healthy`
//! changes it.
//! No self-loops: a repeated report ("suspect" twice) is [`TransitionError::Invalid`], never a
//! second event.
//!
//! # Concurrency
//!
//! A transition is one successful `compare_exchange` of the whole word (`AcqRel` on success,
//! pairs with the `Acquire` load of every later transition and [`HealthCell::load`]: whatever
//! the winner wrote before its transition is visible to whoever observes the new state). The
//! CAS loop re-validates `from`, the incarnation and the table against the value it actually
//! replaces, so each returned [`Transition`] corresponds to exactly one change of the word and
//! is returned to exactly one caller. Emitting one event per returned `Transition` therefore
//! emits exactly one event per change (the Java original emitted duplicates, B8).
//!
//! # Example
//!
//! ```
//! use ftforest_core::{Health, HealthCell, TransitionError};
//!
//! let cell = HealthCell::new();
//! let (_, life) = cell.load();
//! // Two detectors report the same suspicion: one transition, one event.
//! assert!(cell.transition(None, Health::Suspected, Some(life)).is_ok());
//! assert!(cell.transition(None, Health::Suspected, Some(life)).is_err());
//! // Confirmed, recovered: a new incarnation begins.
//! cell.transition(Some(Health::Suspected), Health::Failed, None).unwrap();
//! cell.transition(Some(Health::Failed), Health::Recovering, None).unwrap();
//! let t = cell.transition(Some(Health::Recovering), Health::Healthy, None).unwrap();
//! assert_eq!(t.incarnation, life + 1);
//! // A late report about the previous life is refused.
//! assert_eq!(
//!     cell.transition(None, Health::Suspected, Some(life)),
//!     Err(TransitionError::Stale { current: life + 1 })
//! );
//! ```

use core::fmt;

use crate::sync::{AtomicU32, Ordering};

/// Health of one partition.
///
/// The discriminants are part of the C ABI (`#[repr(u8)]`); convert C values with
/// [`Health::from_u8`] / `TryFrom<u8>`, which reject unknown values with [`InvalidHealth`].
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Health {
    /// Working normally. Counts towards the quorum.
    Healthy = 0,
    /// Reported faulty, not yet confirmed. Does not count towards the quorum.
    Suspected = 1,
    /// Confirmed failed; waits for recovery.
    Failed = 2,
    /// A recovery is running.
    Recovering = 3,
    /// Not a member (left, decommissioned, or not joined yet): not counted anywhere (not in
    /// the quorum's denominator either), no detection, no recovery.
    Absent = 4,
}

impl Health {
    /// Every state, in discriminant order (`ALL[h as usize] == h`).
    pub const ALL: [Health; 5] = [
        Health::Healthy,
        Health::Suspected,
        Health::Failed,
        Health::Recovering,
        Health::Absent,
    ];

    /// The state with discriminant `v`, or [`InvalidHealth`] for any other value.
    pub const fn from_u8(v: u8) -> Result<Health, InvalidHealth> {
        match v {
            0 => Ok(Health::Healthy),
            1 => Ok(Health::Suspected),
            2 => Ok(Health::Failed),
            3 => Ok(Health::Recovering),
            4 => Ok(Health::Absent),
            _ => Err(InvalidHealth(v)),
        }
    }

    /// The discriminant (`0..=4`).
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// The discriminant as an index into per-state arrays (`0..5`).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Whether the partition is a member (every state but [`Health::Absent`]).
    pub const fn is_member(self) -> bool {
        !matches!(self, Health::Absent)
    }

    /// The upper-case name (`"HEALTHY"`, …), as used in logs and the C header.
    pub const fn name(self) -> &'static str {
        match self {
            Health::Healthy => "HEALTHY",
            Health::Suspected => "SUSPECTED",
            Health::Failed => "FAILED",
            Health::Recovering => "RECOVERING",
            Health::Absent => "ABSENT",
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl TryFrom<u8> for Health {
    type Error = InvalidHealth;

    fn try_from(v: u8) -> Result<Self, Self::Error> {
        Health::from_u8(v)
    }
}

impl From<Health> for u8 {
    fn from(h: Health) -> u8 {
        h.as_u8()
    }
}

/// A value that is not the discriminant of a [`Health`] (e.g. from C); carries the value.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct InvalidHealth(pub u8);

impl fmt::Display for InvalidHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is not a partition health value (0..=4)", self.0)
    }
}

/// Every allowed transition `(from, to)`; [`is_allowed`] answers from it (checked at compile
/// time against the table written out edge by edge).
pub const TRANSITIONS: [(Health, Health); 11] = [
    (Health::Healthy, Health::Suspected),
    (Health::Suspected, Health::Healthy),
    (Health::Suspected, Health::Failed),
    (Health::Failed, Health::Recovering),
    (Health::Recovering, Health::Healthy),
    (Health::Recovering, Health::Failed),
    (Health::Healthy, Health::Absent),
    (Health::Suspected, Health::Absent),
    (Health::Failed, Health::Absent),
    (Health::Absent, Health::Healthy),
    (Health::Failed, Health::Healthy),
];

/// Bit `from * 5 + to` is set for every edge of [`TRANSITIONS`] (computed from the array at
/// compile time: one relation, one source), so [`is_allowed`] is one shift (the smallest code
/// on the microcontroller targets, where the health table is gated at 2 KiB of flash).
const ALLOWED: u32 = {
    let mut bits = 0u32;
    let mut k = 0;
    while k < TRANSITIONS.len() {
        bits |= 1 << (TRANSITIONS[k].0 as u32 * 5 + TRANSITIONS[k].1 as u32);
        k += 1;
    }
    bits
};

/// Whether `from → to` is an edge of the transition table. Self-loops never are.
pub const fn is_allowed(from: Health, to: Health) -> bool {
    ALLOWED >> (from as u32 * 5 + to as u32) & 1 != 0
}

// Compile-time proof that `is_allowed` is the relation written out edge by edge (module
// docs), independently of the bitmask it is computed with: no self-loop, and exactly these.
const _: () = {
    use Health::*;
    let mut i = 0;
    while i < Health::ALL.len() {
        let mut j = 0;
        while j < Health::ALL.len() {
            let (from, to) = (Health::ALL[i], Health::ALL[j]);
            let written = matches!(
                (from, to),
                (Healthy, Suspected)
                    | (Suspected, Healthy)
                    | (Suspected, Failed)
                    | (Failed, Recovering)
                    | (Recovering, Healthy)
                    | (Recovering, Failed)
                    | (Healthy, Absent)
                    | (Suspected, Absent)
                    | (Failed, Absent)
                    | (Absent, Healthy)
                    | (Failed, Healthy)
            );
            assert!(written == is_allowed(from, to));
            j += 1;
        }
        i += 1;
    }
};

/// Number of incarnation bits.
pub const INCARNATION_BITS: u32 = 29;
/// The largest incarnation; the next one is 0.
pub const INCARNATION_MAX: u32 = (1 << INCARNATION_BITS) - 1;

const STATE_BITS: u32 = 3;
const STATE_MASK: u32 = (1 << STATE_BITS) - 1;

/// `(state, incarnation)` → word. `incarnation` must be `<= INCARNATION_MAX`.
const fn encode(h: Health, incarnation: u32) -> u32 {
    (incarnation << STATE_BITS) | h as u32
}

/// Word → `(state, incarnation)`. Total, without a panic path: the state field only ever holds
/// `0..=4` (see the module header); the unreachable values 5..=7 would read as `Recovering`.
const fn decode(word: u32) -> (Health, u32) {
    let state = match word & STATE_MASK {
        0 => Health::Healthy,
        1 => Health::Suspected,
        2 => Health::Failed,
        4 => Health::Absent,
        _ => Health::Recovering,
    };
    (state, word >> STATE_BITS)
}

/// The incarnation after `inc`, wrapping within 29 bits.
pub const fn next_incarnation(inc: u32) -> u32 {
    inc.wrapping_add(1) & INCARNATION_MAX
}

/// One successful state change, returned to exactly one caller.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Transition {
    /// The state that was replaced.
    pub from: Health,
    /// The new state.
    pub to: Health,
    /// The incarnation after the transition (bumped when `to` is `Healthy`).
    pub incarnation: u32,
}

/// Why [`HealthCell::transition`] changed nothing.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TransitionError {
    /// `from → to` is not in the transition table (`from` is the actual current state).
    Invalid {
        /// The current state.
        from: Health,
        /// The requested state.
        to: Health,
    },
    /// The caller named an incarnation that is not the current one (a report about an earlier
    /// life of the partition, or a value that no incarnation can have).
    Stale {
        /// The current incarnation.
        current: u32,
    },
    /// The caller required a current state and the cell is in another one.
    UnexpectedState {
        /// The current state.
        actual: Health,
    },
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TransitionError::Invalid { from, to } => {
                write!(f, "transition {from} -> {to} is not allowed")
            }
            TransitionError::Stale { current } => {
                write!(f, "stale report: the current incarnation is {current}")
            }
            TransitionError::UnexpectedState { actual } => {
                write!(f, "partition is {actual}, not in the required state")
            }
        }
    }
}

/// The health of one partition: state and incarnation in one `AtomicU32` (4 bytes).
///
/// All methods take `&self` and may be called from any number of threads at once.
#[derive(Debug)]
#[repr(transparent)]
pub struct HealthCell(AtomicU32);

impl HealthCell {
    /// A cell reading `(Healthy, 0)`. `const`, so arrays of cells can be `static`
    /// (`[const { HealthCell::new() }; N]`).
    #[cfg(not(ftforest_loom))]
    pub const fn new() -> Self {
        HealthCell(AtomicU32::new(encode(Health::Healthy, 0)))
    }

    /// A cell reading `(Healthy, 0)` (not `const` under loom, whose atomics are not).
    #[cfg(ftforest_loom)]
    pub fn new() -> Self {
        HealthCell(AtomicU32::new(encode(Health::Healthy, 0)))
    }

    /// The current `(state, incarnation)`, read in one atomic load (`Acquire`, pairs with the
    /// `AcqRel` CAS of [`HealthCell::transition`]), so the two always belong together.
    // Out of line: smaller than its inlined copies (flash, issue 10).
    #[inline(never)]
    pub fn load(&self) -> (Health, u32) {
        decode(self.0.load(Ordering::Acquire))
    }

    /// The current state (see [`HealthCell::load`]).
    pub fn state(&self) -> Health {
        self.load().0
    }

    /// The current incarnation (see [`HealthCell::load`]).
    pub fn incarnation(&self) -> u32 {
        self.load().1
    }

    /// Move to `to` along the transition table, atomically.
    ///
    /// * `from`: the state the caller requires now (`None` = whatever it is); on mismatch
    ///   [`TransitionError::UnexpectedState`].
    /// * `incarnation`: the life the caller's report is about (`None` = the current one); on
    ///   mismatch [`TransitionError::Stale`]. Checked before the state.
    /// * an edge outside the table → [`TransitionError::Invalid`].
    ///
    /// On success the word changed exactly once, from `Transition::from` to `to`, and this
    /// caller is the only one that receives this `Transition`. Concurrent callers racing for
    /// the same change: one wins, the others observe the new state and fail with one of the
    /// errors above (never a second `Transition`). Lock-free: the loop only retries when
    /// another transition succeeded.
    pub fn transition(
        &self,
        from: Option<Health>,
        to: Health,
        incarnation: Option<u32>,
    ) -> Result<Transition, TransitionError> {
        // Acquire: pairs with the AcqRel CAS of the transition that wrote this value.
        let mut word = self.0.load(Ordering::Acquire);
        loop {
            let (state, inc) = decode(word);
            if let Some(expected) = incarnation {
                if expected != inc {
                    return Err(TransitionError::Stale { current: inc });
                }
            }
            if let Some(required) = from {
                if required != state {
                    return Err(TransitionError::UnexpectedState { actual: state });
                }
            }
            if !is_allowed(state, to) {
                return Err(TransitionError::Invalid { from: state, to });
            }
            let new_inc = if matches!(to, Health::Healthy) {
                next_incarnation(inc)
            } else {
                inc
            };
            // AcqRel on success: Release publishes the caller's prior writes with the new
            // state (pairs with the Acquire of `load` and of the next transition); Acquire
            // orders this transition after the one it replaces. Acquire on failure: the
            // value we retry with was written by a transition (pairs with its Release).
            match self.0.compare_exchange_weak(
                word,
                encode(to, new_inc),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    return Ok(Transition {
                        from: state,
                        to,
                        incarnation: new_inc,
                    })
                }
                Err(actual) => {
                    word = actual;
                    crate::sync::spin_loop();
                }
            }
        }
    }
}

#[cfg(test)]
impl HealthCell {
    /// Test helper: a cell at an arbitrary `(state, incarnation)`.
    pub(crate) fn with_parts(h: Health, incarnation: u32) -> Self {
        HealthCell(AtomicU32::new(encode(h, incarnation & INCARNATION_MAX)))
    }
}

impl Default for HealthCell {
    fn default() -> Self {
        HealthCell::new()
    }
}

#[cfg(test)]
mod tests;
