//! The sans-io coordinator on target: 64 partitions in `static` caller storage, the tick
//! clock driven by the timer interrupt, forest operations running in the interrupt on the
//! tracker the coordinator closes. Two partitions fail: rank 5 by two barrier timeouts, rank
//! 9 by heartbeat silence (interval detector); both are recovered through every phase while
//! the gate is closed and quiescent, then the forest runs again.

use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU32, Ordering::*};
use core::time::Duration;

use ftforest_core::coord::{
    Action, Config, ConfigField, Coordinator, Event, HeartbeatConfig, HeartbeatMode, PartitionSlot,
    PhaseJob, Report, Storage,
};
use ftforest_core::{
    queue_storage_len, BeginError, Clock, Health, HealthCell, Instant, LockSlot, QueueSlot,
    SpinWait, Tracker,
};
use ftforest_firmware::cell::Singleton;
use ftforest_firmware::harness::{Failure, TestResult};
use ftforest_firmware::{board, bump, ensure, set_hook, TickClock};

pub const N: u32 = 64;
const NU: usize = N as usize;
pub const QLEN: usize = queue_storage_len(N, N);
const BAD: u32 = 5;
const SILENT: u32 = 9;

/// The coordinator as the firmware builds it: 64 partitions, 2 recovery slots, 16 events.
pub type Coord<'a> = Coordinator<
    &'a [HealthCell; NU],
    &'a [LockSlot; NU],
    &'a [QueueSlot; QLEN],
    &'a mut [PartitionSlot; NU],
    &'a Tracker<SpinWait, 1>,
    2,
    16,
>;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Fast timings in tick-clock milliseconds (one tick = 1 ms).
pub fn config() -> Option<Config> {
    Config::builder()
        .reports_before_suspicion(2)
        .failure_confirmation(ms(20))
        .heartbeat(
            HeartbeatConfig::DEFAULT
                .with_mode(HeartbeatMode::Interval)
                .with_interval(ms(10))
                .with_suspect_timeout(ms(30))
                .with_failure_timeout(ms(60))
                .with_max_local_pause(ms(100)),
        )
        .max_concurrent(2)
        .recovery_timeout(ms(500))
        .pause_timeout(ms(100))
        .quiescence_poll(ms(1))
        .backoff_base(ms(10))
        .backoff_cap(ms(50))
        .build()
        .ok()
}

/// Shared storage for one coordinator (its per-partition slots are a `Singleton`).
pub struct Cells {
    pub cells: [HealthCell; NU],
    pub locks: [LockSlot; NU],
    pub queue: [QueueSlot; QLEN],
}

impl Cells {
    pub const fn new() -> Self {
        Cells {
            cells: [const { HealthCell::new() }; NU],
            locks: [const { LockSlot::new() }; NU],
            queue: [const { QueueSlot::new() }; QLEN],
        }
    }
}

/// A coordinator over `cells` and `slots`, closing `gate`, started at `now`, moved into
/// `home` (a `static`: a 3.6 KiB coordinator is no stack variable on a 16 KiB part; not
/// inlined, so the temporaries of `Coordinator::new` leave the stack when it returns).
#[inline(never)]
pub fn build(
    home: &'static mut MaybeUninit<Coord<'static>>,
    cells: &'static Cells,
    slots: &'static mut [PartitionSlot; NU],
    gate: &'static Tracker<SpinWait, 1>,
    now: Instant,
) -> Option<&'static mut Coord<'static>> {
    let storage = Storage {
        cells: &cells.cells,
        locks: &cells.locks,
        queue: &cells.queue,
        slots,
    };
    let config = config()?;
    match Coordinator::new(config, storage, N, gate, now) {
        Ok(c) => Some(home.write(c)),
        Err(_) => None,
    }
}

/// Fresh per-partition slots for one coordinator.
pub type Slots = Singleton<[PartitionSlot; NU]>;
/// Fresh slots, `const`.
pub const fn slots() -> Slots {
    Singleton::new([const { PartitionSlot::new() }; NU])
}

static CELLS: Cells = Cells::new();
static SLOTS: Slots = slots();
static HOME: Singleton<MaybeUninit<Coord<'static>>> = Singleton::new(MaybeUninit::uninit());
static GATE: Tracker<SpinWait, 1> = Tracker::new();
static ADMITTED: AtomicU32 = AtomicU32::new(0);
static REFUSED: AtomicU32 = AtomicU32::new(0);

/// The forest: two operations per tick, begun and ended inside the handler.
fn forest_hook() {
    for _ in 0..2 {
        match GATE.begin() {
            Ok(op) => {
                core::hint::black_box(&op);
                bump(&ADMITTED);
            }
            Err(BeginError::Paused) => bump(&REFUSED),
            Err(_) => {}
        }
    }
}

/// The embedder's side: hooks, running phases, what it saw.
struct Embedder {
    balancer_paused: bool,
    ghost_paused: bool,
    jobs: [Option<(Instant, PhaseJob)>; 2],
    finished: [bool; NU],
    phases: u32,
    to_healthy: u32,
}

