#include "chunk.h"

#include <stdlib.h>

#include "options.h"
#include "os.h"

static size_t round_up(size_t x, size_t unit)
{
    return (x + unit - 1) / unit * unit;
}

static void *reserve(const struct mm_window *w, size_t size, uintptr_t hint)
{
    /* Huge-page-sized chunks are placed on huge page boundaries, where the
     * kernel can back them with huge pages; when the window has no such
     * place, an ordinary one will do. */
    size_t page = mm_os_page_size();
    size_t align = size >= MM_HUGE_PAGE && size % MM_HUGE_PAGE == 0 ? MM_HUGE_PAGE : page;
    for (;;) {
        void *p = w->bounded ? mm_os_reserve_in(w->lo, w->hi, size, align, hint)
                             : mm_os_reserve_anywhere(size, align);
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
    size_t least = round_up(need, page);
    size_t size = want > least ? round_up(want, page) : least;
    if (w->bounded && (w->hi <= w->lo || w->hi - w->lo < least))
        return NULL;
    struct mm_chunk *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    void *p;
    /* A fragmented window may still hold smaller pieces. */
    while (!(p = reserve(w, size, hint)) && size > least)
        size = size / 2 > least ? round_up(size / 2, page) : least;
    if (!p) {
        free(c);
        return NULL;
    }
    atomic_init(&c->cur, (uintptr_t)p);
    atomic_init(&c->counts, 0);
    c->end = (uintptr_t)p + size;
    c->dead_from = c->end;
    c->map = p;
    c->map_size = size;
    c->next = NULL;
    return c;
}

uint64_t mm_chunk_used(const struct mm_chunk *c)
{
    uintptr_t cur = atomic_load_explicit(&((struct mm_chunk *)c)->cur, memory_order_relaxed);
    uintptr_t top = cur < c->dead_from ? cur : c->dead_from;
    if (top > c->end)
        top = c->end;
    return top - (uintptr_t)c->map;
}

void mm_chunk_release(struct mm_chunk *c)
{
    mm_os_release(c->map, c->map_size);
    free(c);
}
