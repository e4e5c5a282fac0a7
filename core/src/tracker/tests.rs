//! Unit tests of the tracker internals: the stripe word layout, the overflow guard, the
//! rollback wake (B4), the refusal of a guard end whose count was stolen, and the guessed
//! first CAS of `end_token` and of a guard's end.

use super::*;
use crate::time::ManualClock;

fn raw<W: WaitStrategy, const S: usize>(t: &Tracker<W, S>, i: usize) -> u32 {
    t.stripe(i).map_or(u32::MAX, |s| s.load(Ordering::Relaxed))
}

#[test]
fn stripe_word_layout() {
    let t: Tracker<SpinWait, 2> = Tracker::new();
    let a = t.begin_on(1).unwrap();
    assert_eq!((raw(&t, 0), raw(&t, 1)), (0, 1));
    let p = t.pause().unwrap();
    assert_eq!((raw(&t, 0), raw(&t, 1)), (PAUSED, PAUSED | 1));
    assert_eq!(t.begin_on(0).err(), Some(BeginError::Paused));
    assert_eq!(raw(&t, 0), PAUSED, "rejected begin rolled back");
    drop(a);
    assert_eq!(raw(&t, 1), PAUSED);
    drop(p);
    // The resume leaves the flags (no stripe write); the first begin on a stripe reopens it.
    assert_eq!((raw(&t, 0), raw(&t, 1)), (PAUSED, PAUSED));
    assert!(!t.is_paused() && t.in_flight() == 0);
    let b = t.begin_on(1).unwrap();
    assert_eq!((raw(&t, 0), raw(&t, 1)), (PAUSED, 1), "stripe 1 reopened");
    drop(b);
    assert_eq!((raw(&t, 0), raw(&t, 1)), (PAUSED, 0));
    // The next pause writes only the reopened stripe; both read PAUSED.
    let p = t.pause().unwrap();
    assert_eq!((raw(&t, 0), raw(&t, 1)), (PAUSED, PAUSED));
    assert_eq!(
        t.begin_on(0).err(),
        Some(BeginError::Paused),
        "a flag held is no stale flag"
    );
    drop(p);
}

#[test]
fn overflow_guard_refuses_the_last_increment() {
    let t: Tracker<SpinWait, 1> = Tracker::new();
    let s = t.stripe(0).unwrap();
    s.store(GUARD - 2, Ordering::Relaxed);
    let last = t.begin().unwrap();
    assert_eq!(raw(&t, 0), GUARD - 1);
    assert_eq!(t.begin().err(), Some(BeginError::Overflow));
    assert_eq!(raw(&t, 0), GUARD - 1, "rolled back, guard bit clear");
    // Paused takes precedence in the report; the flag bits stay intact.
    let p = t.pause().unwrap();
    assert_eq!(t.begin().err(), Some(BeginError::Paused));
    assert_eq!(raw(&t, 0), PAUSED | (GUARD - 1));
    drop(p);
    // Resumed: the flag is stale; a begin reopens the stripe but the stripe is still full.
    assert_eq!(t.begin().err(), Some(BeginError::Overflow));
    assert_eq!(raw(&t, 0), GUARD - 1, "reopened, rolled back");
    drop(last);
    assert_eq!(raw(&t, 0), GUARD - 2);
    s.store(0, Ordering::Relaxed);
}

#[test]
fn guard_end_after_stolen_count_is_refused() {
    // Misuse: a token ended twice while a guard of the same stripe is in flight. The
    // second end takes the guard's count; the guard's drop must not underflow into flags
    // (issue 7 item 4: it finds the count 0 and writes nothing; the races of the old
    // underflow-and-undo with pause/resume are in loom-tests/tests/loom_tracker.rs).
    let t: Tracker<SpinWait, 1> = Tracker::new();
    let tok = t.begin_token().unwrap();
    let g = t.begin().unwrap();
    assert_eq!(t.end_token(tok), Ok(()));
    assert_eq!(
        t.end_token(tok),
        Ok(()),
        "a token names a stripe, not an operation"
    );
    let p = t.pause().unwrap();
    assert_eq!(raw(&t, 0), PAUSED);
    drop(g);
    assert_eq!(
        raw(&t, 0),
        PAUSED,
        "nothing to end: word untouched, PAUSED kept"
    );
    assert_eq!(t.begin().err(), Some(BeginError::Paused));
    drop(p);
    assert_eq!(
        raw(&t, 0),
        PAUSED,
        "resumed: the flag stays until a begin reopens"
    );
    let g = t.begin().unwrap();
    assert_eq!(raw(&t, 0), 1);
    assert_eq!(t.end_token(OpToken::from_parts(t.id(), 0)), Ok(()));
    drop(g);
    assert_eq!(raw(&t, 0), 0, "refused without pause too");
}

