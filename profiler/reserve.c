/*
 * Address space kept for the windows that have no room of their own.
 *
 * Everything here is reserved with no access (address space, no memory)
 * and donated to methodmalloc (mm_donate).  A heap takes donated space only
 * inside its own window and only where the OS has no room it may use, and
 * gives it back when its module unloads, for the next module to reuse.
 *
 * The guard, at Initialize.  CoreCLR's PAL has already reserved its
 * executable range (about 2 GiB, right below libcoreclr) and maps every PE
 * image from it, bumping upward: System.Private.CoreLib at its very bottom.
 * CoreLib's window, (base, base + 2 GiB], therefore ends among the native
 * libraries above the range, and its only free room is the holes between
 * them and the bit above ld.so: about 3 MiB.  Those holes are the highest
 * the kernel has below mmap_base, so it hands them to the next small
 * mapping of anyone (the runtime took a megabyte of them between our
 * Initialize and CoreLib's load, measured).  The guard reserves every free
 * range of [range end, range start + 2 GiB) first.  The heaps' placement
 * (src/heap/space.c) leaves that room to CoreLib: every other image's window
 * reaches higher, where CoreLib's does not.
 *
 * Regions, as assemblies load, for the images the kernel places itself
 * (outside the range, top-down): a region taken at the top of the kernel's
 * pile, with the holes up to 2 GiB above it plugged, lies inside the window
 * of the images mapped after it.  A new region is kept only when no region
 * kept so far can serve the next image: none lies above where the kernel
 * now puts a region-sized mapping and within 1 GiB of it with half its
 * space free (the pile moves: a GC or an unload frees space above, and the
 * kernel fills that first).  Their number follows need, not the number of
 * loads (at most MMP_RESERVE_REGIONS_MAX), and unloaded modules' space is
 * reused rather than replaced.
 *
 * All of it together is capped at MMP_RESERVE_CAP per process; what cannot
 * be reserved (the cap, mmap refused, RLIMIT_AS) only means fewer places,
 * that is refusals, counted, never a failed program.
 *
 * Both answer Linux's layout.  On Windows the reserve is off by default
 * (MMP_RESERVE_DEFAULT_MB): there is no PAL range, and every window there
 * has room of its own.
 */
#include <inttypes.h>
#include <string.h>

#include "heap/donated.h"
#include "os/os.h"
#include "profiler.h"

/* Ranges smaller than this are not worth a mapping of their own. */
#define MIN_PIECE ((uintptr_t)16 << 10)

static int donate(mmp_reserve *r, uintptr_t lo, uintptr_t hi)
{
    /* Not donated (out of memory for its bookkeeping): stays reserved, unused. */
    if (mm_donate((void *)lo, hi - lo) != S_OK)
        return -1;
    r->held += hi - lo;
    return 0;
}

/* Reserves and donates one free range, if the cap allows. */
static int take(mmp_reserve *r, uintptr_t lo, uintptr_t hi, uint64_t *counter)
{
    void *q;
    if (hi - lo < MIN_PIECE)
        return 0;
    if (r->held + (hi - lo) > MMP_RESERVE_CAP) {
        r->capped++;
        return 1; /* the ranges come lowest first: stop here */
    }
    if (mm_os_reserve_at(lo, hi - lo, MM_OS_NOACCESS, &q) == 0 && donate(r, lo, hi) == 0)
        *counter += hi - lo;
    return 0;
}

static int take_guard(void *ctx, uintptr_t lo, uintptr_t hi)
{
    mmp_reserve *r = ctx;
    if (r->guard + (hi - lo) > MMP_GUARD_MAX)
        hi = lo + (MMP_GUARD_MAX - r->guard);
    return r->guard >= MMP_GUARD_MAX || take(r, lo, hi, &r->guard);
}

static int plug(void *ctx, uintptr_t lo, uintptr_t hi)
{
    mmp_reserve *r = ctx;
    return take(r, lo, hi, &r->plugged);
}

/* The guard: see above.  runtime_object is any object of the runtime's, to
 * find libcoreclr by. */
