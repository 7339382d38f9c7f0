/* mmil: checks the IL method bodies of .NET assemblies with methodmalloc's
 * reader, encoder and rewriter.
 *
 *   mmil verify [--skip-unmanaged] FILE...     decode and validate every body
 *   mmil roundtrip [--skip-unmanaged] FILE...  decode, re-encode, compare
 *   mmil dump FILE [TOKEN]                     print one method's body, or all
 *   mmil disasm FILE [TOKEN]                   list the instructions, ildasm style
 *                                              (FILE may be one raw body: mmrun --dump-bodies)
 *   mmil stack [--skip-unmanaged] FILE...      check every body's evaluation stack
 *   mmil rewrite-test [--skip-unmanaged] FILE... emit unedited (byte-identical?),
 *                                              then with a nop before every
 *                                              instruction, and check the result
 *
 * A body is the one a MethodDef row with a non-zero RVA and IL code type
 * points to.  Exit status: 0 when every file was read and no body was
 * invalid (verify) or failed to round-trip; 1 otherwise; 2 for bad usage.
 * A file that is not a PE/CLI assembly is an error, unless --skip-unmanaged
 * is given and it is simply not managed (no PE signature or no CLI header):
 * then it is counted on the "files:" line and skipped.  A PE/CLI file whose
 * structures are broken is always an error. */
#include "methodmalloc_il.h"
#include "methodmalloc_ilrw.h"
#include "pe/meta.h"
#include "pe/pe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <io.h>
#include <windows.h>
#else
#include <sys/mman.h>
#endif

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
#if defined(_WIN32)
        HANDLE mapping = CreateFileMappingA((HANDLE)_get_osfhandle(fd), NULL, PAGE_READONLY, 0, 0, NULL);
        f->map = mapping ? MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0) : NULL;
        unsigned long why = GetLastError();
        if (mapping)
            CloseHandle(mapping);
        if (!f->map) {
            printf("%s: cannot map: Windows error %lu\n", path, why);
            close(fd);
            return -1;
        }
#else
        f->map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (f->map == MAP_FAILED) {
            f->map = NULL;
            printf("%s: cannot map: %s\n", path, strerror(errno));
            close(fd);
            return -1;
        }
#endif
        f->data = f->map;
    }
    close(fd);
    return 0;
}

