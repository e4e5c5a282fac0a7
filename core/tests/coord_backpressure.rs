//! Backpressure: the coordinator never drops an event. A step starts only with room for
//! `MAX_EVENTS_PER_STEP` events; inputs without room are refused with `OutboxFull` and change
//! nothing; a tick without room stops and says "now" in `poll_timeout`.
#![cfg(feature = "std")]

use core::cell::Cell;
use core::time::Duration;
use std::collections::VecDeque;
use std::sync::Arc;
use std::vec::Vec;

use ftforest_core::coord::{
    boxed_storage, Action, BoxedCoordinator, Config, Coordinator, Event, HeartbeatConfig,
    HeartbeatMode, NewError, OpGate, PartitionSlot, PauseTimeoutPolicy, PhaseDoneError, Report,
    ReportError, ReportKind, ReportOutcome, RetryError, MAX_EVENTS_PER_STEP,
};
use ftforest_core::{
    Health, HealthCell, Instant, LockSlot, PauseError, PauseToken, QueueSlot, ResumeError, Tracker,
};
use proptest::prelude::*;

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

type Boxed<G, const E: usize> = Coordinator<
    Box<[HealthCell]>,
    Box<[LockSlot]>,
    Box<[QueueSlot]>,
    Box<[PartitionSlot]>,
    G,
    8,
    E,
>;

fn drain<G: OpGate, const E: usize>(c: &mut Boxed<G, E>, into: &mut Vec<Event>) {
    while let Some(e) = c.poll_event() {
        into.push(e);
    }
}

/// The status changes of every partition, in order: `(from, to)`.
fn stories(n: u32, events: &[Event]) -> Vec<Vec<(Health, Health)>> {
    let mut s = vec![Vec::new(); n as usize];
    for e in events {
        if let Event::StatusChanged(c) = e {
            s[c.rank as usize].push((c.from, c.to));
        }
    }
    s
}

/// Each partition's status events form a chain (each `from` is the previous `to`, starting
/// HEALTHY) ending in its current state: exactly one event per transition, none lost.
fn assert_chains_match<G: OpGate, const E: usize>(c: &Boxed<G, E>, events: &[Event]) {
    for (rank, story) in stories(c.len(), events).iter().enumerate() {
        let mut state = Health::Healthy;
        for &(from, to) in story {
            assert_eq!(from, state, "rank {rank}: {story:?}");
            state = to;
        }
        assert_eq!(
            c.health(rank as u32).unwrap().0,
            state,
            "rank {rank}: {story:?}"
        );
    }
}

/// Run an embedder loop to the end: drain events, run every handed-out phase (retrying a
/// refused `phase_done` after a drain), tick when due, advance time to the next timeout.
fn settle<G: OpGate, const E: usize>(
    c: &mut Boxed<G, E>,
    events: &mut Vec<Event>,
    start_ms: u64,
) -> u32 {
    let mut now = ms(start_ms);
    let mut jobs = VecDeque::new();
    let mut refused = 0;
    for _ in 0..1_000_000 {
        drain(c, events);
        while let Some(a) = c.poll_action() {
            if let Action::RunPhase(j) = a {
                jobs.push_back(j);
            }
        }
        if let Some(j) = jobs.pop_front() {
            match c.phase_done(now, j.rank, j.attempt, j.phase, true) {
                Ok(()) => {}
                Err(PhaseDoneError::OutboxFull) => {
                    refused += 1;
                    jobs.push_front(j);
                }
                Err(e) => panic!("{e:?}"),
            }
            continue;
        }
        match c.poll_timeout() {
            Some(t) => {
                now = now.max(t);
                c.tick(now);
            }
            None => {
                drain(c, events);
                return refused;
            }
        }
    }
    panic!("did not settle");
}

