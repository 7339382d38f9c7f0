/* Adversarial windows: no room above the base, a window already covered by
 * another reservation, holes punched into such a window, and a first guess
 * taken by someone else. */
#include "methodmalloc.h"
#include "os/os.h"
#include "testutil.h"

static bool inside(const void *p, size_t cb, const void *base, uint32_t max_rva)
{
    return (uintptr_t)p > (uintptr_t)base && (uintptr_t)p + cb - (uintptr_t)base <= max_rva;
}

/* Bases near and past the top of the user address space the library
 * knows (2^47 on x86-64, 2^48 on arm64, what Windows reports, 4 GiB less a
 * page on 32-bit Linux): where base + max_rva passes the top or wraps
 * around, the window is clamped and every Alloc is NULL or inside it. */
static void test_top_of_address_space(void)
{
    uintptr_t top = mm_os_user_top(), page = pl_page();
    const uintptr_t bases[] = {
        top - page,      /* the last user page */
        top - (1 << 20), /* room for a chunk or two, then the top */
        UINTPTR_MAX - page + 1, /* base + max_rva wraps */
        UINTPTR_MAX,
        UINTPTR_MAX - MM_DEFAULT_MAX_RVA / 2, /* wraps halfway through the window (user space on 32-bit) */
    };
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        mm_module *m;
        IMethodMalloc *mal = open_alloc((const void *)bases[i], MM_DEFAULT_MAX_RVA, &m);
        size_t got = 0, bad = 0;
        for (int k = 0; k < 64; k++) {
            char *p = mal->lpVtbl->Alloc(mal, 4000);
            if (!p)
                break;
            got++;
            /* Inside, below the top, and no wrap: the block's end is above its start. */
            bad += !inside(p, 4000, (void *)bases[i], MM_DEFAULT_MAX_RVA) || (uintptr_t)p + 4000 > top
                 || (uintptr_t)p + 4000 < (uintptr_t)p;
            memset(p, 1, 4000);
        }
        CHECKF(bad == 0, "base %#" PRIxPTR ": %zu of %zu blocks outside its window", bases[i], bad, got);
        if (i == 0 || i == 2 || i == 3)
            CHECKF(got == 0, "base %#" PRIxPTR ": no room above it, yet got %zu blocks", bases[i], got);
        mm_stats st;
        mm_module_stats(m, &st);
        CHECK(got == 64 ? st.refused == 0 : st.refused == 1);
        done(m, mal);
    }
}

/* Hole sizes: what the original 4 KiB-page test used, or the granule
 * where reservations are coarser (64 KiB on Windows), so that a hole is
 * always a place the OS can reserve. */
static size_t at_least_granule(size_t bytes)
{
    size_t g = pl_granule(), page = pl_page();
    bytes = bytes / 4096 * page; /* in pages */
    return bytes > g ? (bytes + g - 1) / g * g : g;
}

/* A window entirely covered by a reservation of the test's own: every Alloc
 * fails, and the reservation is untouched. */
