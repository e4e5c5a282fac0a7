/*
 * A C node killed with kill -9 while it holds the recovery lock, and the recovery exactly
 * once by the survivor.
 *
 *   n = 7. Child "lk-c" (cluster_node --block-phase 1) hosts ranks 0 and 3; child "lk-v"
 *   hosts rank 1. kill -9 lk-v: lk-c, the only survivor, takes rank 1's recovery lock
 *   (token T) and blocks in its first phase (its log says node_blocked with T). This test
 *   process then joins, hosting ranks 2, 4, 5, 6 (a quorum on its own), and kill -9s lk-c.
 *   The lock dies with lk-c's lease; this process recovers ranks 0, 1 and 3, each exactly
 *   once (RECOVERY_FINISHED counted after a settling second), its phase writes pass the
 *   fence, and a write or fence check with the dead child's token T is FTF_STALE.
 */
#include <stdatomic.h>
#include "fixture.h"

static const ftf_cluster *_Atomic me;
static atomic_int phase_writes_ok, phase_writes_bad;

/* REDISTRIBUTING: read the dead rank's value, check the fence, write it back fenced. */
static bool survivor_phase(void *ud, const ftf_phase_job *job) {
    (void)ud;
    const ftf_cluster *c = atomic_load(&me);
    if (!c) return false;
    if (job->phase != FTF_PHASE_REDISTRIBUTING) return true;
    uint8_t buf[512];
    size_t len = 0;
    uint32_t rc = ftf_cluster_get(c, job->rank, buf, sizeof buf, &len);
    if (rc == FTF_EMPTY) len = 0;
    else if (rc != FTF_OK) return false;
    if (job->fence == 0 || ftf_cluster_check_fence(c, job->rank, job->fence) != FTF_OK) {
        atomic_fetch_add(&phase_writes_bad, 1);
        return false;
    }
    uint64_t rev = 0;
    rc = ftf_cluster_put(c, job->rank, job->fence, buf, len, &rev);
    atomic_fetch_add(rc == FTF_OK ? &phase_writes_ok : &phase_writes_bad, 1);
    return rc == FTF_OK;
}

TEST(kill9_while_holding_the_lock) {
    watchdog("kill9_while_holding_the_lock");
    alarm(150); /* two TTL detections and three recoveries (slow under valgrind) */
    char prefix[128], ttl[32], line[2048];
    fresh_prefix(prefix, sizeof prefix, "lockkill");
    snprintf(ttl, sizeof ttl, "%" PRIu64, test_ttl_ms());
    const char *eps = etcd_endpoints();
    child_node holder = {0}, victim = {0};
    const char *hargs[] = {"--endpoints", eps, "--prefix", prefix, "--proc", "lk-c",
                           "--ranks", "0,3", "--n", "7", "--ttl-ms", ttl,
                           "--block-phase", "1", "--op-interval-ms", "50", NULL};
    const char *vargs[] = {"--endpoints", eps, "--prefix", prefix, "--proc", "lk-v",
                           "--ranks", "1", "--n", "7", "--ttl-ms", ttl, NULL};
    CHECK(child_start(&holder, "lk-c", hargs));
    CHECK(child_start(&victim, "lk-v", vargs));
    CHECK(child_wait_line(&holder, "\"node_write\"", "\"ok\":true", NULL, 20000, NULL, 0));
    CHECK(child_wait_line(&victim, "\"node_write\"", "\"ok\":true", NULL, 20000, NULL, 0));

    child_kill9(&victim);
    int blocked = child_wait_line(&holder, "\"node_blocked\"", "\"rank\":1,", NULL,
                                  8 * test_ttl_ms(), line, sizeof line);
    CHECK(blocked);
    uint64_t stale = blocked ? json_u64(line, "token") : 0;
    CHECK(stale > 0);
    /* etcd's side of it: the child's log has the grant at that token */
    char want[64];
    snprintf(want, sizeof want, "\"token\":%" PRIu64, stale);
    CHECK(child_wait_line(&holder, "\"lock_granted\"", want, NULL, 1000, NULL, 0));

    uint32_t mine[] = {2, 4, 5, 6};
    ftf_cluster_config *c = new_config("lk-p", 7, eps, prefix, mine, 4);
    const ftf_forest *f = new_forest(7, survivor_phase, NULL);
    const ftf_cluster *m = NULL;
    CHECK_RC(ftf_cluster_join(c, f, &m), FTF_OK);
    ftf_cluster_config_free(c);
    recorder *rec = m ? subscribe_recorder(m, 0) : NULL;
    atomic_store(&me, m);
    if (m && blocked) {
        /* while the child holds the lock, its token is not ours */
        CHECK_RC(ftf_cluster_check_fence(m, 1, stale), FTF_STALE);
        child_kill9(&holder);
        rec_event done[3];
        uint32_t dead[3] = {1, 0, 3};
        for (int i = 0; i < 3; i++) {
            int ok = rec_wait(rec, FTF_CLUSTER_EVENT_RECOVERY_FINISHED, dead[i], 60000, &done[i]);
            if (!ok) fprintf(stderr, "    rank %u not recovered\n", dead[i]);
            CHECK(ok);
        }
        sleep_ms(1000); /* a second recovery of the same failure would show by now */
        for (int i = 0; i < 3; i++) {
            CHECK(rec_count(rec, FTF_CLUSTER_EVENT_RECOVERY_FINISHED, dead[i]) == 1);
            CHECK(rec_count(rec, FTF_CLUSTER_EVENT_LOCK_GRANTED, dead[i]) == 1);
        }
        CHECK(done[0].token != stale && done[0].token > stale);
        CHECK(atomic_load(&phase_writes_ok) == 3 && atomic_load(&phase_writes_bad) == 0);
        /* the dead child's token is stale, for the fence check and for a write */
        const char *v = "written with the dead holder's token";
        uint64_t rev = 0;
        CHECK_RC(ftf_cluster_check_fence(m, 1, stale), FTF_STALE);
        CHECK_RC(ftf_cluster_put(m, 1, stale, (const uint8_t *)v, strlen(v), &rev), FTF_STALE);
        CHECK(rev == 0);
        /* the ranks are ours now: owner writes go through */
        uint32_t hosted[7];
        size_t count = 0;
        CHECK_RC(ftf_cluster_ranks(m, hosted, 7, &count), FTF_OK);
        CHECK(count == 7);
        CHECK_RC(ftf_cluster_put(m, 1, 0, (const uint8_t *)"mine", 4, &rev), FTF_OK);
    }
    child_kill9(&holder);
    if (m) {
        CHECK_RC(ftf_cluster_leave(m), FTF_OK);
        ftf_cluster_free(m);
    }
    ftf_forest_free(f);
    if (!harness_current_failed) {
        unlink(holder.log);
        unlink(victim.log);
    } else {
        fprintf(stderr, "    child logs: %s %s\n", holder.log, victim.log);
    }
}

int main(void) {
    etcd_endpoints();
    RUN(kill9_while_holding_the_lock);
    return harness_summary();
}
