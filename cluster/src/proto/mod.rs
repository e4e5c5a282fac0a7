//! The sans-io cluster protocol: a model of the etcd operations used, and the per-process
//! state machine (the adapter) that turns etcd observations into coordinator inputs and
//! coordinator actions into etcd transactions. No tokio, no etcd-client types, no clock: every
//! input takes `now`.
//!
//! Data flow: [`ops`] (requests and results) → [`keys`] (layout) → [`txns`] (the Txns of
//! the protocol) → [`view`] (the local image of the keyspace fed by watch events) →
//! [`lease`] (self-fence deadline) → [`pause`] (cluster-wide pause) → [`adapter`].

mod event;
mod params;

pub use event::{ClusterEvent, EventRecord, LockRefusal, QuorumVerdict};
pub use params::{Params, LAYOUT_VERSION};
