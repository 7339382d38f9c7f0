/*
 * The profiler's diagnostics: one destination for every line it writes,
 * the report file when there is one, so that nothing reaches the program's
 * own stderr (a build tool reads its compiler's stderr for errors).
 */
#include <stdarg.h>
#include <stdio.h>

#include "profiler.h"

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

static void write_line(const mmp_config *cfg, const char *tag, const char *fmt, va_list ap)
{
    int owned;
    FILE *f = mmp_report_open(cfg, &owned);
    /* One fprintf per line: lines from several threads do not interleave. */
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    fprintf(f, "methodmalloc: %s%s\n", tag, line);
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
