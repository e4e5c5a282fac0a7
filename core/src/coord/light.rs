//! The lightweight decorator: a forest value plus the shared operation gate, and nothing
//! else (the Java `SimpleFaultTolerantForest`, digest §1.15).
//!
//! It adds no detection and no recovery: it gives the forest's operations and whoever needs
//! to pause them (a balancer, an external recovery) one gate to share. Pauses are the gate's
//! counted pauses: each [`Lightweight::pause`] returns its own token and is undone only by
//! that token, so two pausers cannot reopen each other's pause (the Java `resume()` undid
//! every pause at once, B5/B21).

use super::gate::OpGate;
use crate::tracker::{PauseError, PauseToken, ResumeError};

/// A forest `F` decorated with the shared gate `G` (e.g. `&Tracker` or `Arc<Tracker>`).
#[derive(Debug, Clone)]
pub struct Lightweight<F, G> {
    forest: F,
    gate: G,
}

impl<F, G: OpGate> Lightweight<F, G> {
    /// Decorate `forest` with `gate`.
    pub fn new(forest: F, gate: G) -> Self {
        Lightweight { forest, gate }
    }

    /// The decorated forest (pure delegation: the exact value given to `new`).
    pub fn forest(&self) -> &F {
        &self.forest
    }

    /// The decorated forest, mutably.
    pub fn forest_mut(&mut self) -> &mut F {
        &mut self.forest
    }

    /// The shared gate (to begin/end operations on it, or to share it with a balancer).
    pub fn gate(&self) -> &G {
        &self.gate
    }

    /// Close the gate (counted; never waits): operations that begin afterwards are refused
    /// until every pause is resumed. Wait for the in-flight ones with [`Self::is_quiescent`]
    /// or the tracker's own waits.
    pub fn pause(&self) -> Result<PauseToken, PauseError> {
        self.gate.close()
    }

    /// Give back one pause.
    pub fn resume(&self, token: PauseToken) -> Result<(), ResumeError> {
        self.gate.reopen(token)
    }

    /// Closed and nothing in flight.
    pub fn is_quiescent(&self) -> bool {
        self.gate.is_quiescent()
    }

    /// Operations in flight.
    pub fn in_flight(&self) -> u32 {
        self.gate.in_flight()
    }

    /// Take the forest and the gate back.
    pub fn into_parts(self) -> (F, G) {
        (self.forest, self.gate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracker::{BeginError, Tracker};

    #[test]
    fn delegates_and_shares_the_gate() {
        let tracker: Tracker = Tracker::new();
        let mut lw = Lightweight::new(std::vec![1, 2, 3], &tracker);
        lw.forest_mut().push(4);
        assert_eq!(lw.forest(), &[1, 2, 3, 4]);
        // P411: 3 before, 0 during, 3 after.
        let before: std::vec::Vec<_> = (0..3).map(|_| tracker.begin()).collect();
        assert!(before.iter().all(Result::is_ok));
        drop(before);
        let a = lw.pause().unwrap();
        let b = lw.pause().unwrap();
        assert!(lw.is_quiescent());
        assert_eq!(lw.gate().in_flight(), 0);
        assert!((0..3).all(|_| matches!(tracker.begin(), Err(BeginError::Paused))));
        lw.resume(a).unwrap();
        assert_eq!(lw.resume(a), Err(ResumeError::NotPaused));
        // The second pauser still holds the gate.
        assert!(tracker.begin().is_err());
        lw.resume(b).unwrap();
        assert!((0..3).all(|_| tracker.begin().is_ok()));
        assert_eq!(lw.in_flight(), 0);
        let (forest, gate) = lw.into_parts();
        assert_eq!(forest.len(), 4);
        assert_eq!(gate.id(), tracker.id());
    }
}
