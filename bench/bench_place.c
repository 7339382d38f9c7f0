/* Placement cost against the number of mappings in the process (issue 8).
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
 * what the first module pays to learn the window), next to the time of one
 * scan of /proc/self/maps in the same process, which is what every placement
 * cost before the index. */
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
    double sum = 0;
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
    double scans[20];
    for (int i = 0; i < 20; i++) {
        double t0 = now_us();
        scan_maps();
        scans[i] = now_us() - t0;
    }
    double out[3] = {median(t, MODULES), sum / MODULES, median(scans, 20)};
    if (write(fd, out, sizeof out) != sizeof out)
        _exit(5);
    _exit(0);
}

/* One table: the extra mappings below the image, or inside its window. */
static int table(int inside)
{
    static const size_t counts[] = {0, 1000, 10000, 30000};
    double base_median = 0, base_mean = 0;
    printf("\nextra mappings %s\n", inside ? "packed inside the window, right above the image (the worst case)"
                                           : "below the image, outside its window (where a process's later mappings go)");
    printf("%10s %14s %14s %14s %12s %12s\n", "mappings", "median us", "mean us", "one scan us", "median/0",
           "mean/0");
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        double med[REPEATS], mean[REPEATS], scan[REPEATS];
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
            double out[3];
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
        }
        double m = median(med, REPEATS), a = median(mean, REPEATS), s = median(scan, REPEATS);
        if (c == 0) {
            base_median = m;
            base_mean = a;
        }
        printf("%10zu %14.1f %14.1f %14.1f %12.2f %12.2f\n", counts[c], m, a, s, m / base_median, a / base_mean);
    }
    return 0;
}

int main(void)
{
    printf("placement cost vs mappings in the process: %d modules, each open + one 64-byte Alloc + close,\n"
           "median of %d fresh processes (one /proc/self/maps scan is what each placement cost before);\n"
           "target: mean/0 <= 3 at 30,000 mappings\n",
           MODULES, REPEATS);
    return table(0) || table(1);
}
