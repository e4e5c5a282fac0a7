//! Every mapping from the cluster crate's errors and states onto `ftf_result`, in one place
//! (ffi/README.md "Cluster" repeats this table).
//!
//! | Rust | `ftf_result` |
//! | --- | --- |
//! | `ConfigError::*` (builder refused) | `FTF_INVALID_CONFIG` |
//! | `ClusterError::Config` | `FTF_INVALID_CONFIG` |
//! | `ClusterError::Connect` (no endpoint answered a Status request in the connect timeout) | `FTF_UNREACHABLE` |
//! | `ClusterError::ConfigMismatch` | `FTF_CONFIG_MISMATCH` |
//! | `ClusterError::RankHosted` | `FTF_RANK_HELD` |
//! | `ClusterError::ZombieRejoinRefused` | `FTF_ZOMBIE_REJOIN` |
//! | `ClusterError::Etcd` (a request failed or the start timed out) | `FTF_UNAVAILABLE` |
//! | `ClusterError::LeaseLost` | `FTF_LEASE_LOST` |
//! | `ClusterError::Stopped` | `FTF_NOT_RUNNING` |
//! | `WriteError::StaleFence` (the compare failed: not applied) | `FTF_STALE` |
//! | `WriteError::SelfFenced` (nothing sent) | `FTF_SELF_FENCED`, or `FTF_LEASE_LOST` once the lease is gone |
//! | `WriteError::NotHosted` | `FTF_UNKNOWN_PARTITION` |
//! | `WriteError::Unavailable { ambiguous: false }` | `FTF_UNAVAILABLE` |
//! | `WriteError::Unavailable { ambiguous: true }` | `FTF_AMBIGUOUS` |
//! | `WriteError::Stopped` | `FTF_NOT_RUNNING` |
//! | `MemberState::Leaving / Left / Stopped` (any call needing a live member) | `FTF_NOT_RUNNING` |
//! | `MemberState::LeaseLost` (any call needing a live member) | `FTF_LEASE_LOST` |

use ftforest_cluster::{ClusterError, MemberState, WriteError};

use crate::result::ftf_result;

/// The code of a failed join or leave.
pub(crate) fn cluster_error(e: &ClusterError) -> ftf_result {
    match e {
        ClusterError::Config(_) => ftf_result::FTF_INVALID_CONFIG,
        ClusterError::Connect(_) => ftf_result::FTF_UNREACHABLE,
        ClusterError::ConfigMismatch { .. } => ftf_result::FTF_CONFIG_MISMATCH,
        ClusterError::RankHosted { .. } => ftf_result::FTF_RANK_HELD,
        ClusterError::ZombieRejoinRefused { .. } => ftf_result::FTF_ZOMBIE_REJOIN,
        ClusterError::Etcd(_) => ftf_result::FTF_UNAVAILABLE,
        ClusterError::LeaseLost => ftf_result::FTF_LEASE_LOST,
        ClusterError::Stopped => ftf_result::FTF_NOT_RUNNING,
    }
}

/// The code of a refused fenced write or read; `state` tells a self-fence from a dead lease.
pub(crate) fn write_error(e: &WriteError, state: MemberState) -> ftf_result {
    match e {
        WriteError::StaleFence => ftf_result::FTF_STALE,
        WriteError::SelfFenced => match state_error(state) {
            Some(code) => code,
            None => ftf_result::FTF_SELF_FENCED,
        },
        WriteError::NotHosted { .. } => ftf_result::FTF_UNKNOWN_PARTITION,
        WriteError::Unavailable { ambiguous: false } => ftf_result::FTF_UNAVAILABLE,
        WriteError::Unavailable { ambiguous: true } => ftf_result::FTF_AMBIGUOUS,
        WriteError::Stopped => ftf_result::FTF_NOT_RUNNING,
    }
}

/// `None` while the member takes part; else the code of every call that needs it to.
pub(crate) fn state_error(state: MemberState) -> Option<ftf_result> {
    match state {
        MemberState::Running => None,
        MemberState::LeaseLost => Some(ftf_result::FTF_LEASE_LOST),
        MemberState::Leaving | MemberState::Left | MemberState::Stopped => {
            Some(ftf_result::FTF_NOT_RUNNING)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_its_code() {
        use ftforest_cluster::ConfigError;
        let cases = [
            (
                ClusterError::Config(ConfigError::NoEndpoints),
                ftf_result::FTF_INVALID_CONFIG,
            ),
            (
                ClusterError::Connect(String::new()),
                ftf_result::FTF_UNREACHABLE,
            ),
            (
                ClusterError::ConfigMismatch {
                    stored: String::new(),
                    ours: String::new(),
                },
                ftf_result::FTF_CONFIG_MISMATCH,
            ),
            (
                ClusterError::RankHosted { rank: 1 },
                ftf_result::FTF_RANK_HELD,
            ),
            (
                ClusterError::ZombieRejoinRefused { rank: 1 },
                ftf_result::FTF_ZOMBIE_REJOIN,
            ),
            (
                ClusterError::Etcd(String::new()),
                ftf_result::FTF_UNAVAILABLE,
            ),
            (ClusterError::LeaseLost, ftf_result::FTF_LEASE_LOST),
            (ClusterError::Stopped, ftf_result::FTF_NOT_RUNNING),
        ];
        for (e, want) in cases {
            assert_eq!(cluster_error(&e), want, "{e:?}");
        }
        let run = MemberState::Running;
        assert_eq!(
            write_error(&WriteError::StaleFence, run),
            ftf_result::FTF_STALE
        );
        assert_eq!(
            write_error(&WriteError::SelfFenced, run),
            ftf_result::FTF_SELF_FENCED
        );
        assert_eq!(
            write_error(&WriteError::SelfFenced, MemberState::LeaseLost),
            ftf_result::FTF_LEASE_LOST
        );
        assert_eq!(
            write_error(&WriteError::NotHosted { rank: 0 }, run),
            ftf_result::FTF_UNKNOWN_PARTITION
        );
        assert_eq!(
            write_error(&WriteError::Unavailable { ambiguous: true }, run),
            ftf_result::FTF_AMBIGUOUS
        );
        assert_eq!(
            write_error(&WriteError::Unavailable { ambiguous: false }, run),
            ftf_result::FTF_UNAVAILABLE
        );
        assert_eq!(
            write_error(&WriteError::Stopped, run),
            ftf_result::FTF_NOT_RUNNING
        );
        assert_eq!(
            state_error(MemberState::Left),
            Some(ftf_result::FTF_NOT_RUNNING)
        );
    }
}
