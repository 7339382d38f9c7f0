/* Emitting a method: layout (offsets, branch widening), clause order, then
 * the body encoder of methodmalloc_il.h. */
#include "rw.h"

#include <stdlib.h>
#include <string.h>

static uint32_t operand_size(const mm_il_instr *i, mm_il_operand k)
{
    switch (k) {
    case MM_IL_OP_NONE: return 0;
    case MM_IL_OP_I1:
    case MM_IL_OP_U1:
    case MM_IL_OP_VAR1:
    case MM_IL_OP_BR1: return 1;
    case MM_IL_OP_VAR2: return 2;
    case MM_IL_OP_I4:
    case MM_IL_OP_R4:
    case MM_IL_OP_TOKEN:
    case MM_IL_OP_BR4: return 4;
    case MM_IL_OP_I8:
    case MM_IL_OP_R8: return 8;
    case MM_IL_OP_SWITCH: return 4 + 4 * i->target_count;
    }
    return 0;
}

static uint32_t instr_size(const mm_il_instr *i)
{
    uint32_t n = 0, k;
    for (k = 0; k < i->prefix_count; k++)
        n += 2 + operand_size(i, mm_il_opcode(i->prefix[k].opcode)->operand);
    return n + (i->opcode >> 8 ? 2 : 1) + operand_size(i, mm_il_opcode(i->opcode)->operand);
}

static int linked(const mm_il_method *m, const mm_il_instr *i)
{
    return i->prev || i->next || m->first == i;
}

/* The long form of a short branch. */
static uint16_t widen_branch(uint16_t op)
{
    return op == MM_IL_LEAVE_S ? MM_IL_LEAVE : (uint16_t)(op + 0x0D);
}

/* The two-byte form of ldarg.s ... stloc.s (0x0E..0x13 -> 0xFE09..0xFE0E). */
static uint16_t widen_var(uint16_t op)
{
    return (uint16_t)(0xFE09 + (op - 0x0E));
}

/* Checks every operand against its form, sets every offset, and widens short
 * branches until all fit.  *code_size gets the total. */
