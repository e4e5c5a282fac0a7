//! Runtime membership in the seeded simulation (issue 8): random `join`/`leave` inputs and
//! the invariants they must keep, checked after every step by `Run::check`.
//!
//! Inputs: a random rank leaves (HEALTHY/SUSPECTED: graceful; FAILED: decommissioned) or
//! joins (ABSENT: a new member life; FAILED: recovered elsewhere); refused calls (a member
//! joining, an ABSENT rank leaving, a rank a local attempt holds) must return the expected
//! typed error and change nothing. Gentle runs only let a HEALTHY member leave while quorum
//! stays comfortable, and at most half the ranks are ever ABSENT.
//!
//! Invariants (every step): quorum is `healthy > members / 2` over the current members
//! (the coordinator's answer, the stats' and the scan's agree); ABSENT ranks are never
//! queued, recovering, cancelling, handed a phase, failing a streak, backing off or
//! escalated; a `MemberJoined`/`MemberLeft` event follows its `StatusChanged` and names the
//! same incarnation.

use ftforest_core::coord::{Membership, MembershipError, Stats};
use ftforest_core::{next_incarnation, Counts, Health};

use super::{ms, Run};

impl<const R: usize, const E: usize> Run<'_, R, E> {
    /// One random membership input (module docs).
    pub(crate) fn membership_step(&mut self) {
        let r = self.rank();
        let (h, inc) = self.c.health(r).expect("rank");
        let held = h == Health::Recovering || self.c.cancelling(r).is_some();
        let c = self.c.counts();
        let leave = h != Health::Absent && self.rng.pct(50);
        if leave
            && h == Health::Healthy
            && (c.absent >= self.n / 2 || (self.gentle && c.healthy <= c.members() / 2 + 2))
        {
            return;
        }
        let quorum = self.c.has_quorum();
        let before = self.snapshot();
        self.note(|| {
            format!(
                "{} {r} ({h:?}, {inc})",
                if leave { "leave" } else { "join" }
            )
        });
        let expected = if held {
            Err(MembershipError::Recovering)
        } else if leave {
            Ok(inc)
        } else if matches!(h, Health::Healthy | Health::Suspected) {
            Err(MembershipError::AlreadyMember)
        } else {
            Ok(next_incarnation(inc))
        };
        let got = if leave {
            self.c.leave(ms(self.now), r).map(|()| inc)
        } else {
            self.c.join(ms(self.now), r)
        };
        let expected = if leave && h == Health::Absent {
            Err(MembershipError::NotMember)
        } else {
            expected
        };
        self.ensure(got == expected, || {
            format!(
                "{}({r}) on {h:?}: {got:?}, expected {expected:?}",
                if leave { "leave" } else { "join" }
            )
        });
        match got {
            Ok(_) => {
                self.exhausted.remove(&r);
                self.mute.remove(&r);
                match (leave, h) {
                    (true, Health::Failed) => self.cov.decommissions += 1,
                    (true, _) => self.cov.leaves += 1,
                    (false, Health::Failed) => self.cov.recovered_elsewhere += 1,
                    (false, _) => self.cov.joins += 1,
                }
                self.pump();
                if self.c.has_quorum() != quorum {
                    self.cov.quorum_by_membership += 1;
                }
                let now = self.c.health(r).expect("rank").0;
                let want = if leave {
                    Health::Absent
                } else {
                    Health::Healthy
                };
                self.ensure(now == want, || {
                    format!("rank {r} is {now:?} after the call")
                });
                // Either way the detection state starts over: no streak, retry or attempt.
                let p = self.c.partition(r).expect("slot");
                let clean = p.consecutive_failures() == 0
                    && !p.is_backing_off()
                    && !p.is_exhausted()
                    && p.attempts() == 0;
                self.ensure(clean, || format!("rank {r} after the call: slot {p:?}"));
            }
            Err(_) => {
                self.cov.refused_membership += 1;
                let a = self.c.poll_action();
                self.ensure(a.is_none(), || {
                    "refused membership call left an action".into()
                });
                let e = self.c.poll_event();
                self.ensure(e.is_none(), || {
                    "refused membership call left an event".into()
                });
                let after = self.snapshot();
                self.ensure(before == after, || {
                    format!("refused membership call changed state:\n{before:?}\n{after:?}")
                });
            }
        }
    }

    /// A `MemberJoined` (`joined`) or `MemberLeft` event: it follows its `StatusChanged`.
    pub(crate) fn membership_event(&mut self, joined: bool, m: Membership) {
        let Some(&(h, inc)) = self.seen.get(m.rank as usize) else {
            self.fail(&format!("{m:?}: unknown rank"));
        };
        let want = if joined {
            Health::Healthy
        } else {
            Health::Absent
        };
        self.ensure((h, inc) == (want, m.incarnation), || {
            format!("{m:?} (joined {joined}) but the last StatusChanged said {h:?}, {inc}")
        });
    }

    /// The membership invariants (module docs), given the scan and stats of `check`.
    pub(crate) fn check_members(&self, scan: &Counts, st: &Stats) {
        let members = self.n - scan.absent;
        let quorum = scan.healthy > members / 2;
        self.ensure(self.c.members() == members, || {
            format!("members {} but the scan says {members}", self.c.members())
        });
        self.ensure(self.c.has_quorum() == quorum && st.quorum == quorum, || {
            format!(
                "quorum {} (stats {}) but {} healthy of {members} members",
                self.c.has_quorum(),
                st.quorum,
                scan.healthy
            )
        });
        self.ensure(st.absent == scan.absent, || {
            format!("stats: {} absent, scan {}", st.absent, scan.absent)
        });
        for r in 0..self.n {
            if self.c.health(r).expect("rank").0 != Health::Absent {
                continue;
            }
            let p = self.c.partition(r).expect("slot");
            let clean = !self.c.is_queued(r)
                && self.c.recovery(r).is_none()
                && self.c.cancelling(r).is_none()
                && !self.jobs.iter().any(|j| j.rank == r)
                && !self.cancelling.iter().any(|j| j.rank == r)
                && !self.exhausted.contains(&r)
                && p.consecutive_failures() == 0
                && !p.is_backing_off()
                && !p.is_exhausted();
            self.ensure(clean, || {
                format!(
                    "ABSENT rank {r}: queued {}, recovery {:?}, cancelling {:?}, slot {p:?}",
                    self.c.is_queued(r),
                    self.c.recovery(r),
                    self.c.cancelling(r)
                )
            });
        }
    }
}
