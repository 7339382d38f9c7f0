/*
 * The host's callback object: ICorProfilerCallback11 as the runtime sees
 * it.  Every callback goes to each guest that implements its version and
 * whose mask asks for it (events.c), in chain order, by a forwarder the
 * table generates (corprof_table.h); a guest's error is counted, never
 * passed on, and the forwarding allocates nothing.  The host's own work
 * sits in a few callbacks: Initialize (load and start the guests),
 * module loads (a methodmalloc heap per module, before any guest hears of
 * the module), assembly loads (the window reserve), Shutdown (the report).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/host.h"

static inline mmh_host *impl_from_ICorProfilerCallback11(ICorProfilerCallback11 *iface)
{
    return (mmh_host *)((char *)iface - offsetof(mmh_host, ICorProfilerCallback11_iface));
}

/* ---- The allocator each guest gets for a module ---- */

static inline mmh_alloc *impl_from_IMethodMalloc(IMethodMalloc *iface)
{
    return (mmh_alloc *)((char *)iface - offsetof(mmh_alloc, IMethodMalloc_iface));
}

static HRESULT STDMETHODCALLTYPE Alloc_QueryInterface(IMethodMalloc *iface, REFIID riid, void **ppv)
{
    static const IID *const answers[] = {&IID_IUnknown, &IID_IMethodMalloc};
    HRESULT hr = mm_com_answers(riid, ppv, answers, 2);
    if (hr == S_OK)
        *ppv = iface;
    return hr;
}

/* Nominal: the record lives as long as the process (a guest may keep the
 * pointer past the module's unload). */
static ULONG STDMETHODCALLTYPE Alloc_AddRef(IMethodMalloc *iface)
{
    (void)iface;
    return 2;
}

static ULONG STDMETHODCALLTYPE Alloc_Release(IMethodMalloc *iface)
{
    (void)iface;
    return 1;
}

static void *STDMETHODCALLTYPE Alloc_Alloc(IMethodMalloc *iface, ULONG cb)
{
    mmh_alloc *a = impl_from_IMethodMalloc(iface);
    void *p = a->real->lpVtbl->Alloc(a->real, cb);
    if (!p)
        atomic_fetch_add(&a->guest->alloc_refused, 1);
    return p;
}

static const IMethodMallocVtbl Alloc_vtbl = {Alloc_QueryInterface, Alloc_AddRef, Alloc_Release, Alloc_Alloc};

/* ---- IUnknown ---- */

static HRESULT STDMETHODCALLTYPE Host_QueryInterface(ICorProfilerCallback11 *iface, REFIID riid, void **ppv)
{
    if (!ppv)
        return E_POINTER;
    *ppv = NULL;
    if (!riid)
        return E_INVALIDARG;
    int yes = mm_guid_equal(riid, &IID_IUnknown);
    for (int v = 1; !yes && v <= MM_CALLBACK_NEWEST; v++)
        yes = mm_guid_equal(riid, IID_ICorProfilerCallback_v[v]);
    if (!yes)
        return E_NOINTERFACE;
    mm_ref_add(&impl_from_ICorProfilerCallback11(iface)->ref);
    *ppv = iface;
    return S_OK;
}

static ULONG STDMETHODCALLTYPE Host_AddRef(ICorProfilerCallback11 *iface)
{
    return mm_ref_add(&impl_from_ICorProfilerCallback11(iface)->ref);
}

/* The host, its guests and their heaps stay to the process's end: late
 * work on other threads may still reach them.  The last Release reports
 * if Shutdown never came. */
static ULONG STDMETHODCALLTYPE Host_Release(ICorProfilerCallback11 *iface)
{
    mmh_host *h = impl_from_ICorProfilerCallback11(iface);
    ULONG ref = mm_ref_release(&h->ref);
    if (ref == 0 && atomic_load(&h->initialized))
        mmh_report(h);
    return ref;
}

/* ---- Forwarding ---- */

/* Whether guest g takes the callback in slot of interface version v. */
static inline int wants(const mmh_guest *g, int slot, int v)
{
    return atomic_load_explicit(&g->state, memory_order_relaxed) == MMH_ACTIVE && g->cb[v]
           && mmh_event_wanted(slot, atomic_load_explicit(&g->mask_lo, memory_order_relaxed),
                               atomic_load_explicit(&g->mask_hi, memory_order_relaxed));
}

