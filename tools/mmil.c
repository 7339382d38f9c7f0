/* mmil: checks the IL method bodies of .NET assemblies with methodmalloc's
 * reader and encoder.
 *
 *   mmil verify [--skip-unmanaged] FILE...     decode and validate every body
 *   mmil roundtrip [--skip-unmanaged] FILE...  decode, re-encode, compare
 *   mmil dump FILE [TOKEN]                     print one method's body, or all
 *
 * A body is the one a MethodDef row with a non-zero RVA and IL code type
 * points to.  Exit status: 0 when every file was read and no body was
 * invalid (verify) or failed to round-trip; 1 otherwise; 2 for bad usage.
 * A file that is not a PE/CLI assembly is an error, unless --skip-unmanaged
 * is given and it is simply not managed (no PE signature or no CLI header):
 * then it is counted on the "files:" line and skipped.  A PE/CLI file whose
 * structures are broken is always an error. */
#include "methodmalloc_il.h"
#include "pe/pe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct counts {
    unsigned long bodies, tiny, fat, with_eh, invalid; /* verify */
    unsigned long same, identical, failed;             /* roundtrip */
};

struct file {
    const uint8_t *data;
    size_t size;
    void *map;
};

/* Maps path read-only; prints why not and returns -1 on failure. */
static int load(const char *path, struct file *f)
{
    struct stat st;
    int fd = open(path, O_RDONLY);
    f->data = NULL;
    f->size = 0;
    f->map = NULL;
    if (fd < 0 || fstat(fd, &st) != 0) {
        printf("%s: cannot open: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        printf("%s: not a regular file\n", path);
        close(fd);
        return -1;
    }
    f->size = (size_t)st.st_size;
    if (f->size) {
        f->map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (f->map == MAP_FAILED) {
            printf("%s: cannot map: %s\n", path, strerror(errno));
            close(fd);
            return -1;
        }
        f->data = f->map;
    }
    close(fd);
    return 0;
}

static void unload(struct file *f)
{
    if (f->map)
        munmap(f->map, f->size);
}

/* A growable clause array, so any body can be decoded in full. */
struct clauses {
    mm_il_clause *v;
    size_t cap;
};

static HRESULT decode_all(const uint8_t *p, size_t len, mm_il_body *b, struct clauses *c, mm_il_error *err)
{
    HRESULT hr = mm_il_decode(p, len, b, c->v, c->cap, err);
    if (hr == MM_E_IL_SMALL_BUFFER) {
        mm_il_clause *v = realloc(c->v, b->clause_count * sizeof *v);
        if (!v) {
            fprintf(stderr, "mmil: out of memory\n");
            exit(1);
        }
        c->v = v;
        c->cap = b->clause_count;
        hr = mm_il_decode(p, len, b, c->v, c->cap, err);
    }
    return hr;
}

/* Finds method rid's body: the checks of the file level (RVA inside the
 * file, a fat header 4-byte aligned as the runtime needs), then validate. */
static HRESULT locate(const mm_pe *pe, const mm_pe_method *m, const uint8_t **p, size_t *avail, mm_il_error *err)
{
    HRESULT hr = mm_pe_rva(pe, m->rva, p, avail, err);
    if (FAILED(hr))
        return hr;
    if ((**p & MM_IL_FORMAT_MASK) == MM_IL_FAT_FORMAT && m->rva % 4) {
        snprintf(err->message, sizeof err->message, "fat header at RVA 0x%x is not 4-byte aligned", m->rva);
        err->offset = 0;
        return err->code = MM_E_IL_HEADER;
    }
    return mm_il_validate(*p, *avail, err);
}

static int is_il_body(const mm_pe_method *m)
{
    return m->rva != 0 && (m->impl_flags & MM_PE_CODE_TYPE_MASK) == MM_PE_CODE_TYPE_IL;
}

static void report(const char *path, uint32_t rid, const mm_pe_method *m, const mm_il_error *err)
{
    printf("%s: 0x%08x %.*s (RVA 0x%x): offset 0x%x: %s\n", path, 0x06000000u | rid, (int)m->name_len, m->name,
           m->rva, err->offset, err->message);
}

static void verify_body(const char *path, const mm_pe *pe, uint32_t rid, const mm_pe_method *m, struct counts *n)
{
    const uint8_t *p;
    size_t avail;
    mm_il_error err;
    mm_il_body b;

    n->bodies++;
    if (FAILED(locate(pe, m, &p, &avail, &err))) {
        n->invalid++;
        report(path, rid, m, &err);
        return;
    }
    mm_il_decode(p, avail, &b, NULL, 0, NULL); /* only the counts: clauses not needed */
    if (b.header == MM_IL_HEADER_TINY)
        n->tiny++;
    else
        n->fat++;
    if (b.clause_count)
        n->with_eh++;
}

static int same_clauses(const mm_il_body *a, const mm_il_body *b)
{
    return a->clause_count == b->clause_count &&
           (a->clause_count == 0 || !memcmp(a->clauses, b->clauses, a->clause_count * sizeof *a->clauses));
}

static void roundtrip_body(const char *path, const mm_pe *pe, uint32_t rid, const mm_pe_method *m, struct counts *n,
                           struct clauses *c1, struct clauses *c2)
{
    const uint8_t *p;
    size_t avail, size;
    uint8_t *out;
    mm_il_error err;
    mm_il_body a, b;

    n->bodies++;
    if (FAILED(locate(pe, m, &p, &avail, &err)) || FAILED(decode_all(p, avail, &a, c1, &err))) {
        n->failed++;
        report(path, rid, m, &err);
        return;
    }
    /* Ask for the header and table form the original had, so the encoder
     * must reproduce them. */
    if (FAILED(mm_il_size(&a, &size, &err)) || !(out = malloc(size))) {
        n->failed++;
        report(path, rid, m, &err);
        return;
    }
    if (FAILED(mm_il_encode(&a, out, size, NULL, &err)) || FAILED(decode_all(out, size, &b, c2, &err))) {
        n->failed++;
        report(path, rid, m, &err);
    } else if (a.header != b.header || (a.flags & ~MM_IL_MORE_SECTS) != (b.flags & ~MM_IL_MORE_SECTS) ||
               a.max_stack != b.max_stack || a.local_var_sig_tok != b.local_var_sig_tok ||
               a.code_size != b.code_size || memcmp(a.code, b.code, a.code_size) || !same_clauses(&a, &b) ||
               (a.clause_count && a.eh_sections == 1 && a.eh_format != b.eh_format)) {
        n->failed++;
        snprintf(err.message, sizeof err.message, "re-encoded body differs from the original");
        err.offset = 0;
        report(path, rid, m, &err);
    } else {
        n->same++;
        if (size == a.size && !memcmp(p, out, size))
            n->identical++;
    }
    free(out);
}

/* Opens one file as an assembly; 1: go on, 0: skipped, -1: error. */
static int open_assembly(const char *path, struct file *f, mm_pe *pe, int skip_unmanaged, unsigned long *unmanaged)
{
    mm_il_error err;
    HRESULT hr;
    if (load(path, f) != 0)
        return -1;
    hr = mm_pe_open(pe, f->data, f->size, &err);
    if (SUCCEEDED(hr))
        return 1;
    unload(f);
    if (skip_unmanaged && (hr == MM_E_PE_NOT_PE || hr == MM_E_PE_NOT_CLI)) {
        ++*unmanaged;
        return 0;
    }
    printf("%s: not a valid .NET assembly: %s (file offset 0x%x)\n", path, err.message, err.offset);
    return -1;
}

static int run_all(int roundtrip, int argc, char **argv)
{
    struct counts total = {0};
    unsigned long managed = 0, unmanaged = 0, unreadable = 0;
    struct clauses c1 = {NULL, 0}, c2 = {NULL, 0};
    int skip_unmanaged = 0, i;

    if (argc > 0 && !strcmp(argv[0], "--skip-unmanaged")) {
        skip_unmanaged = 1;
        argc--;
        argv++;
    }
    if (argc == 0) {
        fprintf(stderr, "mmil: no files\n");
        return 2;
    }
    for (i = 0; i < argc; i++) {
        struct counts n = {0};
        struct file f;
        mm_pe pe;
        mm_pe_method m;
        uint32_t rid;
        int r = open_assembly(argv[i], &f, &pe, skip_unmanaged, &unmanaged);
        if (r < 0)
            unreadable++;
        if (r <= 0)
            continue;
        managed++;
        for (rid = 1; rid <= pe.method_count; rid++) {
            mm_pe_method_row(&pe, rid, &m);
            if (!is_il_body(&m))
                continue;
            if (roundtrip)
                roundtrip_body(argv[i], &pe, rid, &m, &n, &c1, &c2);
            else
                verify_body(argv[i], &pe, rid, &m, &n);
        }
        unload(&f);
        if (roundtrip)
            printf("%s: %lu bodies, %lu round-tripped, %lu byte-identical, %lu failed\n", argv[i], n.bodies, n.same,
                   n.identical, n.failed);
        else
            printf("%s: %lu bodies, %lu tiny, %lu fat, %lu with EH, %lu invalid\n", argv[i], n.bodies, n.tiny, n.fat,
                   n.with_eh, n.invalid);
        total.bodies += n.bodies, total.tiny += n.tiny, total.fat += n.fat, total.with_eh += n.with_eh;
        total.invalid += n.invalid, total.same += n.same, total.identical += n.identical, total.failed += n.failed;
    }
    free(c1.v);
    free(c2.v);
    printf("files: %lu managed, %lu not managed, %lu unreadable\n", managed, unmanaged, unreadable);
    if (roundtrip)
        printf("total: %lu bodies, %lu round-tripped, %lu byte-identical, %lu failed\n", total.bodies, total.same,
               total.identical, total.failed);
    else
        printf("total: %lu bodies, %lu tiny, %lu fat, %lu with EH, %lu invalid\n", total.bodies, total.tiny,
               total.fat, total.with_eh, total.invalid);
    return unreadable || total.invalid || total.failed ? 1 : 0;
}

/* ---- dump ---- */

static void dump_method(const mm_pe *pe, uint32_t rid, struct clauses *c)
{
    const uint8_t *p;
    size_t avail;
    mm_pe_method m;
    mm_il_error err, verr;
    mm_il_body b;
    uint32_t i;

    mm_pe_method_row(pe, rid, &m);
    printf("0x%08x %.*s  RVA 0x%x", 0x06000000u | rid, (int)m.name_len, m.name, m.rva);
    if (m.rva == 0) {
        printf("  (no body)\n");
        return;
    }
    if ((m.impl_flags & MM_PE_CODE_TYPE_MASK) != MM_PE_CODE_TYPE_IL) {
        printf("  (code type %u, not IL)\n", m.impl_flags & MM_PE_CODE_TYPE_MASK);
        return;
    }
    if (FAILED(mm_pe_rva(pe, m.rva, &p, &avail, &err))) {
        printf("\n  invalid: %s\n", err.message);
        return;
    }
    printf("  file offset 0x%zx\n", (size_t)(p - pe->data));
    if (FAILED(decode_all(p, avail, &b, c, &err))) {
        printf("  invalid: offset 0x%x: %s\n", err.offset, err.message);
        return;
    }
    if (b.header == MM_IL_HEADER_TINY)
        printf("  tiny header: code 0x%x bytes at +1, max stack 8", b.code_size);
    else
        printf("  fat header: flags 0x%03x%s%s, max stack %u, code 0x%x bytes at +12, locals 0x%08x", b.flags,
               b.flags & MM_IL_INIT_LOCALS ? " InitLocals" : "", b.flags & MM_IL_MORE_SECTS ? " MoreSects" : "",
               b.max_stack, b.code_size, b.local_var_sig_tok);
    printf(", body 0x%x bytes\n", b.size);
    for (i = 0; i < b.code_size; i++)
        printf("%s%02x%s", i % 16 ? " " : "    ", b.code[i], i % 16 == 15 || i + 1 == b.code_size ? "\n" : "");
    if (b.eh_sections)
        printf("  exception tables: %u (%s first), %u clauses\n", b.eh_sections,
               b.eh_format == MM_IL_EH_FAT ? "fat" : "small", b.clause_count);
    for (i = 0; i < b.clause_count; i++) {
        const mm_il_clause *k = &b.clauses[i];
        printf("    %u: %-7s try 0x%04x+0x%x handler 0x%04x+0x%x", i, mm_il_clause_kind_name(k->kind), k->try_offset,
               k->try_length, k->handler_offset, k->handler_length);
        if (k->kind == MM_IL_CLAUSE_CATCH)
            printf(" class 0x%08x\n", k->token_or_filter);
        else if (k->kind == MM_IL_CLAUSE_FILTER)
            printf(" filter 0x%04x\n", k->token_or_filter);
        else
            printf("\n");
    }
    if (FAILED(locate(pe, &m, &p, &avail, &verr)))
        printf("  invalid: offset 0x%x: %s\n", verr.offset, verr.message);
}

static int dump(int argc, char **argv)
{
    struct clauses c = {NULL, 0};
    unsigned long unmanaged = 0;
    struct file f;
    mm_pe pe;
    uint32_t rid, first = 1, last;

    if (argc < 1 || argc > 2) {
        fprintf(stderr, "usage: mmil dump FILE [TOKEN]\n");
        return 2;
    }
    if (open_assembly(argv[0], &f, &pe, 0, &unmanaged) <= 0)
        return 1;
    last = pe.method_count;
    if (argc == 2) {
        char *end;
        unsigned long t = strtoul(argv[1], &end, 0);
        /* A MethodDef token (0x06xxxxxx) or a bare row number. */
        if (*end || end == argv[1] || (t >> 24 != 0 && t >> 24 != 0x06) || (t & 0xFFFFFF) == 0 ||
            (t & 0xFFFFFF) > pe.method_count) {
            printf("%s: no method %s (MethodDef rows: %u)\n", argv[0], argv[1], pe.method_count);
            unload(&f);
            return 1;
        }
        first = last = (uint32_t)(t & 0xFFFFFF);
    }
    for (rid = first; rid <= last; rid++)
        dump_method(&pe, rid, &c);
    free(c.v);
    unload(&f);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: mmil verify [--skip-unmanaged] FILE...\n"
                    "       mmil roundtrip [--skip-unmanaged] FILE...\n"
                    "       mmil dump FILE [TOKEN]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (!strcmp(argv[1], "verify"))
        return run_all(0, argc - 2, argv + 2);
    if (!strcmp(argv[1], "roundtrip"))
        return run_all(1, argc - 2, argv + 2);
    if (!strcmp(argv[1], "dump"))
        return dump(argc - 2, argv + 2);
    return usage();
}
