//! Footprint probe: tracker + health cells + partition table (see `ftforest_firmware::probe`).
#![no_std]
#![no_main]

use ftforest_firmware::{board, probe, stack};

ftforest_firmware::entry!(main);

fn main() -> ! {
    stack::paint();
    board::start_timer();
    probe::tracker_health_table();
    ftforest_firmware::println!("fp-tracker stack {}", stack::max_depth());
    board::exit(0)
}
