/*
 * etcd loses quorum (three members, two stopped): every blocking call returns a result code
 * within its timeouts, never hangs (the watchdog would abort the test): reads are
 * FTF_UNAVAILABLE, writes are not reported applied, the member reports UNAVAILABLE, a new
 * join is refused, leave and free return. Needs run.sh's three-member etcd (FTF_ETCD3,
 * FTF_ETCD3_DIR).
 */
#include "fixture.h"

/* SIGTERM etcd member i of the fixture (its pid file) and wait until it is gone. */
static int stop_etcd_member(const char *dir, int i) {
    char path[512];
    snprintf(path, sizeof path, "%s/m%d.pid", dir, i);
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (!f || fscanf(f, "%ld", &pid) != 1 || pid <= 0) {
        if (f) fclose(f);
        return 0;
    }
    fclose(f);
    kill((pid_t)pid, SIGTERM);
    for (int t = 0; t < 200 && kill((pid_t)pid, 0) == 0; t++) sleep_ms(50);
    if (kill((pid_t)pid, 0) == 0) kill((pid_t)pid, SIGKILL);
    return 1;
}

static uint64_t timed(const char *what, uint32_t rc, uint64_t since) {
    uint64_t d = mono_ms() - since;
    fprintf(stderr, "    %s: %s after %" PRIu64 " ms\n", what, ftf_result_name(rc), d);
    return d;
}

TEST(quorum_loss_is_a_result_not_a_hang) {
    watchdog("quorum_loss_is_a_result_not_a_hang");
    const char *eps = getenv("FTF_ETCD3"), *dir = getenv("FTF_ETCD3_DIR");
    CHECK(eps && dir);
    if (!eps || !dir) return;
    char prefix[128];
    fresh_prefix(prefix, sizeof prefix, "quorum");
    uint32_t r0 = 0, r1 = 1;
    ftf_cluster_config *c = new_config("q-a", 2, eps, prefix, &r0, 1);
    /* a lease long enough that the member is not yet self-fenced when it tries to leave:
       the leave really sends its marks, and etcd cannot take them */
    ftf_cluster_config_set_ttl_ms(c, 10000);
    ftf_cluster_config_set_timeout_ms(c, FTF_CLUSTER_TIMEOUT_REQUEST, 500);
    ftf_cluster_config_set_timeout_ms(c, FTF_CLUSTER_TIMEOUT_CONNECT, 3000);
    const ftf_forest *f = new_forest(2, NULL, NULL), *g = new_forest(2, NULL, NULL);
    const ftf_cluster *m = NULL;
    CHECK_RC(ftf_cluster_join(c, f, &m), FTF_OK);
    if (!m) {
        ftf_cluster_config_free(c);
        ftf_forest_free(f);
        ftf_forest_free(g);
        return;
    }
    recorder *rec = subscribe_recorder(m, 0);
    uint64_t rev = 0;
    CHECK_RC(ftf_cluster_put(m, 0, 0, (const uint8_t *)"q", 1, &rev), FTF_OK);
    /* a second member (own prefix) with the shortest lease, 2 s, and 1 s requests: it
       leaves at once after the quorum loss, and passes its self-fence deadline while its
       left marks are being retried */
    char prefix2[128];
    fresh_prefix(prefix2, sizeof prefix2, "quorum-short");
    ftf_cluster_config *cs = new_config("q-s", 1, eps, prefix2, &r0, 1);
    ftf_cluster_config_set_ttl_ms(cs, 2000);
    ftf_cluster_config_set_timeout_ms(cs, FTF_CLUSTER_TIMEOUT_CONNECT, 3000);
    const ftf_forest *fs = new_forest(1, NULL, NULL);
    const ftf_cluster *ms = NULL;
    CHECK_RC(ftf_cluster_join(cs, fs, &ms), FTF_OK);

    CHECK(stop_etcd_member(dir, 1));
    CHECK(stop_etcd_member(dir, 2));

    uint64_t t = mono_ms();
    uint32_t rc = ms ? ftf_cluster_leave(ms) : FTF_NOT_RUNNING;
    timed("leave without quorum, fenced meanwhile", rc, t);
    /* its marks were never taken: not FTF_OK */
    CHECK_RC(rc, FTF_UNAVAILABLE);
    ftf_cluster_free(ms);
    ftf_forest_free(fs);
    ftf_cluster_config_free(cs);

    uint8_t buf[16];
    size_t len = 0;
    t = mono_ms();
    rc = ftf_cluster_get(m, 0, buf, sizeof buf, &len);
    timed("get without quorum", rc, t);
    CHECK_RC(rc, FTF_UNAVAILABLE);
    t = mono_ms();
    rev = 0;
    rc = ftf_cluster_put(m, 0, 0, (const uint8_t *)"no quorum", 9, &rev);
    timed("put without quorum", rc, t);
    /* not applied, or unknown: never FTF_OK (and not fenced yet: the lease is 10 s) */
    CHECK(rc == FTF_UNAVAILABLE || rc == FTF_AMBIGUOUS);
    CHECK(rev == 0);
    CHECK(rec_wait(rec, FTF_CLUSTER_EVENT_UNAVAILABLE, UINT32_MAX, 10000, NULL));
    ftf_cluster_stats st;
    CHECK_RC(ftf_cluster_stats_get(m, &st), FTF_OK);
    CHECK(!st.available);

    /* a new member cannot join a cluster without quorum; through the member that still
       runs (m0: it answers, it has no quorum) that is FTF_UNAVAILABLE, not UNREACHABLE */
    char m0[256];
    snprintf(m0, sizeof m0, "%.*s", (int)strcspn(eps, ","), eps);
    ftf_cluster_config *c2 = new_config("q-b", 2, m0, prefix, &r1, 1);
    ftf_cluster_config_set_ttl_ms(c2, 10000);
    ftf_cluster_config_set_timeout_ms(c2, FTF_CLUSTER_TIMEOUT_REQUEST, 500);
    ftf_cluster_config_set_timeout_ms(c2, FTF_CLUSTER_TIMEOUT_CONNECT, 3000);
    const ftf_cluster *m2 = NULL;
    t = mono_ms();
    rc = ftf_cluster_join(c2, g, &m2);
    timed("join without quorum", rc, t);
    CHECK_RC(rc, FTF_UNAVAILABLE);
    CHECK(m2 == NULL);

    t = mono_ms();
    rc = ftf_cluster_leave(m);
    timed("leave without quorum", rc, t);
    /* nothing can be marked left without quorum: not FTF_OK */
    CHECK_RC(rc, FTF_UNAVAILABLE);
    t = mono_ms();
    ftf_cluster_free(m);
    timed("free", FTF_OK, t);
    ftf_cluster_config_free(c);
    ftf_cluster_config_free(c2);
    ftf_forest_free(f);
    ftf_forest_free(g);
}

int main(void) {
    RUN(quorum_loss_is_a_result_not_a_hang);
    return harness_summary();
}
