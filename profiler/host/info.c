/*
 * The ICorProfilerInfo a guest sees: one object per guest, so that the
 * host knows who calls.  Every method of every version through 15 is
 * forwarded to the runtime's object by a forwarder the table generates
 * (corprof_table.h), except those that make the host what it is:
 *   - the event mask (SetEventMask, SetEventMask2 and their Get pairs) is
 *     the guest's own, recorded; the runtime gets the union of all;
 *   - GetILFunctionBodyAllocator gives methodmalloc's allocator for the
 *     module (counting this guest's refusals);
 *   - SetILFunctionBody checks the body first (check.c), and records it in
 *     the chain; GetILFunctionBody shows the body the guests before this
 *     one set;
 *   - SetILInstrumentedCodeMap composes the map over the earlier guests'.
 * Its reference count is nominal: the object lives as long as the host,
 * which lives as long as the process.
 */
#include <stdio.h>
#include <string.h>

#include "host/host.h"

static inline mmh_info *impl_from_ICorProfilerInfo(ICorProfilerInfo *iface)
{
    return (mmh_info *)((char *)iface - offsetof(mmh_info, ICorProfilerInfo_iface));
}

/* Every method, forwarded as it is: the generated part. */
#define FORWARD(slot, version, name, params, args)                                                                   \
    static HRESULT STDMETHODCALLTYPE Fwd_##name(ICorProfilerInfo *iface MM_ARGS params)                              \
    {                                                                                                                \
        ICorProfilerInfo *real = impl_from_ICorProfilerInfo(iface)->host->info;                                      \
        return real->lpVtbl->name(real MM_ARGS args);                                                                \
    }
MM_INFO1(FORWARD)
MM_INFO2_15(FORWARD)
#undef FORWARD

/* Answers every version the runtime answers. */
static HRESULT STDMETHODCALLTYPE Info_QueryInterface(ICorProfilerInfo *iface, REFIID riid, void **ppv)
{
    mmh_info *w = impl_from_ICorProfilerInfo(iface);
    if (!ppv)
        return E_POINTER;
    *ppv = NULL;
    if (!riid)
        return E_INVALIDARG;
    if (mm_guid_equal(riid, &IID_IUnknown)) {
        *ppv = iface;
        return S_OK;
    }
    for (int v = 1; v <= w->host->info_version; v++)
        if (mm_guid_equal(riid, IID_ICorProfilerInfo_v[v])) {
            *ppv = iface;
            return S_OK;
        }
    return E_NOINTERFACE;
}

static ULONG STDMETHODCALLTYPE Info_AddRef(ICorProfilerInfo *iface)
{
    (void)iface;
    return 2;
}

static ULONG STDMETHODCALLTYPE Info_Release(ICorProfilerInfo *iface)
{
    (void)iface;
    return 1;
}

HRESULT mmh_apply_mask(mmh_host *h)
{
    uint32_t lo = MMH_OWN_MASK_LO, hi = 0;
    for (int i = 0; i < h->nguests; i++) {
        mmh_guest *g = &h->guests[i];
        if (atomic_load(&g->state) == MMH_ACTIVE) {
            lo |= atomic_load(&g->mask_lo);
            hi |= atomic_load(&g->mask_hi);
        }
    }
    if (h->info_version >= 5)
        return h->info->lpVtbl->SetEventMask2(h->info, lo, hi);
    return h->info->lpVtbl->SetEventMask(h->info, lo);
}

/* Records the guest's mask; once the host is initialized (the guests'
 * Initialize calls are over), the runtime gets the new union, and a mask
 * the runtime refuses leaves the guest's as it was. */
static HRESULT set_mask(mmh_info *w, DWORD lo, DWORD hi)
{
    mmh_host *h = w->host;
    mmh_guest *g = w->guest;
    HRESULT hr = S_OK;

    mm_lock_acquire(&h->mask_lock);
    uint32_t old_lo = atomic_load(&g->mask_lo), old_hi = atomic_load(&g->mask_hi);
    atomic_store(&g->mask_lo, lo);
    atomic_store(&g->mask_hi, hi);
    if (atomic_load(&h->initialized) && FAILED(hr = mmh_apply_mask(h))) {
        atomic_store(&g->mask_lo, old_lo);
        atomic_store(&g->mask_hi, old_hi);
    }
    mm_lock_release(&h->mask_lock);
    return hr;
}

static HRESULT STDMETHODCALLTYPE Info_SetEventMask(ICorProfilerInfo *iface, DWORD events)
{
    mmh_info *w = impl_from_ICorProfilerInfo(iface);
    /* The high word stays as it was, as the runtime keeps it. */
    return set_mask(w, events, atomic_load(&w->guest->mask_hi));
}

static HRESULT STDMETHODCALLTYPE Info_SetEventMask2(ICorProfilerInfo *iface, DWORD lo, DWORD hi)
{
    return set_mask(impl_from_ICorProfilerInfo(iface), lo, hi);
}

