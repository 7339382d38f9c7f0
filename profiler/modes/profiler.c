/*
 * The modes' profiler object: ICorProfilerCallback2, as the runtime sees it
 * (a mode alone), or as the host sees it (the last guest of a chain).
 * Four callbacks do the work (Initialize, Shutdown, module load/unload,
 * JITCompilationStarted); every other event is one the event mask never
 * asks for, and its method only has to exist, in its slot, and say S_OK.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiler.h"

static inline mmp_profiler *impl_from_ICorProfilerCallback2(ICorProfilerCallback2 *iface)
{
    return (mmp_profiler *)((char *)iface - offsetof(mmp_profiler, ICorProfilerCallback2_iface));
}

/* Only the versions implemented: a newer runtime asks for ICorProfilerCallback3
 * to 11 and must hear no, or it would call slots that do not exist. */
static ULONG STDMETHODCALLTYPE Profiler_AddRef(ICorProfilerCallback2 *iface);

static HRESULT STDMETHODCALLTYPE Profiler_QueryInterface(ICorProfilerCallback2 *iface, REFIID riid, void **ppv)
{
    static const IID *const answers[] = {&IID_IUnknown, &IID_ICorProfilerCallback, &IID_ICorProfilerCallback2};
    HRESULT hr = mm_com_answers(riid, ppv, answers, 3);
    if (hr == S_OK) {
        Profiler_AddRef(iface);
        *ppv = iface;
    }
    return hr;
}

static ULONG STDMETHODCALLTYPE Profiler_AddRef(ICorProfilerCallback2 *iface)
{
    mmp_profiler *p = impl_from_ICorProfilerCallback2(iface);
    return mm_ref_add(&p->ref);
}

/* The last Release comes as the runtime shuts down (or gives up on a
 * profiler whose Initialize failed), possibly while late JIT work still
 * reads bodies: the heaps, and the object itself, are deliberately left for
 * the process's end; only ICorProfilerInfo is released, once. */
static ULONG STDMETHODCALLTYPE Profiler_Release(ICorProfilerCallback2 *iface)
{
    mmp_profiler *p = impl_from_ICorProfilerCallback2(iface);
    ULONG ref = mm_ref_release(&p->ref);
    if (ref == 0) {
        ICorProfilerInfo *info = atomic_exchange(&p->info, NULL);
        /* A profiler that never initialized has no report to give: its
         * error was reported already. */
        if (atomic_load(&p->initialized))
            mmp_report(p);
        if (info)
            info->lpVtbl->Release(info);
    }
    return ref;
}

static HRESULT STDMETHODCALLTYPE Profiler_Initialize(ICorProfilerCallback2 *iface, IUnknown *unk)
{
    mmp_profiler *p = impl_from_ICorProfilerCallback2(iface);
    char err[512];
    DWORD mask = COR_PRF_MONITOR_MODULE_LOADS | COR_PRF_MONITOR_ASSEMBLY_LOADS;
    HRESULT hr;

    if (mmp_config_from_env(&p->cfg, err, sizeof err) != 0) {
        mmp_report_error(&p->cfg, "%s", err);
        return E_FAIL;
    }
    ICorProfilerInfo *info;
    hr = unk->lpVtbl->QueryInterface(unk, &IID_ICorProfilerInfo, (void **)&info);
    if (FAILED(hr)) {
        mmp_report_error(&p->cfg, "the runtime offers no ICorProfilerInfo");
        return hr;
    }
    atomic_store(&p->info, info);
    if (p->cfg.mode != MMP_MODE_REPLACE) {
        mask |= COR_PRF_MONITOR_JIT_COMPILATION;
        /* A callee inlined before its own JITCompilationStarted would run
         * from the image's body, not from the copy. */
        if (!p->cfg.keep_inlining)
            mask |= COR_PRF_DISABLE_INLINING;
    }
    if (p->cfg.include_precompiled)
        mask |= COR_PRF_DISABLE_ALL_NGEN_IMAGES;
    /* Now, before the runtime maps any managed image (see reserve.c). */
    /* Inside the host, the host keeps the reserve. */
    mmp_reserve_init(&p->reserve,
                     p->as_guest ? 0
                     : p->cfg.mode == MMP_MODE_RELOCATE || p->cfg.mode == MMP_MODE_REPLACE || p->cfg.mode == MMP_MODE_CALLS
                         ? p->cfg.reserve_bytes
                         : 0,
                     info);
    hr = info->lpVtbl->SetEventMask(info, mask);
    if (FAILED(hr)) {
        mmp_report_error(&p->cfg, "SetEventMask(0x%08x) failed: 0x%08x", (unsigned)mask, (unsigned)hr);
        return hr;
    }
    atomic_store(&p->initialized, 1);
    return hr;
}

