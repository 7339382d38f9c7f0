/* The IL rewriter: decode/emit identity, every kind of bad code named by
 * its offset, the edits and what they do to branches and clauses, branch
 * widening, header and clause order choices, the stack check on each of
 * its rules, signatures and the locals helper.  Bodies live in exactly
 * sized heap buffers so that ASan sees any read past them.
 * With --seeds DIR it writes its bodies there for the fuzzer instead. */
#include "check.h"
#include "seed.h"
#include "methodmalloc_ilrw.h"

#include <stdint.h>
#include <string.h>

/* A body around code: tiny when it fits (max stack 8, no clauses), else
 * fat; into an exactly sized heap buffer. */
static uint8_t *make(const uint8_t *code, uint32_t n, const mm_il_clause *cl, uint32_t ncl, uint16_t max_stack,
                     size_t *size)
{
    mm_il_body b;
    mm_il_error err;
    uint8_t *p;
    memset(&b, 0, sizeof b);
    b.code = code;
    b.code_size = n;
    b.clauses = cl;
    b.clause_count = ncl;
    b.max_stack = max_stack;
    REQUIRE(mm_il_size(&b, size, &err) == S_OK);
    p = malloc(*size);
    REQUIRE(p != NULL);
    REQUIRE(mm_il_encode(&b, p, *size, NULL, &err) == S_OK);
    return p;
}

static uint8_t *copy(const uint8_t *bytes, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    REQUIRE(p != NULL);
    memcpy(p, bytes, n);
    return p;
}

static mm_il_method *method(void)
{
    mm_il_method *m;
    REQUIRE(mm_il_method_create(&m) == S_OK);
    return m;
}

/* Reads code (wrapped in a body) into m. */
static HRESULT read_code(mm_il_method *m, const uint8_t *code, uint32_t n, const mm_il_clause *cl, uint32_t ncl,
                         mm_il_error *err)
{
    size_t size;
    uint8_t *p = make(code, n, cl, ncl, 8, &size);
    HRESULT hr = mm_il_method_read(m, p, size, err);
    free(p);
    return hr;
}

/* Emits m into a heap buffer of the exact size; *size gets it. */
static uint8_t *emit(mm_il_method *m, size_t *size)
{
    mm_il_error err;
    size_t written;
    uint8_t *p;
    HRESULT hr = mm_il_method_size(m, size, &err);
    CHECKF(hr == S_OK, "size: %s", err.message);
    if (FAILED(hr))
        return NULL;
    p = malloc(*size);
    REQUIRE(p != NULL);
    hr = mm_il_method_emit(m, p, *size, &written, &err);
    CHECKF(hr == S_OK && written == *size, "emit: %s", err.message);
    CHECKF(mm_il_validate(p, *size, &err) == S_OK, "emitted body does not validate: %s", err.message);
    return p;
}

static mm_il_instr *nth(const mm_il_method *m, uint32_t k)
{
    mm_il_instr *i = mm_il_first(m);
    while (i && k--)
        i = i->next;
    REQUIRE(i != NULL);
    return i;
}

/* The code of an emitted body (tiny or fat) and its size. */
static const uint8_t *code_of(const uint8_t *body, size_t size, uint32_t *n)
{
    mm_il_body b;
    mm_il_error err;
    static mm_il_clause cl[16];
    REQUIRE(mm_il_decode(body, size, &b, cl, 16, &err) == S_OK);
    *n = b.code_size;
    return b.code;
}

/* ---- Opcodes ---- */

static void test_opcodes(void)
{
    static const struct {
        uint16_t op;
        const char *name;
        mm_il_operand operand;
        mm_il_flow flow;
        int pops, pushes;
    } facts[] = {
        {0x00, "nop", MM_IL_OP_NONE, MM_IL_FLOW_NEXT, 0, 0},
        {0x1F, "ldc.i4.s", MM_IL_OP_I1, MM_IL_FLOW_NEXT, 0, 1},
        {0x21, "ldc.i8", MM_IL_OP_I8, MM_IL_FLOW_NEXT, 0, 1},
        {0x23, "ldc.r8", MM_IL_OP_R8, MM_IL_FLOW_NEXT, 0, 1},
        {0x25, "dup", MM_IL_OP_NONE, MM_IL_FLOW_NEXT, 1, 2},
        {0x28, "call", MM_IL_OP_TOKEN, MM_IL_FLOW_NEXT, MM_IL_VARIABLE, MM_IL_VARIABLE},
        {0x2A, "ret", MM_IL_OP_NONE, MM_IL_FLOW_RETURN, MM_IL_VARIABLE, 0},
        {0x2B, "br.s", MM_IL_OP_BR1, MM_IL_FLOW_BRANCH, 0, 0},
        {0x37, "blt.un.s", MM_IL_OP_BR1, MM_IL_FLOW_COND, 2, 0},
        {0x44, "blt.un", MM_IL_OP_BR4, MM_IL_FLOW_COND, 2, 0},
        {0x45, "switch", MM_IL_OP_SWITCH, MM_IL_FLOW_COND, 1, 0},
        {0x73, "newobj", MM_IL_OP_TOKEN, MM_IL_FLOW_NEXT, MM_IL_VARIABLE, 1},
        {0x7A, "throw", MM_IL_OP_NONE, MM_IL_FLOW_THROW, 1, 0},
        {0x9B, "stelem.i", MM_IL_OP_NONE, MM_IL_FLOW_NEXT, 3, 0},
        {0xA5, "unbox.any", MM_IL_OP_TOKEN, MM_IL_FLOW_NEXT, 1, 1},
        {0xDC, "endfinally", MM_IL_OP_NONE, MM_IL_FLOW_END, 0, 0},
        {0xDD, "leave", MM_IL_OP_BR4, MM_IL_FLOW_LEAVE, 0, 0},
        {0xDE, "leave.s", MM_IL_OP_BR1, MM_IL_FLOW_LEAVE, 0, 0},
        {0xE0, "conv.u", MM_IL_OP_NONE, MM_IL_FLOW_NEXT, 1, 1},
        {0xFE00, "arglist", MM_IL_OP_NONE, MM_IL_FLOW_NEXT, 0, 1},
        {0xFE09, "ldarg", MM_IL_OP_VAR2, MM_IL_FLOW_NEXT, 0, 1},
        {0xFE11, "endfilter", MM_IL_OP_NONE, MM_IL_FLOW_END, 1, 0},
        {0xFE12, "unaligned.", MM_IL_OP_U1, MM_IL_FLOW_PREFIX, 0, 0},
        {0xFE16, "constrained.", MM_IL_OP_TOKEN, MM_IL_FLOW_PREFIX, 0, 0},
        {0xFE17, "cpblk", MM_IL_OP_NONE, MM_IL_FLOW_NEXT, 3, 0},
        {0xFE1A, "rethrow", MM_IL_OP_NONE, MM_IL_FLOW_THROW, 0, 0},
        {0xFE1E, "readonly.", MM_IL_OP_NONE, MM_IL_FLOW_PREFIX, 0, 0},
    };
    static const uint16_t none[] = {0x24, 0x77, 0x78, 0xA6, 0xB2,   0xBB,   0xC1,   0xC4,   0xC5,   0xC7,   0xCF,
                                    0xE1, 0xFD, 0xFE, 0xFF, 0xFE08, 0xFE10, 0xFE1B, 0xFE1F, 0xFEFF, 0xFD00, 0x0100};
    size_t k;
    unsigned count = 0, op;
    for (k = 0; k < sizeof facts / sizeof *facts; k++) {
        const mm_il_opcode_info *o = mm_il_opcode(facts[k].op);
        CHECKF(o && !strcmp(o->name, facts[k].name) && o->operand == facts[k].operand && o->flow == facts[k].flow
                   && o->pops == facts[k].pops && o->pushes == facts[k].pushes,
               "opcode 0x%x", facts[k].op);
    }
    for (k = 0; k < sizeof none / sizeof *none; k++)
        CHECKF(mm_il_opcode(none[k]) == NULL, "0x%x is no opcode", none[k]);
    /* Partition III: 191 one-byte and 28 two-byte opcodes (prefixes included). */
    for (op = 0; op < 0x10000; op++)
        count += mm_il_opcode((uint16_t)op) != NULL;
    CHECKF(count == 191 + 28, "%u opcodes", count);
}

