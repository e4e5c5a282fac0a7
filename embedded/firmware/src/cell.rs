//! `Once<T>`: a `static` initialised once by `main` at run time, then shared with the timer
//! handler (for core objects whose constructor validates and so is not `const`).

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU8, Ordering};

const EMPTY: u8 = 0;
const WRITING: u8 = 1;
const READY: u8 = 2;

/// A value set at most once, readable from any context afterwards.
pub struct Once<T> {
    state: AtomicU8,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: the value is written once, before `state` becomes READY (Release), and only read
// (shared) after observing READY (Acquire); `T: Sync` makes the shared reads sound.
unsafe impl<T: Sync + Send> Sync for Once<T> {}

impl<T> Once<T> {
    /// An empty cell.
    pub const fn new() -> Self {
        Once {
            state: AtomicU8::new(EMPTY),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Store `v`; returns it back if the cell was already set. Call from `main` only (one
    /// context: the check-then-set is not an atomic read-modify-write, which thumbv6m and
    /// rv32imc lack).
    pub fn set(&self, v: T) -> Result<&T, T> {
        if self.state.load(Ordering::Acquire) != EMPTY {
            return Err(v);
        }
        self.state.store(WRITING, Ordering::Relaxed);
        // SAFETY: state was EMPTY and only main writes: no reader or writer can be here.
        unsafe { (*self.value.get()).write(v) };
        self.state.store(READY, Ordering::Release);
        // SAFETY: just initialised; never written again.
        Ok(unsafe { (*self.value.get()).assume_init_ref() })
    }

    /// The value, once set.
    pub fn get(&self) -> Option<&T> {
        if self.state.load(Ordering::Acquire) == READY {
            // SAFETY: READY is stored after the write (Release/Acquire) and never reset.
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }
}

impl<T> Default for Once<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// A `static` value handed out once as `&'static mut` (for caller storage that a single
/// owner mutates, e.g. the coordinator's per-partition slots).
pub struct Singleton<T> {
    taken: AtomicU8,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reachable only through the one `&'static mut` that `take` returns.
unsafe impl<T: Send> Sync for Singleton<T> {}

impl<T> Singleton<T> {
    /// A singleton holding `v`.
    pub const fn new(v: T) -> Self {
        Singleton {
            taken: AtomicU8::new(EMPTY),
            value: UnsafeCell::new(v),
        }
    }

    /// The value, the first time; `None` afterwards. Call from `main` only (the check and
    /// the set are two steps, which is enough for one context).
    // The `&mut` comes from the interior cell, handed out at most once (the flag).
    #[allow(clippy::mut_from_ref)]
    pub fn take(&'static self) -> Option<&'static mut T> {
        if self.taken.load(Ordering::Acquire) != EMPTY {
            return None;
        }
        self.taken.store(READY, Ordering::Release);
        // SAFETY: first and only take: no other reference to the value exists.
        Some(unsafe { &mut *self.value.get() })
    }
}
