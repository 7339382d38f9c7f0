/*
 * The entry point the runtime looks up in the profiler library, and the
 * class factory it returns.  The factory is a static object: the library is
 * never unloaded while the runtime runs, so its count is only nominal.
 */
/* windows.h's IClassFactory then points to a const vtable, as ours does. */
#define CONST_VTABLE
#include <string.h>

#include "profiler.h"

static HRESULT STDMETHODCALLTYPE ClassFactory_QueryInterface(IClassFactory *iface, REFIID riid, void **ppv)
{
    static const IID *const answers[] = {&IID_IUnknown, &IID_IClassFactory};
    HRESULT hr = mm_com_answers(riid, ppv, answers, 2);
    /* A static object: its reference count is nominal. */
    if (hr == S_OK)
        *ppv = iface;
    return hr;
}

static ULONG STDMETHODCALLTYPE ClassFactory_AddRef(IClassFactory *iface)
{
    (void)iface;
    return 2;
}

static ULONG STDMETHODCALLTYPE ClassFactory_Release(IClassFactory *iface)
{
    (void)iface;
    return 1;
}

static HRESULT STDMETHODCALLTYPE ClassFactory_CreateInstance(IClassFactory *iface, IUnknown *outer, REFIID riid,
                                                             void **ppv)
{
    (void)iface;
    if (!ppv)
        return E_POINTER;
    *ppv = NULL;
    if (outer)
        return MM_CLASS_E_NOAGGREGATION;
    return mmp_profiler_create(riid, ppv);
}

static HRESULT STDMETHODCALLTYPE ClassFactory_LockServer(IClassFactory *iface, BOOL lock)
{
    (void)iface;
    (void)lock;
    return S_OK;
}

static const IClassFactoryVtbl ClassFactory_vtbl = {
    ClassFactory_QueryInterface, ClassFactory_AddRef,   ClassFactory_Release,
    ClassFactory_CreateInstance, ClassFactory_LockServer,
};

static IClassFactory class_factory = {&ClassFactory_vtbl};

/* Exported by exports.map, on Windows by exports.def (undecorated, for
 * GetProcAddress, on 32-bit too). */
#if defined(_WIN32)
#define MMP_EXPORT
#else
#define MMP_EXPORT __attribute__((visibility("default")))
#endif

/* Answers only our CLSID: the runtime passes the CORECLR_PROFILER value. */
MMP_EXPORT HRESULT STDMETHODCALLTYPE DllGetClassObject(REFCLSID rclsid, REFIID riid, void **ppv)
{
    if (!ppv)
        return E_POINTER;
    *ppv = NULL;
    if (!rclsid || !mm_guid_equal(rclsid, &CLSID_MethodMallocProfiler))
        return MM_CLASS_E_CLASSNOTAVAILABLE;
    return ClassFactory_QueryInterface(&class_factory, riid, ppv);
}