static void guard(mmp_reserve *r, const void *runtime_object)
{
    uintptr_t lib, lo, hi;
    if (!runtime_object || mm_os_image_of(*(void *const *)runtime_object, &lib) != 0)
        return;
    /* The PAL's range: one no-access mapping ending where libcoreclr starts. */
    if (mm_os_mapping_at(lib - 1, &lo, &hi) != 0 || hi != lib || hi - lo < MMP_EXEC_RANGE_MIN)
        return;
    r->exec_lo = lo;
    r->exec_hi = hi;
    uintptr_t top = lo + MM_DEFAULT_MAX_RVA;
    (void)mm_os_free_ranges(hi, top, take_guard, r);
}

/* Whether a region already kept can serve the images mapped about [lo, hi):
 * above them, within half a window, and at least half free. */
static int served(mmp_reserve *r, uintptr_t lo, uintptr_t hi, int *in_reach)
{
    *in_reach = 0;
    for (unsigned i = 0; i < r->regions && i < MMP_RESERVE_REGIONS_MAX; i++) {
        uintptr_t rlo = r->region_lo[i], rhi = rlo + r->region_bytes;
        if (rlo < hi || rhi - lo > MM_DEFAULT_MAX_RVA / 2)
            continue;
        *in_reach = 1;
        if (mm_donated_free_in(rlo, rhi) >= r->region_bytes / 2)
            return 1;
    }
    return 0;
}

/* Keeps [lo, hi) (just reserved) as a region, or gives it back when a
 * region already kept still serves that place. */
static void region(mmp_reserve *r, uintptr_t lo, uintptr_t hi)
{
    int in_reach;
    if (served(r, lo, hi, &in_reach) || r->regions >= MMP_RESERVE_REGIONS_MAX) {
        (void)mm_os_release((void *)lo, hi - lo);
        return;
    }
    if (r->held + (hi - lo) > MMP_RESERVE_CAP) {
        r->capped++;
        (void)mm_os_release((void *)lo, hi - lo);
        return;
    }
    if (donate(r, lo, hi) != 0) {
        (void)mm_os_release((void *)lo, hi - lo);
        return;
    }
    /* Why a region is added, for the report. */
    if (r->regions && in_reach)
        r->for_use++;
    else if (r->regions)
        r->for_reach++;
    r->region_lo[r->regions++] = lo;
    /* The kernel would put the next small mappings in these holes, above
     * the region, out of its reach. */
    (void)mm_os_free_ranges(hi, hi + MM_DEFAULT_MAX_RVA, plug, r);
}

void mmp_reserve_init(mmp_reserve *r, size_t region_bytes, const void *runtime_object)
{
    memset(r, 0, sizeof *r);
    mm_lock_init(&r->lock);
    r->region_bytes = region_bytes;
    if (region_bytes == 0)
        return;
    mm_lock_acquire(&r->lock);
    guard(r, runtime_object);
    mm_lock_release(&r->lock);
    mmp_reserve_need(r);
}

void mmp_reserve_need(mmp_reserve *r)
{
    void *p;

    if (r->region_bytes == 0)
        return;
    mm_lock_acquire(&r->lock);
    /* Where the kernel now puts a region-sized mapping: about where the next
     * image goes, so the region is a candidate that costs one mmap to make
     * and one munmap to drop. */
    if (mm_os_reserve_anywhere(r->region_bytes, mm_os_page_size(), MM_OS_NOACCESS, &p) == 0)
        region(r, (uintptr_t)p, (uintptr_t)p + r->region_bytes);
    mm_lock_release(&r->lock);
}

void mmp_reserve_stats_get(mmp_reserve *r, mmp_reserve_stats *out)
{
    mm_lock_acquire(&r->lock);
    *out = (mmp_reserve_stats){r->regions, r->region_bytes, r->guard, r->plugged, r->held, r->capped,
                               r->exec_lo, r->exec_hi, r->for_reach, r->for_use};
    mm_lock_release(&r->lock);
}

void mmp_reserve_trace(mmp_reserve *r, const mmp_config *cfg)
{
    uint64_t total, in_use;
    mmp_reserve_stats s;
    mm_donated(&total, &in_use);
    mmp_reserve_stats_get(r, &s);
    mmp_trace(cfg, "reserve: %u regions, guard %" PRIu64 ", plugged %" PRIu64 ", %" PRIu64 " bytes donated, %" PRIu64
              " in use",
              s.regions, s.guard, s.plugged, total, in_use);
}
