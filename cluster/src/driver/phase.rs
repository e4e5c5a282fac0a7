//! [`DriverIo`]: the driver's [`PhaseBackend`]: token-fenced writes from a phase's blocking
//! thread, through the adapter (self-fence check, sequence number, events).
//!
//! Invariant: every write is built by `Adapter::phase_write` (compare on the lock token) and
//! its outcome reported with `Adapter::write_done`; nothing is sent past the local deadline.

use std::sync::Arc;

use etcd_client::GetOptions;

use super::{Cmd, Shared};
use crate::error::WriteError;
use crate::hooks::PhaseBackend;

pub(crate) struct DriverIo {
    pub(crate) shared: Arc<Shared>,
    pub(crate) rt: tokio::runtime::Handle,
    pub(crate) fenced_rank: u32,
}

impl PhaseBackend for DriverIo {
    fn put(&self, rank: u32, token: u64, value: Vec<u8>) -> Result<u64, WriteError> {
        let now = self.shared.now();
        let built = self
            .shared
            .adapter()
            .phase_write(now, self.fenced_rank, token, rank, value);
        let _ = self.shared.tx.send(Cmd::Wake);
        let (txn, seq) = built?;
        self.rt
            .block_on(self.shared.fenced_txn(txn, rank, token, seq))
    }

    fn get(&self, rank: u32) -> Result<Option<Vec<u8>>, WriteError> {
        let key = self.shared.adapter().keys().store(rank);
        let mut client = self.shared.client.clone();
        let timeout = core::time::Duration::from_secs(2);
        self.rt.block_on(async move {
            match tokio::time::timeout(timeout, client.get(key, None::<GetOptions>)).await {
                Ok(Ok(r)) => Ok(r.kvs().first().map(|kv| kv.value().to_vec())),
                _ => Err(WriteError::Unavailable { ambiguous: false }),
            }
        })
    }
}
