/*
 * methodmalloc: per-module IL heaps behind the CLR profiling API's IMethodMalloc.
 *
 * A module's heap hands out blocks for new IL method bodies.  Every block lies
 * at a positive offset from the module's base address, inside the window
 * (base, base + max_rva], because the runtime finds a body by a 32-bit RVA from
 * that base.  Blocks are never freed one by one: closing the module releases
 * them all at once.
 *
 * The IMethodMalloc declared here has the ABI of the one in the runtime's
 * corprof.h: a C++ profiler may include corprof.h first and use the pointer
 * mm_module_allocator() gives as its own IMethodMalloc*.
 *
 * Thread safety: every function may be called from any thread, and a
 * process may fork() at any moment: the child can go on using every module
 * (the library's locks are taken around fork).  Calls on
 * different modules never interfere.  On one module, Alloc, AddRef, Release,
 * QueryInterface, mm_module_allocator and mm_module_stats may run
 * concurrently; mm_module_close must not run concurrently with any other call
 * on the same module (it is the module's unload).  The first threads to
 * allocate each hold a lane of every module alone (no locked instruction
 * per Alloc) until they exit: the library is called back at a thread's
 * exit (a pthread key's destructor; on Windows a fiber-local slot's
 * callback) to give the lane back.
 *
 * This header and methodmalloc_il.h are the whole API: nothing else the
 * library defines (its internal symbols, the layout behind mm_module) is an
 * interface, and the shared library exports only what they declare.
 */
#ifndef METHODMALLOC_H
#define METHODMALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header; the library's own is mm_version().  The
 * build reads these lines: they are the single source of the version. */
#define MM_VERSION_MAJOR 0
#define MM_VERSION_MINOR 2
#define MM_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH, for #if comparisons. */
#define MM_VERSION_NUMBER (MM_VERSION_MAJOR * 10000 + MM_VERSION_MINOR * 100 + MM_VERSION_PATCH)
#define MM_VERSION_TEXT_(a, b, c) #a "." #b "." #c
#define MM_VERSION_TEXT(a, b, c) MM_VERSION_TEXT_(a, b, c)
/* "MAJOR.MINOR.PATCH" */
#define MM_VERSION_STRING MM_VERSION_TEXT(MM_VERSION_MAJOR, MM_VERSION_MINOR, MM_VERSION_PATCH)

/* Marks the library's exported symbols (it builds with hidden visibility). */
#ifndef MM_API
#if defined(_WIN32)
#define MM_API
#else
#define MM_API __attribute__((visibility("default")))
#endif
#endif

/* ---- COM base types, unless the platform's or CoreCLR's headers gave them ----
 * The typedefs repeat the platform's exactly (HRESULT and ULONG are 32-bit on
 * every ABI), and C11 and C++ both accept an identical repeated typedef; the
 * struct and the macros are guarded by the names those headers define. */
#if defined(_WIN32)
#include <objbase.h>
#else
typedef int32_t HRESULT;
typedef uint32_t ULONG;
typedef void *PVOID;
#endif

#ifndef GUID_DEFINED
#define GUID_DEFINED
typedef struct _GUID {
    uint32_t Data1;
    uint16_t Data2;
    uint16_t Data3;
    uint8_t Data4[8];
} GUID;
#endif
#ifndef __IID_DEFINED__
#define __IID_DEFINED__
typedef GUID IID;
#endif
#ifndef _REFIID_DEFINED
#define _REFIID_DEFINED
#ifdef __cplusplus
#define REFIID const IID &
#else
#define REFIID const IID *
#endif
#endif

#ifndef STDMETHODCALLTYPE
#if defined(_WIN32) && !defined(_WIN64)
#define STDMETHODCALLTYPE __stdcall
#else
#define STDMETHODCALLTYPE
#endif
#endif

