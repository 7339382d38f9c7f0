/* PE/CLI reading: from the DOS header to the MethodDef table. */
#include "pe.h"
#include "il/il.h"

#include <string.h>

/* Metadata tables that come before MethodDef, or size its coded indices. */
enum {
    T_MODULE = 0x00,
    T_TYPEREF = 0x01,
    T_TYPEDEF = 0x02,
    T_FIELDPTR = 0x03,
    T_FIELD = 0x04,
    T_METHODPTR = 0x05,
    T_METHODDEF = 0x06,
    T_PARAM = 0x08,
    T_MODULEREF = 0x1A,
    T_TYPESPEC = 0x1B,
    T_ASSEMBLYREF = 0x23,
    T_COUNT = 64
};

#define HEAP_LARGE_STRINGS 0x01u
#define HEAP_LARGE_GUIDS 0x02u
#define HEAP_LARGE_BLOBS 0x04u
#define HEAP_EXTRA_DATA 0x40u /* 4 more bytes follow the row counts */

#define CLI_DIRECTORY 14u
#define CLI_HEADER_SIZE 72u
#define METADATA_SIGNATURE 0x424A5342u /* "BSJB" */

/* Whether [off, off + n) lies inside [0, limit). */
static int inside(uint64_t off, uint64_t n, uint64_t limit) { return off <= limit && n <= limit - off; }

HRESULT mm_pe_rva(const mm_pe *pe, uint32_t rva, const uint8_t **p, size_t *avail, mm_il_error *err)
{
    uint32_t i;
    for (i = 0; i < pe->nsections; i++) {
        const uint8_t *s = pe->data + pe->sections + (size_t)i * 40;
        uint32_t vsize = mm_rd32(s + 8), va = mm_rd32(s + 12), raw = mm_rd32(s + 16), ptr = mm_rd32(s + 20);
        /* The loader maps VirtualSize bytes; raw bytes beyond it are not the
         * image's, and bytes beyond raw are zeros that are not in the file. */
        uint32_t span = vsize && vsize < raw ? vsize : raw;
        uint64_t delta, off;
        if (rva < va || rva - va >= (vsize > raw ? vsize : raw))
            continue;
        delta = rva - va;
        if (delta >= span)
            return mm_il_fail(err, MM_E_PE_RVA, 0, "RVA 0x%x lies in the part of section %.8s that the file does not hold", rva,
                        (const char *)s);
        off = (uint64_t)ptr + delta;
        if (off >= pe->size)
            return mm_il_fail(err, MM_E_PE_RVA, ptr, "RVA 0x%x maps to file offset 0x%llx, past the end of the file (0x%zx)",
                        rva, (unsigned long long)off, pe->size);
        *p = pe->data + off;
        *avail = (size_t)(span - delta);
        if (*avail > pe->size - off)
            *avail = (size_t)(pe->size - off);
        return S_OK;
    }
    return mm_il_fail(err, MM_E_PE_RVA, 0, "RVA 0x%x lies in no section", rva);
}

/* Finds the optional header: its offset and size inside d[0..size). */
static HRESULT read_file_header(const uint8_t *d, size_t size, uint64_t *opt, uint32_t *opt_size, uint32_t *nsections,
                                mm_il_error *err)
{
    uint64_t nt;

    if (size < 0x40 || d[0] != 'M' || d[1] != 'Z')
        return mm_il_fail(err, MM_E_PE_NOT_PE, 0, "no MZ signature");
    nt = mm_rd32(d + 0x3C);
    if (!inside(nt, 24, size) || memcmp(d + nt, "PE\0\0", 4) != 0)
        return mm_il_fail(err, MM_E_PE_NOT_PE, 0x3C, "no PE signature at 0x%llx", (unsigned long long)nt);
    *nsections = mm_rd16(d + nt + 6);
    *opt_size = mm_rd16(d + nt + 20);
    *opt = nt + 24;
    if (!inside(*opt, *opt_size, size) || *opt_size < 2)
        return mm_il_fail(err, MM_E_PE_FORMAT, nt + 20, "optional header of 0x%x bytes runs past the file", *opt_size);
    return S_OK;
}