static HRESULT layout(mm_il_method *m, uint32_t *code_size, mm_il_error *err)
{
    mm_il_instr *i;
    uint64_t off;
    int changed;

    if (!m->first)
        return mm_il_fail(err, MM_E_IL_EDIT, 0, "the method has no instruction");
    off = 0;
    for (i = m->first; i; i = i->next) {
        const mm_il_opcode_info *o = mm_il_opcode(i->opcode);
        uint32_t k;
        uint32_t at = off > UINT32_MAX ? UINT32_MAX : (uint32_t)off;
        if (!o || o->flow == MM_IL_FLOW_PREFIX)
            return mm_il_fail(err, MM_E_IL_CODE, at, "IL_%04x: opcode 0x%x is not an instruction", at, i->opcode);
        if (i->prefix_count > MM_IL_MAX_PREFIXES)
            return mm_il_fail(err, MM_E_IL_CODE, at, "IL_%04x: %u prefixes", at, i->prefix_count);
        for (k = 0; k < i->prefix_count; k++) {
            const mm_il_opcode_info *p = mm_il_opcode(i->prefix[k].opcode);
            if (!p || p->flow != MM_IL_FLOW_PREFIX || (p->operand == MM_IL_OP_U1 && i->prefix[k].operand > 0xFF))
                return mm_il_fail(err, MM_E_IL_CODE, at,
                                  "IL_%04x: prefix %u (0x%x, operand 0x%x) is not a valid prefix", at, k,
                                  i->prefix[k].opcode, i->prefix[k].operand);
        }
        switch (o->operand) {
        case MM_IL_OP_I1:
            if (i->arg.i < -128 || i->arg.i > 127)
                return mm_il_fail(err, MM_E_IL_CODE, at, "%s at IL_%04x: %lld does not fit in int8", o->name, at,
                                  (long long)i->arg.i);
            break;
        case MM_IL_OP_VAR1:
            if (i->arg.i < 0 || i->arg.i > 0xFFFF)
                return mm_il_fail(err, MM_E_IL_CODE, at, "%s at IL_%04x: index %lld is not 0..65535", o->name, at,
                                  (long long)i->arg.i);
            if (i->arg.i > 0xFF)
                i->opcode = widen_var(i->opcode);
            break;
        case MM_IL_OP_U1:
            if (i->arg.i < 0 || i->arg.i > 0xFF)
                return mm_il_fail(err, MM_E_IL_CODE, at, "%s at IL_%04x: %lld is not 0..255", o->name, at,
                                  (long long)i->arg.i);
            break;
        case MM_IL_OP_VAR2:
            if (i->arg.i < 0 || i->arg.i > 0xFFFF)
                return mm_il_fail(err, MM_E_IL_CODE, at, "%s at IL_%04x: index %lld is not 0..65535", o->name, at,
                                  (long long)i->arg.i);
            break;
        case MM_IL_OP_I4:
            if (i->arg.i < INT32_MIN || i->arg.i > INT32_MAX)
                return mm_il_fail(err, MM_E_IL_CODE, at, "%s at IL_%04x: %lld does not fit in int32", o->name, at,
                                  (long long)i->arg.i);
            break;
        case MM_IL_OP_BR1:
        case MM_IL_OP_BR4:
            if (!i->target || !linked(m, i->target))
                return mm_il_fail(err, MM_E_IL_CODE, at, "%s at IL_%04x: its target is %s", o->name, at,
                                  i->target ? "not in the code" : "missing");
            break;
        case MM_IL_OP_SWITCH:
            for (k = 0; k < i->target_count; k++)
                if (!i->targets[k] || !linked(m, i->targets[k]))
                    return mm_il_fail(err, MM_E_IL_CODE, at, "switch at IL_%04x: target %u is %s", at, k,
                                      i->targets[k] ? "not in the code" : "missing");
            break;
        default: break;
        }
        i->offset = at;
        off += instr_size(i);
    }
    if (off > UINT32_MAX)
        return mm_il_fail(err, MM_E_IL_CANNOT, 0, "the code is larger than 4 GiB");

    /* Widening only grows the code, so displacements only grow: each pass
     * widens what no longer fits until a pass widens nothing. */
    do {
        changed = 0;
        off = 0;
        for (i = m->first; i; i = i->next) {
            i->offset = (uint32_t)off;
            off += instr_size(i);
        }
        for (i = m->first; i; i = i->next) {
            if (mm_il_opcode(i->opcode)->operand == MM_IL_OP_BR1) {
                int64_t d = (int64_t)i->target->offset - ((int64_t)i->offset + instr_size(i));
                if (d < -128 || d > 127) {
                    i->opcode = widen_branch(i->opcode);
                    changed = 1;
                }
            }
        }
    } while (changed);
    if (off > UINT32_MAX)
        return mm_il_fail(err, MM_E_IL_CANNOT, 0, "the code is larger than 4 GiB");
    *code_size = m->code_size = (uint32_t)off;
    return S_OK;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v);
    put16(p + 2, v >> 16);
}

static uint8_t *put_op(uint8_t *p, uint16_t op)
{
    if (op >> 8)
        *p++ = 0xFE;
    *p++ = (uint8_t)op;
    return p;
}

static void write_code(const mm_il_method *m, uint8_t *p)
{
    const mm_il_instr *i;
    uint32_t k;
    for (i = m->first; i; i = i->next) {
        const mm_il_opcode_info *o = mm_il_opcode(i->opcode);
        uint32_t end = i->offset + instr_size(i);
        for (k = 0; k < i->prefix_count; k++) {
            uint16_t op = i->prefix[k].opcode;
            mm_il_operand pk = mm_il_opcode(op)->operand;
            p = put_op(p, op);
            if (pk == MM_IL_OP_U1)
                *p++ = (uint8_t)i->prefix[k].operand;
            else if (pk == MM_IL_OP_TOKEN)
                put32(p, i->prefix[k].operand), p += 4;
        }
        p = put_op(p, i->opcode);
        switch (o->operand) {
        case MM_IL_OP_NONE: break;
        case MM_IL_OP_I1:
        case MM_IL_OP_U1:
        case MM_IL_OP_VAR1: *p++ = (uint8_t)i->arg.i; break;
        case MM_IL_OP_VAR2: put16(p, (uint32_t)i->arg.i), p += 2; break;
        case MM_IL_OP_I4: put32(p, (uint32_t)i->arg.i), p += 4; break;
        case MM_IL_OP_I8:
            put32(p, (uint32_t)i->arg.i), put32(p + 4, (uint32_t)((uint64_t)i->arg.i >> 32)), p += 8;
            break;
        case MM_IL_OP_R4: {
            uint32_t bits;
            memcpy(&bits, &i->arg.r4, 4);
            put32(p, bits), p += 4;
            break;
        }
        case MM_IL_OP_R8: {
            uint64_t bits;
            memcpy(&bits, &i->arg.r8, 8);
            put32(p, (uint32_t)bits), put32(p + 4, (uint32_t)(bits >> 32)), p += 8;
            break;
        }
        case MM_IL_OP_TOKEN: put32(p, i->arg.token), p += 4; break;
        case MM_IL_OP_BR1: *p++ = (uint8_t)(int8_t)((int64_t)i->target->offset - end); break;
        case MM_IL_OP_BR4: put32(p, (uint32_t)(int32_t)((int64_t)i->target->offset - end)), p += 4; break;
        case MM_IL_OP_SWITCH:
            put32(p, i->target_count), p += 4;
            for (k = 0; k < i->target_count; k++, p += 4)
                put32(p, (uint32_t)(int32_t)((int64_t)i->targets[k]->offset - end));
            break;
        }
    }
}

