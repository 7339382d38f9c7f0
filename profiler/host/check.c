/*
 * The checker: what a guest hands SetILFunctionBody is looked at before
 * the runtime sees it, so that a broken rewrite costs the guest one method
 * (it keeps the IL it had) instead of an InvalidProgramException in the
 * program later.  In order: the module has a window, the block starts in
 * it, the headers tell an extent that can be read (never past the mapping
 * that holds the block, or the image for a body inside it), the whole body
 * lies in the window, and the IL decodes and passes the stack checker with
 * the signatures read from the module's metadata.
 */
#include <stdio.h>
#include <string.h>

#include "host/host.h"
#include "methodmalloc_il.h"
#include "methodmalloc_ilrw.h"
#include "os/os.h"

/* The stack check: 0, or -1 with the reason in detail. */
static mmh_check check_stack(mmh_host *h, ModuleID mod, mdMethodDef token, const uint8_t *body, size_t size,
                             char *detail, size_t dcap)
{
    IUnknown *unk = NULL;
    mm_il_method *m = NULL;
    mm_il_stack_options opt = {mmp_resolve_sig, NULL, NULL, 0};
    mm_il_stack_result st;
    mm_il_method_header hd;
    mm_il_error err = {0, 0, {0}};
    mmh_check why = MMH_CHECK_COUNT;

    if (h->info->lpVtbl->GetModuleMetaData(h->info, mod, MM_OF_READ, &IID_IMetaDataImport2, &unk) != S_OK || !unk) {
        snprintf(detail, dcap, "no metadata for the module");
        return MMH_CHECK_STACK;
    }
    IMetaDataImport2 *md2 = (IMetaDataImport2 *)unk;
    IMetaDataImport *md = (IMetaDataImport *)unk;
    PCCOR_SIGNATURE sig;
    ULONG sig_len, chars, rva;
    DWORD attr, impl;
    mdTypeDef cls;
    opt.ctx = md2;
    if (md->lpVtbl->GetMethodProps(md, token, &cls, NULL, 0, &chars, &attr, &sig, &sig_len, &rva, &impl) == S_OK) {
        opt.method_sig = sig;
        opt.method_sig_len = sig_len;
    }
    if (FAILED(mm_il_method_create(&m))) {
        snprintf(detail, dcap, "out of memory");
        why = MMH_CHECK_STACK;
    } else if (FAILED(mm_il_method_read(m, body, size, &err))) {
        snprintf(detail, dcap, "decode: %s", err.message);
        why = MMH_CHECK_EXTENT;
    } else if (FAILED(mm_il_stack_check(m, &opt, &st, NULL, &err))) {
        snprintf(detail, dcap, "%s", err.message);
        why = MMH_CHECK_STACK;
    } else {
        mm_il_get_header(m, &hd);
        /* The JIT refuses a body whose stack outgrows its max_stack. */
        if (st.max_stack > hd.max_stack) {
            snprintf(detail, dcap, "the stack reaches %u, max_stack says %u", (unsigned)st.max_stack,
                     (unsigned)hd.max_stack);
            why = MMH_CHECK_STACK;
        }
    }
    mm_il_method_destroy(m);
    md->lpVtbl->Release(md);
    return why;
}

mmh_check mmh_check_body(mmh_host *h, ModuleID mod, mdMethodDef token, const uint8_t *header, size_t *size,
                         char *detail, size_t dcap)
{
    mmp_target t;
    mm_il_error err = {0, 0, {0}};

    detail[0] = 0;
    *size = 0;
    if (mmp_modules_find(&h->modules, mod, &t) != 0 || !t.base) {
        snprintf(detail, dcap, "%s", t.ext || t.base ? "no image" : "module not known to the host");
        return MMH_CHECK_MODULE;
    }
    if (!header || !mmp_in_window(t.base, header, 1)) {
        snprintf(detail, dcap, "block %p outside the window of the module at %p", (const void *)header,
                 (const void *)t.base);
        return MMH_CHECK_WINDOW;
    }
    /* How far the block may be read to find its end: to the window's end,
     * as far as the pages are readable.  Not the end of one mapping (a body
     * may run on from one of methodmalloc's chunks into the next), nor the
     * image's SizeOfImage (an IL-only assembly mapped flat is shorter, and a
     * chunk may follow it below base + SizeOfImage). */
    size_t bound = mm_os_readable(header, (size_t)(t.base + MM_DEFAULT_MAX_RVA - header));
    if (bound == 0) {
        snprintf(detail, dcap, "block %p cannot be read", (const void *)header);
        return MMH_CHECK_EXTENT;
    }
    if (mm_il_extent(header, bound, size, &err) != S_OK) {
        snprintf(detail, dcap, "%s", err.message);
        return MMH_CHECK_EXTENT;
    }
    if (!mmp_in_window(t.base, header, *size)) {
        snprintf(detail, dcap, "%zu bytes at %p run past the window of the module at %p", *size,
                 (const void *)header, (const void *)t.base);
        return MMH_CHECK_WINDOW;
    }
    return check_stack(h, mod, token, header, *size, detail, dcap);
}