/* ---- Decode and emit ---- */

/* Every operand kind, every prefix, a switch, both branch sizes. */
static const uint8_t all_kinds[] = {
    0x00,                                                                   /* 00 nop */
    0x0E, 0x01,                                                             /* 01 ldarg.s 1 */
    0xFE, 0x0C, 0x02, 0x01,                                                 /* 03 ldloc 0x102 */
    0x1F, 0xF6,                                                             /* 07 ldc.i4.s -10 */
    0x20, 0x78, 0x56, 0x34, 0x12,                                           /* 09 ldc.i4 0x12345678 */
    0x21, 1,    2,    3,    4,    5,    6,    7,    0x88,                   /* 0e ldc.i8 */
    0x22, 0x01, 0x00, 0xC0, 0x7F,                                           /* 17 ldc.r4 NaN with payload */
    0x23, 0,    0,    0,    0,    0,    0,    0xF0, 0x3F,                   /* 1c ldc.r8 1.0 */
    0x45, 2,    0,    0,    0,    0xF3, 0xFF, 0xFF, 0xFF, 0x07, 0,    0, 0, /* 25 switch (IL_0025, IL_0039) */
    0x2C, 0x05,                                                             /* 32 brfalse.s IL_0039 */
    0x38, 0x00, 0x00, 0x00, 0x00,                                           /* 34 br IL_0039 (long form kept) */
    0xFE, 0x12, 0x04, 0xFE, 0x13, 0x4C,                                     /* 39 unaligned. 4 volatile. ldind.i8 */
    0xFE, 0x16, 0x01, 0x00, 0x00, 0x1B, 0x6F, 0x02, 0x00, 0x00, 0x0A,       /* 3f constrained. callvirt */
    0xFE, 0x1E, 0x8F, 0x03, 0x00, 0x00, 0x01,                               /* 4a readonly. ldelema */
    0xFE, 0x19, 0x01, 0x7B, 0x04, 0x00, 0x00, 0x04,                         /* 51 no. 1 ldfld */
    0xFE, 0x14, 0x28, 0x05, 0x00, 0x00, 0x0A,                               /* 59 tail. call */
    0x2A,                                                                   /* 60 ret */
};

static void test_identity(void)
{
    mm_il_method *m = method();
    mm_il_error err;
    mm_il_instr *i;
    size_t size, out_size;
    uint8_t *p, *out;
    uint32_t n;
    float r4;

    p = make(all_kinds, sizeof all_kinds, NULL, 0, 8, &size);
    CHECKF(mm_il_method_read(m, p, size, &err) == S_OK, "%s", err.message);
    CHECK(mm_il_count(m) == 17);
    CHECK(mm_il_code_size(m) == sizeof all_kinds);
    i = nth(m, 2);
    CHECK(i->opcode == 0xFE0C && i->arg.i == 0x102 && i->offset == 3);
    CHECK(nth(m, 3)->arg.i == -10);
    CHECK(nth(m, 5)->arg.i == (int64_t)0x8807060504030201ull);
    memcpy(&r4, &nth(m, 6)->arg.r4, 4);
    CHECK(r4 != r4); /* NaN */
    CHECK(nth(m, 7)->arg.r8 == 1.0);
    i = nth(m, 8);
    CHECK(i->opcode == MM_IL_SWITCH && i->target_count == 2 && i->targets[0] == i && i->targets[1] == nth(m, 11));
    CHECK(nth(m, 9)->target == nth(m, 11) && nth(m, 10)->target == nth(m, 11));
    CHECK(nth(m, 11)->refs == 3 && i->refs == 1);
    i = nth(m, 11);
    CHECK(i->opcode == 0x4C && i->prefix_count == 2 && i->prefix[0].opcode == 0xFE12 && i->prefix[0].operand == 4
          && i->prefix[1].opcode == 0xFE13 && i->offset == 0x39);
    i = nth(m, 12);
    CHECK(i->opcode == MM_IL_CALLVIRT && i->prefix_count == 1 && i->prefix[0].opcode == MM_IL_CONSTRAINED
          && i->prefix[0].operand == 0x1B000001 && i->arg.token == 0x0A000002);
    CHECK(nth(m, 15)->prefix[0].opcode == 0xFE14);

    out = emit(m, &out_size);
    CHECK(out && out_size == size && !memcmp(out, p, size));
    free(out);
    free(p);

    /* A fat header that tiny would fit stays fat; a fat EH table stays fat. */
    {
        static const uint8_t code[] = {0x00, 0xDE, 0x01, 0x00, 0xDC, 0x2A};
        mm_il_clause c = {MM_IL_CLAUSE_FINALLY, 0, 3, 3, 2, 0};
        mm_il_body b;
        memset(&b, 0, sizeof b);
        b.header = MM_IL_HEADER_FAT, b.eh_format = MM_IL_EH_FAT, b.max_stack = 2;
        b.code = code, b.code_size = sizeof code, b.clauses = &c, b.clause_count = 1;
        REQUIRE(mm_il_size(&b, &size, &err) == S_OK);
        p = malloc(size);
        REQUIRE(mm_il_encode(&b, p, size, NULL, &err) == S_OK);
        CHECKF(mm_il_method_read(m, p, size, &err) == S_OK, "%s", err.message);
        out = emit(m, &out_size);
        CHECK(out && out_size == size && !memcmp(out, p, size));
        CHECK(out && code_of(out, out_size, &n) && n == sizeof code);
        free(out);
        free(p);
    }
    mm_il_method_destroy(m);
}

/* ---- Bad code: each named by its offset ---- */

