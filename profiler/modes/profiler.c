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

/* Events never subscribed to: typed no-ops, one per slot, whose parameters
 * go unused by design. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define STUB(name, ...) static HRESULT STDMETHODCALLTYPE Profiler_##name(ICorProfilerCallback2 *iface, __VA_ARGS__) { return S_OK; }
#define IGNORE0(name) static HRESULT STDMETHODCALLTYPE Profiler_##name(ICorProfilerCallback2 *iface) { return S_OK; }
#define IGNORE1(name, T1) STUB(name, T1 a)
#define IGNORE2(name, T1, T2) STUB(name, T1 a, T2 b)
#define IGNORE3(name, T1, T2, T3) STUB(name, T1 a, T2 b, T3 c)
#define IGNORE4(name, T1, T2, T3, T4) STUB(name, T1 a, T2 b, T3 c, T4 d)
#define IGNORE5(name, T1, T2, T3, T4, T5) STUB(name, T1 a, T2 b, T3 c, T4 d, T5 e)

IGNORE1(AppDomainCreationStarted, AppDomainID)
IGNORE2(AppDomainCreationFinished, AppDomainID, HRESULT)
IGNORE1(AppDomainShutdownStarted, AppDomainID)
IGNORE2(AppDomainShutdownFinished, AppDomainID, HRESULT)
static HRESULT STDMETHODCALLTYPE Profiler_AssemblyLoadStarted(ICorProfilerCallback2 *iface, AssemblyID id)
{
    mmp_profiler *p = impl_from_ICorProfilerCallback2(iface);
    (void)id;
    /* The binder maps the image about now: a region on top of the pile
     * gives its window room, if no region kept so far can (reserve.c). */
    mmp_reserve_need(&p->reserve);
    return S_OK;
}
IGNORE2(AssemblyLoadFinished, AssemblyID, HRESULT)
IGNORE1(AssemblyUnloadStarted, AssemblyID)
IGNORE2(AssemblyUnloadFinished, AssemblyID, HRESULT)
IGNORE1(ModuleLoadStarted, ModuleID)
IGNORE1(ModuleUnloadStarted, ModuleID)
IGNORE2(ModuleAttachedToAssembly, ModuleID, AssemblyID)
IGNORE1(ClassLoadStarted, ClassID)
IGNORE2(ClassLoadFinished, ClassID, HRESULT)
IGNORE1(ClassUnloadStarted, ClassID)
IGNORE2(ClassUnloadFinished, ClassID, HRESULT)
IGNORE1(FunctionUnloadStarted, FunctionID)
IGNORE3(JITCompilationFinished, FunctionID, HRESULT, BOOL)
IGNORE2(JITCachedFunctionSearchStarted, FunctionID, BOOL *)
IGNORE2(JITCachedFunctionSearchFinished, FunctionID, COR_PRF_JIT_CACHE)
IGNORE1(JITFunctionPitched, FunctionID)
IGNORE3(JITInlining, FunctionID, FunctionID, BOOL *)
IGNORE1(ThreadCreated, ThreadID)
IGNORE1(ThreadDestroyed, ThreadID)
IGNORE2(ThreadAssignedToOSThread, ThreadID, DWORD)
IGNORE0(RemotingClientInvocationStarted)
IGNORE2(RemotingClientSendingMessage, GUID *, BOOL)
IGNORE2(RemotingClientReceivingReply, GUID *, BOOL)
IGNORE0(RemotingClientInvocationFinished)
IGNORE2(RemotingServerReceivingMessage, GUID *, BOOL)
IGNORE0(RemotingServerInvocationStarted)
IGNORE0(RemotingServerInvocationReturned)
IGNORE2(RemotingServerSendingReply, GUID *, BOOL)
IGNORE2(UnmanagedToManagedTransition, FunctionID, COR_PRF_TRANSITION_REASON)
IGNORE2(ManagedToUnmanagedTransition, FunctionID, COR_PRF_TRANSITION_REASON)
IGNORE1(RuntimeSuspendStarted, COR_PRF_SUSPEND_REASON)
IGNORE0(RuntimeSuspendFinished)
IGNORE0(RuntimeSuspendAborted)
IGNORE0(RuntimeResumeStarted)
IGNORE0(RuntimeResumeFinished)
IGNORE1(RuntimeThreadSuspended, ThreadID)
IGNORE1(RuntimeThreadResumed, ThreadID)
IGNORE4(MovedReferences, ULONG, ObjectID *, ObjectID *, ULONG *)
IGNORE2(ObjectAllocated, ObjectID, ClassID)
IGNORE3(ObjectsAllocatedByClass, ULONG, ClassID *, ULONG *)
IGNORE4(ObjectReferences, ObjectID, ClassID, ULONG, ObjectID *)
IGNORE2(RootReferences, ULONG, ObjectID *)
IGNORE1(ExceptionThrown, ObjectID)
IGNORE1(ExceptionSearchFunctionEnter, FunctionID)
IGNORE0(ExceptionSearchFunctionLeave)
IGNORE1(ExceptionSearchFilterEnter, FunctionID)
IGNORE0(ExceptionSearchFilterLeave)
IGNORE1(ExceptionSearchCatcherFound, FunctionID)
IGNORE1(ExceptionOSHandlerEnter, UINT_PTR)
IGNORE1(ExceptionOSHandlerLeave, UINT_PTR)
IGNORE1(ExceptionUnwindFunctionEnter, FunctionID)
IGNORE0(ExceptionUnwindFunctionLeave)
IGNORE1(ExceptionUnwindFinallyEnter, FunctionID)
IGNORE0(ExceptionUnwindFinallyLeave)
IGNORE2(ExceptionCatcherEnter, FunctionID, ObjectID)
IGNORE0(ExceptionCatcherLeave)
IGNORE4(COMClassicVTableCreated, ClassID, REFGUID, void *, ULONG)
IGNORE3(COMClassicVTableDestroyed, ClassID, REFGUID, void *)
IGNORE0(ExceptionCLRCatcherFound)
IGNORE0(ExceptionCLRCatcherExecute)
IGNORE3(ThreadNameChanged, ThreadID, ULONG, WCHAR *)
IGNORE3(GarbageCollectionStarted, int, BOOL *, COR_PRF_GC_REASON)
IGNORE3(SurvivingReferences, ULONG, ObjectID *, ULONG *)
IGNORE0(GarbageCollectionFinished)
IGNORE2(FinalizeableObjectQueued, DWORD, ObjectID)
IGNORE5(RootReferences2, ULONG, ObjectID *, COR_PRF_GC_ROOT_KIND *, COR_PRF_GC_ROOT_FLAGS *, UINT_PTR *)
IGNORE2(HandleCreated, GCHandleID, ObjectID)
IGNORE1(HandleDestroyed, GCHandleID)
#pragma GCC diagnostic pop

