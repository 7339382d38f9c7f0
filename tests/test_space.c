/* Shared windows (issue 8): where a heap places its chunks when windows
 * overlap, as CoreCLR's images do; the index of free space going stale under
 * other mappers; refusals that cost no scan. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "heap/space.h"
#include "methodmalloc.h"
#include "testutil.h"

static bool inside(const void *p, size_t cb, const void *base, uint32_t max_rva)
{
    return p && (uintptr_t)p > (uintptr_t)base && (uintptr_t)p + cb - (uintptr_t)base <= max_rva;
}

static bool within(const void *p, size_t cb, const char *lo, size_t size)
{
    return p && (const char *)p >= lo && (const char *)p + cb <= lo + size;
}

static mm_space_counters counters(void)
{
    mm_space_counters c;
    mm_space_counters_get(&c);
    return c;
}

/* How often the index read the OS, for whatever reason. */
static uint64_t refreshes(void)
{
    mm_space_counters c;
    mm_space_counters_get(&c);
    return c.learns + c.refreshes;
}

static uint64_t known_bytes(void)
{
    mm_space_counters c;
    mm_space_counters_get(&c);
    return c.known_bytes;
}

/* A region of the test's own, no access, with holes punched where asked. */
static char *covered(size_t size)
{
    char *r = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    REQUIRE(r != MAP_FAILED);
    return r;
}

static void punch(char *at, size_t size)
{
    REQUIRE(munmap(at, size) == 0);
}

/* The index learns a window from the OS when the first chunk is placed in
 * it, and only what it did not know: nothing outside the windows, nothing
 * twice.  A free range met from two windows is one range, so a block as
 * large as the whole range fits without asking the OS again.  Runs first:
 * nothing is known before it. */
static void test_learns_windows_only(void)
{
    const size_t MiB = 1 << 20, page = (size_t)sysconf(_SC_PAGESIZE), big = 1536 << 10;
    REQUIRE(known_bytes() == 0);
    char *r = covered(64 * MiB);
    punch(r + 4 * MiB, 2 * MiB);
    punch(r + 15 * MiB, 2 * MiB); /* across the first window's end */
    punch(r + 20 * MiB, 2 * MiB);
    mm_module *a, *b;
    IMethodMalloc *ma = open_alloc(r, 16 * MiB, &a); /* [r + page, r + 16M) */
    uint64_t before = refreshes();
    CHECK(within(ma->lpVtbl->Alloc(ma, big), big, r + 4 * MiB, 2 * MiB));
    CHECKF(refreshes() == before + 1 && known_bytes() == 16 * MiB - page,
           "the first window: %llu reads, %llu bytes known", (unsigned long long)(refreshes() - before),
           (unsigned long long)known_bytes());
    /* The next window starts where the first ends: only its own part is read. */
    IMethodMalloc *mb = open_alloc(r + 16 * MiB - page, 16 * MiB, &b); /* [r + 16M, r + 32M - page) */
    CHECK(within(mb->lpVtbl->Alloc(mb, big), big, r + 20 * MiB, 2 * MiB));
    CHECKF(refreshes() == before + 2 && known_bytes() == 32 * MiB - 2 * page,
           "the second window: %llu reads, %llu bytes known", (unsigned long long)(refreshes() - before),
           (unsigned long long)known_bytes());
    /* A window inside what is known (and contested by none, so that no
     * read is due before taking contested room): nothing read, and the hole
     * across the two windows' border is one range. */
    done(a, ma);
    mm_module *c;
    IMethodMalloc *mc = open_alloc(r + 14 * MiB, 4 * MiB, &c);
    char *p = mc->lpVtbl->Alloc(mc, big);
    CHECKF(within(p, big, r + 15 * MiB, 2 * MiB), "a block across the two windows' border: %p (hole %p)", (void *)p,
           (void *)(r + 15 * MiB));
    CHECKF(refreshes() == before + 2 && known_bytes() == 32 * MiB - 2 * page, "the third window: %llu reads",
           (unsigned long long)(refreshes() - before));
    done(b, mb);
    done(c, mc);
    munmap(r, 64 * MiB);
}

