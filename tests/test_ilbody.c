/* IL method bodies: the tiny/fat and small/fat boundaries, bodies written
 * byte by byte as ECMA-335 lays them out, and every malformed case we know.
 * With --seeds DIR it writes its bodies there for the fuzzer instead. */
#include "check.h"
#include "seed.h"
#include "methodmalloc_il.h"

#include <stdint.h>
#include <string.h>

static uint8_t code[0x20000];

static mm_il_body body(uint32_t code_size)
{
    mm_il_body b;
    memset(&b, 0, sizeof b);
    b.code = code;
    b.code_size = code_size;
    b.max_stack = 8;
    return b;
}

static mm_il_clause clause(uint32_t kind, uint32_t to, uint32_t tl, uint32_t ho, uint32_t hl, uint32_t tok)
{
    mm_il_clause c = {kind, to, tl, ho, hl, tok};
    return c;
}

/* Encodes b into an exactly sized heap buffer (so ASan sees any overrun). */
static uint8_t *encode(const mm_il_body *b, size_t *size)
{
    mm_il_error err;
    uint8_t *p;
    HRESULT hr = mm_il_size(b, size, &err);
    REQUIRE(hr == S_OK);
    p = malloc(*size);
    REQUIRE(p != NULL);
    hr = mm_il_encode(b, p, *size, NULL, &err);
    CHECKF(hr == S_OK, "%s", err.message);
    return p;
}

/* Copies bytes into an exactly sized heap buffer. */
static uint8_t *copy(const void *bytes, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    REQUIRE(p != NULL);
    memcpy(p, bytes, n);
    return p;
}

static HRESULT validate_bytes(const uint8_t *bytes, size_t n, mm_il_error *err)
{
    uint8_t *p = copy(bytes, n);
    HRESULT hr = mm_il_validate(p, n, err);
    free(p);
    return hr;
}

static HRESULT decode_bytes(const uint8_t *bytes, size_t n, mm_il_body *b, mm_il_error *err)
{
    static mm_il_clause cl[64];
    uint8_t *p = copy(bytes, n);
    HRESULT hr = mm_il_decode(p, n, b, cl, 64, err);
    b->code = NULL; /* p is gone */
    free(p);
    return hr;
}

/* Encodes, decodes, and checks what came back is what went in, and that
 * validate and extent agree with the encoder. */
static void roundtrip(const mm_il_body *b, mm_il_header expect_header, size_t expect_size)
{
    mm_il_clause cl[32];
    mm_il_body d;
    mm_il_error err;
    size_t size, ext;
    uint8_t *p = encode(b, &size);
    CHECKF(size == expect_size, "size %zu, expected %zu", size, expect_size);
    CHECKF(mm_il_decode(p, size, &d, cl, 32, &err) == S_OK, "%s", err.message);
    CHECK(d.header == expect_header);
    CHECK(d.code_size == b->code_size && !memcmp(d.code, b->code, b->code_size));
    CHECK(d.code_offset == (expect_header == MM_IL_HEADER_TINY ? 1u : 12u));
    CHECK(d.max_stack == (expect_header == MM_IL_HEADER_TINY ? 8 : b->max_stack));
    CHECK(d.local_var_sig_tok == b->local_var_sig_tok);
    CHECK(d.clause_count == b->clause_count);
    CHECK(d.clause_count == 0 || !memcmp(d.clauses, b->clauses, d.clause_count * sizeof *cl));
    CHECK(d.size == size);
    CHECKF(mm_il_validate(p, size, &err) == S_OK, "%s", err.message);
    CHECK(mm_il_extent(p, size, &ext, &err) == S_OK && ext == size);
    /* The headers alone bound what is read: an unbounded length must not
     * read past the exact-size buffer (ASan watches). */
    CHECK(mm_il_extent(p, MM_IL_UNBOUNDED, &ext, &err) == S_OK && ext == size);
    CHECK(mm_il_validate(p, MM_IL_UNBOUNDED, &err) == S_OK);
    /* Every proper prefix is truncated, never read past (of a large body,
     * those that cut the header or the tables). */
    for (size_t k = 0; k < size; k = (k == 64 && size > 1024) ? size - 64 : k + 1) {
        uint8_t *q = copy(p, k);
        HRESULT hr = mm_il_validate(q, k, &err);
        CHECKF(hr == MM_E_IL_TRUNCATED, "prefix %zu of %zu: 0x%x %s", k, size, (unsigned)hr, err.message);
        free(q);
    }
    free(p);
}