static void unload(struct file *f)
{
#if defined(_WIN32)
    if (f->map)
        UnmapViewOfFile(f->map);
#else
    if (f->map)
        munmap(f->map, f->size);
#endif
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

/* The arguments of the commands over files: [--skip-unmanaged] FILE...
 * Returns 0, or -1 after saying there are no files. */
static int file_args(int *argc, char ***argv, int *skip_unmanaged)
{
    *skip_unmanaged = *argc > 0 && !strcmp((*argv)[0], "--skip-unmanaged");
    *argc -= *skip_unmanaged;
    *argv += *skip_unmanaged;
    if (*argc == 0) {
        fprintf(stderr, "mmil: no files\n");
        return -1;
    }
    return 0;
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

/* ---- The rewriter's commands: disasm, stack, rewrite-test ---- */

static HRESULT resolve_sig(void *ctx, uint32_t token, const uint8_t **sig, size_t *len)
{
    return mm_meta_sig(ctx, token, sig, len);
}

/* Opens the metadata of an opened assembly; prints why not. */
static int open_meta(const char *path, const mm_pe *pe, mm_meta *md)
{
    mm_il_error err;
    if (FAILED(mm_meta_open(md, pe, &err))) {
        printf("%s: not a valid .NET assembly: %s (file offset 0x%x)\n", path, err.message, err.offset);
        return -1;
    }
    return 0;
}

static void stack_options(const mm_meta *md, uint32_t rid, mm_il_stack_options *o)
{
    memset(o, 0, sizeof *o);
    o->resolve = resolve_sig;
    o->ctx = (void *)md;
    if (FAILED(mm_meta_sig(md, 0x06000000u | rid, &o->method_sig, &o->method_sig_len)))
        o->method_sig = NULL;
}

static void print_operand(const mm_meta *md, const mm_il_instr *i)
{
    const mm_il_opcode_info *o = mm_il_opcode(i->opcode);
    char name[256];
    uint32_t k;
    switch (o->operand) {
    case MM_IL_OP_NONE: break;
    case MM_IL_OP_I1:
    case MM_IL_OP_U1:
    case MM_IL_OP_VAR1:
    case MM_IL_OP_VAR2:
    case MM_IL_OP_I4: printf(" %lld", (long long)i->arg.i); break;
    case MM_IL_OP_I8: printf(" 0x%llx", (unsigned long long)i->arg.i); break;
    case MM_IL_OP_R4: printf(" %.9g", (double)i->arg.r4); break;
    case MM_IL_OP_R8: printf(" %.17g", i->arg.r8); break;
    case MM_IL_OP_TOKEN:
        printf(" 0x%08x", i->arg.token);
        if (md && i->arg.token >> 24 != 0x70) /* user strings: no name */
            printf("  // %s", mm_meta_name(md, i->arg.token, name, sizeof name));
        break;
    case MM_IL_OP_BR1:
    case MM_IL_OP_BR4: printf(" IL_%04x", i->target->offset); break;
    case MM_IL_OP_SWITCH:
        printf(" (");
        for (k = 0; k < i->target_count; k++)
            printf("%sIL_%04x", k ? ", " : "", i->targets[k]->offset);
        printf(")");
        break;
    }
}

/* The header, clauses and instructions of a method read into mt; md (may
 * be NULL: tokens without names) names tokens, rid its MethodDef row for
 * its own signature. */
static void print_method(const mm_meta *md, uint32_t rid, mm_il_method *mt)
{
    mm_il_error err;
    mm_il_method_header h;
    mm_il_stack_options so;
    mm_il_stack_result sr;
    const mm_il_instr *i;
    char name[256];
    uint32_t k;

    mm_il_get_header(mt, &h);
    if (md)
        stack_options(md, rid, &so);
    else
        memset(&so, 0, sizeof so); /* no metadata: calls cannot be resolved */
    printf("  .maxstack %u", h.max_stack);
    if (SUCCEEDED(mm_il_stack_check(mt, &so, &sr, NULL, &err)))
        printf("  // computed %u", sr.max_stack);
    else
        printf("  // stack error: %s", err.message);
    printf("\n");
    if (h.local_var_sig_tok)
        printf("  .locals 0x%08x%s\n", h.local_var_sig_tok, h.flags & MM_IL_INIT_LOCALS ? " init" : "");
    for (k = 0; k < mm_il_clause_count(mt); k++) {
        const mm_il_eh *c = mm_il_clause_at(mt, k);
        printf("  .try IL_%04x to IL_%04x %s", c->try_start->offset,
               c->try_end ? c->try_end->offset : mm_il_code_size(mt), mm_il_clause_kind_name(c->kind));
        if (c->kind == MM_IL_CLAUSE_CATCH)
            printf(" 0x%08x (%s)", c->class_token, md ? mm_meta_name(md, c->class_token, name, sizeof name) : "?");
        else if (c->kind == MM_IL_CLAUSE_FILTER)
            printf(" IL_%04x", c->filter_start->offset);
        printf(" handler IL_%04x to IL_%04x\n", c->handler_start->offset,
               c->handler_end ? c->handler_end->offset : mm_il_code_size(mt));
    }
    for (i = mm_il_first(mt); i; i = i->next) {
        uint32_t off = i->offset;
        for (k = 0; k < i->prefix_count; k++) {
            const mm_il_opcode_info *po = mm_il_opcode(i->prefix[k].opcode);
            printf("  IL_%04x:  %s", off, po->name);
            off += 2;
            if (po->operand == MM_IL_OP_U1) {
                printf(" %u", i->prefix[k].operand);
                off += 1;
            } else if (po->operand == MM_IL_OP_TOKEN) {
                printf(" 0x%08x  // %s", i->prefix[k].operand,
                       md ? mm_meta_name(md, i->prefix[k].operand, name, sizeof name) : "?");
                off += 4;
            }
            printf("\n");
        }
        if (mm_il_opcode(i->opcode)->operand == MM_IL_OP_NONE) {
            printf("  IL_%04x:  %s", off, mm_il_opcode(i->opcode)->name);
        } else {
            printf("  IL_%04x:  %-10s", off, mm_il_opcode(i->opcode)->name);
            print_operand(md, i);
        }
        printf("\n");
    }
    printf("\n");
}

static void disasm_method(const mm_pe *pe, const mm_meta *md, uint32_t rid, mm_il_method *mt)
{
    const uint8_t *p;
    size_t avail;
    mm_pe_method m;
    mm_il_error err;
    char name[256];

    mm_pe_method_row(pe, rid, &m);
    printf(".method 0x%08x %s", 0x06000000u | rid, mm_meta_name(md, 0x06000000u | rid, name, sizeof name));
    if (!is_il_body(&m)) {
        printf("  (no IL body)\n\n");
        return;
    }
    printf("  RVA 0x%x\n", m.rva);
    if (FAILED(locate(pe, &m, &p, &avail, &err)) || FAILED(mm_il_method_read(mt, p, avail, &err))) {
        printf("  invalid: offset 0x%x: %s\n\n", err.offset, err.message);
        return;
    }
    print_method(md, rid, mt);
}

/* A file that is one method body (a .il file of mmrun --dump-bodies), not
 * an assembly: it does not start with "MZ". */
static int is_raw_body(const char *path)
{
    FILE *f = fopen(path, "rb");
    int c0 = f ? fgetc(f) : EOF, c1 = f ? fgetc(f) : EOF;
    if (f)
        fclose(f);
    return c0 != EOF && !(c0 == 'M' && c1 == 'Z');
}

/* disasm of a raw body: the bytes exactly as a profiler handed them to
 * SetILFunctionBody, tokens unnamed (no metadata at hand). */
static int disasm_raw(const char *path)
{
    static uint8_t buf[1 << 20];
    mm_il_method *mt;
    mm_il_error err;
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    if (!n) {
        printf("%s: empty or unreadable\n", path);
        return 1;
    }
    if (FAILED(mm_il_method_create(&mt)))
        return 1;
    printf(".method %s  (%zu bytes)\n", path, n);
    if (FAILED(mm_il_method_read(mt, buf, n, &err))) {
        printf("  invalid: offset 0x%x: %s\n", err.offset, err.message);
        mm_il_method_destroy(mt);
        return 1;
    }
    print_method(NULL, 0, mt);
    mm_il_method_destroy(mt);
    return 0;
}

static int disasm(int argc, char **argv)
{
    unsigned long unmanaged = 0;
    struct file f;
    mm_pe pe;
    mm_meta md;
    mm_il_method *mt;
    uint32_t rid, first = 1, last;

    if (argc < 1 || argc > 2) {
        fprintf(stderr, "usage: mmil disasm FILE [TOKEN]\n       mmil disasm BODY.il\n");
        return 2;
    }
    if (is_raw_body(argv[0]))
        return disasm_raw(argv[0]);
    if (open_assembly(argv[0], &f, &pe, 0, &unmanaged) <= 0)
        return 1;
    if (open_meta(argv[0], &pe, &md) != 0 || FAILED(mm_il_method_create(&mt))) {
        unload(&f);
        return 1;
    }
    last = pe.method_count;
    if (argc == 2) {
        char *end;
        unsigned long t = strtoul(argv[1], &end, 0);
        if (*end || end == argv[1] || (t >> 24 != 0 && t >> 24 != 0x06) || (t & 0xFFFFFF) == 0 ||
            (t & 0xFFFFFF) > pe.method_count) {
            printf("%s: no method %s (MethodDef rows: %u)\n", argv[0], argv[1], pe.method_count);
            mm_il_method_destroy(mt);
            unload(&f);
            return 1;
        }
        first = last = (uint32_t)(t & 0xFFFFFF);
    }
    for (rid = first; rid <= last; rid++)
        disasm_method(&pe, &md, rid, mt);
    mm_il_method_destroy(mt);
    unload(&f);
    return 0;
}

struct rw_counts {
    unsigned long bodies, checked, stack_errors, too_small; /* stack */
    unsigned long identical, rewritten, failed;             /* rewrite-test */
};

/* An instruction as it was before the rewrite, for comparing after. */
struct snap {
    mm_il_instr copy;
    uint32_t target;   /* index of the branch target */
    uint32_t *switches; /* indices of the switch targets */
};

struct rw_scratch {
    mm_il_method *a, *b;
    uint8_t *out;
    size_t out_cap;
    struct snap *snaps;
    size_t snap_cap;
    uint32_t *idx;       /* switch target indices of all snapshots */
    size_t idx_cap;
    mm_il_instr **list;  /* the rewritten body's instructions by index */
    size_t list_cap;
    mm_il_eh *clauses;   /* the original clauses */
    size_t clause_cap;
};

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n <= *cap)
        return 0;
    void *v = realloc(*p, n * size);
    if (!v) {
        fprintf(stderr, "mmil: out of memory\n");
        exit(1);
    }
    *p = v;
    *cap = n;
    return 0;
}

