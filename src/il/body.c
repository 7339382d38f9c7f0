/* IL method bodies (ECMA-335 II.25.4): size, encode, decode, validate,
 * extent.  One reader serves decode, validate and extent so that the three
 * can never disagree on where a body ends. */
#include "il.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SMALL_CLAUSE 12u
#define FAT_CLAUSE 24u
#define SECT_HEADER 4u
#define SMALL_MAX_DATA 0xFFu
#define FAT_MAX_DATA 0xFFFFFFu
#define KNOWN_FLAGS (MM_IL_FORMAT_MASK | MM_IL_MORE_SECTS | MM_IL_INIT_LOCALS)
#define KNOWN_SECT (MM_IL_SECT_EHTABLE | MM_IL_SECT_FAT_FORMAT | MM_IL_SECT_MORE_SECTS)

/* Metadata token tables a body may name. */
#define TOKEN_TYPEREF 0x01u
#define TOKEN_TYPEDEF 0x02u
#define TOKEN_STANDALONESIG 0x11u
#define TOKEN_TYPESPEC 0x1Bu

HRESULT mm_il_fail(mm_il_error *err, HRESULT code, uint64_t offset, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        err->offset = offset > UINT32_MAX ? UINT32_MAX : (uint32_t)offset;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

static void ok(mm_il_error *err)
{
    if (err) {
        err->code = S_OK;
        err->offset = 0;
        err->message[0] = '\0';
    }
}

static void wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, v);
    wr16(p + 2, v >> 16);
}

static uint64_t align4(uint64_t n) { return (n + 3) & ~(uint64_t)3; }

const char *mm_il_clause_kind_name(uint32_t kind)
{
    switch (kind) {
    case MM_IL_CLAUSE_CATCH: return "catch";
    case MM_IL_CLAUSE_FILTER: return "filter";
    case MM_IL_CLAUSE_FINALLY: return "finally";
    case MM_IL_CLAUSE_FAULT: return "fault";
    default: return "unknown";
    }
}

/* What the runtime relies on in one clause; off is where the clause is. */
static HRESULT check_clause(const mm_il_clause *c, uint32_t i, uint32_t code_size, uint64_t off,
                            mm_il_error *err)
{
    uint64_t try_end = (uint64_t)c->try_offset + c->try_length;
    uint64_t handler_end = (uint64_t)c->handler_offset + c->handler_length;

    if (c->kind != MM_IL_CLAUSE_CATCH && c->kind != MM_IL_CLAUSE_FILTER && c->kind != MM_IL_CLAUSE_FINALLY &&
        c->kind != MM_IL_CLAUSE_FAULT)
        return mm_il_fail(err, MM_E_IL_CLAUSE, off, "clause %u: unknown kind 0x%x", i, c->kind);
    if (c->try_length == 0)
        return mm_il_fail(err, MM_E_IL_CLAUSE, off, "clause %u (%s): empty try block", i, mm_il_clause_kind_name(c->kind));
    if (c->handler_length == 0)
        return mm_il_fail(err, MM_E_IL_CLAUSE, off, "clause %u (%s): empty handler", i, mm_il_clause_kind_name(c->kind));
    if (try_end > code_size)
        return mm_il_fail(err, MM_E_IL_CLAUSE, off, "clause %u (%s): try [0x%x, 0x%llx) ends past the code (0x%x bytes)",
                    i, mm_il_clause_kind_name(c->kind), c->try_offset, (unsigned long long)try_end, code_size);
    if (handler_end > code_size)
        return mm_il_fail(err, MM_E_IL_CLAUSE, off,
                    "clause %u (%s): handler [0x%x, 0x%llx) ends past the code (0x%x bytes)", i,
                    mm_il_clause_kind_name(c->kind), c->handler_offset, (unsigned long long)handler_end, code_size);
    if (c->try_offset < handler_end && c->handler_offset < try_end)
        return mm_il_fail(err, MM_E_IL_CLAUSE, off, "clause %u (%s): try [0x%x, 0x%llx) and handler [0x%x, 0x%llx) overlap",
                    i, mm_il_clause_kind_name(c->kind), c->try_offset, (unsigned long long)try_end, c->handler_offset,
                    (unsigned long long)handler_end);
    if (c->kind == MM_IL_CLAUSE_FILTER && c->token_or_filter >= c->handler_offset)
        return mm_il_fail(err, MM_E_IL_CLAUSE, off, "clause %u (filter): filter at 0x%x does not start before its handler at 0x%x",
                    i, c->token_or_filter, c->handler_offset);
    if (c->kind == MM_IL_CLAUSE_CATCH) {
        uint32_t table = c->token_or_filter >> 24;
        if ((table != TOKEN_TYPEDEF && table != TOKEN_TYPEREF && table != TOKEN_TYPESPEC) ||
            (c->token_or_filter & 0xFFFFFFu) == 0)
            return mm_il_fail(err, MM_E_IL_CLAUSE, off,
                        "clause %u (catch): class token 0x%08x is not a TypeDef, TypeRef or TypeSpec", i,
                        c->token_or_filter);
    }
    return S_OK;
}

