/* What the IL code shares inside the library (and with the PE reader):
 * the body format's constants, little-endian reads and writes (the caller
 * has checked the bytes are there), the one error filler, and the checks the
 * reader and the writer both apply.  Internal. */
#ifndef MM_IL_IL_H
#define MM_IL_IL_H

#include "common.h"
#include "methodmalloc_il.h"

/* Exception sections (ECMA-335 II.25.4.5-6). */
#define MM_IL_SMALL_CLAUSE 12u
#define MM_IL_FAT_CLAUSE 24u
#define MM_IL_SECT_HEADER 4u
#define MM_IL_SMALL_MAX_DATA 0xFFu
#define MM_IL_FAT_MAX_DATA 0xFFFFFFu
#define MM_IL_KNOWN_FLAGS (MM_IL_FORMAT_MASK | MM_IL_MORE_SECTS | MM_IL_INIT_LOCALS)
#define MM_IL_KNOWN_SECT (MM_IL_SECT_EHTABLE | MM_IL_SECT_FAT_FORMAT | MM_IL_SECT_MORE_SECTS)

static inline uint16_t mm_rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t mm_rd24(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16; }
static inline uint32_t mm_rd32(const uint8_t *p) { return (uint32_t)mm_rd16(p) | (uint32_t)mm_rd16(p + 2) << 16; }
static inline uint64_t mm_rd64(const uint8_t *p) { return (uint64_t)mm_rd32(p) | (uint64_t)mm_rd32(p + 4) << 32; }

static inline void mm_wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void mm_wr32(uint8_t *p, uint32_t v)
{
    mm_wr16(p, v);
    mm_wr16(p + 2, v >> 16);
}

/* Sections start on 4-byte boundaries. */
static inline uint64_t mm_il_align4(uint64_t n) { return (n + 3) & ~(uint64_t)3; }

/* Fills *err (if not NULL) with code, offset (saturated to 32 bits) and the
 * formatted message, and returns code. */
HRESULT mm_il_fail(mm_il_error *err, HRESULT code, uint64_t offset, const char *fmt, ...) MM_PRINTF(4, 5);

/* Fills *err (if not NULL) with success. */
void mm_il_ok(mm_il_error *err);

/* What the runtime relies on in one clause (clause i of a body with
 * code_size bytes of code; off is where the clause is, for the error). */
HRESULT mm_il_check_clause(const mm_il_clause *c, uint32_t i, uint32_t code_size, uint64_t off, mm_il_error *err);

/* A fat header's locals token: 0 or a StandAloneSig token (off names the
 * field for the error). */
HRESULT mm_il_check_locals(uint32_t token, uint64_t off, mm_il_error *err);

#endif /* MM_IL_IL_H */
