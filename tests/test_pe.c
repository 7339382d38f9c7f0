/* The PE/CLI reader on a small assembly built here byte by byte, then on
 * every way to break it: truncated files, lying sizes, tables and RVAs that
 * point outside the file.  With --seeds DIR it writes its images there for
 * the fuzzer instead. */
#include "check.h"
#include "pe/pe.h"

#include <string.h>

/* Where the builder put things, so tests can break them. */
enum {
    LFANEW = 0x80,
    COFF = LFANEW + 4,
    OPT = COFF + 20,
    TEXT_FILE = 0x200, /* the one section, .text, at RVA 0x2000 */
    TEXT_RVA = 0x2000,
    TEXT_SIZE = 0x400,
    FILE_SIZE = TEXT_FILE + TEXT_SIZE,
    CLI = TEXT_FILE,            /* CLI header at the section's start */
    MD = TEXT_FILE + 0x50,      /* metadata root */
    MD_STREAMS = MD + 32,       /* stream headers: after a 12-byte version string */
    TABLES = MD + 0x40,         /* #~ */
    TABLES_SIZE = 24 + 12 + 10 + 14 + 3 * 14 + 2, /* padded to 4 */
    STRINGS = TABLES + TABLES_SIZE,
    BODY_TINY = TEXT_FILE + 0x200,
    BODY_FAT = TEXT_FILE + 0x210,
};

static const char strings[] = "\0<Module>\0Program\0Main\0Run\0Abstract\0";
#define NAME_MODULE 1
#define NAME_PROGRAM 10
#define NAME_MAIN 18
#define NAME_RUN 23
#define NAME_ABSTRACT 27

static uint8_t img[FILE_SIZE];
static size_t opt_size;

static void w16(size_t at, uint32_t v)
{
    img[at] = (uint8_t)v;
    img[at + 1] = (uint8_t)(v >> 8);
}
static void w32(size_t at, uint32_t v)
{
    w16(at, v);
    w16(at + 2, v >> 16);
}

static uint32_t rva_of(size_t file_off) { return (uint32_t)(file_off - TEXT_FILE + TEXT_RVA); }

/* A PE32 (or PE32+) DLL with one type and three methods: Main (tiny body),
 * Run (fat body with a finally clause), Abstract (no body). */
static void build(int pe32plus)
{
    size_t dirs, at;
    memset(img, 0, sizeof img);
    img[0] = 'M', img[1] = 'Z';
    w32(0x3C, LFANEW);
    memcpy(img + LFANEW, "PE\0\0", 4);
    w16(COFF, 0x14C);
    w16(COFF + 2, 1); /* one section */
    opt_size = pe32plus ? 240 : 224;
    w16(COFF + 16, (uint32_t)opt_size);
    w16(COFF + 18, 0x2102);
    w16(OPT, pe32plus ? 0x20B : 0x10B);
    dirs = OPT + (pe32plus ? 112 : 96);
    w32(dirs - 4, 16);
    w32(dirs + 14 * 8, rva_of(CLI));
    w32(dirs + 14 * 8 + 4, 72);
    at = OPT + opt_size; /* section table */
    memcpy(img + at, ".text", 5);
    w32(at + 8, TEXT_SIZE);
    w32(at + 12, TEXT_RVA);
    w32(at + 16, TEXT_SIZE);
    w32(at + 20, TEXT_FILE);

    w32(CLI, 72);
    w16(CLI + 4, 2);
    w16(CLI + 6, 5);
    w32(CLI + 8, rva_of(MD));
    w32(CLI + 12, (uint32_t)(STRINGS + sizeof strings + 3 - MD) & ~3u);
    w32(CLI + 16, 1); /* ILONLY */

    w32(MD, 0x424A5342);
    w16(MD + 4, 1);
    w16(MD + 6, 1);
    w32(MD + 12, 12);
    memcpy(img + MD + 16, "v4.0.30319", 10);
    w16(MD + 30, 2); /* streams */
    w32(MD_STREAMS, TABLES - MD);
    w32(MD_STREAMS + 4, TABLES_SIZE);
    memcpy(img + MD_STREAMS + 8, "#~", 3);
    w32(MD_STREAMS + 12, STRINGS - MD);
    w32(MD_STREAMS + 16, (uint32_t)(sizeof strings + 3) & ~3u);
    memcpy(img + MD_STREAMS + 20, "#Strings", 9);

    img[TABLES + 4] = 2;
    img[TABLES + 7] = 1;
    w32(TABLES + 8, 1u << 0 | 1u << 2 | 1u << 6); /* Module, TypeDef, MethodDef */
    w32(TABLES + 24, 1);
    w32(TABLES + 28, 1);
    w32(TABLES + 32, 3);
    at = TABLES + 36;
    w16(at + 2, NAME_MODULE); /* Module: Generation, Name, Mvid, EncId, EncBaseId */
    at += 10;
    w16(at + 4, NAME_PROGRAM); /* TypeDef: Flags, Name, Namespace, Extends, FieldList, MethodList */
    w16(at + 10, 1);
    w16(at + 12, 1);
    at += 14;
    /* MethodDef: RVA, ImplFlags, Flags, Name, Signature, ParamList */
    w32(at, rva_of(BODY_TINY)), w16(at + 8, NAME_MAIN), w16(at + 12, 1);
    w32(at + 14, rva_of(BODY_FAT)), w16(at + 22, NAME_RUN), w16(at + 26, 1);
    w16(at + 34, 0x0400), w16(at + 36, NAME_ABSTRACT), w16(at + 40, 1);
    memcpy(img + STRINGS, strings, sizeof strings);

    img[BODY_TINY] = 2 << 2 | 2, img[BODY_TINY + 1] = 0x00, img[BODY_TINY + 2] = 0x2A;
    {
        static const uint8_t fat[] = {
            0x0B, 0x30, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0x00, 0xDC, 0x00, 0x2A, /* try: nop, handler: endfinally */
            0x01, 0x10, 0, 0, 0x02, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0,          /* finally [0,1) [1,2) */
        };
        memcpy(img + BODY_FAT, fat, sizeof fat);
    }
}