/* Designated initializers: each function lands in the slot of its name,
 * whatever order this list is in; the struct's order is corprof.idl's. */
static const ICorProfilerCallback2Vtbl Profiler_vtbl = {
#define SLOT(name) .name = Profiler_##name
    SLOT(QueryInterface),
    SLOT(AddRef),
    SLOT(Release),
    SLOT(Initialize),
    SLOT(Shutdown),
    SLOT(AppDomainCreationStarted),
    SLOT(AppDomainCreationFinished),
    SLOT(AppDomainShutdownStarted),
    SLOT(AppDomainShutdownFinished),
    SLOT(AssemblyLoadStarted),
    SLOT(AssemblyLoadFinished),
    SLOT(AssemblyUnloadStarted),
    SLOT(AssemblyUnloadFinished),
    SLOT(ModuleLoadStarted),
    SLOT(ModuleLoadFinished),
    SLOT(ModuleUnloadStarted),
    SLOT(ModuleUnloadFinished),
    SLOT(ModuleAttachedToAssembly),
    SLOT(ClassLoadStarted),
    SLOT(ClassLoadFinished),
    SLOT(ClassUnloadStarted),
    SLOT(ClassUnloadFinished),
    SLOT(FunctionUnloadStarted),
    SLOT(JITCompilationStarted),
    SLOT(JITCompilationFinished),
    SLOT(JITCachedFunctionSearchStarted),
    SLOT(JITCachedFunctionSearchFinished),
    SLOT(JITFunctionPitched),
    SLOT(JITInlining),
    SLOT(ThreadCreated),
    SLOT(ThreadDestroyed),
    SLOT(ThreadAssignedToOSThread),
    SLOT(RemotingClientInvocationStarted),
    SLOT(RemotingClientSendingMessage),
    SLOT(RemotingClientReceivingReply),
    SLOT(RemotingClientInvocationFinished),
    SLOT(RemotingServerReceivingMessage),
    SLOT(RemotingServerInvocationStarted),
    SLOT(RemotingServerInvocationReturned),
    SLOT(RemotingServerSendingReply),
    SLOT(UnmanagedToManagedTransition),
    SLOT(ManagedToUnmanagedTransition),
    SLOT(RuntimeSuspendStarted),
    SLOT(RuntimeSuspendFinished),
    SLOT(RuntimeSuspendAborted),
    SLOT(RuntimeResumeStarted),
    SLOT(RuntimeResumeFinished),
    SLOT(RuntimeThreadSuspended),
    SLOT(RuntimeThreadResumed),
    SLOT(MovedReferences),
    SLOT(ObjectAllocated),
    SLOT(ObjectsAllocatedByClass),
    SLOT(ObjectReferences),
    SLOT(RootReferences),
    SLOT(ExceptionThrown),
    SLOT(ExceptionSearchFunctionEnter),
    SLOT(ExceptionSearchFunctionLeave),
    SLOT(ExceptionSearchFilterEnter),
    SLOT(ExceptionSearchFilterLeave),
    SLOT(ExceptionSearchCatcherFound),
    SLOT(ExceptionOSHandlerEnter),
    SLOT(ExceptionOSHandlerLeave),
    SLOT(ExceptionUnwindFunctionEnter),
    SLOT(ExceptionUnwindFunctionLeave),
    SLOT(ExceptionUnwindFinallyEnter),
    SLOT(ExceptionUnwindFinallyLeave),
    SLOT(ExceptionCatcherEnter),
    SLOT(ExceptionCatcherLeave),
    SLOT(COMClassicVTableCreated),
    SLOT(COMClassicVTableDestroyed),
    SLOT(ExceptionCLRCatcherFound),
    SLOT(ExceptionCLRCatcherExecute),
    SLOT(ThreadNameChanged),
    SLOT(GarbageCollectionStarted),
    SLOT(SurvivingReferences),
    SLOT(GarbageCollectionFinished),
    SLOT(FinalizeableObjectQueued),
    SLOT(RootReferences2),
    SLOT(HandleCreated),
    SLOT(HandleDestroyed),
#undef SLOT
};

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
