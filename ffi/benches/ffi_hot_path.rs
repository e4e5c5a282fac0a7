//! The FFI hot path vs the same work in Rust, one thread, one tracker:
//!
//! * `rust/token`: `Tracker::begin_token` + `end_token` (what the C ABI wraps);
//! * `rust/guard`: `Tracker::begin` + guard drop (idiomatic Rust);
//! * `ffi/extern`: `ftf_op_begin` + `ftf_op_end` called through the `extern "C"` functions
//!   (panic boundary, NULL checks, token conversion) from Rust, without the dynamic-library
//!   call that a C caller adds (measured by `make bench-c`).
//!
//! Run: `cargo bench -p ftforest-ffi --bench ffi_hot_path`.
#![allow(clippy::std_instead_of_core)] // std-only test code

use std::hint::black_box;
use std::ptr;

use criterion::{criterion_group, criterion_main, Criterion};
use ftforest::result::ftf_result;
use ftforest::tracker::{ftf_op_token, ftf_tracker};
use ftforest_core::{StdWait, Tracker};

fn hot_path(c: &mut Criterion) {
    let mut g = c.benchmark_group("begin_end");
    let tracker: Tracker<StdWait> = Tracker::with_waiter(StdWait::new());
    g.bench_function("rust/token", |b| {
        b.iter(|| {
            let tok = tracker.begin_token();
            if let Ok(tok) = black_box(tok) {
                let _ = black_box(tracker.end_token(tok));
            }
        })
    });
    g.bench_function("rust/guard", |b| {
        b.iter(|| {
            let guard = tracker.begin();
            drop(black_box(guard));
        })
    });
    let mut t = ptr::null();
    assert_eq!(ftf_tracker::ftf_tracker_new(&mut t), ftf_result::FTF_OK);
    g.bench_function("ffi/extern", |b| {
        b.iter(|| {
            let mut tok = ftf_op_token::default();
            if ftf_tracker::ftf_op_begin(black_box(t), &mut tok) == ftf_result::FTF_OK {
                black_box(ftf_tracker::ftf_op_end(t, tok));
            }
        })
    });
    g.finish();
    ftf_tracker::ftf_tracker_free(t);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = hot_path
}
criterion_main!(benches);