static void test_tiny_fat_boundaries(void)
{
    mm_il_body b = body(63);
    size_t size;
    mm_il_error err;
    uint8_t *p;

    roundtrip(&b, MM_IL_HEADER_TINY, 64);
    p = encode(&b, &size);
    CHECK(p[0] == (63 << 2 | 2));
    free(p);
    b = body(64);
    roundtrip(&b, MM_IL_HEADER_FAT, 76);
    b = body(1);
    roundtrip(&b, MM_IL_HEADER_TINY, 2);
    b.max_stack = 9;
    roundtrip(&b, MM_IL_HEADER_FAT, 13);
    b.max_stack = 0; /* below 8 still fits tiny, which means 8 */
    roundtrip(&b, MM_IL_HEADER_TINY, 2);
    b = body(10);
    b.local_var_sig_tok = 0x11000001;
    roundtrip(&b, MM_IL_HEADER_FAT, 22);
    b = body(10);
    b.flags = MM_IL_INIT_LOCALS;
    roundtrip(&b, MM_IL_HEADER_FAT, 22);
    b = body(10);
    b.flags = MM_IL_FAT_FORMAT | MM_IL_MORE_SECTS; /* computed bits alone do not force fat */
    roundtrip(&b, MM_IL_HEADER_TINY, 11);

    /* As asked: fat where tiny would do, as some compilers emit. */
    b = body(5);
    b.header = MM_IL_HEADER_FAT;
    b.max_stack = 2;
    roundtrip(&b, MM_IL_HEADER_FAT, 17);
    p = encode(&b, &size);
    CHECK(p[0] == 0x03 && p[1] == 0x30 && p[2] == 2 && p[3] == 0 && p[4] == 5);
    free(p);

    /* Tiny asked but impossible. */
    b = body(64);
    b.header = MM_IL_HEADER_TINY;
    CHECK(mm_il_size(&b, &size, &err) == MM_E_IL_CANNOT && size == 0 && err.code == MM_E_IL_CANNOT);
    b = body(3);
    b.header = MM_IL_HEADER_TINY;
    b.max_stack = 9;
    CHECK(mm_il_size(&b, &size, &err) == MM_E_IL_CANNOT);
    b.max_stack = 8;
    b.local_var_sig_tok = 0x11000002;
    CHECK(mm_il_size(&b, &size, &err) == MM_E_IL_CANNOT);
    b.header = (mm_il_header)7;
    CHECK(mm_il_size(&b, &size, &err) == E_INVALIDARG);
}

/* A fat body with one small catch clause, laid out by hand. */
static void test_small_eh_bytes(void)
{
    static const uint8_t want[] = {
        0x1B, 0x30, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x11, /* fat: flags 0x01B, 3 dwords */
        0x00, 0x00, 0xDE, 0x01, 0x26, 0x2A,                                     /* code */
        0x00, 0x00,                                                             /* pad to 4 */
        0x01, 0x10, 0x00, 0x00,                                                 /* small EH, DataSize 16 */
        0x00, 0x00, 0x00, 0x00, 0x04, 0x04, 0x00, 0x01, 0x05, 0x00, 0x00, 0x01, /* catch [0,4) [4,5) */
    };
    mm_il_clause c = clause(MM_IL_CLAUSE_CATCH, 0, 4, 4, 1, 0x01000005);
    mm_il_body b = body(6);
    size_t size;
    uint8_t *p;

    memcpy(code, want + 12, 6);
    b.max_stack = 2;
    b.flags = MM_IL_INIT_LOCALS;
    b.local_var_sig_tok = 0x11000001;
    b.clauses = &c;
    b.clause_count = 1;
    p = encode(&b, &size);
    CHECK(size == sizeof want && !memcmp(p, want, size));
    free(p);
    roundtrip(&b, MM_IL_HEADER_FAT, sizeof want);
    memset(code, 0, sizeof code);
}

