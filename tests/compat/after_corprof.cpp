// methodmalloc.h after corprof.h-style C++ declarations: our object is used
// as the runtime's IMethodMalloc*, through C++ virtual calls (same ABI).
#include "pal_like.h"
#include "methodmalloc.h"

#include <cstdio>
#include <cstring>

int main()
{
    static int anchor;
    mm_module *m;
    IMethodMalloc *mal = nullptr;  // the C++ interface of pal_like.h
    if (mm_module_open(&anchor, nullptr, &m) != S_OK || mm_module_allocator(m, &mal) != S_OK)
        return 1;
    char *p = static_cast<char *>(mal->Alloc(64));
    bool ok = p != nullptr;
    if (p)
        std::memset(p, 1, 64);
    ok = ok && mal->Alloc(0) == nullptr;
    void *pv = nullptr;
    ok = ok && mal->QueryInterface(IID_IMethodMalloc, &pv) == S_OK && pv == mal;
    ok = ok && mal->Release() == 2 && mal->AddRef() == 3 && mal->Release() == 2;
    pv = &pv;
    static const IID other = {1, 2, 3, {4, 5, 6, 7, 8, 9, 10, 11}};
    ok = ok && mal->QueryInterface(other, &pv) == E_NOINTERFACE && pv == nullptr;
    mal->Release();
    mm_module_close(m);
    std::printf("C++ after corprof-like headers: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
