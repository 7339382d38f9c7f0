/* The system out of what the library needs, for real (no injected faults):
 * the address-space limit (RLIMIT_AS) and the process's map count
 * (vm.max_map_count is a setting for the whole system, but the limit it sets
 * is per process: the test fills its own mappings up to it, in a child, and
 * leaves the setting alone).  Checks: no crash; every block inside its
 * window and writable; refusals counted; a module closed while the system
 * refuses leaves none of its data readable, and donated space that
 * mm_donated counts as free has no access; once the limit is lifted,
 * everything works again.  Each part runs in a child with a deadline.
 * Plain builds only: ASan and TSan reserve terabytes of shadow, which an
 * address-space limit forbids, and map far too much for a count limit. */
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "methodmalloc.h"
#include "testutil.h"

/* AT_LIMIT: blocks asked of each module while the map count is exhausted;
 * each refusal there reads /proc/self/maps (65,000 lines) several times. */
enum { DEADLINE = 60, MAX_REC = 20000, AT_LIMIT = 10 };

struct rec {
    uintptr_t p;
    uint32_t cb;
    IMethodMalloc *from;
};

static struct rec recs[MAX_REC]; /* static: nothing to allocate once the system refuses */
static size_t nrec;
static char *region; /* 64 MiB reserved no-access, its middle 32 MiB donated */
static const size_t REGION = 64 << 20;

static bool inside(const void *p, size_t cb, const void *base, uint32_t max_rva)
{
    return !base || ((uintptr_t)p > (uintptr_t)base && (uintptr_t)p + cb - (uintptr_t)base <= max_rva);
}

/* Allocates n blocks of cb from mal, checking and stamping each; returns
 * how many were refused. */
static size_t fill(IMethodMalloc *mal, const void *base, uint32_t max_rva, size_t n, uint32_t cb)
{
    size_t refused = 0, outside = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = mal->lpVtbl->Alloc(mal, cb);
        if (!p) {
            refused++;
            continue;
        }
        outside += !inside(p, cb, base, max_rva);
        CHECKF(p[0] == 0 && p[cb - 1] == 0, "fresh block %p not zero", (void *)p);
        memset(p, 0x5A, cb);
        if (nrec < MAX_REC)
            recs[nrec++] = (struct rec){(uintptr_t)p, cb, mal};
    }
    CHECKF(outside == 0, "%zu blocks outside the window", outside);
    return refused;
}

/* /proc/self/maps, read once per question (it has some 65,000 lines while
 * the map count is exhausted). */
static struct pl_mapping map_storage[80000];
static struct pl_maps maps = {map_storage, 0, sizeof map_storage / sizeof map_storage[0]};

/* How many recorded blocks from `first` on are readable with their data. */
static size_t readable_from(size_t first)
{
    pl_maps_take(&maps);
    size_t n = 0;
    for (size_t i = first; i < nrec; i++) {
        const struct pl_mapping *m = pl_maps_find(&maps, recs[i].p);
        n += m && pl_mapping_accessible(m) && peek_byte(recs[i].p) == 0x5A;
    }
    return n;
}

/* ---- RLIMIT_AS ---- */

static size_t vm_size(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    REQUIRE(f && fscanf(f, "%lu", &pages) == 1);
    fclose(f);
    return pages * (size_t)sysconf(_SC_PAGESIZE);
}

