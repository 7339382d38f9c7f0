/* Placement cost against the number of mappings in the process (issue 8),
 * and what refusing a full window costs (issue 15).
 *
 * For 0, 1,000, 10,000 and 30,000 extra mappings, each in a fresh process,
 * 1,000 modules at one image's base each open, make one 64-byte Alloc and
 * close.  The extra mappings (one page each, a page apart, so none merge and
 * no chunk fits between them) lie in one of two places:
 * - below the image, outside its window: where a process's later mappings
 *   (heaps, stacks, JIT code) go, since the system maps top-down;
 * - packed right above the image, inside its window, the worst case: the
 *   first chunk's place is above all of them.
 * The time per module is printed as a median and a mean (the mean carries
 * what the first module pays to learn the window), the mean also in CPU
 * time (without the waits for a CPU that a shared machine adds to the wall
 * clock), next to the time of one scan of /proc/self/maps in the same
 * process, which is what every placement cost before the index. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "methodmalloc.h"

#define MODULES 1000
#define REPEATS 5

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* CPU time of this process: what the modules cost without the time the
 * process waited for a CPU (the machine may be shared). */
static double cpu_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One pass over /proc/self/maps, as a placement scan makes it. */
static void scan_maps(void)
{
    char buf[65536];
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    while (read(fd, buf, sizeof buf) > 0)
        ;
    close(fd);
}

/* In a child: sets up `extra` mappings, inside the window or below the
 * image, and measures; writes 3 doubles (median, mean per module, one scan)
 * to fd. */
static void measure(size_t extra, int inside, int fd)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), image = 64 << 10;
    size_t field = 2 * extra * page, span = image + field + (64 << 20);
    char *start = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (start == MAP_FAILED)
        _exit(1);
    /* inside: image, field, free room; below: field, image, free room. */
    char *area = inside ? start : start + field, *first = inside ? start + image : start;
    munmap(start, span);
    if (mmap(area, image, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0)
        != area)
        _exit(1);
    for (size_t i = 0; i < extra; i++) {
        char *at = first + 2 * i * page;
        if (mmap(at, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != at)
            _exit(2);
    }
    static double t[MODULES];
    double sum = 0, cpu0 = cpu_us();
    for (int i = 0; i < MODULES; i++) {
        mm_module *m;
        IMethodMalloc *mal;
        double t0 = now_us();
        if (mm_module_open(area, NULL, &m) != S_OK || mm_module_allocator(m, &mal) != S_OK)
            _exit(3);
        void *p = mal->lpVtbl->Alloc(mal, 64);
        mal->lpVtbl->Release(mal);
        mm_module_close(m);
        t[i] = now_us() - t0;
        sum += t[i];
        if (!p || (char *)p <= area)
            _exit(4);
    }
    double cpu = (cpu_us() - cpu0) / MODULES;
    double scans[20];
    for (int i = 0; i < 20; i++) {
        double t0 = now_us();
        scan_maps();
        scans[i] = now_us() - t0;
    }
    double out[4] = {median(t, MODULES), sum / MODULES, median(scans, 20), cpu};
    if (write(fd, out, sizeof out) != sizeof out)
        _exit(5);
    _exit(0);
}

/* One table: the extra mappings below the image, or inside its window. */
static int table(int inside)
{
    static const size_t counts[] = {0, 1000, 10000, 30000};
    double base_median = 0, base_mean = 0, base_cpu = 0;
    printf("\nextra mappings %s\n", inside ? "packed inside the window, right above the image (the worst case)"
                                           : "below the image, outside its window (where a process's later mappings go)");
    printf("%10s %12s %12s %12s %12s %10s %10s %10s\n", "mappings", "median us", "mean us", "cpu mean us",
           "one scan us", "median/0", "mean/0", "cpu/0");
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        double med[REPEATS], mean[REPEATS], scan[REPEATS], cpu[REPEATS];
        for (int r = 0; r < REPEATS; r++) {
            int fds[2];
            if (pipe(fds) != 0)
                return 1;
            pid_t pid = fork();
            if (pid == 0) {
                close(fds[0]);
                measure(counts[c], inside, fds[1]);
            }
            close(fds[1]);
            double out[4];
            int status;
            ssize_t n = read(fds[0], out, sizeof out);
            close(fds[0]);
            waitpid(pid, &status, 0);
            if (n != sizeof out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "bench_place: the run with %zu mappings failed (status %d)\n", counts[c],
                        WIFEXITED(status) ? WEXITSTATUS(status) : -1);
                return 1;
            }
            med[r] = out[0];
            mean[r] = out[1];
            scan[r] = out[2];
            cpu[r] = out[3];
        }
        double m = median(med, REPEATS), a = median(mean, REPEATS), s = median(scan, REPEATS),
               u = median(cpu, REPEATS);
        if (c == 0) {
            base_median = m;
            base_mean = a;
            base_cpu = u;
        }
        printf("%10zu %12.1f %12.1f %12.1f %12.1f %10.2f %10.2f %10.2f\n", counts[c], m, a, u, s, m / base_median,
               a / base_mean, u / base_cpu);
    }
    return 0;
}