/* Whether clause a lies inside clause b: its try block inside b's try
 * block (and not the same block), b's handler or b's filter. */
static int inside(const mm_il_clause *a, const mm_il_clause *b)
{
    uint64_t as = a->try_offset, ae = as + a->try_length;
    uint64_t ts = b->try_offset, te = ts + b->try_length;
    uint64_t hs = b->handler_offset, he = hs + b->handler_length;
    if (ts <= as && ae <= te && (as != ts || ae != te))
        return 1;
    if (hs <= as && ae <= he)
        return 1;
    return b->kind == MM_IL_CLAUSE_FILTER && b->token_or_filter <= as && ae <= hs;
}

/* Orders v innermost first, moving only clauses that must move. */
static HRESULT order_clauses(mm_il_clause *v, uint32_t n)
{
    uint32_t i, j, done;
    mm_il_clause *tmp;
    unsigned char *taken;
    int ok = 1;
    for (i = 0; i < n && ok; i++)
        for (j = i + 1; j < n && ok; j++)
            ok = !inside(&v[j], &v[i]);
    if (ok)
        return S_OK;
    tmp = malloc(n * sizeof *tmp);
    taken = calloc(n, 1);
    if (!tmp || !taken) {
        free(tmp);
        free(taken);
        return E_OUTOFMEMORY;
    }
    /* Repeatedly the first clause with nothing left inside it. */
    for (done = 0; done < n; done++) {
        for (i = 0; i < n; i++) {
            int inner = 0;
            if (taken[i])
                continue;
            for (j = 0; j < n && !inner; j++)
                inner = j != i && !taken[j] && inside(&v[j], &v[i]);
            if (!inner)
                break;
        }
        if (i == n) /* nesting in a cycle cannot happen with proper ranges; keep the rest */
            for (i = 0; i < n && taken[i]; i++)
                ;
        taken[i] = 1;
        tmp[done] = v[i];
    }
    memcpy(v, tmp, n * sizeof *v);
    free(tmp);
    free(taken);
    return S_OK;
}