/* Two chunks in a 2 MiB hole, the first given back first; then, after
 * `read_between` has the index read anew while only the second is there
 * (free room on both sides of it in the index), the second.  Every piece
 * must be one free range again: a block of the whole hole's size fits
 * without asking the OS. */
static void give_back_two(bool read_between)
{
    const size_t MiB = 1 << 20;
    char *r = covered(16 * MiB);
    punch(r + 4 * MiB, 2 * MiB);
    mm_module *a, *b, *c;
    IMethodMalloc *ma = open_alloc(r, 8 * MiB, &a), *mb = open_alloc(r, 8 * MiB, &b);
    CHECK(within(ma->lpVtbl->Alloc(ma, 100), 100, r + 4 * MiB, 64 << 10));
    CHECK(within(mb->lpVtbl->Alloc(mb, 600 << 10), 600 << 10, r + 4 * MiB, 2 * MiB));
    done(a, ma);
    struct mm_window w = {.lo = (uintptr_t)r + 4 * MiB, .hi = (uintptr_t)r + 6 * MiB, .bounded = 1};
    if (read_between)
        CHECK(mm_space_rebuild(&w) == 0);
    done(b, mb);
    uint64_t before = refreshes();
    IMethodMalloc *mc = open_alloc(r, 8 * MiB, &c);
    char *p = mc->lpVtbl->Alloc(mc, 2 * MiB - 4096);
    CHECKF(within(p, 2 * MiB - 4096, r + 4 * MiB, 2 * MiB), "the whole hole after both closed: %p", (void *)p);
    CHECKF(refreshes() == before, "%s: %llu reads of the OS", read_between ? "read between" : "not read",
           (unsigned long long)(refreshes() - before));
    done(c, mc);
    munmap(r, 16 * MiB);
}

static void test_given_back_joins(void)
{
    give_back_two(false);
    give_back_two(true);
}

/* A free range across the border of two stretches (contested below, not
 * above) holds a block neither part holds alone: the window's last resort. */
static void test_room_across_stretches(void)
{
    const size_t MiB = 1 << 20;
    char *r = covered(32 * MiB);
    punch(r + 16 * MiB, 2 * MiB); /* the lower window ends at r + 17M */
    mm_module *lower, *higher;
    IMethodMalloc *lo = open_alloc(r + 1 * MiB, 16 * MiB, &lower);
    IMethodMalloc *hi = open_alloc(r + 9 * MiB, 16 * MiB, &higher);
    char *p = hi->lpVtbl->Alloc(hi, 1536 << 10);
    CHECKF(within(p, 1536 << 10, r + 16 * MiB, 2 * MiB), "the higher module got %p, the hole is at %p", (void *)p,
           (void *)(r + 16 * MiB));
    done(lower, lo);
    done(higher, hi);
    munmap(r, 32 * MiB);
}

/* Two windows share a hole; the higher one also has a hole of its own above
 * the lower one's end.  The higher module allocates first and must leave the
 * shared hole, the lower module's only room, alone. */
static void test_only_room_left(void)
{
    size_t size = 32 << 20;
    char *r = covered(size);
    char *shared = r + (12 << 20), *own = r + (20 << 20);
    punch(shared, 64 << 10);
    punch(own, 64 << 10);
    mm_module *lower, *higher;
    IMethodMalloc *lo = open_alloc(r + (1 << 20), 16 << 20, &lower);  /* (r+1M, r+17M] */
    IMethodMalloc *hi = open_alloc(r + (9 << 20), 16 << 20, &higher); /* (r+9M, r+25M] */
    char *b = hi->lpVtbl->Alloc(hi, 100);
    CHECKF(within(b, 100, own, 64 << 10), "the higher module took %p, not its own hole %p (shared hole %p)",
           (void *)b, (void *)own, (void *)shared);
    char *a = lo->lpVtbl->Alloc(lo, 100);
    CHECKF(within(a, 100, shared, 64 << 10), "the lower module got %p, not the shared hole %p", (void *)a,
           (void *)shared);
    if (a && b) {
        memset(a, 1, 100);
        memset(b, 2, 100);
    }
    done(lower, lo);
    done(higher, hi);
    munmap(r, size);
}

