//! The one-word tracker: `PAUSED | count` in a single `AtomicU32`, the smallest pause
//! barrier with a one-RMW `begin` (issue 7 item 15's "one-word tracker").
//!
//! * `begin`: `fetch_add(1, Acquire)`; admitted iff the previous value had `PAUSED` clear,
//!   otherwise rolled back with `fetch_sub`.
//! * `end`: `fetch_sub(1, Release)`.
//! * `pause_wait`: `fetch_or(PAUSED, AcqRel)`, then spin (yielding now and then) until the
//!   word reads exactly `PAUSED`. `resume`: `fetch_and(!PAUSED, Release)`.
//!
//! One pauser at a time, no counted pauses, no parking, no overflow guard, and every thread
//! hammers the same cache line: it is the cost floor of pause + resume (two RMWs), not a
//! design to copy.

use core::sync::atomic::{AtomicU32, Ordering};

use crate::{PausePeer, Peer};

const PAUSED: u32 = 1 << 31;

/// `PAUSED | count` in one word.
#[derive(Debug, Default)]
pub struct OneWord {
    word: AtomicU32,
}

impl Peer for OneWord {
    const NAME: &'static str = "one_word";
    type Op<'a> = ();

    fn create() -> Self {
        OneWord::default()
    }

    #[inline]
    fn begin(&self) -> Option<()> {
        // Acquire: pairs with `resume`'s Release.
        if self.word.fetch_add(1, Ordering::Acquire) & PAUSED == 0 {
            Some(())
        } else {
            self.word.fetch_sub(1, Ordering::Release);
            None
        }
    }

    #[inline]
    fn end(&self, _op: ()) {
        // Release: pairs with the pauser's Acquire load.
        self.word.fetch_sub(1, Ordering::Release);
    }
}

impl PausePeer for OneWord {
    type Pause<'a> = ();

    fn pause_wait(&self) {
        self.word.fetch_or(PAUSED, Ordering::AcqRel);
        let mut spins = 0u32;
        while self.word.load(Ordering::Acquire) != PAUSED {
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(64) {
                std::thread::yield_now();
            } else {
                core::hint::spin_loop();
            }
        }
    }

    fn resume(&self, _p: ()) {
        self.word.fetch_and(!PAUSED, Ordering::Release);
    }
}
