/*
 * One member's life against a real etcd: join/put/get/leave round trip, the forest
 * attachment rules, and the bad worlds a join meets (unreachable endpoint, a cluster with
 * another configuration, a rank held by another live process), plus a member whose
 * keepalives stall (fault hook): it fences itself and its writes are refused.
 */
#include "fixture.h"

/* join/put/get/leave: values round-trip, buffers are sized, leave ends every call. */
TEST(round_trip) {
    watchdog("round_trip");
    char prefix[128];
    fresh_prefix(prefix, sizeof prefix, "rt");
    uint32_t ranks[] = {0, 2};
    ftf_cluster_config *c = new_config("rt-a", 4, etcd_endpoints(), prefix, ranks, 2);
    const ftf_forest *f = new_forest(4, NULL, NULL);
    const ftf_cluster *m = NULL;
    CHECK_RC(ftf_cluster_join(c, f, &m), FTF_OK);
    ftf_cluster_config_free(c); /* the member copied it */
    if (!m) {
        ftf_forest_free(f);
        return;
    }
    recorder *rec = subscribe_recorder(m, 0);
    CHECK(rec != NULL);
    /* the first subscriber gets every event since join began */
    CHECK(rec_wait(rec, FTF_CLUSTER_EVENT_CONFIG_CHECKED, UINT32_MAX, 5000, NULL));
    rec_event reg;
    CHECK(rec_wait(rec, FTF_CLUSTER_EVENT_REGISTERED, 2, 5000, &reg));

    uint32_t hosted[4];
    size_t count = 0;
    CHECK_RC(ftf_cluster_ranks(m, hosted, 4, &count), FTF_OK);
    CHECK(count == 2 && hosted[0] == 0 && hosted[1] == 2);
    uint64_t inc = 0;
    CHECK_RC(ftf_cluster_incarnation(m, 2, &inc), FTF_OK);
    CHECK(inc > 0 && inc == reg.incarnation);

    uint8_t buf[64];
    size_t len = 0;
    CHECK_RC(ftf_cluster_get(m, 2, buf, sizeof buf, &len), FTF_EMPTY);
    const char *v = "rank 2, owner write 1";
    uint64_t rev = 0, rev2 = 0;
    CHECK_RC(ftf_cluster_put(m, 2, 0, (const uint8_t *)v, strlen(v), &rev), FTF_OK);
    CHECK(rev > inc);
    CHECK_RC(ftf_cluster_get(m, 2, buf, sizeof buf, &len), FTF_OK);
    CHECK(len == strlen(v) && memcmp(buf, v, len) == 0);
    /* too small: the length needed, nothing copied; cap 0 with a NULL buffer asks the size */
    memset(buf, 0, sizeof buf);
    CHECK_RC(ftf_cluster_get(m, 2, buf, 3, &len), FTF_BUFFER_TOO_SMALL);
    CHECK(len == strlen(v) && buf[0] == 0);
    CHECK_RC(ftf_cluster_get(m, 2, NULL, 0, &len), FTF_BUFFER_TOO_SMALL);
    CHECK(len == strlen(v));
    /* an empty value is a value */
    CHECK_RC(ftf_cluster_put(m, 0, 0, NULL, 0, &rev2), FTF_OK);
    CHECK(rev2 > rev);
    CHECK_RC(ftf_cluster_get(m, 0, buf, sizeof buf, &len), FTF_OK);
    CHECK(len == 0);

    ftf_cluster_stats st;
    CHECK_RC(ftf_cluster_stats_get(m, &st), FTF_OK);
    CHECK(st.writes_accepted >= 2 && st.available && !st.self_fenced);
    ftf_stats cs;
    CHECK_RC(ftf_cluster_coordinator_stats(m, &cs), FTF_OK);
    uint32_t level = 99;
    CHECK_RC(ftf_cluster_level(m, &level), FTF_OK);
    CHECK(level != 99);
    size_t needed = 0;
    CHECK_RC(ftf_cluster_metrics(m, NULL, 0, &needed), FTF_BUFFER_TOO_SMALL);
    char *text = malloc(needed);
    CHECK_RC(ftf_cluster_metrics(m, text, needed, &needed), FTF_OK);
    CHECK(text && strlen(text) + 1 == needed && strstr(text, "# EOF"));
    free(text);

    CHECK_RC(ftf_cluster_leave(m), FTF_OK);
    CHECK_RC(ftf_cluster_leave(m), FTF_NOT_RUNNING);
    CHECK_RC(ftf_cluster_put(m, 2, 0, (const uint8_t *)v, strlen(v), &rev), FTF_NOT_RUNNING);
    CHECK_RC(ftf_cluster_get(m, 2, buf, sizeof buf, &len), FTF_NOT_RUNNING);
    CHECK_RC(ftf_cluster_check_fence(m, 2, inc), FTF_NOT_RUNNING);
    ftf_cluster_free(m);
    /* detached: the forest starts again */
    CHECK_RC(ftf_forest_start(f), FTF_OK);
    CHECK_RC(ftf_forest_stop(f), FTF_OK);
    ftf_forest_free(f);
}

