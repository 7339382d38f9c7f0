/* The core benchmark: methodmalloc against glibc malloc (where CoreCLR's
 * Alloc ends), mimalloc and a plain atomic bump pointer into memory advised
 * for huge pages (the least any allocator called through the vtable from
 * several threads pays), each behind an IMethodMalloc vtable and called
 * through it, on IL-body-sized requests (log-uniform 12..2048 bytes, fixed
 * seed).  Prints one table of medians and ratios.  Each timed run is a fresh
 * child process, so every allocator starts with no memory of its own and
 * pays its own page faults (from the same state of the machine's memory:
 * settle).  Beside them, the
 * limit: the same bytes written where a bump pointer with methodmalloc's
 * alignment puts them, with no allocator at all, into a fresh region advised
 * for huge pages (the page faults nobody can avoid, where the system gives
 * huge pages) and into one faulted in beforehand (the writing alone).  The
 * alloc + write runs of all of them take turns, round after round, so that a
 * change in the machine's load or memory touches every column alike; ratios
 * to the limit are medians of each round's ratio.
 *
 * `bench_alloc --fill` prints only the alloc + write rows. */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "methodmalloc.h"

enum { BODIES = 1000000, RUNS = 9, MODULES = 2000 };

static uint32_t *sizes; /* BODIES request sizes */
static uint64_t requested;
static unsigned char body[2048]; /* what is written into each block */

/* ---- the allocators, each an IMethodMalloc ---- */

static HRESULT STDMETHODCALLTYPE no_qi(IMethodMalloc *This, REFIID riid, void **ppv)
{
    (void)This;
    (void)riid;
    *ppv = NULL;
    return E_NOINTERFACE;
}
static ULONG STDMETHODCALLTYPE no_ref(IMethodMalloc *This)
{
    (void)This;
    return 1;
}

static PVOID STDMETHODCALLTYPE glibc_Alloc(IMethodMalloc *This, ULONG cb)
{
    (void)This;
    return malloc(cb);
}
/* Debian's libmimalloc exports malloc too: linked normally it would replace
 * glibc's for the whole program.  Loaded locally, only mi_malloc is used. */
static void *(*mi_malloc)(size_t);
static void load_mimalloc(void)
{
    void *h = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL);
    if (h)
        *(void **)&mi_malloc = dlsym(h, "mi_malloc");
    if (!mi_malloc) {
        fprintf(stderr, "libmimalloc.so.2 not found: install Debian's libmimalloc2.0 (libmimalloc-dev)\n");
        exit(2);
    }
}
static PVOID STDMETHODCALLTYPE mimalloc_Alloc(IMethodMalloc *This, ULONG cb)
{
    (void)This;
    return mi_malloc(cb);
}

static _Atomic uintptr_t bump_cur;
static PVOID STDMETHODCALLTYPE bump_Alloc(IMethodMalloc *This, ULONG cb)
{
    (void)This;
    return (PVOID)atomic_fetch_add_explicit(&bump_cur, ((uintptr_t)cb + 7) & ~(uintptr_t)7, memory_order_relaxed);
}
/* The loop's own cost, for instruction counts: a call that does nothing. */
static PVOID STDMETHODCALLTYPE null_Alloc(IMethodMalloc *This, ULONG cb)
{
    (void)This;
    (void)cb;
    return NULL;
}

static const IMethodMallocVtbl glibc_vtbl = {no_qi, no_ref, no_ref, glibc_Alloc};
static const IMethodMallocVtbl mimalloc_vtbl = {no_qi, no_ref, no_ref, mimalloc_Alloc};
static const IMethodMallocVtbl bump_vtbl = {no_qi, no_ref, no_ref, bump_Alloc};
static const IMethodMallocVtbl null_vtbl = {no_qi, no_ref, no_ref, null_Alloc};
static IMethodMalloc glibc_obj = {&glibc_vtbl}, mimalloc_obj = {&mimalloc_vtbl}, bump_obj = {&bump_vtbl},
                     null_obj = {&null_vtbl};

