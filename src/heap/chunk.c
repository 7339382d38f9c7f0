#include "chunk.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "donated.h"
#include "options.h"
#include "os/os.h"

static void *place(const struct mm_window *w, size_t size, size_t align, uintptr_t hint, int *donated)
{
    void *p = NULL;
    if (!w->bounded)
        return mm_os_reserve_anywhere(size, align, MM_OS_READWRITE, &p) ? NULL : p;
    /* Cheapest first: right after the previous chunk, then donated space
     * (a list walk), then a scan of the address space. */
    uintptr_t a = mm_align_up(hint, mm_os_granularity() > align ? mm_os_granularity() : align);
    if (hint && a >= w->lo && a < w->hi && w->hi - a >= size && mm_os_reserve_at(a, size, MM_OS_READWRITE, &p) == 0)
        return p;
    if ((p = mm_donated_take(w->lo, w->hi, size, align))) {
        *donated = 1;
        return p;
    }
    return mm_os_reserve_in(w->lo, w->hi, size, align, MM_OS_READWRITE, &p) ? NULL : p;
}

static void *reserve(const struct mm_window *w, size_t size, uintptr_t hint, int *donated)
{
    /* Huge-page-sized chunks are placed on huge page boundaries, where the
     * kernel can back them with huge pages; when the window has no such
     * place, an ordinary one will do. */
    size_t page = mm_os_page_size();
    size_t align = size >= MM_HUGE_PAGE && size % MM_HUGE_PAGE == 0 ? MM_HUGE_PAGE : page;
    for (;;) {
        void *p = place(w, size, align, hint, donated);
        if (p) {
            if (align == MM_HUGE_PAGE)
                mm_os_advise_huge(p, size);
            return p;
        }
        if (align == page)
            return NULL;
        align = page;
    }
}

struct mm_chunk *mm_chunk_reserve(const struct mm_window *w, size_t need, size_t want, uintptr_t hint)
{
    size_t page = mm_os_page_size();
    if (need > SIZE_MAX - page)
        return NULL;
    size_t least = mm_align_up(need, page);
    size_t size = want > least ? mm_align_up(want, page) : least;
    if (w->bounded && (w->hi <= w->lo || w->hi - w->lo < least))
        return NULL;
    struct mm_chunk *c = malloc(MM_CHUNK_STRUCT_SIZE);
    if (!c)
        return NULL;
    void *p;
    int donated = 0;
    /* A fragmented window may still hold smaller pieces. */
    while (!(p = reserve(w, size, hint, &donated)) && size > least)
        size = size / 2 > least ? mm_align_up(size / 2, page) : least;
    if (!p) {
        free(c);
        return NULL;
    }
    atomic_init(&c->cur, (uintptr_t)p);
    atomic_init(&c->counts, 0);
    c->end = (uintptr_t)p + size;
    c->map = p;
    c->map_size = size;
    c->donated = donated;
    c->next = NULL;
    return c;
}

uint64_t mm_chunk_used(const struct mm_chunk *c)
{
    return atomic_load_explicit(&((struct mm_chunk *)c)->cur, memory_order_relaxed) - (uintptr_t)c->map;
}

/* Chunks the system would not unmap or decommit, and their bytes. */
static _Atomic uint64_t kept_chunks, kept_bytes;

void mm_chunk_release(struct mm_chunk *c)
{
    int e;
    if (c->donated) {
        e = mm_donated_give_back(c->map, c->map_size); /* discards what it cannot decommit */
    } else if ((e = mm_os_release(c->map, c->map_size)) != 0) {
        /* The mapping stays (the system may refuse to split one when its
         * map count is used up), but the bodies in it must not stay
         * readable: drop the pages, so that they read as zeros. */
        if (mm_os_discard(c->map, c->map_size) != 0)
            memset(c->map, 0, c->map_size);
    }
    if (e) {
        atomic_fetch_add_explicit(&kept_chunks, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&kept_bytes, c->map_size, memory_order_relaxed);
    }
    free(c);
}

void mm_release_failures(uint64_t *chunks, uint64_t *bytes)
{
    if (chunks)
        *chunks = atomic_load_explicit(&kept_chunks, memory_order_relaxed);
    if (bytes)
        *bytes = atomic_load_explicit(&kept_bytes, memory_order_relaxed);
}
