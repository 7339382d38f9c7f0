/* Writing IL method bodies (ECMA-335 II.25.4): plan a layout from a
 * description (header form, exception table form, size), then write it.
 * The plan refuses whatever mm_il_validate would reject. */
#include "il.h"

#include <string.h>

/* The layout the encoder chose for a description. */
struct layout {
    int tiny;
    int fat_eh;
    uint32_t eh_offset; /* where the exception table starts (0: none) */
    uint32_t size;
};

static int fits_small(const mm_il_clause *c)
{
    return c->kind <= 0xFFFF && c->try_offset <= 0xFFFF && c->try_length <= 0xFF && c->handler_offset <= 0xFFFF &&
           c->handler_length <= 0xFF;
}

static HRESULT plan(const mm_il_body *b, struct layout *l, mm_il_error *err)
{
    uint32_t hdr, i;
    uint64_t end;
    int small_ok;
    HRESULT hr;

    if (!b)
        return mm_il_fail(err, E_POINTER, 0, "NULL body");
    if ((!b->code && b->code_size) || (!b->clauses && b->clause_count))
        return mm_il_fail(err, E_POINTER, 0, "NULL code or clauses with a non-zero count");
    if (b->code_size == 0)
        return mm_il_fail(err, MM_E_IL_HEADER, 0, "empty code");
    if (b->flags & ~MM_IL_KNOWN_FLAGS)
        return mm_il_fail(err, MM_E_IL_HEADER, 0, "flags 0x%x have unknown bits 0x%x", b->flags, b->flags & ~MM_IL_KNOWN_FLAGS);
    if (FAILED(hr = mm_il_check_locals(b->local_var_sig_tok, 8, err)))
        return hr;

    l->tiny = b->code_size <= MM_IL_TINY_MAX_CODE && b->max_stack <= MM_IL_TINY_MAX_STACK &&
              b->local_var_sig_tok == 0 && b->clause_count == 0 &&
              (b->flags & ~(uint32_t)(MM_IL_FORMAT_MASK | MM_IL_MORE_SECTS)) == 0;
    if (b->header == MM_IL_HEADER_TINY && !l->tiny)
        return mm_il_fail(err, MM_E_IL_CANNOT, 0,
                    "tiny header asked, but code size %u, max stack %u, locals 0x%x, %u clauses, flags 0x%x do not fit",
                    b->code_size, b->max_stack, b->local_var_sig_tok, b->clause_count, b->flags);
    if (b->header == MM_IL_HEADER_FAT)
        l->tiny = 0;
    else if (b->header != MM_IL_HEADER_AUTO && b->header != MM_IL_HEADER_TINY)
        return mm_il_fail(err, E_INVALIDARG, 0, "header kind %d is not AUTO, TINY or FAT", (int)b->header);
    hdr = l->tiny ? 1 : MM_IL_FAT_HEADER_SIZE;
    end = (uint64_t)hdr + b->code_size;

    small_ok = b->clause_count <= (MM_IL_SMALL_MAX_DATA - MM_IL_SECT_HEADER) / MM_IL_SMALL_CLAUSE;
    for (i = 0; i < b->clause_count && small_ok; i++)
        small_ok = fits_small(&b->clauses[i]);
    if (b->eh_format == MM_IL_EH_SMALL && !small_ok)
        return mm_il_fail(err, MM_E_IL_CANNOT, mm_il_align4(end), "small exception table asked, but %u clauses do not fit it",
                    b->clause_count);
    if (b->eh_format != MM_IL_EH_AUTO && b->eh_format != MM_IL_EH_SMALL && b->eh_format != MM_IL_EH_FAT)
        return mm_il_fail(err, E_INVALIDARG, 0, "exception table form %d is not AUTO, SMALL or FAT", (int)b->eh_format);
    l->fat_eh = b->eh_format == MM_IL_EH_FAT || !small_ok;
    if (l->fat_eh && b->clause_count > (MM_IL_FAT_MAX_DATA - MM_IL_SECT_HEADER) / MM_IL_FAT_CLAUSE)
        return mm_il_fail(err, MM_E_IL_CANNOT, mm_il_align4(end), "%u clauses exceed one fat exception table", b->clause_count);
    for (i = 0; i < b->clause_count; i++) {
        uint64_t at = mm_il_align4(end) + MM_IL_SECT_HEADER + (uint64_t)i * (l->fat_eh ? MM_IL_FAT_CLAUSE : MM_IL_SMALL_CLAUSE);
        if (FAILED(hr = mm_il_check_clause(&b->clauses[i], i, b->code_size, at, err)))
            return hr;
    }

    l->eh_offset = 0;
    if (b->clause_count) {
        end = mm_il_align4(end);
        if (end <= UINT32_MAX)
            l->eh_offset = (uint32_t)end;
        end += MM_IL_SECT_HEADER + (uint64_t)b->clause_count * (l->fat_eh ? MM_IL_FAT_CLAUSE : MM_IL_SMALL_CLAUSE);
    }
    if (end > UINT32_MAX)
        return mm_il_fail(err, MM_E_IL_CANNOT, 0, "body of 0x%llx bytes is larger than 4 GiB", (unsigned long long)end);
    l->size = (uint32_t)end;
    return S_OK;
}

