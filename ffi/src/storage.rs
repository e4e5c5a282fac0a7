//! Where the per-partition cells of C-created objects live: a `Box<[T]>` the library allocates
//! (hosted build, `_new`), or a `&'static [T]` in caller storage (bare-metal build,
//! `bare.rs`). The handle verbs are the same code for both. (The hosted coordinator's
//! storage is the core's `BoxedCoordinator`.)

/// Cell storage of a table, lock or queue.
#[cfg(feature = "std")]
pub(crate) type Cells<T> = Box<[T]>;
/// Cell storage of a table, lock or queue (caller storage, lives as long as the object).
#[cfg(not(feature = "std"))]
pub(crate) type Cells<T> = &'static [T];

/// Mutable cell storage (caller storage owned by one coordinator).
#[cfg(not(feature = "std"))]
pub(crate) type CellsMut<T> = &'static mut [T];
