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
//!    store write every live process (`procs/<p>` key) has `ack/<rank>/<p>` = the token, and
//!    no process writes as an owner between its ack and the resume (the deletion of
//!    `pause/<rank>`, whose create revision is the token);
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
    // accepted store writes: (proc, token, seq) -> (rank, revision, owner write)
    let mut store_writes: HashMap<(String, i64, u64), (String, i64, bool)> = HashMap::new();
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
                store_writes.insert(
                    (v.proc.clone(), v.token, v.seq),
                    (rank.to_string(), rev, v.owner),
                );
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
                // The pause key is put in the lock Txn: its create revision is the token.
                let m = (rank.to_string(), e.create);
                if e.put {
                    pauses.entry(m).or_insert((rev, None));
                } else if let Some(p) = pauses.get_mut(&m) {
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
            for ((wp, _, _), (wrank, wrev, owner)) in &store_writes {
                if wp == proc && *owner && *wrev > ack && *wrev < end {
                    r.violations.push(format!(
                        "rev {wrev}: {proc} wrote store/{wrank} as owner after acknowledging the pause of rank {rank} (token {token}, ack at {ack}, resume at {end})"
                    ));
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
    // 4: the nodes' own write outcomes (`node_write`, with the node's seq) match the
    // history: an accepted write is there at its revision, a refused one is not there.
    for l in logs.all("node_write") {
        let (Some(token), Some(seq)) = (l.u("token"), l.u("seq")) else {
            continue;
        };
        let found = store_writes.get(&(l.proc.clone(), token as i64, seq));
        let ok = l.raw.get("ok").and_then(|v| v.as_bool()).unwrap_or(false);
        if !ok && l.raw.get("ambiguous").and_then(|v| v.as_bool()) == Some(true) {
            continue; // outcome unknown to the node; the history check above covers it
        }
        match (ok, found) {
            (true, Some((_, rev, _))) => {
                if l.u("revision").is_some_and(|lr| lr as i64 != *rev) {
                    r.violations.push(format!(
                        "{}: write token {token} seq {seq} accepted at revision {:?}, etcd has it at {rev}",
                        l.proc,
                        l.u("revision")
                    ));
                }
            }
            (true, None) => r.violations.push(format!(
                "{}: write token {token} seq {seq} reported accepted but not in etcd's history",
                l.proc
            )),
            (false, Some((rank, rev, _))) => {
                // A refusal after an ambiguous outcome must have been read back: if etcd
                // applied it, reporting it refused is a lie.
                r.violations.push(format!(
                    "{}: write token {token} seq {seq} reported refused ({}) but etcd applied it to store/{rank} at {rev}",
                    l.proc,
                    l.s("error").unwrap_or_default()
                ))
            }
            (false, None) => {}
        }
    }
    // The driver's own `write_accepted` events name a store write of that token at that
    // revision.
    let by_rev: HashMap<i64, i64> = store_writes.values().map(|(_, rev, _)| (*rev, 0)).collect();
    for l in logs.all("write_accepted") {
        let Some(rev) = l.u("revision") else { continue };
        if !by_rev.contains_key(&(rev as i64)) {
            r.violations.push(format!(
                "{}: write_accepted at revision {rev} but etcd's history has no store write there",
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
    let before = r.detection_ms.len();
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
            // Not a survivor: it lost its own lease (a transient self-fence that ended with
            // `unfenced` does not count: the process lived on as a member).
            if lines.iter().any(|l| l.event == "lease_lost") {
                continue;
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
    if !x.killed.is_empty() && r.detection_ms.len() == before {
        r.violations
            .push("detection budget given but no survivor's detection could be measured".into());
    }
}

#[cfg(test)]
mod tests {
    //! The checker must catch what it claims to: each test feeds a small synthetic history
    //! that breaks exactly one invariant.
    use super::*;
    use crate::logs::Line;

    fn put(rev: i64, key: &str, value: &str, create: i64) -> HistEvent {
        HistEvent {
            rev,
            put: true,
            key: key.into(),
            value: value.into(),
            create,
            lease: 7,
        }
    }
    fn del(rev: i64, key: &str, create: i64) -> HistEvent {
        HistEvent {
            rev,
            put: false,
            key: key.into(),
            value: String::new(),
            create,
            lease: 7,
        }
    }
    fn store(rank: u32, token: i64, seq: u64, proc: &str, kind: &str) -> String {
        format!(
            r#"{{"rank":{rank},"token":{token},"seq":{seq},"proc":"{proc}","kind":"{kind}","count":1}}"#
        )
    }
    fn hist(events: Vec<HistEvent>) -> History {
        History { events }
    }
    fn line(proc: &str, v: serde_json::Value) -> Line {
        Line {
            ts_ms: v["ts_ms"].as_u64().unwrap_or(0),
            proc: proc.into(),
            event: v["event"].as_str().unwrap().into(),
            raw: v,
        }
    }
    fn k1() -> Expect {
        Expect {
            k: 1,
            allow_unrecovered: true,
            ..Default::default()
        }
    }
    /// A clean recovery of rank 1 (incarnation 2) by p0 with token 10, p0 and p1 live.
    fn clean() -> Vec<HistEvent> {
        vec![
            put(1, "procs/p0", "", 1),
            put(2, "members/1", "p1", 2),
            put(3, "procs/p1", "", 3),
            put(4, "store/1", &store(1, 2, 1, "p1", "owner"), 4),
            del(9, "members/1", 2),
            put(10, "recovery/lock/1", "p0", 10),
            put(10, "recovery/slot/0", "1", 10),
            put(10, "pause/1", "p0", 10),
            put(11, "ack/1/p0", "10", 11),
            put(12, "ack/1/p1", "10", 12),
            put(13, "store/1", &store(1, 10, 5, "p0", "recovery"), 4),
            put(14, "members/1", "p0", 14),
            del(14, "recovery/lock/1", 10),
            del(14, "recovery/slot/0", 10),
            del(14, "pause/1", 10),
        ]
    }

    #[test]
    fn a_clean_recovery_passes() {
        let r = check(&hist(clean()), &Logs::default(), &k1());
        assert!(r.violations.is_empty(), "{:?}", r.violations);
    }

    #[test]
    fn a_write_with_a_stale_token_is_caught() {
        let mut h = clean();
        h.push(put(15, "store/1", &store(1, 10, 6, "p0", "recovery"), 4));
        let r = check(&hist(h), &Logs::default(), &k1());
        assert!(
            r.violations.iter().any(|v| v.contains("stale token")),
            "{:?}",
            r.violations
        );
    }

    #[test]
    fn an_owner_write_of_a_dead_incarnation_is_caught() {
        let mut h = clean();
        // At 9 the write's compare still saw members/1 live (the deletion comes later in the
        // same revision): fine. At 11 it is gone: a stale owner write.
        h.push(put(9, "store/1", &store(1, 2, 2, "p1", "owner"), 4));
        h.push(put(11, "store/1", &store(1, 2, 3, "p1", "owner"), 4));
        let mut h = hist(h);
        h.normalise();
        let r = check(&h, &Logs::default(), &k1());
        assert_eq!(r.violations.len(), 1, "{:?}", r.violations);
        assert!(r.violations[0].contains("stale owner"));
    }

    #[test]
    fn an_owner_write_after_the_ack_is_caught() {
        let mut h = clean();
        h.push(put(1, "members/0", "p0", 1));
        h.push(put(12, "store/0", &store(0, 1, 9, "p0", "owner"), 12));
        let mut h = hist(h);
        h.normalise();
        let r = check(&h, &Logs::default(), &k1());
        assert_eq!(r.violations.len(), 1, "{:?}", r.violations);
        assert!(r.violations[0].contains("after acknowledging the pause"));
    }

    #[test]
    fn a_phase_before_every_ack_is_caught() {
        let h: Vec<HistEvent> = clean()
            .into_iter()
            .filter(|e| e.key != "ack/1/p1")
            .collect();
        let r = check(&hist(h), &Logs::default(), &k1());
        assert!(
            r.violations
                .iter()
                .any(|v| v.contains("had not acknowledged")),
            "{:?}",
            r.violations
        );
    }

    #[test]
    fn more_than_k_locks_are_caught() {
        let mut h = clean();
        h.insert(9, put(10, "recovery/lock/2", "p1", 10));
        let r = check(&hist(h), &Logs::default(), &k1());
        assert!(
            r.violations.iter().any(|v| v.contains("K = 1")),
            "{:?}",
            r.violations
        );
    }

    #[test]
    fn two_recoveries_of_one_failure_and_a_made_up_lock_are_caught() {
        let mut logs = Logs::default();
        let fin = |token: u64, new: u64| serde_json::json!({"event":"recovery_finished","rank":1,"old_incarnation":2,"new_incarnation":new,"token":token});
        logs.files.push((
            "a".into(),
            vec![
                line(
                    "p0",
                    serde_json::json!({"event":"failed","rank":1,"incarnation":2,"revision":9}),
                ),
                line("p0", fin(10, 14)),
                line("p1", fin(20, 21)),
                line(
                    "p1",
                    serde_json::json!({"event":"lock_granted","rank":1,"token":20,"slot":0}),
                ),
            ],
        ));
        let r = check(
            &hist(clean()),
            &logs,
            &Expect {
                k: 1,
                ..Default::default()
            },
        );
        assert!(
            r.violations.iter().any(|v| v.contains("recovered 2 times")),
            "{:?}",
            r.violations
        );
        assert!(r
            .violations
            .iter()
            .any(|v| v.contains("never created recovery/lock/1 at 20")));
    }

    #[test]
    fn late_or_missing_detection_is_caught() {
        let mut logs = Logs::default();
        let reg = serde_json::json!({"ts_ms": 900, "event":"registered","rank":1,"incarnation":2});
        logs.files.push(("p1".into(), vec![line("p1", reg)]));
        let late = serde_json::json!({"ts_ms": 5000, "event":"failed","rank":1,"incarnation":2,"revision":9});
        logs.files.push(("p0".into(), vec![line("p0", late)]));
        let quiet =
            serde_json::json!({"ts_ms": 1000, "event":"registered","rank":0,"incarnation":1});
        logs.files.push(("p2".into(), vec![line("p2", quiet)]));
        let x = Expect {
            k: 1,
            killed: vec![("p1".into(), 1000)],
            budget_ms: 3000,
            allow_unrecovered: true,
        };
        let r = check(&hist(clean()), &logs, &x);
        assert!(
            r.violations.iter().any(|v| v.contains("> budget")),
            "{:?}",
            r.violations
        );
        assert!(r
            .violations
            .iter()
            .any(|v| v.starts_with("p2") && v.contains("never saw")));
    }

    #[test]
    fn a_refused_write_that_etcd_applied_is_caught() {
        let mut logs = Logs::default();
        let w = serde_json::json!({"event":"node_write","rank":1,"token":10,"seq":5,"kind":"recovery","ok":false,"error":"Ambiguous"});
        logs.files.push(("p0".into(), vec![line("p0", w)]));
        let r = check(&hist(clean()), &logs, &k1());
        assert!(
            r.violations.iter().any(|v| v.contains("reported refused")),
            "{:?}",
            r.violations
        );
    }
}
