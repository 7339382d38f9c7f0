/* A seeded multi-thread sequence fuzzer over the whole public API: threads
 * pick operations at random (open a module on one of several bases and
 * configurations, get its allocator, QueryInterface, AddRef/Release, Alloc
 * of random sizes with 0 and huge ones, stats, donate, close, and Alloc and
 * Release on interface pointers kept past close).  Close never runs while
 * another thread allocates from the same module (the header's rule): each
 * module's slot has a read-write lock, taken for writing by close only.
 *
 * Invariants, checked as it goes: every block inside its window, aligned
 * and zero-filled; NULL after close; a small request in a roomy window
 * never refused.  At each checkpoint (every thread stopped at a barrier) and
 * at each close: no two live blocks overlap, every block keeps what was
 * written into it, and each module's stats equal exactly what its Allocs
 * returned (blocks, bytes requested, refusals).  At the end, with every
 * module closed: donated space all free again.
 *
 * Usage: test_fuzz [--seed S] [--ops N] [--seconds T] [--threads K]: N
 * operations per thread, or as many as fit in T seconds. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "methodmalloc.h"
#include "testutil.h"

/* How densely fresh blocks are checked for zeros.  Under TSan every byte
 * read writes its shadow, so a dense check costs a fresh shadow page per
 * page read: there the plain and ASan runs check densely, TSan sparsely. */
#if defined(__SANITIZE_THREAD__)
#define ZERO_STRIDE 65536u
#else
#define ZERO_STRIDE 64u
#endif

enum { SLOTS = 12, MAX_THREADS = 16, EPOCH = 2000, MAX_ZOMBIES = 64 };

struct rec {
    uintptr_t p;
    uint32_t cb;
    uint8_t stamp;
};

struct slot {
    pthread_rwlock_t rw; /* read: use the module; write: open or close it */
    mm_module *m;
    IMethodMalloc *mal;
    const void *base;
    mm_config cfg;
    bool roomy; /* a window of at least 1 GiB or none: small requests must fit */
    pthread_mutex_t rec_lock;
    struct rec *recs;
    size_t n, cap;
    uint64_t got, requested, nulls; /* under rec_lock */
};

static struct slot slots[SLOTS];
static pthread_mutex_t zombie_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zombie {
    IMethodMalloc *mal;
    int refs;
} zombies[MAX_ZOMBIES];
static int nzombies;

static char *region; /* reserved no-access; pieces are donated as the fuzzer goes */
static const size_t REGION = 256 << 20;
static size_t donated_upto; /* under donate_lock */
static pthread_mutex_t donate_lock = PTHREAD_MUTEX_INITIALIZER;

static const void *bases[8];
static int nbases;
static const void *TOP = (const void *)(UINTPTR_MAX - 4095);

static pthread_barrier_t barrier;
static _Atomic bool stop;
static _Atomic uint64_t ops_done, allocs_done, checkpoints;
static int nthreads = 6;
static uint64_t ops_per_thread = 20000;
static double seconds;
static uint64_t seed = 1;
static struct timespec started;

/* Failures found on worker threads: counted atomically, reported at once. */
static _Atomic int failures;
#define FAIL(...)                                 \
    do {                                          \
        atomic_fetch_add(&failures, 1);           \
        fprintf(stderr, "seed %llu: ", (unsigned long long)seed); \
        fprintf(stderr, __VA_ARGS__);             \
        fputc('\n', stderr);                      \
    } while (0)

static double elapsed(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - started.tv_sec) + (double)(t.tv_nsec - started.tv_nsec) / 1e9;
}

static bool inside(const struct slot *s, uintptr_t p, uint32_t cb)
{
    return !s->base || (p > (uintptr_t)s->base && p + cb - (uintptr_t)s->base <= s->cfg.max_rva);
}

/* ---- operations; s->rw is held for reading unless said otherwise ---- */

