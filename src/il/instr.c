/* The instruction list: decoding a body into it, and the edits.  Every
 * reference (branch, switch entry, clause boundary) to an instruction is
 * counted in its refs, so that an edit can tell at once whether an
 * instruction is a target and retarget only when it is. */
#include "rw.h"

#include <stdlib.h>
#include <string.h>

struct arena_block {
    struct arena_block *next;
    size_t size;
    max_align_t data[];
};

#define ARENA_BLOCK 65536u

void *mm_il_arena(mm_il_method *m, size_t n)
{
    struct arena_block *b = m->current;
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (b && m->used + n <= b->size) {
        void *p = (char *)b->data + m->used;
        m->used += n;
        return p;
    }
    /* The next kept block if it is large enough, else a new one after the current. */
    if (b && b->next && b->next->size >= n) {
        b = b->next;
    } else {
        size_t size = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        struct arena_block *nb = malloc(sizeof *nb + size);
        if (!nb)
            return NULL;
        nb->size = size;
        if (b) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = m->blocks;
            m->blocks = nb;
        }
        b = nb;
    }
    m->current = b;
    m->used = n;
    return b->data;
}

HRESULT mm_il_method_create(mm_il_method **out)
{
    mm_il_method *m;
    if (!out)
        return E_POINTER;
    *out = m = calloc(1, sizeof *m);
    if (!m)
        return E_OUTOFMEMORY;
    mm_il_method_clear(m);
    return S_OK;
}

void mm_il_method_destroy(mm_il_method *m)
{
    struct arena_block *b, *next;
    if (!m)
        return;
    for (b = m->blocks; b; b = next) {
        next = b->next;
        free(b);
    }
    free(m->clauses);
    free(m->map);
    free(m->code);
    free(m->raw);
    free(m);
}

void mm_il_method_clear(mm_il_method *m)
{
    if (!m)
        return;
    m->first = m->last = NULL;
    m->count = 0;
    m->code_size = 0;
    m->nclauses = 0;
    m->current = m->blocks;
    m->used = 0;
    memset(&m->h, 0, sizeof m->h);
    m->h.max_stack = MM_IL_TINY_MAX_STACK;
}

mm_il_instr *mm_il_first(const mm_il_method *m)
{
    return m ? m->first : NULL;
}
mm_il_instr *mm_il_last(const mm_il_method *m)
{
    return m ? m->last : NULL;
}
uint32_t mm_il_count(const mm_il_method *m)
{
    return m ? m->count : 0;
}
uint32_t mm_il_code_size(const mm_il_method *m)
{
    return m ? m->code_size : 0;
}
uint32_t mm_il_clause_count(const mm_il_method *m)
{
    return m ? m->nclauses : 0;
}

const mm_il_eh *mm_il_clause_at(const mm_il_method *m, uint32_t i)
{
    return m && i < m->nclauses ? &m->clauses[i] : NULL;
}

void mm_il_get_header(const mm_il_method *m, mm_il_method_header *h)
{
    if (m && h)
        *h = m->h;
}

HRESULT mm_il_set_header(mm_il_method *m, const mm_il_method_header *h)
{
    if (!m || !h)
        return E_POINTER;
    if ((unsigned)h->header > MM_IL_HEADER_FAT || (unsigned)h->eh_format > MM_IL_EH_FAT
        || (h->flags & ~MM_IL_INIT_LOCALS))
        return E_INVALIDARG;
    m->h = *h;
    return S_OK;
}

static void ref(mm_il_instr *i, int delta)
{
    if (i)
        i->refs += (uint32_t)delta;
}

static void clause_refs(const mm_il_eh *c, int delta)
{
    ref(c->try_start, delta);
    ref(c->try_end, delta);
    ref(c->handler_start, delta);
    ref(c->handler_end, delta);
    if (c->kind == MM_IL_CLAUSE_FILTER)
        ref(c->filter_start, delta);
}

static HRESULT grow_clauses(mm_il_method *m)
{
    if (m->nclauses == m->clause_cap) {
        uint32_t cap = m->clause_cap ? m->clause_cap * 2 : 8;
        mm_il_eh *v = realloc(m->clauses, cap * sizeof *v);
        if (!v)
            return E_OUTOFMEMORY;
        m->clauses = v;
        m->clause_cap = cap;
    }
    return S_OK;
}

HRESULT mm_il_add_clause(mm_il_method *m, const mm_il_eh *c)
{
    HRESULT hr;
    if (!m || !c)
        return E_POINTER;
    if (FAILED(hr = grow_clauses(m)))
        return hr;
    m->clauses[m->nclauses++] = *c;
    clause_refs(c, 1);
    return S_OK;
}

