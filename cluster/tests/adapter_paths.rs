//! Focused paths of the adapter against the simulated etcd, one scripted run each:
//! ambiguous lock and completion Txns are resolved by reading back (one lock, one
//! completion, the right token and incarnation), a stale member deletion is dropped, a
//! process that lists a pause key starts paused, and a registration refused for one rank
//! (or answered ambiguously) registers all of a process's ranks or none. The one-round-trip
//! grant: a lock whose own read (or, when its answer was lost, whose read-back) shows no
//! partition quorum is given up and runs nothing; no lock Txn while the view shows no
//! quorum; an epoch moved since the view refuses the lock.

#[allow(dead_code)] // shared test support: this file uses only the simulated etcd
mod sim;

use std::sync::Arc;

use ftforest_cluster::proto::ops::{
    Check, OpError, OpResult, Request, Rev, Txn, TxnOp, WatchInput,
};
use ftforest_cluster::proto::{Adapter, AdapterConfig, ClusterEvent, Hook, Params, Status};
use ftforest_cluster::ClusterError;
use ftforest_cluster::PausePolicy;
use ftforest_core::coord::Config as CoreConfig;
use ftforest_core::{Instant, Tracker};
use sim::etcd::SimEtcd;

type Gate = Arc<Tracker>;
/// Picks a request (to lose its reply).
type Matcher = Box<dyn Fn(&Request) -> bool>;

struct Node {
    a: Adapter<Gate>,
    gate: Gate,
    watch: Option<Rev>,
    events: Vec<ClusterEvent>,
    alive: bool,
}

struct World {
    etcd: SimEtcd,
    nodes: Vec<Node>,
    now: u64,
    /// Lose the reply of the first request this matches (it is applied).
    lose: Option<Matcher>,
    lost: u32,
    /// Hold back the first request this matches (its reply is lost) and apply it late:
    /// right after the next request of any node has been executed.
    hold: Option<Matcher>,
    held: Option<Request>,
    /// The revision at which the held request committed.
    late_rev: Option<Rev>,
    /// Local quiescence timeout of the nodes spawned next.
    quiescence: core::time::Duration,
    /// Execute this request right before the first request the matcher picks (another
    /// process's write racing it).
    before: Option<(Matcher, Request)>,
}

fn cfg(name: &str, ranks: Vec<u32>, n: u32, quiescence: core::time::Duration) -> AdapterConfig {
    AdapterConfig {
        proc_id: name.into(),
        info: String::new(),
        ranks,
        params: Params {
            n,
            k: 1,
            ttl_ms: 2000,
        },
        prefix: "p/".into(),
        pause_timeout: core::time::Duration::from_secs(3),
        pause_policy: PausePolicy::Abort,
        margin: core::time::Duration::from_millis(200),
        quiescence_timeout: quiescence,
        unavailable_after: 3,
        core: CoreConfig::builder()
            .fenced(true)
            .local_confirmation(false)
            .build()
            .unwrap(),
    }
}

