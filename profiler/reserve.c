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
 * the kernel's pile, and plugs every hole within 2 GiB above it (the plugs
 * join the reserve), so that images mapped next land below it, with reserve
 * inside their windows.  When a module's heap refuses, a slice
 * at the low end of a region inside the module's window is unmapped and the
 * allocation retried: methodmalloc finds the slice as a free gap in the
 * window and maps its chunk there with MAP_FIXED_NOREPLACE.  Should anything
 * else map into the slice first, the retry is refused and counted, nothing
 * worse.  (A core API to donate address space to a heap would make the
 * unmapping unnecessary.)
 */
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
    if (r->count == r->capacity) {
        unsigned n = r->capacity ? 2 * r->capacity : 64;
        mmp_region *grown = n <= MMP_RESERVE_REGIONS ? realloc(r->regions, n * sizeof *grown) : NULL;
        if (!grown)
            return; /* stays reserved, unused: harmless */
        r->regions = grown;
        r->capacity = n;
    }
    r->regions[r->count].lo = lo;
    r->regions[r->count].hi = hi;
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
            if (mmap((void *)prev_end, stop - prev_end, PROT_NONE, RESERVE_FLAGS | MAP_FIXED_NOREPLACE, -1, 0) ==
                (void *)prev_end) {
                r->plugged += stop - prev_end;
                add_region(r, prev_end, stop);
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

int mmp_reserve_release(mmp_reserve *r, const void *base, size_t size)
{
    uintptr_t b = (uintptr_t)base;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t need = (size + page - 1) / page * page;
    mmp_region *best = NULL;

    if (!base)
        return 0;
    pthread_mutex_lock(&r->lock);
    /* The nearest region above the module with room for the block inside
     * the module's window. */
    for (unsigned i = 0; i < r->count; i++) {
        mmp_region *g = &r->regions[i];
        if (g->hi - g->lo >= need && g->lo > b && g->lo + need - b <= MM_DEFAULT_MAX_RVA &&
            (!best || g->lo < best->lo))
            best = g;
    }
    if (best) {
        /* A whole slice when there is one, so the heap's next chunks have
         * room too; the window's end and the region's end bound it. */
        uintptr_t cut = best->lo + (need > MMP_RESERVE_SLICE ? need : MMP_RESERVE_SLICE);
        if (cut > best->hi)
            cut = best->hi;
        if (cut - b > MM_DEFAULT_MAX_RVA)
            cut = (b + MM_DEFAULT_MAX_RVA) / page * page;
        munmap((void *)best->lo, cut - best->lo);
        r->released += cut - best->lo;
        best->lo = cut;
    }
    pthread_mutex_unlock(&r->lock);
    return best != NULL;
}

void mmp_reserve_dump(mmp_reserve *r, FILE *f)
{
    pthread_mutex_lock(&r->lock);
    for (unsigned i = 0; i < r->count; i++)
        fprintf(f, "methodmalloc: region %u [%p, %p)\n", i, (void *)r->regions[i].lo, (void *)r->regions[i].hi);
    pthread_mutex_unlock(&r->lock);
}
