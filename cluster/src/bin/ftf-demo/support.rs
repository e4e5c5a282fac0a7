//! The scenario tests' fixtures, shared with the demo (no copy: the same files).
#![allow(dead_code)]

#[path = "../../../tests/support/etcd.rs"]
pub mod etcd;
#[path = "../../../tests/support/node.rs"]
pub mod node;
#[path = "../../../tests/support/scenario.rs"]
pub mod scenario;
