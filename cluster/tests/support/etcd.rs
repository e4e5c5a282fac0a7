//! Real etcd members on loopback for the scenario tests: free ports, temporary data
//! directories, readiness through `etcdctl endpoint status`, chaos (kill, restart, stop).
//!
//! Invariants maintained here:
//! - every process this file starts is a `Child` held by exactly one `EtcdMember`; `Drop`
//!   kills and waits for exactly those children (never a process found by name);
//! - a member's data directory lives under the cluster's own temporary directory, which
//!   `Drop` removes after the children are gone;
//! - `restart(i)` reuses member `i`'s data directory and ports with
//!   `--initial-cluster-state existing`, so it rejoins as the same member.
//!
//! Synchronous on purpose (std::process + `etcdctl`): fixtures must work before and
//! independently of the tokio driver they test.

#![allow(dead_code)]

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Why the real-etcd tests cannot run, or `None` when `etcd` and `etcdctl` are on PATH.
///
/// Callers print the reason and return (a visible skip). When the `CI` or
/// `FTF_REQUIRE_ETCD` environment variable is set (scripts/test.sh sets the latter after
/// installing etcd) a missing etcd is a failure instead: a skip there would be a silent pass.
pub fn etcd_missing() -> Option<String> {
    for (bin, arg) in [("etcd", "--version"), ("etcdctl", "version")] {
        let ok = Command::new(bin)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            let reason =
                format!("`{bin}` not found on PATH (apt-get install etcd-server etcd-client)");
            if std::env::var_os("CI").is_some() || std::env::var_os("FTF_REQUIRE_ETCD").is_some() {
                panic!(
                    "CI or FTF_REQUIRE_ETCD is set but {reason}: the real-etcd scenarios must run"
                );
            }
            return Some(reason);
        }
    }
    None
}

/// Skips the calling test with a printed reason when etcd is missing (see [`etcd_missing`]).
#[macro_export]
macro_rules! require_etcd {
    () => {
        if let Some(reason) = $crate::support::etcd::etcd_missing() {
            // Straight to the process's stderr: libtest captures `eprintln!` of passing
            // tests, and a skip must be visible.
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "SKIPPED (not passed): {reason}");
            return;
        }
    };
}

/// A free TCP port on 127.0.0.1: bind port 0, read the port, release it.
///
/// Another process may take the port before the caller binds it; `EtcdCluster::start`
/// retries with fresh ports when a member fails to come up.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A fresh directory under the system temp dir, unique per process and call.
pub fn temp_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "ftf-{tag}-{}-{}-{nanos}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// One etcd member: its ports, data directory and (while running) its process.
pub struct EtcdMember {
    /// Member name (`m0`, `m1`, ...).
    pub name: String,
    /// Client port on 127.0.0.1.
    pub client_port: u16,
    /// Peer port on 127.0.0.1.
    pub peer_port: u16,
    /// Data directory (kept across `restart`).
    pub data_dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl EtcdMember {
    /// `http://127.0.0.1:<client_port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    /// The member's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Whether this fixture believes the member runs (it was started and not killed).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    fn spawn(&mut self, initial_cluster: &str, token: &str, state: &str) -> std::io::Result<()> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new("etcd")
            .arg("--name")
            .arg(&self.name)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--listen-client-urls")
            .arg(self.endpoint())
            .arg("--advertise-client-urls")
            .arg(self.endpoint())
            .arg("--listen-peer-urls")
            .arg(format!("http://127.0.0.1:{}", self.peer_port))
            .arg("--initial-advertise-peer-urls")
            .arg(format!("http://127.0.0.1:{}", self.peer_port))
            .arg("--initial-cluster")
            .arg(initial_cluster)
            .arg("--initial-cluster-token")
            .arg(token)
            .arg("--initial-cluster-state")
            .arg(state)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        super::node::register(child.id());
        self.child = Some(child);
        Ok(())
    }

