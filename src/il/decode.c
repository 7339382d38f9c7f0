/* Decoding a body's code into the instruction list: every operand read
 * only after its bytes are known to be inside the code, every target and
 * clause boundary resolved to an instruction through an offset map. */
#include "rw.h"

#include <stdlib.h>
#include <string.h>

static const char *name_of(uint16_t op)
{
    return mm_il_opcode(op)->name;
}

/* Reads the operand of kind k at code[pos..], which must fit before end. */
static HRESULT operand(mm_il_instr *ins, const mm_il_opcode_info *o, const uint8_t *code, uint32_t *pos, uint32_t size,
                       uint32_t start, mm_il_error *err)
{
    static const uint8_t width[] = {
        [MM_IL_OP_NONE] = 0, [MM_IL_OP_I1] = 1,  [MM_IL_OP_U1] = 1,    [MM_IL_OP_VAR1] = 1, [MM_IL_OP_VAR2] = 2,
        [MM_IL_OP_I4] = 4,   [MM_IL_OP_I8] = 8,  [MM_IL_OP_R4] = 4,    [MM_IL_OP_R8] = 8,   [MM_IL_OP_TOKEN] = 4,
        [MM_IL_OP_BR1] = 1,  [MM_IL_OP_BR4] = 4, [MM_IL_OP_SWITCH] = 4};
    const uint8_t *q = code + *pos;
    uint32_t w = width[o->operand];
    if (w > size - *pos)
        return mm_il_fail(err, MM_E_IL_CODE, start,
                          "%s at IL_%04x: its %u-byte operand runs past the end of the code (0x%x)", o->name, start, w,
                          size);
    *pos += w;
    switch (o->operand) {
    case MM_IL_OP_NONE: break;
    case MM_IL_OP_I1: ins->arg.i = (int8_t)q[0]; break;
    case MM_IL_OP_U1:
    case MM_IL_OP_VAR1: ins->arg.i = q[0]; break;
    case MM_IL_OP_VAR2: ins->arg.i = mm_rd16(q); break;
    case MM_IL_OP_I4: ins->arg.i = (int32_t)mm_rd32(q); break;
    case MM_IL_OP_I8: ins->arg.i = (int64_t)mm_rd64(q); break;
    case MM_IL_OP_R4: {
        uint32_t bits = mm_rd32(q);
        memcpy(&ins->arg.r4, &bits, 4);
        break;
    }
    case MM_IL_OP_R8: {
        uint64_t bits = mm_rd64(q);
        memcpy(&ins->arg.r8, &bits, 8);
        break;
    }
    case MM_IL_OP_TOKEN: ins->arg.token = mm_rd32(q); break;
    /* Branches keep their absolute target in arg until resolved. */
    case MM_IL_OP_BR1: ins->arg.i = (int64_t)*pos + (int8_t)q[0]; break;
    case MM_IL_OP_BR4: ins->arg.i = (int64_t)*pos + (int32_t)mm_rd32(q); break;
    case MM_IL_OP_SWITCH: ins->arg.i = mm_rd32(q); break;
    }
    return S_OK;
}

/* The instruction at absolute offset t, for a reference from `from`. */
static HRESULT resolve(mm_il_method *m, int64_t t, uint32_t size, const char *what, uint32_t from, mm_il_instr **out,
                       mm_il_error *err)
{
    if (t < 0 || t >= size)
        return mm_il_fail(err, MM_E_IL_CODE, from, "%s at IL_%04x targets %s0x%llx, outside the code (0x%x bytes)",
                          what, from, t < 0 ? "-" : "", (unsigned long long)(t < 0 ? -t : t), size);
    if (!m->map[t])
        return mm_il_fail(err, MM_E_IL_CODE, from, "%s at IL_%04x targets 0x%llx, the middle of an instruction", what,
                          from, (unsigned long long)t);
    *out = m->map[t];
    return S_OK;
}

/* A clause boundary: an instruction start, or (for an end) the end of the code. */
static HRESULT boundary(mm_il_method *m, uint64_t t, uint32_t size, int end, uint32_t k, const char *what,
                        mm_il_instr **out, mm_il_error *err)
{
    if (end && t == size) {
        *out = NULL;
        return S_OK;
    }
    if (t >= size)
        return mm_il_fail(err, MM_E_IL_CODE, t > UINT32_MAX ? UINT32_MAX : (uint32_t)t,
                          "clause %u: %s 0x%llx is outside the code (0x%x bytes)", k, what, (unsigned long long)t,
                          size);
    if (!m->map[t])
        return mm_il_fail(err, MM_E_IL_CODE, (uint32_t)t, "clause %u: %s 0x%llx is not on an instruction boundary", k,
                          what, (unsigned long long)t);
    *out = m->map[t];
    return S_OK;
}

