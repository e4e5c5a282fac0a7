//! Opaque handles and their ownership (rustls-ffi's `Castable` pattern).
//!
//! C sees every handle as an incomplete `typedef struct ftf_x ftf_x;`. On the Rust side each
//! handle type is a zero-sized marker (`pub struct ftf_x { _private: [u8; 0] }`) that implements
//! [`Castable`] exactly once, naming the Rust type behind the pointer and how it is owned:
//!
//! * [`OwnershipBox`]: a `Box<RustType>` handed out as `*mut ftf_x`; single owner, not shared
//!   between threads without external synchronisation (builders).
//! * [`OwnershipArc`]: an `Arc<RustType>` handed out as `*const ftf_x`; `RustType: Send + Sync`;
//!   any number of C threads may use one handle concurrently; `_clone` adds a reference and
//!   `_free` drops one.
//!
//! In the bare-metal build (no `std` feature) neither exists: `bare.rs` places the value in
//! caller storage and hands out the same kind of pointer; the borrowing functions below are
//! shared by both builds.
//!
//! Because a handle type implements `Castable` once, confusing Box and Arc ownership for one
//! type is a compile error, and the only `as` casts between handle pointers and Rust pointers are
//! in this file.
//!
//! Invariants: a non-NULL handle pointer received from C is assumed to be one this library
//! returned and that has not been freed (the C contract, as for `free(3)`); NULL is always
//! checked and answered with `FTF_NULL_PARAMETER` (or the function's documented fallback).

#[cfg(feature = "std")]
use std::sync::Arc;

/// Marks a handle whose Rust value is owned by a `Box` (unique owner).
pub(crate) struct OwnershipBox;
/// Marks a handle whose Rust value is owned by an `Arc` (shared, thread-safe).
pub(crate) struct OwnershipArc;

/// Links an opaque C handle type to the Rust type behind it and its ownership.
pub(crate) trait Castable {
    /// [`OwnershipBox`] or [`OwnershipArc`].
    type Ownership;
    /// The Rust value the handle points to.
    type RustType;
}

#[cfg(feature = "std")]
/// Boxes `value` and returns the handle pointer that owns it.
pub(crate) fn to_boxed_mut_ptr<C>(value: C::RustType) -> *mut C
where
    C: Castable<Ownership = OwnershipBox>,
{
    Box::into_raw(Box::new(value)).cast::<C>()
}

#[cfg(feature = "std")]
/// Moves `value` into an `Arc` and returns the handle pointer that owns one reference.
pub(crate) fn to_arc_const_ptr<C>(value: C::RustType) -> *const C
where
    C: Castable<Ownership = OwnershipArc>,
{
    Arc::into_raw(Arc::new(value)).cast::<C>()
}

#[cfg(feature = "std")]
/// Hands an existing `Arc` to C as a handle owning one reference.
pub(crate) fn arc_into_const_ptr<C>(value: Arc<C::RustType>) -> *const C
where
    C: Castable<Ownership = OwnershipArc>,
{
    Arc::into_raw(value).cast::<C>()
}

/// Borrows the Rust value behind a handle, or `None` for NULL.
///
/// The lifetime is chosen by the caller; it must not outlive the handle (C contract).
pub(crate) fn try_from<'a, C: Castable>(ptr: *const C) -> Option<&'a C::RustType> {
    // SAFETY: a non-NULL handle was produced by `to_boxed_mut_ptr`/`to_arc_const_ptr` (or,
    // in the bare-metal build, placed in caller storage by `bare.rs`) for this
    // very `C` (one `Castable` impl per handle type) and is still alive (C contract), so it
    // points to a valid, initialised `C::RustType`.
    unsafe { ptr.cast::<C::RustType>().as_ref() }
}

/// Mutably borrows the Rust value behind a Box-owned handle, or `None` for NULL.
pub(crate) fn try_from_mut<'a, C>(ptr: *mut C) -> Option<&'a mut C::RustType>
where
    C: Castable<Ownership = OwnershipBox>,
{
    // SAFETY: as in `try_from`; a Box-owned handle has a single owner, and the C contract
    // forbids concurrent use of one builder, so the unique borrow is not aliased.
    unsafe { ptr.cast::<C::RustType>().as_mut() }
}

#[cfg(feature = "std")]
/// Returns a new `Arc` sharing the value behind an Arc-owned handle, leaving the caller's
/// reference intact; `None` for NULL.
pub(crate) fn clone_arc<C>(ptr: *const C) -> Option<Arc<C::RustType>>
where
    C: Castable<Ownership = OwnershipArc>,
{
    if ptr.is_null() {
        return None;
    }
    let raw = ptr.cast::<C::RustType>();
    // SAFETY: `raw` came from `Arc::into_raw` for this type (see `to_arc_const_ptr`) and the
    // caller's reference is alive, so the strong count is >= 1; incrementing it first and then
    // re-materialising one `Arc` leaves the caller's reference untouched.
    unsafe {
        Arc::increment_strong_count(raw);
        Some(Arc::from_raw(raw))
    }
}

