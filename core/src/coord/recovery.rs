//! The recovery half of the coordinator: decision → queue → lock → recovery mode → phases →
//! success or retry/escalation.
//!
//! # Lifecycle of one attempt (one recovery slot)
//!
//! ```text
//!  FAILED ─decide─► queue ─promote (lock permit, FAILED→RECOVERING)─► Waiting
//!  (fenced: queue ─promote (lock permit)─► Fencing ─fence_granted (FAILED→RECOVERING)─► Waiting;
//!   Fencing ─fence_refused / wait abandoned─► slot freed, partition held `fence_retry`; fence.rs)
//!  Waiting ─recovery mode entered (first: gate closed + quiescent)─► Running(Detecting)
//!  Running(p) ─phase_done(p, ok)─► Running(next p) … ─Validating ok─► success: RECOVERING→HEALTHY
//!  Running(p) ─phase_done(p, !ok)─► failure: RECOVERING→FAILED, retry with backoff or escalate
//!  Running(p) ─recovery timeout, p not handed out yet─► failure (nothing runs: no cancel)
//!  Running(p) ─recovery timeout, p handed out─► failure + Cancelling(p)
//!  Cancelling ─poll_action─► CancelRecovery handed out (still Cancelling)
//!  Cancelling ─cancel_done, or phase_done(p) of that attempt─► slot freed (acknowledged)
//!  Cancelling ─cancel_timeout without acknowledgement─► escalated once (still Cancelling)
//!  Waiting ─pause timeout, AbortAndRetry─► Aborting ─next step of the same input─► failure
//! ```
//!
//! | slot state | lock permit | recovery-mode count | partition | waits for |
//! |---|---|---|---|---|
//! | Fencing | held | no | FAILED, not queued | `fence_granted` / `fence_refused` (abandoned at its deadline) |
//! | Waiting | held | not yet | RECOVERING | the pause (deadline + quiescence poll) |
//! | Running | held | held | RECOVERING | `phase_done` (recovery timeout) |
//! | Aborting | held | no | RECOVERING | the next step of the same input |
//! | Cancelling | held | held (if it had entered) | FAILED, not queued | `cancel_done` / late `phase_done` (escalation at `cancel_timeout`) |
//!
//! **The cancel handshake.** An attempt abandoned at its recovery timeout fails at once
//! (RECOVERING→FAILED, its retry is scheduled or it is escalated: the events and statistics
//! of a timeout), but while its phase may still be running on the embedder's side it keeps
//! its lock permit and its recovery-mode count: the gate stays closed, the balancer and ghost
//! sync stay paused, and the partition is neither queued nor started again (its backoff may
//! expire meanwhile; the retry is due only once the cancel is acknowledged, and `retry`
//! refuses it with [`RetryError::Cancelling`]). The embedder acknowledges with
//! [`Coordinator::cancel_done`] or with the abandoned phase's late `phase_done` (whose result
//! is ignored); then the permit and the mode count are given back in that input, and the
//! retry, if due, is asked for through `poll_timeout`. A cancel not acknowledged within
//! `cancel_timeout` is escalated once (`Escalated` with
//! [`EscalationReason::CancelUnacknowledged`], the `CANCEL_OVERDUE` alert,
//! `Stats::cancels_escalated`) but never released: only an acknowledgement or dropping the
//! coordinator gives back what it holds. While cancelling, the attempt counts in
//! `in_progress` (K) but not in the recovery decision's "recoveries in progress" (it cannot
//! bring its partition back).
//!
//! Every failure releases the lock permit (an abandoned attempt: when acknowledged); every
//! attempt that entered recovery mode leaves it exactly once; every attempt granted a fence
//! queues its one `ReleaseFence` when its slot is vacated (`vacate`: the same place its
//! permit is given back). Exits are deferred to the end
//! of the input (`drive`): the queue is promoted first, so a recovery that starts as another
//! finishes joins the running mode instead of resuming and re-pausing the forest.
//!
//! Time: a deadline that saturated at `Instant::MAX` (the clock at the top of its range) is
//! never reached: such a recovery timeout, pause timeout or cancel escalation never fires.
//!
//! Backpressure (coordinator docs): `drive` works in steps (complete or abort the pause; fail
//! one aborted attempt; join one waiting attempt; start one queued attempt), each checked
//! for outbox room first. When room runs out it stops, marks the coordinator `deferred`
//! (`poll_timeout` = now) and the next `tick` carries on; the mode exits wait until every
//! step is done. A pause that times out under `AbortAndRetry` marks its waiting attempts
//! `Aborting`; each fails in a later step of the same `drive` (a pause aborted by the last
//! step, a start from the queue, makes `drive` run its steps once more), so no attempt is
//! left `Aborting` after an input unless the outbox ran out of room (`poll_timeout` = now).
//!
//! Retries: after attempt `k` fails, if `k <= max_retries` the partition waits
//! `backoff(k)` (FAILED with `BACKOFF`, a `RetryScheduled` event) and is then decided and
//! queued again like a new failure; otherwise it is escalated (`RetriesExhausted`), stays
//! FAILED and waits for [`Coordinator::retry`]. A pause that times out under `AbortAndRetry`
//! holds the queue for `max(backoff_base, quiescence_poll)` so the forest can run before the
//! next pause: no attempt starts from the queue during the hold, not even later in the same
//! input (with `pause_timeout = 0` one input makes at most one pause attempt).