static HRESULT clause_offsets(mm_il_method *m, uint32_t code_size, mm_il_error *err)
{
    uint32_t k;
    if (m->nclauses > m->raw_cap) {
        mm_il_clause *v = realloc(m->raw, m->nclauses * sizeof *v);
        if (!v)
            return mm_il_fail(err, E_OUTOFMEMORY, 0, "out of memory");
        m->raw = v;
        m->raw_cap = m->nclauses;
    }
    for (k = 0; k < m->nclauses; k++) {
        const mm_il_eh *c = &m->clauses[k];
        mm_il_clause *r = &m->raw[k];
        uint32_t te, he;
        if (!c->try_start || !c->handler_start || (c->kind == MM_IL_CLAUSE_FILTER && !c->filter_start))
            return mm_il_fail(err, MM_E_IL_CODE, 0, "clause %u (%s): a block without its first instruction", k,
                              mm_il_clause_kind_name(c->kind));
        if (!linked(m, c->try_start) || !linked(m, c->handler_start) || (c->try_end && !linked(m, c->try_end))
            || (c->handler_end && !linked(m, c->handler_end))
            || (c->kind == MM_IL_CLAUSE_FILTER && !linked(m, c->filter_start)))
            return mm_il_fail(err, MM_E_IL_CODE, 0, "clause %u (%s): names an instruction not in the code", k,
                              mm_il_clause_kind_name(c->kind));
        te = c->try_end ? c->try_end->offset : code_size;
        he = c->handler_end ? c->handler_end->offset : code_size;
        if (te <= c->try_start->offset)
            return mm_il_fail(err, MM_E_IL_CODE, c->try_start->offset,
                              "clause %u (%s): try block IL_%04x..IL_%04x is empty or reversed", k,
                              mm_il_clause_kind_name(c->kind), c->try_start->offset, te);
        if (he <= c->handler_start->offset)
            return mm_il_fail(err, MM_E_IL_CODE, c->handler_start->offset,
                              "clause %u (%s): handler IL_%04x..IL_%04x is empty or reversed", k,
                              mm_il_clause_kind_name(c->kind), c->handler_start->offset, he);
        r->kind = c->kind;
        r->try_offset = c->try_start->offset;
        r->try_length = te - r->try_offset;
        r->handler_offset = c->handler_start->offset;
        r->handler_length = he - r->handler_offset;
        r->token_or_filter = c->kind == MM_IL_CLAUSE_FILTER ? c->filter_start->offset : c->class_token;
    }
    if (FAILED(order_clauses(m->raw, m->nclauses)))
        return mm_il_fail(err, E_OUTOFMEMORY, 0, "out of memory");
    return S_OK;
}

/* Lays out and writes the code into m's buffer; *b describes the body. */
static HRESULT prepare(mm_il_method *m, mm_il_body *b, mm_il_error *err)
{
    uint32_t size = 0;
    HRESULT hr;
    if (!m)
        return mm_il_fail(err, E_POINTER, 0, "NULL method");
    if (FAILED(hr = layout(m, &size, err)))
        return hr;
    if (size > m->code_cap) {
        size_t cap = size > 2 * m->code_cap ? size : 2 * m->code_cap;
        uint8_t *v = realloc(m->code, cap);
        if (!v)
            return mm_il_fail(err, E_OUTOFMEMORY, 0, "out of memory");
        m->code = v;
        m->code_cap = cap;
    }
    write_code(m, m->code);
    if (FAILED(hr = clause_offsets(m, size, err)))
        return hr;
    memset(b, 0, sizeof *b);
    b->header = m->h.header;
    b->flags = m->h.flags;
    b->max_stack = m->h.max_stack;
    b->local_var_sig_tok = m->h.local_var_sig_tok;
    b->code = m->code;
    b->code_size = size;
    b->clauses = m->nclauses ? m->raw : NULL;
    b->clause_count = m->nclauses;
    b->eh_format = m->h.eh_format;
    return S_OK;
}

HRESULT mm_il_method_size(mm_il_method *m, size_t *size, mm_il_error *err)
{
    mm_il_body b;
    HRESULT hr;
    if (!size)
        return mm_il_fail(err, E_POINTER, 0, "NULL size");
    *size = 0;
    if (FAILED(hr = prepare(m, &b, err)))
        return hr;
    return mm_il_size(&b, size, err);
}

HRESULT mm_il_method_emit(mm_il_method *m, void *buf, size_t cap, size_t *written, mm_il_error *err)
{
    mm_il_body b;
    HRESULT hr;
    if (written)
        *written = 0;
    if (!buf)
        return mm_il_fail(err, E_POINTER, 0, "NULL buffer");
    if (FAILED(hr = prepare(m, &b, err)))
        return hr;
    return mm_il_encode(&b, buf, cap, written, err);
}

HRESULT mm_il_method_emit_alloc(mm_il_method *m, IMethodMalloc *alloc, void **block, size_t *size, mm_il_error *err)
{
    mm_il_body b;
    HRESULT hr;
    if (block)
        *block = NULL;
    if (size)
        *size = 0;
    if (!alloc || !block)
        return mm_il_fail(err, E_POINTER, 0, "NULL argument");
    if (FAILED(hr = prepare(m, &b, err)))
        return hr;
    return mm_il_encode_alloc(alloc, &b, block, size, err);
}
