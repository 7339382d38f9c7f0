/*
 * Calls mode: before a method is first compiled, give it a counter probe at
 * entry and let the runtime compile that instead.  The probe is
 *     ldc.i8 &counter; conv.u; dup; ldind.i8; ldc.i4.1; conv.i8; add; stind.i8
 * which names no metadata, so no token has to be emitted.  The body is
 * rewritten with the IL rewriter (methodmalloc_ilrw.h), stack-checked with
 * signatures read through IMetaDataImport2, and emitted into a block of the
 * module's methodmalloc heap; a body any step refuses keeps its original IL
 * and is counted by reason.
 *
 * One counter per method definition: generic instantiations and re-JITs
 * (tiers) of one method reach the same rewritten IL, so they share it.  The
 * increment is not atomic: threads racing on one method may lose counts
 * (the samples with exact counts are single-threaded).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methodmalloc_ilrw.h"
#include "profiler.h"

#define NAME_MAX_CHARS 1024
#define TOP            20

void mmp_calls_init(mmp_calls *c)
{
    mm_lock_init(&c->lock);
    c->head = NULL;
    c->n = 0;
}

/* UTF-16 to UTF-8 at out[*at..cap), always NUL-terminated. */
static void utf8_append(char *out, size_t cap, size_t *at, const WCHAR *w, size_t n)
{
    size_t k;
    for (k = 0; k < n && w[k]; k++) {
        uint32_t cp = w[k];
        char buf[4];
        size_t len;
        if (cp >= 0xD800 && cp < 0xDC00 && k + 1 < n && w[k + 1] >= 0xDC00 && w[k + 1] < 0xE000)
            cp = 0x10000 + ((cp - 0xD800) << 10) + (w[++k] - 0xDC00u);
        if (cp < 0x80)
            buf[0] = (char)cp, len = 1;
        else if (cp < 0x800)
            buf[0] = (char)(0xC0 | cp >> 6), buf[1] = (char)(0x80 | (cp & 0x3F)), len = 2;
        else if (cp < 0x10000)
            buf[0] = (char)(0xE0 | cp >> 12), buf[1] = (char)(0x80 | (cp >> 6 & 0x3F)),
            buf[2] = (char)(0x80 | (cp & 0x3F)), len = 3;
        else
            buf[0] = (char)(0xF0 | cp >> 18), buf[1] = (char)(0x80 | (cp >> 12 & 0x3F)),
            buf[2] = (char)(0x80 | (cp >> 6 & 0x3F)), buf[3] = (char)(0x80 | (cp & 0x3F)), len = 4;
        if (*at + len >= cap)
            break;
        memcpy(out + *at, buf, len);
        *at += len;
    }
    out[*at] = 0;
}

/* "Ns.Outer/Inner": the enclosing types first (depth-limited against a
 * cycle in broken metadata). */
static int type_name(IMetaDataImport *md, mdTypeDef td, char *out, size_t cap, size_t *at, int depth)
{
    WCHAR w[NAME_MAX_CHARS];
    ULONG n = 0;
    DWORD flags;
    mdToken extends, outer;
    if (depth > 16 || md->lpVtbl->GetTypeDefProps(md, td, w, NAME_MAX_CHARS, &n, &flags, &extends) != S_OK)
        return -1;
    if (md->lpVtbl->GetNestedClassProps(md, td, &outer) == S_OK && outer != td) {
        if (type_name(md, outer, out, cap, at, depth + 1) != 0)
            return -1;
        utf8_append(out, cap, at, u"/", 1);
    }
    utf8_append(out, cap, at, w, n);
    return 0;
}

/* A new counter record named after method token, not yet published. */
static mmp_call *new_record(IMetaDataImport *md, mdMethodDef token)
{
    WCHAR w[NAME_MAX_CHARS];
    char name[2 * NAME_MAX_CHARS];
    size_t at = 0;
    ULONG n = 0, rva, sig_len;
    DWORD attr, impl;
    mdTypeDef cls;
    PCCOR_SIGNATURE sig;
    mmp_call *r;

    name[0] = 0;
    if (md->lpVtbl->GetMethodProps(md, token, &cls, w, NAME_MAX_CHARS, &n, &attr, &sig, &sig_len, &rva, &impl) != S_OK)
        return NULL;
    if (type_name(md, cls, name, sizeof name, &at, 0) != 0)
        return NULL;
    utf8_append(name, sizeof name, &at, u"::", 2);
    utf8_append(name, sizeof name, &at, w, n);
    r = malloc(sizeof *r + at + 1);
    if (!r)
        return NULL;
    r->count = 0;
    r->next = NULL;
    memcpy(r->name, name, at + 1);
    return r;
}

