/*
 * A guest profiler for tests/test_host_fanout.c: every callback counts
 * itself by slot, per object.  Class ID {FA4E0000-0000-4000-8000-00000000000N}
 * gives object N (1..4); object N asks, in Initialize, for the event mask
 * fake_masks[N] (which the test sets before), then answers
 * fake_init_results[N] from Initialize and fake_results[N] from every other
 * callback.
 */
#include <string.h>

#include "clrapi.h"
#include "common.h"

#define OBJECTS 5

__attribute__((visibility("default"))) unsigned long fake_counts[OBJECTS][MM_CALLBACK_SLOTS];
__attribute__((visibility("default"))) DWORD fake_masks[OBJECTS];
__attribute__((visibility("default"))) HRESULT fake_results[OBJECTS];
__attribute__((visibility("default"))) HRESULT fake_init_results[OBJECTS];
__attribute__((visibility("default"))) ICorProfilerInfo *fake_infos[OBJECTS];

typedef struct fake {
    ICorProfilerCallback2 iface;
    int n;
} fake;

static fake objects[OBJECTS];

static HRESULT STDMETHODCALLTYPE Fake_QueryInterface(ICorProfilerCallback2 *iface, REFIID riid, void **ppv)
{
    if (mm_guid_equal(riid, &IID_IUnknown) || mm_guid_equal(riid, &IID_ICorProfilerCallback)
        || mm_guid_equal(riid, &IID_ICorProfilerCallback2)) {
        *ppv = iface;
        return S_OK;
    }
    *ppv = NULL;
    return E_NOINTERFACE;
}

static ULONG STDMETHODCALLTYPE Fake_AddRef(ICorProfilerCallback2 *iface)
{
    (void)iface;
    return 2;
}

static ULONG STDMETHODCALLTYPE Fake_Release(ICorProfilerCallback2 *iface)
{
    (void)iface;
    return 1;
}

static HRESULT STDMETHODCALLTYPE Fake_Start(ICorProfilerCallback2 *iface, IUnknown *unk)
{
    fake *f = (fake *)iface;
    ICorProfilerInfo *info = NULL;
    fake_counts[f->n][3]++;
    if (unk->lpVtbl->QueryInterface(unk, &IID_ICorProfilerInfo, (void **)&info) != S_OK)
        return E_FAIL;
    fake_infos[f->n] = info;
    HRESULT hr = info->lpVtbl->SetEventMask(info, fake_masks[f->n]);
    return FAILED(hr) ? hr : fake_init_results[f->n];
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define COUNT(slot, version, name, params, args)                                                                     \
    static HRESULT STDMETHODCALLTYPE Fake_##name(ICorProfilerCallback2 *iface MM_ARGS params)                        \
    {                                                                                                                \
        fake *f = (fake *)iface;                                                                                     \
        fake_counts[f->n][slot]++;                                                                                   \
        return fake_results[f->n];                                                                                   \
    }
MM_CALLBACK1(COUNT)
MM_CALLBACK2(COUNT)
#undef COUNT
#pragma GCC diagnostic pop

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
static const ICorProfilerCallback2Vtbl Fake_vtbl = {
#define SLOT(slot, version, name, params, args) .name = Fake_##name,
    MM_CALLBACK1(SLOT) MM_CALLBACK2(SLOT)
#undef SLOT
    .QueryInterface = Fake_QueryInterface,
    .AddRef = Fake_AddRef,
    .Release = Fake_Release,
    .Initialize = Fake_Start,
};
#pragma GCC diagnostic pop

static HRESULT STDMETHODCALLTYPE Factory_QueryInterface(IClassFactory *iface, REFIID riid, void **ppv)
{
    (void)riid;
    *ppv = iface;
    return S_OK;
}

static ULONG STDMETHODCALLTYPE Factory_AddRef(IClassFactory *iface)
{
    (void)iface;
    return 2;
}

static ULONG STDMETHODCALLTYPE Factory_Release(IClassFactory *iface)
{
    (void)iface;
    return 1;
}

static int requested;

static HRESULT STDMETHODCALLTYPE Factory_CreateInstance(IClassFactory *iface, IUnknown *outer, REFIID riid, void **ppv)
{
    (void)iface;
    (void)outer;
    fake *f = &objects[requested];
    f->iface.lpVtbl = &Fake_vtbl;
    f->n = requested;
    return Fake_QueryInterface(&f->iface, riid, ppv);
}

static HRESULT STDMETHODCALLTYPE Factory_LockServer(IClassFactory *iface, BOOL lock)
{
    (void)iface;
    (void)lock;
    return S_OK;
}

static const IClassFactoryVtbl Factory_vtbl = {Factory_QueryInterface, Factory_AddRef, Factory_Release,
                                               Factory_CreateInstance, Factory_LockServer};
static IClassFactory factory = {&Factory_vtbl};

__attribute__((visibility("default"))) HRESULT STDMETHODCALLTYPE DllGetClassObject(REFCLSID rclsid, REFIID riid,
                                                                                   void **ppv)
{
    static const GUID base = {0xFA4E0000, 0x0000, 0x4000, {0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}};
    (void)riid;
    if (memcmp(rclsid, &base, offsetof(GUID, Data4) + 7) != 0 || rclsid->Data4[7] < 1 || rclsid->Data4[7] >= OBJECTS)
        return MM_CLASS_E_CLASSNOTAVAILABLE;
    requested = rclsid->Data4[7];
    *ppv = &factory;
    return S_OK;
}