impl World {
    fn new() -> World {
        World {
            etcd: SimEtcd::new(),
            nodes: Vec::new(),
            now: 0,
            lose: None,
            lost: 0,
            hold: None,
            held: None,
            late_rev: None,
            quiescence: core::time::Duration::from_secs(60),
            before: None,
        }
    }
    fn spawn(&mut self, name: &str, ranks: Vec<u32>, n: u32) -> usize {
        let gate: Gate = Arc::new(Tracker::new());
        let a = Adapter::new(
            cfg(name, ranks, n, self.quiescence),
            gate.clone(),
            Instant::from_millis(self.now),
        )
        .unwrap();
        self.nodes.push(Node {
            a,
            gate,
            watch: None,
            events: Vec::new(),
            alive: true,
        });
        self.nodes.len() - 1
    }
    /// One round: every live node's requests are answered, watches delivered, phases run
    /// at once, time moves 10 ms.
    fn round(&mut self) {
        self.now += 10;
        self.etcd.advance(self.now);
        let t = Instant::from_millis(self.now);
        for i in 0..self.nodes.len() {
            if !self.nodes[i].alive {
                continue;
            }
            let n = &mut self.nodes[i];
            n.a.tick(t);
            for _ in 0..50 {
                let mut progressed = false;
                while let Some((id, req)) = n.a.poll_op() {
                    progressed = true;
                    if self.hold.as_ref().is_some_and(|f| f(&req)) {
                        self.hold = None;
                        self.held = Some(req);
                        n.a.handle_result(t, id, Err(OpError::Ambiguous));
                        continue;
                    }
                    if self.before.as_ref().is_some_and(|(f, _)| f(&req)) {
                        let (_, first) = self.before.take().unwrap();
                        self.etcd.execute(&first).unwrap();
                    }
                    let r = self.etcd.execute(&req);
                    if let Some(late) = self.held.take() {
                        // The held request commits after this one (e.g. its read-back).
                        if let Ok(OpResult::Txn {
                            succeeded: true,
                            revision,
                            ..
                        }) = self.etcd.execute(&late)
                        {
                            self.late_rev = Some(revision);
                        }
                        self.lost += 1;
                    }
                    let lose = self.lose.as_ref().is_some_and(|f| f(&req));
                    let r = if lose && r.is_ok() {
                        self.lose = None;
                        self.lost += 1;
                        Err(OpError::Ambiguous)
                    } else {
                        r
                    };
                    n.a.handle_result(t, id, r);
                }
                if let Some(from) = n.a.poll_watch() {
                    n.watch = Some(from);
                }
                if let Some(from) = n.watch {
                    if let Ok(evs) = self.etcd.events_from(from) {
                        if let Some(last) = evs.last().map(|e| e.kv.mod_revision) {
                            n.watch = Some(last + 1);
                            n.a.handle_watch(t, WatchInput::Events(evs));
                            progressed = true;
                        }
                    }
                }
                while let Some(h) = n.a.poll_hook() {
                    progressed = true;
                    if let Hook::RunPhase { job, .. } = h {
                        n.a.phase_done(t, job, true);
                    }
                }
                while let Some(e) = n.a.poll_event() {
                    n.events.push(e);
                }
                if !progressed {
                    break;
                }
            }
        }
    }
    fn run_until(&mut self, what: &str, mut done: impl FnMut(&World) -> bool) {
        for _ in 0..2000 {
            if done(self) {
                return;
            }
            self.round();
        }
        for n in &self.nodes {
            let tail: Vec<&ClusterEvent> = n
                .events
                .iter()
                .filter(|e| {
                    !matches!(
                        e,
                        ClusterEvent::WriteAccepted { .. }
                            | ClusterEvent::LockRefused { .. }
                            | ClusterEvent::QuorumDecision { .. }
                    )
                })
                .collect();
            eprintln!(
                "{}: {:?}",
                n.a.proc_id(),
                &tail[tail.len().saturating_sub(25)..]
            );
        }
        panic!("not reached within 20 s of virtual time: {what}");
    }
    fn count(&self, pred: impl Fn(&ClusterEvent) -> bool) -> usize {
        self.nodes
            .iter()
            .flat_map(|n| n.events.iter())
            .filter(|e| pred(e))
            .count()
    }
}

fn is_lock_txn(r: &Request) -> bool {
    matches!(r, Request::Txn(t) if t.success.iter().any(|o| matches!(o, TxnOp::Put { key, .. } if key.starts_with("p/recovery/lock/"))))
}

fn is_completion(r: &Request) -> bool {
    matches!(r, Request::Txn(t) if t.success.iter().any(|o| matches!(o, TxnOp::Put { key, .. } if key.starts_with("p/members/")))
        && t.success.iter().any(|o| matches!(o, TxnOp::Delete { key, .. } if key.starts_with("p/recovery/lock/"))))
}

/// Three nodes, each hosting one rank; node 2 dies (its lease expires).
fn three_then_kill(w: &mut World) {
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        w.spawn(name, vec![i as u32], 3);
    }
    w.run_until("all running", |w| {
        w.nodes.iter().all(|n| {
            *n.a.status() == Status::Running && (0..3).all(|r| n.a.incarnation(r).is_some())
        })
    });
    w.nodes[2].alive = false;
}