/* ---- refusals (issue 15) ---- */

#define REFUSALS 10000

static mm_module *open_module(const void *base, uint32_t max_rva, IMethodMalloc **mal)
{
    mm_config c = {max_rva, 8, 0};
    mm_module *m;
    if (mm_module_open(base, &c, &m) != S_OK || mm_module_allocator(m, mal) != S_OK)
        _exit(3);
    return m;
}

/* Free address space for `size` bytes, nothing mapped there now. */
static char *free_area(size_t size)
{
    char *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        _exit(1);
    munmap(p, size);
    return p;
}

/* The own-window layouts: the window's size, and the read-only mapping at
 * its base standing in for the module's image (0: none).  The image's pages
 * inside the window are foreign, so refusals check them, once per
 * own / foreign bytes refusals. */
static const struct {
    size_t window, image;
    const char *what;
} layouts[] = {
    {16 << 20, 0, "16 MiB, its chunks only"},
    {16 << 20, 64 << 10, "16 MiB, + a 64 KiB image"},
    {1 << 20, 64 << 10, "1 MiB, + a 64 KiB image"},
    {2 << 20, 1 << 20, "2 MiB, + a 1 MiB image"},
};

/* A module fills its own window (layout l) with cb-byte blocks, then is
 * refused REFUSALS times: mean ns of a successful Alloc, of a refusal. */
static void own_window(ULONG cb, int l, int fd)
{
    size_t size = layouts[l].window, image = layouts[l].image;
    char *base = free_area(size + (1 << 20));
    if (image && mmap(base, image, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != base)
        _exit(1);
    IMethodMalloc *mal;
    mm_module *m = open_module(base, (uint32_t)size, &mal);
    static char *blocks[1 << 18];
    double t0 = now_us();
    size_t got = 0;
    char *p;
    while ((p = mal->lpVtbl->Alloc(mal, cb)) != NULL)
        blocks[got++ % (1 << 18)] = p;
    double t1 = now_us();
    size_t refused = 0;
    for (int i = 0; i < REFUSALS; i++)
        refused += mal->lpVtbl->Alloc(mal, cb) == NULL;
    double t2 = now_us();
    if (got < 100 || got > (1 << 18) || refused != REFUSALS)
        _exit(4);
    /* Outside the window (base, base + size]: a violation. */
    size_t violations = 0;
    for (size_t i = 0; i < got; i++)
        violations += blocks[i] <= base || blocks[i] + cb > base + size;
    if (violations)
        _exit(6); /* the run fails loudly */
    double out[3] = {(t1 - t0) * 1e3 / (double)(got + 1), (t2 - t1) * 1e3 / REFUSALS, (double)violations};
    if (write(fd, out, sizeof out) != sizeof out)
        _exit(5);
    mal->lpVtbl->Release(mal);
    mm_module_close(m);
    _exit(0);
}

/* A window packed with 30,000 other mappings, no room for the request:
 * `gaps` one page each a page apart (no room for two pages), else one run
 * of mappings with no gap (alternately readable and not, so none merge).
 * The first refusal (it learns the window and reads what is in it), then
 * the mean of the next REFUSALS, in us. */
static void packed_window(int gaps, int fd)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = 30000, step = gaps ? 2 * page : page;
    size_t image = 64 << 10, field = n * step;
    char *base = free_area(image + field + page);
    if (mmap(base, image, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0) != base)
        _exit(1);
    for (size_t i = 0; i < n; i++) {
        char *at = base + image + i * step;
        if (mmap(at, page, i % 2 ? PROT_READ : PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)
            != at)
            _exit(2);
    }
    IMethodMalloc *mal;
    (void)open_module(base, (uint32_t)(image + field - (gaps ? page : 0)), &mal);
    ULONG cb = (ULONG)(2 * page);
    double t0 = now_us();
    if (mal->lpVtbl->Alloc(mal, cb))
        _exit(4);
    double t1 = now_us();
    for (int i = 0; i < REFUSALS; i++)
        if (mal->lpVtbl->Alloc(mal, cb))
            _exit(4);
    double t2 = now_us();
    double out[3] = {(t1 - t0) / 1e3, (t2 - t1) / REFUSALS, (t2 - t0) / (REFUSALS + 1)};
    if (write(fd, out, sizeof out) != sizeof out)
        _exit(5);
    _exit(0);
}

