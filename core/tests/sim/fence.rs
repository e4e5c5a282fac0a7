//! The simulated fencing service of `coord_sim.rs`'s fenced runs (issue 8): what the
//! embedder (the cluster adapter) knows about fences, and the per-step invariants over it.
//!
//! The model hands out tokens (strictly increasing, never 0), remembers which attempt holds
//! which token until its `ReleaseFence`, and which attempts ended without one (refused by
//! it, or abandoned by the coordinator) for late and duplicate answers. Invariants (checked
//! as actions and events are drained, and by [`Fence::check`]):
//!
//! * at most K fences out: requests unanswered + granted and not released (the coordinator
//!   releases before the embedder may be asked again);
//! * every grant is released exactly once (a release names a held token of that attempt
//!   and rank; no token twice), `completed` only for a partition HEALTHY again, and before
//!   the resume hooks of the same poll sequence;
//! * no phase without a grant: every `RunPhase` carries its attempt's granted token;
//! * while coordination is unavailable no `AcquireFence` is handed out and no attempt
//!   starts (no FAILED→RECOVERING).
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::string::String;
use std::vec::Vec;

use ftforest_core::coord::{Event, FenceJob, FenceRelease, PhaseJob, Refusal};
use ftforest_core::Health;

use super::Rng;

/// How an attempt that asked for a fence ended without a release.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The model refused it.
    Refused,
    /// The coordinator abandoned the wait (timeout, or coordination unavailable).
    Abandoned,
    /// It was granted and released.
    Released,
}

/// The embedder's fence state in one fenced run.
pub struct Fence {
    /// Decisions of the fencing service (a stream apart from the run's own).
    pub rng: Rng,
    pub k: usize,
    /// What the embedder last told the coordinator.
    pub available: bool,
    /// `AcquireFence`s handed out and not answered.
    pub asks: Vec<FenceJob>,
    /// Asks to answer right after the current drain (answered "at once").
    pub answer_now: Vec<FenceJob>,
    /// Granted and not released: attempt → (rank, token).
    pub granted: BTreeMap<u32, (u32, u64)>,
    /// Tokens released (each once).
    pub released: BTreeSet<u64>,
    /// Attempts that asked and ended: (rank, attempt, how).
    pub ended: Vec<(u32, u32, Ended)>,
    /// Partitions refused as `Recovered` (FAILED, unscheduled until `retry`).
    pub elsewhere: BTreeSet<u32>,
    pub next_token: u64,
    /// A resume hook was handed out in the current poll sequence.
    pub seen_resume: bool,
    /// The run converges: every request is granted.
    pub converging: bool,
}

impl Fence {
    pub fn new(rng: Rng, k: usize) -> Fence {
        Fence {
            rng,
            k,
            available: true,
            asks: Vec::new(),
            answer_now: Vec::new(),
            granted: BTreeMap::new(),
            released: BTreeSet::new(),
            ended: Vec::new(),
            elsewhere: BTreeSet::new(),
            next_token: 1,
            seen_resume: false,
            converging: false,
        }
    }

    /// A fresh token (strictly increasing, non-zero: an etcd revision).
    pub fn token(&mut self) -> u64 {
        self.next_token += 1 + self.rng.range(0, 3);
        self.next_token
    }

    /// A random refusal (mostly transient ones).
    pub fn refusal(&mut self) -> Refusal {
        match self.rng.range(0, 19) {
            0..=6 => Refusal::Held,
            7..=10 => Refusal::AtCapacity,
            11..=13 => Refusal::NoQuorum,
            14..=16 => Refusal::Unavailable,
            17 => Refusal::TimedOut,
            _ => Refusal::Recovered,
        }
    }

    /// An `AcquireFence` was handed out.
    pub fn on_acquire(&mut self, j: FenceJob) -> Result<(), String> {
        if !self.available {
            return Err(format!(
                "{j:?} handed out while coordination is unavailable"
            ));
        }
        if j.attempt == 0 || j.number == 0 {
            return Err(format!("{j:?}: zero attempt or number"));
        }
        if self
            .asks
            .iter()
            .any(|a| a.attempt == j.attempt || a.rank == j.rank)
            || self.granted.contains_key(&j.attempt)
            || self.granted.values().any(|(r, _)| *r == j.rank)
        {
            return Err(format!(
                "{j:?} asked twice, or while its partition holds one"
            ));
        }
        // The K bound is checked once the events of the same drain are in (`check`): an
        // abandonment that made room for this request is announced by an event.
        self.asks.push(j);
        Ok(())
    }

    /// A `ReleaseFence` was handed out; `health` is the partition's state now.
    pub fn on_release(&mut self, r: FenceRelease, health: Health) -> Result<(), String> {
        if self.seen_resume {
            return Err(format!(
                "{r:?} after a resume hook of the same poll sequence"
            ));
        }
        if !self.released.insert(r.token) {
            return Err(format!("{r:?}: token released twice"));
        }
        match self.granted.remove(&r.attempt) {
            Some((rank, token)) if rank == r.rank && token == r.token => {}
            other => return Err(format!("{r:?} for no such grant (held: {other:?})")),
        }
        let healthy = health == Health::Healthy;
        if r.completed != healthy {
            return Err(format!("{r:?} but the partition is {health:?}"));
        }
        self.ended.push((r.rank, r.attempt, Ended::Released));
        Ok(())
    }

    /// A `RunPhase` was handed out: it must carry its attempt's token.
    pub fn on_phase(&self, j: &PhaseJob) -> Result<(), String> {
        match self.granted.get(&j.attempt) {
            Some((rank, token)) if *rank == j.rank && *token == j.fence => Ok(()),
            other => Err(format!("{j:?} without its grant (held: {other:?})")),
        }
    }

    /// An event was drained.
    pub fn on_event(&mut self, e: &Event) -> Result<(), String> {
        match e {
            Event::FenceRefused(r)
                if matches!(r.refusal, Refusal::TimedOut | Refusal::Unavailable) =>
            {
                // The coordinator's own abandonment (or our refusal, already recorded).
                if let Some(i) = self.asks.iter().position(|a| a.attempt == r.attempt) {
                    self.asks.remove(i);
                    self.answer_now.retain(|a| a.attempt != r.attempt);
                    self.ended.push((r.rank, r.attempt, Ended::Abandoned));
                }
            }
            Event::FenceGranted(g) => {
                // Held, or already released in this drain (actions are drained first).
                let held = self.granted.get(&g.attempt) == Some(&(g.rank, g.token));
                if !held && !self.released.contains(&g.token) {
                    return Err(format!("{g:?} not granted by the model"));
                }
            }
            Event::StatusChanged(s)
                if s.from == Health::Failed && s.to == Health::Recovering && !self.available =>
            {
                return Err(format!("{s:?} while coordination is unavailable"));
            }
            _ => {}
        }
        Ok(())
    }

    /// The state invariant after a drained step.
    pub fn check(&self) -> Result<(), String> {
        if self.asks.len() + self.granted.len() > self.k {
            return Err(format!(
                "{} asks + {} fences held > K = {}",
                self.asks.len(),
                self.granted.len(),
                self.k
            ));
        }
        Ok(())
    }

    /// How the attempt `attempt` of `rank` ended, if it asked and ended.
    pub fn ending(&self, rank: u32, attempt: u32) -> Option<Ended> {
        self.ended
            .iter()
            .rev()
            .find(|(r, a, _)| *r == rank && *a == attempt)
            .map(|(_, _, e)| *e)
    }
}
