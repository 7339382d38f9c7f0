/*
 * The table of loaded modules: each module's heap, allocator and the set of
 * its methods already handled.
 *
 * Every JIT event looks its module up, from many threads at once, while
 * loads and unloads are rare: an open-addressing hash table by ModuleID
 * under a reader-writer lock (events read, loads and unloads write), so an
 * event costs one hash probe whatever the number of modules.  The set of
 * handled methods is a bitmap by MethodDef row id in pages allocated on
 * first use and set with atomic or, so events on one module do not take a
 * lock of their own.
 */
#include <stdlib.h>
#include <string.h>

#include "profiler.h"

/* Row ids are 24 bits: 256 pages of 64 Ki bits. */
#define SEEN_PAGE_BITS 65536u
#define SEEN_PAGES (((uint32_t)1 << 24) / SEEN_PAGE_BITS)
#define SEEN_WORDS (SEEN_PAGE_BITS / 64)

struct mmp_module {
    ModuleID id;
    const uint8_t *base;
    const uint8_t *image_end;
    mm_module *heap;
    IMethodMalloc *alloc;
    void *ext;
    /* Bit per MethodDef row id: set once the method has been handled, so a
     * generic method's many instantiations, or a re-JIT, copy it once. */
    _Atomic uint64_t *_Atomic seen[SEEN_PAGES];
};

void mmp_modules_init(mmp_modules *t)
{
    memset(t, 0, sizeof *t);
    mm_rwlock_init(&t->lock);
}

static size_t slot_of(ModuleID id, size_t cap)
{
    /* Module IDs are pointers: the low bits are alignment, the multiply
     * spreads the rest over the table. */
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (cap - 1);
}

/* The slot holding id, or the empty slot where it would go.  The caller
 * holds the lock; the table has room. */
static size_t probe(const mmp_modules *t, ModuleID id)
{
    size_t i = slot_of(id, t->cap);
    while (t->slots[i] && t->slots[i]->id != id)
        i = (i + 1) & (t->cap - 1);
    return i;
}

/* Doubles the table; the caller holds the write lock. */
static int grow(mmp_modules *t)
{
    size_t cap = t->cap ? t->cap * 2 : 64;
    mmp_module **slots = calloc(cap, sizeof *slots), **old = t->slots;
    size_t old_cap = t->cap;
    if (!slots)
        return -1;
    t->slots = slots;
    t->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i])
            t->slots[probe(t, old[i]->id)] = old[i];
    free(old);
    return 0;
}

int mmp_modules_add(mmp_modules *t, ModuleID id, const uint8_t *base, const uint8_t *image_end, mm_module *heap,
                    IMethodMalloc *alloc, void *ext)
{
    mmp_module *m = calloc(1, sizeof *m);
    int result = 0;
    if (!m)
        return -1;
    m->id = id;
    m->base = base;
    m->image_end = image_end;
    m->heap = heap;
    m->alloc = alloc;
    m->ext = ext;
    mm_rwlock_write(&t->lock);
    /* At most half full, so probes stay short. */
    if ((t->count + 1) * 2 > t->cap && grow(t) != 0)
        result = -1;
    else {
        size_t i = probe(t, id);
        if (t->slots[i])
            result = -1; /* the runtime reported this module loaded twice */
        else {
            t->slots[i] = m;
            t->count++;
            if (heap)
                t->heaps++;
        }
    }
    mm_rwlock_write_release(&t->lock);
    if (result != 0)
        free(m);
    return result;
}

static void add_stats(mm_stats *sum, const mm_stats *s)
{
    sum->blocks += s->blocks;
    sum->bytes_requested += s->bytes_requested;
    sum->bytes_allocated += s->bytes_allocated;
    sum->bytes_reserved += s->bytes_reserved;
    sum->bytes_resident += s->bytes_resident;
    sum->chunks += s->chunks;
    sum->refused += s->refused;
    if (s->highest_rva > sum->highest_rva)
        sum->highest_rva = s->highest_rva;
    if (s->lowest_rva && (!sum->lowest_rva || s->lowest_rva < sum->lowest_rva))
        sum->lowest_rva = s->lowest_rva;
}

/* Removes slot i by shifting back the entries after it that probed past it
 * (linear probing needs no tombstones then).  The caller holds the write lock. */
static void remove_slot(mmp_modules *t, size_t i)
{
    size_t mask = t->cap - 1, j = i;
    t->slots[i] = NULL;
    for (;;) {
        j = (j + 1) & mask;
        if (!t->slots[j])
            break;
        size_t home = slot_of(t->slots[j]->id, t->cap);
        /* Entry j may move to the hole if its home is not in (i, j]. */
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            t->slots[i] = t->slots[j];
            t->slots[j] = NULL;
            i = j;
        }
    }
    t->count--;
}

