/* A module's IL heap and its IMethodMalloc face.
 *
 * Alloc bumps a pointer in the chunk of the calling thread's lane, with no
 * lock, after checking that the block fits: the cursor never passes the
 * chunk's end, so a refused or oversized request leaves it untouched for
 * the other threads of the lane.  In a lane the thread holds alone the bump
 * is a plain load and store, inline; in a shared lane, one compare-and-swap
 * at the top of the slow path.  A chunk is never unmapped before the
 * module closes, so a thread that still holds a chunk another thread has
 * just replaced bumps that old chunk harmlessly: it either fits in what is
 * left there or takes the slow path.  The slow path holds the module's lock
 * to reserve and publish the lane's next chunk.
 *
 * Every open module is in one list, so that fork() can take every module's
 * lock first (pthread_atfork): a child never inherits a lock that a thread
 * which does not exist in it was holding.
 *
 * Lanes: every thread starts on lane 0, which never holds a chunk; its first
 * slow path gives it a lane, the same in every module.  First choice, one of
 * the held lanes 1..MM_HELD_LANES, which it keeps alone until it exits
 * (lane_key.h gives it back); past those, one of the shared lanes after
 * them (round robin), and a held one again at a later slow path if one is
 * free by then.  So two threads allocating from one module bump two cursors
 * in two cache lines, and the first few never pay a locked instruction. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "common.h"
#include "debug.h"
#include "donated.h"
#include "iids.h"
#include "options.h"
#include "os/lane_key.h"
#include "os/os.h"

/* 64 bytes each, so that no two lanes' chunks share a cache line,
 * wherever the module lands.  A lane's chunk is in `current` for a held
 * lane, which Alloc's fast path bumps, and in `shared` for a shared lane,
 * whose `current` stays `empty` so that its threads always come to the slow
 * path, which bumps `shared` with a compare-and-swap before any lock. */
struct mm_lane {
    struct mm_chunk *_Atomic current; /* read by Alloc; written under the lock */
    struct mm_chunk *_Atomic shared;  /* likewise */
    size_t next_size;                 /* the lane's next chunk (under the lock) */
    char pad[64 - 2 * sizeof(void *) - sizeof(size_t)];
};

struct mm_module {
    IMethodMalloc IMethodMalloc_iface;
    uint64_t mask; /* alignment - 1 */
    mm_refcount ref; /* interface references, plus one for the open handle */
    /* lanes[0] is where threads start: it never gets a chunk, so a thread's
     * first Alloc on any module takes the slow path, which gives it one of
     * the real lanes: held 1..MM_HELD_LANES, then the shared ones. */
    struct mm_lane lanes[1 + MM_LANES];

    mm_lock lock; /* guards everything below, and chunk fields other than cur/counts */
    struct mm_window window;
    uintptr_t base;
    struct mm_chunk *chunks; /* every chunk, newest first */
    uint64_t refused;
    uint64_t reserved; /* bytes of all chunks */
    uint64_t cap;      /* what a module without a window may reserve in all */
    /* The window had no room for full_need bytes while the space's
     * generation was full_gen: refused at once until room may have appeared. */
    uint64_t full_gen, full_need;
    bool counting; /* MM_COUNT_BLOCKS: the counting vtable is in use */
    bool closed;
    /* Before the first chunk and after close: full, so Alloc goes to the slow path. */
    struct mm_chunk empty;
    struct mm_module *prev_open, *next_open; /* the list of open modules (open_lock) */
};

/* Every module from open until its object is freed, for fork. */
static mm_lock open_lock = MM_LOCK_INIT;
static mm_module *open_modules;

/* The calling thread's lane (os/lane_key.h) is a byte offset into
 * mm_module.lanes, so that the fast path indexes with no multiplication;
 * 0, lanes[0], until the thread's first slow path. */
static _Atomic unsigned lanes_handed_out; /* shared lanes, round robin */
/* The OS cannot call back at a thread's exit: no lane is held. */
static _Atomic bool holding_off;
/* Held lane i's holder: 0 free, 1 held (index 0 unused).  A holder's
 * plain stores to its chunks' cursors reach the next holder through this
 * word: released by the exiting holder, acquired by the next. */
static _Atomic int lane_holder[1 + MM_HELD_LANES];

static void mm_lane_key_exited(size_t key)
{
    atomic_store_explicit(&lane_holder[key / sizeof(struct mm_lane)], 0, memory_order_release);
}

static const IID iid_unknown = MM_IID_IUNKNOWN_INIT;
static const IID iid_methodmalloc = MM_IID_IMETHODMALLOC_INIT;

static inline mm_module *impl_from_IMethodMalloc(IMethodMalloc *iface)
{
    return (mm_module *)((char *)iface - offsetof(mm_module, IMethodMalloc_iface));
}

