/*
 * libftforest in a bare-metal C firmware (no OS, no allocator, no C library): the no_std
 * staticlib built with `cargo build -p ftforest-ffi --no-default-features --target
 * thumbv7em-none-eabihf --release`, the same include/ftforest.h with FTF_BARE_METAL defined.
 * Runs under QEMU mps2-an386 (scripts/test-embedded.sh); prints "N passed, M failed" through
 * semihosting and exits non-zero on any failure.
 *
 * The SysTick interrupt (every 100 us of emulated time; one tick = 1 ms on the library clock)
 * is the second context: it runs forest operations (ftf_op_begin/ftf_op_end) while main
 * pauses the tracker, and it drives the clock that the coordinator and the waits use.
 * Interrupt-context rules: embedded/README.md.
 */
#define FTF_BARE_METAL 1
#include "ftforest.h"
#include "board.h"

#ifdef FTF_HOSTED
#error "FTF_BARE_METAL must select the bare-metal API"
#endif

#define N 8
#define MS 1000000ull

static volatile uint32_t ticks;
static const ftf_tracker *tracker;
static volatile uint32_t isr_ops, isr_refused, isr_bad;

void SysTick_Handler(void) {
    ticks = ticks + 1;
    if (ticks > 20000) { /* watchdog: 2 s of emulated time */
        board_puts("watchdog: the firmware did not finish\n");
        board_exit(3);
    }
    if (!tracker) return;
    for (int i = 0; i < 3; i++) {
        ftf_op_token tok;
        ftf_result r = ftf_op_begin(tracker, &tok);
        if (r == FTF_OK) {
            if (ftf_op_end(tracker, tok) != FTF_OK) isr_bad = isr_bad + 1;
            isr_ops = isr_ops + 1;
        } else if (r == FTF_PAUSED) {
            isr_refused = isr_refused + 1;
        } else {
            isr_bad = isr_bad + 1;
        }
    }
}

/* The library clock: the tick count in milliseconds. */
static uint64_t clock_ns(void *userdata) {
    (void)userdata;
    return (uint64_t)ticks * MS;
}

/* The C wait/wake pair on one core: sleep until the next interrupt (the word can only change
   in an interrupt handler while main waits); wake has nothing to do. */
static void wait_wfi(void *userdata, uint32_t *addr, uint32_t expected, uint64_t deadline_ns) {
    (void)userdata;
    if (__atomic_load_n(addr, __ATOMIC_ACQUIRE) == expected && clock_ns(0) < deadline_ns)
        __asm volatile("wfi");
}
static void wake_none(void *userdata, uint32_t *addr) { (void)userdata; (void)addr; }

static void wait_ticks(uint32_t n) {
    uint32_t start = ticks;
    while (ticks - start < n) __asm volatile("wfi");
}

