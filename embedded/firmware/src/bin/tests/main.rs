//! The on-target test suite: ftforest-core with its other "thread" being the timer
//! interrupt. One image per target; scripts/test-embedded.sh runs each under QEMU and
//! fails when the image exits non-zero (a failed check, a panic, a fault or the watchdog).
//!
//! Interrupt-context rules under test (embedded/README.md, "Interrupt context"):
//! the handler only calls verbs that never wait for `main` (begin/end, pause/resume of a
//! tracker `main` does not pause, health transitions, table reads, lock try-acquire/release
//! of partitions `main` does not acquire, queue readers); `main` may wait (`pause_wait`,
//! `wait_quiescent`) because the handler always runs to completion.
#![no_std]
#![no_main]

mod coordinator;
mod cycles;
mod health;
mod lock_queue;
mod tracker_isr;

use ftforest_firmware::{board, harness, stack};

ftforest_firmware::entry!(main);

fn main() -> ! {
    stack::paint();
    board::start_timer();
    harness::run(
        env!("TARGET_SUITE"),
        &[
            (
                "tracker: main begins/ends, the timer interrupt pauses/resumes",
                tracker_isr::main_ops_isr_pauses,
            ),
            (
                "tracker: the interrupt begins/ends, main pauses and waits",
                tracker_isr::isr_ops_main_pauses,
            ),
            (
                "tracker: main's pause_wait outlasts an op the interrupt holds open",
                tracker_isr::isr_holds_op,
            ),
            (
                "tracker: counts stay exact under interrupt RMWs",
                tracker_isr::counts_exact_under_interrupts,
            ),
            (
                "health: transitions from main and interrupt, counts, quorum",
                health::table_and_quorum,
            ),
            (
                "lock: exact refusals, interrupt acquires other partitions",
                lock_queue::lock,
            ),
            (
                "queue: FIFO, duplicates, full; interrupt reads lock-free",
                lock_queue::queue,
            ),
            (
                "coordinator: phi mode needs the phi-accrual feature",
                coordinator::phi_needs_its_feature,
            ),
            (
                "coordinator: fenced recovery needs the fence feature",
                coordinator::fence_needs_its_feature,
            ),
            (
                "coordinator: 64 partitions, timer clock, two recoveries",
                coordinator::recovers_on_timer_clock,
            ),
            ("cycles: begin+end (instruction count)", cycles::report),
        ],
    )
}
