//! Errors of the driver: one enum per fallible verb ([`ClusterError`] for start/leave,
//! [`WriteError`] for fenced writes). Every refusal is typed; nothing panics.

use crate::config::ConfigError;

/// Why [`Member::start`](crate::Member::start) (or another whole-member operation) failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterError {
    /// The configuration is invalid.
    Config(ConfigError),
    /// etcd could not be reached within the connect timeout.
    Connect(String),
    /// The `config` key holds other parameters (n, K, TTL or layout version differ).
    ConfigMismatch {
        /// What etcd holds.
        stored: String,
        /// What this process would have written.
        ours: String,
    },
    /// The rank's previous incarnation failed and is being (or was) recovered: a process
    /// cannot re-register it (zombie rejoin refused).
    ZombieRejoinRefused {
        /// The rank.
        rank: u32,
    },
    /// The rank is hosted by a live member already.
    RankHosted {
        /// The rank.
        rank: u32,
    },
    /// The process's lease was lost (expired or revoked).
    LeaseLost,
    /// An etcd request failed (message from the client).
    Etcd(String),
    /// A graceful leave could not mark every hosted rank `left`; the lease was still
    /// revoked (or expires), so the other processes see `ranks` FAILED and recover them.
    NotAllLeft {
        /// The ranks whose `left` mark did not apply (or was not confirmed).
        ranks: Vec<u32>,
        /// A mark was refused by its incarnation compare (the rank was no longer this
        /// process's); `false`: etcd did not answer, or writes were not allowed (past the
        /// self-fence deadline).
        stale: bool,
    },
    /// The member was stopped (after `leave`, or its driver task ended).
    Stopped,
}

impl core::fmt::Display for ClusterError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl core::error::Error for ClusterError {}

impl From<ConfigError> for ClusterError {
    fn from(e: ConfigError) -> Self {
        ClusterError::Config(e)
    }
}

/// Why a fenced write was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// The process passed its self-fence deadline (or lost its lease): nothing is sent.
    SelfFenced,
    /// The fence did not hold in etcd: the incarnation (owner write) or the lock token
    /// (phase write) is no longer current. The write was not applied.
    StaleFence,
    /// This process does not host the rank (owner write).
    NotHosted {
        /// The rank.
        rank: u32,
    },
    /// etcd did not answer, even after the read-back; the write's outcome is unknown only
    /// if `ambiguous`.
    Unavailable {
        /// The write may have been applied.
        ambiguous: bool,
    },
    /// The member stopped.
    Stopped,
}

impl core::fmt::Display for WriteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl core::error::Error for WriteError {}