static int failures, passes;
#define CHECK(c) do { if (!(c)) { board_puts("FAILED at main.c:"); board_put_u32(__LINE__); \
    board_puts(": " #c "\n"); return 1; } } while (0)

static _Alignas(8) uint8_t tracker_mem[384];
static _Alignas(8) uint8_t table_mem[256];
static _Alignas(8) uint8_t lock_mem[256];
static _Alignas(8) uint8_t queue_mem[256];
static _Alignas(8) uint8_t builder_mem[512];
static _Alignas(8) uint8_t config_mem[512];
/* 4795 B for N = 8 since issue 8's fence state (4608 before); some room to spare. */
static _Alignas(8) uint8_t coord_mem[5120];

static int test_tracker(void) {
    ftf_wait_callbacks cb = { 0, wait_wfi, wake_none, 0 };
    const ftf_tracker *t;
    CHECK(ftf_tracker_storage_size() <= sizeof tracker_mem);
    CHECK(ftf_tracker_init(tracker_mem, 4, FTF_WAIT_SPIN, 0, &t) == FTF_BUFFER_TOO_SMALL);
    CHECK(ftf_tracker_init(tracker_mem, sizeof tracker_mem, FTF_WAIT_PARK, 0, &t)
          == FTF_INVALID_ARGUMENT);
    CHECK(ftf_tracker_init(tracker_mem, sizeof tracker_mem, FTF_WAIT_CALLBACKS, &cb, &t) == FTF_OK);
    tracker = t; /* the interrupt starts running operations */
    for (int round = 0; round < 5; round++) {
        wait_ticks(2);
        ftf_pause_token p;
        CHECK(ftf_tracker_pause(t, &p) == FTF_OK);
        CHECK(ftf_tracker_wait_quiescent(t, 50 * MS) == FTF_OK);
        uint32_t ops = isr_ops, refused = isr_refused;
        wait_ticks(2);
        CHECK(isr_ops == ops && isr_refused > refused);
        CHECK(ftf_tracker_resume(t, p) == FTF_OK);
        CHECK(ftf_tracker_resume(t, p) == FTF_NOT_PAUSED);
        wait_ticks(1);
        CHECK(isr_ops > ops);
    }
    CHECK(isr_bad == 0);
    return 0;
}

static int test_table(void) {
    const ftf_partition_table *tb;
    CHECK(ftf_partition_table_storage_size(N) <= sizeof table_mem);
    CHECK(ftf_partition_table_init(table_mem, sizeof table_mem, 0, &tb) == FTF_INVALID_ARGUMENT);
    CHECK(ftf_partition_table_init(table_mem, sizeof table_mem, N, &tb) == FTF_OK);
    ftf_transition tr;
    CHECK(ftf_partition_table_transition(tb, 1, FTF_HEALTH_ANY, FTF_HEALTH_FAILED,
                                         FTF_INCARNATION_ANY, &tr) == FTF_INVALID_TRANSITION);
    for (uint32_t r = 0; r < 4; r++)
        CHECK(ftf_partition_table_transition(tb, r, FTF_HEALTH_HEALTHY, FTF_HEALTH_SUSPECTED,
                                             FTF_INCARNATION_ANY, &tr) == FTF_OK);
    CHECK(!ftf_partition_table_has_quorum(tb));
    CHECK(ftf_partition_table_transition(tb, 0, FTF_HEALTH_SUSPECTED, FTF_HEALTH_HEALTHY,
                                         FTF_INCARNATION_ANY, &tr) == FTF_OK);
    CHECK(ftf_partition_table_has_quorum(tb));
    ftf_partition_table_deinit(tb);
    return 0;
}

static int test_lock_queue(void) {
    const ftf_recovery_lock *l;
    const ftf_recovery_queue *q;
    CHECK(ftf_recovery_lock_storage_size(N) <= sizeof lock_mem);
    CHECK(ftf_recovery_lock_init(lock_mem, sizeof lock_mem, N, 1, FTF_WAIT_SPIN, 0, &l) == FTF_OK);
    ftf_permit_token p, p2;
    CHECK(ftf_recovery_lock_try_acquire(l, 2, true, &p) == FTF_OK);
    CHECK(ftf_recovery_lock_try_acquire(l, 2, true, &p2) == FTF_BUSY);
    CHECK(ftf_recovery_lock_try_acquire(l, 3, true, &p2) == FTF_AT_CAPACITY);
    CHECK(ftf_recovery_lock_release(l, p) == FTF_OK);
    CHECK(ftf_recovery_lock_release(l, p) != FTF_OK);
    ftf_recovery_lock_deinit(l);
    CHECK(ftf_recovery_queue_storage_size(N, 2) <= sizeof queue_mem);
    CHECK(ftf_recovery_queue_init(queue_mem, sizeof queue_mem, N, 2, &q) == FTF_OK);
    CHECK(ftf_recovery_queue_push(q, 5) == FTF_OK);
    CHECK(ftf_recovery_queue_push(q, 5) == FTF_DUPLICATE);
    CHECK(ftf_recovery_queue_push(q, 1) == FTF_OK);
    CHECK(ftf_recovery_queue_push(q, 7) == FTF_FULL);
    uint32_t r;
    CHECK(ftf_recovery_queue_pop(q, &r) == FTF_OK && r == 5);
    ftf_recovery_queue_deinit(q);
    return 0;
}

static int test_coordinator(void) {
    ftf_config_builder *b;
    const ftf_config *cfg;
    const ftf_coordinator *c;
    CHECK(ftf_config_builder_init(builder_mem, sizeof builder_mem, &b) == FTF_OK);
    CHECK(ftf_config_builder_set_failure_confirmation_ns(b, 20 * MS) == FTF_OK);
    CHECK(ftf_config_builder_set_max_concurrent(b, 2) == FTF_OK);
    CHECK(ftf_config_builder_set_quiescence_poll_ns(b, 1 * MS) == FTF_OK);
    CHECK(ftf_config_builder_set_max_concurrent(b, 0) == FTF_OK);
    CHECK(ftf_config_builder_build_into(b, config_mem, sizeof config_mem, &cfg) == FTF_INVALID_CONFIG);
    CHECK(ftf_config_builder_set_max_concurrent(b, 2) == FTF_OK);
    CHECK(ftf_config_builder_build_into(b, config_mem, sizeof config_mem, &cfg) == FTF_OK);
    CHECK(ftf_coordinator_storage_size(N) <= sizeof coord_mem);
    uint64_t now = clock_ns(0);
    CHECK(ftf_coordinator_init(coord_mem, sizeof coord_mem, cfg, N, tracker, now, &c) == FTF_OK);

    uint32_t outcome, refused_before = isr_refused, phases = 0, finished = 0;
    for (int i = 0; i < 2; i++)
        CHECK(ftf_coordinator_report(c, now, FTF_REPORT_BARRIER_TIMEOUT, 3,
                                     FTF_INCARNATION_ANY, &outcome) == FTF_OK);
    ftf_phase_job job = { 0, 0, 0, 0, 0 };
    uint64_t job_due = 0;
    int have_job = 0;
    while (!finished) {
        __asm volatile("wfi");
        now = clock_ns(0);
        uint64_t due;
        if (ftf_coordinator_poll_timeout(c, &due) == FTF_OK && due <= now)
            CHECK(ftf_coordinator_tick(c, now) == FTF_OK);
        if (have_job && job_due <= now) {
            CHECK(ftf_coordinator_phase_done(c, now, job.rank, job.attempt, job.phase, true) == FTF_OK);
            have_job = 0;
        }
        ftf_action a;
        while (ftf_coordinator_poll_action(c, &a) == FTF_OK) {
            if (a.kind == FTF_ACTION_RUN_PHASE) {
                CHECK(!have_job);
                CHECK(ftf_tracker_is_paused(tracker) && ftf_tracker_in_flight(tracker) == 0);
                job = a.job;
                job_due = now + 3 * MS;
                have_job = 1;
                phases++;
            }
            CHECK(a.kind != FTF_ACTION_CANCEL_RECOVERY);
        }
        ftf_event e;
        while (ftf_coordinator_poll_event(c, &e) == FTF_OK)
            if (e.kind == FTF_EVENT_RECOVERY_FINISHED) {
                CHECK(e.rank == 3 && e.success);
                finished = 1;
            }
    }
    uint32_t h, inc;
    CHECK(ftf_coordinator_health(c, 3, &h, &inc) == FTF_OK && h == FTF_HEALTH_HEALTHY);
    CHECK(phases == 4);
    CHECK(isr_refused > refused_before); /* the forest was paused during the recovery */
    ftf_coordinator_deinit(c);
    CHECK(!ftf_tracker_is_paused(tracker));
    return 0;
}

static void run(const char *name, int (*f)(void)) {
    if (f() == 0) { passes++; board_puts("test "); board_puts(name); board_puts(" ... ok\n"); }
    else { failures++; board_puts("test "); board_puts(name); board_puts(" ... FAILED\n"); }
}

int main(void) {
    ftf_clock_set(clock_ns, 0);
    board_start_systick(2500); /* 25 MHz core clock: 100 us */
    board_puts("C firmware on mps2-an386 linking the bare-metal libftforest\n");
    board_puts("storage bytes: tracker "); board_put_u32(ftf_tracker_storage_size());
    board_puts(", table(8) "); board_put_u32(ftf_partition_table_storage_size(N));
    board_puts(", lock(8) "); board_put_u32(ftf_recovery_lock_storage_size(N));
    board_puts(", queue(8,2) "); board_put_u32(ftf_recovery_queue_storage_size(N, 2));
    board_puts(", config "); board_put_u32(ftf_config_storage_size());
    board_puts(", coordinator(8) "); board_put_u32(ftf_coordinator_storage_size(N));
    board_puts("\n");
    run("C: tracker (interrupt ops, main pauses, wait/wake pair)", test_tracker);
    run("C: partition table and quorum", test_table);
    run("C: recovery lock and queue", test_lock_queue);
    run("C: poll-driven coordinator recovers a partition", test_coordinator);
    board_stop_systick();
    board_put_u32((uint32_t)passes); board_puts(" passed, ");
    board_put_u32((uint32_t)failures); board_puts(" failed\n");
    return failures ? 1 : 0;
}
