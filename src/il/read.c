/* Reading IL method bodies (ECMA-335 II.25.4): one reader serves decode,
 * validate and extent, so that the three can never disagree on where a body
 * ends.  It reads in the order the writer writes: the header, then each
 * exception section, then each section's clauses.  Offsets are 64-bit so
 * that no sum of 32-bit fields can wrap; nothing is read before its end is
 * checked against the length given. */
#include "il.h"

#include <string.h>

enum depth { EXTENT, DECODE, VALIDATE };

/* The bytes being read and what the caller wants from them. */
struct reader {
    const uint8_t *p;
    size_t len;
    enum depth depth;
    mm_il_clause *clauses;
    size_t capacity;
    mm_il_error *err;
};

/* Reads the tiny or fat header and finds the code.  *more says whether
 * sections follow the code. */
static HRESULT read_header(const struct reader *r, mm_il_body *b, int *more)
{
    const uint8_t *p = r->p;
    mm_il_error *err = r->err;
    uint64_t end;
    HRESULT hr;

    if (r->len < 1)
        return mm_il_fail(err, MM_E_IL_TRUNCATED, 0, "no header: the body is empty");
    if ((p[0] & MM_IL_FORMAT_MASK) == MM_IL_TINY_FORMAT) {
        b->header = MM_IL_HEADER_TINY;
        b->max_stack = MM_IL_TINY_MAX_STACK;
        b->code_size = p[0] >> 2;
        b->code_offset = 1;
        *more = 0;
    } else if ((p[0] & MM_IL_FORMAT_MASK) == MM_IL_FAT_FORMAT) {
        uint16_t w;
        if (r->len < MM_IL_FAT_HEADER_SIZE)
            return mm_il_fail(err, MM_E_IL_TRUNCATED, 0, "fat header needs 12 bytes, %zu given", r->len);
        w = mm_rd16(p);
        if (w >> 12 != 3)
            return mm_il_fail(err, MM_E_IL_HEADER, 1, "fat header size is %u dwords, not 3", w >> 12);
        b->header = MM_IL_HEADER_FAT;
        b->flags = w & 0x0FFF;
        b->max_stack = mm_rd16(p + 2);
        b->code_size = mm_rd32(p + 4);
        b->local_var_sig_tok = mm_rd32(p + 8);
        b->code_offset = MM_IL_FAT_HEADER_SIZE;
        *more = (b->flags & MM_IL_MORE_SECTS) != 0;
    } else {
        return mm_il_fail(err, MM_E_IL_HEADER, 0, "header byte 0x%02x is neither tiny (low bits 10) nor fat (11)",
                          p[0]);
    }
    end = (uint64_t)b->code_offset + b->code_size;
    /* The size first: with a 32-bit size_t, MM_IL_UNBOUNDED is 4 GiB - 1, and
     * a body past 4 GiB would otherwise be reported as merely truncated. */
    if (end > UINT32_MAX)
        return mm_il_fail(err, MM_E_IL_HEADER, 4, "code size 0x%x makes the body larger than 4 GiB", b->code_size);
    if (end > r->len)
        return mm_il_fail(err, MM_E_IL_TRUNCATED, b->code_offset,
                          "code of 0x%x bytes ends at 0x%llx, past the 0x%zx given", b->code_size,
                          (unsigned long long)end, r->len);
    b->code = p + b->code_offset;

    if (r->depth == VALIDATE) {
        if (b->flags & ~MM_IL_KNOWN_FLAGS)
            return mm_il_fail(err, MM_E_IL_HEADER, 0, "fat header flags 0x%03x have unknown bits 0x%03x", b->flags,
                              b->flags & ~MM_IL_KNOWN_FLAGS);
        if (b->code_size == 0)
            return mm_il_fail(err, MM_E_IL_HEADER, b->code_offset, "empty code");
        if (FAILED(hr = mm_il_check_locals(b->local_var_sig_tok, 8, err)))
            return hr;
    }
    return S_OK;
}

/* One exception section's header at off, as written by the writer. */
struct section {
    int fat, more;
    uint32_t n;    /* clauses */
    uint32_t size; /* bytes per clause */
};

static HRESULT read_section(const struct reader *r, uint64_t off, struct section *s)
{
    const uint8_t *p = r->p;
    mm_il_error *err = r->err;
    uint32_t kind, data;
    int quirk;

    if (off + MM_IL_SECT_HEADER > r->len)
        return mm_il_fail(err, MM_E_IL_TRUNCATED, off, "section header at 0x%llx runs past the 0x%zx bytes given",
                          (unsigned long long)off, r->len);
    kind = p[off];
    s->fat = (kind & MM_IL_SECT_FAT_FORMAT) != 0;
    data = s->fat ? mm_rd24(p + off + 1) : p[off + 1];
    s->size = s->fat ? MM_IL_FAT_CLAUSE : MM_IL_SMALL_CLAUSE;
    if (kind & ~MM_IL_KNOWN_SECT)
        return mm_il_fail(err, MM_E_IL_SECTION, off,
                          "section kind 0x%02x has bits other than EHTable, FatFormat, MoreSects", kind);
    if (!(kind & MM_IL_SECT_EHTABLE))
        return mm_il_fail(err, MM_E_IL_SECTION, off, "section kind 0x%02x is not an exception table", kind);
    /* Some compilers leave the 4-byte section header out of DataSize. */
    quirk = data % s->size == 0;
    if (data < MM_IL_SECT_HEADER || (!quirk && (data - MM_IL_SECT_HEADER) % s->size != 0))
        return mm_il_fail(err, MM_E_IL_SECTION, off + 1, "%s exception table DataSize %u is not 4 + n * %u",
                          s->fat ? "fat" : "small", data, s->size);
    s->n = quirk ? data / s->size : (data - MM_IL_SECT_HEADER) / s->size;
    s->more = (kind & MM_IL_SECT_MORE_SECTS) != 0;
    if (quirk && s->more)
        return mm_il_fail(err, MM_E_IL_SECTION, off + 1,
                          "DataSize %u leaves out the section header, so the next section cannot be found", data);
    if (off + MM_IL_SECT_HEADER + (uint64_t)s->n * s->size > r->len)
        return mm_il_fail(err, MM_E_IL_TRUNCATED, off,
                          "exception table of %u clauses at 0x%llx runs past the 0x%zx bytes given", s->n,
                          (unsigned long long)off, r->len);
    return S_OK;
}

