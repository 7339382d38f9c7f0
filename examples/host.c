/* A host's view of methodmalloc: what a runtime host or profiler multiplexer
 * does when it hands out IMethodMalloc itself.  It opens the IL heap of two
 * modules loaded in this process, gives a profiler-like caller each one's
 * allocator, writes a method body into a block, and unloads the modules. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr */
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "methodmalloc.h"
#include "methodmalloc_il.h"

/* What a profiler does with the allocator it was given: a new body for
 * `int Answer()` that returns 42 (ldc.i4.s 42; ret), written into a block. */
static int rewrite_answer(IMethodMalloc *alloc, const void *base)
{
    static const uint8_t code[] = {0x1F, 42, 0x2A};
    mm_il_body body = {.header = MM_IL_HEADER_AUTO, .max_stack = 1, .code = code, .code_size = sizeof code};
    void *block;
    size_t size;
    mm_il_error err;
    HRESULT hr = mm_il_encode_alloc(alloc, &body, &block, &size, &err);
    if (FAILED(hr)) {
        fprintf(stderr, "encode failed: %s at offset %u\n", err.message, err.offset);
        return 1;
    }
    printf("  Answer() body: %zu bytes at RVA 0x%lx:", size, (unsigned long)((uintptr_t)block - (uintptr_t)base));
    for (size_t i = 0; i < size; i++)
        printf(" %02X", ((uint8_t *)block)[i]);
    printf("\n");
    return 0;
}

static int demo_module(const char *name, const void *base)
{
    mm_module *m;
    IMethodMalloc *alloc;
    HRESULT hr = mm_module_open(base, NULL, &m);
    if (FAILED(hr) || FAILED(hr = mm_module_allocator(m, &alloc))) {
        fprintf(stderr, "%s: mm_module_open: 0x%08X\n", name, (unsigned)hr);
        return 1;
    }
    printf("%s loaded at %p\n", name, base);
    int rc = rewrite_answer(alloc, base);
    /* Many more bodies, as a profiler rewriting a whole module would. */
    for (ULONG i = 0; i < 10000 && !rc; i++) {
        ULONG cb = 12 + i % 500;
        void *p = alloc->lpVtbl->Alloc(alloc, cb);
        if (p)
            memset(p, 0x2A, cb);
        rc = p == NULL;
    }
    /* The profiler drops its reference: the bodies stay, the runtime may run them. */
    alloc->lpVtbl->Release(alloc);
    mm_stats st;
    mm_module_stats(m, &st);
    printf("  %llu bytes handed out in %llu chunk(s), %llu KiB reserved, %llu KiB resident,\n"
           "  every block between RVA 0x%llx and 0x%llx (window 0x%x)\n",
           (unsigned long long)st.bytes_allocated, (unsigned long long)st.chunks,
           (unsigned long long)st.bytes_reserved >> 10, (unsigned long long)st.bytes_resident >> 10,
           (unsigned long long)st.lowest_rva, (unsigned long long)st.highest_rva, MM_DEFAULT_MAX_RVA);
    /* The module unloads: everything is released at once. */
    mm_module_close(m);
    printf("  unloaded: all its bodies released\n");
    return rc;
}

static int anchor;

int main(void)
{
    Dl_info exe, libc;
    if (!dladdr(&anchor, &exe) || !dladdr(stdout, &libc)) {
        fprintf(stderr, "dladdr failed\n");
        return 1;
    }
    printf("methodmalloc %s: per-module IL heaps\n\n", mm_version());
    int rc = demo_module(exe.dli_fname, exe.dli_fbase);
    rc |= demo_module(libc.dli_fname, libc.dli_fbase);
    return rc;
}
