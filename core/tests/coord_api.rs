//! The coordinator's API contracts: memory per partition, construction errors, caller
//! storage without allocation, spurious ticks, adopted cells, phase
//! protocol errors and scale. (The outbox's backpressure has its own file,
//! `coord_backpressure.rs`.)
#![cfg(feature = "std")]

mod common;

use core::time::Duration;
use std::sync::Arc;

use common::{ms, Coord, Sim};
use ftforest_core::coord::{
    boxed_stats, boxed_storage, Action, Cause, Config, Coordinator, Event, NewError, PartitionSlot,
    Phase, PhaseDoneError, Report, Storage, BYTES_PER_PARTITION,
};
use ftforest_core::{
    queue_storage_len, Health, HealthCell, LockSlot, PartitionTable, QueueSlot, SpinWait,
    TableError, Tracker,
};

/// Per-partition state: 4 (health) + 4 (lock) + 4 (queue ring) + 40 (coordinator slot) = 52
/// bytes, plus one queue-membership bit. Goal: at most 64.
#[test]
fn bytes_per_partition_is_documented() {
    assert_eq!(core::mem::size_of::<PartitionSlot>(), 40);
    assert_eq!(core::mem::size_of::<HealthCell>(), 4);
    assert_eq!(core::mem::size_of::<LockSlot>(), 4);
    assert_eq!(core::mem::size_of::<QueueSlot>(), 4);
    assert_eq!(BYTES_PER_PARTITION, 52);
    // The queue's storage for n partitions is n ring entries plus n/32 bitset words.
    let n = 65_536u32;
    let total = n as usize * (BYTES_PER_PARTITION - 4) + queue_storage_len(n, n) * 4;
    assert_eq!(total, 65_536 * 52 + 2048 * 4);
    assert!(total <= 64 * n as usize);
}

#[test]
fn construction_errors_name_the_problem() {
    let t = Arc::new(Tracker::new());
    let cfg = Config::default();
    // R = 2 recovery slots cannot serve K = 3.
    let e = Coordinator::<_, _, _, _, _, 2, 16>::new(cfg, boxed_storage(4), 4, t.clone(), ms(0))
        .unwrap_err();
    assert!(matches!(e, NewError::Config(c) if c.field == "max_concurrent"));
    let mut st = boxed_storage(4);
    st.queue = (0..4).map(|_| QueueSlot::new()).collect();
    assert_eq!(
        Coord::new_with_stats(cfg, st, boxed_stats(4), 4, t.clone(), ms(0)).unwrap_err(),
        NewError::QueueTooSmall { capacity: 3, n: 4 }
    );
    let mut st = boxed_storage(4);
    st.slots = (0..3).map(|_| PartitionSlot::new()).collect();
    assert_eq!(
        Coord::new_with_stats(cfg, st, boxed_stats(4), 4, t.clone(), ms(0)).unwrap_err(),
        NewError::SlotsTooSmall { n: 4, len: 3 }
    );
    assert_eq!(
        Coord::new_with_stats(cfg, boxed_storage(4), boxed_stats(5), 5, t.clone(), ms(0))
            .unwrap_err(),
        NewError::Table(TableError::StorageTooSmall { n: 5, len: 4 })
    );
    assert!(matches!(
        Coord::new_with_stats(cfg, boxed_storage(1), boxed_stats(0), 0, t, ms(0)).unwrap_err(),
        NewError::Table(TableError::NoPartitions)
    ));
    assert!(
        std::format!("{}", NewError::SlotsTooSmall { n: 4, len: 3 }).contains("partition slots")
    );
}

const N: usize = 8;
static CELLS: [HealthCell; N] = [const { HealthCell::new() }; N];
static LOCKS: [LockSlot; N] = [const { LockSlot::new() }; N];
static QUEUE: [QueueSlot; queue_storage_len(N as u32, N as u32)] =
    [const { QueueSlot::new() }; queue_storage_len(N as u32, N as u32)];
static TRACKER: Tracker<SpinWait, 2> = Tracker::new();

