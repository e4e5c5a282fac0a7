//! Fenced recovery and coordination availability (issue 8, `core/src/coord/fence.rs`).
//!
//! The fence request, its grant (the token in every `PhaseJob`) and refusal (no retry
//! consumed, `fence_retry` respected, `Recovered` leaves the partition alone), the release
//! handed out exactly once on every way a granted attempt ends (before the resume hooks),
//! the bounded fence wait (a never-answered request gives its permit back; a late grant is
//! refused with `Abandoned`), availability (nothing asks or starts while unavailable), every
//! hostile answer (twice, after a refusal, for an abandoned attempt, token 0, not asked for),
//! and `local_confirmation(false)`. Manual millisecond clock; no timing assertion.

// Fences need the `fence` feature (a default one).
#![cfg(feature = "fence")]

mod common;

use core::time::Duration;
use std::sync::Arc;
use std::vec::Vec;

use common::{ms, Sim};
use ftforest_core::coord::{
    Action, Alerts, BoxedCoordinator, Cause, Config, ConfigBuilder, Event, FenceError, FenceJob,
    FenceRelease, HealthLevel, PauseTimeoutPolicy, Phase, Refusal, Report, RetryError,
    MAX_EVENTS_PER_STEP,
};
use ftforest_core::{Health, Tracker};

fn fenced() -> ConfigBuilder {
    Config::builder()
        .fenced(true)
        .failure_confirmation(Duration::ZERO)
        .recovery_timeout(Duration::from_secs(10))
        .fence_retry(Duration::from_millis(500))
        .backoff_base(Duration::from_millis(100))
        .max_retries(2)
}

fn sim(cfg: ConfigBuilder) -> Sim {
    let mut s = Sim::new(5, cfg.build().expect("config"));
    s.auto = false;
    s
}

/// The actions handed out since the last call, and forget them.
fn take_actions(s: &mut Sim) -> Vec<Action> {
    s.actions.drain(..).map(|(_, a)| a).collect()
}

fn take_events(s: &mut Sim) -> Vec<Event> {
    core::mem::take(&mut s.events)
}

/// The fence requests among `actions`.
fn acquires(actions: &[Action]) -> Vec<FenceJob> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::AcquireFence(j) => Some(*j),
            _ => None,
        })
        .collect()
}

fn releases(actions: &[Action]) -> Vec<FenceRelease> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::ReleaseFence(r) => Some(*r),
            _ => None,
        })
        .collect()
}

/// Crash `rank` at `t` and return its fence request.
fn crash_and_ask(s: &mut Sim, t: u64, rank: u32) -> FenceJob {
    s.report(t, Report::crashed(rank));
    let a = take_actions(s);
    let asks = acquires(&a);
    assert_eq!(asks.len(), 1, "one fence request: {a:?}");
    asks[0]
}

fn grant(s: &mut Sim, j: FenceJob, token: u64) {
    s.c.fence_granted(s.now, j.rank, j.attempt, token)
        .expect("grant");
    s.pump();
}

/// Run the outstanding phase of `rank` to its end with `ok`.
fn finish(s: &mut Sim, rank: u32, ok: bool) {
    loop {
        let job = s.complete(rank, ok);
        if !ok || job.phase == Phase::Validating {
            return;
        }
    }
}