static void address_space_limit(void)
{
    static int anchor;
    const void *exe = object_base(&anchor);
    mm_module *a, *n, *d;
    IMethodMalloc *amal = open_alloc(exe, MM_DEFAULT_MAX_RVA, &a);
    IMethodMalloc *nmal = open_alloc(NULL, MM_DEFAULT_MAX_RVA, &n);
    IMethodMalloc *dmal = open_alloc(region, 48 << 20, &d);
    struct rlimit old, lim;
    REQUIRE(getrlimit(RLIMIT_AS, &old) == 0);
    lim = old;
    lim.rlim_cur = vm_size() + (16 << 20);
    REQUIRE(setrlimit(RLIMIT_AS, &lim) == 0);

    /* 16 MiB of address space left: the 2 MiB blocks soon find none. */
    size_t refused_a = fill(amal, exe, MM_DEFAULT_MAX_RVA, 40, 2 << 20);
    size_t refused_n = fill(nmal, NULL, MM_DEFAULT_MAX_RVA, 40, 2 << 20);
    /* Donated space is already reserved: committing it costs no address space. */
    size_t refused_d = fill(dmal, region, 48 << 20, 2000, 4000);
    CHECKF(refused_a > 0 && refused_n > 0, "under a 16 MiB address-space margin, %zu and %zu of 40 2 MiB blocks refused",
           refused_a, refused_n);
    CHECKF(refused_d == 0, "%zu donated blocks refused under the address-space limit", refused_d);
    mm_stats st;
    mm_module_stats(a, &st);
    CHECKF(st.refused == refused_a && st.blocks == 40 - refused_a, "stats: %llu refused, %llu blocks; calls: %zu refused",
           (unsigned long long)st.refused, (unsigned long long)st.blocks, refused_a);
    mm_module_stats(n, &st);
    CHECK(st.refused == refused_n && st.blocks == 40 - refused_n);

    /* Lifted: the same modules serve again. */
    REQUIRE(setrlimit(RLIMIT_AS, &old) == 0);
    CHECKF(fill(amal, exe, MM_DEFAULT_MAX_RVA, 10, 2 << 20) == 0, "refusals after the limit was lifted");
    CHECKF(fill(nmal, NULL, MM_DEFAULT_MAX_RVA, 10, 2 << 20) == 0, "refusals after the limit was lifted");
    done(a, amal);
    done(n, nmal);
    done(d, dmal);
    CHECKF(readable_from(0) == 0, "closed blocks still readable with their data");
    uint64_t in_use;
    mm_donated(NULL, &in_use);
    CHECKF(in_use == 0, "donated in use %llu after close", (unsigned long long)in_use);
}

/* ---- the map count ---- */

static long max_map_count(void)
{
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    long n = 0;
    REQUIRE(f && fscanf(f, "%ld", &n) == 1);
    fclose(f);
    return n;
}

/* Splits a reservation of its own into single pages of alternating access
 * until the kernel refuses another mapping; returns the filler and its size. */