/* HRESULTs this library returns (methodmalloc_il.h adds its own). */
#ifndef S_OK
#define S_OK ((HRESULT)0)
#endif
#ifndef E_NOINTERFACE
#define E_NOINTERFACE ((HRESULT)0x80004002L)
#endif
#ifndef E_POINTER
#define E_POINTER ((HRESULT)0x80004003L)
#endif
#ifndef E_OUTOFMEMORY
#define E_OUTOFMEMORY ((HRESULT)0x8007000EL)
#endif
#ifndef E_INVALIDARG
#define E_INVALIDARG ((HRESULT)0x80070057L)
#endif
#ifndef SUCCEEDED
#define SUCCEEDED(hr) (((HRESULT)(hr)) >= 0)
#endif
#ifndef FAILED
#define FAILED(hr) (((HRESULT)(hr)) < 0)
#endif

/* ---- IUnknown and IMethodMalloc, laid out as MIDL lays them out for C ---- */
#ifndef __IUnknown_FWD_DEFINED__
#define __IUnknown_FWD_DEFINED__
typedef struct IUnknown IUnknown;
#endif
#ifndef __IMethodMalloc_FWD_DEFINED__
#define __IMethodMalloc_FWD_DEFINED__
typedef struct IMethodMalloc IMethodMalloc;
#endif

#ifndef __IUnknown_INTERFACE_DEFINED__
#define __IUnknown_INTERFACE_DEFINED__
typedef struct IUnknownVtbl {
    HRESULT(STDMETHODCALLTYPE *QueryInterface)(IUnknown *This, REFIID riid, void **ppvObject);
    ULONG(STDMETHODCALLTYPE *AddRef)(IUnknown *This);
    ULONG(STDMETHODCALLTYPE *Release)(IUnknown *This);
} IUnknownVtbl;
struct IUnknown {
    const IUnknownVtbl *lpVtbl;
};
#endif

#ifndef __IMethodMalloc_INTERFACE_DEFINED__
#define __IMethodMalloc_INTERFACE_DEFINED__
typedef struct IMethodMallocVtbl {
    HRESULT(STDMETHODCALLTYPE *QueryInterface)(IMethodMalloc *This, REFIID riid, void **ppvObject);
    ULONG(STDMETHODCALLTYPE *AddRef)(IMethodMalloc *This);
    ULONG(STDMETHODCALLTYPE *Release)(IMethodMalloc *This);
    PVOID(STDMETHODCALLTYPE *Alloc)(IMethodMalloc *This, ULONG cb);
} IMethodMallocVtbl;
struct IMethodMalloc {
    const IMethodMallocVtbl *lpVtbl;
};
#endif

/* Calls through the vtable for C callers, as MIDL-generated headers give
 * them when COBJMACROS is defined: IMethodMalloc_Alloc(p, cb). */
#if defined(COBJMACROS) && !defined(__cplusplus) && !defined(IMethodMalloc_Alloc)
#define IMethodMalloc_QueryInterface(This, riid, ppvObject) ((This)->lpVtbl->QueryInterface(This, riid, ppvObject))
#define IMethodMalloc_AddRef(This) ((This)->lpVtbl->AddRef(This))
#define IMethodMalloc_Release(This) ((This)->lpVtbl->Release(This))
#define IMethodMalloc_Alloc(This, cb) ((This)->lpVtbl->Alloc(This, cb))
#endif

/* {00000000-0000-0000-C000-000000000046} and {A0EFB28B-6EE2-4d7b-B983-A75EF7BEEDB8}.
 * Defined by the library, each in an object file of its own, so that a
 * profiler which links the runtime's corguids as well gets no duplicate. */
MM_API extern const IID IID_IUnknown;
MM_API extern const IID IID_IMethodMalloc;

/* ---- methodmalloc's own API ---- */

/* Default and limits of mm_config. */
#define MM_DEFAULT_MAX_RVA 0x7FFFFFFFu /* .NET Framework's METHOD_MAX_RVA */
#define MM_DEFAULT_ALIGNMENT 8u
#define MM_MAX_ALIGNMENT 4096u

/* Configuration of one module's heap.  Start from MM_CONFIG_DEFAULT (or
 * mm_config_default()) and change what you need; mm_module_open copies it. */
