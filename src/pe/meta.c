/* Metadata tables: the row layout of every table (ECMA-335 II.22), so that
 * any row of any table can be read, and the few lookups IL tools need. */
#include "pe/meta.h"
#include "il/il.h"

#include <stdio.h>
#include <string.h>

enum {
    MODULE = 0x00,
    TYPEREF,
    TYPEDEF,
    FIELDPTR,
    FIELD,
    METHODPTR,
    METHODDEF,
    PARAMPTR,
    PARAM,
    INTERFACEIMPL,
    MEMBERREF,
    CONSTANT,
    CUSTOMATTRIBUTE,
    FIELDMARSHAL,
    DECLSECURITY,
    CLASSLAYOUT,
    FIELDLAYOUT,
    STANDALONESIG,
    EVENTMAP,
    EVENTPTR,
    EVENT,
    PROPERTYMAP,
    PROPERTYPTR,
    PROPERTY,
    METHODSEMANTICS,
    METHODIMPL,
    MODULEREF,
    TYPESPEC,
    IMPLMAP,
    FIELDRVA,
    ENCLOG,
    ENCMAP,
    ASSEMBLY,
    ASSEMBLYPROCESSOR,
    ASSEMBLYOS,
    ASSEMBLYREF,
    ASSEMBLYREFPROCESSOR,
    ASSEMBLYREFOS,
    FILE_,
    EXPORTEDTYPE,
    MANIFESTRESOURCE,
    NESTEDCLASS,
    GENERICPARAM,
    METHODSPEC,
    GENERICPARAMCONSTRAINT
};

/* Coded index kinds (II.24.2.6). */
enum {
    TYPEDEFORREF,
    HASCONSTANT,
    HASCUSTOMATTRIBUTE,
    HASFIELDMARSHAL,
    HASDECLSECURITY,
    MEMBERREFPARENT,
    HASSEMANTICS,
    METHODDEFORREF,
    MEMBERFORWARDED,
    IMPLEMENTATION,
    CUSTOMATTRIBUTETYPE,
    RESOLUTIONSCOPE,
    TYPEORMETHODDEF,
    CODED_KINDS
};

#define NONE 0xFF
static const struct {
    uint8_t bits;
    uint8_t tables[22];
    uint8_t n;
} coded[CODED_KINDS] = {
    [TYPEDEFORREF] = {2, {TYPEDEF, TYPEREF, TYPESPEC}, 3},
    [HASCONSTANT] = {2, {FIELD, PARAM, PROPERTY}, 3},
    [HASCUSTOMATTRIBUTE] = {5,
                            {METHODDEF,        FIELD,        TYPEREF,
                             TYPEDEF,          PARAM,        INTERFACEIMPL,
                             MEMBERREF,        MODULE,       DECLSECURITY,
                             PROPERTY,         EVENT,        STANDALONESIG,
                             MODULEREF,        TYPESPEC,     ASSEMBLY,
                             ASSEMBLYREF,      FILE_,        EXPORTEDTYPE,
                             MANIFESTRESOURCE, GENERICPARAM, GENERICPARAMCONSTRAINT,
                             METHODSPEC},
                            22},
    [HASFIELDMARSHAL] = {1, {FIELD, PARAM}, 2},
    [HASDECLSECURITY] = {2, {TYPEDEF, METHODDEF, ASSEMBLY}, 3},
    [MEMBERREFPARENT] = {3, {TYPEDEF, TYPEREF, MODULEREF, METHODDEF, TYPESPEC}, 5},
    [HASSEMANTICS] = {1, {EVENT, PROPERTY}, 2},
    [METHODDEFORREF] = {1, {METHODDEF, MEMBERREF}, 2},
    [MEMBERFORWARDED] = {1, {FIELD, METHODDEF}, 2},
    [IMPLEMENTATION] = {2, {FILE_, ASSEMBLYREF, EXPORTEDTYPE}, 3},
    [CUSTOMATTRIBUTETYPE] = {3, {NONE, NONE, METHODDEF, MEMBERREF, NONE}, 5},
    [RESOLUTIONSCOPE] = {2, {MODULE, MODULEREF, ASSEMBLYREF, TYPEREF}, 4},
    [TYPEORMETHODDEF] = {1, {TYPEDEF, METHODDEF}, 2},
};