#[test]
fn an_ambiguous_lock_is_read_back_not_retried() {
    let mut w = World::new();
    three_then_kill(&mut w);
    w.lose = Some(Box::new(is_lock_txn));
    w.run_until("recovered", |w| {
        w.count(|e| matches!(e, ClusterEvent::RecoveryFinished { rank: 2, .. })) == 1
    });
    assert_eq!(w.lost, 1, "the lock reply was lost once");
    // One lock for the failure, reported once, and its token is the lock's revision.
    assert_eq!(
        w.count(|e| matches!(e, ClusterEvent::LockGranted { rank: 2, .. })),
        1
    );
    let locks = w
        .etcd
        .applied
        .iter()
        .filter(|a| is_lock_txn(&Request::Txn(a.txn.clone())))
        .count();
    assert_eq!(locks, 1, "no second lock Txn after the ambiguous one");
}

#[test]
fn an_ambiguous_completion_is_read_back_once() {
    let mut w = World::new();
    three_then_kill(&mut w);
    w.lose = Some(Box::new(is_completion));
    w.run_until("recovered", |w| {
        w.count(|e| matches!(e, ClusterEvent::RecoveryFinished { rank: 2, .. })) == 1
    });
    for _ in 0..100 {
        w.round();
    }
    assert_eq!(w.lost, 1);
    let fin: Vec<&ClusterEvent> = w
        .nodes
        .iter()
        .flat_map(|n| n.events.iter())
        .filter(|e| matches!(e, ClusterEvent::RecoveryFinished { .. }))
        .collect();
    assert_eq!(fin.len(), 1, "{fin:?}");
    let ClusterEvent::RecoveryFinished {
        new_incarnation, ..
    } = fin[0]
    else {
        unreachable!()
    };
    let member = w
        .etcd
        .kvs
        .get("p/members/2")
        .expect("rank 2 is a member again");
    assert_eq!(member.create_revision, *new_incarnation);
    let completions = w
        .etcd
        .applied
        .iter()
        .filter(|a| is_completion(&Request::Txn(a.txn.clone())))
        .count();
    assert_eq!(completions, 1);
}

#[test]
fn a_joining_process_starts_paused_and_acks() {
    let mut w = World::new();
    three_then_kill(&mut w);
    // Run until the pause key exists, then start a fresh process.
    w.run_until("pause requested", |w| w.etcd.kvs.contains_key("p/pause/2"));
    let d = w.spawn("d", vec![], 3);
    w.round();
    w.round();
    assert!(
        !w.etcd.kvs.contains_key("p/pause/2") || w.nodes[d].gate.is_paused(),
        "a process that listed a pause key runs unpaused"
    );
    w.run_until("recovered", |w| {
        w.count(|e| matches!(e, ClusterEvent::RecoveryFinished { rank: 2, .. })) == 1
    });
    assert!(!w.nodes[d].gate.is_paused(), "resumed after the recovery");
}

#[test]
fn a_repeated_member_deletion_fails_the_rank_once() {
    let mut w = World::new();
    three_then_kill(&mut w);
    w.run_until("a sees rank 2 fail", |w| {
        w.nodes[0]
            .events
            .iter()
            .any(|e| matches!(e, ClusterEvent::Failed { rank: 2, .. }))
    });
    // The watch delivers the deletion again (a resumed watch overlapping the old one).
    let del: Vec<_> = w
        .etcd
        .history
        .iter()
        .filter(|e| {
            e.kv.key == "p/members/2" && e.kind == ftforest_cluster::proto::ops::EventKind::Delete
        })
        .cloned()
        .collect();
    assert_eq!(del.len(), 1);
    let t = Instant::from_millis(w.now);
    w.nodes[0].a.handle_watch(t, WatchInput::Events(del));
    while let Some(e) = w.nodes[0].a.poll_event() {
        w.nodes[0].events.push(e);
    }
    let failed = w.nodes[0]
        .events
        .iter()
        .filter(|e| matches!(e, ClusterEvent::Failed { rank: 2, .. }))
        .count();
    assert_eq!(failed, 1, "one incarnation fails once");
}