static inline void count_error(mmh_guest *g, HRESULT hr)
{
    if (FAILED(hr))
        atomic_fetch_add_explicit(&g->callback_errors, 1, memory_order_relaxed);
}

#define FORWARD(slot, version, name, params, args)                                                                   \
    static HRESULT STDMETHODCALLTYPE Fwd_##name(ICorProfilerCallback11 *iface MM_ARGS params)                        \
    {                                                                                                                \
        mmh_host *h = impl_from_ICorProfilerCallback11(iface);                                                       \
        for (int i = 0; i < h->nguests; i++) {                                                                       \
            mmh_guest *g = &h->guests[i];                                                                            \
            if (wants(g, slot, version))                                                                             \
                count_error(g, g->cb[version]->lpVtbl->name(g->cb[version] MM_ARGS args));                                \
        }                                                                                                            \
        return S_OK;                                                                                                 \
    }
MM_CALLBACK1(FORWARD)
MM_CALLBACK2(FORWARD)
MM_CALLBACK3_11(FORWARD)
#undef FORWARD

/* ---- The host's own callbacks ---- */

/* Starts guest g with its own info object: 0, or -1 with g failed. */
static int start_guest(mmh_host *h, mmh_guest *g, void *client, UINT client_size, int attach)
{
    HRESULT hr;
    mmh_info_init(&g->info, h, g);
    IUnknown *mine = (IUnknown *)&g->info.ICorProfilerInfo_iface;
    if (attach) {
        if (!g->cb[3]) {
            mmh_guest_fail(g, "InitializeForAttach: the guest does not implement ICorProfilerCallback3");
            return -1;
        }
        hr = g->cb[3]->lpVtbl->InitializeForAttach(g->cb[3], mine, client, client_size);
    } else {
        hr = g->cb[1]->lpVtbl->Initialize(g->cb[1], mine);
    }
    if (FAILED(hr)) {
        mmh_guest_fail(g, "%s: 0x%08x", attach ? "InitializeForAttach" : "Initialize", (unsigned)hr);
        atomic_store(&g->mask_lo, 0);
        atomic_store(&g->mask_hi, 0);
        return -1;
    }
    atomic_store(&g->state, MMH_ACTIVE);
    return 0;
}

static atomic_int loading;

int mmh_loading_guests(void)
{
    return atomic_load(&loading);
}