/* When contested room is all a window has, it gets a small chunk of it and
 * leaves the rest to the window that has nothing else. */
static void test_contested_room_small(void)
{
    size_t size = 32 << 20;
    char *r = covered(size);
    char *shared = r + (12 << 20);
    punch(shared, 1 << 20);
    mm_module *lower, *higher;
    IMethodMalloc *lo = open_alloc(r + (1 << 20), 16 << 20, &lower);
    IMethodMalloc *hi = open_alloc(r + (9 << 20), 16 << 20, &higher);
    /* The higher module's lane would grow to 1 MiB chunks after a few. */
    size_t got = 0;
    for (int i = 0; i < 200; i++)
        got += within(hi->lpVtbl->Alloc(hi, 1000), 1000, shared, 1 << 20);
    mm_stats st;
    mm_module_stats(higher, &st);
    CHECKF(got == 200 && st.bytes_reserved <= (256 << 10), "contested: %zu blocks, %llu bytes reserved", got,
           (unsigned long long)st.bytes_reserved);
    char *a = lo->lpVtbl->Alloc(lo, 100000);
    CHECKF(within(a, 100000, shared, 1 << 20), "the lower module found no room left: %p", (void *)a);
    done(lower, lo);
    done(higher, hi);
    munmap(r, size);
}

/* CoreCLR's layout in small: images packed one after another, each window
 * the same length, so each window reaches only a little past the one below
 * it, and the lowest module's only room is what every other window covers
 * too.  Allocating from the highest module down, each heap must take the
 * room above its neighbour's window, and every module gets its block. */
static void test_packed_images(void)
{
    enum { N = 100 };
    const size_t step = 64 << 10, window = 8 << 20;
    char *r = covered(N * step + window + (1 << 20));
    punch(r + N * step, window + (1 << 20)); /* free above the images */
    mm_module *m[N];
    IMethodMalloc *mal[N];
    for (int i = 0; i < N; i++)
        mal[i] = open_alloc(r + i * step, (uint32_t)window, &m[i]);
    int ok = 0;
    for (int i = N - 1; i >= 0; i--) {
        char *p = mal[i]->lpVtbl->Alloc(mal[i], 100);
        if (inside(p, 100, r + i * step, (uint32_t)window)) {
            memset(p, i, 100);
            ok++;
        }
    }
    CHECKF(ok == N, "%d of %d packed modules got a block", ok, N);
    for (int i = 0; i < N; i++)
        done(m[i], mal[i]);
    munmap(r, N * step + window + (1 << 20));
}

/* Someone maps where the index saw room: the heap learns it from the OS,
 * places elsewhere, and never over that mapping. */
