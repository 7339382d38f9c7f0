/* The OS layer's view of the address space on Linux (src/os/linux.c): the
 * free ranges of a stretch and the mapping at an address, exact, from both of
 * its sources: the kernel's PROCMAP_QUERY (Linux 6.11 and later), which
 * starts where it is asked and never reads the mappings below, and the text
 * of /proc/self/maps, used where the kernel has no query.  Each source is
 * shut off in a child process by a seccomp filter, so that the answers are
 * known to come from the other one. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "os/os.h"

#define QUERY_CMD 0xC0686611u /* PROCMAP_QUERY, as in src/os/linux.c */

#if defined(__x86_64__)
#define THIS_ARCH AUDIT_ARCH_X86_64
#elif defined(__i386__)
#define THIS_ARCH AUDIT_ARCH_I386
#elif defined(__aarch64__)
#define THIS_ARCH AUDIT_ARCH_AARCH64
#else
#error "test_os: no seccomp architecture for this target"
#endif

#define KIB ((uintptr_t)1 << 10)
#define MIB ((uintptr_t)1 << 20)

/* The test's region: 4 MiB mapped at r, holes where the table says; 64 KiB
 * free on either side, so no neighbour merges with it. */
static uintptr_t r;
static const struct {
    uintptr_t lo, hi;
} holes[] = {{64 * KIB, 128 * KIB}, {1 * MIB, 1 * MIB + 4 * KIB}, {2 * MIB, 3 * MIB}};
#define NHOLES (sizeof holes / sizeof holes[0])

/* A dense stretch of DENSE pages at d: every even page mapped, every odd
 * one free, except the hole pages of the table, free too: runs of small
 * mappings and gaps, with free ranges of every size around 64 KiB in it. */
#define DENSE 2048
static uintptr_t d;
static bool dense_free[DENSE];
static const struct {
    size_t lo, hi; /* pages */
} dense_holes[] = {{100, 118}, {300, 315}, {500, 514}, {701, 741}, {1200, 1216}, {1600, 1601}, {2000, DENSE}};

static void make_dense(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *p = mmap(NULL, (DENSE + 32) * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    REQUIRE(p != MAP_FAILED);
    REQUIRE(munmap(p, 16 * page) == 0);
    REQUIRE(munmap(p + (DENSE + 16) * page, 16 * page) == 0);
    d = (uintptr_t)p + 16 * page;
    for (size_t i = 0; i < DENSE; i++)
        dense_free[i] = i % 2;
    for (size_t h = 0; h < sizeof dense_holes / sizeof dense_holes[0]; h++)
        for (size_t i = dense_holes[h].lo; i < dense_holes[h].hi; i++)
            dense_free[i] = true;
    for (size_t i = 0; i < DENSE; i++)
        if (dense_free[i])
            REQUIRE(munmap((void *)(d + i * page), page) == 0);
}

struct ranges {
    uintptr_t lo[2048], hi[2048];
    size_t n;
};

static int keep(void *ctx, uintptr_t lo, uintptr_t hi)
{
    struct ranges *g = ctx;
    if (g->n < 2048) {
        g->lo[g->n] = lo;
        g->hi[g->n] = hi;
    }
    g->n++;
    return 0;
}

/* A walk that may skip: every free range of the dense stretch of at least
 * `whole` bytes is seen whole, nothing seen is not free, and where the
 * kernel answers queries, it asks about fewer than one mapping in four.
 * What is free is what the exact walk saw (checked by check_region): a
 * tool's own mappings (valgrind's) may land in the stretch's holes. */
static void check_dense(const char *who, bool query)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), whole = 16 * page, asked = 0;
    static struct ranges exact, g;
    exact.n = g.n = 0;
    mm_os_range v = {d, d + DENSE * page};
    CHECKF(mm_os_free_ranges_in(&v, 1, 0, keep, &exact, NULL) == 0 && exact.n > DENSE / 4 && exact.n <= 2048,
           "%s: exact dense walk saw %zu ranges", who, exact.n);
    CHECKF(mm_os_free_ranges_in(&v, 1, whole, keep, &g, &asked) == 0 && g.n <= 2048, "%s: dense walk", who);
    size_t bad = 0, missed = 0, large = 0;
    for (size_t k = 0; k < g.n && k < 2048; k++) {
        bool inside = false;
        for (size_t i = 0; i < exact.n && i < 2048 && !inside; i++)
            inside = exact.lo[i] <= g.lo[k] && g.hi[k] <= exact.hi[i];
        bad += !inside;
    }
    for (size_t i = 0; i < exact.n && i < 2048; i++) {
        if (exact.hi[i] - exact.lo[i] < whole)
            continue;
        large++;
        bool seen = false;
        for (size_t k = 0; k < g.n && k < 2048; k++)
            seen |= g.lo[k] == exact.lo[i] && g.hi[k] == exact.hi[i];
        missed += !seen;
    }
    CHECKF(bad == 0 && missed == 0 && large >= 4,
           "%s: dense walk saw %zu ranges that are not free, missed %zu of %zu large ranges", who, bad, missed, large);
    if (query)
        CHECKF(asked < exact.n / 4, "%s: the dense walk asked about %zu mappings of %zu", who, asked, exact.n);
}

