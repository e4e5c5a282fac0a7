//! One-thread begin + end pairs outside criterion, for quick A/B checks of the hot paths.
//!
//! * `pair_loop <peer> <iters>`: run `iters` pairs of one peer, nothing else; for
//!   load-independent instruction counts (`valgrind --tool=callgrind`). Run it once with 0
//!   iterations and subtract to remove the start-up cost.
//! * `pair_loop time [rounds]`: every peer in turn, `rounds` rounds (each runs 2 M pairs of
//!   every peer in turn), and print each peer's fastest round in ns per pair and its ratio to the floor's. The
//!   fastest round is the one least disturbed by other load on a shared machine.
//!
//! Peers: `floor`, `guard`, `token`, `begin_on`, `token_busy` (the token API with two other
//! operations in flight on every stripe).

use core::hint::black_box;
use std::time::Instant;

use ftforest_bench::{harness, Floor, FtBeginOn, FtGuard, FtToken, Peer};
use ftforest_core::{OpToken, StdWait, Tracker};

/// The token API on a tracker whose every stripe already has two operations in flight
/// (e.g. a C caller holding several operations per thread): `end_token` then never sees a
/// count of 1.
struct TokenBusy(Tracker<StdWait, 8>);

impl Peer for TokenBusy {
    const NAME: &'static str = "token_busy";
    type Op<'a> = OpToken;

    fn create() -> Self {
        let t = Tracker::with_waiter(StdWait::new());
        for i in 0..16 {
            // Kept in flight for the life of the process.
            if let Ok(g) = t.begin_on(i) {
                let _token = g.into_token();
            }
        }
        TokenBusy(t)
    }

    #[inline]
    fn begin(&self) -> Option<OpToken> {
        self.0.begin_token().ok()
    }

    #[inline]
    fn end(&self, op: OpToken) {
        let _ = self.0.end_token(op);
    }
}

fn run<P: Peer>(iters: u64) {
    let p = P::create();
    let p = black_box(&p);
    for _ in 0..iters {
        harness::pair(p);
    }
}

/// One round of `ITERS` pairs on `p`, in ns per pair.
fn round<P: Peer>(p: &P) -> f64 {
    const ITERS: u32 = 2_000_000;
    let p = black_box(p);
    let t0 = Instant::now();
    for _ in 0..ITERS {
        harness::pair(p);
    }
    t0.elapsed().as_secs_f64() * 1e9 / f64::from(ITERS)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let peer = args.next().unwrap_or_default();
    let n: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    match peer.as_str() {
        "floor" => run::<Floor>(n),
        "guard" => run::<FtGuard>(n),
        "token" => run::<FtToken>(n),
        "begin_on" => run::<FtBeginOn>(n),
        "token_busy" => run::<TokenBusy>(n),
        "time" => {
            // Rounds interleave the peers, so a burst of load hits them alike.
            let (f, g, t, b, tb) = (
                Floor::create(),
                FtGuard::create(),
                FtToken::create(),
                FtBeginOn::create(),
                TokenBusy::create(),
            );
            let mut best = [f64::INFINITY; 5];
            for _ in 0..n.min(1_000) {
                let now = [round(&f), round(&g), round(&t), round(&b), round(&tb)];
                for (b, x) in best.iter_mut().zip(now) {
                    *b = b.min(x);
                }
            }
            for (name, ns) in ["floor", "guard", "token", "begin_on", "token_busy"].iter().zip(best) {
                println!("{name:>8} {ns:6.2} ns  {:4.2}x floor", ns / best[0]);
            }
        }
        _ => eprintln!("usage: pair_loop floor|guard|token|begin_on|token_busy <iters> | pair_loop time [rounds]"),
    }
}
