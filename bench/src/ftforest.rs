//! ftforest's [`Tracker`] behind the common traits.
//!
//! * [`FtGuard`]: `begin()` → [`OpGuard`], ended by drop; pauses with [`StdWait`] (spin with
//!   backoff, then park): the configuration a std user gets.
//! * [`FtToken`]: `begin_token()` / `end_token()`, the C ABI path (the token names the stripe
//!   and the tracker, and `end_token` checks both).
//! * [`FtSpinGuard`]: the guard API with [`SpinWait`] (never parks: the no_std default), shown
//!   in the wake-latency table only, as the lower bound of what waiting can cost.

use ftforest_core::{
    Instant, OpGuard, OpToken, PauseGuard, SpinWait, StdClock, StdWait, Tracker, WaitOutcome,
};

use crate::{PausePeer, Peer};

/// The default stripe count of `Tracker` (what `Tracker::new()` gives).
const STRIPES: usize = 8;

fn pause_far<W: ftforest_core::WaitStrategy, const S: usize>(
    t: &Tracker<W, S>,
) -> PauseGuard<'_, W, S> {
    // No deadline (`Instant::MAX`), like the peers' `write()`: the clock is read only if the
    // pause has to wait, so an idle pause + resume reads no clock.
    match t.pause_wait(&StdClock, Instant::MAX) {
        Ok((g, WaitOutcome::Quiescent)) => g,
        Ok((_, other)) => panic!("bench pause ended {other:?}, not quiescent"),
        Err(e) => panic!("bench pause refused: {e}"),
    }
}

/// ftforest `Tracker` with [`StdWait`], guard API.
#[derive(Debug)]
pub struct FtGuard(Tracker<StdWait, STRIPES>);

impl Peer for FtGuard {
    const NAME: &'static str = "ftforest_guard";
    type Op<'a> = OpGuard<'a, StdWait, STRIPES>;

    fn create() -> Self {
        FtGuard(Tracker::with_waiter(StdWait::new()))
    }

    #[inline]
    fn begin(&self) -> Option<OpGuard<'_, StdWait, STRIPES>> {
        self.0.begin().ok()
    }

    #[inline]
    fn end(&self, op: OpGuard<'_, StdWait, STRIPES>) {
        drop(op);
    }
}

impl PausePeer for FtGuard {
    type Pause<'a> = PauseGuard<'a, StdWait, STRIPES>;

    fn pause_wait(&self) -> PauseGuard<'_, StdWait, STRIPES> {
        pause_far(&self.0)
    }

    fn resume(&self, p: PauseGuard<'_, StdWait, STRIPES>) {
        drop(p);
    }
}

/// ftforest `Tracker` with [`StdWait`], token API (`begin_token` / `end_token`).
#[derive(Debug)]
pub struct FtToken(Tracker<StdWait, STRIPES>);

impl Peer for FtToken {
    const NAME: &'static str = "ftforest_token";
    type Op<'a> = OpToken;

    fn create() -> Self {
        FtToken(Tracker::with_waiter(StdWait::new()))
    }

    #[inline]
    fn begin(&self) -> Option<OpToken> {
        self.0.begin_token().ok()
    }

    #[inline]
    fn end(&self, op: OpToken) {
        let ended = self.0.end_token(op);
        debug_assert!(ended.is_ok());
    }
}

/// ftforest `Tracker` with [`SpinWait`] (no parking), guard API.
#[derive(Debug)]
pub struct FtSpinGuard(Tracker<SpinWait, STRIPES>);

impl Peer for FtSpinGuard {
    const NAME: &'static str = "ftforest_spin";
    type Op<'a> = OpGuard<'a, SpinWait, STRIPES>;

    fn create() -> Self {
        FtSpinGuard(Tracker::new())
    }

    #[inline]
    fn begin(&self) -> Option<OpGuard<'_, SpinWait, STRIPES>> {
        self.0.begin().ok()
    }

    #[inline]
    fn end(&self, op: OpGuard<'_, SpinWait, STRIPES>) {
        drop(op);
    }
}

impl PausePeer for FtSpinGuard {
    type Pause<'a> = PauseGuard<'a, SpinWait, STRIPES>;

    fn pause_wait(&self) -> PauseGuard<'_, SpinWait, STRIPES> {
        pause_far(&self.0)
    }

    fn resume(&self, p: PauseGuard<'_, SpinWait, STRIPES>) {
        drop(p);
    }
}

/// ftforest `Tracker` with [`StdWait`], `begin_on(0)`: the guard API with the stripe given
/// by the caller instead of the thread-local round-robin choice. Shown in the 1-thread table
/// only, to separate the cost of the thread-local lookup from the atomic pair.
#[derive(Debug)]
pub struct FtBeginOn(Tracker<StdWait, STRIPES>);

impl Peer for FtBeginOn {
    const NAME: &'static str = "ftforest_begin_on";
    type Op<'a> = OpGuard<'a, StdWait, STRIPES>;

    fn create() -> Self {
        FtBeginOn(Tracker::with_waiter(StdWait::new()))
    }

    #[inline]
    fn begin(&self) -> Option<OpGuard<'_, StdWait, STRIPES>> {
        self.0.begin_on(0).ok()
    }

    #[inline]
    fn end(&self, op: OpGuard<'_, StdWait, STRIPES>) {
        drop(op);
    }
}
