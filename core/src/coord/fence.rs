//! Fenced recovery (issue 8): an attempt runs only under a fence, the cluster-wide recovery
//! lock whose fencing token every write of its phases carries; and the coordinator's view of
//! whether coordination (the fencing service, e.g. etcd) is available at all.
//!
//! The core stays sans-io: it never talks to the fencing service. It asks the embedder (the
//! cluster adapter) for a fence with an action and takes the answer as an input.
//!
//! # The fenced lifecycle ([`Config::fenced`](super::Config::fenced))
//!
//! ```text
//!  queue ─promote (local lock permit)─► Fencing: AcquireFence pending (partition FAILED)
//!  Fencing ─poll_action─► AcquireFence(FenceJob) handed out (once)
//!  Fencing ─fence_granted(token)─► FAILED→RECOVERING, Waiting/Running as unfenced; PhaseJob.fence = token
//!  Fencing ─fence_refused(r)─► slot freed, permit released; FENCE_HOLD for fence_retry
//!                              (r = Recovered: ELSEWHERE, never scheduled here by itself)
//!  Fencing ─fence wait deadline─► abandoned as fence_refused(TimedOut) (remembered: late grant → Abandoned)
//!  Fencing ─coordination unavailable─► abandoned as fence_refused(Unavailable) (idem)
//!  granted attempt ends (vacate) ─► ReleaseFence{completed} queued, handed out before the resume hooks
//! ```
//!
//! While Fencing nothing is paused: no recovery-mode count, the gate stays open, no hook.
//! A refusal (or an abandoned wait) consumes no retry: the attempt's number is given again
//! to the next attempt, and the attempt is not counted in `Stats::recoveries_attempted`
//! (counted at the grant, when FAILED→RECOVERING happens). After `fence_retry` the
//! partition is decided and queued again like a retry whose backoff expired.
//!
//! # Bounds: no fence is held forever, none is released twice, nothing is dropped
//!
//! * **A fence wait always ends.** Its deadline is `now + recovery_timeout` at the permit
//!   (`cancel_timeout` when the recovery timeout is 0, "none": a fence request never answered
//!   must not hold a permit for ever, whatever the embedder does). The phases' own recovery
//!   timeout starts at the grant, as for an unfenced attempt (the fence wait does not eat
//!   into it). An abandoned attempt frees its permit at once: nothing of it can run (it
//!   had no token). A grant arriving later is refused with [`FenceError::Abandoned`]
//!   (or `StaleAttempt` once `R` newer attempts were abandoned), and every such error
//!   tells the adapter to release what it acquired ([`FenceError::must_release`]).
//! * **Exactly one release per grant.** A granted token lives in its recovery slot (`fence`)
//!   until `vacate` frees the slot (the one place a slot holding a permit becomes Free:
//!   success, failure, pause abort, an acknowledged cancel) and queues its
//!   [`FenceRelease`]; a slot is vacated once. An attempt abandoned at its recovery timeout
//!   keeps its fence while Cancelling (its phase may still write with the token): the
//!   release comes when the cancel is acknowledged. Dropping the coordinator releases
//!   nothing (the adapter's lease does).
//! * **At most K fences out, so the release queue (capacity `R`) never overflows.** Let
//!   *out* = attempts whose `AcquireFence` was handed out and not answered + granted
//!   attempts not vacated + releases not handed out. A grant or a vacate moves a fence
//!   within *out*; handing out a release removes one; only handing out an `AcquireFence`
//!   adds one, and `poll_action` does that only while *out* < K. So *out* ≤ K ≤ `R`
//!   (`new` checks K ≤ `R`): the queue of releases has room for every one.
//!
//! # Availability ([`Coordinator::set_available`])
//!
//! While unavailable no attempt starts from the queue, no `AcquireFence` is handed out,
//! no grant is taken ([`FenceError::Unavailable`]), and attempts waiting for their fence are
//! abandoned (one step each, `FenceRefused` with [`Refusal::Unavailable`]). Attempts already
//! granted go on (their token is the guard). The health level is at least degraded and
//! [`Alerts::COORDINATION_UNAVAILABLE`](super::Alerts::COORDINATION_UNAVAILABLE) is raised.
//! Each change is announced by one `AvailabilityChanged` event, in order (deferred, never
//! dropped, when the outbox lacks room), so `set_available` never fails.
//!
//! Unfenced configurations can use availability too (no attempt starts while unavailable).
//!
//! # Without the `fence` feature
//!
//! Only a driver that talks to a fencing service needs any of this (the etcd adapter,
//! ftforest-cluster, and the hosted C library enable the feature). Without it none of the
//! state above exists: validation refuses `fenced(true)` and `local_confirmation(false)`,
//! [`Coordinator::fence_granted`] and [`Coordinator::fence_refused`] answer
//! [`FenceError::NotFenced`] (as for an unfenced configuration), `set_available` is not
//! compiled, coordination is always available, and no fence action or event is produced.

