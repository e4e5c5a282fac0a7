//! Counted pauses: the control block of a [`Tracker`] and the pause/resume verbs.
//!
//! # Control block (cold: touched only by pause, resume and waiters)
//!
//! * `lock: AtomicBool` — a tiny spin lock serialising pause/resume. Acquire on the
//!   successful CAS pairs with the Release store that unlocks: everything below is read
//!   and written under it, so those accesses may be `Relaxed` (except where read outside).
//! * `slots: [AtomicU32; MAX_PAUSERS]`, one per pause holder:
//!
//!   ```text
//!    31 ..................... 1   0
//!   [generation (wrapping)     ] [HELD]
//!   ```
//!
//!   take: free `w` → `(w + 2) | HELD` (new generation); give back: `w → w & !HELD`.
//!   A [`PauseToken`] carries the whole held word, so a stale or double resume (the word
//!   moved on) is refused with `NotPaused`; generations repeat only after 2^31 pauses of
//!   one slot.
//! * `gate: AtomicU32` — `CLOSED` (bit 0: a pause is held) plus the number of `begin`s inside
//!   `reopen` (bits 1..31, `OPENER` each): the handshake that lets the last resume leave
//!   the stripes flagged (see "Closing and reopening the gate" in the tracker header). At most
//!   2^31 − 1 threads can be inside `reopen` at once (a few instructions each).
//! * `depth: AtomicU32` — number of held slots. Written under the lock with Release;
//!   read outside it with Acquire (`is_paused`, quiescence checks).
//!
//! # Transitions (under the lock)
//!
//! | verb | depth | stripes |
//! | --- | --- | --- |
//! | pause, depth 0 → 1 | store after the stripes (Release) | gate `fetch_or(CLOSED)`, wait for openers; `fetch_or(PAUSED, AcqRel)` each stripe not flagged |
//! | pause, depth d → d+1 (d ≥ 1) | Release store | already `PAUSED` |
//! | resume, depth d → d−1 (d ≥ 2) | Release store | unchanged |
//! | resume, depth 1 → 0 | Release store first | untouched; gate `fetch_and(!CLOSED, Release)`, then (after unlock) bump + wake |
//!
//! Storing depth 1 only after every `fetch_or` means a thread that reads `depth ≥ 1`
//! (Acquire) sees `PAUSED` on every stripe. The last resume stores depth 0 first, so a
//! quiescence waiter woken by its bump finds depth 0 and returns `NotPaused`.

use super::{Tracker, PAUSED};
use crate::sync::{AtomicBool, AtomicU32, Backoff, Ordering};
use crate::time::{Clock, Instant};
use crate::tracker::error::{PauseError, ResumeError, WaitOutcome};
use crate::tracker::guard::{PauseGuard, PauseToken};
use crate::wait::WaitStrategy;

/// The most pauses one tracker can hold at once; one more gives
/// [`PauseError::TooManyPausers`].
pub const MAX_PAUSERS: usize = 8;

/// Slot word flag: the slot is held by a pause.
const HELD: u32 = 1;

/// Gate word flag: a pause is held (set by the first pause, cleared by the last resume).
const CLOSED: u32 = 1;
/// One begin inside `Control::reopen` (bits 1..31 count them).
const OPENER: u32 = 2;

/// The control block (see the module header).
pub(super) struct Control {
    lock: AtomicBool,
    pub(super) depth: AtomicU32,
    /// `CLOSED | openers × OPENER`: the handshake between the first pause and the begins
    /// that reopen stripes whose `PAUSED` flag the last resume left behind.
    gate: AtomicU32,
    pub(super) slots: [AtomicU32; MAX_PAUSERS],
}

impl Control {
    #[cfg(not(ftforest_loom))]
    pub(super) const fn new() -> Self {
        Control {
            lock: AtomicBool::new(false),
            depth: AtomicU32::new(0),
            gate: AtomicU32::new(0),
            slots: [const { AtomicU32::new(0) }; MAX_PAUSERS],
        }
    }

    #[cfg(ftforest_loom)]
    pub(super) fn new() -> Self {
        Control {
            lock: AtomicBool::new(false),
            depth: AtomicU32::new(0),
            gate: AtomicU32::new(0),
            slots: core::array::from_fn(|_| AtomicU32::new(0)),
        }
    }

    /// True while a pause is held (the gate word's view; Acquire).
    pub(super) fn is_closed(&self) -> bool {
        self.gate.load(Ordering::Acquire) & CLOSED != 0
    }