/// The audit's scenario: a burst of failures into a small outbox (E = 16). 1,000 partitions,
/// 400 crash at once (quorum holds); every refused report is retried after a drain. No event
/// is lost: each failed partition tells H→S→F→R→H once, with five phase changes and one
/// finished recovery, exactly as with a roomy outbox (E = 256).
#[test]
fn no_event_is_lost_under_a_burst() {
    let n: u32 = if cfg!(miri) { 30 } else { 1000 };
    let failing = n * 2 / 5;
    fn run<const E: usize>(n: u32, failing: u32) -> (Vec<Event>, u32, Boxed<Arc<Tracker>, E>) {
        let t: Arc<Tracker> = Arc::new(Tracker::new());
        let mut c = Boxed::<_, E>::new(Config::default(), boxed_storage(n), n, t, ms(0)).unwrap();
        let mut events = Vec::new();
        let mut refused = 0;
        for r in 0..failing {
            loop {
                match c.handle_report(ms(1), Report::crashed(r)) {
                    Ok(o) => {
                        assert_eq!(o, ReportOutcome::Failed);
                        break;
                    }
                    Err(ReportError::OutboxFull) => {
                        refused += 1;
                        drain(&mut c, &mut events);
                    }
                    Err(e) => panic!("{e:?}"),
                }
            }
        }
        refused += settle(&mut c, &mut events, 1);
        assert_eq!(c.stats().events_dropped, 0);
        (events, refused, c)
    }
    let (small, refused, c) = run::<16>(n, failing);
    assert!(refused > 0, "the burst must have met backpressure");
    assert_chains_match(&c, &small);
    let story = [
        (Health::Healthy, Health::Suspected),
        (Health::Suspected, Health::Failed),
        (Health::Failed, Health::Recovering),
        (Health::Recovering, Health::Healthy),
    ];
    for (rank, s) in stories(n, &small).iter().enumerate() {
        let expected: &[(Health, Health)] = if (rank as u32) < failing { &story } else { &[] };
        assert_eq!(s, expected, "rank {rank}");
    }
    let count = |f: &dyn Fn(&Event) -> bool| small.iter().filter(|e| f(e)).count();
    assert_eq!(
        count(&|e| matches!(e, Event::PhaseChanged(_))),
        5 * failing as usize
    );
    assert_eq!(
        count(&|e| matches!(e, Event::RecoveryFinished(f) if f.success)),
        failing as usize
    );
    let st = c.stats();
    assert_eq!(
        (st.healthy, st.failures_detected, st.recoveries_succeeded),
        (n, u64::from(failing), u64::from(failing))
    );
    // The same stories with room to spare.
    let (roomy, roomy_refused, _) = run::<256>(n, failing);
    assert_eq!(stories(n, &roomy), stories(n, &small));
    assert_eq!(roomy.len(), small.len());
    if n <= 40 {
        assert_eq!(roomy_refused, 0);
    }
}

/// A HEALTHY partition that crashes while quorum hangs on it emits the most events one step
/// can: H→S, QuorumLost, S→F, RecoveryQueued, Escalated. So the bound is reached, and an
/// outbox of exactly that size takes the report only when empty.
#[test]
fn the_bound_is_reached_by_one_report() {
    let t: Arc<Tracker> = Arc::new(Tracker::new());
    let mut c = Boxed::<_, MAX_EVENTS_PER_STEP>::new(
        Config::default(),
        boxed_storage(2),
        2,
        t.clone(),
        ms(0),
    )
    .unwrap();
    assert!(c.has_outbox_room());
    c.handle_report(ms(1), Report::crashed(0)).unwrap();
    assert_eq!(c.pending_events(), MAX_EVENTS_PER_STEP);
    assert!(!c.has_outbox_room());
    assert_eq!(
        c.handle_report(ms(2), Report::crashed(1)),
        Err(ReportError::OutboxFull)
    );
    let mut events = Vec::new();
    drain(&mut c, &mut events);
    assert_eq!(events.len(), MAX_EVENTS_PER_STEP);
    assert!(matches!(events[1], Event::QuorumLost(_)));
    assert!(matches!(events[4], Event::Escalated(_)));
    assert_eq!(c.stats().events_dropped, 0);
    // An outbox smaller than one step is refused.
    let e = Boxed::<_, { MAX_EVENTS_PER_STEP - 1 }>::new(
        Config::default(),
        boxed_storage(2),
        2,
        t,
        ms(0),
    )
    .unwrap_err();
    assert_eq!(
        e,
        NewError::OutboxTooSmall {
            capacity: MAX_EVENTS_PER_STEP - 1,
            needed: MAX_EVENTS_PER_STEP
        }
    );
}