enum { MM, GLIBC, MIMALLOC, BUMP, KINDS, FRESH = KINDS, PREFAULTED, FILL_KINDS };
static const char *const kind_name[FILL_KINDS] = {"methodmalloc", "glibc malloc", "mimalloc", "bump pointer",
                                                  "fresh huge pages", "pre-faulted"};

static int anchor;
static mm_module *module;

static IMethodMalloc *make(int kind)
{
    IMethodMalloc *mal = NULL;
    switch (kind) {
    case MM:
        if (mm_module_open(&anchor, NULL, &module) != S_OK || mm_module_allocator(module, &mal) != S_OK) {
            fprintf(stderr, "mm_module_open failed\n");
            exit(2);
        }
        return mal;
    case GLIBC:
        return &glibc_obj;
    case MIMALLOC:
        return &mimalloc_obj;
    default: {
        size_t huge = (size_t)2 << 20, len = (size_t)1 << 32;
        char *r = mmap(NULL, len + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (r == MAP_FAILED)
            exit(2);
        r = (char *)(((uintptr_t)r + huge - 1) & ~(uintptr_t)(huge - 1));
#ifdef MADV_HUGEPAGE
        (void)madvise(r, len, MADV_HUGEPAGE);
#endif
        atomic_store(&bump_cur, (uintptr_t)r);
        return &bump_obj;
    }
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (size_t)sysconf(_SC_PAGESIZE);
}

/* The process's CPU time: on a shared machine, the wall time also holds
 * the time other programs ran. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_minflt;
}

/* Allocates and writes bodies [from, to); returns 0 if any Alloc failed. */
static int fill(IMethodMalloc *mal, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        void *p = mal->lpVtbl->Alloc(mal, sizes[i]);
        if (!p)
            return 0;
        memcpy(p, body, sizes[i]);
    }
    return 1;
}

struct share {
    IMethodMalloc *mal;
    size_t from, to;
    int ok;
};
static void *fill_thread(void *arg)
{
    struct share *s = arg;
    s->ok = fill(s->mal, s->from, s->to);
    return NULL;
}

/* Runs fn in a fresh child; the child writes doubles back through a pipe. */
static int in_child(void (*fn)(int kind, double *out), int kind, double *out, int n)
{
    int fd[2];
    if (pipe(fd) != 0)
        return 0;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        double r[8] = {0};
        fn(kind, r);
        ssize_t w = write(fd[1], r, sizeof(double) * (size_t)n);
        _exit(w == (ssize_t)(sizeof(double) * (size_t)n) ? 0 : 1);
    }
    close(fd[1]);
    ssize_t got = read(fd[0], out, sizeof(double) * (size_t)n);
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    return got == (ssize_t)(sizeof(double) * (size_t)n) && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The limit: writes the bodies at the places a bump pointer aligned to
 * MM_DEFAULT_ALIGNMENT gives them, in a region on a huge page boundary
 * advised for huge pages; pre-faulted first when `prefault`.  out: the
 * seconds, minor page faults and CPU seconds of the writing. */
static void write_limit(int prefault, double *out)
{
    size_t huge = (size_t)2 << 20, align = MM_DEFAULT_ALIGNMENT, len = 0;
    for (size_t i = 0; i < BODIES; i++)
        len += (sizes[i] + align - 1) & ~(align - 1);
    len = (len + huge - 1) & ~(huge - 1);
    char *map = mmap(NULL, len + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED)
        exit(2);
    char *r = (char *)(((uintptr_t)map + huge - 1) & ~(uintptr_t)(huge - 1));
#ifdef MADV_HUGEPAGE
    (void)madvise(r, len, MADV_HUGEPAGE);
#endif
    if (prefault)
        memset(r, 0, len);
    double t = now(), cpu = cpu_now(), faults = minor_faults();
    char *at = r;
    for (size_t i = 0; i < BODIES; i++) {
        memcpy(at, body, sizes[i]);
        at += (sizes[i] + align - 1) & ~(align - 1);
    }
    out[0] = now() - t;
    out[3] = minor_faults() - faults;
    out[4] = cpu_now() - cpu;
    /* Something the compiler cannot prove unread. */
    if (at[-1] == 42 && r[0] == 42)
        puts("");
}

/* Every alloc + write run starts from the same state of the machine's
 * memory: it first writes and frees more than it will use.  In a virtual
 * machine, memory the guest has never touched, or has freed and handed back
 * to the host, costs the host's page faults on top of the guest's; which
 * runs came before would otherwise decide how much of that each one pays. */
static void settle(void)
{
    size_t len = (size_t)512 << 20;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, len, MADV_HUGEPAGE);
#endif
    memset(p, 1, len);
    munmap(p, len);
}

