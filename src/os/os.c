/* The OS layer's one translation unit: the primitives of the system being
 * built for, chosen here rather than in the build, and what is built on
 * them the same way everywhere. */
#include "os.h"

#include "common.h"

/* How often a place found free, and taken by another thread or library
 * before we could reserve it, is looked for again. */
#define MM_OS_RETRIES 8

#if defined(_WIN32)
#include "windows.c"
#elif defined(__linux__)
#include "linux.c"
#else
#error "methodmalloc has an OS layer for Linux and Windows only"
#endif

int mm_os_free_ranges(uintptr_t from, uintptr_t to, int (*visit)(void *ctx, uintptr_t lo, uintptr_t hi), void *ctx)
{
    mm_os_range r = {from, to};
    return mm_os_free_ranges_in(&r, 1, 0, visit, ctx, NULL);
}

struct fit {
    size_t size, align;
    uintptr_t found;
};

/* Stops at the first free range that holds an aligned block. */
static int fits(void *ctx, uintptr_t lo, uintptr_t hi)
{
    struct fit *f = ctx;
    uintptr_t a = mm_align_up(lo, f->align);
    if (a < lo || a >= hi || hi - a < f->size)
        return 0;
    f->found = a;
    return 1;
}

int mm_os_reserve_in(uintptr_t lo, uintptr_t hi, size_t size, size_t align, mm_os_access access, void **out)
{
    if (align < mm_os_granularity())
        align = mm_os_granularity();
    if (size == 0 || size % mm_os_page_size() || (align & (align - 1)))
        return MM_OS_EINVAL;
    for (int attempt = 0; attempt < MM_OS_RETRIES; attempt++) {
        struct fit f = {size, align, 0};
        int e = mm_os_free_ranges(lo, hi, fits, &f);
        if (e)
            return e;
        if (!f.found)
            return MM_OS_ENOROOM;
        e = mm_os_reserve_at(f.found, size, access, out);
        if (e != MM_OS_ETAKEN)
            return e;
        /* Look above the place, not at it again: a place the system will
         * not give (qemu-user answers MAP_FIXED_NOREPLACE below 64 KiB with
         * a mapping elsewhere, as kernels before 4.17 do everywhere) still
         * looks free, and one another thread took is taken. */
        if (f.found > UINTPTR_MAX - size)
            break;
        lo = f.found + size;
    }
    return MM_OS_ENOROOM;
}
