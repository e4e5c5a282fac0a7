//! The cluster C ABI without etcd: every NULL and malformed argument, the configuration's
//! validation codes, the forest's attach rules, and a join against an unreachable endpoint
//! (FTF_UNREACHABLE, bounded; a hang fails by the watchdog, not by CI's limit).
#![cfg(all(feature = "cluster", not(miri)))] // sockets, threads and tokio: nothing for Miri
#![allow(clippy::std_instead_of_core)] // std-only test code

mod common;

use core::ffi::{c_char, c_void};
use std::ptr;
use std::time::Duration;

use ftforest::callbacks::ftf_listener_handle;
use ftforest::cluster::config::ftf_cluster_timeout::*;
use ftforest::cluster::{ftf_cluster, ftf_cluster_config, ftf_cluster_event, ftf_cluster_stats};
use ftforest::forest::ftf_forest;
use ftforest::result::ftf_result::{self, *};
use ftforest::stats::ftf_stats;

type Cfg = *mut ftf_cluster_config;

fn new_config(proc_id: &[u8], n: u32) -> Cfg {
    let mut c: Cfg = ptr::null_mut();
    let id = std::ffi::CString::new(proc_id).unwrap();
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_new(id.as_ptr(), n, &mut c),
        FTF_OK
    );
    assert!(!c.is_null());
    c
}

fn add_endpoint(c: Cfg, e: &str) -> ftf_result {
    let e = std::ffi::CString::new(e).unwrap();
    ftf_cluster_config::ftf_cluster_config_add_endpoint(c, e.as_ptr())
}

fn check(c: Cfg) -> ftf_result {
    ftf_cluster_config::ftf_cluster_config_check(c)
}

/// A valid configuration: n 4, rank 1, one endpoint.
fn valid(endpoint: &str) -> Cfg {
    let c = new_config(b"node-a", 4);
    assert_eq!(add_endpoint(c, endpoint), FTF_OK);
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_add_rank(c, 1),
        FTF_OK
    );
    c
}

fn new_forest(n: u32) -> *const ftf_forest {
    common::new_forest(n, &common::ok_callbacks(None))
}

#[test]
fn config_null_and_malformed_arguments() {
    let mut c: Cfg = ptr::null_mut();
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_new(ptr::null(), 4, &mut c),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_new(c"x".as_ptr(), 4, ptr::null_mut()),
        FTF_NULL_PARAMETER
    );
    // Not UTF-8: refused at once, nothing written.
    let bad = [0xffu8, 0xfe, 0];
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_new(bad.as_ptr().cast::<c_char>(), 4, &mut c),
        FTF_INVALID_ARGUMENT
    );
    assert!(c.is_null());
    let long = std::ffi::CString::new(vec![b'a'; 5000]).unwrap();
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_new(long.as_ptr(), 4, &mut c),
        FTF_INVALID_ARGUMENT
    );
    let c = valid("http://127.0.0.1:2379");
    // Every setter: NULL config, NULL string, bad UTF-8, unknown enums.
    let n = ptr::null_mut();
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_add_endpoint(n, c"x".as_ptr()),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_add_endpoint(c, ptr::null()),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_add_endpoint(c, bad.as_ptr().cast()),
        FTF_INVALID_ARGUMENT
    );
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_set_prefix(n, c"p/".as_ptr()),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_set_prefix(c, ptr::null()),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_set_prefix(c, bad.as_ptr().cast()),
        FTF_INVALID_ARGUMENT
    );
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_add_rank(n, 0),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_set_k(n, 1),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_set_ttl_ms(n, 2000),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_set_timeout_ms(n, 0, 1),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_set_timeout_ms(c, 5, 1),
        FTF_UNKNOWN_ENUM
    );
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_set_pause_policy(n, 0),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_set_pause_policy(c, 2),
        FTF_UNKNOWN_ENUM
    );
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_check(ptr::null()),
        FTF_NULL_PARAMETER
    );
    // The refused setters changed nothing.
    assert_eq!(check(c), FTF_OK);
    ftf_cluster_config::ftf_cluster_config_free(c);
    ftf_cluster_config::ftf_cluster_config_free(ptr::null_mut());
}

