/*
 * Loading a guest the way the runtime loads a profiler: its library, its
 * DllGetClassObject for its class ID, the class factory's CreateInstance,
 * then QueryInterface once per callback version so that forwarding never
 * asks again.  Every failure names the step and its HRESULT or dlerror.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "host/host.h"
#include "sys.h"

typedef HRESULT(STDMETHODCALLTYPE *get_class_object_fn)(REFCLSID, REFIID, void **);

void mmh_guest_fail(mmh_guest *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->why, sizeof g->why, fmt, ap);
    va_end(ap);
    /* A reason is one quoted word in the report. */
    for (char *c = g->why; *c; c++)
        if (*c == '"' || *c == '\n')
            *c = '\'';
    atomic_store(&g->state, MMH_FAILED);
}

static const char *hr_name(HRESULT hr)
{
    switch ((uint32_t)hr) {
    case 0x80040111u: return " (CLASS_E_CLASSNOTAVAILABLE)";
    case 0x80040110u: return " (CLASS_E_NOAGGREGATION)";
    case 0x80004002u: return " (E_NOINTERFACE)";
    case 0x80004005u: return " (E_FAIL)";
    case 0x8007000Eu: return " (E_OUTOFMEMORY)";
    case 0x80070057u: return " (E_INVALIDARG)";
    default: return "";
    }
}

int mmh_guest_load(mmh_guest *g)
{
    GUID clsid = {g->spec.d1, g->spec.d2, g->spec.d3, {0}};
    IClassFactory *factory = NULL;
    IUnknown *unk = NULL;
    HRESULT hr;

    memcpy(clsid.Data4, g->spec.d4, 8);
    char err[512];
    g->library = mmp_sys_lib_open(g->spec.path, err, sizeof err);
    if (!g->library) {
        mmh_guest_fail(g, "%s", err);
        return -1;
    }
    get_class_object_fn get = (get_class_object_fn)mmp_sys_lib_fn(g->library, "DllGetClassObject");
    if (!get) {
        mmh_guest_fail(g, "dlsym: no DllGetClassObject in %s", g->spec.path);
        return -1;
    }
    hr = get(&clsid, &IID_IClassFactory, (void **)&factory);
    if (FAILED(hr) || !factory) {
        mmh_guest_fail(g, "DllGetClassObject: 0x%08x%s", (unsigned)hr, hr_name(hr));
        return -1;
    }
    hr = factory->lpVtbl->CreateInstance(factory, NULL, &IID_ICorProfilerCallback, (void **)&unk);
    factory->lpVtbl->Release(factory);
    if (FAILED(hr) || !unk) {
        mmh_guest_fail(g, "CreateInstance: 0x%08x%s", (unsigned)hr, hr_name(hr));
        return -1;
    }
    g->cb[1] = (ICorProfilerCallback11 *)unk;
    g->version = 1;
    for (int v = 2; v <= MM_CALLBACK_NEWEST; v++) {
        void *p = NULL;
        if (unk->lpVtbl->QueryInterface(unk, IID_ICorProfilerCallback_v[v], &p) == S_OK && p) {
            g->cb[v] = p;
            g->version = v;
        }
    }
    return 0;
}
