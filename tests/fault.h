/* Fault injection without changing the library: a test linked with
 * FAULT_LDFLAGS (mk/harness.mk: -Wl,--wrap=NAME for every OS-layer primitive
 * that can fail, malloc, calloc and free) gets each call the library's
 * objects make to NAME sent to __wrap_NAME here, which counts it, fails it
 * when the armed fault says so, and otherwise calls the real one.
 *
 * --wrap redirects references between object files only: a primitive called
 * from inside the OS layer's own translation unit (mm_os_reserve_in calling
 * mm_os_free_ranges_in and mm_os_reserve_at) is not seen, so those faults reach
 * the allocator through the primitive it did call.
 *
 * malloc, calloc, realloc and free are counted only while fault_lib is set (the test
 * sets it around its calls into the library), so the test's own allocations
 * and libc's are neither failed nor counted. */
#ifndef MM_TESTS_FAULT_H
#define MM_TESTS_FAULT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "os/os.h"

enum fault_point {
    FP_RESERVE_AT,
    FP_RESERVE_IN,
    FP_RESERVE_ANYWHERE,
    FP_COMMIT,
    FP_DECOMMIT,
    FP_RELEASE,
    FP_DISCARD,
    FP_FREE_RANGES,
    FP_ATFORK,
    FP_LOCK_INIT,
    FP_MALLOC,
    FP_CALLOC,
    FP_REALLOC,
    FP_COUNT
};

static const char *const fault_names[FP_COUNT] = {
    "mm_os_reserve_at", "mm_os_reserve_in",  "mm_os_reserve_anywhere", "mm_os_commit", "mm_os_decommit",
    "mm_os_release",    "mm_os_discard",     "mm_os_free_ranges_in",   "mm_os_atfork", "mm_lock_init",
    "malloc",           "calloc",            "realloc",
};

/* The armed fault: calls number `nth` (1-based) of `point`, and with
 * `onward` every later one too, fail with `error` (an MM_OS_E* code; NULL
 * for malloc and calloc).  nth == 0: nothing fails. */
struct fault {
    enum fault_point point;
    uint64_t nth;
    bool onward;
    int error;
    enum fault_point also; /* FP_COUNT, or a point whose every call fails too */
};

static struct fault fault_armed;
static _Atomic uint64_t fault_calls[FP_COUNT]; /* calls seen since fault_reset */
static _Atomic uint64_t fault_injected;        /* calls failed since fault_reset */
static _Atomic uint64_t fault_injected_at[FP_COUNT];
static _Atomic long fault_live;                /* library mallocs not yet freed */
static _Thread_local int fault_lib;            /* inside a call into the library */

/* Called before every wrapped call (after counting), if set: the fork test
 * uses it to hold a lock the library has taken. */
static void (*fault_hook)(enum fault_point point);

static inline void fault_reset(void)
{
    for (int i = 0; i < FP_COUNT; i++)
        atomic_store(&fault_calls[i], 0);
    for (int i = 0; i < FP_COUNT; i++)
        atomic_store(&fault_injected_at[i], 0);
    atomic_store(&fault_injected, 0);
    atomic_store(&fault_live, 0);
    fault_armed = (struct fault){FP_COUNT, 0, false, 0, FP_COUNT};
}

/* Counts a call to `point`; true if it must fail. */
static inline bool fault_hit(enum fault_point point)
{
    uint64_t n = atomic_fetch_add(&fault_calls[point], 1) + 1;
    if (fault_hook)
        fault_hook(point);
    const struct fault *f = &fault_armed;
    bool fails = f->nth != 0
              && (f->also == point || (f->point == point && n >= f->nth && (n == f->nth || f->onward)));
    if (fails) {
        atomic_fetch_add(&fault_injected, 1);
        atomic_fetch_add(&fault_injected_at[point], 1);
    }
    return fails;
}

/* A call into the library, with its mallocs counted and faultable. */
#define LIB(expr) (fault_lib++, (expr), fault_lib--)

int __real_mm_os_reserve_at(uintptr_t a, size_t size, mm_os_access access, void **out);
int __real_mm_os_reserve_in(uintptr_t lo, uintptr_t hi, size_t size, size_t align, mm_os_access access, void **out);
int __real_mm_os_reserve_anywhere(size_t size, size_t align, mm_os_access access, void **out);
int __real_mm_os_commit(void *p, size_t size);
int __real_mm_os_decommit(void *p, size_t size);
int __real_mm_os_release(void *p, size_t size);
int __real_mm_os_free_ranges_in(const mm_os_range *v, size_t n, size_t whole,
                                int (*visit)(void *, uintptr_t, uintptr_t), void *ctx, size_t *asked);
