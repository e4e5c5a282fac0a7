//! The simulated cluster: a simulated etcd ([`etcd`]) and a seeded harness ([`harness`])
//! driving several adapters through it with random delays and faults.

pub mod etcd;
pub mod harness;
