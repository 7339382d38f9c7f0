/* The stack check: depths propagated over the basic blocks of the
 * instruction graph with a worklist, so that every path is followed once
 * and every join compared, instead of summing pushes along the list. */
#include "rw.h"

#include <stdlib.h>
#include <string.h>

#define UNKNOWN (-1)

struct check {
    mm_il_method *m;
    const mm_il_stack_options *opt;
    mm_il_error *err;
    mm_il_instr **ins; /* by index */
    uint32_t n;
    uint8_t *leader; /* 1: starts a block; 2: also starts a try block */
    int32_t *entry;  /* depth on entry to the block a leader starts */
    uint32_t *from;  /* for messages: the instruction that first reached a block */
    uint32_t *work;
    uint32_t nwork;
    uint32_t max;
};

static const char *name(const mm_il_instr *i)
{
    return mm_il_opcode(i->opcode)->name;
}

static int in_list(const mm_il_method *m, const mm_il_instr *i)
{
    return i->prev || i->next || m->first == i;
}

/* Enters the block starting at index t with depth d, reached from index f
 * (or UINT32_MAX for a handler entry). */
static HRESULT reach(struct check *c, uint32_t t, int32_t d, uint32_t f)
{
    const mm_il_instr *ti = c->ins[t];
    if (c->leader[t] == 2 && d != 0)
        return mm_il_fail(c->err, MM_E_IL_STACK, ti->offset, "IL_%04x starts a try block with %d values on the stack%s",
                          ti->offset, d, f == UINT32_MAX ? "" : " (reached from a branch or fall through)");
    if (c->entry[t] == UNKNOWN) {
        c->entry[t] = d;
        c->from[t] = f;
        c->work[c->nwork++] = t;
        return S_OK;
    }
    if (c->entry[t] != d) {
        if (f == UINT32_MAX && c->from[t] == UINT32_MAX)
            return mm_il_fail(c->err, MM_E_IL_STACK, ti->offset,
                              "IL_%04x is entered as a handler or filter with depth %d and with depth %d", ti->offset,
                              c->entry[t], d);
        if (f == UINT32_MAX || c->from[t] == UINT32_MAX)
            return mm_il_fail(c->err, MM_E_IL_STACK, ti->offset,
                              "IL_%04x is an entry point with depth %d and is reached with depth %d from IL_%04x",
                              ti->offset, f == UINT32_MAX ? d : c->entry[t], f == UINT32_MAX ? c->entry[t] : d,
                              c->ins[f == UINT32_MAX ? c->from[t] : f]->offset);
        return mm_il_fail(c->err, MM_E_IL_STACK, ti->offset,
                          "stack depths differ where paths join at IL_%04x: %d from IL_%04x, %d from IL_%04x",
                          ti->offset, c->entry[t], c->ins[c->from[t]]->offset, d, c->ins[f]->offset);
    }
    return S_OK;
}

static HRESULT target_index(struct check *c, const mm_il_instr *from, const mm_il_instr *t, uint32_t *idx)
{
    if (!t || !in_list(c->m, t) || t->index >= c->n || c->ins[t->index] != t)
        return mm_il_fail(c->err, MM_E_IL_CODE, from->offset, "%s at IL_%04x: a target not in the code", name(from),
                          from->offset);
    *idx = t->index;
    return S_OK;
}

/* Pops and pushes of a call-like instruction, from its signature. */
static HRESULT call_effect(struct check *c, const mm_il_instr *i, uint32_t *pops, uint32_t *pushes)
{
    const uint8_t *sig;
    size_t len;
    mm_il_sig_info info;
    mm_il_error serr;
    HRESULT hr;
    if (!c->opt || !c->opt->resolve)
        return mm_il_fail(c->err, E_POINTER, i->offset, "%s at IL_%04x needs a signature resolver", name(i), i->offset);
    if (FAILED(hr = c->opt->resolve(c->opt->ctx, i->arg.token, &sig, &len)))
        return mm_il_fail(c->err, hr, i->offset, "%s at IL_%04x: token 0x%08x not resolved (0x%08x)", name(i),
                          i->offset, i->arg.token, (unsigned)hr);
    if (FAILED(hr = mm_il_sig_method(sig, len, &info, &serr)))
        return mm_il_fail(c->err, hr, i->offset, "%s at IL_%04x: token 0x%08x: %s", name(i), i->offset, i->arg.token,
                          serr.message);
    switch (i->opcode) {
    case MM_IL_NEWOBJ:
        *pops = info.params;
        *pushes = 1;
        break;
    case MM_IL_CALLI:
        *pops = info.params + (uint32_t)info.has_this + 1;
        *pushes = (uint32_t)info.returns;
        break;
    default:
        *pops = info.params + (uint32_t)info.has_this;
        *pushes = (uint32_t)info.returns;
        break;
    }
    return S_OK;
}