/// What can be observed of a coordinator, to show that a refused input changed nothing.
type Snapshot = (
    ftforest_core::coord::Stats,
    Vec<(Health, u32, PartitionSlot)>,
    Option<Instant>,
    usize,
);

fn snapshot<G: OpGate, const E: usize>(c: &Boxed<G, E>) -> Snapshot {
    let parts = (0..c.len())
        .map(|r| {
            let (h, i) = c.health(r).unwrap();
            (h, i, *c.partition(r).unwrap())
        })
        .collect();
    (c.stats(), parts, c.poll_timeout(), c.pending_events())
}

/// `handle_report`, `phase_done` and `retry` without room: `OutboxFull`, nothing changed (not
/// even the report counters or the latest `now`); after a drain the same call succeeds.
#[test]
fn a_refused_input_changes_nothing() {
    let cfg = Config::builder().max_retries(0).build().unwrap();
    let t: Arc<Tracker> = Arc::new(Tracker::new());
    let mut c = Boxed::<_, 16>::new(cfg, boxed_storage(9), 9, t, ms(0)).unwrap();
    let mut events = Vec::new();
    // Partition 8 exhausts its retries (max_retries 0): it waits for `retry`.
    c.handle_report(ms(1), Report::crashed(8)).unwrap();
    let mut job = None;
    while let Some(a) = c.poll_action() {
        if let Action::RunPhase(j) = a {
            job = Some(j);
        }
    }
    let j = job.unwrap();
    c.phase_done(ms(2), j.rank, j.attempt, j.phase, false)
        .unwrap();
    drain(&mut c, &mut events);
    // Partition 0 recovers; keep its first phase job.
    c.handle_report(ms(3), Report::crashed(0)).unwrap();
    let mut job = None;
    while let Some(a) = c.poll_action() {
        if let Action::RunPhase(j) = a {
            job = Some(j);
        }
    }
    let j = job.unwrap();
    // Fill the outbox with suspicions until a report is refused.
    let mut r = 1;
    loop {
        match c.handle_report(ms(4), Report::barrier_timeout(r)) {
            Ok(_) => r = r % 7 + 1,
            Err(ReportError::OutboxFull) => break,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(!c.has_outbox_room());
    let before = snapshot(&c);
    assert_eq!(
        c.handle_report(ms(99), Report::barrier_timeout(r)),
        Err(ReportError::OutboxFull)
    );
    assert_eq!(
        c.phase_done(ms(99), j.rank, j.attempt, j.phase, true),
        Err(PhaseDoneError::OutboxFull)
    );
    assert_eq!(c.retry(ms(99), 8), Err(RetryError::OutboxFull));
    // Validation errors still come first and change nothing either.
    assert_eq!(
        c.handle_report(ms(99), Report::crashed(77)),
        Err(ReportError::UnknownPartition)
    );
    assert_eq!(
        snapshot(&c),
        before,
        "a refused input changed the coordinator"
    );
    drain(&mut c, &mut events);
    c.handle_report(ms(5), Report::barrier_timeout(r)).unwrap();
    c.phase_done(ms(5), j.rank, j.attempt, j.phase, true)
        .unwrap();
    c.retry(ms(5), 8).unwrap();
    drain(&mut c, &mut events);
    assert_chains_match(&c, &events);
    assert_eq!(c.stats().events_dropped, 0);
}

/// A tick without room stops early, leaves the rest for the next tick and says so: its
/// `poll_timeout` is "now" until the work is done, and nothing is lost.
#[test]
fn a_tick_without_room_defers_and_resumes() {
    let n = 20;
    let t: Arc<Tracker> = Arc::new(Tracker::new());
    let mut c = Boxed::<_, 8>::new(Config::default(), boxed_storage(n), n, t, ms(0)).unwrap();
    c.tick(ms(0));
    assert_eq!(c.poll_timeout(), None);
    let mut events = Vec::new();
    for r in 0..5 {
        for _ in 0..2 {
            c.handle_report(ms(1), Report::barrier_timeout(r)).unwrap();
            drain(&mut c, &mut events);
        }
    }
    assert_eq!(c.counts().suspected, 5);
    let due = c.poll_timeout().unwrap();
    assert_eq!(due, ms(5001));
    // Leave four events (suspicions not due yet) in the outbox: no room for a step.
    for r in 6..10 {
        for _ in 0..2 {
            c.handle_report(ms(2), Report::barrier_timeout(r)).unwrap();
        }
    }
    assert_eq!(c.pending_events(), 4);
    assert!(!c.has_outbox_room());
    c.tick(due);
    assert!(c.has_deferred_work());
    assert_eq!(c.poll_timeout(), Some(due), "deferred work is due now");
    assert_eq!(c.counts().suspected, 9, "nothing confirmed without room");
    let mut ticks = 0;
    while c.has_deferred_work() {
        drain(&mut c, &mut events);
        c.tick(due);
        ticks += 1;
        assert!(ticks < 100);
    }
    assert!(ticks > 1, "one step at a time through an outbox of 8");
    drain(&mut c, &mut events);
    let c5 = c.counts();
    assert_eq!(c5.suspected, 4, "partitions 6 to 9 are not due yet");
    assert_eq!(c5.failed + c5.recovering, 5);
    assert_chains_match(&c, &events);
    assert_eq!(c.stats().events_dropped, 0);
}

// ---- the bound holds on random runs ----

/// A gate that can be told to refuse `close` (as a tracker out of pause slots would).
struct FlakyGate {
    t: Tracker,
    refuse: Cell<bool>,
}

impl OpGate for FlakyGate {
    fn close(&self) -> Result<PauseToken, PauseError> {
        if self.refuse.get() {
            return Err(PauseError::TooManyPausers);
        }
        self.t.pause_token()
    }
    fn reopen(&self, token: PauseToken) -> Result<(), ResumeError> {
        self.t.resume_token(token)
    }
    fn is_quiescent(&self) -> bool {
        self.t.is_quiescent()
    }
    fn in_flight(&self) -> u32 {
        self.t.in_flight()
    }
}

#[derive(Clone, Debug)]
enum Op {
    Report(u8, u32),
    Tick(u16),
    /// Complete the i-th outstanding phase job, ok or not.
    Phase(u8, bool),
    Retry(u32),
    /// Drain this many events (255 = all).
    Drain(u8),
    /// Begin (true) or end (false) a forest operation.
    Forest(bool),
    RefuseClose(bool),
}

fn op(n: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..8, 0..n).prop_map(|(k, r)| Op::Report(k, r)),
        3 => (0u16..4000).prop_map(Op::Tick),
        4 => (0u8..4, proptest::bool::weighted(0.8)).prop_map(|(i, ok)| Op::Phase(i, ok)),
        1 => (0..n).prop_map(Op::Retry),
        4 => (0u8..8).prop_map(|k| Op::Drain(if k == 7 { 255 } else { k })),
        1 => proptest::bool::ANY.prop_map(Op::Forest),
        1 => proptest::bool::weighted(0.2).prop_map(Op::RefuseClose),
    ]
}

