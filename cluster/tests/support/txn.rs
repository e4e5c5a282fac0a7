//! Runs the crate's own Txn builders (`ftforest_cluster::proto::txns`, plain values) on a
//! real etcd through etcd-client, for the lock race scenario: the test races exactly the
//! lock transaction the driver sends.

#![allow(dead_code)]

use etcd_client::{Client, Compare, CompareOp, DeleteOptions, GetOptions, PutOptions, Txn, TxnOp};
use ftforest_cluster::proto::ops::{Check, Txn as ModelTxn, TxnOp as ModelOp};

fn op(o: &ModelOp) -> TxnOp {
    match o {
        ModelOp::Put { key, value, lease } => {
            let opts = (*lease != 0).then(|| PutOptions::new().with_lease(*lease));
            TxnOp::put(key.as_bytes(), value.clone(), opts)
        }
        ModelOp::Delete { key, prefix } => TxnOp::delete(
            key.as_bytes(),
            prefix.then(|| DeleteOptions::new().with_prefix()),
        ),
        ModelOp::Get { key, prefix } => TxnOp::get(
            key.as_bytes(),
            prefix.then(|| GetOptions::new().with_prefix()),
        ),
    }
}

/// The model Txn as an etcd-client Txn.
pub fn to_etcd(t: &ModelTxn) -> Txn {
    let cmps: Vec<Compare> = t
        .compares
        .iter()
        .map(|c| match &c.check {
            Check::CreateRevision(r) => {
                Compare::create_revision(c.key.as_bytes(), CompareOp::Equal, *r as i64)
            }
            Check::ModRevision(r) => {
                Compare::mod_revision(c.key.as_bytes(), CompareOp::Equal, *r as i64)
            }
            Check::Value(v) => Compare::value(c.key.as_bytes(), CompareOp::Equal, v.clone()),
        })
        .collect();
    Txn::new()
        .when(cmps)
        .and_then(t.success.iter().map(op).collect::<Vec<_>>())
        .or_else(t.failure.iter().map(op).collect::<Vec<_>>())
}

/// Runs `t`; (succeeded, header revision).
pub async fn run(c: &mut Client, t: &ModelTxn) -> Result<(bool, i64), String> {
    let r = c.txn(to_etcd(t)).await.map_err(|e| e.to_string())?;
    Ok((r.succeeded(), r.header().map(|h| h.revision()).unwrap_or(0)))
}

/// Runs `t` and returns etcd-client's whole response (for the measurements' parsing).
pub async fn run_raw(c: &mut Client, t: &ModelTxn) -> Result<etcd_client::TxnResponse, String> {
    c.txn(to_etcd(t)).await.map_err(|e| e.to_string())
}