static void test_eh_forms(void)
{
    mm_il_clause cl[32];
    mm_il_body b = body(0x100), d;
    mm_il_error err;
    size_t size, i;
    uint8_t *p;

    for (i = 0; i < 32; i++)
        cl[i] = clause(MM_IL_CLAUSE_FINALLY, (uint32_t)i, 1, 0x80 + (uint32_t)i, 1, 0);
    b.clauses = cl;

    /* 20 small clauses fill a small table (DataSize 244); 21 do not. */
    b.clause_count = 20;
    roundtrip(&b, MM_IL_HEADER_FAT, 12 + 0x100 + 4 + 20 * 12);
    p = encode(&b, &size);
    CHECK(p[12 + 0x100] == MM_IL_SECT_EHTABLE && p[12 + 0x100 + 1] == 244);
    CHECK(mm_il_decode(p, size, &d, cl + 20, 0, &err) == MM_E_IL_SMALL_BUFFER && d.clause_count == 20 &&
          d.eh_format == MM_IL_EH_SMALL && d.eh_sections == 1 && d.clauses == NULL);
    free(p);
    b.clause_count = 21;
    roundtrip(&b, MM_IL_HEADER_FAT, 12 + 0x100 + 4 + 21 * 24);
    p = encode(&b, &size);
    CHECK(p[12 + 0x100] == (MM_IL_SECT_EHTABLE | MM_IL_SECT_FAT_FORMAT));
    CHECK(p[12 + 0x100 + 1] == ((4 + 21 * 24) & 0xFF) && p[12 + 0x100 + 2] == (4 + 21 * 24) >> 8);
    free(p);
    b.eh_format = MM_IL_EH_SMALL;
    CHECK(mm_il_size(&b, &size, &err) == MM_E_IL_CANNOT);

    /* One wide field makes the table fat. */
    b.eh_format = MM_IL_EH_AUTO;
    b.clause_count = 1;
    roundtrip(&b, MM_IL_HEADER_FAT, 12 + 0x100 + 4 + 12);
    cl[0].try_length = 0x100 - 0x80; /* try [0, 0x80) and handler [0x80, 0x81) */
    cl[0].try_length = 0x7F;
    roundtrip(&b, MM_IL_HEADER_FAT, 12 + 0x100 + 4 + 12);
    b = body(0x10100);
    b.clauses = cl;
    b.clause_count = 1;
    cl[0] = clause(MM_IL_CLAUSE_FAULT, 0, 0x100, 0x100, 0x10, 0); /* try length 0x100 > 0xFF */
    roundtrip(&b, MM_IL_HEADER_FAT, 12 + 0x10100 + 4 + 24);
    cl[0] = clause(MM_IL_CLAUSE_FAULT, 0x10000, 0x10, 0x10010, 0x10, 0); /* offset > 0xFFFF */
    roundtrip(&b, MM_IL_HEADER_FAT, 12 + 0x10100 + 4 + 24);
    b = body(8);
    b.clauses = cl;
    b.clause_count = 1;
    cl[0] = clause(MM_IL_CLAUSE_FILTER, 0, 2, 4, 4, 2);
    b.eh_format = MM_IL_EH_FAT;
    roundtrip(&b, MM_IL_HEADER_FAT, 12 + 8 + 4 + 24);
    /* Code size not a multiple of 4: the table is padded to the boundary. */
    b = body(7);
    b.clauses = cl;
    b.clause_count = 1;
    cl[0] = clause(MM_IL_CLAUSE_CATCH, 0, 2, 2, 5, 0x1B000001);
    roundtrip(&b, MM_IL_HEADER_FAT, 20 + 4 + 12);
}

