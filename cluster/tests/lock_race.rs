//! Scenario 8 of the real-etcd suite (see `scenarios.rs` for how to run them): eight
//! contenders race for one partition's recovery lock with the crate's own lock Txn
//! (`proto::txns::lock`, run through etcd-client), 200 rounds. Kept in its own file because
//! it drives the protocol's Txns directly instead of `ftf-node` processes.

#![allow(clippy::std_instead_of_core)] // std-only test code

mod support;
#[path = "support/txn.rs"]
mod txn;

use support::scenario::{with_watchdog, World};

/// Scenario 8: eight contenders race for one partition's lock with the crate's own lock
/// Txn, 200 rounds: exactly one winner per round, tokens strictly increasing.
#[test]
fn s08_eight_racers_one_lock_200_rounds() {
    use ftforest_cluster::proto::keys::Keys;
    use ftforest_cluster::proto::txns;
    require_etcd!();
    with_watchdog("s08_eight_racers_one_lock_200_rounds", 120, || {
        let w = World::new("s08", 3);
        let eps = w.etcd.endpoints();
        let prefix = w.prefix.clone();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let keys = std::sync::Arc::new(Keys::new(&prefix));
            let mut clients = Vec::new();
            for _ in 0..8 {
                let mut c = etcd_client::Client::connect(&eps, None)
                    .await
                    .expect("connect");
                let lease = c.lease_grant(30, None).await.expect("lease").id();
                clients.push((c, lease));
            }
            let mut admin = etcd_client::Client::connect(&eps, None)
                .await
                .expect("connect");
            let mut last_token = 0i64;
            for round in 0..200u32 {
                let epoch = admin.get(keys.epoch(0), None).await.expect("get epoch");
                let epoch_mod = epoch.kvs().first().map(|kv| kv.mod_revision()).unwrap_or(0) as u64;
                let mut tasks = Vec::new();
                for (i, (c, lease)) in clients.drain(..).enumerate() {
                    let keys = keys.clone();
                    tasks.push(tokio::spawn(async move {
                        let mut c = c;
                        let t =
                            txns::lock(&keys, 0, 0, epoch_mod, &format!("r{i}"), round + 1, lease);
                        let r = txn::run(&mut c, &t).await;
                        (c, lease, i, r)
                    }));
                }
                let mut winners = Vec::new();
                for t in tasks {
                    let (c, lease, i, r) = t.await.expect("racer");
                    let (ok, rev) = r.expect("lock txn");
                    if ok {
                        winners.push((i, rev));
                    }
                    clients.push((c, lease));
                }
                assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
                let (_, token) = winners[0];
                assert!(
                    token > last_token,
                    "round {round}: token {token} after {last_token}"
                );
                last_token = token;
                let (released, _) = txn::run(&mut admin, &txns::give_up(&keys, 0, 0, token as u64))
                    .await
                    .expect("release");
                assert!(
                    released,
                    "round {round}: fenced release of token {token} refused"
                );
            }
        });
        // The history: 200 non-overlapping lock intervals, never more than K = 1.
        let out = w.check(1, &["--allow-unrecovered".to_string()]);
        assert!(out.contains("200 lock grants"), "{out}");
    });
}
