/* Signature blobs (ECMA-335 II.23.2): the counts the stack check needs
 * from a method signature, and appending locals to a LocalVarSig. */
#include "rw.h"

#include <string.h>

#define SIG_MAX_DEPTH 64

enum {
    ET_VOID = 0x01,
    ET_STRING = 0x0E,
    ET_PTR = 0x0F,
    ET_BYREF = 0x10,
    ET_VALUETYPE = 0x11,
    ET_CLASS = 0x12,
    ET_VAR = 0x13,
    ET_ARRAY = 0x14,
    ET_GENERICINST = 0x15,
    ET_TYPEDBYREF = 0x16,
    ET_I = 0x18,
    ET_U = 0x19,
    ET_FNPTR = 0x1B,
    ET_OBJECT = 0x1C,
    ET_SZARRAY = 0x1D,
    ET_MVAR = 0x1E,
    ET_CMOD_REQD = 0x1F,
    ET_CMOD_OPT = 0x20,
    ET_SENTINEL = 0x41,
    ET_PINNED = 0x45
};

#define SIG_GENERIC      0x10u
#define SIG_HASTHIS      0x20u
#define SIG_EXPLICITTHIS 0x40u
#define SIG_LOCAL        0x07u

struct cursor {
    const uint8_t *p;
    size_t len, pos;
    mm_il_error *err;
};

static HRESULT ends(struct cursor *c, const char *what)
{
    return mm_il_fail(c->err, MM_E_IL_SIG, c->pos, "signature ends at 0x%zx inside %s", c->len, what);
}

/* A compressed unsigned integer (II.23.2). */
static HRESULT uncompress(struct cursor *c, uint32_t *v, const char *what)
{
    uint8_t b;
    if (c->pos >= c->len)
        return ends(c, what);
    b = c->p[c->pos];
    if (!(b & 0x80)) {
        *v = b;
        c->pos++;
    } else if ((b & 0xC0) == 0x80) {
        if (c->len - c->pos < 2)
            return ends(c, what);
        *v = (uint32_t)(b & 0x3F) << 8 | c->p[c->pos + 1];
        c->pos += 2;
    } else if ((b & 0xE0) == 0xC0) {
        if (c->len - c->pos < 4)
            return ends(c, what);
        *v = (uint32_t)(b & 0x1F) << 24 | (uint32_t)c->p[c->pos + 1] << 16 | (uint32_t)c->p[c->pos + 2] << 8
             | c->p[c->pos + 3];
        c->pos += 4;
    } else {
        return mm_il_fail(c->err, MM_E_IL_SIG, c->pos, "byte 0x%02x at 0x%zx starts no compressed integer (%s)", b,
                          c->pos, what);
    }
    return S_OK;
}

static HRESULT take_byte(struct cursor *c, uint8_t *b, const char *what)
{
    if (c->pos >= c->len)
        return ends(c, what);
    *b = c->p[c->pos++];
    return S_OK;
}

static HRESULT skip_type(struct cursor *c, int depth);

static HRESULT skip_method(struct cursor *c, int depth, mm_il_sig_info *info)
{
    uint8_t conv = 0, e = 0;
    uint32_t n, params, k;
    HRESULT hr;
    if (FAILED(hr = take_byte(c, &conv, "a method signature")))
        return hr;
    if ((conv & 0x0F) > 0x05 && (conv & 0x0F) != 0x09)
        return mm_il_fail(c->err, MM_E_IL_SIG, c->pos - 1, "calling convention 0x%02x is not a method's", conv);
    if (conv & SIG_GENERIC && FAILED(hr = uncompress(c, &n, "the generic parameter count")))
        return hr;
    if (FAILED(hr = uncompress(c, &params, "the parameter count")))
        return hr;
    /* The return type: custom modifiers, then void or a type. */
    for (;;) {
        if (c->pos >= c->len)
            return ends(c, "the return type");
        e = c->p[c->pos];
        if (e != ET_CMOD_REQD && e != ET_CMOD_OPT)
            break;
        c->pos++;
        if (FAILED(hr = uncompress(c, &n, "a custom modifier")))
            return hr;
    }
    if (info) {
        info->params = params;
        info->has_this = (conv & SIG_HASTHIS) && !(conv & SIG_EXPLICITTHIS);
        info->returns = e != ET_VOID;
        return S_OK;
    }
    if (e == ET_VOID)
        c->pos++;
    else if (FAILED(hr = skip_type(c, depth + 1)))
        return hr;
    for (k = 0; k < params; k++) {
        if (c->pos < c->len && c->p[c->pos] == ET_SENTINEL)
            c->pos++;
        if (FAILED(hr = skip_type(c, depth + 1)))
            return hr;
    }
    return S_OK;
}