static void stack_body(const char *path, const mm_pe *pe, const mm_meta *md, uint32_t rid, const mm_pe_method *m,
                       struct rw_counts *n, struct rw_scratch *s)
{
    const uint8_t *p;
    size_t avail;
    mm_il_error err;
    mm_il_stack_options so;
    mm_il_stack_result sr;
    mm_il_method_header h;

    n->bodies++;
    if (FAILED(locate(pe, m, &p, &avail, &err)) || FAILED(mm_il_method_read(s->a, p, avail, &err))) {
        n->stack_errors++;
        report(path, rid, m, &err);
        return;
    }
    stack_options(md, rid, &so);
    if (FAILED(mm_il_stack_check(s->a, &so, &sr, NULL, &err))) {
        n->stack_errors++;
        report(path, rid, m, &err);
        return;
    }
    n->checked++;
    mm_il_get_header(s->a, &h);
    if (sr.max_stack > h.max_stack) {
        n->too_small++;
        snprintf(err.message, sizeof err.message, "max stack %u in the header, %u needed", h.max_stack, sr.max_stack);
        err.offset = 0;
        report(path, rid, m, &err);
    }
}

/* Why the rewritten body b differs from the snapshot of a, or NULL. */
static const char *compare(struct rw_scratch *s, uint32_t count, const mm_il_eh *clauses, uint32_t nclauses)
{
    const mm_il_instr *j;
    uint32_t k = 0, c;
    if (mm_il_count(s->b) != 2 * count)
        return "instruction count is not twice the original";
    grow((void **)&s->list, &s->list_cap, 2 * (size_t)count + 1, sizeof *s->list);
    for (j = mm_il_first(s->b); j; j = j->next, k++) {
        s->list[k] = (mm_il_instr *)j;
        s->list[k]->index = k;
    }
    for (k = 0; k < count; k++) {
        const mm_il_instr *nop = s->list[2 * k], *x = s->list[2 * k + 1];
        const mm_il_instr *o = &s->snaps[k].copy;
        const mm_il_opcode_info *info = mm_il_opcode(o->opcode);
        if (nop->opcode != MM_IL_NOP || nop->prefix_count)
            return "an inserted nop is missing";
        if (x->opcode != o->opcode &&
            !(info->operand == MM_IL_OP_BR1 &&
              x->opcode == (o->opcode == MM_IL_LEAVE_S ? MM_IL_LEAVE : o->opcode + 0x0D)))
            return "an opcode changed";
        if (x->prefix_count != o->prefix_count || memcmp(x->prefix, o->prefix, sizeof o->prefix[0] * o->prefix_count))
            return "prefixes changed";
        switch (info->operand) {
        case MM_IL_OP_BR1:
        case MM_IL_OP_BR4:
            if (x->target->index != 2 * s->snaps[k].target)
                return "a branch target moved";
            break;
        case MM_IL_OP_SWITCH:
            if (x->target_count != o->target_count)
                return "a switch lost targets";
            for (c = 0; c < o->target_count; c++)
                if (x->targets[c]->index != 2 * s->snaps[k].switches[c])
                    return "a switch target moved";
            break;
        case MM_IL_OP_R4:
            if (memcmp(&x->arg.r4, &o->arg.r4, 4))
                return "an operand changed";
            break;
        case MM_IL_OP_R8:
            if (memcmp(&x->arg.r8, &o->arg.r8, 8))
                return "an operand changed";
            break;
        case MM_IL_OP_TOKEN:
            if (x->arg.token != o->arg.token)
                return "an operand changed";
            break;
        case MM_IL_OP_NONE: break;
        default:
            if (x->arg.i != o->arg.i)
                return "an operand changed";
            break;
        }
    }
    if (mm_il_clause_count(s->b) != nclauses)
        return "clause count changed";
    for (c = 0; c < nclauses; c++) {
        const mm_il_eh *x = mm_il_clause_at(s->b, c), *o = &clauses[c];
        /* o's boundaries hold original indices, in the index fields of the snapshot order. */
#define SAME(f) ((x->f == NULL && o->f == NULL) || (x->f && o->f && x->f->index == 2 * o->f->index))
        if (x->kind != o->kind || (x->kind != MM_IL_CLAUSE_FILTER && x->class_token != o->class_token) || !SAME(try_start) ||
            !SAME(try_end) || !SAME(handler_start) || !SAME(handler_end) ||
            (x->kind == MM_IL_CLAUSE_FILTER && !SAME(filter_start)))
            return "a clause changed";
#undef SAME
    }
    return NULL;
}

