// ftforest C++ demo: the C demo's story with ftforest.hpp (RAII handles, operation and pause
// guards, lambdas for callbacks, exceptions for errors).
//
// Worker threads run operations through ftf::tracker guards; partition 5 stops answering its
// barrier; the forest runtime detects, suspects, confirms, decides by quorum, pauses the
// forest, runs the recovery phases (lambdas), resumes; we print statistics and metrics. Each
// barrier timeout is printed with what the forest made of its report (barrier::last_report).
// Exits 1 if an operation ran during a recovery phase or a partition is left unrecovered.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "ftforest.hpp"

using namespace std::chrono_literals;

namespace {

constexpr uint32_t kPartitions = 8;
constexpr unsigned kWorkers = 4;
constexpr uint32_t kDead = 5;
constexpr int kDeadRound = 3;

const auto t0 = std::chrono::steady_clock::now();
std::mutex log_mutex;

template <class... A>
void log(const char *fmt, A... args) {
    std::lock_guard<std::mutex> lock(log_mutex);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("[%8.1f ms] ", ms);
    std::printf(fmt, args...);
    std::printf("\n");
    std::fflush(stdout);
}

}  // namespace

int main() {
    std::printf("ftforest C++ demo (%s): %u partitions, %u workers, partition %u dies at round %d\n\n",
                ftf_version(), kPartitions, kWorkers, kDead, kDeadRound);
    try {
        std::atomic<int> ops_running{0}, phase_running{0}, violations{0};
        std::atomic<long> ops_done{0}, ops_rejected{0};
        std::atomic<bool> stop{false}, recovered{false};
        std::vector<std::atomic<bool>> alive(kPartitions);
        for (auto &a : alive) a = true;

        ftf::config cfg = ftf::config_builder()
                              .reports_before_suspicion(2)
                              .failure_confirmation(150ms)
                              .max_concurrent(2)
                              .recovery_timeout(5s)
                              .backoff(20ms, 200ms)
                              .pause_timeout(2s)
                              .build();
        ftf::tracker tracker;  // the forest pauses this tracker in recovery mode

        ftf::recovery rec;
        rec.run_phase = [&](const ftf_phase_job &job) {
            ++phase_running;
            int in_flight = ops_running.load();
            log("recovery: partition %u attempt #%u phase %-14s (paused=%d, ops in flight=%d)",
                job.rank, job.number, ftf_phase_name(job.phase), tracker.is_paused(), in_flight);
            if (in_flight != 0 || !tracker.is_paused()) ++violations;
            std::this_thread::sleep_for(12ms);
            if (job.phase == FTF_PHASE_VALIDATING) alive[job.rank] = true;
            if (ops_running.load() != 0) ++violations;
            --phase_running;
            return true;
        };
        rec.pause_balancer = [] { log("pause: balancer paused"); };
        rec.pause_ghost_sync = [] { log("pause: ghost sync paused"); };
        rec.resume_balancer = [] { log("resume: balancer resumed"); };
        rec.resume_ghost_sync = [] { log("resume: ghost sync resumed"); };

        ftf::forest forest(cfg, kPartitions, tracker, std::move(rec));
        ftf::subscription sub = forest.subscribe([&](const ftf_event &e) {
            switch (e.kind) {
            case FTF_EVENT_STATUS_CHANGED:
                log("status: partition %u %s -> %s (%s)", e.rank, ftf_health_name(e.from),
                    ftf_health_name(e.to), ftf_cause_name(e.cause));
                if (e.to == FTF_HEALTH_RECOVERING) {
                    ftf_counts c = forest.counts();
                    log("quorum decision: %u of %u healthy -> recover now", c.healthy, kPartitions);
                }
                break;
            case FTF_EVENT_PHASE_CHANGED:
                log("phase: partition %u %s -> %s", e.rank, ftf_phase_name(e.from), ftf_phase_name(e.to));
                break;
            case FTF_EVENT_RECOVERY_FINISHED:
                log("recovery finished: partition %u %s after %u attempt(s)", e.rank,
                    e.success ? "SUCCEEDED" : "GAVE UP", e.number);
                if (e.success) recovered = true;
                break;
            default:
                log("event %s (partition %u)", ftf_event_kind_name(e.kind), e.rank);
            }
        });
        forest.start();

        std::vector<ftf::barrier> barriers;
        for (uint32_t p = 0; p < kPartitions; p++) {
            // The wait ends when the partition answers, or at the timeout.
            barriers.emplace_back(forest, p, [&alive, p](uint64_t timeout_ns) {
                const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(timeout_ns);
                while (!alive[p]) {
                    if (std::chrono::steady_clock::now() >= until) return FTF_BARRIER_TIMED_OUT;
                    std::this_thread::sleep_for(500us);
                }
                return FTF_BARRIER_PASSED;
            });
        }

        std::vector<std::thread> workers;
        for (unsigned w = 0; w < kWorkers; w++) {
            workers.emplace_back([&, w] {
                while (!stop) {
                    std::optional<ftf::operation> op = tracker.try_begin_on(w);
                    if (!op) {  // paused for recovery
                        ++ops_rejected;
                        std::this_thread::sleep_for(1ms);
                        continue;
                    }
                    ++ops_running;
                    if (phase_running.load() > 0) ++violations;
                    std::this_thread::sleep_for(200us);
                    --ops_running;
                    op->end();
                    ++ops_done;
                }
            });
        }

        int after = 0;
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        for (int round = 1; std::chrono::steady_clock::now() < deadline; round++) {
            if (round == kDeadRound) {
                log("fault injected: partition %u stops answering its barrier", kDead);
                alive[kDead] = false;
            }
            for (uint32_t p = 0; p < kPartitions; p++) {
                if (barriers[p].wait(20ms) == FTF_BARRIER_TIMED_OUT) {
                    std::optional<ftf_report_outcome> r = barriers[p].last_report();
                    const char *what = !r                             ? "not reported"
                                       : *r == FTF_REPORT_SUSPECTED ? "reported: now SUSPECTED"
                                       : *r == FTF_REPORT_IGNORED   ? "already being recovered: ignored"
                                       : *r == FTF_REPORT_STALE     ? "began before the recovery: stale"
                                                                    : "reported: counted";
                    log("round %d: barrier timed out waiting for partition %u (%s)", round, p, what);
                }
            }
            if (recovered && ++after >= 5) break;
            std::this_thread::sleep_for(10ms);
        }
        stop = true;
        for (auto &t : workers) t.join();
        barriers.clear();
        forest.stop();

        ftf_stats s = forest.stats();
        std::printf("\n== statistics ==\n");
        std::printf("partitions %u: %u healthy; failures detected %llu; recoveries %llu/%llu; "
                    "level %s\n",
                    s.total, s.healthy, (unsigned long long)s.failures_detected,
                    (unsigned long long)s.recoveries_succeeded,
                    (unsigned long long)s.recoveries_attempted, ftf_level_name(forest.level()));
        std::printf("operations: %ld done, %ld rejected while paused\n", ops_done.load(),
                    ops_rejected.load());
        std::string text = forest.metrics();
        std::printf("\n== metrics (%zu bytes, first lines) ==\n%.400s...\n", text.size(), text.c_str());

        bool ok = violations == 0 && recovered && s.healthy == kPartitions && !tracker.is_paused();
        for (uint32_t p = 0; p < kPartitions; p++) {
            if (forest.health(p).first != FTF_HEALTH_HEALTHY) ok = false;
        }
        // Errors are exceptions carrying the code:
        try {
            forest.retry(kDead);
        } catch (const ftf::error &e) {
            std::printf("\nexpected error: %s (code %u, category %s)\n", e.what(), e.result(),
                        e.code().category().name());
        }
        std::printf("\n%s\n", ok ? "C++ demo OK: partition recovered, no operation ran during the pause"
                                 : "C++ demo FAILED");
        return ok ? 0 : 1;
    } catch (const ftf::error &e) {
        std::fprintf(stderr, "ftforest error: %s\n", e.what());
        return 1;
    }
}
