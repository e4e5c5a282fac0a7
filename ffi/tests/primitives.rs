//! The partition table, recovery lock and recovery queue C ABI, called from Rust (Miri too).
#![allow(clippy::std_instead_of_core)] // std-only test code

use std::ptr;

use ftforest::lock::*;
use ftforest::queue::*;
use ftforest::result::ftf_result::*;
use ftforest::table::ftf_health::*;
use ftforest::table::*;

#[test]
fn table_transitions_counts_and_quorum() {
    let mut t = ptr::null();
    assert_eq!(
        ftf_partition_table::ftf_partition_table_new(0, &mut t),
        FTF_INVALID_ARGUMENT
    );
    assert_eq!(
        ftf_partition_table::ftf_partition_table_new(5, &mut t),
        FTF_OK
    );
    assert_eq!(ftf_partition_table::ftf_partition_table_len(t), 5);
    assert!(ftf_partition_table::ftf_partition_table_has_quorum(t));

    let mut tr = ftf_transition::default();
    let h = FTF_HEALTH_HEALTHY as u32;
    let s = FTF_HEALTH_SUSPECTED as u32;
    let f = FTF_HEALTH_FAILED as u32;
    let r = FTF_HEALTH_RECOVERING as u32;
    assert_eq!(
        ftf_partition_table::ftf_partition_table_transition(
            t,
            1,
            h,
            s,
            FTF_INCARNATION_ANY,
            &mut tr
        ),
        FTF_OK
    );
    assert_eq!(
        tr,
        ftf_transition {
            from: h,
            to: s,
            incarnation: 0
        }
    );
    // Same change again: the state is no longer HEALTHY.
    assert_eq!(
        ftf_partition_table::ftf_partition_table_transition(
            t,
            1,
            h,
            s,
            FTF_INCARNATION_ANY,
            &mut tr
        ),
        FTF_UNEXPECTED_STATE
    );
    assert_eq!(
        ftf_partition_table::ftf_partition_table_transition(
            t,
            1,
            FTF_HEALTH_ANY,
            r,
            FTF_INCARNATION_ANY,
            &mut tr
        ),
        FTF_INVALID_TRANSITION
    );
    assert_eq!(
        ftf_partition_table::ftf_partition_table_transition(t, 1, FTF_HEALTH_ANY, f, 7, &mut tr),
        FTF_STALE
    );
    assert_eq!(
        ftf_partition_table::ftf_partition_table_transition(
            t,
            9,
            FTF_HEALTH_ANY,
            f,
            FTF_INCARNATION_ANY,
            &mut tr
        ),
        FTF_UNKNOWN_PARTITION
    );
    assert_eq!(
        ftf_partition_table::ftf_partition_table_transition(
            t,
            1,
            5, // 4 is ABSENT (issue 8)
            f,
            FTF_INCARNATION_ANY,
            &mut tr
        ),
        FTF_UNKNOWN_ENUM
    );
    assert_eq!(
        ftf_partition_table::ftf_partition_table_transition(
            t,
            1,
            FTF_HEALTH_ANY,
            77,
            FTF_INCARNATION_ANY,
            &mut tr
        ),
        FTF_UNKNOWN_ENUM
    );
    for to in [f, r, h] {
        assert_eq!(
            ftf_partition_table::ftf_partition_table_transition(
                t,
                1,
                FTF_HEALTH_ANY,
                to,
                0,
                &mut tr
            ),
            FTF_OK
        );
    }
    assert_eq!(tr.incarnation, 1, "entering HEALTHY starts a new life");
    let (mut health, mut inc) = (99u32, 99u32);
    assert_eq!(
        ftf_partition_table::ftf_partition_table_get(t, 1, &mut health, &mut inc),
        FTF_OK
    );
    assert_eq!((health, inc), (h, 1));
    assert_eq!(
        ftf_partition_table::ftf_partition_table_get(t, 5, &mut health, &mut inc),
        FTF_UNKNOWN_PARTITION
    );

    // Three of five suspected: no quorum.
    for rank in 0..3 {
        assert_eq!(
            ftf_partition_table::ftf_partition_table_transition(
                t,
                rank,
                h,
                s,
                FTF_INCARNATION_ANY,
                &mut tr
            ),
            FTF_OK
        );
    }
    assert!(!ftf_partition_table::ftf_partition_table_has_quorum(t));
    let (mut c, mut sc) = (ftf_counts::default(), ftf_counts::default());
    assert_eq!(
        ftf_partition_table::ftf_partition_table_counts(t, &mut c),
        FTF_OK
    );
    assert_eq!(
        ftf_partition_table::ftf_partition_table_scan(t, &mut sc),
        FTF_OK
    );
    assert_eq!(c, sc);
    assert_eq!((c.healthy, c.suspected), (2, 3));
    assert_eq!(ftf_partition_table::ftf_partition_table_count(t, s), 3);
    assert_eq!(ftf_partition_table::ftf_partition_table_count(t, 12), 0);
    assert!(ftf_has_quorum(3, 5) && !ftf_has_quorum(2, 4) && !ftf_has_quorum(0, 0));
    assert!(ftf_health_transition_allowed(h, s) && !ftf_health_transition_allowed(h, f));
    assert!(!ftf_health_transition_allowed(9, h));
    assert_eq!(
        ftf_partition_table::ftf_partition_table_counts(ptr::null(), &mut c),
        FTF_NULL_PARAMETER
    );
    ftf_partition_table::ftf_partition_table_free(t);
}

