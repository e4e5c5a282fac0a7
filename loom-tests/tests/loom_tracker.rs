#![cfg(ftforest_loom)]
//! Loom models of the tracker protocol (`core/src/tracker/`), on `Tracker<LoomWait, 2>` so
//! that two stripes are exercised and a lost wake-up shows up as a loom deadlock.
//!
//! Each operation writes a `loom::cell::UnsafeCell` inside its critical section and the
//! pauser reads it after `Quiescent`: if quiescence were reported while the operation is in
//! flight, or without a happens-before edge from its end, loom reports a data race.
//!
//! Run: `RUSTFLAGS="--cfg ftforest_loom" LOOM_MAX_PREEMPTIONS=3 CARGO_TARGET_DIR=target/loom
//! cargo test --release -p ftforest-loom-tests --test loom_tracker`

use ftforest_core::{
    BeginError, Clock, EagerReopen, EndError, Instant, LoomWait, OpGuard, OpToken, PauseGuard,
    Tracker, WaitOutcome, WaitStrategy,
};
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;

type T = Tracker<LoomWait, 2>;

/// Loom has no time: a clock that never moves, so `Instant::MAX` never passes and
/// `Instant::ZERO` has always passed.
struct Frozen;

impl Clock for Frozen {
    fn now(&self) -> Instant {
        Instant::ZERO
    }
}

/// `loom::model` that also reports how many interleavings it explored (on stderr, visible
/// with `--nocapture`).
fn model(name: &str, f: impl Fn() + Sync + Send + 'static) {
    use core::sync::atomic::{AtomicUsize, Ordering};
    // Outside the model (a std atomic): counts executions, is not part of what loom checks.
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&runs);
    loom::model(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        f();
    });
    std::eprintln!("{name}: {} interleavings", runs.load(Ordering::Relaxed));
}

fn tracker() -> Arc<T> {
    Arc::new(Tracker::with_waiter(LoomWait::new()))
}

/// Work done inside an operation: a plain (non-atomic) write that loom race-checks.
struct Work(UnsafeCell<u32>);

impl Work {
    fn new() -> Arc<Self> {
        Arc::new(Work(UnsafeCell::new(0)))
    }

    /// Called only while an operation is in flight.
    fn write<W: WaitStrategy>(&self, _op: &OpGuard<'_, W, 2>) {
        // SAFETY: loom checks that no other access races with this one; the models only
        // read the cell after quiescence, which must happen-after every operation's end.
        self.0.with_mut(|p| unsafe { *p += 1 });
    }

    /// Called only after `Quiescent` (or after joining every writer).
    fn read(&self) -> u32 {
        // SAFETY: as above; a race here is exactly the protocol violation we look for.
        self.0.with(|p| unsafe { *p })
    }
}

/// begin vs pause vs end: two operations on two stripes race one pause. After `Quiescent`
/// nothing is in flight (the work of admitted operations is visible, race-free) and no
/// begin succeeds until resume.
#[test]
fn begin_vs_pause_vs_end() {
    model("begin_vs_pause_vs_end", || {
        let t = tracker();
        let works = [Work::new(), Work::new()];
        let ops: Vec<_> = (0..2)
            .map(|stripe| {
                let (t, work) = (Arc::clone(&t), Arc::clone(&works[stripe]));
                thread::spawn(move || match t.begin_on(stripe) {
                    Ok(op) => {
                        work.write(&op);
                        drop(op);
                        true
                    }
                    Err(e) => {
                        assert_eq!(e, BeginError::Paused);
                        false
                    }
                })
            })
            .collect();

        let (pause, out) = t.pause_wait(&Frozen, Instant::MAX).unwrap();
        assert_eq!(out, WaitOutcome::Quiescent);
        let done: u32 = works.iter().map(|w| w.read()).sum();
        assert_eq!(t.begin_on(0).err(), Some(BeginError::Paused));
        assert_eq!(t.begin_on(1).err(), Some(BeginError::Paused));
        let admitted = ops.into_iter().map(|h| h.join().unwrap()).filter(|&a| a);
        assert_eq!(
            admitted.count() as u32,
            done,
            "an op was admitted after the pause"
        );
        assert_eq!(t.in_flight(), 0);
        drop(pause);
        assert!(t.begin_on(1).is_ok());
    });
}