static void test_bad_code(void)
{
    static const struct {
        const char *what;
        uint8_t code[16];
        uint32_t n;
        uint32_t offset;
        const char *says;
    } cases[] = {
        {"operand past end", {0x00, 0x20, 0x01, 0x02}, 4, 1, "ldc.i4 at IL_0001: its 4-byte operand runs past"},
        {"token past end", {0x28, 0x01}, 2, 0, "call at IL_0000"},
        {"unknown opcode", {0x00, 0x24, 0x2A}, 3, 1, "unknown opcode 0x24 at IL_0001"},
        {"unknown two-byte opcode", {0x00, 0x00, 0xFE, 0x08, 0x2A}, 5, 2, "unknown opcode 0xfe 0x08 at IL_0002"},
        {"0xfe at the end", {0x00, 0xFE}, 2, 1, "cut off"},
        {"branch into an instruction", {0x2B, 0x01, 0x20, 0, 0, 0, 0, 0x2A}, 8, 0, "the middle of an instruction"},
        {"branch before the code", {0x00, 0x2B, 0xFB, 0x2A}, 4, 1, "outside the code"},
        {"branch past the code", {0x38, 0x10, 0, 0, 0, 0x2A}, 6, 0, "outside the code"},
        {"branch to the code end", {0x2B, 0x01, 0x2A}, 3, 0, "0x3, outside the code"},
        {"switch count past the code",
         {0x00, 0x45, 0xFF, 0xFF, 0xFF, 0x0F, 0x2A},
         7,
         1,
         "switch at IL_0001 has 268435455 targets"},
        {"switch count cut", {0x45, 0x01, 0x00}, 3, 0, "switch at IL_0000"},
        {"switch into an instruction",
         {0x45, 1, 0, 0, 0, 1, 0, 0, 0, 0x20, 0, 0, 0, 0, 0x2A},
         15,
         0,
         "switch at IL_0000 targets 0xa"},
        {"prefix of nothing", {0x00, 0xFE, 0x13}, 3, 1, "prefix volatile. at IL_0001 prefixes nothing"},
        {"five prefixes",
         {0xFE, 0x13, 0xFE, 0x13, 0xFE, 0x13, 0xFE, 0x13, 0xFE, 0x13, 0x4C, 0x2A},
         12,
         0,
         "more than 4 prefixes"},
        {"branch to a prefixed opcode", {0x2B, 0x02, 0xFE, 0x13, 0x4C, 0x2A}, 6, 0, "the middle of an instruction"},
    };
    mm_il_method *m = method();
    mm_il_error err;
    size_t k;
    for (k = 0; k < sizeof cases / sizeof *cases; k++) {
        HRESULT hr = read_code(m, cases[k].code, cases[k].n, NULL, 0, &err);
        CHECKF(hr == MM_E_IL_CODE && err.offset == cases[k].offset && strstr(err.message, cases[k].says),
               "%s: 0x%x at %u: %s", cases[k].what, (unsigned)hr, err.offset, err.message);
        CHECKF(mm_il_count(m) == 0 && mm_il_first(m) == NULL, "%s: the method is not left empty", cases[k].what);
    }

    /* Clause boundaries off instruction boundaries, or outside the code. */
    {
        static const uint8_t code[] = {0x20, 0, 0, 0, 0, 0x26, 0xDE, 0x03, 0xDC, 0x00, 0x00, 0x2A};
        static const struct {
            mm_il_clause c;
            uint32_t offset;
            const char *says;
        } bad[] = {
            {{MM_IL_CLAUSE_FINALLY, 1, 7, 8, 1, 0}, 1, "clause 0: try start 0x1 is not on an instruction boundary"},
            {{MM_IL_CLAUSE_FINALLY, 0, 7, 8, 1, 0}, 7, "clause 0: try end 0x7 is not on an instruction boundary"},
            {{MM_IL_CLAUSE_FINALLY, 0, 5, 5, 2, 0}, 7, "clause 0: handler end 0x7 is not on an instruction boundary"},
            {{MM_IL_CLAUSE_FILTER, 0, 8, 9, 1, 3}, 3, "clause 0: filter start 0x3"},
        };
        for (k = 0; k < sizeof bad / sizeof *bad; k++) {
            HRESULT hr = read_code(m, code, sizeof code, &bad[k].c, 1, &err);
            CHECKF(hr == MM_E_IL_CODE && err.offset == bad[k].offset && strstr(err.message, bad[k].says),
                   "clause case %zu: 0x%x at %u: %s", k, (unsigned)hr, err.offset, err.message);
        }
    }

    /* Every proper prefix of a good body: an error, never a read past it. */
    {
        size_t size, len;
        uint8_t *p = make(all_kinds, sizeof all_kinds, NULL, 0, 8, &size);
        for (len = 0; len < size; len++) {
            uint8_t *q = copy(p, len);
            CHECKF(FAILED(mm_il_method_read(m, q, len, &err)), "prefix %zu accepted", len);
            free(q);
        }
        /* Cutting the code itself (a shorter tiny header) fails in the code. */
        for (len = 1; len < sizeof all_kinds; len++) {
            HRESULT hr = read_code(m, all_kinds, (uint32_t)len, NULL, 0, &err);
            int at_boundary = hr == S_OK;
            CHECKF(hr == S_OK || hr == MM_E_IL_CODE, "code cut at %zu: 0x%x", len, (unsigned)hr);
            (void)at_boundary;
        }
        free(p);
    }
    CHECK(mm_il_method_read(NULL, all_kinds, 1, &err) == E_POINTER);
    mm_il_method_destroy(m);
}

/* ---- Edits ---- */

/* 00 ldarg.0; 01 brfalse.s ret; 03 ldc.i4.1; 04 pop; 05 br.s 00 (loop); 07 ret */
static const uint8_t loop[] = {0x02, 0x2C, 0x04, 0x17, 0x26, 0x2B, 0xF9, 0x2A};

static void test_insert(void)
{
    mm_il_method *m = method();
    mm_il_error err;
    mm_il_instr *first, *ret, *probe, *probe2, *after;
    size_t size;
    uint8_t *out;
    uint32_t n;
    const uint8_t *c;

    REQUIRE(read_code(m, loop, sizeof loop, NULL, 0, &err) == S_OK);
    first = mm_il_first(m);
    ret = mm_il_last(m);
    CHECK(first->refs == 1 && ret->refs == 1);

    /* Entry probe, KEEP: the loop still branches to the old first instruction. */
    probe = mm_il_new(m, 0x14); /* ldnull */
    CHECK(mm_il_insert_before(m, first, probe, MM_IL_KEEP, &err) == S_OK);
    probe2 = mm_il_new(m, 0x26); /* pop */
    CHECK(mm_il_insert_after(m, probe, probe2, &err) == S_OK);
    CHECK(mm_il_first(m) == probe && probe->next == probe2 && probe2->next == first);
    CHECK(nth(m, 6)->target == first && first->refs == 1 && probe->refs == 0);

    /* Before ret, RETARGET: the branch to ret now reaches the probe. */
    after = mm_il_new(m, 0x00);
    CHECK(mm_il_insert_before(m, ret, after, MM_IL_RETARGET, &err) == S_OK);
    CHECK(nth(m, 3)->target == after && after->refs == 1 && ret->refs == 0);

    /* A branch to `at` inserted before it with RETARGET keeps its own target. */
    {
        mm_il_instr *skip = mm_il_new(m, MM_IL_BR_S);
        CHECK(mm_il_set_target(m, skip, after) == S_OK);
        CHECK(mm_il_insert_before(m, after, skip, MM_IL_RETARGET, &err) == S_OK);
        CHECK(skip->target == after && nth(m, 3)->target == skip);
        CHECK(mm_il_remove(m, skip, &err) == MM_E_IL_EDIT); /* brfalse.s goes to it now */
        CHECK(mm_il_set_target(m, nth(m, 3), after) == S_OK && mm_il_remove(m, skip, &err) == S_OK);
        CHECK(nth(m, 3)->target == after && after->refs == 1);
    }
    out = emit(m, &size);
    c = out ? code_of(out, size, &n) : NULL;
    {
        /* ldnull pop | ldarg.0 brfalse.s +4 ldc.i4.1 pop br.s -9 | nop ret */
        static const uint8_t want[] = {0x14, 0x26, 0x02, 0x2C, 0x04, 0x17, 0x26, 0x2B, 0xF9, 0x00, 0x2A};
        CHECK(c && n == sizeof want && !memcmp(c, want, n));
    }
    free(out);

    /* Misuse: inserting what is already in, at what is not in, a bad mode. */
    CHECK(mm_il_insert_before(m, ret, probe, MM_IL_KEEP, &err) == MM_E_IL_EDIT && strstr(err.message, "already"));
    {
        mm_il_instr *loose = mm_il_new(m, 0x00), *other = mm_il_new(m, 0x00);
        CHECK(mm_il_insert_before(m, other, loose, MM_IL_KEEP, &err) == MM_E_IL_EDIT);
        CHECK(mm_il_insert_before(m, ret, loose, (mm_il_retarget)7, &err) == MM_E_IL_EDIT);
        CHECK(mm_il_insert_before(m, NULL, loose, MM_IL_KEEP, &err) == S_OK && mm_il_last(m) == loose);
        CHECK(mm_il_remove(m, loose, &err) == S_OK && mm_il_last(m) == ret);
    }
    CHECK(mm_il_new(m, 0x24) == NULL && mm_il_new(m, MM_IL_CONSTRAINED) == NULL);
    CHECK(mm_il_insert_before(m, ret, NULL, MM_IL_KEEP, &err) == E_POINTER);
    mm_il_method_destroy(m);
}

