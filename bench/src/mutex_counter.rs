//! The "just use a mutex" pause barrier: an in-flight count and a paused flag under one
//! `std::sync::Mutex`, and a `Condvar` on which the pauser waits for the count to reach zero.
//!
//! Invariant (under the mutex): `count` = operations admitted and not yet ended. `begin`
//! admits only while `!paused`; `end` decrements and, when it leaves `paused && count == 0`,
//! notifies the pauser (after unlocking). The predicate is re-checked under the mutex, so no
//! wake-up is lost.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use crate::{PausePeer, Peer};

#[derive(Debug, Default)]
struct State {
    count: u32,
    paused: bool,
}

/// A mutex-protected in-flight counter with a pause flag.
#[derive(Debug, Default)]
pub struct MutexCounter {
    state: Mutex<State>,
    drained: Condvar,
}

impl MutexCounter {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Peer for MutexCounter {
    const NAME: &'static str = "mutex";
    type Op<'a> = ();

    fn create() -> Self {
        MutexCounter::default()
    }

    #[inline]
    fn begin(&self) -> Option<()> {
        let mut s = self.lock();
        if s.paused {
            return None;
        }
        s.count += 1;
        Some(())
    }

    #[inline]
    fn end(&self, _op: ()) {
        let mut s = self.lock();
        s.count -= 1;
        let drained = s.paused && s.count == 0;
        drop(s);
        // Notify after unlocking (the woken pauser does not block on the mutex at once);
        // no wake is lost, the pauser re-checks the count under the mutex before sleeping.
        if drained {
            self.drained.notify_all();
        }
    }
}

impl PausePeer for MutexCounter {
    type Pause<'a> = ();

    fn pause_wait(&self) {
        let mut s = self.lock();
        s.paused = true;
        let _drained = self
            .drained
            .wait_while(s, |s| s.count > 0)
            .unwrap_or_else(PoisonError::into_inner);
    }

    fn resume(&self, _p: ()) {
        self.lock().paused = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauser_waits_for_the_last_end_and_gate_rejects() {
        let m = MutexCounter::create();
        m.begin().expect("open");
        std::thread::scope(|s| {
            let h = s.spawn(|| m.pause_wait());
            while !m.lock().paused {
                std::thread::yield_now();
            }
            assert!(m.begin().is_none());
            m.end(());
            h.join().expect("pauser");
        });
        assert_eq!(m.lock().count, 0);
        m.resume(());
        assert!(m.begin().is_some());
    }
}
