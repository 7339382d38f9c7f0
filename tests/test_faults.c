/* Fault injection: every call the library makes to a failing OS-layer
 * primitive (tests/fault.h lists them) and to malloc/calloc fails in turn,
 * the Nth call alone and every call from the Nth on, over one scripted
 * workload: modules on real bases (this executable, libc, an image with an
 * 8 MiB window, no base, a window only donated space serves, the top of the
 * address space), Allocs of many sizes with 0 and huge ones, QueryInterface,
 * stats, a donation, closes.  Each run is a child process with a deadline;
 * after it the child checks: no crash or hang, every block inside its
 * window, aligned, zero-filled and writable, nothing overlapping, stats
 * equal to what the calls returned (refusals counted), a lone fault costing
 * at most one Alloc, closed blocks' data gone, donated space all free again,
 * no library malloc left, and, once the fault is cleared, the whole workload
 * once more with every answer as in a run without faults.
 *
 * Usage: test_faults [--stride K] [--only NAME]: with a stride, only every
 * Kth N of each primitive is tried (the sanitizer builds run a subset). */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>

#include "fault.h"
#include "methodmalloc.h"
#include "testutil.h"

enum expect { OK, NUL, ANY };

enum { MAX_BLOCKS = 4096, SMALL_PER_ROUND = 70, ROUNDS = 3, DEADLINE = 30 };

struct block {
    uintptr_t p;
    uint32_t cb;
    uint8_t stamp;
};

struct mod {
    const char *what;
    const void *base;
    uint32_t max_rva, alignment;
    bool donated_window;
    mm_module *m;
    IMethodMalloc *mal;
    uint64_t got, nulls, unexpected_nulls, requested;
};

/* What the parent learns from a child: calls seen by each primitive. */
struct shared {
    uint64_t calls[FP_COUNT];
    uint64_t injected;
    /* The run without faults: library allocations left at its end (the
     * space index and the donation's bookkeeping live on), and the
     * donation's part of them. */
    long ref_live, ref_donation_live;
    bool ref_done;
};
static struct shared *shared;

static struct block blocks[MAX_BLOCKS]; /* static: the test allocates nothing while the library runs */
static size_t nblocks;
static char *region;                     /* 64 MiB reserved no-access: the donated modules' window */
static const size_t REGION = 64 << 20;
static const size_t D1 = 8 << 20, D1_SIZE = 16 << 20; /* donated by the parent */
static const size_t D2 = 40 << 20, D2_SIZE = 4 << 20; /* donated by each child, under faults */
static const void *exe_base, *libc_base, *image_base;
static bool faulting; /* phase A of a run with an armed fault */
static bool once;     /* the armed fault fails one call only */
static char run_name[96];
static long donation_live; /* library allocations the child's donation keeps */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[%s] ", run_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    check_failures++;
}
#define EXPECT(cond, ...)                  \
    do {                                   \
        check_count++;                     \
        if (!(cond))                       \
            fail(__VA_ARGS__);             \
    } while (0)

/* ---- /proc/self/maps, read once per question ---- */

static struct pl_mapping map_storage[16384];
static struct pl_maps maps = {map_storage, 0, sizeof map_storage / sizeof map_storage[0]};

/* ---- the workload ---- */

static bool inside(const struct mod *d, uintptr_t p, uint32_t cb)
{
    return !d->base || (p > (uintptr_t)d->base && p + cb - (uintptr_t)d->base <= d->max_rva);
}

/* A fresh block: inside, aligned, zero, then stamped all through (sampled
 * for blocks too large to touch every page of). */
static void take(struct mod *d, unsigned char *p, uint32_t cb)
{
    uintptr_t a = (uintptr_t)p;
    EXPECT(inside(d, a, cb), "%s: Alloc(%u) = %p outside the window", d->what, cb, (void *)p);
    EXPECT(a % d->alignment == 0, "%s: Alloc(%u) = %p not aligned to %u", d->what, cb, (void *)p, d->alignment);
    uint8_t stamp = (uint8_t)(nblocks % 251 + 1);
    /* A block of gigabytes (a window-less module may get one) is touched at
     * its two ends only: its chunk is advised for huge pages, so each touch
     * costs 2 MiB of memory. */
    size_t step = cb > (1u << 20) ? cb : 1;
    size_t nonzero = 0;
    for (size_t k = 0; k < cb; k += step)
        nonzero += p[k] != 0;
    nonzero += p[cb - 1] != 0;
    EXPECT(nonzero == 0, "%s: Alloc(%u) = %p has %zu nonzero bytes", d->what, cb, (void *)p, nonzero);
    if (step == 1)
        memset(p, stamp, cb);
    else
        for (size_t k = 0; k < cb; k += step)
            p[k] = stamp;
    p[cb - 1] = stamp;
    REQUIRE(nblocks < MAX_BLOCKS);
    blocks[nblocks++] = (struct block){a, cb, stamp};
    d->got++;
    d->requested += cb;
}

