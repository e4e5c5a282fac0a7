//! The sans-io cluster protocol: a model of the etcd operations used, and the per-process
//! state machine (the adapter) that turns etcd observations into coordinator inputs and
//! coordinator actions into etcd transactions. No tokio, no etcd-client types, no clock: every
//! input takes `now`.
//!
//! Data flow: [`ops`] (requests and results) → [`keys`] (layout) → [`txns`] (the Txns of
//! the protocol) → [`view`] (the local image of the keyspace fed by watch events) →
//! [`adapter`] (lease and self-fence deadline, cluster-wide pause, fences, watch).

mod event;
mod params;

pub mod adapter;
pub mod keys;
pub mod ops;
pub mod txns;
pub mod view;

pub use adapter::{Adapter, AdapterConfig, FenceStage, Hook, Status};
pub use event::{ClusterEvent, EventRecord, LockRefusal, QuorumVerdict};
pub use params::{Params, LAYOUT_VERSION};
