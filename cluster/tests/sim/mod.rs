//! The simulated cluster: a simulated etcd ([`etcd`]), a seeded harness ([`harness`]) driving
//! several adapters through it with random delays and faults, and its invariants ([`check`]).

pub mod check;
pub mod etcd;
pub mod harness;