static void rewrite_body(const char *path, const mm_pe *pe, const mm_meta *md, uint32_t rid, const mm_pe_method *m,
                         struct rw_counts *n, struct rw_scratch *s)
{
    const uint8_t *p;
    size_t avail, size, written;
    mm_il_error err;
    mm_il_stack_options so;
    mm_il_stack_result r0, r1;
    mm_il_body orig;
    mm_il_instr *i;
    uint32_t count, nclauses, k, c, nidx = 0;
    const char *why;

    n->bodies++;
    if (FAILED(locate(pe, m, &p, &avail, &err)) || FAILED(mm_il_method_read(s->a, p, avail, &err)))
        goto fail;
    mm_il_decode(p, avail, &orig, NULL, 0, NULL); /* its size, for the identity check */
    stack_options(md, rid, &so);
    if (FAILED(mm_il_stack_check(s->a, &so, &r0, NULL, &err)))
        goto fail;

    /* 1. No edit: the same bytes. */
    if (FAILED(mm_il_method_size(s->a, &size, &err)))
        goto fail;
    grow((void **)&s->out, &s->out_cap, size, 1);
    if (FAILED(mm_il_method_emit(s->a, s->out, size, &written, &err)))
        goto fail;
    if (written != orig.size || memcmp(s->out, p, written)) {
        snprintf(err.message, sizeof err.message, "emitted without an edit, the body differs from the original");
        err.offset = 0;
        goto fail;
    }
    n->identical++;

