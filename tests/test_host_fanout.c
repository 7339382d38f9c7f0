/*
 * The host's callback object driven by a fake runtime, with guests from
 * tests/host_fake_guest.c: the runtime's event mask is the union of what
 * the guests asked and the host needs; each callback reaches exactly the
 * guests whose own mask asks for it (and Initialize and Shutdown reach
 * all); a guest's errors are counted, never returned to the runtime, and a
 * guest whose Initialize fails gets nothing more; forwarding allocates
 * nothing (malloc, calloc and realloc are wrapped and counted).
 * usage: test_host_fanout FAKE_GUEST_LIBRARY
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "host/host.h"

/* ---- Allocation counter (the link wraps malloc, calloc, realloc) ---- */
static unsigned long allocations;
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n)
{
    allocations++;
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m)
{
    allocations++;
    return __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
    allocations++;
    return __real_realloc(p, n);
}

/* ---- The fake runtime's ICorProfilerInfo: every slot E_NOTIMPL but a few ---- */
static DWORD runtime_lo, runtime_hi;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define NOTIMPL(slot, version, name, params, args)                                                                   \
    static HRESULT STDMETHODCALLTYPE Rt_##name(ICorProfilerInfo *iface MM_ARGS params)                               \
    {                                                                                                                \
        return (HRESULT)0x80004001L;                                                                                 \
    }
MM_INFO1(NOTIMPL)
MM_INFO2_15(NOTIMPL)
#undef NOTIMPL

static HRESULT STDMETHODCALLTYPE RtQ(ICorProfilerInfo *iface, REFIID riid, void **ppv)
{
    for (int v = 1; v <= MM_INFO_NEWEST; v++)
        if (mm_guid_equal(riid, IID_ICorProfilerInfo_v[v])) {
            *ppv = iface;
            return S_OK;
        }
    *ppv = NULL;
    return E_NOINTERFACE;
}
static ULONG STDMETHODCALLTYPE RtRef(ICorProfilerInfo *iface)
{
    return 1;
}
static HRESULT STDMETHODCALLTYPE RtSetEventMask2(ICorProfilerInfo *iface, DWORD lo, DWORD hi)
{
    runtime_lo = lo;
    runtime_hi = hi;
    return S_OK;
}
#pragma GCC diagnostic pop

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
static const ICorProfilerInfoVtbl Rt_vtbl = {
#define SLOT(slot, version, name, params, args) .name = Rt_##name,
    MM_INFO1(SLOT) MM_INFO2_15(SLOT)
#undef SLOT
    .QueryInterface = RtQ,
    .AddRef = RtRef,
    .Release = RtRef,
    .SetEventMask2 = RtSetEventMask2,
};
#pragma GCC diagnostic pop
static ICorProfilerInfo runtime = {&Rt_vtbl};

#define SLOT_OF(name) MM_SLOT(ICorProfilerCallback11Vtbl, name)