static void test_remove_replace(void)
{
    mm_il_method *m = method();
    mm_il_error err;
    mm_il_instr *first, *ret, *i;
    size_t size;
    uint8_t *out;

    REQUIRE(read_code(m, loop, sizeof loop, NULL, 0, &err) == S_OK);
    first = mm_il_first(m);
    ret = mm_il_last(m);
    /* The loop head and ret are targets: removing them is refused, unchanged. */
    CHECK(mm_il_remove(m, first, &err) == MM_E_IL_EDIT && err.offset == 0
          && strstr(err.message, "IL_0000 (ldarg.0) is the target of br.s at IL_0005"));
    CHECK(mm_il_remove(m, ret, &err) == MM_E_IL_EDIT && err.offset == 7 && strstr(err.message, "brfalse.s at IL_0001"));
    CHECK(mm_il_count(m) == 6 && mm_il_first(m) == first);
    /* ldc.i4.1 and pop are no target: removed. */
    i = nth(m, 2);
    CHECK(mm_il_remove(m, i->next, &err) == S_OK && mm_il_remove(m, i, &err) == S_OK && mm_il_count(m) == 4);
    CHECK(mm_il_remove(m, i, &err) == MM_E_IL_EDIT); /* not in the code any more */
    /* Replacing ret moves the branch to the replacement. */
    i = mm_il_new(m, MM_IL_RET);
    CHECK(mm_il_replace(m, ret, i, &err) == S_OK && nth(m, 1)->target == i && i->refs == 1 && ret->refs == 0);
    /* Once nothing branches to the head (the loop's br.s replaced by ret), it may go. */
    {
        mm_il_instr *r2 = mm_il_new(m, MM_IL_RET);
        CHECK(mm_il_replace(m, nth(m, 2), r2, &err) == S_OK && first->refs == 0);
        CHECK(mm_il_remove(m, first, &err) == S_OK);
    }
    out = emit(m, &size);
    {
        static const uint8_t want[] = {0x02, 0x2C, 0x01, 0x2A, 0x2A}; /* tiny: brfalse.s +1; ret; ret */
        CHECK(out && size == sizeof want && !memcmp(out + 1, want + 1, 4));
    }
    free(out);

    /* Clause starts cannot be removed; a clause end follows its instruction. */
    {
        /* 00 nop; 01 leave.s 07; 03 nop; 04 endfinally; 05 nop; 06 nop; 07 ret */
        static const uint8_t code[] = {0x00, 0xDE, 0x04, 0x00, 0xDC, 0x00, 0x00, 0x2A};
        mm_il_clause c = {MM_IL_CLAUSE_FINALLY, 0, 3, 3, 2, 0};
        const mm_il_eh *e;
        REQUIRE(read_code(m, code, sizeof code, &c, 1, &err) == S_OK);
        CHECK(mm_il_remove(m, mm_il_first(m), &err) == MM_E_IL_EDIT
              && strstr(err.message, "starts a block of clause 0"));
        CHECK(mm_il_remove(m, nth(m, 2), &err) == MM_E_IL_EDIT); /* handler start */
        i = nth(m, 4);                                           /* 05 nop: the handler's end */
        e = mm_il_clause_at(m, 0);
        CHECK(e->handler_end == i);
        CHECK(mm_il_remove(m, i, &err) == S_OK && e->handler_end == nth(m, 4));
        out = emit(m, &size);
        free(out);
    }
    mm_il_method_destroy(m);
}

/* ---- Emit: widening, header, clause order ---- */

static void test_widening(void)
{
    /* 00 br.s 7c (fits: +122); 02 brtrue.s 00 (back); 04 nop x 120; 7c ret */
    uint8_t code[0x7D];
    mm_il_method *m = method();
    mm_il_error err;
    mm_il_instr *br, *back, *i;
    size_t size;
    uint8_t *out;
    uint32_t n, k;
    const uint8_t *c;

    memset(code, 0, sizeof code);
    code[0] = 0x2B, code[1] = 0x7A, code[2] = 0x2D, code[3] = 0xFC, code[0x7C] = 0x2A;
    REQUIRE(read_code(m, code, sizeof code, NULL, 0, &err) == S_OK);
    br = mm_il_first(m);
    back = br->next;
    CHECK(br->target == mm_il_last(m) && back->target == br);
    /* Emitted as is: still short. */
    out = emit(m, &size);
    c = out ? code_of(out, size, &n) : NULL;
    CHECK(c && n == sizeof code && !memcmp(c, code, n));
    free(out);
    /* Five more bytes: br.s no longer reaches (+127 is the limit); brtrue.s back still does. */
    for (k = 0; k < 6; k++)
        mm_il_insert_after(m, back, mm_il_new(m, 0x00), &err);
    out = emit(m, &size);
    c = out ? code_of(out, size, &n) : NULL;
    CHECK(br->opcode == MM_IL_BR && back->opcode == 0x2D);
    CHECK(c && n == sizeof code + 6 + 3 && c[0] == 0x38 && c[5] == 0x2D && (int8_t)c[6] == -7);
    CHECK(c && (uint32_t)c[1] + 5 == n - 1 && c[2] == 0 && c[3] == 0 && c[4] == 0);
    free(out);

    /* Widening one branch may push another out of range: a fixed point.
     * 00 br.s 81 (+127); 40 br.s c1 (+127); 81 nop; c1 ret.  A nop after 81
     * pushes the second out of range; widened, it grows the code between
     * the first and its target, which then no longer fits either. */
    {
        uint8_t two[0xC2];
        memset(two, 0, sizeof two);
        two[0] = 0x2B, two[1] = 0x7F;
        two[0x40] = 0x2B, two[0x41] = 0x7F;
        two[0xC1] = 0x2A;
        REQUIRE(read_code(m, two, sizeof two, NULL, 0, &err) == S_OK);
        for (i = mm_il_first(m); i && i->offset != 0x81; i = i->next)
            ;
        REQUIRE(i != NULL);
        mm_il_insert_after(m, i, mm_il_new(m, 0x00), &err);
        out = emit(m, &size);
        c = out ? code_of(out, size, &n) : NULL;
        CHECK(c && n == 0xC2 + 1 + 3 + 3 && c[0] == 0x38 && c[0x43] == 0x38);
        CHECK(c && mm_il_first(m)->target->offset == 0x81 + 6 && c[1] == 0x81 + 6 - 5);
        free(out);
    }

    /* A tiny body that grows past 63 bytes gets a fat header. */
    REQUIRE(read_code(m, loop, sizeof loop, NULL, 0, &err) == S_OK);
    for (k = 0; k < 60; k++)
        mm_il_insert_before(m, mm_il_first(m), mm_il_new(m, 0x00), MM_IL_KEEP, &err);
    out = emit(m, &size);
    CHECK(out && (out[0] & 3) == MM_IL_FAT_FORMAT && size == 12 + 68);
    free(out);

    /* Operands that do not fit their form. */
    REQUIRE(read_code(m, loop, sizeof loop, NULL, 0, &err) == S_OK);
    i = mm_il_new(m, 0x1F);
    i->arg.i = 300;
    mm_il_insert_before(m, mm_il_last(m), i, MM_IL_KEEP, &err);
    CHECK(mm_il_method_size(m, &size, &err) == MM_E_IL_CODE && err.offset == 7
          && strstr(err.message, "ldc.i4.s at IL_0007"));
    i->opcode = 0x11; /* ldloc.s 300: widened to ldloc */
    out = emit(m, &size);
    CHECK(i->opcode == 0xFE0C && out && out[1 + 7] == 0xFE && out[1 + 8] == 0x0C && out[1 + 9] == 0x2C
          && out[1 + 10] == 1);
    free(out);
    i->opcode = 0x2B; /* a branch without a target */
    CHECK(mm_il_method_size(m, &size, &err) == MM_E_IL_CODE && strstr(err.message, "missing"));
    mm_il_method_destroy(m);
}