/* out: seconds for 1M bodies; resident bytes per requested byte; the
 * module's own count of them (methodmalloc); minor page faults; CPU
 * seconds. */
static void run_fill(int kind, double *out)
{
    settle();
    if (kind >= KINDS) {
        write_limit(kind == PREFAULTED, out);
        return;
    }
    IMethodMalloc *mal = make(kind);
    size_t before = rss();
    double t = now(), cpu = cpu_now(), faults = minor_faults();
    if (!fill(mal, 0, BODIES))
        exit(3);
    out[0] = now() - t;
    out[3] = minor_faults() - faults;
    out[4] = cpu_now() - cpu;
    out[1] = (double)(rss() - before) / (double)requested;
    if (kind == MM) {
        mm_stats st;
        mm_module_stats(module, &st);
        out[2] = (double)st.bytes_resident / (double)requested;
    }
}

/* out: seconds for 1M bodies split over two threads, one module; then two modules. */
static void run_two(int kind, double *out)
{
    for (int shared = 1; shared >= 0; shared--) {
        IMethodMalloc *a = make(kind), *b = shared || kind != MM ? a : make(kind);
        struct share s[2] = {{a, 0, BODIES / 2, 0}, {b, BODIES / 2, BODIES, 0}};
        pthread_t t[2];
        double t0 = now();
        for (int i = 0; i < 2; i++)
            pthread_create(&t[i], NULL, fill_thread, &s[i]);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        out[shared ? 0 : 1] = now() - t0;
        if (!s[0].ok || !s[1].ok)
            exit(3);
    }
}

/* How many mappings overlap [lo, hi). */
static size_t mapped_in(uintptr_t lo, uintptr_t hi)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    size_t n = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *dash;
        uintptr_t a = (uintptr_t)strtoull(line, &dash, 16), b = (uintptr_t)strtoull(dash + 1, NULL, 16);
        n += a < hi && lo < b;
    }
    if (f)
        fclose(f);
    return n;
}

/* out: resident growth per module with 2000 open; mappings of theirs left
 * after close (the range each module's stats give, checked in /proc/self/maps);
 * resident growth left after close. */
static void run_modules(int kind, double *out)
{
    (void)kind;
    static mm_module *m[MODULES];
    static uint8_t images[MODULES];
    static uintptr_t lo[MODULES], hi[MODULES];
    size_t rss0 = rss();
    for (int i = 0; i < MODULES; i++) {
        IMethodMalloc *mal;
        if (mm_module_open(&images[i], NULL, &m[i]) != S_OK || mm_module_allocator(m[i], &mal) != S_OK)
            exit(3);
        void *p = mal->lpVtbl->Alloc(mal, 64);
        if (!p)
            exit(3);
        memcpy(p, body, 64);
        mal->lpVtbl->Release(mal);
    }
    out[0] = (double)(rss() - rss0) / MODULES;
    for (int i = 0; i < MODULES; i++) {
        mm_stats st;
        mm_module_stats(m[i], &st);
        lo[i] = (uintptr_t)&images[i] + st.lowest_rva;
        hi[i] = lo[i] + st.bytes_reserved;
    }
    for (int i = 0; i < MODULES; i++)
        mm_module_close(m[i]);
    size_t left = 0;
    for (int i = 0; i < MODULES; i++)
        left += mapped_in(lo[i], hi[i]);
    out[1] = (double)left;
    out[2] = ((double)rss() - (double)rss0) / 1024.0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return v[n / 2];
}