/* Two chained tables (small then fat) and the DataSize quirk, by hand. */
static void test_sections_by_hand(void)
{
    uint8_t two[] = {
        0x0B, 0x30, 0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* fat, MoreSects */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2A,                         /* code */
        0x81, 0x10, 0x00, 0x00,                                                 /* small EH, more */
        0x02, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, /* finally */
        0x41, 0x1C, 0x00, 0x00,                                                 /* fat EH, last */
        0x04, 0, 0, 0, 0x04, 0, 0, 0, 0x01, 0, 0, 0, 0x05, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, /* fault */
    };
    mm_il_body d;
    mm_il_error err;
    size_t ext;

    CHECKF(decode_bytes(two, sizeof two, &d, &err) == S_OK, "%s", err.message);
    CHECK(d.eh_sections == 2 && d.clause_count == 2 && d.eh_format == MM_IL_EH_SMALL && d.size == sizeof two);
    CHECK(d.clauses[0].kind == MM_IL_CLAUSE_FINALLY && d.clauses[1].kind == MM_IL_CLAUSE_FAULT &&
          d.clauses[1].handler_offset == 5);
    CHECKF(validate_bytes(two, sizeof two, &err) == S_OK, "%s", err.message);
    CHECK(mm_il_extent(two, sizeof two + 0, &ext, &err) == S_OK && ext == sizeof two);

    /* The chain does not end: MoreSects on the last table. */
    two[36] |= MM_IL_SECT_MORE_SECTS;
    CHECK(validate_bytes(two, sizeof two, &err) == MM_E_IL_TRUNCATED && err.offset == sizeof two);
    two[36] &= (uint8_t)~MM_IL_SECT_MORE_SECTS;

    /* The quirk: DataSize without the header (12, not 16), on the last table. */
    {
        uint8_t q[] = {
            0x0B, 0x30, 0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2A,
            0x01, 0x0C, 0x00, 0x00,
            0x02, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
        };
        CHECKF(validate_bytes(q, sizeof q, &err) == S_OK, "%s", err.message);
        CHECK(decode_bytes(q, sizeof q, &d, &err) == S_OK && d.clause_count == 1 && d.size == sizeof q);
        q[20] |= MM_IL_SECT_MORE_SECTS; /* then the next table cannot be found */
        CHECK(validate_bytes(q, sizeof q, &err) == MM_E_IL_SECTION && err.offset == 21);
        CHECK(decode_bytes(q, sizeof q, &d, &err) == MM_E_IL_SECTION && err.offset == 21);
        CHECK(mm_il_extent(q, sizeof q, &ext, &err) == MM_E_IL_SECTION && err.offset == 21);
    }
}

/* Each case: bytes, expected code from validate, expected offset. */
struct bad {
    const char *what;
    uint8_t bytes[64];
    size_t len;
    HRESULT code;
    uint32_t offset;
};

#define FAT(flags, stack, size, tok)                                                                  \
    (uint8_t)(flags), (uint8_t)(0x30 | (flags) >> 8), (stack), 0, (size), 0, 0, 0, (uint8_t)(tok), 0, \
        0, (uint8_t)((tok) >> 24)

