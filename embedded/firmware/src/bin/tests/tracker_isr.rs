//! The tracker with the timer interrupt as its other thread, both ways round.
//!
//! The "forest" is two words `A` and `B`: an operation sets `A = a + 1`, runs a little,
//! then sets `B = a + 1`, so `A != B` exactly while an operation is half-way. Whoever holds a
//! quiescent pause must find `A == B`, and may change both (the "recovery").

use core::cell::Cell;
use core::hint::black_box;
use core::sync::atomic::{AtomicU32, Ordering::*};

use critical_section::Mutex;
use ftforest_core::{BeginError, EagerReopen, Instant, PauseToken, SpinWait, Tracker, WaitOutcome};
use ftforest_firmware::harness::TestResult;
use ftforest_firmware::{bump, ensure, set_hook, ticks, wait_ticks, TickClock};

/// One stripe: a single core has no contention to spread.
type T1 = Tracker<SpinWait, 1>;

fn deadline_in(ms: u64) -> Instant {
    Instant::from_millis(u64::from(ticks()) + ms)
}

/// A half-way window long enough for the interrupt to land inside some operations.
fn work() {
    for i in 0..40u32 {
        black_box(i);
    }
}

// ---- main begins/ends, the interrupt pauses/resumes ---------------------------------------

/// Eager reopen: the interrupt pauses while `main` may be inside a `begin` (with the default
/// lazy reopen, a first pause that preempts a `begin` reopening its stripe would spin forever;
/// see `WaitStrategy::eager_reopen` and the interrupt rules in `embedded/README.md`).
static T_A: Tracker<EagerReopen<SpinWait>, 1> = Tracker::with_waiter(EagerReopen(SpinWait));
static A1: AtomicU32 = AtomicU32::new(0);
static B1: AtomicU32 = AtomicU32::new(0);
static HELD: Mutex<Cell<Option<PauseToken>>> = Mutex::new(Cell::new(None));
static ISR_TICK: AtomicU32 = AtomicU32::new(0);
static PAUSES_DONE: AtomicU32 = AtomicU32::new(0);
static NOT_QUIESCENT: AtomicU32 = AtomicU32::new(0);
static ISR_BAD: AtomicU32 = AtomicU32::new(0);

/// Every third tick: close the gate without waiting (`pause_token`). Then, on this tick or
/// a later one: if quiescent, check and change the forest and resume; if not, return at
/// once (never spin in the handler: `main`, the only one who can finish the operation, is
/// not running).
fn pauser_hook() {
    let t = ISR_TICK.load(Relaxed).wrapping_add(1);
    ISR_TICK.store(t, Relaxed);
    critical_section::with(|cs| {
        let held = HELD.borrow(cs);
        let tok = match held.get() {
            Some(tok) => tok,
            None if t.is_multiple_of(3) => match T_A.pause_token() {
                Ok(tok) => {
                    held.set(Some(tok));
                    tok
                }
                Err(_) => {
                    bump(&ISR_BAD);
                    return;
                }
            },
            None => return,
        };
        if !T_A.is_quiescent() {
            bump(&NOT_QUIESCENT);
            return;
        }
        let a = A1.load(Relaxed);
        if a != B1.load(Relaxed) || T_A.in_flight() != 0 {
            bump(&ISR_BAD);
        }
        if !matches!(T_A.begin(), Err(BeginError::Paused)) {
            bump(&ISR_BAD);
        }
        A1.store(a + 1000, Relaxed);
        B1.store(a + 1000, Relaxed);
        if T_A.resume_token(tok).is_err() {
            bump(&ISR_BAD);
        }
        held.set(None);
        bump(&PAUSES_DONE);
    });
}

