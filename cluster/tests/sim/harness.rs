//! The seeded harness: 3–5 processes (adapters over a shared simulated etcd), random op
//! latencies, lost replies (ambiguous results), delayed and broken watches, compaction, and
//! faults (crash, freeze past the TTL, dropped keepalives, etcd unavailable), with the
//! invariants of `check.rs` checked after every step.

use core::time::Duration;
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use ftforest_cluster::proto::keys::Keys;
use ftforest_cluster::proto::ops::{OpError, OpId, OpResult, Request, Rev, WatchInput};
use ftforest_cluster::proto::{Adapter, AdapterConfig, ClusterEvent, Hook, Params, Status};
use ftforest_cluster::PausePolicy;
use ftforest_core::coord::{Config as CoreConfig, PhaseJob, Report, ReportKind};
use ftforest_core::{Instant, Tracker};

use super::etcd::SimEtcd;

pub type Gate = Arc<Tracker>;

/// splitmix64.
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, per_million: u64) -> bool {
        self.below(1_000_000) < per_million
    }
}

struct InFlight {
    id: OpId,
    req: Request,
    execute_at: u64,
    executed: Option<(u64, Result<OpResult, OpError>)>,
}

pub struct Proc {
    pub name: String,
    pub adapter: Option<Adapter<Gate>>,
    pub gate: Gate,
    ops: Vec<InFlight>,
    watch: Option<Rev>,
    /// The watch stream died silently (etcd-client#48): nothing is delivered.
    watch_dead: bool,
    /// Until then every watch creation fails at once (a broken proxy, a dead endpoint).
    watch_fail_until: u64,
    /// A failed creation to report as `Broken`.
    watch_broken: bool,
    /// Recent `WatchResumed` times (a spinning re-creation is a bug).
    resumed: VecDeque<u64>,
    next_watch_at: u64,
    phases: Vec<(u64, PhaseJob, Rev)>,
    pub frozen_until: u64,
    local_ops: VecDeque<(u64, ftforest_core::OpToken)>,
    pub events: Vec<ClusterEvent>,
    /// Restarted with its failed process's ranks: its start must be refused.
    pub zombie: bool,
}

pub struct Sim {
    pub rng: Rng,
    pub etcd: SimEtcd,
    pub procs: Vec<Proc>,
    pub keys: Keys,
    pub n: u32,
    pub k: u32,
    pub now_ms: u64,
    pub step: u64,
    pub trace: bool,
    next_name: u32,
    pub(super) completions: BTreeSet<(u32, Rev)>,
    pub(super) checked_applied: usize,
    fault_until: u64,
    /// Restarts due later: (when, ranks to re-register).
    restarts: Vec<(u64, Vec<u32>)>,
    pub stats: SimStats,
}

#[derive(Default, Debug)]
pub struct SimStats {
    pub crashes: u64,
    pub freezes: u64,
    pub drops: u64,
    pub outages: u64,
    pub compactions: u64,
    pub completions: u64,
    pub phases: u64,
    pub zombies_refused: u64,
    pub writes_accepted: u64,
    pub writes_refused: u64,
}

pub const TTL_MS: u64 = 2000;
const TIMEOUT_MS: u64 = 500;

/// The partition quorum of a state, counted here independently of the adapter: live
/// member keys > half the epochs that are not `left`.
fn sim_quorum(
    kvs: &std::collections::BTreeMap<String, ftforest_cluster::proto::ops::KeyValue>,
) -> bool {
    let healthy = kvs
        .keys()
        .filter(|k| k.starts_with("ftf/sim/members/"))
        .count();
    let members = kvs
        .values()
        .filter(|kv| kv.key.starts_with("ftf/sim/epoch/") && kv.value != b"left")
        .count();
    healthy * 2 > members
}

