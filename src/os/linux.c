/* The OS layer on Linux: mmap with MAP_FIXED_NOREPLACE at places found free
 * in /proc/self/maps.  Included by os.c. */
#include "os.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define MAP_FLAGS (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

size_t mm_os_page_size(void)
{
    static _Atomic size_t page;
    size_t p = atomic_load_explicit(&page, memory_order_relaxed);
    if (!p) {
        p = (size_t)sysconf(_SC_PAGESIZE);
        atomic_store_explicit(&page, p, memory_order_relaxed);
    }
    return p;
}

size_t mm_os_granularity(void)
{
    return mm_os_page_size();
}

uintptr_t mm_os_user_bottom(void)
{
    static _Atomic uintptr_t bottom;
    uintptr_t b = atomic_load_explicit(&bottom, memory_order_relaxed);
    if (!b) {
        /* The kernel refuses mappings below it (EPERM).  Never below 64 KiB,
         * the usual value: qemu-user keeps that much for itself whatever
         * the host's setting says, and no module's window needs it. */
        unsigned long v = 65536;
        char text[32] = {0};
        int fd = open("/proc/sys/vm/mmap_min_addr", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t n = read(fd, text, sizeof text - 1);
            unsigned long host = n > 0 ? strtoul(text, NULL, 10) : 0;
            if (host > v)
                v = host;
            close(fd);
        }
        b = mm_align_up(v > mm_os_page_size() ? v : mm_os_page_size(), mm_os_page_size());
        atomic_store_explicit(&bottom, b, memory_order_relaxed);
    }
    return b;
}

uintptr_t mm_os_user_top(void)
{
#if defined(__x86_64__)
    return (uintptr_t)1 << 47;
#elif defined(__aarch64__)
    return (uintptr_t)1 << 48;
#else
    return UINTPTR_MAX - mm_os_page_size() + 1;
#endif
}

static int prot(mm_os_access access)
{
    return access == MM_OS_READWRITE ? PROT_READ | PROT_WRITE : PROT_NONE;
}

static int error_of(int e)
{
    return e == EEXIST ? MM_OS_ETAKEN : e == EINVAL ? MM_OS_EINVAL : MM_OS_ENOMEM;
}

int mm_os_reserve_at(uintptr_t a, size_t size, mm_os_access access, void **out)
{
    if (size == 0 || a % mm_os_page_size() || size % mm_os_page_size() || a > mm_os_user_top()
        || mm_os_user_top() - a < size)
        return MM_OS_EINVAL;
    void *p = mmap((void *)a, size, prot(access), MAP_FLAGS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED)
        return error_of(errno);
    if ((uintptr_t)p != a) {
        /* Kernels before 4.17 take MAP_FIXED_NOREPLACE for a hint. */
        munmap(p, size);
        return MM_OS_ETAKEN;
    }
    *out = p;
    return 0;
}

/* Parses "start-end " at the head of a maps line; false if malformed. */
static bool parse_range(const char *s, const char *stop, uintptr_t *start, uintptr_t *end)
{
    uintptr_t v[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        const char *digits = s;
        for (; s < stop; s++) {
            int d = (*s >= '0' && *s <= '9') ? *s - '0' : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10 : -1;
            if (d < 0)
                break;
            v[i] = v[i] << 4 | (uintptr_t)d;
        }
        if (s == digits || s == stop || *s != (i == 0 ? '-' : ' '))
            return false;
        s++;
    }
    *start = v[0];
    *end = v[1];
    return true;
}

/* Reads /proc/self/maps one line at a time into buf; returns the length of
 * the next whole line (without '\n', at buf + start), or -1 at the end. */
struct maps {
    int fd;
    char buf[8192];
    size_t have, used, start;
    bool eof;
};