HRESULT mm_il_size(const mm_il_body *b, size_t *size, mm_il_error *err)
{
    struct layout l;
    HRESULT hr;
    if (!size)
        return mm_il_fail(err, E_POINTER, 0, "NULL size");
    *size = 0;
    if (FAILED(hr = plan(b, &l, err)))
        return hr;
    *size = l.size;
    mm_il_ok(err);
    return S_OK;
}

static void write_body(const mm_il_body *b, const struct layout *l, uint8_t *o)
{
    uint32_t i, hdr;

    memset(o, 0, l->size);
    if (l->tiny) {
        o[0] = (uint8_t)(b->code_size << 2 | MM_IL_TINY_FORMAT);
        hdr = 1;
    } else {
        uint32_t flags = (b->flags & MM_IL_INIT_LOCALS) | MM_IL_FAT_FORMAT;
        if (b->clause_count)
            flags |= MM_IL_MORE_SECTS;
        mm_wr16(o, flags | 3u << 12);
        mm_wr16(o + 2, b->max_stack);
        mm_wr32(o + 4, b->code_size);
        mm_wr32(o + 8, b->local_var_sig_tok);
        hdr = MM_IL_FAT_HEADER_SIZE;
    }
    memcpy(o + hdr, b->code, b->code_size);
    if (!b->clause_count)
        return;

    o += l->eh_offset;
    if (l->fat_eh) {
        uint32_t data = MM_IL_SECT_HEADER + b->clause_count * MM_IL_FAT_CLAUSE;
        o[0] = MM_IL_SECT_EHTABLE | MM_IL_SECT_FAT_FORMAT;
        o[1] = (uint8_t)data;
        mm_wr16(o + 2, data >> 8);
    } else {
        o[0] = MM_IL_SECT_EHTABLE;
        o[1] = (uint8_t)(MM_IL_SECT_HEADER + b->clause_count * MM_IL_SMALL_CLAUSE);
    }
    o += MM_IL_SECT_HEADER;
    for (i = 0; i < b->clause_count; i++) {
        const mm_il_clause *c = &b->clauses[i];
        if (l->fat_eh) {
            mm_wr32(o, c->kind);
            mm_wr32(o + 4, c->try_offset);
            mm_wr32(o + 8, c->try_length);
            mm_wr32(o + 12, c->handler_offset);
            mm_wr32(o + 16, c->handler_length);
            mm_wr32(o + 20, c->token_or_filter);
            o += MM_IL_FAT_CLAUSE;
        } else {
            mm_wr16(o, c->kind);
            mm_wr16(o + 2, c->try_offset);
            o[4] = (uint8_t)c->try_length;
            mm_wr16(o + 5, c->handler_offset);
            o[7] = (uint8_t)c->handler_length;
            mm_wr32(o + 8, c->token_or_filter);
            o += MM_IL_SMALL_CLAUSE;
        }
    }
}

HRESULT mm_il_encode(const mm_il_body *b, void *buf, size_t cap, size_t *written, mm_il_error *err)
{
    struct layout l;
    HRESULT hr;
    if (written)
        *written = 0;
    if (!buf)
        return mm_il_fail(err, E_POINTER, 0, "NULL buffer");
    if (FAILED(hr = plan(b, &l, err)))
        return hr;
    if (cap < l.size)
        return mm_il_fail(err, MM_E_IL_SMALL_BUFFER, 0, "the body needs 0x%x bytes, the buffer has 0x%zx", l.size, cap);
    write_body(b, &l, buf);
    if (written)
        *written = l.size;
    mm_il_ok(err);
    return S_OK;
}

HRESULT mm_il_encode_alloc(IMethodMalloc *alloc, const mm_il_body *b, void **block, size_t *size, mm_il_error *err)
{
    struct layout l;
    HRESULT hr;
    void *p;
    if (size)
        *size = 0;
    if (!block)
        return mm_il_fail(err, E_POINTER, 0, "NULL block");
    *block = NULL;
    if (!alloc)
        return mm_il_fail(err, E_POINTER, 0, "NULL allocator");
    if (FAILED(hr = plan(b, &l, err)))
        return hr;
    p = alloc->lpVtbl->Alloc(alloc, l.size);
    if (!p)
        return mm_il_fail(err, E_OUTOFMEMORY, 0, "IMethodMalloc::Alloc(0x%x) returned NULL", l.size);
    write_body(b, &l, p);
    *block = p;
    if (size)
        *size = l.size;
    mm_il_ok(err);
    return S_OK;
}
