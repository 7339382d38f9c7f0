/* Many threads allocating at once, on one module and on several: no two
 * blocks overlap, every block is inside its window, nothing is lost. */
#include "heap/options.h"
#include "methodmalloc.h"
#include "testutil.h"

enum { THREADS = 6, MODULES = 3 };

#ifndef PER_THREAD
#define PER_THREAD 40000
#endif

struct rec {
    uintptr_t p;
    uint32_t cb;
    uint32_t owner;
};

struct worker {
    IMethodMalloc *mal[MODULES];
    int nmal;
    uint32_t id;
    struct rec *recs;
    size_t n;
    size_t nulls;
    unsigned bad_every; /* every so many requests, one that must be refused (0: none) */
    size_t bad, bad_served;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    uint64_t seed = 0x1234567ULL * (w->id + 1);
    for (size_t i = 0; i < PER_THREAD; i++) {
        IMethodMalloc *mal = w->mal[i % (size_t)w->nmal];
        uint32_t cb = 12 + (uint32_t)(rng_next(&seed) % 2037);
        if (i % 997 == 0)
            cb = 70000 + (uint32_t)(rng_next(&seed) % 200000); /* now and then a dedicated chunk */
        if (w->bad_every && i % w->bad_every == w->bad_every - 1) {
            /* Zero, or more than any window: refused, and (the point) without
             * disturbing the threads that share this thread's lane. */
            w->bad++;
            w->bad_served += mal->lpVtbl->Alloc(mal, i % 2 ? 0 : 0xFFFFFF00u) != NULL;
            continue;
        }
        unsigned char *p = mal->lpVtbl->Alloc(mal, cb);
        if (!p) {
            w->nulls++;
            continue;
        }
        /* Stamp the block with its owner, to find overlaps afterwards. */
        memset(p, (int)(w->id + 1), cb);
        w->recs[w->n++] = (struct rec){(uintptr_t)p, cb, w->id};
    }
    return NULL;
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = ((const struct rec *)a)->p, y = ((const struct rec *)b)->p;
    return x < y ? -1 : x > y;
}

