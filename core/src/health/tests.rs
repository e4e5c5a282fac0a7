//! Unit and property tests of the health cell, including the Phase41 enum and
//! transition-table cases of the Java original, adapted to our five-state machine (the fifth,
//! `Absent`, is membership: partitions join and leave at runtime).

extern crate std;

use super::*;
use proptest::prelude::*;
use std::sync::{Arc, Barrier};
use std::vec::Vec;

use Health::*;

// ---- Phase41PartitionStatusTest, adapted: testEnumValues / testTransitions ----

#[test]
fn enum_has_exactly_five_values_with_fixed_discriminants() {
    assert_eq!(Health::ALL.len(), 5);
    for (i, h) in Health::ALL.iter().enumerate() {
        assert_eq!(h.index(), i);
        assert_eq!(usize::from(h.as_u8()), i);
        assert_eq!(Health::from_u8(h.as_u8()), Ok(*h));
        assert_eq!(Health::try_from(u8::from(*h)), Ok(*h));
    }
    assert_eq!(
        Health::ALL.map(|h| h.name()),
        ["HEALTHY", "SUSPECTED", "FAILED", "RECOVERING", "ABSENT"]
    );
    assert_eq!(Health::from_u8(4), Ok(Absent));
    assert!(!Absent.is_member());
    assert!([Healthy, Suspected, Failed, Recovering]
        .iter()
        .all(|h| h.is_member()));
    assert_eq!(std::format!("{}", Recovering), "RECOVERING");
}

#[test]
fn from_u8_rejects_every_unknown_c_value() {
    for v in 5..=u8::MAX {
        assert_eq!(Health::from_u8(v), Err(InvalidHealth(v)));
        assert_eq!(Health::try_from(v), Err(InvalidHealth(v)));
    }
    assert!(std::format!("{}", InvalidHealth(9)).contains('9'));
}

#[test]
fn names_are_distinct() {
    for a in Health::ALL {
        for b in Health::ALL {
            assert_eq!(a == b, a.name() == b.name());
        }
    }
}

// ---- Phase41RecoveryPhaseTest, adapted: testStateTransitions / testInvalidTransitions ----

#[test]
fn every_table_edge_is_allowed() {
    for (from, to) in TRANSITIONS {
        assert!(is_allowed(from, to), "{from} -> {to}");
    }
}

#[test]
fn exactly_the_eleven_table_edges_are_allowed() {
    let allowed = Health::ALL
        .iter()
        .flat_map(|&a| Health::ALL.iter().map(move |&b| (a, b)))
        .filter(|&(a, b)| is_allowed(a, b))
        .count();
    assert_eq!(allowed, 11);
}

#[test]
fn membership_edges_leave_join_decommission_and_recovered_elsewhere() {
    // Graceful leave from a live state, decommission of a failed one.
    for from in [Healthy, Suspected, Failed] {
        assert!(is_allowed(from, Absent), "{from} -> ABSENT");
    }
    // A recovery in progress can neither leave nor be replaced by a join.
    assert!(!is_allowed(Recovering, Absent));
    // An absent partition only joins (HEALTHY): never suspected, failed or recovered.
    for to in [Suspected, Failed, Recovering] {
        assert!(!is_allowed(Absent, to), "ABSENT -> {to}");
    }
    assert!(is_allowed(Absent, Healthy));
    assert!(is_allowed(Failed, Healthy));
}