/* The alloc + write runs: RUNS rounds, each a fresh child per kind in turn.
 * Medians of seconds, resident per requested byte and (methodmalloc) its
 * stats' resident per requested byte, CPU seconds and minor page faults;
 * and the median of each round's seconds (and CPU seconds) over the fresh
 * huge-page limit's. */
struct fill_result {
    double secs[FILL_KINDS], cpu[FILL_KINDS], faults[FILL_KINDS]; /* medians */
    double limit[KINDS], cpu_limit[KINDS]; /* medians of each round's ratio to the fresh limit */
    double res[KINDS], mm_res_stats;       /* medians */
};

static void fill_rounds(struct fill_result *out)
{
    double v[FILL_KINDS][RUNS], c[FILL_KINDS][RUNS], f[FILL_KINDS][RUNS], r[KINDS][RUNS], q[KINDS][RUNS],
        qc[KINDS][RUNS], st[RUNS];
    for (int n = 0; n < RUNS; n++)
        for (int j = 0; j < FILL_KINDS; j++) {
            /* Each round starts one kind later: no kind always follows the
             * same one. */
            int k = (n + j) % FILL_KINDS;
            double out[8] = {0};
            if (!in_child(run_fill, k, out, 5)) {
                fprintf(stderr, "%s: run failed\n", kind_name[k]);
                exit(1);
            }
            v[k][n] = out[0];
            f[k][n] = out[3];
            c[k][n] = out[4];
            if (k < KINDS)
                r[k][n] = out[1];
            if (k == MM)
                st[n] = out[2];
        }
    for (int k = 0; k < KINDS; k++)
        for (int n = 0; n < RUNS; n++) {
            q[k][n] = v[k][n] / v[FRESH][n];
            qc[k][n] = c[k][n] / c[FRESH][n];
        }
    for (int k = 0; k < FILL_KINDS; k++) {
        out->secs[k] = median(v[k], RUNS);
        out->cpu[k] = median(c[k], RUNS);
        out->faults[k] = median(f[k], RUNS);
        if (k < KINDS) {
            out->res[k] = median(r[k], RUNS);
            out->limit[k] = median(q[k], RUNS);
            out->cpu_limit[k] = median(qc[k], RUNS);
        }
    }
    out->mm_res_stats = median(st, RUNS);
}

/* Runs fn RUNS times, each in a fresh child, and puts the median of each of
 * its nout outputs in med. */
static void medians(void (*fn)(int, double *), int kind, int nout, double *med)
{
    double v[8][RUNS];
    for (int r = 0; r < RUNS; r++) {
        double out[8];
        if (!in_child(fn, kind, out, nout)) {
            fprintf(stderr, "%s: run failed\n", kind_name[kind]);
            exit(1);
        }
        for (int i = 0; i < nout; i++)
            v[i][r] = out[i];
    }
    for (int i = 0; i < nout; i++)
        med[i] = median(v[i], RUNS);
}

/* --count KIND: the instruction-count run under callgrind: only count_loop
 * is instrumented (--toggle-collect), over BODIES calls. */
__attribute__((noinline)) static void count_loop(IMethodMalloc *mal, void **out)
{
    for (size_t i = 0; i < BODIES; i++)
        out[i] = mal->lpVtbl->Alloc(mal, sizes[i]);
}