static void unregister_open(mm_module *m);

static void module_free(mm_module *m)
{
    unregister_open(m);
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

static inline struct mm_lane *lane_at(mm_module *m, size_t key)
{
    return (struct mm_lane *)((char *)m->lanes + key);
}

static inline bool lane_held(size_t key)
{
    return key && key / sizeof(struct mm_lane) <= MM_HELD_LANES;
}

/* On arm64, gcc (10 and later) calls out of line for every atomic
 * (__aarch64_cas8_relax: a check for LSE, then casp) unless the target has
 * LSE (-march=armv8.1-a or later, where the compare-and-swap is one cas
 * inline).  The shared lanes' bump (the slow path's first step) asks for
 * the inline form of ARMv8.0, an ldxr/stxr loop, which runs on every arm64
 * core; build with -march=armv8.1-a (README) for cas on cores known to have
 * it.  The fast path has no read-modify-write. */
#if defined(__aarch64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 10 \
    && !defined(__ARM_FEATURE_ATOMICS)
#define FAST_ATOMICS __attribute__((target("no-outline-atomics")))
#else
#define FAST_ATOMICS
#endif

static MM_COLD FAST_ATOMICS void *alloc_slow(mm_module *m, ULONG cb, uint64_t need);

/* Takes need bytes from c into *at if they fit; false otherwise, c
 * untouched.  The cursor never passes c->end; the sum is 64-bit so that a
 * need of up to 4 GiB cannot wrap it on a 32-bit address space.  bump_held:
 * only for a chunk no other thread can bump (the `current` of the calling
 * thread's lane: its held lane's chunk, or `empty`, which it never
 * changes). */
static inline bool bump_held(struct mm_chunk *c, ULONG cb, uint64_t need, bool counting, void **at)
{
    uintptr_t p = atomic_load_explicit(&c->cur, memory_order_relaxed);
    uint64_t next = (uint64_t)p + need;
    if (next > c->end)
        return false;
    atomic_store_explicit(&c->cur, (uintptr_t)next, memory_order_relaxed);
    if (counting)
        atomic_store_explicit(&c->counts,
                              atomic_load_explicit(&c->counts, memory_order_relaxed) + ((uint64_t)cb << 32 | 1),
                              memory_order_relaxed);
    *at = (void *)p;
    mm_debug_block(*at, cb);
    return true;
}

static inline FAST_ATOMICS bool bump(struct mm_chunk *c, ULONG cb, uint64_t need, bool counting, void **at)
{
    uintptr_t p = atomic_load_explicit(&c->cur, memory_order_relaxed);
    uint64_t next;
    do {
        next = (uint64_t)p + need;
        if (next > c->end)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&c->cur, &p, (uintptr_t)next, memory_order_relaxed,
                                                    memory_order_relaxed));
    if (counting)
        atomic_fetch_add_explicit(&c->counts, (uint64_t)cb << 32 | 1, memory_order_relaxed);
    *at = (void *)p;
    mm_debug_block(*at, cb);
    return true;
}

/* The fast path; `counting` is a constant in each caller, so each vtable gets
 * its own straight-line copy. */