pub fn main_ops_isr_pauses() -> TestResult {
    set_hook(Some(pauser_hook));
    let (mut ops, mut rejected) = (0u32, 0u32);
    let mut jitter = 1u32;
    while PAUSES_DONE.load(Relaxed) < 20 {
        // Under `-icount` the tick lands every N instructions exactly: vary the loop's
        // length so it does not always land at the same instruction of the loop.
        jitter = jitter.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        for i in 0..(jitter >> 28) {
            black_box(i);
        }
        match T_A.begin() {
            Ok(g) => {
                let a = A1.load(Relaxed);
                // The interrupt only changes the forest while quiescent: never under an op.
                ensure!(a == B1.load(Relaxed), "forest consistent inside an op");
                A1.store(a + 1, Relaxed);
                work();
                B1.store(a + 1, Relaxed);
                drop(g);
                ops += 1;
            }
            Err(BeginError::Paused) => rejected += 1,
            Err(_) => ensure!(false, "begin failed other than Paused"),
        }
    }
    set_hook(None);
    ensure!(
        ISR_BAD.load(Relaxed) == 0,
        "the interrupt saw a half-way op or a bad answer"
    );
    ensure!(ops > 0 && rejected > 0, "main both ran and was refused");
    ensure!(
        NOT_QUIESCENT.load(Relaxed) > 0,
        "the interrupt found an op in flight at least once (and returned)"
    );
    ensure!(
        !T_A.is_paused() && T_A.in_flight() == 0,
        "tracker idle at the end"
    );
    Ok(())
}

// ---- the interrupt begins/ends, main pauses and waits --------------------------------------

static T_B: T1 = Tracker::new();
static A2: AtomicU32 = AtomicU32::new(0);
static B2: AtomicU32 = AtomicU32::new(0);
static ISR_OPS: AtomicU32 = AtomicU32::new(0);
static ISR_REJ: AtomicU32 = AtomicU32::new(0);
static ISR_BAD2: AtomicU32 = AtomicU32::new(0);
/// 0: complete every op inside the handler; 1: hold one op open for 5 ticks; 2: hold one
/// open until main sets 0.
static HOLD: AtomicU32 = AtomicU32::new(0);
static HOLD_TICKS: AtomicU32 = AtomicU32::new(0);
static OPEN: Mutex<Cell<Option<ftforest_core::OpToken>>> = Mutex::new(Cell::new(None));

/// Three complete operations per tick (tokens: `begin_token`/`end_token`), plus, on
/// request, one operation held open across ticks.
fn ops_hook() {
    for _ in 0..3 {
        match T_B.begin_token() {
            Ok(tok) => {
                let a = A2.load(Relaxed);
                A2.store(a + 1, Relaxed);
                B2.store(a + 1, Relaxed);
                if T_B.end_token(tok).is_err() {
                    bump(&ISR_BAD2);
                }
                bump(&ISR_OPS);
            }
            Err(BeginError::Paused) => bump(&ISR_REJ),
            Err(_) => bump(&ISR_BAD2),
        }
    }
    critical_section::with(|cs| {
        let open = OPEN.borrow(cs);
        let hold = HOLD.load(Relaxed);
        match open.get() {
            None if hold != 0 => {
                if let Ok(tok) = T_B.begin_token() {
                    open.set(Some(tok));
                    HOLD_TICKS.store(0, Relaxed);
                }
            }
            None => {}
            Some(tok) => {
                let held_for = HOLD_TICKS.load(Relaxed) + 1;
                HOLD_TICKS.store(held_for, Relaxed);
                if hold == 0 || (hold == 1 && held_for >= 5) {
                    if T_B.end_token(tok).is_err() {
                        bump(&ISR_BAD2);
                    }
                    open.set(None);
                    HOLD.store(0, Relaxed);
                }
            }
        }
    });
}

pub fn isr_ops_main_pauses() -> TestResult {
    set_hook(Some(ops_hook));
    for round in 0..10u32 {
        wait_ticks(1 + round % 3);
        let Ok((g, outcome)) = T_B.pause_wait(&TickClock, deadline_in(50)) else {
            ensure!(false, "pause refused");
            return Ok(());
        };
        ensure!(
            outcome == WaitOutcome::Quiescent,
            "pause_wait reached quiescence"
        );
        let a = A2.load(Relaxed);
        ensure!(a == B2.load(Relaxed), "no half-way op while paused");
        let (ops, rej) = (ISR_OPS.load(Relaxed), ISR_REJ.load(Relaxed));
        wait_ticks(2);
        ensure!(ISR_OPS.load(Relaxed) == ops, "no op admitted while paused");
        ensure!(
            ISR_REJ.load(Relaxed) > rej,
            "the interrupt's begins were refused"
        );
        A2.store(a + 1000, Relaxed);
        B2.store(a + 1000, Relaxed);
        ensure!(g.resume().is_ok(), "resume");
        let ops = ISR_OPS.load(Relaxed);
        wait_ticks(1);
        ensure!(
            ISR_OPS.load(Relaxed) > ops,
            "ops admitted again after resume"
        );
    }
    set_hook(None);
    ensure!(ISR_BAD2.load(Relaxed) == 0, "every token ended cleanly");
    Ok(())
}

