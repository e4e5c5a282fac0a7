//! Maps the protocol's [`Request`]s onto etcd-client 0.21 and its answers back.
//!
//! Invariants: every request runs under the request timeout; a timeout, and any error of a
//! writing request (Txn, revoke), is reported as [`OpError::Ambiguous`] (it may have been
//! applied: the adapter reads back); errors of reads, grants and keepalives are
//! [`OpError::Failed`]. Keepalives go through one long-lived keeper stream (etcd-client runs
//! no loop of its own and does not reopen a broken stream: we reopen it on the next call).

use core::time::Duration;

use etcd_client::{
    Client, Compare, CompareOp, DeleteOptions, GetOptions, LeaseKeepAliveStream, LeaseKeeper,
    PutOptions, Txn as EtxTxn, TxnOp as EtxOp, TxnOpResponse,
};

use crate::proto::ops::{Check, KeyValue, OpError, OpResponse, OpResult, Request, Rev, Txn, TxnOp};

pub(crate) fn kv_from(kv: &etcd_client::KeyValue) -> KeyValue {
    KeyValue {
        key: String::from_utf8_lossy(kv.key()).into_owned(),
        value: kv.value().to_vec(),
        create_revision: kv.create_revision().max(0) as Rev,
        mod_revision: kv.mod_revision().max(0) as Rev,
        lease: kv.lease(),
    }
}

fn to_txn(t: &Txn) -> EtxTxn {
    let compares: Vec<Compare> = t
        .compares
        .iter()
        .map(|c| match &c.check {
            Check::CreateRevision(r) => {
                Compare::create_revision(c.key.as_str(), CompareOp::Equal, *r as i64)
            }
            Check::ModRevision(r) => {
                Compare::mod_revision(c.key.as_str(), CompareOp::Equal, *r as i64)
            }
            Check::Value(v) => Compare::value(c.key.as_str(), CompareOp::Equal, v.clone()),
        })
        .collect();
    let ops = |ops: &[TxnOp]| -> Vec<EtxOp> {
        ops.iter()
            .map(|o| match o {
                TxnOp::Put { key, value, lease } => EtxOp::put(
                    key.as_str(),
                    value.clone(),
                    (*lease != 0).then(|| PutOptions::new().with_lease(*lease)),
                ),
                TxnOp::Delete { key, prefix } => EtxOp::delete(
                    key.as_str(),
                    prefix.then(|| DeleteOptions::new().with_prefix()),
                ),
                TxnOp::Get { key, prefix } => EtxOp::get(
                    key.as_str(),
                    prefix.then(|| GetOptions::new().with_prefix()),
                ),
            })
            .collect()
    };
    EtxTxn::new()
        .when(compares)
        .and_then(ops(&t.success))
        .or_else(ops(&t.failure))
}

/// The keepalive stream, reopened lazily.
#[derive(Default)]
pub(crate) struct Keeper {
    inner: Option<(i64, LeaseKeeper, LeaseKeepAliveStream)>,
}

impl Keeper {
    async fn keep_alive(&mut self, client: &mut Client, lease: i64) -> Result<(i64, Rev), OpError> {
        if self.inner.as_ref().is_none_or(|(id, _, _)| *id != lease) {
            // Opening the stream sends one keepalive; etcd-client turns its `ttl <= 0`
            // answer into this error: the lease is gone.
            let (k, s) = match client.lease_keep_alive(lease).await {
                Ok(ks) => ks,
                Err(etcd_client::Error::LeaseKeepAliveError(m)) if m == "lease not found" => {
                    return Ok((0, 0));
                }
                Err(_) => return Err(OpError::Failed),
            };
            self.inner = Some((lease, k, s));
        }
        let Some((_, k, s)) = self.inner.as_mut() else {
            return Err(OpError::Failed);
        };
        let r = async {
            k.keep_alive().await.map_err(|_| OpError::Failed)?;
            match s.message().await {
                Ok(Some(m)) => Ok((
                    m.ttl(),
                    m.header().map_or(0, |h| h.revision().max(0) as Rev),
                )),
                _ => Err(OpError::Failed),
            }
        }
        .await;
        if r.is_err() {
            self.inner = None;
        }
        r
    }
}

/// Runs one request under `timeout`.
pub(crate) async fn execute(
    client: &mut Client,
    keeper: &mut Keeper,
    req: Request,
    timeout: Duration,
) -> Result<OpResult, OpError> {
    let writes = matches!(req, Request::Txn(_) | Request::LeaseRevoke { .. });
    let keepalive = matches!(req, Request::KeepAlive { .. });
    let fut = async {
        match req {
            Request::Txn(t) => {
                let r = client
                    .txn(to_txn(&t))
                    .await
                    .map_err(|_| OpError::Ambiguous)?;
                let revision = r.header().map_or(0, |h| h.revision().max(0) as Rev);
                let responses = r
                    .op_responses()
                    .into_iter()
                    .map(|o| match o {
                        TxnOpResponse::Put(_) => OpResponse::Put,
                        TxnOpResponse::Delete(d) => OpResponse::Delete {
                            deleted: d.deleted().max(0) as u64,
                        },
                        TxnOpResponse::Get(g) => OpResponse::Get {
                            kvs: g.kvs().iter().map(kv_from).collect(),
                        },
                        TxnOpResponse::Txn(_) => OpResponse::Put,
                    })
                    .collect();
                Ok(OpResult::Txn {
                    succeeded: r.succeeded(),
                    revision,
                    responses,
                })
            }
            Request::Range { prefix } => {
                let r = client
                    .get(prefix.as_str(), Some(GetOptions::new().with_prefix()))
                    .await
                    .map_err(|_| OpError::Failed)?;
                Ok(OpResult::Range {
                    revision: r.header().map_or(0, |h| h.revision().max(0) as Rev),
                    kvs: r.kvs().iter().map(kv_from).collect(),
                })
            }
            Request::LeaseGrant { ttl_ms } => {
                let secs = ttl_ms.div_ceil(1000) as i64;
                let r = client
                    .lease_grant(secs, None)
                    .await
                    .map_err(|_| OpError::Failed)?;
                Ok(OpResult::LeaseGranted {
                    lease: r.id(),
                    ttl_ms: (r.ttl().max(0) as u64) * 1000,
                })
            }
            Request::KeepAlive { lease } => {
                let (ttl, revision) = keeper.keep_alive(client, lease).await?;
                Ok(OpResult::KeepAlive {
                    ttl_ms: ttl.saturating_mul(1000),
                    revision,
                })
            }
            Request::LeaseRevoke { lease } => {
                client
                    .lease_revoke(lease)
                    .await
                    .map_err(|_| OpError::Ambiguous)?;
                Ok(OpResult::Revoked)
            }
        }
    };
    let r = tokio::time::timeout(timeout, fut).await;
    match r {
        Ok(r) => r,
        Err(_) if writes => Err(OpError::Ambiguous),
        Err(_) => {
            if keepalive {
                // A half-finished exchange leaves the stream out of step: reopen it.
                keeper.inner = None;
            }
            Err(OpError::Failed)
        }
    }
}
