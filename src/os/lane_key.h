/* The calling thread's lane in every module: a per-thread word that starts
 * at 0 (the entry lane) and is set on the thread's slow paths.  Alloc reads
 * it on every call, so each OS gets the cheapest per-thread storage it has:
 *
 * - ELF (Linux): a _Thread_local, one instruction in an executable; in a
 *   shared object the initial-exec model reads it in two, where the general
 *   model would call __tls_get_addr.
 * - Windows: a TLS slot of our own (TlsAlloc), read straight from the
 *   thread's TEB (TlsSlots, declared in winternl.h; what TlsGetValue reads
 *   for the first 64 slots): the slot's number, then one load through gs
 *   (fs on i686).  mingw-w64's gcc turns _Thread_local into emulated TLS, a
 *   call to __emutls_get_address on every Alloc (19 ns per Alloc under
 *   Wine).  A slot past the first 64 (a process that took them all) is read
 *   from the TEB's TlsExpansionSlots, as TlsGetValue does.
 *
 * A lane the thread holds alone is given back when the thread exits:
 * mm_lane_key_hold(v) sets the word to v (not 0) and has the OS call
 * mm_lane_key_exited(v), which the includer defines, on the thread's way
 * out (a pthread key's destructor; on Windows a fiber-local slot's
 * callback), after which the word reads 0 again.  It fails (-1, the word
 * unchanged) where the OS cannot promise that call.
 *
 * Included by module.c only: the state below is that file's. */
#ifndef MM_OS_LANE_KEY_H
#define MM_OS_LANE_KEY_H

#include <stdatomic.h>
#include <stddef.h>

static void mm_lane_key_exited(size_t v);

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <winternl.h>

static _Atomic DWORD mm_lane_slot = TLS_OUT_OF_INDEXES;
static _Atomic DWORD mm_lane_exit_slot = FLS_OUT_OF_INDEXES;

static void WINAPI mm_lane_key_exit(void *v)
{
    if (!v)
        return;
    TlsSetValue(atomic_load_explicit(&mm_lane_slot, memory_order_relaxed), NULL);
    mm_lane_key_exited((size_t)v);
}

/* Allocates one slot of a kind once per process: the slot, or `none`. */
#define MM_LANE_SLOT_ONCE(var, none, alloc, release)                                                                 \
    do {                                                                                                             \
        if (atomic_load_explicit(&(var), memory_order_acquire) == (none)) {                                          \
            DWORD fresh = (alloc), expect = (none);                                                                  \
            if (fresh != (none)                                                                                      \
                && !atomic_compare_exchange_strong_explicit(&(var), &expect, fresh, memory_order_acq_rel,            \
                                                            memory_order_acquire))                                   \
                release(fresh); /* another thread's open won */                                                      \
        }                                                                                                            \
    } while (0)

/* Once per process, before the first Alloc (from mm_module_open): 0, or -1
 * when the process has no TLS slot left.  Without a fiber-local slot no
 * lane is held (mm_lane_key_hold fails). */
static inline int mm_lane_key_init(void)
{
    MM_LANE_SLOT_ONCE(mm_lane_slot, TLS_OUT_OF_INDEXES, TlsAlloc(), TlsFree);
    MM_LANE_SLOT_ONCE(mm_lane_exit_slot, FLS_OUT_OF_INDEXES, FlsAlloc(mm_lane_key_exit), FlsFree);
    return atomic_load_explicit(&mm_lane_slot, memory_order_acquire) == TLS_OUT_OF_INDEXES ? -1 : 0;
}

/* The DLL unloaded: no callback into it at a later thread exit (FlsFree
 * calls it now for every thread that holds a lane). */
__attribute__((destructor)) static void mm_lane_key_unload(void)
{
    DWORD s = atomic_exchange_explicit(&mm_lane_exit_slot, FLS_OUT_OF_INDEXES, memory_order_acq_rel);
    if (s != FLS_OUT_OF_INDEXES)
        FlsFree(s);
}

