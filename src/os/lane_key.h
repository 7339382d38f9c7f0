/* The calling thread's lane in every module: a per-thread word that starts
 * at 0 (the entry lane) and is set once, on the thread's first slow path.
 * Alloc reads it on every call, so each OS gets the cheapest per-thread
 * storage it has:
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
 * Included by module.c only: the state below is that file's. */
#ifndef MM_OS_LANE_KEY_H
#define MM_OS_LANE_KEY_H

#include <stdatomic.h>
#include <stddef.h>

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <winternl.h>

static _Atomic DWORD mm_lane_slot = TLS_OUT_OF_INDEXES;

/* Once per process, before the first Alloc (from mm_module_open): 0, or -1
 * when the process has no TLS slot left. */
static inline int mm_lane_key_init(void)
{
    if (atomic_load_explicit(&mm_lane_slot, memory_order_acquire) != TLS_OUT_OF_INDEXES)
        return 0;
    DWORD fresh = TlsAlloc(), none = TLS_OUT_OF_INDEXES;
    if (fresh == TLS_OUT_OF_INDEXES)
        return -1;
    if (!atomic_compare_exchange_strong_explicit(&mm_lane_slot, &none, fresh, memory_order_acq_rel,
                                                 memory_order_acquire))
        TlsFree(fresh); /* another thread's open won */
    return 0;
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

#else

#if defined(__GNUC__) && defined(__PIC__) && !defined(__PIE__)
static _Thread_local size_t mm_lane_offset __attribute__((tls_model("initial-exec")));
#else
static _Thread_local size_t mm_lane_offset;
#endif

static inline int mm_lane_key_init(void) { return 0; }
static inline size_t mm_lane_key_get(void) { return mm_lane_offset; }
static inline void mm_lane_key_set(size_t v) { mm_lane_offset = v; }

#endif

#endif
