/* What the IL body reader and the PE reader share: little-endian field
 * reads (the caller has checked the bytes are there) and filling an
 * mm_il_error.  Internal. */
#ifndef MM_IL_BYTES_H
#define MM_IL_BYTES_H

#include "methodmalloc_il.h"

static inline uint16_t mm_rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t mm_rd24(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16; }
static inline uint32_t mm_rd32(const uint8_t *p) { return (uint32_t)mm_rd16(p) | (uint32_t)mm_rd16(p + 2) << 16; }
static inline uint64_t mm_rd64(const uint8_t *p) { return (uint64_t)mm_rd32(p) | (uint64_t)mm_rd32(p + 4) << 32; }

#if defined(__MINGW32__)
/* Built with __USE_MINGW_ANSI_STDIO, whose printf knows %zu. */
#define MM_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#elif defined(__GNUC__)
#define MM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MM_PRINTF(f, a)
#endif

/* Fills *err (if not NULL) with code, offset (saturated to 32 bits) and the
 * formatted message, and returns code. */
HRESULT mm_il_fail(mm_il_error *err, HRESULT code, uint64_t offset, const char *fmt, ...) MM_PRINTF(4, 5);

#endif /* MM_IL_BYTES_H */