static ssize_t next_line(struct maps *m)
{
    for (;;) {
        char *nl = memchr(m->buf + m->used, '\n', m->have - m->used);
        if (nl) {
            m->start = m->used;
            m->used = (size_t)(nl - m->buf) + 1;
            return nl - (m->buf + m->start);
        }
        /* Only a partial line is left: move it to the front, read more. */
        memmove(m->buf, m->buf + m->used, m->have - m->used);
        m->have -= m->used;
        m->used = 0;
        if (m->have == sizeof m->buf)
            m->have = 0; /* a line longer than the buffer: no range to learn from it */
        if (m->eof)
            return -1;
        ssize_t n = read(m->fd, m->buf + m->have, sizeof m->buf - m->have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            m->eof = true;
        else
            m->have += (size_t)n;
    }
}

/* The next mapping at or above a: [*start, *end), or *start = *end = top when
 * there is none.  From PROCMAP_QUERY (Linux 6.11), one lookup in the kernel's
 * tree, where the kernel has it; else from the next lines of the list.  The
 * query's layout is the kernel's ABI (uapi/linux/fs.h). */
struct mm_procmap_query {
    uint64_t size, query_flags, query_addr, vma_start, vma_end, vma_flags, vma_page_size, vma_offset, inode;
    uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
    uint64_t vma_name_addr, build_id_addr;
};
#define MM_PROCMAP_QUERY 0xC0686611u /* _IOWR('f', 17, struct procmap_query) */
#define MM_QUERY_COVERING_OR_NEXT 0x10

/* 1: the kernel answers queries; 0: not known yet; -1: it does not. */
static _Atomic int query_state;

/* 0 with the mapping, MM_OS_ENOROOM when there is none at or above a,
 * MM_OS_EINVAL when the kernel has no query (use the list). */
static int query_next(int fd, uintptr_t a, uintptr_t *start, uintptr_t *end)
{
    if (atomic_load_explicit(&query_state, memory_order_relaxed) < 0)
        return MM_OS_EINVAL;
    struct mm_procmap_query q = {.size = sizeof q, .query_flags = MM_QUERY_COVERING_OR_NEXT, .query_addr = a};
    if (ioctl(fd, MM_PROCMAP_QUERY, &q) == 0) {
        atomic_store_explicit(&query_state, 1, memory_order_relaxed);
        *start = (uintptr_t)q.vma_start;
        *end = (uintptr_t)q.vma_end;
        return 0;
    }
    if (errno == ENOENT)
        return MM_OS_ENOROOM;
    /* ENOTTY before 6.11, and under emulators that do not pass the query on
     * (qemu-user fakes the list for its guest: the host's answer would be
     * wrong).  Decided on the first answer only: a kernel that answered once
     * answers, and a later failure (EINTR, memory) falls back this once. */
    int expected = 0;
    atomic_compare_exchange_strong_explicit(&query_state, &expected, -1, memory_order_relaxed,
                                            memory_order_relaxed);
    return MM_OS_EINVAL;
}

/* Questions one walk asks before it reads the rest from the text. */
#define QUESTIONS_MAX 4096

/* One reading of the address space: the descriptor the questions go to
 * (or whose text is read), and the mapping last read from the text, which
 * may be the answer again for the next stretch. */
struct walk {
    struct maps m;
    bool query;
    bool have;
    uintptr_t s, e, top;
    size_t asked;
};

/* The mapping that holds a, else the next one above it, from the kernel's
 * query: 0 with [*s, *e) (*s = *e = top when there is none), or -1 when the
 * kernel has no query (w->query is then false, and nothing was read). */
static int query_from(struct walk *w, uintptr_t a, uintptr_t *s, uintptr_t *e)
{
    /* A question costs about three lines of the text (1.3 against 0.4 us
     * here): past so many, the rest of a walk reads the text, whatever the
     * mappings below it. */
    if (w->asked >= QUESTIONS_MAX) {
        w->query = false;
        return -1;
    }
    int q = query_next(w->m.fd, a, s, e);
    if (q == MM_OS_EINVAL) {
        w->query = false;
        return -1;
    }
    w->asked++;
    if (q != 0)
        *s = *e = w->top;
    return 0;
}

/* The same from whichever source answers.  The text is read forward only:
 * every a asked of it is above the last mapping it gave, or inside it (a
 * walk turns to the text only forward of all it visited). */
static void mapping_from(struct walk *w, uintptr_t a, uintptr_t *s, uintptr_t *e)
{
    if (w->query && query_from(w, a, s, e) == 0)
        return;
    while (!(w->have && w->e > a)) {
        ssize_t len = next_line(&w->m);
        if (len < 0) {
            *s = *e = w->top;
            return;
        }
        uintptr_t ls, le;
        if (!parse_range(w->m.buf + w->m.start, w->m.buf + w->m.start + len, &ls, &le))
            continue;
        w->have = true;
        w->s = ls;
        w->e = le;
    }
    w->asked++; /* a mapping met; the lines below it cost, but are not the stretch's */
    *s = w->s;
    *e = w->e;
}

typedef int (*visit_fn)(void *ctx, uintptr_t lo, uintptr_t hi);

/* Every free range of [from, to), whole: one mapping asked about per free
 * range.  1 when visit stopped the walk. */
static int walk_exact(struct walk *w, uintptr_t from, uintptr_t to, visit_fn visit, void *ctx)
{
    for (uintptr_t at = from; at < to;) {
        uintptr_t s, e;
        mapping_from(w, at, &s, &e);
        if (s > at && visit(ctx, at, s < to ? s : to))
            return 1;
        at = e;
    }
    return 0;
}

/* What a resolved stretch's last free range is held back for: when it ends
 * where the probe found free space, the two are one range. */
struct held {
    visit_fn visit;
    void *ctx;
    uintptr_t lo, hi;
};

static int hold(void *ctx, uintptr_t lo, uintptr_t hi)
{
    struct held *h = ctx;
    int stop = h->lo < h->hi && h->visit(h->ctx, h->lo, h->hi);
    h->lo = lo;
    h->hi = hi;
    return stop;
}

/* The free ranges of [from, to) of at least `whole` bytes, whole, with fewer
 * questions than one per mapping where mappings and gaps are small: after a
 * small mapping, the next question is `whole` past the last one, so that
 * what is skipped, bounded by mappings on both sides, holds no free range
 * of `whole` bytes.  When the place asked about is free and its free range
 * may reach `whole` bytes counting what was skipped below it, one question
 * at `whole` below the range's end says whether it does, and only then is
 * the skipped part walked mapping by mapping.  Small free ranges met are
 * visited in part.  1 when visit stopped the walk. */
static int walk_coarse(struct walk *w, uintptr_t from, uintptr_t to, size_t whole, visit_fn visit, void *ctx)
{
    uintptr_t known = from; /* below it, every free range of `whole` bytes was visited */
    for (uintptr_t at = from; at < to;) {
        uintptr_t s, e, s2, e2;
        /* Without the query (it failed here), the text from `known` on. */
        if (!w->query || query_from(w, at, &s, &e) != 0)
            return walk_exact(w, known, to, visit, ctx);
        if (s > at) {
            uintptr_t lo = at, hi = s < to ? s : to;
            if (at > known && hi - known >= whole) {
                if (hi - at < whole && query_from(w, hi - whole, &s2, &e2) != 0)
                    return walk_exact(w, known, to, visit, ctx);
                if (hi - at >= whole || s2 >= s) {
                    struct held h = {visit, ctx, 0, 0};
                    if (walk_exact(w, known, at, hold, &h))
                        return 1;
                    if (h.lo < h.hi && h.hi == at)
                        lo = h.lo;
                    else if (h.lo < h.hi && visit(ctx, h.lo, h.hi))
                        return 1;
                }
            }
            if (visit(ctx, lo, hi))
                return 1;
        }
        /* Skip ahead only in a run of small gaps and small mappings. */
        bool small = e - (s > at ? at : s) < whole;
        known = e;
        at = small && at + whole > e && at < w->top - whole ? at + whole : e;
    }
    return 0;
}

int mm_os_free_ranges_in(const mm_os_range *v, size_t n, size_t whole, visit_fn visit, void *ctx, size_t *asked)
{
    struct walk w = {
        .m = {.fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)}, .query = true, .top = mm_os_user_top()};
    if (w.m.fd < 0)
        return MM_OS_ENOMEM;
    uintptr_t bottom = mm_os_user_bottom();
    for (size_t i = 0; i < n; i++) {
        uintptr_t from = v[i].lo > bottom ? v[i].lo : bottom, to = v[i].hi < w.top ? v[i].hi : w.top;
        if (from >= to)
            continue;
        /* The text lists every mapping anyway: skipping saves nothing there. */
        int stop = whole >= 2 * mm_os_page_size() && w.query ? walk_coarse(&w, from, to, whole, visit, ctx)
                                                             : walk_exact(&w, from, to, visit, ctx);
        if (stop)
            break;
    }
    close(w.m.fd);
    if (asked)
        *asked = w.asked;
    return 0;
}