static void test_clause_order(void)
{
    /* 00 nop; 01 nop; 02 leave.s 0a; 04 leave.s 0a; 06 endfinally; 07 endfinally; 08 nop; 09 nop; 0a ret */
    static const uint8_t code[] = {0x00, 0x00, 0xDE, 0x06, 0xDE, 0x04, 0xDC, 0xDC, 0x00, 0x00, 0x2A};
    mm_il_clause cl[2] = {{MM_IL_CLAUSE_FINALLY, 0, 6, 7, 1, 0}, {MM_IL_CLAUSE_FINALLY, 1, 3, 6, 1, 0}};
    mm_il_method *m = method();
    mm_il_error err;
    mm_il_eh inner, outer;
    mm_il_body b;
    mm_il_clause back[4];
    size_t size;
    uint8_t *out;

    /* Inner first already: kept. */
    REQUIRE(read_code(m, code, sizeof code, (mm_il_clause[]){cl[1], cl[0]}, 2, &err) == S_OK);
    out = emit(m, &size);
    REQUIRE(out && mm_il_decode(out, size, &b, back, 4, &err) == S_OK);
    CHECK(back[0].try_offset == 1 && back[1].try_offset == 0);
    free(out);
    /* Outer given first: emitted inner first. */
    inner = *mm_il_clause_at(m, 0);
    outer = *mm_il_clause_at(m, 1);
    CHECK(mm_il_set_clause(m, 0, &outer) == S_OK && mm_il_set_clause(m, 1, &inner) == S_OK);
    CHECK(mm_il_set_clause(m, 2, &inner) == E_INVALIDARG);
    out = emit(m, &size);
    REQUIRE(out && mm_il_decode(out, size, &b, back, 4, &err) == S_OK);
    CHECK(back[0].try_offset == 1 && back[0].try_length == 3 && back[1].try_offset == 0 && back[1].try_length == 6);
    free(out);
    /* Two catches of one try keep their order (the first that matches wins). */
    {
        static const uint8_t c2[] = {0x00, 0xDE, 0x04, 0x26, 0xDE, 0x01, 0x26, 0xDE, 0xFE, 0x2A};
        /* try 00..03; catch A 03..06; catch B 06..09 */
        mm_il_clause two[2] = {{MM_IL_CLAUSE_CATCH, 0, 3, 3, 3, 0x01000002},
                               {MM_IL_CLAUSE_CATCH, 0, 3, 6, 3, 0x01000001}};
        REQUIRE(read_code(m, c2, sizeof c2, two, 2, &err) == S_OK);
        out = emit(m, &size);
        REQUIRE(out && mm_il_decode(out, size, &b, back, 4, &err) == S_OK);
        CHECK(back[0].token_or_filter == 0x01000002 && back[1].token_or_filter == 0x01000001);
        free(out);
    }
    /* A clause naming an instruction not in the code, or reversed. */
    {
        mm_il_eh bad = *mm_il_clause_at(m, 0);
        mm_il_instr *loose = mm_il_new(m, 0x00);
        bad.try_end = loose;
        CHECK(mm_il_add_clause(m, &bad) == S_OK);
        CHECK(mm_il_method_size(m, &size, &err) == MM_E_IL_CODE && strstr(err.message, "clause 2"));
        bad.try_end = bad.try_start;
        CHECK(mm_il_set_clause(m, 2, &bad) == S_OK);
        CHECK(mm_il_method_size(m, &size, &err) == MM_E_IL_CODE && strstr(err.message, "empty or reversed"));
    }
    mm_il_method_destroy(m);
}

static void test_emit_alloc(void)
{
    mm_il_method *m = method();
    mm_il_error err;
    mm_module *mod;
    IMethodMalloc *alloc;
    mm_il_instr *probe;
    void *block;
    size_t size;
    mm_il_method_header h;

    /* The README's example: an entry probe, emitted into a methodmalloc block. */
    REQUIRE(read_code(m, loop, sizeof loop, NULL, 0, &err) == S_OK);
    probe = mm_il_new(m, MM_IL_LDC_I8);
    probe->arg.i = 0x1122334455667788;
    mm_il_insert_before(m, mm_il_first(m), probe, MM_IL_KEEP, &err);
    mm_il_insert_after(m, probe, mm_il_new(m, 0x26), &err);
    REQUIRE(mm_module_open(NULL, NULL, &mod) == S_OK);
    REQUIRE(mm_module_allocator(mod, &alloc) == S_OK);
    CHECK(mm_il_method_emit_alloc(m, alloc, &block, &size, &err) == S_OK && block && size == 1 + 8 + 10);
    CHECK(block && mm_il_validate(block, size, &err) == S_OK && ((uint8_t *)block)[1] == 0x21);
    CHECK(mm_il_method_emit_alloc(m, NULL, &block, &size, &err) == E_POINTER && block == NULL);
    mm_il_get_header(m, &h);
    h.flags = 0x4;
    CHECK(mm_il_set_header(m, &h) == E_INVALIDARG);
    h.flags = MM_IL_INIT_LOCALS;
    h.header = MM_IL_HEADER_TINY;
    CHECK(mm_il_set_header(m, &h) == S_OK);
    CHECK(mm_il_method_emit_alloc(m, alloc, &block, &size, &err) == MM_E_IL_CANNOT);
    alloc->lpVtbl->Release(alloc);
    mm_module_close(mod);
    mm_il_method_clear(m);
    CHECK(mm_il_method_size(m, &size, &err) == MM_E_IL_EDIT);
    mm_il_method_destroy(m);
    mm_il_method_destroy(NULL);
}

/* ---- Stack check ---- */

