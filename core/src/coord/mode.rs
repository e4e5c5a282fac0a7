//! Recovery mode as a **count**, not a flag (the Java boolean worked only because recoveries
//! were serialised on one thread, B21).
//!
//! # Word (`AtomicU32`)
//!
//! ```text
//!  31            30 ............................. 0
//! [TRANSITION]   [count of recoveries inside the mode]
//! ```
//!
//! The first recovery to enter pauses the forest (closes the operation gate, pauses balancer
//! and ghost sync); the last to leave resumes it. The side effects of those two edges must not
//! overlap or reorder (a resume of the previous episode running after the pause of the next
//! would leave a recovery running on an unpaused forest), so each edge holds `TRANSITION`
//! while its caller performs the side effects, and every other change is refused with
//! [`ModeError::Busy`] meanwhile:
//!
//! | verb | from → to | result |
//! |---|---|---|
//! | `try_enter` | `0` → `1│T` | [`Enter::First`]: pause, then `finish_enter` (or `abort_enter`) |
//! | `try_enter` | `c>0` → `c+1` | [`Enter::Joined`]: the forest is already paused |
//! | `finish_enter` | `1│T` → `1` | the pause is complete; others may join |
//! | `abort_enter` | `1│T` → `0` | the pause was given up (its effects undone by the caller) |
//! | `try_exit` | `1` → `0│T` | [`Exit::Last`]: resume, then `finish_exit` |
//! | `try_exit` | `c>1` → `c−1` | [`Exit::Left`] |
//! | `finish_exit` | `0│T` → `0` | the resume is complete |
//! | any of `try_*` | `x│T` | `Busy`, unchanged |
//!
//! # Orderings
//!
//! Every successful change is one `compare_exchange` with `AcqRel` (failure `Acquire`):
//! `finish_enter`'s Release pairs with the Acquire of every `Joined`, so a joiner sees the
//! pause's side effects; a leaver's Release pairs with the last exiter's Acquire, so the
//! recovery work of every leaver happens-before the resume; `finish_exit`'s Release pairs
//! with the next `First`'s Acquire, so a new pause starts after the previous resume
//! finished. Loom model: `loom-tests/tests/loom_coord.rs`.
//!
//! The coordinator uses this primitive under `&mut self` (sequentially); it is `&self` and
//! lock-free so that embedders who run recoveries on their own threads (and the C library)
//! can share one mode between them. A thread that gets `Busy` retries (spin with backoff, or
//! come back on the next tick); the transition holder never waits on anyone.

use core::fmt;

use crate::sync::{AtomicU32, Ordering};

const TRANSITION: u32 = 1 << 31;
const COUNT: u32 = TRANSITION - 1;

/// Outcome of a successful [`RecoveryMode::try_enter`].
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Enter {
    /// The mode was empty: the caller must pause the forest, then call
    /// [`RecoveryMode::finish_enter`] (or [`RecoveryMode::abort_enter`]).
    First = 0,
    /// The forest is already paused; the caller is inside.
    Joined = 1,
}

/// Outcome of a successful [`RecoveryMode::try_exit`].
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Exit {
    /// The caller was the last one inside: it must resume the forest, then call
    /// [`RecoveryMode::finish_exit`].
    Last = 0,
    /// Others remain inside.
    Left = 1,
}

/// Why a mode verb changed nothing.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ModeError {
    /// A pause or resume is in progress; retry later.
    Busy,
    /// 2^31 − 1 recoveries are inside already.
    Overflow,
    /// `try_exit` with nobody inside.
    NotInMode,
    /// `finish_*`/`abort_enter` without the matching transition in progress.
    NotTransitioning,
}

impl fmt::Display for ModeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModeError::Busy => "recovery mode is pausing or resuming; retry",
            ModeError::Overflow => "too many recoveries in recovery mode",
            ModeError::NotInMode => "no recovery is in recovery mode",
            ModeError::NotTransitioning => "no matching pause or resume is in progress",
        })
    }
}

/// The counted recovery mode (see the module docs). 4 bytes.
#[derive(Debug)]
pub struct RecoveryMode {
    word: AtomicU32,
}

impl Default for RecoveryMode {
    fn default() -> Self {
        RecoveryMode::new()
    }
}

impl RecoveryMode {
    /// Empty, not transitioning.
    #[cfg(not(ftforest_loom))]
    pub const fn new() -> Self {
        RecoveryMode {
            word: AtomicU32::new(0),
        }
    }

    /// Empty, not transitioning (not `const` under loom).
    #[cfg(ftforest_loom)]
    pub fn new() -> Self {
        RecoveryMode {
            word: AtomicU32::new(0),
        }
    }

    /// Recoveries inside (including a first enterer still pausing).
    pub fn count(&self) -> u32 {
        // Acquire: pairs with the AcqRel changes.
        self.word.load(Ordering::Acquire) & COUNT
    }