#[test]
fn join_starts_a_new_life_and_leave_keeps_the_old_one() {
    let c = HealthCell::new();
    let t = c.transition(Some(Healthy), Absent, Some(0)).unwrap();
    assert_eq!(
        t,
        Transition {
            from: Healthy,
            to: Absent,
            incarnation: 0
        }
    );
    assert_eq!(c.load(), (Absent, 0));
    // A report about the life that left is not a transition out of ABSENT.
    assert_eq!(
        c.transition(None, Suspected, Some(0)),
        Err(TransitionError::Invalid {
            from: Absent,
            to: Suspected
        })
    );
    let t = c.transition(Some(Absent), Healthy, None).unwrap();
    assert_eq!(t.incarnation, 1);
    // The previous life is stale now.
    assert_eq!(
        c.transition(None, Suspected, Some(0)),
        Err(TransitionError::Stale { current: 1 })
    );
    // Failed, then recovered elsewhere: another new life.
    c.transition(None, Suspected, None).unwrap();
    c.transition(None, Failed, None).unwrap();
    assert_eq!(c.transition(None, Healthy, None).unwrap().incarnation, 2);
}

#[test]
fn forbidden_edges_skips_backwards_and_self_loops() {
    let forbidden = [
        // skips
        (Healthy, Failed),
        (Healthy, Recovering),
        (Suspected, Recovering),
        // backwards / shortcuts out of a failure
        (Failed, Suspected),
        (Recovering, Suspected),
    ];
    for (from, to) in forbidden {
        assert!(!is_allowed(from, to), "{from} -> {to}");
    }
    for h in Health::ALL {
        assert!(!is_allowed(h, h), "self-loop {h}");
    }
}

// ---- the cell ----

#[test]
fn new_cell_is_healthy_in_incarnation_zero() {
    let c = HealthCell::new();
    assert_eq!(c.load(), (Healthy, 0));
    assert_eq!(HealthCell::default().load(), (Healthy, 0));
    assert_eq!(core::mem::size_of::<HealthCell>(), 4);
}

#[test]
fn full_cycle_bumps_the_incarnation_once() {
    let c = HealthCell::new();
    let t = c.transition(Some(Healthy), Suspected, Some(0)).unwrap();
    assert_eq!(
        t,
        Transition {
            from: Healthy,
            to: Suspected,
            incarnation: 0
        }
    );
    c.transition(Some(Suspected), Failed, Some(0)).unwrap();
    c.transition(Some(Failed), Recovering, Some(0)).unwrap();
    let t = c.transition(Some(Recovering), Healthy, Some(0)).unwrap();
    assert_eq!(
        t,
        Transition {
            from: Recovering,
            to: Healthy,
            incarnation: 1
        }
    );
    assert_eq!(c.load(), (Healthy, 1));
}

#[test]
fn false_alarm_also_starts_a_new_life() {
    let c = HealthCell::new();
    c.transition(None, Suspected, None).unwrap();
    assert_eq!(c.transition(None, Healthy, None).unwrap().incarnation, 1);
}

#[test]
fn stale_incarnation_is_refused_and_changes_nothing() {
    let c = HealthCell::new();
    c.transition(None, Suspected, None).unwrap();
    c.transition(None, Healthy, None).unwrap(); // incarnation 1
    assert_eq!(
        c.transition(None, Suspected, Some(0)),
        Err(TransitionError::Stale { current: 1 })
    );
    // Values no incarnation can take are stale too, never a panic.
    assert_eq!(
        c.transition(None, Suspected, Some(u32::MAX)),
        Err(TransitionError::Stale { current: 1 })
    );
    assert_eq!(c.load(), (Healthy, 1));
    assert!(c.transition(None, Suspected, Some(1)).is_ok());
}

#[test]
fn required_state_mismatch_is_unexpected_state() {
    let c = HealthCell::new();
    assert_eq!(
        c.transition(Some(Failed), Recovering, None),
        Err(TransitionError::UnexpectedState { actual: Healthy })
    );
    assert_eq!(c.load(), (Healthy, 0));
}

#[test]
fn edge_outside_table_is_invalid_with_the_actual_state() {
    let c = HealthCell::new();
    assert_eq!(
        c.transition(None, Failed, None),
        Err(TransitionError::Invalid {
            from: Healthy,
            to: Failed
        })
    );
    assert_eq!(
        c.transition(None, Healthy, None),
        Err(TransitionError::Invalid {
            from: Healthy,
            to: Healthy
        })
    );
    assert_eq!(c.load(), (Healthy, 0));
}