HRESULT mm_pe_image_size(const void *headers, size_t size, uint32_t *size_of_image, mm_il_error *err)
{
    uint64_t opt;
    uint32_t opt_size, nsections;
    HRESULT hr;

    if (!headers || !size_of_image)
        return mm_il_fail(err, E_POINTER, 0, "headers or size_of_image is NULL");
    hr = read_file_header(headers, size, &opt, &opt_size, &nsections, err);
    if (FAILED(hr))
        return hr;
    /* SizeOfImage sits at the same place in PE32 and PE32+. */
    if (opt_size < 60)
        return mm_il_fail(err, MM_E_PE_FORMAT, opt, "optional header of 0x%x bytes has no SizeOfImage", opt_size);
    *size_of_image = mm_rd32((const uint8_t *)headers + opt + 56);
    if (*size_of_image == 0)
        return mm_il_fail(err, MM_E_PE_FORMAT, opt + 56, "SizeOfImage is 0");
    return S_OK;
}

/* Finds the CLI header's RVA in the PE headers. */
static HRESULT read_pe_headers(mm_pe *pe, uint32_t *cli_rva, mm_il_error *err)
{
    const uint8_t *d = pe->data;
    uint64_t opt, dirs;
    uint32_t opt_size, nrva;
    uint16_t magic;
    HRESULT hr = read_file_header(d, pe->size, &opt, &opt_size, &pe->nsections, err);

    if (FAILED(hr))
        return hr;
    magic = mm_rd16(d + opt);
    if (magic == 0x10B)
        dirs = 96;
    else if (magic == 0x20B)
        dirs = 112;
    else
        return mm_il_fail(err, MM_E_PE_FORMAT, opt, "optional header magic 0x%x is neither PE32 nor PE32+", magic);
    pe->sections = opt + opt_size;
    if (!inside(pe->sections, (uint64_t)pe->nsections * 40, pe->size))
        return mm_il_fail(err, MM_E_PE_FORMAT, pe->sections, "section table of %u entries runs past the file",
                    pe->nsections);
    if (dirs > opt_size)
        return mm_il_fail(err, MM_E_PE_NOT_CLI, opt, "no data directories");
    nrva = mm_rd32(d + opt + dirs - 4);
    if (nrva <= CLI_DIRECTORY || !inside(dirs, (CLI_DIRECTORY + 1) * 8, opt_size))
        return mm_il_fail(err, MM_E_PE_NOT_CLI, opt + dirs - 4, "no CLI header directory");
    *cli_rva = mm_rd32(d + opt + dirs + CLI_DIRECTORY * 8);
    if (*cli_rva == 0)
        return mm_il_fail(err, MM_E_PE_NOT_CLI, opt + dirs + CLI_DIRECTORY * 8, "no CLI header");
    return S_OK;
}

/* A stream of the metadata root, as offsets from the root. */
struct stream {
    uint32_t off, size;
    int found;
};

static HRESULT read_streams(const uint8_t *md, uint32_t md_size, uint64_t md_off, struct stream *tables,
                            struct stream *strings, struct stream *blob, int *wide, mm_il_error *err)
{
    uint32_t vlen, n, i;
    uint64_t at;