#[test]
fn fenced_attempt_asks_once_pauses_nothing_then_runs_with_its_token() {
    let mut s = sim(fenced());
    let j = crash_and_ask(&mut s, 10, 1);
    assert_eq!((j.rank, j.number), (1, 1));
    assert_ne!(j.attempt, 0);
    // Nothing paused, partition still FAILED, the permit held.
    assert!(!s.c.in_recovery_mode() && !s.tracker.is_paused());
    assert!(!s.balancer_paused && !s.ghost_paused);
    assert_eq!(s.c.health(1).unwrap().0, Health::Failed);
    assert_eq!((s.c.in_progress(), s.c.fencing(1)), (1, Some(j.attempt)));
    assert!(!s.c.is_queued(1));
    assert_eq!(s.c.stats().recoveries_attempted, 0);
    // Handed out once.
    s.tick(20);
    assert!(take_actions(&mut s).is_empty());

    take_events(&mut s);
    grant(&mut s, j, 42);
    let ev = take_events(&mut s);
    assert!(matches!(ev[0], Event::FenceGranted(g) if g.token == 42 && g.attempt == j.attempt));
    assert!(ev.iter().any(|e| matches!(e, Event::StatusChanged(c)
        if c.from == Health::Failed && c.to == Health::Recovering && c.cause == Cause::RecoveryStarted)));
    assert_eq!(s.c.fence(1), Some(42));
    assert_eq!(s.c.fencing(1), None);
    assert_eq!(s.c.stats().recoveries_attempted, 1);
    let a = take_actions(&mut s);
    assert_eq!(&a[..2], &[Action::PauseBalancer, Action::PauseGhostSync]);
    let Action::RunPhase(p) = a[2] else {
        panic!("{a:?}")
    };
    assert_eq!((p.attempt, p.number, p.fence), (j.attempt, 1, 42));

    // Every phase carries the token; completion releases it (completed) before resuming.
    finish(&mut s, 1, true);
    let a = take_actions(&mut s);
    for p in a.iter().filter_map(|a| match a {
        Action::RunPhase(p) => Some(p),
        _ => None,
    }) {
        assert_eq!(p.fence, 42);
    }
    let rel = a
        .iter()
        .position(|a| matches!(a, Action::ReleaseFence(_)))
        .expect("release");
    let resume = a
        .iter()
        .position(|a| *a == Action::ResumeBalancer)
        .expect("resume");
    assert!(rel < resume, "release before the resume hooks: {a:?}");
    assert_eq!(
        releases(&a),
        [FenceRelease {
            rank: 1,
            attempt: j.attempt,
            token: 42,
            completed: true
        }]
    );
    assert_eq!(s.c.health(1).unwrap().0, Health::Healthy);
    assert_eq!((s.c.in_progress(), s.c.fence(1)), (0, None));
}

#[test]
fn unfenced_phases_carry_token_zero_and_fence_answers_are_refused() {
    let mut s = sim(Config::builder().failure_confirmation(Duration::ZERO));
    s.report(10, Report::crashed(2));
    let a = take_actions(&mut s);
    assert!(acquires(&a).is_empty());
    let Some(Action::RunPhase(p)) = a.last().copied() else {
        panic!("{a:?}")
    };
    assert_eq!(p.fence, 0);
    assert_eq!(
        s.c.fence_granted(s.now, 2, p.attempt, 7),
        Err(FenceError::NotFenced)
    );
    assert_eq!(
        s.c.fence_refused(s.now, 2, p.attempt, Refusal::Held),
        Err(FenceError::NotFenced)
    );
}

#[test]
fn refusal_consumes_no_retry_and_waits_fence_retry() {
    // max_retries 0: a consumed retry would escalate instead of asking again.
    let mut s = sim(fenced().max_retries(0));
    let j = crash_and_ask(&mut s, 10, 3);
    take_events(&mut s);
    s.c.fence_refused(s.now, 3, j.attempt, Refusal::Held)
        .expect("refuse");
    s.pump();
    let ev = take_events(&mut s);
    assert!(
        matches!(ev.as_slice(), [Event::FenceRefused(r)] if r.refusal == Refusal::Held && r.attempt == j.attempt),
        "{ev:?}"
    );
    assert_eq!(s.c.health(3).unwrap().0, Health::Failed);
    assert_eq!((s.c.in_progress(), s.c.fencing(3)), (0, None));
    s.tick(10);
    assert_eq!(s.c.poll_timeout(), Some(ms(510)));
    // Not asked again before now + fence_retry.
    s.jump(509);
    assert!(acquires(&take_actions(&mut s)).is_empty());
    s.jump(510);
    let again = acquires(&take_actions(&mut s));
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].rank, again[0].number), (3, 1), "same number");
    assert_ne!(again[0].attempt, j.attempt, "a new attempt id");
    // A grant for the refused attempt is stale; the new one runs.
    let e = s.c.fence_granted(s.now, 3, j.attempt, 9).unwrap_err();
    assert_eq!(e, FenceError::StaleAttempt);
    assert!(e.must_release(9));
    grant(&mut s, again[0], 9);
    assert_eq!(s.c.health(3).unwrap().0, Health::Recovering);
    finish(&mut s, 3, true);
    assert_eq!(s.c.stats().recoveries_attempted, 1);
}