/// `static` arrays and borrowed slices: how an embedded target without an allocator uses it.
#[test]
fn static_storage_without_allocation() {
    let mut slots = [PartitionSlot::new(); N];
    let storage = Storage {
        cells: &CELLS[..],
        locks: &LOCKS[..],
        queue: &QUEUE[..],
        slots: &mut slots[..],
    };
    let mut c: Coordinator<_, _, _, _, _, 4, 32> =
        Coordinator::new(Config::default(), storage, N as u32, &TRACKER, ms(0)).unwrap();
    c.handle_report(ms(1), Report::crashed(5)).unwrap();
    let mut phases = 0;
    while let Some(a) = c.poll_action() {
        if let Action::RunPhase(j) = a {
            phases += 1;
            c.phase_done(ms(2), j.rank, j.attempt, j.phase, true)
                .unwrap();
        }
    }
    assert_eq!(phases, 4);
    assert_eq!(c.health(5).unwrap(), (Health::Healthy, 1));
    assert!(!TRACKER.is_paused());
}

/// A tick with nothing due changes nothing and emits nothing; `poll_timeout` is stable.
#[test]
fn spurious_ticks_are_no_ops() {
    let mut s = Sim::new(5, Config::default());
    s.tick(100);
    assert!(s.events.is_empty() && s.actions.is_empty());
    assert_eq!(s.c.poll_timeout(), None);
    s.suspect(1, 200);
    let due = s.c.poll_timeout().unwrap();
    assert_eq!(due, ms(250 + 5000));
    let before = s.events.len();
    for t in [300, 1000, 5249] {
        s.c.tick(ms(t));
        s.pump();
    }
    assert_eq!(s.events.len(), before);
    assert_eq!(s.c.poll_timeout(), Some(due));
    assert_eq!(s.health(1), Health::Suspected);
}

/// Storage belongs to one coordinator at a time: a second coordinator over the lock and
/// queue storage of a live one is refused (nothing of the first is reset), and dropping the
/// first releases its permits, its queued ranks and its pause, so the storage serves a
/// successor, which adopts the interrupted recoveries from the health cells.
#[test]
fn storage_passes_from_one_coordinator_to_the_next() {
    let n = 6u32;
    let st = boxed_storage(n);
    let mut other: Vec<PartitionSlot> = (0..n).map(|_| PartitionSlot::new()).collect();
    let mut slots: Vec<PartitionSlot> = (0..n).map(|_| PartitionSlot::new()).collect();
    let t: Arc<Tracker> = Arc::new(Tracker::new());
    let storage = |slots| Storage {
        cells: &st.cells[..],
        locks: &st.locks[..],
        queue: &st.queue[..],
        slots,
    };
    let mut third: Vec<PartitionSlot> = (0..n).map(|_| PartitionSlot::new()).collect();
    let cfg = Config::builder().max_concurrent(1).build().unwrap();
    let mut first: Coordinator<_, _, _, _, _, 8, 256> =
        Coordinator::new(cfg, storage(&mut slots[..]), n, t.clone(), ms(0)).unwrap();
    first.handle_report(ms(1), Report::crashed(1)).unwrap();
    first.handle_report(ms(1), Report::crashed(2)).unwrap();
    assert!(first.is_queued(2));
    assert_eq!(first.in_progress(), 1);
    assert!(t.is_paused());
    let e = Coordinator::<_, _, _, _, _, 8, 256>::new(
        cfg,
        storage(&mut other[..]),
        n,
        t.clone(),
        ms(2),
    )
    .unwrap_err();
    assert!(matches!(
        e,
        NewError::Lock(ftforest_core::LockConfigError::StorageInUse { rank: 1 })
    ));
    assert!(
        first.is_queued(2) && first.in_progress() == 1,
        "the live one is untouched"
    );
    drop(first);
    assert!(!t.is_paused(), "the pause was given back");
    let mut next: Coordinator<_, _, _, _, _, 8, 256> =
        Coordinator::new(cfg, storage(&mut third[..]), n, t.clone(), ms(3)).unwrap();
    assert_eq!(next.health(1).unwrap().0, Health::Recovering);
    assert_eq!(next.health(2).unwrap().0, Health::Failed);
    next.tick(ms(3));
    // The first tick scans in rank order: rank 1 (interrupted) is failed and starts again,
    // rank 2 waits in the new queue for the one permit.
    assert_eq!(next.health(1).unwrap().0, Health::Recovering);
    assert_eq!(next.health(2).unwrap().0, Health::Failed);
    assert!(next.is_queued(2));
    assert!(t.is_paused());
}