#[test]
fn a_lock_held_through_an_etcd_outage_is_given_up_not_orphaned() {
    let mut w = World::new();
    three_then_kill(&mut w);
    // The recoverer holds the lock and waits for the pause acks when etcd loses quorum for
    // longer than the TTL: every process fences itself, the pause times out, the lock must
    // be given up, which cannot be written yet. Leases survive (no expiry without quorum).
    w.run_until("pause requested", |w| w.etcd.kvs.contains_key("p/pause/2"));
    w.etcd.set_unavailable(true);
    for _ in 0..400 {
        w.round();
    }
    assert!(
        w.count(|e| matches!(e, ClusterEvent::SelfFenced { .. })) >= 2,
        "the outage outlasted the self-fence deadline"
    );
    w.etcd.set_unavailable(false);
    // Once writes are allowed again the lock is released or used: the rank is recovered and
    // no process stays paused.
    w.run_until("recovered after the outage", |w| {
        w.count(|e| matches!(e, ClusterEvent::RecoveryFinished { rank: 2, .. })) == 1
    });
    for _ in 0..100 {
        w.round();
    }
    assert!(!w.etcd.kvs.contains_key("p/pause/2"));
    assert!(w.nodes[..2].iter().all(|n| !n.gate.is_paused()));
}

#[test]
fn a_lock_that_commits_after_its_read_back_is_given_up() {
    let mut w = World::new();
    three_then_kill(&mut w);
    // The lock Txn times out, the read-back finds no lock (the fence is refused), and only
    // then does the Txn commit: lock, slot and pause on the recoverer's live lease.
    w.hold = Some(Box::new(is_lock_txn));
    w.run_until("the late lock committed", |w| w.lost == 1);
    let token = w
        .late_rev
        .expect("the held lock Txn applied after its read-back");
    // The stray lock is given up (fenced on its token), and the rank is then recovered.
    w.run_until("recovered", |w| {
        w.count(|e| matches!(e, ClusterEvent::RecoveryFinished { rank: 2, .. })) == 1
    });
    for _ in 0..100 {
        w.round();
    }
    assert!(!w.etcd.kvs.contains_key("p/recovery/lock/2"));
    assert!(!w.etcd.kvs.contains_key("p/pause/2"));
    assert!(w.nodes[..2].iter().all(|n| !n.gate.is_paused()));
    let given_up = w.etcd.applied.iter().any(|a| {
        a.txn
            .compares
            .iter()
            .any(|c| c.key == "p/recovery/lock/2" && c.check == Check::CreateRevision(token))
            && !a.txn.success.iter().any(|o| matches!(o, TxnOp::Put { .. }))
    });
    assert!(
        given_up,
        "the stray lock was given up by a Txn fenced on its token"
    );
    assert_eq!(
        w.count(|e| matches!(e, ClusterEvent::StrayLockReleased { rank: 2, .. })),
        1
    );
}

#[test]
fn a_process_with_operations_in_flight_does_not_ack_at_its_quiescence_timeout() {
    let mut w = World::new();
    w.quiescence = core::time::Duration::from_secs(1);
    three_then_kill(&mut w);
    // Node a has a cross-partition operation in flight that outlives its quiescence
    // timeout (1 s) and the recoverer's pause timeout (3 s, abort).
    let op = w.nodes[0]
        .gate
        .begin_token()
        .expect("gate open before the pause");
    w.run_until("the pause timed out", |w| {
        w.count(|e| matches!(e, ClusterEvent::PauseTimedOut { rank: 2, .. })) >= 1
    });
    let acked_a = w.nodes[0]
        .events
        .iter()
        .any(|e| matches!(e, ClusterEvent::PauseAcked { rank: 2, .. }));
    assert!(!acked_a, "a acked with an operation in flight");
    assert!(w.nodes[0].events.iter().any(|e| matches!(
        e,
        ClusterEvent::QuiescenceOverdue {
            rank: 2,
            in_flight: 1,
            ..
        }
    )));
    assert_eq!(
        w.count(|e| matches!(e, ClusterEvent::Phase { .. })),
        0,
        "no phase ran while a had an operation in flight"
    );
    // Once the operation ends, a acks the next pause and the rank is recovered.
    w.nodes[0].gate.end_token(op).unwrap();
    w.run_until("recovered", |w| {
        w.count(|e| matches!(e, ClusterEvent::RecoveryFinished { rank: 2, .. })) == 1
    });
}

