//! The panic boundary: no Rust panic ever unwinds into C.
//!
//! Every `extern "C"` body sits inside [`ffi_panic_boundary!`], which runs it under
//! `std::panic::catch_unwind` and turns a caught panic into the fallback value of the
//! function's return type ([`PanicOrDefault`]): `FTF_PANIC` for an [`ftf_result`], NULL for a
//! pointer, `0`/`false` for plain numbers, nothing for `()`.
//!
//! Invariants:
//!
//! * The core never panics on any input (it returns typed errors), so the boundary is a second
//!   line of defence against bugs, not a control-flow mechanism.
//! * The closure is wrapped in `AssertUnwindSafe`: after a caught panic the objects touched are
//!   the core's atomics, which are never left half-written by a panic (every state change is a
//!   single atomic RMW), so observing them afterwards is sound.
//! * The crate must be built with `panic = "unwind"` (the default): with `panic = "abort"` the
//!   boundary cannot catch, and a panic aborts the process instead of returning `FTF_PANIC`.
//! * Callbacks into C are `extern "C"` (not `"C-unwind"`): a C++ exception thrown by a callback
//!   aborts the process; callbacks must be `noexcept`.

use crate::result::ftf_result;

/// Runs the body under `catch_unwind`; a panic returns `PanicOrDefault::value()`.
///
/// The body is the whole function body; `return` inside it returns from the closure, which has
/// the function's return type, so early returns (NULL checks) work as in a plain function.
#[cfg(feature = "std")]
macro_rules! ffi_panic_boundary {
    ( $($tt:tt)* ) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| { $($tt)* })) {
            Ok(ret) => ret,
            Err(_) => return $crate::panic::PanicOrDefault::value(),
        }
    };
}

/// Bare-metal build: no unwinding (`panic = "abort"` targets), so the body runs as a closure
/// and a panic ends in the library's panic handler (which parks the core: see `bare.rs`).
/// The core never panics on any input; the footprint gates check no panic path is linked.
#[cfg(not(feature = "std"))]
macro_rules! ffi_panic_boundary {
    ( $($tt:tt)* ) => {
        $crate::panic::run(|| { $($tt)* })
    };
}

/// Runs the body of a bare-metal entry point (a closure, so that `return` works as above).
#[cfg(not(feature = "std"))]
#[inline(always)]
pub(crate) fn run<R>(body: impl FnOnce() -> R) -> R {
    body()
}
pub(crate) use ffi_panic_boundary;

/// The value an `extern "C"` function returns when its body panicked.
#[cfg_attr(not(feature = "std"), allow(dead_code))] // no unwinding to catch on bare metal
pub(crate) trait PanicOrDefault {
    /// The fallback value.
    fn value() -> Self;
}

/// The value an `extern "C"` function returns when a required pointer argument is NULL.
pub(crate) trait NullParameterOrDefault {
    /// The fallback value.
    fn value() -> Self;
}

/// Marker for plain types whose `Default` is the right fallback for both tables.
pub(crate) trait Defaultable: Default {}

impl Defaultable for () {}
impl Defaultable for bool {}
impl Defaultable for u32 {}
impl Defaultable for u64 {}
impl Defaultable for usize {}

impl<T: Defaultable> PanicOrDefault for T {
    fn value() -> Self {
        T::default()
    }
}

impl<T: Defaultable> NullParameterOrDefault for T {
    fn value() -> Self {
        T::default()
    }
}

impl<T> PanicOrDefault for *const T {
    fn value() -> Self {
        core::ptr::null()
    }
}

impl<T> PanicOrDefault for *mut T {
    fn value() -> Self {
        core::ptr::null_mut()
    }
}

impl<T> NullParameterOrDefault for *const T {
    fn value() -> Self {
        core::ptr::null()
    }
}

impl<T> NullParameterOrDefault for *mut T {
    fn value() -> Self {
        core::ptr::null_mut()
    }
}

impl PanicOrDefault for ftf_result {
    fn value() -> Self {
        ftf_result::FTF_PANIC
    }
}

impl NullParameterOrDefault for ftf_result {
    fn value() -> Self {
        ftf_result::FTF_NULL_PARAMETER
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    fn boundary_result(do_panic: bool) -> ftf_result {
        ffi_panic_boundary! {
            if do_panic {
                panic!("deliberate test panic");
            }
            ftf_result::FTF_OK
        }
    }

    fn boundary_ptr() -> *const u8 {
        ffi_panic_boundary! {
            panic!("deliberate test panic");
        }
    }

    #[test]
    fn panics_become_fallback_values() {
        assert_eq!(boundary_result(false), ftf_result::FTF_OK);
        assert_eq!(boundary_result(true), ftf_result::FTF_PANIC);
        assert!(boundary_ptr().is_null());
        assert_eq!(<u32 as PanicOrDefault>::value(), 0);
        assert!(!<bool as NullParameterOrDefault>::value());
        assert_eq!(
            <ftf_result as NullParameterOrDefault>::value(),
            ftf_result::FTF_NULL_PARAMETER
        );
    }
}
