/* libFuzzer target for the IL body reader and encoder.  The first byte
 * picks the mode:
 *   even: the rest is a body; decode, validate and extent must agree, never
 *         read outside it, and a valid body must re-encode to the same one;
 *   odd:  the rest describes a body; whatever the encoder accepts must
 *         validate and decode back to the description. */
#include "methodmalloc_il.h"

#include <stdlib.h>
#include <string.h>

#define MAX_CLAUSES 64

static void check(int cond)
{
    if (!cond)
        abort();
}

static uint32_t take(const uint8_t **p, size_t *n, size_t bytes)
{
    uint32_t v = 0;
    size_t i;
    for (i = 0; i < bytes && *n; i++, (*p)++, (*n)--)
        v |= (uint32_t)**p << (8 * i);
    return v;
}

static int same(const mm_il_body *a, const mm_il_body *b)
{
    return a->code_size == b->code_size && !memcmp(a->code, b->code, a->code_size) &&
           a->local_var_sig_tok == b->local_var_sig_tok && a->clause_count == b->clause_count &&
           (!a->clause_count || !memcmp(a->clauses, b->clauses, a->clause_count * sizeof *a->clauses));
}

/* Encodes b; if accepted, the bytes must validate and decode back to b. */
static void encode_and_check(const mm_il_body *b)
{
    static mm_il_clause back[MAX_CLAUSES];
    mm_il_body d;
    mm_il_error err;
    size_t size, written, ext;
    uint8_t *out;

    if (FAILED(mm_il_size(b, &size, &err)))
        return;
    out = malloc(size);
    check(out != NULL);
    check(mm_il_encode(b, out, size, &written, &err) == S_OK && written == size);
    check(mm_il_validate(out, size, &err) == S_OK);
    check(mm_il_extent(out, size, &ext, &err) == S_OK && ext == size);
    check(mm_il_decode(out, size, &d, back, MAX_CLAUSES, &err) == S_OK);
    check(same(b, &d) && d.size == size);
    check(b->header == MM_IL_HEADER_AUTO || d.header == b->header);
    check(d.header == MM_IL_HEADER_TINY || d.max_stack == b->max_stack);
    free(out);
}

static void body_mode(const uint8_t *p, size_t n)
{
    static mm_il_clause cl[MAX_CLAUSES];
    mm_il_body b;
    mm_il_error err;
    size_t ext;
    HRESULT dec = mm_il_decode(p, n, &b, cl, MAX_CLAUSES, &err);
    HRESULT val = mm_il_validate(p, n, &err);
    HRESULT ex = mm_il_extent(p, n, &ext, &err);

    /* One reader: structure errors are the same for all three. */
    check(SUCCEEDED(ex) == (SUCCEEDED(dec) || dec == MM_E_IL_SMALL_BUFFER));
    if (SUCCEEDED(val))
        check(SUCCEEDED(ex));
    if (SUCCEEDED(ex)) {
        check(ext <= n && ext == b.size);
        check(b.code >= p && b.code + b.code_size <= p + n);
    }
    if (dec == S_OK && SUCCEEDED(val))
        encode_and_check(&b); /* as found: the same header and table form */
}

static void description_mode(const uint8_t *p, size_t n)
{
    static uint8_t code[256];
    static mm_il_clause cl[MAX_CLAUSES];
    mm_il_body b;
    uint32_t i;

    memset(&b, 0, sizeof b);
    b.header = (mm_il_header)(take(&p, &n, 1) % 4);
    b.eh_format = (mm_il_eh_format)(take(&p, &n, 1) % 4);
    b.flags = (uint16_t)take(&p, &n, 2);
    b.max_stack = (uint16_t)take(&p, &n, 1);
    b.local_var_sig_tok = take(&p, &n, 1) & 1 ? 0x11000000u | take(&p, &n, 1) : 0;
    b.code_size = take(&p, &n, 1);
    memset(code, 0x2A, sizeof code);
    b.code = code;
    b.clause_count = take(&p, &n, 1) % MAX_CLAUSES;
    /* Small values, so that some clauses land inside the code. */
    for (i = 0; i < b.clause_count; i++) {
        uint32_t wide = take(&p, &n, 1);
        cl[i].kind = take(&p, &n, 1) % 6;
        cl[i].try_offset = take(&p, &n, wide & 1 ? 3 : 1);
        cl[i].try_length = take(&p, &n, wide & 2 ? 2 : 1);
        cl[i].handler_offset = take(&p, &n, wide & 4 ? 3 : 1);
        cl[i].handler_length = take(&p, &n, wide & 8 ? 2 : 1);
        cl[i].token_or_filter = wide & 16 ? take(&p, &n, 4) : 0x01000000u | take(&p, &n, 1);
    }
    b.clauses = cl;
    encode_and_check(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        description_mode(data + 1, size - 1);
    else
        body_mode(data + 1, size - 1);
    return 0;
}