#[test]
fn refused_as_recovered_stays_failed_and_unscheduled_until_retry() {
    let mut s = sim(fenced());
    let j = crash_and_ask(&mut s, 10, 4);
    s.c.fence_refused(s.now, 4, j.attempt, Refusal::Recovered)
        .expect("refuse");
    s.pump();
    s.jump(60_000);
    assert!(acquires(&take_actions(&mut s)).is_empty());
    assert_eq!(s.c.health(4).unwrap().0, Health::Failed);
    assert!(!s.c.is_queued(4));
    assert_eq!(s.c.in_progress(), 0);
    // The embedder may still want it recovered here.
    s.c.retry(s.now, 4).expect("retry");
    s.pump();
    assert_eq!(acquires(&take_actions(&mut s)).len(), 1);
    assert_eq!(s.c.retry(s.now, 4), Err(RetryError::AlreadyScheduled));
}

#[test]
fn hostile_answers_are_typed_errors_that_change_nothing() {
    let mut s = sim(fenced());
    let j = crash_and_ask(&mut s, 10, 1);
    let before = (s.c.stats(), s.c.poll_timeout(), s.c.fencing(1));
    assert_eq!(
        s.c.fence_granted(s.now, 9, j.attempt, 5),
        Err(FenceError::UnknownPartition)
    );
    assert_eq!(
        s.c.fence_granted(s.now, 1, j.attempt, 0),
        Err(FenceError::ZeroToken)
    );
    assert_eq!(
        s.c.fence_granted(s.now, 1, j.attempt + 100, 5),
        Err(FenceError::StaleAttempt)
    );
    assert_eq!(
        s.c.fence_granted(s.now, 2, j.attempt, 5),
        Err(FenceError::StaleAttempt)
    );
    assert_eq!(
        s.c.fence_refused(s.now, 0, j.attempt, Refusal::Held),
        Err(FenceError::StaleAttempt)
    );
    assert_eq!((s.c.stats(), s.c.poll_timeout(), s.c.fencing(1)), before);
    assert!(take_events(&mut s)
        .iter()
        .all(|e| !matches!(e, Event::FenceGranted(_) | Event::FenceRefused(_))));

    // Grant twice: the second is refused and names the running token.
    grant(&mut s, j, 77);
    let e = s.c.fence_granted(s.now, 1, j.attempt, 77).unwrap_err();
    assert_eq!(e, FenceError::AlreadyGranted { token: 77 });
    assert!(
        !e.must_release(77),
        "the duplicate is the running attempt's token"
    );
    assert!(e.must_release(78), "another token is not used");
    // Refuse after grant: refused, the attempt runs on.
    assert_eq!(
        s.c.fence_refused(s.now, 1, j.attempt, Refusal::Held),
        Err(FenceError::AlreadyGranted { token: 77 })
    );
    assert_eq!(s.c.fence(1), Some(77));
    assert_eq!(s.c.health(1).unwrap().0, Health::Recovering);
    finish(&mut s, 1, true);
    // After it ended: stale.
    assert_eq!(
        s.c.fence_granted(s.now, 1, j.attempt, 77),
        Err(FenceError::StaleAttempt)
    );
    assert_eq!(releases(&take_actions(&mut s)).len(), 1);
}