/// B4: a begin rejected by the pause increments then rolls back. If its rollback empties
/// the stripe while the pauser waits, it must wake the pauser (otherwise: deadlock). The
/// smallest model: one late begin against one pauser.
#[test]
fn rejected_begin_rollback_races_the_pauser() {
    model("rejected_begin_rollback_races_the_pauser", || {
        let t = tracker();
        let work = Work::new();
        let late = {
            let (t, work) = (Arc::clone(&t), Arc::clone(&work));
            thread::spawn(move || {
                if let Ok(op) = t.begin_on(0) {
                    work.write(&op);
                }
            })
        };
        let (pause, out) = t.pause_wait(&Frozen, Instant::MAX).unwrap();
        assert_eq!(out, WaitOutcome::Quiescent);
        let _ = work.read();
        assert_eq!(t.begin_on(0).err(), Some(BeginError::Paused));
        drop(pause);
        late.join().unwrap();
        assert_eq!(t.in_flight(), 0);
    });
}

/// Two independent pausers with one operation in flight: each sees quiescence, each finds
/// the gate closed while it holds its pause (even if the other already resumed), and the
/// gate reopens after both resumes.
#[test]
fn two_pausers_and_their_resumes() {
    model("two_pausers_and_their_resumes", || {
        let t = tracker();
        let work = Work::new();
        let op = t.begin_on(0).unwrap();
        let pausers: Vec<_> = (0..2)
            .map(|stripe| {
                let (t, work) = (Arc::clone(&t), Arc::clone(&work));
                thread::spawn(move || {
                    let (pause, out) = t.pause_wait(&Frozen, Instant::MAX).unwrap();
                    assert_eq!(out, WaitOutcome::Quiescent);
                    assert_eq!(work.read(), 1);
                    assert_eq!(t.begin_on(stripe).err(), Some(BeginError::Paused));
                    drop(pause);
                })
            })
            .collect();
        work.write(&op);
        drop(op);
        for p in pausers {
            p.join().unwrap();
        }
        assert_eq!(t.pause_depth(), 0);
        assert!(t.begin_on(0).is_ok());
    });
}

/// A pauser waits for an operation while another pause holder resumes: the resume must
/// not reopen the gate under the waiter, and the waiter must still be woken by the end.
/// A quiescence waiter that holds no pause is released by the last resume (NotPaused).
#[test]
fn resume_races_a_waiting_pauser() {
    model("resume_races_a_waiting_pauser", || {
        let t = tracker();
        let work = Work::new();
        let op = t.begin_on(1).unwrap();
        let other = t.pause_token().unwrap();
        let pauser = {
            let (t, work) = (Arc::clone(&t), Arc::clone(&work));
            thread::spawn(move || {
                let (pause, out) = t.pause_wait(&Frozen, Instant::MAX).unwrap();
                assert_eq!(out, WaitOutcome::Quiescent);
                assert_eq!(work.read(), 1);
                assert_eq!(t.begin_on(0).err(), Some(BeginError::Paused));
                drop(pause);
            })
        };
        let resumer = {
            let t = Arc::clone(&t);
            thread::spawn(move || t.resume_token(other).unwrap())
        };
        work.write(&op);
        drop(op);
        pauser.join().unwrap();
        resumer.join().unwrap();
        assert!(!t.is_paused());
    });
}

/// A thread blocked in `begin_wait` is woken by the last resume (no lost wake-up).
#[test]
fn resume_wakes_begin_wait() {
    model("resume_wakes_begin_wait", || {
        let t = tracker();
        let pause = t.pause().unwrap();
        let waiter = {
            let t = Arc::clone(&t);
            thread::spawn(move || {
                let op = t.begin_wait(&Frozen, Instant::MAX).unwrap();
                assert!(!t.is_paused() || t.pause_depth() == 0);
                drop(op);
            })
        };
        drop(pause);
        waiter.join().unwrap();
        assert_eq!(t.in_flight(), 0);
    });
}

/// An operation begun on one thread, handed over as a token and ended on another: the
/// end (checked CAS) wakes the pauser and publishes the work; a second end is refused.
#[test]
fn token_end_from_another_thread() {
    model("token_end_from_another_thread", || {
        let t = tracker();
        let work = Work::new();
        let op = t.begin_on(1).unwrap();
        work.write(&op);
        let token = op.into_token();
        let ender = {
            let (t, work) = (Arc::clone(&t), Arc::clone(&work));
            thread::spawn(move || {
                // The receiving thread continues the operation's work, then ends it.
                // SAFETY: the operation is still in flight; see `Work`.
                work.0.with_mut(|p| unsafe { *p += 1 });
                t.end_token(token).unwrap();
                assert_eq!(t.end_token(token), Err(EndError::NotInFlight));
            })
        };
        let (pause, out) = t.pause_wait(&Frozen, Instant::MAX).unwrap();
        assert_eq!(out, WaitOutcome::Quiescent);
        assert_eq!(work.read(), 2);
        drop(pause);
        ender.join().unwrap();
    });
}