fn is_leave(r: &Request) -> bool {
    matches!(r, Request::Txn(t) if t.success.iter().any(|o| matches!(o, TxnOp::Put { key, value, .. } if key.starts_with("p/epoch/") && value == b"left")))
}

#[test]
fn an_ambiguous_leave_is_resolved_not_reported_as_nothing() {
    let mut w = World::new();
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        w.spawn(name, vec![i as u32], 3);
    }
    w.run_until("all running", |w| {
        w.nodes.iter().all(|n| {
            *n.a.status() == Status::Running && (0..3).all(|r| n.a.incarnation(r).is_some())
        })
    });
    // a leaves; the leave Txn commits but its reply is lost.
    w.lose = Some(Box::new(is_leave));
    let t = Instant::from_millis(w.now);
    w.nodes[0].a.leave(t);
    w.run_until("a stopped", |w| {
        matches!(w.nodes[0].a.status(), Status::Stopped(_))
    });
    for _ in 0..50 {
        w.round();
    }
    assert_eq!(w.lost, 1, "the leave reply was lost");
    assert!(
        w.nodes[0]
            .events
            .iter()
            .any(|e| matches!(e, ClusterEvent::MemberLeft { rank: 0 })),
        "the leaver resolved its ambiguous leave and reported it"
    );
    // Every other process saw a leave, not a failure.
    for n in &w.nodes[1..] {
        assert!(n
            .events
            .iter()
            .any(|e| matches!(e, ClusterEvent::MemberLeft { rank: 0 })));
        assert!(!n
            .events
            .iter()
            .any(|e| matches!(e, ClusterEvent::Failed { rank: 0, .. })));
    }
}

/// A registration Txn (puts member keys, deletes nothing: not a completion).
fn is_registration(r: &Request) -> bool {
    matches!(r, Request::Txn(t) if t.success.iter().any(|o| matches!(o, TxnOp::Put { key, .. } if key.starts_with("p/members/")))
        && !t.success.iter().any(|o| matches!(o, TxnOp::Delete { .. })))
}

/// `b` starts with ranks {1, 2, 0}; rank 0 is taken (by another process's write) after `b`
/// listed the keyspace and before its registration reaches etcd. The refusal registers
/// none of b's ranks (one all-or-nothing Txn) and names rank 0; nothing of ranks 1 and 2
/// is left in etcd (no epoch that would make them FAILED, or a retry a zombie), and a
/// process that then asks for {1, 2} runs.
#[test]
fn a_registration_refused_for_one_rank_leaves_no_other_rank_registered() {
    let mut w = World::new();
    let taken = Txn {
        compares: vec![],
        success: vec![TxnOp::Put {
            key: "p/members/0".into(),
            value: b"a".to_vec(),
            lease: 0,
        }],
        failure: vec![],
    };
    w.before = Some((Box::new(is_registration), Request::Txn(taken)));
    let b = w.spawn("b", vec![1, 2, 0], 3);
    w.run_until("b stopped", |w| {
        matches!(w.nodes[b].a.status(), Status::Stopped(_))
    });
    assert_eq!(
        *w.nodes[b].a.status(),
        Status::Stopped(Some(ClusterError::RankHosted { rank: 0 }))
    );
    for r in [1, 2] {
        for key in [format!("p/members/{r}"), format!("p/epoch/{r}")] {
            assert!(
                !w.etcd.kvs.contains_key(&key),
                "{key} left behind by a refused start: {:?}",
                w.etcd.kvs.keys().collect::<Vec<_>>()
            );
        }
    }
    assert!(!w.nodes[b]
        .events
        .iter()
        .any(|e| matches!(e, ClusterEvent::Registered { .. })));
    let c = w.spawn("c", vec![1, 2], 3);
    w.run_until("c running", |w| *w.nodes[c].a.status() == Status::Running);
    let inc = w.nodes[c].a.incarnation(1);
    assert!(inc.is_some());
    assert_eq!(w.nodes[c].a.incarnation(2), inc, "one Txn: one incarnation");
    for r in [1, 2] {
        assert!(w.nodes[c]
            .events
            .iter()
            .any(|e| matches!(e, ClusterEvent::Registered { rank, incarnation } if *rank == r && Some(*incarnation) == inc)));
    }
}

