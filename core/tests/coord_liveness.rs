//! Liveness: queued work never stalls waiting for an unrelated input.
#![cfg(feature = "std")]

use core::time::Duration;

use ftforest_core::coord::{Action, Config, Coordinator, PartitionSlot, Report};
use ftforest_core::{Health, HealthCell, Instant, LockSlot, QueueSlot, Tracker};

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

type OneSlot<'t> = Coordinator<
    Box<[HealthCell]>,
    Box<[LockSlot]>,
    Box<[QueueSlot]>,
    Box<[PartitionSlot]>,
    &'t Tracker,
    1,
    16,
>;

/// R = K = 1. Partition 0's attempt runs past its recovery timeout with no retries left
/// (escalated, so no backoff deadline), while partition 1 waits in the queue. The timed-out
/// attempt keeps the only permit and recovery slot until its cancel is acknowledged
/// (issue 7, item 1); polling the cancel frees nothing. The acknowledgement frees them, and
/// the queued partition must start in that same input, or `poll_timeout` must ask for the
/// tick that starts it (otherwise the queue stalls until some unrelated input).
#[test]
fn acknowledging_a_cancel_that_frees_the_last_slot_starts_the_queue() {
    let cfg = Config::builder()
        .max_concurrent(1)
        .max_retries(0)
        .recovery_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let tracker = Tracker::new();
    let mut c: OneSlot<'_> = Coordinator::new(
        cfg,
        ftforest_core::coord::boxed_storage(5),
        5,
        &tracker,
        ms(0),
    )
    .unwrap();
    c.handle_report(ms(0), Report::crashed(0)).unwrap();
    c.handle_report(ms(0), Report::crashed(1)).unwrap();
    while c.poll_event().is_some() {}
    assert!(c.recovery(0).is_some(), "partition 0 recovers");
    assert!(c.is_queued(1), "partition 1 waits for capacity");
    // Hand out partition 0's first phase, which never completes.
    while c.poll_action().is_some() {}
    // The recovery timeout: partition 0 fails for good (no retries), its slot is kept for
    // the cancel.
    c.tick(ms(100));
    while c.poll_event().is_some() {}
    assert_eq!(c.health(0).unwrap().0, Health::Failed);
    assert!(c.is_queued(1));
    let mut cancelled = None;
    while let Some(a) = c.poll_action() {
        if let Action::CancelRecovery(j) = a {
            cancelled = Some(j);
        }
    }
    let j = cancelled.expect("cancel handed out");
    assert_eq!(j.rank, 0);
    assert!(
        c.is_queued(1),
        "the unacknowledged attempt still holds the slot"
    );
    c.cancel_done(ms(150), 0, j.attempt).unwrap();
    if c.recovery(1).is_none() {
        let t = c.poll_timeout();
        assert!(
            t.is_some_and(|t| t <= ms(150)),
            "queued partition 1 stalls: poll_timeout = {t:?}"
        );
        c.tick(t.unwrap_or(ms(150)));
    }
    assert!(c.recovery(1).is_some(), "partition 1 started");
    assert_eq!(c.health(1).unwrap().0, Health::Recovering);
}

/// Heartbeats with a failure timeout more than `max_local_pause` after the suspect timeout
/// (a legal configuration: only `max_local_pause > suspect_timeout` is required), every
/// partition silent, confirmation by time in effect off. A driver that ticks exactly when
/// `poll_timeout` asks must see the silent partitions FAILED at the failure timeout. (Before
/// the fix the tick after the Suspect verdict came `failure − suspect` later, which the
/// coordinator read as its own stall (`max_local_pause`): it re-based every heartbeat clock
/// instead of convicting, on every such tick, so the partitions stayed SUSPECTED for good.)
#[test]
fn a_driver_ticking_at_poll_timeout_is_never_mistaken_for_a_local_pause() {
    use ftforest_core::coord::{BoxedCoordinator, HeartbeatConfig, HeartbeatMode};
    let hb = HeartbeatConfig::DEFAULT
        .with_mode(HeartbeatMode::Interval)
        .with_interval(Duration::from_millis(100))
        .with_suspect_timeout(Duration::from_millis(200))
        .with_failure_timeout(Duration::from_secs(10))
        .with_max_local_pause(Duration::from_secs(1));
    let cfg = Config::builder()
        .heartbeat(hb)
        .failure_confirmation(Duration::from_secs(3600))
        .build()
        .unwrap();
    let tracker = std::sync::Arc::new(Tracker::new());
    let mut c =
        BoxedCoordinator::<std::sync::Arc<Tracker>>::new_boxed(cfg, 3, tracker, ms(0)).unwrap();
    let mut ticks = 0;
    while c.health(0).unwrap().0 != Health::Failed && ticks < 10_000 {
        let Some(t) = c.poll_timeout() else { break };
        if t > ms(60_000) {
            break;
        }
        c.tick(t);
        ticks += 1;
        while c.poll_event().is_some() {}
        while c.poll_action().is_some() {}
    }
    assert_eq!(
        c.health(0).unwrap().0,
        Health::Failed,
        "a silent partition never failed by heartbeat ({ticks} ticks)"
    );
}