static uint32_t random_size(uint64_t *r, const struct slot *s)
{
    unsigned k = (unsigned)(rng_next(r) % 1000);
    if (k < 700)
        return 1 + (uint32_t)(rng_next(r) % 512);
    if (k < 900)
        return 513 + (uint32_t)(rng_next(r) % 3584);
    if (k < 960)
        return 4097 + (uint32_t)(rng_next(r) % 61440);
    if (k < 980)
        return 65537 + (uint32_t)(rng_next(r) % 400000);
    if (k < 990 || !s->base) /* a module without a window would serve a huge request */
        return 0;
    /* Huge, and never able to fit: a 2 GiB block served in a 4 GiB window
     * would take the whole of a smaller window sharing its base. */
    static const uint32_t huge[] = {0xFFFFFFFFu, 0xFFFFFFF9u, 0x80000000u, 0x7FFFFFFFu};
    uint32_t cb = huge[rng_next(r) % 4];
    if (cb <= s->cfg.max_rva)
        cb = s->cfg.max_rva == 0xFFFFFFFFu ? 0xFFFFFFFFu : s->cfg.max_rva + 1u;
    return cb;
}

static void op_alloc(struct slot *s, uint64_t *r)
{
    uint32_t cb = random_size(r, s);
    unsigned char *p = s->mal->lpVtbl->Alloc(s->mal, cb);
    atomic_fetch_add_explicit(&allocs_done, 1, memory_order_relaxed);
    if (!p) {
        if (cb && cb <= 65536 && s->roomy) {
            mm_stats st;
            mm_module_stats(s->m, &st);
            FAIL("Alloc(%u) refused in a roomy window (base %p, max_rva %#x): module has %llu chunks, %llu bytes "
                 "reserved, %llu allocated, %llu refused",
                 cb, s->base, s->cfg.max_rva, (unsigned long long)st.chunks, (unsigned long long)st.bytes_reserved,
                 (unsigned long long)st.bytes_allocated, (unsigned long long)st.refused);
        }
        pthread_mutex_lock(&s->rec_lock);
        s->nulls++;
        pthread_mutex_unlock(&s->rec_lock);
        return;
    }
    uintptr_t a = (uintptr_t)p;
    if (cb == 0 || cb > s->cfg.max_rva)
        FAIL("Alloc(%u) = %p, want NULL (max_rva %#x)", cb, (void *)p, s->cfg.max_rva);
    if (!inside(s, a, cb))
        FAIL("Alloc(%u) = %p outside (%p, %p + %#x]", cb, (void *)p, s->base, s->base, s->cfg.max_rva);
    if (a % s->cfg.alignment)
        FAIL("Alloc(%u) = %p not aligned to %u", cb, (void *)p, s->cfg.alignment);
    size_t nonzero = 0;
    for (uint32_t k = 0; k < cb; k += ZERO_STRIDE)
        nonzero += p[k] != 0;
    nonzero += p[cb - 1] != 0;
    if (nonzero)
        FAIL("Alloc(%u) = %p: %zu nonzero bytes in a fresh block", cb, (void *)p, nonzero);
    /* Stamped where checked (head, middle, tail), not all through: writing
     * every page would spend the run clearing fresh pages in the kernel. */
    uint8_t stamp = (uint8_t)(rng_next(r) % 255 + 1);
    p[0] = p[cb / 2] = p[cb - 1] = stamp;
    pthread_mutex_lock(&s->rec_lock);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->recs = realloc(s->recs, s->cap * sizeof *s->recs);
        if (!s->recs)
            abort(); /* REQUIRE's counters are the main thread's */
    }
    s->recs[s->n++] = (struct rec){a, cb, stamp};
    s->got++;
    s->requested += cb;
    pthread_mutex_unlock(&s->rec_lock);
}

static void op_refs(struct slot *s, uint64_t *r)
{
    static const IID other = {1, 0, 0, {0xC0, 0, 0, 0, 0, 0, 0, 0x46}};
    void *pv = &pv;
    switch (rng_next(r) % 3) {
    case 0:
        if (s->mal->lpVtbl->QueryInterface(s->mal, &IID_IUnknown, &pv) != S_OK || pv != s->mal)
            FAIL("QueryInterface(IUnknown) failed or gave %p for %p", pv, (void *)s->mal);
        else if (((IUnknown *)pv)->lpVtbl->Release(pv) < 2)
            FAIL("Release after QueryInterface left fewer than 2 references");
        break;
    case 1:
        if (s->mal->lpVtbl->QueryInterface(s->mal, &other, &pv) != E_NOINTERFACE || pv != NULL)
            FAIL("QueryInterface(other) did not say E_NOINTERFACE with NULL");
        break;
    default:
        if (s->mal->lpVtbl->AddRef(s->mal) < 3)
            FAIL("AddRef gave fewer than 3 references");
        if (s->mal->lpVtbl->Release(s->mal) < 2)
            FAIL("Release gave fewer than 2 references");
    }
}

