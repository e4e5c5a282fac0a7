//! Behavioural tests of the tracker through its public API: the Java
//! `InFlightOperationTrackerTest` cases (luciferase-fault.md §3.2) without timing
//! assertions, counted pauses, tokens, `begin_wait` and waiting across threads.
//!
//! Ordering between threads comes from channels, joins and observable state; deadlines are
//! either already passed (ManualClock) or far away (StdClock + 60 s), so a lost wake-up
//! fails an assertion (`TimedOut`) instead of passing by luck.
#![cfg(feature = "std")]

use core::time::Duration;
use ftforest_core::{
    BeginError, Clock, EndError, Instant, ManualClock, OpToken, PauseError, ResumeError, StdClock,
    StdWait, Tracker, WaitOutcome, MAX_PAUSERS,
};
use std::sync::mpsc;
use std::thread;

type T = Tracker<StdWait, 4>;

fn far() -> Instant {
    StdClock.now().saturating_add(Duration::from_secs(60))
}

/// A thread that pauses `t`, waits for quiescence (far deadline), sends the outcome and then
/// resumes (the guard drops when the thread ends).
fn spawn_pauser<'s>(s: &'s thread::Scope<'s, '_>, t: &'s T, tx: mpsc::Sender<WaitOutcome>) {
    s.spawn(move || {
        let (_p, out) = t.pause_wait(&StdClock, far()).unwrap();
        tx.send(out).unwrap();
    });
}

fn wait_until(mut cond: impl FnMut() -> bool) {
    while !cond() {
        thread::yield_now();
    }
}

// --- Java InFlightOperationTrackerTest (12) ---------------------------------------------

#[test]
fn java01_basic_operation_tracking() {
    let t = T::default();
    let a = t.begin().unwrap();
    let b = t.begin().unwrap();
    assert_eq!(t.in_flight(), 2);
    drop(a);
    assert_eq!(t.in_flight(), 1);
    b.end();
    assert_eq!(t.in_flight(), 0);
}

#[test]
fn java02_try_begin_when_not_paused() {
    let t = T::default();
    let tok = t.begin_token().unwrap();
    assert_eq!(t.in_flight(), 1);
    assert_eq!(t.end_token(tok), Ok(()));
    assert_eq!(t.in_flight(), 0);
}

#[test]
fn java03_pause_with_no_operations_is_quiescent_at_once() {
    let t = T::default();
    // A deadline that has already passed: quiescence is checked before the clock.
    let clock = ManualClock::new(Instant::from_millis(10));
    let (p, out) = t.pause_wait(&clock, Instant::ZERO).unwrap();
    assert_eq!(out, WaitOutcome::Quiescent);
    assert!(t.is_paused() && t.is_quiescent());
    drop(p);
    assert!(!t.is_paused());
}

#[test]
fn java04_pause_waits_for_operations() {
    let t = T::default();
    let op = t.begin().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        spawn_pauser(s, &t, tx);
        wait_until(|| t.is_paused());
        assert_eq!(t.in_flight(), 1);
        assert!(
            rx.try_recv().is_err(),
            "pauser cannot finish while an op is in flight"
        );
        drop(op);
        assert_eq!(rx.recv().unwrap(), WaitOutcome::Quiescent);
    });
}

#[test]
fn java05_begin_while_pauser_waits_is_rejected() {
    let t = T::default();
    let op = t.begin().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        spawn_pauser(s, &t, tx);
        wait_until(|| t.is_paused());
        let err = t.begin().unwrap_err();
        assert_eq!(err, BeginError::Paused);
        assert_eq!(err.to_string(), "operations are paused");
        drop(op);
        assert_eq!(rx.recv().unwrap(), WaitOutcome::Quiescent);
    });
    assert_eq!(t.in_flight(), 0);
}

#[test]
fn java06_pause_rejects_new_operations_until_resume() {
    let t = T::default();
    let clock = ManualClock::default();
    let (p, out) = t.pause_wait(&clock, Instant::MAX).unwrap();
    assert_eq!(out, WaitOutcome::Quiescent);
    assert_eq!(t.begin().err(), Some(BeginError::Paused));
    assert_eq!(t.in_flight(), 0);
    drop(p);
    let op = t.begin().unwrap();
    assert_eq!(t.in_flight(), 1);
    drop(op);
}

#[test]
fn java07_try_begin_when_paused() {
    let t = T::default();
    let _p = t.pause().unwrap();
    assert_eq!(t.begin_token(), Err(BeginError::Paused));
    assert_eq!(t.in_flight(), 0);
}

