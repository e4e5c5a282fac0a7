/*
 * A watchdog for the libftforest C tests that could hang: watchdog("name") arms an alarm
 * of 60 s (FTF_TEST_WATCHDOG_S overrides it: the valgrind runs, ~20x slower, set 600);
 * when it fires the test aborts with its name (a deadlock fails the test by itself, not by
 * CI's time limit). watchdog_off() disarms it.
 */
#ifndef FTF_TEST_WATCHDOG_H
#define FTF_TEST_WATCHDOG_H

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *watchdog_test = "?";

static void watchdog_fired(int sig) {
    (void)sig;
    static const char msg[] = "\nwatchdog: deadlock (the test's time limit passed) in test ";
    ssize_t w = write(2, msg, sizeof msg - 1);
    w = write(2, watchdog_test, strlen(watchdog_test));
    w = write(2, "\n", 1);
    (void)w;
    abort();
}

/* Arms the watchdog for the test `name` (a scenario that could deadlock). */
static inline void watchdog(const char *name) {
    watchdog_test = name;
    signal(SIGALRM, watchdog_fired);
    const char *env = getenv("FTF_TEST_WATCHDOG_S");
    long secs = env ? strtol(env, NULL, 10) : 0;
    alarm(secs > 0 && secs <= 3600 ? (unsigned)secs : 60);
}

static inline void watchdog_off(void) { alarm(0); }

#endif /* FTF_TEST_WATCHDOG_H */