/* Column kinds: a table number (simple index), C + coded kind, or these. */
#define C    0x40
#define U2   0x80
#define U4   0x81
#define STR  0x82
#define GUID 0x83
#define BLOB 0x84
#define END  0

/* Each table's columns; END stops (no table's first column is Module's
 * index, so 0 is free). */
static const uint8_t schema[MM_META_TABLES][10] = {
    [MODULE] = {U2, STR, GUID, GUID, GUID},
    [TYPEREF] = {C + RESOLUTIONSCOPE, STR, STR},
    [TYPEDEF] = {U4, STR, STR, C + TYPEDEFORREF, FIELD, METHODDEF},
    [FIELDPTR] = {FIELD},
    [FIELD] = {U2, STR, BLOB},
    [METHODPTR] = {METHODDEF},
    [METHODDEF] = {U4, U2, U2, STR, BLOB, PARAM},
    [PARAMPTR] = {PARAM},
    [PARAM] = {U2, U2, STR},
    [INTERFACEIMPL] = {TYPEDEF, C + TYPEDEFORREF},
    [MEMBERREF] = {C + MEMBERREFPARENT, STR, BLOB},
    [CONSTANT] = {U2, C + HASCONSTANT, BLOB},
    [CUSTOMATTRIBUTE] = {C + HASCUSTOMATTRIBUTE, C + CUSTOMATTRIBUTETYPE, BLOB},
    [FIELDMARSHAL] = {C + HASFIELDMARSHAL, BLOB},
    [DECLSECURITY] = {U2, C + HASDECLSECURITY, BLOB},
    [CLASSLAYOUT] = {U2, U4, TYPEDEF},
    [FIELDLAYOUT] = {U4, FIELD},
    [STANDALONESIG] = {BLOB},
    [EVENTMAP] = {TYPEDEF, EVENT},
    [EVENTPTR] = {EVENT},
    [EVENT] = {U2, STR, C + TYPEDEFORREF},
    [PROPERTYMAP] = {TYPEDEF, PROPERTY},
    [PROPERTYPTR] = {PROPERTY},
    [PROPERTY] = {U2, STR, BLOB},
    [METHODSEMANTICS] = {U2, METHODDEF, C + HASSEMANTICS},
    [METHODIMPL] = {TYPEDEF, C + METHODDEFORREF, C + METHODDEFORREF},
    [MODULEREF] = {STR},
    [TYPESPEC] = {BLOB},
    [IMPLMAP] = {U2, C + MEMBERFORWARDED, STR, MODULEREF},
    [FIELDRVA] = {U4, FIELD},
    [ENCLOG] = {U4, U4},
    [ENCMAP] = {U4},
    [ASSEMBLY] = {U4, U2, U2, U2, U2, U4, BLOB, STR, STR},
    [ASSEMBLYPROCESSOR] = {U4},
    [ASSEMBLYOS] = {U4, U4, U4},
    [ASSEMBLYREF] = {U2, U2, U2, U2, U4, BLOB, STR, STR, BLOB},
    [ASSEMBLYREFPROCESSOR] = {U4, ASSEMBLYREF},
    [ASSEMBLYREFOS] = {U4, U4, U4, ASSEMBLYREF},
    [FILE_] = {U4, STR, BLOB},
    [EXPORTEDTYPE] = {U4, U4, STR, STR, C + IMPLEMENTATION},
    [MANIFESTRESOURCE] = {U4, U4, STR, C + IMPLEMENTATION},
    [NESTEDCLASS] = {TYPEDEF, TYPEDEF},
    [GENERICPARAM] = {U2, U2, C + TYPEORMETHODDEF, STR},
    [METHODSPEC] = {C + METHODDEFORREF, BLOB},
    [GENERICPARAMCONSTRAINT] = {GENERICPARAM, C + TYPEDEFORREF},
};
/* Module's first column is U2 and tables 0x03, 0x05... start with a table
 * index > 0, so a 0 entry can only be the end of a row. */