static void op_stats(struct slot *s)
{
    mm_stats st;
    if (mm_module_stats(s->m, &st) != S_OK) {
        FAIL("mm_module_stats failed");
        return;
    }
    if (st.bytes_allocated > st.bytes_reserved || (s->base && st.highest_rva > s->cfg.max_rva)
        || (s->base && st.lowest_rva > st.highest_rva))
        FAIL("stats: allocated %llu, reserved %llu, rva %llu..%llu, max_rva %#x", (unsigned long long)st.bytes_allocated,
             (unsigned long long)st.bytes_reserved, (unsigned long long)st.lowest_rva,
             (unsigned long long)st.highest_rva, s->cfg.max_rva);
}

/* With s->rw held for writing (nobody else uses the module): the stats
 * exactly as the Allocs went, every block as written. */
static void check_quiet(struct slot *s)
{
    mm_stats st;
    if (mm_module_stats(s->m, &st) != S_OK) {
        FAIL("mm_module_stats failed");
        return;
    }
    bool counted = (s->cfg.flags & MM_COUNT_BLOCKS) != 0;
    if (st.counted != counted || st.refused != s->nulls
        || (counted && (st.blocks != s->got || st.bytes_requested != s->requested))
        || (!counted && (st.blocks || st.bytes_requested)))
        FAIL("quiet stats: blocks %llu, requested %llu, refused %llu; Allocs gave %llu blocks, %llu bytes, %llu NULL",
             (unsigned long long)st.blocks, (unsigned long long)st.bytes_requested, (unsigned long long)st.refused,
             (unsigned long long)s->got, (unsigned long long)s->requested, (unsigned long long)s->nulls);
    uint64_t padded_max = s->requested + s->got * block_padding_max(s->cfg.alignment);
    if (st.bytes_allocated < s->requested || st.bytes_allocated > padded_max)
        FAIL("quiet stats: allocated %llu for %llu bytes in %llu blocks", (unsigned long long)st.bytes_allocated,
             (unsigned long long)s->requested, (unsigned long long)s->got);
    size_t bad = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct rec *b = &s->recs[i];
        const uint8_t *p = (const uint8_t *)b->p;
        bad += p[0] != b->stamp || p[b->cb / 2] != b->stamp || p[b->cb - 1] != b->stamp;
    }
    if (bad)
        FAIL("%zu of %zu blocks lost what was written into them", bad, s->n);
}

static void pick_config(struct slot *s, uint64_t *r)
{
    s->base = bases[rng_next(r) % (uint64_t)nbases];
    static const uint32_t aligns[] = {1, 4, 8, 8, 8, 16, 64, 4096};
    static const uint32_t rvas[] = {MM_DEFAULT_MAX_RVA, MM_DEFAULT_MAX_RVA, 0xFFFFFFFFu, 1 << 20, 8 << 20, 64 << 20};
    s->cfg.alignment = aligns[rng_next(r) % 8];
    s->cfg.max_rva = s->base == region ? 192 << 20 : rvas[rng_next(r) % 6];
    s->cfg.flags = rng_next(r) % 4 ? MM_COUNT_BLOCKS : 0;
    /* Room is certain only above this executable (the heap's brk area
     * takes a little of it) and without a window: other bases have the
     * process's mappings above them (the test's region, thread stacks,
     * malloc's arenas, libraries), the test region is only what is donated. */
    s->roomy = (s->base == bases[0] || !s->base) && s->cfg.max_rva >= 1u << 30;
}

/* With s->rw held for writing. */
static void op_open(struct slot *s, uint64_t *r)
{
    pick_config(s, r);
    mm_module *m = NULL;
    if (mm_module_open(s->base, &s->cfg, &m) != S_OK || !m) {
        FAIL("mm_module_open failed");
        return;
    }
    IMethodMalloc *mal = NULL;
    if (mm_module_allocator(m, &mal) != S_OK || !mal) {
        FAIL("mm_module_allocator failed");
        mm_module_close(m);
        return;
    }
    s->m = m;
    s->mal = mal;
    s->n = 0;
    s->got = s->requested = s->nulls = 0;
}

