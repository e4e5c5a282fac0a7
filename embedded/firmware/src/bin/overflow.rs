//! Stack-overflow probe: recurses until the stack runs out. Passes only if the board's guard
//! catches it: the fault handler prints `stack overflow` and exits non-zero (Arm: the stack
//! sits below the statics and below RAM nothing is mapped; RISC-V `virt`: a locked PMP guard
//! between the stack and `.bss`). `scripts/test-embedded.sh` expects exactly that; if the
//! recursion ever returns, this image prints `no fault` and exits 0, which the script fails.
#![no_std]
#![no_main]

use ftforest_firmware::{board, println};

ftforest_firmware::entry!(main);

/// One 128-byte frame per level (smaller than either guard), written from its top down.
#[inline(never)]
fn dive(depth: u32) -> u32 {
    let mut buf = [0u8; 128];
    for (i, b) in buf.iter_mut().enumerate().rev() {
        *b = (depth as u8).wrapping_add(i as u8);
    }
    core::hint::black_box(&mut buf);
    if depth == u32::MAX {
        return 0;
    }
    dive(depth + 1).wrapping_add(u32::from(buf[127]))
}

fn main() -> ! {
    println!("overflow probe: recursing until the stack runs out");
    let r = dive(core::hint::black_box(0));
    println!(
        "no fault: the recursion returned {} (stack overflow undetected)",
        r
    );
    board::exit(0)
}
