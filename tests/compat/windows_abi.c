/* methodmalloc on Windows, compiled by mingw-w64 for x86-64 and for i686:
 * the header after the Windows SDK's own COM headers, Alloc's slot
 * __stdcall on 32-bit as corprof.h has it, and a program using the library
 * (with os_windows.c) that links.  Built by tests/windows_build.sh. */
#include <windows.h>
#include <objbase.h>

#include "methodmalloc.h"

#include <stdio.h>

/* Assigning these to the vtable's slots fails to compile (-Werror) if the
 * slots' calling convention is not __stdcall where that matters (i686). */
static PVOID __stdcall stdcall_alloc(IMethodMalloc *This, ULONG cb)
{
    (void)This;
    (void)cb;
    return NULL;
}
static HRESULT __stdcall stdcall_qi(IMethodMalloc *This, REFIID riid, void **ppv)
{
    (void)This;
    (void)riid;
    *ppv = NULL;
    return E_NOINTERFACE;
}
static ULONG __stdcall stdcall_ref(IMethodMalloc *This)
{
    (void)This;
    return 1;
}
static const IMethodMallocVtbl stdcall_vtbl = {stdcall_qi, stdcall_ref, stdcall_ref, stdcall_alloc};

_Static_assert(sizeof(IID) == 16, "IID is 16 bytes");
_Static_assert(sizeof(HRESULT) == 4 && sizeof(ULONG) == 4, "HRESULT and ULONG are 32-bit");

int main(void)
{
    const void *base = GetModuleHandleW(NULL);
    mm_module *m;
    IMethodMalloc *mal;
    if (FAILED(mm_module_open(base, NULL, &m)) || FAILED(mm_module_allocator(m, &mal)))
        return 1;
    char *p = mal->lpVtbl->Alloc(mal, 100);
    int ok = p && (uintptr_t)p > (uintptr_t)base && (uintptr_t)p + 100 - (uintptr_t)base <= MM_DEFAULT_MAX_RVA;
    mal->lpVtbl->Release(mal);
    mm_module_close(m);
    ok = ok && stdcall_vtbl.Alloc(NULL, 1) == NULL;
    printf("%s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
