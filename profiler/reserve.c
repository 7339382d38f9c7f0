/*
 * Address space kept free for the modules' windows.
 *
 * Why: on Linux the kernel hands out mappings top-down, and CoreCLR packs
 * its images, its 2 GiB code reservation and its GC reservation next to one
 * another.  The window above a module, (base, base + 2 GiB], is then often
 * taken end to end by what was mapped after the module: methodmalloc finds
 * no free page there and, keeping its promise, refuses every body of it.
 *
 * So the profiler reserves regions (PROT_NONE: address space only, no
 * memory) as the runtime starts and as assemblies load, each at the top of
 * the kernel's pile, and plugs every hole within 2 GiB above it, so that
 * images mapped next land below it, with reserve inside their windows.
 * Regions and plugs alike are donated to methodmalloc (mm_donate), whose
 * heaps take their chunks from the donated space inside their own windows
 * when there is no free room there, and free it again when their module
 * unloads.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "profiler.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define RESERVE_FLAGS (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

static void add_region(mmp_reserve *r, uintptr_t lo, uintptr_t hi)
{
    /* Not donated (out of memory for its bookkeeping): stays reserved, unused. */
    if (mm_donate((void *)lo, hi - lo) == S_OK)
        r->count++;
}

/* Plugs every hole in [from, from + span): the kernel would put the next
 * mappings there, above the new region.  Each plug joins the reserve. */
static void plug_holes(mmp_reserve *r, uintptr_t from, uintptr_t span)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    uintptr_t prev_end = 0;

    if (!maps)
        return;
    while (fgets(line, sizeof line, maps)) {
        unsigned long start, end;
        if (sscanf(line, "%lx-%lx", &start, &end) != 2)
            continue;
        if (prev_end >= from + span)
            break;
        if (prev_end >= from && start > prev_end) {
            uintptr_t stop = start < from + span ? start : from + span;
            void *q = mmap((void *)prev_end, stop - prev_end, PROT_NONE, RESERVE_FLAGS | MAP_FIXED_NOREPLACE, -1, 0);
            if (q == (void *)prev_end) {
                r->plugged += stop - prev_end;
                add_region(r, prev_end, stop);
            } else if (q != MAP_FAILED) {
                /* A kernel before 4.17 took the flag for a hint and mapped elsewhere. */
                munmap(q, stop - prev_end);
            }
        }
        if (end > prev_end)
            prev_end = end;
    }
    fclose(maps);
}

void mmp_reserve_init(mmp_reserve *r, size_t region_bytes)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    r->region_bytes = region_bytes;
    mmp_reserve_add(r);
}

void mmp_reserve_add(mmp_reserve *r)
{
    void *p;

    if (r->region_bytes == 0)
        return;
    pthread_mutex_lock(&r->lock);
    if (r->count < MMP_RESERVE_REGIONS) {
        p = mmap(NULL, r->region_bytes, PROT_NONE, RESERVE_FLAGS, -1, 0);
        if (p != MAP_FAILED) {
            add_region(r, (uintptr_t)p, (uintptr_t)p + r->region_bytes);
            plug_holes(r, (uintptr_t)p + r->region_bytes, MM_DEFAULT_MAX_RVA);
        }
    }
    pthread_mutex_unlock(&r->lock);
}

void mmp_reserve_dump(mmp_reserve *r, FILE *f)
{
    uint64_t total, in_use;
    mm_donated(&total, &in_use);
    fprintf(f, "methodmalloc: %u reserve regions, %" PRIu64 " bytes donated, %" PRIu64 " in use\n", r->count, total,
            in_use);
}
