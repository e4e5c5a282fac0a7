//! Guards and tokens of a [`Tracker`].
//!
//! * [`OpGuard`] — one admitted operation; drop ends it (ONE `compare_exchange` on its
//!   stripe when nothing else changed it since the `begin`, else a checked CAS loop). Not `Clone`/`Copy`, and `into_token` consumes it, so a guard ends its operation
//!   exactly once by construction.
//! * [`PauseGuard`] — one held pause slot; drop resumes it (exactly once, same argument).
//! * [`OpToken`] / [`PauseToken`] — `Copy` plain values naming (tracker id, stripe) and
//!   (tracker id, slot, generation), for the C ABI. The tracker checks them on release.

use super::Tracker;
use crate::sync::AtomicU32;
use crate::time::{Clock, Instant};
use crate::tracker::error::{ResumeError, WaitOutcome};
use crate::wait::WaitStrategy;
use core::mem::ManuallyDrop;

/// An operation in flight; dropping the guard ends it.
///
/// While it lives, no pause of its tracker can report quiescence. Ending is a checked
/// decrement (`compare_exchange`, Release) on the stripe the operation began on, so the guard
/// may be dropped on another thread (`OpGuard` is `Send` when the tracker is `Sync`). If a
/// forged or doubled token ([`Tracker::end_token`]) already ended this guard's count, the drop
/// finds nothing to end and changes nothing: a count never goes below zero.
#[must_use = "dropping the guard ends the operation at once"]
pub struct OpGuard<'a, W: WaitStrategy, const S: usize> {
    tracker: &'a Tracker<W, S>,
    stripe: &'a AtomicU32,
    index: u32,
    /// The stripe value this operation's `begin` wrote: the guess of the end's CAS.
    guess: u32,
}

impl<'a, W: WaitStrategy, const S: usize> OpGuard<'a, W, S> {
    #[inline]
    pub(super) fn new(
        tracker: &'a Tracker<W, S>,
        stripe: &'a AtomicU32,
        index: u32,
        guess: u32,
    ) -> Self {
        OpGuard {
            tracker,
            stripe,
            index,
            guess,
        }
    }

    /// The stripe this operation is counted on (`< S`).
    pub fn stripe(&self) -> u32 {
        self.index
    }

    /// The tracker this operation belongs to.
    pub fn tracker(&self) -> &'a Tracker<W, S> {
        self.tracker
    }

    /// Give up the guard for a plain token: the operation stays in flight until
    /// [`Tracker::end_token`] is called with the token (exactly once).
    #[inline]
    pub fn into_token(self) -> OpToken {
        let this = ManuallyDrop::new(self);
        OpToken {
            tracker: this.tracker.id(),
            stripe: this.index,
        }
    }

    /// End the operation now (the same as dropping the guard).
    #[inline]
    pub fn end(self) {}
}

impl<W: WaitStrategy, const S: usize> Drop for OpGuard<'_, W, S> {
    #[inline]
    fn drop(&mut self) {
        self.tracker.end_on(self.stripe, self.guess);
    }
}

impl<W: WaitStrategy, const S: usize> core::fmt::Debug for OpGuard<'_, W, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OpGuard")
            .field("tracker", &self.tracker.id())
            .field("stripe", &self.index)
            .finish()
    }
}

/// A held pause; dropping the guard resumes it (the gate reopens when no other pause is
/// held).
#[must_use = "dropping the guard resumes at once"]
pub struct PauseGuard<'a, W: WaitStrategy, const S: usize> {
    tracker: &'a Tracker<W, S>,
    slot: u32,
    generation: u32,
}

impl<'a, W: WaitStrategy, const S: usize> PauseGuard<'a, W, S> {
    pub(super) fn new(tracker: &'a Tracker<W, S>, slot: u32, generation: u32) -> Self {
        PauseGuard {
            tracker,
            slot,
            generation,
        }
    }

    /// The paused tracker.
    pub fn tracker(&self) -> &'a Tracker<W, S> {
        self.tracker
    }

    /// Wait until nothing is in flight or `clock.now() >= deadline`
    /// ([`Tracker::wait_quiescent`]). While this guard lives the tracker stays paused, so
    /// the outcome is `Quiescent` or `TimedOut`; after `TimedOut` wait again or drop.
    pub fn wait_quiescent(&self, clock: &impl Clock, deadline: Instant) -> WaitOutcome {
        self.tracker.wait_quiescent(clock, deadline)
    }

    /// Resume now (the same as dropping the guard, but reports the outcome: `NotPaused`
    /// only if this pause was resumed behind the guard's back with a forged token).
    pub fn resume(self) -> Result<(), ResumeError> {
        let this = ManuallyDrop::new(self);
        this.tracker.give_back(this.slot, this.generation)
    }

    /// Give up the guard for a plain token: the pause stays held until
    /// [`Tracker::resume_token`] is called with the token (a second call is refused).
    pub fn into_token(self) -> PauseToken {
        let this = ManuallyDrop::new(self);
        PauseToken {
            tracker: this.tracker.id(),
            slot: this.slot,
            generation: this.generation,
        }
    }
}

impl<W: WaitStrategy, const S: usize> Drop for PauseGuard<'_, W, S> {
    fn drop(&mut self) {
        // Err only if the pause was already resumed with a forged token: nothing to undo.
        let _ = self.tracker.give_back(self.slot, self.generation);
    }
}

impl<W: WaitStrategy, const S: usize> core::fmt::Debug for PauseGuard<'_, W, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PauseGuard")
            .field("tracker", &self.tracker.id())
            .field("slot", &self.slot)
            .finish()
    }
}

/// A plain, `Copy` name of an operation in flight: (tracker id, stripe). For the C ABI.
///
/// It names a stripe, not one operation: [`Tracker::end_token`] checks the tracker and
/// that the stripe has something in flight, so a double end is detected when nothing
/// else is in flight on that stripe.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct OpToken {
    tracker: u32,
    stripe: u32,
}

impl OpToken {
    /// Rebuild a token from its parts (e.g. received over the C ABI). Any value is safe:
    /// the tracker validates it.
    pub const fn from_parts(tracker_id: u32, stripe: u32) -> Self {
        OpToken {
            tracker: tracker_id,
            stripe,
        }
    }

    /// The id of the tracker that issued the token.
    pub const fn tracker_id(&self) -> u32 {
        self.tracker
    }

    /// The stripe the operation is counted on.
    pub const fn stripe(&self) -> u32 {
        self.stripe
    }
}

/// A plain, `Copy` name of a held pause: (tracker id, slot, generation). For the C ABI.
///
/// The generation changes every time the slot is taken, so a token is honoured once:
/// resuming it again (or resuming a stale copy) is refused with `NotPaused`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct PauseToken {
    tracker: u32,
    slot: u32,
    generation: u32,
}

impl PauseToken {
    /// Rebuild a token from its parts (e.g. received over the C ABI). Any value is safe:
    /// the tracker validates it.
    pub const fn from_parts(tracker_id: u32, slot: u32, generation: u32) -> Self {
        PauseToken {
            tracker: tracker_id,
            slot,
            generation,
        }
    }

    /// The id of the tracker that issued the token.
    pub const fn tracker_id(&self) -> u32 {
        self.tracker
    }

    /// The pause slot, `< MAX_PAUSERS`.
    pub const fn slot(&self) -> u32 {
        self.slot
    }

    /// The slot's generation word at the time of the pause.
    pub const fn generation(&self) -> u32 {
        self.generation
    }
}
