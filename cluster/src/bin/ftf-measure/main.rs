//! `ftf-measure`: the cluster measurements of issue 8, on a three-member etcd on loopback
//! with real `ftf-node` processes (TTL 2 s). Prints one table; the numbers recorded in
//! `cluster/README.md` come from
//!
//! ```text
//! cargo build --release -p ftforest-cluster --bins && target/release/ftf-measure --rounds 8
//! ```
//!
//! `--only grant` runs section 3 alone.
//!
//! 1. detection: `kill -9` of a node → `failed` on every survivor, beside etcd's own lease
//!    expiry in the same run (a bare leased key whose keepalive process is killed at the same
//!    moment; its DELETE seen by a watcher here);
//! 2. end-to-end recovery (kill → `recovery_finished`), and the cluster-wide pause
//!    (`pause_requested` → `all_acked` at the recoverer) with the live process count;
//! 3. lock grant (the crate's lock Txn, whose success branch also reads every member key and
//!    epoch for the quorum decision: one round trip; then a fenced give-up untimed) beside a
//!    bare etcd Txn (`create_revision == 0` → put with lease), same cluster, same run;
//! 4. an idle node (no owner writes): RSS and CPU from /proc over 10 s, and its keepalive +
//!    watch traffic in bytes through a loopback proxy.
//!
//! Node-log times are wall-clock milliseconds (ms resolution); in-process times use
//! `Instant`.

#![allow(clippy::std_instead_of_core)] // std-only program

mod stats;
#[path = "support.rs"]
mod support;

use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ftforest_cluster::proto::keys::Keys;
use ftforest_cluster::proto::txns;
use serde_json::Value;
use support::node::{now_ms, read_lines, NodeOpts};
use support::proxy::Proxy;
use support::scenario::World;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A bare leased key kept alive by an `etcdctl lease keep-alive` child.
fn bare_holder(w: &World, key: &str) -> Child {
    let out = w
        .etcd
        .etcdctl(&["lease", "grant", "2"])
        .expect("lease grant");
    // "lease 694d7c3e9b6b2d0a granted with TTL(2s)"
    let id = out.split_whitespace().nth(1).expect("lease id").to_string();
    w.etcd
        .etcdctl(&["put", "--lease", &id, key, "x"])
        .expect("put bare key");
    let child = Command::new("etcdctl")
        .args(["--endpoints", &w.endpoints, "lease", "keep-alive", &id])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("etcdctl keep-alive");
    support::node::register(child.id());
    child
}

/// Watches `prefix` and records (key, wall ms) of every DELETE.
fn delete_watcher(endpoints: Vec<String>, prefix: String) -> Arc<Mutex<Vec<(String, u64)>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut c = etcd_client::Client::connect(&endpoints, None)
                .await
                .expect("connect");
            let mut st = c
                .watch(
                    prefix.as_str(),
                    Some(etcd_client::WatchOptions::new().with_prefix()),
                )
                .await
                .expect("watch");
            while let Ok(Some(resp)) = st.message().await {
                for ev in resp.events() {
                    if ev.event_type() == etcd_client::EventType::Delete {
                        if let Some(kv) = ev.kv() {
                            let k = String::from_utf8_lossy(kv.key()).into_owned();
                            s2.lock().unwrap().push((k, now_ms()));
                        }
                    }
                }
            }
        });
    });
    seen
}

fn ts(l: &Value) -> u64 {
    l["ts_ms"].as_u64().unwrap_or(0)
}

#[derive(Default)]
struct Detection {
    /// kill -> `failed` on each survivor.
    survivors_ms: Vec<f64>,
    /// kill -> etcd's DELETE of the killed node's member key, seen by a bare watcher here.
    member_delete_ms: Vec<f64>,
    /// per survivor: its `failed` minus the bare watcher's DELETE (the adapter's own delay).
    over_etcd_ms: Vec<f64>,
    /// kill -> DELETE of a bare leased key whose keepalive process died at the same moment.
    etcd_ms: Vec<f64>,
    recovery_ms: Vec<f64>,
    pause_ms: Vec<(usize, f64)>,
}