static HRESULT STDMETHODCALLTYPE Profiler_Shutdown(ICorProfilerCallback2 *iface)
{
    mmp_report(impl_from_ICorProfilerCallback2(iface));
    return S_OK;
}

/* Sums the free address space in a window, for the trace. */
static int add_room(void *ctx, uintptr_t lo, uintptr_t hi)
{
    *(uint64_t *)ctx += hi - lo;
    return 0;
}

static HRESULT STDMETHODCALLTYPE Profiler_ModuleLoadFinished(ICorProfilerCallback2 *iface, ModuleID id,
                                                             HRESULT status)
{
    mmp_profiler *p = impl_from_ICorProfilerCallback2(iface);
    ICorProfilerInfo *info = p->info;
    LPCBYTE base = NULL;
    WCHAR name[512];
    ULONG cch = 0;
    AssemblyID assembly = 0;
    mm_module *heap = NULL;
    IMethodMalloc *alloc = NULL;
    mm_config cfg;

    if (FAILED(status))
        return S_OK;
    atomic_fetch_add(&p->counters.modules, 1);
    if (FAILED(info->lpVtbl->GetModuleInfo(info, id, &base, sizeof name / sizeof name[0], &cch, name, &assembly)))
        base = NULL;
    switch (p->cfg.mode) {
    case MMP_MODE_RELOCATE:
    case MMP_MODE_REPLACE:
    case MMP_MODE_CALLS:
        /* Inside the host, the host's heaps serve, through the allocator
         * it gives its guests (and count for them). */
        if (p->as_guest) {
            if (base && FAILED(info->lpVtbl->GetILFunctionBodyAllocator(info, id, &alloc)))
                alloc = NULL;
            break;
        }
        /* No image, no window: such a module gets no heap and keeps its
         * bodies (the runtime refuses new ones for dynamic modules). */
        /* Counting blocks lets the report check served against the heaps. */
        cfg = mm_config_default();
        cfg.flags |= MM_COUNT_BLOCKS;
        if (base && mm_module_open(base, &cfg, &heap) == S_OK && mm_module_allocator(heap, &alloc) != S_OK) {
            mm_module_close(heap);
            heap = NULL;
        }
        break;
    case MMP_MODE_RUNTIME:
        if (base && FAILED(info->lpVtbl->GetILFunctionBodyAllocator(info, id, &alloc)))
            alloc = NULL;
        break;
    case MMP_MODE_COUNT:
    case MMP_MODE_HOST:
        break;
    }
    const uint8_t *image_end = mmp_image_end(base);
    if (p->cfg.verbose) {
        char utf8[512];
        size_t k;
        for (k = 0; k < cch && k < sizeof utf8 - 1 && name[k]; k++)
            utf8[k] = name[k] < 0x80 ? (char)name[k] : '?';
        utf8[k] = 0;
        uint64_t room = 0;
        uintptr_t end = (uintptr_t)base + MM_DEFAULT_MAX_RVA;
        if (base)
            (void)mm_os_free_ranges((uintptr_t)base, end < (uintptr_t)base ? UINTPTR_MAX : end, add_room, &room);
        mmp_trace(&p->cfg, "module %s base=%p image_end=%p window_free=%" PRIu64, utf8, (const void *)base,
                  (const void *)image_end, room);
    }
    if (mmp_modules_add(&p->modules, id, base, image_end, heap, alloc, NULL) != 0) {
        if (alloc)
            alloc->lpVtbl->Release(alloc);
        mm_module_close(heap);
        return S_OK;
    }
    if (p->cfg.mode == MMP_MODE_REPLACE) {
        mmp_target t;
        if (mmp_modules_find(&p->modules, id, &t) == 0)
            mmp_replace_in_module(p, id, &t);
    }
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE Profiler_ModuleUnloadFinished(ICorProfilerCallback2 *iface, ModuleID id,
                                                               HRESULT status)
{
    (void)status;
    mmp_modules_remove(&impl_from_ICorProfilerCallback2(iface)->modules, id);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE Profiler_JITCompilationStarted(ICorProfilerCallback2 *iface, FunctionID fn,
                                                                BOOL safe_to_block)
{
    mmp_profiler *p = impl_from_ICorProfilerCallback2(iface);
    (void)safe_to_block;
    atomic_fetch_add(&p->counters.jit_events, 1);
    if (p->cfg.mode == MMP_MODE_RELOCATE || p->cfg.mode == MMP_MODE_RUNTIME)
        mmp_relocate(p, fn);
    else if (p->cfg.mode == MMP_MODE_CALLS)
        mmp_calls_rewrite(p, fn);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE Profiler_AssemblyLoadStarted(ICorProfilerCallback2 *iface, AssemblyID id)
{
    mmp_profiler *p = impl_from_ICorProfilerCallback2(iface);
    (void)id;
    /* The binder maps the image about now: a region on top of the pile
     * gives its window room, if no region kept so far can (reserve.c). */
    mmp_reserve_need(&p->reserve);
    return S_OK;
}

/* Events never subscribed to: no-ops. */
#define MM_CALLBACK_DEFAULT(iface) ((void)(iface), S_OK)
MM_CALLBACK2_DEFAULTS

/* Every slot a no-op but the methods above, each in the slot of its name;
 * the struct's order is corprof.idl's. */
MM_OVERRIDE_SLOTS_BEGIN
static const ICorProfilerCallback2Vtbl Profiler_vtbl = {
    MM_CALLBACK2_DEFAULT_SLOTS
    .QueryInterface = Profiler_QueryInterface,
    .AddRef = Profiler_AddRef,
    .Release = Profiler_Release,
    .Initialize = Profiler_Initialize,
    .Shutdown = Profiler_Shutdown,
    .AssemblyLoadStarted = Profiler_AssemblyLoadStarted,
    .ModuleLoadFinished = Profiler_ModuleLoadFinished,
    .ModuleUnloadFinished = Profiler_ModuleUnloadFinished,
    .JITCompilationStarted = Profiler_JITCompilationStarted,
};
MM_OVERRIDE_SLOTS_END

HRESULT mmp_profiler_create_guest(ICorProfilerCallback2 **out)
{
    HRESULT hr = mmp_profiler_create(&IID_ICorProfilerCallback2, (void **)out);
    if (hr == S_OK)
        impl_from_ICorProfilerCallback2(*out)->as_guest = 1;
    return hr;
}

HRESULT mmp_profiler_create(REFIID riid, void **ppv)
{
    mmp_profiler *p = calloc(1, sizeof *p);
    HRESULT hr;

    if (!p)
        return E_OUTOFMEMORY;
    p->ICorProfilerCallback2_iface.lpVtbl = &Profiler_vtbl;
    atomic_init(&p->ref, 1);
    mmp_modules_init(&p->modules);
    mmp_calls_init(&p->calls);
    hr = Profiler_QueryInterface(&p->ICorProfilerCallback2_iface, riid, ppv);
    /* Drops the creation reference: on success the caller holds the one
     * QueryInterface added; on failure this frees the object. */
    if (mm_ref_release(&p->ref) == 0)
        free(p);
    return hr;
}
