#include "chunk.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "debug.h"
#include "options.h"
#include "os/os.h"

/* A window-less chunk: anywhere, on a huge page boundary when it is huge
 * page sized and the system has huge pages. */
static int reserve_anywhere(size_t size, size_t least, struct mm_place *out)
{
    size_t align = size >= MM_HUGE_PAGE && size % MM_HUGE_PAGE == 0 && mm_os_huge_pages() ? MM_HUGE_PAGE
                                                                                          : mm_os_page_size();
    void *p;
    int r = mm_os_reserve_anywhere(size, align, MM_OS_READWRITE, &p);
    if (r != 0 && size > least) {
        size = least;
        align = mm_os_page_size();
        r = mm_os_reserve_anywhere(size, align, MM_OS_READWRITE, &p);
    }
    if (r != 0)
        return r;
    if (align == MM_HUGE_PAGE)
        mm_os_advise_huge(p, size);
    *out = (struct mm_place){p, size, 0, align == MM_HUGE_PAGE};
    return 0;
}

struct mm_chunk *mm_chunk_reserve(struct mm_window *w, size_t need, size_t want, uintptr_t hint, int may_rebuild,
                                  int *err)
{
    size_t page = mm_os_page_size();
    *err = MM_OS_ENOROOM;
    if (need > SIZE_MAX - page)
        return NULL;
    size_t least = mm_align_up(need, page);
    size_t size = want > least ? mm_align_up(want, page) : least;
    struct mm_chunk *c = malloc(MM_CHUNK_STRUCT_SIZE);
    if (!c) {
        *err = MM_OS_ENOMEM;
        return NULL;
    }
    struct mm_place pl;
    *err = w->bounded ? mm_space_reserve(w, least, size, hint, may_rebuild, &pl) : reserve_anywhere(size, least, &pl);
    if (*err != 0) {
        free(c);
        return NULL;
    }
    if (pl.size < MM_HUGE_PAGE)
        mm_os_advise_small(pl.p, pl.size);
    mm_debug_poison(pl.p, pl.size);
    atomic_init(&c->cur, (uintptr_t)pl.p);
    atomic_init(&c->counts, 0);
    c->end = (uintptr_t)pl.p + pl.size;
    c->map = pl.p;
    c->map_size = pl.size;
    c->donated = pl.donated;
    c->in_window = w->bounded;
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
    /* Before the range can be anyone else's (donated space is free to take
     * the moment it is given back). */
    mm_debug_forget(c->map, c->map_size);
    struct mm_place pl = {c->map, c->map_size, c->donated, 0};
    /* Donated space is given back whatever happens (what cannot be
     * decommitted is discarded); an unmap the system refuses leaves the
     * mapping, which must not stay readable. */
    int e = c->in_window ? mm_space_release(&pl) : mm_os_release(c->map, c->map_size);
    if (e && !c->donated) {
        /* The mapping stays (the system may refuse to split one when its
         * map count is used up), but the bodies in it must not stay
         * readable: drop the pages, so that they read as zeros. */
        if (mm_os_discard(c->map, c->map_size) != 0)
            memset(c->map, 0, c->map_size);
        mm_debug_poison(c->map, c->map_size); /* still ours, nobody's bytes */
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