/* 1: msync fails on a range with a hole; -1: it does not (qemu-user with
 * a reserved guest space keeps a guest's unmapped pages reserved on the
 * host, where msync looks); 0: not known yet. */
static _Atomic int msync_state;

static bool msync_sees_holes(void)
{
    int state = atomic_load_explicit(&msync_state, memory_order_relaxed);
    /* Twice: another thread may map the hole before msync looks. */
    for (int attempt = 0; state == 0 && attempt < 2; attempt++) {
        size_t page = mm_os_page_size();
        char *p = mmap(NULL, 2 * page, PROT_NONE, MAP_FLAGS, -1, 0);
        if (p == MAP_FAILED)
            return false; /* decided another time */
        if (munmap(p + page, page) == 0 && msync(p, 2 * page, MS_ASYNC) != 0 && errno == ENOMEM)
            state = 1;
        else if (attempt == 1)
            state = -1;
        munmap(p, 2 * page);
    }
    atomic_store_explicit(&msync_state, state, memory_order_relaxed);
    return state > 0;
}

static int any_free(void *ctx, uintptr_t lo, uintptr_t hi)
{
    (void)lo;
    (void)hi;
    *(bool *)ctx = true;
    return 1;
}

bool mm_os_all_mapped(uintptr_t lo, uintptr_t hi)
{
    if (lo >= hi || lo % mm_os_page_size())
        return false;
    /* msync walks the mappings of the range in the kernel and fails with
     * ENOMEM at the first hole; MS_ASYNC alone asks it to do nothing else. */
    if (msync_sees_holes())
        return msync((void *)lo, hi - lo, MS_ASYNC) == 0;
    /* Where it cannot tell, the list (which the emulator keeps for its
     * guest) says, at the cost of reading it. */
    bool free_seen = false;
    mm_os_range r = {lo, hi};
    return mm_os_free_ranges_in(&r, 1, 0, any_free, &free_seen, NULL) == 0 && !free_seen;
}

