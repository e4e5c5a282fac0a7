//! Seeded simulation of the cluster protocol: 3–5 adapters (each with its own coordinator)
//! over a simulated etcd with random latencies, lost replies, delayed/broken watches,
//! compaction and faults (crash, freeze past the TTL, dropped keepalives, etcd unavailable).
//! Per-step invariants: at most K locks; no store write without a fence compare; no phase
//! write accepted with a stale token; exactly one completion per (rank, failed
//! incarnation); no phase while a live process is not paused or has an operation in
//! flight; a process whose lease etcd expired cannot write; at most one current holder per
//! rank. After a quiet period every rank is a member again (when partition quorum allows).
//!
//! `FTF_CLUSTER_SIM_SEEDS=N` runs seeds `0..N` (default 16); a failure prints the replay
//! command: `FTF_CLUSTER_SIM_SEED=<seed> FTF_CLUSTER_SIM_TRACE=1 cargo test -p
//! ftforest-cluster --test cluster_sim -- --nocapture`.

mod sim;

use sim::harness::Sim;

const FAULT_MS: u64 = 40_000;
const QUIET_MS: u64 = 25_000;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

fn run(seed: u64, trace: bool) -> Result<String, String> {
    let mut sim = Sim::new(seed, trace);
    while sim.now_ms < FAULT_MS {
        sim.step(true)?;
    }
    while sim.now_ms < FAULT_MS + QUIET_MS {
        sim.step(false)?;
    }
    sim.check_converged()?;
    Ok(format!(
        "seed {seed}: n={} K={} procs={} {:?}",
        sim.n,
        sim.k,
        sim.procs.len(),
        sim.stats
    ))
}

#[test]
fn seeded_cluster_simulation() {
    let trace = std::env::var("FTF_CLUSTER_SIM_TRACE").is_ok();
    let seeds: Vec<u64> = match env_u64("FTF_CLUSTER_SIM_SEED") {
        Some(s) => vec![s],
        None => (0..env_u64("FTF_CLUSTER_SIM_SEEDS").unwrap_or(16)).collect(),
    };
    let mut totals = (0u64, 0u64);
    for seed in seeds {
        match run(seed, trace) {
            Ok(s) => {
                totals.0 += 1;
                if trace || std::env::var("FTF_CLUSTER_SIM_VERBOSE").is_ok() {
                    eprintln!("{s}");
                }
            }
            Err(e) => panic!(
                "seed {seed}: {e}\nreplay: FTF_CLUSTER_SIM_SEED={seed} FTF_CLUSTER_SIM_TRACE=1 \
                 cargo test -p ftforest-cluster --test cluster_sim -- --nocapture"
            ),
        }
        totals.1 += 1;
    }
    assert_eq!(totals.0, totals.1);
}