/// Cells that are not fresh are adopted: SUSPECTED gets a confirmation window, FAILED is
/// scheduled on the first tick, RECOVERING (an interrupted recovery) is failed.
#[test]
fn adopts_non_fresh_cells() {
    let mut st = boxed_storage(7);
    {
        let table = PartitionTable::new(&st.cells[..], 7).unwrap();
        table.transition(1, None, Health::Suspected, None).unwrap();
        table.transition(2, None, Health::Suspected, None).unwrap();
        table.transition(2, None, Health::Failed, None).unwrap();
        for h in [Health::Suspected, Health::Failed, Health::Recovering] {
            table.transition(3, None, h, None).unwrap();
        }
    }
    st.slots[0] = PartitionSlot::new();
    let t = Arc::new(Tracker::new());
    let mut c =
        Coord::new_with_stats(Config::default(), st, boxed_stats(7), 7, t, ms(1000)).unwrap();
    // Construction emits nothing; the first tick (due at once) fails the interrupted
    // recovery with its one event, then schedules it like any FAILED partition.
    assert_eq!(c.poll_event(), None);
    assert_eq!(c.poll_timeout(), Some(ms(1000)));
    c.tick(ms(1000));
    let events: Vec<Event> = core::iter::from_fn(|| c.poll_event()).collect();
    let of_3: Vec<(Health, Health, Cause)> = events
        .iter()
        .filter_map(|e| match e {
            Event::StatusChanged(s) if s.rank == 3 => Some((s.from, s.to, s.cause)),
            _ => None,
        })
        .collect();
    assert_eq!(
        of_3,
        [
            (Health::Recovering, Health::Failed, Cause::RecoveryFailed),
            (Health::Failed, Health::Recovering, Cause::RecoveryStarted)
        ]
    );
    assert_eq!(c.health(2).unwrap().0, Health::Recovering);
    assert_eq!(c.health(3).unwrap().0, Health::Recovering);
    assert_eq!(c.health(1).unwrap().0, Health::Suspected);
    c.tick(ms(5999));
    assert_eq!(c.health(1).unwrap().0, Health::Suspected);
    c.tick(ms(6000));
    // Confirmed and, with quorum and a free slot, recovering at once.
    assert_eq!(c.health(1).unwrap().0, Health::Recovering);
    assert_eq!(c.stats().failures_detected, 1);
}

/// The phase protocol: a phase must be handed out before it is reported; the recovery
/// timeout counts from the first phase, not from the pause.
#[test]
fn phase_protocol_and_timeout_origin() {
    // Under Miri, poll quiescence every 100 ms instead of 10 (40 ticks until 4 s, not 400).
    let poll = Duration::from_millis(if cfg!(miri) { 100 } else { 10 });
    let cfg = Config::builder().quiescence_poll(poll).build().unwrap();
    let mut s = Sim::new(5, cfg);
    s.auto = false;
    let gate = s.tracker.clone();
    let op = gate.begin().unwrap();
    s.report(0, Report::crashed(2));
    let (id, _, phase) = s.c.recovery(2).unwrap();
    assert_eq!(phase, Phase::Idle);
    assert_eq!(
        s.c.phase_done(ms(1), 2, id, Phase::Detecting, true),
        Err(PhaseDoneError::StaleAttempt)
    );
    s.tick(4000);
    drop(op);
    s.tick(4001);
    // Quiescent at 4001: phases start now; the 30 s recovery timeout runs from here.
    assert_eq!(s.c.recovery(2).unwrap().2, Phase::Detecting);
    s.jump(34_000);
    assert_eq!(s.health(2), Health::Recovering);
    s.jump(34_001);
    assert_eq!(s.health(2), Health::Failed);
    assert_eq!(s.cancelled.len(), 1);
    // Unknown ranks are refused.
    assert_eq!(
        s.c.phase_done(ms(34_002), 9, id, Phase::Detecting, true),
        Err(PhaseDoneError::UnknownPartition)
    );
}

/// 65,536 partitions: a report's decision path works at scale, a healthy coordinator has
/// nothing to tick, and quorum counting stays O(1).
#[test]
#[cfg_attr(
    miri,
    ignore = "its point is scale: 65,536 partitions take minutes under Miri"
)]
fn sixty_five_thousand_partitions() {
    let n = 65_536;
    let t = Arc::new(Tracker::new());
    let mut c = Coord::new_boxed(Config::default(), n, t, ms(0)).unwrap();
    c.tick(ms(0));
    assert_eq!(c.poll_timeout(), None);
    for r in (0..n).step_by(4096) {
        c.handle_report(ms(1), Report::crashed(r)).unwrap();
    }
    let st = c.stats();
    assert_eq!((st.recovering, st.failed, st.queue_depth), (3, 13, 13));
    assert!(c.has_quorum());
    c.tick(ms(Duration::from_secs(1).as_millis() as u64));
    assert_eq!(c.stats().failed, 13);
}
