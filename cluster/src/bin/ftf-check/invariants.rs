//! The invariants, checked over etcd's history (the ground truth) and the nodes' logs (what
//! each process believed and did). Each check appends human-readable violations.
//!
//! 1. lock intervals of a rank never overlap, and every lock a node reports was granted by
//!    etcd at exactly its token's revision;
//! 2. at most K lock keys (and K slot keys, slots < K) at any revision;
//! 3. exactly one completed recovery per (rank, failed incarnation), fenced by its token;
//! 4. no accepted store write with a stale token: each store write's token is the live lock's
//!    or the live member key's create revision at that revision, and tokens per rank never go
//!    down; logged acceptances/refusals match the history;
//! 5. no phase while a live process had not acknowledged the pause: at a recovery's first
//!    store write every live process has an ack for that token, and no process writes as an
//!    owner between its ack and the resume;
//! 6. detection within the budget on every survivor.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use crate::history::{HistEvent, History};
use crate::logs::Logs;

/// What the caller knows about the run.
#[derive(Debug, Default, Clone)]
pub struct Expect {
    /// Maximum concurrent recoveries.
    pub k: usize,
    /// Killed processes with the wall-clock ms of the kill.
    pub killed: Vec<(String, u64)>,
    /// Detection budget in ms (0: not checked).
    pub budget_ms: u64,
    /// Tolerate failures that were not recovered (e.g. etcd still without quorum).
    pub allow_unrecovered: bool,
}

/// The checker's verdict.
#[derive(Debug, Default)]
pub struct Report {
    /// Broken invariants.
    pub violations: Vec<String>,
    /// Facts worth printing (counts, detection latencies).
    pub notes: Vec<String>,
    /// Detection latencies in ms (kill → Failed on a survivor).
    pub detection_ms: Vec<u64>,
}