static HRESULT open_copy(size_t size, mm_pe *pe, mm_il_error *err, uint8_t **copy)
{
    *copy = malloc(size ? size : 1);
    REQUIRE(*copy != NULL);
    memcpy(*copy, img, size);
    return mm_pe_open(pe, *copy, size, err);
}

static void test_good(int pe32plus)
{
    mm_pe pe;
    mm_pe_method m;
    mm_il_error err;
    const uint8_t *p;
    size_t avail;
    uint8_t *copy;

    build(pe32plus);
    CHECKF(open_copy(sizeof img, &pe, &err, &copy) == S_OK, "%s", err.message);
    CHECK(pe.method_count == 3 && pe.cli_flags == 1);
    CHECK(mm_pe_method_row(&pe, 1, &m) == S_OK && m.rva == rva_of(BODY_TINY) && m.name_len == 4 &&
          !memcmp(m.name, "Main", 4));
    CHECK(mm_pe_rva(&pe, m.rva, &p, &avail, &err) == S_OK && p == copy + BODY_TINY &&
          avail == FILE_SIZE - BODY_TINY);
    CHECK(mm_il_validate(p, avail, &err) == S_OK);
    CHECK(mm_pe_method_row(&pe, 2, &m) == S_OK && m.name_len == 3 && !memcmp(m.name, "Run", 3));
    CHECK(mm_pe_rva(&pe, m.rva, &p, &avail, &err) == S_OK && mm_il_validate(p, avail, &err) == S_OK);
    CHECK(mm_pe_method_row(&pe, 3, &m) == S_OK && m.rva == 0 && m.flags == 0x0400);
    CHECK(mm_pe_method_row(&pe, 0, &m) == E_INVALIDARG && mm_pe_method_row(&pe, 4, &m) == E_INVALIDARG);
    CHECK(mm_pe_rva(&pe, TEXT_RVA - 1, &p, &avail, &err) == MM_E_PE_RVA);
    CHECK(mm_pe_rva(&pe, TEXT_RVA + TEXT_SIZE, &p, &avail, &err) == MM_E_PE_RVA);
    free(copy);
}

/* Every prefix of the file: an error, or (once the metadata is whole) an
 * image whose RVAs never map past the end. */