static void test_stale_index(void)
{
    const void *image = make_image(64 << 10, 64 << 20);
    mm_module *m;
    IMethodMalloc *mal = open_alloc(image, 32 << 20, &m);
    char *first = mal->lpVtbl->Alloc(mal, 100);
    REQUIRE(inside(first, 100, image, 32 << 20));
    mm_stats st;
    mm_module_stats(m, &st);
    /* Right after the chunk: where its next chunk would go. */
    char *next = first + st.bytes_reserved;
    char *theirs = mmap(next, 4 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    REQUIRE(theirs == next);
    uint64_t before = refreshes();
    char *p = mal->lpVtbl->Alloc(mal, 200000);
    CHECK(inside(p, 200000, image, 32 << 20) && !(p < theirs + (4 << 20) && p + 200000 > theirs));
    if (p)
        memset(p, 5, 200000);
    CHECK(refreshes() >= before);
    done(m, mal);
    munmap(theirs, 4 << 20);
    munmap((void *)image, 64 << 10);
}

/* A full window refuses without reading the OS again, however often (it
 * checks the other library's mapping around the hole, one system call for
 * each of its two stretches); room given back by another module of the same
 * window is found without a scan. */
static void test_cheap_refusal(void)
{
    size_t size = 16 << 20;
    char *r = covered(size);
    char *hole = r + (4 << 20);
    punch(hole, 64 << 10);
    mm_module *m1, *m2;
    IMethodMalloc *a = open_alloc(r, (uint32_t)size, &m1), *b = open_alloc(r, (uint32_t)size, &m2);
    CHECK(within(a->lpVtbl->Alloc(a, 100), 100, hole, 64 << 10));
    uint64_t before = refreshes(), checked = counters().checks;
    int refused = 0;
    for (int i = 0; i < 1000; i++)
        refused += b->lpVtbl->Alloc(b, 100) == NULL;
    uint64_t after = refreshes();
    CHECKF(refused == 1000 && after - before <= 1, "%d refusals cost %llu rebuilds of the index", refused,
           (unsigned long long)(after - before));
    mm_space_counters c = counters();
    CHECKF(c.checks - checked <= 2 * 1000 + 2, "%d refusals made %llu checks", refused,
           (unsigned long long)(c.checks - checked));
    done(m1, a); /* the hole is free again */
    char *p = b->lpVtbl->Alloc(b, 100);
    CHECKF(within(p, 100, hole, 64 << 10), "after the other module closed: %p", (void *)p);
    CHECK(refreshes() == after);
    mm_stats st;
    mm_module_stats(m2, &st);
    CHECK(st.refused == 1000);
    done(m2, b);
    munmap(r, size);
}

/* What refusing a full window asks the OS (issue 15).  A window holding
 * only the library's chunks: nothing, however often.  Its chunks and its
 * image: a check once per 1 + own / foreign bytes refusals, and the image's
 * place is found once unmapped.  A window covered by
 * one other mapping: one check per refusal, no reading, until the owner
 * unmaps part of it, which the next Alloc finds.  A window with hundreds
 * of other mappings: checked once per so many refusals that a refusal
 * costs at most CREDIT (2) system calls on average, and what is unmapped
 * there is still found within those refusals. */
static void test_refusal_costs(void)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE), MiB = 1 << 20;

    /* Its own chunks only: the room above a base with nothing mapped. */
    char *r = covered(5 * MiB);
    punch(r, 5 * MiB);
    mm_module *m;
    IMethodMalloc *mal = open_alloc(r, 4 * MiB, &m);
    size_t got = 0;
    while (mal->lpVtbl->Alloc(mal, 1000))
        got++;
    mm_space_counters c0 = counters();
    int refused = 0;
    for (int i = 0; i < 1000; i++)
        refused += mal->lpVtbl->Alloc(mal, 1000) == NULL;
    mm_space_counters c1 = counters();
    CHECKF(got > 3000 && refused == 1000 && c1.checks == c0.checks && c1.rereads == c0.rereads && c1.learns == c0.learns
               && c1.refreshes == c0.refreshes,
           "a window of its own chunks (%zu blocks): 1000 refusals made %llu checks and %llu readings", got,
           (unsigned long long)(c1.checks - c0.checks),
           (unsigned long long)(c1.rereads - c0.rereads + c1.learns - c0.learns + c1.refreshes - c0.refreshes));
    done(m, mal);

    /* Its chunks and its image at the base (as a real module's window
     * holds it): the image is the only foreign part, 1/64 of the window,
     * so a check is spread over about 63 refusals. */
    const size_t img = 64 << 10;
    char *image = (char *)make_image(img, 8 * MiB);
    mal = open_alloc(image, 4 * MiB, &m);
    got = 0;
    while (mal->lpVtbl->Alloc(mal, 1000))
        got++;
    c0 = counters();
    refused = 0;
    for (int i = 0; i < 1000; i++)
        refused += mal->lpVtbl->Alloc(mal, 1000) == NULL;
    c1 = counters();
    CHECKF(got > 3000 && refused == 1000 && c1.checks - c0.checks <= 1000 / 32 + 2 && c1.rereads == c0.rereads,
           "a window of its chunks and a %zu KiB image (%zu blocks): 1000 refusals made %llu checks, %llu readings",
           img >> 10, got, (unsigned long long)(c1.checks - c0.checks), (unsigned long long)(c1.rereads - c0.rereads));
    /* Still checked: the image unmapped is room within those refusals. */
    punch(image, img);
    char *p = NULL;
    int waited = 0;
    while (!p && waited < 4096)
        p = mal->lpVtbl->Alloc(mal, 1000), waited++;
    CHECKF(within(p, 1000, image, img) && waited <= 128,
           "its image unmapped: found after %d refusals, at %p (image %p)", waited, (void *)p, (void *)image);
    done(m, mal);

    /* One other mapping over all of it. */
    r = covered(8 * MiB);
    mal = open_alloc(r, 8 * MiB, &m);
    CHECK(mal->lpVtbl->Alloc(mal, 1000) == NULL);
    c0 = counters();
    refused = 0;
    for (int i = 0; i < 100; i++)
        refused += mal->lpVtbl->Alloc(mal, 1000) == NULL;
    c1 = counters();
    CHECKF(refused == 100 && c1.checks - c0.checks == 100 && c1.rereads == c0.rereads,
           "a covered window: 100 refusals made %llu checks, %llu readings",
           (unsigned long long)(c1.checks - c0.checks), (unsigned long long)(c1.rereads - c0.rereads));
    punch(r + 4 * MiB, MiB);
    p = mal->lpVtbl->Alloc(mal, 1000);
    c0 = counters();
    CHECKF(within(p, 1000, r + 4 * MiB, MiB) && c0.rereads == c1.rereads + 1,
           "after an unmap in the covered window: %p, %llu readings", (void *)p,
           (unsigned long long)(c0.rereads - c1.rereads));
    done(m, mal);
    munmap(r, 8 * MiB);

    /* N mappings of a page, a page apart: no room for two pages. */
    enum { N = 256 };
    r = covered(2 * N * page);
    for (size_t i = 0; i < N; i++)
        punch(r + (2 * i + 1) * page, page);
    mal = open_alloc(r, (uint32_t)(2 * N * page), &m);
    CHECK(mal->lpVtbl->Alloc(mal, (ULONG)(2 * page)) == NULL);
    c0 = counters();
    refused = 0;
    for (int i = 0; i < 1000; i++)
        refused += mal->lpVtbl->Alloc(mal, (ULONG)(2 * page)) == NULL;
    c1 = counters();
    CHECKF(refused == 1000 && c1.checks > c0.checks && c1.checks - c0.checks <= 2 * 1000 + N,
           "%d stretches: 1000 refusals made %llu checks", N, (unsigned long long)(c1.checks - c0.checks));
    /* Two of them unmapped: five pages free. */
    char *freed = r + 100 * page;
    punch(freed, page);
    punch(freed + 2 * page, page);
    int tries = 0;
    p = NULL;
    while (!p && tries < 4 * N)
        p = mal->lpVtbl->Alloc(mal, (ULONG)(2 * page)), tries++;
    CHECKF(within(p, 2 * page, freed - page, 5 * page) && tries <= 2 * N,
           "two of %d mappings unmapped: found after %d refusals, at %p (freed %p)", N, tries, (void *)p,
           (void *)freed);
    done(m, mal);
    munmap(r, 2 * N * page);
}