/* Runs f(arg, arg2, fd) in REPEATS fresh processes: the medians of its 3 numbers. */
static int repeat(void (*f)(int, int, int), int arg, int arg2, double med[3])
{
    double v[3][REPEATS];
    for (int r = 0; r < REPEATS; r++) {
        int fds[2];
        if (pipe(fds) != 0)
            return 1;
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            f(arg, arg2, fds[1]);
        }
        close(fds[1]);
        double out[3];
        int status;
        ssize_t got = read(fds[0], out, sizeof out);
        close(fds[0]);
        waitpid(pid, &status, 0);
        if (got != sizeof out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "bench_place: a refusal run failed (status %d)\n",
                    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
            return 1;
        }
        for (int k = 0; k < 3; k++)
            v[k][r] = out[k];
    }
    for (int k = 0; k < 3; k++)
        med[k] = median(v[k], REPEATS);
    return 0;
}

static void own_window_run(int cb, int l, int fd)
{
    own_window((ULONG)cb, l, fd);
}

static void packed_window_run(int gaps, int unused, int fd)
{
    (void)unused;
    packed_window(gaps, fd);
}

static int refusals(void)
{
    printf("\nrefusing a full window, %d refusals, median of %d fresh processes\n", REFUSALS, REPEATS);
    printf("a module that filled its own window (target: refusal / Alloc <= 20)\n");
    printf("%10s %-28s %14s %14s %10s %11s\n", "block", "window", "Alloc ns", "refusal ns", "ratio", "violations");
    static const int sizes[] = {64, 1000};
    for (int l = 0; l < (int)(sizeof layouts / sizeof layouts[0]); l++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            if (layouts[l].window < (16 << 20) && sizes[i] != 1000)
                continue;
            double med[3];
            if (repeat(own_window_run, sizes[i], l, med))
                return 1;
            printf("%10d %-28s %14.1f %14.1f %10.2f %11.0f\n", sizes[i], layouts[l].what, med[0], med[1],
                   med[1] / med[0], med[2]);
        }
    printf("a window packed with 30,000 other mappings, no room for 2 pages (target: mean < 10 us)\n");
    printf("%-34s %16s %16s %16s\n", "layout", "first ms", "next mean us", "all mean us");
    for (int gaps = 1; gaps >= 0; gaps--) {
        double med[3];
        if (repeat(packed_window_run, gaps, 0, med))
            return 1;
        printf("%-34s %16.2f %16.2f %16.2f\n", gaps ? "one page each, a page apart" : "one run, no gap", med[0], med[1],
               med[2]);
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* "refusals": only the refusal rows (the tables take minutes). */
    if (argc > 1 && strcmp(argv[1], "refusals") == 0)
        return refusals();
    printf("placement cost vs mappings in the process: %d modules, each open + one 64-byte Alloc + close,\n"
           "median of %d fresh processes (one /proc/self/maps scan is what each placement cost before);\n"
           "target: mean/0 <= 3 at 30,000 mappings (cpu/0: the same in CPU time)\n",
           MODULES, REPEATS);
    return table(0) || table(1) || refusals();
}
