//! # libftforest: the C ABI of ftforest
//!
//! Built as `libftforest.so` / `libftforest.a` (and an rlib for Rust tests). The header is
//! `include/ftforest.h`, generated from this crate by a pinned cbindgen (`scripts/gen-header.sh`)
//! and committed; `tests/header.rs` fails when it is stale. `include/ftforest.hpp` is a C++17
//! wrapper over it.
//!
//! ## Conventions (rustls-ffi's, see `ffi/README.md`)
//!
//! * Handles are opaque (`typedef struct ftf_x ftf_x;`). Builders are `Box`-owned
//!   (`ftf_x *`, one thread at a time); everything shared across threads is `Arc`-owned
//!   (`const ftf_x *`, `_clone` adds a reference, `_free` drops one, `_free(NULL)` is a no-op).
//! * Every fallible function returns [`ftf_result`]; outputs go through out-parameters,
//!   written only on `FTF_OK`. Parameter order: object, inputs, outputs.
//! * Every pointer is checked for NULL (`FTF_NULL_PARAMETER`, or NULL/0/false for infallible
//!   getters); enum values from C arrive as `uint32_t` and are range-checked
//!   (`FTF_UNKNOWN_ENUM`); every body runs inside a panic boundary (`FTF_PANIC`).
//! * Callbacks are `(void *userdata, ...)` C function pointers; each documents the thread that
//!   calls it; no libftforest lock is held while it runs; it must not unwind (C++: `noexcept`).
//! * Two builds, one header: the hosted library (default feature `std`) and the bare-metal
//!   `no_std` staticlib (`--no-default-features`; objects in caller storage, `bare.rs`).
//!   Header items of one build only sit under `#if defined(FTF_HOSTED)` / `#if
//!   !defined(FTF_HOSTED)`; the header defines `FTF_HOSTED` unless `FTF_BARE_METAL` is.
//! * Time: `now_ns` arguments are caller-chosen monotonic nanoseconds; deadlines the library
//!   computes itself are on `ftf_now_ns()` (`CLOCK_MONOTONIC`).
// Unit tests of the bare-metal build run on the host with the std test harness.
#![cfg_attr(all(not(feature = "std"), not(test)), no_std)]
#![deny(missing_docs)]
// The C ABI functions are safe `extern "C" fn`s that check their raw pointers (rustls-ffi).
#![allow(clippy::not_unsafe_ptr_arg_deref)]
// C names: ftf_x handles, ftf_x_fn callback typedefs, FTF_X constants.
#![allow(non_camel_case_types)]
// The hosted build uses std by nature (threads, catch_unwind, Arc).
#![allow(clippy::std_instead_of_core)]

pub(crate) mod handle;
pub(crate) mod panic;
pub(crate) mod storage;

#[cfg(not(feature = "std"))]
pub mod bare;
#[cfg(feature = "std")]
pub mod barrier;
#[cfg(feature = "std")]
pub mod callbacks;
pub mod clock;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod config;
pub mod coordinator;
pub mod coordinator_fence;
pub mod coordinator_state;
pub mod enums;
pub mod event;
#[cfg(feature = "std")]
pub mod forest;
pub mod lock;
#[cfg(feature = "std")]
pub mod metrics;
// Needs 64-bit atomics (absent on thumbv7em and below): hosted build only.
#[cfg(feature = "std")]
pub mod op_slot;
pub mod queue;
pub mod result;
pub mod stats;
pub mod table;
pub mod thresholds;
pub mod tracker;

/// Inside a cluster member's pause/resume hook (on the member's hook thread): the waiting
/// calls (`ftf_op_begin_wait`, `ftf_tracker_pause_wait`, `ftf_tracker_wait_quiescent`,
/// `ftf_barrier_wait`, `ftf_recovery_lock_acquire_wait`) refuse with `FTF_BUSY` there,
/// since what they wait for (the gate reopening) comes only after the pause, whose ack
/// waits for this hook to return: a deadlock. Always `false` without the `cluster`
/// feature.
#[inline]
pub(crate) fn in_cluster_loop_hook() -> bool {
    #[cfg(feature = "cluster")]
    {
        cluster::threads::is_in_cluster_hook()
    }
    #[cfg(not(feature = "cluster"))]
    {
        false
    }
}
#[cfg(feature = "std")]
pub mod version;
pub mod wait;

pub use result::ftf_result;