static HRESULT start(mmh_host *h, IUnknown *unk, void *client, UINT client_size, int attach)
{
    char err[512];
    HRESULT hr;

    if (mmp_config_from_env(&h->cfg, err, sizeof err) != 0) {
        mmp_report_error(&h->cfg, "%s", err);
        return E_FAIL;
    }
    /* The runtime's info, its newest version. */
    for (int v = MM_INFO_NEWEST; v >= 1 && !h->info; v--) {
        void *p = NULL;
        if (unk->lpVtbl->QueryInterface(unk, IID_ICorProfilerInfo_v[v], &p) == S_OK && p) {
            h->info = p;
            h->info_version = v;
        }
    }
    if (!h->info) {
        mmp_report_error(&h->cfg, "the runtime offers no ICorProfilerInfo");
        return E_NOINTERFACE;
    }
    /* Now, before the runtime maps any managed image (see reserve.c). */
    mmp_reserve_init(&h->reserve, h->cfg.reserve_bytes, h->info);
    atomic_fetch_add(&loading, 1);
    for (int i = 0; i < h->cfg.nguests; i++) {
        mmh_guest *g = &h->guests[h->nguests];
        g->index = h->nguests + 1;
        g->spec = h->cfg.guests[i];
        h->nguests++;
        if (mmh_guest_load(g) == 0)
            (void)start_guest(h, g, client, client_size, attach);
    }
    atomic_fetch_sub(&loading, 1);
    /* methodmalloc's own mode, last: it sees what the guests set. */
    if (h->cfg.mode != MMP_MODE_HOST) {
        mmh_guest *g = &h->guests[h->nguests];
        ICorProfilerCallback2 *cb = NULL;
        g->index = h->nguests + 1;
        g->internal = 1;
        snprintf(g->spec.path, sizeof g->spec.path, "methodmalloc:%s", mmp_mode_name(h->cfg.mode));
        snprintf(g->spec.clsid_text, sizeof g->spec.clsid_text, "{E7C0561D-4650-4F35-9D86-A69D58427C09}");
        h->nguests++;
        if (FAILED(hr = mmp_profiler_create_guest(&cb))) {
            mmh_guest_fail(g, "create: 0x%08x", (unsigned)hr);
        } else {
            g->cb[1] = g->cb[2] = (ICorProfilerCallback11 *)cb;
            g->version = 2;
            (void)start_guest(h, g, client, client_size, attach);
        }
    }
    mm_lock_acquire(&h->mask_lock);
    hr = mmh_apply_mask(h);
    if (FAILED(hr)) {
        /* One guest's mask the runtime refuses would sink them all: say
         * so, and go on with the host's own. */
        mmp_report_error(&h->cfg, "the runtime refused the guests' event masks: 0x%08x", (unsigned)hr);
        for (int i = 0; i < h->nguests; i++)
            if (atomic_load(&h->guests[i].state) == MMH_ACTIVE)
                mmh_guest_fail(&h->guests[i], "SetEventMask: the union refused: 0x%08x", (unsigned)hr);
        hr = mmh_apply_mask(h);
    }
    atomic_store(&h->initialized, 1);
    mm_lock_release(&h->mask_lock);
    return FAILED(hr) ? hr : S_OK;
}

static HRESULT STDMETHODCALLTYPE Host_Initialize(ICorProfilerCallback11 *iface, IUnknown *unk)
{
    return start(impl_from_ICorProfilerCallback11(iface), unk, NULL, 0, 0);
}

static HRESULT STDMETHODCALLTYPE Host_InitializeForAttach(ICorProfilerCallback11 *iface, IUnknown *unk, void *client,
                                                          UINT client_size)
{
    return start(impl_from_ICorProfilerCallback11(iface), unk, client, client_size, 1);
}

static HRESULT STDMETHODCALLTYPE Host_Shutdown(ICorProfilerCallback11 *iface)
{
    mmh_host *h = impl_from_ICorProfilerCallback11(iface);
    Fwd_Shutdown(iface);
    mmh_report(h);
    return S_OK;
}

static const char *file_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The module's heap and record, before any guest hears of the module. */
static void module_loaded(mmh_host *h, ModuleID id)
{
    LPCBYTE base = NULL;
    WCHAR wname[512];
    ULONG cch = 0;
    AssemblyID assembly = 0;
    mm_module *heap = NULL;
    IMethodMalloc *alloc = NULL;
    mmh_module *rec = calloc(1, sizeof *rec);

    if (!rec)
        return;
    atomic_fetch_add(&h->modules_loaded, 1);
    if (FAILED(h->info->lpVtbl->GetModuleInfo(h->info, id, &base, sizeof wname / sizeof wname[0], &cch, wname,
                                              &assembly)))
        base = NULL, cch = 0;
    char path[512];
    size_t k;
    for (k = 0; k < cch && k < sizeof path - 1 && wname[k]; k++)
        path[k] = wname[k] < 0x80 && wname[k] != ' ' ? (char)wname[k] : '_';
    path[k] = 0;
    snprintf(rec->name, sizeof rec->name, "%s", k ? file_name(path) : "unknown");
    mm_config cfg = mm_config_default();
    cfg.flags |= MM_COUNT_BLOCKS;
    if (base && mm_module_open(base, &cfg, &heap) == S_OK && mm_module_allocator(heap, &alloc) != S_OK) {
        mm_module_close(heap);
        heap = NULL;
        alloc = NULL;
    }
    for (int i = 0; i < h->nguests; i++) {
        mmh_alloc *a = &rec->alloc[h->guests[i].index];
        a->IMethodMalloc_iface.lpVtbl = &Alloc_vtbl;
        a->guest = &h->guests[i];
        a->real = alloc;
        /* Each guest's allocator keeps the heap's allocator alive past the
         * module's unload, as a guest may keep it. */
        if (alloc)
            alloc->lpVtbl->AddRef(alloc);
    }
    if (mmp_modules_add(&h->modules, id, base, mmp_image_end(base), heap, alloc, rec) != 0) {
        if (alloc)
            alloc->lpVtbl->Release(alloc);
        mm_module_close(heap);
    }
}