static void alloc(struct mod *d, uint32_t cb, enum expect e)
{
    if (!d->mal)
        return;
    unsigned char *p;
    LIB(p = d->mal->lpVtbl->Alloc(d->mal, cb));
    if (p) {
        EXPECT(e != NUL, "%s: Alloc(%u) = %p, want NULL", d->what, cb, (void *)p);
        take(d, p, cb);
        return;
    }
    d->nulls++;
    if (e == OK) {
        d->unexpected_nulls++;
        EXPECT(faulting, "%s: Alloc(%u) = NULL without a fault", d->what, cb);
    }
}

static void open_mod(struct mod *d)
{
    mm_config c = {d->max_rva, d->alignment, MM_COUNT_BLOCKS};
    HRESULT hr;
    d->m = NULL;
    d->mal = NULL;
    LIB(hr = mm_module_open(d->base, &c, &d->m));
    if (hr != S_OK) {
        EXPECT(faulting && hr == E_OUTOFMEMORY && d->m == NULL, "%s: open = %#x, m = %p", d->what, (unsigned)hr,
               (void *)d->m);
        return;
    }
    LIB(hr = mm_module_allocator(d->m, &d->mal));
    EXPECT(hr == S_OK && d->mal, "%s: allocator = %#x", d->what, (unsigned)hr);
    void *pv = NULL;
    LIB(hr = d->mal->lpVtbl->QueryInterface(d->mal, &IID_IUnknown, &pv));
    EXPECT(hr == S_OK && pv == d->mal, "%s: QueryInterface(IUnknown) = %#x", d->what, (unsigned)hr);
    if (pv)
        LIB(d->mal->lpVtbl->Release(d->mal));
    static const IID other = {1, 0, 0, {0xC0, 0, 0, 0, 0, 0, 0, 0x46}};
    LIB(hr = d->mal->lpVtbl->QueryInterface(d->mal, &other, &pv));
    EXPECT(hr == E_NOINTERFACE && pv == NULL, "%s: QueryInterface(other) = %#x", d->what, (unsigned)hr);
}

/* Stats must say exactly what the calls returned. */
static void check_stats(struct mod *d)
{
    if (!d->m)
        return;
    mm_stats st;
    HRESULT hr;
    LIB(hr = mm_module_stats(d->m, &st));
    EXPECT(hr == S_OK, "%s: stats = %#x", d->what, (unsigned)hr);
    EXPECT(st.counted && st.blocks == d->got && st.bytes_requested == d->requested && st.refused == d->nulls,
           "%s: stats blocks %llu requested %llu refused %llu; calls gave %llu blocks, %llu bytes, %llu NULL",
           d->what, (unsigned long long)st.blocks, (unsigned long long)st.bytes_requested,
           (unsigned long long)st.refused, (unsigned long long)d->got, (unsigned long long)d->requested,
           (unsigned long long)d->nulls);
    EXPECT(st.bytes_allocated >= st.bytes_requested && st.bytes_reserved >= st.bytes_allocated,
           "%s: allocated %llu, requested %llu, reserved %llu", d->what, (unsigned long long)st.bytes_allocated,
           (unsigned long long)st.bytes_requested, (unsigned long long)st.bytes_reserved);
    EXPECT(!d->base || st.highest_rva <= d->max_rva, "%s: highest rva %llu", d->what,
           (unsigned long long)st.highest_rva);
    EXPECT(!once || d->unexpected_nulls <= 1, "%s: one failed call cost %llu Allocs", d->what,
           (unsigned long long)d->unexpected_nulls);
}

/* After close: no block of the module is readable with its data. */
static void check_closed(size_t first, size_t last, const char *what)
{
    pl_maps_take(&maps);
    size_t readable = 0;
    for (size_t i = first; i < last; i++) {
        const struct pl_mapping *mp = pl_maps_find(&maps, blocks[i].p);
        if (mp && pl_mapping_accessible(mp) && peek_byte(blocks[i].p) == blocks[i].stamp)
            readable++;
    }
    EXPECT(readable == 0, "%s: %zu of %zu blocks still readable with their data after close", what, readable,
           last - first);
}