/// The registration Txn of ranks {0, 1} commits but its reply is lost: the read-back finds
/// every member key on b's lease, so both ranks are registered once, at the Txn's revision.
#[test]
fn an_ambiguous_registration_is_read_back() {
    let mut w = World::new();
    w.lose = Some(Box::new(is_registration));
    let b = w.spawn("b", vec![0, 1], 3);
    w.run_until("b running", |w| *w.nodes[b].a.status() == Status::Running);
    assert_eq!(w.lost, 1, "the registration reply was lost once");
    let regs: Vec<Rev> = w
        .etcd
        .applied
        .iter()
        .filter(|a| is_registration(&Request::Txn(a.txn.clone())))
        .map(|a| a.rev)
        .collect();
    assert_eq!(regs.len(), 1, "registered by one Txn, not re-sent");
    for r in [0, 1] {
        assert_eq!(w.nodes[b].a.incarnation(r), Some(regs[0]));
        assert_eq!(
            w.count(|e| matches!(e, ClusterEvent::Registered { rank, .. } if *rank == r)),
            1
        );
    }
}

/// `a` hosts {0, 1} and leaves; right before its first `left` mark reaches etcd, rank 0's
/// member key is replaced (another incarnation): that mark is refused by its incarnation
/// compare, rank 1's applies. The leave still revokes the lease and stops, and its outcome
/// names rank 0 as not marked, refused as stale.
#[test]
fn a_leave_mark_refused_by_the_incarnation_compare_is_reported() {
    let mut w = World::new();
    let a = w.spawn("a", vec![0, 1], 3);
    w.run_until("a running", |w| *w.nodes[a].a.status() == Status::Running);
    assert_eq!(w.nodes[a].a.leave_result(), Ok(()), "no leave yet");
    let replace = Txn {
        compares: vec![],
        success: vec![
            TxnOp::Delete {
                key: "p/members/0".into(),
                prefix: false,
            },
            TxnOp::Put {
                key: "p/members/0".into(),
                value: b"other".to_vec(),
                lease: 0,
            },
        ],
        failure: vec![],
    };
    w.before = Some((Box::new(is_leave), Request::Txn(replace)));
    let t = Instant::from_millis(w.now);
    w.nodes[a].a.leave(t);
    w.run_until("a stopped", |w| {
        matches!(w.nodes[a].a.status(), Status::Stopped(_))
    });
    assert_eq!(
        w.nodes[a].a.leave_result(),
        Err(ClusterError::NotAllLeft {
            ranks: vec![0],
            stale: true
        })
    );
    assert!(w.nodes[a]
        .events
        .iter()
        .any(|e| matches!(e, ClusterEvent::MemberLeft { rank: 1 })));
}

fn is_keepalive(r: &Request) -> bool {
    matches!(r, Request::KeepAlive { .. })
}

/// A keepalive whose etcd member died (no answer) is retried after TTL/20 (100 ms at TTL
/// 2 s), not at the next TTL/3 tick: with one attempt per 667 ms, a single keepalive lost
/// to a dying member plus the request timeout used up the lease's slack (scenario s03 saw
/// its node self-fence and lose its lease when an etcd follower was killed).
#[test]
fn a_failed_keepalive_is_retried_soon() {
    let mut w = World::new();
    w.spawn("a", vec![0], 1);
    w.run_until("registered", |w| {
        w.count(|e| matches!(e, ClusterEvent::Registered { .. })) == 1
    });
    w.lose = Some(Box::new(is_keepalive));
    w.run_until("a keepalive failed", |w| w.lost == 1);
    let failed_at = w.now;
    w.lose = Some(Box::new(is_keepalive));
    w.run_until("the next keepalive", |w| w.lost == 2);
    let gap = w.now - failed_at;
    assert!(
        gap <= 2000 / 20 + 10,
        "the failed keepalive was retried {gap} ms later (TTL/3 = 667 ms)"
    );
    assert_eq!(
        w.count(|e| matches!(e, ClusterEvent::SelfFenced { .. })),
        0,
        "retried in time: no self-fence"
    );
}

