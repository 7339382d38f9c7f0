/* Donated address space: a sorted list of free ranges under one lock.  Takes
 * and give-backs happen once per chunk, so a list walk is cheap enough.
 * Every take sets aside a list node for its give-back, so that giving a
 * range back never needs memory and can never lose the range. */
#include "donated.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "os/os.h"
#include "space.h"

struct range {
    uintptr_t lo, hi;
    struct range *next;
};

static mm_lock lock = MM_LOCK_INIT;
static struct range *free_list; /* sorted by address, never adjacent */
static struct range *donations; /* every donation as given, to refuse overlaps */
static uint64_t donated_total, donated_free;
static uint64_t donated_kept; /* neither free nor in use: the system would not decommit them */
static struct range *spares; /* nodes set aside: at least one per range out */
static size_t spare_count, ranges_out;

static void push_spare(struct range *r)
{
    r->next = spares;
    spares = r;
    spare_count++;
}

/* A node for the free list: a spare one when the caller may use the nodes
 * set aside, else a new one. */
static struct range *new_node(bool use_spare)
{
    struct range *r = use_spare ? spares : NULL;
    if (!r)
        return malloc(sizeof(struct range));
    spares = r->next;
    spare_count--;
    return r;
}

/* Frees the spare nodes no range out needs; returns them as a list to free
 * outside the lock. */
static struct range *trim_spares(void)
{
    struct range *extra = NULL;
    while (spare_count > ranges_out) {
        struct range *r = spares;
        spares = r->next;
        spare_count--;
        r->next = extra;
        extra = r;
    }
    return extra;
}

static void free_nodes(struct range *r)
{
    for (struct range *next; r; r = next) {
        next = r->next;
        free(r);
    }
}

/* Puts [lo, hi) back into the free list, merging with its neighbours.
 * Returns false if it overlaps a free range or memory is short; the caller
 * holds the lock. */
static bool insert(uintptr_t lo, uintptr_t hi, bool use_spare)
{
    struct range **link = &free_list, *prev = NULL;
    while (*link && (*link)->lo < lo) {
        prev = *link;
        link = &(*link)->next;
    }
    struct range *next = *link;
    if ((prev && prev->hi > lo) || (next && next->lo < hi))
        return false;
    if (prev && prev->hi == lo) {
        prev->hi = hi;
        if (next && next->lo == hi) {
            prev->hi = next->hi;
            prev->next = next->next;
            free(next);
        }
        return true;
    }
    if (next && next->lo == hi) {
        next->lo = lo;
        return true;
    }
    struct range *r = new_node(use_spare);
    if (!r)
        return false;
    *r = (struct range){lo, hi, next};
    *link = r;
    return true;
}

HRESULT mm_donate(void *addr, size_t size)
{
    size_t page = mm_os_page_size();
    uintptr_t lo = (uintptr_t)addr;
    if (!addr || size == 0 || lo % page || size % page || lo > UINTPTR_MAX - size)
        return E_INVALIDARG;
    struct range *d = malloc(sizeof *d);
    if (!d)
        return E_OUTOFMEMORY;
    mm_lock_acquire(&lock);
    bool overlaps = false;
    for (struct range *e = donations; e && !overlaps; e = e->next)
        overlaps = e->lo < lo + size && lo < e->hi;
    bool ok = !overlaps && insert(lo, lo + size, false);
    if (ok) {
        *d = (struct range){lo, lo + size, donations};
        donations = d;
        donated_total += size;
        donated_free += size;
    }
    mm_lock_release(&lock);
    if (ok)
        mm_space_note_room(); /* windows found full may have room now */
    else
        free(d);
    return ok ? S_OK : overlaps ? E_INVALIDARG : E_OUTOFMEMORY;
}

void mm_donated(uint64_t *total, uint64_t *in_use)
{
    mm_lock_acquire(&lock);
    if (total)
        *total = donated_total;
    if (in_use)
        *in_use = donated_total - donated_free - donated_kept;
    mm_lock_release(&lock);
}