/* Threads refused by a covered window (two modules, two threads each)
 * while the window's owner unmaps part of it: every thread then gets its
 * block in the hole, and each block is whole (under TSan: the refusal's
 * credit and checks race with the modules' and the index's locks). */
struct refuser {
    IMethodMalloc *mal;
    atomic_int *refusals;
    char *got;
};

static void *refuse_until_room(void *arg)
{
    struct refuser *f = arg;
    for (long i = 0; i < 2000000 && !f->got; i++) {
        f->got = f->mal->lpVtbl->Alloc(f->mal, 1000);
        if (!f->got)
            atomic_fetch_add(f->refusals, 1);
    }
    if (f->got)
        memset(f->got, 0x5A, 1000);
    return NULL;
}

static void test_refusals_race(void)
{
    const size_t MiB = 1 << 20;
    char *r = covered(16 * MiB);
    mm_module *m[2];
    IMethodMalloc *mal[2] = {open_alloc(r, 16 * MiB, &m[0]), open_alloc(r, 16 * MiB, &m[1])};
    atomic_int refusals = 0;
    struct refuser f[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        f[i] = (struct refuser){mal[i / 2], &refusals, NULL};
        REQUIRE(pthread_create(&t[i], NULL, refuse_until_room, &f[i]) == 0);
    }
    while (atomic_load(&refusals) < 400)
        sched_yield();
    punch(r + 8 * MiB, MiB);
    size_t in_hole = 0, whole = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        in_hole += within(f[i].got, 1000, r + 8 * MiB, MiB);
        whole += f[i].got && f[i].got[0] == 0x5A && f[i].got[999] == 0x5A;
    }
    CHECKF(in_hole == 4 && whole == 4, "4 refused threads: %zu got a block in the hole, %zu whole (%d refusals)",
           in_hole, whole, atomic_load(&refusals));
    done(m[0], mal[0]);
    done(m[1], mal[1]);
    munmap(r, 16 * MiB);
}

