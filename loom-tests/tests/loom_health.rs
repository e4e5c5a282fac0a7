#![cfg(ftforest_loom)]
//! Loom models of the health cell: concurrent reports on one partition produce exactly one
//! transition (one event), and a report about an earlier life is refused.

use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use ftforest_core::{Health, HealthCell, Transition, TransitionError};
use loom::sync::Arc;
use loom::thread;

/// Runs `f` under loom and prints how many interleavings were explored.
fn model(name: &str, f: impl Fn() + Sync + Send + 'static) {
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    loom::model(move || {
        counter.fetch_add(1, Relaxed);
        f();
    });
    eprintln!("{name}: {} interleavings", runs.load(Relaxed));
}

/// Two identical suspicions race: exactly one caller gets the transition, the other sees
/// the new state and is refused (no duplicate HEALTHY→SUSPECTED event, B8).
#[test]
fn two_reports_one_transition() {
    model("two_reports_one_transition", || {
        let cell = Arc::new(HealthCell::new());
        let other = {
            let cell = cell.clone();
            thread::spawn(move || cell.transition(None, Health::Suspected, Some(0)))
        };
        let mine = cell.transition(None, Health::Suspected, Some(0));
        let theirs = other.join().unwrap();
        let wins = [mine, theirs].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "mine {mine:?}, theirs {theirs:?}");
        let loser = if mine.is_ok() { theirs } else { mine };
        assert_eq!(
            loser,
            Err(TransitionError::Invalid {
                from: Health::Suspected,
                to: Health::Suspected
            })
        );
        assert_eq!(cell.load(), (Health::Suspected, 0));
    });
}

/// Recovery success and recovery failure race on a RECOVERING partition: exactly one wins;
/// if success wins, the failure report names the old incarnation and is refused as stale.
#[test]
fn recovery_outcomes_race() {
    model("recovery_outcomes_race", || {
        let cell = Arc::new(HealthCell::new());
        for to in [Health::Suspected, Health::Failed, Health::Recovering] {
            cell.transition(None, to, None).unwrap();
        }
        let failer = {
            let cell = cell.clone();
            thread::spawn(move || cell.transition(None, Health::Failed, Some(0)))
        };
        let healed = cell.transition(Some(Health::Recovering), Health::Healthy, Some(0));
        let failed = failer.join().unwrap();
        match (healed, failed) {
            (Ok(t), Err(e)) => {
                assert_eq!(
                    t,
                    Transition {
                        from: Health::Recovering,
                        to: Health::Healthy,
                        incarnation: 1
                    }
                );
                assert_eq!(e, TransitionError::Stale { current: 1 });
                assert_eq!(cell.load(), (Health::Healthy, 1));
            }
            (Err(e), Ok(t)) => {
                assert_eq!(t.to, Health::Failed);
                assert_eq!(
                    e,
                    TransitionError::UnexpectedState {
                        actual: Health::Failed
                    }
                );
                assert_eq!(cell.load(), (Health::Failed, 0));
            }
            other => panic!("exactly one outcome must win: {other:?}"),
        }
    });
}

/// Three reports at once (suspect, suspect, clear): every successful transition
/// starts from the state the previous one produced, so the returned transitions chain.
#[test]
fn transitions_chain_without_gaps() {
    model("transitions_chain_without_gaps", || {
        let cell = Arc::new(HealthCell::new());
        let handles: Vec<_> = [Health::Suspected, Health::Healthy]
            .into_iter()
            .map(|to| {
                let cell = cell.clone();
                thread::spawn(move || cell.transition(None, to, None))
            })
            .collect();
        let mine = cell.transition(None, Health::Suspected, None);
        let mut remaining: Vec<Transition> = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .chain([mine])
            .filter_map(Result::ok)
            .collect();
        assert!(!remaining.is_empty(), "some report always succeeds");
        // Replay: each win must start from exactly the (state, incarnation) the previous
        // one produced; entering HEALTHY bumps the incarnation.
        let mut state = (Health::Healthy, 0);
        while !remaining.is_empty() {
            let next_inc = |t: &Transition| {
                if t.to == Health::Healthy {
                    state.1 + 1
                } else {
                    state.1
                }
            };
            let i = remaining
                .iter()
                .position(|t| t.from == state.0 && t.incarnation == next_inc(t))
                .expect("every transition starts where the previous ended");
            let t = remaining.remove(i);
            state = (t.to, t.incarnation);
        }
        assert_eq!(cell.load(), state);
    });
}