/* Tokens of the test resolver: 0x0A0000nn gives signature nn. */
static const uint8_t sig_static_ii_i[] = {0x00, 0x02, 0x08, 0x08, 0x08};        /* int f(int, int) */
static const uint8_t sig_inst_v[] = {0x20, 0x00, 0x01};                         /* instance void f() */
static const uint8_t sig_inst_i_v[] = {0x20, 0x01, 0x01, 0x08};                 /* instance void .ctor(int) */
static const uint8_t sig_vararg[] = {0x05, 0x03, 0x01, 0x08, 0x41, 0x08, 0x08}; /* void f(int, ..., int, int) */
static const uint8_t sig_modret[] = {0x10, 0x01, 0x00, 0x20, 0x05, 0x01};       /* generic <T> void modopt f() */
static int resolves;

static HRESULT resolver(void *ctx, uint32_t token, const uint8_t **sig, size_t *len)
{
    (void)ctx;
    resolves++;
    switch (token) {
    case 0x0A000001: *sig = sig_static_ii_i, *len = sizeof sig_static_ii_i; return S_OK;
    case 0x0A000002: *sig = sig_inst_v, *len = sizeof sig_inst_v; return S_OK;
    case 0x0A000003: *sig = sig_inst_i_v, *len = sizeof sig_inst_i_v; return S_OK;
    case 0x0A000004: *sig = sig_vararg, *len = sizeof sig_vararg; return S_OK;
    case 0x0A000005: *sig = sig_modret, *len = sizeof sig_modret; return S_OK;
    case 0x0A000006: *sig = sig_inst_v, *len = 2; return S_OK; /* cut */
    default: return E_INVALIDARG;
    }
}

static HRESULT check_stack(mm_il_method *m, const uint8_t *code, uint32_t n, const mm_il_clause *cl, uint32_t ncl,
                           const uint8_t *msig, size_t msig_len, mm_il_stack_result *r, int32_t *depths,
                           mm_il_error *err)
{
    mm_il_stack_options o = {resolver, NULL, msig, msig_len};
    REQUIRE(read_code(m, code, n, cl, ncl, err) == S_OK);
    return mm_il_stack_check(m, &o, r, depths, err);
}

static void test_stack(void)
{
    static const uint8_t ret_int[] = {0x00, 0x00, 0x08}, ret_void[] = {0x00, 0x00, 0x01};
    static const struct {
        const char *what;
        int returns; /* the method's own: int or void */
        uint8_t code[24];
        uint32_t n;
        HRESULT hr;
        uint32_t max;    /* when S_OK */
        uint32_t offset; /* when not */
        const char *says;
    } cases[] = {
        {"add", 0, {0x17, 0x18, 0x58, 0x26, 0x2A}, 5, S_OK, 2, 0, NULL},
        {"underflow", 0, {0x17, 0x58, 0x2A}, 3, MM_E_IL_STACK, 0, 1, "add at IL_0001 pops 2 values, the stack holds 1"},
        {"pop at 0", 0, {0x00, 0x26, 0x2A}, 3, MM_E_IL_STACK, 0, 1, "pop at IL_0001 pops 1"},
        {"join differs",
         0,
         {0x02, 0x2C, 0x01, 0x17, 0x17, 0x26, 0x2A},
         7,
         MM_E_IL_STACK,
         0,
         4,
         "differ where paths join at IL_0004: 0 from IL_0001, 1 from IL_0003"},
        {"ret with two values",
         1,
         {0x17, 0x17, 0x2A},
         3,
         MM_E_IL_STACK,
         0,
         2,
         "ret at IL_0002 with 2 values on the stack"},
        {"ret of void with a value", 0, {0x17, 0x2A}, 2, MM_E_IL_STACK, 0, 1, "not 0"},
        {"falls off", 0, {0x17, 0x26}, 2, MM_E_IL_STACK, 0, 1, "pop at IL_0001 falls off the end"},
        {"dead code unchecked", 0, {0x2A, 0x58, 0x58, 0x2A}, 4, S_OK, 0, 0, NULL},
        {"loop back at same depth", 0, {0x17, 0x26, 0x2B, 0xFC}, 4, S_OK, 1, 0, NULL},
        {"loop grows the stack",
         0,
         {0x17, 0x2B, 0xFD},
         3,
         MM_E_IL_STACK,
         0,
         0,
         "IL_0000 is an entry point with depth 0 and is reached with depth 1 from IL_0001"},
        {"switch joins", 0, {0x16, 0x45, 1, 0, 0, 0, 0, 0, 0, 0, 0x2A}, 11, S_OK, 1, 0, NULL},
        {"call", 0, {0x16, 0x16, 0x28, 1, 0, 0, 0x0A, 0x26, 0x2A}, 9, S_OK, 2, 0, NULL},
        {"call short of args",
         0,
         {0x16, 0x28, 1, 0, 0, 0x0A, 0x26, 0x2A},
         8,
         MM_E_IL_STACK,
         0,
         1,
         "call at IL_0001 pops 2"},
        {"callvirt this", 0, {0x14, 0x6F, 2, 0, 0, 0x0A, 0x2A}, 7, S_OK, 1, 0, NULL},
        {"newobj", 0, {0x16, 0x73, 3, 0, 0, 0x0A, 0x26, 0x2A}, 8, S_OK, 1, 0, NULL},
        {"vararg call counts every argument", 0, {0x16, 0x16, 0x16, 0x28, 4, 0, 0, 0x0A, 0x2A}, 9, S_OK, 3, 0, NULL},
        {"modopt void return", 0, {0x28, 5, 0, 0, 0x0A, 0x2A}, 6, S_OK, 0, 0, NULL},
        {"calli pops the pointer", 0, {0x16, 0x16, 0x16, 0x29, 1, 0, 0, 0x0A, 0x26, 0x2A}, 10, S_OK, 3, 0, NULL},
        {"unresolved token", 0, {0x28, 9, 0, 0, 0x0A, 0x2A}, 6, E_INVALIDARG, 0, 0, "token 0x0a000009 not resolved"},
        {"cut signature", 0, {0x28, 6, 0, 0, 0x0A, 0x2A}, 6, MM_E_IL_SIG, 0, 0, "call at IL_0000: token 0x0a000006"},
        {"jmp with values", 0, {0x17, 0x27, 1, 0, 0, 6}, 6, MM_E_IL_STACK, 0, 1, "jmp at IL_0001 with 1"},
    };
    mm_il_method *m = method();
    mm_il_stack_result r;
    mm_il_error err;
    int32_t depths[32];
    size_t k;

    for (k = 0; k < sizeof cases / sizeof *cases; k++) {
        const uint8_t *ms = cases[k].returns ? ret_int : ret_void;
        HRESULT hr = check_stack(m, cases[k].code, cases[k].n, NULL, 0, ms, 3, &r, NULL, &err);
        if (cases[k].hr == S_OK)
            CHECKF(hr == S_OK && r.max_stack == cases[k].max, "%s: 0x%x max %u: %s", cases[k].what, (unsigned)hr,
                   r.max_stack, err.message);
        else
            CHECKF(hr == cases[k].hr && err.offset == cases[k].offset && strstr(err.message, cases[k].says),
                   "%s: 0x%x at %u: %s", cases[k].what, (unsigned)hr, err.offset, err.message);
    }

    /* Depths before each instruction; dead code stays -1. */
    {
        static const uint8_t code[] = {0x17, 0x18, 0x58, 0x2A, 0x00};
        CHECK(check_stack(m, code, sizeof code, NULL, 0, ret_int, 3, &r, depths, &err) == S_OK);
        CHECK(depths[0] == 0 && depths[1] == 1 && depths[2] == 2 && depths[3] == 1 && depths[4] == -1);
        CHECK(r.checked == 4 && r.blocks == 2 && r.max_stack == 2);
    }
    /* No method signature: ret takes 0 or 1. */
    {
        static const uint8_t code[] = {0x17, 0x2A};
        mm_il_stack_options o = {resolver, NULL, NULL, 0};
        REQUIRE(read_code(m, code, sizeof code, NULL, 0, &err) == S_OK);
        CHECK(mm_il_stack_check(m, &o, &r, NULL, &err) == S_OK);
        CHECK(mm_il_stack_check(m, NULL, &r, NULL, &err) == S_OK);
        CHECK(mm_il_stack_check(m, NULL, NULL, NULL, &err) == E_POINTER);
    }
    /* A call without a resolver. */
    {
        static const uint8_t code[] = {0x28, 2, 0, 0, 0x0A, 0x2A};
        REQUIRE(read_code(m, code, sizeof code, NULL, 0, &err) == S_OK);
        CHECK(mm_il_stack_check(m, NULL, &r, NULL, &err) == E_POINTER && strstr(err.message, "resolver"));
    }

    /* Exception handling: try entered empty, handlers at 1 (catch, filter)
     * or 0 (finally), leave empties the stack, endfilter with exactly 1. */
    {
        static const uint8_t code[] = {
            0x17, 0xDE, 0x08,       /* 00 ldc.i4.1; leave.s 0b */
            0x26, 0x17, 0xFE, 0x11, /* 03 filter: pop; ldc.i4.1; endfilter */
            0x26, 0xDE, 0x01,       /* 07 handler: pop; leave.s 0b */
            0x00,                   /* 0a nop (unreached) */
            0x2A,                   /* 0b ret */
        };
        mm_il_clause f = {MM_IL_CLAUSE_FILTER, 0, 3, 7, 3, 3};
        CHECK(check_stack(m, code, sizeof code, &f, 1, ret_void, 3, &r, depths, &err) == S_OK);
        CHECK(depths[1] == 1 && depths[2] == 1 && depths[3] == 0 && depths[4] == 1 && depths[5] == 1 && depths[6] == 0
              && depths[7] == -1 && depths[8] == 0 && r.max_stack == 1);
    }
    {
        /* A try entered with a value on the stack. */
        static const uint8_t code[] = {0x17, 0x26, 0xDE, 0x02, 0xDC, 0x00, 0x2A};
        mm_il_clause fin = {MM_IL_CLAUSE_FINALLY, 1, 3, 4, 1, 0};
        CHECK(check_stack(m, code, sizeof code, &fin, 1, ret_void, 3, &r, NULL, &err) == MM_E_IL_STACK
              && err.offset == 1 && strstr(err.message, "IL_0001 starts a try block with 1 values"));
    }
    {
        /* endfilter with 2 values. */
        static const uint8_t code[] = {0xDE, 0x06, 0x17, 0xFE, 0x11, 0x26, 0xDE, 0x00, 0x2A};
        mm_il_clause f = {MM_IL_CLAUSE_FILTER, 0, 2, 5, 3, 2};
        CHECK(check_stack(m, code, sizeof code, &f, 1, ret_void, 3, &r, NULL, &err) == MM_E_IL_STACK && err.offset == 3
              && strstr(err.message, "endfilter at IL_0003 with 2 values"));
    }
    {
        /* A catch handler whose first instruction is pop: max stack counts the entry value. */
        static const uint8_t code[] = {0x00, 0xDE, 0x03, 0x26, 0xDE, 0x00, 0x2A};
        mm_il_clause c = {MM_IL_CLAUSE_CATCH, 0, 3, 3, 3, 0x01000001};
        CHECK(check_stack(m, code, sizeof code, &c, 1, ret_void, 3, &r, NULL, &err) == S_OK && r.max_stack == 1);
        /* A finally entered at 0 whose pop underflows. */
        c.kind = MM_IL_CLAUSE_FINALLY;
        c.token_or_filter = 0;
        CHECK(check_stack(m, code, sizeof code, &c, 1, ret_void, 3, &r, NULL, &err) == MM_E_IL_STACK
              && err.offset == 3);
    }
    mm_il_method_destroy(m);
}

