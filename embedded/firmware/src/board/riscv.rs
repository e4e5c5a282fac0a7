//! RISC-V `virt` under QEMU (`-bios none`), code built for riscv32imc-unknown-none-elf.
//!
//! * Start-up (hand-written, below): stack pointer, global pointer, zero `.bss`, trap vector,
//!   the stack guard, then `fw_main`. Machine mode throughout.
//! * Stack guard: the stack grows down from the top of RAM towards `.bss`; the 1 KiB
//!   below it (`_stack_guard`, `link/virt.ld`) are a PMP region with no permissions and the
//!   lock bit set, so it binds machine mode too. An overflow is a load/store access fault;
//!   the trap entry (assembly) sees an exception, not an interrupt, moves SP back to the top
//!   of the stack (the run ends there) and `ftf_exception` prints
//!   `trap: stack overflow (sp=..., guard ...)` and exits non-zero.
//! * Timer: the CLINT's `mtimecmp` (10 MHz `mtime`), one tick every 100 µs; the machine timer
//!   interrupt is the only interrupt enabled.
//! * Console: the 16550 UART at `0x1000_0000`. Exit: the SiFive test device at `0x10_0000`.
//! * Critical sections: a single-hart `critical-section` implementation that clears
//!   `mstatus.MIE` (the core's atomics need it: rv32imc has no atomic read-modify-write).

use core::arch::{asm, global_asm};
use core::ptr::{read_volatile, write_volatile};

/// `mtime` ticks (10 MHz) per tick (100 µs).
pub const CYCLES_PER_TICK: u32 = 1_000;

/// QEMU board name (for reports).
pub const BOARD: &str = "riscv32 virt (rv32imc code)";

const UART_THR: *mut u8 = 0x1000_0000 as *mut u8;
const UART_LSR: *const u8 = 0x1000_0005 as *const u8;
const TEST_DEVICE: *mut u32 = 0x0010_0000 as *mut u32;
const MTIMECMP_LO: *mut u32 = 0x0200_4000 as *mut u32;
const MTIMECMP_HI: *mut u32 = 0x0200_4004 as *mut u32;
const MTIME_LO: *const u32 = 0x0200_bff8 as *const u32;
const MTIME_HI: *const u32 = 0x0200_bffc as *const u32;

global_asm!(
    r#"
    .section .text.init, "ax"
    .global _start
_start:
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    la sp, _stack_top
    la t0, _sbss
    la t1, _ebss
1:  bgeu t0, t1, 2f
    sw zero, 0(t0)
    addi t0, t0, 4
    j 1b
2:  la t0, _ftf_trap
    csrw mtvec, t0
    # PMP entry 0: NAPOT over the 1 KiB guard ((base >> 2) | (1024 / 8 - 1)), L=1, A=NAPOT,
    # no RWX. A frame larger than the guard could skip it; the core's largest is ~3 KiB only
    # in the frame that builds a Coordinator value, which the probes keep apart.
    la t0, _stack_guard
    srli t0, t0, 2
    ori t0, t0, 127
    csrw pmpaddr0, t0
    li t0, 0x98
    csrw pmpcfg0, t0
    call fw_main
3:  j 3b

    .align 4
_ftf_trap:
    # An exception (mcause bit 31 clear) may come from the stack itself: do not push on it.
    csrw mscratch, t0
    csrr t0, mcause
    bltz t0, 4f
    mv a0, sp
    la sp, _stack_top
    call ftf_exception
4:  csrr t0, mscratch
    addi sp, sp, -64
    sw ra, 0(sp)
    sw t0, 4(sp)
    sw t1, 8(sp)
    sw t2, 12(sp)
    sw t3, 16(sp)
    sw t4, 20(sp)
    sw t5, 24(sp)
    sw t6, 28(sp)
    sw a0, 32(sp)
    sw a1, 36(sp)
    sw a2, 40(sp)
    sw a3, 44(sp)
    sw a4, 48(sp)
    sw a5, 52(sp)
    sw a6, 56(sp)
    sw a7, 60(sp)
    call ftf_trap_handler
    lw ra, 0(sp)
    lw t0, 4(sp)
    lw t1, 8(sp)
    lw t2, 12(sp)
    lw t3, 16(sp)
    lw t4, 20(sp)
    lw t5, 24(sp)
    lw t6, 28(sp)
    lw a0, 32(sp)
    lw a1, 36(sp)
    lw a2, 40(sp)
    lw a3, 44(sp)
    lw a4, 48(sp)
    lw a5, 52(sp)
    lw a6, 56(sp)
    lw a7, 60(sp)
    addi sp, sp, 64
    mret
"#
);

fn mtime() -> u64 {
    loop {
        // SAFETY: CLINT registers of the `virt` board.
        let (hi, lo, hi2) = unsafe {
            (
                read_volatile(MTIME_HI),
                read_volatile(MTIME_LO),
                read_volatile(MTIME_HI),
            )
        };
        if hi == hi2 {
            return (u64::from(hi) << 32) | u64::from(lo);
        }
    }
}

fn set_mtimecmp(t: u64) {
    // SAFETY: CLINT registers; the high word is parked at MAX first so that no spurious
    // compare match happens half-way.
    unsafe {
        write_volatile(MTIMECMP_HI, u32::MAX);
        write_volatile(MTIMECMP_LO, t as u32);
        write_volatile(MTIMECMP_HI, (t >> 32) as u32);
    }
}