static void check_blocks_intact(size_t first)
{
    size_t clobbered = 0;
    for (size_t i = first; i < nblocks; i++) {
        const uint8_t *p = (const uint8_t *)blocks[i].p;
        clobbered += p[0] != blocks[i].stamp || p[blocks[i].cb - 1] != blocks[i].stamp;
    }
    EXPECT(clobbered == 0, "%zu blocks overwritten by later ones", clobbered);
}

static void workload(void)
{
    struct mod mods[] = {
        {"executable", exe_base, MM_DEFAULT_MAX_RVA, 8, false, 0, 0, 0, 0, 0, 0},
        {"libc, alignment 4096", libc_base, MM_DEFAULT_MAX_RVA, 4096, false, 0, 0, 0, 0, 0, 0},
        {"8 MiB window", image_base, 8 << 20, 16, false, 0, 0, 0, 0, 0, 0},
        {"no base", NULL, MM_DEFAULT_MAX_RVA, 8, false, 0, 0, 0, 0, 0, 0},
        {"donated A", region, 48 << 20, 8, true, 0, 0, 0, 0, 0, 0},
        {"donated B", region, 48 << 20, 1, true, 0, 0, 0, 0, 0, 0},
        {"top of the address space", (const void *)(UINTPTR_MAX - 4095), MM_DEFAULT_MAX_RVA, 8, false, 0, 0, 0, 0, 0, 0},
    };
    enum { N = sizeof mods / sizeof mods[0] };
    size_t first = nblocks;
    uint64_t in_use0;
    mm_donated(NULL, &in_use0);

    /* A donation of the child's own, beyond what the workload needs. */
    long live0 = atomic_load(&fault_live);
    HRESULT hr;
    LIB(hr = mm_donate(region + D2, D2_SIZE));
    static bool donated2;
    if (!donated2) {
        EXPECT(hr == S_OK || (faulting && hr == E_OUTOFMEMORY), "mm_donate = %#x", (unsigned)hr);
        donated2 = hr == S_OK;
    } else {
        EXPECT(hr == E_INVALIDARG, "second mm_donate of one range = %#x", (unsigned)hr);
    }
    if (hr == S_OK)
        donation_live = atomic_load(&fault_live) - live0;

    for (int i = 0; i < N; i++)
        open_mod(&mods[i]);
    /* Rounds interleave the modules' chunks, so that closing one leaves
     * holes between another's in the donated space. */
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < N; i++) {
            struct mod *d = &mods[i];
            bool top = d->base == (const void *)(UINTPTR_MAX - 4095);
            enum expect fit = top ? NUL : OK;
            uint64_t seed = 0x5EED0000u + (uint64_t)(i * 16 + round);
            if (round == 0) {
                static const uint32_t sizes[] = {1, 7, 8, 24, 100, 1000, 4096, 65536};
                for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
                    alloc(d, sizes[k], fit);
                alloc(d, 0, NUL);
                /* Without a window, huge requests may be served; one is
                 * enough (stats read the residency of all it reserves). */
                alloc(d, 0xFFFFFFFFu, d->base ? NUL : ANY);
                if (d->base) {
                    alloc(d, 0xFFFFFFF9u, NUL);
                    alloc(d, 0x80000000u, NUL);
                }
                if (d->base && d->max_rva < 0x7FFFFFFFu)
                    alloc(d, d->max_rva + 1u, NUL);
            }
            for (int k = 0; k < SMALL_PER_ROUND; k++)
                alloc(d, 1 + (uint32_t)(rng_next(&seed) % 4000), fit);
            alloc(d, 300000, fit); /* a mapping of its own */
            check_stats(d);
        }
    }
    check_blocks_intact(first);
    for (int i = 0; i < N; i++) {
        check_stats(&mods[i]);
        if (mods[i].mal)
            LIB(mods[i].mal->lpVtbl->Release(mods[i].mal));
        LIB(mm_module_close(mods[i].m));
    }
    check_closed(first, nblocks, "workload");
    /* Every chunk the system would not unmap or decommit is counted. */
    uint64_t kept, kept_bytes;
    mm_release_failures(&kept, &kept_bytes);
    uint64_t failed = atomic_load(&fault_injected_at[FP_RELEASE]) + atomic_load(&fault_injected_at[FP_DECOMMIT]);
    EXPECT(kept == failed, "mm_release_failures counts %llu chunks; %llu releases and decommits failed",
           (unsigned long long)kept, (unsigned long long)failed);
    uint64_t in_use;
    mm_donated(NULL, &in_use);
    /* The header: a closed module's donated range is free again, no access,
     * unless the system would not decommit it: then it is kept (counted by
     * mm_release_failures), discarded, and never taken again. */
    pl_maps_take(&maps);
    uint64_t accessible = pl_maps_accessible(&maps, (uintptr_t)region, (uintptr_t)region + REGION);
    EXPECT(accessible <= in_use + kept_bytes, "%llu bytes of donated space accessible, %llu counted in use, %llu kept",
           (unsigned long long)accessible, (unsigned long long)in_use, (unsigned long long)kept_bytes);
    EXPECT(in_use == in_use0, "donated in use %llu after every module closed, %llu before", (unsigned long long)in_use,
           (unsigned long long)in_use0);
    shared->injected = atomic_load(&fault_injected);
}