use super::action::CancelJob;
#[cfg(feature = "fence")]
use super::action::FenceRelease;
use super::backoff::{backoff_span, may_retry};
use super::config::PauseTimeoutPolicy;
use super::coordinator::{Coordinator, Pause, RecSlot, RecState};
use super::decision::{decide, Decision};
use super::detect::{PartitionSlot, BACKOFF, ELSEWHERE, EXHAUSTED, FENCE_HOLD};
use super::error::{CancelDoneError, PhaseDoneError, RetryError};
use super::event::{
    Cause, Escalation, EscalationReason, Event, Finished, PhaseChange, QueueReason, Queued, Retry,
};
use super::gate::OpGate;
use super::mode::{Enter, Exit};
use super::phase::Phase;
use super::pstats::PartitionStatsStorage;
use super::sched::Promote;
use crate::health::{Health, HealthCell};
use crate::lock::{AcquireError, LockSlot, PermitToken};
use crate::queue::QueueSlot;
use crate::time::Instant;

impl<H, L, Q, P, G, const R: usize, const E: usize, S> Coordinator<H, L, Q, P, G, R, E, S>
where
    H: AsRef<[HealthCell]>,
    L: AsRef<[LockSlot]>,
    Q: AsRef<[QueueSlot]>,
    P: AsRef<[PartitionSlot]> + AsMut<[PartitionSlot]>,
    G: OpGate,
    S: PartitionStatsStorage,
{
    /// The embedder finished phase `phase` of attempt `attempt` of `rank`, successfully or not.
    ///
    /// The phase must be the one last handed out for that attempt (a skipped or repeated
    /// phase is refused, nothing changes). After `Validating` succeeds the partition is HEALTHY
    /// with a new incarnation; a failed phase fails the attempt (retry with backoff, or
    /// escalation after the last retry).
    ///
    /// For an attempt abandoned at its recovery timeout whose cancel is not acknowledged
    /// yet, the late completion of the abandoned phase (the phase must match) is the
    /// acknowledgement: `Ok`, the result is ignored (the attempt failed at its timeout), and
    /// the attempt gives back its permit and recovery-mode count (see
    /// [`cancel_done`](Coordinator::cancel_done)).
    ///
    /// Errors change nothing; [`PhaseDoneError::OutboxFull`] (fewer than
    /// [`MAX_EVENTS_PER_STEP`](super::MAX_EVENTS_PER_STEP) free outbox slots): drain
    /// `poll_event` and call again.
    pub fn phase_done(
        &mut self,
        now: Instant,
        rank: u32,
        attempt: u32,
        phase: Phase,
        ok: bool,
    ) -> Result<(), PhaseDoneError> {
        if rank >= self.n {
            return Err(PhaseDoneError::UnknownPartition);
        }
        if let Some(idx) = self.cancelling_slot(rank, attempt) {
            let expected = self.recs.get(idx).map_or(phase, |s| s.machine.phase());
            if phase != expected {
                return Err(PhaseDoneError::OutOfOrder {
                    expected,
                    got: phase,
                });
            }
            let now = self.advance(now);
            self.acknowledge(idx, now);
            return Ok(());
        }
        let idx = self
            .recs
            .iter()
            .position(|s| s.state == RecState::Running && s.rank == rank && s.attempt == attempt)
            .ok_or(PhaseDoneError::StaleAttempt)?;
        if self.recs.get(idx).is_some_and(|s| s.pending) {
            return Err(PhaseDoneError::NotRequested);
        }
        if !self.room(0) {
            return Err(PhaseDoneError::OutboxFull);
        }
        let Some(slot) = self.recs.get_mut(idx) else {
            return Err(PhaseDoneError::StaleAttempt);
        };
        let expected = slot.machine.phase();
        let (from, to) =
            slot.machine
                .complete(phase, ok)
                .map_err(|_| PhaseDoneError::OutOfOrder {
                    expected,
                    got: phase,
                })?;
        let now = self.advance(now);
        let Some(slot) = self.recs.get_mut(idx) else {
            return Err(PhaseDoneError::StaleAttempt);
        };
        let number = u32::from(slot.number);
        if to.is_runnable() {
            slot.pending = true;
        }
        self.emit(Event::PhaseChanged(PhaseChange {
            rank,
            attempt,
            number,
            from,
            to,
            time: now,
        }));
        match to {
            Phase::Complete => self.succeed(idx, now),
            Phase::Failed => self.fail_attempt(idx, now, Cause::RecoveryFailed),
            _ => {}
        }
        self.drive(now);
        Ok(())
    }

    /// The embedder confirms that attempt `attempt` of `rank`, abandoned at its recovery
    /// timeout ([`Action::CancelRecovery`](super::Action::CancelRecovery)), has stopped:
    /// none of its phases runs any more. Until then the attempt keeps its lock permit and its
    /// recovery-mode count (the forest stays paused, the partition is not recovered again);
    /// now they are given back, the forest resumes if no other recovery runs, and the
    /// partition's retry follows when due. The abandoned phase's late `phase_done` does the
    /// same. May come before the cancel was polled (it is then never handed out). Emits
    /// nothing itself, so it is never refused for outbox room (the work it unblocks is
    /// deferred as usual when room runs out).
    ///
    /// Errors change nothing: [`CancelDoneError::UnknownPartition`],
    /// [`CancelDoneError::NotCancelling`] (no such abandoned attempt awaits its
    /// acknowledgement: a second acknowledgement, or a wrong id).
    pub fn cancel_done(
        &mut self,
        now: Instant,
        rank: u32,
        attempt: u32,
    ) -> Result<(), CancelDoneError> {
        if rank >= self.n {
            return Err(CancelDoneError::UnknownPartition);
        }
        let idx = self
            .cancelling_slot(rank, attempt)
            .ok_or(CancelDoneError::NotCancelling)?;
        let now = self.advance(now);
        self.acknowledge(idx, now);
        Ok(())
    }

    fn cancelling_slot(&self, rank: u32, attempt: u32) -> Option<usize> {
        self.recs
            .iter()
            .position(|s| s.state == RecState::Cancelling && s.rank == rank && s.attempt == attempt)
    }

    /// The abandoned attempt in slot `idx` stopped: give back its permit and mode count,
    /// free the slot, make its partition's retry due (if it is backing off), then `drive`.
    fn acknowledge(&mut self, idx: usize, now: Instant) {
        let Some(s) = self.recs.get(idx).copied() else {
            return;
        };
        self.vacate(idx);
        // Its backoff deadline was kept out of `poll_timeout` while cancelling.
        let due = self
            .partition(s.rank)
            .ok()
            .filter(|p| p.is_backing_off())
            .map(|p| p.deadline);
        if let Some(d) = due {
            self.lower_deadline(d);
        }
        self.drive(now);
    }

    /// Recover an escalated partition again (after `max_retries` failed retries it waits
    /// for this command). Its attempt count starts over; the decision runs as for a new
    /// failure.
    ///
    /// Errors change nothing; [`RetryError::OutboxFull`] (fewer than
    /// [`MAX_EVENTS_PER_STEP`](super::MAX_EVENTS_PER_STEP) free outbox slots): drain
    /// `poll_event` and call again.
    pub fn retry(&mut self, now: Instant, rank: u32) -> Result<(), RetryError> {
        let (health, _) = self
            .table
            .get(rank)
            .map_err(|_| RetryError::UnknownPartition)?;
        if health != Health::Failed {
            return Err(RetryError::NotFailed);
        }
        if self.cancelling(rank).is_some() {
            return Err(RetryError::Cancelling);
        }
        match self.partition(rank) {
            Ok(p) if p.flags & (EXHAUSTED | ELSEWHERE) != 0 => {}
            Ok(_) => return Err(RetryError::AlreadyScheduled),
            Err(_) => return Err(RetryError::UnknownPartition),
        }
        if !self.room(0) {
            return Err(RetryError::OutboxFull);
        }
        let now = self.advance(now);
        // `ELSEWHERE` is 0 without the `fence` feature: that arm folds away.
        #[allow(clippy::bad_bit_mask)]
        match self.part_mut(rank) {
            Some(p) if p.flags & ELSEWHERE != 0 && p.flags & EXHAUSTED == 0 => {
                // Refused as recovered elsewhere, and the embedder wants it recovered here
                // after all: its attempts go on counting (none was given up).
                p.flags &= !ELSEWHERE;
            }
            Some(p) if p.flags & EXHAUSTED != 0 => {
                p.flags &= !EXHAUSTED;
                // The retry numbers its attempts from 1 again: the given-up ones leave the
                // open-failure count now, since a later success could not close them.
                let given_up = p.attempts;
                p.attempts = 0;
                self.counters.on_given_up_retried(given_up);
            }
            Some(_) => return Err(RetryError::AlreadyScheduled),
            None => return Err(RetryError::UnknownPartition),
        }
        self.decide_and_admit(rank, now);
        self.drive(now);
        Ok(())
    }

    /// End of every input: the pause, aborted and waiting attempts, the queue (FIFO, up to
    /// K), then deferred mode exits. Each step checks for room first; without room the rest
    /// is left for the next tick (`deferred`), exits included.
    pub(crate) fn drive(&mut self, now: Instant) {
        loop {
            if !self.drive_steps(now) {
                self.deferred = true;
                return;
            }
            // A pause aborted by the last step (a start from the queue) left its attempts
            // Aborting: fail them now, not at some later input (nothing would ask for it).
            // Terminates: the abort set a hold, so the queue starts nothing more.
            if !self.recs.iter().any(|s| s.state == RecState::Aborting) {
                break;
            }
        }
        while self.pending_exits > 0 {
            self.pending_exits -= 1;
            self.exit_mode();
        }
    }

    /// The steps of `drive`; `false` when one lacked room.
    fn drive_steps(&mut self, now: Instant) -> bool {
        if !self.fence_steps(now) {
            return false;
        }
        if matches!(self.pause, Pause::Pausing { .. }) {
            if !self.room(0) {
                return false;
            }
            self.drive_pause(now);
        }
        for idx in 0..R {
            if self
                .recs
                .get(idx)
                .is_some_and(|s| s.state == RecState::Aborting)
            {
                if !self.room(0) {
                    return false;
                }
                self.fail_attempt(idx, now, Cause::PauseTimedOut);
            }
        }
        for idx in 0..R {
            if matches!(self.pause, Pause::Pausing { .. }) {
                break;
            }
            if self
                .recs
                .get(idx)
                .is_some_and(|s| s.state == RecState::Waiting)
            {
                if !self.room(0) {
                    return false;
                }
                self.enter_mode(idx, now);
            }
        }
        self.promote(now, 0).is_ok()
    }

    /// STATE 1/2/3 for a partition that is FAILED and due, then admission to the queue.
    pub(crate) fn decide_and_admit(&mut self, rank: u32, now: Instant) {
        let c = self.table.counts();
        // Abandoned attempts awaiting their cancel hold permits but bring nobody back.
        let recovering = self
            .sched
            .lock()
            .active()
            .saturating_sub(self.cancels_pending());
        let decision = decide(c.healthy, c.members(), recovering);
        if self.sched.admit(rank).is_err() {
            // Duplicate: already queued. Full/unknown cannot happen (capacity >= n, rank < n).
            return;
        }
        match decision {
            Decision::Recover => {
                // Keep one slot for this partition's `RecoveryQueued` (the enclosing step's).
                let blocked = self.promote(now, 1);
                if self.sched.queue().contains(rank) {
                    if blocked == Ok(Some(AcquireError::AtCapacity)) {
                        self.counters.on_blocked();
                    }
                    self.queued(rank, QueueReason::Capacity, now);
                }
            }
            Decision::Queue => self.queued(rank, QueueReason::AwaitingRecoveries, now),
            Decision::Escalate => {
                self.queued(rank, QueueReason::QuorumLost, now);
                self.counters.on_escalated();
                self.emit(Event::Escalated(Escalation {
                    rank,
                    reason: EscalationReason::QuorumLost,
                    time: now,
                }));
            }
        }
    }

    // Out of line: smaller than its inlined copies (flash, issue 10).
    #[inline(never)]
    fn queued(&mut self, rank: u32, reason: QueueReason, now: Instant) {
        let depth = self.sched.queue().len();
        self.counters.on_queued(depth);
        self.emit(Event::RecoveryQueued(Queued {
            rank,
            depth,
            reason,
            time: now,
        }));
    }

    /// Start queued recoveries while capacity, quorum and recovery slots allow, one step
    /// (one attempt) at a time, each with room for a step plus `reserve` events. `Ok(why the
    /// head is blocked)`, or `Err(())` when it stopped for lack of room (`deferred` set).
    pub(crate) fn promote(
        &mut self,
        now: Instant,
        reserve: usize,
    ) -> Result<Option<AcquireError>, ()> {
        loop {
            // Checked before every start: a start whose pause times out sets a new hold.
            match self.hold_until {
                Some(t) if now < t => return Ok(None),
                Some(_) => self.hold_until = None,
                None => {}
            }
            // Coordination unavailable: no attempt starts (or asks for a fence). After the
            // hold: an expired hold is cleared even now (`poll_timeout` names it while set).
            if !self.is_available() {
                return Ok(None);
            }
            if !self.recs.iter().any(|s| s.state == RecState::Free) {
                return Ok((!self.sched.queue().is_empty()).then_some(AcquireError::AtCapacity));
            }
            let quorum = self.table.has_quorum();
            let lock = self.sched.lock();
            // Only a promote that can start an attempt emits; the others need no room.
            let may_start =
                quorum && lock.active() < lock.max_concurrent() && !self.sched.queue().is_empty();
            if may_start && !self.room(reserve) {
                self.deferred = true;
                return Err(());
            }
            match self.sched.promote(quorum) {
                Promote::Started(token) => self.start_attempt(token, now),
                Promote::Empty => return Ok(None),
                Promote::Blocked(e) => return Ok(Some(e)),
            }
        }
    }

    /// A permit was taken for `token.rank`: fill a recovery slot. Fenced: the slot waits
    /// for its fence (Fencing, the `AcquireFence` pending, the partition still FAILED);
    /// otherwise the attempt is launched at once.
    fn start_attempt(&mut self, token: PermitToken, now: Instant) {
        let rank = token.rank;
        let Some(idx) = self.recs.iter().position(|s| s.state == RecState::Free) else {
            let _ = self.sched.release(token);
            let _ = self.sched.admit(rank);
            return;
        };
        let number = match self.part_mut(rank) {
            Some(p) => {
                p.flags &= !(BACKOFF | FENCE_HOLD);
                p.attempts.saturating_add(1)
            }
            None => 1,
        };
        let attempt = self.next_attempt;
        self.next_attempt = self.next_attempt.wrapping_add(1).max(1);
        let deadline = self.fence_deadline(now);
        if let Some(s) = self.recs.get_mut(idx) {
            *s = RecSlot {
                state: RecState::Fencing,
                rank,
                attempt,
                number,
                permit: token,
                pending: true,
                deadline,
                ..RecSlot::FREE
            };
        }
        if !self.cfg.fenced() {
            self.launch(idx, now);
        }
    }

    /// Launch the attempt in slot `idx` (Fencing; granted when fenced): FAILED→RECOVERING,
    /// its number and statistics, then recovery mode. A refused transition vacates the slot.
    pub(crate) fn launch(&mut self, idx: usize, now: Instant) {
        let Some(s) = self.recs.get(idx).copied() else {
            return;
        };
        if !self.transit(
            s.rank,
            Health::Failed,
            Health::Recovering,
            Cause::RecoveryStarted,
            now,
        ) {
            self.vacate(idx);
            return;
        }
        if let Some(p) = self.part_mut(s.rank) {
            p.attempts = s.number;
        }
        self.counters.on_attempt();
        self.pstat(s.rank, |p| p.on_attempt());
        if let Some(slot) = self.recs.get_mut(idx) {
            slot.state = RecState::Waiting;
            slot.pending = false;
            slot.deadline = Instant::ZERO;
        }
        self.enter_mode(idx, now);
    }

    /// Enter recovery mode for slot `idx` (Waiting). Not while the queue is held after a
    /// pause timed out (a fenced attempt granted meanwhile waits, Waiting, for the hold to
    /// end: the forest runs before the next pause, as for a start from the queue).
    fn enter_mode(&mut self, idx: usize, now: Instant) {
        if self.hold_until.is_some_and(|t| now < t) {
            return;
        }
        match self.mode.try_enter() {
            Ok(Enter::First) => match self.gate.close() {
                Ok(token) => {
                    self.pause_token = Some(token);
                    self.pause = Pause::Pausing {
                        since: now,
                        deadline: now.add_span(self.cfg.pause_timeout),
                        leader: idx,
                    };
                    self.drive_pause(now);
                }
                Err(_) => {
                    // Cannot pause the forest: never recover on a running forest.
                    let _ = self.mode.abort_enter();
                    self.counters.on_pause_timeout();
                    self.fail_attempt(idx, now, Cause::PauseTimedOut);
                }
            },
            Ok(Enter::Joined) => {
                if let Some(s) = self.recs.get_mut(idx) {
                    s.joined = true;
                }
                self.begin_phases(idx, now);
            }
            // Busy: a pause is in progress; the slot joins when it completes.
            Err(_) => {}
        }
    }

    /// While pausing: quiescent → run; deadline passed → the policy.
    fn drive_pause(&mut self, now: Instant) {
        let Pause::Pausing {
            since,
            deadline,
            leader,
        } = self.pause
        else {
            return;
        };
        let quiescent = self.gate.is_quiescent();
        // A deadline saturated at the top of the time line is never reached.
        if !quiescent && (now < deadline || deadline == Instant::MAX) {
            return;
        }
        self.pause_overran = !quiescent;
        if !quiescent {
            self.counters.on_pause_timeout();
            if self.cfg.pause_timeout_policy() == PauseTimeoutPolicy::AbortAndRetry {
                let _ = self.mode.abort_enter();
                if let Some(t) = self.pause_token.take() {
                    let _ = self.gate.reopen(t);
                }
                self.pause = Pause::Idle;
                let hold = self.cfg.backoff_base.max(self.cfg.quiescence_poll);
                self.hold_until = Some(now.add_span(hold));
                // Each waiting attempt fails in a step of its own (`drive`).
                for s in self.recs.iter_mut() {
                    if s.state == RecState::Waiting {
                        s.state = RecState::Aborting;
                    }
                }
                return;
            }
        }
        let _ = self.mode.finish_enter();
        self.pause = Pause::Active { since };
        if let Some(s) = self
            .recs
            .get_mut(leader)
            .filter(|s| s.state == RecState::Waiting)
        {
            s.joined = true;
            self.begin_phases(leader, now);
        }
        // The other waiting attempts join in steps of their own (`drive`).
    }

    fn begin_phases(&mut self, idx: usize, now: Instant) {
        let timeout = self.cfg.recovery_timeout;
        let Some(s) = self.recs.get_mut(idx) else {
            return;
        };
        let Ok((from, to)) = s.machine.step(Phase::Detecting) else {
            return;
        };
        s.state = RecState::Running;
        s.pending = true;
        // A zero recovery timeout is no timeout: a deadline that is never reached.
        s.deadline = if timeout.is_zero() {
            Instant::MAX
        } else {
            now.add_span(timeout)
        };
        let e = PhaseChange {
            rank: s.rank,
            attempt: s.attempt,
            number: u32::from(s.number),
            from,
            to,
            time: now,
        };
        self.emit(Event::PhaseChanged(e));
    }

    // Out of line: smaller than its inlined copies (flash, issue 10).
    #[inline(never)]
    fn exit_mode(&mut self) {
        if let Ok(Exit::Last) = self.mode.try_exit() {
            if let Some(t) = self.pause_token.take() {
                let _ = self.gate.reopen(t);
            }
            self.pause = Pause::Idle;
            let _ = self.mode.finish_exit();
        }
    }

    /// Abandon attempts whose phases ran past the recovery timeout, and escalate cancels
    /// unacknowledged past `cancel_timeout`, one step each; `false` when one lacked room.
    /// Deadlines saturated at `Instant::MAX` never expire; a zero recovery timeout gives
    /// running attempts that deadline (no timeout, as in the original).
    pub(crate) fn expire_recoveries(&mut self, now: Instant) -> bool {
        for idx in 0..R {
            let Some(s) = self.recs.get(idx).copied() else {
                continue;
            };
            let due = s.deadline != Instant::MAX && s.deadline <= now;
            let expire = s.state == RecState::Running && due;
            let escalate = s.state == RecState::Cancelling && !s.escalated && due;
            let unfenced = cfg!(feature = "fence") && s.state == RecState::Fencing && due;
            if !(expire || escalate || unfenced) {
                continue;
            }
            if !self.room(0) {
                return false;
            }
            if unfenced {
                #[cfg(feature = "fence")]
                self.end_fencing(idx, now, super::fence::Refusal::TimedOut, true);
            } else if expire {
                self.fail_attempt(idx, now, Cause::RecoveryTimedOut);
            } else {
                if let Some(slot) = self.recs.get_mut(idx) {
                    slot.escalated = true;
                }
                self.counters.on_cancel_escalated();
                self.emit(Event::Escalated(Escalation {
                    rank: s.rank,
                    reason: EscalationReason::CancelUnacknowledged,
                    time: now,
                }));
            }
        }
        true
    }

    fn succeed(&mut self, idx: usize, now: Instant) {
        let Some(s) = self.recs.get(idx).copied() else {
            return;
        };
        let cfg = self.cfg;
        let (attempts, latency) = match self.part_mut(s.rank) {
            Some(p) => (
                u32::from(p.attempts),
                now.saturating_duration_since(p.since),
            ),
            None => (u32::from(s.number), core::time::Duration::ZERO),
        };
        if self.transit(
            s.rank,
            Health::Recovering,
            Health::Healthy,
            Cause::RecoverySucceeded,
            now,
        ) {
            if let Some(p) = self.part_mut(s.rank) {
                p.on_healthy(now, &cfg, true);
            }
            self.counters.on_attempt_succeeded(latency, attempts);
            self.pstat(s.rank, |p| p.on_recovered(latency));
            self.emit(Event::RecoveryFinished(Finished {
                rank: s.rank,
                success: true,
                attempts,
                latency,
                time: now,
            }));
        }
        self.release_slot(idx, false, now);
    }

    /// Fail the attempt in slot `idx` (Waiting or Running) for `cause`.
    fn fail_attempt(&mut self, idx: usize, now: Instant, cause: Cause) {
        let Some(mut s) = self.recs.get(idx).copied() else {
            return;
        };
        if s.state == RecState::Running && s.machine.phase().is_runnable() {
            if let Ok((from, to)) = s.machine.step(Phase::Failed) {
                let e = PhaseChange {
                    rank: s.rank,
                    attempt: s.attempt,
                    number: u32::from(s.number),
                    from,
                    to,
                    time: now,
                };
                self.emit(Event::PhaseChanged(e));
            }
        }
        let rank = s.rank;
        let timed_out = cause == Cause::RecoveryTimedOut;
        // A phase handed out may still run: keep the slot (permit, mode) until acknowledged.
        let cancel = timed_out && s.state == RecState::Running && !s.pending;
        self.transit(rank, Health::Recovering, Health::Failed, cause, now);
        self.counters.on_attempt_failed(timed_out);
        self.release_slot(idx, cancel, now);
        let (base, cap, max) = (
            self.cfg.backoff_base,
            self.cfg.backoff_cap,
            self.cfg.max_retries(),
        );
        let Some(p) = self.part_mut(rank) else { return };
        let attempts = p.attempts;
        if may_retry(attempts, max) {
            let at = now.add_span(backoff_span(u32::from(attempts), base, cap));
            p.flags |= BACKOFF;
            p.deadline = at;
            if !cancel {
                // Cancelling: due only once acknowledged (`acknowledge` lowers it then).
                self.lower_deadline(at);
            }
            self.counters.on_retry();
            let next_number = u32::from(attempts) + 1;
            self.emit(Event::RetryScheduled(Retry {
                rank,
                next_number,
                at,
                time: now,
            }));
        } else {
            p.flags |= EXHAUSTED;
            let latency = now.saturating_duration_since(p.since);
            self.counters.on_given_up(latency);
            self.counters.on_escalated();
            let attempts = u32::from(attempts);
            self.emit(Event::RecoveryFinished(Finished {
                rank,
                success: false,
                attempts,
                latency,
                time: now,
            }));
            self.emit(Event::Escalated(Escalation {
                rank,
                reason: EscalationReason::RetriesExhausted,
                time: now,
            }));
        }
    }

    /// Give back the permit, note the mode exit and free the slot; or, for an attempt
    /// abandoned with its phase handed out (`cancel`), keep all three and make the slot
    /// Cancelling (machine left at the abandoned phase; escalation at `cancel_timeout`).
    // Out of line: smaller than its inlined copies (flash, issue 10).
    #[inline(never)]
    fn release_slot(&mut self, idx: usize, cancel: bool, now: Instant) {
        let Some(s) = self.recs.get(idx).copied() else {
            return;
        };
        if cancel {
            let deadline = now.add_span(self.cfg.cancel_timeout);
            if let Some(slot) = self.recs.get_mut(idx) {
                *slot = RecSlot {
                    state: RecState::Cancelling,
                    pending: true,
                    escalated: false,
                    deadline,
                    ..s
                };
            }
            return;
        }
        self.vacate(idx);
    }

    /// Free slot `idx` for good: give back its permit, note its mode exit (performed at the
    /// end of the input), queue the `ReleaseFence` of a granted fence (`completed` when the
    /// attempt completed), free the slot. The one place a slot holding a permit becomes
    /// Free (besides dropping the coordinator), so each granted fence is released once.
    pub(crate) fn vacate(&mut self, idx: usize) {
        let Some(s) = self.recs.get(idx).copied() else {
            return;
        };
        if s.state == RecState::Free {
            return;
        }
        let _ = self.sched.release(s.permit);
        if s.joined {
            self.pending_exits += 1;
        }
        #[cfg(feature = "fence")]
        if s.fence != 0 {
            let completed = s.state == RecState::Running && s.machine.phase() == Phase::Complete;
            self.queue_release(FenceRelease {
                rank: s.rank,
                attempt: s.attempt,
                token: s.fence,
                completed,
            });
        }
        if let Some(slot) = self.recs.get_mut(idx) {
            *slot = RecSlot::FREE;
        }
    }

    /// The cancel a `Cancelling` slot stands for (used by `poll_action`).
    pub(crate) fn cancel_job(s: &RecSlot) -> CancelJob {
        CancelJob {
            rank: s.rank,
            attempt: s.attempt,
        }
    }
}
