// ftforest C++ cluster example: one process joins a cluster on etcd with a forest attached,
// subscribes to its events, makes owner writes inside tracker operations, reads them back,
// and leaves (ftf::ClusterConfig, ftf::ClusterMember, RAII subscription, exceptions).
//
//   cluster_member_cpp http://127.0.0.1:2379[,more endpoints]
//
// `make check-cluster-c` runs it against the tests' etcd. Exits 1 on any ftf::error.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <unistd.h>

#ifndef FTF_CLUSTER
#define FTF_CLUSTER 1
#endif
#include "ftforest.hpp"

using namespace std::chrono_literals;

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s ENDPOINT[,ENDPOINT..]\n", argv[0]);
        return 2;
    }
    try {
        // A forest of 4 partitions; this process hosts ranks 0 and 1. Its phases would run
        // when it recovers a rank of another process (job.fence is the fencing token).
        ftf::tracker tracker;
        ftf::recovery rec;
        rec.run_phase = [](const ftf_phase_job &job) {
            std::printf("phase %u of rank %u, token %llu\n", job.phase, job.rank,
                        static_cast<unsigned long long>(job.fence));
            return true;
        };
        ftf::forest forest(ftf::config(), 4, tracker, std::move(rec));

        std::string prefix = "ftf/cpp-example/" + std::to_string(getpid()) + "/";
        ftf::ClusterConfig cfg("cpp-example", 4);
        std::string eps = argv[1];
        for (size_t at = 0; at <= eps.size();) {
            size_t comma = eps.find(',', at);
            if (comma == std::string::npos) comma = eps.size();
            cfg.endpoint(eps.substr(at, comma - at));
            at = comma + 1;
        }
        cfg.prefix(prefix).rank(0).rank(1).k(1).ttl(2s);
        cfg.validate();

        ftf::ClusterMember member = ftf::ClusterMember::join(cfg, forest);
        std::atomic<int> events{0};
        ftf::ClusterSubscription sub = member.subscribe([&](const ftf_cluster_event &e) {
            events++;
            std::printf("event %.*s\n", static_cast<int>(e.json_len), e.json);
        });

        for (uint32_t rank : member.ranks()) {
            ftf::operation op = tracker.begin();  // the cluster-wide pause waits for it
            std::string v = "rank " + std::to_string(rank) + " incarnation " +
                            std::to_string(member.incarnation(rank));
            uint64_t rev = member.put(rank, 0, std::vector<uint8_t>(v.begin(), v.end()));
            auto back = member.get(rank);
            std::printf("rank %u: wrote \"%s\" at revision %llu, read back %zu bytes\n", rank,
                        v.c_str(), static_cast<unsigned long long>(rev), back ? back->size() : 0);
            if (!back || std::string(back->begin(), back->end()) != v) return 1;
        }
        // A token that is no lock's: the fence check says so, a write with it is refused.
        if (member.check_fence(2, 12345)) return 1;
        try {
            member.put(2, 12345, {1, 2, 3});
            return 1;
        } catch (const ftf::error &e) {
            std::printf("stale token refused: %s\n", e.what());
        }
        auto st = member.stats();
        std::printf("writes accepted %llu, refused %llu, events so far %d\n",
                    static_cast<unsigned long long>(st.writes_accepted),
                    static_cast<unsigned long long>(st.writes_refused), events.load());
        member.leave();
        std::printf("left\n");
    } catch (const ftf::error &e) {
        std::fprintf(stderr, "ftf::error: %s\n", e.what());
        return 1;
    }
    return 0;
}