static void test_covered_window(void)
{
    size_t size = 32 << 20;
    char *r = pl_reserve(size, false);
    mm_module *m;
    IMethodMalloc *mal = open_alloc(r, (uint32_t)size, &m);
    static const ULONG sizes[] = {1, 8, 100, 4096, 65536, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        CHECKF(mal->lpVtbl->Alloc(mal, sizes[i]) == NULL, "Alloc(%lu) in a covered window", (unsigned long)sizes[i]);
    mm_stats st;
    mm_module_stats(m, &st);
    CHECK(st.refused == 6 && st.chunks == 0 && st.bytes_reserved == 0);
    /* Still reserved with no access end to end, nothing mapped over it. */
    CHECK(pl_range_is((uintptr_t)r, (uintptr_t)r + size, "---"));
    done(m, mal);

    /* One small hole punched in it: small blocks land in the hole, the window
     * is searched down to what the request needs, and nothing leaves the hole.
     * The second block takes 5/8 of the hole, so a third cannot fit. */
    size_t hs = at_least_granule(16384), bs = hs / 8 * 5;
    char *hole = r + (8 << 20);
    pl_release(hole, hs);
    mal = open_alloc(r, (uint32_t)size, &m);
    char *a = mal->lpVtbl->Alloc(mal, 100);
    char *b = mal->lpVtbl->Alloc(mal, (ULONG)bs);
    char *c = mal->lpVtbl->Alloc(mal, (ULONG)bs); /* no longer fits in the hole */
    CHECKF(a >= hole && a + 100 <= hole + hs, "first block %p not in the hole %p", (void *)a, (void *)hole);
    CHECKF(b >= hole && b + bs <= hole + hs, "second block %p not in the hole %p", (void *)b, (void *)hole);
    CHECK(c == NULL);
    if (a && b) {
        memset(a, 1, 100);
        memset(b, 2, bs);
    }
    mm_module_stats(m, &st);
    CHECK(st.blocks == 2 && st.refused == 1 && st.bytes_reserved <= hs);
    done(m, mal);
    CHECK(pl_range_is((uintptr_t)hole, (uintptr_t)hole + hs, NULL)); /* the hole is a hole again */

    /* Two more holes, half as large where the granule allows: the module
     * uses each in turn, as many blocks of 3/4 of a small hole as fit. */
    size_t hs2 = at_least_granule(8192), bs2 = hs2 / 4 * 3;
    char *h2 = r + (20 << 20), *h3 = r + (30 << 20);
    pl_release(h2, hs2);
    pl_release(h3, hs2);
    mal = open_alloc(r, (uint32_t)size, &m);
    size_t in_holes = 0, got = 0, fit = hs / bs2 + 2 * (hs2 / bs2);
    for (size_t i = 0; i < fit + 4; i++) {
        char *p = mal->lpVtbl->Alloc(mal, (ULONG)bs2);
        if (!p)
            continue;
        got++;
        in_holes += (p >= hole && p + bs2 <= hole + hs) || (p >= h2 && p + bs2 <= h2 + hs2)
                  || (p >= h3 && p + bs2 <= h3 + hs2);
        memset(p, 3, bs2);
    }
    CHECKF(got == fit && in_holes == fit, "%zu-byte blocks: %zu placed, %zu in the holes (want %zu, %zu)", bs2, got,
           in_holes, fit, fit);
    done(m, mal);
    pl_release(r, size);
}

/* The next Alloc.  On Windows, which cannot release part of a reservation,
 * the covering "mapping" is one reservation per granule (512 of them), and
 * checking them is as many questions: a refusal checks them only once per
 * so many refusals, so there the block may come a few hundred Allocs later. */
static char *next_block(IMethodMalloc *mal, ULONG cb)
{
    char *p = mal->lpVtbl->Alloc(mal, cb);
#if defined(_WIN32)
    for (int tries = 1; !p && tries < 2048; tries++)
        p = mal->lpVtbl->Alloc(mal, cb);
#endif
    return p;
}

/* A window wholly covered by another library's reservation is refused;
 * once that library unmaps 1 MiB in its middle, the very next Alloc lands in
 * the hole, however often the window was refused before, and for whatever
 * sizes.  The index cannot know of the unmap: the refusal has to look. */
static void test_unmapped_later(void)
{
    size_t size = 32 << 20;
    char *r = pl_reserve(size, false);
    mm_module *m;
    IMethodMalloc *mal = open_alloc(r, (uint32_t)size, &m);
    static const ULONG sizes[] = {1000, 1, 8, 100, 4096, 65536, 1 << 20, 1000, 1000};
    size_t got = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        got += mal->lpVtbl->Alloc(mal, sizes[i]) != NULL;
    CHECKF(got == 0, "%zu blocks in a window covered end to end", got);
    char *hole = r + (16 << 20);
    pl_release(hole, 1 << 20);
    char *p = next_block(mal, 1000);
    CHECKF(p >= hole && p + 1000 <= hole + (1 << 20), "after 1 MiB of the covering mapping was unmapped at %p: %p",
           (void *)hole, (void *)p);
    if (p)
        memset(p, 7, 1000);
    /* And again after the module filled the hole and more was unmapped. */
    size_t in_hole = 0;
    while ((p = mal->lpVtbl->Alloc(mal, 60000)) != NULL)
        in_hole += p >= hole && p + 60000 <= hole + (1 << 20);
    char *second = r + (4 << 20);
    pl_release(second, 1 << 20);
    p = next_block(mal, 60000);
    CHECKF(in_hole > 0 && p >= second && p + 60000 <= second + (1 << 20),
           "%zu blocks filled the first hole; after a second was unmapped at %p: %p", in_hole, (void *)second,
           (void *)p);
    done(m, mal);
    CHECK(pl_range_is((uintptr_t)r, (uintptr_t)second, "---"));
    pl_release(r, size);
}

/* A window whose end is not on the OS's reservation granule (64 KiB on
 * Windows): the chunks shrink to what is left, and no reservation rounded
 * up to the granule lets a block pass the window's end. */
static void test_window_end_off_granule(void)
{
    size_t g = pl_granule(), page = pl_page();
    const void *image = make_image(g, 64 << 20);
    static const size_t extra_pages[] = {1, 2, 3};
    for (size_t i = 0; i < sizeof extra_pages / sizeof extra_pages[0]; i++) {
        uint32_t max_rva = (uint32_t)(g + extra_pages[i] * page);
        mm_module *m;
        IMethodMalloc *mal = open_alloc(image, max_rva, &m);
        size_t got = 0, bad = 0;
        for (int k = 0; k < 1000; k++) {
            ULONG cb = k % 3 == 0 ? 100 : k % 3 == 1 ? (ULONG)page / 2 : (ULONG)page + 1;
            char *p = mal->lpVtbl->Alloc(mal, cb);
            if (!p)
                continue;
            got++;
            bad += !inside(p, cb, image, max_rva);
            memset(p, 4, cb);
        }
        CHECKF(got > 0 && bad == 0, "window of the image's granule + %zu pages: %zu blocks, %zu outside", extra_pages[i],
               got, bad);
        done(m, mal);
    }
    free_image(image, g);
}

/* The place right above the base is taken (as it is by the module's own
 * image): the heap finds room further up, still inside the window. */
static void test_first_guess_taken(void)
{
    const void *image = make_image(1 << 20, 256 << 20);
    /* Another mapping right after the image, and one further up. */
    char *after = pl_map_at((char *)image + (1 << 20), 1 << 20);
    REQUIRE(after == (char *)image + (1 << 20));
    mm_module *m;
    IMethodMalloc *mal = open_alloc(image, 64 << 20, &m);
    for (int i = 0; i < 1000; i++) {
        char *p = mal->lpVtbl->Alloc(mal, 700);
        REQUIRE(p);
        CHECK(inside(p, 700, image, 64 << 20) && (p >= after + (1 << 20)));
    }
    done(m, mal);
    pl_release(after, 1 << 20);
    free_image(image, 1 << 20);
}

/* Two modules with the same base share one window without overlapping. */
static void test_shared_window(void)
{
    const void *image = make_image(64 << 10, 64 << 20);
    mm_module *m1, *m2;
    IMethodMalloc *a = open_alloc(image, 16 << 20, &m1), *b = open_alloc(image, 16 << 20, &m2);
    char *pa[2000], *pb[2000];
    for (int i = 0; i < 2000; i++) {
        pa[i] = a->lpVtbl->Alloc(a, 1000);
        pb[i] = b->lpVtbl->Alloc(b, 1000);
        REQUIRE(pa[i] && pb[i]);
        memset(pa[i], 0xA, 1000);
        memset(pb[i], 0xB, 1000);
    }
    size_t wrong = 0;
    for (int i = 0; i < 2000; i++)
        wrong += pa[i][999] != 0xA || pb[i][0] != 0xB || !inside(pa[i], 1000, image, 16 << 20)
               || !inside(pb[i], 1000, image, 16 << 20);
    CHECK(wrong == 0);
    done(m1, a);
    /* Closing one leaves the other's blocks alone. */
    for (int i = 0; i < 2000; i++)
        wrong += pb[i][500] != 0xB;
    CHECK(wrong == 0);
    done(m2, b);
    free_image(image, 64 << 10);
}

/* A window smaller than one page holds nothing, without error. */
static void test_tiny_window(void)
{
    const void *image = make_image(64 << 10, 1 << 20);
    mm_module *m;
    IMethodMalloc *mal = open_alloc(image, 100, &m);
    CHECK(mal->lpVtbl->Alloc(mal, 8) == NULL);
    done(m, mal);
    free_image(image, 64 << 10);
}

/* A base below the lowest address the system lets a process map
 * (vm.mmap_min_addr): the window's free part above that limit is used. */
static void test_low_base(void)
{
    mm_module *m;
    IMethodMalloc *mal = open_alloc((const void *)(uintptr_t)0x1000, MM_DEFAULT_MAX_RVA, &m);
    char *p = mal->lpVtbl->Alloc(mal, 100);
    CHECKF(p != NULL, "base 0x1000: Alloc(100) refused");
    CHECK(!p || ((uintptr_t)p > 0x1000 && (uintptr_t)p + 100 - 0x1000 <= MM_DEFAULT_MAX_RVA));
    done(m, mal);
}

int main(void)
{
    test_top_of_address_space();
    test_covered_window();
    test_unmapped_later();
    test_window_end_off_granule();
    test_first_guess_taken();
    test_shared_window();
    test_tiny_window();
    test_low_base();
    return check_done();
}