#[test]
fn guard_ends_in_any_order_from_any_guess() {
    // The guard's first CAS guesses the value its begin wrote; a miss (other operations
    // began or ended since) takes the checked loop. Counts stay exact in every order.
    let t: Tracker<SpinWait, 1> = Tracker::new();
    let a = t.begin().unwrap();
    let b = t.begin().unwrap();
    let c = t.begin().unwrap();
    assert_eq!(raw(&t, 0), 3);
    drop(a); // guess 1, actual 3
    assert_eq!(raw(&t, 0), 2);
    let p = t.pause().unwrap();
    drop(c); // guess 3, actual PAUSED|2
    assert_eq!(raw(&t, 0), PAUSED | 1);
    drop(b); // guess 2, actual PAUSED|1: empties the paused stripe (wake)
    assert_eq!(raw(&t, 0), PAUSED);
    assert!(t.is_quiescent());
    drop(p);
    assert_eq!(raw(&t, 0), PAUSED, "left for the next begin to reopen");
}

#[test]
fn end_token_never_underflows() {
    let t: Tracker<SpinWait, 2> = Tracker::new();
    let p = t.pause().unwrap();
    let tok = OpToken::from_parts(t.id(), 1);
    assert_eq!(t.end_token(tok), Err(EndError::NotInFlight));
    assert_eq!(raw(&t, 1), PAUSED);
    drop(p);
    assert_eq!(t.end_token(tok), Err(EndError::NotInFlight));
    assert_eq!(raw(&t, 1), PAUSED, "a stale flag, untouched");
    drop(t.begin_on(1).unwrap());
    assert_eq!(t.end_token(tok), Err(EndError::NotInFlight));
    assert_eq!(raw(&t, 1), 0);
}

#[test]
fn end_token_when_the_first_guess_misses() {
    // `end_token` first tries a CAS from `1` (one in flight, gate open). Every other word
    // must still lose exactly one count with its flags kept, and the end that empties a
    // paused stripe must bump the wait word (the pauser's wake-up); no other end may.
    let t: Tracker<SpinWait, 1> = Tracker::new();
    let toks = [(); 3].map(|()| t.begin_token().unwrap());
    assert_eq!(raw(&t, 0), 3);
    assert_eq!(t.end_token(toks[0]), Ok(()));
    assert_eq!(raw(&t, 0), 2);
    let p = t.pause().unwrap();
    let seen = t.word.load();
    assert_eq!(t.end_token(toks[1]), Ok(()));
    assert_eq!(raw(&t, 0), PAUSED | 1);
    assert_eq!(t.word.load(), seen, "not empty yet: no wake");
    assert!(!t.is_quiescent());
    assert_eq!(t.end_token(toks[2]), Ok(()));
    assert_eq!(raw(&t, 0), PAUSED);
    assert_ne!(t.word.load(), seen, "emptied a paused stripe: woken");
    assert!(t.is_quiescent());
    assert_eq!(t.end_token(toks[2]), Err(EndError::NotInFlight));
    assert_eq!(raw(&t, 0), PAUSED);
    drop(p);
    // The guess itself (count 1, open) succeeds without a wake.
    let tok = t.begin_token().unwrap();
    let seen = t.word.load();
    assert_eq!(t.end_token(tok), Ok(()));
    assert_eq!((raw(&t, 0), t.word.load()), (0, seen));
}

/// A wait strategy that records instead of blocking: `wait` returns at once (so a missing
/// wake cannot hide behind a timeout), `wake_all` counts its calls and notes the word value it
/// saw (to check that the word was bumped first).
#[derive(Debug, Default)]
struct RecordingWait {
    waits: core::cell::Cell<u32>,
    wakes: core::cell::Cell<u32>,
    word_at_wake: core::cell::Cell<u32>,
}

impl WaitStrategy for RecordingWait {
    fn wait(&self, _word: &WaitWord, _expected: u32, _deadline: Instant) {
        self.waits.set(self.waits.get() + 1);
    }

