/* Many threads allocating at once, on one module and on several: no two
 * blocks overlap, every block is inside its window, nothing is lost. */
#include "heap/options.h"
#include "methodmalloc.h"
#include "testutil.h"

/* Every held lane taken, and two threads in each shared lane. */
enum { THREADS = MM_HELD_LANES + 2 * MM_SHARED_LANES, MODULES = 3, PER_THREAD = 20000 };

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
    size_t limit;       /* requests to make (0: PER_THREAD) */
    unsigned bad_every; /* every so many requests, one that must be refused (0: none) */
    size_t bad, bad_served;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    uint64_t seed = 0x1234567ULL * (w->id + 1);
    for (size_t i = 0; i < (w->limit ? w->limit : PER_THREAD); i++) {
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

/* The blocks of n finished workers: none failed, no bad request served,
 * each inside the window, aligned, still holding its owner's stamp, none
 * overlapping another.  Frees their records; returns their number and the
 * bad requests in *bad. */
static size_t check_blocks(const char *what, struct worker *w, int n, const void *base, uint32_t max_rva, size_t *bad)
{
    size_t total = 0, nulls = 0, bad_served = 0;
    *bad = 0;
    for (int i = 0; i < n; i++) {
        total += w[i].n;
        nulls += w[i].nulls;
        *bad += w[i].bad;
        bad_served += w[i].bad_served;
    }
    CHECKF(nulls == 0, "%s: %zu Allocs failed", what, nulls);
    CHECKF(bad_served == 0, "%s: %zu of %zu bad requests served", what, bad_served, *bad);
    struct rec *all = malloc(total * sizeof *all);
    REQUIRE(all);
    size_t k = 0, stamp_bad = 0, outside = 0;
    for (int i = 0; i < n; i++) {
        for (size_t j = 0; j < w[i].n; j++) {
            struct rec r = w[i].recs[j];
            unsigned char *p = (unsigned char *)r.p;
            stamp_bad += p[0] != r.owner + 1 || p[r.cb - 1] != r.owner + 1 || p[r.cb / 2] != r.owner + 1;
            outside += base && !(r.p > (uintptr_t)base && r.p + r.cb - (uintptr_t)base <= max_rva);
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
    free(all);
    return total;
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
    for (int i = 0; i < THREADS; i++)
        pl_thread_join(t[i]);
    size_t bad = 0;
    size_t total = check_blocks(what, w, THREADS, base, max_rva, &bad);
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

/* Threads alive at once work in lanes of their own: the first
 * MM_HELD_LANES each in a held lane, the next in the shared lanes; a lane
 * given back when its thread exits is the next thread's. */
static void test_lanes(const void *base)
{
    struct lane_probe lp;
    lane_probe_start(&lp, base, MM_HELD_LANES);
    uint64_t chunks = lane_probe_stop(&lp);
    CHECKF(chunks == MM_HELD_LANES, "%d threads at once: %llu chunks", MM_HELD_LANES, (unsigned long long)chunks);
    /* One more than there are lanes: each lane once, one shared twice. */
    lane_probe_start(&lp, base, MM_LANES + 1);
    chunks = lane_probe_stop(&lp);
    CHECKF(chunks == MM_LANES, "%d threads at once: %llu chunks", MM_LANES + 1, (unsigned long long)chunks);
    /* Threads one after the other: each takes the held lane the one
     * before gave back, and its chunk. */
    mm_module *m;
    IMethodMalloc *mal = open_alloc(base, MM_DEFAULT_MAX_RVA, &m);
    uintptr_t last = 0;
    int ordered = 1;
    for (int i = 0; i < 6; i++) {
        struct one o = {mal, 0};
        pl_thread t;
        REQUIRE(pl_thread_create(&t, alloc_once, &o));
        pl_thread_join(t);
        ordered &= o.p > last;
        last = o.p;
    }
    mm_stats st;
    mm_module_stats(m, &st);
    CHECKF(ordered && st.chunks == 1, "6 threads in turn: %llu chunks, blocks in order: %d", (unsigned long long)st.chunks,
           ordered);
    done(m, mal);
}

/* Waves of short-lived threads, more at once than there are held lanes:
 * lanes change hands while other threads allocate; no two blocks overlap. */
static void test_turnover(const void *base)
{
    enum { WAVES = 12, AT_ONCE = MM_HELD_LANES + 2, EACH = 1500 };
    mm_module *m;
    IMethodMalloc *mal = open_alloc(base, MM_DEFAULT_MAX_RVA, &m);
    struct worker w[WAVES * AT_ONCE];
    for (int wave = 0; wave < WAVES; wave++) {
        pl_thread t[AT_ONCE];
        for (int i = 0; i < AT_ONCE; i++) {
            struct worker *x = &w[wave * AT_ONCE + i];
            *x = (struct worker){.nmal = 1, .id = (uint32_t)(wave * AT_ONCE + i) % 250, .limit = EACH,
                                 .recs = calloc(EACH, sizeof(struct rec))};
            REQUIRE(x->recs);
            x->mal[0] = mal;
            REQUIRE(pl_thread_create(&t[i], work, x));
        }
        for (int i = 0; i < AT_ONCE; i++)
            pl_thread_join(t[i]);
    }
    size_t bad;
    check_blocks("lane turnover", w, WAVES * AT_ONCE, base, MM_DEFAULT_MAX_RVA, &bad);
    done(m, mal);
}

int main(void)
{
    static int anchor;
    run("one module", object_base(&anchor), 1, MM_DEFAULT_MAX_RVA, 0);
    run("three modules", object_base(&anchor), MODULES, MM_DEFAULT_MAX_RVA, 0);
    run("one module without image", NULL, 1, MM_DEFAULT_MAX_RVA, 0);
    run("refusals among the threads", object_base(&anchor), 1, 1u << 30, 50);
    test_lanes(object_base(&anchor));
    test_turnover(object_base(&anchor));
    return check_done();
}
