//! [`Fault`]: fault injection for tests and the demo (drop keepalives, stall the driver).

use core::time::Duration;

/// An injected fault (see [`Member::fault`](crate::Member::fault)). Setting one replaces the
/// previous one.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Fault {
    /// No fault.
    #[default]
    None,
    /// Keepalives are no longer sent (the process runs on; it must fence itself at its
    /// local deadline, before etcd deletes its keys).
    DropKeepalives,
    /// The driver task stops processing anything (watch, keepalives, timers, writes) for the
    /// duration, like a GC pause or SIGSTOP of the driver thread.
    Stall(Duration),
}
