//! Footprint probes: each function uses one layer of the core's API surface with inputs the
//! optimiser cannot see through (`black_box`), so the image links what an embedder of that
//! layer links. The `fp-*` images call them cumulatively; scripts/footprint.sh takes the
//! differences of their `.text + .rodata` from `fp-base`, and the RAM from the sizes of the
//! `FTF_FP_*` statics (`nm -S`).

use core::hint::black_box;
use core::mem::MaybeUninit;
use core::time::Duration;

use ftforest_core::coord::{
    Action, Config, Coordinator, Event, HeartbeatConfig, HeartbeatMode, PartitionSlot, Report,
    Storage,
};
use ftforest_core::{
    queue_storage_len, Health, HealthCell, Instant, LockSlot, PartitionTable, QueueSlot,
    RecoveryLock, RecoveryQueue, SpinWait, Tracker,
};

use crate::cell::Singleton;

/// Partitions of the probes (the goal is stated for 64).
pub const N: u32 = 64;
const NU: usize = N as usize;
const QLEN: usize = queue_storage_len(N, N);

/// The tracker of the probes: one stripe (one core).
#[no_mangle]
pub static FTF_FP_TRACKER: Tracker<SpinWait, 1> = Tracker::new();
/// Health cells, 4 B per partition.
#[no_mangle]
pub static FTF_FP_CELLS: [HealthCell; NU] = [const { HealthCell::new() }; NU];
/// Recovery-lock slots, 4 B per partition.
#[no_mangle]
pub static FTF_FP_LOCKS: [LockSlot; NU] = [const { LockSlot::new() }; NU];
/// Recovery-queue ring + membership bits, 4.125 B per partition.
#[no_mangle]
pub static FTF_FP_QUEUE: [QueueSlot; QLEN] = [const { QueueSlot::new() }; QLEN];
/// Coordinator slots, 40 B per partition (uninitialised: in `.bss`, not `.data`;
/// `coordinator` writes them before use).
#[no_mangle]
pub static FTF_FP_SLOTS: Singleton<MaybeUninit<[PartitionSlot; NU]>> =
    Singleton::new(MaybeUninit::uninit());

/// The coordinator type of the probes: 64 partitions, 2 recovery slots, 8 outbox events.
pub type ProbeCoord = Coordinator<
    &'static [HealthCell; NU],
    &'static [LockSlot; NU],
    &'static [QueueSlot; QLEN],
    &'static mut [PartitionSlot; NU],
    &'static Tracker<SpinWait, 1>,
    2,
    8,
>;

/// The coordinator object itself (fixed size, independent of `N`).
#[no_mangle]
pub static FTF_FP_COORD: Singleton<MaybeUninit<ProbeCoord>> = Singleton::new(MaybeUninit::uninit());

/// Tracker + health cell + partition table.
#[inline(never)]
pub fn tracker_health_table() {
    let t = black_box(&FTF_FP_TRACKER);
    if let Ok(g) = t.begin() {
        black_box(&g);
    }
    if let Ok(tok) = t.begin_token() {
        let _ = black_box(t.end_token(black_box(tok)));
    }
    if let Ok(p) = t.pause_token() {
        black_box((t.is_quiescent(), t.in_flight(), t.is_paused()));
        let _ = black_box(t.resume_token(black_box(p)));
    }
    let cells = black_box(&FTF_FP_CELLS);
    if let Ok(table) = PartitionTable::new(cells, black_box(N)) {
        let rank = black_box(3);
        let _ = black_box(table.transition(rank, None, black_box(Health::Suspected), None));
        let _ = black_box(table.get(rank));
        black_box((table.counts(), table.has_quorum(), table.scan()));
    }
}

