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
#include <string.h>

#include "os/os.h"
#include "profiler.h"

static void add_region(mmp_reserve *r, uintptr_t lo, uintptr_t hi)
{
    /* Not donated (out of memory for its bookkeeping): stays reserved, unused. */
    if (mm_donate((void *)lo, hi - lo) == S_OK)
        r->count++;
}

/* Plugs one hole: the kernel would put the next mappings there, above the
 * new region.  Each plug joins the reserve. */
static int plug(void *ctx, uintptr_t lo, uintptr_t hi)
{
    mmp_reserve *r = ctx;
    void *q;
    if (mm_os_reserve_at(lo, hi - lo, MM_OS_NOACCESS, &q) == 0) {
        r->plugged += hi - lo;
        add_region(r, lo, hi);
    }
    return 0;
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
    if (r->count < MMP_RESERVE_REGIONS
        && mm_os_reserve_anywhere(r->region_bytes, mm_os_page_size(), MM_OS_NOACCESS, &p) == 0) {
        uintptr_t end = (uintptr_t)p + r->region_bytes;
        add_region(r, (uintptr_t)p, end);
        (void)mm_os_free_ranges(end, end + MM_DEFAULT_MAX_RVA, plug, r);
    }
    pthread_mutex_unlock(&r->lock);
}

void mmp_reserve_trace(mmp_reserve *r, const mmp_config *cfg)
{
    uint64_t total, in_use;
    mm_donated(&total, &in_use);
    mmp_trace(cfg, "%u reserve regions, %" PRIu64 " bytes donated, %" PRIu64 " in use", r->count, total, in_use);
}