/* The stack check's resolver: the signature behind a call's token. */
static HRESULT resolve(void *ctx, uint32_t token, const uint8_t **sig, size_t *len)
{
    IMetaDataImport2 *md2 = ctx;
    IMetaDataImport *md = (IMetaDataImport *)md2;
    PCCOR_SIGNATURE s = NULL;
    ULONG n = 0, chars, rva;
    DWORD attr, impl;
    mdToken parent;
    HRESULT hr;
    int hops;

    for (hops = 0; hops < 2; hops++) {
        switch (MM_TOKEN_TYPE(token)) {
        case MM_MDT_METHODDEF:
            hr = md->lpVtbl->GetMethodProps(md, token, &parent, NULL, 0, &chars, &attr, &s, &n, &rva, &impl);
            break;
        case 0x0A000000u: /* MemberRef */
            hr = md->lpVtbl->GetMemberRefProps(md, token, &parent, NULL, 0, &chars, &s, &n);
            break;
        case 0x11000000u: /* StandAloneSig (calli) */ hr = md->lpVtbl->GetSigFromToken(md, token, &s, &n); break;
        case 0x2B000000u: /* MethodSpec: the generic method's own signature */
            hr = md2->lpVtbl->GetMethodSpecProps(md2, token, &parent, &s, &n);
            if (hr != S_OK)
                return FAILED(hr) ? hr : E_INVALIDARG;
            token = parent;
            continue;
        default: return E_INVALIDARG;
        }
        if (hr != S_OK)
            return FAILED(hr) ? hr : E_INVALIDARG;
        *sig = s;
        *len = n;
        return S_OK;
    }
    return E_INVALIDARG;
}

/* ldc.i8 &counter; conv.u; dup; ldind.i8; ldc.i4.1; conv.i8; add; stind.i8 */
static const uint16_t probe[] = {MM_IL_LDC_I8, 0xE0, 0x25, 0x4C, 0x17, 0x6A, 0x58, 0x55};

/* Rewrites body into a block of t's heap with a probe adding to *counter:
 * *block and *size, or *block NULL and the reason it keeps the original
 * (MMP_REASON_COUNT when mmp_method_block has counted it already). */
static mmp_reason rewrite(mmp_profiler *p, IMetaDataImport2 *md2, mdMethodDef token, const mmp_target *t,
                          const uint8_t *body, size_t body_size, int64_t *counter, void **block, size_t *size)
{
    IMetaDataImport *md = (IMetaDataImport *)md2;
    mm_il_method *m = NULL;
    mm_il_instr *at = NULL;
    mm_il_stack_options opt = {resolve, md2, NULL, 0};
    mm_il_stack_result st;
    mm_il_method_header h;
    mm_il_error err;
    mmp_reason why = MMP_NOT_REWRITE;
    PCCOR_SIGNATURE sig;
    ULONG sig_len, chars, rva;
    DWORD attr, impl;
    mdTypeDef cls;
    size_t k;
    uint8_t *out;

    *block = NULL;
    if (md->lpVtbl->GetMethodProps(md, token, &cls, NULL, 0, &chars, &attr, &sig, &sig_len, &rva, &impl) == S_OK) {
        opt.method_sig = sig;
        opt.method_sig_len = sig_len;
    }
    if (FAILED(mm_il_method_create(&m)) || FAILED(mm_il_method_read(m, body, body_size, &err)))
        goto out;
    for (k = 0; k < sizeof probe / sizeof probe[0]; k++) {
        mm_il_instr *i = mm_il_new(m, probe[k]);
        if (!i)
            goto out;
        if (k == 0)
            i->arg.i = (int64_t)(intptr_t)counter;
        /* At the very start, KEEP: a branch back to the old first
         * instruction (a loop) does not count a call. */
        if (FAILED(mm_il_insert_after(m, at, i, &err)))
            goto out;
        at = i;
    }
    if (FAILED(mm_il_stack_check(m, &opt, &st, NULL, &err))) {
        why = MMP_NOT_STACK;
        mmp_trace(&p->cfg, "method 0x%08x: stack check: %s", (unsigned)token, err.message);
        goto out;
    }
    mm_il_get_header(m, &h);
    if (st.max_stack > h.max_stack)
        h.max_stack = (uint16_t)(st.max_stack > 0xFFFF ? 0xFFFF : st.max_stack);
    if (FAILED(mm_il_set_header(m, &h)))
        goto out;
    if (FAILED(mm_il_method_size(m, size, &err)))
        goto out;
    if (!(out = mmp_method_block(p, t, token, *size))) {
        why = MMP_REASON_COUNT;
        goto out;
    }
    /* What is handed to the runtime validates, or the block is left unused. */
    if (FAILED(mm_il_method_emit(m, out, *size, NULL, &err)) || FAILED(mm_il_validate(out, *size, &err))) {
        mmp_trace(&p->cfg, "method 0x%08x: emit: %s", (unsigned)token, err.message);
        goto out;
    }
    *block = out;
out:
    mm_il_method_destroy(m);
    return why;
}

