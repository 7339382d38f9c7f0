/* The metadata tables beyond MethodDef (ECMA-335 II.22): every table's row
 * layout, signatures of the tokens IL names (MethodDef, MemberRef,
 * MethodSpec, StandAloneSig) and type and member names for listings.
 * Internal to the tools and the profiler, like pe.h; same rules: nothing
 * read outside the file, nothing allocated, read-only once opened. */
#ifndef MM_PE_META_H
#define MM_PE_META_H

#include "pe.h"

#define MM_META_TABLES 0x2D /* Module .. GenericParamConstraint */

typedef struct mm_meta {
    const mm_pe *pe;
    uint64_t table[MM_META_TABLES]; /* file offset of row 1 */
    uint32_t row[MM_META_TABLES];   /* bytes per row */
    uint8_t str, blob;              /* heap index sizes */
    uint8_t coded[16];              /* coded index sizes, by kind */
    uint8_t simple[MM_META_TABLES]; /* simple index sizes, by target table */
} mm_meta;

/* Lays out every table of pe's tables stream.  S_OK, or MM_E_PE_FORMAT when
 * the tables run past the stream. */
HRESULT mm_meta_open(mm_meta *md, const mm_pe *pe, mm_il_error *err);

/* The signature blob of a method token: MethodDef, MemberRef, MethodSpec
 * (the signature of the method it instantiates) or StandAloneSig.
 * S_OK; E_INVALIDARG for another table or a row out of range;
 * MM_E_PE_FORMAT for a blob outside the heap.  Fits mm_il_sig_resolver. */
HRESULT mm_meta_sig(const mm_meta *md, uint32_t token, const uint8_t **sig, size_t *len);

/* Writes a readable name for a token into buf (always NUL-terminated,
 * truncated to cap): "Ns.Type" (nested "Ns.Outer/Inner") for TypeDef and
 * TypeRef, "Ns.Type::Name" for MethodDef, MemberRef and Field,
 * "[TypeSpec]" and the like for what has no name.  Returns buf. */
char *mm_meta_name(const mm_meta *md, uint32_t token, char *buf, size_t cap);

#endif