int mm_os_mapping_at(uintptr_t a, uintptr_t *lo, uintptr_t *hi)
{
    struct maps m = {.fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)};
    if (m.fd < 0)
        return MM_OS_ENOMEM;
    uintptr_t start, end;
    int result = query_next(m.fd, a, &start, &end);
    if (result == 0 && start > a)
        result = MM_OS_ENOROOM;
    if (result == MM_OS_EINVAL) {
        result = MM_OS_ENOROOM;
        for (ssize_t len; (len = next_line(&m)) >= 0;) {
            if (!parse_range(m.buf + m.start, m.buf + m.start + len, &start, &end))
                continue;
            if (start > a)
                break;
            if (a < end) {
                result = 0;
                break;
            }
        }
    }
    if (result == 0) {
        *lo = start;
        *hi = end;
    }
    close(m.fd);
    return result;
}

int mm_os_reserve_anywhere(size_t size, size_t align, mm_os_access access, void **out)
{
    size_t page = mm_os_page_size();
    size_t extra = align > page ? align - page : 0;
    if (size == 0 || size % page || (align & (align - 1)) || size > SIZE_MAX - extra)
        return MM_OS_EINVAL;
    char *p = mmap(NULL, size + extra, prot(access), MAP_FLAGS, -1, 0);
    if (p == MAP_FAILED)
        return error_of(errno);
    char *a = (char *)mm_align_up((uintptr_t)p, align);
    /* Trimming cannot fail in a way that matters: a failed munmap of the
     * slack leaves it mapped, unused, never handed out. */
    if (a > p)
        munmap(p, (size_t)(a - p));
    if (a + size < p + size + extra)
        munmap(a + size, (size_t)(p + size + extra - (a + size)));
    *out = a;
    return 0;
}

int mm_os_release(void *p, size_t size)
{
    return munmap(p, size) == 0 ? 0 : error_of(errno);
}

/* Both replace the range in one step with MAP_FIXED, which is safe here:
 * the range is the caller's own. */
static int remap(void *p, size_t size, mm_os_access access)
{
    void *q = mmap(p, size, prot(access), MAP_FLAGS | MAP_FIXED, -1, 0);
    return q == MAP_FAILED ? error_of(errno) : 0;
}

int mm_os_commit(void *p, size_t size)
{
    return remap(p, size, MM_OS_READWRITE);
}

int mm_os_decommit(void *p, size_t size)
{
    return remap(p, size, MM_OS_NOACCESS);
}

int mm_os_discard(void *p, size_t size)
{
    return madvise(p, size, MADV_DONTNEED) == 0 ? 0 : error_of(errno);
}

int mm_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    return pthread_atfork(prepare, parent, child) == 0 ? 0 : MM_OS_ENOMEM;
}

/* 1: advised memory gets transparent huge pages; -1: it does not; 0: not
 * read yet.  The mode is "always", "madvise" or "never" (the word in
 * brackets); a process that turned them off (PR_SET_THP_DISABLE) gets none
 * in any mode. */
static _Atomic int huge_state;