static double callgrind_ir(const char *self, const char *kind)
{
    char out[256], cmd[1024];
    snprintf(out, sizeof out, "/tmp/mm-bench-callgrind.%d.%s", (int)getpid(), kind);
    snprintf(cmd, sizeof cmd,
             "valgrind --tool=callgrind --callgrind-out-file=%s --toggle-collect=count_loop %s --count %s "
             ">/dev/null 2>&1 && callgrind_annotate %s 2>/dev/null | grep 'PROGRAM TOTALS'",
             out, self, kind, out);
    FILE *p = popen(cmd, "r");
    char line[256] = "";
    double ir = -1;
    if (p && fgets(line, sizeof line, p)) {
        /* "1,234,567 (100.0%)  PROGRAM TOTALS": the first number, commas dropped. */
        char digits[64];
        size_t k = 0;
        for (const char *s = line; *s && *s != ' ' && k < sizeof digits - 1; s++)
            if (*s >= '0' && *s <= '9')
                digits[k++] = *s;
        digits[k] = 0;
        if (k)
            ir = atof(digits);
    }
    if (p)
        pclose(p);
    remove(out);
    return ir;
}

static void make_sizes(void)
{
    sizes = malloc(sizeof *sizes * BODIES);
    uint64_t s = 42;
    for (size_t i = 0; i < BODIES; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(s >> 11) / 9007199254740992.0;
        sizes[i] = (uint32_t)floor(exp(log(12.0) + u * (log(2049.0) - log(12.0))));
        requested += sizes[i];
    }
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (unsigned char)(i * 131 + 7);
}