#[test]
fn lock_is_owner_checked() {
    let mut l = ptr::null();
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_new(4, 0, &mut l),
        FTF_INVALID_ARGUMENT
    );
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_new(4, 2, &mut l),
        FTF_OK
    );
    let mut l2 = ptr::null();
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_new(4, 2, &mut l2),
        FTF_OK
    );
    let (mut a, mut b, mut c) = Default::default();
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_try_acquire(l, 0, false, &mut a),
        FTF_NO_QUORUM
    );
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_try_acquire(l, 4, true, &mut a),
        FTF_UNKNOWN_PARTITION
    );
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_try_acquire(l, 0, true, &mut a),
        FTF_OK
    );
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_try_acquire(l, 0, true, &mut b),
        FTF_BUSY
    );
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_try_acquire(l, 1, true, &mut b),
        FTF_OK
    );
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_try_acquire(l, 2, true, &mut c),
        FTF_AT_CAPACITY
    );
    assert_eq!(ftf_recovery_lock::ftf_recovery_lock_active(l), 2);
    assert!(ftf_recovery_lock::ftf_recovery_lock_is_recovering(l, 0));
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_release(l2, a),
        FTF_FOREIGN_HANDLE
    );
    assert_eq!(ftf_recovery_lock::ftf_recovery_lock_release(l, a), FTF_OK);
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_release(l, a),
        FTF_NOT_HOLDER
    );
    // A new holder of rank 0 cannot be released by the old token (B22).
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_try_acquire(l, 0, true, &mut c),
        FTF_OK
    );
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_release(l, a),
        FTF_NOT_HOLDER
    );
    assert!(ftf_recovery_lock::ftf_recovery_lock_is_recovering(l, 0));
    assert_eq!(ftf_recovery_lock::ftf_recovery_lock_release(l, c), FTF_OK);
    assert_eq!(ftf_recovery_lock::ftf_recovery_lock_release(l, b), FTF_OK);
    assert_eq!(ftf_recovery_lock::ftf_recovery_lock_active(l), 0);
    assert_eq!(ftf_recovery_lock::ftf_recovery_lock_max_concurrent(l), 2);
    assert_eq!(ftf_recovery_lock::ftf_recovery_lock_len(l), 4);
    assert_ne!(
        ftf_recovery_lock::ftf_recovery_lock_id(l),
        ftf_recovery_lock::ftf_recovery_lock_id(l2)
    );
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_release(ptr::null(), b),
        FTF_NULL_PARAMETER
    );
    ftf_recovery_lock::ftf_recovery_lock_free(l);
    ftf_recovery_lock::ftf_recovery_lock_free(l2);
}