int mm_os_huge_pages(void)
{
    int s = atomic_load_explicit(&huge_state, memory_order_relaxed);
    if (!s) {
        char text[128] = {0};
        int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t n = read(fd, text, sizeof text - 1);
            text[n > 0 ? n : 0] = 0;
            close(fd);
        }
        s = (strstr(text, "[always]") || strstr(text, "[madvise]")) && prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 0
                ? 1
                : -1;
        atomic_store_explicit(&huge_state, s, memory_order_relaxed);
    }
    return s > 0;
}

void mm_os_advise_huge(void *p, size_t size)
{
#ifdef MADV_HUGEPAGE
    (void)madvise(p, size, MADV_HUGEPAGE);
#else
    (void)p;
    (void)size;
#endif
}

void mm_os_advise_small(void *p, size_t size)
{
    /* In "always" mode a fault inside a 2 MiB-aligned range of one mapping
     * takes a huge page (neighbouring chunks merge into one mapping), and
     * khugepaged fills ranges that have a single page resident.  Asked
     * whatever the mode: it may be switched while we run, and MADV_COLLAPSE
     * does not look at it. */
#ifdef MADV_NOHUGEPAGE
    (void)madvise(p, size, MADV_NOHUGEPAGE);
#else
    (void)p;
    (void)size;
#endif
}

size_t mm_os_resident(const void *p, size_t size)
{
    size_t page = mm_os_page_size(), resident = 0;
    unsigned char vec[4096];
    const char *at = p;
    size_t pages = size / page;
    while (pages) {
        size_t n = pages < sizeof vec ? pages : sizeof vec;
        if (mincore((void *)at, n * page, vec) != 0)
            return resident;
        for (size_t i = 0; i < n; i++)
            resident += (vec[i] & 1) * page;
        at += n * page;
        pages -= n;
    }
    return resident;
}

/* One process_vm_readv of a byte per page: it stops at the first page that
 * cannot be read. */
size_t mm_os_readable(const void *p, size_t bound)
{
    struct iovec remote[MM_OS_READABLE_PAGES], local;
    char sink[MM_OS_READABLE_PAGES];
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), a = (uintptr_t)p;
    size_t n = 0;

    for (uintptr_t at = a; n < MM_OS_READABLE_PAGES && at - a < bound; at = (at & ~(page - 1)) + page)
        remote[n++] = (struct iovec){(void *)at, 1};
    local = (struct iovec){sink, n};
    ssize_t got = process_vm_readv(getpid(), &local, 1, remote, n, 0);
    /* EFAULT: not even the first byte.  Anything else (a sandbox that
     * forbids the call): no answer, the caller's bound stands. */
    if (got < 0)
        return errno == EFAULT ? 0 : bound;
    /* Up to the start of the first page that could not be read, or the end
     * of the last page asked about. */
    size_t ok = (size_t)got < n ? (size_t)((uintptr_t)remote[got].iov_base - a)
                                : (size_t)((((uintptr_t)remote[n - 1].iov_base & ~(page - 1)) + page) - a);
    return ok < bound ? ok : bound;
}

int mm_os_image_of(const void *a, uintptr_t *base)
{
    Dl_info where;
    if (!dladdr(a, &where) || !where.dli_fbase)
        return MM_OS_ENOROOM;
    *base = (uintptr_t)where.dli_fbase;
    return 0;
}

int mm_lock_init(mm_lock *l)
{
    return pthread_mutex_init(l, NULL) == 0 ? 0 : MM_OS_ENOMEM;
}

void mm_lock_destroy(mm_lock *l)
{
    pthread_mutex_destroy(l);
}

void mm_lock_acquire(mm_lock *l)
{
    pthread_mutex_lock(l);
}

void mm_lock_release(mm_lock *l)
{
    pthread_mutex_unlock(l);
}

int mm_rwlock_init(mm_rwlock *l)
{
    return pthread_rwlock_init(l, NULL) == 0 ? 0 : MM_OS_ENOMEM;
}

void mm_rwlock_destroy(mm_rwlock *l)
{
    pthread_rwlock_destroy(l);
}

void mm_rwlock_read(mm_rwlock *l)
{
    pthread_rwlock_rdlock(l);
}

void mm_rwlock_read_release(mm_rwlock *l)
{
    pthread_rwlock_unlock(l);
}

void mm_rwlock_write(mm_rwlock *l)
{
    pthread_rwlock_wrlock(l);
}

void mm_rwlock_write_release(mm_rwlock *l)
{
    pthread_rwlock_unlock(l);
}