static HRESULT STDMETHODCALLTYPE Host_ModuleLoadFinished(ICorProfilerCallback11 *iface, ModuleID id, HRESULT status)
{
    mmh_host *h = impl_from_ICorProfilerCallback11(iface);
    if (SUCCEEDED(status))
        module_loaded(h, id);
    return Fwd_ModuleLoadFinished(iface, id, status);
}

static HRESULT STDMETHODCALLTYPE Host_ModuleUnloadFinished(ICorProfilerCallback11 *iface, ModuleID id, HRESULT status)
{
    mmh_host *h = impl_from_ICorProfilerCallback11(iface);
    Fwd_ModuleUnloadFinished(iface, id, status);
    mmp_modules_remove(&h->modules, id);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE Host_AssemblyLoadStarted(ICorProfilerCallback11 *iface, AssemblyID id)
{
    mmh_host *h = impl_from_ICorProfilerCallback11(iface);
    /* The binder maps the image about now (reserve.c). */
    mmp_reserve_need(&h->reserve);
    return Fwd_AssemblyLoadStarted(iface, id);
}

/* Out answers are the AND of the guests' (any guest that says no to
 * inlining or to the cached code wins), each guest writing its own. */
#define AND_ANSWER(name, params, args, out)                                                                          \
    static HRESULT STDMETHODCALLTYPE Host_##name(ICorProfilerCallback11 *iface MM_ARGS params, BOOL *out)            \
    {                                                                                                                \
        mmh_host *h = impl_from_ICorProfilerCallback11(iface);                                                       \
        BOOL all = TRUE_BOOL;                                                                                        \
        for (int i = 0; i < h->nguests; i++) {                                                                       \
            mmh_guest *g = &h->guests[i];                                                                            \
            BOOL mine = TRUE_BOOL;                                                                                   \
            if (!wants(g, MM_SLOT(ICorProfilerCallback11Vtbl, name), 1))                                             \
                continue;                                                                                            \
            count_error(g, g->cb[1]->lpVtbl->name(g->cb[1] MM_ARGS args, &mine));                                         \
            if (!mine)                                                                                               \
                all = 0;                                                                                             \
        }                                                                                                            \
        if (out)                                                                                                     \
            *out = all;                                                                                              \
        return S_OK;                                                                                                 \
    }
#define TRUE_BOOL 1
AND_ANSWER(JITInlining, (, FunctionID callerId, FunctionID calleeId), (, callerId, calleeId), pfShouldInline)
AND_ANSWER(JITCachedFunctionSearchStarted, (, FunctionID functionId), (, functionId), pbUseCachedFunction)
#undef TRUE_BOOL
#undef AND_ANSWER

/* The runtime calls a version-4 profiler's MovedReferences2 first and its
 * MovedReferences only if that succeeded (a profiler fails the first to
 * skip the second); the same for SurvivingReferences2.  Per guest, on the
 * GC thread that calls both: which guests said no to the newer one. */
static _Thread_local uint32_t moved_declined, surviving_declined;

static HRESULT STDMETHODCALLTYPE Host_MovedReferences2(ICorProfilerCallback11 *iface, ULONG n, ObjectID *from,
                                                      ObjectID *to, SIZE_T *len)
{
    mmh_host *h = impl_from_ICorProfilerCallback11(iface);
    moved_declined = 0;
    for (int i = 0; i < h->nguests; i++) {
        mmh_guest *g = &h->guests[i];
        if (wants(g, MM_SLOT(ICorProfilerCallback11Vtbl, MovedReferences2), 4)
            && FAILED(g->cb[4]->lpVtbl->MovedReferences2(g->cb[4], n, from, to, len)))
            moved_declined |= 1u << i;
    }
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE Host_MovedReferences(ICorProfilerCallback11 *iface, ULONG n, ObjectID *from,
                                                     ObjectID *to, ULONG *len)
{
    mmh_host *h = impl_from_ICorProfilerCallback11(iface);
    for (int i = 0; i < h->nguests; i++) {
        mmh_guest *g = &h->guests[i];
        if (!(moved_declined & 1u << i) && wants(g, MM_SLOT(ICorProfilerCallback11Vtbl, MovedReferences), 1))
            count_error(g, g->cb[1]->lpVtbl->MovedReferences(g->cb[1], n, from, to, len));
    }
    moved_declined = 0;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE Host_SurvivingReferences2(ICorProfilerCallback11 *iface, ULONG n, ObjectID *start,
                                                          SIZE_T *len)
{
    mmh_host *h = impl_from_ICorProfilerCallback11(iface);
    surviving_declined = 0;
    for (int i = 0; i < h->nguests; i++) {
        mmh_guest *g = &h->guests[i];
        if (wants(g, MM_SLOT(ICorProfilerCallback11Vtbl, SurvivingReferences2), 4)
            && FAILED(g->cb[4]->lpVtbl->SurvivingReferences2(g->cb[4], n, start, len)))
            surviving_declined |= 1u << i;
    }
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE Host_SurvivingReferences(ICorProfilerCallback11 *iface, ULONG n, ObjectID *start,
                                                         ULONG *len)
{
    mmh_host *h = impl_from_ICorProfilerCallback11(iface);
    for (int i = 0; i < h->nguests; i++) {
        mmh_guest *g = &h->guests[i];
        if (!(surviving_declined & 1u << i) && wants(g, MM_SLOT(ICorProfilerCallback11Vtbl, SurvivingReferences), 2))
            count_error(g, g->cb[2]->lpVtbl->SurvivingReferences(g->cb[2], n, start, len));
    }
    surviving_declined = 0;
    return S_OK;
}

/* The host is the runtime's profiler proper, whatever its guests are. */
static HRESULT STDMETHODCALLTYPE Host_LoadAsNotificationOnly(ICorProfilerCallback11 *iface, BOOL *only)
{
    (void)iface;
    if (only)
        *only = 0;
    return S_OK;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
static const ICorProfilerCallback11Vtbl Host_vtbl = {
#define SLOT(slot, version, name, params, args) .name = Fwd_##name,
    MM_CALLBACK1(SLOT) MM_CALLBACK2(SLOT) MM_CALLBACK3_11(SLOT)
#undef SLOT
    .QueryInterface = Host_QueryInterface,
    .AddRef = Host_AddRef,
    .Release = Host_Release,
    .Initialize = Host_Initialize,
    .InitializeForAttach = Host_InitializeForAttach,
    .Shutdown = Host_Shutdown,
    .ModuleLoadFinished = Host_ModuleLoadFinished,
    .ModuleUnloadFinished = Host_ModuleUnloadFinished,
    .AssemblyLoadStarted = Host_AssemblyLoadStarted,
    .JITInlining = Host_JITInlining,
    .JITCachedFunctionSearchStarted = Host_JITCachedFunctionSearchStarted,
    .LoadAsNotificationOnly = Host_LoadAsNotificationOnly,
    .MovedReferences = Host_MovedReferences,
    .MovedReferences2 = Host_MovedReferences2,
    .SurvivingReferences = Host_SurvivingReferences,
    .SurvivingReferences2 = Host_SurvivingReferences2,
};
#pragma GCC diagnostic pop

HRESULT mmh_host_create(REFIID riid, void **ppv)
{
    mmh_host *h = calloc(1, sizeof *h);
    HRESULT hr;

    if (!h)
        return E_OUTOFMEMORY;
    h->ICorProfilerCallback11_iface.lpVtbl = &Host_vtbl;
    atomic_init(&h->ref, 1);
    mmp_modules_init(&h->modules);
    mmh_bodies_init(&h->bodies);
    mm_lock_init(&h->mask_lock);
    hr = Host_QueryInterface(&h->ICorProfilerCallback11_iface, riid, ppv);
    if (mm_ref_release(&h->ref) == 0)
        free(h);
    return hr;
}