static void test_truncated(void)
{
    size_t n, whole = STRINGS + sizeof strings;
    build(0);
    for (n = 0; n < sizeof img; n++) {
        mm_pe pe;
        mm_il_error err;
        uint8_t *copy;
        HRESULT hr = open_copy(n, &pe, &err, &copy);
        if (n < whole)
            CHECKF(FAILED(hr), "prefix %zu opened", n);
        else if (SUCCEEDED(hr)) {
            const uint8_t *p;
            size_t avail;
            mm_pe_method m;
            mm_pe_method_row(&pe, 2, &m);
            hr = mm_pe_rva(&pe, m.rva, &p, &avail, &err);
            CHECK(FAILED(hr) || (size_t)(p - copy) + avail <= n);
            if (SUCCEEDED(hr))
                mm_il_validate(p, avail, &err);
        }
        free(copy);
    }
}

struct lie {
    const char *what;
    size_t at;
    int width; /* 1, 2 or 4 bytes */
    uint32_t value;
    HRESULT code;
};

static void test_lies(void)
{
    const struct lie lies[] = {
        {"no MZ", 0, 1, 'X', MM_E_PE_NOT_PE},
        {"e_lfanew past the end", 0x3C, 4, FILE_SIZE - 8, MM_E_PE_NOT_PE},
        {"e_lfanew huge", 0x3C, 4, 0xFFFFFFF0u, MM_E_PE_NOT_PE},
        {"no PE signature", LFANEW, 1, 'X', MM_E_PE_NOT_PE},
        {"optional header past the end", COFF + 16, 2, 0xFFFF, MM_E_PE_FORMAT},
        {"optional header magic", OPT, 2, 0x107, MM_E_PE_FORMAT},
        {"sections past the end", COFF + 2, 2, 0xFFFF, MM_E_PE_FORMAT},
        {"no CLI directory count", OPT + 92, 4, 14, MM_E_PE_NOT_CLI},
        {"optional header too small for directories", COFF + 16, 2, 96 + 8 * 8, MM_E_PE_NOT_CLI},
        {"no CLI header", OPT + 96 + 14 * 8, 4, 0, MM_E_PE_NOT_CLI},
        {"CLI header outside sections", OPT + 96 + 14 * 8, 4, 0x9000, MM_E_PE_FORMAT},
        {"CLI header at section end", OPT + 96 + 14 * 8, 4, TEXT_RVA + TEXT_SIZE - 8, MM_E_PE_FORMAT},
        {"metadata RVA outside", CLI + 8, 4, 0x100, MM_E_PE_FORMAT},
        {"metadata size past section", CLI + 12, 4, TEXT_SIZE, MM_E_PE_FORMAT},
        {"metadata size huge", CLI + 12, 4, 0xFFFFFFFFu, MM_E_PE_FORMAT},
        {"metadata size tiny", CLI + 12, 4, 8, MM_E_PE_FORMAT},
        {"no BSJB", MD, 1, 'X', MM_E_PE_FORMAT},
        {"version length huge", MD + 12, 4, 0xFFFFFFF0u, MM_E_PE_FORMAT},
        {"version length past metadata", MD + 12, 4, 0x100, MM_E_PE_FORMAT},
        {"stream count huge", MD + 30, 2, 0xFFFF, MM_E_PE_FORMAT},
        {"no #~ stream", MD_STREAMS + 9, 1, 'X', MM_E_PE_FORMAT},
        {"#~ offset past metadata", MD_STREAMS, 4, 0x1000, MM_E_PE_FORMAT},
        {"#~ size past metadata", MD_STREAMS + 4, 4, 0xFFFFFFFFu, MM_E_PE_FORMAT},
        {"#~ size too small", MD_STREAMS + 4, 4, 20, MM_E_PE_FORMAT},
        {"#~ row counts cut", MD_STREAMS + 4, 4, 30, MM_E_PE_FORMAT},
        {"MethodDef rows huge", TABLES + 32, 4, 0xFFFFFFFFu, MM_E_PE_FORMAT},
        {"MethodDef rows 4", TABLES + 32, 4, 4, MM_E_PE_FORMAT},
        {"Module rows huge", TABLES + 24, 4, 0x40000000u, MM_E_PE_FORMAT},
        {"every table present", TABLES + 12, 4, 0xFFFFFFFFu, MM_E_PE_FORMAT},
        {"wide string indices", TABLES + 6, 1, 0x07, MM_E_PE_FORMAT},
        {"section raw data past the file", OPT + 224 + 20, 4, 0x10000, MM_E_PE_FORMAT},
    };
    size_t i;
    for (i = 0; i < sizeof lies / sizeof *lies; i++) {
        const struct lie *l = &lies[i];
        mm_pe pe;
        mm_il_error err;
        uint8_t *copy;
        HRESULT hr;
        build(0);
        if (l->width == 1)
            img[l->at] = (uint8_t)l->value;
        else if (l->width == 2)
            w16(l->at, l->value);
        else
            w32(l->at, l->value);
        hr = open_copy(sizeof img, &pe, &err, &copy);
        CHECKF(hr == l->code && err.code == hr && err.message[0], "%s: 0x%x (%s), expected 0x%x", l->what,
               (unsigned)hr, SUCCEEDED(hr) ? "opened" : err.message, (unsigned)l->code);
        free(copy);
    }
}

