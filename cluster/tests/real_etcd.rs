//! End-to-end against a real etcd (skipped, with a printed reason, when `etcd` is not
//! installed): three members on one etcd; one member's driver is dropped without leaving
//! (its keepalives stop, like a `kill -9`); the survivors detect the failure at the lease
//! expiry, one takes the lock, the cluster-wide pause is acknowledged by every live
//! process, the phases run with the token, the completion creates the new incarnation,
//! every process resumes. A graceful leave is not a failure; a zombie cannot re-register.
//! Bounded by its own watchdog (tokio timeouts), never by CI's limit.

#![allow(clippy::std_instead_of_core)] // the shared std-only test support (tests/support)

use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;
use std::sync::Arc;

use ftforest_cluster::{
    ClusterConfig, ClusterError, ClusterEvent, EventRecord, Fault, ForestHooks, Member, PhaseIo,
    WriteError,
};
use ftforest_core::coord::PhaseJob;
use tokio::sync::mpsc::UnboundedReceiver;

mod support;
#[path = "support/txn.rs"]
mod txn;

use support::etcd::{etcd_missing, EtcdCluster};

/// One etcd member from the scenarios' fixture (free ports, temp dir, readiness, `Drop`
/// kills exactly its own process).
struct Etcd {
    _cluster: EtcdCluster,
    client: String,
}

/// `None` (a printed skip) when etcd is missing; a failure instead under `CI` or
/// `FTF_REQUIRE_ETCD` (`etcd_missing`), so the test command cannot pass these silently.
fn start_etcd() -> Option<Etcd> {
    if let Some(reason) = etcd_missing() {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "SKIPPED (not passed): {reason}");
        return None;
    }
    let cluster = EtcdCluster::start(1).expect("start etcd");
    let client = cluster.endpoints()[0].clone();
    Some(Etcd {
        _cluster: cluster,
        client,
    })
}

/// Members `a` (rank 0) and `b` (ranks 1 and 2) under `prefix`, with their event streams,
/// once `a` has seen `b` join.
async fn two_members(
    etcd: &Etcd,
    prefix: &str,
) -> (
    Member,
    Member,
    UnboundedReceiver<EventRecord>,
    UnboundedReceiver<EventRecord>,
) {
    let a = start(config(etcd, "a", vec![0], prefix)).await;
    let b = start(config(etcd, "b", vec![1, 2], prefix)).await;
    let mut ea = a.events();
    let eb = b.events();
    wait_for(&mut ea, "a sees b", |e| {
        matches!(e, ClusterEvent::MemberJoined { rank: 2, .. })
    })
    .await;
    (a, b, ea, eb)
}

struct Toy {
    phases: AtomicU32,
}

impl ForestHooks for Toy {
    fn run_phase(&self, job: PhaseJob, io: &PhaseIo) -> Result<(), ()> {
        self.phases.fetch_add(1, Ordering::SeqCst);
        assert_eq!(job.rank, io.rank());
        io.put(job.rank, format!("recovered by token {}", io.token()))
            .map(|_| ())
            .map_err(|_| ())
    }
}

fn config(etcd: &Etcd, name: &str, ranks: Vec<u32>, prefix: &str) -> ClusterConfig {
    ClusterConfig::builder(name, 3)
        .endpoint(etcd.client.clone())
        .prefix(prefix)
        .ranks(ranks)
        .ttl(Duration::from_secs(2))
        .build()
        .expect("config")
}

async fn start(cfg: ClusterConfig) -> Member {
    // etcd may still be starting: retry the connection for a while.
    for _ in 0..50 {
        match Member::start(
            cfg.clone(),
            Arc::new(Toy {
                phases: AtomicU32::new(0),
            }),
        )
        .await
        {
            Ok(m) => return m,
            Err(ClusterError::Connect(_)) | Err(ClusterError::Etcd(_)) => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Err(e) => panic!("start {}: {e}", cfg.proc_id()),
        }
    }
    panic!("etcd did not come up")
}

