/*
 * Test guests: one library of small CLR profilers whose class ID chooses
 * what each does.  Each is a real profiler, which the runtime can load
 * alone (CORECLR_PROFILER_PATH), and the guest through which
 * tests/host_guests.sh proves the host: rewrites that compose in order, and
 * guests that fail in each way the host must survive.
 *
 *   mul2      {0BE57001-0000-4000-8000-000000000001}
 *   add1      {0BE57002-0000-4000-8000-000000000002}
 *             rewrite App.Calc::Answer (the answer sample) when its module
 *             loads: the body GetILFunctionBody shows them, with
 *             "ldc.i4.2; mul" (mul2) or "ldc.i4.1; add" (add1) before every
 *             ret, emitted by the IL rewriter into a block of the allocator
 *             GetILFunctionBodyAllocator gives, then SetILFunctionBody.
 *   initfail  {0BE57003-0000-4000-8000-000000000003}
 *             asks for module loads, then fails Initialize (E_FAIL).
 *   cberr     {0BE57004-0000-4000-8000-000000000004}
 *             asks for many events and returns E_FAIL from every callback.
 *   badstack  {0BE57005-0000-4000-8000-000000000005}
 *             sets Answer's body to "add; ret" (stack underflow), in a
 *             block of the allocator.
 *   outside   {0BE57006-0000-4000-8000-000000000006}
 *             sets a valid body ("ldc.i4.s 99; ret") in a page mapped
 *             outside the module's window (base, base + 2 GiB].
 *   badheader {0BE57009-0000-4000-8000-000000000009}
 *             sets a body whose fat header says it is 2 dwords long (a fat
 *             header is 3), in a block of the allocator: its extent does
 *             not decode.
 *   mul2-jit  {0BE57007-0000-4000-8000-000000000007}
 *   add1-jit  {0BE57008-0000-4000-8000-000000000008}
 *             mul2 and add1, rewriting in JITCompilationStarted (as
 *             instrumentation engines do) instead of at module load.
 *
 * Every guest that sets a body prints one line on stderr,
 *   testguest: NAME App.Calc::Answer token=0x06xxxxxx saw=HEX set=HEX hr=0xXXXXXXXX
 * saw: the whole body GetILFunctionBody gave (header included); set: the
 * whole body handed to SetILFunctionBody; hr: what SetILFunctionBody said.
 * A test compares one guest's saw with the previous guest's set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clrapi.h"
#include "common.h"
#include "methodmalloc_ilrw.h"

/* The method the rewriting guests look for, in every module that has it. */
#define TG_TYPE u"App.Calc"
#define TG_METHOD u"Answer"
#define TG_NAME "App.Calc::Answer"

typedef enum tg_kind { TG_MUL2, TG_ADD1, TG_INITFAIL, TG_CBERR, TG_BADSTACK, TG_OUTSIDE, TG_BADHEADER } tg_kind;

/* One class: its factory (a static object) and what its instances do;
 * at_jit: the body is set in JITCompilationStarted, not at module load. */
typedef struct tg_class {
    IClassFactory IClassFactory_iface;
    GUID clsid;
    tg_kind kind;
    int at_jit;
    const char *name;
} tg_class;

typedef struct tg_guest {
    ICorProfilerCallback2 ICorProfilerCallback2_iface;
    mm_refcount ref;
    const tg_class *cls;
    ICorProfilerInfo *info;
    atomic_int done; /* at_jit: Answer has its body (a later tier keeps it) */
} tg_guest;

static inline tg_guest *impl_from_ICorProfilerCallback2(ICorProfilerCallback2 *iface)
{
    return (tg_guest *)((char *)iface - offsetof(tg_guest, ICorProfilerCallback2_iface));
}

static inline tg_class *impl_from_IClassFactory(IClassFactory *iface)
{
    return (tg_class *)((char *)iface - offsetof(tg_class, IClassFactory_iface));
}

/* What every callback without work of its own returns. */
static HRESULT verdict(ICorProfilerCallback2 *iface)
{
    return impl_from_ICorProfilerCallback2(iface)->cls->kind == TG_CBERR ? E_FAIL : S_OK;
}