/* Bodies whose RVA points outside: the file opens, the body does not map. */
static void test_bad_rvas(void)
{
    static const uint32_t rvas[] = {1, TEXT_RVA - 1, TEXT_RVA + TEXT_SIZE, 0xFFFFFFFFu};
    size_t i;
    for (i = 0; i < sizeof rvas / sizeof *rvas; i++) {
        mm_pe pe;
        mm_pe_method m;
        mm_il_error err;
        const uint8_t *p;
        size_t avail;
        uint8_t *copy;
        build(0);
        w32(TABLES + 36 + 10 + 14, rvas[i]);
        REQUIRE(open_copy(sizeof img, &pe, &err, &copy) == S_OK);
        CHECK(mm_pe_method_row(&pe, 1, &m) == S_OK && m.rva == rvas[i]);
        CHECK(mm_pe_rva(&pe, m.rva, &p, &avail, &err) == MM_E_PE_RVA && err.message[0]);
        free(copy);
    }
    /* A section whose file part is shorter than its virtual size: the tail
     * is not in the file. */
    {
        mm_pe pe;
        mm_il_error err;
        const uint8_t *p;
        size_t avail;
        uint8_t *copy;
        build(0);
        w32(OPT + 224 + 8, 0x1000); /* VirtualSize */
        REQUIRE(open_copy(sizeof img, &pe, &err, &copy) == S_OK);
        CHECK(mm_pe_rva(&pe, TEXT_RVA + TEXT_SIZE + 4, &p, &avail, &err) == MM_E_PE_RVA);
        CHECK(mm_pe_rva(&pe, TEXT_RVA + TEXT_SIZE - 4, &p, &avail, &err) == S_OK && avail == 4);
        free(copy);
        /* And one whose VirtualSize is smaller than its file part. */
        build(0);
        w32(OPT + 224 + 8, 0x300);
        REQUIRE(open_copy(sizeof img, &pe, &err, &copy) == S_OK);
        CHECK(mm_pe_rva(&pe, TEXT_RVA + 0x2F0, &p, &avail, &err) == S_OK && avail == 0x10);
        CHECK(mm_pe_rva(&pe, TEXT_RVA + 0x300, &p, &avail, &err) == MM_E_PE_RVA);
        free(copy);
    }
    /* A name index past the #Strings heap gives an empty name. */
    {
        mm_pe pe;
        mm_pe_method m;
        mm_il_error err;
        uint8_t *copy;
        build(0);
        w16(TABLES + 36 + 10 + 14 + 8, 0xFFFF);
        REQUIRE(open_copy(sizeof img, &pe, &err, &copy) == S_OK);
        CHECK(mm_pe_method_row(&pe, 1, &m) == S_OK && m.name_len == 0 && m.name[0] == 0);
        free(copy);
    }
    CHECK(mm_pe_open(NULL, img, 1, NULL) == E_POINTER);
}

static int write_seeds(const char *dir)
{
    int plus;
    for (plus = 0; plus < 2; plus++) {
        char path[4096];
        FILE *f;
        build(plus);
        snprintf(path, sizeof path, "%s/image%d.dll", dir, plus);
        f = fopen(path, "wb");
        REQUIRE(f != NULL);
        fwrite(img, 1, sizeof img, f);
        fclose(f);
    }
    CHECK(1);
    return check_done();
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--seeds"))
        return write_seeds(argv[2]);
    test_good(0);
    test_good(1);
    test_truncated();
    test_lies();
    test_bad_rvas();
    return check_done();
}