#[test]
fn queue_is_fifo_deduplicated_and_bounded() {
    let mut q = ptr::null();
    assert_eq!(
        ftf_recovery_queue::ftf_recovery_queue_new(4, 0, &mut q),
        FTF_INVALID_ARGUMENT
    );
    assert_eq!(
        ftf_recovery_queue::ftf_recovery_queue_new(4, 2, &mut q),
        FTF_OK
    );
    assert_eq!(ftf_recovery_queue::ftf_recovery_queue_capacity(q), 2);
    let mut r = 99;
    assert_eq!(
        ftf_recovery_queue::ftf_recovery_queue_pop(q, &mut r),
        FTF_EMPTY
    );
    assert_eq!(r, 99);
    assert_eq!(ftf_recovery_queue::ftf_recovery_queue_push(q, 3), FTF_OK);
    assert_eq!(
        ftf_recovery_queue::ftf_recovery_queue_push(q, 3),
        FTF_DUPLICATE
    );
    assert_eq!(
        ftf_recovery_queue::ftf_recovery_queue_push(q, 9),
        FTF_UNKNOWN_PARTITION
    );
    assert_eq!(ftf_recovery_queue::ftf_recovery_queue_push(q, 1), FTF_OK);
    assert_eq!(ftf_recovery_queue::ftf_recovery_queue_push(q, 2), FTF_FULL);
    let mut buf = [0u32; 1];
    let mut n = 0usize;
    assert_eq!(
        ftf_recovery_queue::ftf_recovery_queue_snapshot(q, buf.as_mut_ptr(), 1, &mut n),
        FTF_BUFFER_TOO_SMALL
    );
    assert_eq!((n, buf[0]), (2, 0), "size reported, nothing written");
    let mut buf = [0u32; 4];
    assert_eq!(
        ftf_recovery_queue::ftf_recovery_queue_snapshot(q, buf.as_mut_ptr(), 4, &mut n),
        FTF_OK
    );
    assert_eq!(&buf[..n], &[3, 1]);
    assert_eq!(
        ftf_recovery_queue::ftf_recovery_queue_peek(q, &mut r),
        FTF_OK
    );
    assert_eq!(r, 3);
    assert!(ftf_recovery_queue::ftf_recovery_queue_contains(q, 1));
    assert!(ftf_recovery_queue::ftf_recovery_queue_remove(q, 3));
    assert!(!ftf_recovery_queue::ftf_recovery_queue_remove(q, 3));
    assert_eq!(ftf_recovery_queue::ftf_recovery_queue_len(q), 1);
    assert_eq!(
        ftf_recovery_queue::ftf_recovery_queue_pop(q, &mut r),
        FTF_OK
    );
    assert_eq!(r, 1);
    assert_eq!(
        ftf_recovery_queue::ftf_recovery_queue_snapshot(q, ptr::null_mut(), 0, &mut n),
        FTF_OK
    );
    assert_eq!(n, 0);
    assert_eq!(
        ftf_recovery_queue::ftf_recovery_queue_push(ptr::null(), 1),
        FTF_NULL_PARAMETER
    );
    let q2 = ftf_recovery_queue::ftf_recovery_queue_clone(q);
    ftf_recovery_queue::ftf_recovery_queue_free(q);
    assert_eq!(ftf_recovery_queue::ftf_recovery_queue_push(q2, 0), FTF_OK);
    ftf_recovery_queue::ftf_recovery_queue_free(q2);
}

#[test]
fn lock_acquire_wait_waits_out_capacity_only() {
    let mut l = ptr::null();
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_new_with_wait(2, 1, 7, ptr::null(), &mut l),
        FTF_UNKNOWN_ENUM
    );
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_new_with_wait(
            2,
            1,
            ftforest::wait::ftf_wait_kind::FTF_WAIT_PARK as u32,
            ptr::null(),
            &mut l
        ),
        FTF_OK
    );
    let (mut a, mut b) = (ftf_permit_token::default(), ftf_permit_token::default());
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_acquire_wait(l, 0, true, 0, &mut a),
        FTF_OK
    );
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_acquire_wait(l, 1, true, 1_000, &mut b),
        FTF_TIMEOUT
    );
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_acquire_wait(l, 0, true, u64::MAX, &mut b),
        FTF_BUSY
    );
    assert_eq!(
        ftf_recovery_lock::ftf_recovery_lock_acquire_wait(l, 1, false, u64::MAX, &mut b),
        FTF_NO_QUORUM
    );
    #[derive(Clone, Copy)]
    struct Shared(*const ftf_recovery_lock);
    // SAFETY: lock handles are usable from any thread.
    unsafe impl Send for Shared {}
    let shared = Shared(l);
    let got = std::thread::scope(|s| {
        let h = s.spawn(move || {
            let mut p = ftf_permit_token::default();
            let rc = ftf_recovery_lock::ftf_recovery_lock_acquire_wait(
                { shared }.0,
                1,
                true,
                u64::MAX,
                &mut p,
            );
            (rc, p)
        });
        assert_eq!(ftf_recovery_lock::ftf_recovery_lock_release(l, a), FTF_OK);
        h.join().ok()
    });
    let Some((rc, p)) = got else {
        panic!("waiter panicked")
    };
    assert_eq!((rc, p.rank), (FTF_OK, 1), "woken by the release");
    assert_eq!(ftf_recovery_lock::ftf_recovery_lock_release(l, p), FTF_OK);
    ftf_recovery_lock::ftf_recovery_lock_free(l);
}