/* A running forest cannot join; an attached one is BUSY for another join and for start. */
TEST(forest_attachment) {
    watchdog("forest_attachment");
    char prefix[128];
    fresh_prefix(prefix, sizeof prefix, "attach");
    uint32_t r0 = 0, r1 = 1;
    ftf_cluster_config *c0 = new_config("at-a", 2, etcd_endpoints(), prefix, &r0, 1);
    ftf_cluster_config *c1 = new_config("at-b", 2, etcd_endpoints(), prefix, &r1, 1);
    const ftf_forest *f = new_forest(2, NULL, NULL);
    const ftf_cluster *m = NULL, *m2 = NULL;
    CHECK_RC(ftf_forest_start(f), FTF_OK);
    CHECK_RC(ftf_cluster_join(c0, f, &m), FTF_ALREADY_RUNNING);
    CHECK(m == NULL);
    CHECK_RC(ftf_forest_stop(f), FTF_OK);
    CHECK_RC(ftf_cluster_join(c0, f, &m), FTF_OK);
    CHECK_RC(ftf_cluster_join(c1, f, &m2), FTF_BUSY);
    CHECK(m2 == NULL);
    CHECK_RC(ftf_forest_start(f), FTF_BUSY);
    ftf_cluster_free(m); /* without leave: the lease is revoked at once */
    CHECK_RC(ftf_forest_start(f), FTF_OK);
    CHECK_RC(ftf_forest_stop(f), FTF_OK);
    ftf_cluster_config_free(c0);
    ftf_cluster_config_free(c1);
    ftf_forest_free(f);
}

/* Nothing listens on the endpoint: FTF_UNREACHABLE after the connect timeout, not a hang
   (the watchdog bounds it; the elapsed time is printed). */
TEST(unreachable_endpoint) {
    watchdog("unreachable_endpoint");
    uint32_t r0 = 0;
    /* port 1 on loopback: connection refused at once */
    ftf_cluster_config *c = new_config("unr", 2, "http://127.0.0.1:1", "ftf/ctest/unr/", &r0, 1);
    ftf_cluster_config_set_timeout_ms(c, FTF_CLUSTER_TIMEOUT_CONNECT, 500);
    const ftf_forest *f = new_forest(2, NULL, NULL);
    const ftf_cluster *m = NULL;
    uint64_t t = mono_ms();
    CHECK_RC(ftf_cluster_join(c, f, &m), FTF_UNREACHABLE);
    fprintf(stderr, "    refused endpoint: FTF_UNREACHABLE after %" PRIu64 " ms\n", mono_ms() - t);
    CHECK(m == NULL);
    /* a blackhole address (nothing answers, not even a refusal): bounded by the timeout */
    ftf_cluster_config *b = new_config("unr", 2, "http://192.0.2.1:2379", "ftf/ctest/unr/", &r0, 1);
    ftf_cluster_config_set_timeout_ms(b, FTF_CLUSTER_TIMEOUT_CONNECT, 500);
    t = mono_ms();
    CHECK_RC(ftf_cluster_join(b, f, &m), FTF_UNREACHABLE);
    fprintf(stderr, "    blackhole endpoint: FTF_UNREACHABLE after %" PRIu64 " ms\n", mono_ms() - t);
    CHECK(m == NULL);
    /* the forest is not left attached by a failed join */
    CHECK_RC(ftf_forest_start(f), FTF_OK);
    CHECK_RC(ftf_forest_stop(f), FTF_OK);
    ftf_cluster_config_free(c);
    ftf_cluster_config_free(b);
    ftf_forest_free(f);
}