#[test]
fn an_answer_before_the_request_was_handed_out_is_refused() {
    let mut s = sim(fenced());
    // Crash without pumping actions: the request exists but was not polled.
    s.now = ms(10);
    s.c.handle_report(s.now, Report::crashed(2))
        .expect("report");
    let attempt = s.c.fencing(2).expect("fencing");
    assert_eq!(
        s.c.fence_granted(s.now, 2, attempt, 5),
        Err(FenceError::NotRequested)
    );
    assert_eq!(
        s.c.fence_refused(s.now, 2, attempt, Refusal::Held),
        Err(FenceError::NotRequested)
    );
    s.pump();
    let asks = acquires(&take_actions(&mut s));
    assert_eq!(asks.len(), 1);
    grant(&mut s, asks[0], 5);
}

#[test]
fn a_never_answered_fence_is_abandoned_and_its_late_grant_refused() {
    for zero_timeout in [false, true] {
        let cfg = if zero_timeout {
            // No recovery timeout: the wait is bounded by the cancel timeout.
            fenced()
                .recovery_timeout(Duration::ZERO)
                .cancel_timeout(Duration::from_secs(3))
        } else {
            fenced()
        };
        let wait = if zero_timeout { 3_000 } else { 10_000 };
        let mut s = sim(cfg);
        let j = crash_and_ask(&mut s, 10, 1);
        s.tick(10);
        assert_eq!(s.c.poll_timeout(), Some(ms(10 + wait)));
        take_events(&mut s);
        s.jump(10 + wait);
        let ev = take_events(&mut s);
        assert!(
            ev.iter().any(|e| matches!(e, Event::FenceRefused(r)
                if r.refusal == Refusal::TimedOut && r.attempt == j.attempt)),
            "{ev:?}"
        );
        assert_eq!((s.c.in_progress(), s.c.fencing(1)), (0, None));
        let e = s.c.fence_granted(s.now, 1, j.attempt, 5).unwrap_err();
        assert_eq!(e, FenceError::Abandoned);
        assert!(e.must_release(5));
        assert_eq!(
            s.c.fence_refused(s.now, 1, j.attempt, Refusal::Held),
            Err(FenceError::Abandoned)
        );
        // Asked again after fence_retry, with the same number.
        s.jump(10 + wait + 500);
        let again = acquires(&take_actions(&mut s));
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].number, 1);
        assert!(!s.c.in_recovery_mode());
    }
}

#[test]
fn nothing_asks_or_starts_while_coordination_is_unavailable() {
    let mut s = sim(fenced());
    s.c.set_available(ms(5), false);
    s.pump();
    assert!(!s.c.is_available());
    let ev = take_events(&mut s);
    assert!(
        matches!(ev.as_slice(), [Event::AvailabilityChanged(a)] if !a.available),
        "{ev:?}"
    );
    assert!(s.c.alerts(ms(5)).contains(Alerts::COORDINATION_UNAVAILABLE));
    assert!(s.c.level() >= HealthLevel::Degraded);
    s.report(10, Report::crashed(1));
    s.jump(5_000);
    assert!(take_actions(&mut s).is_empty());
    assert!(s.c.is_queued(1));
    assert_eq!(s.c.in_progress(), 0);
    // Setting the same value changes nothing.
    take_events(&mut s);
    s.c.set_available(ms(5_000), false);
    s.pump();
    assert!(take_events(&mut s).is_empty());

    s.c.set_available(ms(5_001), true);
    s.pump();
    assert!(!s
        .c
        .alerts(ms(5_001))
        .contains(Alerts::COORDINATION_UNAVAILABLE));
    assert!(take_events(&mut s)
        .iter()
        .any(|e| matches!(e, Event::AvailabilityChanged(a) if a.available)));
    assert_eq!(acquires(&take_actions(&mut s)).len(), 1);
}

