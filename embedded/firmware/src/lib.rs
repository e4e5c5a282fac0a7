//! # ftforest-firmware
//!
//! The board layer shared by the firmware images that run `ftforest-core` under QEMU
//! (issue 10): a timer interrupt that drives a tick clock and a per-test hook, a console
//! (semihosting on Arm, the 16550 UART on RISC-V `virt`), an exit code, a painted stack and
//! an instruction counter. Boards:
//!
//! | target | QEMU board | core | timer | console / exit |
//! | --- | --- | --- | --- | --- |
//! | `thumbv7em-none-eabihf` | `mps2-an386` | Cortex-M4F | SysTick | semihosting |
//! | `thumbv6m-none-eabi` | `microbit` | Cortex-M0 (no atomic RMW) | SysTick | semihosting |
//! | `riscv32imc-unknown-none-elf` | `virt` | rv32 (no atomic RMW) | CLINT `mtimecmp` | UART, SiFive test device |
//!
//! Single core, one interrupt level: the timer handler preempts `main`, never the other way
//! round. Cores without atomic read-modify-write get this crate's single-core
//! `critical-section` implementation (interrupts masked), which the core's atomics use.
#![no_std]
#![deny(missing_docs)]

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use ftforest_core::{Clock, Instant};

#[cfg(target_arch = "arm")]
#[path = "board/cortex_m.rs"]
pub mod board;

#[cfg(target_arch = "riscv32")]
#[path = "board/riscv.rs"]
pub mod board;

pub mod cell;
pub mod console;
pub mod harness;
pub mod probe;
pub mod stack;

/// Ticks of the timer since `start_timer` (written by the timer handler only).
static TICKS: AtomicU32 = AtomicU32::new(0);
/// The function the timer handler calls after counting the tick (`0` = none).
static HOOK: AtomicUsize = AtomicUsize::new(0);
/// Tick count after which the handler fails the run (`0` = no watchdog).
static WATCHDOG: AtomicU32 = AtomicU32::new(0);

/// Timer period in CPU clock cycles of the board (100 µs of emulated time on every board).
pub const TICK_PERIOD: u32 = board::CYCLES_PER_TICK;

/// The tick count (one tick = one millisecond of the tick clock, see [`TickClock`]).
pub fn ticks() -> u32 {
    TICKS.load(Ordering::Acquire)
}

/// Called by the board's timer handler, in interrupt context.
pub(crate) fn on_tick() {
    // Single writer (this handler, which does not nest): load + store, no RMW needed.
    let t = TICKS.load(Ordering::Relaxed).wrapping_add(1);
    TICKS.store(t, Ordering::Release);
    let hook = HOOK.load(Ordering::Acquire);
    if hook != 0 {
        // SAFETY: HOOK only ever holds 0 or a `fn()` stored by `set_hook`.
        let f: fn() = unsafe { core::mem::transmute::<usize, fn()>(hook) };
        f();
    }
    let limit = WATCHDOG.load(Ordering::Relaxed);
    if limit != 0 && t >= limit {
        console::print("watchdog: the test did not finish in time\n");
        board::exit(3);
    }
}

/// Add one to a counter that only one context writes (load + store: thumbv6m and rv32imc
/// have no atomic read-modify-write, and none is needed for a single writer).
pub fn bump(c: &AtomicU32) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}

/// Install `f` as the timer hook (runs in interrupt context on every tick), or remove it.
pub fn set_hook(f: Option<fn()>) {
    HOOK.store(f.map_or(0, |f| f as usize), Ordering::Release);
}

/// Fail the run (exit code 3) if the tick count reaches `ticks() + budget`; `0` disarms.
pub fn arm_watchdog(budget: u32) {
    let limit = if budget == 0 {
        0
    } else {
        ticks().wrapping_add(budget).max(1)
    };
    WATCHDOG.store(limit, Ordering::Relaxed);
}

/// The clock driven by the timer interrupt: one tick reads as one millisecond.
#[derive(Copy, Clone, Debug, Default)]
pub struct TickClock;

impl Clock for TickClock {
    fn now(&self) -> Instant {
        Instant::from_millis(u64::from(ticks()))
    }
}

/// Wait until the tick count has advanced by `n` (sleeps between interrupts).
pub fn wait_ticks(n: u32) {
    let start = ticks();
    while ticks().wrapping_sub(start) < n {
        board::wait_for_interrupt();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    println!("panic: {}", info);
    board::exit(101)
}
