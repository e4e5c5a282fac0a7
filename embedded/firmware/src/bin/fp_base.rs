//! Footprint baseline: the board layer alone (start-up, timer, console, exit, stack paint)
//! plus `memcpy`/`memset` (compiler-builtins, ~0.9 KiB on thumbv7em, present in any real
//! firmware). Every other `fp-*` image is measured as its difference from this one.
#![no_std]
#![no_main]

use ftforest_firmware::{board, stack};

ftforest_firmware::entry!(main);

fn main() -> ! {
    stack::paint();
    board::start_timer();
    let mut a = [0u8; 512];
    let b = [1u8; 512];
    let n = core::hint::black_box(480usize).min(512);
    // SAFETY: `n <= 512`: both ranges lie inside their 512-byte arrays.
    unsafe {
        core::ptr::copy_nonoverlapping(b.as_ptr(), a.as_mut_ptr(), n);
        core::ptr::write_bytes(a.as_mut_ptr(), core::hint::black_box(7), 512 - n);
    }
    core::hint::black_box(&a);
    ftforest_firmware::wait_ticks(1);
    ftforest_firmware::println!("fp-base stack {}", stack::max_depth());
    board::exit(0)
}
