//! `ftf-demo`: the cluster demo (run it with `scripts/cluster-demo.sh`).
//!
//! Starts a three-member etcd on free loopback ports and four node processes (one rank
//! each, K = 1, TTL 2 s): n0 and n1 are Rust `ftf-node`s; n2 and n3 are C nodes
//! (`examples/c/cluster_node.c`, the program `FTF_C_NODE` names; without it all four are
//! Rust). It `kill -9`s n3, then prints from the nodes' JSON logs the detection, the quorum
//! decision, the cluster-wide pause, the fenced lock and its token, the phases, the new
//! incarnation and the resume, each survivor's detection latency next to its language, how
//! many times the killed rank was recovered, and runs the checker over the logs and etcd's
//! history. Exits 1 when an invariant broke (or the recovery did not finish), 2 when etcd
//! is missing; every process it started is killed and reaped on exit.
//!
//! It shares the scenario tests' fixtures (`cluster/tests/support`).

#![allow(clippy::std_instead_of_core)] // std-only program

#[path = "support.rs"]
mod support;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use support::etcd::etcd_missing;
use support::node::{bin, read_lines, NodeOpts};
use support::scenario::World;

fn metrics(port: u16) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body
}

fn main() -> ExitCode {
    if let Some(reason) = etcd_missing() {
        eprintln!("ftf-demo: {reason}");
        return ExitCode::from(2);
    }
    let metrics_port = support::etcd::free_port();
    let c_node = std::env::var_os("FTF_C_NODE").map(PathBuf::from);
    let lang = |r: u32| {
        if r >= 2 && c_node.is_some() {
            "C"
        } else {
            "Rust"
        }
    };
    let mut w = World::new("demo", 3);
    println!("== etcd: three members on {}", w.endpoints);
    for r in 0..4u32 {
        let mut o = NodeOpts::new(&format!("n{r}"), &[r], 4);
        o.phase_ms = 300;
        if r == 0 {
            o.extra = vec!["--metrics-port".into(), metrics_port.to_string()];
        }
        if lang(r) == "C" {
            o.program = c_node.clone();
        }
        w.spawn(&o);
    }
    w.wait_all_running(Duration::from_secs(30));
    println!(
        "== four nodes running (one rank each, n = 4, K = 1, TTL 2 s): {}",
        (0..4u32)
            .map(|r| format!("n{r} {}", lang(r)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    std::thread::sleep(Duration::from_millis(500));
    let victim = w.nodes[3].pid();
    println!("== kill -9 n3, a {} node (pid {victim})", lang(3));
    let t0 = w.nodes[3].kill9();
    let done = w.wait_any(Duration::from_secs(30), |l| {
        l["event"] == "recovery_finished"
    });
    let resumed = (0..3).all(|i| {
        w.nodes[i]
            .wait_for(Duration::from_secs(10), |l| l["event"] == "resumed")
            .is_some()
    });
    std::thread::sleep(Duration::from_millis(500));
    let text = metrics(metrics_port);
    w.quit_all();

    println!("\n== what happened (ms after the kill -9 of n3, from the nodes' JSON logs)");
    let _ = Command::new(bin("ftf-check"))
        .arg("story")
        .arg(format!("--t0={t0}"))
        .args(w.logs())
        .status();
    println!("\n== detection: kill -9 of n3 -> its rank FAILED on each survivor (same run)");
    for (i, node) in w.nodes.iter().enumerate().take(3) {
        let lines = read_lines(&node.log);
        let seen = lines
            .iter()
            .find(|l| l["event"] == "failed" && l["rank"] == 3 && l["ts_ms"].as_u64() >= Some(t0));
        // A C node also says when its C listener got the event (`node_seen`).
        let in_c = lines
            .iter()
            .find(|l| {
                l["event"] == "node_seen" && l["rank"] == 3 && l["ts_ms"].as_u64() >= Some(t0)
            })
            .and_then(|l| l["ts_ms"].as_u64())
            .map(|ts| format!(" (the C listener had it at {} ms)", ts - t0))
            .unwrap_or_default();
        match seen.and_then(|l| l["ts_ms"].as_u64()) {
            Some(ts) => println!(
                "   n{i} {:<7} {} ms{in_c}",
                format!("({})", lang(i as u32)),
                ts - t0
            ),
            None => println!(
                "   n{i} {:<7} never saw it",
                format!("({})", lang(i as u32))
            ),
        }
    }
    let recovered: Vec<String> = w
        .events("recovery_finished")
        .into_iter()
        .filter(|l| l["rank"] == 3)
        .map(|l| {
            format!(
                "by {} with token {}",
                l["proc"].as_str().unwrap_or("?"),
                l["token"]
            )
        })
        .collect();
    println!(
        "   rank 3 recovered {} time(s): {}",
        recovered.len(),
        recovered.join("; ")
    );
    println!("\n== n0's OpenMetrics (http://127.0.0.1:{metrics_port}/metrics), first lines");
    for l in text.lines().skip_while(|l| !l.starts_with('#')).take(12) {
        println!("   {l}");
    }
    println!("\n== checker (nodes' logs + etcd's history)");
    let out = Command::new(bin("ftf-check"))
        .args([
            "check",
            "--endpoints",
            &w.endpoints,
            "--prefix",
            &w.prefix,
            "--k",
            "1",
        ])
        .arg("--history")
        .arg(
            w.recorder
                .as_ref()
                .map(|r| r.path.clone())
                .unwrap_or_default(),
        )
        .arg(format!("--killed=n3@{t0}"))
        .arg("--budget-ms=3000")
        .args(w.logs())
        .status();
    let ok = out.map(|s| s.success()).unwrap_or(false);
    if done.is_none() || !resumed || recovered.len() != 1 {
        println!("ftf-demo: the recovery did not finish exactly once and resume in time");
        return ExitCode::from(1);
    }
    if ok {
        println!("ftf-demo: OK");
        ExitCode::SUCCESS
    } else {
        println!("ftf-demo: INVARIANT BROKEN (logs kept: set FTF_KEEP_TMP=1 to keep them)");
        ExitCode::from(1)
    }
}