pub(super) fn instant(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

impl Sim {
    pub fn new(seed: u64, trace: bool) -> Sim {
        let mut rng = Rng::new(seed);
        let procs = 3 + rng.below(3) as u32;
        let n = procs;
        let k = 1 + rng.below(2) as u32;
        let mut sim = Sim {
            rng,
            etcd: SimEtcd::new(),
            procs: Vec::new(),
            keys: Keys::new("ftf/sim/"),
            n,
            k,
            now_ms: 0,
            step: 0,
            trace,
            next_name: 0,
            completions: BTreeSet::new(),
            checked_applied: 0,
            fault_until: 0,
            restarts: Vec::new(),
            stats: SimStats::default(),
        };
        sim.etcd.quorum_fn = Some(sim_quorum);
        for r in 0..n {
            sim.spawn(vec![r]);
        }
        sim
    }

    fn cfg(&self, name: &str, ranks: Vec<u32>) -> AdapterConfig {
        AdapterConfig {
            proc_id: name.to_owned(),
            info: format!("sim {name}"),
            ranks,
            params: Params {
                n: self.n,
                k: self.k,
                ttl_ms: TTL_MS,
            },
            prefix: "ftf/sim/".into(),
            pause_timeout: Duration::from_millis(3000),
            pause_policy: PausePolicy::Abort,
            margin: Duration::from_millis(200),
            quiescence_timeout: Duration::from_secs(3600),
            unavailable_after: 3,
            core: CoreConfig::builder()
                .fenced(true)
                .local_confirmation(false)
                .max_concurrent(self.k)
                .recovery_timeout(Duration::from_secs(10))
                .build()
                .expect("core config"),
        }
    }

    pub fn spawn(&mut self, ranks: Vec<u32>) -> usize {
        let name = format!("p{}", self.next_name);
        self.next_name += 1;
        let gate: Gate = Arc::new(Tracker::new());
        let cfg = self.cfg(&name, ranks);
        let adapter = Adapter::new(cfg, gate.clone(), instant(self.now_ms)).expect("adapter");
        self.procs.push(Proc {
            name,
            adapter: Some(adapter),
            gate,
            ops: Vec::new(),
            watch: None,
            watch_dead: false,
            watch_fail_until: 0,
            watch_broken: false,
            resumed: VecDeque::new(),
            next_watch_at: 0,
            phases: Vec::new(),
            frozen_until: 0,
            local_ops: VecDeque::new(),
            events: Vec::new(),
            zombie: false,
        });
        self.procs.len() - 1
    }

    fn log(&self, s: impl AsRef<str>) {
        if self.trace {
            eprintln!("[{} t={}] {}", self.step, self.now_ms, s.as_ref());
        }
    }

    /// One step: time passes, every process gets its due inputs, faults, then invariants.
    pub fn step(&mut self, faults: bool) -> Result<(), String> {
        self.step += 1;
        self.now_ms += 1 + self.rng.below(5);
        let now = self.now_ms;
        self.etcd.advance(now);
        if faults {
            self.inject_faults();
        }
        if self.etcd.unavailable && now >= self.fault_until {
            self.etcd.set_unavailable(false);
            self.log("etcd available again");
        }
        for i in 0..self.procs.len() {
            self.run_proc(i)?;
        }
        self.check()
    }

    fn inject_faults(&mut self) {
        let now = self.now_ms;
        let quiet = now >= self.fault_until && !self.etcd.unavailable;
        let all_members = (0..self.n).all(|r| self.etcd.kvs.contains_key(&self.keys.member(r)));
        let live: Vec<usize> = (0..self.procs.len())
            .filter(|&i| self.procs[i].adapter.is_some() && self.procs[i].frozen_until <= now)
            .collect();
        // An etcd outage at any time, more likely while a recovery holds a lock.
        let locked = self
            .etcd
            .kvs
            .keys()
            .any(|k| k.starts_with("ftf/sim/recovery/lock/"));
        let p = if locked { 3_000 } else { 60 };
        if self.rng.chance(p) && !self.etcd.unavailable && now >= self.fault_until {
            let d = 500 + self.rng.below(3000);
            self.log(format!("etcd unavailable for {d} (any time)"));
            self.stats.outages += 1;
            self.etcd.set_unavailable(true);
            self.fault_until = now + d;
            return;
        }
        if self.rng.chance(300) && !live.is_empty() && quiet && all_members {
            let i = live[self.rng.below(live.len() as u64) as usize];
            match self.rng.below(4) {
                0 => {
                    self.log(format!("crash {}", self.procs[i].name));
                    self.stats.crashes += 1;
                    let ranks = self.procs[i]
                        .adapter
                        .as_ref()
                        .map(|a| a.hosted())
                        .unwrap_or_default();
                    self.procs[i].adapter = None;
                    self.procs[i].ops.clear();
                    self.procs[i].local_ops.clear();
                    // A restart that tries to re-register the crashed process's ranks, at once
                    // or after the lease expired (it must be refused: hosted or failed), and
                    // a fresh process.
                    if !ranks.is_empty() {
                        let at = now + self.rng.below(2 * TTL_MS + 1000);
                        self.restarts.push((at, ranks));
                    }
                    self.spawn(Vec::new());
                }
                1 => {
                    let d = TTL_MS + 500 + self.rng.below(2000);
                    self.log(format!("freeze {} for {d}", self.procs[i].name));
                    self.stats.freezes += 1;
                    self.procs[i].frozen_until = now + d;
                }
                2 => {
                    self.log(format!("drop keepalives {}", self.procs[i].name));
                    self.stats.drops += 1;
                    if let Some(a) = self.procs[i].adapter.as_mut() {
                        a.set_drop_keepalives(true);
                    }
                }
                _ => {
                    let d = 500 + self.rng.below(3000);
                    self.log(format!("etcd unavailable for {d}"));
                    self.stats.outages += 1;
                    self.etcd.set_unavailable(true);
                    self.fault_until = now + d;
                    return;
                }
            }
            self.fault_until = now + 3 * TTL_MS;
        }
        let due: Vec<Vec<u32>> = {
            let (due, later): (Vec<_>, Vec<_>) =
                self.restarts.drain(..).partition(|(at, _)| *at <= now);
            self.restarts = later;
            due.into_iter().map(|(_, r)| r).collect()
        };
        for ranks in due {
            let z = self.spawn(ranks);
            self.log(format!("restart as {} (zombie)", self.procs[z].name));
            self.procs[z].zombie = true;
        }
        // A fresh process joins now and then (during pauses too).
        let running = self.procs.iter().filter(|p| p.adapter.is_some()).count();
        if running < 8 && self.rng.chance(150) {
            let i = self.spawn(Vec::new());
            self.log(format!("join {}", self.procs[i].name));
        }
        if self.rng.chance(200) {
            let rev = self.etcd.rev.saturating_sub(self.rng.below(5));
            self.log(format!("compact at {rev}"));
            self.stats.compactions += 1;
            self.etcd.compact(rev);
        }
        if self.rng.chance(150) && !self.procs.is_empty() {
            let i = self.rng.below(self.procs.len() as u64) as usize;
            self.log(format!("watch of {} dies silently", self.procs[i].name));
            self.procs[i].watch_dead = true;
        }
        if self.rng.chance(100) && !self.procs.is_empty() {
            let i = self.rng.below(self.procs.len() as u64) as usize;
            self.log(format!(
                "watch creations of {} fail for 3 s",
                self.procs[i].name
            ));
            self.procs[i].watch_fail_until = now + 3000;
            self.procs[i].watch_dead = true;
        }
        if self.rng.chance(200) && !self.procs.is_empty() {
            let i = self.rng.below(self.procs.len() as u64) as usize;
            let p = &mut self.procs[i];
            if p.watch.is_some() {
                if let Some(a) = p.adapter.as_mut() {
                    p.watch = None;
                    a.handle_watch(instant(now), WatchInput::Broken);
                }
            }
        }
    }

    fn run_proc(&mut self, i: usize) -> Result<(), String> {
        let now = self.now_ms;
        if self.procs[i].adapter.is_none() || self.procs[i].frozen_until > now {
            return Ok(());
        }
        // Requests reach etcd.
        let mut results = Vec::new();
        {
            let p = &mut self.procs[i];
            for op in p.ops.iter_mut() {
                if op.executed.is_none() && op.execute_at <= now {
                    let r = self.etcd.execute(&op.req);
                    let lost = self.rng.chance(20_000);
                    let (at, r) = match r {
                        Err(e) => (now + TIMEOUT_MS, Err(e)),
                        Ok(_) if lost => (now + TIMEOUT_MS, Err(OpError::Ambiguous)),
                        Ok(r) => (now + self.rng.below(4), Ok(r)),
                    };
                    op.executed = Some((at, r));
                }
            }
            let mut k = 0;
            while k < p.ops.len() {
                if p.ops[k].executed.as_ref().is_some_and(|(at, _)| *at <= now) {
                    let op = p.ops.remove(k);
                    results.push((
                        op.id,
                        op.executed.map(|(_, r)| r).unwrap_or(Err(OpError::Failed)),
                    ));
                } else {
                    k += 1;
                }
            }
        }
        let t = instant(now);
        for (id, r) in results {
            if let Some(a) = self.procs[i].adapter.as_mut() {
                a.handle_result(t, id, r);
            }
        }
        // A watch whose creation failed.
        if core::mem::take(&mut self.procs[i].watch_broken) {
            if let Some(a) = self.procs[i].adapter.as_mut() {
                a.handle_watch(t, WatchInput::Broken);
            }
        }
        // Watch delivery.
        if let Some(from) = self.procs[i].watch.filter(|_| !self.procs[i].watch_dead) {
            if now >= self.procs[i].next_watch_at {
                self.procs[i].next_watch_at = now + self.rng.below(40);
                let input = match self.etcd.events_from(from) {
                    Err(c) => {
                        self.procs[i].watch = None;
                        Some(WatchInput::Compacted {
                            compact_revision: c,
                        })
                    }
                    Ok(evs) if evs.is_empty() => None,
                    Ok(evs) => {
                        let last = evs.last().map_or(from, |e| e.kv.mod_revision);
                        self.procs[i].watch = Some(last + 1);
                        Some(WatchInput::Events(evs))
                    }
                };
                if let (Some(input), Some(a)) = (input, self.procs[i].adapter.as_mut()) {
                    a.handle_watch(t, input);
                }
            }
        }
        // Local forest operations (short; only while running and admitted by the gate).
        {
            let running = self.procs[i]
                .adapter
                .as_ref()
                .is_some_and(|a| *a.status() == Status::Running);
            while self.procs[i]
                .local_ops
                .front()
                .is_some_and(|(end, _)| *end <= now)
            {
                if let Some((_, tok)) = self.procs[i].local_ops.pop_front() {
                    let _ = self.procs[i].gate.end_token(tok);
                }
            }
            if running && self.rng.chance(100_000) {
                if let Ok(tok) = self.procs[i].gate.begin_token() {
                    let end = now + 1 + self.rng.below(30);
                    self.procs[i].local_ops.push_back((end, tok));
                }
            }
        }
        // Owner writes.
        if self.rng.chance(5_000) {
            self.owner_write(i);
        }
        // Local signals: they may raise SUSPECTED, never FAILED or a recovery.
        if self.rng.chance(2_000) {
            let r = self.rng.below(u64::from(self.n)) as u32;
            let rep = if self.rng.chance(500_000) {
                Report::barrier_timeout(r)
            } else {
                Report::new(ReportKind::BarrierPassed, r)
            };
            if let Some(a) = self.procs[i].adapter.as_mut() {
                a.report(instant(now), rep);
                assert!(!a.report(instant(now), Report::crashed(r)));
            }
        }
        // Phases finishing.
        let due: Vec<(u64, PhaseJob, Rev)> = {
            let p = &mut self.procs[i];
            let (due, later): (Vec<_>, Vec<_>) =
                p.phases.drain(..).partition(|(at, _, _)| *at <= now);
            p.phases = later;
            due
        };
        for (_, job, token) in due {
            self.finish_phase(i, job, token)?;
        }
        if let Some(a) = self.procs[i].adapter.as_mut() {
            a.tick(t);
        }
        self.drain(i)
    }

    fn owner_write(&mut self, i: usize) {
        let now = self.now_ms;
        let Some(a) = self.procs[i].adapter.as_mut() else {
            return;
        };
        let hosted = a.hosted();
        let Some(&rank) = hosted.first() else {
            return;
        };
        if let Ok((txn, inc, seq)) = a.owner_write(instant(now), rank, b"owner".to_vec()) {
            let res = self.etcd.execute(&Request::Txn(txn)).map(|r| match r {
                OpResult::Txn {
                    succeeded,
                    revision,
                    ..
                } => (succeeded, revision),
                _ => (false, 0),
            });
            let _ = a.write_done(instant(now), rank, inc, seq, res);
        }
    }

    fn finish_phase(&mut self, i: usize, job: PhaseJob, token: Rev) -> Result<(), String> {
        let now = self.now_ms;
        let ok = !self.rng.chance(30_000);
        let Some(a) = self.procs[i].adapter.as_mut() else {
            return Ok(());
        };
        if let Ok((txn, seq)) =
            a.phase_write(instant(now), job.rank, token, job.rank, b"phase".to_vec())
        {
            let lock_now = self
                .etcd
                .kvs
                .get(&self.keys.lock(job.rank))
                .map(|kv| kv.create_revision);
            let res = self.etcd.execute(&Request::Txn(txn)).map(|r| match r {
                OpResult::Txn {
                    succeeded,
                    revision,
                    ..
                } => (succeeded, revision),
                _ => (false, 0),
            });
            if let Ok((true, _)) = res {
                if lock_now != Some(token) {
                    return Err(format!(
                        "phase write of rank {} accepted with stale token {token} (lock {lock_now:?})",
                        job.rank
                    ));
                }
            }
            let _ = a.write_done(instant(now), job.rank, token, seq, res);
        }
        a.phase_done(instant(now), job, ok);
        self.drain(i)
    }

    fn drain(&mut self, i: usize) -> Result<(), String> {
        let now = self.now_ms;
        loop {
            let mut progressed = false;
            let p = &mut self.procs[i];
            let Some(a) = p.adapter.as_mut() else {
                return Ok(());
            };
            while let Some((id, req)) = a.poll_op() {
                progressed = true;
                let lat = self.rng.below(6);
                p.ops.push(InFlight {
                    id,
                    req,
                    execute_at: now + lat,
                    executed: None,
                });
            }
            let a = self.procs[i].adapter.as_mut().expect("adapter");
            if let Some(from) = a.poll_watch() {
                progressed = true;
                self.procs[i].watch = Some(from);
                self.procs[i].watch_dead = false;
                if now < self.procs[i].watch_fail_until {
                    self.procs[i].watch = None;
                    self.procs[i].watch_broken = true;
                }
                self.procs[i].next_watch_at = now + self.rng.below(20);
            }
            let a = self.procs[i].adapter.as_mut().expect("adapter");
            let mut hooks = Vec::new();
            while let Some(h) = a.poll_hook() {
                hooks.push(h);
            }
            let mut evs = Vec::new();
            while let Some(e) = a.poll_event() {
                evs.push(e);
            }
            for e in evs {
                progressed = true;
                self.log(format!("{}: {e:?}", self.procs[i].name));
                if let ClusterEvent::WatchResumed { .. } = e {
                    let p = &mut self.procs[i];
                    p.resumed.push_back(now);
                    while p.resumed.front().is_some_and(|t| *t + 1000 < now) {
                        p.resumed.pop_front();
                    }
                    if p.resumed.len() > 20 {
                        return Err(format!("{} re-creates its watch in a loop", p.name));
                    }
                }
                match &e {
                    ClusterEvent::RecoveryFinished { .. } => self.stats.completions += 1,
                    ClusterEvent::WriteAccepted { .. } => self.stats.writes_accepted += 1,
                    ClusterEvent::WriteRefused { .. } => self.stats.writes_refused += 1,
                    _ => {}
                }
                self.procs[i].events.push(e);
            }
            for h in hooks {
                progressed = true;
                if let Hook::RunPhase { job, token } = h {
                    self.stats.phases += 1;
                    self.check_phase_start(i, &job, token)?;
                    let at = now + 2 + self.rng.below(40);
                    self.procs[i].phases.push((at, job, token));
                }
            }
            if let Some(a) = self.procs[i].adapter.as_ref() {
                match a.status() {
                    Status::Running if self.procs[i].zombie => {
                        return Err(format!(
                            "{} re-registered the ranks of a failed process",
                            self.procs[i].name
                        ));
                    }
                    Status::Stopped(Some(e)) if self.procs[i].zombie => {
                        self.log(format!("{} refused: {e:?}", self.procs[i].name));
                        self.stats.zombies_refused += 1;
                        self.procs[i].zombie = false;
                    }
                    _ => {}
                }
            }
            if !progressed {
                return Ok(());
            }
        }
    }
}
