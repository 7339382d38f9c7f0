/*
 * methodmalloc_il: IL method bodies as the runtime reads them (ECMA-335
 * Partition II, 25.4): build them, read them back, check them.
 *
 * A body is a header, the IL code, then optional extra data sections:
 *   tiny header  1 byte: (code_size << 2) | 0x2.  Code under 64 bytes,
 *                max stack 8, no locals, no sections.
 *   fat header   12 bytes, 4-byte aligned: flags (low 12 bits) and header
 *                size in dwords (3, top 4 bits) in one u16; max stack u16;
 *                code size u32; local variable signature token u32.
 *   sections     each on the next 4-byte boundary after what precedes it,
 *                chained by MoreSects; today only exception tables, in
 *                small form (12-byte clauses, DataSize u8) or fat form
 *                (24-byte clauses, DataSize 24-bit).
 * All multi-byte fields are little-endian.  Offsets in this API are relative
 * to the body's first byte, which the runtime needs 4-byte aligned when the
 * header is fat (IMethodMalloc blocks are).
 *
 * Reading never touches a byte outside [p, p + len) and never allocates.
 * No function keeps state: all may run concurrently on any threads, as long
 * as two calls do not write the same caller memory.
 */
#ifndef METHODMALLOC_IL_H
#define METHODMALLOC_IL_H

#include "methodmalloc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Errors (facility ITF, 0x800402xx) ----
 * Every function returns one of these or an HRESULT of methodmalloc.h, and
 * fills an optional mm_il_error with the detail. */
#define MM_E_IL_TRUNCATED ((HRESULT)0x80040201L) /* the body runs past the bytes given */
#define MM_E_IL_HEADER ((HRESULT)0x80040202L)    /* bad method header */
#define MM_E_IL_SECTION ((HRESULT)0x80040203L)   /* bad extra data section or chain */
#define MM_E_IL_CLAUSE ((HRESULT)0x80040204L)    /* bad exception clause */
#define MM_E_IL_CANNOT ((HRESULT)0x80040205L)    /* the description cannot be encoded as asked */
#define MM_E_IL_SMALL_BUFFER ((HRESULT)0x80040206L) /* output buffer or clause storage too small */

/* What went wrong and where.  offset is a byte offset from the body's first
 * byte (for a description being encoded: where that byte would be).
 * message is one line, NUL-terminated, naming the field and the values. */
typedef struct mm_il_error {
    HRESULT code;
    uint32_t offset;
    char message[160];
} mm_il_error;

/* ---- Constants of the format ---- */
#define MM_IL_TINY_FORMAT 0x2u
#define MM_IL_FAT_FORMAT 0x3u
#define MM_IL_FORMAT_MASK 0x3u
#define MM_IL_MORE_SECTS 0x8u
#define MM_IL_INIT_LOCALS 0x10u
#define MM_IL_TINY_MAX_CODE 63u
#define MM_IL_TINY_MAX_STACK 8u
#define MM_IL_FAT_HEADER_SIZE 12u

#define MM_IL_SECT_EHTABLE 0x01u
#define MM_IL_SECT_OPTILTABLE 0x02u
#define MM_IL_SECT_FAT_FORMAT 0x40u
#define MM_IL_SECT_MORE_SECTS 0x80u

/* Clause kinds: the values of the clause's Flags field. */
#define MM_IL_CLAUSE_CATCH 0x0u
#define MM_IL_CLAUSE_FILTER 0x1u
#define MM_IL_CLAUSE_FINALLY 0x2u
#define MM_IL_CLAUSE_FAULT 0x4u

/* Header kind: what decode found, or what encode should write. */
typedef enum mm_il_header {
    MM_IL_HEADER_AUTO = 0, /* encode: tiny when the body allows it, else fat */
    MM_IL_HEADER_TINY = 1,
    MM_IL_HEADER_FAT = 2
} mm_il_header;

/* Exception table form: what decode found, or what encode should write. */
typedef enum mm_il_eh_format {
    MM_IL_EH_AUTO = 0, /* encode: small when every clause fits it, else fat */
    MM_IL_EH_SMALL = 1,
    MM_IL_EH_FAT = 2
} mm_il_eh_format;

/* One exception clause, always in fat (32-bit) widths.  The small form
 * holds offsets up to 0xFFFF and lengths up to 0xFF. */
typedef struct mm_il_clause {
    uint32_t kind; /* MM_IL_CLAUSE_*: the Flags field as is */
    uint32_t try_offset;
    uint32_t try_length;
    uint32_t handler_offset;
    uint32_t handler_length;
    /* catch: the exception type's token (TypeDef, TypeRef or TypeSpec);
     * filter: the filter code's offset; finally and fault: unused, kept as
     * read so that a body round-trips byte for byte. */
    uint32_t token_or_filter;
} mm_il_clause;

/* A method body, described.  mm_il_decode fills every field; the encoder
 * reads those marked "in". */
typedef struct mm_il_body {
    mm_il_header header;       /* in: AUTO, TINY or FAT */
    /* in: the fat header's flags: MM_IL_INIT_LOCALS or 0.  The encoder
     * computes the format bits and MoreSects itself (it ignores them here)
     * and refuses any other bit.  Decode gives the 12 bits as read; a tiny
     * header gives 0. */
    uint16_t flags;
    uint16_t max_stack;        /* in; tiny means 8 */
    uint32_t local_var_sig_tok; /* in; 0: no locals */
    const uint8_t *code;       /* in: code_size bytes (decode: inside p) */
    uint32_t code_size;        /* in */
    const mm_il_clause *clauses; /* in: clause_count clauses (decode: the caller's storage) */
    uint32_t clause_count;     /* in; decode: the body's total count */
    mm_il_eh_format eh_format; /* in: AUTO, SMALL or FAT; decode: first table's form */
    /* Decode only (the encoder ignores them): */
    uint32_t code_offset;      /* 1 or 12 */
    uint32_t eh_sections;      /* exception tables found */
    uint32_t size;             /* whole body: header, code, padding, sections */
} mm_il_body;