static HRESULT run_block(struct check *c, uint32_t b, int32_t *depths, int ret_pops)
{
    int32_t d = c->entry[b];
    uint32_t k = b, t;
    HRESULT hr;
    /* A handler's entry depth counts even when its first instruction pops. */
    if ((uint32_t)d > c->max)
        c->max = (uint32_t)d;
    for (;;) {
        mm_il_instr *i = c->ins[k];
        const mm_il_opcode_info *o = mm_il_opcode(i->opcode);
        uint32_t pops = o->pops, pushes = o->pushes;
        if (depths)
            depths[k] = d;
        if (o->pops == MM_IL_VARIABLE && i->opcode != MM_IL_RET && FAILED(hr = call_effect(c, i, &pops, &pushes)))
            return hr;
        if (i->opcode == MM_IL_RET) {
            int ok = ret_pops < 0 ? (d == 0 || d == 1) : d == ret_pops;
            if (!ok)
                return mm_il_fail(c->err, MM_E_IL_STACK, i->offset, "ret at IL_%04x with %d values on the stack, %s",
                                  i->offset, d,
                                  ret_pops < 0 ? "not 0 or 1"
                                  : ret_pops   ? "not just the return value"
                                               : "not 0");
            pops = (uint32_t)d;
        }
        if ((int64_t)pops > d)
            return mm_il_fail(c->err, MM_E_IL_STACK, i->offset, "%s at IL_%04x pops %u values, the stack holds %d",
                              o->name, i->offset, pops, d);
        if (i->opcode == 0x27 && d != 0)
            return mm_il_fail(c->err, MM_E_IL_STACK, i->offset, "jmp at IL_%04x with %d values on the stack, not 0",
                              i->offset, d);
        if (i->opcode == 0xFE11 && d != 1)
            return mm_il_fail(c->err, MM_E_IL_STACK, i->offset,
                              "endfilter at IL_%04x with %d values on the stack, not 1", i->offset, d);
        d = d - (int32_t)pops + (int32_t)pushes;
        if ((uint32_t)d > c->max)
            c->max = (uint32_t)d;
        switch (o->flow) {
        case MM_IL_FLOW_RETURN:
        case MM_IL_FLOW_THROW:
        case MM_IL_FLOW_END: return S_OK;
        case MM_IL_FLOW_LEAVE:
            if (FAILED(hr = target_index(c, i, i->target, &t)))
                return hr;
            return reach(c, t, 0, k);
        case MM_IL_FLOW_BRANCH:
            if (FAILED(hr = target_index(c, i, i->target, &t)))
                return hr;
            return reach(c, t, d, k);
        case MM_IL_FLOW_COND:
            if (i->opcode == MM_IL_SWITCH) {
                uint32_t s;
                for (s = 0; s < i->target_count; s++)
                    if (FAILED(hr = target_index(c, i, i->targets[s], &t)) || FAILED(hr = reach(c, t, d, k)))
                        return hr;
            } else if (FAILED(hr = target_index(c, i, i->target, &t)) || FAILED(hr = reach(c, t, d, k))) {
                return hr;
            }
            break;
        default: break;
        }
        if (k + 1 == c->n)
            return mm_il_fail(c->err, MM_E_IL_STACK, i->offset, "%s at IL_%04x falls off the end of the code", o->name,
                              i->offset);
        if (c->leader[k + 1])
            return reach(c, k + 1, d, k);
        k++;
    }
}

static void mark(struct check *c, const mm_il_instr *i, uint8_t v)
{
    if (i && in_list(c->m, i) && i->index < c->n && c->ins[i->index] == i && c->leader[i->index] < v)
        c->leader[i->index] = v;
}