#[test]
fn unavailable_while_fencing_abandons_the_wait_but_running_attempts_go_on() {
    let mut s = sim(fenced());
    let a = crash_and_ask(&mut s, 10, 1);
    grant(&mut s, a, 11);
    let b = crash_and_ask(&mut s, 20, 2);
    take_actions(&mut s);
    take_events(&mut s);
    s.c.set_available(ms(30), false);
    s.pump();
    let ev = take_events(&mut s);
    assert!(matches!(ev[0], Event::AvailabilityChanged(x) if !x.available));
    assert!(ev.iter().any(|e| matches!(e, Event::FenceRefused(r)
        if r.refusal == Refusal::Unavailable && r.attempt == b.attempt)));
    assert_eq!(s.c.fencing(2), None);
    assert_eq!(
        s.c.fence_granted(s.now, 2, b.attempt, 12),
        Err(FenceError::Abandoned)
    );
    // The granted attempt runs on and releases its fence when it completes.
    finish(&mut s, 1, true);
    assert_eq!(releases(&take_actions(&mut s)).len(), 1);
    assert_eq!(s.c.health(1).unwrap().0, Health::Healthy);
    // Rank 2 waits for availability (and its fence_retry), then asks again.
    s.jump(10_000);
    assert!(take_actions(&mut s).is_empty());
    s.c.set_available(ms(10_000), true);
    s.pump();
    assert_eq!(acquires(&take_actions(&mut s)).len(), 1);
}

type Small = BoxedCoordinator<Arc<Tracker>, 8, MAX_EVENTS_PER_STEP>;

/// Crash rank 0 of a coordinator with the smallest outbox and return its fence request
/// (draining and ticking as the documented loop does; bounded, never spins).
fn small_outbox_fence_request(c: &mut Small) -> FenceJob {
    c.handle_report(ms(1), Report::crashed(0)).unwrap();
    for _ in 0..10 {
        while c.poll_event().is_some() {}
        c.tick(ms(1));
        while let Some(a) = c.poll_action() {
            if let Action::AcquireFence(j) = a {
                while c.poll_event().is_some() {}
                return j;
            }
        }
    }
    panic!("no fence request");
}

#[test]
fn a_grant_racing_unavailability_is_refused_for_release() {
    // With the outbox full, `set_available(false)` defers its work: an attempt may still be
    // fencing when its grant arrives; it is refused (the adapter releases the lock).
    let mut c = Small::new_boxed(
        fenced().build().unwrap(),
        5,
        Arc::new(Tracker::new()),
        ms(0),
    )
    .unwrap();
    let j = small_outbox_fence_request(&mut c);
    // Fill the outbox: a suspicion (and its quorum loss, if any) leaves no room for a step.
    c.handle_report(ms(2), Report::barrier_timeout(1)).unwrap();
    c.handle_report(ms(2), Report::barrier_timeout(1)).unwrap();
    assert!(!c.has_outbox_room());
    c.set_available(ms(2), false);
    assert!(!c.is_available());
    assert_eq!(c.fencing(0), Some(j.attempt));
    assert_eq!(
        c.poll_timeout(),
        Some(ms(2)),
        "deferred work asks for a tick"
    );
    let e = c.fence_granted(ms(2), 0, j.attempt, 3).unwrap_err();
    assert_eq!(e, FenceError::Unavailable);
    assert!(e.must_release(3));
    // Drain and tick as the documented loop does until the deferred work is done.
    let mut ev = Vec::new();
    for _ in 0..10 {
        while let Some(e) = c.poll_event() {
            ev.push(e);
        }
        if !c.has_deferred_work() {
            break;
        }
        c.tick(ms(3));
    }
    let avail = ev
        .iter()
        .position(|e| matches!(e, Event::AvailabilityChanged(a) if !a.available));
    let refused = ev
        .iter()
        .position(|e| matches!(e, Event::FenceRefused(r) if r.refusal == Refusal::Unavailable));
    assert!(avail.is_some() && avail < refused, "{ev:?}");
    assert_eq!(c.fencing(0), None);
}

#[test]
fn outbox_full_grant_is_refused_unchanged_and_can_be_answered_again() {
    let mut c = Small::new_boxed(
        fenced().build().unwrap(),
        5,
        Arc::new(Tracker::new()),
        ms(0),
    )
    .unwrap();
    let j = small_outbox_fence_request(&mut c);
    c.handle_report(ms(2), Report::barrier_timeout(1)).unwrap();
    c.handle_report(ms(2), Report::barrier_timeout(1)).unwrap();
    assert!(!c.has_outbox_room());
    let e = c.fence_granted(ms(2), 0, j.attempt, 3).unwrap_err();
    assert_eq!(e, FenceError::OutboxFull);
    assert!(!e.must_release(3), "answer again");
    assert_eq!(c.fencing(0), Some(j.attempt));
    while c.poll_event().is_some() {}
    c.fence_granted(ms(2), 0, j.attempt, 3).expect("grant");
    assert_eq!(c.fence(0), Some(3));
}

