//! Issue 7 item 8: storage that served a coordinator (or a queue) with a small `n` serves a
//! successor with a larger `n`. The queue zeroes every ring entry it vacates, so a larger
//! membership bitset (which covers former ring entries) reads empty.
#![cfg(feature = "std")]

use std::sync::Arc;

use ftforest_core::coord::{boxed_storage, Config, Coordinator, PartitionSlot, Report, Storage};
use ftforest_core::{Instant, Tracker};

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

/// Before the fix, the second coordinator was refused with
/// `NewError::Queue(StorageInUse { rank: 33 })`: rank 2, left in ring entry 0 by the first
/// coordinator's queue (n = 8: one bitset word), read as bit 1 of bitset word 1.
#[test]
fn dropped_coordinator_leaves_storage_for_a_larger_n() {
    let large = 96u32;
    let mut st = boxed_storage(large);
    let (cells, locks, queue) = (&st.cells[..], &st.locks[..], &st.queue[..]);
    let storage = |slots| Storage {
        cells,
        locks,
        queue,
        slots,
    };
    let mut first_slots: Vec<PartitionSlot> = (0..8).map(|_| PartitionSlot::new()).collect();
    let t: Arc<Tracker> = Arc::new(Tracker::new());
    let cfg = Config::builder().max_concurrent(1).build().unwrap();
    let mut first: Coordinator<_, _, _, _, _, 8, 256> =
        Coordinator::new(cfg, storage(&mut first_slots[..]), 8, t.clone(), ms(0)).unwrap();
    for rank in [1, 2, 3] {
        first.handle_report(ms(1), Report::crashed(rank)).unwrap();
    }
    assert!(
        first.is_queued(2) && first.is_queued(3),
        "K = 1: two ranks wait"
    );
    drop(first);
    let second =
        Coordinator::<_, _, _, _, _, 8, 256>::new(cfg, storage(&mut st.slots[..]), large, t, ms(2));
    if let Err(e) = second {
        panic!("storage of a dropped coordinator refused for a larger n: {e:?}");
    }
}
