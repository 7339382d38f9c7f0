/* A module's IL heap and its IMethodMalloc face.
 *
 * Alloc bumps a pointer in the current chunk of the calling thread's lane
 * with one atomic add and no lock.  A chunk is never unmapped before the
 * module closes, so a thread that still holds a chunk another thread has
 * just replaced bumps that old chunk harmlessly: it either fits in what is
 * left there or fails and takes the slow path.  The slow path holds the
 * module's lock to reserve and publish the lane's next chunk.
 *
 * Lanes: every thread starts on lane 0; its first slow path gives it a lane
 * of its own (round robin over MM_LANES, for every module alike), so two
 * threads allocating from one module bump two cursors in two cache lines. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "common.h"
#include "iids.h"
#include "options.h"
#include "os/os.h"

/* 64 bytes each, so that no two lanes' `current` share a cache line,
 * wherever the module lands. */
struct mm_lane {
    struct mm_chunk *_Atomic current; /* read by Alloc; written under the lock */
    size_t next_size;                 /* the lane's next chunk (under the lock) */
    char pad[64 - sizeof(void *) - sizeof(size_t)];
};

struct mm_module {
    IMethodMalloc IMethodMalloc_iface;
    uint64_t mask; /* alignment - 1 */
    mm_refcount ref; /* interface references, plus one for the open handle */
    struct mm_lane lanes[MM_LANES];

    mm_lock lock; /* guards everything below, and chunk fields other than cur/counts */
    struct mm_window window;
    uintptr_t base;
    struct mm_chunk *chunks; /* every chunk, newest first */
    uint64_t refused;
    bool counting; /* MM_COUNT_BLOCKS: the counting vtable is in use */
    bool closed;
    /* Before the first chunk and after close: full, so Alloc goes to the slow path. */
    struct mm_chunk empty;
};

/* The calling thread's lane, as a byte offset into mm_module.lanes so that
 * the fast path indexes with no multiplication.  In a shared object the
 * initial-exec model reads it in two instructions where the general one
 * would call a function; in an executable the default is one instruction. */
#if defined(__GNUC__) && defined(__PIC__) && !defined(__PIE__)
static _Thread_local size_t lane_offset __attribute__((tls_model("initial-exec")));
#else
static _Thread_local size_t lane_offset;
#endif
static _Thread_local bool lane_assigned;
static _Atomic unsigned lanes_handed_out;

static const IID iid_unknown = MM_IID_IUNKNOWN_INIT;
static const IID iid_methodmalloc = MM_IID_IMETHODMALLOC_INIT;

static inline mm_module *impl_from_IMethodMalloc(IMethodMalloc *iface)
{
    return (mm_module *)((char *)iface - offsetof(mm_module, IMethodMalloc_iface));
}

static void module_free(mm_module *m)
{
    mm_lock_destroy(&m->lock);
    free(m);
}

static ULONG STDMETHODCALLTYPE MethodMalloc_AddRef(IMethodMalloc *iface);

static HRESULT STDMETHODCALLTYPE MethodMalloc_QueryInterface(IMethodMalloc *iface, REFIID riid, void **ppv)
{
    static const IID *const answers[] = {&iid_unknown, &iid_methodmalloc};
    HRESULT hr = mm_com_answers(riid, ppv, answers, 2);
    if (hr == S_OK) {
        MethodMalloc_AddRef(iface);
        *ppv = iface;
    }
    return hr;
}

static ULONG STDMETHODCALLTYPE MethodMalloc_AddRef(IMethodMalloc *iface)
{
    mm_module *m = impl_from_IMethodMalloc(iface);
    return mm_ref_add(&m->ref);
}

static ULONG STDMETHODCALLTYPE MethodMalloc_Release(IMethodMalloc *iface)
{
    mm_module *m = impl_from_IMethodMalloc(iface);
    ULONG ref = mm_ref_release(&m->ref);
    /* The open handle holds a reference, so zero means closed and unused. */
    if (ref == 0)
        module_free(m);
    return ref;
}

static MM_COLD void *alloc_slow(mm_module *m, struct mm_chunk *c, ULONG cb, uint64_t p, uint64_t need);

static inline struct mm_lane *my_lane(mm_module *m)
{
    return (struct mm_lane *)((char *)m->lanes + lane_offset);
}

/* The fast path; `counting` is a constant in each caller, so each vtable gets
 * its own straight-line copy. */
