//! `Monitor::deliver_external`: events of a coordinator run elsewhere (a cluster member the
//! forest is attached to) reach the monitor's listeners on the calling thread, in order,
//! with the monitor's synchronous-unsubscribe rules; refused (nothing delivered) while the
//! monitor runs; `go` stops the delivery of an event between two listeners.
#![cfg(feature = "std")]

use std::sync::{Arc, Mutex};
use std::vec::Vec;

use ftforest_core::coord::{
    Config, Event, ListenerHandle, Monitor, PhaseJob, QuorumChange, Recovery,
};
use ftforest_core::{Instant, StdClock, Tracker};

struct Rec;

impl Recovery for Rec {
    fn detecting(&self, _: &PhaseJob) -> bool {
        true
    }
    fn redistributing(&self, _: &PhaseJob) -> bool {
        true
    }
    fn rebalancing(&self, _: &PhaseJob) -> bool {
        true
    }
    fn validating(&self, _: &PhaseJob) -> bool {
        true
    }
}

fn ev(healthy: u32) -> Event {
    Event::QuorumRestored(QuorumChange {
        healthy,
        total: 3,
        time: Instant::from_millis(u64::from(healthy)),
    })
}

#[test]
fn external_events_reach_the_listeners_with_the_monitors_rules() {
    let m = Arc::new(
        Monitor::new(
            Config::default(),
            3,
            Arc::new(<Tracker>::new()),
            Rec,
            StdClock,
        )
        .unwrap(),
    );
    let seen: Arc<Mutex<Vec<(u32, u32)>>> = Arc::default();
    // Listener 1 unsubscribes itself at its first call (from inside: never waits).
    let own: Arc<Mutex<Option<ListenerHandle>>> = Arc::default();
    let (s1, m1, o1) = (seen.clone(), Arc::downgrade(&m), own.clone());
    let h1 = m
        .subscribe(move |e| {
            if let Event::QuorumRestored(q) = e {
                s1.lock().unwrap().push((1, q.healthy));
            }
            let h = o1.lock().unwrap().take();
            if let (Some(h), Some(m)) = (h, m1.upgrade()) {
                m.unsubscribe(h).unwrap();
            }
        })
        .unwrap();
    *own.lock().unwrap() = Some(h1);
    let s2 = seen.clone();
    m.subscribe(move |e| {
        if let Event::QuorumRestored(q) = e {
            s2.lock().unwrap().push((2, q.healthy));
        }
    })
    .unwrap();

    assert!(m.deliver_external(&ev(1), || true));
    assert!(m.deliver_external(&ev(2), || true));
    // `go` false: nobody is called for that event.
    assert!(m.deliver_external(&ev(3), || false));
    assert_eq!(*seen.lock().unwrap(), [(1, 1), (2, 1), (2, 2)]);

    // While the monitor runs its dispatcher is the only deliverer.
    m.start().unwrap();
    assert!(!m.deliver_external(&ev(4), || true));
    m.stop();
    assert!(m.deliver_external(&ev(5), || true));
    assert_eq!(seen.lock().unwrap().last(), Some(&(2, 5)));
}