    /* 2. A nop before every instruction, every reference moved to it. */
    count = mm_il_count(s->a);
    nclauses = mm_il_clause_count(s->a);
    grow((void **)&s->snaps, &s->snap_cap, count, sizeof *s->snaps);
    for (i = mm_il_first(s->a), k = 0; i; i = i->next, k++)
        if (i->opcode == MM_IL_SWITCH)
            nidx += i->target_count;
    grow((void **)&s->idx, &s->idx_cap, nidx + 1, sizeof *s->idx);
    nidx = 0;
    for (i = mm_il_first(s->a), k = 0; i; i = i->next, k++) {
        struct snap *sn = &s->snaps[k];
        sn->copy = *i;
        sn->target = i->target ? i->target->index : 0;
        sn->switches = s->idx + nidx;
        if (i->opcode == MM_IL_SWITCH)
            for (c = 0; c < i->target_count; c++)
                s->idx[nidx++] = i->targets[c]->index;
    }
    grow((void **)&s->clauses, &s->clause_cap, nclauses + 1, sizeof *s->clauses);
    for (c = 0; c < nclauses; c++)
        s->clauses[c] = *mm_il_clause_at(s->a, c);
    for (i = mm_il_first(s->a); i; i = i->next) {
        mm_il_instr *nop = mm_il_new(s->a, MM_IL_NOP);
        if (!nop) {
            snprintf(err.message, sizeof err.message, "out of memory");
            goto fail;
        }
        if (FAILED(mm_il_insert_before(s->a, i, nop, MM_IL_RETARGET, &err)))
            goto fail;
    }
    if (FAILED(mm_il_method_size(s->a, &size, &err)))
        goto fail;
    grow((void **)&s->out, &s->out_cap, size, 1);
    if (FAILED(mm_il_method_emit(s->a, s->out, size, &written, &err)) || FAILED(mm_il_validate(s->out, written, &err)) ||
        FAILED(mm_il_method_read(s->b, s->out, written, &err)) || FAILED(mm_il_stack_check(s->b, &so, &r1, NULL, &err)))
        goto fail;
    if (r1.max_stack != r0.max_stack) {
        snprintf(err.message, sizeof err.message, "rewritten: max stack %u, the original %u", r1.max_stack, r0.max_stack);
        err.offset = 0;
        goto fail;
    }
    if ((why = compare(s, count, s->clauses, nclauses))) {
        snprintf(err.message, sizeof err.message, "rewritten: %s", why);
        err.offset = 0;
        goto fail;
    }
    n->rewritten++;
    return;
fail:
    n->failed++;
    report(path, rid, m, &err);
}