#[test]
fn config_validation_codes() {
    type Edit = fn(Cfg) -> ftf_result;
    let cases: [(&str, Edit); 16] = [
        ("k 0", |c| {
            ftf_cluster_config::ftf_cluster_config_set_k(c, 0)
        }),
        ("k > n", |c| {
            ftf_cluster_config::ftf_cluster_config_set_k(c, 5)
        }),
        ("ttl 0", |c| {
            ftf_cluster_config::ftf_cluster_config_set_ttl_ms(c, 0)
        }),
        ("ttl 1999", |c| {
            ftf_cluster_config::ftf_cluster_config_set_ttl_ms(c, 1999)
        }),
        ("ttl huge", |c| {
            ftf_cluster_config::ftf_cluster_config_set_ttl_ms(c, u64::MAX)
        }),
        ("rank >= n", |c| {
            ftf_cluster_config::ftf_cluster_config_add_rank(c, 4)
        }),
        ("rank twice", |c| {
            ftf_cluster_config::ftf_cluster_config_add_rank(c, 1)
        }),
        ("prefix without /", |c| {
            ftf_cluster_config::ftf_cluster_config_set_prefix(c, c"ftf/x".as_ptr())
        }),
        ("empty prefix", |c| {
            ftf_cluster_config::ftf_cluster_config_set_prefix(c, c"".as_ptr())
        }),
        ("bad endpoint", |c| add_endpoint(c, "127.0.0.1:2379")),
        ("empty endpoint", |c| add_endpoint(c, "")),
        ("connect 0", |c| {
            ftf_cluster_config::ftf_cluster_config_set_timeout_ms(
                c,
                FTF_CLUSTER_TIMEOUT_CONNECT as u32,
                0,
            )
        }),
        ("request huge", |c| {
            ftf_cluster_config::ftf_cluster_config_set_timeout_ms(
                c,
                FTF_CLUSTER_TIMEOUT_REQUEST as u32,
                u64::MAX,
            )
        }),
        ("quiescence 0", |c| {
            ftf_cluster_config::ftf_cluster_config_set_timeout_ms(
                c,
                FTF_CLUSTER_TIMEOUT_QUIESCENCE as u32,
                0,
            )
        }),
        ("pause 0", |c| {
            ftf_cluster_config::ftf_cluster_config_set_timeout_ms(
                c,
                FTF_CLUSTER_TIMEOUT_PAUSE as u32,
                0,
            )
        }),
        ("margin >= ttl/3", |c| {
            ftf_cluster_config::ftf_cluster_config_set_timeout_ms(
                c,
                FTF_CLUSTER_TIMEOUT_SELF_FENCE_MARGIN as u32,
                700,
            )
        }),
    ];
    let forest = new_forest(4);
    for (what, edit) in cases {
        let c = valid("http://127.0.0.1:2379");
        assert_eq!(
            edit(c),
            FTF_OK,
            "{what}: setters store, join/check validate"
        );
        assert_eq!(check(c), FTF_INVALID_CONFIG, "{what}");
        // join refuses it before touching the network or the forest.
        let mut m = ptr::null();
        assert_eq!(
            ftf_cluster::ftf_cluster_join(c, forest, &mut m),
            FTF_INVALID_CONFIG,
            "{what}"
        );
        assert!(m.is_null());
        ftf_cluster_config::ftf_cluster_config_free(c);
    }
    // Bad proc ids and n, caught at check.
    for (id, n) in [
        (&b"a/b"[..], 4),
        (b"a b", 4),
        (b"a\tb", 4),
        (&[b'x'; 129][..], 4),
        (b"", 4),
    ] {
        let c = new_config(id, n);
        assert_eq!(add_endpoint(c, "http://127.0.0.1:2379"), FTF_OK);
        assert_eq!(
            check(c),
            FTF_INVALID_CONFIG,
            "{:?}",
            String::from_utf8_lossy(id)
        );
        ftf_cluster_config::ftf_cluster_config_free(c);
    }
    for n in [0, 65_537, u32::MAX] {
        let c = new_config(b"p", n);
        assert_eq!(add_endpoint(c, "http://127.0.0.1:2379"), FTF_OK);
        assert_eq!(check(c), FTF_INVALID_CONFIG, "n = {n}");
        ftf_cluster_config::ftf_cluster_config_free(c);
    }
    // No endpoint at all.
    let c = new_config(b"p", 4);
    assert_eq!(check(c), FTF_INVALID_CONFIG);
    ftf_cluster_config::ftf_cluster_config_free(c);
    // The forest was never attached: it starts.
    assert_eq!(ftf_forest::ftf_forest_start(forest), FTF_OK);
    assert_eq!(ftf_forest::ftf_forest_stop(forest), FTF_OK);
    ftf_forest::ftf_forest_free(forest);
}