#[test]
fn incarnation_wraps_within_29_bits() {
    let c = HealthCell::with_parts(Recovering, INCARNATION_MAX);
    assert_eq!(c.load(), (Recovering, INCARNATION_MAX));
    let t = c.transition(None, Healthy, Some(INCARNATION_MAX)).unwrap();
    assert_eq!(t.incarnation, 0);
    assert_eq!(c.load(), (Healthy, 0));
    assert_eq!(next_incarnation(INCARNATION_MAX), 0);
    assert_eq!(next_incarnation(7), 8);
}

#[test]
fn every_state_and_incarnation_round_trips_through_the_word() {
    for h in Health::ALL {
        for inc in [0, 1, 12345, INCARNATION_MAX - 1, INCARNATION_MAX] {
            assert_eq!(decode(encode(h, inc)), (h, inc));
            assert!(
                encode(h, inc) & STATE_MASK <= 4,
                "state values 5..=7 never occur"
            );
        }
    }
}

#[test]
fn errors_display_their_cause() {
    let e = TransitionError::Invalid {
        from: Healthy,
        to: Failed,
    };
    assert_eq!(
        std::format!("{e}"),
        "transition HEALTHY -> FAILED is not allowed"
    );
    assert!(std::format!("{}", TransitionError::Stale { current: 4 }).contains('4'));
    let e = TransitionError::UnexpectedState { actual: Failed };
    assert!(std::format!("{e}").contains("FAILED"));
}

/// B8: many threads report the same suspicion at once; exactly one gets the transition.
#[test]
fn concurrent_reports_yield_exactly_one_transition() {
    for _ in 0..if cfg!(miri) { 2 } else { 50 } {
        let cell = Arc::new(HealthCell::new());
        let start = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (cell, start) = (cell.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    cell.transition(None, Suspected, Some(0))
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1);
        for r in results.iter().filter_map(|r| r.err()) {
            assert_eq!(
                r,
                TransitionError::Invalid {
                    from: Suspected,
                    to: Suspected
                }
            );
        }
        assert_eq!(cell.load(), (Suspected, 0));
    }
}

// ---- property test: the cell against a sequential model ----

fn health() -> impl Strategy<Value = Health> {
    (0u8..5).prop_map(|v| Health::from_u8(v).unwrap())
}

/// The specification, written independently of the implementation.
fn model_step(
    state: &mut (Health, u32),
    from: Option<Health>,
    to: Health,
    inc: Option<u32>,
) -> Result<Transition, TransitionError> {
    let (cur, cur_inc) = *state;
    if inc.is_some_and(|i| i != cur_inc) {
        return Err(TransitionError::Stale { current: cur_inc });
    }
    if from.is_some_and(|f| f != cur) {
        return Err(TransitionError::UnexpectedState { actual: cur });
    }
    if !TRANSITIONS.contains(&(cur, to)) {
        return Err(TransitionError::Invalid { from: cur, to });
    }
    let next_inc = if to == Healthy {
        (cur_inc + 1) % (1 << 29)
    } else {
        cur_inc
    };
    *state = (to, next_inc);
    Ok(Transition {
        from: cur,
        to,
        incarnation: next_inc,
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        // No regression files: keeps the tests hermetic (and Miri's isolation happy).
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn cell_matches_sequential_model(
        ops in proptest::collection::vec(
            (proptest::option::of(health()), health(), proptest::option::of(0u32..4)),
            0..if cfg!(miri) { 20 } else { 64 },
        )
    ) {
        let cell = HealthCell::new();
        let mut model = (Healthy, 0u32);
        for (from, to, inc) in ops {
            let expected = model_step(&mut model, from, to, inc);
            prop_assert_eq!(cell.transition(from, to, inc), expected);
            prop_assert_eq!(cell.load(), model);
        }
    }
}