/* ---- the commands over files ---- */

/* What a command over files does with each IL body (md only with
 * need_meta), and after each file. */
struct walker {
    int need_meta;
    void (*body)(void *ctx, const char *path, const mm_pe *pe, const mm_meta *md, uint32_t rid,
                 const mm_pe_method *m);
    void (*file_done)(void *ctx, const char *path);
    void *ctx;
};

/* Runs w over [--skip-unmanaged] FILE..., then prints how many files were
 * managed, not managed and unreadable.  Returns the number unreadable, or
 * -1 after saying there are no files. */
static long walk_files(int argc, char **argv, const struct walker *w)
{
    unsigned long managed = 0, unmanaged = 0, unreadable = 0;
    int skip_unmanaged = 0, i;

    if (file_args(&argc, &argv, &skip_unmanaged) != 0)
        return -1;
    for (i = 0; i < argc; i++) {
        struct file f;
        mm_pe pe;
        mm_meta md;
        mm_pe_method m;
        uint32_t rid;
        int r = open_assembly(argv[i], &f, &pe, skip_unmanaged, &unmanaged);
        if (r > 0 && w->need_meta && open_meta(argv[i], &pe, &md) != 0) {
            unload(&f);
            r = -1;
        }
        if (r < 0)
            unreadable++;
        if (r <= 0)
            continue;
        managed++;
        for (rid = 1; rid <= pe.method_count; rid++) {
            mm_pe_method_row(&pe, rid, &m);
            if (is_il_body(&m))
                w->body(w->ctx, argv[i], &pe, w->need_meta ? &md : NULL, rid, &m);
        }
        unload(&f);
        w->file_done(w->ctx, argv[i]);
    }
    printf("files: %lu managed, %lu not managed, %lu unreadable\n", managed, unmanaged, unreadable);
    return (long)unreadable;
}

/* verify and roundtrip */
struct all_run {
    int roundtrip;
    struct counts n, total;
    struct clauses c1, c2;
};

static void all_body(void *ctx, const char *path, const mm_pe *pe, const mm_meta *md, uint32_t rid,
                     const mm_pe_method *m)
{
    struct all_run *a = ctx;
    (void)md;
    if (a->roundtrip)
        roundtrip_body(path, pe, rid, m, &a->n, &a->c1, &a->c2);
    else
        verify_body(path, pe, rid, m, &a->n);
}

static void all_file_done(void *ctx, const char *path)
{
    struct all_run *a = ctx;
    struct counts *n = &a->n, *t = &a->total;
    if (a->roundtrip)
        printf("%s: %lu bodies, %lu round-tripped, %lu byte-identical, %lu failed\n", path, n->bodies, n->same,
               n->identical, n->failed);
    else
        printf("%s: %lu bodies, %lu tiny, %lu fat, %lu with EH, %lu invalid\n", path, n->bodies, n->tiny, n->fat,
               n->with_eh, n->invalid);
    t->bodies += n->bodies, t->tiny += n->tiny, t->fat += n->fat, t->with_eh += n->with_eh;
    t->invalid += n->invalid, t->same += n->same, t->identical += n->identical, t->failed += n->failed;
    memset(n, 0, sizeof *n);
}