    if (md_size < 20 || mm_rd32(md) != METADATA_SIGNATURE)
        return mm_il_fail(err, MM_E_PE_FORMAT, md_off, "no metadata signature BSJB");
    vlen = mm_rd32(md + 12);
    at = 16 + (uint64_t)vlen;
    if (!inside(at, 4, md_size))
        return mm_il_fail(err, MM_E_PE_FORMAT, md_off + 12, "metadata version string of 0x%x bytes runs past the metadata",
                    vlen);
    n = mm_rd16(md + at + 2);
    at += 4;
    for (i = 0; i < n; i++) {
        uint32_t off, size;
        const char *name;
        size_t name_len;
        if (!inside(at, 8, md_size))
            return mm_il_fail(err, MM_E_PE_FORMAT, md_off + at, "stream header %u runs past the metadata", i);
        off = mm_rd32(md + at);
        size = mm_rd32(md + at + 4);
        name = (const char *)md + at + 8;
        name_len = strnlen(name, md_size - at - 8 < 32 ? md_size - at - 8 : 32);
        if (name_len == 32 || at + 8 + name_len >= md_size)
            return mm_il_fail(err, MM_E_PE_FORMAT, md_off + at + 8, "stream %u name is not terminated", i);
        if (!inside(off, size, md_size))
            return mm_il_fail(err, MM_E_PE_FORMAT, md_off + at, "stream %.*s [0x%x, +0x%x) runs past the metadata (0x%x)",
                        (int)name_len, name, off, size, md_size);
        if (!strcmp(name, "#~") || !strcmp(name, "#-"))
            *tables = (struct stream){off, size, 1};
        else if (!strcmp(name, "#Strings"))
            *strings = (struct stream){off, size, 1};
        else if (!strcmp(name, "#Blob"))
            *blob = (struct stream){off, size, 1};
        else if (!strcmp(name, "#JTD"))
            *wide = 1; /* an edit-and-continue delta: every index is 4 bytes */
        at += 8 + ((name_len + 4) & ~(size_t)3);
    }
    if (!tables->found)
        return mm_il_fail(err, MM_E_PE_FORMAT, md_off, "no #~ stream");
    return S_OK;
}

/* Locates the MethodDef table inside the tables stream t[0..size). */
static HRESULT read_tables(mm_pe *pe, const uint8_t *t, uint32_t size, uint64_t t_off, int wide, mm_il_error *err)
{
    uint32_t rows[T_COUNT] = {0};
    uint64_t valid, at, row[T_METHODDEF + 1], sum;
    uint32_t str, guid, blob, i, scope, tdor;
    uint8_t heaps;

    if (size < 24)
        return mm_il_fail(err, MM_E_PE_FORMAT, t_off, "tables stream of %u bytes is too short for its header", size);
    heaps = t[6];
    valid = mm_rd64(t + 8);
    at = 24;
    for (i = 0; i < T_COUNT; i++) {
        if (!(valid >> i & 1))
            continue;
        if (!inside(at, 4, size))
            return mm_il_fail(err, MM_E_PE_FORMAT, t_off + at, "row counts run past the tables stream");
        rows[i] = mm_rd32(t + at);
        at += 4;
    }
    if (heaps & HEAP_EXTRA_DATA)
        at += 4;

    str = wide || heaps & HEAP_LARGE_STRINGS ? 4 : 2;
    guid = wide || heaps & HEAP_LARGE_GUIDS ? 4 : 2;
    blob = wide || heaps & HEAP_LARGE_BLOBS ? 4 : 2;
#define INDEX(tab) (wide || rows[tab] > 0xFFFF ? 4u : 2u)
    /* Coded indices with 2 tag bits are wide when a target table has 2^14
     * rows or more. */
    scope = wide || rows[T_MODULE] >= 1u << 14 || rows[T_MODULEREF] >= 1u << 14 || rows[T_ASSEMBLYREF] >= 1u << 14 ||
                    rows[T_TYPEREF] >= 1u << 14
                ? 4
                : 2;
    tdor = wide || rows[T_TYPEDEF] >= 1u << 14 || rows[T_TYPEREF] >= 1u << 14 || rows[T_TYPESPEC] >= 1u << 14 ? 4 : 2;
    row[T_MODULE] = 2 + str + 3 * guid;
    row[T_TYPEREF] = scope + 2 * str;
    row[T_TYPEDEF] = 4 + 2 * str + tdor + INDEX(T_FIELD) + INDEX(T_METHODDEF);
    row[T_FIELDPTR] = INDEX(T_FIELD);
    row[T_FIELD] = 2 + str + blob;
    row[T_METHODPTR] = INDEX(T_METHODDEF);
    row[T_METHODDEF] = 4 + 2 + 2 + str + blob + INDEX(T_PARAM);
#undef INDEX

    sum = at;
    for (i = 0; i < T_METHODDEF; i++)
        sum += row[i] * rows[i];
    if (!inside(sum, row[T_METHODDEF] * rows[T_METHODDEF], size))
        return mm_il_fail(err, MM_E_PE_FORMAT, t_off + sum, "MethodDef table of %u rows runs past the tables stream (0x%x)",
                    rows[T_METHODDEF], size);
    pe->methods = t_off + sum;
    pe->rows_at = t_off + at;
    pe->tables_end = t_off + size;
    pe->heap_sizes = heaps;
    pe->wide = (uint8_t)wide;
    memcpy(pe->rows, rows, sizeof rows);
    pe->method_count = rows[T_METHODDEF];
    pe->method_row = (uint32_t)row[T_METHODDEF];
    pe->string_index = str;
    return S_OK;
}

