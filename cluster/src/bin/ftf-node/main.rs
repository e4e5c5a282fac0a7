//! `ftf-node`: one process of a toy ftforest cluster on etcd, for the scenario tests, the
//! cluster demo and the measurements.
//!
//! It runs a [`Member`] with a toy forest (one counter per hosted rank, see `forest`), does
//! one owner write per hosted rank every `--op-interval-ms` inside an operation of the
//! member's tracker (so the cluster-wide pause waits for it), and prints one JSON line per
//! event on stdout: every `ClusterEvent` as the driver stamps it (`ts_ms`, `proc`, `event`,
//! fields) plus its own `node_*` lines (`node_started`, `node_write`, `node_phase`,
//! `node_command`, `node_stopped`). OpenMetrics on `http://127.0.0.1:<--metrics-port>/metrics`.
//!
//! Fault hooks, one command per stdin line: `drop-keepalives`, `stall MS`, `fault-none`,
//! `stats`, `leave` (graceful), `quit`. SIGSTOP/SIGCONT/SIGKILL work as usual.
//!
//! Exit codes: 0 after `leave`/`quit`/stdin closed, 2 on bad flags, 3 when the member could
//! not start (the error is printed as a `node_start_failed` line, e.g. a zombie rejoin).

#![allow(clippy::std_instead_of_core)] // std-only program

mod cli;
mod forest;
mod metrics;
mod out;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ftforest_cluster::{ClusterConfig, ClusterEvent, Fault, Member};
use serde_json::json;

use crate::cli::Cli;
use crate::forest::ToyForest;
use crate::out::emit;

fn config(c: &Cli) -> Result<ClusterConfig, String> {
    let mut b = ClusterConfig::builder(c.proc_id.clone(), c.n)
        .endpoints(c.endpoints.clone())
        .prefix(c.prefix.clone())
        .ranks(c.ranks.clone())
        .k(c.k)
        .ttl(c.ttl);
    if let Some(p) = c.pause_timeout {
        b = b.pause_timeout(p);
    }
    b.build().map_err(|e| e.to_string())
}

enum Cmd {
    Fault(Fault),
    Stats,
    Leave,
    Quit,
}

fn parse_cmd(line: &str) -> Option<Cmd> {
    let mut w = line.split_whitespace();
    Some(match w.next()? {
        "drop-keepalives" => Cmd::Fault(Fault::DropKeepalives),
        "stall" => Cmd::Fault(Fault::Stall(Duration::from_millis(w.next()?.parse().ok()?))),
        "fault-none" => Cmd::Fault(Fault::None),
        "stats" => Cmd::Stats,
        "leave" => Cmd::Leave,
        "quit" => Cmd::Quit,
        _ => return None,
    })
}

/// Reads commands from stdin on a plain thread (stdin closed = quit).
fn control() -> tokio::sync::mpsc::UnboundedReceiver<Cmd> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        loop {
            line.clear();
            match std::io::stdin().read_line(&mut line) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(Cmd::Quit);
                    return;
                }
                Ok(_) => {
                    if let Some(c) = parse_cmd(&line) {
                        if tx.send(c).is_err() {
                            return;
                        }
                    }
                }
            }
        }
    });
    rx
}

fn stats_json(m: &Member) -> serde_json::Value {
    let s = m.stats();
    json!({
        "keepalives_sent": s.keepalives_sent, "keepalive_acks": s.keepalive_acks,
        "keepalive_rtt_max_us": s.keepalive_rtt_max_us, "watch_events": s.watch_events,
        "watch_restarts": s.watch_restarts, "relists": s.relists, "requests": s.requests,
        "ambiguous": s.ambiguous, "failed": s.failed, "writes_accepted": s.writes_accepted,
        "writes_refused": s.writes_refused, "locks_granted": s.locks_granted,
        "recoveries_completed": s.recoveries_completed, "pauses_acked": s.pauses_acked,
        "available": s.available, "self_fenced": s.self_fenced,
    })
}

