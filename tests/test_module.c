/* The module API and Alloc's contract, on real module bases: this executable,
 * a loaded shared library, a .NET assembly mapped from disk, and no base. */
#include "methodmalloc.h"
#include "testutil.h"

struct block {
    uintptr_t p;
    size_t cb;
};

static int by_address(const void *a, const void *b)
{
    uintptr_t x = ((const struct block *)a)->p, y = ((const struct block *)b)->p;
    return x < y ? -1 : x > y;
}

/* Allocates n blocks of 1..max_cb bytes and checks every promise about them. */
static void exercise(const char *what, const void *base, const mm_config *cfg, size_t n, uint32_t max_cb)
{
    mm_config c = cfg ? *cfg : mm_config_default();
    mm_module *m = NULL;
    IMethodMalloc *mal = NULL;
    REQUIRE(mm_module_open(base, cfg, &m) == S_OK && m);
    REQUIRE(mm_module_allocator(m, &mal) == S_OK && mal);
    struct block *b = calloc(n, sizeof *b);
    REQUIRE(b);
    uint64_t seed = 0x9E3779B97F4A7C15ULL ^ n, requested = 0;
    size_t bad_window = 0, bad_align = 0, not_zero = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cb = 1 + (uint32_t)(rng_next(&seed) % max_cb);
        unsigned char *p = mal->lpVtbl->Alloc(mal, cb);
        CHECKF(p != NULL, "%s: Alloc(%u) #%zu returned NULL", what, cb, i);
        if (!p)
            break;
        uintptr_t a = (uintptr_t)p;
        if (base && !(a > (uintptr_t)base && a + cb - (uintptr_t)base <= c.max_rva))
            bad_window++;
        if (a % c.alignment)
            bad_align++;
        for (uint32_t k = 0; k < cb; k += 97)
            not_zero += p[k] != 0;
        not_zero += p[cb - 1] != 0;
        memset(p, (int)(i & 0xFF) | 1, cb);
        b[i].p = a;
        b[i].cb = cb;
        requested += cb;
    }
    CHECKF(bad_window == 0, "%s: %zu blocks outside the window", what, bad_window);
    CHECKF(bad_align == 0, "%s: %zu blocks misaligned to %u", what, bad_align, c.alignment);
    CHECKF(not_zero == 0, "%s: %zu fresh bytes were not zero", what, not_zero);
    /* Contents survive: nothing overlapped and nothing was handed out twice. */
    size_t clobbered = 0;
    for (size_t i = 0; i < n && b[i].p; i++)
        for (size_t k = 0; k < b[i].cb; k += 61)
            clobbered += ((unsigned char *)b[i].p)[k] != ((i & 0xFF) | 1);
    CHECKF(clobbered == 0, "%s: %zu bytes overwritten by another block", what, clobbered);
    qsort(b, n, sizeof *b, by_address);
    size_t overlaps = 0;
    for (size_t i = 1; i < n; i++)
        overlaps += b[i - 1].p + b[i - 1].cb > b[i].p;
    CHECKF(overlaps == 0, "%s: %zu overlapping blocks", what, overlaps);
    /* Each block is the module's own. */
    size_t disowned = 0;
    for (size_t i = 0; i < n; i++)
        disowned += !mm_module_owns(m, (void *)b[i].p, b[i].cb);
    CHECKF(disowned == 0, "%s: mm_module_owns denies %zu of its blocks", what, disowned);
    /* Readable and writable, never executable. */
    const char *perms = perms_at((void *)b[0].p);
    CHECKF(strcmp(perms, "rw-") == 0, "%s: block mapping perms %s", what, perms);

    mm_stats st;
    CHECK(mm_module_stats(m, &st) == S_OK);
    if (c.flags & MM_COUNT_BLOCKS) {
        CHECKF(st.counted && st.blocks == n, "%s: blocks %llu, want %zu", what, (unsigned long long)st.blocks, n);
        CHECKF(st.bytes_requested == requested, "%s: requested %llu, want %llu", what,
               (unsigned long long)st.bytes_requested, (unsigned long long)requested);
    } else {
        CHECK(!st.counted && st.blocks == 0 && st.bytes_requested == 0);
    }
    CHECKF(st.bytes_allocated >= requested && st.bytes_allocated <= requested + n * block_padding_max(c.alignment),
           "%s: allocated %llu for %llu requested", what, (unsigned long long)st.bytes_allocated,
           (unsigned long long)requested);
    CHECK(st.bytes_reserved >= st.bytes_allocated && st.chunks >= 1);
    CHECK(st.bytes_resident > 0 && st.bytes_resident <= st.bytes_reserved);
    CHECK(st.refused == 0);
    if (base) {
        CHECK(st.lowest_rva > 0 && st.lowest_rva <= b[0].p - (uintptr_t)base);
        CHECK(st.highest_rva >= b[n - 1].p + b[n - 1].cb - (uintptr_t)base && st.highest_rva <= c.max_rva);
    }

    /* Close releases every mapping; the interface pointer still held is safe. */
    uintptr_t first = b[0].p, last = b[n - 1].p + b[n - 1].cb;
    mm_module_close(m);
    CHECKF(!pl_region_at((void *)first).mapped || !base, "%s: first block still mapped after close", what);
    CHECK(mal->lpVtbl->Alloc(mal, 16) == NULL);
    CHECK(mal->lpVtbl->AddRef(mal) == 2);
    CHECK(mal->lpVtbl->Release(mal) == 1);
    CHECK(mal->lpVtbl->Release(mal) == 0);
    (void)last;
    free(b);
}