/* ---- Reading ---- */

enum depth { EXTENT, DECODE, VALIDATE };

/* The reader behind decode, validate and extent.  Offsets are 64-bit so that
 * no sum of 32-bit fields can wrap; nothing is read before its end is
 * checked against len. */
static HRESULT read_body(const uint8_t *p, size_t len, enum depth depth, mm_il_body *out, mm_il_clause *clauses,
                         size_t capacity, mm_il_error *err)
{
    mm_il_body b;
    uint64_t end, off;
    uint32_t total = 0;
    int more;

    memset(&b, 0, sizeof b);
    if (len < 1)
        return mm_il_fail(err, MM_E_IL_TRUNCATED, 0, "no header: the body is empty");
    if ((p[0] & MM_IL_FORMAT_MASK) == MM_IL_TINY_FORMAT) {
        b.header = MM_IL_HEADER_TINY;
        b.max_stack = MM_IL_TINY_MAX_STACK;
        b.code_size = p[0] >> 2;
        b.code_offset = 1;
        more = 0;
    } else if ((p[0] & MM_IL_FORMAT_MASK) == MM_IL_FAT_FORMAT) {
        uint16_t w;
        if (len < MM_IL_FAT_HEADER_SIZE)
            return mm_il_fail(err, MM_E_IL_TRUNCATED, 0, "fat header needs 12 bytes, %zu given", len);
        w = mm_rd16(p);
        if (w >> 12 != 3)
            return mm_il_fail(err, MM_E_IL_HEADER, 1, "fat header size is %u dwords, not 3", w >> 12);
        b.header = MM_IL_HEADER_FAT;
        b.flags = w & 0x0FFF;
        b.max_stack = mm_rd16(p + 2);
        b.code_size = mm_rd32(p + 4);
        b.local_var_sig_tok = mm_rd32(p + 8);
        b.code_offset = MM_IL_FAT_HEADER_SIZE;
        more = (b.flags & MM_IL_MORE_SECTS) != 0;
    } else {
        return mm_il_fail(err, MM_E_IL_HEADER, 0, "header byte 0x%02x is neither tiny (low bits 10) nor fat (11)", p[0]);
    }
    end = (uint64_t)b.code_offset + b.code_size;
    if (end > len)
        return mm_il_fail(err, MM_E_IL_TRUNCATED, b.code_offset, "code of 0x%x bytes ends at 0x%llx, past the 0x%zx given",
                    b.code_size, (unsigned long long)end, len);
    if (end > UINT32_MAX)
        return mm_il_fail(err, MM_E_IL_HEADER, 4, "code size 0x%x makes the body larger than 4 GiB", b.code_size);
    b.code = p + b.code_offset;

    if (depth == VALIDATE) {
        if (b.flags & ~KNOWN_FLAGS)
            return mm_il_fail(err, MM_E_IL_HEADER, 0, "fat header flags 0x%03x have unknown bits 0x%03x", b.flags,
                        b.flags & ~KNOWN_FLAGS);
        if (b.code_size == 0)
            return mm_il_fail(err, MM_E_IL_HEADER, b.code_offset, "empty code");
        if (b.local_var_sig_tok != 0 &&
            (b.local_var_sig_tok >> 24 != TOKEN_STANDALONESIG || (b.local_var_sig_tok & 0xFFFFFFu) == 0))
            return mm_il_fail(err, MM_E_IL_HEADER, 8, "locals token 0x%08x is not a StandAloneSig token",
                        b.local_var_sig_tok);
    }

    off = end;
    while (more) {
        uint32_t kind, data, size, n, i;
        int fat, quirk;
        off = align4(off);
        if (off + SECT_HEADER > len)
            return mm_il_fail(err, MM_E_IL_TRUNCATED, off, "section header at 0x%llx runs past the 0x%zx bytes given",
                        (unsigned long long)off, len);
        kind = p[off];
        fat = (kind & MM_IL_SECT_FAT_FORMAT) != 0;
        data = fat ? mm_rd24(p + off + 1) : p[off + 1];
        size = fat ? FAT_CLAUSE : SMALL_CLAUSE;
        if (kind & ~KNOWN_SECT)
            return mm_il_fail(err, MM_E_IL_SECTION, off, "section kind 0x%02x has bits other than EHTable, FatFormat, MoreSects",
                        kind);
        if (!(kind & MM_IL_SECT_EHTABLE))
            return mm_il_fail(err, MM_E_IL_SECTION, off, "section kind 0x%02x is not an exception table", kind);
        quirk = data % size == 0;
        if (data < SECT_HEADER || (!quirk && (data - SECT_HEADER) % size != 0))
            return mm_il_fail(err, MM_E_IL_SECTION, off + 1, "%s exception table DataSize %u is not 4 + n * %u",
                        fat ? "fat" : "small", data, size);
        n = quirk ? data / size : (data - SECT_HEADER) / size;
        more = (kind & MM_IL_SECT_MORE_SECTS) != 0;
        if (quirk && more)
            return mm_il_fail(err, MM_E_IL_SECTION, off + 1,
                        "DataSize %u leaves out the section header, so the next section cannot be found", data);
        if (off + SECT_HEADER + (uint64_t)n * size > len)
            return mm_il_fail(err, MM_E_IL_TRUNCATED, off, "exception table of %u clauses at 0x%llx runs past the 0x%zx bytes given",
                        n, (unsigned long long)off, len);
        if (b.eh_sections++ == 0)
            b.eh_format = fat ? MM_IL_EH_FAT : MM_IL_EH_SMALL;
        if (depth != EXTENT) {
            for (i = 0; i < n; i++) {
                const uint8_t *q = p + off + SECT_HEADER + (uint64_t)i * size;
                mm_il_clause c;
                HRESULT hr;
                if (fat) {
                    c.kind = mm_rd32(q);
                    c.try_offset = mm_rd32(q + 4);
                    c.try_length = mm_rd32(q + 8);
                    c.handler_offset = mm_rd32(q + 12);
                    c.handler_length = mm_rd32(q + 16);
                    c.token_or_filter = mm_rd32(q + 20);
                } else {
                    c.kind = mm_rd16(q);
                    c.try_offset = mm_rd16(q + 2);
                    c.try_length = q[4];
                    c.handler_offset = mm_rd16(q + 5);
                    c.handler_length = q[7];
                    c.token_or_filter = mm_rd32(q + 8);
                }
                if (depth == VALIDATE && FAILED(hr = check_clause(&c, total + i, b.code_size, (uint64_t)(q - p), err)))
                    return hr;
                if (total + i < capacity)
                    clauses[total + i] = c;
            }
        }
        total += n;
        off += SECT_HEADER + (uint64_t)n * size;
        /* An RVA-addressed body cannot be larger; this also keeps total exact. */
        if (off > UINT32_MAX)
            return mm_il_fail(err, MM_E_IL_SECTION, 0, "sections reach 0x%llx bytes, past 4 GiB", (unsigned long long)off);
    }
    b.size = (uint32_t)off;
    b.clause_count = total;
    b.clauses = capacity ? clauses : NULL;
    if (out)
        *out = b;
    if (depth == DECODE && total > capacity)
        return mm_il_fail(err, MM_E_IL_SMALL_BUFFER, 0, "the body has %u clauses, room for %zu given", total, capacity);
    ok(err);
    return S_OK;
}

