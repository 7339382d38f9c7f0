/* Fuzz seeds written by the unit tests (`test_X --seeds DIR`): one file per
 * body, the fuzz target's mode byte 0 (a body follows) first. */
#ifndef MM_TESTS_SEED_H
#define MM_TESTS_SEED_H

#include <stdint.h>
#include <stdio.h>

#include "check.h"

/* Writes DIR/NAME<k> holding 0 then p[0, size). */
static inline void write_seed(const char *dir, const char *name, size_t k, const uint8_t *p, size_t size)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s%zu", dir, name, k);
    f = fopen(path, "wb");
    REQUIRE(f != NULL);
    fputc(0, f);
    fwrite(p, 1, size, f);
    fclose(f);
}

#endif