    fn wake_all(&self, word: &WaitWord) {
        self.wakes.set(self.wakes.get() + 1);
        self.word_at_wake.set(word.load());
    }
}

#[test]
fn rejected_begin_rollback_wakes_a_waiting_pauser() {
    // B4. Simulate a begin that incremented a paused stripe (the `fetch_add` half) while a
    // pauser waits for the stripe to empty, then perform the rollback half: the rollback that
    // leaves exactly `PAUSED` must bump the word and call `wake_all` (a pauser blocked on the
    // word would otherwise sleep until its deadline); one that leaves operations in flight
    // must not.
    let t: Tracker<RecordingWait, 1> = Tracker::with_waiter(RecordingWait::default());
    let op = t.begin().unwrap();
    let p = t.pause().unwrap();
    let s = t.stripe(0).unwrap();

    // Rollback over an operation still in flight: no wake.
    let prev = s.fetch_add(1, Ordering::Acquire);
    assert_eq!(prev, PAUSED | 1);
    let seen = t.word.load();
    assert_eq!(t.reject(s, prev, BeginError::Paused), BeginError::Paused);
    assert_eq!(raw(&t, 0), PAUSED | 1);
    assert_eq!((t.waiter.wakes.get(), t.word.load()), (0, seen));
    // A pauser announces itself on the word (`RecordingWait::wait` returns at once).
    t.word.wait(&t.waiter, t.word.load(), Instant::MAX);
    drop(op); // the end that empties the stripe wakes (one call)
    assert_eq!(t.waiter.wakes.get(), 1);

    // The pauser read the word and found the stripe busy (the transient increment).
    let prev = s.fetch_add(1, Ordering::Acquire);
    assert_eq!(prev, PAUSED);
    let seen = t.word.load();
    assert!(!t.is_quiescent());
    t.word.wait(&t.waiter, seen, Instant::MAX);
    // The rollback empties the stripe: bump, then wake.
    assert_eq!(t.reject(s, prev, BeginError::Paused), BeginError::Paused);
    assert_eq!(raw(&t, 0), PAUSED);
    assert_eq!(t.waiter.wakes.get(), 2, "the rollback called wake_all");
    assert_ne!(
        t.word.load(),
        seen,
        "a futex wait on `seen` returns at once"
    );
    assert_eq!(
        t.waiter.word_at_wake.get(),
        t.word.load(),
        "bumped before wake_all"
    );
    // The waiting pauser now sees quiescence without waiting (never times out: MAX).
    let clock = ManualClock::new(Instant::ZERO);
    assert_eq!(
        p.wait_quiescent(&clock, Instant::MAX),
        WaitOutcome::Quiescent
    );
    assert_eq!(t.waiter.waits.get(), 2, "only the two announcements above");
    // Issue 7 item 15: the resume bumps the word but, with nobody announced, skips wake_all.
    let seen = t.word.load();
    drop(p);
    assert_ne!(t.word.load(), seen);
    assert_eq!(t.waiter.wakes.get(), 2, "idle resume: no wake_all");
}

#[test]
fn pause_slot_generations_refuse_stale_tokens() {
    let t: Tracker = Tracker::new();
    let a = t.pause_token().unwrap();
    assert_eq!(t.resume_token(a), Ok(()));
    let b = t.pause_token().unwrap();
    assert_eq!(b.slot(), a.slot(), "the freed slot is reused");
    assert_ne!(b.generation(), a.generation());
    assert_eq!(t.resume_token(a), Err(ResumeError::NotPaused));
    assert!(t.is_paused());
    // A generation word without HELD and an out-of-range slot are refused too.
    let id = t.id();
    let forged = PauseToken::from_parts(id, b.slot(), b.generation() & !1);
    assert_eq!(t.resume_token(forged), Err(ResumeError::NotPaused));
    let forged = PauseToken::from_parts(id, MAX_PAUSERS as u32, b.generation());
    assert_eq!(t.resume_token(forged), Err(ResumeError::NotPaused));
    assert_eq!(t.resume_token(b), Ok(()));
    assert!(!t.is_paused());
}

#[test]
fn slot_generation_wraps_without_panic() {
    let t: Tracker<SpinWait, 1> = Tracker::new();
    // Hand-set slot 0 to the last generation.
    t.control.slots[0].store(!1, Ordering::Relaxed);
    let tok = t.pause_token().unwrap();
    assert_eq!(tok.slot(), 0);
    assert_eq!(tok.generation(), 1, "wrapped to generation 0, held");
    assert_eq!(t.resume_token(tok), Ok(()));
}