/// Recovery lock + recovery queue.
#[inline(never)]
pub fn lock_queue() {
    if let Ok(lock) = RecoveryLock::new(black_box(&FTF_FP_LOCKS), black_box(N), black_box(2)) {
        if let Ok(p) = lock.try_acquire(black_box(1), black_box(true)) {
            let _ = black_box(lock.release_token(black_box(p.into_token())));
        }
        black_box((lock.active(), lock.is_recovering(black_box(1))));
    }
    if let Ok(q) = RecoveryQueue::new(black_box(&FTF_FP_QUEUE), black_box(N)) {
        let _ = black_box(q.push(black_box(5)));
        black_box((q.contains(black_box(5)), q.len(), q.remove(black_box(6))));
        let _ = black_box(q.pop());
    }
}

/// The whole coordinator: construction, inputs, polls, getters.
///
/// Split in two frames that are never live together: [`build_coordinator`] (the value and
/// `Coordinator::new`'s `Result`, a few KiB each) returns before [`drive_coordinator`] runs.
/// As one inlined function the frame held every copy of the value at once (9 KiB painted on
/// thumbv7em), which overflowed the micro:bit's 16 KiB RAM into the statics.
#[inline(never)]
pub fn coordinator() {
    if let Some(c) = build_coordinator() {
        drive_coordinator(c);
    }
}

/// Construction: the slots, the configuration and `Coordinator::new`, moved once into the
/// `FTF_FP_COORD` static.
#[inline(never)]
fn build_coordinator() -> Option<&'static mut ProbeCoord> {
    let (Some(home), Some(slots)) = (FTF_FP_COORD.take(), FTF_FP_SLOTS.take()) else {
        return None;
    };
    let first = slots.as_mut_ptr().cast::<PartitionSlot>();
    for i in 0..NU {
        // SAFETY: `i < NU`: inside the array; each element is written once.
        unsafe { first.add(i).write(PartitionSlot::new()) };
    }
    // SAFETY: every element was written above.
    let slots = unsafe { slots.assume_init_mut() };
    let hb = HeartbeatConfig::DEFAULT
        .with_mode(black_box(HeartbeatMode::Interval))
        .with_interval(Duration::from_millis(10))
        .with_suspect_timeout(Duration::from_millis(30))
        .with_failure_timeout(Duration::from_millis(60))
        .with_max_local_pause(Duration::from_millis(100));
    let cfg = Config::builder()
        .heartbeat(hb)
        .max_concurrent(2)
        .build()
        .ok()?;
    let storage = Storage {
        cells: &FTF_FP_CELLS,
        locks: &FTF_FP_LOCKS,
        queue: &FTF_FP_QUEUE,
        slots,
    };
    let now = black_box(Instant::from_millis(1));
    let c = Coordinator::new(cfg, storage, N, &FTF_FP_TRACKER, now).ok()?;
    Some(home.write(c))
}

/// Inputs, polls and getters on the constructed coordinator (a frame of its own).
#[inline(never)]
fn drive_coordinator(c: &mut ProbeCoord) {
    let now = black_box(Instant::from_millis(1));
    let _ = black_box(c.handle_report(now, black_box(Report::barrier_timeout(7))));
    c.tick(black_box(Instant::from_millis(100)));
    while let Some(a) = c.poll_action() {
        if let Action::RunPhase(j) = a {
            let _ = black_box(c.phase_done(now, j.rank, j.attempt, j.phase, black_box(true)));
        }
    }
    while let Some(e) = c.poll_event() {
        black_box::<&Event>(&e);
    }
    let _ = black_box(c.retry(now, black_box(7)));
    let _ = black_box((
        c.poll_timeout(),
        c.stats(),
        c.health(black_box(7)),
        c.has_quorum(),
    ));
}

/// A footprint image: the entry point, stack paint, the given probe layers, the painted
/// depth on the console, exit. `probe_image!("fp-coord", tracker_health_table, lock_queue);`
#[macro_export]
macro_rules! probe_image {
    ($name:literal $(, $layer:ident)*) => {
        $crate::entry!(__ftf_probe_main);

        fn __ftf_probe_main() -> ! {
            $crate::stack::paint();
            $crate::board::start_timer();
            $($crate::probe::$layer();)*
            $crate::println!(concat!($name, " stack {}"), $crate::stack::max_depth());
            $crate::board::exit(0)
        }
    };
}
