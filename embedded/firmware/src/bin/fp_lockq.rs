//! Footprint probe: fp-tracker + recovery lock + recovery queue (see `ftforest_firmware::probe`).
#![no_std]
#![no_main]

ftforest_firmware::probe_image!("fp-lockq", tracker_health_table, lock_queue);
