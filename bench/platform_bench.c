/* ns per Alloc on this platform, next to the C library's malloc on the
 * same platform (glibc on Linux, msvcrt under Windows): 1M requests of
 * 12..2048 bytes (an octave at random, then a size in it; the same
 * sequence for both), blocks not
 * written, median of 7 rounds.  Each methodmalloc round is a fresh module
 * (its chunks are new mappings Alloc never touches); each malloc round
 * frees its blocks at the end, below a block kept to the end so that the
 * heap is not trimmed, and later rounds reuse warm memory: neither side
 * pays page faults.  Prints one line:
 * "ns/Alloc methodmalloc X malloc Y ratio Z". */
#include "methodmalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
static double now_ns(void)
{
    LARGE_INTEGER t, f;
    QueryPerformanceCounter(&t);
    QueryPerformanceFrequency(&f);
    return (double)t.QuadPart * 1e9 / (double)f.QuadPart;
}
#else
#include <time.h>
static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}
#endif

enum { N = 1000000, ROUNDS = 7 };

static uint32_t sizes[N];
static void *blocks[N];

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v)
{
    qsort(v, ROUNDS, sizeof *v, by_value);
    return v[ROUNDS / 2];
}

int main(void)
{
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < N; i++) {
        /* An octave [12 << k, 12 << (k + 1)) at random, then a size in it. */
        s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
        uint64_t r = s * 0x2545F4914F6CDD1DULL;
        uint32_t k = (uint32_t)(r >> 61) % 8, lo = 12u << k;
        uint32_t v = lo + (uint32_t)((r & 0xFFFFFFFF) % lo);
        sizes[i] = v > 2048 ? 2048 : v;
    }
    double mm[ROUNDS], ml[ROUNDS];
    void *guards[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        mm_module *m;
        IMethodMalloc *a;
        mm_config c = mm_config_default();
        if (mm_module_open(NULL, &c, &m) != S_OK || mm_module_allocator(m, &a) != S_OK) {
            fprintf(stderr, "mm_module_open failed\n");
            return 1;
        }
        double t0 = now_ns();
        for (int i = 0; i < N; i++)
            blocks[i] = a->lpVtbl->Alloc(a, sizes[i]);
        mm[r] = (now_ns() - t0) / N;
        for (int i = 0; i < N; i++)
            if (!blocks[i]) {
                fprintf(stderr, "Alloc returned NULL\n");
                return 1;
            }
        a->lpVtbl->Release(a);
        mm_module_close(m);

        t0 = now_ns();
        for (int i = 0; i < N; i++)
            blocks[i] = malloc(sizes[i]);
        ml[r] = (now_ns() - t0) / N;
        void *guard = malloc(16);
        if (!guard) {
            fprintf(stderr, "malloc returned NULL\n");
            return 1;
        }
        guards[r] = guard;
        for (int i = 0; i < N; i++) {
            if (!blocks[i]) {
                fprintf(stderr, "malloc returned NULL\n");
                return 1;
            }
            free(blocks[i]);
        }
    }
    for (int r = 0; r < ROUNDS; r++)
        free(guards[r]);
    double a = median(mm), b = median(ml);
    printf("ns/Alloc methodmalloc %.2f malloc %.2f ratio %.2f\n", a, b, a / b);
    return 0;
}
