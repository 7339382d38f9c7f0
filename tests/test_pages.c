/* What a module's memory costs in pages (Linux: the kernel's word on huge
 * pages is /proc/self/smaps).  A busy module's blocks past its small chunks
 * lie in mappings the kernel may back with transparent huge pages (where it
 * has them), and its resident memory stays within 3% of the bytes it was
 * asked for; modules that stay small never take a 2 MiB page, not even when
 * someone collapses their memory into huge pages (MADV_COLLAPSE, what
 * khugepaged does in the background in the "always" mode). */
#include <errno.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "methodmalloc.h"
#include "testutil.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#define HUGE ((uintptr_t)2 << 20)

/* One mapping of /proc/self/smaps. */
struct vma {
    uintptr_t lo, hi;
    size_t anon_huge; /* bytes in huge pages */
    int eligible;     /* THPeligible: the kernel may back it with huge pages */
    int seen;         /* counted or tried already */
};

static struct vma *vmas;
static size_t nvmas;

static void read_smaps(void)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    REQUIRE(f);
    free(vmas);
    vmas = NULL;
    nvmas = 0;
    size_t cap = 0;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        uintptr_t a, b;
        unsigned long long kb;
        int e;
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &a, &b) == 2) {
            if (nvmas == cap) {
                cap = cap ? cap * 2 : 256;
                vmas = realloc(vmas, cap * sizeof *vmas);
                REQUIRE(vmas);
            }
            vmas[nvmas++] = (struct vma){a, b, 0, 0, 0};
        } else if (nvmas && sscanf(line, "AnonHugePages: %llu kB", &kb) == 1) {
            vmas[nvmas - 1].anon_huge = (size_t)kb * 1024;
        } else if (nvmas && sscanf(line, "THPeligible: %d", &e) == 1) {
            vmas[nvmas - 1].eligible = e;
        }
    }
    fclose(f);
}

static struct vma *vma_at(uintptr_t a)
{
    for (size_t i = 0; i < nvmas; i++)
        if (vmas[i].lo <= a && a < vmas[i].hi)
            return &vmas[i];
    return NULL;
}

/* Whether memory advised for huge pages may get them here: the mode is
 * "always" or "madvise", and this process has not turned them off. */
static int thp_available(void)
{
    char text[128] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f) {
        if (!fgets(text, sizeof text, f))
            text[0] = 0;
        fclose(f);
    }
    return (strstr(text, "[always]") || strstr(text, "[madvise]")) && prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 0;
}

/* 12..2048 bytes, each power of two about as likely as the next, as IL
 * bodies are. */
static uint32_t body_size(uint64_t *seed)
{
    uint64_t r = rng_next(seed);
    uint32_t bits = 3 + (uint32_t)(r % 8), cb = (1u << bits) + (uint32_t)((r >> 8) % (1u << bits));
    return cb < 12 ? 12 : cb > 2048 ? 2048 : cb;
}

struct sample {
    uintptr_t p;
    uint64_t offset; /* bytes the module had handed out before this block */
};