#[test]
fn begin_wait_with_passed_deadline_times_out() {
    let t: Tracker<SpinWait, 3> = Tracker::new();
    let _p = t.pause().unwrap();
    let clock = ManualClock::new(Instant::from_millis(5));
    assert_eq!(
        t.begin_wait(&clock, Instant::from_millis(5)).err(),
        Some(BeginError::TimedOut)
    );
    assert_eq!(t.in_flight(), 0);
    assert!((0..3).all(|i| raw(&t, i) == PAUSED));
}

#[test]
#[cfg(target_arch = "x86_64")]
fn memory_cost_is_one_line_per_stripe_plus_one() {
    // Documented on `Tracker`: S x 128 B + one line of control data on x86_64.
    assert_eq!(core::mem::size_of::<Tracker>(), 9 * 128);
    assert_eq!(core::mem::size_of::<Tracker<SpinWait, 1>>(), 2 * 128);
    #[cfg(feature = "std")]
    assert_eq!(core::mem::size_of::<Tracker<crate::StdWait, 4>>(), 5 * 128);
}

/// Eager reopen: the last resume clears every stripe's flag, so a `begin` never has a stale
/// flag to reopen (and the first pause never has an opener to wait for); lazy reopen (the
/// default) leaves the flags to the first `begin` of each stripe. Fails if `eager_reopen`
/// is ignored by `resume` (flags left) or by `begin` (see the next test).
#[test]
fn eager_reopen_clears_every_flag_at_the_last_resume() {
    let lazy: Tracker<SpinWait, 4> = Tracker::new();
    let eager: Tracker<crate::EagerReopen<SpinWait>, 4> =
        Tracker::with_waiter(crate::EagerReopen(SpinWait));
    assert!(!lazy.is_eager_reopen() && eager.is_eager_reopen());
    fn pause_twice_resume_twice<W: WaitStrategy>(t: &Tracker<W, 4>) {
        let a = t.pause_token().unwrap();
        let b = t.pause_token().unwrap();
        t.resume_token(a).unwrap();
        // One pause still held: every stripe flagged in both modes.
        assert!((0..4).all(|i| raw(t, i) & PAUSED != 0));
        assert!(t.begin_on(2).is_err());
        t.resume_token(b).unwrap();
    }
    pause_twice_resume_twice(&lazy);
    pause_twice_resume_twice(&eager);
    assert!((0..4).all(|i| raw(&lazy, i) == PAUSED), "lazy: flags stay");
    assert!((0..4).all(|i| raw(&eager, i) == 0), "eager: flags cleared");
    // Both admit after the resume; the lazy one reopens the stripe on the way.
    fn admit_then_pause<W: WaitStrategy>(t: &Tracker<W, 4>) {
        let g = t.begin_on(1).unwrap();
        assert_eq!(raw(t, 1), 1);
        drop(g);
        assert!(!t.is_paused() && t.in_flight() == 0);
        // The next pause flags every stripe again in both modes and refuses begins.
        let p = t.pause().unwrap();
        assert!((0..4).all(|i| raw(t, i) & PAUSED != 0));
        assert!(matches!(t.begin_on(3), Err(BeginError::Paused)));
        drop(p);
    }
    admit_then_pause(&lazy);
    admit_then_pause(&eager);
}

/// Eager reopen: a `begin` that reads a flag is refused, never reopens (a forged flag on an
/// unpaused eager tracker stands for a resume in progress). Fails if `begin` reopens.
#[test]
fn eager_reopen_never_reopens_in_begin() {
    let eager: Tracker<crate::EagerReopen<SpinWait>, 2> =
        Tracker::with_waiter(crate::EagerReopen(SpinWait));
    let lazy: Tracker<SpinWait, 2> = Tracker::new();
    // A resume in progress, frozen after the gate opened and before stripe 0 was cleared.
    eager.stripes[0].fetch_or(PAUSED, Ordering::Relaxed);
    lazy.stripes[0].fetch_or(PAUSED, Ordering::Relaxed);
    assert!(matches!(eager.begin_on(0), Err(BeginError::Paused)));
    assert_eq!(
        raw(&eager, 0),
        PAUSED,
        "refused, rolled back, flag untouched"
    );
    assert!(lazy.begin_on(0).is_ok(), "lazy: a stale flag is reopened");
}