fn config(variant: u8) -> Config {
    let b = Config::builder()
        .max_concurrent(2)
        .max_retries(u32::from(variant % 3))
        .recovery_timeout(Duration::from_millis(300))
        .failure_confirmation(Duration::from_millis(200))
        .pause_timeout(Duration::from_millis(if variant.is_multiple_of(4) {
            0
        } else {
            150
        }))
        .backoff_base(Duration::from_millis(if variant.is_multiple_of(5) {
            0
        } else {
            50
        }))
        .pause_timeout_policy(if variant.is_multiple_of(2) {
            PauseTimeoutPolicy::AbortAndRetry
        } else {
            PauseTimeoutPolicy::Proceed
        });
    let b = if variant % 3 == 1 {
        b.heartbeat(
            HeartbeatConfig::DEFAULT
                .with_mode(HeartbeatMode::Interval)
                .with_interval(Duration::from_millis(100))
                .with_suspect_timeout(Duration::from_millis(300))
                .with_failure_timeout(Duration::from_millis(900)),
        )
    } else {
        b
    };
    b.build().unwrap()
}

/// Drive a coordinator with outbox `E` through `ops`; after every call no event was dropped,
/// and at the end every partition's story matches its state.
fn run_random<const E: usize>(n: u32, variant: u8, ops: &[Op]) -> Result<(), TestCaseError> {
    let gate = FlakyGate {
        t: Tracker::new(),
        refuse: Cell::new(false),
    };
    let mut c =
        Boxed::<&FlakyGate, E>::new(config(variant), boxed_storage(n), n, &gate, ms(0)).unwrap();
    let mut events = Vec::new();
    let mut jobs = Vec::new();
    let mut in_flight = Vec::new();
    let mut now = 0u64;
    for op in ops {
        match *op {
            Op::Report(k, r) => {
                let kind = ReportKind::ALL[usize::from(k) % ReportKind::ALL.len()];
                match c.handle_report(ms(now), Report::new(kind, r)) {
                    Ok(_) | Err(ReportError::OutboxFull) => {}
                    Err(e) => prop_assert!(false, "{e:?}"),
                }
            }
            Op::Tick(d) => {
                now += u64::from(d);
                c.tick(ms(now));
            }
            Op::Phase(i, ok) => {
                if !jobs.is_empty() {
                    let j: ftforest_core::coord::PhaseJob =
                        jobs.remove(usize::from(i) % jobs.len());
                    let _ = c.phase_done(ms(now), j.rank, j.attempt, j.phase, ok);
                }
            }
            Op::Retry(r) => {
                let _ = c.retry(ms(now), r);
            }
            Op::Drain(k) => {
                for _ in 0..k {
                    match c.poll_event() {
                        Some(e) => events.push(e),
                        None => break,
                    }
                }
            }
            Op::Forest(true) => {
                if let Ok(t) = gate.t.begin_token() {
                    in_flight.push(t);
                }
            }
            Op::Forest(false) => {
                if let Some(t) = in_flight.pop() {
                    let _ = gate.t.end_token(t);
                }
            }
            Op::RefuseClose(b) => gate.refuse.set(b),
        }
        while let Some(a) = c.poll_action() {
            if let Action::RunPhase(j) = a {
                jobs.push(j);
            }
        }
        prop_assert_eq!(c.stats().events_dropped, 0, "dropped after {:?}", op);
    }
    drain(&mut c, &mut events);
    prop_assert_eq!(c.stats().events_dropped, 0);
    assert_chains_match(&c, &events);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 2 } else { 48 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// No step emits more than `MAX_EVENTS_PER_STEP`: with outboxes of exactly the bound and
    /// a little more (where nested steps run), random runs never drop an event.
    #[test]
    fn the_bound_holds_on_random_runs(
        variant in 0u8..60,
        ops in proptest::collection::vec(op(6), 0..if cfg!(miri) { 40 } else { 200 }),
    ) {
        run_random::<MAX_EVENTS_PER_STEP>(6, variant, &ops)?;
        run_random::<{ MAX_EVENTS_PER_STEP + 1 }>(6, variant, &ops)?;
        run_random::<{ MAX_EVENTS_PER_STEP + 3 }>(6, variant, &ops)?;
        run_random::<{ 2 * MAX_EVENTS_PER_STEP + 1 }>(6, variant, &ops)?;
    }
}

/// A boxed coordinator (the FFI's kind) with default `E` still accepts its inputs.
#[test]
fn default_outbox_is_roomy() {
    let t: Arc<Tracker> = Arc::new(Tracker::new());
    let c = BoxedCoordinator::<_>::new_boxed(Config::default(), 4, t, ms(0)).unwrap();
    assert!(c.has_outbox_room() && !c.has_deferred_work());
}