static void test_bad_arguments(void)
{
    mm_module *m = (mm_module *)&m;
    CHECK(mm_module_open(NULL, NULL, NULL) == E_POINTER);
    mm_config bad[] = {
        {0, 8, 0},                /* no window */
        {MM_DEFAULT_MAX_RVA, 0, 0},  /* alignment 0 */
        {MM_DEFAULT_MAX_RVA, 3, 0},  /* not a power of two */
        {MM_DEFAULT_MAX_RVA, 24, 0},
        {MM_DEFAULT_MAX_RVA, 8192, 0}, /* above MM_MAX_ALIGNMENT */
        {MM_DEFAULT_MAX_RVA, 8, 0x80}, /* unknown flag */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m = (mm_module *)&m;
        CHECKF(mm_module_open(&m, &bad[i], &m) == E_INVALIDARG && m == NULL, "bad config #%zu accepted", i);
    }
    IMethodMalloc *mal = (IMethodMalloc *)&mal;
    CHECK(mm_module_allocator(NULL, &mal) == E_INVALIDARG && mal == NULL);
    mm_stats st;
    CHECK(mm_module_stats(NULL, &st) == E_INVALIDARG);
    REQUIRE(mm_module_open(&st, NULL, &m) == S_OK);
    CHECK(mm_module_allocator(m, NULL) == E_POINTER);
    CHECK(mm_module_stats(m, NULL) == E_POINTER);
    mm_module_close(m);
    mm_module_close(NULL);
    mm_config d = mm_config_default();
    CHECK(d.max_rva == 0x7FFFFFFF && d.alignment == 8 && d.flags == 0);
    /* The library's version is the header's, in both forms. */
    char version[32];
    snprintf(version, sizeof version, "%d.%d.%d", MM_VERSION_MAJOR, MM_VERSION_MINOR, MM_VERSION_PATCH);
    CHECK(strcmp(mm_version(), version) == 0 && strcmp(MM_VERSION_STRING, version) == 0);
    CHECK(MM_VERSION_NUMBER == MM_VERSION_MAJOR * 10000 + MM_VERSION_MINOR * 100 + MM_VERSION_PATCH);
}

