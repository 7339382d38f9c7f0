/* Reading a PE/CLI file (ECMA-335 II.24-25) just far enough to find its IL
 * method bodies: PE headers, CLI header, metadata root, the tables stream,
 * the MethodDef table, and RVA to file offset.  Internal: a static library
 * (libmmpe.a) that mmil, the profiler, the tests and the fuzzers link; not
 * part of libmethodmalloc.
 *
 * The file is a byte range the caller owns and keeps alive; nothing is read
 * outside it, every size in the file is checked before use (all arithmetic
 * in 64 bits), and nothing is allocated.  A mm_pe is read-only once opened:
 * any number of threads may query it. */
#ifndef MM_PE_H
#define MM_PE_H

#include "methodmalloc_il.h"

/* Errors, beside E_POINTER; the detail goes to an mm_il_error whose offset is
 * a file offset. */
#define MM_E_PE_NOT_PE ((HRESULT)0x80040210L)  /* no PE signature: not an executable image */
#define MM_E_PE_NOT_CLI ((HRESULT)0x80040211L) /* a PE image without a CLI header: not managed */
#define MM_E_PE_FORMAT ((HRESULT)0x80040212L)  /* PE or CLI structures malformed or outside the file */
#define MM_E_PE_RVA ((HRESULT)0x80040213L)     /* an RVA that maps to no bytes of the file */

typedef struct mm_pe {
    const uint8_t *data;
    size_t size;
    size_t sections;      /* file offset of the section table */
    uint32_t nsections;
    uint32_t cli_flags;   /* the CLI header's Flags (ILONLY 0x1, ...) */
    uint64_t strings;     /* file offset and size of the #Strings heap */
    uint32_t strings_size;
    uint64_t methods;     /* file offset of MethodDef row 1 */
    uint32_t method_count;
    uint32_t method_row;  /* bytes per MethodDef row */
    uint32_t string_index; /* 2 or 4 */
    /* For the rest of the metadata (src/pe/meta.c): */
    uint64_t blob;        /* file offset and size of the #Blob heap (0, 0: none) */
    uint32_t blob_size;
    uint64_t rows_at;     /* file offset of the first table's first row */
    uint64_t tables_end;  /* file offset of the end of the tables stream */
    uint8_t heap_sizes;   /* the tables stream's HeapSizes */
    uint8_t wide;         /* every index 4 bytes (#JTD) */
    uint32_t rows[64];    /* row count of each table */
} mm_pe;

/* Opens the file data[0..size).  Returns S_OK, MM_E_PE_NOT_PE,
 * MM_E_PE_NOT_CLI, MM_E_PE_FORMAT or E_POINTER, with err's message naming
 * the structure at fault. */
HRESULT mm_pe_open(mm_pe *pe, const void *data, size_t size, mm_il_error *err);

/* Reads SizeOfImage from the PE headers at the start of headers[0..size),
 * which may be a file or an image the loader mapped (the headers are the
 * same in both).  Returns S_OK, MM_E_PE_NOT_PE, MM_E_PE_FORMAT (no or a zero
 * SizeOfImage, headers past size) or E_POINTER. */
HRESULT mm_pe_image_size(const void *headers, size_t size, uint32_t *size_of_image, mm_il_error *err);

/* Maps rva to *p, with *avail bytes of the same section after it in the
 * file.  Returns S_OK or MM_E_PE_RVA. */
HRESULT mm_pe_rva(const mm_pe *pe, uint32_t rva, const uint8_t **p, size_t *avail, mm_il_error *err);

/* One MethodDef row. */
typedef struct mm_pe_method {
    uint32_t rva;
    uint16_t impl_flags; /* low 2 bits: code type, 0 is IL */
    uint16_t flags;
    const char *name;    /* inside the file, name_len bytes, not NUL-terminated */
    size_t name_len;
} mm_pe_method;

#define MM_PE_CODE_TYPE_MASK 0x3u
#define MM_PE_CODE_TYPE_IL 0x0u

/* Reads MethodDef row rid, 1..pe->method_count.  A name index outside the
 * #Strings heap gives an empty name.  Returns S_OK or E_INVALIDARG for a
 * rid out of range. */
HRESULT mm_pe_method_row(const mm_pe *pe, uint32_t rid, mm_pe_method *m);

#endif /* MM_PE_H */