int main(int argc, char **argv)
{
    REQUIRE(argc == 2);
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    REQUIRE(lib != NULL);
    unsigned long(*counts)[MM_CALLBACK_SLOTS] = dlsym(lib, "fake_counts");
    DWORD *masks = dlsym(lib, "fake_masks");
    HRESULT *results = dlsym(lib, "fake_results"), *init_results = dlsym(lib, "fake_init_results");
    REQUIRE(counts && masks && results && init_results);

    /* Guest 1 wants JIT events and fails every callback; guest 2 wants
     * exceptions and module loads; guest 3 everything (and fails every
     * callback); guest 4 asks for everything too, but its Initialize
     * fails: it is dropped, its mask out of the union. */
    masks[1] = COR_PRF_MONITOR_JIT_COMPILATION | COR_PRF_DISABLE_INLINING;
    results[1] = E_FAIL;
    masks[2] = COR_PRF_MONITOR_MODULE_LOADS | COR_PRF_MONITOR_EXCEPTIONS;
    masks[3] = 0x7FFFFFFFu;
    results[3] = E_FAIL;
    masks[4] = 0xFFFFFFFFu;
    init_results[4] = E_FAIL;
    char guests[4 * 4200];
    snprintf(guests, sizeof guests,
             "%s={FA4E0000-0000-4000-8000-000000000001};%s={FA4E0000-0000-4000-8000-000000000002};"
             "%s={FA4E0000-0000-4000-8000-000000000003};%s={FA4E0000-0000-4000-8000-000000000004}",
             argv[1], argv[1], argv[1], argv[1]);
    setenv(MMP_ENV_GUESTS, guests, 1);
    setenv(MMP_ENV_RESERVE_MB, "0", 1);
    setenv(MMP_ENV_REPORT, "/dev/null", 1);
    unsetenv(MMP_ENV_MODE);

    ICorProfilerCallback11 *h = NULL;
    REQUIRE(mmh_host_create(&IID_ICorProfilerCallback2, (void **)&h) == S_OK && h);
    mmh_host *host = (mmh_host *)((char *)h - offsetof(mmh_host, ICorProfilerCallback11_iface));
    /* A guest's failure is not the runtime's. */
    REQUIRE(h->lpVtbl->Initialize(h, (IUnknown *)&runtime) == S_OK);
    CHECK(counts[1][3] == 1 && counts[2][3] == 1 && counts[3][3] == 1 && counts[4][3] == 1);
    CHECK(host->nguests == 4);
    CHECK(atomic_load(&host->guests[3].state) == MMH_FAILED && strstr(host->guests[3].why, "Initialize: 0x80004005"));
    CHECK(atomic_load(&host->guests[0].state) == MMH_ACTIVE && atomic_load(&host->guests[2].state) == MMH_ACTIVE);
    CHECKF(runtime_lo == (MMH_OWN_MASK_LO | 0x7FFFFFFFu), "runtime mask 0x%08x", (unsigned)runtime_lo);

    /* Forwarding: JIT events to guest 1 (and 3, which asked for all),
     * module events to guest 2 (and 3), none to a guest that did not ask. */
    unsigned long before = allocations;
    for (int i = 0; i < 100000; i++) {
        CHECK(h->lpVtbl->JITCompilationStarted(h, 0x1000 + i, 1) == S_OK);
        h->lpVtbl->ExceptionThrown(h, 0x2000);
        h->lpVtbl->ThreadCreated(h, 0x3000);
    }
    CHECKF(allocations == before, "%lu allocations while forwarding 300000 callbacks", allocations - before);
    CHECK(counts[1][SLOT_OF(JITCompilationStarted)] == 100000);
    CHECK(counts[2][SLOT_OF(JITCompilationStarted)] == 0);
    CHECK(counts[3][SLOT_OF(JITCompilationStarted)] == 100000);
    CHECK(counts[1][SLOT_OF(ExceptionThrown)] == 0);
    CHECK(counts[2][SLOT_OF(ExceptionThrown)] == 100000);
    /* Threads: only guest 3 asked (4, which asked too, is dropped). */
    CHECK(counts[1][SLOT_OF(ThreadCreated)] == 0 && counts[2][SLOT_OF(ThreadCreated)] == 0);
    CHECK(counts[3][SLOT_OF(ThreadCreated)] == 100000);
    CHECK(counts[4][SLOT_OF(ThreadCreated)] == 0 && counts[4][SLOT_OF(JITCompilationStarted)] == 0);
    CHECK(atomic_load(&host->guests[0].callback_errors) == 100000);
    CHECK(atomic_load(&host->guests[2].callback_errors) == 300000);
    CHECK(atomic_load(&host->guests[1].callback_errors) == 0);

    /* A guest that narrows its mask later stops receiving; the runtime's
     * mask follows. */
    ICorProfilerInfo **infos = dlsym(lib, "fake_infos");
    REQUIRE(infos && infos[3]);
    results[3] = S_OK;
    CHECK(infos[3]->lpVtbl->SetEventMask(infos[3], COR_PRF_MONITOR_JIT_COMPILATION) == S_OK);
    DWORD got = 0;
    CHECK(infos[3]->lpVtbl->GetEventMask(infos[3], &got) == S_OK && got == COR_PRF_MONITOR_JIT_COMPILATION);
    h->lpVtbl->ThreadCreated(h, 0x3000);
    CHECK(counts[3][SLOT_OF(ThreadCreated)] == 100000);
    CHECKF(runtime_lo == (COR_PRF_MONITOR_JIT_COMPILATION | COR_PRF_DISABLE_INLINING | COR_PRF_MONITOR_MODULE_LOADS
                          | COR_PRF_MONITOR_EXCEPTIONS | MMH_OWN_MASK_LO),
           "runtime mask after a guest narrowed its own: 0x%08x", (unsigned)runtime_lo);
    /* Every info version the runtime answers, and no other interface. */
    void *p = NULL;
    for (int v = 1; v <= MM_INFO_NEWEST; v++)
        CHECKF(infos[3]->lpVtbl->QueryInterface(infos[3], IID_ICorProfilerInfo_v[v], &p) == S_OK && p == infos[3],
               "info version %d", v);
    CHECK(infos[3]->lpVtbl->QueryInterface(infos[3], &IID_IClassFactory, &p) == E_NOINTERFACE);
    /* Forwarded methods reach the runtime: its answer comes back. */
    ClassID cls;
    CHECK(infos[3]->lpVtbl->GetClassFromObject(infos[3], 0x1234, &cls) == (HRESULT)0x80004001L);

    /* Shutdown reaches every active guest. */
    CHECK(h->lpVtbl->Shutdown(h) == S_OK);
    CHECK(counts[1][SLOT_OF(Shutdown)] == 1 && counts[2][SLOT_OF(Shutdown)] == 1 && counts[3][SLOT_OF(Shutdown)] == 1);
    CHECK(counts[4][SLOT_OF(Shutdown)] == 0);
    return check_done();
}
