//! The cost floor: one `fetch_add` and one `fetch_sub` on a single `AtomicU32`.
//!
//! Nothing cheaper can count operations in flight. It has no gate, so it is no pause
//! barrier and implements only [`Peer`]; every other peer is compared against it.
//!
//! Orderings: `begin` is `fetch_add(Acquire)` (the operation's accesses stay after it),
//! `end` is `fetch_sub(Release)` (they stay before it) — the minimum a real barrier needs.
//! On x86-64 both compile to `lock xadd`, like every stronger ordering would.

use core::sync::atomic::{AtomicU32, Ordering};

use crate::Peer;

/// A bare in-flight counter.
#[derive(Debug, Default)]
pub struct Floor {
    count: AtomicU32,
}

impl Peer for Floor {
    const NAME: &'static str = "floor";
    type Op<'a> = ();

    fn create() -> Self {
        Floor::default()
    }

    #[inline]
    fn begin(&self) -> Option<()> {
        // Acquire: pairs with the Release of `end` (a pauser reading 0 would see the work).
        self.count.fetch_add(1, Ordering::Acquire);
        Some(())
    }

    #[inline]
    fn end(&self, _op: ()) {
        // Release: pairs with the Acquire of `begin`/a reader of the count.
        self.count.fetch_sub(1, Ordering::Release);
    }
}