/* ---- Signatures and locals ---- */

static void test_sigs(void)
{
    static const uint8_t explicit_this[] = {0x60, 0x01, 0x01, 0x12, 0x08}; /* instance explicit void f(C this) */
    static const uint8_t field[] = {0x06, 0x08};
    static const uint8_t bad_conv[] = {0x0A, 0x01, 0x08};
    static const uint8_t cut[] = {0x10, 0x01};
    static const uint8_t bad_count[] = {0x00, 0xFF, 0x01};
    mm_il_sig_info info;
    mm_il_error err;

    CHECK(mm_il_sig_method(sig_static_ii_i, sizeof sig_static_ii_i, &info, &err) == S_OK && info.params == 2
          && !info.has_this && info.returns);
    CHECK(mm_il_sig_method(sig_inst_v, sizeof sig_inst_v, &info, &err) == S_OK && info.params == 0 && info.has_this
          && !info.returns);
    CHECK(mm_il_sig_method(explicit_this, sizeof explicit_this, &info, &err) == S_OK && info.params == 1
          && !info.has_this);
    CHECK(mm_il_sig_method(sig_modret, sizeof sig_modret, &info, &err) == S_OK && !info.returns);
    CHECK(mm_il_sig_method(field, sizeof field, &info, &err) == MM_E_IL_SIG && err.offset == 0);
    CHECK(mm_il_sig_method(bad_conv, sizeof bad_conv, &info, &err) == MM_E_IL_SIG);
    CHECK(mm_il_sig_method(cut, sizeof cut, &info, &err) == MM_E_IL_SIG && strstr(err.message, "ends"));
    CHECK(mm_il_sig_method(bad_count, sizeof bad_count, &info, &err) == MM_E_IL_SIG && err.offset == 1);
    CHECK(mm_il_sig_method(NULL, 0, &info, &err) == MM_E_IL_SIG);
    CHECK(mm_il_sig_method(sig_inst_v, 3, NULL, &err) == E_POINTER);

    /* Locals: none yet, then appended; the count grows to two bytes at 128. */
    {
        static const uint8_t i8[] = {0x0A};
        static const uint8_t types[] = {0x08, 0x1D, 0x12, 0x05, 0x15, 0x12, 0x09, 0x02, 0x08, 0x1C, 0x45, 0x10,
                                        0x08, 0x14, 0x08, 0x02, 0x01, 0x02, 0x01, 0x00, 0x1B, 0x00, 0x00, 0x01};
        uint8_t out[600], old[600];
        size_t len, old_len;
        uint32_t first, k;
        CHECK(mm_il_locals_append(NULL, 0, i8, 1, 1, out, sizeof out, &len, &first, &err) == S_OK && len == 3
              && out[0] == 0x07 && out[1] == 1 && out[2] == 0x0A && first == 0);
        /* int32, SZARRAY class, GENERICINST, pinned byref int32, int32[,] with bounds, fnptr */
        CHECK(mm_il_locals_append(out, len, types, sizeof types, 6, out, sizeof out, &len, &first, &err) == S_OK);
        CHECKF(first == 1 && len == 2 + 1 + sizeof types && out[1] == 7, "%s", err.message);
        memcpy(old, out, len);
        old_len = len;
        for (k = 7; k < 127; k++) {
            CHECK(mm_il_locals_append(old, old_len, i8, 1, 1, old, sizeof old, &old_len, &first, &err) == S_OK);
        }
        CHECK(old[1] == 127 && first == 126);
        CHECK(mm_il_locals_append(old, old_len, i8, 1, 1, out, sizeof out, &len, &first, &err) == S_OK);
        CHECK(first == 127 && len == old_len + 2 && out[1] == 0x80 && out[2] == 128
              && !memcmp(out + 3, old + 2, old_len - 2));
        /* Too small: the size needed. */
        CHECK(mm_il_locals_append(old, old_len, i8, 1, 1, out, 4, &len, NULL, &err) == MM_E_IL_SMALL_BUFFER
              && len == old_len + 2);
        /* Malformed: a type cut short, a count that lies, not a locals blob, junk after. */
        CHECK(mm_il_locals_append(NULL, 0, (const uint8_t[]){0x15, 0x12}, 2, 1, out, sizeof out, &len, NULL, &err)
              == MM_E_IL_SIG);
        CHECK(mm_il_locals_append(NULL, 0, i8, 1, 2, out, sizeof out, &len, NULL, &err) == MM_E_IL_SIG);
        CHECK(mm_il_locals_append((const uint8_t[]){0x06, 0x08}, 2, i8, 1, 1, out, sizeof out, &len, NULL, &err)
              == MM_E_IL_SIG);
        CHECK(mm_il_locals_append((const uint8_t[]){0x07, 0x01, 0x08, 0x08}, 4, i8, 1, 1, out, sizeof out, &len, NULL,
                                  &err)
                  == MM_E_IL_SIG
              && strstr(err.message, "after the 1 locals"));
        CHECK(mm_il_locals_append(NULL, 0, (const uint8_t[]){0x99}, 1, 1, out, sizeof out, &len, NULL, &err)
                  == MM_E_IL_SIG
              && strstr(err.message, "0x99"));
        /* Nesting deeper than the limit is refused, not recursed into. */
        {
            uint8_t deep[200];
            memset(deep, 0x1D, sizeof deep);
            deep[199] = 0x08;
            CHECK(mm_il_locals_append(NULL, 0, deep, sizeof deep, 1, out, sizeof out, &len, NULL, &err) == MM_E_IL_SIG
                  && strstr(err.message, "nested"));
        }
        CHECK(mm_il_locals_append(NULL, 0, i8, 1, 1, out, sizeof out, NULL, NULL, &err) == E_POINTER);
    }
}

