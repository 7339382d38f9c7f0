/* The OS layer on Linux: mmap with MAP_FIXED_NOREPLACE at places found free
 * in /proc/self/maps. */
#include "os.h"
#include "heap/options.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

size_t mm_os_page_size(void)
{
    static size_t page;
    if (!page) /* benign race: every thread stores the same value */
        page = (size_t)sysconf(_SC_PAGESIZE);
    return page;
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

static uintptr_t align_up(uintptr_t x, size_t align)
{
    return (x + align - 1) & ~(uintptr_t)(align - 1);
}

/* Maps exactly [a, a + size) or nothing (errno EEXIST when taken). Kernels
 * before 4.17 ignore MAP_FIXED_NOREPLACE and treat a as a hint: a mapping
 * elsewhere is given back. */
static void *map_at(uintptr_t a, size_t size)
{
    void *p = mmap((void *)a, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if ((uintptr_t)p != a) {
        munmap(p, size);
        errno = EEXIST;
        return NULL;
    }
    return p;
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

/* The lowest address a, aligned, with [a, a + size) inside [lo, hi) and
 * inside a gap between the mappings /proc/self/maps lists; 0 if none. */
static uintptr_t find_gap(uintptr_t lo, uintptr_t hi, size_t size, size_t align)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[8192];
    size_t have = 0;
    uintptr_t prev_end = 0, found = 0;
    bool eof = false;
    while (!found) {
        /* One line per iteration; refill the buffer when no whole line is left. */
        char *nl = have ? memchr(buf, '\n', have) : NULL;
        if (!nl && !eof) {
            ssize_t n = read(fd, buf + have, sizeof buf - have);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                eof = true;
            else
                have += (size_t)n;
            if (have == sizeof buf && !memchr(buf, '\n', have))
                have = 0; /* a line longer than the buffer: no range to learn from it */
            continue;
        }
        uintptr_t gap_end = mm_os_user_top(), start = 0, end = 0;
        size_t used = nl ? (size_t)(nl - buf) + 1 : have;
        bool last = !nl;
        if (!last && parse_range(buf, nl, &start, &end))
            gap_end = start;
        else if (!last) {
            memmove(buf, buf + used, have - used);
            have -= used;
            continue;
        }
        if (gap_end > prev_end) {
            uintptr_t a = align_up(prev_end > lo ? prev_end : lo, align);
            uintptr_t top = gap_end < hi ? gap_end : hi;
            if (a >= lo && a < top && top - a >= size)
                found = a;
        }
        if (last || gap_end >= hi)
            break;
        if (end > prev_end)
            prev_end = end;
        memmove(buf, buf + used, have - used);
        have -= used;
    }
    close(fd);
    return found;
}

void *mm_os_reserve_at(uintptr_t a, size_t size)
{
    if (size == 0 || a > mm_os_user_top() || mm_os_user_top() - a < size)
        return NULL;
    return map_at(a, size);
}

void *mm_os_reserve_in(uintptr_t lo, uintptr_t hi, size_t size, size_t align)
{
    uintptr_t top = mm_os_user_top();
    if (hi > top)
        hi = top;
    if (lo > UINTPTR_MAX - align)
        return NULL;
    lo = align_up(lo, align);
    if (size == 0 || lo >= hi || hi - lo < size)
        return NULL;
    for (int attempt = 0; attempt < MM_RESERVE_RETRIES; attempt++) {
        uintptr_t a = find_gap(lo, hi, size, align);
        if (!a)
            return NULL;
        void *p = map_at(a, size);
        if (p || errno != EEXIST)
            return p;
        /* Another thread or library took the place between the scan and the map. */
    }
    return NULL;
}

void *mm_os_reserve_anywhere(size_t size, size_t align)
{
    size_t page = mm_os_page_size();
    size_t extra = align > page ? align - page : 0;
    if (size > SIZE_MAX - extra)
        return NULL;
    char *p = mmap(NULL, size + extra, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (!extra)
        return p;
    char *a = (char *)align_up((uintptr_t)p, align);
    if (a > p)
        munmap(p, (size_t)(a - p));
    if (a + size < p + size + extra)
        munmap(a + size, (size_t)(p + size + extra - (a + size)));
    return a;
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

void mm_os_release(void *p, size_t size)
{
    munmap(p, size);
}

/* Both replace the range in one step with MAP_FIXED, which is safe here:
 * the range is this library's own. */
void *mm_os_commit(void *p, size_t size)
{
    void *q = mmap(p, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    return q == MAP_FAILED ? NULL : q;
}

void mm_os_decommit(void *p, size_t size)
{
    (void)mmap(p, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
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
