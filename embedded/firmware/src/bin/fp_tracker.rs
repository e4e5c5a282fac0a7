//! Footprint probe: tracker + health cells + partition table (see `ftforest_firmware::probe`).
#![no_std]
#![no_main]

ftforest_firmware::probe_image!("fp-tracker", tracker_health_table);