#[test]
fn join_null_arguments_and_a_running_forest() {
    let c = valid("http://127.0.0.1:1");
    let forest = new_forest(4);
    let mut m = ptr::null();
    assert_eq!(
        ftf_cluster::ftf_cluster_join(ptr::null(), forest, &mut m),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_join(c, ptr::null(), &mut m),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_join(c, forest, ptr::null_mut()),
        FTF_NULL_PARAMETER
    );
    assert_eq!(ftf_forest::ftf_forest_start(forest), FTF_OK);
    assert_eq!(
        ftf_cluster::ftf_cluster_join(c, forest, &mut m),
        FTF_ALREADY_RUNNING
    );
    assert!(m.is_null());
    assert_eq!(ftf_forest::ftf_forest_stop(forest), FTF_OK);
    ftf_forest::ftf_forest_free(forest);
    ftf_cluster_config::ftf_cluster_config_free(c);
}

#[test]
fn every_member_function_refuses_null() {
    let n: *const ftf_cluster = ptr::null();
    let mut u64v = 0u64;
    let mut usz = 0usize;
    let mut u32v = 0u32;
    let mut st = ftf_cluster_stats::default();
    let mut cs = ftf_stats::default();
    let mut h = ftf_listener_handle::default();
    unsafe extern "C" fn cb(_: *mut c_void, _: *const ftf_cluster_event) {}
    assert_eq!(ftf_cluster::ftf_cluster_leave(n), FTF_NULL_PARAMETER);
    assert_eq!(
        ftf_cluster::ftf_cluster_check_fence(n, 0, 1),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_put(n, 0, 0, ptr::null(), 0, &mut u64v),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_get(n, 0, ptr::null_mut(), 0, &mut usz),
        FTF_NULL_PARAMETER
    );
    assert_eq!(ftf_cluster::ftf_cluster_report(n, 0, 0), FTF_NULL_PARAMETER);
    assert_eq!(
        ftf_cluster::ftf_cluster_subscribe(n, Some(cb), ptr::null_mut(), None, &mut h),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_unsubscribe(n, h),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_stats_get(n, &mut st),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_coordinator_stats(n, &mut cs),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_level(n, &mut u32v),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_metrics(n, ptr::null_mut(), 0, &mut usz),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_ranks(n, ptr::null_mut(), 0, &mut usz),
        FTF_NULL_PARAMETER
    );
    assert_eq!(
        ftf_cluster::ftf_cluster_incarnation(n, 0, &mut u64v),
        FTF_NULL_PARAMETER
    );
    assert_eq!(ftf_cluster::ftf_cluster_fault(n, 0), FTF_NULL_PARAMETER);
    assert_eq!(
        ftf_cluster::ftf_cluster_fault_stall(n, 1),
        FTF_NULL_PARAMETER
    );
    ftf_cluster::ftf_cluster_free(n);
}