static HRESULT read_code(mm_il_method *m, const uint8_t *code, uint32_t size, mm_il_error *err)
{
    uint32_t pos = 0, k;
    mm_il_instr *ins;
    HRESULT hr;

    while (pos < size) {
        uint32_t start = pos;
        const mm_il_opcode_info *o;
        uint16_t op;
        if (!(ins = mm_il_arena(m, sizeof *ins)))
            return mm_il_fail(err, E_OUTOFMEMORY, start, "out of memory");
        memset(ins, 0, sizeof *ins);
        ins->offset = start;
        for (;;) {
            if (pos >= size)
                return mm_il_fail(err, MM_E_IL_CODE, start, "prefix %s at IL_%04x prefixes nothing: the code ends",
                                  name_of(ins->prefix[ins->prefix_count - 1].opcode), start);
            op = code[pos];
            if (op == 0xFE) {
                if (size - pos < 2)
                    return mm_il_fail(err, MM_E_IL_CODE, pos,
                                      "opcode 0xfe at IL_%04x is cut off by the end of the code", pos);
                op = (uint16_t)(0xFE00 | code[pos + 1]);
            }
            if (!(o = mm_il_opcode(op)))
                return op >> 8
                           ? mm_il_fail(err, MM_E_IL_CODE, pos, "unknown opcode 0xfe 0x%02x at IL_%04x", op & 0xFF, pos)
                           : mm_il_fail(err, MM_E_IL_CODE, pos, "unknown opcode 0x%02x at IL_%04x", op, pos);
            pos += op >> 8 ? 2 : 1;
            if (o->flow != MM_IL_FLOW_PREFIX)
                break;
            if (ins->prefix_count == MM_IL_MAX_PREFIXES)
                return mm_il_fail(err, MM_E_IL_CODE, start, "more than %d prefixes at IL_%04x", MM_IL_MAX_PREFIXES,
                                  start);
            {
                mm_il_instr tmp;
                if (FAILED(hr = operand(&tmp, o, code, &pos, size, start, err)))
                    return hr;
                ins->prefix[ins->prefix_count].opcode = op;
                ins->prefix[ins->prefix_count].operand = o->operand == MM_IL_OP_TOKEN ? tmp.arg.token
                                                         : o->operand == MM_IL_OP_U1  ? (uint32_t)tmp.arg.i
                                                                                      : 0;
                ins->prefix_count++;
            }
        }
        ins->opcode = op;
        if (FAILED(hr = operand(ins, o, code, &pos, size, start, err)))
            return hr;
        if (o->operand == MM_IL_OP_SWITCH) {
            uint64_t n = (uint64_t)ins->arg.i;
            int64_t base;
            if (n > (size - pos) / 4)
                return mm_il_fail(err, MM_E_IL_CODE, start,
                                  "switch at IL_%04x has %llu targets, more than the 0x%x bytes left in the code hold",
                                  start, (unsigned long long)n, size - pos);
            ins->target_count = (uint32_t)n;
            /* Targets are offsets until resolved: kept in an array just
             * before the pointer slots. */
            if (n) {
                int64_t *at = mm_il_arena(m, (size_t)n * (sizeof *ins->targets + 8));
                if (!at)
                    return mm_il_fail(err, E_OUTOFMEMORY, start, "out of memory");
                ins->targets = (mm_il_instr **)(at + n);
                base = (int64_t)pos + 4 * (int64_t)n;
                for (k = 0; k < n; k++)
                    at[k] = base + (int32_t)mm_rd32(code + pos + 4 * k);
            }
            pos += 4 * (uint32_t)n;
        }
        m->map[start] = ins;
        ins->prev = m->last;
        if (m->last)
            m->last->next = ins;
        else
            m->first = ins;
        m->last = ins;
        m->count++;
    }

    for (ins = m->first; ins; ins = ins->next) {
        const mm_il_opcode_info *o = mm_il_opcode(ins->opcode);
        if (o->operand == MM_IL_OP_BR1 || o->operand == MM_IL_OP_BR4) {
            if (FAILED(hr = resolve(m, ins->arg.i, size, o->name, ins->offset, &ins->target, err)))
                return hr;
            ins->arg.i = 0;
            ins->target->refs++;
        } else if (o->operand == MM_IL_OP_SWITCH) {
            for (k = 0; k < ins->target_count; k++) {
                int64_t t = ((int64_t *)ins->targets - ins->target_count)[k];
                if (FAILED(hr = resolve(m, t, size, "switch", ins->offset, &ins->targets[k], err)))
                    return hr;
                ins->targets[k]->refs++;
            }
        }
    }
    return S_OK;
}