static inline void *alloc(IMethodMalloc *iface, ULONG cb, bool counting)
{
    mm_module *m = impl_from_IMethodMalloc(iface);
    size_t key = mm_lane_key_get();
    struct mm_chunk *c = atomic_load_explicit(&lane_at(m, key)->current, memory_order_acquire);
    /* Rounds cb up to the alignment; cb == 0 wraps to a 4 GiB request, which
     * no chunk can hold, so the fit check refuses it.  The debug mode adds
     * its red zone (debug.h). */
#if MM_REDZONE
    uint64_t need = (((uint64_t)(uint32_t)(cb - 1) + MM_REDZONE) | m->mask) + 1;
#else
    uint64_t need = ((uint32_t)(cb - 1) | m->mask) + 1;
#endif
    void *block;
    if (MM_LIKELY(bump_held(c, cb, need, counting, &block)))
        return block;
    return alloc_slow(m, cb, need);
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

static void *refuse(mm_module *m)
{
    m->refused++;
    mm_lock_release(&m->lock);
    return NULL;
}

/* A free held lane for the calling thread, which has none: its key, or 0. */
static size_t take_held_lane(void)
{
    if (atomic_load_explicit(&holding_off, memory_order_relaxed))
        return 0;
    for (size_t i = 1; i <= MM_HELD_LANES; i++) {
        int free_ = 0;
        if (atomic_load_explicit(&lane_holder[i], memory_order_relaxed) == 0
            && atomic_compare_exchange_strong_explicit(&lane_holder[i], &free_, 1, memory_order_acquire,
                                                       memory_order_relaxed)) {
            size_t key = i * sizeof(struct mm_lane);
            if (mm_lane_key_hold(key) == 0)
                return key;
            /* No word at the thread's exit, no holding. */
            atomic_store_explicit(&holding_off, true, memory_order_relaxed);
            atomic_store_explicit(&lane_holder[i], 0, memory_order_release);
            return 0;
        }
    }
    return 0;
}

static MM_COLD FAST_ATOMICS void *alloc_slow(mm_module *m, ULONG cb, uint64_t need)
{
    size_t key = mm_lane_key_get();
    if (!lane_held(key)) {
        /* A thread in a shared lane (or none yet) takes a held lane that has
         * become free; else it bumps its shared lane's chunk, lock-free. */
        size_t held = take_held_lane();
        if (held)
            key = held;
        else {
            if (key == 0) {
                unsigned turn = atomic_fetch_add_explicit(&lanes_handed_out, 1, memory_order_relaxed);
                key = (1 + MM_HELD_LANES + turn % MM_SHARED_LANES) * sizeof(struct mm_lane);
                mm_lane_key_set(key);
            }
            void *block;
            if (bump(atomic_load_explicit(&lane_at(m, key)->shared, memory_order_acquire), cb, need, m->counting,
                     &block))
                return block;
        }
    }
    struct mm_lane *l = lane_at(m, key);
    struct mm_chunk *_Atomic *chunk = lane_held(key) ? &l->current : &l->shared;
    /* Rounds in which the space asked for its index to be rebuilt, which is
     * done with the module's lock released; past a few, it rebuilds itself. */
    for (int round = 0;; round++) {
        mm_lock_acquire(&m->lock);
        if (m->closed || cb == 0)
            return refuse(m);
        /* Another thread may have refilled the lane while this one waited, or
         * this thread has just moved to a lane of its own. */
        void *block;
        if (bump(atomic_load_explicit(chunk, memory_order_relaxed), cb, need, m->counting, &block)) {
            mm_lock_release(&m->lock);
            return block;
        }
        /* The lane's chunk cannot hold the block: a chunk of its own for a
         * large block, else the lane's next, larger chunk. */
        bool dedicated = need > l->next_size / MM_DEDICATED_DIVISOR;
        uint64_t want = dedicated ? need : l->next_size;
        if (!m->window.bounded) {
            /* No window bounds it, so the cap does (a page multiple). */
            uint64_t room = m->cap - m->reserved;
            if (need > room)
                return refuse(m);
            if (want > room)
                want = room;
        }
        uintptr_t hint = m->chunks ? m->chunks->end : 0;
        /* Read before the search: room that appears during it changes the
         * generation again, so it is never missed. */
        uint64_t gen = mm_space_generation();
        /* Full at this generation: refused at once, unless a look at what
         * other libraries may have unmapped is due (once per Alloc). */
        if (m->window.bounded && m->full_gen == gen && need >= m->full_need
            && (round > 0 || !mm_space_refusal_due(&m->window)))
            return refuse(m);
        int err;
        struct mm_chunk *fresh =
            mm_chunk_reserve(&m->window, (size_t)need, (size_t)want, hint, round >= MM_REBUILD_ROUNDS, &err);
        if (!fresh && err == MM_SPACE_REBUILD) {
            /* Reading the OS's mappings takes time: not while this module's
             * other threads wait for its lock. */
            mm_lock_release(&m->lock);
            (void)mm_space_rebuild(&m->window);
            continue;
        }
        if (!fresh) {
            /* Keep the smallest size known not to fit at this generation;
             * a failure of the system (memory for bookkeeping, a refused
             * map) proves nothing about room and is not remembered. */
            if (err == MM_OS_ENOROOM) {
                if (m->full_gen != gen || need < m->full_need)
                    m->full_need = need;
                m->full_gen = gen;
            }
            return refuse(m);
        }
        m->reserved += fresh->map_size;
        atomic_store_explicit(&fresh->cur, (uintptr_t)fresh->map + (uintptr_t)need, memory_order_relaxed);
        if (m->counting)
            atomic_store_explicit(&fresh->counts, (uint64_t)cb << 32 | 1, memory_order_relaxed);
        fresh->next = m->chunks;
        m->chunks = fresh;
        if (!dedicated) {
            if (l->next_size >= MM_CHUNK_SMALL_MAX && l->next_size < MM_HUGE_PAGE)
                l->next_size = MM_HUGE_PAGE;
            else if (l->next_size < MM_CHUNK_MAX)
                l->next_size *= 2;
            atomic_store_explicit(chunk, fresh, memory_order_release);
        }
        mm_lock_release(&m->lock);
        mm_debug_block(fresh->map, cb);
        return fresh->map;
    }
}

/* fork(): the forking thread takes every lock the library has, in the order
 * the slow path takes them (open list, module, space, donated space), so the child
 * starts with none held by a thread it does not have. */
static void before_fork(void)
{
    mm_lock_acquire(&open_lock);
    for (mm_module *m = open_modules; m; m = m->next_open)
        mm_lock_acquire(&m->lock);
    mm_space_lock();
    mm_donated_lock();
}

static void after_fork(void)
{
    mm_donated_unlock();
    mm_space_unlock();
    for (mm_module *m = open_modules; m; m = m->next_open)
        mm_lock_release(&m->lock);
    mm_lock_release(&open_lock);
}

/* The child has only the forking thread: every other held lane is free
 * there (its holder will never exit to give it back, nor bump again). */
static void after_fork_child(void)
{
    size_t mine = mm_lane_key_get();
    for (size_t i = 1; i <= MM_HELD_LANES; i++)
        if (mine / sizeof(struct mm_lane) != i)
            atomic_store_explicit(&lane_holder[i], 0, memory_order_relaxed);
    after_fork();
}

static void register_open(mm_module *m)
{
    /* Registered once, under the lock so that two opens never register
     * twice; a failed registration is tried again at the next open. */
    static bool fork_handlers;
    mm_lock_acquire(&open_lock);
    if (!fork_handlers)
        fork_handlers = mm_os_atfork(before_fork, after_fork, after_fork_child) == 0;
    m->next_open = open_modules;
    if (open_modules)
        open_modules->prev_open = m;
    open_modules = m;
    mm_lock_release(&open_lock);
}

static void unregister_open(mm_module *m)
{
    mm_lock_acquire(&open_lock);
    if (m->prev_open)
        m->prev_open->next_open = m->next_open;
    else
        open_modules = m->next_open;
    if (m->next_open)
        m->next_open->prev_open = m->prev_open;
    mm_lock_release(&open_lock);
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
    if (mm_lane_key_init() != 0)
        return E_OUTOFMEMORY;
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
    m->mask = (c.alignment - 1) | MM_DEBUG_MIN_MASK;
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
        /* Other heaps place their chunks knowing this window is open. */
        if (m->window.hi > m->window.lo && mm_space_open(&m->window) != 0) {
            mm_lock_destroy(&m->lock);
            free(m);
            return E_OUTOFMEMORY;
        }
    }
    m->cap = c.max_rva / mm_os_page_size() * mm_os_page_size();
    atomic_init(&m->empty.cur, 0);
    atomic_init(&m->empty.counts, 0);
    for (int i = 0; i <= MM_LANES; i++) {
        atomic_init(&m->lanes[i].current, &m->empty);
        atomic_init(&m->lanes[i].shared, &m->empty);
        m->lanes[i].next_size = MM_CHUNK_FIRST;
    }
    register_open(m);
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
    /* Only the list's head changes (chunks are pushed in front, under the
     * lock) and close never runs concurrently: the walk, and the system
     * calls it makes, need no lock. */
    mm_lock_acquire(&m->lock);
    out->refused = m->refused;
    struct mm_chunk *head = m->chunks;
    mm_lock_release(&m->lock);
    out->counted = m->counting;
    for (struct mm_chunk *c = head; c; c = c->next) {
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
    return S_OK;
}

int mm_module_owns(mm_module *m, const void *p, size_t size)
{
    uintptr_t lo = (uintptr_t)p;
    if (size == 0)
        size = 1;
    if (!m || !p || size > UINTPTR_MAX - lo)
        return 0;
    /* The walk needs no lock, as in mm_module_stats; a chunk's cursor only
     * grows, so a block already returned lies below it. */
    mm_lock_acquire(&m->lock);
    struct mm_chunk *head = m->chunks;
    mm_lock_release(&m->lock);
    for (struct mm_chunk *c = head; c; c = c->next)
        if (lo >= (uintptr_t)c->map && lo + size <= atomic_load_explicit(&c->cur, memory_order_relaxed))
            return 1;
    return 0;
}

void mm_module_close(mm_module *m)
{
    if (!m)
        return;
    mm_lock_acquire(&m->lock);
    m->closed = true;
    for (int i = 0; i <= MM_LANES; i++) {
        atomic_store_explicit(&m->lanes[i].current, &m->empty, memory_order_release);
        atomic_store_explicit(&m->lanes[i].shared, &m->empty, memory_order_release);
    }
    struct mm_chunk *c = m->chunks;
    m->chunks = NULL;
    mm_lock_release(&m->lock);
    mm_space_close(&m->window);
    while (c) {
        struct mm_chunk *next = c->next;
        mm_chunk_release(c);
        c = next;
    }
    MethodMalloc_Release(&m->IMethodMalloc_iface);
}