int __real_mm_os_discard(void *p, size_t size);
int __real_mm_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));
int __real_mm_lock_init(mm_lock *l);
void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void __real_free(void *p);

int __wrap_mm_os_reserve_at(uintptr_t a, size_t size, mm_os_access access, void **out);
int __wrap_mm_os_reserve_at(uintptr_t a, size_t size, mm_os_access access, void **out)
{
    return fault_hit(FP_RESERVE_AT) ? fault_armed.error : __real_mm_os_reserve_at(a, size, access, out);
}

int __wrap_mm_os_reserve_in(uintptr_t lo, uintptr_t hi, size_t size, size_t align, mm_os_access access, void **out);
int __wrap_mm_os_reserve_in(uintptr_t lo, uintptr_t hi, size_t size, size_t align, mm_os_access access, void **out)
{
    return fault_hit(FP_RESERVE_IN) ? fault_armed.error : __real_mm_os_reserve_in(lo, hi, size, align, access, out);
}

int __wrap_mm_os_reserve_anywhere(size_t size, size_t align, mm_os_access access, void **out);
int __wrap_mm_os_reserve_anywhere(size_t size, size_t align, mm_os_access access, void **out)
{
    return fault_hit(FP_RESERVE_ANYWHERE) ? fault_armed.error : __real_mm_os_reserve_anywhere(size, align, access, out);
}

int __wrap_mm_os_commit(void *p, size_t size);
int __wrap_mm_os_commit(void *p, size_t size)
{
    return fault_hit(FP_COMMIT) ? fault_armed.error : __real_mm_os_commit(p, size);
}

int __wrap_mm_os_decommit(void *p, size_t size);
int __wrap_mm_os_decommit(void *p, size_t size)
{
    return fault_hit(FP_DECOMMIT) ? fault_armed.error : __real_mm_os_decommit(p, size);
}

int __wrap_mm_os_release(void *p, size_t size);
int __wrap_mm_os_release(void *p, size_t size)
{
    return fault_hit(FP_RELEASE) ? fault_armed.error : __real_mm_os_release(p, size);
}

int __wrap_mm_os_discard(void *p, size_t size);
int __wrap_mm_os_discard(void *p, size_t size)
{
    return fault_hit(FP_DISCARD) ? fault_armed.error : __real_mm_os_discard(p, size);
}

int __wrap_mm_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));
int __wrap_mm_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    return fault_hit(FP_ATFORK) ? fault_armed.error : __real_mm_os_atfork(prepare, parent, child);
}

int __wrap_mm_os_free_ranges_in(const mm_os_range *v, size_t n, size_t whole,
                                int (*visit)(void *, uintptr_t, uintptr_t), void *ctx, size_t *asked);
int __wrap_mm_os_free_ranges_in(const mm_os_range *v, size_t n, size_t whole,
                                int (*visit)(void *, uintptr_t, uintptr_t), void *ctx, size_t *asked)
{
    return fault_hit(FP_FREE_RANGES) ? fault_armed.error : __real_mm_os_free_ranges_in(v, n, whole, visit, ctx, asked);
}

int __wrap_mm_lock_init(mm_lock *l);
int __wrap_mm_lock_init(mm_lock *l)
{
    return fault_hit(FP_LOCK_INIT) ? fault_armed.error : __real_mm_lock_init(l);
}

void *__wrap_malloc(size_t size);
void *__wrap_malloc(size_t size)
{
    if (!fault_lib)
        return __real_malloc(size);
    if (fault_hit(FP_MALLOC))
        return NULL;
    void *p = __real_malloc(size);
    if (p)
        atomic_fetch_add(&fault_live, 1);
    return p;
}

void *__wrap_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size)
{
    if (!fault_lib)
        return __real_calloc(n, size);
    if (fault_hit(FP_CALLOC))
        return NULL;
    void *p = __real_calloc(n, size);
    if (p)
        atomic_fetch_add(&fault_live, 1);
    return p;
}

void *__wrap_realloc(void *p, size_t size);
void *__wrap_realloc(void *p, size_t size)
{
    if (!fault_lib)
        return __real_realloc(p, size);
    if (fault_hit(FP_REALLOC))
        return NULL; /* p stays the caller's, as when realloc fails */
    void *q = __real_realloc(p, size);
    if (q && !p)
        atomic_fetch_add(&fault_live, 1);
    return q;
}

void __wrap_free(void *p);
void __wrap_free(void *p)
{
    if (fault_lib && p)
        atomic_fetch_sub(&fault_live, 1);
    __real_free(p);
}

#endif