/* The cluster's config key holds n = 4, K = 1, TTL: another n, K or TTL is refused. */
TEST(config_mismatch) {
    watchdog("config_mismatch");
    char prefix[128];
    fresh_prefix(prefix, sizeof prefix, "mismatch");
    uint32_t r0 = 0, r1 = 1;
    ftf_cluster_config *c = new_config("mm-a", 4, etcd_endpoints(), prefix, &r0, 1);
    const ftf_forest *f = new_forest(4, NULL, NULL), *g = new_forest(4, NULL, NULL),
                     *g5 = new_forest(5, NULL, NULL);
    const ftf_cluster *m = NULL, *other = NULL;
    CHECK_RC(ftf_cluster_join(c, f, &m), FTF_OK);

    ftf_cluster_config *n5 = new_config("mm-b", 5, etcd_endpoints(), prefix, &r1, 1);
    CHECK_RC(ftf_cluster_join(n5, g5, &other), FTF_CONFIG_MISMATCH);
    ftf_cluster_config *k2 = new_config("mm-b", 4, etcd_endpoints(), prefix, &r1, 1);
    ftf_cluster_config_set_k(k2, 2);
    CHECK_RC(ftf_cluster_join(k2, g, &other), FTF_CONFIG_MISMATCH);
    ftf_cluster_config *ttl = new_config("mm-b", 4, etcd_endpoints(), prefix, &r1, 1);
    ftf_cluster_config_set_ttl_ms(ttl, test_ttl_ms() + 1000);
    CHECK_RC(ftf_cluster_join(ttl, g, &other), FTF_CONFIG_MISMATCH);
    CHECK(other == NULL);
    /* the same configuration joins */
    ftf_cluster_config *same = new_config("mm-b", 4, etcd_endpoints(), prefix, &r1, 1);
    CHECK_RC(ftf_cluster_join(same, g, &other), FTF_OK);

    CHECK_RC(ftf_cluster_leave(other), FTF_OK);
    CHECK_RC(ftf_cluster_leave(m), FTF_OK);
    ftf_cluster_free(other);
    ftf_cluster_free(m);
    ftf_cluster_config_free(c);
    ftf_cluster_config_free(n5);
    ftf_cluster_config_free(k2);
    ftf_cluster_config_free(ttl);
    ftf_cluster_config_free(same);
    ftf_forest_free(f);
    ftf_forest_free(g);
    ftf_forest_free(g5);
}

/* Rank 1 is hosted by a live member: a second process asking for ranks 2, 3 and 1 gets
   FTF_RANK_HELD and nothing of it stays registered: neither rank 2 nor 3 is seen FAILED by
   the live member, nor refused (as a zombie) to the next process that asks for it. The
   ranks' registrations race, so the scenario runs ROUNDS times on fresh prefixes. */
#define ROUNDS 4
TEST(rank_held) {
    watchdog("rank_held");
    for (int round = 0; round < ROUNDS; round++) {
        char prefix[128];
        fresh_prefix(prefix, sizeof prefix, "held");
        uint32_t r1 = 1, three[] = {2, 3, 1}, rest[] = {2, 3};
        ftf_cluster_config *a = new_config("held-a", 4, etcd_endpoints(), prefix, &r1, 1);
        ftf_cluster_config *b = new_config("held-b", 4, etcd_endpoints(), prefix, three, 3);
        ftf_cluster_config *b2 = new_config("held-b", 4, etcd_endpoints(), prefix, rest, 2);
        const ftf_forest *f = new_forest(4, NULL, NULL), *g = new_forest(4, NULL, NULL);
        const ftf_cluster *m = NULL, *other = NULL;
        CHECK_RC(ftf_cluster_join(a, f, &m), FTF_OK);
        recorder *rec = m ? subscribe_recorder(m, 0) : NULL;
        CHECK_RC(ftf_cluster_join(b, g, &other), FTF_RANK_HELD);
        CHECK(other == NULL);
        /* the refused process's lease is revoked at once: a rank it had registered would
           show as FAILED within milliseconds */
        sleep_ms(300);
        CHECK(rec && rec_count(rec, FTF_CLUSTER_EVENT_FAILED, UINT32_MAX) == 0);
        CHECK_RC(ftf_cluster_join(b2, g, &other), FTF_OK);
        if (other) {
            CHECK_RC(ftf_cluster_leave(other), FTF_OK);
            ftf_cluster_free(other);
        }
        CHECK_RC(ftf_cluster_leave(m), FTF_OK);
        ftf_cluster_free(m);
        ftf_cluster_config_free(a);
        ftf_cluster_config_free(b);
        ftf_cluster_config_free(b2);
        ftf_forest_free(f);
        ftf_forest_free(g);
    }
}

