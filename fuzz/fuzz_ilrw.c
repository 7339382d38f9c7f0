/* libFuzzer target for the IL rewriter: decode -> stack check -> edit ->
 * emit.  The first byte seeds the edits, the rest is a body.  Whatever the
 * rewriter accepts must come out valid: an emitted body validates, reads
 * back with the same instructions, and emits again byte for byte; edits
 * that are refused leave the method as it was.  ASan and UBSan watch every
 * read against the exact input. */
#include "methodmalloc_ilrw.h"

#include <stdlib.h>
#include <string.h>

static void check(int cond)
{
    if (!cond)
        abort();
}

static const uint8_t sigs[4][5] = {
    {0x00, 0x02, 0x08, 0x08, 0x08}, /* static int f(int, int) */
    {0x20, 0x00, 0x01},             /* instance void f() */
    {0x05, 0x01, 0x01, 0x41, 0x08}, /* vararg void f(..., int) */
    {0x06, 0x08},                   /* a field: refused */
};

static HRESULT resolve(void *ctx, uint32_t token, const uint8_t **sig, size_t *len)
{
    (void)ctx;
    if ((token & 0xFF) == 0xFF)
        return E_INVALIDARG;
    *sig = sigs[token & 3];
    *len = sizeof sigs[0];
    return S_OK;
}

static uint32_t rng;
static uint32_t next(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 16;
}

/* Emits m; on success checks the output and returns it (caller frees). */
static uint8_t *emit_checked(mm_il_method *m, mm_il_method *back, size_t *size)
{
    mm_il_error err;
    size_t written, size2;
    uint8_t *out, *again;
    if (FAILED(mm_il_method_size(m, size, &err)))
        return NULL;
    out = malloc(*size);
    check(out != NULL);
    check(mm_il_method_emit(m, out, *size, &written, &err) == S_OK && written == *size);
    check(mm_il_validate(out, *size, &err) == S_OK);
    check(mm_il_method_read(back, out, *size, &err) == S_OK);
    check(mm_il_count(back) == mm_il_count(m));
    check(mm_il_clause_count(back) == mm_il_clause_count(m));
    /* What was emitted and read back emits to the same bytes. */
    check(mm_il_method_size(back, &size2, &err) == S_OK && size2 == *size);
    again = malloc(size2);
    check(again != NULL);
    check(mm_il_method_emit(back, again, size2, &written, &err) == S_OK && !memcmp(out, again, size2));
    free(again);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mm_il_method *m, *back;
    mm_il_stack_options opt = {resolve, NULL, NULL, 0};
    mm_il_stack_result res;
    mm_il_error err;
    mm_il_instr *i, *picked[64];
    uint32_t n = 0, k, edits;
    uint8_t *body, *out;
    size_t out_size;

    if (size < 1)
        return 0;
    if (!m) {
        check(mm_il_method_create(&m) == S_OK && mm_il_method_create(&back) == S_OK);
    }
    rng = data[0];
    body = malloc(size - 1 ? size - 1 : 1); /* an exact copy, so ASan sees reads past it */
    check(body != NULL);
    memcpy(body, data + 1, size - 1);
    if (FAILED(mm_il_method_read(m, body, size - 1, &err))) {
        check(mm_il_count(m) == 0 && err.message[0]);
        free(body);
        return 0;
    }
    mm_il_stack_check(m, &opt, &res, NULL, &err);
    out = emit_checked(m, back, &out_size);
    free(out);

    /* Edits, chosen by the seed, at instructions picked along the list. */
    for (i = mm_il_first(m); i && n < 64; i = i->next)
        if (next() % 3 == 0)
            picked[n++] = i;
    edits = 0;
    for (k = 0; k < n; k++) {
        mm_il_instr *x = picked[k], *y;
        uint32_t before = mm_il_count(m);
        HRESULT hr;
        switch (next() % 6) {
        case 0: hr = mm_il_insert_before(m, x, mm_il_new(m, 0x00), MM_IL_KEEP, &err); break;
        case 1: hr = mm_il_insert_before(m, x, mm_il_new(m, 0x25), MM_IL_RETARGET, &err); break;
        case 2:
            y = mm_il_new(m, 0x21);
            y->arg.i = (int64_t)next() << 32 | next();
            hr = mm_il_insert_after(m, x, y, &err);
            break;
        case 3:
            hr = mm_il_remove(m, x, &err);
            check(SUCCEEDED(hr) ? mm_il_count(m) == before - 1 : hr == MM_E_IL_EDIT && mm_il_count(m) == before);
            if (SUCCEEDED(hr)) /* it may have been picked twice */
                for (uint32_t j = k + 1; j < n; j++)
                    if (picked[j] == x)
                        picked[j] = mm_il_first(m);
            break;
        case 4:
            /* A short branch to another picked instruction: emit widens it when needed. */
            y = mm_il_new(m, 0x2B);
            check(mm_il_set_target(m, y, picked[next() % n]) == S_OK);
            hr = mm_il_insert_before(m, x, y, MM_IL_KEEP, &err);
            break;
        default:
            y = mm_il_new(m, 0x00);
            hr = mm_il_replace(m, x, y, &err);
            if (SUCCEEDED(hr))
                for (uint32_t j = k + 1; j < n; j++)
                    if (picked[j] == x)
                        picked[j] = y;
            break;
        }
        if (!picked[k] || !mm_il_first(m))
            break;
        edits += SUCCEEDED(hr);
    }
    if (mm_il_first(m)) {
        mm_il_stack_check(m, &opt, &res, NULL, &err);
        out = emit_checked(m, back, &out_size);
        free(out);
    }
    (void)edits;
    free(body);
    return 0;
}
