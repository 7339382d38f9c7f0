/*
 * The profiler's diagnostics: one destination for every line it writes,
 * the report file when there is one, so that nothing reaches the program's
 * own stderr (a build tool reads its compiler's stderr for errors).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#if defined(_WIN32)
#include <process.h>
#else
#include <fcntl.h>
#include <unistd.h>
#endif

#include "profiler.h"

static char tag[160];
static atomic_int tag_made;
static mm_lock tag_lock = MM_LOCK_INIT;

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
#if defined(_WIN32)
    const char *back = strrchr(path, '\\');
    if (back && (!slash || back > slash))
        slash = back;
#endif
    return slash ? slash + 1 : path;
}

/* The process's arguments, each ending in a NUL, into cmd: its length.  On
 * Windows only the executable's path (a self-contained program is its own
 * host). */
static ssize_t command_line(char *cmd, size_t cap)
{
#if defined(_WIN32)
    DWORD n = GetModuleFileNameA(NULL, cmd, (DWORD)cap);
    return n && n < cap ? (ssize_t)n + 1 : 0;
#else
    ssize_t n = 0;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = read(fd, cmd, cap);
        close(fd);
    }
    return n;
#endif
}

/* "pid=N program=NAME": NAME is the executable's file name, and for the
 * dotnet host also its first argument that is not an option (dotnet:csc.dll,
 * dotnet:build), or for `dotnet exec` the assembly it runs, after options
 * that take values (dotnet:testhost.dll), so that the processes of one run
 * tell themselves apart. */
static void make_tag(void)
{
    char cmd[4096];
    ssize_t n = command_line(cmd, sizeof cmd - 1);
    if (n <= 0)
        n = 0;
    cmd[n] = 0;
    const char *argv0 = n ? base_name(cmd) : "?", *arg = NULL;
    if (strcmp(argv0, "dotnet") == 0) {
        int exec = 0;
        for (const char *a = cmd + strlen(cmd) + 1; a < cmd + n; a += strlen(a) + 1) {
            size_t len = strlen(a);
            if (exec ? len > 4 && strcmp(a + len - 4, ".dll") == 0 : *a && *a != '-') {
                arg = base_name(a);
                if (exec || strcmp(a, "exec") != 0)
                    break;
                exec = 1;
            }
        }
    }
    snprintf(tag, sizeof tag, "pid=%ld program=%.60s%s%.60s", (long)getpid(), argv0, arg ? ":" : "", arg ? arg : "");
    /* One word: spaces in a name would split the key=value pairs. */
    for (char *c = tag; *c; c++)
        if (*c == ' ' && c > tag + 4 && strncmp(c, " program=", 9) != 0)
            *c = '_';
}

const char *mmp_process_tag(void)
{
    if (!atomic_load_explicit(&tag_made, memory_order_acquire)) {
        mm_lock_acquire(&tag_lock);
        if (!atomic_load_explicit(&tag_made, memory_order_relaxed))
            make_tag();
        atomic_store_explicit(&tag_made, 1, memory_order_release);
        mm_lock_release(&tag_lock);
    }
    return tag;
}

FILE *mmp_report_open(const mmp_config *cfg, int *owned)
{
    FILE *f = NULL;
    *owned = 0;
    if (cfg->report_path[0]) {
        f = fopen(cfg->report_path, "a");
        if (f)
            *owned = 1;
    }
    return f ? f : stderr;
}

static void write_line(const mmp_config *cfg, const char *kind, const char *fmt, va_list ap)
{
    int owned;
    FILE *f = mmp_report_open(cfg, &owned);
    /* One fprintf per line: lines from several threads do not interleave. */
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    fprintf(f, "methodmalloc: %s%s %s\n", kind, line, mmp_process_tag());
    if (owned)
        fclose(f);
    else
        fflush(f);
}

void mmp_report_error(const mmp_config *cfg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    write_line(cfg, "error: ", fmt, ap);
    va_end(ap);
}

void mmp_trace(const mmp_config *cfg, const char *fmt, ...)
{
    va_list ap;
    if (!cfg->verbose)
        return;
    va_start(ap, fmt);
    write_line(cfg, "", fmt, ap);
    va_end(ap);
}
