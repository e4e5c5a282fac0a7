/* ftf_tracker: every entry point, misuse, wait strategies (incl. a C condvar wait/wake pair). */
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#include "harness.h"

static const ftf_tracker *new_tracker(void) {
    const ftf_tracker *t = NULL;
    CHECK_RC(ftf_tracker_new(&t), FTF_OK);
    CHECK(t != NULL);
    return t;
}

TEST(begin_end_pause_resume) {
    const ftf_tracker *t = new_tracker();
    ftf_op_token op;
    CHECK_RC(ftf_op_begin(t, &op), FTF_OK);
    CHECK(op.tracker_id == ftf_tracker_id(t));
    CHECK(ftf_tracker_in_flight(t) == 1);
    ftf_pause_token p;
    CHECK_RC(ftf_tracker_pause(t, &p), FTF_OK);
    CHECK(ftf_tracker_is_paused(t));
    ftf_op_token rejected = {0, 0};
    CHECK_RC(ftf_op_begin(t, &rejected), FTF_PAUSED);
    CHECK(rejected.tracker_id == 0); /* out-param untouched on error */
    CHECK_RC(ftf_tracker_wait_quiescent(t, 1000000), FTF_TIMEOUT);
    CHECK_RC(ftf_op_end(t, op), FTF_OK);
    CHECK_RC(ftf_tracker_wait_quiescent(t, 0), FTF_OK);
    CHECK(ftf_tracker_is_quiescent(t));
    CHECK_RC(ftf_tracker_resume(t, p), FTF_OK);
    CHECK(!ftf_tracker_is_paused(t));
    CHECK_RC(ftf_op_begin_on(t, 7, &op), FTF_OK);
    CHECK(op.stripe == 7);
    CHECK_RC(ftf_op_end(t, op), FTF_OK);
    CHECK_RC(ftf_op_begin_wait(t, 0, &op), FTF_OK);
    CHECK_RC(ftf_op_end(t, op), FTF_OK);
    ftf_tracker_free(t);
}

TEST(misuse_is_reported) {
    const ftf_tracker *t = new_tracker();
    const ftf_tracker *other = new_tracker();
    ftf_op_token op;
    ftf_pause_token p;
    /* end without begin: nothing in flight on that stripe */
    ftf_op_token never = {ftf_tracker_id(t), 0};
    CHECK_RC(ftf_op_end(t, never), FTF_NOT_IN_FLIGHT);
    /* resume without pause */
    ftf_pause_token none = {ftf_tracker_id(t), 0, 0};
    CHECK_RC(ftf_tracker_resume(t, none), FTF_NOT_PAUSED);
    /* double end, double resume */
    CHECK_RC(ftf_op_begin(t, &op), FTF_OK);
    CHECK_RC(ftf_op_end(t, op), FTF_OK);
    CHECK_RC(ftf_op_end(t, op), FTF_NOT_IN_FLIGHT);
    CHECK_RC(ftf_tracker_pause(t, &p), FTF_OK);
    CHECK_RC(ftf_tracker_resume(t, p), FTF_OK);
    CHECK_RC(ftf_tracker_resume(t, p), FTF_NOT_PAUSED);
    CHECK_RC(ftf_tracker_wait_quiescent(t, 0), FTF_NOT_PAUSED);
    /* tokens of another tracker, forged stripes */
    CHECK_RC(ftf_op_begin(t, &op), FTF_OK);
    CHECK_RC(ftf_op_end(other, op), FTF_FOREIGN_HANDLE);
    ftf_op_token forged = op;
    forged.stripe = 100000;
    CHECK_RC(ftf_op_end(t, forged), FTF_FOREIGN_HANDLE);
    CHECK_RC(ftf_op_end(t, op), FTF_OK);
    CHECK_RC(ftf_tracker_pause(t, &p), FTF_OK);
    CHECK_RC(ftf_tracker_resume(other, p), FTF_FOREIGN_HANDLE);
    CHECK_RC(ftf_tracker_resume(t, p), FTF_OK);
    /* too many pausers */
    ftf_pause_token many[FTF_MAX_PAUSERS];
    for (int i = 0; i < FTF_MAX_PAUSERS; i++) {
        CHECK_RC(ftf_tracker_pause(t, &many[i]), FTF_OK);
    }
    CHECK(ftf_tracker_pause_depth(t) == FTF_MAX_PAUSERS);
    CHECK_RC(ftf_tracker_pause(t, &p), FTF_TOO_MANY_PAUSERS);
    for (int i = 0; i < FTF_MAX_PAUSERS; i++) {
        CHECK_RC(ftf_tracker_resume(t, many[i]), FTF_OK);
    }
    ftf_tracker_free(other);
    ftf_tracker_free(t);
}

