//! `ftf-node` and `ftf-check` processes for the scenario tests: spawn with a log file, send
//! stdin commands, signal, wait for a log line, and a global registry of every child pid so
//! that a scenario's watchdog can kill exactly the processes the test started.
//!
//! Invariants: every process spawned here is registered until it is reaped; `Drop` of a
//! handle kills and reaps its own process only.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::etcd::signal;

static PIDS: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// Registers a child pid (see [`kill_registered`]).
pub fn register(pid: u32) {
    PIDS.lock().unwrap_or_else(|p| p.into_inner()).insert(pid);
}

/// Unregisters a reaped child.
pub fn unregister(pid: u32) {
    PIDS.lock().unwrap_or_else(|p| p.into_inner()).remove(&pid);
}

/// SIGKILLs every registered child (the watchdog's last resort; they are all ours).
pub fn kill_registered() {
    let pids: Vec<u32> = PIDS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .copied()
        .collect();
    for pid in pids {
        let _ = signal(pid, "CONT");
        let _ = signal(pid, "KILL");
    }
}

/// Wall-clock ms since the Unix epoch (the clock of the nodes' `ts_ms`).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Path of a binary of this package: set by cargo for integration tests; for the demo and
/// measurement binaries (which include this module) the sibling of the running executable.
pub fn bin(name: &str) -> PathBuf {
    let from_cargo = match name {
        "ftf-node" => option_env!("CARGO_BIN_EXE_ftf-node"),
        "ftf-check" => option_env!("CARGO_BIN_EXE_ftf-check"),
        _ => None,
    };
    match from_cargo {
        Some(p) => PathBuf::from(p),
        None => std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(|d| d.join(name)))
            .unwrap_or_else(|| PathBuf::from(name)),
    }
}

/// Options of one node.
#[derive(Clone, Debug)]
pub struct NodeOpts {
    /// Process id (`--proc`).
    pub proc: String,
    /// Hosted ranks.
    pub ranks: Vec<u32>,
    /// Partitions.
    pub n: u32,
    /// Concurrent recoveries.
    pub k: u32,
    /// Lease TTL in ms.
    pub ttl_ms: u64,
    /// Duration of each recovery phase in ms.
    pub phase_ms: u64,
    /// Owner-write interval in ms.
    pub op_interval_ms: u64,
    /// Extra flags.
    pub extra: Vec<String>,
    /// The program to run instead of `ftf-node` (e.g. the C node `target/c/cluster_node`,
    /// which takes the same flags and prints the same lines).
    pub program: Option<PathBuf>,
}

impl NodeOpts {
    /// Defaults for the scenarios: n, K = 1, TTL 2 s, 200 ms phases, a write every 100 ms.
    pub fn new(proc: &str, ranks: &[u32], n: u32) -> NodeOpts {
        NodeOpts {
            proc: proc.into(),
            ranks: ranks.to_vec(),
            n,
            k: 1,
            ttl_ms: 2000,
            phase_ms: 200,
            op_interval_ms: 100,
            extra: Vec::new(),
            program: None,
        }
    }
}

/// A running `ftf-node`.
pub struct Node {
    /// Its proc id.
    pub proc: String,
    /// Its stdout (JSON lines).
    pub log: PathBuf,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    pid: u32,
}

impl Node {
    /// Starts a node against `endpoints` under `prefix`, logging to `<dir>/<proc>.jsonl`
    /// (appending: a restarted node keeps one log).
    pub fn spawn(dir: &Path, endpoints: &str, prefix: &str, o: &NodeOpts) -> Node {
        let log = dir.join(format!("{}.jsonl", o.proc));
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("node log");
        let err = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{}.stderr", o.proc)))
            .expect("node stderr");
        let ranks: Vec<String> = o.ranks.iter().map(|r| r.to_string()).collect();
        let program = o.program.clone().unwrap_or_else(|| bin("ftf-node"));
        let mut child = Command::new(program)
            .args([
                "--endpoints",
                endpoints,
                "--prefix",
                prefix,
                "--proc",
                &o.proc,
            ])
            .args([
                "--ranks",
                &ranks.join(","),
                "--n",
                &o.n.to_string(),
                "--k",
                &o.k.to_string(),
            ])
            .args([
                "--ttl-ms",
                &o.ttl_ms.to_string(),
                "--phase-ms",
                &o.phase_ms.to_string(),
            ])
            .args(["--op-interval-ms", &o.op_interval_ms.to_string()])
            .args(&o.extra)
            .stdin(Stdio::piped())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn the node program");
        let pid = child.id();
        register(pid);
        let stdin = child.stdin.take();
        Node {
            proc: o.proc.clone(),
            log,
            child: Some(child),
            stdin,
            pid,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends one stdin command (`drop-keepalives`, `stall 3000`, `leave`, ...).
    pub fn send(&mut self, cmd: &str) {
        if let Some(s) = self.stdin.as_mut() {
            let _ = writeln!(s, "{cmd}");
            let _ = s.flush();
        }
    }

    /// SIGKILLs the node and reaps it; returns the wall-clock ms just before the kill.
    pub fn kill9(&mut self) -> u64 {
        let ts = now_ms();
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            unregister(self.pid);
        }
        ts
    }

    /// Sends SIGSTOP / SIGCONT.
    pub fn sig(&self, name: &str) {
        signal(self.pid, name).expect("signal node");
    }

    /// Asks the node to quit (stdin `quit`), waits up to 5 s, then kills it.
    pub fn quit(&mut self) {
        self.send("quit");
        self.stdin = None;
        if let Some(mut c) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
            unregister(self.pid);
        }
    }

    /// Waits for the process to exit by itself (up to `timeout`); its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        let c = self.child.as_mut()?;
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                unregister(self.pid);
                self.child = None;
                return st.code();
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every JSON line printed so far.
    pub fn lines(&self) -> Vec<Value> {
        read_lines(&self.log)
    }

    /// Lines with `event == name`.
    pub fn events(&self, name: &str) -> Vec<Value> {
        self.lines()
            .into_iter()
            .filter(|l| l["event"] == name)
            .collect()
    }

    /// Waits until a line satisfies `pred` (polling the log every 20 ms); the line.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        wait_line(&[&self.log], timeout, pred)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = signal(self.pid, "CONT");
            let _ = c.kill();
            let _ = c.wait();
            unregister(self.pid);
        }
    }
}

/// Parses a JSON-lines file (non-JSON lines skipped).
pub fn read_lines(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Waits until a line of any of `logs` satisfies `pred`.
pub fn wait_line(
    logs: &[&Path],
    timeout: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Option<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        for p in logs {
            if let Some(l) = read_lines(p).into_iter().find(|l| pred(l)) {
                return Some(l);
            }
        }
        if Instant::now() > deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A running `ftf-check record` (etcd's history of the prefix, recorded live).
pub struct Recorder {
    /// The history file.
    pub path: PathBuf,
    child: Option<Child>,
}

impl Recorder {
    /// Starts recording `prefix` into `<dir>/history.jsonl`.
    pub fn start(dir: &Path, endpoints: &str, prefix: &str) -> Recorder {
        let path = dir.join("history.jsonl");
        let child = Command::new(bin("ftf-check"))
            .args([
                "record",
                "--endpoints",
                endpoints,
                "--prefix",
                prefix,
                "--out",
            ])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.join("recorder.stderr")).expect("recorder stderr"))
            .spawn()
            .expect("spawn ftf-check record");
        register(child.id());
        Recorder {
            path,
            child: Some(child),
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            unregister(c.id());
        }
    }
}