/* Other threads map and unmap pages at random places of the same free area
 * while heaps place chunks in it: no block outside its window, none lost,
 * none overwritten. */
struct racer {
    char *area;
    size_t size;
    atomic_bool stop;
    unsigned seed;
    size_t maps;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    while (!atomic_load(&r->stop)) {
        r->seed = r->seed * 1103515245u + 12345u;
        char *at = r->area + (r->seed % (r->size / page / 4)) * page * 4;
        void *q = mmap(at, page * 2, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (q == at) {
            r->maps++;
            munmap(q, page * 2);
        } else if (q != MAP_FAILED)
            munmap(q, page * 2);
    }
    return NULL;
}

static void test_race_with_other_mappers(void)
{
    size_t size = 128 << 20;
    const void *image = make_image(64 << 10, size);
    struct racer rc[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        rc[i] = (struct racer){(char *)image + (64 << 10), size, false, 17u * (unsigned)i + 1, 0};
        REQUIRE(pthread_create(&t[i], NULL, race, &rc[i]) == 0);
    }
    size_t bad = 0, got = 0;
    for (int round = 0; round < 50; round++) {
        mm_module *m;
        IMethodMalloc *mal = open_alloc(image, (uint32_t)size, &m);
        char *blocks[64];
        for (int i = 0; i < 64; i++) {
            blocks[i] = mal->lpVtbl->Alloc(mal, 3000 + 100 * (ULONG)i);
            if (!blocks[i])
                continue;
            got++;
            bad += !inside(blocks[i], 3000 + 100 * (size_t)i, image, (uint32_t)size);
            memset(blocks[i], round + 1, 3000 + 100 * (size_t)i);
        }
        for (int i = 0; i < 64; i++)
            bad += blocks[i] && (blocks[i][0] != round + 1 || blocks[i][2999] != round + 1);
        done(m, mal);
    }
    for (int i = 0; i < 2; i++) {
        atomic_store(&rc[i].stop, true);
        pthread_join(t[i], NULL);
    }
    CHECKF(bad == 0 && got == 50 * 64, "%zu blocks, %zu bad, while others mapped %zu times", got, bad,
           rc[0].maps + rc[1].maps);
    munmap((void *)image, 64 << 10);
}

int main(void)
{
    test_learns_windows_only();
    test_given_back_joins();
    test_room_across_stretches();
    test_only_room_left();
    test_contested_room_small();
    test_packed_images();
    test_stale_index();
    test_cheap_refusal();
    test_refusal_costs();
    test_refusals_race();
    test_race_with_other_mappers();
    return check_done();
}