HRESULT mm_il_set_clause(mm_il_method *m, uint32_t i, const mm_il_eh *c)
{
    if (!m || !c)
        return E_POINTER;
    if (i >= m->nclauses)
        return E_INVALIDARG;
    clause_refs(&m->clauses[i], -1);
    m->clauses[i] = *c;
    clause_refs(c, 1);
    return S_OK;
}

static int is_branch(const mm_il_instr *i)
{
    const mm_il_opcode_info *o = mm_il_opcode(i->opcode);
    return o && (o->operand == MM_IL_OP_BR1 || o->operand == MM_IL_OP_BR4);
}

static int is_switch(const mm_il_instr *i)
{
    return i->opcode == MM_IL_SWITCH;
}

/* Whether ins is linked into m's list (ends are checked without a walk). */
static int linked(const mm_il_method *m, const mm_il_instr *ins)
{
    return ins->prev || ins->next || m->first == ins;
}

/* refs count the references of instructions in the list (and clauses): an
 * instruction's own references count from when it is linked until it is
 * unlinked. */
static void outgoing(mm_il_instr *i, int delta)
{
    uint32_t k;
    if (is_branch(i))
        ref(i->target, delta);
    else if (is_switch(i))
        for (k = 0; k < i->target_count; k++)
            ref(i->targets[k], delta);
}

HRESULT mm_il_set_target(mm_il_method *m, mm_il_instr *br, mm_il_instr *target)
{
    int in = 0;
    if (!m || !br)
        return E_POINTER;
    if (!is_branch(br))
        return E_INVALIDARG;
    if ((in = linked(m, br)))
        ref(br->target, -1);
    br->target = target;
    if (in)
        ref(target, 1);
    return S_OK;
}

HRESULT mm_il_set_switch(mm_il_method *m, mm_il_instr *sw, mm_il_instr *const *targets, uint32_t count)
{
    mm_il_instr **v = NULL;
    uint32_t i;
    if (!m || !sw || (!targets && count))
        return E_POINTER;
    if (!is_switch(sw))
        return E_INVALIDARG;
    if (count && !(v = mm_il_arena(m, (size_t)count * sizeof *v)))
        return E_OUTOFMEMORY;
    if (linked(m, sw))
        outgoing(sw, -1);
    for (i = 0; i < count; i++)
        v[i] = targets[i];
    sw->targets = v;
    sw->target_count = count;
    if (linked(m, sw))
        outgoing(sw, 1);
    return S_OK;
}

mm_il_instr *mm_il_new(mm_il_method *m, uint16_t opcode)
{
    const mm_il_opcode_info *o = mm_il_opcode(opcode);
    mm_il_instr *i;
    if (!m || !o || o->flow == MM_IL_FLOW_PREFIX || !(i = mm_il_arena(m, sizeof *i)))
        return NULL;
    memset(i, 0, sizeof *i);
    i->opcode = opcode;
    i->offset = MM_IL_NEW_OFFSET;
    return i;
}

/* ---- Edits ---- */

/* Every reference to from now names to (NULL for an end reference only). */
static void retarget(mm_il_method *m, mm_il_instr *from, mm_il_instr *to)
{
    mm_il_instr *i;
    uint32_t k;
    if (!from->refs)
        return;
    for (i = m->first; i && from->refs; i = i->next) {
        /* The new instruction's own references stay as its author set them. */
        if (i == to)
            continue;
        if (i->target == from && is_branch(i)) {
            i->target = to;
            from->refs--, ref(to, 1);
        }
        if (is_switch(i))
            for (k = 0; k < i->target_count; k++)
                if (i->targets[k] == from) {
                    i->targets[k] = to;
                    from->refs--, ref(to, 1);
                }
    }
    for (k = 0; k < m->nclauses && from->refs; k++) {
        mm_il_eh *c = &m->clauses[k];
        mm_il_instr **slots[5] = {&c->try_start, &c->try_end, &c->handler_start, &c->handler_end, &c->filter_start};
        int s, nslots = c->kind == MM_IL_CLAUSE_FILTER ? 5 : 4;
        for (s = 0; s < nslots; s++)
            if (*slots[s] == from) {
                *slots[s] = to;
                from->refs--, ref(to, 1);
            }
    }
}

static void link_before(mm_il_method *m, mm_il_instr *at, mm_il_instr *ins)
{
    ins->next = at;
    if (at) {
        ins->prev = at->prev;
        at->prev = ins;
    } else {
        ins->prev = m->last;
        m->last = ins;
    }
    if (ins->prev)
        ins->prev->next = ins;
    else
        m->first = ins;
    m->count++;
    outgoing(ins, 1);
}