/* The documented op-token contract: a token names (tracker, stripe), so a second end is
   detected only while its stripe has nothing else in flight. */
TEST(double_end_on_an_idle_stripe_is_not_in_flight) {
    const ftf_tracker *t = new_tracker();
    ftf_op_token a;
    CHECK_RC(ftf_op_begin_on(t, 2, &a), FTF_OK);
    CHECK_RC(ftf_op_end(t, a), FTF_OK);
    CHECK_RC(ftf_op_end(t, a), FTF_NOT_IN_FLIGHT); /* the documented code */
    CHECK(ftf_tracker_in_flight(t) == 0);
    ftf_tracker_free(t);
}

TEST(double_end_on_a_busy_stripe_ends_another_count_without_corruption) {
    const ftf_tracker *t = new_tracker();
    ftf_op_token a, b;
    CHECK_RC(ftf_op_begin_on(t, 2, &a), FTF_OK);
    CHECK_RC(ftf_op_begin_on(t, 2, &b), FTF_OK); /* b still "runs" */
    CHECK(a.tracker_id == b.tracker_id && a.stripe == b.stripe); /* same value */
    CHECK_RC(ftf_op_end(t, a), FTF_OK);
    CHECK_RC(ftf_op_end(t, a), FTF_OK); /* undetectable: ends b's count */
    /* the documented hazard: a pause reports quiescence while b runs */
    ftf_pause_token p;
    bool q = false;
    CHECK_RC(ftf_tracker_pause_wait(t, 0, &p, &q), FTF_OK);
    CHECK(q);
    CHECK_RC(ftf_op_end(t, b), FTF_NOT_IN_FLIGHT); /* b's own end is the refused one */
    /* the pause state is intact: still paused, begins refused, resume reopens */
    CHECK(ftf_tracker_is_paused(t) && ftf_tracker_is_quiescent(t));
    CHECK_RC(ftf_op_begin_on(t, 2, &a), FTF_PAUSED);
    CHECK_RC(ftf_tracker_resume(t, p), FTF_OK);
    CHECK_RC(ftf_op_begin_on(t, 2, &a), FTF_OK);
    CHECK(ftf_tracker_in_flight(t) == 1);
    CHECK_RC(ftf_op_end(t, a), FTF_OK);
    ftf_tracker_free(t);
}

