//! The Rust side of `make bench-c`: the same begin + end pair as `examples/c/bench.c`, timed
//! the same way (best of 7 rounds of `iterations` pairs, CLOCK_MONOTONIC), through
//! `Tracker::begin_token` / `end_token` (what `ftf_op_begin` / `ftf_op_end` wrap) and the
//! guard API, on the tracker type the C library uses (`Tracker<FfiWait>` is private, so a
//! `Tracker<StdWait>`: the same code, another wait strategy that the hot path never calls).
//!
//! Prints one line per path, `RUST <name> <ns>`, which `scripts/bench-c.sh` reads.
//!
//!   cargo run --release -p ftforest-ffi --example rust_hot_path [iterations]
#![allow(clippy::std_instead_of_core)] // std-only bench program

use std::hint::black_box;
use std::time::Instant;

use ftforest_core::{StdWait, Tracker};

fn best_of_7(iterations: u64, mut pair: impl FnMut()) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..7 {
        let start = Instant::now();
        for _ in 0..iterations {
            pair();
        }
        let ns = start.elapsed().as_nanos() as f64 / iterations as f64;
        best = best.min(ns);
    }
    best
}

fn main() {
    let iterations = std::env::args()
        .nth(1)
        .and_then(|a| a.parse::<u64>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(5_000_000);
    let t: Tracker<StdWait> = Tracker::with_waiter(StdWait::new());
    let t = black_box(&t);
    let token = best_of_7(iterations, || {
        if let Ok(tok) = black_box(t.begin_token()) {
            let _ = black_box(t.end_token(tok));
        }
    });
    let guard = best_of_7(iterations, || drop(black_box(t.begin())));
    println!("RUST token {token:.2}");
    println!("RUST guard {guard:.2}");
}