/* ---- The bodies ---- */

static void hex(char *out, size_t cap, const uint8_t *p, size_t n)
{
    size_t k;
    out[0] = 0;
    for (k = 0; k < n && 2 * k + 2 < cap; k++)
        snprintf(out + 2 * k, 3, "%02X", p[k]);
}

/* The previous body with "push; op" before every ret, in a block of alloc. */
static HRESULT compose(tg_kind kind, const uint8_t *old, size_t old_size, IMethodMalloc *alloc, void **block,
                       size_t *size, mm_il_error *err)
{
    uint16_t push = kind == TG_MUL2 ? 0x18 /* ldc.i4.2 */ : 0x17 /* ldc.i4.1 */;
    uint16_t op = kind == TG_MUL2 ? 0x5A /* mul */ : 0x58 /* add */;
    mm_il_method *m = NULL;
    mm_il_method_header h;
    HRESULT hr = mm_il_method_create(&m);

    if (SUCCEEDED(hr))
        hr = mm_il_method_read(m, old, old_size, err);
    for (mm_il_instr *i = SUCCEEDED(hr) ? mm_il_first(m) : NULL; i; i = i->next) {
        if (i->opcode != MM_IL_RET)
            continue;
        mm_il_instr *a = mm_il_new(m, push), *b = mm_il_new(m, op);
        if (!a || !b) {
            hr = E_OUTOFMEMORY;
            break;
        }
        /* A branch to the ret now reaches the push, then the op. */
        hr = mm_il_insert_before(m, i, a, MM_IL_RETARGET, err);
        if (SUCCEEDED(hr))
            hr = mm_il_insert_before(m, i, b, MM_IL_KEEP, err);
        if (FAILED(hr))
            break;
    }
    if (SUCCEEDED(hr)) {
        /* The constant sits on the return value. */
        mm_il_get_header(m, &h);
        if (h.max_stack < 0xFFFF)
            h.max_stack++;
        hr = mm_il_set_header(m, &h);
    }
    if (SUCCEEDED(hr))
        hr = mm_il_method_emit_alloc(m, alloc, block, size, err);
    mm_il_method_destroy(m);
    return hr;
}

/* A page outside the module's window (base, base + 2 GiB]: below the image
 * if room is free there, else above the window.  Left mapped, as the
 * runtime may read it late. */
static void *outside_window(ICorProfilerInfo *info, ModuleID mod)
{
    static const uintptr_t below[] = {64u << 20, 1u << 30}, above = (uintptr_t)1 << 32;
    LPCBYTE base = NULL;
    WCHAR name[260];
    ULONG cch = 0;
    AssemblyID assembly;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), at[3];
    size_t n = 0;

    if (FAILED(info->lpVtbl->GetModuleInfo(info, mod, &base, 260, &cch, name, &assembly)) || !base)
        return NULL;
    for (size_t k = 0; k < 2; k++)
        if ((uintptr_t)base > 2 * below[k])
            at[n++] = ((uintptr_t)base - below[k]) & ~(page - 1);
    at[n++] = ((uintptr_t)base + above) & ~(page - 1);
    for (size_t k = 0; k < n; k++) {
        uint8_t *p = mmap((void *)at[k], page, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == MAP_FAILED)
            continue;
        /* An old kernel takes MAP_FIXED_NOREPLACE as a mere hint. */
        if (p > base && (uintptr_t)(p + page - base) <= 0x7FFFFFFFu) {
            munmap(p, page);
            continue;
        }
        return p;
    }
    return NULL;
}

/* n bytes copied into a block of alloc, or NULL with err said. */
static void *copy_to_block(IMethodMalloc *alloc, const uint8_t *bytes, size_t n, mm_il_error *err)
{
    void *block = alloc->lpVtbl->Alloc(alloc, (ULONG)n);
    if (block)
        memcpy(block, bytes, n);
    else
        snprintf(err->message, sizeof err->message, "Alloc(%zu) returned NULL", n);
    return block;
}