#[test]
fn java08_operations_started_before_pause_can_complete() {
    let t = T::default();
    let op = t.begin().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        s.spawn(|| {
            let (_p, out) = t.pause_wait(&StdClock, far()).unwrap();
            tx.send((out, t.in_flight())).unwrap();
        });
        wait_until(|| t.is_paused());
        drop(op); // allowed while paused
        assert_eq!(t.in_flight(), 0);
        assert_eq!(rx.recv().unwrap(), (WaitOutcome::Quiescent, 0));
    });
}

#[test]
fn java09_resume_after_pause() {
    let t = T::default();
    let p = t.pause().unwrap();
    assert_eq!(p.resume(), Ok(()));
    let op = t.begin().unwrap();
    assert_eq!(t.in_flight(), 1);
    drop(op);
    assert_eq!(t.in_flight(), 0);
}

#[test]
fn java10_pause_timeout_stays_paused() {
    let t = T::default();
    let op = t.begin().unwrap();
    let clock = ManualClock::new(Instant::from_millis(1_000));
    let (p, out) = t.pause_wait(&clock, Instant::from_millis(1_000)).unwrap();
    assert_eq!(out, WaitOutcome::TimedOut);
    assert_eq!(t.in_flight(), 1);
    assert!(t.is_paused());
    drop(op);
    assert_eq!(t.in_flight(), 0);
    assert!(t.is_paused(), "a timed-out pause is not resumed implicitly");
    assert_eq!(
        p.wait_quiescent(&clock, Instant::from_millis(1_000)),
        WaitOutcome::Quiescent
    );
}

#[test]
fn java11_token_end_is_idempotent_and_checked() {
    let t = T::default();
    let tok = t.begin().unwrap().into_token();
    assert_eq!(t.end_token(tok), Ok(()));
    assert_eq!(t.end_token(tok), Err(EndError::NotInFlight));
    assert_eq!(t.in_flight(), 0, "not -1");
    // Guards end exactly once by construction (not Clone; `end` consumes).
}

#[test]
fn java12_multiple_operations_with_pause() {
    let t = T::default();
    let ops = [t.begin().unwrap(), t.begin().unwrap(), t.begin().unwrap()];
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        spawn_pauser(s, &t, tx);
        wait_until(|| t.is_paused());
        let mut left = 3;
        for op in ops {
            assert!(
                rx.try_recv().is_err(),
                "pauser finished with {left} in flight"
            );
            drop(op);
            left -= 1;
            assert_eq!(t.in_flight(), left);
        }
        assert_eq!(rx.recv().unwrap(), WaitOutcome::Quiescent);
    });
}

// --- counted pauses and tokens ----------------------------------------------------------

#[test]
fn two_pausers_reopen_only_after_both_resume() {
    let t = T::default();
    let recovery = t.pause().unwrap();
    let rebalancer = t.pause_token().unwrap();
    assert_eq!(t.pause_depth(), 2);
    drop(recovery);
    assert_eq!(t.pause_depth(), 1);
    assert_eq!(t.begin().err(), Some(BeginError::Paused));
    assert_eq!(t.resume_token(rebalancer), Ok(()));
    assert_eq!(t.resume_token(rebalancer), Err(ResumeError::NotPaused));
    assert_eq!(t.pause_depth(), 0);
    assert!(t.begin().is_ok());
}

#[test]
fn double_resume_does_not_reopen_another_pause() {
    let t = T::default();
    let a = t.pause_token().unwrap();
    let b = t.pause_token().unwrap();
    assert_eq!(t.resume_token(a), Ok(()));
    assert_eq!(t.resume_token(a), Err(ResumeError::NotPaused));
    assert!(t.is_paused(), "b still holds the gate");
    assert_eq!(t.begin().err(), Some(BeginError::Paused));
    assert_eq!(t.resume_token(b), Ok(()));
    assert!(!t.is_paused());
}

#[test]
fn foreign_tokens_are_refused() {
    let t1 = T::default();
    let t2: Tracker = Tracker::new();
    assert_ne!(t1.id(), t2.id());
    assert_ne!(t1.id(), 0);
    let p = t2.pause_token().unwrap();
    assert_eq!(t1.resume_token(p), Err(ResumeError::ForeignToken));
    assert!(t2.is_paused());
    assert_eq!(t2.resume_token(p), Ok(()));
    let op = t2.begin_token().unwrap();
    let _mine = t1.begin().unwrap();
    assert_eq!(t1.end_token(op), Err(EndError::ForeignToken));
    assert_eq!(t1.in_flight(), 1);
    assert_eq!(t2.end_token(op), Ok(()));
    // A token naming a stripe this tracker does not have is not ours either.
    let forged = OpToken::from_parts(t1.id(), 4);
    assert_eq!(t1.end_token(forged), Err(EndError::ForeignToken));
}

