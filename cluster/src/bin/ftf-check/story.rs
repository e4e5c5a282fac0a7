//! A human-readable timeline of a run, from the nodes' JSON logs (used by the demo).

use crate::logs::{Line, Logs};

fn describe(l: &Line) -> Option<String> {
    let f = |n: &str| l.s(n).unwrap_or_else(|| "?".into());
    Some(match l.event.as_str() {
        "registered" => format!(
            "registered rank {} (incarnation {})",
            f("rank"),
            f("incarnation")
        ),
        "config_checked" => "config checked (n, K, TTL agree)".into(),
        "failed" => format!(
            "DETECTED rank {} FAILED (incarnation {}, member key deleted at etcd revision {})",
            f("rank"),
            f("incarnation"),
            f("revision")
        ),
        "suspected" => format!("suspects rank {}", f("rank")),
        "quorum_decision" => format!(
            "QUORUM decision for rank {}: {} healthy of {} members -> {}",
            f("rank"),
            f("healthy"),
            f("members"),
            f("decision")
        ),
        "lock_granted" => format!(
            "FENCED LOCK granted for rank {}: token {} (slot {})",
            f("rank"),
            f("token"),
            f("slot")
        ),
        "lock_refused" => format!("lock refused for rank {}: {}", f("rank"), f("refusal")),
        "pause_requested" => format!(
            "CLUSTER-WIDE PAUSE requested for rank {} (token {})",
            f("rank"),
            f("token")
        ),
        "pause_acked" => format!(
            "acknowledged the pause of rank {} (token {}, in flight {})",
            f("rank"),
            f("token"),
            f("in_flight")
        ),
        "all_acked" => format!(
            "ALL ACKED pause of rank {} (token {}): {}",
            f("rank"),
            f("token"),
            f("procs")
        ),
        "phase" => format!(
            "PHASE {} of rank {} (token {})",
            f("phase"),
            f("rank"),
            f("token")
        ),
        "write_refused" => format!(
            "write REFUSED rank {} token {} seq {}",
            f("rank"),
            f("token"),
            f("seq")
        ),
        "recovery_finished" => format!(
            "RECOVERED rank {}: incarnation {} -> NEW INCARNATION {} (token {})",
            f("rank"),
            f("old_incarnation"),
            f("new_incarnation"),
            f("token")
        ),
        "resumed" => format!("RESUMED after rank {} (token {})", f("rank"), f("token")),
        // A C node (examples/c/cluster_node.c): when its C listener got the event.
        "node_seen" => format!("(C listener got {} of rank {})", f("seen"), f("rank")),
        "write_accepted" | "node_write" | "node_phase" | "node_balancer" | "node_stats" => {
            return None
        }
        other => {
            let mut o = l.raw.clone();
            if let Some(m) = o.as_object_mut() {
                m.remove("ts_ms");
                m.remove("proc");
                m.remove("event");
            }
            format!("{other} {o}")
        }
    })
}

/// Prints every interesting line of every log, merged by time, relative to `t0_ms`
/// (the earliest line when 0). With a `t0_ms`, lines before it are left out except the
/// registrations (the cluster as it was when the fault was injected).
pub fn print(logs: &Logs, t0_ms: u64) {
    let mut all: Vec<&Line> = logs.files.iter().flat_map(|(_, ls)| ls.iter()).collect();
    all.sort_by_key(|l| l.ts_ms);
    let t0 = if t0_ms > 0 {
        t0_ms
    } else {
        all.first().map(|l| l.ts_ms).unwrap_or(0)
    };
    for l in all {
        if t0_ms > 0 && l.ts_ms < t0_ms && l.event != "registered" {
            continue;
        }
        if let Some(d) = describe(l) {
            let t = l.ts_ms as i64 - t0 as i64;
            println!("{:>+8} ms  {:<8} {d}", t, l.proc);
        }
    }
}