static uint32_t col_size(const mm_meta *md, uint8_t k)
{
    switch (k) {
    case U2: return 2;
    case U4: return 4;
    case STR: return md->str;
    case GUID: return md->pe->wide || md->pe->heap_sizes & 0x02 ? 4 : 2;
    case BLOB: return md->blob;
    default: return k >= C ? md->coded[k - C] : md->simple[k];
    }
}

HRESULT mm_meta_open(mm_meta *md, const mm_pe *pe, mm_il_error *err)
{
    const uint32_t *rows = pe->rows;
    uint64_t at = pe->rows_at;
    uint32_t t, k;

    memset(md, 0, sizeof *md);
    md->pe = pe;
    md->str = (uint8_t)pe->string_index;
    md->blob = pe->wide || pe->heap_sizes & 0x04 ? 4 : 2;
    for (t = 0; t < MM_META_TABLES; t++)
        md->simple[t] = pe->wide || rows[t] > 0xFFFF ? 4 : 2;
    for (k = 0; k < CODED_KINDS; k++) {
        uint32_t max = 0;
        for (t = 0; t < coded[k].n; t++)
            if (coded[k].tables[t] != NONE && rows[coded[k].tables[t]] > max)
                max = rows[coded[k].tables[t]];
        md->coded[k] = pe->wide || max >= 1u << (16 - coded[k].bits) ? 4 : 2;
    }
    for (t = 0; t < MM_META_TABLES; t++) {
        uint32_t size = 0;
        for (k = 0; k < 10 && (schema[t][k] != END || (t == MODULE && k == 0)); k++)
            size += col_size(md, schema[t][k]);
        md->row[t] = size;
        md->table[t] = at;
        at += (uint64_t)size * rows[t];
        if (at > pe->tables_end)
            return mm_il_fail(err, MM_E_PE_FORMAT, md->table[t],
                              "metadata table 0x%02x of %u rows runs past the tables stream", t, rows[t]);
    }
    return S_OK;
}

/* Column col of row rid (1-based) of table t; 0 when out of range. */
static uint32_t cell(const mm_meta *md, uint32_t t, uint32_t rid, uint32_t col)
{
    const uint8_t *p;
    uint32_t k, off = 0, w;
    if (t >= MM_META_TABLES || rid == 0 || rid > md->pe->rows[t])
        return 0;
    for (k = 0; k < col; k++)
        off += col_size(md, schema[t][k]);
    p = md->pe->data + md->table[t] + (uint64_t)(rid - 1) * md->row[t] + off;
    w = col_size(md, schema[t][col]);
    return w == 4 ? mm_rd32(p) : mm_rd16(p);
}

/* A coded index decoded to a token (0 for an unused tag). */
static uint32_t decode_coded(uint32_t kind, uint32_t v)
{
    uint32_t tag = v & ((1u << coded[kind].bits) - 1);
    if (tag >= coded[kind].n || coded[kind].tables[tag] == NONE)
        return 0;
    return (uint32_t)coded[kind].tables[tag] << 24 | v >> coded[kind].bits;
}

static HRESULT blob_at(const mm_meta *md, uint32_t index, const uint8_t **p, size_t *len)
{
    const uint8_t *b = md->pe->data + md->pe->blob;
    uint32_t n, h, size = md->pe->blob_size;
    if (index >= size)
        return MM_E_PE_FORMAT;
    b += index;
    size -= index;
    if (!(b[0] & 0x80))
        n = b[0], h = 1;
    else if ((b[0] & 0xC0) == 0x80 && size >= 2)
        n = (uint32_t)(b[0] & 0x3F) << 8 | b[1], h = 2;
    else if ((b[0] & 0xE0) == 0xC0 && size >= 4)
        n = (uint32_t)(b[0] & 0x1F) << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3], h = 4;
    else
        return MM_E_PE_FORMAT;
    if (n > size - h)
        return MM_E_PE_FORMAT;
    *p = b + h;
    *len = n;
    return S_OK;
}

