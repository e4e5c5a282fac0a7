//! The adapter keeps its coordinator's own events for the embedder
//! ([`Adapter::poll_core_event`]): every one, in the coordinator's order, bounded by
//! [`CORE_EVENT_CAP`] when nobody drains them (the oldest go, each counted in
//! `ClusterStats::core_events_dropped`), and the cluster events stay as they were.

#[allow(dead_code)] // shared test support: this file uses only the simulated etcd
mod sim;

use std::sync::Arc;

use ftforest_cluster::proto::adapter::CORE_EVENT_CAP;
use ftforest_cluster::proto::ops::WatchInput;
use ftforest_cluster::proto::{Adapter, AdapterConfig, ClusterEvent, Params, Status};
use ftforest_cluster::PausePolicy;
use ftforest_core::coord::{Config as CoreConfig, Event, Report};
use ftforest_core::{Health, Instant, Tracker};

fn adapter() -> Adapter<Arc<Tracker>> {
    let cfg = AdapterConfig {
        proc_id: "a".into(),
        info: String::new(),
        ranks: vec![0],
        params: Params {
            n: 3,
            k: 1,
            ttl_ms: 2000,
        },
        prefix: "p/".into(),
        pause_timeout: core::time::Duration::from_secs(3),
        pause_policy: PausePolicy::Abort,
        margin: core::time::Duration::from_millis(200),
        quiescence_timeout: core::time::Duration::from_secs(1),
        unavailable_after: 3,
        core: CoreConfig::builder()
            .fenced(true)
            .local_confirmation(false)
            .reports_before_suspicion(1)
            .build()
            .unwrap(),
    };
    let mut a = Adapter::new(cfg, Arc::new(Tracker::new()), Instant::ZERO).unwrap();
    // Started against the simulated etcd (its own ranks joined, coordination available).
    let mut etcd = sim::etcd::SimEtcd::new();
    let mut watch = None;
    for round in 1..=200u64 {
        let t = Instant::from_millis(round);
        etcd.advance(round);
        a.tick(t);
        while let Some((id, req)) = a.poll_op() {
            let r = etcd.execute(&req);
            a.handle_result(t, id, r);
        }
        if let Some(from) = a.poll_watch() {
            watch = Some(from);
        }
        if let Some(from) = watch {
            if let Ok(evs) = etcd.events_from(from) {
                if let Some(last) = evs.last().map(|e| e.kv.mod_revision) {
                    watch = Some(last + 1);
                    a.handle_watch(t, WatchInput::Events(evs));
                }
            }
        }
        while a.poll_hook().is_some() {}
        if *a.status() == Status::Running && a.coordinator().is_available() {
            return a;
        }
    }
    panic!("the adapter did not start");
}

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

/// A local suspicion and its clearing reach the core-event queue as status changes, in
/// order; the cluster event queue still gets only its `Suspected`.
#[test]
fn coordinator_events_are_kept_in_order() {
    let mut a = adapter();
    while a.poll_core_event().is_some() {}
    assert!(a.report(at(1_000), Report::barrier_timeout(0)));
    assert!(a.report(at(1_001), Report::barrier_passed(0)));
    let evs: Vec<Event> = core::iter::from_fn(|| a.poll_core_event()).collect();
    let changes: Vec<(u32, Health, Health)> = evs
        .iter()
        .filter_map(|e| match e {
            Event::StatusChanged(s) => Some((s.rank, s.from, s.to)),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes,
        [
            (0, Health::Healthy, Health::Suspected),
            (0, Health::Suspected, Health::Healthy)
        ],
        "{evs:?}"
    );
    let cluster: Vec<ClusterEvent> = core::iter::from_fn(|| a.poll_event()).collect();
    assert_eq!(
        cluster
            .iter()
            .filter(|e| matches!(e, ClusterEvent::Suspected { rank: 0 }))
            .count(),
        1
    );
    assert_eq!(a.stats().core_events_dropped, 0);
}

/// Nobody drains: at most `CORE_EVENT_CAP` wait, the oldest are dropped and counted, the
/// newest are kept in order.
#[test]
fn undrained_coordinator_events_are_bounded_and_counted() {
    let mut a = adapter();
    while a.poll_core_event().is_some() {}
    let rounds = CORE_EVENT_CAP as u64; // two status changes each
    for i in 0..rounds {
        a.report(at(1_000 + 2 * i), Report::barrier_timeout(0));
        a.report(at(1_001 + 2 * i), Report::barrier_passed(0));
    }
    let kept: Vec<Event> = core::iter::from_fn(|| a.poll_core_event()).collect();
    assert_eq!(kept.len(), CORE_EVENT_CAP);
    assert!(a.stats().core_events_dropped >= rounds);
    // The last one kept is the last one emitted (the oldest went).
    let last = at(1_001 + 2 * (rounds - 1));
    assert_eq!(kept.last().map(Event::time), Some(last));
    assert!(kept.iter().any(|e| matches!(e,
        Event::StatusChanged(s) if s.time == last && s.to == Health::Healthy)));
    assert!(kept.windows(2).all(|w| w[0].time() <= w[1].time()));
}
