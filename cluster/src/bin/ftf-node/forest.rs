//! The toy forest: one counter per hosted rank, persisted in `store/<rank>` by fenced writes
//! whose value carries `(rank, token, seq)` so that the checker can audit every accepted
//! write against etcd's history.
//!
//! Owner writes carry the rank's incarnation as `token` (`kind: "owner"`); recovery writes
//! carry the lock's fencing token (`kind: "recovery"`). `seq` is unique per process.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ftforest_cluster::{ForestHooks, PhaseIo, WriteError};
use ftforest_core::coord::{Phase, PhaseJob};
use serde_json::json;

use crate::out::{emit, now_ms};

/// The per-process toy forest (see the module docs).
pub struct ToyForest {
    proc: String,
    phase_time: Duration,
    seq: AtomicU64,
    /// Current incarnation of each hosted rank (the owner-write token).
    incarnations: Mutex<BTreeMap<u32, u64>>,
    /// The counters.
    counters: Mutex<BTreeMap<u32, u64>>,
}

impl ToyForest {
    /// A forest for process `proc`; each recovery phase lasts about `phase_time`.
    pub fn new(proc: &str, phase_time: Duration) -> ToyForest {
        ToyForest {
            proc: proc.into(),
            phase_time,
            seq: AtomicU64::new(0),
            incarnations: Mutex::new(BTreeMap::new()),
            counters: Mutex::new(BTreeMap::new()),
        }
    }

    /// Records that this process hosts `rank` at `incarnation` (registration or recovery).
    pub fn host(&self, rank: u32, incarnation: u64) {
        self.incarnations.lock().unwrap().insert(rank, incarnation);
    }

    /// The incarnation of a hosted rank.
    pub fn incarnation(&self, rank: u32) -> Option<u64> {
        self.incarnations.lock().unwrap().get(&rank).copied()
    }

    /// Next sequence number (unique in this process).
    pub fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Increments the counter of `rank` and returns the value to write.
    pub fn owner_value(&self, rank: u32, token: u64, seq: u64) -> Vec<u8> {
        let mut c = self.counters.lock().unwrap();
        let count = c.entry(rank).or_insert(0);
        *count += 1;
        value(rank, token, seq, &self.proc, "owner", *count)
    }

    /// Logs the outcome of one fenced write (`node_write`); `sent_ms` is when it was issued
    /// (the line's `ts_ms` is when the outcome arrived).
    pub fn log_write(
        &self,
        w: (u32, u64, u64),
        kind: &str,
        sent_ms: u64,
        r: &Result<u64, WriteError>,
    ) {
        let (rank, token, seq) = w;
        match r {
            Ok(rev) => emit(
                &self.proc,
                "node_write",
                json!({"rank": rank, "token": token, "seq": seq, "kind": kind, "sent_ms": sent_ms,
                       "ok": true, "revision": rev}),
            ),
            // An ambiguous outcome (timeout, reset) may have been applied: say so, the
            // checker then looks the write up in etcd's history instead of assuming.
            Err(e) => emit(
                &self.proc,
                "node_write",
                json!({"rank": rank, "token": token, "seq": seq, "kind": kind, "sent_ms": sent_ms,
                       "ok": false,
                       "ambiguous": matches!(e, WriteError::Unavailable { ambiguous: true }),
                       "error": format!("{e:?}")}),
            ),
        }
    }

    /// One fenced recovery write. etcd being briefly unavailable (a member down, a leader
    /// change) is retried for up to `TRANSIENT_RETRIES` x 50 ms, each try with a fresh seq
    /// (an ambiguous try may have been applied); a stale fence or a self-fence ends the
    /// phase at once.
    fn recovery_write(&self, io: &PhaseIo, count: u64) -> Result<(), ()> {
        let (rank, token) = (io.rank(), io.token());
        for _ in 0..TRANSIENT_RETRIES {
            let seq = self.next_seq();
            let sent = now_ms();
            let r = io.put(rank, value(rank, token, seq, &self.proc, "recovery", count));
            self.log_write((rank, token, seq), "recovery", sent, &r);
            match r {
                Ok(_) => return Ok(()),
                Err(WriteError::Unavailable { .. }) => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(_) => return Err(()),
            }
        }
        Err(())
    }

    /// The dead rank's data (linearizable read), retried like a write.
    fn read(&self, io: &PhaseIo) -> Result<Option<Vec<u8>>, ()> {
        for _ in 0..TRANSIENT_RETRIES {
            match io.get(io.rank()) {
                Ok(v) => return Ok(v),
                Err(WriteError::Unavailable { .. }) => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(_) => return Err(()),
            }
        }
        Err(())
    }
}

/// Tries of a phase write or read while etcd is unavailable (50 ms apart).
const TRANSIENT_RETRIES: u32 = 20;

/// A store value: `{"rank","token","seq","proc","kind","count"}`.
pub fn value(rank: u32, token: u64, seq: u64, proc: &str, kind: &str, count: u64) -> Vec<u8> {
    json!({"rank": rank, "token": token, "seq": seq, "proc": proc, "kind": kind, "count": count})
        .to_string()
        .into_bytes()
}

fn count_of(v: &[u8]) -> u64 {
    serde_json::from_slice::<serde_json::Value>(v)
        .ok()
        .and_then(|j| j.get("count").and_then(|c| c.as_u64()))
        .unwrap_or(0)
}

impl ForestHooks for ToyForest {
    fn run_phase(&self, job: PhaseJob, io: &PhaseIo) -> Result<(), ()> {
        let rank = io.rank();
        emit(
            &self.proc,
            "node_phase",
            json!({"rank": rank, "token": io.token(), "phase": format!("{:?}", job.phase)}),
        );
        let data = self.read(io)?;
        let count = data.as_deref().map(count_of).unwrap_or(0);
        match job.phase {
            // REDISTRIBUTING copies the dead rank's store under our token; the other phases
            // keep writing for their duration, so a paused or deposed recoverer is caught
            // writing with its stale token.
            Phase::Redistributing | Phase::Rebalancing | Phase::Validating => {
                let end = Instant::now() + self.phase_time;
                loop {
                    self.recovery_write(io, count)?;
                    if Instant::now() >= end {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50).min(self.phase_time));
                }
            }
            _ => std::thread::sleep(self.phase_time),
        }
        Ok(())
    }

    fn pause_balancer(&self) {
        emit(&self.proc, "node_balancer", json!({"paused": true}));
    }

    fn resume_balancer(&self) {
        emit(&self.proc, "node_balancer", json!({"paused": false}));
    }
}