/* 96 MB of bodies in one module, each written once. */
static void test_busy_module(void)
{
    const size_t room = (size_t)256 << 20;
    const void *image = make_image(64 << 10, room);
    mm_module *m;
    IMethodMalloc *mal = open_alloc(image, (uint32_t)room, &m);
    enum { EVERY = 97 };
    size_t cap = 1 << 20, n = 0;
    struct sample *s = malloc((4096 + cap / EVERY) * sizeof *s);
    REQUIRE(s);
    unsigned char body[2048];
    memset(body, 0x5A, sizeof body);
    /* The debug mode's red zones (ASan builds) count as asked for. */
    uint64_t seed = 42, requested = 0, offset = 0, asked = 0;
    for (size_t i = 0; requested < ((uint64_t)96 << 20); i++) {
        uint32_t cb = body_size(&seed);
        void *p = mal->lpVtbl->Alloc(mal, cb);
        REQUIRE(p);
        memcpy(p, body, cb);
        /* Every block of the small chunks, then one in EVERY. */
        if ((i < 4096 || i % EVERY == 0) && n < 4096 + cap / EVERY)
            s[n++] = (struct sample){(uintptr_t)p, offset};
        requested += cb;
        asked += cb + MM_REDZONE;
        offset += block_bytes(cb, 8);
    }
    mm_stats st;
    REQUIRE(mm_module_stats(m, &st) == S_OK);
    CHECK(st.bytes_requested == requested);
    CHECKF((double)st.bytes_resident <= 1.03 * (double)asked, "resident %llu for %llu asked for (stats)",
           (unsigned long long)st.bytes_resident, (unsigned long long)asked);

    /* The kernel's count: the mappings that hold the blocks, clipped to the
     * module's span, each counted once. */
    read_smaps();
    uintptr_t lo = (uintptr_t)image + st.lowest_rva, hi = (uintptr_t)image + st.highest_rva;
    hi = (hi + pl_page() - 1) / pl_page() * pl_page();
    size_t resident = 0, in_huge = 0, small_wrong = 0, big_wrong = 0, small_n = 0, big_n = 0;
    int huge = thp_available();
    for (size_t i = 0; i < n; i++) {
        struct vma *v = vma_at(s[i].p);
        REQUIRE(v);
        if (!v->seen) {
            uintptr_t a = v->lo > lo ? v->lo : lo, b = v->hi < hi ? v->hi : hi;
            resident += pl_resident((void *)a, b - a);
            in_huge += v->anon_huge;
            v->seen = 1;
        }
        /* The small chunks (64 + 128 + 256 KiB) hold the first 448 KiB at
         * most, less the tails blocks did not fit in; every block past it
         * is in a huge-page-sized chunk. */
        if (s[i].offset + 2048 < (448 << 10)) {
            small_n++;
            small_wrong += v->eligible != 0;
        } else if (s[i].offset >= (448 << 10)) {
            big_n++;
            big_wrong += v->eligible != huge;
        }
    }
    CHECK(small_n > 500 && big_n > 100000 / EVERY);
    CHECKF((double)resident <= 1.03 * (double)asked, "resident %zu for %llu asked for (mincore)", resident,
           (unsigned long long)asked);
    CHECKF(small_wrong == 0, "%zu of %zu blocks in the small chunks are in mappings that may take huge pages",
           small_wrong, small_n);
    CHECKF(big_wrong == 0, "%zu of %zu blocks past the small chunks are in mappings %s", big_wrong, big_n,
           huge ? "that cannot take huge pages" : "that may take huge pages, where the system gives none");
    printf("busy module: %.1f MB requested, %.4f of it resident, %.1f MB in huge pages (THP %s)\n",
           (double)requested / 1e6, (double)resident / (double)asked, (double)in_huge / 1e6,
           huge ? "available" : "not available");
    free(s);
    mal->lpVtbl->Release(mal);
    mm_module_close(m);
    free_image(image, 64 << 10);
}

/* MADV_COLLAPSE on every whole 2 MiB range of the mapping at p; returns how
 * many were collapsed, and counts the ranges tried. */
static int collapse_around(uintptr_t p, size_t *tried)
{
    struct vma *v = vma_at(p);
    if (!v || v->seen)
        return 0;
    int collapsed = 0;
    for (uintptr_t a = (v->lo + HUGE - 1) & ~(HUGE - 1); a + HUGE <= v->hi && a >= v->lo; a += HUGE) {
        (*tried)++;
        collapsed += madvise((void *)a, HUGE, MADV_COLLAPSE) == 0;
    }
    v->seen = 1;
    return collapsed;
}

/* The adversary works here: a plain mapping with one page written is
 * collapsed into a huge page, as smaps then says.  A few tries: the kernel
 * may find no free huge page at once. */