static void unlink_instr(mm_il_method *m, mm_il_instr *ins)
{
    if (ins->prev)
        ins->prev->next = ins->next;
    else
        m->first = ins->next;
    if (ins->next)
        ins->next->prev = ins->prev;
    else
        m->last = ins->prev;
    ins->prev = ins->next = NULL;
    m->count--;
    outgoing(ins, -1);
}

static HRESULT check_new(const mm_il_method *m, const mm_il_instr *at, const mm_il_instr *ins, mm_il_error *err)
{
    if (linked(m, ins))
        return mm_il_fail(err, MM_E_IL_EDIT, IL_AT(ins), "the instruction to insert (%s) is already in the code",
                          mm_il_opcode(ins->opcode) ? mm_il_opcode(ins->opcode)->name : "?");
    if (at && !linked(m, at))
        return mm_il_fail(err, MM_E_IL_EDIT, IL_AT(at), "the instruction to insert at is not in the code");
    return S_OK;
}

HRESULT mm_il_insert_before(mm_il_method *m, mm_il_instr *at, mm_il_instr *ins, mm_il_retarget mode, mm_il_error *err)
{
    HRESULT hr;
    if (!m || !ins)
        return mm_il_fail(err, E_POINTER, 0, "NULL argument");
    if (FAILED(hr = check_new(m, at, ins, err)))
        return hr;
    if (mode != MM_IL_KEEP && mode != MM_IL_RETARGET)
        return mm_il_fail(err, MM_E_IL_EDIT, at ? IL_AT(at) : 0, "retarget mode %d is neither KEEP nor RETARGET",
                          (int)mode);
    link_before(m, at, ins);
    if (at && mode == MM_IL_RETARGET)
        retarget(m, at, ins);
    return S_OK;
}

HRESULT mm_il_insert_after(mm_il_method *m, mm_il_instr *at, mm_il_instr *ins, mm_il_error *err)
{
    HRESULT hr;
    if (!m || !ins)
        return mm_il_fail(err, E_POINTER, 0, "NULL argument");
    if (FAILED(hr = check_new(m, at, ins, err)))
        return hr;
    link_before(m, at ? at->next : m->first, ins);
    return S_OK;
}

HRESULT mm_il_replace(mm_il_method *m, mm_il_instr *old, mm_il_instr *ins, mm_il_error *err)
{
    HRESULT hr;
    if (!m || !old || !ins)
        return mm_il_fail(err, E_POINTER, 0, "NULL argument");
    if (!linked(m, old))
        return mm_il_fail(err, MM_E_IL_EDIT, IL_AT(old), "the instruction to replace is not in the code");
    if (FAILED(hr = check_new(m, old, ins, err)))
        return hr;
    link_before(m, old, ins);
    retarget(m, old, ins);
    unlink_instr(m, old);
    return S_OK;
}

HRESULT mm_il_remove(mm_il_method *m, mm_il_instr *ins, mm_il_error *err)
{
    mm_il_instr *i;
    uint32_t k;
    if (!m || !ins)
        return mm_il_fail(err, E_POINTER, 0, "NULL argument");
    if (!linked(m, ins))
        return mm_il_fail(err, MM_E_IL_EDIT, IL_AT(ins), "the instruction to remove is not in the code");
    if (ins->refs) {
        /* Only clause ends may follow the instruction away. */
        for (i = m->first; i; i = i->next) {
            int named = i->target == ins && is_branch(i);
            for (k = 0; !named && is_switch(i) && k < i->target_count; k++)
                named = i->targets[k] == ins;
            if (named)
                return mm_il_fail(err, MM_E_IL_EDIT, IL_AT(ins),
                                  "IL_%04x (%s) is the target of %s at IL_%04x: removing it would orphan the branch",
                                  IL_AT(ins), mm_il_opcode(ins->opcode)->name, mm_il_opcode(i->opcode)->name, IL_AT(i));
        }
        for (k = 0; k < m->nclauses; k++) {
            const mm_il_eh *c = &m->clauses[k];
            if (c->try_start == ins || c->handler_start == ins
                || (c->kind == MM_IL_CLAUSE_FILTER && c->filter_start == ins))
                return mm_il_fail(err, MM_E_IL_EDIT, IL_AT(ins),
                                  "IL_%04x (%s) starts a block of clause %u (%s): removing it would orphan the clause",
                                  IL_AT(ins), mm_il_opcode(ins->opcode)->name, k, mm_il_clause_kind_name(c->kind));
        }
        retarget(m, ins, ins->next);
    }
    unlink_instr(m, ins);
    return S_OK;
}