static inline size_t mm_lane_key_get(void)
{
    /* Loads relative to the TEB's segment register (gs on x86-64, fs on
     * i686): NtCurrentTeb() would be one more, and gcc 12 warns on
     * mingw-w64's __readgsqword (-Warray-bounds).  No call, so Alloc needs
     * no frame of its own for it. */
    size_t slot = atomic_load_explicit(&mm_lane_slot, memory_order_relaxed), v;
    void **more;
#if defined(__x86_64__)
#define MM_TEB_LOAD(out, field, index) \
    __asm__ __volatile__("movq %%gs:%c1(,%2,8), %0" : "=r"(out) : "i"(offsetof(TEB, field)), "r"(index))
#elif defined(__i386__)
#define MM_TEB_LOAD(out, field, index) \
    __asm__ __volatile__("movl %%fs:%c1(,%2,4), %0" : "=r"(out) : "i"(offsetof(TEB, field)), "r"(index))
#endif
#if defined(MM_TEB_LOAD)
    if (__builtin_expect(slot < 64, 1)) {
        MM_TEB_LOAD(v, TlsSlots, slot);
        return v;
    }
    /* TlsSetValue keeps slots past the first 64 in an array it allocates
     * on a thread's first set: none yet, the slot is still 0. */
    MM_TEB_LOAD(more, TlsExpansionSlots, (size_t)0);
    return more ? (size_t)more[slot - 64] : 0;
#else
    (void)more;
    return (size_t)TlsGetValue((DWORD)slot);
#endif
}

static inline void mm_lane_key_set(size_t v)
{
    TlsSetValue(atomic_load_explicit(&mm_lane_slot, memory_order_relaxed), (void *)v);
}

static inline int mm_lane_key_hold(size_t v)
{
    DWORD s = atomic_load_explicit(&mm_lane_exit_slot, memory_order_acquire);
    if (s == FLS_OUT_OF_INDEXES || !FlsSetValue(s, (void *)v))
        return -1;
    mm_lane_key_set(v);
    return 0;
}

#else

#if defined(__GNUC__) && defined(__PIC__) && !defined(__PIE__)
static _Thread_local size_t mm_lane_offset __attribute__((tls_model("initial-exec")));
#else
static _Thread_local size_t mm_lane_offset;
#endif

#include <pthread.h>

static pthread_key_t mm_lane_exit_key;
static pthread_once_t mm_lane_exit_once = PTHREAD_ONCE_INIT;
static _Atomic int mm_lane_exit_ready;

/* A thread's exit (or a later round of its destructors, if it took a lane
 * again in between). */
static void mm_lane_key_exit(void *v)
{
    mm_lane_offset = 0;
    mm_lane_key_exited((size_t)v);
}

static void mm_lane_key_create(void)
{
    atomic_store(&mm_lane_exit_ready, pthread_key_create(&mm_lane_exit_key, mm_lane_key_exit) == 0);
}

/* Once per process, before the first Alloc (from mm_module_open): 0.
 * Without a pthread key no lane is held (mm_lane_key_hold fails). */
static inline int mm_lane_key_init(void)
{
    pthread_once(&mm_lane_exit_once, mm_lane_key_create);
    return 0;
}

/* The library unloaded (dlclose): no destructor into it at a later thread
 * exit. */
__attribute__((destructor)) static void mm_lane_key_unload(void)
{
    if (atomic_exchange(&mm_lane_exit_ready, 0))
        pthread_key_delete(mm_lane_exit_key);
}

static inline size_t mm_lane_key_get(void) { return mm_lane_offset; }
static inline void mm_lane_key_set(size_t v) { mm_lane_offset = v; }

static inline int mm_lane_key_hold(size_t v)
{
    if (!atomic_load(&mm_lane_exit_ready) || pthread_setspecific(mm_lane_exit_key, (void *)v) != 0)
        return -1;
    mm_lane_offset = v;
    return 0;
}

#endif

#endif