static void test_malformed(void)
{
    static const struct bad cases[] = {
        {"empty", {0}, 0, MM_E_IL_TRUNCATED, 0},
        {"format 00", {0x00}, 1, MM_E_IL_HEADER, 0},
        {"format 01", {0x05, 0x2A}, 2, MM_E_IL_HEADER, 0},
        {"tiny code past end", {0x0A, 0x2A}, 2, MM_E_IL_TRUNCATED, 1},
        {"tiny empty code", {0x02}, 1, MM_E_IL_HEADER, 1},
        {"fat header short", {0x03, 0x30, 0x08, 0x00, 0x01}, 5, MM_E_IL_TRUNCATED, 0},
        {"fat size 2 dwords", {0x03, 0x20, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x2A}, 13, MM_E_IL_HEADER, 1},
        {"fat size 4 dwords", {0x03, 0x40, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x2A}, 13, MM_E_IL_HEADER, 1},
        {"fat code past end", {FAT(0x03, 8, 2, 0), 0x2A}, 13, MM_E_IL_TRUNCATED, 12},
        {"fat empty code", {FAT(0x03, 8, 0, 0)}, 12, MM_E_IL_HEADER, 12},
        {"unknown flag 0x4", {FAT(0x07, 8, 1, 0), 0x2A}, 13, MM_E_IL_HEADER, 0},
        {"unknown flag 0x800", {FAT(0x803, 8, 1, 0), 0x2A}, 13, MM_E_IL_HEADER, 0},
        {"locals not StandAloneSig", {FAT(0x13, 8, 1, 0x02000001), 0x2A}, 13, MM_E_IL_HEADER, 8},
        {"locals row 0", {FAT(0x13, 8, 1, 0x11000000), 0x2A}, 13, MM_E_IL_HEADER, 8},
        {"MoreSects, nothing after", {FAT(0x0B, 8, 1, 0), 0x2A}, 13, MM_E_IL_TRUNCATED, 16},
        {"MoreSects, half a header", {FAT(0x0B, 8, 1, 0), 0x2A, 0, 0, 0, 0x01, 0x10}, 18, MM_E_IL_TRUNCATED, 16},
        {"OptILTable section", {FAT(0x0B, 8, 1, 0), 0x2A, 0, 0, 0, 0x02, 0x04, 0, 0}, 20, MM_E_IL_SECTION, 16},
        {"EH and OptIL bits", {FAT(0x0B, 8, 1, 0), 0x2A, 0, 0, 0, 0x03, 0x04, 0, 0}, 20, MM_E_IL_SECTION, 16},
        {"section of no kind", {FAT(0x0B, 8, 1, 0), 0x2A, 0, 0, 0, 0x00, 0x04, 0, 0}, 20, MM_E_IL_SECTION, 16},
        {"unknown section bit", {FAT(0x0B, 8, 1, 0), 0x2A, 0, 0, 0, 0x21, 0x04, 0, 0}, 20, MM_E_IL_SECTION, 16},
        {"DataSize 0", {FAT(0x0B, 8, 1, 0), 0x2A, 0, 0, 0, 0x01, 0x00, 0, 0}, 20, MM_E_IL_SECTION, 17},
        {"DataSize 3", {FAT(0x0B, 8, 1, 0), 0x2A, 0, 0, 0, 0x01, 0x03, 0, 0}, 20, MM_E_IL_SECTION, 17},
        {"DataSize 17", {FAT(0x0B, 8, 1, 0), 0x2A, 0, 0, 0, 0x01, 0x11, 0, 0}, 20, MM_E_IL_SECTION, 17},
        {"fat DataSize 27", {FAT(0x0B, 8, 1, 0), 0x2A, 0, 0, 0, 0x41, 0x1B, 0, 0}, 20, MM_E_IL_SECTION, 17},
        {"clauses past end", {FAT(0x0B, 8, 1, 0), 0x2A, 0, 0, 0, 0x01, 0x10, 0, 0, 2, 0, 0, 0}, 24, MM_E_IL_TRUNCATED, 16},
        {"fat DataSize 2^24-1 past end", {FAT(0x0B, 8, 1, 0), 0x2A, 0, 0, 0, 0x41, 0xFF, 0xFF, 0xFF}, 20, MM_E_IL_SECTION, 17},
        {"fat DataSize 0xFFFFF4 past end", {FAT(0x0B, 8, 1, 0), 0x2A, 0, 0, 0, 0x41, 0xF4, 0xFF, 0xFF}, 20, MM_E_IL_TRUNCATED, 16},
#define SMALL(k, to, tl, ho, hl, tok) \
    FAT(0x0B, 8, 8, 0), 0, 0, 0, 0, 0, 0, 0, 0x2A, 0x01, 0x10, 0, 0, k, 0, to, 0, tl, ho, 0, hl, (uint8_t)(tok), 0, 0, (uint8_t)((tok) >> 24)
        {"unknown clause kind 3", {SMALL(3, 0, 2, 2, 2, 0)}, 36, MM_E_IL_CLAUSE, 24},
        {"unknown clause kind 8", {SMALL(8, 0, 2, 2, 2, 0)}, 36, MM_E_IL_CLAUSE, 24},
        {"empty try", {SMALL(2, 0, 0, 2, 2, 0)}, 36, MM_E_IL_CLAUSE, 24},
        {"empty handler", {SMALL(2, 0, 2, 2, 0, 0)}, 36, MM_E_IL_CLAUSE, 24},
        {"try past code", {SMALL(2, 4, 5, 0, 2, 0)}, 36, MM_E_IL_CLAUSE, 24},
        {"handler past code", {SMALL(2, 0, 2, 7, 2, 0)}, 36, MM_E_IL_CLAUSE, 24},
        {"handler at code end", {SMALL(2, 0, 2, 8, 1, 0)}, 36, MM_E_IL_CLAUSE, 24},
        {"try and handler overlap", {SMALL(2, 0, 4, 3, 2, 0)}, 36, MM_E_IL_CLAUSE, 24},
        {"handler inside try", {SMALL(4, 0, 6, 2, 2, 0)}, 36, MM_E_IL_CLAUSE, 24},
        {"filter after handler", {SMALL(1, 0, 2, 4, 2, 5)}, 36, MM_E_IL_CLAUSE, 24},
        {"filter at handler", {SMALL(1, 0, 2, 4, 2, 4)}, 36, MM_E_IL_CLAUSE, 24},
        {"catch token 0", {SMALL(0, 0, 2, 2, 2, 0)}, 36, MM_E_IL_CLAUSE, 24},
        {"catch token MethodDef", {SMALL(0, 0, 2, 2, 2, 0x06000001)}, 36, MM_E_IL_CLAUSE, 24},
        {"catch token row 0", {SMALL(0, 0, 2, 2, 2, 0x01000000)}, 36, MM_E_IL_CLAUSE, 24},
    };
    static const struct bad good[] = {
        {"finally", {SMALL(2, 0, 2, 2, 2, 0)}, 36, S_OK, 0},
        {"fault, junk token", {SMALL(4, 0, 2, 2, 2, 0x7F000000)}, 36, S_OK, 0},
        {"filter", {SMALL(1, 0, 2, 4, 4, 2)}, 36, S_OK, 0},
        {"catch TypeSpec", {SMALL(0, 4, 4, 0, 4, 0x1B000001)}, 36, S_OK, 0},
        {"empty EH table", {FAT(0x0B, 8, 1, 0), 0x2A, 0, 0, 0, 0x01, 0x04, 0, 0}, 20, S_OK, 0},
        {"fat with InitLocals, no locals", {FAT(0x13, 0, 1, 0), 0x2A}, 13, S_OK, 0},
        {"tiny with trailing bytes", {0x06, 0x2A, 0xFF, 0xFF}, 4, S_OK, 0},
    };
#undef SMALL
    mm_il_error err;
    size_t i, ext;

    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct bad *c = &cases[i];
        HRESULT hr = validate_bytes(c->bytes, c->len, &err);
        CHECKF(hr == c->code && err.code == hr && err.offset == c->offset && err.message[0],
               "%s: 0x%x at %u (%s), expected 0x%x at %u", c->what, (unsigned)hr, err.offset, err.message,
               (unsigned)c->code, c->offset);
    }
    for (i = 0; i < sizeof good / sizeof *good; i++) {
        HRESULT hr = validate_bytes(good[i].bytes, good[i].len, &err);
        CHECKF(hr == S_OK && err.code == S_OK && err.message[0] == 0, "%s: %s", good[i].what, err.message);
    }
    /* Extent reads structure only: it accepts what only validate rejects. */
    CHECK(mm_il_extent(cases[10].bytes, cases[10].len, &ext, &err) == S_OK && ext == 13);
    CHECK(mm_il_extent(cases[0].bytes, 0, &ext, &err) == MM_E_IL_TRUNCATED && ext == 0);

    /* A header that claims 4 GiB of code, with no bound: refused without
     * reading the code. */
    {
        uint8_t *huge = copy((const uint8_t[]){0x03, 0x30, 8, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0}, 12);
        CHECK(mm_il_extent(huge, MM_IL_UNBOUNDED, &ext, &err) == MM_E_IL_HEADER && err.offset == 4);
        free(huge);
    }
}