/* One run in a child: the workload with the fault armed, then without. */
static void child(const struct fault *f)
{
    alarm(DEADLINE);
    check_failures = 0; /* the parent's count of failed runs is not this run's */
    fault_reset();
    long live_before = atomic_load(&fault_live);
    if (f) {
        fault_armed = *f;
        faulting = true;
        once = !f->onward;
    }
    workload();
    for (int i = 0; i < FP_COUNT; i++)
        shared->calls[i] = atomic_load(&fault_calls[i]);
    fault_armed.nth = 0;
    faulting = once = false;
    /* Recovery: the same workload, every answer as without faults. */
    workload();
    check_closed(0, nblocks, "after recovery, any block");
    /* Every library allocation freed but what lives on for the process (the
     * donation's bookkeeping, the index of the address space): as many as
     * in the run without faults, less the donation's if it failed here. */
    long live = atomic_load(&fault_live) - live_before;
    if (!shared->ref_done) {
        shared->ref_live = live;
        shared->ref_donation_live = donation_live;
    } else {
        long want = shared->ref_live - shared->ref_donation_live + donation_live;
        /* A donated range kept because it would not decommit splits the
         * free range around it: one more list node each. */
        long kept_donated = (long)atomic_load(&fault_injected_at[FP_DECOMMIT]);
        EXPECT(live >= want && live <= want + kept_donated,
               "%ld library allocations left after every module closed, want %ld (+%ld kept ranges)", live, want,
               kept_donated);
    }
    exit(check_failures ? 1 : 0);
}

/* Forks a run; returns true if it passed. */
static bool run(const struct fault *f)
{
    if (f)
        snprintf(run_name, sizeof run_name, "%s call %llu%s fails (%d)%s%s", fault_names[f->point],
                 (unsigned long long)f->nth, f->onward ? " and on" : "", f->error,
                 f->also < FP_COUNT ? ", every " : "", f->also < FP_COUNT ? fault_names[f->also] : "");
    else
        snprintf(run_name, sizeof run_name, "no fault");
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0)
        child(f);
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    check_count++;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    check_failures++;
    if (WIFSIGNALED(status))
        fprintf(stderr, "[%s] child killed by signal %d%s\n", run_name, WTERMSIG(status),
                WTERMSIG(status) == SIGALRM ? " (hung past the deadline)" : "");
    else
        fprintf(stderr, "[%s] child failed (exit %d)\n", run_name, WEXITSTATUS(status));
    return false;
}

/* ---- a failed decommit racing with the next take of the same range ---- */

static _Atomic int paused, go;

static void pause_in_discard(enum fault_point point)
{
    if (point != FP_DISCARD || atomic_exchange(&paused, 1))
        return;
    struct timespec t = {0, 10000000};
    for (int i = 0; i < 200 && !atomic_load(&go); i++)
        nanosleep(&t, NULL);
}

struct closing {
    mm_module *m;
    IMethodMalloc *mal;
};

static void *close_module(void *arg)
{
    struct closing *c = arg;
    c->mal->lpVtbl->Release(c->mal);
    mm_module_close(c->m);
    return NULL;
}

/* A donated chunk whose decommit fails at close: while the closing thread
 * is between giving the range back and dropping its pages, another module
 * takes the range and writes a body there.  That body must survive. */
