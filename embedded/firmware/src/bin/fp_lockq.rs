//! Footprint probe: fp-tracker + recovery lock + recovery queue (see `ftforest_firmware::probe`).
#![no_std]
#![no_main]

use ftforest_firmware::{board, probe, stack};

ftforest_firmware::entry!(main);

fn main() -> ! {
    stack::paint();
    board::start_timer();
    probe::tracker_health_table();
    probe::lock_queue();
    ftforest_firmware::println!("fp-lockq stack {}", stack::max_depth());
    board::exit(0)
}