/// One owner write per hosted rank, each inside a tracker operation.
async fn workload(member: Arc<Member>, forest: Arc<ToyForest>, interval: Duration) {
    // Started by `Member::start`: the member's own tracker.
    let Some(tracker) = member.tracker() else {
        return;
    };
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for rank in member.ranks() {
            let Some(inc) = forest.incarnation(rank) else {
                continue;
            };
            // Paused (cluster-wide pause): skip this round, never block the runtime.
            let Ok(op) = tracker.begin_token() else {
                continue;
            };
            let seq = forest.next_seq();
            let v = forest.owner_value(rank, inc, seq);
            let sent = out::now_ms();
            let r = member.fenced_put(rank, v).await;
            let _ = tracker.end_token(op);
            forest.log_write((rank, inc, seq), "owner", sent, &r);
        }
    }
}

fn main() -> std::process::ExitCode {
    let cli = match Cli::parse() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    rt.block_on(run(cli))
}

async fn run(cli: Cli) -> std::process::ExitCode {
    let proc = cli.proc_id.clone();
    let cfg = match config(&cli) {
        Ok(c) => c,
        Err(e) => {
            emit(&proc, "node_start_failed", json!({"error": e}));
            return std::process::ExitCode::from(2);
        }
    };
    emit(
        &proc,
        "node_started",
        json!({"pid": std::process::id(), "ranks": cli.ranks, "n": cli.n, "k": cli.k,
               "ttl_ms": cli.ttl.as_millis() as u64}),
    );
    let forest = Arc::new(ToyForest::new(&proc, cli.phase_time));
    let member = match Member::start(cfg, forest.clone()).await {
        Ok(m) => Arc::new(m),
        Err(e) => {
            emit(
                &proc,
                "node_start_failed",
                json!({"error": format!("{e:?}")}),
            );
            return std::process::ExitCode::from(3);
        }
    };
    // Events: print every one, and track the incarnations of the ranks we host.
    let mut events = member.events();
    let f2 = forest.clone();
    tokio::spawn(async move {
        while let Some(rec) = events.recv().await {
            match &rec.event {
                ClusterEvent::Registered { rank, incarnation } => f2.host(*rank, *incarnation),
                ClusterEvent::RecoveryFinished {
                    rank,
                    new_incarnation,
                    ..
                } => f2.host(*rank, *new_incarnation),
                _ => {}
            }
            out::line(&rec.to_json());
        }
    });
    if let Some(port) = cli.metrics_port {
        // Weak: `leave` needs the only strong reference.
        let m = Arc::downgrade(&member);
        let render = Arc::new(move || {
            let mut s = String::new();
            if let Some(m) = m.upgrade() {
                m.openmetrics(&mut s);
            }
            s
        });
        match metrics::serve(port, render) {
            Ok(p) => emit(&proc, "node_metrics", json!({"port": p})),
            Err(e) => emit(
                &proc,
                "node_metrics_failed",
                json!({"error": e.to_string()}),
            ),
        }
    }
    let work = tokio::spawn(workload(member.clone(), forest.clone(), cli.op_interval));
    let member = Mutex::new(Some(member));
    let mut cmds = control();
    let code = loop {
        let Some(cmd) = cmds.recv().await else {
            break 0;
        };
        let m = member.lock().unwrap().clone();
        let Some(m) = m else { break 0 };
        match cmd {
            Cmd::Fault(f) => {
                emit(&proc, "node_command", json!({"fault": format!("{f:?}")}));
                m.fault(f);
            }
            Cmd::Stats => emit(&proc, "node_stats", stats_json(&m)),
            Cmd::Quit => break 0,
            Cmd::Leave => {
                emit(&proc, "node_command", json!({"command": "leave"}));
                work.abort();
                drop(m);
                let mut owned = member.lock().unwrap().take();
                // The metrics thread may hold a clone for one request: wait for it.
                let mut left = false;
                for _ in 0..100 {
                    let Some(a) = owned.take() else { break };
                    match Arc::try_unwrap(a) {
                        Ok(m) => {
                            let r = m.leave().await;
                            let err = r.err().map(|e| format!("{e:?}"));
                            emit(
                                &proc,
                                "node_left",
                                json!({"ok": err.is_none(), "error": err}),
                            );
                            left = true;
                            break;
                        }
                        Err(a) => owned = Some(a),
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                if !left {
                    emit(
                        &proc,
                        "node_left",
                        json!({"ok": false, "error": "member still shared"}),
                    );
                }
                break 0;
            }
        }
    };
    emit(&proc, "node_stopped", json!({}));
    std::process::ExitCode::from(code)
}
