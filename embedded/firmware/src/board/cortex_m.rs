//! Arm Cortex-M boards under QEMU: `mps2-an386` (Cortex-M4F, thumbv7em-none-eabihf) and
//! `microbit` (Cortex-M0, thumbv6m-none-eabi).
//!
//! * Timer: SysTick on the core clock (25 MHz on mps2, 16 MHz on the micro:bit), one tick
//!   every 100 µs of emulated time, at the lowest exception priority.
//! * Console and exit: semihosting (`-semihosting-config enable=on,target=native`).
//! * Critical sections: `cortex-m`'s single-core implementation (masks interrupts).
//! * Memory: the stack sits below the statics (`link/*.x`), so an overflow faults; the
//!   HardFault handler moves SP back to the top of the stack before it reports (the fault
//!   may have been raised by the stack itself), prints `HardFault ...` or `stack overflow
//!   ...` and exits with code 2.

use cortex_m::peripheral::{syst::SystClkSource, SYST};
use cortex_m_rt::exception;
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
    static mut _stack_end: u32;
    static mut _stack_start: u32;
}

/// Lowest stack address (the bottom of RAM: the statics are above the stack, see
/// `link/microbit.x`).
pub fn stack_bottom() -> usize {
    core::ptr::addr_of!(_stack_end) as usize
}

/// Initial stack pointer (top of RAM).
pub fn stack_top() -> usize {
    core::ptr::addr_of!(_stack_start) as usize
}

#[exception]
fn SysTick() {
    crate::on_tick();
}

// HardFault, in assembly: a stack overflow faults on the push below the stack's bottom, and
// the exception entry may not have stacked a frame, so no Rust prologue may run on that SP.
// The firmware runs on MSP only (cortex-m-rt never switches to PSP), so MSP is the faulting
// stack. Pass the faulting MSP to `hard_fault` and give it a fresh stack at `_stack_start` (the run
// ends there, the old frames are not needed). Overrides cortex-m-rt's weak `HardFault`.
core::arch::global_asm!(
    ".section .text.HardFault,\"ax\",%progbits",
    ".global HardFault",
    ".type HardFault,%function",
    ".thumb_func",
    "HardFault:",
    "mrs r0, msp",
    "ldr r1, =_stack_start",
    "mov sp, r1",
    "bl {report}",
    "b .",
    ".ltorg",
    report = sym hard_fault,
);

/// Report a HardFault (`sp` = MSP at the fault) and exit with code 2 (QEMU then exits 1).
extern "C" fn hard_fault(sp: usize) -> ! {
    if sp < stack_bottom() + 32 {
        crate::println!(
            "HardFault: stack overflow (sp={:#010x}, stack bottom {:#010x})",
            sp,
            stack_bottom()
        );
    } else if sp + 32 <= stack_top() {
        // SAFETY: `[sp, sp + 32)` is inside the stack region (checked above), where the
        // exception entry stacked the eight-word frame; word 6 is the faulting PC.
        let pc = unsafe { core::ptr::read_volatile((sp as *const u32).add(6)) };
        crate::println!("HardFault at pc={:#010x} (sp={:#010x})", pc, sp);
    } else {
        crate::println!("HardFault with sp={:#010x} above the stack", sp);
    }
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