impl Embedder {
    fn drain(&mut self, c: &mut Coord<'_>, now: Instant) -> TestResult {
        while let Some(a) = c.poll_action() {
            match a {
                Action::PauseBalancer => {
                    ensure!(!self.balancer_paused, "no double pause");
                    self.balancer_paused = true;
                }
                Action::ResumeBalancer => {
                    ensure!(self.balancer_paused, "no resume without pause");
                    self.balancer_paused = false;
                }
                Action::PauseGhostSync => self.ghost_paused = true,
                Action::ResumeGhostSync => self.ghost_paused = false,
                Action::RunPhase(job) => {
                    ensure!(
                        self.balancer_paused && self.ghost_paused,
                        "phases run with the balancer and ghost sync paused"
                    );
                    ensure!(
                        GATE.is_paused() && GATE.in_flight() == 0,
                        "phases run with the gate closed and quiescent"
                    );
                    let Some(free) = self.jobs.iter_mut().find(|j| j.is_none()) else {
                        ensure!(false, "at most max_concurrent phases at once");
                        return Ok(());
                    };
                    *free = Some((now.saturating_add(ms(3)), job));
                    self.phases += 1;
                }
                Action::CancelRecovery(_) => ensure!(false, "no attempt times out here"),
                Action::AcquireFence(_) | Action::ReleaseFence(_) => {
                    ensure!(false, "the configuration is not fenced")
                }
            }
        }
        while let Some(e) = c.poll_event() {
            match e {
                Event::RecoveryFinished(f) => {
                    ensure!(f.success, "recovery succeeded");
                    if let Some(done) = self.finished.get_mut(f.rank as usize) {
                        *done = true;
                    }
                }
                Event::StatusChanged(s) if s.to == Health::Healthy => self.to_healthy += 1,
                _ => {}
            }
        }
        Ok(())
    }
}

fn fail(msg: &'static str) -> Failure {
    Failure {
        file: file!(),
        line: line!(),
        msg,
    }
}

/// Without the `phi-accrual` feature (the firmware's build) phi mode is a typed
/// configuration error, and the u128 code is not linked (footprint.py).
pub fn phi_needs_its_feature() -> TestResult {
    let hb = HeartbeatConfig::DEFAULT.with_mode(HeartbeatMode::Phi);
    ensure!(
        hb.validate().map_err(|e| e.field) == Err(ConfigField::HeartbeatMode),
        "phi mode refused on heartbeat.mode"
    );
    ensure!(
        Config::builder().heartbeat(hb).build().is_err(),
        "a config with phi mode does not build"
    );
    Ok(())
}

/// Without the `fence` feature (the firmware's build) a configuration asking for fenced
/// recovery, or for failures confirmed only from outside, is a typed configuration error.
pub fn fence_needs_its_feature() -> TestResult {
    ensure!(
        Config::builder().fenced(true).build().map_err(|e| e.field) == Err(ConfigField::Fenced),
        "fenced refused on fenced"
    );
    ensure!(
        Config::builder()
            .local_confirmation(false)
            .build()
            .map_err(|e| e.field)
            == Err(ConfigField::LocalConfirmation),
        "local_confirmation(false) refused on local_confirmation"
    );
    Ok(())
}

pub fn recovers_on_timer_clock() -> TestResult {
    let clock = TickClock;
    let start = clock.now();
    let slots = SLOTS.take().ok_or(fail("the test runs once"))?;
    let home = HOME.take().ok_or(fail("the test runs once"))?;
    let c =
        build(home, &CELLS, slots, &GATE, start).ok_or(fail("coordinator over static storage"))?;
    set_hook(Some(forest_hook));
    let mut e = Embedder {
        balancer_paused: false,
        ghost_paused: false,
        jobs: [None; 2],
        finished: [false; NU],
        phases: 0,
        to_healthy: 0,
    };
    let mut next_heartbeat = start;
    let mut reported = false;
    loop {
        board::wait_for_interrupt();
        let now = clock.now();
        if now >= next_heartbeat {
            for rank in 0..N {
                let failing = (rank == SILENT && !e.finished[SILENT as usize])
                    || (rank == BAD && reported && !e.finished[BAD as usize]);
                if failing {
                    continue;
                }
                e.drain(c, now)?;
                ensure!(
                    c.handle_report(now, Report::heartbeat(rank)).is_ok(),
                    "heartbeat"
                );
            }
            next_heartbeat = now.saturating_add(ms(10));
        }
        if !reported && now >= start.saturating_add(ms(50)) {
            for _ in 0..2 {
                e.drain(c, now)?;
                ensure!(
                    c.handle_report(now, Report::barrier_timeout(BAD)).is_ok(),
                    "report"
                );
            }
            reported = true;
        }
        if c.poll_timeout().is_some_and(|t| t <= now) {
            c.tick(now);
        }
        e.drain(c, now)?;
        for slot in e.jobs.iter_mut() {
            if let Some((due, job)) = *slot {
                if due <= now && c.has_outbox_room() {
                    ensure!(
                        c.phase_done(now, job.rank, job.attempt, job.phase, true)
                            .is_ok(),
                        "phase_done accepted"
                    );
                    *slot = None;
                }
            }
        }
        e.drain(c, now)?;
        let idle = e.jobs.iter().all(Option::is_none) && !e.balancer_paused;
        if e.finished[BAD as usize] && e.finished[SILENT as usize] && idle {
            break;
        }
    }
    set_hook(None);
    ensure!(
        c.health(BAD).map(|h| h.0) == Ok(Health::Healthy),
        "rank 5 healthy again"
    );
    ensure!(
        c.health(SILENT).map(|h| h.0) == Ok(Health::Healthy),
        "rank 9 healthy again"
    );
    ensure!(e.to_healthy == 2, "exactly two partitions came back");
    ensure!(e.phases >= 6, "both attempts ran their phases");
    ensure!(!GATE.is_paused(), "the gate reopened");
    ensure!(ADMITTED.load(Relaxed) > 0, "the forest ran");
    ensure!(
        REFUSED.load(Relaxed) > 0,
        "the forest was paused during recovery"
    );
    ensure!(c.has_quorum() && c.stats().healthy == N, "all 64 healthy");
    crate::cycles::coordinator_steps(c, clock.now())
}