static HRESULT read_clauses(mm_il_method *m, const mm_il_body *b, mm_il_error *err)
{
    uint32_t k, size = b->code_size;
    HRESULT hr;
    for (k = 0; k < b->clause_count; k++) {
        const mm_il_clause *r = &b->clauses[k];
        mm_il_eh c;
        memset(&c, 0, sizeof c);
        c.kind = r->kind;
        if (FAILED(hr = boundary(m, r->try_offset, size, 0, k, "try start", &c.try_start, err))
            || FAILED(hr = boundary(m, (uint64_t)r->try_offset + r->try_length, size, 1, k, "try end", &c.try_end, err))
            || FAILED(hr = boundary(m, r->handler_offset, size, 0, k, "handler start", &c.handler_start, err))
            || FAILED(hr = boundary(m, (uint64_t)r->handler_offset + r->handler_length, size, 1, k, "handler end",
                                    &c.handler_end, err)))
            return hr;
        if (r->kind == MM_IL_CLAUSE_FILTER) {
            if (FAILED(hr = boundary(m, r->token_or_filter, size, 0, k, "filter start", &c.filter_start, err)))
                return hr;
        } else {
            c.class_token = r->token_or_filter;
        }
        if (FAILED(hr = mm_il_add_clause(m, &c)))
            return mm_il_fail(err, hr, 0, "out of memory");
    }
    return S_OK;
}

HRESULT mm_il_method_read(mm_il_method *m, const void *p, size_t len, mm_il_error *err)
{
    mm_il_body b;
    HRESULT hr;

    if (!m)
        return mm_il_fail(err, E_POINTER, 0, "NULL method");
    mm_il_method_clear(m);
    hr = mm_il_decode(p, len, &b, m->raw, m->raw_cap, err);
    if (hr == MM_E_IL_SMALL_BUFFER) {
        mm_il_clause *v = realloc(m->raw, b.clause_count * sizeof *v);
        if (!v)
            return mm_il_fail(err, E_OUTOFMEMORY, 0, "out of memory");
        m->raw = v;
        m->raw_cap = b.clause_count;
        hr = mm_il_decode(p, len, &b, m->raw, m->raw_cap, err);
    }
    if (FAILED(hr))
        return hr;
    if (b.code_size + (size_t)1 > m->map_cap) {
        size_t cap = b.code_size + (size_t)1 > 2 * m->map_cap ? b.code_size + (size_t)1 : 2 * m->map_cap;
        mm_il_instr **v = realloc(m->map, cap * sizeof *v);
        if (!v)
            return mm_il_fail(err, E_OUTOFMEMORY, 0, "out of memory");
        m->map = v;
        m->map_cap = cap;
    }
    memset(m->map, 0, (b.code_size + (size_t)1) * sizeof *m->map);
    if (FAILED(hr = read_code(m, b.code, b.code_size, err)) || FAILED(hr = read_clauses(m, &b, err))) {
        mm_il_method_clear(m);
        return hr;
    }
    /* A fat header stays fat and a fat table stays fat, so that an unedited
     * body comes back byte for byte; tiny and small stay so while they can. */
    m->h.header = b.header == MM_IL_HEADER_FAT ? MM_IL_HEADER_FAT : MM_IL_HEADER_AUTO;
    m->h.eh_format = b.eh_format == MM_IL_EH_FAT ? MM_IL_EH_FAT : MM_IL_EH_AUTO;
    m->h.flags = b.flags & MM_IL_INIT_LOCALS;
    m->h.max_stack = b.max_stack;
    m->h.local_var_sig_tok = b.local_var_sig_tok;
    m->code_size = b.code_size;
    return S_OK;
}