/// Every way a granted attempt ends hands out exactly one release, before the resume
/// hooks of the recovery-mode exit it causes; only completion says `completed`.
#[test]
fn release_exactly_once_on_every_ending() {
    // A failed phase (retry follows).
    let mut s = sim(fenced());
    let j = crash_and_ask(&mut s, 10, 1);
    grant(&mut s, j, 100);
    s.complete(1, false);
    let a = take_actions(&mut s);
    assert_eq!(
        releases(&a),
        [FenceRelease {
            rank: 1,
            attempt: j.attempt,
            token: 100,
            completed: false
        }]
    );
    let rel = a.iter().position(|x| matches!(x, Action::ReleaseFence(_)));
    let resume = a.iter().position(|x| *x == Action::ResumeBalancer);
    assert!(rel < resume, "{a:?}");
    // The retry asks for a new fence with number 2.
    s.jump(1_000);
    let r = acquires(&take_actions(&mut s));
    assert_eq!((r.len(), r[0].number), (1, 2));

    // Escalation after the last retry (max_retries 0).
    let mut s = sim(fenced().max_retries(0));
    let j = crash_and_ask(&mut s, 10, 2);
    grant(&mut s, j, 200);
    s.complete(2, false);
    assert_eq!(releases(&take_actions(&mut s)).len(), 1);
    s.jump(100_000);
    assert!(take_actions(&mut s).is_empty(), "escalated: nothing more");

    // A recovery timeout with the phase handed out: released only once the cancel is
    // acknowledged (its phase may still write with the token).
    let mut s = sim(fenced());
    let j = crash_and_ask(&mut s, 10, 3);
    grant(&mut s, j, 300);
    take_actions(&mut s);
    s.jump(10 + 10_000);
    let a = take_actions(&mut s);
    assert!(a.iter().any(|x| matches!(x, Action::CancelRecovery(_))));
    assert!(
        releases(&a).is_empty(),
        "not while the phase may run: {a:?}"
    );
    assert_eq!(s.c.fence(3), Some(300));
    s.c.cancel_done(s.now, 3, j.attempt).expect("ack");
    s.pump();
    let a = take_actions(&mut s);
    assert_eq!(releases(&a).len(), 1);
    assert!(!releases(&a)[0].completed);
    let rel = a.iter().position(|x| matches!(x, Action::ReleaseFence(_)));
    let resume = a.iter().position(|x| *x == Action::ResumeBalancer);
    assert!(rel < resume, "{a:?}");
    s.jump(60_000);
    assert!(releases(&take_actions(&mut s)).is_empty(), "once");

    // A recovery timeout before the phase was handed out: no cancel, released at once.
    let mut s = sim(fenced());
    let j = crash_and_ask(&mut s, 10, 0);
    s.c.fence_granted(s.now, 0, j.attempt, 400).expect("grant");
    // Do not poll: the first phase is not handed out when the timeout expires.
    s.c.tick(ms(10 + 10_000));
    s.pump();
    let a = take_actions(&mut s);
    assert!(!a.iter().any(|x| matches!(x, Action::CancelRecovery(_))));
    assert_eq!(releases(&a).len(), 1);

    // A pause that times out with an operation in flight (AbortAndRetry).
    let mut s = sim(fenced()
        .pause_timeout(Duration::from_millis(50))
        .pause_timeout_policy(PauseTimeoutPolicy::AbortAndRetry));
    let op = s.tracker.begin_token().expect("op");
    let j = crash_and_ask(&mut s, 10, 4);
    grant(&mut s, j, 500);
    assert!(!take_actions(&mut s)
        .iter()
        .any(|x| matches!(x, Action::RunPhase(_))));
    s.jump(60);
    let a = take_actions(&mut s);
    assert_eq!(releases(&a).len(), 1, "{a:?}");
    assert!(!releases(&a)[0].completed);
    s.tracker.end_token(op).expect("end");
}