/* The README's example, word for word: a call counter at method entry
 * (*counter += 1 with no new metadata), stack-checked, emitted into a block
 * of the module's heap. */
static HRESULT add_entry_probe(IMethodMalloc *alloc, const void *il, size_t il_size, int64_t *counter,
                               const mm_il_stack_options *opt, void **block, size_t *size, mm_il_error *err)
{
    /* ldc.i8 &counter; conv.u; dup; ldind.i8; ldc.i4.1; conv.i8; add; stind.i8 */
    static const uint16_t probe[] = {MM_IL_LDC_I8, 0xE0, 0x25, 0x4C, 0x17, 0x6A, 0x58, 0x55};
    mm_il_method *m;
    mm_il_instr *at = NULL;
    mm_il_stack_result st;
    mm_il_method_header h;
    size_t k;
    HRESULT hr = mm_il_method_create(&m);
    if (SUCCEEDED(hr))
        hr = mm_il_method_read(m, il, il_size, err);
    for (k = 0; SUCCEEDED(hr) && k < sizeof probe / sizeof *probe; k++) {
        mm_il_instr *i = mm_il_new(m, probe[k]);
        if (!i) {
            hr = E_OUTOFMEMORY;
            break;
        }
        if (k == 0)
            i->arg.i = (int64_t)(intptr_t)counter;
        hr = mm_il_insert_after(m, at, i, err); /* at NULL: first; a loop back to the old first skips the probe */
        at = i;
    }
    if (SUCCEEDED(hr))
        hr = mm_il_stack_check(m, opt, &st, NULL, err); /* the whole body, probe included */
    if (SUCCEEDED(hr)) {
        mm_il_get_header(m, &h);
        if (st.max_stack > h.max_stack)
            h.max_stack = (uint16_t)st.max_stack;
        hr = mm_il_set_header(m, &h);
    }
    if (SUCCEEDED(hr))
        hr = mm_il_method_emit_alloc(m, alloc, block, size, err); /* then SetILFunctionBody(module, token, *block) */
    mm_il_method_destroy(m);
    return hr;
}

static void test_readme_example(void)
{
    mm_il_stack_options opt = {resolver, NULL, NULL, 0};
    int64_t counter = 0;
    mm_il_error err;
    mm_module *mod;
    IMethodMalloc *alloc;
    mm_il_method *m = method();
    mm_il_stack_result r;
    mm_il_body b;
    void *block;
    size_t size, body_size;
    uint8_t *body = make(loop, sizeof loop, NULL, 0, 8, &body_size);

    REQUIRE(mm_module_open(NULL, NULL, &mod) == S_OK);
    REQUIRE(mm_module_allocator(mod, &alloc) == S_OK);
    CHECKF(add_entry_probe(alloc, body, body_size, &counter, &opt, &block, &size, &err) == S_OK, "%s", err.message);
    REQUIRE(mm_il_decode(block, size, &b, NULL, 0, &err) == S_OK);
    CHECK(b.code_size == sizeof loop + 9 + 7 && b.code[0] == 0x21 && b.code[9] == 0xE0 && b.code[16] == 0x02);
    CHECK(!memcmp(&b.code[1], &(int64_t){(int64_t)(intptr_t)&counter}, 8));
    REQUIRE(mm_il_method_read(m, block, size, &err) == S_OK);
    CHECK(mm_il_stack_check(m, &opt, &r, NULL, &err) == S_OK && r.max_stack == 3);
    CHECK(mm_il_last(m)->prev->target == nth(m, 8)); /* the loop goes back to ldarg.0, after the probe */
    alloc->lpVtbl->Release(alloc);
    mm_module_close(mod);
    mm_il_method_destroy(m);
    free(body);
}

/* Writes bodies for the fuzzer: mode byte 0, then the body. */
static int write_seeds(const char *dir)
{
    static const uint8_t tail[] = {0x00, 0xDE, 0x04, 0x00, 0xDC, 0x00, 0x00, 0x2A};
    mm_il_clause c = {MM_IL_CLAUSE_FINALLY, 0, 3, 3, 2, 0};
    struct {
        const uint8_t *code;
        uint32_t n;
        const mm_il_clause *cl;
    } bodies[] = {{all_kinds, sizeof all_kinds, NULL}, {loop, sizeof loop, NULL}, {tail, sizeof tail, &c}};
    size_t k;
    for (k = 0; k < sizeof bodies / sizeof *bodies; k++) {
        size_t size;
        uint8_t *p = make(bodies[k].code, bodies[k].n, bodies[k].cl, bodies[k].cl ? 1 : 0, 8, &size);
        write_seed(dir, "rw", k, p, size);
        free(p);
    }
    return check_done();
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--seeds"))
        return write_seeds(argv[2]);
    test_opcodes();
    test_identity();
    test_bad_code();
    test_insert();
    test_remove_replace();
    test_widening();
    test_clause_order();
    test_emit_alloc();
    test_stack();
    test_sigs();
    test_readme_example();
    return check_done();
}