/// A pause with an already-passed deadline reports `TimedOut` while the operation is in
/// flight and stays paused; the later wait sees quiescence.
#[test]
fn timed_out_pause_stays_paused() {
    model("timed_out_pause_stays_paused", || {
        let t = tracker();
        let token = t.begin_on(0).unwrap().into_token();
        let pause = t.pause().unwrap();
        let ender = {
            let t = Arc::clone(&t);
            thread::spawn(move || t.end_token(token).unwrap())
        };
        match pause.wait_quiescent(&Frozen, Instant::ZERO) {
            WaitOutcome::TimedOut | WaitOutcome::Quiescent => {}
            other => panic!("unexpected {other:?}"),
        }
        assert!(t.is_paused());
        assert_eq!(
            pause.wait_quiescent(&Frozen, Instant::MAX),
            WaitOutcome::Quiescent
        );
        ender.join().unwrap();
    });
}

/// A thread that begins an operation on stripe 0 (guard API), signals `begun`, waits for
/// `go` and drops the guard (issue 7 item 4 models). Guards borrow the tracker, so the
/// guard lives on the thread that owns its `Arc`.
fn guard_holder(t: &Arc<T>) -> (thread::JoinHandle<()>, Arc<AtomicBool>, Arc<AtomicBool>) {
    let begun = Arc::new(AtomicBool::new(false));
    let go = Arc::new(AtomicBool::new(false));
    let handle = {
        let (t, begun, go) = (Arc::clone(t), Arc::clone(&begun), Arc::clone(&go));
        thread::spawn(move || {
            let op = t.begin_on(0).unwrap();
            begun.store(true, Ordering::Release);
            while !go.load(Ordering::Acquire) {
                thread::yield_now();
            }
            drop(op);
        })
    };
    (handle, begun, go)
}

/// The end of the item-4 models: stripe 0 still refuses while `pause` is held, admits again
/// once it is resumed, and nothing is left in flight (no flag or count was corrupted).
fn paused_then_open_after(t: &T, pause: PauseGuard<'_, LoomWait, 2>) {
    assert_eq!(t.begin_on(0).err(), Some(BeginError::Paused));
    drop(pause);
    assert!(t.begin_on(0).is_ok(), "resumed: the gate is open");
    assert_eq!(t.in_flight(), 0);
}

fn wait_for(flag: &AtomicBool) {
    while !flag.load(Ordering::Acquire) {
        thread::yield_now();
    }
}

/// Issue 7 item 4. A forged token (`OpToken::from_parts`) ends the count of a live guard,
/// so the guard's own end finds its stripe empty. It must refuse that decrement, never
/// borrow into `PAUSED`: before the fix the guard's `fetch_sub` wrapped to `PAUSED|GUARD|…`
/// and a separate `fetch_add` undid it, so a `pause` whose `fetch_or` fell between the two
/// was erased by the undo and a `begin` got in while paused.
#[test]
fn stolen_guard_end_races_pause() {
    model("stolen_guard_end_races_pause", || {
        let t = tracker();
        let (holder, begun, go) = guard_holder(&t);
        wait_for(&begun);
        t.end_token(OpToken::from_parts(t.id(), 0)).unwrap();
        go.store(true, Ordering::Release);
        let pause = t.pause().unwrap();
        assert_eq!(
            t.begin_on(0).err(),
            Some(BeginError::Paused),
            "a begin got in while paused"
        );
        holder.join().unwrap();
        paused_then_open_after(&t, pause);
    });
}

/// Issue 7 item 4, the resume side: the same stolen guard end racing the last resume.
/// Before the fix the undo `fetch_add` carried into `PAUSED` after the resume cleared it,
/// leaving the stripe refusing every begin with nothing paused.
#[test]
fn stolen_guard_end_races_resume() {
    model("stolen_guard_end_races_resume", || {
        let t = tracker();
        let (holder, begun, go) = guard_holder(&t);
        wait_for(&begun);
        let pause = t.pause_token().unwrap();
        t.end_token(OpToken::from_parts(t.id(), 0)).unwrap();
        go.store(true, Ordering::Release);
        t.resume_token(pause).unwrap();
        holder.join().unwrap();
        assert!(!t.is_paused());
        assert!(
            t.begin_on(0).is_ok(),
            "the stripe refuses begins after the last resume"
        );
        assert_eq!(t.in_flight(), 0);
    });
}