/// Waits (10 s at most) until `seen` holds a DELETE of `key`; its wall ms.
fn wait_delete(seen: &Mutex<Vec<(String, u64)>>, key: &str) -> Option<u64> {
    let deadline = Instant::now() + secs(10);
    while Instant::now() < deadline {
        let hit = seen
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, t)| *t);
        if hit.is_some() {
            return hit;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Section 1 and 2: `rounds` victims, killed one per round with a bare holder.
fn detection(rounds: u32, d: &mut Detection) {
    let mut w = World::new("measure", 3);
    let n = 3 + rounds;
    for r in 0..n {
        let o = NodeOpts::new(&format!("n{r}"), &[r], n);
        w.spawn(&o);
    }
    w.wait_all_running(secs(30));
    let deletes = delete_watcher(w.etcd.endpoints(), "bare/".into());
    let member_deletes = delete_watcher(w.etcd.endpoints(), format!("{}members/", w.prefix));
    std::thread::sleep(Duration::from_millis(500));
    for j in 0..rounds {
        let vi = (3 + j) as usize;
        let rank = 3 + j;
        let mut holder = bare_holder(&w, &format!("bare/{j}"));
        // etcdctl keeps alive about once a second: kill at a varying phase of that cycle.
        std::thread::sleep(Duration::from_millis(
            1000 + u64::from(j) * 1000 / u64::from(rounds),
        ));
        let t0 = now_ms();
        let _ = holder.kill();
        let _ = holder.wait();
        support::node::unregister(holder.id());
        w.nodes[vi].kill9();
        let fin = w.wait_any(secs(30), |l| {
            l["event"] == "recovery_finished" && l["rank"] == rank
        });
        let Some(fin) = fin else {
            eprintln!("round {j}: rank {rank} not recovered within 30 s");
            continue;
        };
        d.recovery_ms.push((ts(&fin) - t0) as f64);
        let mkey = format!("{}members/{rank}", w.prefix);
        let mdel = wait_delete(&member_deletes, &mkey);
        if let Some(t) = mdel {
            d.member_delete_ms.push((t - t0) as f64);
        }
        // Survivors: every node still alive.
        for s in 0..w.nodes.len() {
            if s >= 3 && s <= vi {
                continue;
            }
            if let Some(l) = w.nodes[s].wait_for(secs(5), |l| {
                l["event"] == "failed" && l["rank"] == rank && ts(l) >= t0
            }) {
                d.survivors_ms.push((ts(&l) - t0) as f64);
                if let Some(t) = mdel {
                    d.over_etcd_ms.push(ts(&l) as f64 - t as f64);
                }
            }
        }
        if let Some(t) = wait_delete(&deletes, &format!("bare/{j}")) {
            d.etcd_ms.push((t - t0) as f64);
        }
        // The pause of this recovery, at the recoverer.
        let rec = fin["proc"].as_str().unwrap_or("").to_string();
        let token = fin["token"].clone();
        if let Some(node) = w.nodes.iter().find(|n| n.proc == rec) {
            let lines = read_lines(&node.log);
            let req = lines
                .iter()
                .find(|l| l["event"] == "pause_requested" && l["token"] == token);
            let all = lines
                .iter()
                .find(|l| l["event"] == "all_acked" && l["token"] == token);
            if let (Some(a), Some(b)) = (req, all) {
                let procs = b["procs"].as_array().map(|v| v.len()).unwrap_or(0);
                d.pause_ms.push((procs, (ts(b) - ts(a)) as f64));
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    w.quit_all();
}

/// Section 3: lock grant vs a bare Txn, `iters` each, on the same three members.
fn lock_grant(iters: usize) -> (Vec<f64>, Vec<f64>) {
    let w = World::new("measure-lock", 3);
    let eps = w.etcd.endpoints();
    let prefix = w.prefix.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut c = etcd_client::Client::connect(&eps, None)
            .await
            .expect("connect");
        let lease = c.lease_grant(60, None).await.expect("lease").id();
        let keys = Keys::new(&prefix);
        let (mut bare, mut grant) = (Vec::new(), Vec::new());
        // `epoch/0` as the last lock left it (absent at first): what a node's view shows.
        let mut epoch_mod = 0u64;
        for i in 0..iters {
            // bare Txn
            let key = format!("{prefix}bare");
            let t = etcd_client::Txn::new()
                .when([etcd_client::Compare::create_revision(
                    key.as_str(),
                    etcd_client::CompareOp::Equal,
                    0,
                )])
                .and_then([etcd_client::TxnOp::put(
                    key.as_str(),
                    "x",
                    Some(etcd_client::PutOptions::new().with_lease(lease)),
                )]);
            let s = Instant::now();
            let r = c.txn(t).await.expect("bare txn");
            bare.push(s.elapsed().as_secs_f64() * 1e3);
            assert!(r.succeeded());
            c.delete(key.as_str(), None).await.expect("delete");
            // the crate's grant: one lock Txn, its quorum read inside
            let s = Instant::now();
            let (ok, token) = support::txn::run(
                &mut c,
                &txns::lock(&keys, 0, 0, epoch_mod, "m", i as u32 + 1, lease),
            )
            .await
            .expect("lock txn");
            grant.push(s.elapsed().as_secs_f64() * 1e3);
            assert!(ok, "lock refused at iteration {i}");
            epoch_mod = token as u64;
            let (rel, _) = support::txn::run(&mut c, &txns::give_up(&keys, 0, 0, token as u64))
                .await
                .expect("give up");
            assert!(rel);
        }
        (bare, grant)
    })
}

fn proc_sample(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((ticks, rss_kb))
}

/// Section 4: one idle node behind a proxy, 10 s.
fn idle() -> Option<(f64, f64, f64, f64)> {
    let mut w = World::new("measure-idle", 3);
    let proxy = Proxy::start(&w.etcd.members[0].endpoint()).ok()?;
    let mut o = NodeOpts::new("idle", &[0], 1);
    o.op_interval_ms = 3_600_000;
    let i = w.spawn_at(&proxy.endpoint(), &o);
    w.nodes[i].wait_for(secs(20), |l| l["event"] == "registered")?;
    std::thread::sleep(secs(3));
    let pid = w.nodes[i].pid();
    let (t0, _) = proc_sample(pid)?;
    let (u0, d0) = proxy.bytes();
    let start = Instant::now();
    std::thread::sleep(secs(10));
    let (t1, rss) = proc_sample(pid)?;
    let (u1, d1) = proxy.bytes();
    let el = start.elapsed().as_secs_f64();
    // /proc/<pid>/stat counts in USER_HZ, which is 100 on Linux.
    let hz = 100.0;
    let cpu = (t1 - t0) as f64 / hz / el * 100.0;
    w.quit_all();
    Some((
        rss as f64 / 1024.0,
        cpu,
        (u1 - u0) as f64 / el,
        (d1 - d0) as f64 / el,
    ))
}

fn main() -> ExitCode {
    if let Some(r) = support::etcd::etcd_missing() {
        eprintln!("ftf-measure: {r}");
        return ExitCode::from(2);
    }
    let mut rounds = 8u32;
    let mut iters = 1000usize;
    let mut only_grant = false;
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        match (pair[0].as_str(), pair.get(1)) {
            ("--rounds", Some(v)) => rounds = v.parse().unwrap_or(rounds),
            ("--iters", Some(v)) => iters = v.parse().unwrap_or(iters),
            ("--only", Some(v)) if v == "grant" => only_grant = true,
            _ => {
                eprintln!("usage: ftf-measure [--rounds R] [--iters N] [--only grant]");
                return ExitCode::from(2);
            }
        }
    }
    println!("ftf-measure: etcd 3.4 x3 on loopback, TTL 2 s, {rounds} kill rounds, {iters} Txns");
    if only_grant {
        let (bare, grant) = lock_grant(iters);
        println!();
        stats::header();
        grant_rows(&bare, &grant);
        return ExitCode::SUCCESS;
    }
    let mut d = Detection::default();
    detection(rounds, &mut d);
    let (bare, grant) = lock_grant(iters);
    let idle = idle();
    println!();
    stats::header();
    stats::row(
        "detection: kill -9 -> `failed` on every survivor",
        &d.survivors_ms,
        "ms",
    );
    stats::row(
        "etcd's expiry of that node's lease (member key DELETE, bare watcher)",
        &d.member_delete_ms,
        "ms",
    );
    stats::row(
        "  adapter delay: survivor's `failed` - that DELETE",
        &d.over_etcd_ms,
        "ms",
    );
    stats::row(
        "etcd's expiry of a bare leased key (etcdctl keep-alive killed too)",
        &d.etcd_ms,
        "ms",
    );
    stats::row(
        "end-to-end recovery: kill -9 -> recovery_finished",
        &d.recovery_ms,
        "ms",
    );
    let mut by_n: std::collections::BTreeMap<usize, Vec<f64>> = Default::default();
    for (n, ms) in &d.pause_ms {
        by_n.entry(*n).or_default().push(*ms);
    }
    for (n, v) in by_n {
        stats::row(
            &format!("cluster-wide pause, {n} processes: request -> all acked"),
            &v,
            "ms",
        );
    }
    grant_rows(&bare, &grant);
    match idle {
        Some((rss, cpu, up, down)) => println!(
            "idle node (10 s): RSS {rss:.1} MiB, CPU {cpu:.2} %, traffic to etcd {up:.0} B/s, from etcd {down:.0} B/s"
        ),
        None => println!("idle node: measurement failed"),
    }
    ExitCode::SUCCESS
}

/// Section 3's rows and ratio.
fn grant_rows(bare: &[f64], grant: &[f64]) {
    stats::row(
        "bare etcd Txn (create_revision == 0 -> put, leased)",
        bare,
        "ms",
    );
    stats::row(
        "lock grant: one lock Txn, quorum read inside (crate's txns::lock)",
        grant,
        "ms",
    );
    if let (Some(b), Some(g)) = (stats::pct(bare), stats::pct(grant)) {
        println!(
            "\nvs bare Txn: grant (1 round trip) p50 {:.2}x p99 {:.2}x",
            g.0 / b.0,
            g.1 / b.1
        );
    }
}
