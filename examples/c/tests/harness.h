/*
 * A tiny assert harness for the libftforest C tests.
 *
 *   TEST(name) { CHECK(cond); CHECK_RC(call, FTF_OK); }
 *   int main(void) { RUN(name); ...; return harness_summary(); }
 *
 * Each failed CHECK prints file:line and the expression and marks the current test failed;
 * the test goes on (no crash on purpose). The last line is "N passed, M failed" and the exit
 * status is non-zero when M > 0.
 */
#ifndef FTF_TEST_HARNESS_H
#define FTF_TEST_HARNESS_H

#include <stdio.h>
#include <string.h>
#include "ftforest.h"

static int harness_passed;
static int harness_failed;
static int harness_current_failed;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
            harness_current_failed = 1;                                                  \
        }                                                                                \
    } while (0)

#define CHECK_RC(call, expected)                                                         \
    do {                                                                                 \
        uint32_t rc_ = (uint32_t)(call);                                                 \
        uint32_t ex_ = (uint32_t)(expected);                                             \
        if (rc_ != ex_) {                                                                \
            fprintf(stderr, "  %s:%d: %s returned %s, expected %s\n", __FILE__, __LINE__, \
                    #call, ftf_result_name(rc_), ftf_result_name(ex_));                  \
            harness_current_failed = 1;                                                  \
        }                                                                                \
    } while (0)

#define RUN(name)                                                                        \
    do {                                                                                 \
        harness_current_failed = 0;                                                      \
        name();                                                                          \
        if (harness_current_failed) {                                                    \
            harness_failed++;                                                            \
            printf("FAIL %s\n", #name);                                                  \
        } else {                                                                         \
            harness_passed++;                                                            \
            printf("ok   %s\n", #name);                                                  \
        }                                                                                \
    } while (0)

static int harness_summary(void) {
    printf("%d passed, %d failed\n", harness_passed, harness_failed);
    return harness_failed == 0 ? 0 : 1;
}

#endif /* FTF_TEST_HARNESS_H */
