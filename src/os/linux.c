/* The OS layer on Linux: mmap with MAP_FIXED_NOREPLACE at places found free
 * in /proc/self/maps.  Included by os.c. */
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
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
 * the next whole line (without '\n'), or -1 at the end. */
struct maps {
    int fd;
    char buf[8192];
    size_t have, used;
    bool eof;
};

static ssize_t next_line(struct maps *m)
{
    memmove(m->buf, m->buf + m->used, m->have - m->used);
    m->have -= m->used;
    m->used = 0;
    for (;;) {
        char *nl = memchr(m->buf, '\n', m->have);
        if (nl) {
            m->used = (size_t)(nl - m->buf) + 1;
            return nl - m->buf;
        }
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

int mm_os_free_ranges(uintptr_t from, uintptr_t to, int (*visit)(void *ctx, uintptr_t lo, uintptr_t hi), void *ctx)
{
    struct maps m = {.fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)};
    if (m.fd < 0)
        return MM_OS_ENOMEM;
    uintptr_t prev_end = 0, top = mm_os_user_top();
    if (to > top)
        to = top;
    if (from < mm_os_user_bottom())
        from = mm_os_user_bottom();
    for (bool done = false; !done && prev_end < to;) {
        uintptr_t start = top, end = top;
        ssize_t len = next_line(&m);
        if (len >= 0 && !parse_range(m.buf, m.buf + len, &start, &end))
            continue;
        done = len < 0;
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
    int result = MM_OS_ENOROOM;
    for (ssize_t len; (len = next_line(&m)) >= 0;) {
        uintptr_t start, end;
        if (!parse_range(m.buf, m.buf + len, &start, &end))
            continue;
        if (start > a)
            break;
        if (a < end) {
            *lo = start;
            *hi = end;
            result = 0;
            break;
        }
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