static void run(const char *what, const void *base, int nmodules, uint32_t max_rva, unsigned bad_every)
{
    mm_config cfg = {max_rva, 8, MM_COUNT_BLOCKS};
    mm_module *m[MODULES];
    IMethodMalloc *mal[MODULES];
    for (int i = 0; i < nmodules; i++) {
        REQUIRE(mm_module_open(base, &cfg, &m[i]) == S_OK);
        REQUIRE(mm_module_allocator(m[i], &mal[i]) == S_OK);
    }
    pl_thread t[THREADS];
    struct worker w[THREADS];
    for (uint32_t i = 0; i < THREADS; i++) {
        w[i] = (struct worker){
            .nmal = nmodules, .id = i, .recs = calloc(PER_THREAD, sizeof(struct rec)), .bad_every = bad_every};
        REQUIRE(w[i].recs);
        memcpy(w[i].mal, mal, sizeof mal);
        REQUIRE(pl_thread_create(&t[i], work, &w[i]));
    }
    size_t total = 0, nulls = 0, bad = 0, bad_served = 0;
    for (int i = 0; i < THREADS; i++) {
        pl_thread_join(t[i]);
        total += w[i].n;
        nulls += w[i].nulls;
        bad += w[i].bad;
        bad_served += w[i].bad_served;
    }
    CHECKF(nulls == 0, "%s: %zu Allocs failed", what, nulls);
    CHECKF(bad_served == 0, "%s: %zu of %zu bad requests served", what, bad_served, bad);
    struct rec *all = malloc(total * sizeof *all);
    REQUIRE(all);
    size_t k = 0, stamp_bad = 0, outside = 0;
    for (int i = 0; i < THREADS; i++) {
        for (size_t j = 0; j < w[i].n; j++) {
            struct rec r = w[i].recs[j];
            unsigned char *p = (unsigned char *)r.p;
            stamp_bad += p[0] != r.owner + 1 || p[r.cb - 1] != r.owner + 1 || p[r.cb / 2] != r.owner + 1;
            outside += base && !(r.p > (uintptr_t)base && r.p + r.cb - (uintptr_t)base <= cfg.max_rva);
            stamp_bad += r.p % 8 != 0;
            all[k++] = r;
        }
        free(w[i].recs);
    }
    qsort(all, total, sizeof *all, by_address);
    size_t overlaps = 0;
    for (size_t i = 1; i < total; i++)
        overlaps += all[i - 1].p + all[i - 1].cb > all[i].p;
    CHECKF(overlaps == 0, "%s: %zu overlapping blocks", what, overlaps);
    CHECKF(outside == 0, "%s: %zu blocks outside the window", what, outside);
    CHECKF(stamp_bad == 0, "%s: %zu blocks clobbered or misaligned", what, stamp_bad);
    uint64_t blocks = 0, refused = 0, reserved = 0, allocated = 0;
    for (int i = 0; i < nmodules; i++) {
        mm_stats st;
        mm_module_stats(m[i], &st);
        blocks += st.blocks;
        refused += st.refused;
        reserved += st.bytes_reserved;
        allocated += st.bytes_allocated;
        mal[i]->lpVtbl->Release(mal[i]);
        mm_module_close(m[i]);
    }
    CHECKF(blocks == total, "%s: stats count %llu blocks, threads got %zu", what, (unsigned long long)blocks, total);
    CHECKF(refused == bad, "%s: %llu refusals counted, %zu bad requests made", what, (unsigned long long)refused, bad);
    /* Chunks double per lane, so a lane's chunks hold at most twice what it
     * used, plus the dedicated chunks' page rounding, plus the step from the
     * last small chunk to the first huge-page-sized one (under a huge page
     * per lane); a chunk thrown away because a refused request made it look
     * full would break this. */
    CHECKF(reserved <= 2 * allocated + (uint64_t)THREADS * 4 * (64 << 10) + (uint64_t)nmodules * MM_LANES * MM_HUGE_PAGE,
           "%s: %llu bytes reserved for %llu allocated", what, (unsigned long long)reserved,
           (unsigned long long)allocated);
    free(all);
}

struct one {
    IMethodMalloc *mal;
    uintptr_t p;
};
static void *alloc_once(void *arg)
{
    struct one *o = arg;
    o->p = (uintptr_t)o->mal->lpVtbl->Alloc(o->mal, 100);
    return NULL;
}

/* Two new threads allocating from one module work in two lanes: two
 * chunks, two cursors, no contention between them. */
static void test_lanes(const void *base)
{
    /* Each round hands out three lanes (the pair, then one more thread),
     * so eight rounds start the pair at every position of the round robin. */
    for (int round = 0; round < 8; round++) {
        mm_module *m;
        IMethodMalloc *mal;
        REQUIRE(mm_module_open(base, NULL, &m) == S_OK);
        REQUIRE(mm_module_allocator(m, &mal) == S_OK);
        struct one o[3] = {{mal, 0}, {mal, 0}, {mal, 0}};
        pl_thread t[3];
        for (int i = 0; i < 2; i++) {
            REQUIRE(pl_thread_create(&t[i], alloc_once, &o[i]));
            pl_thread_join(t[i]);
        }
        mm_stats st;
        mm_module_stats(m, &st);
        CHECKF(o[0].p && o[1].p && st.chunks == 2, "round %d, two threads: %llu chunks", round,
               (unsigned long long)st.chunks);
        REQUIRE(pl_thread_create(&t[2], alloc_once, &o[2]));
        pl_thread_join(t[2]);
        mal->lpVtbl->Release(mal);
        mm_module_close(m);
    }
}

int main(void)
{
    static int anchor;
    run("one module", object_base(&anchor), 1, MM_DEFAULT_MAX_RVA, 0);
    run("three modules", object_base(&anchor), MODULES, MM_DEFAULT_MAX_RVA, 0);
    run("one module without image", NULL, 1, MM_DEFAULT_MAX_RVA, 0);
    run("refusals among six threads in four lanes", object_base(&anchor), 1, 1u << 30, 50);
    test_lanes(object_base(&anchor));
    return check_done();
}