int main(int argc, char **argv)
{
    make_sizes();
    load_mimalloc();
    if (argc == 3 && strcmp(argv[1], "--count") == 0) {
        void **out = malloc(sizeof(void *) * BODIES);
        IMethodMalloc *mal = &null_obj;
        if (strcmp(argv[2], "counting") == 0) {
            mm_config cfg = {MM_DEFAULT_MAX_RVA, MM_DEFAULT_ALIGNMENT, MM_COUNT_BLOCKS};
            if (mm_module_open(&anchor, &cfg, &module) != S_OK || mm_module_allocator(module, &mal) != S_OK)
                return 2;
        } else if (strcmp(argv[2], "null") != 0) {
            mal = make(atoi(argv[2]));
        }
        count_loop(mal, out);
        return 0;
    }
    int fill_only = argc == 2 && strcmp(argv[1], "--fill") == 0;

    char date[64];
    time_t t = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d", gmtime(&t));
    struct utsname u;
    uname(&u);
    char cpu[128] = "unknown cpu", thp[128] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            snprintf(cpu, sizeof cpu, "%s", strchr(line, ':') + 2);
            cpu[strcspn(cpu, "\n")] = 0;
            break;
        }
    if (f)
        fclose(f);
    if ((f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r"))) {
        if (fgets(thp, sizeof thp, f))
            thp[strcspn(thp, "\n")] = 0;
        fclose(f);
    }
    printf("methodmalloc %s benchmark, %s, %s, %ld cores, Linux %s, THP %s%s\n", mm_version(), date, cpu,
           sysconf(_SC_NPROCESSORS_ONLN), u.release, thp,
           prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) > 0 ? " (turned off for this process)" : "");
    printf("%d IL-body-sized requests, log-uniform 12..2048 bytes (seed 42, %.1f MB requested); "
           "medians of %d fresh processes\n\n", BODIES, (double)requested / 1e6, RUNS);

    struct fill_result fr;
    double two_shared[KINDS], two_sep[KINDS], ir[KINDS] = {0};
    fill_rounds(&fr);
    printf("%-44s", "");
    for (int k = 0; k < KINDS; k++)
        printf("%14s", kind_name[k]);
    printf("   mm/glibc  target\n");
    printf("%-44s", "alloc + write 1M bodies, page faults (ms)");
    for (int k = 0; k < KINDS; k++)
        printf("%14.1f", fr.secs[k] * 1e3);
    printf("%11.2f  <= 0.60\n", fr.secs[MM] / fr.secs[GLIBC]);
    printf("%-44s", "  over writing into fresh huge pages");
    for (int k = 0; k < KINDS; k++)
        printf("%14.2f", fr.limit[k]);
    printf("%11s  mm <= 1.25\n", "");
    printf("%-44s", "  CPU time (ms)");
    for (int k = 0; k < KINDS; k++)
        printf("%14.1f", fr.cpu[k] * 1e3);
    printf("\n%-44s", "  CPU time over the limit's");
    for (int k = 0; k < KINDS; k++)
        printf("%14.2f", fr.cpu_limit[k]);
    printf("%11s  mm <= 1.25\n", "");
    printf("%-44s", "  minor page faults");
    for (int k = 0; k < KINDS; k++)
        printf("%14.0f", fr.faults[k]);
    printf("\n%-44s%14s%14s\n", "the limit: the same bytes, no allocator", "fresh huge", "pre-faulted");
    printf("%-44s%14.1f%14.1f\n", "  write (ms)", fr.secs[FRESH] * 1e3, fr.secs[PREFAULTED] * 1e3);
    printf("%-44s%14.1f%14.1f\n", "  CPU time (ms)", fr.cpu[FRESH] * 1e3, fr.cpu[PREFAULTED] * 1e3);
    printf("%-44s%14.0f%14.0f\n", "  minor page faults", fr.faults[FRESH], fr.faults[PREFAULTED]);
    printf("%-44s", "process resident / requested bytes");
    for (int k = 0; k < KINDS; k++)
        printf("%14.3f", fr.res[k]);
    printf("%11.2f  mm <= 1.03\n", fr.res[MM] / fr.res[GLIBC]);
    printf("%-44s%14.3f   (mm_stats: chunks' resident pages only)\n", "module resident / requested bytes",
           fr.mm_res_stats);
    if (fill_only)
        return 0;
    fflush(stdout);

    for (int k = 0; k < KINDS; k++) {
        double two[2];
        medians(run_two, k, 2, two);
        two_shared[k] = two[0];
        two_sep[k] = two[1];
    }
    double ir_null = callgrind_ir(argv[0], "null");
    double ir_counting = (callgrind_ir(argv[0], "counting") - ir_null) / BODIES + 4;
    for (int k = 0; k < KINDS; k++) {
        char name[8];
        snprintf(name, sizeof name, "%d", k);
        double x = callgrind_ir(argv[0], name);
        /* Per call: the loop minus its own cost, which is the null loop less
         * the null call's 4 instructions (vtable load, call, xor, ret). */
        ir[k] = x < 0 || ir_null < 0 ? -1 : (x - ir_null) / BODIES + 4;
    }

    printf("%-44s", "instructions per Alloc via vtable");
    for (int k = 0; k < KINDS; k++)
        printf("%14.1f", ir[k]);
    printf("%11.2f  mm <= 14\n", ir[MM] / ir[GLIBC]);
    printf("%-44s%14.1f\n", "  the same with MM_COUNT_BLOCKS", ir_counting);
    printf("%-44s", "2 threads, one module: speed-up over 1");
    for (int k = 0; k < KINDS; k++)
        printf("%14.2f", fr.secs[k] / two_shared[k]);
    printf("%11s  >= 1.6\n", "");
    printf("%-44s", "2 threads, a module each: speed-up over 1");
    for (int k = 0; k < KINDS; k++)
        printf("%14.2f", fr.secs[k] / two_sep[k]);
    printf("\n");

    double mods[3];
    medians(run_modules, MM, 3, mods);
    printf("\n%d modules, each open + one 64-byte Alloc + close:\n", MODULES);
    printf("  resident growth per open module   %8.0f bytes   (target <= 16384)\n", mods[0]);
    printf("  their mappings left after close   %8.0f         (target 0)\n", mods[1]);
    printf("  resident growth left after close  %8.0f KiB     (freed bookkeeping glibc keeps)\n", mods[2]);
    return 0;
}