    /// SIGKILL the member and reap it. No-op when it is not running.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            super::node::unregister(c.id());
        }
    }

    /// SIGTERM the member (a clean stop), wait up to 5 s, then SIGKILL.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = signal(c.id(), "TERM");
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    super::node::unregister(c.id());
                    return;
                }
                thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
            super::node::unregister(c.id());
        }
    }

    /// The tail of this member's log (for failure messages).
    pub fn log_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// Sends `SIG<name>` (e.g. "STOP", "CONT", "TERM", "KILL") to `pid` with `kill(1)`.
pub fn signal(pid: u32, name: &str) -> std::io::Result<()> {
    let st = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status()?;
    if st.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!("kill -{name} {pid} failed")))
    }
}

/// A running etcd cluster of `n` members on loopback; dropped = all members killed and the
/// temporary directory removed.
pub struct EtcdCluster {
    /// The members, index = member number.
    pub members: Vec<EtcdMember>,
    dir: PathBuf,
    initial_cluster: String,
    token: String,
}

/// Status of one member as `etcdctl endpoint status` reports it.
#[derive(Debug, Clone, Copy)]
pub struct MemberStatus {
    /// The member's id.
    pub member_id: u64,
    /// The leader it knows.
    pub leader: u64,
    /// Its current revision.
    pub revision: i64,
    /// Raft term.
    pub raft_term: u64,
}

impl EtcdCluster {
    /// Starts `n` members and waits until every one answers a status request and a leader
    /// is elected (at most 30 s; ports are re-picked up to three times when a member fails).
    pub fn start(n: usize) -> Result<EtcdCluster, String> {
        let mut last = String::new();
        for _attempt in 0..3 {
            match Self::try_start(n) {
                Ok(c) => return Ok(c),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn try_start(n: usize) -> Result<EtcdCluster, String> {
        let dir = temp_dir("etcd");
        let mut members = Vec::new();
        for i in 0..n {
            let data_dir = dir.join(format!("m{i}.etcd"));
            members.push(EtcdMember {
                name: format!("m{i}"),
                client_port: free_port(),
                peer_port: free_port(),
                data_dir,
                log: dir.join(format!("m{i}.log")),
                child: None,
            });
        }
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer_port))
            .collect::<Vec<_>>()
            .join(",");
        let token = format!("ftf-{}", dir.file_name().unwrap().to_string_lossy());
        let mut cluster = EtcdCluster {
            members,
            dir,
            initial_cluster,
            token,
        };
        for i in 0..n {
            let (ic, tok) = (cluster.initial_cluster.clone(), cluster.token.clone());
            cluster.members[i]
                .spawn(&ic, &tok, "new")
                .map_err(|e| format!("spawn etcd: {e}"))?;
        }
        cluster.wait_ready(Duration::from_secs(30))?;
        Ok(cluster)
    }

    /// Every member's client endpoint (running or not), comma-free list.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.endpoint()).collect()
    }

    /// Endpoints joined with commas (the form CLI flags take).
    pub fn endpoints_csv(&self) -> String {
        self.endpoints().join(",")
    }