static HRESULT STDMETHODCALLTYPE Info_GetEventMask(ICorProfilerInfo *iface, DWORD *events)
{
    if (!events)
        return E_POINTER;
    *events = atomic_load(&impl_from_ICorProfilerInfo(iface)->guest->mask_lo);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE Info_GetEventMask2(ICorProfilerInfo *iface, DWORD *lo, DWORD *hi)
{
    mmh_guest *g = impl_from_ICorProfilerInfo(iface)->guest;
    if (!lo || !hi)
        return E_POINTER;
    *lo = atomic_load(&g->mask_lo);
    *hi = atomic_load(&g->mask_hi);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE Info_GetILFunctionBody(ICorProfilerInfo *iface, ModuleID mod, mdMethodDef token,
                                                        LPCBYTE *header, ULONG *size)
{
    mmh_info *w = impl_from_ICorProfilerInfo(iface);
    const uint8_t *body;
    size_t n;

    if (mmh_bodies_get(&w->host->bodies, mod, token, w->guest->index, &body, &n) == 0) {
        if (header)
            *header = body;
        if (size)
            *size = (ULONG)n;
        return S_OK;
    }
    return w->host->info->lpVtbl->GetILFunctionBody(w->host->info, mod, token, header, size);
}

static HRESULT STDMETHODCALLTYPE Info_GetILFunctionBodyAllocator(ICorProfilerInfo *iface, ModuleID mod,
                                                                 IMethodMalloc **out)
{
    mmh_info *w = impl_from_ICorProfilerInfo(iface);
    mmp_target t;

    if (!out)
        return E_POINTER;
    /* A module without a heap of ours (no image: Reflection.Emit) gets
     * the runtime's answer. */
    if (mmp_modules_find(&w->host->modules, mod, &t) != 0 || !t.ext || !t.alloc)
        return w->host->info->lpVtbl->GetILFunctionBodyAllocator(w->host->info, mod, out);
    mmh_alloc *a = &((mmh_module *)t.ext)->alloc[w->guest->index];
    *out = &a->IMethodMalloc_iface;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE Info_SetILFunctionBody(ICorProfilerInfo *iface, ModuleID mod, mdMethodDef token,
                                                        LPCBYTE header)
{
    mmh_info *w = impl_from_ICorProfilerInfo(iface);
    mmh_host *h = w->host;
    mmh_guest *g = w->guest;
    char detail[512];
    size_t size;
    HRESULT hr;

    atomic_fetch_add(&g->set, 1);
    mmh_check why = mmh_check_body(h, mod, token, header, &size, detail, sizeof detail);
    if (size && h->cfg.dump_dir[0])
        mmh_dump_body(h, g, mod, token, header, size);
    if (why != MMH_CHECK_COUNT) {
        atomic_fetch_add(&g->check_refused[why], 1);
        if (why == MMH_CHECK_WINDOW)
            atomic_fetch_add(&g->violations, 1);
        mmh_report_refused(h, g, mod, token, why, detail);
        /* The method keeps the body it had. */
        return E_INVALIDARG;
    }
    /* Before the runtime's body changes: its original, which guest 1 (and
     * any guest with no body before it) is shown from now on. */
    if (!mmh_bodies_has_original(&h->bodies, mod, token)) {
        LPCBYTE original = NULL;
        ULONG original_size = 0;
        if (SUCCEEDED(h->info->lpVtbl->GetILFunctionBody(h->info, mod, token, &original, &original_size)) && original)
            (void)mmh_bodies_put(&h->bodies, mod, token, 0, original, original_size);
    }
    hr = h->info->lpVtbl->SetILFunctionBody(h->info, mod, token, header);
    if (FAILED(hr)) {
        atomic_fetch_add(&g->set_failed, 1);
        return hr;
    }
    (void)mmh_bodies_put(&h->bodies, mod, token, g->index, header, size);
    atomic_fetch_add(&g->bytes, size);
    /* A block of the module's methodmalloc heap, not memory the guest found
     * elsewhere. */
    if (mmp_modules_owns(&h->modules, mod, header, size))
        atomic_fetch_add(&g->served, 1);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE Info_SetILInstrumentedCodeMap(ICorProfilerInfo *iface, FunctionID fn, BOOL start_jit,
                                                               ULONG n, COR_IL_MAP *map)
{
    mmh_info *w = impl_from_ICorProfilerInfo(iface);
    ICorProfilerInfo *real = w->host->info;
    ClassID cls;
    ModuleID mod;
    mdToken token;
    const COR_IL_MAP *composed;
    ULONG ncomposed;

    if (n && !map)
        return E_INVALIDARG;
    if (FAILED(real->lpVtbl->GetFunctionInfo(real, fn, &cls, &mod, &token)))
        return real->lpVtbl->SetILInstrumentedCodeMap(real, fn, start_jit, n, map);
    if (mmh_bodies_map(&w->host->bodies, mod, token, w->guest->index, map, n, &composed, &ncomposed) != 0)
        return E_OUTOFMEMORY;
    /* The runtime copies the entries. */
    return real->lpVtbl->SetILInstrumentedCodeMap(real, fn, start_jit, ncomposed, (COR_IL_MAP *)composed);
}

/* The forwarders fill every slot; the host's own methods then take theirs
 * (a designated initializer may name a slot twice, the last one wins). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
static const ICorProfilerInfoVtbl Info_vtbl = {
#define SLOT(slot, version, name, params, args) .name = Fwd_##name,
    MM_INFO1(SLOT) MM_INFO2_15(SLOT)
#undef SLOT
    .QueryInterface = Info_QueryInterface,
    .AddRef = Info_AddRef,
    .Release = Info_Release,
    .GetEventMask = Info_GetEventMask,
    .SetEventMask = Info_SetEventMask,
    .GetEventMask2 = Info_GetEventMask2,
    .SetEventMask2 = Info_SetEventMask2,
    .GetILFunctionBody = Info_GetILFunctionBody,
    .GetILFunctionBodyAllocator = Info_GetILFunctionBodyAllocator,
    .SetILFunctionBody = Info_SetILFunctionBody,
    .SetILInstrumentedCodeMap = Info_SetILInstrumentedCodeMap,
};
#pragma GCC diagnostic pop

void mmh_info_init(mmh_info *w, mmh_host *h, mmh_guest *g)
{
    w->ICorProfilerInfo_iface.lpVtbl = &Info_vtbl;
    w->host = h;
    w->guest = g;
}