static void make_region(void)
{
    char *p = mmap(NULL, 4 * MIB + 128 * KIB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    REQUIRE(p != MAP_FAILED);
    REQUIRE(munmap(p, 64 * KIB) == 0);
    REQUIRE(munmap(p + 64 * KIB + 4 * MIB, 64 * KIB) == 0);
    r = (uintptr_t)p + 64 * KIB;
    for (size_t i = 0; i < NHOLES; i++)
        REQUIRE(munmap((void *)(r + holes[i].lo), holes[i].hi - holes[i].lo) == 0);
}

struct seen {
    uintptr_t lo[8], hi[8];
    size_t n, stop_after;
};

static int record(void *ctx, uintptr_t lo, uintptr_t hi)
{
    struct seen *s = ctx;
    if (s->n < 8) {
        s->lo[s->n] = lo;
        s->hi[s->n] = hi;
    }
    s->n++;
    return s->stop_after && s->n >= s->stop_after;
}

/* Every answer about the region, checked; `who` names the source. */
static void check_region(const char *who)
{
    struct seen s = {0};
    CHECKF(mm_os_free_ranges(r, r + 4 * MIB, record, &s) == 0, "%s", who);
    CHECKF(s.n == NHOLES, "%s: %zu free ranges in the region, want %zu", who, s.n, NHOLES);
    for (size_t i = 0; i < NHOLES && i < s.n; i++)
        CHECKF(s.lo[i] == r + holes[i].lo && s.hi[i] == r + holes[i].hi, "%s: range %zu is [+%#lx, +%#lx)", who, i,
               (unsigned long)(s.lo[i] - r), (unsigned long)(s.hi[i] - r));

    /* Clipped to the stretch asked about, starting inside a hole. */
    s = (struct seen){0};
    CHECK(mm_os_free_ranges(r + 96 * KIB, r + 2 * MIB + 512 * KIB, record, &s) == 0);
    CHECKF(s.n == 3 && s.lo[0] == r + 96 * KIB && s.hi[0] == r + 128 * KIB && s.lo[2] == r + 2 * MIB
               && s.hi[2] == r + 2 * MIB + 512 * KIB,
           "%s: clipped walk saw %zu ranges", who, s.n);

    /* A stretch inside a mapping has no free range; one inside a hole is one. */
    s = (struct seen){0};
    CHECK(mm_os_free_ranges(r + 256 * KIB, r + 512 * KIB, record, &s) == 0);
    CHECKF(s.n == 0, "%s: %zu free ranges inside a mapping", who, s.n);
    s = (struct seen){0};
    CHECK(mm_os_free_ranges(r + 2 * MIB + 4 * KIB, r + 2 * MIB + 8 * KIB, record, &s) == 0);
    CHECKF(s.n == 1 && s.lo[0] == r + 2 * MIB + 4 * KIB && s.hi[0] == r + 2 * MIB + 8 * KIB, "%s: inside a hole",
           who);

    /* The walk stops when the visitor says so. */
    s = (struct seen){.stop_after = 1};
    CHECK(mm_os_free_ranges(r, r + 4 * MIB, record, &s) == 0);
    CHECKF(s.n == 1, "%s: the walk went on after the visitor stopped it (%zu)", who, s.n);

    /* Several stretches in one walk, each clipped; the holes between them
     * not seen. */
    s = (struct seen){0};
    mm_os_range two[2] = {{r, r + 512 * KIB}, {r + 1 * MIB, r + 3 * MIB}};
    size_t asked = 0;
    CHECK(mm_os_free_ranges_in(two, 2, 0, record, &s, &asked) == 0);
    CHECKF(s.n == 3 && s.lo[0] == r + 64 * KIB && s.hi[0] == r + 128 * KIB && s.lo[1] == r + 1 * MIB
               && s.hi[1] == r + 1 * MIB + 4 * KIB && s.lo[2] == r + 2 * MIB && s.hi[2] == r + 3 * MIB && asked > 0,
           "%s: a walk of two stretches saw %zu ranges", who, s.n);

    /* Wholly mapped, or not: one question, the same from every source. */
    CHECKF(mm_os_all_mapped(r + 256 * KIB, r + 512 * KIB) && mm_os_all_mapped(r + 3 * MIB, r + 4 * MIB),
           "%s: mapped stretches", who);
    CHECKF(!mm_os_all_mapped(r, r + 4 * MIB) && !mm_os_all_mapped(r + 2 * MIB, r + 3 * MIB)
               && !mm_os_all_mapped(r + 1 * MIB, r + 1 * MIB + 8 * KIB),
           "%s: stretches with a hole", who);
    check_dense(who, strncmp(who, "the query", 9) == 0);

    uintptr_t lo = 0, hi = 0;
    CHECKF(mm_os_mapping_at(r, &lo, &hi) == 0 && lo == r && hi == r + 64 * KIB, "%s: mapping at r", who);
    CHECKF(mm_os_mapping_at(r + 1 * MIB + 8 * KIB, &lo, &hi) == 0 && lo == r + 1 * MIB + 4 * KIB && hi == r + 2 * MIB,
           "%s: mapping in the middle", who);
    CHECKF(mm_os_mapping_at(r + 4 * MIB - 1, &lo, &hi) == 0 && lo == r + 3 * MIB && hi == r + 4 * MIB,
           "%s: mapping at the top", who);
    CHECKF(mm_os_mapping_at(r + 64 * KIB, &lo, &hi) == MM_OS_ENOROOM, "%s: a hole has no mapping", who);
    CHECKF(mm_os_mapping_at(r - 1, &lo, &hi) == MM_OS_ENOROOM, "%s: the free page below", who);
}

/* 1 when this kernel answers PROCMAP_QUERY for this process. */
static int kernel_has_query(void)
{
    uint64_t q[13] = {sizeof q, 0x10, (uint64_t)r};
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    int ok = ioctl(fd, QUERY_CMD, q) == 0;
    close(fd);
    return ok;
}

/* Makes every ioctl PROCMAP_QUERY (block_read 0) or every read (1) of this
 * process fail: ENOTTY, as a kernel without the query answers, or EIO. */
static void install_filter(int block_read)
{
#define PROLOGUE(call)                                                                 \
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),        \
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, THIS_ARCH, 1, 0),                       \
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),                               \
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),      \
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (call), 1, 0), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
    struct sock_filter no_query[] = {
        PROLOGUE(SYS_ioctl),
        /* the low half of args[1], the request (little-endian targets) */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, QUERY_CMD, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOTTY),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    /* Only the process's own descriptors: valgrind keeps its own above
     * them, and reads from them itself. */
    struct sock_filter no_read[] = {
        PROLOGUE(SYS_read),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 1000, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EIO),
    };
