//! Arm Cortex-M boards under QEMU: `mps2-an386` (Cortex-M4F, thumbv7em-none-eabihf) and
//! `microbit` (Cortex-M0, thumbv6m-none-eabi).
//!
//! * Timer: SysTick on the core clock (25 MHz on mps2, 16 MHz on the micro:bit), one tick
//!   every 100 µs of emulated time, at the lowest exception priority.
//! * Console and exit: semihosting (`-semihosting-config enable=on,target=native`).
//! * Critical sections: `cortex-m`'s single-core implementation (masks interrupts).

use cortex_m::peripheral::{syst::SystClkSource, SYST};
use cortex_m_rt::{exception, ExceptionFrame};
use cortex_m_semihosting::{debug, hio};

/// Core clock cycles per tick (100 µs).
#[cfg(ftf_board = "an386")]
pub const CYCLES_PER_TICK: u32 = 2_500;
/// Core clock cycles per tick (100 µs).
#[cfg(ftf_board = "microbit")]
pub const CYCLES_PER_TICK: u32 = 1_600;

/// QEMU board name (for reports).
#[cfg(ftf_board = "an386")]
pub const BOARD: &str = "mps2-an386 (Cortex-M4F)";
/// QEMU board name (for reports).
#[cfg(ftf_board = "microbit")]
pub const BOARD: &str = "microbit (Cortex-M0)";

fn syst() -> SYST {
    // SAFETY: the firmware is single-threaded; SysTick is only touched by these functions,
    // which main calls outside the tick handler.
    unsafe { cortex_m::Peripherals::steal().SYST }
}

/// Start the tick interrupt.
pub fn start_timer() {
    let mut s = syst();
    s.set_clock_source(SystClkSource::Core);
    s.set_reload(CYCLES_PER_TICK - 1);
    s.clear_current();
    s.enable_interrupt();
    s.enable_counter();
}

/// Stop the tick interrupt.
pub fn stop_timer() {
    let mut s = syst();
    s.disable_interrupt();
    s.disable_counter();
}

/// The SysTick down-counter (core clock cycles left in this tick).
pub fn timer_count() -> u32 {
    SYST::get_current()
}

/// Sleep until the next interrupt.
pub fn wait_for_interrupt() {
    cortex_m::asm::wfi();
}

/// Write to the host's stdout.
pub fn write_str(s: &str) {
    if let Ok(mut out) = hio::hstdout() {
        let _ = out.write_all(s.as_bytes());
    }
}

/// Stop QEMU with `code` (0 = success; every other code reads as failure).
pub fn exit(code: i32) -> ! {
    debug::exit(if code == 0 {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::wfi();
    }
}

extern "C" {
    static mut __sheap: u32;
    static mut _stack_start: u32;
}

/// Lowest stack address (end of the statics).
pub fn stack_bottom() -> usize {
    core::ptr::addr_of!(__sheap) as usize
}

/// Initial stack pointer (top of RAM).
pub fn stack_top() -> usize {
    core::ptr::addr_of!(_stack_start) as usize
}

#[exception]
fn SysTick() {
    crate::on_tick();
}

#[exception]
unsafe fn HardFault(ef: &ExceptionFrame) -> ! {
    crate::println!("HardFault at pc={:#010x}", ef.pc());
    exit(2)
}

#[exception]
unsafe fn DefaultHandler(irq: i16) {
    crate::println!("unexpected exception {}", irq);
    exit(2)
}

/// Declare the firmware's entry point: `ftforest_firmware::entry!(path::to::main);`.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[cortex_m_rt::entry]
        fn __ftf_entry() -> ! {
            $main()
        }
    };
}