static inline void *alloc(IMethodMalloc *iface, ULONG cb, bool counting)
{
    mm_module *m = impl_from_IMethodMalloc(iface);
    struct mm_chunk *c = atomic_load_explicit(&my_lane(m)->current, memory_order_acquire);
    /* Rounds cb up to the alignment; cb == 0 wraps to a 4 GiB request, which
     * no chunk can hold, so one comparison refuses it with the full chunk. */
    uint64_t need = ((uint32_t)(cb - 1) | m->mask) + 1;
    uint64_t p = atomic_fetch_add_explicit(&c->cur, need, memory_order_relaxed);
    if (MM_LIKELY(p + need <= c->end)) {
        if (counting)
            atomic_fetch_add_explicit(&c->counts, (uint64_t)cb << 32 | 1, memory_order_relaxed);
        return (void *)(uintptr_t)p;
    }
    return alloc_slow(m, c, cb, p, need);
}

static PVOID STDMETHODCALLTYPE MethodMalloc_Alloc(IMethodMalloc *iface, ULONG cb)
{
    return alloc(iface, cb, false);
}

static PVOID STDMETHODCALLTYPE MethodMalloc_AllocCounting(IMethodMalloc *iface, ULONG cb)
{
    return alloc(iface, cb, true);
}

static const IMethodMallocVtbl MethodMalloc_vtbl = {
    MethodMalloc_QueryInterface,
    MethodMalloc_AddRef,
    MethodMalloc_Release,
    MethodMalloc_Alloc,
};

/* The same object with blocks and bytes requested counted (MM_COUNT_BLOCKS). */
static const IMethodMallocVtbl MethodMalloc_counting_vtbl = {
    MethodMalloc_QueryInterface,
    MethodMalloc_AddRef,
    MethodMalloc_Release,
    MethodMalloc_AllocCounting,
};

/* The fast path once more, for the slow path's retries on a newer chunk. */
static void *bump(mm_module *m, struct mm_chunk *c, ULONG cb, uint64_t need, uint64_t *at)
{
    uint64_t p = atomic_fetch_add_explicit(&c->cur, need, memory_order_relaxed);
    *at = p;
    if (p + need > c->end)
        return NULL;
    if (m->counting)
        atomic_fetch_add_explicit(&c->counts, (uint64_t)cb << 32 | 1, memory_order_relaxed);
    return (void *)(uintptr_t)p;
}

/* Takes back a failed attempt's bytes [p, p + need) if nothing was bumped
 * past them since, so the chunk's tail stays usable; otherwise every later
 * attempt fails on this chunk too, and it is dead from p on. */
static void give_back(mm_module *m, struct mm_chunk *c, uint64_t p, uint64_t need)
{
    uint64_t expected = p + need;
    if (!atomic_compare_exchange_strong_explicit(&c->cur, &expected, p, memory_order_relaxed,
                                                 memory_order_relaxed)
        && c != &m->empty && p < c->dead_from)
        c->dead_from = p;
}

static void *refuse(mm_module *m)
{
    m->refused++;
    mm_lock_release(&m->lock);
    return NULL;
}

static MM_COLD void *alloc_slow(mm_module *m, struct mm_chunk *c, ULONG cb, uint64_t p, uint64_t need)
{
    if (!lane_assigned) {
        unsigned lane = atomic_fetch_add_explicit(&lanes_handed_out, 1, memory_order_relaxed) % MM_LANES;
        lane_offset = lane * sizeof(struct mm_lane);
        lane_assigned = true;
    }
    struct mm_lane *l = my_lane(m);
    mm_lock_acquire(&m->lock);
    for (;;) {
        give_back(m, c, p, need);
        if (m->closed || cb == 0)
            return refuse(m);
        struct mm_chunk *cur = atomic_load_explicit(&l->current, memory_order_relaxed);
        if (cur != c) {
            /* Another thread refilled the lane while this one waited, or
             * this thread has just moved to a lane of its own. */
            c = cur;
            void *block = bump(m, c, cb, need, &p);
            if (block) {
                mm_lock_release(&m->lock);
                return block;
            }
            continue;
        }
        /* The lane's chunk cannot hold the block: a chunk of its own for a
         * large block, else the lane's next, larger chunk. */
        bool dedicated = need > l->next_size / MM_DEDICATED_DIVISOR;
        uintptr_t hint = m->chunks ? m->chunks->end : 0;
        struct mm_chunk *fresh = mm_chunk_reserve(&m->window, need, dedicated ? need : l->next_size, hint);
        if (!fresh)
            return refuse(m);
        atomic_store_explicit(&fresh->cur, (uintptr_t)fresh->map + need, memory_order_relaxed);
        if (m->counting)
            atomic_store_explicit(&fresh->counts, (uint64_t)cb << 32 | 1, memory_order_relaxed);
        fresh->next = m->chunks;
        m->chunks = fresh;
        if (!dedicated) {
            if (l->next_size < MM_CHUNK_MAX)
                l->next_size *= 2;
            atomic_store_explicit(&l->current, fresh, memory_order_release);
        }
        mm_lock_release(&m->lock);
        return fresh->map;
    }
}

