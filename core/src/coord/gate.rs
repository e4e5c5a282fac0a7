//! [`OpGate`]: what recovery mode pauses — the shared operation tracker, seen through the
//! four verbs the coordinator needs.
//!
//! The trait exists so that the coordinator can hold the tracker by reference (`&Tracker`,
//! no `std`), by `Arc<Tracker>` (std, the C library) or by value, without naming the
//! tracker's wait strategy and stripe count in its own type. Every method is non-blocking:
//! the coordinator closes the gate once, then checks quiescence on each call until the
//! pause timeout (sans-io; it never waits).
//!
//! Contract (met by [`Tracker`]): after `close` returns, no new operation is admitted until
//! every close is reopened (closes are counted, each token reopens once); `is_quiescent`
//! is true only while closed with nothing in flight, and then everything the ended
//! operations did happens-before the `true` (the tracker's Acquire on its stripes).

use crate::tracker::{PauseError, PauseToken, ResumeError, Tracker};
use crate::wait::WaitStrategy;

/// The operation gate recovery mode closes. Implemented by [`Tracker`] and by anything that
/// dereferences to an `OpGate` through `&`, `Arc` (std) or `Box` (std).
pub trait OpGate {
    /// Close the gate (counted) without waiting; the token reopens it exactly once.
    fn close(&self) -> Result<PauseToken, PauseError>;
    /// Give back one close. Errors leave the gate unchanged.
    fn reopen(&self, token: PauseToken) -> Result<(), ResumeError>;
    /// Closed and nothing in flight.
    fn is_quiescent(&self) -> bool;
    /// Operations in flight (a snapshot).
    fn in_flight(&self) -> u32;
}

impl<W: WaitStrategy, const S: usize> OpGate for Tracker<W, S> {
    fn close(&self) -> Result<PauseToken, PauseError> {
        self.pause_token()
    }
    fn reopen(&self, token: PauseToken) -> Result<(), ResumeError> {
        self.resume_token(token)
    }
    fn is_quiescent(&self) -> bool {
        Tracker::is_quiescent(self)
    }
    fn in_flight(&self) -> u32 {
        Tracker::in_flight(self)
    }
}

/// Forwards [`OpGate`] through a pointer type (`&G`, and `Arc<G>`/`Box<G>` under std).
macro_rules! forward_op_gate {
    ($(#[$attr:meta])* $ptr:ty) => {
        $(#[$attr])*
        impl<G: OpGate + ?Sized> OpGate for $ptr {
            fn close(&self) -> Result<PauseToken, PauseError> {
                (**self).close()
            }
            fn reopen(&self, token: PauseToken) -> Result<(), ResumeError> {
                (**self).reopen(token)
            }
            fn is_quiescent(&self) -> bool {
                (**self).is_quiescent()
            }
            fn in_flight(&self) -> u32 {
                (**self).in_flight()
            }
        }
    };
}

forward_op_gate!(&G);
forward_op_gate!(#[cfg(feature = "std")] std::sync::Arc<G>);
forward_op_gate!(#[cfg(feature = "std")] std::boxed::Box<G>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracker_through_references_and_arc() {
        let t: Tracker = Tracker::new();
        let g: &dyn OpGate = &t;
        let op = t.begin().unwrap();
        let tok = g.close().unwrap();
        assert!(!g.is_quiescent());
        assert_eq!(g.in_flight(), 1);
        drop(op);
        assert!(g.is_quiescent());
        let a = std::sync::Arc::new(Tracker::<crate::wait::SpinWait, 2>::new());
        let tok2 = a.close().unwrap();
        assert!(OpGate::is_quiescent(&a));
        assert_eq!(a.reopen(tok2), Ok(()));
        assert_eq!(a.reopen(tok2), Err(ResumeError::NotPaused));
        assert_eq!(a.reopen(tok), Err(ResumeError::ForeignToken));
        assert_eq!(g.reopen(tok), Ok(()));
        assert!(t.begin().is_ok());
    }
}