/// A forest whose partition count is not the configuration's n is refused before any
/// connection (run_phase would get jobs for ranks the forest does not have, and C code
/// indexing per-partition arrays by `job->rank` would overflow): FTF_INVALID_ARGUMENT, no
/// handle, the forest not attached.
#[test]
fn join_refuses_a_forest_of_another_size() {
    let c = valid("http://127.0.0.1:1");
    for which in [FTF_CLUSTER_TIMEOUT_CONNECT, FTF_CLUSTER_TIMEOUT_REQUEST] {
        assert_eq!(
            ftf_cluster_config::ftf_cluster_config_set_timeout_ms(c, which as u32, 300),
            FTF_OK
        );
    }
    for n in [8, 2, 1] {
        let forest = new_forest(n);
        let (cp, fp) = (c as usize, forest as usize);
        // Refused at once; before the check it tried the endpoint (FTF_UNREACHABLE).
        let (rc, m) = common::within(Duration::from_secs(30), move || {
            let mut m = ptr::null();
            let rc = ftf_cluster::ftf_cluster_join(cp as Cfg, fp as *const ftf_forest, &mut m);
            (rc, m as usize)
        });
        assert_eq!(rc, FTF_INVALID_ARGUMENT, "forest of {n}, config n = 4");
        assert_eq!(m, 0, "no handle on an error");
        assert_eq!(ftf_forest::ftf_forest_start(forest), FTF_OK);
        assert_eq!(ftf_forest::ftf_forest_stop(forest), FTF_OK);
        ftf_forest::ftf_forest_free(forest);
    }
    ftf_cluster_config::ftf_cluster_config_free(c);
}

#[test]
fn join_against_an_unreachable_endpoint_is_bounded() {
    let c = valid("http://127.0.0.1:1");
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_set_timeout_ms(
            c,
            FTF_CLUSTER_TIMEOUT_CONNECT as u32,
            300
        ),
        FTF_OK
    );
    assert_eq!(
        ftf_cluster_config::ftf_cluster_config_set_timeout_ms(
            c,
            FTF_CLUSTER_TIMEOUT_REQUEST as u32,
            300
        ),
        FTF_OK
    );
    let forest = new_forest(4);
    let (cp, fp) = (c as usize, forest as usize);
    // The join's own bound is 300 ms + 13 x 300 ms; the watchdog is far above it.
    let (rc, m) = common::within(Duration::from_secs(30), move || {
        let mut m = ptr::null();
        let rc = ftf_cluster::ftf_cluster_join(cp as Cfg, fp as *const ftf_forest, &mut m);
        (rc, m as usize)
    });
    assert_eq!(rc, FTF_UNREACHABLE);
    assert_eq!(m, 0, "no handle on an error");
    // Nothing stays attached: the forest starts.
    assert_eq!(ftf_forest::ftf_forest_start(forest), FTF_OK);
    assert_eq!(ftf_forest::ftf_forest_stop(forest), FTF_OK);
    ftf_forest::ftf_forest_free(forest);
    ftf_cluster_config::ftf_cluster_config_free(c);
}

#[test]
fn result_codes_of_the_cluster_have_names() {
    for (code, name) in [
        (500, "FTF_UNREACHABLE"),
        (501, "FTF_CONFIG_MISMATCH"),
        (502, "FTF_RANK_HELD"),
        (503, "FTF_ZOMBIE_REJOIN"),
        (504, "FTF_UNAVAILABLE"),
        (505, "FTF_AMBIGUOUS"),
        (506, "FTF_SELF_FENCED"),
        (507, "FTF_LEASE_LOST"),
    ] {
        // SAFETY: static NUL-terminated strings.
        let s = unsafe { std::ffi::CStr::from_ptr(ftforest::result::ftf_result_name(code)) };
        assert_eq!(s.to_str().unwrap(), name);
    }
}
