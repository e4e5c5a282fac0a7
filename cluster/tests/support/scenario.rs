//! One scenario's world: an etcd cluster, a live history recorder, `ftf-node` processes
//! and the checker, all under one temporary directory; plus the per-scenario watchdog.
//!
//! Invariant: everything a scenario starts is owned by its `World` (dropped = killed and
//! reaped), and registered so that the watchdog can kill it if the scenario hangs.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::{mpsc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::Value;

use super::etcd::{temp_dir, EtcdCluster};
use super::node::{bin, kill_registered, Node, NodeOpts, Recorder};

static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `f` on its own thread and fails the test if it does not finish within `secs`
/// (after killing every process the tests started). A panic in `f` is re-raised.
///
/// Scenarios of one test binary run one at a time whatever `--test-threads` says (a global
/// lock taken before the watchdog starts): each starts an etcd cluster and several
/// processes, and the detection budgets assume a machine that is not oversubscribed.
pub fn with_watchdog(name: &str, secs: u64, f: impl FnOnce() + Send + 'static) {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let (tx, rx) = mpsc::channel();
    let h = thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            f();
            let _ = tx.send(());
        })
        .expect("spawn scenario thread");
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => h.join().expect("scenario thread"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            kill_registered();
            if let Err(p) = h.join() {
                std::panic::resume_unwind(p);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            kill_registered();
            panic!(
                "scenario {name} exceeded its {secs} s watchdog (all its processes were killed)"
            );
        }
    }
}

/// etcd + recorder + nodes of one scenario.
pub struct World {
    /// The nodes, in start order (a restarted node is pushed again).
    pub nodes: Vec<Node>,
    /// The live history recorder.
    pub recorder: Option<Recorder>,
    /// The etcd cluster (dropped last).
    pub etcd: EtcdCluster,
    /// Logs and history live here.
    pub dir: PathBuf,
    /// The key prefix.
    pub prefix: String,
    /// The endpoints the nodes use (etcd's, or proxies').
    pub endpoints: String,
}

impl World {
    /// Starts `members` etcd members and the recorder.
    pub fn new(name: &str, members: usize) -> World {
        let etcd = EtcdCluster::start(members).expect("start etcd");
        let dir = temp_dir(name);
        let endpoints = etcd.endpoints_csv();
        let prefix = format!("ftf/{name}/");
        let recorder = Some(Recorder::start(&dir, &endpoints, &prefix));
        eprintln!("[{name}] etcd {endpoints}, logs in {}", dir.display());
        World {
            nodes: Vec::new(),
            recorder,
            etcd,
            dir,
            prefix,
            endpoints,
        }
    }

    /// Starts a node with `o` against the world's endpoints; returns its index.
    pub fn spawn(&mut self, o: &NodeOpts) -> usize {
        self.spawn_at(&self.endpoints.clone(), o)
    }

    /// Starts a node against explicit endpoints (e.g. a proxy); returns its index.
    pub fn spawn_at(&mut self, endpoints: &str, o: &NodeOpts) -> usize {
        let n = Node::spawn(&self.dir, endpoints, &self.prefix, o);
        self.nodes.push(n);
        self.nodes.len() - 1
    }

    /// Starts `count` nodes `n0..`, one rank each, `n = count`.
    pub fn spawn_ring(&mut self, count: u32, tweak: impl Fn(&mut NodeOpts)) {
        for r in 0..count {
            let mut o = NodeOpts::new(&format!("n{r}"), &[r], count);
            tweak(&mut o);
            self.spawn(&o);
        }
    }

    /// Waits until every node printed `registered` and made one accepted owner write.
    pub fn wait_all_running(&self, timeout: Duration) {
        for n in &self.nodes {
            let ok = n.wait_for(timeout, |l| {
                l["event"] == "node_write" && l["ok"] == true && l["kind"] == "owner"
            });
            assert!(
                ok.is_some(),
                "{} never made an accepted owner write:\n{}",
                n.proc,
                tail(&n.log, 15)
            );
        }
    }

    /// All log paths.
    pub fn logs(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = self.nodes.iter().map(|n| n.log.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// Every line of every node with `event == name`.
    pub fn events(&self, name: &str) -> Vec<Value> {
        self.logs()
            .iter()
            .flat_map(|p| super::node::read_lines(p))
            .filter(|l| l["event"] == name)
            .collect()
    }

    /// Waits for a line in any node's log.
    pub fn wait_any(&self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        let logs = self.logs();
        let refs: Vec<&std::path::Path> = logs.iter().map(|p| p.as_path()).collect();
        super::node::wait_line(&refs, timeout, pred)
    }

    /// Waits until some node logged `recovery_finished` for `rank`; panics otherwise.
    pub fn wait_recovered(&self, rank: u64, timeout: Duration) -> Value {
        self.wait_any(timeout, |l| {
            l["event"] == "recovery_finished" && l["rank"] == rank
        })
        .unwrap_or_else(|| {
            panic!(
                "rank {rank} not recovered within {timeout:?} (logs in {})",
                self.dir.display()
            )
        })
    }

    /// Lets in-flight work settle (500 ms), stops every node, then runs [`World::check`].
    pub fn finish(&mut self, k: u32, args: &[String]) -> String {
        thread::sleep(Duration::from_millis(500));
        self.quit_all();
        self.check(k, args)
    }

    /// Stops every node (stdin `quit`).
    pub fn quit_all(&mut self) {
        for n in &mut self.nodes {
            n.quit();
        }
    }

    /// Runs `ftf-check check` over the recorded history (completed from etcd) and every
    /// node log with the extra `args`; panics with the checker's output on a violation.
    /// Returns its output.
    pub fn check(&self, k: u32, args: &[String]) -> String {
        // Only members that run: etcd-client keeps sending to a dead endpoint.
        let running: Vec<String> = self
            .etcd
            .members
            .iter()
            .filter(|m| m.is_running())
            .map(|m| m.endpoint())
            .collect();
        let running = running.join(",");
        let mut cmd = Command::new(bin("ftf-check"));
        cmd.args(["check", "--endpoints", &running, "--prefix", &self.prefix])
            .arg("--k")
            .arg(k.to_string());
        if let Some(r) = &self.recorder {
            // Give the recorder a moment to write the last events it received.
            thread::sleep(Duration::from_millis(300));
            cmd.arg("--history").arg(&r.path);
        }
        cmd.args(args).args(self.logs());
        let out = cmd.output().expect("run ftf-check");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("--- ftf-check ---\n{text}");
        assert!(
            out.status.success(),
            "ftf-check found violations (logs in {}):\n{text}",
            self.dir.display()
        );
        text
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.nodes.clear();
        self.recorder = None;
        if !thread::panicking() && std::env::var_os("FTF_KEEP_TMP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The last `n` lines of a file (for failure messages).
pub fn tail(path: &std::path::Path, n: usize) -> String {
    let t = std::fs::read_to_string(path).unwrap_or_default();
    let v: Vec<&str> = t.lines().collect();
    v[v.len().saturating_sub(n)..].join("\n")
}
