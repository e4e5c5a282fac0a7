//! Property test: random sequences of begin/end/pause/resume (guards and tokens, stale and
//! foreign tokens) against a simple sequential model of the tracker.

use ftforest_core::{
    BeginError, EndError, Instant, ManualClock, OpGuard, OpToken, PauseError, PauseGuard,
    PauseToken, ResumeError, SpinWait, Tracker, WaitOutcome, MAX_PAUSERS,
};
use proptest::prelude::*;

const S: usize = 3;
type T = Tracker<SpinWait, S>;

#[derive(Clone, Debug)]
enum Op {
    Begin(usize),
    BeginToken(usize),
    EndGuard(usize),
    EndToken(usize),
    EndForeignToken,
    Pause,
    PauseToken,
    ResumeGuard(usize),
    ResumeToken(usize),
    WaitQuiescent,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..8usize).prop_map(Op::Begin),
        2 => (0..8usize).prop_map(Op::BeginToken),
        3 => any::<usize>().prop_map(Op::EndGuard),
        3 => any::<usize>().prop_map(Op::EndToken),
        1 => Just(Op::EndForeignToken),
        2 => Just(Op::Pause),
        2 => Just(Op::PauseToken),
        2 => any::<usize>().prop_map(Op::ResumeGuard),
        2 => any::<usize>().prop_map(Op::ResumeToken),
        1 => Just(Op::WaitQuiescent),
    ]
}

/// The model: per-stripe counts and the number of held pauses.
#[derive(Default)]
struct Model {
    count: [u32; S],
    pauses: usize,
}

impl Model {
    fn paused(&self) -> bool {
        self.pauses > 0
    }
    fn in_flight(&self) -> u32 {
        self.count.iter().sum()
    }
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let t = T::new();
    let other: Tracker = Tracker::new();
    let clock = ManualClock::new(Instant::from_millis(1));
    let mut m = Model::default();
    let mut guards: Vec<OpGuard<'_, SpinWait, S>> = Vec::new();
    // Every token ever issued stays here: ended ones are replayed as stale tokens.
    let mut tokens: Vec<OpToken> = Vec::new();
    let mut pause_guards: Vec<PauseGuard<'_, SpinWait, S>> = Vec::new();
    let mut pause_tokens: Vec<(PauseToken, bool)> = Vec::new();

    for op in ops {
        match *op {
            Op::Begin(hint) | Op::BeginToken(hint) => {
                let r = t.begin_on(hint);
                if m.paused() {
                    prop_assert_eq!(r.err(), Some(BeginError::Paused));
                } else {
                    let g = r.map_err(|e| TestCaseError::fail(format!("{e}")))?;
                    prop_assert_eq!(g.stripe() as usize, hint % S);
                    m.count[hint % S] += 1;
                    if matches!(op, Op::Begin(_)) {
                        guards.push(g);
                    } else {
                        tokens.push(g.into_token());
                    }
                }
            }
            Op::EndGuard(i) if !guards.is_empty() => {
                let g = guards.swap_remove(i % guards.len());
                let s = g.stripe() as usize;
                drop(g);
                // A guard whose count was taken by a twice-ended token is repaired: 0 stays 0.
                m.count[s] = m.count[s].saturating_sub(1);
            }
            Op::EndToken(i) if !tokens.is_empty() => {
                let tok = tokens[i % tokens.len()];
                let s = tok.stripe() as usize;
                let r = t.end_token(tok);
                if m.count[s] > 0 {
                    prop_assert_eq!(r, Ok(()));
                    m.count[s] -= 1;
                } else {
                    prop_assert_eq!(r, Err(EndError::NotInFlight));
                }
            }
            Op::EndForeignToken => {
                let tok = other
                    .begin_token()
                    .map_err(|e| TestCaseError::fail(format!("{e}")))?;
                prop_assert_eq!(t.end_token(tok), Err(EndError::ForeignToken));
                prop_assert_eq!(other.end_token(tok), Ok(()));
            }
            Op::Pause | Op::PauseToken => {
                let r = t.pause();
                if m.pauses == MAX_PAUSERS {
                    prop_assert_eq!(r.err(), Some(PauseError::TooManyPausers));
                } else {
                    let p = r.map_err(|e| TestCaseError::fail(format!("{e}")))?;
                    m.pauses += 1;
                    if matches!(op, Op::Pause) {
                        pause_guards.push(p);
                    } else {
                        pause_tokens.push((p.into_token(), true));
                    }
                }
            }
            Op::ResumeGuard(i) if !pause_guards.is_empty() => {
                let p = pause_guards.swap_remove(i % pause_guards.len());
                prop_assert_eq!(p.resume(), Ok(()));
                m.pauses -= 1;
            }
            Op::ResumeToken(i) if !pause_tokens.is_empty() => {
                let k = i % pause_tokens.len();
                let (tok, held) = pause_tokens[k];
                let r = t.resume_token(tok);
                if held {
                    prop_assert_eq!(r, Ok(()));
                    m.pauses -= 1;
                    pause_tokens[k].1 = false;
                } else {
                    prop_assert_eq!(r, Err(ResumeError::NotPaused));
                }
                prop_assert_eq!(other.resume_token(tok), Err(ResumeError::ForeignToken));
            }
            Op::WaitQuiescent => {
                // Deadline already passed: one check, no waiting.
                let out = t.wait_quiescent(&clock, Instant::ZERO);
                let want = match (m.paused(), m.in_flight()) {
                    (false, _) => WaitOutcome::NotPaused,
                    (true, 0) => WaitOutcome::Quiescent,
                    (true, _) => WaitOutcome::TimedOut,
                };
                prop_assert_eq!(out, want);
            }
            _ => {} // an end/resume with nothing to end/resume
        }
        prop_assert_eq!(t.in_flight(), m.in_flight());
        prop_assert_eq!(t.pause_depth() as usize, m.pauses);
        prop_assert_eq!(t.is_paused(), m.paused());
        prop_assert_eq!(t.is_quiescent(), m.paused() && m.in_flight() == 0);
    }
    // Drop order: guards end, then pauses resume; the tracker returns to idle.
    drop(guards);
    drop(pause_guards);
    for (tok, held) in pause_tokens {
        prop_assert_eq!(t.resume_token(tok).is_ok(), held);
    }
    prop_assert!(!t.is_paused());
    prop_assert!(t.begin().is_ok());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 2 } else { 512 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn tracker_matches_sequential_model(ops in proptest::collection::vec(op(), 0..if cfg!(miri) { 24 } else { 96 })) {
        run(&ops)?;
    }
}
