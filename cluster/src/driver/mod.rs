//! The tokio side of [`Member`](crate::Member) (skeleton: the loops land next).

use std::sync::{Arc, Mutex};

use crate::config::ClusterConfig;
use crate::error::{ClusterError, WriteError};
use crate::fault::Fault;
use crate::hooks::ForestHooks;
use crate::member::{LocalTracker, Subscribers};
use crate::stats::ClusterStats;

/// The running driver.
pub(crate) struct Handle {
    ranks: Vec<u32>,
}

impl Handle {
    pub(crate) async fn start(
        config: ClusterConfig,
        _forest: Arc<dyn ForestHooks>,
        _tracker: Arc<LocalTracker>,
        _subs: Arc<Mutex<Subscribers>>,
    ) -> Result<Handle, ClusterError> {
        let _ = config.ranks.clone();
        Err(ClusterError::Etcd("driver not implemented yet".into()))
    }
    pub(crate) async fn fenced_put(&self, _rank: u32, _value: Vec<u8>) -> Result<u64, WriteError> {
        Err(WriteError::Stopped)
    }
    pub(crate) async fn leave(self) -> Result<(), ClusterError> {
        Ok(())
    }
    pub(crate) fn ranks(&self) -> Vec<u32> {
        self.ranks.clone()
    }
    pub(crate) fn stats(&self) -> ClusterStats {
        ClusterStats::default()
    }
    pub(crate) fn fault(&self, _f: Fault) {}
}