static void test_arguments(void)
{
    mm_il_body b = body(4), d;
    mm_il_clause c = clause(MM_IL_CLAUSE_FINALLY, 0, 1, 1, 1, 0);
    mm_il_error err;
    uint8_t buf[64];
    size_t size = 99;
    void *block = (void *)1;

    CHECK(mm_il_size(NULL, &size, &err) == E_POINTER);
    CHECK(mm_il_size(&b, NULL, &err) == E_POINTER);
    CHECK(mm_il_encode(&b, NULL, 64, &size, &err) == E_POINTER && size == 0);
    CHECK(mm_il_encode(&b, buf, 4, &size, &err) == MM_E_IL_SMALL_BUFFER && size == 0);
    CHECK(mm_il_encode(&b, buf, 5, &size, NULL) == S_OK && size == 5);
    CHECK(mm_il_decode(NULL, 1, &d, NULL, 0, &err) == E_POINTER);
    CHECK(mm_il_decode(buf, 5, NULL, NULL, 0, &err) == E_POINTER);
    CHECK(mm_il_decode(buf, 5, &d, NULL, 1, &err) == E_POINTER);
    CHECK(mm_il_validate(NULL, 1, &err) == E_POINTER);
    CHECK(mm_il_validate(NULL, 0, &err) == MM_E_IL_TRUNCATED);
    CHECK(mm_il_extent(buf, 5, NULL, &err) == E_POINTER);
    CHECK(mm_il_encode_alloc(NULL, &b, &block, &size, &err) == E_POINTER && block == NULL);
    CHECK(mm_il_encode_alloc(NULL, &b, NULL, &size, &err) == E_POINTER);
    CHECK(!strcmp(mm_il_clause_kind_name(MM_IL_CLAUSE_FILTER), "filter") &&
          !strcmp(mm_il_clause_kind_name(MM_IL_CLAUSE_FAULT), "fault") && !strcmp(mm_il_clause_kind_name(3), "unknown"));
    b.code = NULL;
    CHECK(mm_il_size(&b, &size, &err) == E_POINTER);
    b = body(4);
    b.clause_count = 1;
    CHECK(mm_il_size(&b, &size, &err) == E_POINTER);
    b.clauses = &c;
    b.eh_format = (mm_il_eh_format)9;
    CHECK(mm_il_size(&b, &size, &err) == E_INVALIDARG);
    /* The encoder refuses what validate would reject. */
    b = body(0);
    CHECK(mm_il_size(&b, &size, &err) == MM_E_IL_HEADER);
    b = body(4);
    b.local_var_sig_tok = 0x01000001;
    CHECK(mm_il_size(&b, &size, &err) == MM_E_IL_HEADER);
    b = body(4);
    b.flags = 0x20;
    CHECK(mm_il_size(&b, &size, &err) == MM_E_IL_HEADER && err.offset == 0);
    b.flags = 0x3013; /* as a raw header word: the size nibble is not a flag */
    CHECK(mm_il_size(&b, &size, &err) == MM_E_IL_HEADER);
    b = body(4);
    b.clauses = &c;
    b.clause_count = 1;
    c.handler_offset = 4;
    CHECK(mm_il_size(&b, &size, &err) == MM_E_IL_CLAUSE && err.offset == 12 + 4 + 4);
}