static void set_body(tg_guest *g, ModuleID mod, mdMethodDef token)
{
    /* add; ret (tiny header, 2 bytes of code): add finds an empty stack. */
    static const uint8_t underflow[] = {0x0A, 0x58, 0x2A};
    /* ldc.i4.s 99; ret: valid, wherever it lies. */
    static const uint8_t ninety_nine[] = {0x0E, 0x1F, 0x63, 0x2A};
    /* A fat header that says it is 2 dwords long (a fat header is 3),
     * max stack 8, 2 bytes of code, then ldc.i4.1; ret. */
    static const uint8_t short_fat[] = {0x03, 0x20, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00,
                                        0x00, 0x00, 0x00, 0x00, 0x17, 0x2A};
    ICorProfilerInfo *info = g->info;
    LPCBYTE old = NULL;
    ULONG old_size = 0;
    IMethodMalloc *alloc = NULL;
    void *block = NULL;
    size_t size = 0;
    mm_il_error err = {0, 0, {0}};
    char saw[256], set[256];
    HRESULT hr;

    hr = info->lpVtbl->GetILFunctionBody(info, mod, token, &old, &old_size);
    if (FAILED(hr)) {
        fprintf(stderr, "testguest: %s %s: GetILFunctionBody: 0x%08x\n", g->cls->name, TG_NAME, (unsigned)hr);
        return;
    }
    hr = info->lpVtbl->GetILFunctionBodyAllocator(info, mod, &alloc);
    if (FAILED(hr)) {
        fprintf(stderr, "testguest: %s %s: GetILFunctionBodyAllocator: 0x%08x\n", g->cls->name, TG_NAME,
                (unsigned)hr);
        return;
    }
    switch (g->cls->kind) {
    case TG_MUL2:
    case TG_ADD1:
        if (FAILED(compose(g->cls->kind, old, old_size, alloc, &block, &size, &err)))
            block = NULL;
        break;
    case TG_BADSTACK: block = copy_to_block(alloc, underflow, size = sizeof underflow, &err); break;
    case TG_BADHEADER: block = copy_to_block(alloc, short_fat, size = sizeof short_fat, &err); break;
    case TG_OUTSIDE:
        size = sizeof ninety_nine;
        if ((block = outside_window(info, mod)))
            memcpy(block, ninety_nine, size);
        else
            snprintf(err.message, sizeof err.message, "no free page outside the window");
        break;
    default: break;
    }
    alloc->lpVtbl->Release(alloc);
    if (!block) {
        fprintf(stderr, "testguest: %s %s: no new body: %s\n", g->cls->name, TG_NAME, err.message);
        return;
    }
    hr = info->lpVtbl->SetILFunctionBody(info, mod, token, block);
    hex(saw, sizeof saw, old, old_size);
    hex(set, sizeof set, block, size);
    fprintf(stderr, "testguest: %s %s token=0x%08x saw=%s set=%s hr=0x%08x\n", g->cls->name, TG_NAME,
            (unsigned)token, saw, set, (unsigned)hr);
}

/* Sets a body for every App.Calc::Answer of the module (none in most), or
 * only for the method `only` when it is one of them. */
static void set_bodies(tg_guest *g, ModuleID mod, mdMethodDef only)
{
    ICorProfilerInfo *info = g->info;
    IUnknown *unk = NULL;
    IMetaDataImport *md;
    HCORENUM e = NULL;
    mdTypeDef type;
    mdMethodDef methods[4];
    ULONG n = 0;

    if (info->lpVtbl->GetModuleMetaData(info, mod, MM_OF_READ, &IID_IMetaDataImport, &unk) != S_OK || !unk)
        return;
    md = (IMetaDataImport *)unk;
    if (md->lpVtbl->FindTypeDefByName(md, TG_TYPE, 0, &type) == S_OK &&
        md->lpVtbl->EnumMethodsWithName(md, &e, type, TG_METHOD, methods, 4, &n) == S_OK)
        for (ULONG i = 0; i < n; i++)
            if (!only || (methods[i] == only && !atomic_exchange(&g->done, 1)))
                set_body(g, mod, methods[i]);
    if (e)
        md->lpVtbl->CloseEnum(md, e);
    md->lpVtbl->Release(md);
}

