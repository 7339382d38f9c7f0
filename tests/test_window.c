/* Adversarial windows: no room above the base, a window already covered by
 * another reservation, holes punched into such a window, and a first guess
 * taken by someone else. */
#include "methodmalloc.h"
#include "testutil.h"

static bool inside(const void *p, size_t cb, const void *base, uint32_t max_rva)
{
    return (uintptr_t)p > (uintptr_t)base && (uintptr_t)p + cb - (uintptr_t)base <= max_rva;
}

static void test_top_of_address_space(void)
{
    static const uintptr_t bases[] = {
        ((uintptr_t)1 << 47) - 4096, /* the last user page on x86-64 */
        ((uintptr_t)1 << 47) - (1 << 20),
        UINTPTR_MAX - 4095, /* base + max_rva wraps */
        UINTPTR_MAX,
    };
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        mm_module *m;
        IMethodMalloc *mal = open_alloc((const void *)bases[i], MM_DEFAULT_MAX_RVA, &m);
        void *p = mal->lpVtbl->Alloc(mal, 64);
        CHECKF(p == NULL || inside(p, 64, (void *)bases[i], MM_DEFAULT_MAX_RVA),
               "base %#lx gave %p outside its window", (unsigned long)bases[i], p);
        if (i != 1)
            CHECKF(p == NULL, "base %#lx: no room above it, yet got %p", (unsigned long)bases[i], p);
        mm_stats st;
        mm_module_stats(m, &st);
        CHECK(p != NULL || st.refused == 1);
        done(m, mal);
    }
}

/* A window entirely covered by a reservation of the test's own: every Alloc
 * fails, and the reservation is untouched. */
static void test_covered_window(void)
{
    size_t size = 32 << 20;
    char *r = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    REQUIRE(r != MAP_FAILED);
    mm_module *m;
    IMethodMalloc *mal = open_alloc(r, (uint32_t)size, &m);
    static const ULONG sizes[] = {1, 8, 100, 4096, 65536, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        CHECKF(mal->lpVtbl->Alloc(mal, sizes[i]) == NULL, "Alloc(%u) in a covered window", sizes[i]);
    mm_stats st;
    mm_module_stats(m, &st);
    CHECK(st.refused == 6 && st.chunks == 0 && st.bytes_reserved == 0);
    /* Still one PROT_NONE mapping of ours, nothing mapped over it. */
    struct maps_query q = maps_perms(r);
    CHECK(q.count == 1 && strcmp(q.perms, "---p") == 0);
    CHECK(maps_count_in((uintptr_t)r, (uintptr_t)r + size) == 1);
    done(m, mal);

    /* One small hole punched in it: small blocks land in the hole, the window
     * is searched down to what the request needs, and nothing leaves the hole. */
    char *hole = r + (8 << 20);
    REQUIRE(munmap(hole, 16384) == 0);
    mal = open_alloc(r, (uint32_t)size, &m);
    char *a = mal->lpVtbl->Alloc(mal, 100);
    char *b = mal->lpVtbl->Alloc(mal, 10000);
    char *c = mal->lpVtbl->Alloc(mal, 10000); /* no longer fits in the hole */
    CHECKF(a >= hole && a + 100 <= hole + 16384, "first block %p not in the hole %p", (void *)a, (void *)hole);
    CHECKF(b >= hole && b + 10000 <= hole + 16384, "second block %p not in the hole %p", (void *)b, (void *)hole);
    CHECK(c == NULL);
    if (a && b) {
        memset(a, 1, 100);
        memset(b, 2, 10000);
    }
    mm_module_stats(m, &st);
    CHECK(st.blocks == 2 && st.refused == 1 && st.bytes_reserved <= 16384);
    done(m, mal);
    CHECK(maps_count_in((uintptr_t)hole, (uintptr_t)hole + 16384) == 0); /* the hole is a hole again */

    /* Two more holes: the module uses each in turn. */
    char *h2 = r + (20 << 20), *h3 = r + (30 << 20);
    REQUIRE(munmap(h2, 8192) == 0 && munmap(h3, 8192) == 0);
    mal = open_alloc(r, (uint32_t)size, &m);
    size_t in_holes = 0, got = 0;
    for (int i = 0; i < 8; i++) {
        char *p = mal->lpVtbl->Alloc(mal, 6000);
        if (!p)
            continue;
        got++;
        in_holes += (p >= hole && p + 6000 <= hole + 16384) || (p >= h2 && p + 6000 <= h2 + 8192)
                  || (p >= h3 && p + 6000 <= h3 + 8192);
        memset(p, 3, 6000);
    }
    CHECKF(got == 4 && in_holes == 4, "6000-byte blocks: %zu placed, %zu in the holes (want 4, 4)", got, in_holes);
    done(m, mal);
    munmap(r, size);
}

/* The place right above the base is taken (as it is by the module's own
 * image): the heap finds room further up, still inside the window. */
static void test_first_guess_taken(void)
{
    const void *image = make_image(1 << 20, 256 << 20);
    /* Another mapping right after the image, and one further up. */
    char *after = mmap((char *)image + (1 << 20), 1 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    REQUIRE(after == (char *)image + (1 << 20));
    mm_module *m;
    IMethodMalloc *mal = open_alloc(image, 64 << 20, &m);
    for (int i = 0; i < 1000; i++) {
        char *p = mal->lpVtbl->Alloc(mal, 700);
        REQUIRE(p);
        CHECK(inside(p, 700, image, 64 << 20) && (p >= after + (1 << 20)));
    }
    done(m, mal);
    munmap(after, 1 << 20);
    munmap((void *)image, 1 << 20);
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
    munmap((void *)image, 64 << 10);
}

/* A window smaller than one page holds nothing, without error. */
static void test_tiny_window(void)
{
    const void *image = make_image(64 << 10, 1 << 20);
    mm_module *m;
    IMethodMalloc *mal = open_alloc(image, 100, &m);
    CHECK(mal->lpVtbl->Alloc(mal, 8) == NULL);
    done(m, mal);
    munmap((void *)image, 64 << 10);
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
    test_first_guess_taken();
    test_shared_window();
    test_tiny_window();
    test_low_base();
    return check_done();
}