static void require_collapse_works(void)
{
    char *map = mmap(NULL, 2 * HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(map != MAP_FAILED);
    char *a = (char *)(((uintptr_t)map + HUGE - 1) & ~(HUGE - 1));
    a[0] = 1;
    int r = -1, err = 0;
    for (int i = 0; i < 10 && r != 0; i++) {
        if (i)
            usleep(100 * 1000); /* compaction in the background may free one */
        r = madvise(a, HUGE, MADV_COLLAPSE);
        err = errno;
    }
    read_smaps();
    struct vma *v = vma_at((uintptr_t)a);
    if (r != 0 || !v || v->anon_huge < HUGE)
        fprintf(stderr, "test_pages: this kernel did not collapse a plain mapping into a huge page (MADV_COLLAPSE, "
                        "Linux 6.1 with transparent huge pages): %s\n", r ? strerror(err) : "no huge page in smaps");
    REQUIRE(r == 0 && v && v->anon_huge >= HUGE);
    munmap(map, 2 * HUGE);
}

/* Modules that each fill less than their small chunks, side by side in one
 * window, each block written: not one huge page among them, even after
 * every whole 2 MiB range of their mappings was asked to collapse. */
static void test_small_modules(void)
{
    require_collapse_works();
    enum { MODULES = 24, PER_MODULE = 400 << 10, CB = 1000 };
    const size_t room = (size_t)64 << 20;
    const void *image = make_image(64 << 10, room);
    mm_module *m[MODULES];
    IMethodMalloc *mal[MODULES];
    for (int k = 0; k < MODULES; k++)
        mal[k] = open_alloc(image, (uint32_t)room, &m[k]);
    /* Round robin, so that their chunks lie among one another. */
    uintptr_t first[MODULES], last[MODULES];
    for (size_t i = 0; i < PER_MODULE / CB; i++)
        for (int k = 0; k < MODULES; k++) {
            char *p = mal[k]->lpVtbl->Alloc(mal[k], CB);
            REQUIRE(p);
            memset(p, 1, CB);
            if (i == 0)
                first[k] = (uintptr_t)p;
            last[k] = (uintptr_t)p;
        }
    read_smaps();
    size_t tried = 0;
    int collapsed = 0;
    for (int k = 0; k < MODULES; k++)
        collapsed += collapse_around(first[k], &tried) + collapse_around(last[k], &tried);
    CHECKF(tried > 0, "the small modules' mappings held no whole 2 MiB range to collapse (nothing was tested)");
    CHECKF(collapsed == 0, "%d of %zu 2 MiB ranges of small modules collapsed into huge pages", collapsed, tried);
    read_smaps();
    size_t page = pl_page(), in_huge = 0;
    for (int k = 0; k < MODULES; k++) {
        struct vma *ends[2] = {vma_at(first[k]), vma_at(last[k])};
        for (int e = 0; e < 2; e++)
            if (ends[e] && !ends[e]->seen) {
                in_huge += ends[e]->anon_huge;
                ends[e]->seen = 1;
            }
        mm_stats st;
        REQUIRE(mm_module_stats(m[k], &st) == S_OK);
        /* Each chunk's last page partly used; nothing more. */
        CHECKF(st.bytes_resident <= st.bytes_allocated + st.chunks * page,
               "small module %d: %llu resident for %llu allocated in %llu chunks", k,
               (unsigned long long)st.bytes_resident, (unsigned long long)st.bytes_allocated,
               (unsigned long long)st.chunks);
    }
    CHECKF(in_huge == 0, "%zu bytes of small modules in huge pages", in_huge);
    for (int k = 0; k < MODULES; k++) {
        mal[k]->lpVtbl->Release(mal[k]);
        mm_module_close(m[k]);
    }
    free_image(image, 64 << 10);
}

int main(void)
{
    test_busy_module();
    test_small_modules();
    free(vmas);
    return check_done();
}
