//! Listener slots: subscribe returns a handle, unsubscribe takes the handle.
//!
//! [`ListenerSet<T, N>`] is `N` fixed slots of `T` (a closure, an `Arc<dyn Fn>`, a C function
//! pointer plus user data, …). Each slot has a generation; a [`ListenerHandle`] names the set
//! (process-unique id), the slot and the generation, so
//!
//! * removal is by handle, not by identity or equality of the listener (the Java
//!   `unsubscribe(capturedEvents::add)` silently removed nothing, B19);
//! * a handle works once: after `unsubscribe` the slot's generation moves on, and the old
//!   handle (or a copy, or a handle of another set) is refused;
//! * nobody can remove everyone else's subscriptions (the Java `stop()` did, B19).
//!
//! Dispatch ([`ListenerSet::notify`], [`ListenerSet::for_each`]) borrows the set immutably
//! and takes no lock: the set has none, and the coordinator never calls listeners at all
//! (events are pulled with `poll_event`). Whoever owns the set decides where to dispatch;
//! the std `Monitor` copies the listeners out under its mutex and calls them after releasing
//! it (B20). A listener's return type is `()`: it cannot stop delivery to the others
//! (the `Monitor` also contains panics per listener).

use core::fmt;

use super::event::Event;

/// Something that observes events.
pub trait Listener {
    /// Called once per event, in event order.
    fn on_event(&self, event: &Event);
}

impl<F: Fn(&Event)> Listener for F {
    fn on_event(&self, event: &Event) {
        self(event)
    }
}

/// Names one subscription: (set id, slot, generation). Plain data for the C ABI.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ListenerHandle {
    /// The issuing set's id (non-zero).
    pub set: u32,
    /// The slot.
    pub slot: u32,
    /// The slot's generation when subscribed.
    pub generation: u32,
}

/// Why `subscribe` failed.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SubscribeError {
    /// All `N` slots are taken.
    Full,
}

/// Why `unsubscribe` removed nothing.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum UnsubscribeError {
    /// The handle was issued by another set.
    ForeignHandle,
    /// The subscription is gone (unsubscribed already) or never existed.
    UnknownHandle,
}

impl fmt::Display for SubscribeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("every listener slot is taken")
    }
}

impl fmt::Display for UnsubscribeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnsubscribeError::ForeignHandle => "listener handle of another set",
            UnsubscribeError::UnknownHandle => "listener handle is stale or unknown",
        })
    }
}

/// `N` listener slots (see the module docs).
#[derive(Debug)]
pub struct ListenerSet<T, const N: usize> {
    id: u32,
    slots: [Option<T>; N],
    generations: [u32; N],
}

impl<T, const N: usize> Default for ListenerSet<T, N> {
    fn default() -> Self {
        ListenerSet::new()
    }
}

impl<T, const N: usize> ListenerSet<T, N> {
    /// Empty, with a fresh id.
    pub fn new() -> Self {
        ListenerSet {
            id: crate::sync::next_object_id(),
            slots: core::array::from_fn(|_| None),
            generations: [0; N],
        }
    }

    /// The set's id (named by its handles).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Subscriptions held.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// Whether nobody listens.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Take a free slot for `listener`.
    pub fn subscribe(&mut self, listener: T) -> Result<ListenerHandle, SubscribeError> {
        let free = self
            .slots
            .iter()
            .position(Option::is_none)
            .ok_or(SubscribeError::Full)?;
        let (Some(slot), Some(generation)) = (self.slots.get_mut(free), self.generations.get(free))
        else {
            return Err(SubscribeError::Full);
        };
        *slot = Some(listener);
        Ok(ListenerHandle {
            set: self.id,
            slot: u32::try_from(free).unwrap_or(u32::MAX),
            generation: *generation,
        })
    }

    /// Remove the subscription `handle` names and return its listener.
    pub fn unsubscribe(&mut self, handle: ListenerHandle) -> Result<T, UnsubscribeError> {
        if handle.set != self.id {
            return Err(UnsubscribeError::ForeignHandle);
        }
        let i = handle.slot as usize;
        let (Some(slot), Some(generation)) = (self.slots.get_mut(i), self.generations.get_mut(i))
        else {
            return Err(UnsubscribeError::UnknownHandle);
        };
        if *generation != handle.generation || slot.is_none() {
            return Err(UnsubscribeError::UnknownHandle);
        }
        *generation = generation.wrapping_add(1);
        slot.take().ok_or(UnsubscribeError::UnknownHandle)
    }

    /// Visit every listener in slot order.
    pub fn for_each(&self, mut f: impl FnMut(&T)) {
        for l in self.slots.iter().flatten() {
            f(l);
        }
    }

    /// Deliver `event` to every listener; returns how many were called.
    pub fn notify(&self, event: &Event) -> usize
    where
        T: Listener,
    {
        let mut n = 0;
        self.for_each(|l| {
            l.on_event(event);
            n += 1;
        });
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Instant;
    use core::cell::Cell;

    fn ev() -> Event {
        Event::QuorumLost(super::super::event::QuorumChange {
            healthy: 0,
            total: 1,
            time: Instant::ZERO,
        })
    }

    #[test]
    fn handles_remove_exactly_their_subscription() {
        let a = Cell::new(0);
        let b = Cell::new(0);
        let fa = || a.set(a.get() + 1);
        let fb = || b.set(b.get() + 1);
        let mut set: ListenerSet<&dyn Fn(), 2> = ListenerSet::new();
        let ha = set.subscribe(&fa).unwrap();
        let hb = set.subscribe(&fb).unwrap();
        assert_eq!(set.subscribe(&fa).unwrap_err(), SubscribeError::Full);
        set.for_each(|f| f());
        assert_eq!((a.get(), b.get()), (1, 1));
        set.unsubscribe(ha).unwrap();
        assert_eq!(
            set.unsubscribe(ha).err().unwrap(),
            UnsubscribeError::UnknownHandle
        );
        set.for_each(|f| f());
        assert_eq!((a.get(), b.get()), (1, 2));
        // The slot is reused with a new generation: the old handle stays dead.
        let ha2 = set.subscribe(&fa).unwrap();
        assert_eq!(ha2.slot, ha.slot);
        assert_ne!(ha2.generation, ha.generation);
        assert_eq!(
            set.unsubscribe(ha).err().unwrap(),
            UnsubscribeError::UnknownHandle
        );
        let other: ListenerSet<&dyn Fn(), 2> = ListenerSet::new();
        assert_ne!(other.id(), set.id());
        let forged = ListenerHandle {
            set: other.id(),
            ..hb
        };
        assert_eq!(
            set.unsubscribe(forged).err().unwrap(),
            UnsubscribeError::ForeignHandle
        );
        let bad = ListenerHandle { slot: 99, ..hb };
        assert_eq!(
            set.unsubscribe(bad).err().unwrap(),
            UnsubscribeError::UnknownHandle
        );
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn notify_reaches_every_listener() {
        let hits = Cell::new(0u32);
        let f = |_: &Event| hits.set(hits.get() + 1);
        let mut set: ListenerSet<&dyn Fn(&Event), 5> = ListenerSet::new();
        for _ in 0..5 {
            set.subscribe(&f).unwrap();
        }
        assert_eq!(set.notify(&ev()), 5);
        assert_eq!(hits.get(), 5);
        assert!(!set.is_empty());
    }
}
