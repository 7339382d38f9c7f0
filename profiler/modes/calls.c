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
#include "sys.h"

#define TOP            20

void mmp_calls_init(mmp_calls *c)
{
    memset(c, 0, sizeof *c);
    mm_lock_init(&c->lock);
}

/* A new counter record named after method token, not yet published. */
static mmp_call *new_record(IMetaDataImport *md, mdMethodDef token)
{
    char name[2 * MMP_NAME_MAX];
    mmp_call *r;

    if (mmp_method_name(md, token, name, sizeof name) != 0)
        return NULL;
    size_t at = strlen(name);
    r = malloc(sizeof *r + at + 1);
    if (!r)
        return NULL;
    memset(r, 0, sizeof *r);
    memcpy(r->name, name, at + 1);
    return r;
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
    mm_il_stack_options opt = {mmp_resolve_sig, md2, NULL, 0};
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

static size_t bucket_of(ModuleID mod, mdToken token)
{
    return (size_t)(((uint64_t)mod ^ token) * 0x9E3779B97F4A7C15ull >> 40) % MMP_CALLS_BUCKETS;
}

/* The record of a method already rewritten, or NULL. */
static mmp_call *find_record(mmp_calls *c, ModuleID mod, mdToken token)
{
    mmp_call *r;
    mm_lock_acquire(&c->lock);
    for (r = c->buckets[bucket_of(mod, token)]; r && (r->mod != mod || r->token != token); r = r->bucket_next)
        ;
    mm_lock_release(&c->lock);
    return r;
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

    mmp_call *again = NULL;

    if (mmp_method_claim(p, fn, &mod, &token, &t) != 0) {
        /* Inside the host, a guest before us may have set a new body for a
         * method we rewrote already (an engine instruments each generic
         * instantiation anew): that body gets the probe too, with the same
         * counter.  A body we saw already is left alone. */
        if (!p->as_guest || !t.alloc || !(again = find_record(&p->calls, mod, token)))
            return;
    }
    if (mmp_method_body(p, mod, token, &t, &body, &size) != 0 || (again && body == again->source))
        return;
    if (info->lpVtbl->GetModuleMetaData(info, mod, MM_OF_READ, &IID_IMetaDataImport2, &unk) != S_OK || !unk) {
        mmp_not_relocated(c, MMP_NOT_METADATA);
        return;
    }
    md2 = (IMetaDataImport2 *)unk;
    rec = again ? again : new_record((IMetaDataImport *)md2, token);
    why = rec ? rewrite(p, md2, token, &t, body, size, &rec->count, &block, &out_size) : MMP_NOT_METADATA;
    md2->lpVtbl->base.Release((IMetaDataImport *)md2);
    if (!block) {
        if (!again)
            free(rec);
        if (why != MMP_REASON_COUNT) /* mmp_method_block counted its own */
            mmp_not_relocated(c, why);
        return;
    }
    if (mmp_method_set(p, mod, token, block, out_size) != 0) {
        if (!again)
            free(rec);
        return;
    }
    mm_lock_acquire(&p->calls.lock);
    rec->source = body;
    /* From here the compiled code adds to rec->count: it lives as long as
     * the process. */
    if (!again) {
        rec->mod = mod;
        rec->token = token;
        rec->next = p->calls.head;
        p->calls.head = rec;
        p->calls.n++;
        size_t b = bucket_of(mod, token);
        rec->bucket_next = p->calls.buckets[b];
        p->calls.buckets[b] = rec;
    }
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

/* Appends every counter to the calls report, with the process's program
 * and pid, so that the processes of one run (a test runner and its test
 * host) each keep their counts in the one file.  The file is locked while
 * written: processes ending together do not interleave their lines. */
static void write_counts(mmp_profiler *p, FILE *f, mmp_call **v, size_t n)
{
    char program[128];
    long pid = mmp_sys_pid();
    const char *tag = strstr(mmp_process_tag(), "program=");
    snprintf(program, sizeof program, "%s", tag ? tag + 8 : "?");
    FILE *out = mmp_sys_append_open(p->cfg.calls_report);
    if (!out) {
        fprintf(f, MMP_ERROR_LINE " calls: cannot write %s %s\n", p->cfg.calls_report, mmp_process_tag());
        return;
    }
    for (size_t k = 0; k < n; k++)
        fprintf(out, "%lld\t%s\t%s\t%ld\n", (long long)v[k]->count, v[k]->name, program, pid);
    mmp_sys_append_close(out);
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
    if (p->cfg.calls_report[0])
        write_counts(p, f, v, n);
    free(v);
}