#[cfg(feature = "fence")]
use super::action::FenceRelease;
use super::coordinator::{Coordinator, RecSlot, RecState};
use super::detect::PartitionSlot;
#[cfg(feature = "fence")]
use super::detect::{ELSEWHERE, FENCE_HOLD};
use super::error::FenceError;
#[cfg(feature = "fence")]
use super::event::{AvailabilityChange, Event, FenceGrant, FenceRefusal};
use super::gate::OpGate;
use super::pstats::PartitionStatsStorage;
use crate::health::HealthCell;
use crate::lock::LockSlot;
use crate::queue::QueueSlot;
use crate::time::Instant;

/// Why a fence was not granted: the embedder's answer in
/// [`Coordinator::fence_refused`], and the reason in a
/// [`FenceRefused`](super::Event::FenceRefused) event.
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// Another process holds this partition's lock.
    Held = 0,
    /// K locks are held cluster-wide.
    AtCapacity = 1,
    /// The cluster-wide quorum check failed.
    NoQuorum = 2,
    /// The fencing service could not be reached (also: the coordinator abandoned the wait
    /// because coordination became unavailable).
    Unavailable = 3,
    /// The partition was recovered elsewhere (a newer incarnation exists): it stays FAILED
    /// and is not queued here again until the embedder changes its membership or calls
    /// [`Coordinator::retry`].
    Recovered = 4,
    /// The fence wait reached its deadline (the coordinator's own reason when it abandons
    /// a wait; an embedder whose request timed out may pass it too).
    TimedOut = 5,
}

impl<H, L, Q, P, G, const R: usize, const E: usize, S> Coordinator<H, L, Q, P, G, R, E, S>
where
    H: AsRef<[HealthCell]>,
    L: AsRef<[LockSlot]>,
    Q: AsRef<[QueueSlot]>,
    P: AsRef<[PartitionSlot]> + AsMut<[PartitionSlot]>,
    G: OpGate,
    S: PartitionStatsStorage,
{
    /// Whether coordination is available (see `set_available`, `fence` feature). Always
    /// `true` without the `fence` feature.
    #[inline]
    pub fn is_available(&self) -> bool {
        #[cfg(feature = "fence")]
        {
            self.available
        }
        #[cfg(not(feature = "fence"))]
        {
            true
        }
    }

    /// The attempt of `rank` waiting for its fence (its id), if any. While it exists the
    /// partition is FAILED, holds a lock permit and is neither queued nor paused. Always
    /// `None` unfenced.
    pub fn fencing(&self, rank: u32) -> Option<u32> {
        if !cfg!(feature = "fence") {
            return None;
        }
        self.recs
            .iter()
            .find(|s| s.state == RecState::Fencing && s.rank == rank)
            .map(|s| s.attempt)
    }

    /// The fencing token held by the attempt of `rank` (granted, not yet released: Waiting,
    /// Running or Cancelling), if any. Always `None` unfenced.
    pub fn fence(&self, rank: u32) -> Option<u64> {
        self.recs
            .iter()
            .find(|s| s.state != RecState::Free && s.rank == rank && s.token() != 0)
            .map(RecSlot::token)
    }
}

/// Without the `fence` feature: the answers are refused as for an unfenced configuration.
#[cfg(not(feature = "fence"))]
impl<H, L, Q, P, G, const R: usize, const E: usize, S> Coordinator<H, L, Q, P, G, R, E, S>
where
    H: AsRef<[HealthCell]>,
    L: AsRef<[LockSlot]>,
    Q: AsRef<[QueueSlot]>,
    P: AsRef<[PartitionSlot]> + AsMut<[PartitionSlot]>,
    G: OpGate,
    S: PartitionStatsStorage,
{
    /// Without the `fence` feature no attempt ever waits for a fence: always
    /// [`FenceError::NotFenced`] ([`FenceError::UnknownPartition`] for `rank >= n`);
    /// changes nothing.
    pub fn fence_granted(
        &mut self,
        _now: Instant,
        rank: u32,
        _attempt: u32,
        _token: u64,
    ) -> Result<(), FenceError> {
        self.unfenced(rank)
    }

    /// Without the `fence` feature: as [`fence_granted`](Coordinator::fence_granted).
    pub fn fence_refused(
        &mut self,
        _now: Instant,
        rank: u32,
        _attempt: u32,
        _refusal: Refusal,
    ) -> Result<(), FenceError> {
        self.unfenced(rank)
    }

    fn unfenced(&self, rank: u32) -> Result<(), FenceError> {
        Err(if rank >= self.n {
            FenceError::UnknownPartition
        } else {
            FenceError::NotFenced
        })
    }

    /// No fence steps: nothing to announce or abandon.
    #[inline(always)]
    pub(crate) fn fence_steps(&mut self, _now: Instant) -> bool {
        true
    }

    /// No fence wait: the attempt is launched at once (`start_attempt`).
    #[inline(always)]
    pub(crate) fn fence_deadline(&self, _now: Instant) -> Instant {
        Instant::ZERO
    }
}