async fn wait_for(
    rx: &mut UnboundedReceiver<EventRecord>,
    what: &str,
    pred: impl Fn(&ClusterEvent) -> bool,
) -> EventRecord {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(r)) if pred(&r.event) => return r,
            Ok(Some(r)) => {
                if std::env::var("FTF_E2E_TRACE").is_ok() {
                    eprintln!("{}", r.to_json());
                }
            }
            Ok(None) => panic!("event stream closed waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_detect_lock_pause_phases_complete() {
    let Some(etcd) = start_etcd() else { return };
    let prefix = "ftf/e2e/";
    let a = start(config(&etcd, "a", vec![0], prefix)).await;
    let b = start(config(&etcd, "b", vec![1], prefix)).await;
    let c = start(config(&etcd, "c", vec![2], prefix)).await;
    let mut ea = a.events();
    let mut eb = b.events();
    wait_for(&mut ea, "a registered", |e| {
        matches!(e, ClusterEvent::Registered { rank: 0, .. })
    })
    .await;
    let w = a
        .fenced_put(0, b"a's data".to_vec())
        .await
        .expect("owner write");
    assert!(w > 0);
    for r in [1, 2] {
        wait_for(
            &mut ea,
            "a sees b and c join",
            |e| matches!(e, ClusterEvent::MemberJoined { rank, .. } if *rank == r),
        )
        .await;
    }
    let mut text = String::new();
    a.openmetrics(&mut text);
    assert!(text.contains("ftforest_cluster_requests_total "), "{text}");
    assert!(
        text.contains("ftforest_partitions{state=\"healthy\"} 3\n"),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n") && text.matches("# EOF").count() == 1);
    // "kill -9" c: its driver stops, no keepalive, no leave.
    drop(c);
    let failed = wait_for(&mut ea, "a sees rank 2 failed", |e| {
        matches!(e, ClusterEvent::Failed { rank: 2, .. })
    })
    .await;
    wait_for(&mut eb, "b sees rank 2 failed", |e| {
        matches!(e, ClusterEvent::Failed { rank: 2, .. })
    })
    .await;
    let ClusterEvent::Failed {
        incarnation: old, ..
    } = failed.event
    else {
        unreachable!()
    };
    // Exactly one of a, b completes the recovery.
    let mut winner = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while winner.is_none() {
        tokio::select! {
            Some(r) = ea.recv() => if let ClusterEvent::RecoveryFinished { rank: 2, old_incarnation, new_incarnation, token } = r.event {
                winner = Some(("a", old_incarnation, new_incarnation, token));
            },
            Some(r) = eb.recv() => if let ClusterEvent::RecoveryFinished { rank: 2, old_incarnation, new_incarnation, token } = r.event {
                winner = Some(("b", old_incarnation, new_incarnation, token));
            },
            _ = tokio::time::sleep_until(deadline) => panic!("no recovery within 20 s"),
        }
    }
    let (who, o, n, token) = winner.unwrap();
    assert_eq!(o, old);
    assert!(
        n > token && token > old,
        "{who}: old {o} token {token} new {n}"
    );
    let host = if who == "a" { &a } else { &b };
    assert!(host.ranks().contains(&2));
    // The new owner writes with the new incarnation.
    host.fenced_put(2, b"after".to_vec())
        .await
        .expect("new owner write");
    a.leave().await.expect("leave a");
    b.leave().await.expect("leave b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zombie_rejoin_and_config_mismatch_are_refused() {
    let Some(etcd) = start_etcd() else { return };
    let prefix = "ftf/zombie/";
    let a = start(config(&etcd, "a", vec![0], prefix)).await;
    let b = start(config(&etcd, "b", vec![1, 2], prefix)).await;
    let mut ea = a.events();
    drop(b);
    wait_for(&mut ea, "rank 1 failed", |e| {
        matches!(e, ClusterEvent::Failed { rank: 1, .. })
    })
    .await;
    // b restarts and tries to re-register its failed (or already recovered) rank.
    let r = Member::start(
        config(&etcd, "b", vec![1], prefix),
        Arc::new(Toy {
            phases: AtomicU32::new(0),
        }),
    )
    .await;
    assert!(
        matches!(
            r,
            Err(ClusterError::ZombieRejoinRefused { rank: 1 })
                | Err(ClusterError::RankHosted { rank: 1 })
        ),
        "{:?}",
        r.err()
    );
    let bad = ClusterConfig::builder("d", 4)
        .endpoint(etcd.client.clone())
        .prefix(prefix)
        .build()
        .unwrap();
    let r = Member::start(
        bad,
        Arc::new(Toy {
            phases: AtomicU32::new(0),
        }),
    )
    .await;
    assert!(
        matches!(r, Err(ClusterError::ConfigMismatch { .. })),
        "{:?}",
        r.err()
    );
    a.leave().await.expect("leave");
}

/// A start refused for one rank registers none of its other ranks (one all-or-nothing
/// registration Txn): `b` asks for {1, 2, 0} while `a` holds 0 → `RankHosted { rank: 0 }`;
/// `a` never sees 1 or 2 fail (nothing to recover), and a retry of {1, 2} registers both
/// (each rank with its own `Registered` event, one incarnation: the Txn's revision).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_refused_for_one_rank_registers_none_of_its_ranks() {
    let Some(etcd) = start_etcd() else { return };
    let prefix = "ftf/held/";
    let a = start(config(&etcd, "a", vec![0], prefix)).await;
    let mut ea = a.events();
    let r = Member::start(
        config(&etcd, "b", vec![1, 2, 0], prefix),
        Arc::new(Toy {
            phases: AtomicU32::new(0),
        }),
    )
    .await;
    assert!(
        matches!(r, Err(ClusterError::RankHosted { rank: 0 })),
        "{:?}",
        r.err()
    );
    // The retry: panics (in `start`) with the refusal if 1 or 2 stayed registered or failed.
    let c = start(config(&etcd, "c", vec![1, 2], prefix)).await;
    let mut ec = c.events();
    let inc = c.incarnation(1).expect("c hosts 1");
    assert_eq!(c.incarnation(2), Some(inc));
    for rank in [1, 2] {
        wait_for(&mut ec, "c registered", |e| {
            matches!(e, ClusterEvent::Registered { rank: r, incarnation } if *r == rank && *incarnation == inc)
        })
        .await;
    }
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let joined = |seen: &[ClusterEvent], rank| {
        seen.iter().any(|e| {
            matches!(e, ClusterEvent::MemberJoined { rank: r, incarnation } if *r == rank && *incarnation == inc)
        })
    };
    while !(joined(&seen, 1) && joined(&seen, 2)) {
        match tokio::time::timeout_at(deadline, ea.recv()).await {
            Ok(Some(r)) => seen.push(r.event),
            _ => panic!("a did not see c join: {seen:?}"),
        }
    }
    assert!(
        !seen.iter().any(|e| matches!(
            e,
            ClusterEvent::Failed { .. } | ClusterEvent::LockGranted { .. }
        )),
        "{seen:?}"
    );
    c.leave().await.expect("leave c");
    a.leave().await.expect("leave a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_keepalives_fence_before_the_key_expires() {
    let Some(etcd) = start_etcd() else { return };
    let prefix = "ftf/drop/";
    let (a, b, mut ea, mut eb) = two_members(&etcd, prefix).await;
    a.fault(Fault::DropKeepalives);
    let fenced = wait_for(&mut ea, "a fences itself", |e| {
        matches!(e, ClusterEvent::SelfFenced { .. })
    })
    .await;
    // Every fenced write is refused locally from now on.
    assert_eq!(
        a.fenced_put(0, b"late".to_vec()).await,
        Err(WriteError::SelfFenced)
    );
    let failed = wait_for(&mut eb, "b sees rank 0 fail", |e| {
        matches!(e, ClusterEvent::Failed { rank: 0, .. })
    })
    .await;
    // The order the issue asks for: the process stopped writing before etcd deleted its key
    // (same machine, same wall clock).
    assert!(fenced.ts_ms <= failed.ts_ms, "{fenced:?} {failed:?}");
    b.leave().await.expect("leave b");
}

/// A leave that cannot mark its ranks `left` (past the self-fence deadline nothing may be
/// sent) says so, naming them, instead of `Ok`; the lease is still revoked, so `b` sees
/// rank 0 FAILED (and recovers it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leave_that_cannot_mark_its_ranks_is_not_ok() {
    let Some(etcd) = start_etcd() else { return };
    let prefix = "ftf/unmarked/";
    let (a, b, mut ea, mut eb) = two_members(&etcd, prefix).await;
    a.fault(Fault::DropKeepalives);
    wait_for(&mut ea, "a fences itself", |e| {
        matches!(e, ClusterEvent::SelfFenced { .. })
    })
    .await;
    assert_eq!(
        a.leave().await,
        Err(ClusterError::NotAllLeft {
            ranks: vec![0],
            stale: false
        })
    );
    wait_for(&mut eb, "b sees rank 0 fail", |e| {
        matches!(e, ClusterEvent::Failed { rank: 0, .. })
    })
    .await;
    b.leave().await.expect("leave b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_owner_past_the_ttl_cannot_write() {
    let Some(etcd) = start_etcd() else { return };
    let prefix = "ftf/stall/";
    let (a, b, mut ea, mut eb) = two_members(&etcd, prefix).await;
    a.fault(Fault::Stall(Duration::from_secs(4)));
    wait_for(&mut eb, "b recovers rank 0", |e| {
        matches!(e, ClusterEvent::RecoveryFinished { rank: 0, .. })
    })
    .await;
    // a wakes up believing it owns rank 0: its write is refused (locally past its deadline,
    // or by the incarnation compare in etcd).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = a.fenced_put(0, b"zombie".to_vec()).await;
    assert!(r.is_err(), "{r:?}");
    wait_for(&mut ea, "a learns its lease is gone", |e| {
        matches!(e, ClusterEvent::LeaseLost)
    })
    .await;
    b.leave().await.expect("leave b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_leave_is_not_a_failure_and_the_rank_can_rejoin() {
    let Some(etcd) = start_etcd() else { return };
    let prefix = "ftf/leave/";
    let a = start(config(&etcd, "a", vec![0], prefix)).await;
    let b = start(config(&etcd, "b", vec![1, 2], prefix)).await;
    let mut ea = a.events();
    let mut old = [0u64; 3];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while old[1] == 0 || old[2] == 0 {
        match tokio::time::timeout_at(deadline, ea.recv()).await {
            Ok(Some(r)) => {
                if let ClusterEvent::MemberJoined { rank, incarnation } = r.event {
                    old[rank as usize] = incarnation;
                }
            }
            _ => panic!("a did not see b's ranks"),
        }
    }
    b.leave().await.expect("leave");
    // A new process takes rank 1 over with a fresh incarnation (epoch `left` is joinable).
    let c = start(config(&etcd, "c", vec![1], prefix)).await;
    let mut seen = Vec::new();
    while !seen.iter().any(
        |e| matches!(e, ClusterEvent::MemberJoined { rank: 1, incarnation } if *incarnation > old[1]),
    ) {
        match tokio::time::timeout_at(deadline, ea.recv()).await {
            Ok(Some(r)) => seen.push(r.event),
            _ => panic!("a did not see rank 1 rejoin: {seen:?}"),
        }
    }
    for r in [1, 2] {
        assert!(
            seen.contains(&ClusterEvent::MemberLeft { rank: r }),
            "{seen:?}"
        );
    }
    // A leave is not a failure: nothing failed, nothing was locked.
    assert!(
        !seen.iter().any(|e| matches!(
            e,
            ClusterEvent::Failed { .. } | ClusterEvent::LockGranted { .. }
        )),
        "{seen:?}"
    );
    let mut text = String::new();
    a.openmetrics(&mut text);
    assert!(
        text.contains("ftforest_partitions{state=\"failed\"} 0\n"),
        "{text}"
    );
    c.leave().await.expect("leave c");
    a.leave().await.expect("leave a");
}

/// No etcd needed: a listener that accepts connections and never answers. `start` must fail
/// with a typed error within its bound (connect timeout + 10 request timeouts), not hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_against_a_silent_endpoint_fails_in_bounded_time() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let r = start_bounded(format!("http://{addr}")).await;
    // Nothing answered the connect probe: unreachable, not "etcd unavailable".
    assert!(matches!(r, Err(ClusterError::Connect(_))), "{:?}", r.err());
}

/// No etcd needed: a refused port. etcd-client's channel connects lazily, so without the
/// start's Status probe this surfaced as a failed lease grant (`Etcd`), indistinguishable
/// from an etcd without quorum; it must be `Connect`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_against_a_refused_port_is_a_connect_error() {
    let r = start_bounded("http://127.0.0.1:1".into()).await;
    assert!(matches!(r, Err(ClusterError::Connect(_))), "{:?}", r.err());
}

/// `Member::start` against `endpoint` with 300 ms / 200 ms timeouts; panics if it does not
/// return within 20 s (its own bound is 300 ms + 10 x 200 ms).
async fn start_bounded(endpoint: String) -> Result<Member, ClusterError> {
    let cfg = ClusterConfig::builder("a", 1)
        .endpoint(endpoint)
        .ranks([0])
        .connect_timeout(Duration::from_millis(300))
        .request_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let toy = Arc::new(Toy {
        phases: AtomicU32::new(0),
    });
    tokio::time::timeout(Duration::from_secs(20), Member::start(cfg, toy))
        .await
        .expect("start hung")
}

/// The Get responses of a real Txn answer, as the model's key-values.
fn txn_gets(resp: &etcd_client::TxnResponse) -> Vec<Vec<ftforest_cluster::proto::ops::KeyValue>> {
    resp.op_responses()
        .into_iter()
        .filter_map(|o| match o {
            etcd_client::TxnOpResponse::Get(g) => Some(
                g.kvs()
                    .iter()
                    .map(|kv| ftforest_cluster::proto::ops::KeyValue {
                        key: String::from_utf8_lossy(kv.key()).into_owned(),
                        value: kv.value().to_vec(),
                        create_revision: kv.create_revision() as u64,
                        mod_revision: kv.mod_revision() as u64,
                        lease: kv.lease(),
                    })
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

/// (live member keys, epochs not `left`) in a lock Txn's two reads, counted here.
fn quorum(gets: &[Vec<ftforest_cluster::proto::ops::KeyValue>]) -> (usize, usize) {
    let members = gets[1].iter().filter(|kv| kv.value != b"left").count();
    (gets[0].len(), members)
}

/// On a real etcd, the lock Txn's own read (every member key and epoch, placed before its
/// puts) is the partition quorum at the token's revision: with 2 of 4 ranks alive the lock
/// commits and its read says no quorum, showing `epoch/3` as it was before the Txn's own
/// put (so the read is the state the grant was decided on); the give-up fenced on its token
/// releases it. With 3 of 4 alive the same Txn reads quorum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_txn_reads_the_quorum_at_its_own_revision() {
    use ftforest_cluster::proto::keys::Keys;
    use ftforest_cluster::proto::txns;
    let Some(etcd) = start_etcd() else { return };
    let keys = Keys::new("ftf/grant/");
    let mut c = etcd_client::Client::connect([etcd.client.as_str()], None)
        .await
        .expect("connect");
    let lease = c.lease_grant(30, None).await.expect("lease").id();
    let leased = || Some(etcd_client::PutOptions::new().with_lease(lease));
    for r in 0..4u32 {
        c.put(keys.epoch(r), "healthy", None).await.expect("epoch");
    }
    for r in 0..2u32 {
        c.put(keys.member(r), "x", leased()).await.expect("member");
    }
    let epoch3 = c.get(keys.epoch(3), None).await.expect("get").kvs()[0].mod_revision() as u64;
    let resp = txn::run_raw(&mut c, &txns::lock(&keys, 3, 0, epoch3, "t", 1, lease))
        .await
        .expect("lock txn");
    assert!(resp.succeeded());
    let token = resp.header().expect("header").revision() as u64;
    let gets = txn_gets(&resp);
    assert_eq!(
        gets.len(),
        2,
        "the success branch reads members/ and epochs/"
    );
    let own = gets[1]
        .iter()
        .find(|kv| kv.key == keys.epoch(3))
        .expect("epoch/3 read");
    assert_eq!(
        (own.value.as_slice(), own.mod_revision),
        (&b"healthy"[..], epoch3),
        "the read ran before the Txn's own puts"
    );
    assert_eq!(quorum(&gets), (2, 4));
    let (released, _) = txn::run(&mut c, &txns::give_up(&keys, 3, 0, token))
        .await
        .expect("give up");
    assert!(released, "the give-up fenced on token {token} was refused");
    // Three of four alive: the epoch is `recovering` since the token.
    c.put(keys.member(2), "x", leased()).await.expect("member");
    let resp = txn::run_raw(&mut c, &txns::lock(&keys, 3, 0, token, "t", 2, lease))
        .await
        .expect("lock txn");
    assert!(resp.succeeded());
    let gets = txn_gets(&resp);
    assert_eq!(quorum(&gets), (3, 4));
}
