/* Result names, version, clock: the entry points that need no handle. */
#include <stdint.h>
#include "harness.h"

TEST(result_names_are_static_and_total) {
    CHECK(strcmp(ftf_result_name(FTF_OK), "FTF_OK") == 0);
    CHECK(strcmp(ftf_result_name(FTF_PAUSED), "FTF_PAUSED") == 0);
    CHECK(strcmp(ftf_result_name(FTF_PANIC), "FTF_PANIC") == 0);
    CHECK(strcmp(ftf_result_name(FTF_OUTBOX_FULL), "FTF_OUTBOX_FULL") == 0);
    CHECK(strcmp(ftf_result_name(FTF_STORAGE_IN_USE), "FTF_STORAGE_IN_USE") == 0);
    CHECK(FTF_OUTBOX_FULL == 305 && FTF_STORAGE_IN_USE == 107); /* numbers never change */
    CHECK(strcmp(ftf_result_name(12345), "FTF_UNKNOWN_RESULT") == 0);
    CHECK(strcmp(ftf_result_name(UINT32_MAX), "FTF_UNKNOWN_RESULT") == 0);
    CHECK(ftf_result_message(FTF_TIMEOUT) != NULL);
    CHECK(strcmp(ftf_result_message(7), "unknown result code") == 0);
}

TEST(version_matches_header) {
    char expect[64];
    snprintf(expect, sizeof expect, "ftforest/%d.%d.%d", FTF_VERSION_MAJOR, FTF_VERSION_MINOR,
             FTF_VERSION_PATCH);
    CHECK(strcmp(ftf_version(), expect) == 0);
    CHECK(ftf_version_number() == (uint32_t)FTF_VERSION_NUMBER);
}

TEST(clock_is_monotonic) {
    uint64_t a = ftf_now_ns();
    uint64_t b = ftf_now_ns();
    CHECK(a > 0);
    CHECK(b >= a);
}

int main(void) {
    RUN(result_names_are_static_and_total);
    RUN(version_matches_header);
    RUN(clock_is_monotonic);
    return harness_summary();
}
