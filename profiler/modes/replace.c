/*
 * Replace mode: when a module loads, look the named type and method up in
 * its metadata and give every method of that name the new body, encoded with
 * the IL body API into a block of the module's methodmalloc heap.  Doing it at
 * load time, before any code of the module runs, means no caller can have
 * been compiled with the old body inlined.
 */
#include <stdio.h>
#include <string.h>

#include "methodmalloc_il.h"
#include "profiler.h"

/* UTF-8 to NUL-terminated UTF-16.  Returns 0, or -1 if it does not fit or
 * the text is not UTF-8. */
static int to_utf16(const char *s, WCHAR *out, size_t cap)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = 0;

    while (*u) {
        uint32_t cp;
        int extra;
        if (*u < 0x80) {
            cp = *u;
            extra = 0;
        } else if ((*u & 0xE0) == 0xC0) {
            cp = *u & 0x1F;
            extra = 1;
        } else if ((*u & 0xF0) == 0xE0) {
            cp = *u & 0x0F;
            extra = 2;
        } else if ((*u & 0xF8) == 0xF0) {
            cp = *u & 0x07;
            extra = 3;
        } else {
            return -1;
        }
        u++;
        for (; extra > 0; extra--, u++) {
            if ((*u & 0xC0) != 0x80)
                return -1;
            cp = cp << 6 | (*u & 0x3F);
        }
        if (cp >= 0x10000) {
            if (n + 2 >= cap)
                return -1;
            cp -= 0x10000;
            out[n++] = (WCHAR)(0xD800 + (cp >> 10));
            out[n++] = (WCHAR)(0xDC00 + (cp & 0x3FF));
        } else {
            if (n + 1 >= cap)
                return -1;
            out[n++] = (WCHAR)cp;
        }
    }
    out[n] = 0;
    return 0;
}

/* Finds "Ns.Outer/Inner" in md: each '/' steps into a nested type. */
static int find_type(IMetaDataImport *md, const char *full, mdTypeDef *out)
{
    char part[MMP_SPEC_NAME_MAX + 1];
    WCHAR wide[MMP_SPEC_NAME_MAX + 1];
    mdToken enclosing = 0;
    const char *s = full;

    for (;;) {
        const char *slash = strchr(s, '/');
        size_t len = slash ? (size_t)(slash - s) : strlen(s);
        memcpy(part, s, len);
        part[len] = 0;
        if (to_utf16(part, wide, sizeof wide / sizeof wide[0]) != 0)
            return -1;
        if (md->lpVtbl->FindTypeDefByName(md, wide, enclosing, &enclosing) != S_OK)
            return -1;
        if (!slash)
            break;
        s = slash + 1;
    }
    *out = enclosing;
    return 0;
}

static void replace_one(mmp_profiler *p, ModuleID mod, const mmp_target *t, mdMethodDef method)
{
    mm_il_body b;
    void *block;
    size_t size;
    mm_il_error err = {0, 0, {0}};

    memset(&b, 0, sizeof b);
    b.header = MM_IL_HEADER_AUTO;
    b.max_stack = MM_IL_TINY_MAX_STACK;
    b.code = p->cfg.replace.code;
    b.code_size = p->cfg.replace.code_size;
    b.eh_format = MM_IL_EH_AUTO;
    if (mm_il_size(&b, &size, &err) != S_OK) {
        mmp_report_error(&p->cfg, "replace %s::%s: %s", p->cfg.replace.type, p->cfg.replace.method,
                 err.message);
        return;
    }
    block = t->alloc->lpVtbl->Alloc(t->alloc, (ULONG)size);
    if (!block) {
        atomic_fetch_add(&p->counters.refused, 1);
        mmp_report_error(&p->cfg, "replace %s::%s: the module's heap refused %zu bytes", p->cfg.replace.type,
                 p->cfg.replace.method, size);
        return;
    }
    if (mm_il_encode(&b, block, size, NULL, &err) != S_OK) {
        mmp_report_error(&p->cfg, "replace %s::%s: %s", p->cfg.replace.type, p->cfg.replace.method,
                 err.message);
        return;
    }
    if (!mmp_in_window(t->base, block, size)) {
        atomic_fetch_add(&p->counters.violations, 1);
        return;
    }
    if (FAILED(p->info->lpVtbl->SetILFunctionBody(p->info, mod, method, block))) {
        mmp_report_error(&p->cfg, "replace %s::%s: SetILFunctionBody refused the body", p->cfg.replace.type,
                 p->cfg.replace.method);
        return;
    }
    atomic_fetch_add(&p->counters.served, 1);
    atomic_fetch_add(&p->counters.bytes, size);
    atomic_fetch_add(&p->counters.replaced, 1);
}

void mmp_replace_in_module(mmp_profiler *p, ModuleID mod, const mmp_target *t)
{
    IUnknown *unk = NULL;
    IMetaDataImport *md;
    WCHAR wname[MMP_SPEC_NAME_MAX + 1];
    HCORENUM e = NULL;
    mdMethodDef methods[64];
    mdTypeDef type;
    ULONG n;

    if (!t->base || !t->alloc)
        return;
    if (p->info->lpVtbl->GetModuleMetaData(p->info, mod, MM_OF_READ, &IID_IMetaDataImport, &unk) != S_OK || !unk)
        return;
    md = (IMetaDataImport *)unk;
    if (find_type(md, p->cfg.replace.type, &type) == 0 &&
        to_utf16(p->cfg.replace.method, wname, sizeof wname / sizeof wname[0]) == 0) {
        while (md->lpVtbl->EnumMethodsWithName(md, &e, type, wname, methods, 64, &n) == S_OK && n > 0)
            for (ULONG i = 0; i < n; i++)
                replace_one(p, mod, t, methods[i]);
        if (e)
            md->lpVtbl->CloseEnum(md, e);
    }
    md->lpVtbl->Release(md);
}
