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

int mm_os_free_ranges(uintptr_t from, uintptr_t to, int (*visit)(void *ctx, uintptr_t lo, uintptr_t hi), void *ctx)
{
    struct maps m = {.fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)};
    if (m.fd < 0)
        return MM_OS_ENOMEM;
    uintptr_t top = mm_os_user_top();
    if (to > top)
        to = top;
    if (from < mm_os_user_bottom())
        from = mm_os_user_bottom();
    /* With the query the walk starts at `from`, and mappings below it cost
     * nothing; the list is read from its first line, and its lines below
     * prev_end (below `from`, or walked by the query before it failed)
     * show no range. */
    uintptr_t prev_end = from;
    bool query = true;
    for (bool done = false; !done && prev_end < to;) {
        uintptr_t start = top, end = top;
        if (query) {
            int q = query_next(m.fd, prev_end, &start, &end);
            if (q == MM_OS_EINVAL) {
                query = false;
                continue;
            }
            done = q == MM_OS_ENOROOM;
        } else {
            ssize_t len = next_line(&m);
            if (len >= 0 && !parse_range(m.buf + m.start, m.buf + m.start + len, &start, &end))
                continue;
            done = len < 0;
        }
        uintptr_t lo = prev_end > from ? prev_end : from, hi = start < to ? start : to;
        if (lo < hi && visit(ctx, lo, hi))
            break;
        if (end > prev_end)
            prev_end = end;
    }
    close(m.fd);
    return 0;
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

void mm_os_advise_huge(void *p, size_t size)
{
#ifdef MADV_HUGEPAGE
    (void)madvise(p, size, MADV_HUGEPAGE);
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