HRESULT mm_il_decode(const void *p, size_t len, mm_il_body *out, mm_il_clause *clauses, size_t capacity,
                     mm_il_error *err)
{
    if ((!p && len) || !out || (!clauses && capacity))
        return mm_il_fail(err, E_POINTER, 0, "NULL argument");
    return read_body(p, len, DECODE, out, clauses, capacity, err);
}

HRESULT mm_il_validate(const void *p, size_t len, mm_il_error *err)
{
    if (!p && len)
        return mm_il_fail(err, E_POINTER, 0, "NULL argument");
    return read_body(p, len, VALIDATE, NULL, NULL, 0, err);
}

HRESULT mm_il_extent(const void *p, size_t len, size_t *size, mm_il_error *err)
{
    mm_il_body b;
    HRESULT hr;
    if ((!p && len) || !size)
        return mm_il_fail(err, E_POINTER, 0, "NULL argument");
    hr = read_body(p, len, EXTENT, &b, NULL, 0, err);
    *size = SUCCEEDED(hr) ? b.size : 0;
    return hr;
}

/* ---- Building ---- */

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
    if (b->flags & ~KNOWN_FLAGS)
        return mm_il_fail(err, MM_E_IL_HEADER, 0, "flags 0x%x have unknown bits 0x%x", b->flags, b->flags & ~KNOWN_FLAGS);
    if (b->local_var_sig_tok != 0 &&
        (b->local_var_sig_tok >> 24 != TOKEN_STANDALONESIG || (b->local_var_sig_tok & 0xFFFFFFu) == 0))
        return mm_il_fail(err, MM_E_IL_HEADER, 8, "locals token 0x%08x is not a StandAloneSig token", b->local_var_sig_tok);

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

    small_ok = b->clause_count <= (SMALL_MAX_DATA - SECT_HEADER) / SMALL_CLAUSE;
    for (i = 0; i < b->clause_count && small_ok; i++)
        small_ok = fits_small(&b->clauses[i]);
    if (b->eh_format == MM_IL_EH_SMALL && !small_ok)
        return mm_il_fail(err, MM_E_IL_CANNOT, align4(end), "small exception table asked, but %u clauses do not fit it",
                    b->clause_count);
    if (b->eh_format != MM_IL_EH_AUTO && b->eh_format != MM_IL_EH_SMALL && b->eh_format != MM_IL_EH_FAT)
        return mm_il_fail(err, E_INVALIDARG, 0, "exception table form %d is not AUTO, SMALL or FAT", (int)b->eh_format);
    l->fat_eh = b->eh_format == MM_IL_EH_FAT || !small_ok;
    if (l->fat_eh && b->clause_count > (FAT_MAX_DATA - SECT_HEADER) / FAT_CLAUSE)
        return mm_il_fail(err, MM_E_IL_CANNOT, align4(end), "%u clauses exceed one fat exception table", b->clause_count);
    for (i = 0; i < b->clause_count; i++) {
        uint64_t at = align4(end) + SECT_HEADER + (uint64_t)i * (l->fat_eh ? FAT_CLAUSE : SMALL_CLAUSE);
        if (FAILED(hr = check_clause(&b->clauses[i], i, b->code_size, at, err)))
            return hr;
    }

    l->eh_offset = 0;
    if (b->clause_count) {
        end = align4(end);
        if (end <= UINT32_MAX)
            l->eh_offset = (uint32_t)end;
        end += SECT_HEADER + (uint64_t)b->clause_count * (l->fat_eh ? FAT_CLAUSE : SMALL_CLAUSE);
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
    ok(err);
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
        wr16(o, flags | 3u << 12);
        wr16(o + 2, b->max_stack);
        wr32(o + 4, b->code_size);
        wr32(o + 8, b->local_var_sig_tok);
        hdr = MM_IL_FAT_HEADER_SIZE;
    }
    memcpy(o + hdr, b->code, b->code_size);
    if (!b->clause_count)
        return;

    o += l->eh_offset;
    if (l->fat_eh) {
        uint32_t data = SECT_HEADER + b->clause_count * FAT_CLAUSE;
        o[0] = MM_IL_SECT_EHTABLE | MM_IL_SECT_FAT_FORMAT;
        o[1] = (uint8_t)data;
        wr16(o + 2, data >> 8);
    } else {
        o[0] = MM_IL_SECT_EHTABLE;
        o[1] = (uint8_t)(SECT_HEADER + b->clause_count * SMALL_CLAUSE);
    }
    o += SECT_HEADER;
    for (i = 0; i < b->clause_count; i++) {
        const mm_il_clause *c = &b->clauses[i];
        if (l->fat_eh) {
            wr32(o, c->kind);
            wr32(o + 4, c->try_offset);
            wr32(o + 8, c->try_length);
            wr32(o + 12, c->handler_offset);
            wr32(o + 16, c->handler_length);
            wr32(o + 20, c->token_or_filter);
            o += FAT_CLAUSE;
        } else {
            wr16(o, c->kind);
            wr16(o + 2, c->try_offset);
            o[4] = (uint8_t)c->try_length;
            wr16(o + 5, c->handler_offset);
            o[7] = (uint8_t)c->handler_length;
            wr32(o + 8, c->token_or_filter);
            o += SMALL_CLAUSE;
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
    ok(err);
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
    ok(err);
    return S_OK;
}