static char *fill_map_count(size_t *size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    *size = (size_t)(max_map_count() + 1000) * 2 * page;
    char *f = mmap(NULL, *size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    REQUIRE(f != MAP_FAILED);
    size_t i = 1;
    for (; 2 * i * page < *size; i++)
        if (mprotect(f + 2 * i * page, page, PROT_READ) != 0)
            break;
    REQUIRE(2 * i * page < *size); /* the count ran out before the filler did */
    return f;
}

/* Alloc(100000) from each in turn: every block a mapping of its own, the
 * two modules' next to each other (one kernel mapping once merged). */
static void interleave(IMethodMalloc *x, IMethodMalloc *y, const void *base, uint32_t max_rva, int n)
{
    for (int i = 0; i < n; i++) {
        CHECK(fill(x, base, max_rva, 1, 100000) == 0);
        CHECK(fill(y, base, max_rva, 1, 100000) == 0);
    }
}

static void map_count_limit(void)
{
    const void *image = make_image(64 << 10, 256 << 20);
    mm_module *a1, *a2, *d1, *d2, *e;
    IMethodMalloc *a1mal = open_alloc(image, 128 << 20, &a1), *a2mal = open_alloc(image, 128 << 20, &a2);
    IMethodMalloc *d1mal = open_alloc(region, 48 << 20, &d1), *d2mal = open_alloc(region, 48 << 20, &d2);
    interleave(a1mal, a2mal, image, 128 << 20, 20);
    interleave(d1mal, d2mal, region, 48 << 20, 20);
    size_t before = nrec;

    size_t filler_size;
    char *filler = fill_map_count(&filler_size);
    /* A split that needs two more mappings can fail with one left: take
     * the last ones with mappings of a file, which merge with nothing, until
     * the kernel refuses one. */
    int fd = memfd_create("probe", 0);
    REQUIRE(fd >= 0 && ftruncate(fd, 4096) == 0);
    void *last[8];
    int nlast = 0;
    while (nlast < 8 && (last[nlast] = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0)) != MAP_FAILED)
        nlast++;
    CHECKF(nlast < 8, "the map count is not exhausted");
    /* Exhausted: a module whose blocks need new mappings is refused; what
     * any module still serves is inside and writable; refusals counted. */
    static int anchor;
    const void *exe = object_base(&anchor);
    IMethodMalloc *emal = open_alloc(exe, MM_DEFAULT_MAX_RVA, &e);
    size_t refused_e = fill(emal, exe, MM_DEFAULT_MAX_RVA, AT_LIMIT, 1000);
    size_t refused_a = fill(a1mal, image, 128 << 20, AT_LIMIT, 100000);
    mm_stats st;
    /* Whether the kernel refuses depends on whether a chunk can grow a
     * neighbouring mapping; what is refused must be counted. */
    mm_module_stats(e, &st);
    CHECKF(st.refused == refused_e, "fresh module at the limit: %zu refused, stats %llu", refused_e,
           (unsigned long long)st.refused);
    mm_module_stats(a1, &st);
    CHECKF(st.refused == refused_a, "stats count %llu refusals, calls %zu", (unsigned long long)st.refused, refused_a);
    done(e, emal);
    /* Closing a1 and d1 must cut their chunks out of mappings shared with
     * a2's and d2's: splits the kernel now refuses. */
    done(a1, a1mal);
    done(d1, d1mal);
    pl_maps_take(&maps);
    size_t readable = 0, closed = 0;
    for (size_t i = 0; i < nrec; i++) {
        if (recs[i].from != a1mal && recs[i].from != d1mal && recs[i].from != emal)
            continue;
        const struct pl_mapping *m = pl_maps_find(&maps, recs[i].p);
        readable += m && pl_mapping_accessible(m) && peek_byte(recs[i].p) == 0x5A;
        closed++;
    }
    uint64_t in_use, kept;
    mm_donated(NULL, &in_use);
    mm_release_failures(NULL, &kept);
    /* Donated space mm_donated counts as free must have no access; what the
     * system would not decommit is kept, discarded, and counted as such. */
    uint64_t accessible = pl_maps_accessible(&maps, (uintptr_t)region + REGION / 4, (uintptr_t)region + REGION / 4 * 3);
    munmap(filler, filler_size);
    while (nlast)
        munmap(last[--nlast], 4096);
    close(fd);
    printf("map count: %zu of %d blocks refused at the limit, %zu made before\n", refused_e + refused_a, 2 * AT_LIMIT,
           before);
    CHECKF(accessible <= in_use + kept, "map count exhausted: %llu donated bytes accessible, %llu in use, %llu kept",
           (unsigned long long)accessible, (unsigned long long)in_use, (unsigned long long)kept);
    CHECKF(readable == 0, "map count exhausted: %zu of %zu blocks of closed modules readable with their data", readable,
           closed);

    /* Lifted: modules work again, and closing them leaves nothing behind. */
    size_t first = nrec;
    CHECK(fill(a2mal, image, 128 << 20, 100, 3000) == 0);
    CHECK(fill(d2mal, region, 48 << 20, 100, 3000) == 0);
    done(a2, a2mal);
    done(d2, d2mal);
    CHECKF(readable_from(first) == 0, "after the limit: closed blocks readable");
    CHECKF(readable_from(0) == 0, "blocks closed at the limit still readable with their data once every module closed");
    mm_donated(NULL, &in_use);
    CHECKF(in_use == 0, "after the limit: donated in use %llu with every module closed", (unsigned long long)in_use);
}

static void in_child(const char *what, void (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        alarm(DEADLINE);
        check_failures = check_count = 0;
        fn();
        fflush(NULL);
        _exit(check_failures ? 1 : 0);
    }
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child %s %d", what,
           WIFSIGNALED(status) ? "killed by signal" : "exited", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

int main(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    fprintf(stderr, "test_exhaust runs in plain builds only (sanitizers reserve terabytes of shadow)\n");
    return 1;
#endif
    region = mmap(NULL, REGION, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    REQUIRE(region != MAP_FAILED);
    REQUIRE(mm_donate(region + REGION / 4, REGION / 2) == S_OK);
    in_child("RLIMIT_AS", address_space_limit);
    in_child("map count", map_count_limit);
    return check_done();
}
