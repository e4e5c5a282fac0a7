//! [`ClusterStats`]: a `Copy` snapshot of one member's counters (quinn `stats.rs` style).
//!
//! Invariant: counters only grow; `available` and `self_fenced` are the current states.

/// A snapshot of one member's counters, from [`Member::stats`](crate::Member::stats).
#[non_exhaustive]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterStats {
    /// Keepalive requests sent.
    pub keepalives_sent: u64,
    /// Keepalive answers with a positive TTL.
    pub keepalive_acks: u64,
    /// Largest keepalive round trip seen, in microseconds.
    pub keepalive_rtt_max_us: u64,
    /// Watch events applied.
    pub watch_events: u64,
    /// Watches re-created (resume from last revision + 1).
    pub watch_restarts: u64,
    /// Re-lists after compaction.
    pub relists: u64,
    /// etcd requests sent (Txn, range, lease).
    pub requests: u64,
    /// Requests with an ambiguous outcome (timeout, reset), resolved by reading back.
    pub ambiguous: u64,
    /// Requests that failed outright.
    pub failed: u64,
    /// Fenced writes accepted.
    pub writes_accepted: u64,
    /// Fenced writes refused (stale fence or self-fenced).
    pub writes_refused: u64,
    /// Recovery locks granted to this process.
    pub locks_granted: u64,
    /// Recoveries this process completed.
    pub recoveries_completed: u64,
    /// Cluster-wide pauses this process acknowledged.
    pub pauses_acked: u64,
    /// Coordinator events dropped because nobody drained them (`Adapter::poll_core_event`
    /// holds at most `CORE_EVENT_CAP`; the oldest go first). Zero under a running driver.
    pub core_events_dropped: u64,
    /// etcd answers (false while requests fail).
    pub available: bool,
    /// The process passed its self-fence deadline.
    pub self_fenced: bool,
}

impl ClusterStats {
    /// Appends the OpenMetrics text of these counters (names `ftforest_cluster_*`).
    pub fn write_openmetrics(&self, out: &mut String) {
        use core::fmt::Write;
        let counters: [(&str, &str, u64); 15] = [
            (
                "keepalives_sent",
                "Keepalive requests sent",
                self.keepalives_sent,
            ),
            (
                "keepalive_acks",
                "Keepalive answers with a positive TTL",
                self.keepalive_acks,
            ),
            ("watch_events", "Watch events applied", self.watch_events),
            ("watch_restarts", "Watches re-created", self.watch_restarts),
            ("relists", "Re-lists after compaction", self.relists),
            ("requests", "etcd requests sent", self.requests),
            ("ambiguous", "Ambiguous request outcomes", self.ambiguous),
            ("failed", "Failed requests", self.failed),
            (
                "writes_accepted",
                "Fenced writes accepted",
                self.writes_accepted,
            ),
            (
                "writes_refused",
                "Fenced writes refused",
                self.writes_refused,
            ),
            (
                "locks_granted",
                "Recovery locks granted",
                self.locks_granted,
            ),
            (
                "recoveries_completed",
                "Recoveries completed",
                self.recoveries_completed,
            ),
            (
                "pauses_acked",
                "Cluster-wide pauses acknowledged",
                self.pauses_acked,
            ),
            (
                "core_events_dropped",
                "Coordinator events dropped undrained",
                self.core_events_dropped,
            ),
            (
                "keepalive_rtt_max_us",
                "Largest keepalive round trip (us)",
                self.keepalive_rtt_max_us,
            ),
        ];
        for (name, help, v) in counters {
            if name == "keepalive_rtt_max_us" {
                let _ = writeln!(out, "# TYPE ftforest_cluster_{name} gauge");
                let _ = writeln!(out, "# HELP ftforest_cluster_{name} {help}.");
                let _ = writeln!(out, "ftforest_cluster_{name} {v}");
            } else {
                let _ = writeln!(out, "# TYPE ftforest_cluster_{name} counter");
                let _ = writeln!(out, "# HELP ftforest_cluster_{name} {help}.");
                let _ = writeln!(out, "ftforest_cluster_{name}_total {v}");
            }
        }
        for (name, help, v) in [
            ("available", "1 while etcd answers", self.available),
            (
                "self_fenced",
                "1 once past the self-fence deadline",
                self.self_fenced,
            ),
        ] {
            let _ = writeln!(out, "# TYPE ftforest_cluster_{name} gauge");
            let _ = writeln!(out, "# HELP ftforest_cluster_{name} {help}.");
            let _ = writeln!(out, "ftforest_cluster_{name} {}", u8::from(v));
        }
    }
}