void mmp_calls_rewrite(mmp_profiler *p, FunctionID fn)
{
    ICorProfilerInfo *info = p->info;
    mmp_counters *c = &p->counters;
    ModuleID mod;
    mdToken token;
    mmp_target t;
    LPCBYTE body;
    size_t size, out_size = 0;
    IUnknown *unk = NULL;
    IMetaDataImport2 *md2;
    mmp_call *rec;
    void *block = NULL;
    mmp_reason why;

    if (mmp_method_claim(p, fn, &mod, &token, &t) != 0 || mmp_method_body(p, mod, token, &t, &body, &size) != 0)
        return;
    if (info->lpVtbl->GetModuleMetaData(info, mod, MM_OF_READ, &IID_IMetaDataImport2, &unk) != S_OK || !unk) {
        mmp_not_relocated(c, MMP_NOT_METADATA);
        return;
    }
    md2 = (IMetaDataImport2 *)unk;
    rec = new_record((IMetaDataImport *)md2, token);
    why = rec ? rewrite(p, md2, token, &t, body, size, &rec->count, &block, &out_size) : MMP_NOT_METADATA;
    md2->lpVtbl->base.Release((IMetaDataImport *)md2);
    if (!block) {
        free(rec);
        if (why != MMP_REASON_COUNT) /* mmp_method_block counted its own */
            mmp_not_relocated(c, why);
        return;
    }
    if (mmp_method_set(p, mod, token, block, out_size) != 0) {
        free(rec);
        return;
    }
    /* From here the compiled code adds to rec->count: it lives as long as
     * the process. */
    mm_lock_acquire(&p->calls.lock);
    rec->next = p->calls.head;
    p->calls.head = rec;
    p->calls.n++;
    mm_lock_release(&p->calls.lock);
}

/* Most calls first, then by name, so that the lists are stable. */
static int by_calls(const void *a, const void *b)
{
    const mmp_call *x = *(const mmp_call *const *)a, *y = *(const mmp_call *const *)b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->name, y->name);
}

void mmp_calls_report(mmp_profiler *p, FILE *f)
{
    mmp_call **v, *r;
    size_t n, k;
    uint64_t total = 0;

    mm_lock_acquire(&p->calls.lock);
    n = p->calls.n;
    v = malloc((n ? n : 1) * sizeof *v);
    for (r = p->calls.head, k = 0; v && r && k < n; r = r->next, k++)
        v[k] = r;
    mm_lock_release(&p->calls.lock);
    if (!v) {
        fprintf(f, MMP_ERROR_LINE " calls: out of memory for the report %s\n", mmp_process_tag());
        return;
    }
    /* The counters are read as they are: code still running (finalizers,
     * other threads) may add to them while the report is written. */
    qsort(v, n, sizeof *v, by_calls);
    for (k = 0; k < n; k++)
        total += (uint64_t) * (volatile int64_t *)&v[k]->count;
    fprintf(f, "methodmalloc: calls methods=%zu calls=%llu %s\n", n, (unsigned long long)total, mmp_process_tag());
    for (k = 0; k < n && k < TOP; k++)
        fprintf(f, "methodmalloc: calls top %2zu %12lld %s %s\n", k + 1, (long long)v[k]->count, v[k]->name,
                mmp_process_tag());
    if (p->cfg.calls_report[0]) {
        FILE *out = fopen(p->cfg.calls_report, "w");
        if (!out) {
            fprintf(f, MMP_ERROR_LINE " calls: cannot write %s %s\n", p->cfg.calls_report, mmp_process_tag());
        } else {
            for (k = 0; k < n; k++)
                fprintf(out, "%lld\t%s\n", (long long)v[k]->count, v[k]->name);
            fclose(out);
        }
    }
    free(v);
}