mm_config mm_config_default(void)
{
    mm_config cfg = MM_CONFIG_DEFAULT;
    return cfg;
}

HRESULT mm_module_open(const void *base, const mm_config *cfg, mm_module **out)
{
    if (!out)
        return E_POINTER;
    *out = NULL;
    mm_config c = cfg ? *cfg : mm_config_default();
    if (c.max_rva == 0 || c.alignment == 0 || c.alignment > MM_MAX_ALIGNMENT
        || (c.alignment & (c.alignment - 1)) != 0 || (c.flags & ~(uint32_t)MM_COUNT_BLOCKS) != 0)
        return E_INVALIDARG;
    mm_module *m = calloc(1, sizeof *m);
    if (!m)
        return E_OUTOFMEMORY;
    if (mm_lock_init(&m->lock) != 0) {
        free(m);
        return E_OUTOFMEMORY;
    }
    m->counting = (c.flags & MM_COUNT_BLOCKS) != 0;
    m->IMethodMalloc_iface.lpVtbl = m->counting ? &MethodMalloc_counting_vtbl : &MethodMalloc_vtbl;
    atomic_init(&m->ref, 1);
    m->mask = c.alignment - 1;
    m->base = (uintptr_t)base;
    if (base) {
        /* Blocks start above the base and end at base + max_rva at most; chunks
         * are whole pages, so the window is trimmed to page boundaries. */
        size_t page = mm_os_page_size();
        uintptr_t b = (uintptr_t)base;
        m->window.bounded = 1;
        m->window.lo = b > UINTPTR_MAX - page ? UINTPTR_MAX : (b / page + 1) * page;
        uintptr_t hi = b > UINTPTR_MAX - c.max_rva ? UINTPTR_MAX : b + c.max_rva;
        m->window.hi = hi / page * page;
    }
    atomic_init(&m->empty.cur, 0);
    atomic_init(&m->empty.counts, 0);
    for (int i = 0; i < MM_LANES; i++) {
        atomic_init(&m->lanes[i].current, &m->empty);
        m->lanes[i].next_size = MM_CHUNK_FIRST;
    }
    *out = m;
    return S_OK;
}

HRESULT mm_module_allocator(mm_module *m, IMethodMalloc **out)
{
    if (!out)
        return E_POINTER;
    *out = NULL;
    if (!m)
        return E_INVALIDARG;
    MethodMalloc_AddRef(&m->IMethodMalloc_iface);
    *out = &m->IMethodMalloc_iface;
    return S_OK;
}

HRESULT mm_module_stats(mm_module *m, mm_stats *out)
{
    if (!out)
        return E_POINTER;
    memset(out, 0, sizeof *out);
    if (!m)
        return E_INVALIDARG;
    mm_lock_acquire(&m->lock);
    out->refused = m->refused;
    out->counted = m->counting;
    for (struct mm_chunk *c = m->chunks; c; c = c->next) {
        uint64_t counts = atomic_load_explicit(&c->counts, memory_order_relaxed);
        uint64_t used = mm_chunk_used(c);
        out->blocks += counts & 0xFFFFFFFFu;
        out->bytes_requested += counts >> 32;
        out->bytes_allocated += used;
        out->bytes_reserved += c->map_size;
        out->bytes_resident += mm_os_resident(c->map, c->map_size);
        out->chunks++;
        if (m->base && used) {
            uint64_t lo = (uintptr_t)c->map - m->base, hi = lo + used;
            if (!out->lowest_rva || lo < out->lowest_rva)
                out->lowest_rva = lo;
            if (hi > out->highest_rva)
                out->highest_rva = hi;
        }
    }
    mm_lock_release(&m->lock);
    return S_OK;
}

void mm_module_close(mm_module *m)
{
    if (!m)
        return;
    mm_lock_acquire(&m->lock);
    m->closed = true;
    for (int i = 0; i < MM_LANES; i++)
        atomic_store_explicit(&m->lanes[i].current, &m->empty, memory_order_release);
    struct mm_chunk *c = m->chunks;
    m->chunks = NULL;
    mm_lock_release(&m->lock);
    while (c) {
        struct mm_chunk *next = c->next;
        mm_chunk_release(c);
        c = next;
    }
    MethodMalloc_Release(&m->IMethodMalloc_iface);
}