/* ---- encode_alloc, on a test allocator and on the library's own ---- */

struct test_malloc {
    IMethodMalloc iface;
    int allocs;
    int fail;
    void *last;
};

static HRESULT STDMETHODCALLTYPE tm_qi(IMethodMalloc *This, REFIID riid, void **ppv)
{
    (void)This, (void)riid;
    *ppv = NULL;
    return E_NOINTERFACE;
}
static ULONG STDMETHODCALLTYPE tm_ref(IMethodMalloc *This)
{
    (void)This;
    return 1;
}
static PVOID STDMETHODCALLTYPE tm_alloc(IMethodMalloc *This, ULONG cb)
{
    struct test_malloc *t = (struct test_malloc *)This;
    t->allocs++;
    return t->fail ? NULL : (t->last = malloc(cb));
}
static const IMethodMallocVtbl tm_vtbl = {tm_qi, tm_ref, tm_ref, tm_alloc};

static void test_encode_alloc(void)
{
    struct test_malloc t = {{&tm_vtbl}, 0, 0, NULL};
    mm_il_clause c = clause(MM_IL_CLAUSE_FINALLY, 0, 1, 1, 1, 0);
    mm_il_body b = body(3);
    mm_il_error err;
    mm_module *m;
    IMethodMalloc *alloc;
    size_t size;
    void *block;

    b.clauses = &c;
    b.clause_count = 1;
    CHECK(mm_il_encode_alloc(&t.iface, &b, &block, &size, &err) == S_OK && t.allocs == 1 && block == t.last);
    CHECK(size == 12 + 4 + 4 + 12 && mm_il_validate(block, size, &err) == S_OK);
    free(block);
    t.fail = 1;
    CHECK(mm_il_encode_alloc(&t.iface, &b, &block, &size, &err) == E_OUTOFMEMORY && block == NULL && size == 0);
    /* An impossible description allocates nothing. */
    b.header = MM_IL_HEADER_TINY;
    CHECK(mm_il_encode_alloc(&t.iface, &b, &block, &size, &err) == MM_E_IL_CANNOT && t.allocs == 2);

    REQUIRE(mm_module_open(NULL, NULL, &m) == S_OK);
    REQUIRE(mm_module_allocator(m, &alloc) == S_OK);
    b.header = MM_IL_HEADER_AUTO;
    CHECK(mm_il_encode_alloc(alloc, &b, &block, &size, &err) == S_OK && block && (uintptr_t)block % 4 == 0);
    CHECK(block && mm_il_validate(block, size, &err) == S_OK);
    alloc->lpVtbl->Release(alloc);
    mm_module_close(m);
}

