//! Instruction counts of the hot paths, measured on the emulator (QEMU runs with
//! `-icount shift=0`: one instruction per nanosecond of virtual time).
//!
//! * RISC-V: `minstret` (exact instructions retired).
//! * Arm: the SysTick down-counter over a loop with interrupts masked, converted from core
//!   clock cycles to virtual nanoseconds = instructions (resolution: 40 instructions per
//!   SysTick cycle on mps2-an386, 62.5 on the micro:bit; averaged over the loop).
//!
//! These are instruction counts, not cycle-accurate timings (QEMU models no pipeline or
//! wait states).

use core::hint::black_box;

use ftforest_core::coord::Report;
use ftforest_core::{Instant, SpinWait, Tracker};
use ftforest_firmware::harness::TestResult;
use ftforest_firmware::{ensure, println};

use crate::coordinator::Coord;

/// Instructions per call of `f`, averaged over `iters` calls, interrupts masked. On Arm
/// the loop must stay under one SysTick period (100 000 instructions).
fn per_call(iters: u32, mut f: impl FnMut()) -> u32 {
    critical_section::with(|_| {
        let start = counter();
        for _ in 0..iters {
            f();
        }
        let end = counter();
        elapsed(start, end) / iters
    })
}

/// Instructions of an empty measured call (subtracted from every result).
fn overhead(iters: u32) -> u32 {
    per_call(iters, || {
        black_box(0);
    })
}

#[cfg(target_arch = "riscv32")]
fn counter() -> u32 {
    ftforest_firmware::board::instret()
}

#[cfg(target_arch = "riscv32")]
fn elapsed(start: u32, end: u32) -> u32 {
    end.wrapping_sub(start)
}

#[cfg(target_arch = "arm")]
fn counter() -> u32 {
    ftforest_firmware::board::timer_count()
}

/// SysTick counts down from `TICK_PERIOD - 1` and reloads; the loops here take well under
/// one period, so at most one reload happened.
#[cfg(target_arch = "arm")]
fn elapsed(start: u32, end: u32) -> u32 {
    let period = ftforest_firmware::TICK_PERIOD;
    let cycles = if start >= end {
        start - end
    } else {
        start + period - end
    };
    // Core cycles -> ns (= instructions at shift=0): 100 µs per period.
    cycles * 100_000 / period
}

static T: Tracker<SpinWait, 1> = Tracker::new();

/// begin + end (guard dropped) on a one-stripe tracker.
pub fn report() -> TestResult {
    let begin_end = per_call(64, || {
        if let Ok(g) = black_box(&T).begin() {
            black_box(&g);
        }
    })
    .saturating_sub(overhead(64));
    println!("cycles: begin+end = {} instructions", begin_end);
    ensure!(begin_end > 0, "counter advanced");
    Ok(())
}

/// One `handle_report(heartbeat)` and one `tick` with nothing due, on the live coordinator
/// of the coordinator test (64 partitions, interval heartbeats).
pub fn coordinator_steps(c: &mut Coord<'_>, now: Instant) -> TestResult {
    let report = per_call(1, || {
        let _ = black_box(c.handle_report(now, Report::heartbeat(3)));
    })
    .saturating_sub(overhead(1));
    let tick = per_call(1, || c.tick(now)).saturating_sub(overhead(1));
    println!(
        "cycles: coordinator handle_report(heartbeat) = {} instructions",
        report
    );
    println!(
        "cycles: coordinator tick (64 partitions, nothing due) = {} instructions",
        tick
    );
    ensure!(report > 0 && tick > 0, "counters advanced");
    Ok(())
}