void mm_donated_each(uintptr_t lo, uintptr_t hi, void (*visit)(void *ctx, uintptr_t lo, uintptr_t hi), void *ctx)
{
    mm_lock_acquire(&lock);
    for (struct range *d = donations; d; d = d->next)
        if (d->lo < hi && lo < d->hi)
            visit(ctx, d->lo, d->hi);
    mm_lock_release(&lock);
}

void *mm_donated_take(uintptr_t lo, uintptr_t hi, size_t size, size_t align)
{
    void *p = NULL;
    struct range *spare = malloc(sizeof *spare);
    if (!spare)
        return NULL;
    mm_lock_acquire(&lock);
    /* Set aside first: if the commit below fails, putting the range back
     * may need it. */
    push_spare(spare);
    for (struct range **link = &free_list, *r; (r = *link) && r->lo < hi; link = &r->next) {
        uintptr_t a = mm_align_up(r->lo > lo ? r->lo : lo, align);
        uintptr_t top = r->hi < hi ? r->hi : hi;
        if (a < r->lo || a >= top || top - a < size)
            continue;
        /* Split r around [a, a + size): what stays free on each side. */
        uintptr_t tail_lo = a + size, tail_hi = r->hi;
        if (a > r->lo) {
            r->hi = a;
            if (tail_hi > tail_lo && !insert(tail_lo, tail_hi, false)) {
                r->hi = tail_hi; /* no memory to split: leave r whole */
                continue;
            }
        } else if (tail_hi > tail_lo) {
            r->lo = tail_lo;
        } else {
            *link = r->next;
            push_spare(r);
        }
        if (mm_os_commit((void *)a, size) != 0) {
            (void)insert(a, a + size, true); /* cannot fail: a node is set aside */
        } else {
            p = (void *)a;
            donated_free -= size;
            ranges_out++;
        }
        break;
    }
    struct range *extra = trim_spares();
    mm_lock_release(&lock);
    free_nodes(extra);
    return p;
}

int mm_donated_give_back(void *p, size_t size)
{
    /* A range the system would not decommit stays accessible: its contents
     * are dropped, and it is kept out of the free list (and out of in_use:
     * mm_release_failures counts it), so that free donated space is never
     * accessible memory. */
    int e = mm_os_decommit(p, size);
    if (e && mm_os_discard(p, size) != 0)
        memset(p, 0, size);
    mm_lock_acquire(&lock);
    if (!e) {
        /* Cannot fail: the range was taken from the list, and its take set
         * a node aside. */
        (void)insert((uintptr_t)p, (uintptr_t)p + size, true);
        donated_free += size;
    } else {
        donated_kept += size;
    }
    ranges_out--;
    struct range *extra = trim_spares();
    mm_lock_release(&lock);
    free_nodes(extra);
    return e;
}

void mm_donated_lock(void)
{
    mm_lock_acquire(&lock);
}

void mm_donated_unlock(void)
{
    mm_lock_release(&lock);
}

#if defined(__GNUC__)
/* When the library is unloaded (dlclose) or the process ends: the
 * bookkeeping goes; the donated address space stays the host's. */
__attribute__((destructor)) static void free_bookkeeping(void)
{
    mm_lock_acquire(&lock);
    free_nodes(free_list);
    free_nodes(donations);
    free_nodes(spares);
    free_list = donations = spares = NULL;
    spare_count = 0;
    mm_lock_release(&lock);
}
#endif

uint64_t mm_donated_free_in(uintptr_t lo, uintptr_t hi)
{
    uint64_t n = 0;
    mm_lock_acquire(&lock);
    for (struct range *r = free_list; r && r->lo < hi; r = r->next)
        if (r->hi > lo)
            n += (r->hi < hi ? r->hi : hi) - (r->lo > lo ? r->lo : lo);
    mm_lock_release(&lock);
    return n;
}
