//! Footprint probe: fp-lockq + the coordinator for 64 partitions (see `ftforest_firmware::probe`).
#![no_std]
#![no_main]

use ftforest_firmware::{board, probe, stack};

ftforest_firmware::entry!(main);

fn main() -> ! {
    stack::paint();
    board::start_timer();
    probe::tracker_health_table();
    probe::lock_queue();
    probe::coordinator();
    ftforest_firmware::println!("fp-coord stack {}", stack::max_depth());
    board::exit(0)
}