/* With s->rw held for writing. */
static void op_close(struct slot *s, uint64_t *r)
{
    check_quiet(s);
    /* Now and then keep a few interface pointers past close. */
    int keep = rng_next(r) % 4 == 0 ? 1 + (int)(rng_next(r) % 3) : 0;
    for (int i = 0; i < keep; i++)
        s->mal->lpVtbl->AddRef(s->mal);
    s->mal->lpVtbl->Release(s->mal);
    mm_module_close(s->m);
    /* Other threads see the kept pointers only once the module is closed. */
    pthread_mutex_lock(&zombie_lock);
    if (keep && nzombies < MAX_ZOMBIES)
        zombies[nzombies++] = (struct zombie){s->mal, keep};
    else
        while (keep--)
            s->mal->lpVtbl->Release(s->mal);
    pthread_mutex_unlock(&zombie_lock);
    s->m = NULL;
    s->mal = NULL;
    s->n = 0;
}

static void op_zombie(uint64_t *r)
{
    pthread_mutex_lock(&zombie_lock);
    if (nzombies) {
        int i = (int)(rng_next(r) % (uint64_t)nzombies);
        IMethodMalloc *mal = zombies[i].mal;
        void *p = mal->lpVtbl->Alloc(mal, 1 + (uint32_t)(rng_next(r) % 100));
        if (p)
            FAIL("Alloc after close gave %p", p);
        void *pv = NULL;
        if (mal->lpVtbl->QueryInterface(mal, &IID_IMethodMalloc, &pv) != S_OK || pv != mal)
            FAIL("QueryInterface after close failed");
        else
            mal->lpVtbl->Release(mal);
        ULONG left = mal->lpVtbl->Release(mal);
        if (left != (ULONG)(zombies[i].refs - 1))
            FAIL("Release after close of %p gave %u, want %d", (void *)mal, left, zombies[i].refs - 1);
        if (--zombies[i].refs == 0)
            zombies[i] = zombies[--nzombies];
    }
    pthread_mutex_unlock(&zombie_lock);
}

static void op_donate(uint64_t *r)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    pthread_mutex_lock(&donate_lock);
    size_t size = (1 + (size_t)(rng_next(r) % 2048)) * page;
    size_t gap = rng_next(r) % 2 ? page : 0;
    if (donated_upto && rng_next(r) % 4 == 0) {
        /* Overlapping an earlier donation: refused, nothing changed. */
        if (mm_donate(region + donated_upto - page, 2 * page) != E_INVALIDARG)
            FAIL("an overlapping donation was not refused");
    } else if (donated_upto + gap + size <= REGION) {
        if (mm_donate(region + donated_upto + gap, size) != S_OK)
            FAIL("mm_donate(%p, %zu) failed", (void *)(region + donated_upto + gap), size);
        donated_upto += gap + size;
    }
    pthread_mutex_unlock(&donate_lock);
}

/* ---- checkpoints ---- */

static int by_address(const void *a, const void *b)
{
    uintptr_t x = ((const struct rec *)a)->p, y = ((const struct rec *)b)->p;
    return x < y ? -1 : x > y;
}

/* Every thread is at the barrier: every module is quiet. */
static void checkpoint(void)
{
    size_t total = 0;
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].m)
            total += slots[i].n;
    struct rec *all = malloc((total + 1) * sizeof *all);
    REQUIRE(all);
    size_t k = 0;
    for (int i = 0; i < SLOTS; i++) {
        if (!slots[i].m)
            continue;
        check_quiet(&slots[i]);
        memcpy(all + k, slots[i].recs, slots[i].n * sizeof *all);
        k += slots[i].n;
    }
    qsort(all, total, sizeof *all, by_address);
    size_t overlaps = 0;
    for (size_t i = 1; i < total; i++)
        overlaps += all[i - 1].p + all[i - 1].cb > all[i].p;
    if (overlaps)
        FAIL("%zu overlapping blocks among %zu live ones", overlaps, total);
    free(all);
    atomic_fetch_add(&checkpoints, 1);
}