    /// Whether a pause or resume is in progress.
    pub fn is_transitioning(&self) -> bool {
        self.word.load(Ordering::Acquire) & TRANSITION != 0
    }

    /// Whether the forest is (being) paused: someone is inside or a resume is in progress.
    pub fn is_active(&self) -> bool {
        self.word.load(Ordering::Acquire) != 0
    }

    fn change(&self, f: impl Fn(u32) -> Result<u32, ModeError>) -> Result<(u32, u32), ModeError> {
        // Acquire: pairs with the AcqRel CAS that wrote the value.
        let mut cur = self.word.load(Ordering::Acquire);
        loop {
            let next = f(cur)?;
            // AcqRel: see the module docs (joiner ↔ finish_enter, last exiter ↔ leavers,
            // first enterer ↔ finish_exit).
            match self
                .word
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok((cur, next)),
                Err(actual) => {
                    cur = actual;
                    crate::sync::spin_loop();
                }
            }
        }
    }

    /// Enter recovery mode (never waits). `Busy` while a pause or resume is in progress.
    pub fn try_enter(&self) -> Result<Enter, ModeError> {
        let (prev, _) = self.change(|w| {
            if w & TRANSITION != 0 {
                Err(ModeError::Busy)
            } else if w == 0 {
                Ok(1 | TRANSITION)
            } else if w >= COUNT {
                Err(ModeError::Overflow)
            } else {
                Ok(w + 1)
            }
        })?;
        Ok(if prev == 0 {
            Enter::First
        } else {
            Enter::Joined
        })
    }

    /// The first enterer finished pausing: others may join.
    pub fn finish_enter(&self) -> Result<(), ModeError> {
        self.exact(1 | TRANSITION, 1)
    }

    /// The first enterer gave up (it undid its pause): the mode is empty again.
    pub fn abort_enter(&self) -> Result<(), ModeError> {
        self.exact(1 | TRANSITION, 0)
    }

    /// Leave recovery mode (never waits). `Busy` while a pause or resume is in progress.
    pub fn try_exit(&self) -> Result<Exit, ModeError> {
        let (_, next) = self.change(|w| {
            if w & TRANSITION != 0 {
                Err(ModeError::Busy)
            } else if w == 0 {
                Err(ModeError::NotInMode)
            } else if w == 1 {
                Ok(TRANSITION)
            } else {
                Ok(w - 1)
            }
        })?;
        Ok(if next == TRANSITION {
            Exit::Last
        } else {
            Exit::Left
        })
    }

    /// The last exiter finished resuming: a new episode may begin.
    pub fn finish_exit(&self) -> Result<(), ModeError> {
        self.exact(TRANSITION, 0)
    }

    // Out of line: one body instead of a copy per call site (flash on microcontrollers,
    // issue 10; README "Footprint").
    #[inline(never)]
    fn exact(&self, from: u32, to: u32) -> Result<(), ModeError> {
        // AcqRel: ends the transition (Release pairs with the next Acquire change).
        self.word
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| ())
            .map_err(|_| ModeError::NotTransitioning)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_joins_last_and_busy() {
        let m = RecoveryMode::new();
        assert_eq!(m.try_exit(), Err(ModeError::NotInMode));
        assert_eq!(m.try_enter(), Ok(Enter::First));
        assert!(m.is_transitioning());
        // Nobody joins or leaves while the first one pauses.
        assert_eq!(m.try_enter(), Err(ModeError::Busy));
        assert_eq!(m.try_exit(), Err(ModeError::Busy));
        assert_eq!(m.finish_exit(), Err(ModeError::NotTransitioning));
        assert_eq!(m.finish_enter(), Ok(()));
        assert_eq!(m.finish_enter(), Err(ModeError::NotTransitioning));
        assert_eq!(m.try_enter(), Ok(Enter::Joined));
        assert_eq!(m.try_enter(), Ok(Enter::Joined));
        assert_eq!(m.count(), 3);
        assert_eq!(m.try_exit(), Ok(Exit::Left));
        assert_eq!(m.try_exit(), Ok(Exit::Left));
        assert_eq!(m.try_exit(), Ok(Exit::Last));
        assert!(m.is_active() && m.count() == 0);
        assert_eq!(m.try_enter(), Err(ModeError::Busy));
        assert_eq!(m.finish_exit(), Ok(()));
        assert!(!m.is_active());
        assert_eq!(m.try_enter(), Ok(Enter::First));
        assert_eq!(m.abort_enter(), Ok(()));
        assert_eq!(m.count(), 0);
        assert_eq!(m.abort_enter(), Err(ModeError::NotTransitioning));
        assert!(std::format!("{}", ModeError::Busy).contains("retry"));
    }

    #[test]
    fn overflow_is_refused() {
        let m = RecoveryMode {
            word: AtomicU32::new(COUNT),
        };
        assert_eq!(m.try_enter(), Err(ModeError::Overflow));
        assert_eq!(m.count(), COUNT);
    }
}