#[cfg(feature = "fence")]
impl<H, L, Q, P, G, const R: usize, const E: usize, S> Coordinator<H, L, Q, P, G, R, E, S>
where
    H: AsRef<[HealthCell]>,
    L: AsRef<[LockSlot]>,
    Q: AsRef<[QueueSlot]>,
    P: AsRef<[PartitionSlot]> + AsMut<[PartitionSlot]>,
    G: OpGate,
    S: PartitionStatsStorage,
{
    /// The fence asked for by [`Action::AcquireFence`](super::Action::AcquireFence) was
    /// granted with `token` (non-zero; e.g. the etcd revision of the lock transaction). The
    /// attempt starts as an unfenced one does (FAILED→RECOVERING, recovery mode, pause,
    /// phases); every [`PhaseJob`](super::PhaseJob) of it carries `fence: token`, and when it
    /// ends one [`Action::ReleaseFence`](super::Action::ReleaseFence) hands the token back.
    ///
    /// Errors change nothing; see [`FenceError`] (and [`FenceError::must_release`]: on most
    /// errors the adapter must release the fence itself, since the coordinator does not
    /// use it).
    pub fn fence_granted(
        &mut self,
        now: Instant,
        rank: u32,
        attempt: u32,
        token: u64,
    ) -> Result<(), FenceError> {
        let idx = self.fencing_slot(rank, attempt)?;
        if token == 0 {
            return Err(FenceError::ZeroToken);
        }
        if !self.available {
            return Err(FenceError::Unavailable);
        }
        if !self.room(0) {
            return Err(FenceError::OutboxFull);
        }
        let now = self.advance(now);
        self.emit(Event::FenceGranted(FenceGrant {
            rank,
            attempt,
            token,
            time: now,
        }));
        if let Some(s) = self.recs.get_mut(idx) {
            s.fence = token;
        }
        self.launch(idx, now);
        self.drive(now);
        Ok(())
    }

    /// The fence asked for by [`Action::AcquireFence`](super::Action::AcquireFence) was
    /// refused. The attempt ends without consuming a retry: its permit is released and the
    /// partition (FAILED) is decided and queued again `Config::fence_retry` from `now`,
    /// except for [`Refusal::Recovered`], which leaves it FAILED and unscheduled (the
    /// embedder changes its membership, or calls [`retry`](Coordinator::retry)). One
    /// [`FenceRefused`](super::Event::FenceRefused) event. Accepted while unavailable.
    ///
    /// Errors change nothing; see [`FenceError`].
    pub fn fence_refused(
        &mut self,
        now: Instant,
        rank: u32,
        attempt: u32,
        refusal: Refusal,
    ) -> Result<(), FenceError> {
        let idx = self.fencing_slot(rank, attempt)?;
        if !self.room(0) {
            return Err(FenceError::OutboxFull);
        }
        let now = self.advance(now);
        self.end_fencing(idx, now, refusal, false);
        self.drive(now);
        Ok(())
    }

    /// The slot of the attempt that waits for the answer to its handed-out `AcquireFence`.
    fn fencing_slot(&self, rank: u32, attempt: u32) -> Result<usize, FenceError> {
        if rank >= self.n {
            return Err(FenceError::UnknownPartition);
        }
        if !self.cfg.fenced() {
            return Err(FenceError::NotFenced);
        }
        let found = self
            .recs
            .iter()
            .position(|s| s.state != RecState::Free && s.rank == rank && s.attempt == attempt);
        let Some((idx, s)) = found.and_then(|i| self.recs.get(i).map(|s| (i, *s))) else {
            return Err(if attempt != 0 && self.abandoned.contains(&attempt) {
                FenceError::Abandoned
            } else {
                FenceError::StaleAttempt
            });
        };
        if s.state != RecState::Fencing {
            return Err(FenceError::AlreadyGranted { token: s.fence });
        }
        if s.pending {
            return Err(FenceError::NotRequested);
        }
        Ok(idx)
    }

    /// Tell the coordinator whether coordination (the fencing service) is available. While
    /// unavailable no attempt asks for a fence or starts (queued partitions wait; granted
    /// attempts go on), attempts waiting for their fence are abandoned, the level is at
    /// least degraded and `COORDINATION_UNAVAILABLE` is raised (module docs). Each change
    /// emits one [`AvailabilityChanged`](super::Event::AvailabilityChanged) event; setting
    /// the current value changes nothing. Never refused: with the outbox full, the state
    /// changes at once and the event and the work that follows wait for the next `tick`
    /// (`poll_timeout` is then "now"). Starts available.
    pub fn set_available(&mut self, now: Instant, available: bool) {
        let now = self.advance(now);
        if available != self.available {
            self.available = available;
            // 2^32 changes without one drained event cannot happen in a driver that ticks.
            self.avail_pending = self.avail_pending.saturating_add(1);
        }
        self.drive(now);
    }

    /// Fences out (module docs, "Bounds"): asked for and unanswered, granted and not
    /// vacated, vacated and not handed out.
    // Out of line: smaller than its inlined copies (flash, issue 10).
    #[inline(never)]
    pub(crate) fn fences_out(&self) -> u32 {
        let held = self
            .recs
            .iter()
            .filter(|s| (s.state == RecState::Fencing && !s.pending) || s.fence != 0)
            .count();
        (held + self.releases.len()) as u32
    }

    /// When a fence wait that begins at `now` is abandoned (module docs, "Bounds").
    pub(crate) fn fence_deadline(&self, now: Instant) -> Instant {
        let wait = if self.cfg.recovery_timeout.is_zero() {
            self.cfg.cancel_timeout
        } else {
            self.cfg.recovery_timeout
        };
        now.add_span(wait)
    }

    /// End the Fencing attempt in slot `idx` without a fence: one `FenceRefused` event, the
    /// permit back, the partition held for `fence_retry` (or left alone: `Recovered`).
    /// `abandoned`: the coordinator ended it (remembered for late grants).
    pub(crate) fn end_fencing(
        &mut self,
        idx: usize,
        now: Instant,
        refusal: Refusal,
        abandoned: bool,
    ) {
        let Some(s) = self.recs.get(idx).copied() else {
            return;
        };
        self.emit(Event::FenceRefused(FenceRefusal {
            rank: s.rank,
            attempt: s.attempt,
            refusal,
            time: now,
        }));
        self.vacate(idx);
        if abandoned && R > 0 {
            if let Some(a) = self.abandoned.get_mut(self.abandoned_at % R) {
                *a = s.attempt;
            }
            self.abandoned_at = (self.abandoned_at + 1) % R;
        }
        let at = now.add_span(self.cfg.fence_retry);
        let Some(p) = self.part_mut(s.rank) else {
            return;
        };
        if refusal == Refusal::Recovered {
            p.flags |= ELSEWHERE;
        } else {
            p.flags |= FENCE_HOLD;
            p.deadline = at;
            self.lower_deadline(at);
        }
    }

    /// The fence steps of `drive`: announce availability changes, then abandon the fence
    /// waits of an unavailable coordinator; one step each, `false` when one lacked room.
    pub(crate) fn fence_steps(&mut self, now: Instant) -> bool {
        while self.avail_pending > 0 {
            if !self.room(0) {
                return false;
            }
            self.avail_pending -= 1;
            self.announced = !self.announced;
            let available = self.announced;
            self.emit(Event::AvailabilityChanged(AvailabilityChange {
                available,
                time: now,
            }));
        }
        if self.available {
            return true;
        }
        for idx in 0..R {
            if self
                .recs
                .get(idx)
                .is_some_and(|s| s.state == RecState::Fencing)
            {
                if !self.room(0) {
                    return false;
                }
                self.end_fencing(idx, now, Refusal::Unavailable, true);
            }
        }
        true
    }

    /// The release queued for a granted attempt that ended (`vacate`).
    pub(crate) fn queue_release(&mut self, release: FenceRelease) {
        // Never full (module docs, "Bounds"); were the bound wrong, `Outbox` counts the loss.
        let _ = self.releases.push(release);
    }
}