#undef PROLOGUE
    struct sock_fprog fprog = {block_read ? sizeof no_read / sizeof *no_read : sizeof no_query / sizeof *no_query,
                               block_read ? no_read : no_query};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) != 0) {
        fprintf(stderr, "test_os: cannot install a seccomp filter (errno %d): the test cannot shut a source off\n",
                errno);
        _exit(1);
    }
}

/* Runs check_region in a child with one source shut off. */
static void in_child(const char *who, int block_read)
{
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        check_failures = 0; /* the child's own */
        install_filter(block_read);
        if (!block_read) {
            /* The filter works: the query fails as on an older kernel. */
            uint64_t q[13] = {sizeof q, 0x10, (uint64_t)r};
            int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
            CHECKF(fd >= 0 && ioctl(fd, QUERY_CMD, q) != 0 && errno == ENOTTY, "%s: the filter let the query by",
                   who);
            close(fd);
        }
        check_region(who);
        fflush(NULL);
        _exit(check_failures ? 1 : 0);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: the child failed (status %#x)", who, status);
}

int main(void)
{
    make_dense();
    make_region();
    (void)mm_os_user_bottom(); /* read once here: the children may not read */
    if (!kernel_has_query()) {
        /* An older kernel, or qemu-user (which fakes the list for its guest
         * and passes no query on): the list is the only source. */
        check_region("the list");
        printf("no PROCMAP_QUERY here: the list is the only source, checked\n");
        return check_done();
    }
    /* As a kernel without the query is first met, by a process that has not
     * asked yet; then this process, through the query; then the list when a
     * query fails after the kernel has answered one; then the query alone,
     * with no read at all. */
    in_child("the list, from the first call", 0);
    check_region("the query");
    in_child("the list, after a failed query", 0);
    in_child("the query alone", 1);
    return check_done();
}