/* Requests that can never fit, and the lazy reservation. */
static void test_refusals(const void *base)
{
    mm_module *m;
    IMethodMalloc *mal;
    mm_config small = {1 << 20, 8, MM_COUNT_BLOCKS};
    REQUIRE(mm_module_open(base, &small, &m) == S_OK);
    REQUIRE(mm_module_allocator(m, &mal) == S_OK);
    mm_stats st;
    mm_module_stats(m, &st);
    CHECKF(st.chunks == 0 && st.bytes_reserved == 0, "open reserved %llu bytes", (unsigned long long)st.bytes_reserved);
    CHECK(mal->lpVtbl->Alloc(mal, 0) == NULL);
    CHECK(mal->lpVtbl->Alloc(mal, 0xFFFFFFFFu) == NULL);
    CHECK(mal->lpVtbl->Alloc(mal, 0xFFFFFFF9u) == NULL);
    CHECK(mal->lpVtbl->Alloc(mal, 0x80000000u) == NULL);
    CHECK(mal->lpVtbl->Alloc(mal, (1 << 20) + 1) == NULL); /* larger than the window */
    mm_module_stats(m, &st);
    CHECKF(st.refused == 5 && st.blocks == 0, "refused %llu", (unsigned long long)st.refused);
    /* A big block gets a mapping of its own and leaves the current chunk alone. */
    char *a = mal->lpVtbl->Alloc(mal, 100);
    char *big = mal->lpVtbl->Alloc(mal, 300000);
    char *c = mal->lpVtbl->Alloc(mal, 100);
    CHECK(a && big && c);
    CHECK(c == a + block_bytes(100, 8));
    if (big) {
        CHECK((uintptr_t)big > (uintptr_t)base && (uintptr_t)big + 300000 - (uintptr_t)base <= small.max_rva);
        memset(big, 0xAB, 300000);
    }
    /* The first chunk's tail survives a request that did not fit in it. */
    char *d = mal->lpVtbl->Alloc(mal, 60000);
    char *e = mal->lpVtbl->Alloc(mal, 8);
    CHECK(d && e);
    mm_module_stats(m, &st);
    CHECK(st.blocks == 5 && st.bytes_requested == 100 + 300000 + 100 + 60000 + 8 && st.refused == 5);
    mal->lpVtbl->Release(mal);
    mm_module_close(m); /* the last reference: frees the object (ASan checks it) */
}

/* A module without a base has no window; max_rva caps what its heap may
 * reserve in all. */
static void test_capped_without_base(void)
{
    mm_module *m;
    IMethodMalloc *mal;
    mm_config cap = {1 << 20, 8, 0};
    REQUIRE(mm_module_open(NULL, &cap, &m) == S_OK);
    REQUIRE(mm_module_allocator(m, &mal) == S_OK);
    size_t served = 0;
    while (served < (2u << 20) && mal->lpVtbl->Alloc(mal, 4000))
        served += 4000;
    mm_stats st;
    mm_module_stats(m, &st);
    CHECKF(st.bytes_reserved <= cap.max_rva && served > cap.max_rva / 2,
           "%llu bytes reserved under a cap of %u, %zu served", (unsigned long long)st.bytes_reserved, cap.max_rva,
           served);
    CHECK(mal->lpVtbl->Alloc(mal, 0x80000000u) == NULL);
    mal->lpVtbl->Release(mal);
    mm_module_close(m);
}

/* Alignments other than the default. */
static void test_alignments(const void *base)
{
    static const uint32_t aligns[] = {1, 2, 4, 16, 64, 4096};
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        mm_config c = {MM_DEFAULT_MAX_RVA, aligns[i], MM_COUNT_BLOCKS};
        char what[64];
        snprintf(what, sizeof what, "alignment %u", aligns[i]);
        exercise(what, base, &c, 3000, 700);
    }
}

/* A small module pays a page or two, never a huge page, for its first body;
 * a busy one grows into huge-page-sized chunks. */
static void test_small_module_stays_small(const void *base)
{
    mm_module *m;
    IMethodMalloc *mal;
    REQUIRE(mm_module_open(base, NULL, &m) == S_OK);
    REQUIRE(mm_module_allocator(m, &mal) == S_OK);
    char *p = mal->lpVtbl->Alloc(mal, 200);
    REQUIRE(p);
    memset(p, 1, 200);
    mm_stats st;
    mm_module_stats(m, &st);
    /* Four pages: room for the kernel's choices, far from a huge page. */
    size_t page = pl_page();
    CHECKF(st.bytes_resident <= 4 * page && st.bytes_reserved <= (page > (64 << 10) ? page : (64 << 10)),
           "one body: %llu resident, %llu reserved",
           (unsigned long long)st.bytes_resident, (unsigned long long)st.bytes_reserved);
    for (int i = 0; i < 40000; i++) {
        char *q = mal->lpVtbl->Alloc(mal, 200);
        REQUIRE(q);
        q[0] = 1;
    }
    mm_module_stats(m, &st);
    CHECKF(st.chunks >= 6 && st.bytes_reserved >= (4 << 20), "8 MB of bodies: %llu chunks, %llu reserved",
           (unsigned long long)st.chunks, (unsigned long long)st.bytes_reserved);
    mal->lpVtbl->Release(mal);
    mm_module_close(m);
}

