/*
 * A C forest attached to a cluster member gets that member's coordinator events through its
 * own ftf_event listeners (ftf_forest_subscribe), as a local forest would.
 *
 *   Two members in this process on one etcd: "fe-a" hosts rank 0, "fe-b" ranks 1 and 2
 *   (n = 3). fe-a is freed without leave (lease revoked: FAILED at once). fe-b's forest
 *   listener sees rank 0's STATUS_CHANGED to FAILED, the four recovery phases in order and
 *   RECOVERY_FINISHED (success), in that order, all on one thread; a second listener
 *   unsubscribes itself inside its first call (FTF_OK, called once, finalized once); the
 *   first listener frees fe-b from inside its RECOVERY_FINISHED call (the last free from a
 *   listener: handed off, no later call), after which the forest starts again (detached).
 */
#include <pthread.h>
#include <stdatomic.h>
#include "fixture.h"

#define SEEN_MAX 1024

static const ftf_forest *fb;
static const ftf_cluster *_Atomic member_b;
static ftf_event seen[SEEN_MAX];
static pthread_t seen_thread[SEEN_MAX];
static atomic_size_t nseen;
static atomic_int calls_after_free, freed, once_calls, once_rc = -1, once_finalized;
static ftf_listener_handle once_handle;

static void on_event(void *ud, const ftf_event *e) {
    (void)ud;
    if (atomic_load(&freed)) atomic_fetch_add(&calls_after_free, 1);
    size_t i = atomic_load(&nseen);
    if (i < SEEN_MAX) {
        seen[i] = *e;
        seen_thread[i] = pthread_self();
        atomic_store(&nseen, i + 1);
    }
    if (e->kind == FTF_EVENT_RECOVERY_FINISHED && e->rank == 0 && !atomic_load(&freed)) {
        atomic_store(&freed, 1);
        ftf_cluster_free(atomic_exchange(&member_b, NULL)); /* handed off */
    }
}

static void on_event_once(void *ud, const ftf_event *e) {
    (void)ud;
    (void)e;
    atomic_fetch_add(&once_calls, 1);
    atomic_store(&once_rc, (int)ftf_forest_unsubscribe(fb, once_handle));
}

static void once_finalize(void *ud) {
    (void)ud;
    atomic_fetch_add(&once_finalized, 1);
}

static int finished_seen(void) {
    size_t n = atomic_load(&nseen);
    for (size_t i = 0; i < n; i++)
        if (seen[i].kind == FTF_EVENT_RECOVERY_FINISHED && seen[i].rank == 0) return 1;
    return 0;
}

TEST(attached_forest_listeners_get_the_member_events) {
    watchdog("attached_forest_listeners_get_the_member_events");
    alarm(120);
    char prefix[128];
    fresh_prefix(prefix, sizeof prefix, "forestev");
    const char *eps = etcd_endpoints();
    const ftf_forest *fa = new_forest(3, NULL, NULL);
    fb = new_forest(3, NULL, NULL);
    CHECK(fa && fb);
    ftf_listener_handle h;
    CHECK_RC(ftf_forest_subscribe(fb, on_event, NULL, NULL, &h), FTF_OK);
    CHECK_RC(ftf_forest_subscribe(fb, on_event_once, NULL, once_finalize, &once_handle), FTF_OK);

    uint32_t ra[] = {0}, rb[] = {1, 2};
    ftf_cluster_config *ca = new_config("fe-a", 3, eps, prefix, ra, 1);
    ftf_cluster_config *cb = new_config("fe-b", 3, eps, prefix, rb, 2);
    const ftf_cluster *a = NULL, *b = NULL;
    CHECK_RC(ftf_cluster_join(ca, fa, &a), FTF_OK);
    CHECK_RC(ftf_cluster_join(cb, fb, &b), FTF_OK);
    ftf_cluster_config_free(ca);
    ftf_cluster_config_free(cb);
    atomic_store(&member_b, b);
    if (a && b) {
        ftf_cluster_free(a); /* without leave: the survivor sees rank 0 FAILED at once */
        uint64_t deadline = mono_ms() + 60000;
        while (!(finished_seen() && atomic_load(&freed)) && mono_ms() < deadline) sleep_ms(10);
        CHECK(finished_seen());
        /* the handed-off teardown detaches the forest when it is done */
        while (ftf_forest_start(fb) == FTF_BUSY && mono_ms() < deadline) sleep_ms(10);
        CHECK_RC(ftf_forest_stop(fb), FTF_OK);

        size_t n = atomic_load(&nseen);
        int failed = -1, done = -1, phases[4], np = 0, same_thread = 1;
        for (size_t i = 0; i < n; i++) {
            if (!pthread_equal(seen_thread[i], seen_thread[0])) same_thread = 0;
            if (seen[i].rank != 0) continue;
            if (seen[i].kind == FTF_EVENT_STATUS_CHANGED && seen[i].to == FTF_HEALTH_FAILED &&
                failed < 0)
                failed = (int)i;
            if (seen[i].kind == FTF_EVENT_PHASE_CHANGED && np < 4 &&
                seen[i].to >= FTF_PHASE_DETECTING && seen[i].to <= FTF_PHASE_VALIDATING)
                phases[np++] = (int)i;
            if (seen[i].kind == FTF_EVENT_RECOVERY_FINISHED && done < 0) {
                done = (int)i;
                CHECK(seen[i].success);
            }
        }
        CHECK(failed >= 0 && done > failed);
        CHECK(np == 4);
        for (int i = 0; i < np; i++) {
            CHECK(phases[i] > failed && phases[i] < done);
            CHECK(seen[phases[i]].to == (uint32_t)(FTF_PHASE_DETECTING + i));
        }
        CHECK(same_thread);
        CHECK(atomic_load(&calls_after_free) == 0);
        CHECK(atomic_load(&once_calls) == 1);
        CHECK(atomic_load(&once_rc) == FTF_OK);
        CHECK(atomic_load(&once_finalized) == 1);
    }
    CHECK_RC(ftf_forest_unsubscribe(fb, h), FTF_OK);
    ftf_forest_free(fb);
    ftf_forest_free(fa);
}

int main(void) {
    etcd_endpoints();
    RUN(attached_forest_listeners_get_the_member_events);
    return harness_summary();
}