/// Four nodes, each hosting one rank; node 3 dies (its lease expires).
fn four_then_kill(w: &mut World) {
    for (i, name) in ["a", "b", "c", "d"].iter().enumerate() {
        w.spawn(name, vec![i as u32], 4);
    }
    w.run_until("all running", |w| {
        w.nodes.iter().all(|n| {
            *n.a.status() == Status::Running && (0..4).all(|r| n.a.incarnation(r).is_some())
        })
    });
    w.nodes[3].alive = false;
}

/// A lock Txn for rank 3 sent by a process other than `c`.
fn is_lock_txn_not_by_c(r: &Request) -> bool {
    is_lock_txn(r)
        && matches!(r, Request::Txn(t) if t.success.iter().any(|o| matches!(o, TxnOp::Put { key, value, .. } if key == "p/recovery/lock/3" && !value.starts_with(b"c "))))
}

/// The applied lock Txns of `rank` (their revisions).
fn applied_locks(w: &World, rank: u32) -> Vec<Rev> {
    let key = format!("p/recovery/lock/{rank}");
    w.etcd
        .applied
        .iter()
        .filter(|a| {
            a.txn
                .success
                .iter()
                .any(|o| matches!(o, TxnOp::Put { key: k, .. } if *k == key))
        })
        .map(|a| a.rev)
        .collect()
}

/// After a lock without quorum at its own revision: given up by a Txn fenced on its
/// token, refused `no_quorum`, the decision reported from the Txn's read, and nothing ran
/// under it (no grant, no phase, no pause left, nobody paused).
fn assert_given_up_without_quorum(w: &mut World) {
    w.run_until("the lock was refused for no quorum", |w| {
        w.count(|e| {
            matches!(
                e,
                ClusterEvent::LockRefused {
                    rank: 3,
                    refusal: ftforest_cluster::LockRefusal::NoQuorum
                }
            )
        }) >= 1
    });
    for _ in 0..300 {
        w.round();
    }
    let locks = applied_locks(w, 3);
    assert_eq!(
        locks.len(),
        1,
        "one lock Txn committed (then the view said no quorum)"
    );
    let token = locks[0];
    let given_up = w.etcd.applied.iter().any(|a| {
        a.txn
            .compares
            .iter()
            .any(|c| c.key == "p/recovery/lock/3" && c.check == Check::CreateRevision(token))
            && a.txn
                .success
                .iter()
                .any(|o| matches!(o, TxnOp::Delete { key, .. } if key == "p/recovery/lock/3"))
            && !a.txn.success.iter().any(|o| matches!(o, TxnOp::Put { .. }))
    });
    assert!(
        given_up,
        "the lock was given up by a Txn fenced on its token {token}"
    );
    assert!(
        w.count(|e| matches!(
            e,
            ClusterEvent::QuorumDecision {
                rank: 3,
                healthy: 2,
                members: 4,
                decision: ftforest_cluster::QuorumVerdict::NoQuorum
            }
        )) >= 1,
        "the decision (2 of 4 healthy) was reported"
    );
    assert_eq!(
        w.count(|e| matches!(e, ClusterEvent::LockGranted { .. })),
        0,
        "a lock without quorum at its revision was reported granted"
    );
    assert_eq!(
        w.count(|e| matches!(
            e,
            ClusterEvent::Phase { .. } | ClusterEvent::RecoveryFinished { .. }
        )),
        0,
        "a phase ran under a lock without quorum"
    );
    assert!(!w.etcd.kvs.contains_key("p/recovery/lock/3"));
    assert!(!w.etcd.kvs.contains_key("p/pause/3"));
    assert!(w.nodes[..2].iter().all(|n| !n.gate.is_paused()));
}

#[test]
fn a_lock_without_quorum_at_its_own_revision_is_given_up_and_runs_nothing() {
    let mut w = World::new();
    four_then_kill(&mut w);
    // Every view shows 3 of 4 healthy when the lock Txn is sent; right before it commits,
    // c's lease goes too: 2 of 4 at the Txn's revision, no quorum.
    let c_lease = w.nodes[2].a.lease_id();
    w.before = Some((
        Box::new(is_lock_txn_not_by_c),
        Request::LeaseRevoke { lease: c_lease },
    ));
    assert_given_up_without_quorum(&mut w);
}

