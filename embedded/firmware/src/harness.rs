//! A tiny test runner for on-target tests: each test is a `fn() -> TestResult`; the runner
//! prints `test NAME ... ok` / `FAILED`, the painted stack depth, and the closing
//! `N passed, M failed` line, then exits with 0 only if every test passed.

use crate::{arm_watchdog, board, println, set_hook, stack};

/// Where and why a check failed.
#[derive(Copy, Clone, Debug)]
pub struct Failure {
    /// Source file of the check.
    pub file: &'static str,
    /// Line of the check.
    pub line: u32,
    /// What was expected.
    pub msg: &'static str,
}

/// The result of one test.
pub type TestResult = Result<(), Failure>;

/// A named test.
pub type Test = (&'static str, fn() -> TestResult);

/// Fail the current test with `msg` unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $msg:expr) => {
        if !$cond {
            return Err($crate::harness::Failure {
                file: file!(),
                line: line!(),
                msg: $msg,
            });
        }
    };
}

/// Ticks a single test may take before the watchdog fails the run (1 s of emulated time).
pub const TEST_BUDGET_TICKS: u32 = 10_000;

/// Run `tests` in order, report, and exit.
pub fn run(suite: &str, tests: &[Test]) -> ! {
    println!("firmware suite {} on {}", suite, board::BOARD);
    let (mut passed, mut failed) = (0u32, 0u32);
    for (name, f) in tests {
        arm_watchdog(TEST_BUDGET_TICKS);
        let r = f();
        set_hook(None);
        arm_watchdog(0);
        match r {
            Ok(()) => {
                passed += 1;
                println!("test {} ... ok", name);
            }
            Err(e) => {
                failed += 1;
                println!(
                    "test {} ... FAILED at {}:{}: {}",
                    name, e.file, e.line, e.msg
                );
            }
        }
    }
    println!("max stack depth (painted): {} bytes", stack::max_depth());
    println!("{} passed, {} failed", passed, failed);
    board::exit(if failed == 0 { 0 } else { 1 })
}