static void read_clause(const uint8_t *q, int fat, mm_il_clause *c)
{
    if (fat) {
        c->kind = mm_rd32(q);
        c->try_offset = mm_rd32(q + 4);
        c->try_length = mm_rd32(q + 8);
        c->handler_offset = mm_rd32(q + 12);
        c->handler_length = mm_rd32(q + 16);
        c->token_or_filter = mm_rd32(q + 20);
    } else {
        c->kind = mm_rd16(q);
        c->try_offset = mm_rd16(q + 2);
        c->try_length = q[4];
        c->handler_offset = mm_rd16(q + 5);
        c->handler_length = q[7];
        c->token_or_filter = mm_rd32(q + 8);
    }
}

/* Reads (and under VALIDATE checks) the clauses of section s at off, which
 * are clauses first.. of the body; keeps those that fit the capacity. */
static HRESULT read_clauses(const struct reader *r, const mm_il_body *b, uint64_t off, const struct section *s,
                            uint32_t first)
{
    for (uint32_t i = 0; i < s->n; i++) {
        const uint8_t *q = r->p + off + MM_IL_SECT_HEADER + (uint64_t)i * s->size;
        mm_il_clause c;
        HRESULT hr;
        read_clause(q, s->fat, &c);
        if (r->depth == VALIDATE
            && FAILED(hr = mm_il_check_clause(&c, first + i, b->code_size, (uint64_t)(q - r->p), r->err)))
            return hr;
        if (first + i < r->capacity)
            r->clauses[first + i] = c;
    }
    return S_OK;
}

static HRESULT read_body(const struct reader *r, mm_il_body *out)
{
    mm_il_body b;
    uint64_t off;
    uint32_t total = 0;
    int more = 0;
    HRESULT hr;

    memset(&b, 0, sizeof b);
    if (FAILED(hr = read_header(r, &b, &more)))
        return hr;
    off = (uint64_t)b.code_offset + b.code_size;
    while (more) {
        struct section s = {0, 0, 0, 0};
        off = mm_il_align4(off);
        if (FAILED(hr = read_section(r, off, &s)))
            return hr;
        if (b.eh_sections++ == 0)
            b.eh_format = s.fat ? MM_IL_EH_FAT : MM_IL_EH_SMALL;
        if (r->depth != EXTENT && FAILED(hr = read_clauses(r, &b, off, &s, total)))
            return hr;
        total += s.n;
        more = s.more;
        off += MM_IL_SECT_HEADER + (uint64_t)s.n * s.size;
        /* An RVA-addressed body cannot be larger; this also keeps total exact. */
        if (off > UINT32_MAX)
            return mm_il_fail(r->err, MM_E_IL_SECTION, 0, "sections reach 0x%llx bytes, past 4 GiB",
                              (unsigned long long)off);
    }
    b.size = (uint32_t)off;
    b.clause_count = total;
    b.clauses = r->capacity ? r->clauses : NULL;
    if (out)
        *out = b;
    if (r->depth == DECODE && total > r->capacity)
        return mm_il_fail(r->err, MM_E_IL_SMALL_BUFFER, 0, "the body has %u clauses, room for %zu given", total,
                          r->capacity);
    mm_il_ok(r->err);
    return S_OK;
}

HRESULT mm_il_decode(const void *p, size_t len, mm_il_body *out, mm_il_clause *clauses, size_t capacity,
                     mm_il_error *err)
{
    if ((!p && len) || !out || (!clauses && capacity))
        return mm_il_fail(err, E_POINTER, 0, "NULL argument");
    struct reader r = {p, len, DECODE, clauses, capacity, err};
    return read_body(&r, out);
}

HRESULT mm_il_validate(const void *p, size_t len, mm_il_error *err)
{
    if (!p && len)
        return mm_il_fail(err, E_POINTER, 0, "NULL argument");
    struct reader r = {p, len, VALIDATE, NULL, 0, err};
    return read_body(&r, NULL);
}

HRESULT mm_il_extent(const void *p, size_t len, size_t *size, mm_il_error *err)
{
    mm_il_body b;
    HRESULT hr;
    if ((!p && len) || !size)
        return mm_il_fail(err, E_POINTER, 0, "NULL argument");
    struct reader r = {p, len, EXTENT, NULL, 0, err};
    hr = read_body(&r, &b);
    *size = SUCCEEDED(hr) ? b.size : 0;
    return hr;
}
