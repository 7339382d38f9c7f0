/*
 * The table of loaded modules: each module's heap, allocator and the set of
 * its methods already handled.  One mutex guards it all: lookups are short
 * (a list walk over a few dozen modules, a bit test) next to what a JIT
 * compilation costs, and module loads are rare.
 */
#include <stdlib.h>
#include <string.h>

#include "profiler.h"

struct mmp_module {
    ModuleID id;
    const uint8_t *base;
    const uint8_t *image_end;
    mm_module *heap;
    IMethodMalloc *alloc;
    /* Bit per MethodDef row id: set once the method has been handled, so a
     * generic method's many instantiations, or a re-JIT, copy it once. */
    uint8_t *seen;
    size_t seen_bytes;
    mmp_module *next;
};

void mmp_modules_init(mmp_modules *t)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->lock, NULL);
}

int mmp_modules_add(mmp_modules *t, ModuleID id, const uint8_t *base, const uint8_t *image_end, mm_module *heap,
                    IMethodMalloc *alloc)
{
    mmp_module *m = calloc(1, sizeof *m);
    if (!m)
        return -1;
    m->id = id;
    m->base = base;
    m->image_end = image_end;
    m->heap = heap;
    m->alloc = alloc;
    pthread_mutex_lock(&t->lock);
    m->next = t->head;
    t->head = m;
    if (heap)
        t->heaps++;
    pthread_mutex_unlock(&t->lock);
    return 0;
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

void mmp_modules_remove(mmp_modules *t, ModuleID id)
{
    mmp_module **link, *m = NULL;

    pthread_mutex_lock(&t->lock);
    for (link = &t->head; *link; link = &(*link)->next) {
        if ((*link)->id == id) {
            m = *link;
            *link = m->next;
            break;
        }
    }
    if (m && m->heap) {
        mm_stats s;
        if (mm_module_stats(m->heap, &s) == S_OK)
            add_stats(&t->closed, &s);
    }
    pthread_mutex_unlock(&t->lock);
    if (!m)
        return;
    /* Released before the heap closes: our allocator stays safe to call
     * after close anyway, and the runtime's does not depend on the heap. */
    if (m->alloc)
        m->alloc->lpVtbl->Release(m->alloc);
    mm_module_close(m->heap);
    free(m->seen);
    free(m);
}

/* Sets the bit of rid; returns 1 if it was set already, -1 if out of memory. */
static int test_and_set(mmp_module *m, uint32_t rid)
{
    size_t byte = rid / 8;
    if (byte >= m->seen_bytes) {
        size_t n = m->seen_bytes ? m->seen_bytes : 1024;
        uint8_t *grown;
        while (n <= byte)
            n *= 2;
        grown = realloc(m->seen, n);
        if (!grown)
            return -1;
        memset(grown + m->seen_bytes, 0, n - m->seen_bytes);
        m->seen = grown;
        m->seen_bytes = n;
    }
    if (m->seen[byte] & (1u << (rid % 8)))
        return 1;
    m->seen[byte] |= (uint8_t)(1u << (rid % 8));
    return 0;
}

static void fill_target(const mmp_module *m, mmp_target *out)
{
    out->base = m->base;
    out->image_end = m->image_end;
    out->alloc = m->alloc;
}

/* The module with that id; the caller holds t->lock. */
static mmp_module *lookup(mmp_modules *t, ModuleID id)
{
    mmp_module *m;
    for (m = t->head; m; m = m->next)
        if (m->id == id)
            break;
    return m;
}

int mmp_modules_find(mmp_modules *t, ModuleID id, mmp_target *out)
{
    mmp_module *m;

    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&t->lock);
    m = lookup(t, id);
    if (m)
        fill_target(m, out);
    pthread_mutex_unlock(&t->lock);
    return m ? 0 : -1;
}

mmp_claim mmp_modules_claim(mmp_modules *t, ModuleID id, mdMethodDef token, mmp_target *out)
{
    mmp_claim result = MMP_CLAIM_NO_MODULE;
    mmp_module *m;

    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&t->lock);
    m = lookup(t, id);
    if (m) {
        fill_target(m, out);
        /* Out of memory for the bitmap: relocate anyway; at worst a method
         * is copied twice, which the runtime accepts. */
        result = test_and_set(m, MM_TOKEN_RID(token)) == 1 ? MMP_CLAIM_AGAIN : MMP_CLAIM_NEW;
    }
    pthread_mutex_unlock(&t->lock);
    return result;
}

uint64_t mmp_modules_stats(mmp_modules *t, mm_stats *sum)
{
    mmp_module *m;
    uint64_t heaps;

    pthread_mutex_lock(&t->lock);
    heaps = t->heaps;
    *sum = t->closed;
    for (m = t->head; m; m = m->next) {
        mm_stats s;
        if (m->heap && mm_module_stats(m->heap, &s) == S_OK)
            add_stats(sum, &s);
    }
    pthread_mutex_unlock(&t->lock);
    return heaps;
}
