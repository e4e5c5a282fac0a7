//! Issue 7 item 6: no constructor aborts the process on a caller-chosen size. Sizes above
//! `2^31 - 1` are refused before anything is allocated; a queue capacity above `n` is clamped
//! to `n`; a size the allocator refuses is `FTF_OUT_OF_MEMORY` (checked in a child process
//! whose address space is limited with `ulimit -v`, so the refusal is certain on any machine).
#![allow(clippy::std_instead_of_core)] // std-only test code

mod common;

use core::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering};

use ftforest::coordinator::ftf_coordinator;
use ftforest::forest::ftf_forest;
use ftforest::lock::ftf_recovery_lock;
use ftforest::queue::ftf_recovery_queue;
use ftforest::result::ftf_result::{self, *};
use ftforest::table::ftf_partition_table;
use ftforest::wait::{ftf_wait_callbacks, ftf_wait_kind};

const MAX: u32 = ftforest_core::MAX_PARTITIONS;

static FINALIZED: AtomicU32 = AtomicU32::new(0);

unsafe extern "C" fn finalize(_: *mut c_void) {
    FINALIZED.fetch_add(1, Ordering::SeqCst);
}
unsafe extern "C" fn wait(_: *mut c_void, _: *mut u32, _: u32, _: u64) {}
unsafe extern "C" fn wake(_: *mut c_void, _: *mut u32) {}

/// Every sized constructor with `n` partitions; the results in a fixed order. Objects that
/// were created are freed.
fn construct_all(n: u32) -> [ftf_result; 6] {
    let mut t = ptr::null();
    let table = ftf_partition_table::ftf_partition_table_new(n, &mut t);
    ftf_partition_table::ftf_partition_table_free(t);
    let mut l = ptr::null();
    let lock = ftf_recovery_lock::ftf_recovery_lock_new(n, 1, &mut l);
    ftf_recovery_lock::ftf_recovery_lock_free(l);
    let wc = ftf_wait_callbacks {
        userdata: ptr::null_mut(),
        wait: Some(wait),
        wake: Some(wake),
        finalizer: Some(finalize),
    };
    let mut l = ptr::null();
    let lock_wait = ftf_recovery_lock::ftf_recovery_lock_new_with_wait(
        n,
        1,
        ftf_wait_kind::FTF_WAIT_CALLBACKS as u32,
        &wc,
        &mut l,
    );
    ftf_recovery_lock::ftf_recovery_lock_free(l);
    let mut q = ptr::null();
    let queue = ftf_recovery_queue::ftf_recovery_queue_new(n, n, &mut q);
    ftf_recovery_queue::ftf_recovery_queue_free(q);
    let mut c = ptr::null();
    let coord = ftf_coordinator::ftf_coordinator_new(ptr::null(), n, ptr::null(), 0, &mut c);
    ftf_coordinator::ftf_coordinator_free(c);
    let cb = common::ok_callbacks(Some(finalize));
    let mut f = ptr::null();
    let forest = ftf_forest::ftf_forest_new(ptr::null(), n, ptr::null(), &cb, &mut f);
    ftf_forest::ftf_forest_free(f);
    [table, lock, lock_wait, queue, coord, forest]
}

#[test]
fn sizes_above_the_maximum_are_refused_before_allocating() {
    for n in [MAX + 1, u32::MAX] {
        assert_eq!(construct_all(n), [FTF_INVALID_ARGUMENT; 6], "n = {n}");
    }
}

/// A queue never holds more than `n` ranks: a larger capacity is clamped (before the fix
/// `ftf_recovery_queue_new(4, 0x80000000)` allocated 8 GiB, or aborted the process).
#[test]
fn queue_capacity_above_n_is_clamped() {
    let mut q = ptr::null();
    assert_eq!(
        ftf_recovery_queue::ftf_recovery_queue_new(4, 0x8000_0000, &mut q),
        FTF_OK
    );
    assert_eq!(ftf_recovery_queue::ftf_recovery_queue_capacity(q), 4);
    for r in 0..4 {
        assert_eq!(ftf_recovery_queue::ftf_recovery_queue_push(q, r), FTF_OK);
    }
    assert_eq!(
        ftf_recovery_queue::ftf_recovery_queue_push(q, 0),
        FTF_DUPLICATE
    );
    ftf_recovery_queue::ftf_recovery_queue_free(q);
}

/// The child half of `the_largest_sizes_are_out_of_memory_not_an_abort` (runs only there).
#[test]
fn oom_child() {
    if std::env::var_os("FTF_OOM_CHILD").is_none() {
        return;
    }
    assert_eq!(construct_all(MAX), [FTF_OUT_OF_MEMORY; 6]);
    assert_eq!(
        FINALIZED.load(Ordering::SeqCst),
        0,
        "a refused constructor ran a finalizer"
    );
    println!("oom child: every constructor returned FTF_OUT_OF_MEMORY");
}

/// `n = 2^31 - 1` needs gigabytes for every object: in a process limited to 1 GiB of address
/// space each constructor must return `FTF_OUT_OF_MEMORY` (before the fix: "memory allocation
/// of ... bytes failed", the process aborted).
#[cfg(all(target_os = "linux", not(miri)))]
#[test]
fn the_largest_sizes_are_out_of_memory_not_an_abort() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg("ulimit -v 1048576 && exec \"$0\" oom_child --exact --nocapture --test-threads=1")
        .arg(&exe)
        .env("FTF_OOM_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("every constructor returned FTF_OUT_OF_MEMORY"),
        "child failed ({:?}):\n{stdout}\n{stderr}",
        out.status
    );
}