static void give_back_race(void)
{
    alarm(DEADLINE);
    check_failures = 0;
    fault_reset();
    fault_armed = (struct fault){FP_DECOMMIT, 1, false, MM_OS_ENOMEM, FP_COUNT};
    fault_hook = pause_in_discard;
    mm_module *a, *b;
    IMethodMalloc *amal = open_alloc(region, 48 << 20, &a), *bmal = open_alloc(region, 48 << 20, &b);
    REQUIRE(amal->lpVtbl->Alloc(amal, 100));
    struct closing c = {a, amal};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, close_module, &c) == 0);
    struct timespec tick = {0, 1000000};
    for (int i = 0; i < 2000 && !atomic_load(&paused); i++)
        nanosleep(&tick, NULL);
    unsigned char *p = bmal->lpVtbl->Alloc(bmal, 100);
    REQUIRE(p);
    memset(p, 0xAB, 100);
    atomic_store(&go, 1);
    pthread_join(t, NULL);
    size_t lost = 0;
    for (int i = 0; i < 100; i++)
        lost += p[i] != 0xAB;
    snprintf(run_name, sizeof run_name, "decommit fails while the range is taken again");
    EXPECT(atomic_load(&paused) == 1, "the closing thread never dropped the pages of its chunk");
    EXPECT(lost == 0, "%zu of 100 bytes of another module's live block wiped by the closing module", lost);
    done(b, bmal);
    exit(check_failures ? 1 : 0);
}

static int anchor;

int main(int argc, char **argv)
{
    unsigned stride = 1;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--stride") && i + 1 < argc)
            stride = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--stride K] [--only PRIMITIVE]\n", argv[0]);
            return 2;
        }
    }
    REQUIRE(stride >= 1);
    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(shared != MAP_FAILED);
    exe_base = object_base(&anchor);
    libc_base = object_base(stderr);
    image_base = make_image(64 << 10, 64 << 20);
    region = mmap(NULL, REGION, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    REQUIRE(region != MAP_FAILED);
    REQUIRE(mm_donate(region + D1, D1_SIZE) == S_OK);

    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0)
        give_back_race();
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the give-back race: child status %#x", (unsigned)status);

    /* The reference run counts the calls there are to fail. */
    REQUIRE(run(NULL));
    shared->ref_done = true;
    struct shared counted = *shared;
    uint64_t sites = 0;
    for (int i = 0; i < FP_COUNT; i++) {
        printf("%-24s %4llu calls\n", fault_names[i], (unsigned long long)counted.calls[i]);
        sites += counted.calls[i];
    }
    /* What every design of the allocator must call to serve and close this
     * workload; the others (reserve_in, free_ranges, discard ...) depend
     * on how it places chunks and on failures, and are failed when called. */
    static const enum fault_point needed[] = {FP_COMMIT, FP_DECOMMIT, FP_RELEASE, FP_LOCK_INIT, FP_MALLOC};
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++)
        CHECKF(counted.calls[needed[i]] > 0, "the workload never calls %s", fault_names[needed[i]]);
    CHECKF(counted.calls[FP_RESERVE_AT] + counted.calls[FP_RESERVE_IN] + counted.calls[FP_RESERVE_ANYWHERE] > 0,
           "the workload reserves nothing");

    uint64_t runs = 0, injected = 0, failed_runs = 0;
    for (int i = 0; i < FP_COUNT; i++) {
        if (only && strcmp(only, fault_names[i]))
            continue;
        /* The errors each primitive can give. */
        int errors[2] = {MM_OS_ENOMEM, 0};
        if (i == FP_RESERVE_AT)
            errors[1] = MM_OS_ETAKEN;
        if (i == FP_RESERVE_IN)
            errors[1] = MM_OS_ENOROOM;
        for (uint64_t n = 1; n <= counted.calls[i]; n += stride)
            for (int onward = 0; onward < 2; onward++)
                for (int e = 0; e < 3; e++) {
                    /* The third variant: a release that fails and then the
                     * discard of its pages too. */
                    bool discard = e == 2 && (i == FP_RELEASE || i == FP_DECOMMIT);
                    if (!discard && (e == 2 || !errors[e]))
                        continue;
                    struct fault f = {(enum fault_point)i, n, onward, errors[discard ? 0 : e],
                                      discard ? FP_DISCARD : FP_COUNT};
                    shared->injected = 0;
                    if (!run(&f))
                        failed_runs++;
                    runs++;
                    injected += shared->injected;
                }
    }
    printf("%llu call sites, %llu runs, %llu faults injected, %llu runs failed\n", (unsigned long long)sites,
           (unsigned long long)runs, (unsigned long long)injected, (unsigned long long)failed_runs);
    return check_done();
}
