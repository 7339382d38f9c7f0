/* Donated address space: a sorted list of free ranges under one lock.  Takes
 * and give-backs happen once per chunk, so a list walk is cheap enough. */
#include "donated.h"

#include <stdlib.h>

#include "common.h"
#include "os/os.h"

struct range {
    uintptr_t lo, hi;
    struct range *next;
};

static mm_lock lock = MM_LOCK_INIT;
static struct range *free_list; /* sorted by address, never adjacent */
static struct range *donations; /* every donation as given, to refuse overlaps */
static uint64_t donated_total, donated_free;

/* Puts [lo, hi) back into the free list, merging with its neighbours.
 * Returns false if it overlaps a free range or memory is short; the caller
 * holds the lock. */
static bool insert(uintptr_t lo, uintptr_t hi)
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
    struct range *r = malloc(sizeof *r);
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
    bool ok = !overlaps && insert(lo, lo + size);
    if (ok) {
        *d = (struct range){lo, lo + size, donations};
        donations = d;
        donated_total += size;
        donated_free += size;
    }
    mm_lock_release(&lock);
    if (!ok)
        free(d);
    return ok ? S_OK : overlaps ? E_INVALIDARG : E_OUTOFMEMORY;
}

void mm_donated(uint64_t *total, uint64_t *in_use)
{
    mm_lock_acquire(&lock);
    if (total)
        *total = donated_total;
    if (in_use)
        *in_use = donated_total - donated_free;
    mm_lock_release(&lock);
}

void *mm_donated_take(uintptr_t lo, uintptr_t hi, size_t size, size_t align)
{
    void *p = NULL;
    mm_lock_acquire(&lock);
    for (struct range **link = &free_list, *r; (r = *link) && r->lo < hi; link = &r->next) {
        uintptr_t a = mm_align_up(r->lo > lo ? r->lo : lo, align);
        uintptr_t top = r->hi < hi ? r->hi : hi;
        if (a < r->lo || a >= top || top - a < size)
            continue;
        /* Split r around [a, a + size): what stays free on each side. */
        uintptr_t tail_lo = a + size, tail_hi = r->hi;
        if (a > r->lo) {
            r->hi = a;
            if (tail_hi > tail_lo && !insert(tail_lo, tail_hi)) {
                r->hi = tail_hi; /* no memory to split: leave r whole */
                continue;
            }
        } else if (tail_hi > tail_lo) {
            r->lo = tail_lo;
        } else {
            *link = r->next;
            free(r);
        }
        if (mm_os_commit((void *)a, size) != 0)
            insert(a, a + size);
        else {
            p = (void *)a;
            donated_free -= size;
        }
        break;
    }
    mm_lock_release(&lock);
    return p;
}

void mm_donated_give_back(void *p, size_t size)
{
    (void)mm_os_decommit(p, size);
    mm_lock_acquire(&lock);
    if (insert((uintptr_t)p, (uintptr_t)p + size))
        donated_free += size;
    mm_lock_release(&lock);
}