#[cfg(feature = "std")]
/// Takes over the reference owned by an Arc-owned handle; `None` for NULL.
pub(crate) fn arc_from_raw<C>(ptr: *const C) -> Option<Arc<C::RustType>>
where
    C: Castable<Ownership = OwnershipArc>,
{
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` came from `Arc::into_raw` for this type and the caller gives up its
    // reference here (C contract: each reference is freed exactly once).
    Some(unsafe { Arc::from_raw(ptr.cast::<C::RustType>()) })
}

#[cfg(feature = "std")]
/// Drops the reference owned by an Arc-owned handle; NULL is a no-op.
pub(crate) fn free_arc<C>(ptr: *const C)
where
    C: Castable<Ownership = OwnershipArc>,
{
    drop(arc_from_raw(ptr));
}

#[cfg(feature = "std")]
/// Drops the value owned by a Box-owned handle; NULL is a no-op.
pub(crate) fn free_box<C>(ptr: *mut C)
where
    C: Castable<Ownership = OwnershipBox>,
{
    if ptr.is_null() {
        return;
    }
    // SAFETY: `ptr` came from `Box::into_raw` for this type and the caller gives up ownership
    // here (C contract: freed exactly once).
    drop(unsafe { Box::from_raw(ptr.cast::<C::RustType>()) });
}

/// Borrows the value behind a handle or returns the NULL fallback of the function.
macro_rules! try_ref_from_ptr {
    ($ptr:expr) => {
        match $crate::handle::try_from($ptr) {
            Some(r) => r,
            None => return $crate::panic::NullParameterOrDefault::value(),
        }
    };
}
pub(crate) use try_ref_from_ptr;

/// Mutably borrows the value behind a Box-owned handle or returns the NULL fallback.
macro_rules! try_mut_from_ptr {
    ($ptr:expr) => {
        match $crate::handle::try_from_mut($ptr) {
            Some(r) => r,
            None => return $crate::panic::NullParameterOrDefault::value(),
        }
    };
}
pub(crate) use try_mut_from_ptr;

/// Clones the `Arc` behind a handle or returns the NULL fallback.
#[cfg(feature = "std")]
macro_rules! try_clone_arc {
    ($ptr:expr) => {
        match $crate::handle::clone_arc($ptr) {
            Some(r) => r,
            None => return $crate::panic::NullParameterOrDefault::value(),
        }
    };
}
#[cfg(feature = "std")]
pub(crate) use try_clone_arc;

/// Checks an out-parameter (`T *out`) for NULL and yields `&mut T`, or returns the NULL
/// fallback. The pointee is only written by the caller of the macro, on success.
macro_rules! try_out {
    ($ptr:expr) => {
        match $crate::handle::out_param($ptr) {
            Some(r) => r,
            None => return $crate::panic::NullParameterOrDefault::value(),
        }
    };
}
pub(crate) use try_out;

/// `&mut T` for a non-NULL out-parameter.
pub(crate) fn out_param<'a, T>(ptr: *mut T) -> Option<&'a mut T> {
    // SAFETY: C contract: a non-NULL out-parameter points to writable, properly aligned storage
    // for a `T` that nothing else accesses during the call. `T` is always a plain C type here
    // (integers, pointers, `repr(C)` structs of those), valid for any bit pattern we write.
    unsafe { ptr.as_mut() }
}

#[cfg(feature = "std")]
/// `len` fresh values in one fallible allocation, for storage sized by the caller: `None`
/// (`FTF_OUT_OF_MEMORY`) when the allocator refuses it, never an abort.
pub(crate) fn try_boxed<T>(len: usize, new: impl Fn() -> T) -> Option<Box<[T]>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).ok()?;
    v.extend((0..len).map(|_| new()));
    Some(v.into_boxed_slice())
}

/// Borrows a C byte buffer `(ptr, len)` as a mutable slice; a zero length accepts NULL.
#[cfg_attr(not(feature = "std"), allow(dead_code))] // metrics text only
pub(crate) fn out_bytes<'a>(ptr: *mut u8, len: usize) -> Option<&'a mut [u8]> {
    if len == 0 {
        return Some(&mut []);
    }
    if ptr.is_null() {
        return None;
    }
    // SAFETY: C contract: `ptr` points to `len` writable bytes not accessed by anything else
    // during the call.
    Some(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}