/// Issue 7 item 4, the rollback side: a forged end takes the transient increment of a begin
/// rejected by the pause; the rollback must not borrow into `PAUSED` either (before the fix
/// its `fetch_sub` left `GUARD|…` with `PAUSED` clear: every later begin was refused with
/// `Overflow`, resumed or not).
#[test]
fn forged_end_races_rejected_begin() {
    model("forged_end_races_rejected_begin", || {
        let t = tracker();
        let pause = t.pause().unwrap();
        let late = {
            let t = Arc::clone(&t);
            thread::spawn(move || assert_eq!(t.begin_on(0).err(), Some(BeginError::Paused)))
        };
        let _ = t.end_token(OpToken::from_parts(t.id(), 0));
        late.join().unwrap();
        paused_then_open_after(&t, pause);
    });
}

/// Issue 7 item 15: the last resume leaves the stripes flagged (an idle pause + resume
/// writes no stripe) and the first begin on a stripe reopens it. A reopening begin racing
/// the next pause is either admitted and waited for, or rejected; a begin after the pause
/// returned is rejected on every stripe, flagged by that pause or left flagged.
#[test]
fn reopen_races_the_next_pause() {
    model("reopen_races_the_next_pause", || {
        let t = tracker();
        drop(t.pause().unwrap());
        let work = Work::new();
        let late = {
            let (t, work) = (Arc::clone(&t), Arc::clone(&work));
            thread::spawn(move || {
                if let Ok(op) = t.begin_on(0) {
                    work.write(&op);
                }
            })
        };
        let (pause, out) = t.pause_wait(&Frozen, Instant::MAX).unwrap();
        assert_eq!(out, WaitOutcome::Quiescent);
        let _ = work.read();
        assert_eq!(t.begin_on(0).err(), Some(BeginError::Paused));
        assert_eq!(t.begin_on(1).err(), Some(BeginError::Paused));
        drop(pause);
        late.join().unwrap();
        assert_eq!(t.in_flight(), 0);
        assert!(t.begin_on(0).is_ok(), "resumed: reopened again");
    });
}

/// Two begins reopen the same stale stripe while a pause closes the gate: counts stay
/// exact, and the pause still sees both ends (or both rejections).
#[test]
fn two_reopeners_and_a_pause() {
    model("two_reopeners_and_a_pause", || {
        let t = tracker();
        drop(t.pause().unwrap());
        let work = Work::new();
        let begins: Vec<_> = (0..2)
            .map(|_| {
                let (t, work) = (Arc::clone(&t), Arc::clone(&work));
                thread::spawn(move || {
                    if let Ok(op) = t.begin_on(0) {
                        work.0.with(|_| ());
                        drop(op);
                    }
                })
            })
            .collect();
        let (pause, out) = t.pause_wait(&Frozen, Instant::MAX).unwrap();
        assert_eq!(out, WaitOutcome::Quiescent);
        assert_eq!(t.begin_on(0).err(), Some(BeginError::Paused));
        drop(pause);
        for b in begins {
            b.join().unwrap();
        }
        assert_eq!(t.in_flight(), 0);
    });
}

/// Eager reopen: a begin races the last resume (which clears the stripes itself) and the
/// next pause. The begin is admitted or refused, never reopens; the next pause still waits
/// for it (quiescence covers its write) and refuses later begins; the gate opens again.
#[test]
fn eager_resume_races_begin_and_the_next_pause() {
    model("eager_resume_races_begin_and_the_next_pause", || {
        let t: Arc<Tracker<EagerReopen<LoomWait>, 2>> =
            Arc::new(Tracker::with_waiter(EagerReopen(LoomWait::new())));
        let first = t.pause().unwrap();
        let work = Work::new();
        let late = {
            let (t, work) = (Arc::clone(&t), Arc::clone(&work));
            thread::spawn(move || match t.begin_on(0) {
                Ok(op) => work.write(&op),
                Err(e) => assert_eq!(e, BeginError::Paused),
            })
        };
        drop(first);
        let (pause, out) = t.pause_wait(&Frozen, Instant::MAX).unwrap();
        assert_eq!(out, WaitOutcome::Quiescent);
        let _ = work.read();
        assert_eq!(t.begin_on(0).err(), Some(BeginError::Paused));
        assert_eq!(t.begin_on(1).err(), Some(BeginError::Paused));
        drop(pause);
        late.join().unwrap();
        assert_eq!(t.in_flight(), 0);
        assert!(t.begin_on(0).is_ok(), "resumed: open again");
    });
}
