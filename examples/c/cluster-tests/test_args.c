/*
 * NULL and malformed arguments for every ftf_cluster_* function: each gets its result code
 * (never a crash), and out-parameters stay untouched on error. Functions on a member use a
 * real one joined to the fixture's etcd.
 */
#include "fixture.h"

#define SENTINEL 0xA5A5A5A5u

TEST(config_arguments) {
    watchdog("config_arguments");
    ftf_cluster_config *c = (ftf_cluster_config *)(uintptr_t)SENTINEL;
    CHECK_RC(ftf_cluster_config_new(NULL, 4, &c), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_config_new("p", 4, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_config_new("bad\xff", 4, &c), FTF_INVALID_ARGUMENT);
    CHECK(c == (ftf_cluster_config *)(uintptr_t)SENTINEL);
    ftf_cluster_config_free(NULL);

    CHECK_RC(ftf_cluster_config_new("args-p", 4, &c), FTF_OK);
    CHECK_RC(ftf_cluster_config_add_endpoint(NULL, "http://127.0.0.1:1"), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_config_add_endpoint(c, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_config_add_endpoint(c, "http://\xc3\x28"), FTF_INVALID_ARGUMENT);
    CHECK_RC(ftf_cluster_config_set_prefix(NULL, "ftf/x/"), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_config_set_prefix(c, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_config_set_prefix(c, "ftf/\xff/"), FTF_INVALID_ARGUMENT);
    CHECK_RC(ftf_cluster_config_add_rank(NULL, 0), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_config_set_k(NULL, 1), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_config_set_ttl_ms(NULL, 2000), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_config_set_timeout_ms(NULL, FTF_CLUSTER_TIMEOUT_CONNECT, 100),
             FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_config_set_timeout_ms(c, 99, 100), FTF_UNKNOWN_ENUM);
    CHECK_RC(ftf_cluster_config_set_pause_policy(NULL, FTF_CLUSTER_PAUSE_ABORT),
             FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_config_set_pause_policy(c, 7), FTF_UNKNOWN_ENUM);
    CHECK_RC(ftf_cluster_config_check(NULL), FTF_NULL_PARAMETER);
    ftf_cluster_config_free(c);
}

/* What ftf_cluster_config_check refuses (FTF_INVALID_CONFIG), and join likewise, without
   connecting: each case starts from a valid configuration and breaks one thing. */
TEST(config_check_refuses) {
    watchdog("config_check_refuses");
    const char *eps = etcd_endpoints();
    uint32_t r0 = 0;
    ftf_cluster_config *ok = new_config("args-ok", 4, eps, "ftf/ctest/args/", &r0, 1);
    CHECK(ok != NULL);
    CHECK_RC(ftf_cluster_config_check(ok), FTF_OK);
    ftf_cluster_config_free(ok);

    struct {
        const char *what, *proc, *prefix;
        uint32_t rank;
        uint64_t ttl_ms;
        uint32_t k;
    } bad[] = {
        {"proc with '/'", "a/b", "ftf/x/", 0, 2000, 1},
        {"proc with a space", "a b", "ftf/x/", 0, 2000, 1},
        {"empty proc", "", "ftf/x/", 0, 2000, 1},
        {"prefix without trailing '/'", "p", "ftf/x", 0, 2000, 1},
        {"rank >= n", "p", "ftf/x/", 4, 2000, 1},
        {"TTL below 2 s", "p", "ftf/x/", 0, 500, 1},
        {"K = 0", "p", "ftf/x/", 0, 2000, 0},
    };
    const ftf_forest *f = new_forest(4, NULL, NULL);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ftf_cluster_config *c = NULL;
        uint32_t rc = ftf_cluster_config_new(bad[i].proc, 4, &c);
        if (rc != FTF_OK) {
            /* refused at once is fine too, but only as a typed refusal */
            CHECK(rc == FTF_INVALID_ARGUMENT || rc == FTF_INVALID_CONFIG);
            continue;
        }
        ftf_cluster_config_add_endpoint(c, eps);
        ftf_cluster_config_set_prefix(c, bad[i].prefix);
        uint32_t rr = ftf_cluster_config_add_rank(c, bad[i].rank);
        uint32_t rt = ftf_cluster_config_set_ttl_ms(c, bad[i].ttl_ms);
        uint32_t rk = ftf_cluster_config_set_k(c, bad[i].k);
        if (rr == FTF_OK && rt == FTF_OK && rk == FTF_OK) {
            uint32_t got = ftf_cluster_config_check(c);
            if (got != FTF_INVALID_CONFIG)
                fprintf(stderr, "  %s: check returned %s\n", bad[i].what, ftf_result_name(got));
            CHECK_RC(got, FTF_INVALID_CONFIG);
            const ftf_cluster *m = (const ftf_cluster *)(uintptr_t)SENTINEL;
            CHECK_RC(ftf_cluster_join(c, f, &m), FTF_INVALID_CONFIG);
            CHECK(m == (const ftf_cluster *)(uintptr_t)SENTINEL);
        } else {
            /* a setter may refuse the value itself: then as a typed refusal */
            CHECK(rr == FTF_OK || rr == FTF_INVALID_ARGUMENT || rr == FTF_UNKNOWN_PARTITION);
            CHECK(rt == FTF_OK || rt == FTF_INVALID_ARGUMENT);
            CHECK(rk == FTF_OK || rk == FTF_INVALID_ARGUMENT);
        }
        ftf_cluster_config_free(c);
    }
    ftf_forest_free(f);
}

TEST(join_arguments) {
    watchdog("join_arguments");
    char prefix[128];
    fresh_prefix(prefix, sizeof prefix, "argsj");
    uint32_t r0 = 0;
    ftf_cluster_config *c = new_config("args-j", 4, etcd_endpoints(), prefix, &r0, 1);
    const ftf_forest *f = new_forest(4, NULL, NULL);
    const ftf_cluster *m = (const ftf_cluster *)(uintptr_t)SENTINEL;
    CHECK_RC(ftf_cluster_join(NULL, f, &m), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_join(c, NULL, &m), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_join(c, f, NULL), FTF_NULL_PARAMETER);
    CHECK(m == (const ftf_cluster *)(uintptr_t)SENTINEL);
    /* a forest of another size than the configuration's n */
    const ftf_forest *f8 = new_forest(8, NULL, NULL);
    CHECK_RC(ftf_cluster_join(c, f8, &m), FTF_INVALID_ARGUMENT);
    CHECK(m == (const ftf_cluster *)(uintptr_t)SENTINEL);
    ftf_forest_free(f8);
    ftf_cluster_config_free(c);
    ftf_forest_free(f);
}

/* Every member function with a NULL member, NULL out-parameters and bad values. */
TEST(member_arguments) {
    watchdog("member_arguments");
    char prefix[128];
    fresh_prefix(prefix, sizeof prefix, "args");
    uint32_t ranks[] = {0, 1};
    ftf_cluster_config *c = new_config("args-m", 4, etcd_endpoints(), prefix, ranks, 2);
    const ftf_forest *f = new_forest(4, NULL, NULL);
    const ftf_cluster *m = NULL;
    CHECK_RC(ftf_cluster_join(c, f, &m), FTF_OK);
    ftf_cluster_config_free(c);
    if (!m) {
        ftf_forest_free(f);
        return;
    }
    uint8_t data[4] = {1, 2, 3, 4};
    uint64_t u = SENTINEL;
    size_t sz = SENTINEL;
    uint32_t v = SENTINEL;

    CHECK_RC(ftf_cluster_leave(NULL), FTF_NULL_PARAMETER);
    ftf_cluster_free(NULL);
    CHECK_RC(ftf_cluster_check_fence(NULL, 0, 1), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_check_fence(m, 9, 1), FTF_UNKNOWN_PARTITION);
    CHECK_RC(ftf_cluster_check_fence(m, 2, 12345), FTF_STALE);

    CHECK_RC(ftf_cluster_put(NULL, 0, 0, data, 4, &u), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_put(m, 0, 0, NULL, 4, &u), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_put(m, 0, 0, data, 4, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_put(m, 4, 0, data, 4, &u), FTF_UNKNOWN_PARTITION);
    /* an owner write of a rank hosted elsewhere */
    CHECK_RC(ftf_cluster_put(m, 3, 0, data, 4, &u), FTF_UNKNOWN_PARTITION);
    /* a recovery write with a token that is no lock's */
    CHECK_RC(ftf_cluster_put(m, 3, 12345, data, 4, &u), FTF_STALE);
    CHECK(u == SENTINEL);

    CHECK_RC(ftf_cluster_get(NULL, 0, data, 4, &sz), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_get(m, 0, NULL, 4, &sz), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_get(m, 0, data, 4, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_get(m, 4, data, 4, &sz), FTF_UNKNOWN_PARTITION);
    CHECK(sz == SENTINEL);

    CHECK_RC(ftf_cluster_report(NULL, FTF_REPORT_BARRIER_TIMEOUT, 2), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_report(m, FTF_REPORT_CRASHED, 2), FTF_INVALID_ARGUMENT);
    CHECK_RC(ftf_cluster_report(m, 99, 2), FTF_UNKNOWN_ENUM);
    CHECK_RC(ftf_cluster_report(m, FTF_REPORT_BARRIER_TIMEOUT, 4), FTF_UNKNOWN_PARTITION);

    ftf_listener_handle h = {SENTINEL, SENTINEL, SENTINEL};
    CHECK_RC(ftf_cluster_subscribe(NULL, rec_on_event, NULL, NULL, &h), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_subscribe(m, NULL, NULL, NULL, &h), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_subscribe(m, rec_on_event, NULL, NULL, NULL), FTF_NULL_PARAMETER);
    CHECK(h.set == SENTINEL && h.slot == SENTINEL && h.generation == SENTINEL);
    CHECK_RC(ftf_cluster_unsubscribe(NULL, h), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_unsubscribe(m, h), FTF_FOREIGN_HANDLE);

    ftf_cluster_stats st;
    ftf_stats cs;
    CHECK_RC(ftf_cluster_stats_get(NULL, &st), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_stats_get(m, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_coordinator_stats(NULL, &cs), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_coordinator_stats(m, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_level(NULL, &v), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_level(m, NULL), FTF_NULL_PARAMETER);
    CHECK(v == SENTINEL);

    char text[8];
    CHECK_RC(ftf_cluster_metrics(NULL, text, sizeof text, &sz), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_metrics(m, text, sizeof text, NULL), FTF_NULL_PARAMETER);
    /* a NULL buffer with room claimed: refused, never written through */
    CHECK_RC(ftf_cluster_metrics(m, NULL, 1 << 20, &sz), FTF_NULL_PARAMETER);
    CHECK(sz == SENTINEL);
    CHECK_RC(ftf_cluster_metrics(m, NULL, 0, &sz), FTF_BUFFER_TOO_SMALL);
    CHECK(sz != SENTINEL && sz > 1);

    uint32_t rbuf[1];
    sz = SENTINEL;
    CHECK_RC(ftf_cluster_ranks(NULL, rbuf, 1, &sz), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_ranks(m, rbuf, 1, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_ranks(m, NULL, 8, &sz), FTF_NULL_PARAMETER);
    CHECK(sz == SENTINEL);
    CHECK_RC(ftf_cluster_ranks(m, rbuf, 1, &sz), FTF_BUFFER_TOO_SMALL);
    CHECK(sz == 2);

    u = SENTINEL;
    CHECK_RC(ftf_cluster_incarnation(NULL, 0, &u), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_incarnation(m, 0, NULL), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_incarnation(m, 4, &u), FTF_UNKNOWN_PARTITION);
    CHECK_RC(ftf_cluster_incarnation(m, 3, &u), FTF_UNKNOWN_PARTITION); /* not hosted here */
    CHECK(u == SENTINEL);

    CHECK_RC(ftf_cluster_fault(NULL, FTF_CLUSTER_FAULT_DROP_KEEPALIVES), FTF_NULL_PARAMETER);
    CHECK_RC(ftf_cluster_fault(m, 99), FTF_UNKNOWN_ENUM);

    CHECK_RC(ftf_cluster_leave(m), FTF_OK);
    ftf_cluster_free(m);
    ftf_forest_free(f);
}

int main(void) {
    RUN(config_arguments);
    RUN(config_check_refuses);
    RUN(join_arguments);
    RUN(member_arguments);
    return harness_summary();
}