/* The opt-in checked API: one caller-owned slot per operation, every double end detected. */
TEST(checked_slots_detect_every_double_end) {
    const ftf_tracker *t = new_tracker();
    const ftf_tracker *other = new_tracker();
    ftf_op_slot s1 = {0}, s2 = {0};
    CHECK_RC(ftf_op_begin_checked(t, &s1), FTF_OK);
    CHECK_RC(ftf_op_begin_checked(t, &s2), FTF_OK); /* same thread: same stripe */
    CHECK_RC(ftf_op_begin_checked(t, &s1), FTF_BUSY); /* s1 holds an operation */
    CHECK(ftf_tracker_in_flight(t) == 2);
    CHECK_RC(ftf_op_end_checked(other, &s1), FTF_FOREIGN_HANDLE);
    CHECK_RC(ftf_op_end_checked(t, &s1), FTF_OK);
    CHECK_RC(ftf_op_end_checked(t, &s1), FTF_NOT_IN_FLIGHT); /* detected: s2 is in flight */
    CHECK(ftf_tracker_in_flight(t) == 1);
    ftf_pause_token p;
    bool q = true;
    CHECK_RC(ftf_tracker_pause_wait(t, 0, &p, &q), FTF_OK);
    CHECK(!q); /* s2 still holds the pause back */
    CHECK_RC(ftf_op_begin_checked(t, &s1), FTF_PAUSED);
    CHECK_RC(ftf_op_end_checked(t, &s2), FTF_OK);
    CHECK_RC(ftf_tracker_wait_quiescent(t, 0), FTF_OK);
    CHECK_RC(ftf_tracker_resume(t, p), FTF_OK);
    ftf_op_slot junk = {0x1234};
    CHECK_RC(ftf_op_begin_checked(t, &junk), FTF_INVALID_ARGUMENT);
    CHECK_RC(ftf_op_end_checked(t, &junk), FTF_INVALID_ARGUMENT);
    CHECK_RC(ftf_op_begin_checked(NULL, &s1), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_op_begin_checked(t, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_op_end_checked(NULL, &s1), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_op_end_checked(t, NULL), FTF_NULL_PARAMETER);
    CHECK(ftf_tracker_in_flight(t) == 0);
    ftf_tracker_free(other);
    ftf_tracker_free(t);
}

TEST(null_everywhere) {
    const ftf_tracker *t = new_tracker();
    ftf_op_token op = {0, 0};
    ftf_pause_token p = {0, 0, 0};
    bool q;
    CHECK_RC(ftf_tracker_new(NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_tracker_new_with_wait(FTF_WAIT_PARK, NULL, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_op_begin(NULL, &op), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_op_begin(t, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_op_begin_on(NULL, 0, &op), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_op_begin_on(t, 0, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_op_begin_wait(NULL, 0, &op), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_op_begin_wait(t, 0, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_op_end(NULL, op), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_tracker_pause(NULL, &p), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_tracker_pause(t, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_tracker_pause_wait(NULL, 0, &p, &q), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_tracker_pause_wait(t, 0, NULL, &q), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_tracker_pause_wait(t, 0, &p, NULL), FTF_NULL_PARAMETER);
    CHECK(!ftf_tracker_is_paused(t)); /* nothing was taken by the failed calls */
    CHECK_RC(ftf_tracker_wait_quiescent(NULL, 0), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_tracker_resume(NULL, p), FTF_NULL_PARAMETER);
    CHECK(ftf_tracker_id(NULL) == 0);
    CHECK(!ftf_tracker_is_paused(NULL));
    CHECK(!ftf_tracker_is_quiescent(NULL));
    CHECK(ftf_tracker_in_flight(NULL) == 0);
    CHECK(ftf_tracker_pause_depth(NULL) == 0);
    CHECK(ftf_tracker_clone(NULL) == NULL);
    ftf_tracker_free(NULL);
    ftf_tracker_free(t);
}

TEST(unknown_wait_kind_and_missing_callbacks) {
    const ftf_tracker *t = NULL;
    CHECK_RC(ftf_tracker_new_with_wait(3, NULL, &t), FTF_UNKNOWN_ENUM);
    CHECK_RC(ftf_tracker_new_with_wait(0xFFFFFFFFu, NULL, &t), FTF_UNKNOWN_ENUM);
    CHECK_RC(ftf_tracker_new_with_wait(FTF_WAIT_CALLBACKS, NULL, &t), FTF_NULL_PARAMETER);
    ftf_wait_callbacks half = {NULL, NULL, NULL, NULL};
    CHECK_RC(ftf_tracker_new_with_wait(FTF_WAIT_CALLBACKS, &half, &t), FTF_NULL_PARAMETER);
    CHECK(t == NULL);
    CHECK_RC(ftf_tracker_new_with_wait(FTF_WAIT_SPIN, NULL, &t), FTF_OK);
    ftf_pause_token p;
    bool q = false;
    CHECK_RC(ftf_tracker_pause_wait(t, 1000, &p, &q), FTF_OK);
    CHECK(q);
    CHECK_RC(ftf_tracker_resume(t, p), FTF_OK);
    ftf_tracker_free(t);
}

TEST(clone_and_free_with_operations_in_flight) {
    const ftf_tracker *t = new_tracker();
    const ftf_tracker *c = ftf_tracker_clone(t);
    CHECK(c == t);
    ftf_tracker_free(t);
    ftf_op_token op;
    CHECK_RC(ftf_op_begin(c, &op), FTF_OK); /* the clone keeps it alive */
    ftf_pause_token p;
    CHECK_RC(ftf_tracker_pause(c, &p), FTF_OK);
    /* Documented: freeing the last reference with an operation in flight and a pause held is
       allowed; the tokens become meaningless and nothing leaks (valgrind checks that). */
    ftf_tracker_free(c);
}

/* ---- a C wait strategy: pthread condvar on CLOCK_MONOTONIC ---- */

typedef struct {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int waits;
    int wakes;
    int finalized;
    uint64_t sleep_extra_ns; /* > 0: a callback that "takes too long" */
} cv_waiter;

static void cv_init(cv_waiter *w) {
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&w->mutex, NULL);
    pthread_cond_init(&w->cond, &attr);
    pthread_condattr_destroy(&attr);
    w->waits = w->wakes = w->finalized = 0;
    w->sleep_extra_ns = 0;
}

static void cv_destroy(cv_waiter *w) {
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mutex);
}

static void cv_wait(void *userdata, uint32_t *addr, uint32_t expected, uint64_t deadline_ns) {
    cv_waiter *w = userdata;
    pthread_mutex_lock(&w->mutex);
    w->waits++;
    if (__atomic_load_n(addr, __ATOMIC_SEQ_CST) == expected) {
        if (deadline_ns == UINT64_MAX) {
            pthread_cond_wait(&w->cond, &w->mutex);
        } else {
            uint64_t now = ftf_now_ns();
            if (now < deadline_ns) {
                /* deadline_ns is on ftf_now_ns()'s time line: convert to an absolute
                   CLOCK_MONOTONIC time for the condvar. */
                uint64_t rel = deadline_ns - now;
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                uint64_t abs = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + rel;
                ts.tv_sec = (time_t)(abs / 1000000000u);
                ts.tv_nsec = (long)(abs % 1000000000u);
                pthread_cond_timedwait(&w->cond, &w->mutex, &ts);
            }
        }
    }
    pthread_mutex_unlock(&w->mutex);
    if (w->sleep_extra_ns) {
        struct timespec ts = {0, (long)w->sleep_extra_ns};
        nanosleep(&ts, NULL);
    }
}

static void cv_wake(void *userdata, uint32_t *addr) {
    (void)addr;
    cv_waiter *w = userdata;
    pthread_mutex_lock(&w->mutex);
    w->wakes++;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mutex);
}

static void cv_finalize(void *userdata) {
    ((cv_waiter *)userdata)->finalized++;
}

typedef struct {
    const ftf_tracker *t;
    ftf_op_token op;
    int rc;
} ender_arg;

static void *ender(void *arg) {
    ender_arg *a = arg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    a->rc = (int)ftf_op_end(a->t, a->op);
    return NULL;
}

TEST(condvar_callbacks_block_wake_and_finalize_once) {
    cv_waiter w;
    cv_init(&w);
    ftf_wait_callbacks cb = {&w, cv_wait, cv_wake, cv_finalize};
    const ftf_tracker *t = NULL;
    CHECK_RC(ftf_tracker_new_with_wait(FTF_WAIT_CALLBACKS, &cb, &t), FTF_OK);
    ender_arg a = {t, {0, 0}, -1};
    CHECK_RC(ftf_op_begin(t, &a.op), FTF_OK);
    pthread_t th;
    pthread_create(&th, NULL, ender, &a);
    ftf_pause_token p;
    bool q = false;
    CHECK_RC(ftf_tracker_pause_wait(t, UINT64_MAX, &p, &q), FTF_OK);
    CHECK(q);
    pthread_join(th, NULL);
    CHECK(a.rc == FTF_OK);
    CHECK(w.waits > 0);
    CHECK(w.wakes > 0);
    /* a bounded wait that times out goes through the callback and returns */
    ftf_op_token op;
    CHECK_RC(ftf_op_begin_wait(t, 2000000, &op), FTF_TIMEOUT);
    CHECK_RC(ftf_tracker_resume(t, p), FTF_OK);
    CHECK(w.finalized == 0);
    ftf_tracker_free(t);
    CHECK(w.finalized == 1);
    cv_destroy(&w);
}

/* Issue 7 item 15: with nobody waiting, pause + resume and ends never call the wake
   callback (before: every last resume called it). */
TEST(idle_pause_resume_never_calls_wake) {
    cv_waiter w;
    cv_init(&w);
    ftf_wait_callbacks cb = {&w, cv_wait, cv_wake, NULL};
    const ftf_tracker *t = NULL;
    CHECK_RC(ftf_tracker_new_with_wait(FTF_WAIT_CALLBACKS, &cb, &t), FTF_OK);
    for (int i = 0; i < 3; i++) {
        ftf_op_token op;
        CHECK_RC(ftf_op_begin(t, &op), FTF_OK);
        ftf_pause_token p;
        CHECK_RC(ftf_tracker_pause(t, &p), FTF_OK);
        CHECK_RC(ftf_op_end(t, op), FTF_OK); /* empties a paused stripe: nobody waits */
        CHECK_RC(ftf_tracker_wait_quiescent(t, UINT64_MAX), FTF_OK);
        CHECK_RC(ftf_tracker_resume(t, p), FTF_OK);
    }
    CHECK(w.waits == 0);
    CHECK(w.wakes == 0);
    ftf_tracker_free(t);
    cv_destroy(&w);
}

TEST(slow_wait_callback_still_times_out) {
    cv_waiter w;
    cv_init(&w);
    w.sleep_extra_ns = 5 * 1000 * 1000; /* every wait overshoots by 5 ms */
    ftf_wait_callbacks cb = {&w, cv_wait, cv_wake, NULL};
    const ftf_tracker *t = NULL;
    CHECK_RC(ftf_tracker_new_with_wait(FTF_WAIT_CALLBACKS, &cb, &t), FTF_OK);
    ftf_op_token op;
    CHECK_RC(ftf_op_begin(t, &op), FTF_OK);
    ftf_pause_token p;
    bool q = true;
    uint64_t start = ftf_now_ns();
    CHECK_RC(ftf_tracker_pause_wait(t, 10 * 1000 * 1000, &p, &q), FTF_OK);
    CHECK(!q); /* timed out, pause held */
    CHECK(ftf_now_ns() - start < 2000000000ull); /* returned: no hang */
    CHECK_RC(ftf_op_end(t, op), FTF_OK);
    CHECK_RC(ftf_tracker_wait_quiescent(t, UINT64_MAX), FTF_OK);
    CHECK_RC(ftf_tracker_resume(t, p), FTF_OK);
    ftf_tracker_free(t);
    cv_destroy(&w);
}

#ifdef __linux__
/* ---- a futex wait/wake pair ---- */
static int futex_calls;
static void fx_wait(void *ud, uint32_t *addr, uint32_t expected, uint64_t deadline_ns) {
    (void)ud;
    __atomic_fetch_add(&futex_calls, 1, __ATOMIC_SEQ_CST);
    struct timespec rel, *to = NULL;
    if (deadline_ns != UINT64_MAX) {
        uint64_t now = ftf_now_ns();
        if (now >= deadline_ns) return;
        rel.tv_sec = (time_t)((deadline_ns - now) / 1000000000ull);
        rel.tv_nsec = (long)((deadline_ns - now) % 1000000000ull);
        to = &rel;
    }
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, to, NULL, 0);
}
static void fx_wake(void *ud, uint32_t *addr) {
    (void)ud;
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

static void *fx_ender(void *arg) {
    ender_arg *a = arg;
    /* end only once the pauser is inside the futex wait: deterministic blocking */
    while (__atomic_load_n(&futex_calls, __ATOMIC_SEQ_CST) == 0) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    a->rc = (int)ftf_op_end(a->t, a->op);
    return NULL;
}

TEST(futex_callbacks_block_the_pauser_until_the_last_end) {
    ftf_wait_callbacks cb = {NULL, fx_wait, fx_wake, NULL};
    const ftf_tracker *t = NULL;
    CHECK_RC(ftf_tracker_new_with_wait(FTF_WAIT_CALLBACKS, &cb, &t), FTF_OK);
    ender_arg a = {t, {0, 0}, -1};
    CHECK_RC(ftf_op_begin(t, &a.op), FTF_OK);
    pthread_t th;
    pthread_create(&th, NULL, fx_ender, &a);
    ftf_pause_token p;
    bool q = false;
    CHECK_RC(ftf_tracker_pause_wait(t, UINT64_MAX, &p, &q), FTF_OK);
    pthread_join(th, NULL);
    CHECK(q && a.rc == FTF_OK && futex_calls > 0);
    /* a bounded begin_wait times out through the futex deadline */
    ftf_op_token op;
    CHECK_RC(ftf_op_begin_wait(t, 2000000, &op), FTF_TIMEOUT);
    CHECK_RC(ftf_tracker_resume(t, p), FTF_OK);
    CHECK_RC(ftf_op_begin_wait(t, 2000000, &op), FTF_OK);
    CHECK_RC(ftf_op_end(t, op), FTF_OK);
    ftf_tracker_free(t);
}
#endif

/* ---- many threads on one handle, with pauses in between ---- */

typedef struct {
    const ftf_tracker *t;
    volatile int *paused_flag;
    int violations;
    int done;
} worker_arg;

static void *worker(void *arg) {
    worker_arg *a = arg;
    for (int i = 0; i < 20000; i++) {
        ftf_op_token op;
        uint32_t rc = ftf_op_begin(a->t, &op);
        if (rc == FTF_OK) {
            if (__atomic_load_n(a->paused_flag, __ATOMIC_SEQ_CST)) {
                a->violations++;
            }
            if (ftf_op_end(a->t, op) != FTF_OK) {
                a->violations++;
            }
            a->done++;
        } else if (rc != FTF_PAUSED) {
            a->violations++;
        }
    }
    return NULL;
}

TEST(threads_never_run_during_a_quiescent_pause) {
    const ftf_tracker *t = new_tracker();
    volatile int flag = 0;
    worker_arg args[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (worker_arg){t, &flag, 0, 0};
        pthread_create(&th[i], NULL, worker, &args[i]);
    }
    for (int r = 0; r < 50; r++) {
        ftf_pause_token p;
        bool q = false;
        CHECK_RC(ftf_tracker_pause_wait(t, UINT64_MAX, &p, &q), FTF_OK);
        CHECK(q);
        __atomic_store_n(&flag, 1, __ATOMIC_SEQ_CST);
        __atomic_store_n(&flag, 0, __ATOMIC_SEQ_CST);
        CHECK_RC(ftf_tracker_resume(t, p), FTF_OK);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(args[i].violations == 0);
    }
    ftf_tracker_free(t);
}

int main(void) {
    RUN(begin_end_pause_resume);
    RUN(misuse_is_reported);
    RUN(double_end_on_an_idle_stripe_is_not_in_flight);
    RUN(double_end_on_a_busy_stripe_ends_another_count_without_corruption);
    RUN(checked_slots_detect_every_double_end);
    RUN(null_everywhere);
    RUN(unknown_wait_kind_and_missing_callbacks);
    RUN(clone_and_free_with_operations_in_flight);
    RUN(condvar_callbacks_block_wake_and_finalize_once);
    RUN(idle_pause_resume_never_calls_wake);
    RUN(slow_wait_callback_still_times_out);
    RUN(threads_never_run_during_a_quiescent_pause);
#ifdef __linux__
    RUN(futex_callbacks_block_the_pauser_until_the_last_end);
#endif
    return harness_summary();
}