HRESULT mm_meta_sig(const mm_meta *md, uint32_t token, const uint8_t **sig, size_t *len)
{
    uint32_t t = token >> 24, rid = token & 0xFFFFFF;
    int hops;
    for (hops = 0; hops < 2; hops++) {
        if (t >= MM_META_TABLES || rid == 0 || rid > md->pe->rows[t])
            return E_INVALIDARG;
        switch (t) {
        case METHODDEF: return blob_at(md, cell(md, t, rid, 4), sig, len);
        case MEMBERREF: return blob_at(md, cell(md, t, rid, 2), sig, len);
        case STANDALONESIG: return blob_at(md, cell(md, t, rid, 0), sig, len);
        case METHODSPEC:
            token = decode_coded(METHODDEFORREF, cell(md, t, rid, 0));
            t = token >> 24, rid = token & 0xFFFFFF;
            break;
        default: return E_INVALIDARG;
        }
    }
    return E_INVALIDARG;
}

static const char *string_at(const mm_meta *md, uint32_t index, size_t *len)
{
    const mm_pe *pe = md->pe;
    if (index >= pe->strings_size) {
        *len = 0;
        return "";
    }
    *len = strnlen((const char *)pe->data + pe->strings + index, pe->strings_size - index);
    return (const char *)pe->data + pe->strings + index;
}

/* Appends to buf[*at..cap) printf-style, never past cap. */
static void add(char *buf, size_t cap, size_t *at, const char *s, size_t n)
{
    if (*at + 1 >= cap)
        return;
    if (n > cap - 1 - *at)
        n = cap - 1 - *at;
    memcpy(buf + *at, s, n);
    *at += n;
    buf[*at] = '\0';
}

/* The TypeDef enclosing rid, by binary search of NestedClass (sorted by
 * its first column), or 0. */