#[test]
fn too_many_pausers_is_an_error() {
    let t = T::default();
    let held: Vec<_> = (0..MAX_PAUSERS).map(|_| t.pause().unwrap()).collect();
    assert_eq!(t.pause().err(), Some(PauseError::TooManyPausers));
    assert_eq!(t.pause_depth() as usize, MAX_PAUSERS);
    drop(held);
    assert!(!t.is_paused());
    assert!(t.pause().is_ok());
}

#[test]
fn wait_quiescent_without_pause_reports_not_paused() {
    let t = T::default();
    let _op = t.begin().unwrap();
    assert_eq!(
        t.wait_quiescent(&StdClock, Instant::MAX),
        WaitOutcome::NotPaused
    );
}

#[test]
fn resume_releases_a_quiescence_waiter_that_holds_no_pause() {
    let t = T::default();
    let op = t.begin().unwrap();
    let p = t.pause().unwrap();
    thread::scope(|s| {
        let w = s.spawn(|| t.wait_quiescent(&StdClock, far()));
        drop(p);
        let out = w.join().unwrap();
        // Either it saw the resume (NotPaused); it can never see quiescence: op in flight.
        assert_eq!(out, WaitOutcome::NotPaused);
    });
    drop(op);
}

// --- begin_wait and cross-thread use -----------------------------------------------------

#[test]
fn begin_wait_is_woken_by_resume() {
    let t = T::default();
    let p = t.pause().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        s.spawn(|| {
            tx.send(()).unwrap();
            let op = t.begin_wait(&StdClock, far());
            tx.send(()).unwrap();
            assert!(op.is_ok(), "{op:?}");
        });
        rx.recv().unwrap();
        assert!(rx.try_recv().is_err(), "admitted while paused");
        drop(p);
        rx.recv().unwrap();
    });
    assert_eq!(t.in_flight(), 0);
}

#[test]
fn begin_wait_when_open_does_not_wait() {
    let t = T::default();
    let op = t
        .begin_wait(&ManualClock::default(), Instant::ZERO)
        .unwrap();
    assert_eq!(t.in_flight(), 1);
    drop(op);
}

#[test]
fn guard_and_token_end_on_another_thread() {
    let t = T::default();
    let g = t.begin_on(3).unwrap();
    assert_eq!(g.stripe(), 3);
    let tok = t.begin_on(6).unwrap().into_token();
    assert_eq!(tok.stripe(), 2, "hint is reduced modulo S");
    let p = t.pause().unwrap();
    thread::scope(|s| {
        s.spawn(move || drop(g));
        s.spawn(|| assert_eq!(t.end_token(tok), Ok(())));
    });
    assert_eq!(p.wait_quiescent(&StdClock, far()), WaitOutcome::Quiescent);
}

#[test]
fn many_threads_begin_end_while_pausing() {
    let t = T::default();
    let threads = if cfg!(miri) { 2 } else { 4 };
    let rounds = if cfg!(miri) { 20 } else { 2_000 };
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..rounds {
                    if let Ok(op) = t.begin() {
                        drop(op);
                    }
                }
            });
        }
        for _ in 0..rounds / 10 {
            let (p, out) = t.pause_wait(&StdClock, far()).unwrap();
            assert_eq!(out, WaitOutcome::Quiescent);
            // (in_flight() may briefly count a rejected begin's transient increment.)
            assert_eq!(t.begin().err(), Some(BeginError::Paused));
            drop(p);
        }
    });
    assert_eq!(t.in_flight(), 0);
}

// --- construction -------------------------------------------------------------------------

static SPIN: Tracker = Tracker::new();
static PARKED: Tracker<StdWait, 3> = Tracker::with_waiter(StdWait::new());

#[test]
fn trackers_can_be_statics_with_any_stripe_count() {
    let a = SPIN.begin().unwrap();
    let b = PARKED.begin_on(7).unwrap();
    assert_eq!(b.stripe(), 1);
    assert_ne!(SPIN.id(), PARKED.id());
    assert_eq!(SPIN.id(), SPIN.id(), "id is stable");
    assert_eq!(Tracker::<StdWait, 3>::STRIPES, 3);
    drop((a, b));
    let one: Tracker<StdWait, 1> = Tracker::default();
    assert_eq!(one.begin_on(usize::MAX).unwrap().stripe(), 0);
}