pub fn isr_holds_op() -> TestResult {
    set_hook(Some(ops_hook));
    // An op the interrupt holds for 5 ticks: main's pause_wait spins (interrupts keep
    // coming, the tick clock advances) until the interrupt ends it.
    HOLD.store(1, Relaxed);
    while critical_section::with(|cs| OPEN.borrow(cs).get().is_none()) {
        ftforest_firmware::board::wait_for_interrupt();
    }
    let start = ticks();
    let Ok((g, outcome)) = T_B.pause_wait(&TickClock, deadline_in(50)) else {
        ensure!(false, "pause refused");
        return Ok(());
    };
    ensure!(
        outcome == WaitOutcome::Quiescent,
        "quiescent once the held op ended"
    );
    ensure!(
        ticks() > start,
        "the wait spanned ticks (the op really was held)"
    );
    ensure!(g.resume().is_ok(), "resume");
    // An op held until main says so: the wait ends by its deadline, not by hanging.
    HOLD.store(2, Relaxed);
    while critical_section::with(|cs| OPEN.borrow(cs).get().is_none()) {
        ftforest_firmware::board::wait_for_interrupt();
    }
    let Ok((g, outcome)) = T_B.pause_wait(&TickClock, deadline_in(5)) else {
        ensure!(false, "pause refused");
        return Ok(());
    };
    ensure!(
        outcome == WaitOutcome::TimedOut,
        "a held op makes the wait time out"
    );
    ensure!(T_B.in_flight() == 1, "exactly the held op is in flight");
    HOLD.store(0, Relaxed);
    let outcome = g.wait_quiescent(&TickClock, deadline_in(50));
    ensure!(
        outcome == WaitOutcome::Quiescent,
        "quiescent after the op ended"
    );
    ensure!(g.resume().is_ok(), "resume");
    set_hook(None);
    ensure!(ISR_BAD2.load(Relaxed) == 0, "every token ended cleanly");
    Ok(())
}

// ---- exact counts: main's RMWs interleaved with the interrupt's ----------------------------

static T_C: Tracker<SpinWait, 2> = Tracker::new();
static C_OPS: AtomicU32 = AtomicU32::new(0);

/// Begin 4 ops on both stripes, end them all: the counts main reads stay consistent.
fn count_hook() {
    let mut toks = [None; 4];
    for (i, t) in toks.iter_mut().enumerate() {
        *t = T_C.begin_on(i).ok().map(|g| g.into_token());
    }
    for t in toks.into_iter().flatten() {
        let _ = T_C.end_token(t);
        bump(&C_OPS);
    }
}

pub fn counts_exact_under_interrupts() -> TestResult {
    set_hook(Some(count_hook));
    let mut held = [None; 16];
    for round in 0..2000u32 {
        // Main holds a varying number of ops; the interrupt's ops come and go in between.
        let k = (round % 16) as usize;
        for (i, slot) in held.iter_mut().enumerate().take(k) {
            *slot = T_C.begin_on(i).ok().map(|g| g.into_token());
        }
        ensure!(held.iter().take(k).all(Option::is_some), "begin admitted");
        ensure!(
            T_C.in_flight() >= k as u32,
            "in-flight count includes main's ops"
        );
        for slot in held.iter_mut().take(k) {
            if let Some(t) = slot.take() {
                ensure!(T_C.end_token(t).is_ok(), "end accepted");
            }
        }
    }
    set_hook(None);
    ensure!(T_C.in_flight() == 0, "no op leaked: every RMW was atomic");
    ensure!(C_OPS.load(Relaxed) > 0, "the interrupt ran ops meanwhile");
    Ok(())
}
