/*
 * The smallest libftforest program, built by examples/cmake/CMakeLists.txt from an installed
 * library: checks that the header and the loaded library agree on the version, then begins and
 * ends one operation on a tracker. Exits non-zero on any mismatch or failed call.
 */
#include <stdio.h>
#include "ftforest.h"

int main(void) {
    if (ftf_version_number() != FTF_VERSION_NUMBER) {
        fprintf(stderr, "header %u but library %s\n", (unsigned)FTF_VERSION_NUMBER, ftf_version());
        return 1;
    }
    const struct ftf_tracker *tracker = NULL;
    ftf_result rc = ftf_tracker_new(&tracker);
    if (rc != FTF_OK) {
        fprintf(stderr, "ftf_tracker_new: %s\n", ftf_result_name(rc));
        return 1;
    }
    struct ftf_op_token token;
    rc = ftf_op_begin(tracker, &token);
    unsigned in_flight = rc == FTF_OK ? ftf_tracker_in_flight(tracker) : 0;
    if (rc == FTF_OK) {
        rc = ftf_op_end(tracker, token);
    }
    unsigned after = ftf_tracker_in_flight(tracker);
    ftf_tracker_free(tracker);
    if (rc != FTF_OK || in_flight != 1 || after != 0) {
        fprintf(stderr, "op begin/end: %s, in flight %u then %u\n", ftf_result_name(rc), in_flight, after);
        return 1;
    }
    printf("cmake example: %s, one operation begun and ended\n", ftf_version());
    return 0;
}