HRESULT mm_pe_open(mm_pe *pe, const void *data, size_t size, mm_il_error *err)
{
    struct stream tables = {0, 0, 0}, strings = {0, 0, 0}, blob = {0, 0, 0};
    uint32_t cli_rva, md_rva, md_size;
    const uint8_t *cli, *md;
    size_t avail;
    int wide = 0;
    HRESULT hr;

    if (!pe || (!data && size))
        return mm_il_fail(err, E_POINTER, 0, "NULL argument");
    memset(pe, 0, sizeof *pe);
    pe->data = data;
    pe->size = size;
    if (FAILED(hr = read_pe_headers(pe, &cli_rva, err)))
        return hr;
    if (FAILED(mm_pe_rva(pe, cli_rva, &cli, &avail, err)) || avail < CLI_HEADER_SIZE)
        return mm_il_fail(err, MM_E_PE_FORMAT, 0, "CLI header at RVA 0x%x is not inside the file", cli_rva);
    md_rva = mm_rd32(cli + 8);
    md_size = mm_rd32(cli + 12);
    pe->cli_flags = mm_rd32(cli + 16);
    if (FAILED(mm_pe_rva(pe, md_rva, &md, &avail, err)) || avail < md_size)
        return mm_il_fail(err, MM_E_PE_FORMAT, (uint64_t)(cli - pe->data) + 8,
                    "metadata at RVA 0x%x of 0x%x bytes is not inside the file", md_rva, md_size);
    if (FAILED(hr = read_streams(md, md_size, (uint64_t)(md - pe->data), &tables, &strings, &blob, &wide, err)))
        return hr;
    if (strings.found) {
        pe->strings = (uint64_t)(md - pe->data) + strings.off;
        pe->strings_size = strings.size;
    }
    if (blob.found) {
        pe->blob = (uint64_t)(md - pe->data) + blob.off;
        pe->blob_size = blob.size;
    }
    return read_tables(pe, md + tables.off, tables.size, (uint64_t)(md - pe->data) + tables.off, wide, err);
}

HRESULT mm_pe_method_row(const mm_pe *pe, uint32_t rid, mm_pe_method *m)
{
    const uint8_t *r;
    uint32_t name;
    if (!pe || !m || rid == 0 || rid > pe->method_count)
        return E_INVALIDARG;
    r = pe->data + pe->methods + (uint64_t)(rid - 1) * pe->method_row;
    m->rva = mm_rd32(r);
    m->impl_flags = mm_rd16(r + 4);
    m->flags = mm_rd16(r + 6);
    name = pe->string_index == 4 ? mm_rd32(r + 8) : mm_rd16(r + 8);
    m->name = "";
    m->name_len = 0;
    if (name < pe->strings_size) {
        m->name = (const char *)pe->data + pe->strings + name;
        m->name_len = strnlen(m->name, pe->strings_size - name);
    }
    return S_OK;
}