#[test]
fn local_confirmation_off_only_crashed_fails() {
    let cfg = Config::builder()
        .local_confirmation(false)
        .reports_before_suspicion(1)
        .reports_before_failure(2)
        .failure_confirmation(Duration::from_millis(100))
        .build()
        .unwrap();
    let mut s = Sim::new(5, cfg);
    s.report(10, Report::barrier_timeout(1));
    assert_eq!(s.c.health(1).unwrap().0, Health::Suspected);
    // Neither the count nor the confirmation time confirms it.
    for t in 0..5 {
        s.report(20 + t, Report::barrier_timeout(1));
    }
    s.jump(100_000);
    assert_eq!(s.c.health(1).unwrap().0, Health::Suspected);
    assert_eq!(
        s.c.poll_timeout(),
        None,
        "no confirmation deadline to tick for"
    );
    // Only a crash report fails it.
    s.report(100_001, Report::crashed(1));
    assert!(matches!(
        s.c.health(1).unwrap().0,
        Health::Failed | Health::Recovering | Health::Healthy
    ));
    assert_eq!(s.c.stats().failures_detected, 1);
}

#[test]
fn local_confirmation_off_heartbeat_silence_only_suspects() {
    use ftforest_core::coord::{HeartbeatConfig, HeartbeatMode};
    let hb = HeartbeatConfig::DEFAULT
        .with_mode(HeartbeatMode::Interval)
        .with_interval(Duration::from_millis(100))
        .with_suspect_timeout(Duration::from_millis(300))
        .with_failure_timeout(Duration::from_millis(600))
        .with_max_local_pause(Duration::from_secs(1));
    let cfg = Config::builder()
        .local_confirmation(false)
        .heartbeat(hb)
        .build()
        .unwrap();
    let mut s = Sim::new(5, cfg);
    // Everyone but rank 3 beats; tick as asked until long past the failure timeout.
    let mut t = 0;
    while t < 5_000 {
        t += 50;
        for r in [0, 1, 2, 4] {
            s.report(t, Report::heartbeat(r));
        }
        s.tick(t);
    }
    assert_eq!(s.c.health(3).unwrap().0, Health::Suspected);
    assert_eq!(s.c.stats().failures_detected, 0);
}

#[test]
fn fence_config_knobs_are_validated() {
    assert_eq!(
        Config::builder()
            .fence_retry(Duration::ZERO)
            .build()
            .unwrap_err()
            .field,
        "fence_retry"
    );
    let c = fenced().build().unwrap();
    assert!(c.fenced() && c.local_confirmation());
    assert_eq!(c.fence_retry(), Duration::from_millis(500));
}

#[test]
fn monitor_refuses_a_fenced_configuration() {
    use ftforest_core::coord::{CancelJob, MonitorError, NewError, PhaseJob, Recovery};
    use ftforest_core::StdClock;
    struct Nop;
    impl Recovery for Nop {
        fn detecting(&self, _: &PhaseJob) -> bool {
            true
        }
        fn redistributing(&self, _: &PhaseJob) -> bool {
            true
        }
        fn rebalancing(&self, _: &PhaseJob) -> bool {
            true
        }
        fn validating(&self, _: &PhaseJob) -> bool {
            true
        }
        fn cancel(&self, _: &CancelJob) {}
    }
    let r = ftforest_core::coord::Monitor::new(
        fenced().build().unwrap(),
        3,
        Arc::new(Tracker::<ftforest_core::SpinWait>::new()),
        Nop,
        StdClock,
    );
    match r {
        Err(MonitorError::Coordinator(NewError::Config(e))) => assert_eq!(e.field, "fenced"),
        other => panic!("{:?}", other.map(|_| ())),
    }
}