/* ---- Building a body ---- */

/* Checks the description b and sets *size to the bytes its encoding needs.
 * Tiny is chosen by AUTO when code_size <= 63, max_stack <= 8, no locals
 * token, no clauses and no flag bit beyond the format; the exception table is
 * small under AUTO when it has at most 20 clauses and each fits the small
 * widths.  Clauses are checked as mm_il_validate checks them.
 * Returns S_OK; E_POINTER if b or size is NULL or b->code is NULL with a
 * non-zero code_size, or b->clauses NULL with clauses; E_INVALIDARG for a
 * header or eh_format outside its enum; MM_E_IL_CANNOT when TINY or SMALL was
 * asked and the body does not fit it, or the total exceeds 0xFFFFFFFF;
 * MM_E_IL_HEADER, MM_E_IL_CLAUSE for a description mm_il_validate would
 * reject once encoded (empty code, unknown flag, locals token not a
 * StandAloneSig, clause outside the code, unknown kind...): what the
 * encoder writes always validates. */
MM_API HRESULT mm_il_size(const mm_il_body *b, size_t *size, mm_il_error *err);

/* Encodes b into buf[0..cap).  Padding bytes are written as zero.
 * Returns what mm_il_size returns, or MM_E_IL_SMALL_BUFFER if cap is less
 * than the size (nothing written), E_POINTER if buf is NULL.  *written (if
 * not NULL) gets the size on success. */
MM_API HRESULT mm_il_encode(const mm_il_body *b, void *buf, size_t cap, size_t *written, mm_il_error *err);

/* Allocates a block of the body's size from alloc (alloc->lpVtbl->Alloc)
 * and encodes b into it: what a profiler hands to SetILFunctionBody.
 * *block gets the block (NULL on failure), *size (if not NULL) its size.
 * Returns what mm_il_size returns, E_POINTER if alloc or block is NULL, or
 * E_OUTOFMEMORY if Alloc returned NULL.  Thread safety is alloc's. */
MM_API HRESULT mm_il_encode_alloc(IMethodMalloc *alloc, const mm_il_body *b, void **block, size_t *size,
                                  mm_il_error *err);

/* ---- Reading a body ---- */

/* Decodes the body at p, of which len bytes may be read, into *out.
 * Clauses are written to clauses[0..capacity); out->clause_count gets the
 * body's total, so a first call with capacity 0 counts them.  out->code
 * points into p.  Decode checks the structure (header, sizes, alignment,
 * section chain, every byte inside len), not the meaning: mm_il_validate
 * does that.  An exception table's DataSize is 4 + n * clause size (the
 * standard: it counts the 4-byte section header) or n * clause size (what
 * some emitters write; the runtime reads n = DataSize / clause size either
 * way): both are accepted, anything else is MM_E_IL_SECTION, and so is
 * the second form on a table with MoreSects, since where the next section
 * starts is then ambiguous.  Sections of other kinds (OptILTable, unknown
 * bits) are MM_E_IL_SECTION.
 * Returns S_OK; E_POINTER if p (with len > 0) or out is NULL, or clauses
 * is NULL with a non-zero capacity;
 * MM_E_IL_TRUNCATED, MM_E_IL_HEADER, MM_E_IL_SECTION as found;
 * MM_E_IL_SMALL_BUFFER if the body has more clauses than capacity (the
 * first capacity are filled and every other field is set). */
MM_API HRESULT mm_il_decode(const void *p, size_t len, mm_il_body *out, mm_il_clause *clauses, size_t capacity,
                            mm_il_error *err);

/* Decodes and checks what the runtime relies on: the structure (as decode)
 * plus flags (no unknown bit, InitLocals only on a fat header), a locals
 * token that is 0 or a StandAloneSig token, non-empty code, and every
 * clause: a known kind, non-empty try and handler inside the code, try and
 * handler disjoint, a filter that starts inside the code before its
 * handler, a catch whose token is a TypeDef, TypeRef or TypeSpec.  It does
 * not decode instructions (offsets are not checked against instruction
 * boundaries).  Accepts the DataSize quirk decode accepts.
 * Returns S_OK or the first problem found: the codes of mm_il_decode (never
 * MM_E_IL_SMALL_BUFFER), MM_E_IL_HEADER, MM_E_IL_CLAUSE. */
MM_API HRESULT mm_il_validate(const void *p, size_t len, mm_il_error *err);

/* Sets *size to the whole extent of the body at p (header, code, padding and
 * every section): what copying it verbatim needs.  Reads only the header and
 * the section headers, each only after checking it lies within len.
 * ICorProfilerInfo::GetILFunctionBody gives a pointer with no length: the
 * headers are then all there is to trust, and passing MM_IL_UNBOUNDED (or
 * the bytes up to the end of the module's image, if known) reads exactly the
 * bytes the headers designate and no further.
 * Returns S_OK, or the codes of mm_il_decode (never MM_E_IL_SMALL_BUFFER). */
MM_API HRESULT mm_il_extent(const void *p, size_t len, size_t *size, mm_il_error *err);

#define MM_IL_UNBOUNDED ((size_t)-1)

/* "catch", "filter", "finally", "fault", or "unknown" for any other kind:
 * a static string. */
MM_API const char *mm_il_clause_kind_name(uint32_t kind);

#ifdef __cplusplus
}
#endif

#endif /* METHODMALLOC_IL_H */