/* Keepalives stall (fault hook): the member fences itself before etcd can expire its lease
   (SELF_FENCED), its owner writes are refused and nothing reaches the store; once etcd
   expired the lease, resumed keepalives learn it (LEASE_LOST) and writes stay refused. A
   second member (a witness) reads the store. */
TEST(keepalives_stall) {
    watchdog("keepalives_stall");
    char prefix[128];
    fresh_prefix(prefix, sizeof prefix, "stall");
    /* n = 3, the witness hosts two ranks: a quorum without rank 0 */
    uint32_t r0 = 0, rw[] = {1, 2};
    ftf_cluster_config *a = new_config("stall-a", 3, etcd_endpoints(), prefix, &r0, 1);
    ftf_cluster_config *w = new_config("stall-w", 3, etcd_endpoints(), prefix, rw, 2);
    const ftf_forest *f = new_forest(3, NULL, NULL), *g = new_forest(3, NULL, NULL);
    const ftf_cluster *m = NULL, *witness = NULL;
    CHECK_RC(ftf_cluster_join(a, f, &m), FTF_OK);
    CHECK_RC(ftf_cluster_join(w, g, &witness), FTF_OK);
    ftf_cluster_config_free(a);
    ftf_cluster_config_free(w);
    if (!m || !witness) {
        ftf_cluster_free(m);
        ftf_cluster_free(witness);
        ftf_forest_free(f);
        ftf_forest_free(g);
        return;
    }
    recorder *rec = subscribe_recorder(m, 0);
    recorder *wrec = subscribe_recorder(witness, 0);
    const char *before = "before the stall";
    uint64_t rev = 0, inc = 0;
    CHECK_RC(ftf_cluster_put(m, 0, 0, (const uint8_t *)before, strlen(before), &rev), FTF_OK);
    CHECK_RC(ftf_cluster_incarnation(m, 0, &inc), FTF_OK);

    CHECK_RC(ftf_cluster_fault(m, FTF_CLUSTER_FAULT_DROP_KEEPALIVES), FTF_OK);
    CHECK(rec_wait(rec, FTF_CLUSTER_EVENT_SELF_FENCED, UINT32_MAX, 4 * test_ttl_ms(), NULL));
    ftf_cluster_stats st;
    CHECK_RC(ftf_cluster_stats_get(m, &st), FTF_OK);
    CHECK(st.self_fenced);
    const char *late = "written while fenced";
    CHECK_RC(ftf_cluster_put(m, 0, 0, (const uint8_t *)late, strlen(late), &rev), FTF_SELF_FENCED);
    CHECK_RC(ftf_cluster_check_fence(m, 0, inc), FTF_SELF_FENCED);

    /* etcd expires the lease: the witness sees rank 0 FAILED */
    CHECK(rec_wait(wrec, FTF_CLUSTER_EVENT_FAILED, 0, 4 * test_ttl_ms(), NULL));
    CHECK_RC(ftf_cluster_fault(m, FTF_CLUSTER_FAULT_RESUME_KEEPALIVES), FTF_OK);
    CHECK(rec_wait(rec, FTF_CLUSTER_EVENT_LEASE_LOST, UINT32_MAX, 4 * test_ttl_ms(), NULL));
    uint32_t rc = ftf_cluster_put(m, 0, 0, (const uint8_t *)late, strlen(late), &rev);
    CHECK(rc == FTF_LEASE_LOST || rc == FTF_NOT_RUNNING);
    if (rc != FTF_LEASE_LOST && rc != FTF_NOT_RUNNING)
        fprintf(stderr, "    put after lease loss: %s\n", ftf_result_name(rc));

    /* the witness recovers rank 0: the store holds its copy, never the refused write */
    CHECK(rec_wait(wrec, FTF_CLUSTER_EVENT_RECOVERY_FINISHED, 0, 10000, NULL));
    uint8_t buf[64];
    size_t len = 0;
    CHECK_RC(ftf_cluster_get(witness, 0, buf, sizeof buf, &len), FTF_OK);
    CHECK(len == strlen(before) && memcmp(buf, before, len) == 0);

    ftf_cluster_free(m);
    CHECK_RC(ftf_cluster_leave(witness), FTF_OK);
    ftf_cluster_free(witness);
    ftf_forest_free(f);
    ftf_forest_free(g);
}

int main(void) {
    etcd_endpoints();
    RUN(round_trip);
    RUN(forest_attachment);
    RUN(unreachable_endpoint);
    RUN(config_mismatch);
    RUN(rank_held);
    RUN(keepalives_stall);
    return harness_summary();
}
