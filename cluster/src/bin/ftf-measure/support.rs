//! The scenario tests' fixtures, shared with the measurements (the same files, no copy).
#![allow(dead_code)]

#[path = "../../../tests/support/etcd.rs"]
pub mod etcd;
#[path = "../../../tests/support/node.rs"]
pub mod node;
#[path = "../../../tests/support/proxy.rs"]
pub mod proxy;
#[path = "../../../tests/support/scenario.rs"]
pub mod scenario;
#[path = "../../../tests/support/txn.rs"]
pub mod txn;