typedef struct mm_config {
    /* Largest offset from the base that any byte of a block may reach:
     * every block p of cb bytes has p + cb - base <= max_rva.  1..0xFFFFFFFF.
     * Blocks come from whole pages above the page that holds the base, so
     * max_rva must reach two pages past the base's page start for anything
     * to fit.  For a module without a base, the most address space its heap
     * may reserve in all. */
    uint32_t max_rva;
    /* Alignment of every block: a power of two, 1..MM_MAX_ALIGNMENT. */
    uint32_t alignment;
    /* 0, or MM_COUNT_BLOCKS. */
    uint32_t flags;
} mm_config;

/* Count every block and its requested size for mm_module_stats.  It costs
 * each Alloc a second atomic add (about a third more time and three more
 * instructions); without it, stats still give bytes allocated, reserved and
 * resident, chunks and refusals. */
#define MM_COUNT_BLOCKS 0x1u

#define MM_CONFIG_DEFAULT {MM_DEFAULT_MAX_RVA, MM_DEFAULT_ALIGNMENT, 0}

/* The defaults: max_rva 0x7FFFFFFF, alignment 8, no flags. */
MM_API mm_config mm_config_default(void);

/* A module's IL heap.  Opaque. */
typedef struct mm_module mm_module;

/* Opens the IL heap of the module loaded at `base`.
 * base: the module's load address (ICorProfilerInfo::GetModuleInfo's
 *   pbBaseLoadAddress).  NULL means a module without an image (dynamic or
 *   reflection-emit): its blocks may lie anywhere.
 * cfg: NULL for the defaults; otherwise copied.
 * Maps nothing: address space is reserved by the first Alloc.  Until
 * mm_module_close the window is known to every other module's heap: where
 * windows overlap, a heap places its chunks first where no open window that
 * ends lower needs the room, so a window's only room is left to it.
 * Returns S_OK and *out, or: E_POINTER if out is NULL; E_INVALIDARG (and
 * *out = NULL) if cfg->alignment is not a power of two in 1..MM_MAX_ALIGNMENT,
 * cfg->max_rva is 0 or cfg->flags has an unknown bit; E_OUTOFMEMORY if the module's bookkeeping (a few
 * hundred bytes of ordinary heap) could not be allocated, or (Windows, first open only) the process has
 * no TLS slot left for the threads' lanes. */
MM_API HRESULT mm_module_open(const void *base, const mm_config *cfg, mm_module **out);

/* Like ICorProfilerInfo::GetILFunctionBodyAllocator: sets *out to the
 * module's IMethodMalloc, with a reference the caller must Release.
 * Every call gives the same object.  Its Alloc(cb):
 *   - returns a block of cb bytes, aligned to cfg.alignment, readable and
 *     writable, never executable, zero-filled, inside the window; the block
 *     stays valid until mm_module_close, whatever the reference count;
 *   - returns NULL for cb == 0, when no room for cb bytes can be found inside
 *     the window (however much memory is free elsewhere), when the system is
 *     out of memory, and after mm_module_close.  Once the window has been
 *     found full, a refusal searches it again only when memory is released
 *     by a module or donated; what other libraries map inside it is looked
 *     at again, at a cost kept in proportion to a refusal's, so room they
 *     unmap is found (at the next Alloc where that look is one query);
 *   - a refused request changes nothing that other threads' requests see.
 * Debug mode, for finding a profiler that writes past its blocks: when the
 * library is built with AddressSanitizer (-fsanitize=address), or with
 * `make MM_DEBUG=1` and the program runs under valgrind's memcheck, every
 * byte of a chunk that is not inside a block is poisoned, 16 of them after
 * each block, so the first read or write past cb is reported where it
 * happens, with its stack.  Blocks then take those 16 bytes more and are
 * aligned to at least 8 (bytes_allocated counts both).  Release builds have
 * no trace of it.
 * Its QueryInterface answers IID_IUnknown and IID_IMethodMalloc with S_OK and
 * an AddRef, any other IID with E_NOINTERFACE and *ppv = NULL, a NULL riid
 * with E_INVALIDARG and *ppv = NULL, and a NULL ppv with E_POINTER.  Its AddRef and Release return the new count.
 * Returns S_OK, E_POINTER if out is NULL, E_INVALIDARG if m is NULL. */
MM_API HRESULT mm_module_allocator(mm_module *m, IMethodMalloc **out);

