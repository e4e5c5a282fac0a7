//! Footprint probe: fp-lockq + the coordinator for 64 partitions (see `ftforest_firmware::probe`).
#![no_std]
#![no_main]

ftforest_firmware::probe_image!("fp-coord", tracker_health_table, lock_queue, coordinator);
