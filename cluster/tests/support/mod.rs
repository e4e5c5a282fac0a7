//! Test support for the real-etcd scenarios: etcd fixtures, a loopback TCP proxy and
//! `ftf-node` process handles. Shared by `tests/scenarios.rs`; no test logic lives here.

pub mod etcd;
pub mod proxy;
