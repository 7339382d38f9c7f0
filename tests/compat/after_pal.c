/* methodmalloc.h after the platform's definitions, in C: it compiles, and its
 * IMethodMalloc works. */
#include "pal_like.h"
#include "methodmalloc.h"

#include <stdio.h>

int main(void)
{
    static int anchor;
    mm_module *m;
    IMethodMalloc *mal;
    if (mm_module_open(&anchor, NULL, &m) != S_OK || mm_module_allocator(m, &mal) != S_OK)
        return 1;
    void *p = mal->lpVtbl->Alloc(mal, 100);
    IUnknown *unk = NULL;
    HRESULT hr = mal->lpVtbl->QueryInterface(mal, &IID_IUnknown, (void **)&unk);
    int ok = p && hr == S_OK && unk && unk->lpVtbl->Release(unk) == 2 && mal->lpVtbl->Release(mal) == 1;
    mm_module_close(m);
    printf("C after PAL-like headers: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
