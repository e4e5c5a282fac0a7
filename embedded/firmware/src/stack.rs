//! The painted stack: fill the unused stack with a pattern at start-up, find the lowest
//! overwritten word at the end. The depth includes interrupt frames (they use the same
//! stack on every board here).

use core::ptr;

const PAINT: u32 = 0xC0DE_5AFE;

/// Fill the stack from its lowest address up to 256 bytes below the caller's frame.
/// Call first thing in `main`.
#[inline(never)]
pub fn paint() {
    let bottom = crate::board::stack_bottom();
    let marker = 0u32;
    let here = ptr::addr_of!(marker) as usize;
    let end = here.saturating_sub(256) & !3;
    let mut p = bottom;
    while p < end {
        // SAFETY: [bottom, end) is unused stack below the live frames: above every static
        // (the linker places the stack after .bss) and below this function's frame.
        unsafe { ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// Deepest stack use so far in bytes (from the top of the stack to the lowest word that
/// no longer holds the paint).
pub fn max_depth() -> usize {
    let bottom = crate::board::stack_bottom();
    let top = crate::board::stack_top();
    let mut p = bottom;
    while p < top {
        // SAFETY: reading words of this core's own stack region.
        if unsafe { ptr::read_volatile(p as *const u32) } != PAINT {
            break;
        }
        p += 4;
    }
    top - p
}
