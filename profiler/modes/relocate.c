/*
 * Relocate and runtime modes: before a method is first compiled, copy its
 * IL body (header, code, exception sections) unchanged into a block from its
 * module's allocator and point the runtime at the copy.  Relocate mode's
 * allocator is methodmalloc's; runtime mode's is the runtime's own
 * GetILFunctionBodyAllocator, for comparison.
 */
#include <stdio.h>
#include <string.h>

#include "methodmalloc_il.h"
#include "profiler.h"

int mmp_method_claim(mmp_profiler *p, FunctionID fn, ModuleID *mod, mdToken *token, mmp_target *t)
{
    ICorProfilerInfo *info = p->info;
    mmp_counters *c = &p->counters;
    ClassID cls;

    if (FAILED(info->lpVtbl->GetFunctionInfo(info, fn, &cls, mod, token))) {
        mmp_not_relocated(c, MMP_NOT_FUNCTION_INFO);
        return -1;
    }
    switch (mmp_modules_claim(&p->modules, *mod, *token, t)) {
    case MMP_CLAIM_AGAIN:
        atomic_fetch_add(&c->repeats, 1);
        return -1;
    case MMP_CLAIM_NO_MODULE:
        mmp_not_relocated(c, MMP_NOT_MODULE);
        return -1;
    case MMP_CLAIM_NEW:
        break;
    }
    if (!t->base || !t->alloc) {
        mmp_not_relocated(c, MMP_NOT_DYNAMIC);
        return -1;
    }
    return 0;
}

int mmp_method_body(mmp_profiler *p, ModuleID mod, mdToken token, const mmp_target *t, LPCBYTE *body, size_t *size)
{
    ICorProfilerInfo *info = p->info;
    mmp_counters *c = &p->counters;
    ULONG reported;
    size_t bound;

    if (FAILED(info->lpVtbl->GetILFunctionBody(info, mod, token, body, &reported)) || !*body) {
        mmp_not_relocated(c, MMP_NOT_NO_IL);
        return -1;
    }
    /* The body's own headers say how long it is; never read past the image
     * (when the body lies inside it) to learn that. */
    bound = MM_IL_UNBOUNDED;
    if (t->image_end && *body >= t->base && *body < t->image_end)
        bound = (size_t)(t->image_end - *body);
    if (mm_il_extent(*body, bound, size, NULL) != S_OK) {
        mmp_not_relocated(c, MMP_NOT_BAD_BODY);
        return -1;
    }
    /* The runtime measured the same body its own way: both must agree, or
     * one of us misreads the sections and the copy would be cut short. */
    if (*size != reported) {
        mmp_not_relocated(c, MMP_NOT_SIZE_MISMATCH);
        return -1;
    }
    if (mm_il_validate(*body, *size, NULL) != S_OK)
        atomic_fetch_add(&c->il_warnings, 1);
    return 0;
}

uint8_t *mmp_method_block(mmp_profiler *p, const mmp_target *t, mdToken token, size_t size)
{
    mmp_counters *c = &p->counters;
    uint8_t *block = t->alloc->lpVtbl->Alloc(t->alloc, (ULONG)size);

    if (!block) {
        if (atomic_load(&c->refused) == 0)
            mmp_reserve_trace(&p->reserve, &p->cfg);
        mmp_trace(&p->cfg, "Alloc(%zu) refused for method 0x%08x of the module at %p", size, (unsigned)token,
                  (const void *)t->base);
        atomic_fetch_add(&c->refused, 1);
        mmp_not_relocated(c, MMP_NOT_ALLOC);
        return NULL;
    }
    /* methodmalloc promises the window, so a block outside it is a bug and
     * is not used.  The runtime's own allocator (CoreCLR's takes ordinary
     * heap memory) is counted but trusted: the runtime accepts what it
     * allocated itself, and runtime mode exists to compare with it. */
    if (!mmp_in_window(t->base, block, size)) {
        atomic_fetch_add(&c->violations, 1);
        if (p->cfg.mode != MMP_MODE_RUNTIME) {
            mmp_not_relocated(c, MMP_NOT_WINDOW);
            return NULL;
        }
    }
    return block;
}

int mmp_method_set(mmp_profiler *p, ModuleID mod, mdToken token, const uint8_t *block, size_t size)
{
    if (FAILED(p->info->lpVtbl->SetILFunctionBody(p->info, mod, token, block))) {
        mmp_not_relocated(&p->counters, MMP_NOT_SET_FAILED);
        return -1;
    }
    atomic_fetch_add(&p->counters.served, 1);
    atomic_fetch_add(&p->counters.bytes, size);
    return 0;
}

void mmp_relocate(mmp_profiler *p, FunctionID fn)
{
    ModuleID mod;
    mdToken token;
    mmp_target t;
    LPCBYTE body;
    size_t size;
    uint8_t *copy;

    if (mmp_method_claim(p, fn, &mod, &token, &t) != 0 || mmp_method_body(p, mod, token, &t, &body, &size) != 0
        || !(copy = mmp_method_block(p, &t, token, size)))
        return;
    memcpy(copy, body, size);
    (void)mmp_method_set(p, mod, token, copy, size);
}
