/*
 * The entry point the runtime looks up in the profiler library, and the
 * class factory it returns.  The factory is a static object: the library is
 * never unloaded while the runtime runs, so its count is only nominal.
 */
/* windows.h's IClassFactory then points to a const vtable, as ours does. */
#define CONST_VTABLE
#include <string.h>

#include "host/host.h"
#include "profiler.h"
#include "sys.h"

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
    /* Guests named: the host, which runs the mode (if any) as its last
     * guest; else the mode alone, as it always was. */
    if (mmp_config_wants_host() && !mmh_loading_guests())
        return mmh_host_create(riid, ppv);
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

/* Reads the shim folder's file, if this library was loaded from one: the
 * folder this library's file name lies in, not the real file a symbolic
 * link names. */
static void load_shim_conf(void)
{
    char dir[4096];
    if (mmp_sys_lib_dir((const void *)(uintptr_t)&ClassFactory_CreateInstance, dir, sizeof dir) == 0)
        mmp_conf_load(dir);
}

/* Whether rclsid is one of the configured guests': a tool that names the
 * guest's class ID and our library (a shim folder, or CORECLR_PROFILER
 * kept as the guest's) gets the host. */
static int is_guest_clsid(REFCLSID rclsid)
{
    mmp_guest_spec guests[MMP_GUESTS_MAX];
    char err[256];
    const char *list = mmp_var(MMP_ENV_GUESTS);
    int n = list ? mmp_guests_parse(list, guests, MMP_GUESTS_MAX, err, sizeof err) : 0;
    for (int i = 0; i < n; i++) {
        GUID g = {guests[i].d1, guests[i].d2, guests[i].d3, {0}};
        memcpy(g.Data4, guests[i].d4, 8);
        if (mm_guid_equal(rclsid, &g))
            return 1;
    }
    return 0;
}

/* Exported by exports.map, on Windows by exports.def (undecorated, for
 * GetProcAddress, on 32-bit too). */
#if defined(_WIN32)
#define MMP_EXPORT
#else
#define MMP_EXPORT __attribute__((visibility("default")))
#endif

/* Answers our CLSID, and a guest's (the runtime passes the CORECLR_PROFILER
 * value). */
MMP_EXPORT HRESULT STDMETHODCALLTYPE DllGetClassObject(REFCLSID rclsid, REFIID riid, void **ppv)
{
    if (!ppv)
        return E_POINTER;
    *ppv = NULL;
    load_shim_conf();
    if (!rclsid
        || (!mm_guid_equal(rclsid, &CLSID_MethodMallocProfiler) && (mmh_loading_guests() || !is_guest_clsid(rclsid))))
        return MM_CLASS_E_CLASSNOTAVAILABLE;
    return ClassFactory_QueryInterface(&class_factory, riid, ppv);
}