struct worker {
    int id;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    uint64_t r = seed * 0x9E3779B97F4A7C15ULL + (uint64_t)w->id + 1;
    for (uint64_t done = 0;;) {
        for (int i = 0; i < EPOCH; i++, done++) {
            unsigned k = (unsigned)(rng_next(&r) % 1000);
            struct slot *s = &slots[rng_next(&r) % SLOTS];
            if (k < 15) {
                pthread_rwlock_wrlock(&s->rw);
                if (s->m)
                    op_close(s, &r);
                else
                    op_open(s, &r);
                pthread_rwlock_unlock(&s->rw);
            } else if (k < 20) {
                op_donate(&r);
            } else if (k < 30) {
                op_zombie(&r);
            } else {
                pthread_rwlock_rdlock(&s->rw);
                if (s->m) {
                    if (k < 60)
                        op_refs(s, &r);
                    else if (k < 70)
                        op_stats(s);
                    else
                        op_alloc(s, &r);
                }
                pthread_rwlock_unlock(&s->rw);
            }
        }
        atomic_fetch_add_explicit(&ops_done, EPOCH, memory_order_relaxed);
        /* Everyone stops; one thread checks; everyone decides together. */
        if (pthread_barrier_wait(&barrier) == PTHREAD_BARRIER_SERIAL_THREAD) {
            checkpoint();
            if ((seconds > 0 ? elapsed() >= seconds : done >= ops_per_thread) || atomic_load(&failures) > 20)
                atomic_store(&stop, true);
        }
        pthread_barrier_wait(&barrier);
        if (atomic_load(&stop))
            return NULL;
    }
}

static int anchor;

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--seed"))
            seed = strtoull(argv[++i], NULL, 0);
        else if (i + 1 < argc && !strcmp(argv[i], "--ops"))
            ops_per_thread = strtoull(argv[++i], NULL, 0);
        else if (i + 1 < argc && !strcmp(argv[i], "--seconds"))
            seconds = strtod(argv[++i], NULL);
        else if (i + 1 < argc && !strcmp(argv[i], "--threads"))
            nthreads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--seed S] [--ops N] [--seconds T] [--threads K]\n", argv[0]);
            return 2;
        }
    }
    REQUIRE(nthreads >= 1 && nthreads <= MAX_THREADS);
    clock_gettime(CLOCK_MONOTONIC, &started);
    region = mmap(NULL, REGION, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    REQUIRE(region != MAP_FAILED);
    bases[nbases++] = object_base(&anchor);
    bases[nbases++] = object_base(stderr);
    bases[nbases++] = make_image(64 << 10, 96 << 20);
    bases[nbases++] = region;
    bases[nbases++] = NULL;
    bases[nbases++] = TOP;
    bases[nbases++] = (const void *)(uintptr_t)0x10000; /* low in the address space */
    for (int i = 0; i < SLOTS; i++) {
        REQUIRE(pthread_rwlock_init(&slots[i].rw, NULL) == 0);
        REQUIRE(pthread_mutex_init(&slots[i].rec_lock, NULL) == 0);
    }
    REQUIRE(pthread_barrier_init(&barrier, NULL, (unsigned)nthreads) == 0);
    pthread_t t[MAX_THREADS];
    struct worker w[MAX_THREADS];
    for (int i = 0; i < nthreads; i++) {
        w[i].id = i;
        REQUIRE(pthread_create(&t[i], NULL, work, &w[i]) == 0);
    }
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);

    /* The end: every module closed, every kept pointer released. */
    uint64_t r = seed;
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].m)
            op_close(&slots[i], &r);
        free(slots[i].recs);
    }
    while (nzombies)
        op_zombie(&r);
    uint64_t total, in_use;
    mm_donated(&total, &in_use);
    CHECKF(in_use == 0, "donated in use %llu of %llu after every module closed", (unsigned long long)in_use,
           (unsigned long long)total);
    CHECKF(atomic_load(&failures) == 0, "%d failures (seed %llu)", atomic_load(&failures), (unsigned long long)seed);
    printf("seed %llu: %d threads, %llu operations (%llu Allocs), %llu checkpoints, %llu bytes donated, %.1f s\n",
           (unsigned long long)seed, nthreads, (unsigned long long)atomic_load(&ops_done),
           (unsigned long long)atomic_load(&allocs_done), (unsigned long long)atomic_load(&checkpoints),
           (unsigned long long)total, elapsed());
    return check_done();
}
