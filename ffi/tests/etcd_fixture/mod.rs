//! A single-member etcd on free loopback ports in a temporary directory, for the cluster
//! tests (`cluster_etcd.rs`, `cluster_hostile.rs`). Skipped with a printed reason when
//! `etcd` / `etcdctl` are missing, unless `FTF_REQUIRE_ETCD` (or `CI`) is set: then a
//! failure.
#![allow(dead_code)] // each test file uses a part
#![allow(clippy::std_instead_of_core)] // std-only test code

use std::ffi::CString;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::ptr;
use std::time::{Duration, Instant};

use ftforest::cluster::ftf_cluster_config;
use ftforest::result::ftf_result::FTF_OK;

/// A running etcd; killed and its directory removed on drop.
pub struct Etcd {
    /// The etcd process.
    pub child: Child,
    /// Its temporary directory.
    pub dir: PathBuf,
    /// Its client URL (`http://127.0.0.1:<port>`).
    pub endpoint: String,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn have(bin: &str, arg: &str) -> bool {
    Command::new(bin)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A single-member etcd, or `None` (skip) when it is not installed.
pub fn etcd(tag: &str) -> Option<Etcd> {
    if !have("etcd", "--version") || !have("etcdctl", "version") {
        let required =
            std::env::var_os("FTF_REQUIRE_ETCD").is_some() || std::env::var_os("CI").is_some();
        assert!(
            !required,
            "FTF_REQUIRE_ETCD/CI set but etcd or etcdctl is not on PATH"
        );
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (not passed): etcd/etcdctl not on PATH"
        );
        return None;
    }
    for attempt in 0..3 {
        let (cp, pp) = (free_port(), free_port());
        let dir =
            std::env::temp_dir().join(format!("ftf-ffi-{tag}-{}-{attempt}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let endpoint = format!("http://127.0.0.1:{cp}");
        let peer = format!("http://127.0.0.1:{pp}");
        let log = std::fs::File::create(dir.join("etcd.log")).unwrap();
        let child = Command::new("etcd")
            .args(["--name", "m0", "--data-dir"])
            .arg(dir.join("data"))
            .args([
                "--listen-client-urls",
                &endpoint,
                "--advertise-client-urls",
                &endpoint,
            ])
            .args([
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
            ])
            .args(["--initial-cluster", &format!("m0={peer}")])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn etcd");
        let e = Etcd {
            child,
            dir,
            endpoint,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            let ok = Command::new("etcdctl")
                .args([
                    "--endpoints",
                    &e.endpoint,
                    "--command-timeout=1s",
                    "endpoint",
                    "health",
                ])
                .env("ETCDCTL_API", "3")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return Some(e);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        drop(e);
    }
    panic!("etcd did not become healthy (3 attempts)");
}

/// A cluster configuration for one endpoint: proc id, n, hosted ranks, prefix and TTL set,
/// every setter asserted `FTF_OK`. The caller frees it (or `ftf_cluster_join` copies it).
pub fn config(
    endpoint: &str,
    prefix: &str,
    proc_id: &str,
    n: u32,
    ranks: &[u32],
    ttl_ms: u64,
) -> *mut ftf_cluster_config {
    let mut c = ptr::null_mut();
    let id = CString::new(proc_id).unwrap();
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_new(id.as_ptr(), n, &mut c),
        FTF_OK
    );
    let ep = CString::new(endpoint).unwrap();
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_add_endpoint(c, ep.as_ptr()),
        FTF_OK
    );
    let pf = CString::new(prefix).unwrap();
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_set_prefix(c, pf.as_ptr()),
        FTF_OK
    );
    for r in ranks {
        assert_eq!(
            ftf_cluster_config::ftf_cluster_config_add_rank(c, *r),
            FTF_OK
        );
    }
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_set_ttl_ms(c, ttl_ms),
        FTF_OK
    );
    c
}