void mmp_modules_remove(mmp_modules *t, ModuleID id)
{
    mmp_module *m = NULL;

    mm_rwlock_write(&t->lock);
    if (t->cap) {
        size_t i = probe(t, id);
        if ((m = t->slots[i]))
            remove_slot(t, i);
    }
    if (m && m->heap) {
        mm_stats s;
        if (mm_module_stats(m->heap, &s) == S_OK)
            add_stats(&t->closed, &s);
    }
    mm_rwlock_write_release(&t->lock);
    if (!m)
        return;
    /* Released before the heap closes: our allocator stays safe to call
     * after close anyway, and the runtime's does not depend on the heap. */
    if (m->alloc)
        m->alloc->lpVtbl->Release(m->alloc);
    mm_module_close(m->heap);
    for (size_t p = 0; p < SEEN_PAGES; p++)
        free((void *)atomic_load_explicit(&m->seen[p], memory_order_relaxed));
    free(m);
}

/* Sets the bit of rid; returns 1 if it was set already, -1 if out of memory.
 * Lock-free: a page is installed once by compare-and-swap. */
static int test_and_set(mmp_module *m, uint32_t rid)
{
    uint32_t page = (rid / SEEN_PAGE_BITS) % SEEN_PAGES, bit = rid % SEEN_PAGE_BITS;
    _Atomic uint64_t *words = atomic_load_explicit(&m->seen[page], memory_order_acquire);
    if (!words) {
        _Atomic uint64_t *fresh = calloc(SEEN_WORDS, sizeof *fresh), *expected = NULL;
        if (!fresh)
            return -1;
        if (atomic_compare_exchange_strong_explicit(&m->seen[page], &expected, fresh, memory_order_acq_rel,
                                                    memory_order_acquire))
            words = fresh;
        else {
            free((void *)fresh);
            words = expected;
        }
    }
    uint64_t mask = (uint64_t)1 << (bit % 64);
    return (atomic_fetch_or_explicit(&words[bit / 64], mask, memory_order_relaxed) & mask) ? 1 : 0;
}

static void fill_target(const mmp_module *m, mmp_target *out)
{
    out->base = m->base;
    out->image_end = m->image_end;
    out->alloc = m->alloc;
    out->ext = m->ext;
}

/* The module with that id; the caller holds t->lock. */
static mmp_module *lookup(mmp_modules *t, ModuleID id)
{
    return t->cap ? t->slots[probe(t, id)] : NULL;
}

int mmp_modules_find(mmp_modules *t, ModuleID id, mmp_target *out)
{
    mmp_module *m;

    memset(out, 0, sizeof *out);
    mm_rwlock_read(&t->lock);
    m = lookup(t, id);
    if (m)
        fill_target(m, out);
    mm_rwlock_read_release(&t->lock);
    return m ? 0 : -1;
}

int mmp_modules_owns(mmp_modules *t, ModuleID id, const void *p, size_t size)
{
    mm_rwlock_read(&t->lock);
    mmp_module *m = lookup(t, id);
    int owns = m && mm_module_owns(m->heap, p, size);
    mm_rwlock_read_release(&t->lock);
    return owns;
}

mmp_claim mmp_modules_claim(mmp_modules *t, ModuleID id, mdMethodDef token, mmp_target *out)
{
    mmp_claim result = MMP_CLAIM_NO_MODULE;
    mmp_module *m;

    memset(out, 0, sizeof *out);
    mm_rwlock_read(&t->lock);
    m = lookup(t, id);
    if (m) {
        fill_target(m, out);
        /* Out of memory for the bitmap: relocate anyway; at worst a method
         * is copied twice, which the runtime accepts. */
        result = test_and_set(m, MM_TOKEN_RID(token)) == 1 ? MMP_CLAIM_AGAIN : MMP_CLAIM_NEW;
    }
    mm_rwlock_read_release(&t->lock);
    return result;
}

uint64_t mmp_modules_stats(mmp_modules *t, mm_stats *sum)
{
    uint64_t heaps;

    mm_rwlock_read(&t->lock);
    heaps = t->heaps;
    *sum = t->closed;
    for (size_t i = 0; i < t->cap; i++) {
        mm_stats s;
        if (t->slots[i] && t->slots[i]->heap && mm_module_stats(t->slots[i]->heap, &s) == S_OK)
            add_stats(sum, &s);
    }
    mm_rwlock_read_release(&t->lock);
    return heaps;
}

const uint8_t *mmp_image_end(const uint8_t *base)
{
    uint32_t size;
    if (!base || FAILED(mm_pe_image_size(base, 4096, &size, NULL)))
        return NULL;
    return base + size;
}