    /// A `begin` read `PAUSED` on `stripe`. If no pause is held, the flag is stale (the last
    /// resume leaves the stripes flagged): clear it, keeping the count, and return true (the
    /// stripe is open). False while a pause is held (the stripe is left alone).
    pub(super) fn reopen(&self, stripe: &AtomicU32) -> bool {
        // Cheap refusal while paused: no write to the control line.
        if self.is_closed() {
            return false;
        }
        // Acquire: pairs with the last resume's Release `fetch_and(!CLOSED)`: the work done
        // while paused happens-before the operations admitted on this stripe. The RMW also
        // registers this opener before any later first pause's `fetch_or(CLOSED)`.
        let open = self.gate.fetch_add(OPENER, Ordering::Acquire) & CLOSED == 0;
        if open {
            let mut cur = stripe.load(Ordering::Relaxed);
            while cur & PAUSED != 0 {
                // Release: later `begin`s on the stripe read this RMW's release sequence
                // with their Acquire `fetch_add` (the resume's edge, passed on).
                match stripe.compare_exchange_weak(
                    cur,
                    cur & !PAUSED,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => break,
                    Err(actual) => cur = actual,
                }
            }
        }
        // Release: pairs with the Acquire of the first pause that waits for the openers to
        // leave: the CAS above happens-before that pauser reads the stripes.
        self.gate.fetch_sub(OPENER, Ordering::Release);
        open
    }

    fn lock(&self) -> ControlGuard<'_> {
        let mut backoff = Backoff::new();
        // Acquire: pairs with the Release store in `ControlGuard::drop`.
        while self
            .lock
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            backoff.snooze();
        }
        ControlGuard { lock: &self.lock }
    }
}

/// Holds the control lock; unlocks on drop.
struct ControlGuard<'a> {
    lock: &'a AtomicBool,
}

impl Drop for ControlGuard<'_> {
    fn drop(&mut self) {
        // Release: pairs with the Acquire CAS of the next `Control::lock`.
        self.lock.store(false, Ordering::Release);
    }
}