/* Writes the bodies these tests build as fuzz seeds. */
static int write_seeds(const char *dir)
{
    mm_il_clause cl[3] = {clause(MM_IL_CLAUSE_CATCH, 0, 2, 2, 2, 0x01000001), clause(MM_IL_CLAUSE_FILTER, 0, 2, 6, 2, 4),
                          clause(MM_IL_CLAUSE_FINALLY, 0, 8, 8, 1, 0)};
    mm_il_body bodies[5];
    int i;
    for (i = 0; i < 5; i++)
        bodies[i] = body(9);
    bodies[1].code_size = 70;
    bodies[2].clauses = cl, bodies[2].clause_count = 3;
    bodies[3].clauses = cl, bodies[3].clause_count = 3, bodies[3].eh_format = MM_IL_EH_FAT;
    bodies[4].header = MM_IL_HEADER_FAT, bodies[4].flags = MM_IL_INIT_LOCALS, bodies[4].local_var_sig_tok = 0x11000003;
    for (i = 0; i < 5; i++) {
        size_t size;
        uint8_t *p = encode(&bodies[i], &size);
        write_seed(dir, "body", (size_t)i, p, size);
        free(p);
    }
    return check_done();
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--seeds"))
        return write_seeds(argv[2]);
    test_tiny_fat_boundaries();
    test_small_eh_bytes();
    test_eh_forms();
    test_sections_by_hand();
    test_malformed();
    test_arguments();
    test_encode_alloc();
    return check_done();
}