static int anchor;

/* mm_module_owns tells the module's blocks from everything else: its
 * image, another module's blocks, the caller's memory, what lies past the
 * end of the last block. */
static void test_owns(const void *base, const void *other_base)
{
    mm_module *m = NULL, *other = NULL;
    IMethodMalloc *mal = NULL, *other_mal = NULL;
    REQUIRE(mm_module_open(base, NULL, &m) == S_OK && mm_module_allocator(m, &mal) == S_OK);
    REQUIRE(mm_module_open(other_base, NULL, &other) == S_OK && mm_module_allocator(other, &other_mal) == S_OK);
    char local[16];
    CHECK(!mm_module_owns(m, local, 1));
    unsigned char *p = mal->lpVtbl->Alloc(mal, 100), *q = other_mal->lpVtbl->Alloc(other_mal, 100);
    REQUIRE(p && q);
    CHECK(mm_module_owns(m, p, 100) && mm_module_owns(m, p + 99, 1) && mm_module_owns(m, p, 0));
    CHECK(!mm_module_owns(other, p, 1) && !mm_module_owns(m, q, 1) && mm_module_owns(other, q, 100));
    /* Past the last block: not handed out yet, though in the chunk. */
    CHECK(!mm_module_owns(m, p, 4096) && !mm_module_owns(m, p + 100 + block_padding_max(8), 1));
    CHECK(!mm_module_owns(m, base, 1) && !mm_module_owns(m, local, sizeof local));
    CHECK(!mm_module_owns(NULL, p, 1) && !mm_module_owns(m, NULL, 1));
    CHECK(!mm_module_owns(m, p, SIZE_MAX) && !mm_module_owns(m, (void *)(UINTPTR_MAX - 1), 4));
    /* A block taken later, from a fresh chunk too. */
    unsigned char *big = mal->lpVtbl->Alloc(mal, 1 << 20);
    REQUIRE(big);
    CHECK(mm_module_owns(m, big, 1 << 20) && mm_module_owns(m, p, 100));
    mal->lpVtbl->Release(mal);
    other_mal->lpVtbl->Release(other_mal);
    mm_module_close(m);
    mm_module_close(other);
}

int main(void)
{
    test_bad_arguments();
    const void *exe = object_base(&anchor);
    const void *libc = object_base(stderr); /* a variable inside libc */
    char path[4096];
    size_t size;
    const void *assembly = map_dotnet_assembly(&size, path, sizeof path);
    CHECK(exe != libc && exe != assembly);
    mm_config counting = {MM_DEFAULT_MAX_RVA, 8, MM_COUNT_BLOCKS};

    exercise("executable", exe, &counting, 50000, 2048);
    exercise("executable, defaults", exe, NULL, 50000, 2048);
    exercise("libc", libc, &counting, 50000, 2048);
    exercise(".NET assembly", assembly, &counting, 50000, 2048);
    exercise("no image", NULL, &counting, 50000, 2048);
    exercise("large bodies", exe, &counting, 2000, 200000);
    mm_config tight = {8 << 20, 8, MM_COUNT_BLOCKS};
    const void *image = make_image(64 << 10, 64 << 20);
    exercise("8 MiB window", image, &tight, 10000, 600);
    test_owns(exe, libc);
    test_capped_without_base();
    test_refusals(image);
    test_alignments(libc);
    test_small_module_stays_small(image);
    free_image(image, 64 << 10);
    pl_unmap_file(assembly, size);
    return check_done();
}