impl<W: WaitStrategy, const S: usize> Tracker<W, S> {
    /// Close the gate (counted) and return at once; the guard resumes on drop.
    ///
    /// When this returns, every later `begin` (one that happens-after this call, on any
    /// stripe) is rejected with `Paused`, until this and every other held pause are
    /// resumed. Operations already in flight continue; wait for them with
    /// [`PauseGuard::wait_quiescent`]. Fails only when [`MAX_PAUSERS`] pauses are held.
    pub fn pause(&self) -> Result<PauseGuard<'_, W, S>, PauseError> {
        let (slot, generation) = self.take_pause()?;
        Ok(PauseGuard::new(self, slot, generation))
    }

    /// [`pause`](Tracker::pause), then [`wait_quiescent`](Tracker::wait_quiescent) until
    /// `deadline`. The guard is returned with either outcome: after `TimedOut` the tracker
    /// stays paused, so the caller can wait again or drop the guard to resume.
    pub fn pause_wait(
        &self,
        clock: &impl Clock,
        deadline: Instant,
    ) -> Result<(PauseGuard<'_, W, S>, WaitOutcome), PauseError> {
        let guard = self.pause()?;
        let outcome = guard.wait_quiescent(clock, deadline);
        Ok((guard, outcome))
    }

    /// [`pause`](Tracker::pause), returning a plain token (for the C ABI) instead of a
    /// guard. Pass it to [`Tracker::resume_token`] exactly once.
    pub fn pause_token(&self) -> Result<PauseToken, PauseError> {
        self.pause().map(PauseGuard::into_token)
    }

    /// Give back the pause named by `token`. The gate reopens only when no other pause is
    /// held (then waiters in `begin_wait` are woken).
    ///
    /// Errors: `ForeignToken` for a token of another tracker; `NotPaused` for a pause that
    /// is not held (already resumed, stale, or forged). An error changes nothing.
    pub fn resume_token(&self, token: PauseToken) -> Result<(), ResumeError> {
        if token.tracker_id() != self.id() {
            return Err(ResumeError::ForeignToken);
        }
        self.give_back(token.slot(), token.generation())
    }

    /// True while at least one pause is held (a snapshot; Acquire: if true, every stripe
    /// already carries `PAUSED`, so a `begin` that happens-after this read is rejected
    /// unless a resume intervenes).
    pub fn is_paused(&self) -> bool {
        self.pause_depth() != 0
    }

    /// Number of pauses currently held, `0..=MAX_PAUSERS` (a snapshot).
    pub fn pause_depth(&self) -> u32 {
        // Acquire: pairs with the Release store in `take_pause`/`give_back`.
        self.control.depth.load(Ordering::Acquire)
    }

    /// Take a free slot; the first pause closes the gate. Returns (slot, held word).
    fn take_pause(&self) -> Result<(u32, u32), PauseError> {
        let control = &self.control;
        let _locked = control.lock();
        let mut taken = None;
        for (i, slot) in control.slots.iter().enumerate() {
            // Relaxed under the lock.
            let w = slot.load(Ordering::Relaxed);
            if w & HELD == 0 {
                let held = w.wrapping_add(2) | HELD;
                slot.store(held, Ordering::Relaxed);
                // `i < MAX_PAUSERS = 8`: lossless.
                taken = Some((i as u32, held));
                break;
            }
        }
        let Some(taken) = taken else {
            return Err(PauseError::TooManyPausers);
        };
        let depth = control.depth.load(Ordering::Relaxed);
        if depth == 0 {
            // AcqRel: from here on no `reopen` clears a flag (its registering RMW comes later
            // in the gate's modification order and reads CLOSED). Acquire: pairs with the
            // Release of openers that already left.
            let gate = control.gate.fetch_or(CLOSED, Ordering::AcqRel);
            if gate & !CLOSED != 0 {
                // Openers registered before CLOSED may still clear flags: wait until they
                // left (a few instructions each). Acquire: pairs with their Release exit, so
                // their CAS happen-before the stripe loads below.
                let mut backoff = Backoff::new();
                while control.gate.load(Ordering::Acquire) & !CLOSED != 0 {
                    backoff.snooze();
                }
            }
            for stripe in self.stripes.iter() {
                // A flag left by the last resume stays (nothing clears it now): no write.
                // Otherwise set it. AcqRel: the RMW places PAUSED in the stripe's
                // modification order; every later `fetch_add` of a `begin` reads it (see the
                // tracker header). Acquire also makes the ends counted so far visible.
                if stripe.load(Ordering::Acquire) & PAUSED == 0 {
                    stripe.fetch_or(PAUSED, Ordering::AcqRel);
                }
            }
        }
        // Release: pairs with Acquire loads of the depth; published after the fetch_ors.
        control.depth.store(depth + 1, Ordering::Release);
        Ok(taken)
    }

    /// Give back the slot if `held` is its current held word; the last one reopens the gate.
    pub(super) fn give_back(&self, slot: u32, held: u32) -> Result<(), ResumeError> {
        let control = &self.control;
        let reopened = {
            let _locked = control.lock();
            let Some(slot) = usize::try_from(slot)
                .ok()
                .and_then(|i| control.slots.get(i))
            else {
                return Err(ResumeError::NotPaused);
            };
            // Relaxed under the lock.
            if held & HELD == 0 || slot.load(Ordering::Relaxed) != held {
                return Err(ResumeError::NotPaused);
            }
            slot.store(held & !HELD, Ordering::Relaxed);
            let depth = control.depth.load(Ordering::Relaxed).saturating_sub(1);
            // Release: pairs with Acquire loads of the depth (waiters see NotPaused).
            control.depth.store(depth, Ordering::Release);
            if depth == 0 {
                // The stripes keep their flags: the first `begin` on each reopens it
                // (`reopen`), so an idle pause + resume writes no stripe. Release: pairs with
                // the Acquire of those reopens (work done while paused happens-before the
                // operations admitted after).
                control.gate.fetch_and(!CLOSED, Ordering::Release);
                if self.waiter.eager_reopen() {
                    // Eager reopen (`WaitStrategy::eager_reopen`, so the gate never counts an
                    // opener and the next first pause never waits for one): clear every flag now (under the lock, so the next first
                    // pause finds them clear and flags them all). A `begin` that reads a
                    // flag before its stripe is cleared is refused (`Paused`), as while
                    // paused. Release: pairs with the Acquire `fetch_add` of later `begin`s
                    // (work done while paused happens-before the operations admitted after).
                    for stripe in self.stripes.iter() {
                        stripe.fetch_and(!PAUSED, Ordering::Release);
                    }
                }
            }
            depth == 0
        };
        if reopened {
            // Outside the lock: wake `begin_wait` waiters (and quiescence waiters, which
            // now find the tracker not paused).
            self.wake();
        }
        Ok(())
    }
}