/* A module's counters, a snapshot taken by mm_module_stats. */
typedef struct mm_stats {
    int counted;              /* opened with MM_COUNT_BLOCKS: the next two are set */
    uint64_t blocks;          /* successful Allocs (0 unless counted) */
    uint64_t bytes_requested; /* sum of their cb (0 unless counted) */
    uint64_t bytes_allocated; /* bytes handed out, alignment padding (and debug red zones) included */
    uint64_t bytes_reserved;  /* address space mapped inside the window */
    uint64_t bytes_resident;  /* of that, pages in physical memory now */
    uint64_t chunks;          /* mappings that make up bytes_reserved */
    uint64_t refused;         /* Allocs that returned NULL, cb == 0 included */
    uint64_t lowest_rva;      /* smallest block offset from base (0: none yet) */
    uint64_t highest_rva;     /* largest end offset of a block, padding included (0: none) */
} mm_stats;

/* Fills *out with m's counters.  Safe while other threads allocate; the
 * counters are then each exact at some moment during the call.
 * Returns S_OK, E_POINTER if out is NULL, E_INVALIDARG if m is NULL.
 * After mm_module_close the handle is gone: do not call. */
MM_API HRESULT mm_module_stats(mm_module *m, mm_stats *out);

/* Whether m handed out [p, p + size): 1 when the range lies inside one of
 * m's chunks, below the end of what its Allocs have taken there; 0 for
 * anything else (the module's image, another module's heap, memory of the
 * caller's own), for a NULL m or p, and for a range that wraps.  A size of
 * 0 asks about the byte at p.  A host that is given a body by a third party
 * uses it to tell a block of this heap from memory the party found
 * elsewhere.  Safe while other threads allocate: a block whose Alloc has
 * returned is seen.  After mm_module_close the handle is gone: do not
 * call. */
MM_API int mm_module_owns(mm_module *m, const void *p, size_t size);

/* The module is unloaded: every block of m is released at once and all its
 * address space unmapped.  Interface pointers to its IMethodMalloc that are
 * still held stay safe to call: their Alloc returns NULL, and the last
 * Release frees the object.  NULL is ignored.  m must not be used after. */
MM_API void mm_module_close(mm_module *m);

/* Hands the library address space for module heaps: [addr, addr + size),
 * page aligned, which the caller has reserved with no access (on Linux an
 * mmap with PROT_NONE) and will not touch again.  A module's heap takes
 * donated space only inside its own window, and only where the window's own
 * free room is no better placed (donated room after free room of the same
 * kind: uncontested, then room other open windows also need); closing the
 * module makes that range free again (no access, no memory).  Donated space is never unmapped.  It is for hosts inside a
 * runtime that fills the windows with its own mappings (CoreCLR on Linux
 * maps images next to each other under its own reservations): reserve early,
 * above where the modules will load, and donate.
 * Returns S_OK; E_INVALIDARG if addr is NULL or not page aligned, size is 0
 * or not a page multiple, the range wraps, or it overlaps an earlier
 * donation; E_OUTOFMEMORY if its bookkeeping could not be allocated.
 * Thread-safe. */
MM_API HRESULT mm_donate(void *addr, size_t size);

/* Sets *total to the bytes ever donated and *in_use to those now holding
 * chunks (either pointer may be NULL).  Thread-safe. */
MM_API void mm_donated(uint64_t *total, uint64_t *in_use);

/* Sets *chunks and *bytes (either may be NULL) to the chunks, and their
 * bytes, that the system refused to unmap or decommit when their module
 * closed (with vm.max_map_count used up, unmapping part of a mapping fails).
 * Their pages were discarded before anything else could use them, so they
 * hold no body any more; their address space stays mapped (a donated range
 * is then neither free nor in use for mm_donated: it is never taken again).  Process-wide, since the library was loaded.
 * Thread-safe. */
MM_API void mm_release_failures(uint64_t *chunks, uint64_t *bytes);

/* The library's version, "MAJOR.MINOR.PATCH": MM_VERSION_STRING of the
 * header it was built with (which may differ from the one a program was
 * compiled with when the shared library is newer). */
MM_API const char *mm_version(void);

#ifdef __cplusplus
}
#endif

#endif /* METHODMALLOC_H */