HRESULT mm_il_stack_check(mm_il_method *m, const mm_il_stack_options *opt, mm_il_stack_result *res, int32_t *depths,
                          mm_il_error *err)
{
    struct check c;
    mm_il_instr *i;
    uint32_t k, blocks = 0, checked = 0;
    int ret_pops = -1;
    HRESULT hr = S_OK;
    void *mem;

    if (!m || !res)
        return mm_il_fail(err, E_POINTER, 0, "NULL argument");
    memset(res, 0, sizeof *res);
    if (opt && opt->method_sig) {
        mm_il_sig_info info;
        if (FAILED(hr = mm_il_sig_method(opt->method_sig, opt->method_sig_len, &info, err)))
            return hr;
        ret_pops = info.returns;
    }
    memset(&c, 0, sizeof c);
    c.m = m, c.opt = opt, c.err = err, c.n = m->count;
    if (!c.n)
        return mm_il_fail(err, MM_E_IL_STACK, 0, "no instruction");
    mem = malloc((size_t)c.n * (sizeof *c.ins + 1 + sizeof *c.entry + sizeof *c.from + sizeof *c.work));
    if (!mem)
        return mm_il_fail(err, E_OUTOFMEMORY, 0, "out of memory");
    c.ins = mem;
    c.entry = (int32_t *)(c.ins + c.n);
    c.from = (uint32_t *)(c.entry + c.n);
    c.work = c.from + c.n;
    c.leader = (uint8_t *)(c.work + c.n);
    for (k = 0, i = m->first; i; i = i->next, k++) {
        c.ins[k] = i;
        i->index = k;
        c.entry[k] = UNKNOWN;
        c.leader[k] = 0;
    }
    if (depths)
        for (k = 0; k < c.n; k++)
            depths[k] = UNKNOWN;

    /* Blocks start at the first instruction, at targets, after any
     * instruction that does not simply fall through, and at clause
     * boundaries. */
    c.leader[0] = 1;
    for (k = 0; k < c.n; k++) {
        const mm_il_instr *x = c.ins[k];
        const mm_il_opcode_info *o = mm_il_opcode(x->opcode);
        if (o->flow != MM_IL_FLOW_NEXT && k + 1 < c.n)
            c.leader[k + 1] = 1;
        if (o->operand == MM_IL_OP_BR1 || o->operand == MM_IL_OP_BR4)
            mark(&c, x->target, 1);
        else if (o->operand == MM_IL_OP_SWITCH)
            for (uint32_t s = 0; s < x->target_count; s++)
                mark(&c, x->targets[s], 1);
    }
    for (k = 0; k < m->nclauses; k++) {
        const mm_il_eh *e = &m->clauses[k];
        mark(&c, e->try_start, 2);
        mark(&c, e->try_end, 1);
        mark(&c, e->handler_start, 1);
        mark(&c, e->handler_end, 1);
        if (e->kind == MM_IL_CLAUSE_FILTER)
            mark(&c, e->filter_start, 1);
    }
    for (k = 0; k < c.n; k++)
        blocks += c.leader[k] != 0;

    hr = reach(&c, 0, 0, UINT32_MAX);
    for (k = 0; k < m->nclauses && SUCCEEDED(hr); k++) {
        const mm_il_eh *e = &m->clauses[k];
        uint32_t t;
        int32_t d = e->kind == MM_IL_CLAUSE_CATCH || e->kind == MM_IL_CLAUSE_FILTER ? 1 : 0;
        if (!e->handler_start || !in_list(m, e->handler_start)
            || (e->kind == MM_IL_CLAUSE_FILTER && (!e->filter_start || !in_list(m, e->filter_start)))) {
            hr = mm_il_fail(err, MM_E_IL_CODE, 0, "clause %u: a handler or filter not in the code", k);
            break;
        }
        t = e->handler_start->index;
        hr = reach(&c, t, d, UINT32_MAX);
        if (SUCCEEDED(hr) && e->kind == MM_IL_CLAUSE_FILTER)
            hr = reach(&c, e->filter_start->index, 1, UINT32_MAX);
    }
    while (SUCCEEDED(hr) && c.nwork)
        hr = run_block(&c, c.work[--c.nwork], depths, ret_pops);
    if (SUCCEEDED(hr)) {
        int32_t d = UNKNOWN;
        for (k = 0; k < c.n; k++) {
            /* A block's instructions all ran when its leader was reached. */
            if (c.leader[k])
                d = c.entry[k];
            checked += d != UNKNOWN;
        }
        res->max_stack = c.max;
        res->checked = checked;
        res->blocks = blocks;
    }
    free(mem);
    return hr;
}