/* ---- ICorProfilerCallback2 ---- */

static ULONG STDMETHODCALLTYPE Guest_AddRef(ICorProfilerCallback2 *iface)
{
    return mm_ref_add(&impl_from_ICorProfilerCallback2(iface)->ref);
}

/* Versions 1 and 2 only: a runtime asking for 3 and up hears no. */
static HRESULT STDMETHODCALLTYPE Guest_QueryInterface(ICorProfilerCallback2 *iface, REFIID riid, void **ppv)
{
    static const IID *const answers[] = {&IID_IUnknown, &IID_ICorProfilerCallback, &IID_ICorProfilerCallback2};
    HRESULT hr = mm_com_answers(riid, ppv, answers, 3);
    if (hr == S_OK) {
        Guest_AddRef(iface);
        *ppv = iface;
    }
    return hr;
}

static ULONG STDMETHODCALLTYPE Guest_Release(ICorProfilerCallback2 *iface)
{
    tg_guest *g = impl_from_ICorProfilerCallback2(iface);
    ULONG ref = mm_ref_release(&g->ref);
    if (ref == 0) {
        if (g->info)
            g->info->lpVtbl->Release(g->info);
        free(g);
    }
    return ref;
}

static HRESULT STDMETHODCALLTYPE Guest_Initialize(ICorProfilerCallback2 *iface, IUnknown *unk)
{
    tg_guest *g = impl_from_ICorProfilerCallback2(iface);
    DWORD mask = COR_PRF_MONITOR_MODULE_LOADS;
    HRESULT hr;

    hr = unk->lpVtbl->QueryInterface(unk, &IID_ICorProfilerInfo, (void **)&g->info);
    if (FAILED(hr)) {
        g->info = NULL;
        return hr;
    }
    if (g->cls->at_jit)
        mask |= COR_PRF_MONITOR_JIT_COMPILATION;
    if (g->cls->kind == TG_CBERR)
        mask |= COR_PRF_MONITOR_CLASS_LOADS | COR_PRF_MONITOR_ASSEMBLY_LOADS | COR_PRF_MONITOR_APPDOMAIN_LOADS |
                COR_PRF_MONITOR_JIT_COMPILATION | COR_PRF_MONITOR_EXCEPTIONS | COR_PRF_MONITOR_THREADS;
    hr = g->info->lpVtbl->SetEventMask(g->info, mask);
    /* Having asked for events, as a profiler that fails late would have. */
    if (g->cls->kind == TG_INITFAIL)
        return E_FAIL;
    return hr;
}

static HRESULT STDMETHODCALLTYPE Guest_ModuleLoadFinished(ICorProfilerCallback2 *iface, ModuleID mod, HRESULT status)
{
    tg_guest *g = impl_from_ICorProfilerCallback2(iface);
    switch (g->cls->kind) {
    case TG_INITFAIL:
        /* Nobody may call a profiler whose Initialize failed. */
        fprintf(stderr, "testguest: initfail: called after its Initialize failed\n");
        break;
    case TG_CBERR: break;
    default:
        if (SUCCEEDED(status) && !g->cls->at_jit)
            set_bodies(g, mod, 0);
    }
    return verdict(iface);
}

static HRESULT STDMETHODCALLTYPE Guest_JITCompilationStarted(ICorProfilerCallback2 *iface, FunctionID fn,
                                                             BOOL safe_to_block)
{
    tg_guest *g = impl_from_ICorProfilerCallback2(iface);
    ClassID cls;
    ModuleID mod;
    mdToken token;
    (void)safe_to_block;
    if (g->cls->at_jit && !atomic_load(&g->done) &&
        SUCCEEDED(g->info->lpVtbl->GetFunctionInfo(g->info, fn, &cls, &mod, &token)))
        set_bodies(g, mod, token);
    return verdict(iface);
}

/* The other callbacks: no work, only the verdict (E_FAIL for cberr). */
#define MM_CALLBACK_DEFAULT(iface) verdict(iface)
MM_CALLBACK2_DEFAULTS

/* Every slot the verdict alone but the methods above, each in the slot of
 * its name. */