    /// The cluster's temporary directory (logs of the members live there).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Waits until every running member answers status and they agree on one leader that
    /// is itself running (after a leader kill the survivors first still name the dead one).
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let running: Vec<usize> = (0..self.members.len())
                .filter(|&i| self.members[i].is_running())
                .collect();
            for &i in &running {
                if let Some(c) = self.members[i].child.as_mut() {
                    if let Ok(Some(st)) = c.try_wait() {
                        self.members[i].child = None;
                        return Err(format!(
                            "etcd member {i} exited early ({st}):\n{}",
                            self.members[i].log_tail(20)
                        ));
                    }
                }
            }
            let sts: Vec<Option<MemberStatus>> = running.iter().map(|&i| self.status(i)).collect();
            if sts.iter().all(|s| s.is_some()) {
                let leaders: Vec<u64> = sts.iter().map(|s| s.unwrap().leader).collect();
                let alive = sts.iter().any(|s| s.unwrap().member_id == leaders[0]);
                if alive && leaders.iter().all(|&l| l != 0 && l == leaders[0]) {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!("etcd cluster not ready after {timeout:?}: {sts:?}"));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// `etcdctl endpoint status` of member `i` (None if it does not answer within 1 s).
    pub fn status(&self, i: usize) -> Option<MemberStatus> {
        let out = Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .arg("--endpoints")
            .arg(self.members[i].endpoint())
            .arg("--command-timeout=1s")
            .arg("--dial-timeout=1s")
            .args(["endpoint", "status", "-w", "json"])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        Some(MemberStatus {
            member_id: json_u64(&text, "\"member_id\":")?,
            leader: json_u64(&text, "\"leader\":")?,
            revision: json_u64(&text, "\"revision\":")? as i64,
            raft_term: json_u64(&text, "\"raft_term\":").unwrap_or(0),
        })
    }

    /// Index of the current leader among the running members, if they agree on one.
    pub fn leader(&self) -> Option<usize> {
        let mut ids = Vec::new();
        let mut leader = None;
        for i in 0..self.members.len() {
            if !self.members[i].is_running() {
                ids.push(None);
                continue;
            }
            let st = self.status(i);
            ids.push(st.map(|s| s.member_id));
            if let Some(s) = st {
                leader = leader.or(Some(s.leader));
            }
        }
        let leader = leader?;
        ids.iter().position(|id| *id == Some(leader))
    }

    /// Some running follower (a running member that is not the leader).
    pub fn follower(&self) -> Option<usize> {
        let l = self.leader()?;
        (0..self.members.len()).find(|&i| i != l && self.members[i].is_running())
    }

    /// The current revision, read from any running member.
    pub fn revision(&self) -> Option<i64> {
        (0..self.members.len())
            .filter(|&i| self.members[i].is_running())
            .find_map(|i| self.status(i).map(|s| s.revision))
    }

    /// Compacts the keyspace at the current revision (`etcdctl compact --physical`).
    /// Returns the compaction revision.
    pub fn compact(&self) -> Result<i64, String> {
        let rev = self.revision().ok_or("no member answers status")?;
        self.etcdctl(&["compact", "--physical", &rev.to_string()])?;
        Ok(rev)
    }

    /// Runs `etcdctl <args>` against every running member's endpoint; stdout on success.
    pub fn etcdctl(&self, args: &[&str]) -> Result<String, String> {
        let eps: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.is_running())
            .map(|m| m.endpoint())
            .collect();
        let out = Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .arg("--endpoints")
            .arg(eps.join(","))
            .arg("--command-timeout=3s")
            .args(args)
            .output()
            .map_err(|e| format!("etcdctl: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "etcdctl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// SIGKILL member `i` (chaos). Its data directory stays for `restart`.
    pub fn kill(&mut self, i: usize) {
        self.members[i].kill();
    }

    /// SIGTERM member `i` (a clean stop). Its data directory stays for `restart`.
    pub fn stop_member(&mut self, i: usize) {
        self.members[i].stop();
    }

    /// Restarts a stopped or killed member `i` on the same ports and data directory
    /// (`--initial-cluster-state existing`); waits until it answers status (30 s).
    pub fn restart(&mut self, i: usize) -> Result<(), String> {
        if self.members[i].is_running() {
            return Ok(());
        }
        let (ic, tok) = (self.initial_cluster.clone(), self.token.clone());
        self.members[i]
            .spawn(&ic, &tok, "existing")
            .map_err(|e| format!("respawn etcd m{i}: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.status(i).is_none() {
            if Instant::now() > deadline {
                return Err(format!(
                    "m{i} not answering after restart:\n{}",
                    self.members[i].log_tail(20)
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for m in &mut self.members {
            m.kill();
        }
        if std::env::var_os("FTF_KEEP_TMP").is_none() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// First unsigned integer after `key` in `text` (a tiny JSON field reader for etcdctl).
fn json_u64(text: &str, key: &str) -> Option<u64> {
    let at = text.find(key)? + key.len();
    let digits: String = text[at..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}
