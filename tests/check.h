/* A minimal test harness: CHECK(cond) reports the failing condition with its
 * file and line and counts it; check_done() prints the count and gives the
 * exit status.  A test program is main() calling CHECKs, then
 * `return check_done();`. */
#ifndef MM_TESTS_CHECK_H
#define MM_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        check_count++;                                                              \
        if (!(cond)) {                                                              \
            check_failures++;                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                           \
    } while (0)

/* CHECK with a printf-style explanation printed on failure. */
#define CHECKF(cond, ...)                                                           \
    do {                                                                            \
        check_count++;                                                              \
        if (!(cond)) {                                                              \
            check_failures++;                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                           \
            fputc('\n', stderr);                                                    \
        }                                                                           \
    } while (0)

/* Stops the test at once: for a precondition without which the rest is moot. */
#define REQUIRE(cond)                                                               \
    do {                                                                            \
        check_count++;                                                              \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: REQUIRE failed, stopping: %s\n", __FILE__,       \
                    __LINE__, #cond);                                               \
            exit(1);                                                                \
        }                                                                           \
    } while (0)

static inline int check_done(void)
{
    printf("%d checks, %d failed\n", check_count, check_failures);
    if (check_count == 0) {
        fprintf(stderr, "no checks ran\n");
        return 1;
    }
    return check_failures ? 1 : 0;
}

#endif