static int run_all(int roundtrip, int argc, char **argv)
{
    struct all_run a;
    struct walker w = {0, all_body, all_file_done, &a};
    long unreadable;

    memset(&a, 0, sizeof a);
    a.roundtrip = roundtrip;
    unreadable = walk_files(argc, argv, &w);
    free(a.c1.v);
    free(a.c2.v);
    if (unreadable < 0)
        return 2;
    if (roundtrip)
        printf("total: %lu bodies, %lu round-tripped, %lu byte-identical, %lu failed\n", a.total.bodies,
               a.total.same, a.total.identical, a.total.failed);
    else
        printf("total: %lu bodies, %lu tiny, %lu fat, %lu with EH, %lu invalid\n", a.total.bodies, a.total.tiny,
               a.total.fat, a.total.with_eh, a.total.invalid);
    return unreadable || a.total.invalid || a.total.failed ? 1 : 0;
}

/* stack and rewrite-test */
struct rw_run {
    int rewrite;
    struct rw_counts n, total;
    struct rw_scratch s;
};

static void rw_body(void *ctx, const char *path, const mm_pe *pe, const mm_meta *md, uint32_t rid,
                    const mm_pe_method *m)
{
    struct rw_run *r = ctx;
    if (r->rewrite)
        rewrite_body(path, pe, md, rid, m, &r->n, &r->s);
    else
        stack_body(path, pe, md, rid, m, &r->n, &r->s);
}

static void rw_file_done(void *ctx, const char *path)
{
    struct rw_run *r = ctx;
    struct rw_counts *n = &r->n, *t = &r->total;
    if (r->rewrite)
        printf("%s: %lu bodies, %lu identical, %lu rewritten, %lu failed\n", path, n->bodies, n->identical,
               n->rewritten, n->failed);
    else
        printf("%s: %lu bodies, %lu checked, %lu stack errors, %lu max_stack too small\n", path, n->bodies,
               n->checked, n->stack_errors, n->too_small);
    t->bodies += n->bodies, t->checked += n->checked, t->stack_errors += n->stack_errors;
    t->too_small += n->too_small, t->identical += n->identical, t->rewritten += n->rewritten;
    t->failed += n->failed;
    memset(n, 0, sizeof *n);
}

static int run_rw(int rewrite, int argc, char **argv)
{
    struct rw_run r;
    struct walker w = {1, rw_body, rw_file_done, &r};
    long unreadable;

    memset(&r, 0, sizeof r);
    r.rewrite = rewrite;
    if (FAILED(mm_il_method_create(&r.s.a)) || FAILED(mm_il_method_create(&r.s.b))) {
        mm_il_method_destroy(r.s.a);
        fprintf(stderr, "mmil: out of memory\n");
        return 1;
    }
    unreadable = walk_files(argc, argv, &w);
    mm_il_method_destroy(r.s.a);
    mm_il_method_destroy(r.s.b);
    free(r.s.out);
    free(r.s.snaps);
    free(r.s.idx);
    free(r.s.list);
    free(r.s.clauses);
    if (unreadable < 0)
        return 2;
    if (rewrite)
        printf("total: %lu bodies, %lu identical, %lu rewritten, %lu failed\n", r.total.bodies, r.total.identical,
               r.total.rewritten, r.total.failed);
    else
        printf("total: %lu bodies, %lu checked, %lu stack errors, %lu max_stack too small\n", r.total.bodies,
               r.total.checked, r.total.stack_errors, r.total.too_small);
    return unreadable || r.total.stack_errors || r.total.failed ? 1 : 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: mmil verify [--skip-unmanaged] FILE...\n"
                    "       mmil roundtrip [--skip-unmanaged] FILE...\n"
                    "       mmil dump FILE [TOKEN]\n"
                    "       mmil disasm FILE [TOKEN]\n"
                    "       mmil stack [--skip-unmanaged] FILE...\n"
                    "       mmil rewrite-test [--skip-unmanaged] FILE...\n");
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
    if (!strcmp(argv[1], "disasm"))
        return disasm(argc - 2, argv + 2);
    if (!strcmp(argv[1], "stack"))
        return run_rw(0, argc - 2, argv + 2);
    if (!strcmp(argv[1], "rewrite-test"))
        return run_rw(1, argc - 2, argv + 2);
    return usage();
}
