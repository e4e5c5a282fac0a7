//! Recovery phases and their enforced transition table.
//!
//! ```text
//! Idle ──► Detecting ──► Redistributing ──► Rebalancing ──► Validating ──► Complete
//!              │               │                 │               │            │
//!              └───────────────┴──────► Failed ◄─┴───────────────┘            │
//!   Idle ◄── Failed (retry)                                    Idle ◄─────────┘
//! ```
//!
//! Exactly the edges of the Java `Phase41RecoveryPhaseTest` table (which the Java code never
//! enforced, digest §1.4): every active phase moves to its successor or to `Failed`;
//! `Complete` and `Failed` return to `Idle`. Every other pair, including `Idle → Idle`, a
//! skipped phase (`Detecting → Rebalancing`) and a repeated one, is refused with
//! [`PhaseError`]. Attempts are numbered from 1 and every retry increments the number (the
//! Java numbering reported 1 for both the first run and the first retry, B13).

use core::fmt;

/// A phase of one recovery attempt.
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Phase {
    /// Not running.
    #[default]
    Idle = 0,
    /// Confirm what was lost.
    Detecting = 1,
    /// Move the failed partition's data to survivors.
    Redistributing = 2,
    /// Rebalance the forest.
    Rebalancing = 3,
    /// Validate the ghost layer and invariants.
    Validating = 4,
    /// The attempt succeeded.
    Complete = 5,
    /// The attempt failed (error, timeout or pause timeout).
    Failed = 6,
}

impl Phase {
    /// The phases the embedder runs, in order.
    pub const RUNNABLE: [Phase; 4] = [
        Phase::Detecting,
        Phase::Redistributing,
        Phase::Rebalancing,
        Phase::Validating,
    ];

    /// Whether the embedder runs this phase (`Detecting..=Validating`).
    pub const fn is_runnable(self) -> bool {
        matches!(
            self,
            Phase::Detecting | Phase::Redistributing | Phase::Rebalancing | Phase::Validating
        )
    }

    /// `Idle`, `Complete` or `Failed`.
    pub const fn is_terminal(self) -> bool {
        !self.is_runnable()
    }

    /// The successor on success: `Idle → Detecting → … → Validating → Complete → Idle`;
    /// `Failed → Idle`.
    pub const fn next(self) -> Phase {
        match self {
            Phase::Idle => Phase::Detecting,
            Phase::Detecting => Phase::Redistributing,
            Phase::Redistributing => Phase::Rebalancing,
            Phase::Rebalancing => Phase::Validating,
            Phase::Validating => Phase::Complete,
            Phase::Complete | Phase::Failed => Phase::Idle,
        }
    }

    /// Upper-case name, as in the Java enum.
    pub const fn name(self) -> &'static str {
        match self {
            Phase::Idle => "IDLE",
            Phase::Detecting => "DETECTING",
            Phase::Redistributing => "REDISTRIBUTING",
            Phase::Rebalancing => "REBALANCING",
            Phase::Validating => "VALIDATING",
            Phase::Complete => "COMPLETE",
            Phase::Failed => "FAILED",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether `from → to` is an edge of the table in the module docs.
pub const fn is_allowed(from: Phase, to: Phase) -> bool {
    match (from, to) {
        (Phase::Idle, Phase::Detecting) => true,
        (Phase::Complete | Phase::Failed, Phase::Idle) => true,
        (f, Phase::Failed) => f.is_runnable(),
        (f, t) => f.is_runnable() && (t as u8) == (f as u8) + 1,
    }
}

/// A refused phase step.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PhaseError {
    /// `from → to` is not an edge (a skipped, repeated or backward phase).
    Invalid {
        /// The current phase.
        from: Phase,
        /// The refused target.
        to: Phase,
    },
    /// A completion was reported for another phase than the one running.
    OutOfOrder {
        /// The phase that is running.
        expected: Phase,
        /// The phase reported.
        got: Phase,
    },
}

impl fmt::Display for PhaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhaseError::Invalid { from, to } => {
                write!(f, "phase transition {from} -> {to} is not allowed")
            }
            PhaseError::OutOfOrder { expected, got } => {
                write!(f, "phase {got} reported while {expected} is running")
            }
        }
    }
}

/// The phase machine of one attempt: current phase plus the enforced step.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct PhaseMachine {
    phase: Phase,
}

impl PhaseMachine {
    /// At `Idle`.
    pub const fn new() -> Self {
        PhaseMachine { phase: Phase::Idle }
    }

    /// The current phase.
    pub const fn phase(&self) -> Phase {
        self.phase
    }

    /// Move to `to` if the table allows it; returns `(from, to)`.
    pub fn step(&mut self, to: Phase) -> Result<(Phase, Phase), PhaseError> {
        let from = self.phase;
        if is_allowed(from, to) {
            self.phase = to;
            Ok((from, to))
        } else {
            Err(PhaseError::Invalid { from, to })
        }
    }