/* One complete type, with its custom modifiers, pinned and byref marks. */
static HRESULT skip_type(struct cursor *c, int depth)
{
    uint8_t e = 0;
    uint32_t n, k, v;
    HRESULT hr;
    if (depth > SIG_MAX_DEPTH)
        return mm_il_fail(c->err, MM_E_IL_SIG, c->pos, "types nested more than %d deep at 0x%zx", SIG_MAX_DEPTH,
                          c->pos);
    if (FAILED(hr = take_byte(c, &e, "a type")))
        return hr;
    switch (e) {
    case ET_VOID: /* only as a pointer's target or a return type, which reach here too */
    case 0x02:
    case 0x03:
    case 0x04:
    case 0x05:
    case 0x06:
    case 0x07:
    case 0x08:
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case ET_STRING:
    case ET_TYPEDBYREF:
    case ET_I:
    case ET_U:
    case ET_OBJECT: return S_OK;
    case ET_CMOD_REQD:
    case ET_CMOD_OPT:
        if (FAILED(hr = uncompress(c, &n, "a custom modifier")))
            return hr;
        return skip_type(c, depth + 1);
    case ET_PINNED:
    case ET_PTR:
    case ET_BYREF:
    case ET_SZARRAY: return skip_type(c, depth + 1);
    case ET_VALUETYPE:
    case ET_CLASS: return uncompress(c, &n, "a type token");
    case ET_VAR:
    case ET_MVAR: return uncompress(c, &n, "a generic parameter number");
    case ET_ARRAY:
        if (FAILED(hr = skip_type(c, depth + 1)) || FAILED(hr = uncompress(c, &n, "an array rank"))
            || FAILED(hr = uncompress(c, &n, "an array's size count")))
            return hr;
        for (k = 0; k < n; k++)
            if (FAILED(hr = uncompress(c, &v, "an array size")))
                return hr;
        if (FAILED(hr = uncompress(c, &n, "an array's bound count")))
            return hr;
        for (k = 0; k < n; k++)
            if (FAILED(hr = uncompress(c, &v, "an array bound")))
                return hr;
        return S_OK;
    case ET_GENERICINST:
        if (FAILED(hr = take_byte(c, &e, "a generic instance")))
            return hr;
        if (e != ET_CLASS && e != ET_VALUETYPE)
            return mm_il_fail(c->err, MM_E_IL_SIG, c->pos - 1, "generic instance of 0x%02x, not a class or value type",
                              e);
        if (FAILED(hr = uncompress(c, &n, "a type token"))
            || FAILED(hr = uncompress(c, &n, "a generic argument count")))
            return hr;
        for (k = 0; k < n; k++)
            if (FAILED(hr = skip_type(c, depth + 1)))
                return hr;
        return S_OK;
    case ET_FNPTR: return skip_method(c, depth + 1, NULL);
    default:
        return mm_il_fail(c->err, MM_E_IL_SIG, c->pos - 1, "element type 0x%02x at 0x%zx is not a type", e, c->pos - 1);
    }
}

HRESULT mm_il_sig_method(const uint8_t *sig, size_t len, mm_il_sig_info *info, mm_il_error *err)
{
    struct cursor c = {sig, len, 0, err};
    if ((!sig && len) || !info)
        return mm_il_fail(err, E_POINTER, 0, "NULL argument");
    return skip_method(&c, 0, info);
}

static size_t compressed_size(uint32_t v)
{
    return v < 0x80 ? 1 : v < 0x4000 ? 2 : 4;
}

static uint8_t *compress(uint8_t *p, uint32_t v)
{
    if (v < 0x80) {
        *p++ = (uint8_t)v;
    } else if (v < 0x4000) {
        *p++ = (uint8_t)(0x80 | v >> 8);
        *p++ = (uint8_t)v;
    } else {
        *p++ = (uint8_t)(0xC0 | v >> 24);
        *p++ = (uint8_t)(v >> 16);
        *p++ = (uint8_t)(v >> 8);
        *p++ = (uint8_t)v;
    }
    return p;
}

HRESULT mm_il_locals_append(const uint8_t *old, size_t old_len, const uint8_t *add, size_t add_len, uint32_t add_count,
                            uint8_t *out, size_t cap, size_t *out_len, uint32_t *first_index, mm_il_error *err)
{
    struct cursor c = {old, old_len, 0, err};
    uint32_t count = 0, k;
    size_t types_at = 0, need;
    uint8_t *p;
    HRESULT hr;

    if (out_len)
        *out_len = 0;
    if ((!old && old_len) || (!add && add_len) || (!out && cap) || !out_len)
        return mm_il_fail(err, E_POINTER, 0, "NULL argument");
    if (old_len) {
        uint8_t kind;
        if (FAILED(hr = take_byte(&c, &kind, "the locals signature")))
            return hr;
        if (kind != SIG_LOCAL)
            return mm_il_fail(err, MM_E_IL_SIG, 0, "signature kind 0x%02x is not LOCAL_SIG (0x07)", kind);
        if (FAILED(hr = uncompress(&c, &count, "the local count")))
            return hr;
        types_at = c.pos;
        for (k = 0; k < count; k++)
            if (FAILED(hr = skip_type(&c, 0)))
                return hr;
        if (c.pos != old_len)
            return mm_il_fail(err, MM_E_IL_SIG, c.pos, "%zu bytes after the %u locals", old_len - c.pos, count);
    }
    c = (struct cursor){add, add_len, 0, err};
    for (k = 0; k < add_count; k++)
        if (FAILED(hr = skip_type(&c, 0)))
            return hr;
    if (c.pos != add_len)
        return mm_il_fail(err, MM_E_IL_SIG, c.pos, "%zu bytes after the %u types to add", add_len - c.pos, add_count);
    if (add_count > 0xFFFEu || count > 0xFFFEu - add_count)
        return mm_il_fail(err, MM_E_IL_SIG, 0, "%u + %u locals exceed 0xFFFE", count, add_count);
    need = 1 + compressed_size(count + add_count) + (old_len - types_at) + add_len;
    *out_len = need;
    if (cap < need)
        return mm_il_fail(err, MM_E_IL_SMALL_BUFFER, 0, "the signature needs %zu bytes, the buffer has %zu", need, cap);
    /* The old types move first, so that out may be old's own buffer. */
    p = out + 1 + compressed_size(count + add_count);
    if (old_len > types_at)
        memmove(p, old + types_at, old_len - types_at);
    if (add_len)
        memmove(p + (old_len - types_at), add, add_len);
    out[0] = SIG_LOCAL;
    compress(out + 1, count + add_count);
    if (first_index)
        *first_index = count;
    return S_OK;
}