/// Token carried by a value: its JSON `token` field, else the first integer in it.
pub fn token_of(value: &str) -> Option<i64> {
    if let Ok(v) = serde_json::from_str::<Value>(value) {
        if let Some(t) = v.get("token").and_then(|t| t.as_i64()) {
            return Some(t);
        }
        if let Some(t) = v.as_i64() {
            return Some(t);
        }
    }
    let digits: String = value
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// A store value as `ftf-node` writes it.
#[derive(Debug, Clone)]
struct StoreVal {
    token: i64,
    seq: u64,
    proc: String,
    owner: bool,
}

fn store_val(v: &str) -> Option<StoreVal> {
    let j: Value = serde_json::from_str(v).ok()?;
    Some(StoreVal {
        token: j.get("token")?.as_i64()?,
        seq: j.get("seq").and_then(|s| s.as_u64()).unwrap_or(0),
        proc: j
            .get("proc")
            .and_then(|s| s.as_str())
            .unwrap_or("?")
            .to_string(),
        owner: j.get("kind").and_then(|s| s.as_str()) == Some("owner"),
    })
}

/// The live keyspace while replaying the history.
#[derive(Default)]
struct Live {
    keys: HashMap<String, (i64, String)>, // key -> (create revision, value)
}

impl Live {
    fn apply(&mut self, e: &HistEvent) {
        if e.put {
            self.keys.insert(e.key.clone(), (e.create, e.value.clone()));
        } else {
            self.keys.remove(&e.key);
        }
    }
    fn create(&self, key: &str) -> Option<i64> {
        self.keys.get(key).map(|(c, _)| *c)
    }
    fn count(&self, prefix: &str) -> usize {
        self.keys.keys().filter(|k| k.starts_with(prefix)).count()
    }
    fn procs(&self) -> BTreeSet<String> {
        self.keys
            .keys()
            .filter_map(|k| k.strip_prefix("procs/").map(str::to_string))
            .collect()
    }
}

/// Runs every check.
pub fn check(h: &History, logs: &Logs, x: &Expect) -> Report {
    let mut r = Report::default();
    let mut live = Live::default();
    // lock intervals per rank: token -> end revision (None: still held)
    let mut locks: BTreeMap<String, BTreeMap<i64, Option<i64>>> = BTreeMap::new();
    // member key creations per rank: create revision -> deleted at
    let mut incarnations: BTreeMap<String, BTreeMap<i64, Option<i64>>> = BTreeMap::new();
    let mut max_token: HashMap<String, i64> = HashMap::new();
    // (rank, token) -> first recovery write revision
    let mut first_phase_write: BTreeMap<(String, i64), i64> = BTreeMap::new();
    // accepted store writes: (proc, token, seq) -> (rank, revision)
    let mut store_writes: HashMap<(String, i64, u64), (String, i64)> = HashMap::new();
    // ack revision per (rank, token, proc)
    let mut acks: HashMap<(String, i64, String), i64> = HashMap::new();
    // pause intervals: (rank, token) -> (put rev, delete rev)
    let mut pauses: BTreeMap<(String, i64), (i64, Option<i64>)> = BTreeMap::new();

    let mut i = 0;
    let ev = &h.events;
    while i < ev.len() {
        let rev = ev[i].rev;
        let mut j = i;
        while j < ev.len() && ev[j].rev == rev {
            j += 1;
        }
        let group = &ev[i..j];
        // Checks against the state before this revision's Txn.
        for e in group {
            if let Some(rank) = e.key.strip_prefix("store/") {
                if !e.put {
                    continue;
                }
                let Some(v) = store_val(&e.value) else {
                    r.violations.push(format!(
                        "rev {rev}: store/{rank} value not a node write: {}",
                        e.value
                    ));
                    continue;
                };
                let lock = live.create(&format!("recovery/lock/{rank}"));
                let member = live.create(&format!("members/{rank}"));
                let fenced_by_lock = lock == Some(v.token);
                let fenced_by_member = member == Some(v.token);
                if v.owner && !fenced_by_member {
                    r.violations.push(format!(
                        "rev {rev}: owner write to store/{rank} by {} with incarnation {} but members/{rank} has create revision {:?} (stale owner accepted)",
                        v.proc, v.token, member
                    ));
                }
                if !v.owner && !fenced_by_lock {
                    r.violations.push(format!(
                        "rev {rev}: recovery write to store/{rank} by {} with token {} but recovery/lock/{rank} has create revision {:?} (stale token accepted)",
                        v.proc, v.token, lock
                    ));
                }
                let m = max_token.entry(rank.to_string()).or_insert(0);
                if v.token < *m {
                    r.violations.push(format!(
                        "rev {rev}: store/{rank} written with token {} below the rank's max token {}",
                        v.token, m
                    ));
                }
                *m = (*m).max(v.token);
                if !v.owner {
                    first_phase_write
                        .entry((rank.to_string(), v.token))
                        .or_insert(rev);
                }
                store_writes.insert((v.proc.clone(), v.token, v.seq), (rank.to_string(), rev));
            }
        }
        for e in group {
            live.apply(e);
            if let Some(rank) = e.key.strip_prefix("recovery/lock/") {
                let m = locks.entry(rank.to_string()).or_default();
                if e.put && e.create == rev {
                    if let Some((t, _)) = m.iter().find(|(_, end)| end.is_none()) {
                        r.violations.push(format!(
                            "rev {rev}: lock of rank {rank} created while token {t} still held"
                        ));
                    }
                    m.insert(rev, None);
                } else if !e.put {
                    match m.get_mut(&e.create) {
                        Some(end @ None) => *end = Some(rev),
                        _ => r.violations.push(format!(
                            "rev {rev}: delete of a lock of rank {rank} (create {}) never seen created",
                            e.create
                        )),
                    }
                }
            } else if let Some(rank) = e.key.strip_prefix("members/") {
                let m = incarnations.entry(rank.to_string()).or_default();
                if e.put && e.create == rev {
                    m.insert(rev, None);
                } else if !e.put {
                    if let Some(end) = m.get_mut(&e.create) {
                        *end = Some(rev);
                    }
                }
            } else if let Some(s) = e.key.strip_prefix("recovery/slot/") {
                if s.parse::<usize>().map(|s| s >= x.k).unwrap_or(true) {
                    r.violations.push(format!(
                        "rev {rev}: slot key recovery/slot/{s} outside 0..{}",
                        x.k
                    ));
                }
            } else if let Some(rest) = e.key.strip_prefix("ack/") {
                if let (Some((rank, proc)), true) = (rest.split_once('/'), e.put) {
                    if let Some(t) = token_of(&e.value) {
                        acks.entry((rank.to_string(), t, proc.to_string()))
                            .or_insert(rev);
                    }
                }
            } else if let Some(rank) = e.key.strip_prefix("pause/") {
                if e.put {
                    if let Some(t) = token_of(&e.value) {
                        pauses.entry((rank.to_string(), t)).or_insert((rev, None));
                    }
                } else if let Some((_, p)) = pauses
                    .iter_mut()
                    .rev()
                    .find(|((r2, _), (_, end))| r2 == rank && end.is_none())
                {
                    p.1 = Some(rev);
                }
            }
        }
        // State after this revision.
        let nlocks = live.count("recovery/lock/");
        let nslots = live.count("recovery/slot/");
        if x.k > 0 && (nlocks > x.k || nslots > x.k) {
            r.violations.push(format!(
                "rev {rev}: {nlocks} lock keys and {nslots} slot keys live, K = {}",
                x.k
            ));
        }
        // 5a: the first recovery write of a token needs every live process's ack.
        for e in group {
            if let Some(rank) = e.key.strip_prefix("store/") {
                let Some(v) = store_val(&e.value) else {
                    continue;
                };
                if v.owner || first_phase_write.get(&(rank.to_string(), v.token)) != Some(&rev) {
                    continue;
                }
                for p in live.procs() {
                    let ok = acks
                        .get(&(rank.to_string(), v.token, p.clone()))
                        .is_some_and(|&a| a < rev);
                    if !ok {
                        r.violations.push(format!(
                            "rev {rev}: first phase write of rank {rank} token {} while live process {p} had not acknowledged the pause",
                            v.token
                        ));
                    }
                }
            }
        }
        i = j;
    }
    let total_locks: usize = locks.values().map(|m| m.len()).sum();
    r.notes.push(format!(
        "history: {} events up to revision {}, {} lock grants, {} store writes",
        h.events.len(),
        h.last_rev(),
        total_locks,
        store_writes.len()
    ));

    // 5b: no owner write by a process between its ack and the resume (pause deletion).
    for ((rank, token), (_, end)) in &pauses {
        let end = end.unwrap_or(i64::MAX);
        for ((r2, t2, proc), &ack) in &acks {
            if r2 != rank || t2 != token {
                continue;
            }
            for ((wp, _, _), (wrank, wrev)) in &store_writes {
                if wp == proc && *wrev > ack && *wrev < end {
                    if let Some(e) = h
                        .events
                        .iter()
                        .find(|e| e.rev == *wrev && e.key == format!("store/{wrank}"))
                    {
                        if store_val(&e.value).is_some_and(|v| v.owner) {
                            r.violations.push(format!(
                                "rev {wrev}: {proc} wrote store/{wrank} as owner after acknowledging the pause of rank {rank} (token {token}, ack at {ack}, resume at {end})"
                            ));
                        }
                    }
                }
            }
        }
    }

    // 1: every lock a node reports was granted by etcd at its token.
    for l in logs.all("lock_granted") {
        let (Some(rank), Some(token)) = (l.s("rank"), l.u("token")) else {
            continue;
        };
        if !locks
            .get(&rank)
            .is_some_and(|m| m.contains_key(&(token as i64)))
        {
            r.violations.push(format!(
                "{}: LockGranted rank {rank} token {token} but etcd never created recovery/lock/{rank} at {token}",
                l.proc
            ));
        }
    }
    // 4: logged acceptances exist in the history; refusals do not.
    for l in logs.all("write_accepted") {
        let (Some(token), Some(seq)) = (l.u("token"), l.u("seq")) else {
            continue;
        };
        match store_writes.get(&(l.proc.clone(), token as i64, seq)) {
            Some((_, rev)) => {
                if let Some(lr) = l.u("revision") {
                    if lr as i64 != *rev {
                        r.violations.push(format!(
                            "{}: WriteAccepted token {token} seq {seq} at revision {lr}, etcd has it at {rev}",
                            l.proc
                        ));
                    }
                }
            }
            None => r.violations.push(format!(
                "{}: WriteAccepted token {token} seq {seq} not in etcd's history",
                l.proc
            )),
        }
    }
    for l in logs.all("write_refused") {
        let (Some(token), Some(seq)) = (l.u("token"), l.u("seq")) else {
            continue;
        };
        if let Some((rank, rev)) = store_writes.get(&(l.proc.clone(), token as i64, seq)) {
            r.violations.push(format!(
                "{}: WriteRefused token {token} seq {seq} but etcd applied it to store/{rank} at {rev}",
                l.proc
            ));
        }
    }

    // 3: exactly one completed recovery per (rank, failed incarnation).
    let mut done: BTreeMap<(String, u64), BTreeSet<(u64, u64)>> = BTreeMap::new();
    for l in logs.all("recovery_finished") {
        let (Some(rank), Some(old)) = (l.s("rank"), l.u("old_incarnation")) else {
            continue;
        };
        let new = l.u("new_incarnation").unwrap_or(0);
        let token = l.u("token").unwrap_or(0);
        done.entry((rank.clone(), old))
            .or_default()
            .insert((new, token));
        let inc_ok = incarnations
            .get(&rank)
            .is_some_and(|m| m.contains_key(&(new as i64)));
        let lock_end = locks
            .get(&rank)
            .and_then(|m| m.get(&(token as i64)).copied().flatten());
        if !inc_ok || lock_end != Some(new as i64) {
            r.violations.push(format!(
                "{}: RecoveryFinished rank {rank} new incarnation {new} token {token}: etcd has no member key created at {new} in the Txn that released lock {token} (lock end {lock_end:?})",
                l.proc
            ));
        }
    }
    for ((rank, old), set) in &done {
        if set.len() != 1 {
            r.violations.push(format!(
                "rank {rank} incarnation {old} recovered {} times: {set:?}",
                set.len()
            ));
        }
    }
    let mut failed: BTreeSet<(String, u64)> = BTreeSet::new();
    for l in logs.all("failed") {
        if let (Some(rank), Some(inc)) = (l.s("rank"), l.u("incarnation")) {
            failed.insert((rank, inc));
        }
    }
    if !x.allow_unrecovered {
        for (rank, inc) in &failed {
            if !done.contains_key(&(rank.clone(), *inc)) {
                r.violations.push(format!(
                    "rank {rank} incarnation {inc} failed but was never recovered"
                ));
            }
        }
    }
    r.notes.push(format!(
        "{} failures seen, {} recoveries finished",
        failed.len(),
        done.len()
    ));

    // 6: detection within the budget on every survivor.
    if x.budget_ms > 0 {
        detection(logs, x, &mut r);
    }
    r
}

fn detection(logs: &Logs, x: &Expect, r: &mut Report) {
    for (proc, kill_ts) in &x.killed {
        // ranks the killed process held: its last Registered per rank
        let ranks: BTreeSet<String> = logs
            .files
            .iter()
            .flat_map(|(_, ls)| ls.iter())
            .filter(|l| {
                &l.proc == proc && (l.event == "registered" || l.event == "recovery_finished")
            })
            .filter_map(|l| l.s("rank"))
            .collect();
        if ranks.is_empty() {
            r.violations.push(format!(
                "killed process {proc}: no Registered line in any log"
            ));
        }
        for (path, lines) in &logs.files {
            let Some(me) = Logs::proc_of(lines) else {
                continue;
            };
            if x.killed.iter().any(|(p, _)| p == me) {
                continue;
            }
            if lines
                .iter()
                .any(|l| l.event == "lease_lost" || l.event == "self_fenced")
            {
                continue; // not a survivor
            }
            for rank in &ranks {
                let seen = lines.iter().find(|l| {
                    l.event == "failed"
                        && l.s("rank").as_deref() == Some(rank)
                        && l.ts_ms >= *kill_ts
                });
                match seen {
                    Some(l) => {
                        let d = l.ts_ms - kill_ts;
                        r.detection_ms.push(d);
                        if d > x.budget_ms {
                            r.violations.push(format!(
                                "{me}: rank {rank} of killed {proc} detected after {d} ms > budget {} ms",
                                x.budget_ms
                            ));
                        }
                    }
                    None => r.violations.push(format!(
                        "{me} ({path}): never saw rank {rank} of killed {proc} FAILED"
                    )),
                }
            }
        }
    }
}