/// Start the tick interrupt.
pub fn start_timer() {
    set_mtimecmp(mtime() + u64::from(CYCLES_PER_TICK));
    // SAFETY: enable the machine timer interrupt (mie.MTIE) and interrupts (mstatus.MIE).
    unsafe {
        asm!("csrs mie, {}", in(reg) 1u32 << 7);
        asm!("csrsi mstatus, 8");
    }
}

/// Stop the tick interrupt.
pub fn stop_timer() {
    // SAFETY: clear mie.MTIE.
    unsafe { asm!("csrc mie, {}", in(reg) 1u32 << 7) };
}

/// `mtime` low word (10 MHz).
pub fn timer_count() -> u32 {
    mtime() as u32
}

/// Instructions retired (`minstret`, low word).
pub fn instret() -> u32 {
    let v: u32;
    // SAFETY: reading a counter CSR has no side effect.
    unsafe { asm!("csrr {}, minstret", out(reg) v) };
    v
}

/// Sleep until the next interrupt.
pub fn wait_for_interrupt() {
    // SAFETY: `wfi` only waits.
    unsafe { asm!("wfi") };
}

/// Write to the UART.
pub fn write_str(s: &str) {
    for b in s.bytes() {
        // SAFETY: 16550 registers of the `virt` board; wait for THR empty (LSR bit 5).
        unsafe {
            while read_volatile(UART_LSR) & 0x20 == 0 {}
            write_volatile(UART_THR, b);
        }
    }
}

/// Stop QEMU with `code` through the SiFive test device.
pub fn exit(code: i32) -> ! {
    let word = if code == 0 {
        0x5555
    } else {
        ((code as u32) << 16) | 0x3333
    };
    // SAFETY: the test device's finisher register; QEMU exits on this store.
    unsafe { write_volatile(TEST_DEVICE, word) };
    loop {
        wait_for_interrupt();
    }
}

extern "C" {
    static _stack_guard: u32;
    static _stack_bottom: u32;
    static _stack_top: u32;
}

/// Lowest stack address (just above the PMP guard, which is above `.bss`).
pub fn stack_bottom() -> usize {
    core::ptr::addr_of!(_stack_bottom) as usize
}

/// Initial stack pointer (top of RAM).
pub fn stack_top() -> usize {
    core::ptr::addr_of!(_stack_top) as usize
}

/// An exception (never returns): `sp` is the stack pointer at the trap; the assembly entry
/// already moved SP to the top of the stack. An access fault on the guard is reported as a
/// stack overflow.
#[no_mangle]
extern "C" fn ftf_exception(sp: usize) -> ! {
    let (cause, epc, tval): (u32, u32, u32);
    // SAFETY: reading trap CSRs.
    unsafe {
        asm!("csrr {}, mcause", out(reg) cause);
        asm!("csrr {}, mepc", out(reg) epc);
        asm!("csrr {}, mtval", out(reg) tval);
    }
    let guard = core::ptr::addr_of!(_stack_guard) as usize;
    let in_guard = (guard..guard + 1024).contains(&(tval as usize));
    if (cause == 5 || cause == 7) && in_guard {
        crate::println!(
            "trap: stack overflow (sp={:#010x}, guard {:#010x}, mepc={:#010x})",
            sp,
            guard,
            epc
        );
    } else {
        crate::println!(
            "trap: mcause={:#x} mepc={:#010x} mtval={:#010x} sp={:#010x}",
            cause,
            epc,
            tval,
            sp
        );
    }
    exit(2)
}

/// Rust side of the trap vector for interrupts (they stay masked while it runs: no
/// nesting).
#[no_mangle]
extern "C" fn ftf_trap_handler() {
    let cause: u32;
    let epc: u32;
    // SAFETY: reading trap CSRs.
    unsafe {
        asm!("csrr {}, mcause", out(reg) cause);
        asm!("csrr {}, mepc", out(reg) epc);
    }
    if cause == 0x8000_0007 {
        set_mtimecmp(mtime() + u64::from(CYCLES_PER_TICK));
        crate::on_tick();
    } else {
        crate::println!("trap: mcause={:#x} mepc={:#010x}", cause, epc);
        exit(2);
    }
}

struct SingleHart;
critical_section::set_impl!(SingleHart);

// SAFETY: one hart; masking machine interrupts excludes every other context.
unsafe impl critical_section::Impl for SingleHart {
    unsafe fn acquire() -> bool {
        let prev: u32;
        // SAFETY: atomically clear mstatus.MIE and read its old value.
        unsafe { asm!("csrrci {}, mstatus, 8", out(reg) prev) };
        prev & 8 != 0
    }

    unsafe fn release(was_enabled: bool) {
        if was_enabled {
            // SAFETY: restore mstatus.MIE as `acquire` found it.
            unsafe { asm!("csrsi mstatus, 8") };
        }
    }
}

/// Declare the firmware's entry point: `ftforest_firmware::entry!(path::to::main);`.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[no_mangle]
        extern "C" fn fw_main() -> ! {
            $main()
        }
    };
}