MM_OVERRIDE_SLOTS_BEGIN
static const ICorProfilerCallback2Vtbl Guest_vtbl = {
    MM_CALLBACK2_DEFAULT_SLOTS
    .QueryInterface = Guest_QueryInterface,
    .AddRef = Guest_AddRef,
    .Release = Guest_Release,
    .Initialize = Guest_Initialize,
    .ModuleLoadFinished = Guest_ModuleLoadFinished,
    .JITCompilationStarted = Guest_JITCompilationStarted,
};
MM_OVERRIDE_SLOTS_END

/* ---- The class factories and the entry point ---- */

static HRESULT STDMETHODCALLTYPE Factory_QueryInterface(IClassFactory *iface, REFIID riid, void **ppv)
{
    static const IID *const answers[] = {&IID_IUnknown, &IID_IClassFactory};
    HRESULT hr = mm_com_answers(riid, ppv, answers, 2);
    /* A static object: its reference count is nominal. */
    if (hr == S_OK)
        *ppv = iface;
    return hr;
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

static HRESULT STDMETHODCALLTYPE Factory_CreateInstance(IClassFactory *iface, IUnknown *outer, REFIID riid,
                                                        void **ppv)
{
    tg_guest *g;
    HRESULT hr;

    if (!ppv)
        return E_POINTER;
    *ppv = NULL;
    if (outer)
        return MM_CLASS_E_NOAGGREGATION;
    if (!(g = calloc(1, sizeof *g)))
        return E_OUTOFMEMORY;
    g->ICorProfilerCallback2_iface.lpVtbl = &Guest_vtbl;
    g->cls = impl_from_IClassFactory(iface);
    atomic_init(&g->ref, 1);
    atomic_init(&g->done, 0);
    hr = Guest_QueryInterface(&g->ICorProfilerCallback2_iface, riid, ppv);
    /* Drops the creation reference: frees g when QueryInterface failed. */
    Guest_Release(&g->ICorProfilerCallback2_iface);
    return hr;
}

static HRESULT STDMETHODCALLTYPE Factory_LockServer(IClassFactory *iface, BOOL lock)
{
    (void)iface;
    (void)lock;
    return S_OK;
}

static const IClassFactoryVtbl Factory_vtbl = {
    Factory_QueryInterface, Factory_AddRef, Factory_Release, Factory_CreateInstance, Factory_LockServer,
};

#define TG_CLSID(n) {0x0BE57000 + (n), 0x0000, 0x4000, {0x80, 0x00, 0, 0, 0, 0, 0, (n)}}
static tg_class classes[] = {
    {{&Factory_vtbl}, TG_CLSID(1), TG_MUL2, 0, "mul2"},
    {{&Factory_vtbl}, TG_CLSID(2), TG_ADD1, 0, "add1"},
    {{&Factory_vtbl}, TG_CLSID(3), TG_INITFAIL, 0, "initfail"},
    {{&Factory_vtbl}, TG_CLSID(4), TG_CBERR, 0, "cberr"},
    {{&Factory_vtbl}, TG_CLSID(5), TG_BADSTACK, 0, "badstack"},
    {{&Factory_vtbl}, TG_CLSID(6), TG_OUTSIDE, 0, "outside"},
    {{&Factory_vtbl}, TG_CLSID(7), TG_MUL2, 1, "mul2-jit"},
    {{&Factory_vtbl}, TG_CLSID(8), TG_ADD1, 1, "add1-jit"},
    {{&Factory_vtbl}, TG_CLSID(9), TG_BADHEADER, 0, "badheader"},
};

__attribute__((visibility("default"))) HRESULT STDMETHODCALLTYPE DllGetClassObject(REFCLSID rclsid, REFIID riid,
                                                                                   void **ppv)
{
    if (!ppv)
        return E_POINTER;
    *ppv = NULL;
    for (size_t i = 0; rclsid && i < sizeof classes / sizeof classes[0]; i++)
        if (mm_guid_equal(rclsid, &classes[i].clsid))
            return Factory_QueryInterface(&classes[i].IClassFactory_iface, riid, ppv);
    return MM_CLASS_E_CLASSNOTAVAILABLE;
}
