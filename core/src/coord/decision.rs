//! The recovery decision for a partition that just became FAILED (digest §1.16).
//!
//! A pure function of three counts, O(1):
//!
//! | state | condition (`q(h, n)` = `h > n / 2`, integer division; `total` = the current members) | decision |
//! |-------|--------------------------------------------------------|----------|
//! | 1     | `q(healthy, total)`                                    | [`Decision::Recover`]: schedule now |
//! | 2     | `q(healthy + in_progress, total)`                      | [`Decision::Queue`]: wait for the running recoveries |
//! | 3     | otherwise                                              | [`Decision::Escalate`]: event + stats, *and* stay queued |
//!
//! `healthy` already excludes the failed partition; `in_progress` is the number of recoveries
//! holding the recovery lock. The quorum formula is the crate's single one
//! ([`crate::has_quorum`], B17). Unlike the Java forest (B18), the decision never drops a
//! partition: every outcome ends in the recovery queue, which is re-examined whenever a
//! partition becomes HEALTHY and on every tick, so a STATE 3 partition is recovered as soon as
//! quorum returns.

/// What to do with a newly FAILED partition.
#[repr(u8)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// STATE 1: quorum holds; start the recovery now (capacity permitting).
    Recover = 0,
    /// STATE 2: quorum would hold once the recoveries in progress finish; queue.
    Queue = 1,
    /// STATE 3: quorum is lost even counting recoveries in progress; escalate and queue.
    Escalate = 2,
}

use crate::table::has_quorum;

/// Decide per the table in the module docs.
#[inline]
pub const fn decide(healthy: u32, total: u32, in_progress: u32) -> Decision {
    if has_quorum(healthy, total) {
        Decision::Recover
    } else if has_quorum(healthy.saturating_add(in_progress), total) {
        Decision::Queue
    } else {
        Decision::Escalate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_table_of_the_digest() {
        // Phase41RecoveryCoordinatorLockTest::testQuorumCheck (active, total).
        let yes = [(3, 5), (4, 5), (5, 5), (3, 4), (1, 1), (2, 3)];
        let no = [(2, 5), (1, 5), (2, 4), (1, 3), (0, 0)];
        for (a, t) in yes {
            assert!(has_quorum(a, t), "{a}/{t}");
        }
        for (a, t) in no {
            assert!(!has_quorum(a, t), "{a}/{t}");
        }
    }

    #[test]
    fn three_states() {
        // 5 partitions, one just failed, 4 healthy: STATE 1.
        assert_eq!(decide(4, 5, 0), Decision::Recover);
        // 5 partitions, 2 healthy, 1 recovering: 2+1 = 3 > 2: STATE 2.
        assert_eq!(decide(2, 5, 1), Decision::Queue);
        // 5 partitions, 1 healthy, 1 recovering: STATE 3.
        assert_eq!(decide(1, 5, 1), Decision::Escalate);
        assert_eq!(decide(0, 1, 0), Decision::Escalate);
        assert_eq!(decide(u32::MAX, u32::MAX, u32::MAX), Decision::Recover);
        assert_eq!(decide(0, u32::MAX, u32::MAX), Decision::Queue);
    }
}