    /// The embedder finished `done` (with `ok`): checks that `done` is the running phase,
    /// then steps to its successor (or `Failed`). Returns `(from, to)`.
    pub fn complete(&mut self, done: Phase, ok: bool) -> Result<(Phase, Phase), PhaseError> {
        if done != self.phase || !done.is_runnable() {
            return Err(PhaseError::OutOfOrder {
                expected: self.phase,
                got: done,
            });
        }
        self.step(if ok { done.next() } else { Phase::Failed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Phase; 7] = [
        Phase::Idle,
        Phase::Detecting,
        Phase::Redistributing,
        Phase::Rebalancing,
        Phase::Validating,
        Phase::Complete,
        Phase::Failed,
    ];

    #[test]
    fn exactly_the_declared_edges() {
        let valid = [
            (Phase::Idle, Phase::Detecting),
            (Phase::Detecting, Phase::Redistributing),
            (Phase::Detecting, Phase::Failed),
            (Phase::Redistributing, Phase::Rebalancing),
            (Phase::Redistributing, Phase::Failed),
            (Phase::Rebalancing, Phase::Validating),
            (Phase::Rebalancing, Phase::Failed),
            (Phase::Validating, Phase::Complete),
            (Phase::Validating, Phase::Failed),
            (Phase::Complete, Phase::Idle),
            (Phase::Failed, Phase::Idle),
        ];
        let mut n = 0;
        for f in ALL {
            for t in ALL {
                let expect = valid.contains(&(f, t));
                assert_eq!(is_allowed(f, t), expect, "{f} -> {t}");
                n += usize::from(expect);
            }
        }
        assert_eq!(n, valid.len());
        // The forbidden examples of the Java test.
        for (f, t) in [
            (Phase::Idle, Phase::Redistributing),
            (Phase::Detecting, Phase::Rebalancing),
            (Phase::Redistributing, Phase::Validating),
            (Phase::Redistributing, Phase::Detecting),
            (Phase::Complete, Phase::Validating),
            (Phase::Complete, Phase::Detecting),
            (Phase::Failed, Phase::Detecting),
            (Phase::Idle, Phase::Idle),
            (Phase::Idle, Phase::Failed),
        ] {
            assert!(!is_allowed(f, t));
        }
    }

    #[test]
    fn machine_refuses_skips_and_repeats() {
        let mut m = PhaseMachine::new();
        assert_eq!(
            m.step(Phase::Detecting),
            Ok((Phase::Idle, Phase::Detecting))
        );
        assert_eq!(
            m.complete(Phase::Redistributing, true),
            Err(PhaseError::OutOfOrder {
                expected: Phase::Detecting,
                got: Phase::Redistributing
            })
        );
        assert_eq!(
            m.complete(Phase::Detecting, true),
            Ok((Phase::Detecting, Phase::Redistributing))
        );
        // Repeating the finished phase is refused.
        assert!(m.complete(Phase::Detecting, true).is_err());
        assert_eq!(
            m.step(Phase::Validating),
            Err(PhaseError::Invalid {
                from: Phase::Redistributing,
                to: Phase::Validating
            })
        );
        m.complete(Phase::Redistributing, true).unwrap();
        m.complete(Phase::Rebalancing, true).unwrap();
        assert_eq!(
            m.complete(Phase::Validating, true),
            Ok((Phase::Validating, Phase::Complete))
        );
        assert!(m.complete(Phase::Complete, true).is_err());
        assert_eq!(m.step(Phase::Idle), Ok((Phase::Complete, Phase::Idle)));
        m.step(Phase::Detecting).unwrap();
        assert_eq!(
            m.complete(Phase::Detecting, false),
            Ok((Phase::Detecting, Phase::Failed))
        );
        assert_eq!(m.phase(), Phase::Failed);
        assert!(std::format!(
            "{}",
            PhaseError::Invalid {
                from: Phase::Idle,
                to: Phase::Idle
            }
        )
        .contains("IDLE"));
    }

    #[test]
    fn successor_chain_and_classification() {
        let mut p = Phase::Idle;
        let mut seen = [Phase::Idle; 6];
        for s in seen.iter_mut() {
            *s = p;
            p = p.next();
        }
        assert_eq!(seen[1..5], Phase::RUNNABLE);
        assert_eq!(seen[5], Phase::Complete);
        assert_eq!(p, Phase::Idle);
        assert!(
            Phase::Failed.is_terminal()
                && Phase::Idle.is_terminal()
                && Phase::Complete.is_terminal()
        );
        assert_eq!(ALL.iter().filter(|p| p.is_runnable()).count(), 4);
    }
}