#[test]
fn an_ambiguous_lock_that_committed_without_quorum_is_given_up() {
    let mut w = World::new();
    four_then_kill(&mut w);
    // As above, and the lock Txn's answer is lost: its own read is lost with it, the
    // read-back finds the lock ours and judges quorum again.
    let c_lease = w.nodes[2].a.lease_id();
    w.before = Some((
        Box::new(is_lock_txn_not_by_c),
        Request::LeaseRevoke { lease: c_lease },
    ));
    w.lose = Some(Box::new(is_lock_txn_not_by_c));
    assert_given_up_without_quorum(&mut w);
    assert_eq!(w.lost, 1, "the lock's answer was lost");
}

#[test]
fn no_quorum_in_the_view_sends_no_lock_and_pauses_nobody() {
    let mut w = World::new();
    four_then_kill(&mut w);
    // c and d go in the same watch delivery: every view shows 2 of 4 healthy.
    let c_lease = w.nodes[2].a.lease_id();
    let d_lease = w.nodes[3].a.lease_id();
    w.nodes[2].alive = false;
    w.etcd
        .execute(&Request::LeaseRevoke { lease: c_lease })
        .unwrap();
    w.etcd
        .execute(&Request::LeaseRevoke { lease: d_lease })
        .unwrap();
    w.run_until("refused for no quorum", |w| {
        w.count(|e| {
            matches!(
                e,
                ClusterEvent::LockRefused {
                    refusal: ftforest_cluster::LockRefusal::NoQuorum,
                    ..
                }
            )
        }) >= 2
    });
    for _ in 0..300 {
        w.round();
    }
    assert!(applied_locks(&w, 2).is_empty() && applied_locks(&w, 3).is_empty());
    assert!(
        !w.etcd
            .history
            .iter()
            .any(|e| e.kv.key.starts_with("p/pause/")),
        "a pause was requested although every view showed no quorum"
    );
    assert_eq!(
        w.count(|e| matches!(e, ClusterEvent::PauseRequested { .. })),
        0
    );
}

#[test]
fn an_epoch_moved_since_the_view_refuses_the_lock() {
    let mut w = World::new();
    three_then_kill(&mut w);
    // Between the view that showed rank 2's failure and the lock Txn, rank 2's epoch moves
    // (as a recovery completed elsewhere, whose new incarnation then failed, would move it).
    let moved = Txn {
        compares: Vec::new(),
        success: vec![TxnOp::Put {
            key: "p/epoch/2".into(),
            value: b"healthy".to_vec(),
            lease: 0,
        }],
        failure: Vec::new(),
    };
    w.before = Some((Box::new(is_lock_txn), Request::Txn(moved)));
    w.run_until("recovered", |w| {
        w.count(|e| matches!(e, ClusterEvent::RecoveryFinished { rank: 2, .. })) == 1
    });
    let moved_at = w
        .etcd
        .applied
        .iter()
        .find(|a| {
            a.txn.compares.is_empty()
                && matches!(&a.txn.success[..], [TxnOp::Put { key, .. }] if key == "p/epoch/2")
        })
        .map(|a| a.rev)
        .expect("the epoch moved");
    // The lock Txn sent from the older view was refused; the one that committed was sent
    // from a view that had seen the move.
    let locks: Vec<&sim::etcd::Applied> = w
        .etcd
        .applied
        .iter()
        .filter(|a| applied_locks(&w, 2).contains(&a.rev))
        .collect();
    assert_eq!(locks.len(), 1);
    let epoch_seen = locks[0].txn.compares.iter().find_map(|c| match c.check {
        Check::ModRevision(m) if c.key == "p/epoch/2" => Some(m),
        _ => None,
    });
    assert!(
        epoch_seen.is_some_and(|m| m >= moved_at),
        "the lock committed at {} compared the epoch at {epoch_seen:?}, before it moved at \
         {moved_at}",
        locks[0].rev
    );
    assert!(
        w.count(|e| matches!(
            e,
            ClusterEvent::LockRefused {
                rank: 2,
                refusal: ftforest_cluster::LockRefusal::Held
            }
        )) >= 1
    );
}
