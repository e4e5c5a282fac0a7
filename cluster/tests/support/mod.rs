//! Test support for the real-etcd scenarios: etcd fixtures, a loopback TCP proxy,
//! `ftf-node`/`ftf-check` process handles and the scenario world with its watchdog.
//! Shared by `tests/scenarios.rs`; no test logic lives here.

#![allow(dead_code)]

pub mod etcd;
pub mod node;
pub mod proxy;
pub mod scenario;