static uint32_t enclosing(const mm_meta *md, uint32_t rid)
{
    uint32_t lo = 1, hi = md->pe->rows[NESTEDCLASS];
    while (lo <= hi && hi) {
        uint32_t mid = lo + (hi - lo) / 2, v = cell(md, NESTEDCLASS, mid, 0);
        if (v == rid)
            return cell(md, NESTEDCLASS, mid, 1);
        if (v < rid)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return 0;
}

static void type_name(const mm_meta *md, uint32_t token, char *buf, size_t cap, size_t *at, int depth);

/* A compressed unsigned integer of a blob (II.23.2); -1 when cut. */
static int blob_uint(const uint8_t *p, size_t len, size_t *pos, uint32_t *v)
{
    if (*pos >= len)
        return -1;
    if (!(p[*pos] & 0x80)) {
        *v = p[(*pos)++];
    } else if ((p[*pos] & 0xC0) == 0x80 && len - *pos >= 2) {
        *v = (uint32_t)(p[*pos] & 0x3F) << 8 | p[*pos + 1];
        *pos += 2;
    } else if ((p[*pos] & 0xE0) == 0xC0 && len - *pos >= 4) {
        *v = (uint32_t)(p[*pos] & 0x1F) << 24 | (uint32_t)p[*pos + 1] << 16 | (uint32_t)p[*pos + 2] << 8 | p[*pos + 3];
        *pos += 4;
    } else {
        return -1;
    }
    return 0;
}

/* One type of a signature blob, ildasm-like ("int32[]", "!0",
 * "System.Collections.Generic.List`1<!!0>"); -1 when the blob is cut or
 * holds what is not a type. */
static int sig_type(const mm_meta *md, const uint8_t *p, size_t len, size_t *pos, char *buf, size_t cap, size_t *at,
                    int depth)
{
    static const char *const prim[] = {
        [0x01] = "void",       [0x02] = "bool",        [0x03] = "char",    [0x04] = "int8",   [0x05] = "uint8",
        [0x06] = "int16",      [0x07] = "uint16",      [0x08] = "int32",   [0x09] = "uint32", [0x0A] = "int64",
        [0x0B] = "uint64",     [0x0C] = "float32",     [0x0D] = "float64", [0x0E] = "string", [0x16] = "typedref",
        [0x18] = "native int", [0x19] = "native uint", [0x1C] = "object"};
    char num[16];
    uint32_t v, n, k;
    uint8_t e;
    if (depth > 16 || *pos >= len)
        return -1;
    e = p[(*pos)++];
    if (e < sizeof prim / sizeof prim[0] && prim[e]) {
        add(buf, cap, at, prim[e], strlen(prim[e]));
        return 0;
    }
    switch (e) {
    case 0x0F: /* PTR */
    case 0x10: /* BYREF */
    case 0x1D: /* SZARRAY */
        if (sig_type(md, p, len, pos, buf, cap, at, depth + 1) != 0)
            return -1;
        add(buf, cap, at, e == 0x0F ? "*" : e == 0x10 ? "&" : "[]", e == 0x1D ? 2 : 1);
        return 0;
    case 0x11: /* VALUETYPE */
    case 0x12: /* CLASS */
        if (blob_uint(p, len, pos, &v) != 0)
            return -1;
        type_name(md, decode_coded(TYPEDEFORREF, v), buf, cap, at, depth + 1);
        return 0;
    case 0x13: /* VAR */
    case 0x1E: /* MVAR */
        if (blob_uint(p, len, pos, &v) != 0)
            return -1;
        snprintf(num, sizeof num, "%s%u", e == 0x13 ? "!" : "!!", v);
        add(buf, cap, at, num, strlen(num));
        return 0;
    case 0x14: /* ARRAY: type, rank, sizes, bounds */
        if (sig_type(md, p, len, pos, buf, cap, at, depth + 1) != 0 || blob_uint(p, len, pos, &v) != 0)
            return -1;
        add(buf, cap, at, "[", 1);
        for (k = 1; k < v && k < 32; k++)
            add(buf, cap, at, ",", 1);
        add(buf, cap, at, "]", 1);
        for (k = 0; k < 2; k++) { /* the sizes, then the lower bounds */
            uint32_t count, x;
            if (blob_uint(p, len, pos, &count) != 0)
                return -1;
            while (count--)
                if (blob_uint(p, len, pos, &x) != 0)
                    return -1;
        }
        return 0;
    case 0x15: /* GENERICINST: CLASS or VALUETYPE, type, count, arguments */
        if (sig_type(md, p, len, pos, buf, cap, at, depth + 1) != 0 || blob_uint(p, len, pos, &n) != 0)
            return -1;
        add(buf, cap, at, "<", 1);
        for (k = 0; k < n; k++) {
            if (k)
                add(buf, cap, at, ",", 1);
            if (sig_type(md, p, len, pos, buf, cap, at, depth + 1) != 0)
                return -1;
        }
        add(buf, cap, at, ">", 1);
        return 0;
    case 0x1F: /* CMOD_REQD */
    case 0x20: /* CMOD_OPT */
    case 0x45: /* PINNED */
        if (e != 0x45 && blob_uint(p, len, pos, &v) != 0)
            return -1;
        return sig_type(md, p, len, pos, buf, cap, at, depth + 1);
    case 0x1B: /* FNPTR */
        add(buf, cap, at, "method*", 7);
        *pos = len; /* nothing after it is named */
        return 0;
    default: return -1;
    }
}

static void type_name(const mm_meta *md, uint32_t token, char *buf, size_t cap, size_t *at, int depth)
{
    uint32_t t = token >> 24, rid = token & 0xFFFFFF;
    size_t n, nn;
    const char *name, *ns;
    if (depth > 8) {
        add(buf, cap, at, "...", 3);
        return;
    }
    if (t == TYPEDEF && rid && rid <= md->pe->rows[TYPEDEF]) {
        uint32_t outer = enclosing(md, rid);
        name = string_at(md, cell(md, t, rid, 1), &n);
        ns = string_at(md, cell(md, t, rid, 2), &nn);
        if (outer && outer != rid) {
            type_name(md, (uint32_t)TYPEDEF << 24 | outer, buf, cap, at, depth + 1);
            add(buf, cap, at, "/", 1);
        } else if (nn) {
            add(buf, cap, at, ns, nn);
            add(buf, cap, at, ".", 1);
        }
        add(buf, cap, at, name, n);
    } else if (t == TYPEREF && rid && rid <= md->pe->rows[TYPEREF]) {
        uint32_t scope = decode_coded(RESOLUTIONSCOPE, cell(md, t, rid, 0));
        name = string_at(md, cell(md, t, rid, 1), &n);
        ns = string_at(md, cell(md, t, rid, 2), &nn);
        if (scope >> 24 == TYPEREF && scope != token) {
            type_name(md, scope, buf, cap, at, depth + 1);
            add(buf, cap, at, "/", 1);
        } else if (nn) {
            add(buf, cap, at, ns, nn);
            add(buf, cap, at, ".", 1);
        }
        add(buf, cap, at, name, n);
    } else if (t == TYPESPEC && rid && rid <= md->pe->rows[TYPESPEC]) {
        const uint8_t *p;
        size_t len, pos = 0, before = *at;
        if (blob_at(md, cell(md, t, rid, 0), &p, &len) != S_OK
            || sig_type(md, p, len, &pos, buf, cap, at, depth + 1) != 0) {
            *at = before;
            buf[before] = '\0';
            add(buf, cap, at, "[TypeSpec]", 10);
        }
    } else if (t == MODULEREF) {
        add(buf, cap, at, "[ModuleRef]", 11);
    } else {
        add(buf, cap, at, "[?]", 3);
    }
}

/* The TypeDef whose method (or field) list holds rid: the last row whose
 * list starts at or before it. */
static uint32_t owner(const mm_meta *md, uint32_t rid, uint32_t col)
{
    uint32_t lo = 1, hi = md->pe->rows[TYPEDEF], best = 0;
    while (lo <= hi && hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cell(md, TYPEDEF, mid, col) <= rid) {
            best = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return best;
}

char *mm_meta_name(const mm_meta *md, uint32_t token, char *buf, size_t cap)
{
    uint32_t t = token >> 24, rid = token & 0xFFFFFF;
    size_t at = 0, n;
    const char *name;
    if (!cap)
        return buf;
    buf[0] = '\0';
    if (t >= MM_META_TABLES || rid == 0 || rid > md->pe->rows[t]) {
        add(buf, cap, &at, "[bad token]", 11);
        return buf;
    }
    switch (t) {
    case TYPEDEF:
    case TYPEREF:
    case TYPESPEC: type_name(md, token, buf, cap, &at, 0); break;
    case METHODDEF:
    case FIELD: {
        uint32_t type = owner(md, rid, t == METHODDEF ? 5 : 4);
        if (type)
            type_name(md, (uint32_t)TYPEDEF << 24 | type, buf, cap, &at, 0);
        add(buf, cap, &at, "::", 2);
        name = string_at(md, cell(md, t, rid, t == METHODDEF ? 3 : 1), &n);
        add(buf, cap, &at, name, n);
        break;
    }
    case MEMBERREF: {
        uint32_t parent = decode_coded(MEMBERREFPARENT, cell(md, t, rid, 0));
        if (parent >> 24 == METHODDEF)
            mm_meta_name(md, parent, buf, cap), at = strlen(buf);
        else
            type_name(md, parent, buf, cap, &at, 0);
        if (parent >> 24 != METHODDEF) {
            add(buf, cap, &at, "::", 2);
            name = string_at(md, cell(md, t, rid, 1), &n);
            add(buf, cap, &at, name, n);
        }
        break;
    }
    case METHODSPEC: {
        uint32_t m = decode_coded(METHODDEFORREF, cell(md, t, rid, 0));
        if (m >> 24 == METHODSPEC)
            add(buf, cap, &at, "[?]", 3);
        else
            mm_meta_name(md, m, buf, cap), at = strlen(buf);
        {
            /* The instantiation: 0x0A, count, types. */
            const uint8_t *p;
            size_t len, pos = 1, before = at;
            uint32_t count, k;
            int ok = blob_at(md, cell(md, t, rid, 1), &p, &len) == S_OK && len > 0 && p[0] == 0x0A
                     && blob_uint(p, len, &pos, &count) == 0;
            if (ok)
                add(buf, cap, &at, "<", 1);
            for (k = 0; ok && k < count; k++) {
                if (k)
                    add(buf, cap, &at, ",", 1);
                ok = sig_type(md, p, len, &pos, buf, cap, &at, 1) == 0;
            }
            if (ok) {
                add(buf, cap, &at, ">", 1);
            } else {
                at = before;
                buf[before] = '\0';
                add(buf, cap, &at, "<...>", 5);
            }
        }
        break;
    }
    case STANDALONESIG: add(buf, cap, &at, "[signature]", 11); break;
    default: add(buf, cap, &at, "[token]", 7); break;
    }
    return buf;
}
