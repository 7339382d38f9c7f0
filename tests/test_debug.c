/* The debug mode (src/heap/debug.h) reports a write past a block where it
 * happens.  Each case runs this program again as a child (--case N): under
 * ASan directly, in an MM_DEBUG=1 build under valgrind; a case that
 * overruns must die with the checker's report naming the bad access, and
 * the controls (every byte of the blocks written, address space reused after
 * close) must run clean.  Built without either checker, the test fails: it
 * has nothing to test. */
#include <sys/wait.h>

#include "methodmalloc.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define CHECKER "ASan"
#elif defined(MM_DEBUG)
#define CHECKER "valgrind"
#endif

static IMethodMalloc *open_module(mm_module **m)
{
    static int anchor;
    mm_config c = {MM_DEFAULT_MAX_RVA, 8, 0};
    IMethodMalloc *mal;
    if (mm_module_open(object_base(&anchor), &c, m) != S_OK || mm_module_allocator(*m, &mal) != S_OK)
        exit(3);
    return mal;
}

/* The cases; each returns normally only if nothing was caught. */
static void run_case(int n)
{
    mm_module *m;
    IMethodMalloc *mal = open_module(&m);
    volatile unsigned char *a = mal->lpVtbl->Alloc(mal, 6);
    volatile unsigned char *b = mal->lpVtbl->Alloc(mal, 100);
    if (!a || !b)
        exit(3);
    static const unsigned char ldc_i8[9] = {0x21, 1, 2, 3, 4, 5, 6, 7, 8};
    switch (n) {
    case 0: /* control: every byte of both blocks */
        for (int i = 0; i < 6; i++)
            a[i] = 1;
        for (int i = 0; i < 100; i++)
            b[i] = 2;
        break;
    case 1: /* one byte past a 6-byte body */
        a[6] = 1;
        break;
    case 2: /* an ldc.i8 (9 bytes) where 6 were counted */
        memcpy((void *)a, ldc_i8, sizeof ldc_i8);
        break;
    case 3: /* past the last block, into the chunk's unallocated tail */
        b[100 + 40] = 1;
        break;
    case 4: /* a read past the end */
        if (b[100] == 7)
            exit(4);
        break;
    case 5: { /* control: a closed module's address space, mapped again by anyone, is clean */
        uintptr_t where = (uintptr_t)a & ~(uintptr_t)4095;
        mal->lpVtbl->Release(mal);
        mm_module_close(m);
        unsigned char *p = mmap((void *)where, 65536, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (p != (unsigned char *)where)
            exit(5);
        memset(p, 3, 65536);
        munmap(p, 65536);
        mal = open_module(&m);
        unsigned char *c = mal->lpVtbl->Alloc(mal, 4000);
        if (!c)
            exit(3);
        memset(c, 4, 4000);
        break;
    }
    }
    mal->lpVtbl->Release(mal);
    mm_module_close(m);
}

#if defined(CHECKER)
/* Runs case n as a child; returns its exit status (-1: killed) and its
 * output in out. */
static int spawn(int n, char *out, size_t cap)
{
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        char self[4096], arg[16];
        ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
        if (len <= 0)
            _exit(6);
        self[len] = 0;
        snprintf(arg, sizeof arg, "%d", n);
#if defined(__SANITIZE_ADDRESS__)
        execl(self, self, "--case", arg, (char *)NULL);
#else
        execlp("valgrind", "valgrind", "-q", "--error-exitcode=99", self, "--case", arg, (char *)NULL);
        dprintf(2, "valgrind not found (Debian package valgrind)\n");
#endif
        _exit(6);
    }
    close(fds[1]);
    size_t have = 0;
    ssize_t r;
    while ((r = read(fds[0], out + have, cap - 1 - have)) > 0)
        have += (size_t)r;
    out[have] = 0;
    close(fds[0]);
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
#endif

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--case")) {
        run_case(atoi(argv[2]));
        return 0;
    }
#if !defined(CHECKER)
    fprintf(stderr, "test_debug needs the debug mode: build with -fsanitize=address, or make MM_DEBUG=1 and run "
                    "under valgrind\n");
    return 1;
#else
    static char out[1 << 16];
    static const char *const what[] = {"control", "one byte past", "ldc.i8 over a 6-byte body", "into the chunk's tail",
                                       "a read past the end", "control: address space reused after close"};
#if defined(__SANITIZE_ADDRESS__)
    const char *report = "AddressSanitizer: use-after-poison";
#else
    const char *report = "Invalid write of size";
#endif
    for (int n = 0; n < 6; n++) {
        int st = spawn(n, out, sizeof out);
        bool caught = st != 0 && strstr(out, n == 4 && !strstr(report, "Address") ? "Invalid read of size" : report);
        if (n == 0 || n == 5)
            CHECKF(st == 0 && !strstr(out, "ERROR") && !strstr(out, "Invalid"), "%s: %s: exit %d\n%s", CHECKER,
                   what[n], st, out);
        else
            CHECKF(caught, "%s: %s not caught: exit %d\n%s", CHECKER, what[n], st, out);
        if (n == 1 || n == 2)
            CHECKF(strstr(out, "run_case"), "%s: the report does not name the writer:\n%s", CHECKER, out);
    }
    printf("%s catches overruns of methodmalloc blocks\n", CHECKER);
    return check_done();
#endif
}
