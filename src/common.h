/* What every part of methodmalloc shares: alignment arithmetic, GUID
 * comparison, the reference-count idiom of its COM objects, and compiler
 * attributes.  Internal: included by the library, the PE reader, the
 * profiler and the tools, never installed. */
#ifndef MM_COMMON_H
#define MM_COMMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "methodmalloc.h"

#if defined(__GNUC__)
#define MM_LIKELY(x) __builtin_expect(!!(x), 1)
#define MM_COLD __attribute__((noinline, cold))
#else
#define MM_LIKELY(x) (x)
#define MM_COLD
#endif

#if defined(__MINGW32__)
/* Built with __USE_MINGW_ANSI_STDIO, whose printf knows %zu. */
#define MM_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#elif defined(__GNUC__)
#define MM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MM_PRINTF(f, a)
#endif

/* x rounded up to a multiple of align, a power of two; wraps to 0 (or a
 * small value) when x is within align of the top, which callers check. */
static inline uintptr_t mm_align_up(uintptr_t x, uintptr_t align)
{
    return (x + align - 1) & ~(align - 1);
}

static inline bool mm_guid_equal(const GUID *a, const GUID *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* The part of QueryInterface every COM object here shares: E_POINTER for a
 * NULL ppv; otherwise *ppv = NULL and E_INVALIDARG for a NULL riid,
 * E_NOINTERFACE for an IID not among the n in iids, S_OK for one that is
 * (the caller then sets *ppv and adds the reference). */
static inline HRESULT mm_com_answers(REFIID riid, void **ppv, const IID *const *iids, size_t n)
{
    if (!ppv)
        return E_POINTER;
    *ppv = NULL;
    if (!riid)
        return E_INVALIDARG;
    for (size_t i = 0; i < n; i++)
        if (mm_guid_equal(riid, iids[i]))
            return S_OK;
    return E_NOINTERFACE;
}

/* COM reference counts, one way everywhere: AddRef needs no ordering (the
 * caller already holds a reference); the Release that reaches zero must see
 * every other thread's writes before it frees, hence acq_rel. */
typedef _Atomic ULONG mm_refcount;

static inline ULONG mm_ref_add(mm_refcount *r)
{
    return atomic_fetch_add_explicit(r, 1, memory_order_relaxed) + 1;
}

static inline ULONG mm_ref_release(mm_refcount *r)
{
    return atomic_fetch_sub_explicit(r, 1, memory_order_acq_rel) - 1;
}

#endif /* MM_COMMON_H */
