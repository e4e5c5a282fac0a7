//! Issue 7 item 9: out-parameters are written only on `FTF_OK` (sizes and counts also on
//! `FTF_BUFFER_TOO_SMALL`), never on `FTF_NULL_PARAMETER`.
#![allow(clippy::std_instead_of_core)] // std-only test code

mod common;

use std::ptr;

use ftforest::coordinator::ftf_coordinator;
use ftforest::forest::ftf_forest;
use ftforest::metrics::ftf_stats_metrics;
use ftforest::queue::ftf_recovery_queue;
use ftforest::result::ftf_result::*;
use ftforest::stats::ftf_stats;

const SENTINEL: usize = 0xdead;

#[test]
fn metrics_leave_the_size_alone_on_a_null_buffer() {
    let s = ftf_stats::default();
    let mut needed = SENTINEL;
    assert_eq!(
        ftf_stats_metrics(&s, 0, 0, ptr::null_mut(), 1 << 20, &mut needed),
        FTF_NULL_PARAMETER
    );
    assert_eq!(needed, SENTINEL, "ftf_stats_metrics wrote *needed_out");

    let mut c = ptr::null();
    assert_eq!(
        ftf_coordinator::ftf_coordinator_new(ptr::null(), 3, ptr::null(), 0, &mut c),
        FTF_OK
    );
    assert_eq!(
        ftf_coordinator::ftf_coordinator_metrics(c, 0, ptr::null_mut(), 1 << 20, &mut needed),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        needed, SENTINEL,
        "ftf_coordinator_metrics wrote *needed_out"
    );
    // The size query still works.
    assert_eq!(
        ftf_coordinator::ftf_coordinator_metrics(c, 0, ptr::null_mut(), 0, &mut needed),
        FTF_BUFFER_TOO_SMALL
    );
    assert!(needed > 1 && needed != SENTINEL);
    ftf_coordinator::ftf_coordinator_free(c);

    let cb = common::ok_callbacks(None);
    let mut f = ptr::null();
    assert_eq!(
        ftf_forest::ftf_forest_new(ptr::null(), 3, ptr::null(), &cb, &mut f),
        FTF_OK
    );
    let mut needed = SENTINEL;
    assert_eq!(
        ftf_forest::ftf_forest_metrics(f, ptr::null_mut(), 1 << 20, &mut needed),
        FTF_NULL_PARAMETER
    );
    assert_eq!(needed, SENTINEL, "ftf_forest_metrics wrote *needed_out");
    ftf_forest::ftf_forest_free(f);
}

#[test]
fn queue_snapshot_leaves_the_count_alone_on_a_null_buffer() {
    let mut q = ptr::null();
    assert_eq!(
        ftf_recovery_queue::ftf_recovery_queue_new(4, 4, &mut q),
        FTF_OK
    );
    assert_eq!(ftf_recovery_queue::ftf_recovery_queue_push(q, 2), FTF_OK);
    let mut count = SENTINEL;
    assert_eq!(
        ftf_recovery_queue::ftf_recovery_queue_snapshot(q, ptr::null_mut(), 4, &mut count),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        count, SENTINEL,
        "ftf_recovery_queue_snapshot wrote *count_out"
    );
    assert_eq!(
        ftf_recovery_queue::ftf_recovery_queue_snapshot(q, ptr::null_mut(), 0, &mut count),
        FTF_BUFFER_TOO_SMALL
    );
    assert_eq!(count, 1);
    ftf_recovery_queue::ftf_recovery_queue_free(q);
}
