/*
 * mmrun: runs a .NET program under the methodmalloc profiler.
 *
 *   mmrun [--relocate | --runtime | --replace 'Ns.Type::Method=IL hex' | --calls | --count | --no-profiler]
 *         [--guest PATH={CLSID}]... [--dump-bodies DIR]
 *         [--include-precompiled] [--keep-inlining] [--profiler PATH] [--report FILE]
 *         [--calls-report FILE] [--stats]
 *         -- program [args...]
 *   mmrun --shim DIR --guest PATH={CLSID} [mode] [options]
 *
 * It sets the CORECLR_* variables that make the runtime load the profiler
 * and the MM_PROFILER_* variables that tell the profiler what to do, runs
 * the program, prints the profiler's report on stderr once the program has
 * ended, and exits with the program's status.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launch.h"
#include "methodmalloc.h"
#include "protocol.h"

#define PROFILER_NAME MMP_LIBRARY_NAME

/* Exit statuses of mmrun's own failures; otherwise the program's. */
#define EXIT_USAGE 2
#define EXIT_PROFILER 3

static void usage(FILE *f)
{
    fputs("usage: mmrun [mode] [options] [--] program [args...]\n"
          "Runs a .NET program with the methodmalloc profiler loaded into its runtime.\n"
          "modes:\n"
          "  --relocate            copy every JIT-compiled IL body into methodmalloc (default)\n"
          "  --runtime             the same, into the runtime's own GetILFunctionBodyAllocator\n"
          "  --replace 'Ns.Type::Method=IL hex'\n"
          "                        give the named method(s) a new body, e.g. 'App.Calc::Answer=1F2A2A'\n"
          "  --calls               count the calls of every JIT-compiled method (a probe at its entry);\n"
          "                        the top 20 are in the report\n"
          "  --count               load the profiler, change nothing, count JIT compilations\n"
          "  --no-profiler         run the program plainly (a baseline for --stats)\n"
          "host (other profilers as guests of methodmalloc):\n"
          "  --guest PATH={CLSID}  load the profiler library PATH with class ID CLSID as a guest; repeat\n"
          "                        for a chain (guest k sees the bodies guest k-1 set); a mode option\n"
          "                        then runs after the guests; without one methodmalloc only serves\n"
          "                        the guests' IL allocations and checks the bodies they set\n"
          "  --dump-bodies DIR     write every body a guest sets to DIR/g<k>-<module>-<token>.il\n"
          "  --shim DIR            no program: make DIR a mirror of the one --guest's folder in which\n"
          "                        the guest's file name is methodmalloc's host (with DIR/" MMP_SHIM_CONF "),\n"
          "                        for tools that choose the profiler's folder themselves\n"
          "options:\n"
          "  --include-precompiled turn ReadyToRun code off so framework methods are JIT-compiled too\n"
          "  --keep-inlining       leave the JIT's inlining on (callees may then run from the image)\n"
          "  --profiler PATH       the profiler library (default: $MM_PROFILER_PATH, else next to mmrun)\n"
          "  --report FILE         also keep the report in FILE\n"
          "  --calls-report FILE   with --calls: every process appends a line per rewritten method,\n"
          "                        'calls<TAB>Ns.Type::Method<TAB>program<TAB>pid'\n"
          "  --stats               print the program's wall time and peak resident memory\n"
          "  -h, --help            this text\n"
          "mmrun exits with the program's status; 2 for a usage error, 3 when the profiler\n"
          "could not be found, did not report, or reported an error while the program succeeded.\n"
          "variables (set by mmrun; set them yourself where the environment already names a profiler):\n"
          "  CORECLR_ENABLE_PROFILING=1, CORECLR_PROFILER_PATH=<libmmprofiler.so>,\n"
          "  CORECLR_PROFILER=<methodmalloc's CLSID or a guest's>,\n"
          "  " MMP_ENV_GUESTS "='PATH={CLSID};PATH2={CLSID2}', " MMP_ENV_MODE "=host|relocate|runtime|replace|calls|count,\n"
          "  " MMP_ENV_REPORT "=FILE (appended), " MMP_ENV_CALLS_REPORT "=FILE (appended), " MMP_ENV_REPLACE "=SPEC,\n"
          "  " MMP_ENV_DUMP_BODIES "=DIR, " MMP_ENV_PRECOMPILED "=1, " MMP_ENV_INLINING "=1, " MMP_ENV_VERBOSE "=1,\n"
          "  " MMP_ENV_RESERVE_MB "=N\n",
          f);
}

static int die_usage(const char *fmt, const char *arg)
{
    fputs("mmrun: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n(mmrun --help for usage)\n", stderr);
    return EXIT_USAGE;
}

/* The profiler next to mmrun: ../lib when installed, ../profiler in the
 * build tree.  Fills path; returns 0 or -1 with the places tried in tried. */
static int find_profiler(char *path, size_t cap, char *tried, size_t tcap)
{
    static const char *const rel[] = {"/../lib/" PROFILER_NAME, "/../profiler/" PROFILER_NAME};
    char self[PATH_MAX];

    tried[0] = 0;
    if (launch_self_dir(self, sizeof self) != 0)
        return -1;
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char candidate[PATH_MAX + 64];
        snprintf(candidate, sizeof candidate, "%s%s", self, rel[i]);
        if (launch_existing_file(candidate, path, cap) == 0)
            return 0;
        strncat(tried, i ? ", " : "", tcap - strlen(tried) - 1);
        strncat(tried, candidate, tcap - strlen(tried) - 1);
    }
    return -1;
}

/* Copies the report file to stderr (and to keep, if asked).  Returns 1 if it
 * holds a report line, and sets *error if it holds an error line. */
static int print_report(const char *path, const char *keep, int *error)
{
    FILE *in = fopen(path, "r"), *out = NULL;
    char line[4096];
    int reported = 0;

    *error = 0;
    if (!in)
        return 0;
    if (keep && !(out = fopen(keep, "w")))
        fprintf(stderr, "mmrun: cannot write %s: %s\n", keep, strerror(errno));
    while (fgets(line, sizeof line, in)) {
        fputs(line, stderr);
        if (out)
            fputs(line, out);
        if (strncmp(line, MMP_REPORT_LINE, strlen(MMP_REPORT_LINE)) == 0)
            reported = 1;
        if (strncmp(line, MMP_ERROR_LINE, strlen(MMP_ERROR_LINE)) == 0)
            *error = 1;
    }
    fclose(in);
    if (out)
        fclose(out);
    return reported;
}

/* What the command line asks for. */
struct options {
    const char *mode, *replace, *profiler, *keep, *calls_report, *dump, *shim;
    int precompiled, inlining, stats, use_profiler, mode_given;
    int nguests;
    const char *guests[MMP_GUESTS_MAX];
    int program; /* argv index of the program */
};

/* Parses argv into *o.  Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct options *o)
{
    int i;

    *o = (struct options){.mode = "relocate", .profiler = getenv("MM_PROFILER_PATH"), .use_profiler = 1};
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-')
            break;
        if (strcmp(a, "--relocate") == 0)
            o->mode = "relocate", o->mode_given = 1;
        else if (strcmp(a, "--runtime") == 0)
            o->mode = "runtime", o->mode_given = 1;
        else if (strcmp(a, "--count") == 0)
            o->mode = "count", o->mode_given = 1;
        else if (strcmp(a, "--calls") == 0)
            o->mode = "calls", o->mode_given = 1;
        else if (strcmp(a, "--guest") == 0) {
            mmp_guest_spec spec;
            char why[512];
            if (i + 1 >= argc)
                return die_usage("%s needs PATH={CLSID}", a);
            if (o->nguests == MMP_GUESTS_MAX)
                return die_usage("more than %s guests", "8");
            if (mmp_guest_parse(argv[i + 1], strlen(argv[i + 1]), &spec, why, sizeof why) != 0)
                return die_usage("--guest: %s", why);
            o->guests[o->nguests++] = argv[++i];
        } else if (strcmp(a, "--dump-bodies") == 0 || strcmp(a, "--shim") == 0) {
            if (i + 1 >= argc)
                return die_usage("%s needs a folder", a);
            if (a[2] == 'd')
                o->dump = argv[++i];
            else
                o->shim = argv[++i];
        }
        else if (strcmp(a, "--calls-report") == 0) {
            if (i + 1 >= argc)
                return die_usage("%s needs a path", a);
            o->calls_report = argv[++i];
        }
        else if (strcmp(a, "--no-profiler") == 0)
            o->use_profiler = 0;
        else if (strcmp(a, "--replace") == 0 || strncmp(a, "--replace=", 10) == 0) {
            o->mode = "replace";
            o->mode_given = 1;
            o->replace = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);
            if (!o->replace)
                return die_usage("%s needs 'Namespace.Type::Method=IL hex'", a);
        } else if (strcmp(a, "--include-precompiled") == 0)
            o->precompiled = 1;
        else if (strcmp(a, "--keep-inlining") == 0)
            o->inlining = 1;
        else if (strcmp(a, "--stats") == 0)
            o->stats = 1;
        else if (strcmp(a, "--profiler") == 0 || strcmp(a, "--report") == 0) {
            if (i + 1 >= argc)
                return die_usage("%s needs a path", a);
            if (a[2] == 'p')
                o->profiler = argv[++i];
            else
                o->keep = argv[++i];
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else
            return die_usage("unknown option %s", a);
    }
    /* Guests and no mode of ours: the host serves and checks only. */
    if (o->nguests && !o->mode_given)
        o->mode = "host";
    if (o->shim) {
        if (o->nguests != 1)
            return die_usage("%s", "--shim DIR needs exactly one --guest PATH={CLSID}");
        if (i < argc)
            return die_usage("--shim prepares a folder and runs nothing: drop '%s'", argv[i]);
    } else if (i >= argc)
        return die_usage("%s", "no program to run: mmrun [options] -- program [args...]");
    if (o->calls_report && strcmp(o->mode, "calls") != 0)
        return die_usage("%s", "--calls-report needs --calls");
    if (o->replace) {
        mmp_spec spec;
        char why[256];
        if (mmp_spec_parse(o->replace, &spec, why, sizeof why) != 0)
            return die_usage("--replace: %s", why);
    }
    o->program = i;
    return -1;
}

/* path made absolute against the current directory (the program may
 * change directory), into out[PATH_MAX]; an existing file's real path. */
static void absolute(const char *path, char *out)
{
    if (launch_existing_file(path, out, PATH_MAX) == 0 || launch_absolute(path, out, PATH_MAX) == 0)
        return;
    snprintf(out, PATH_MAX, "%s", path);
}

/* The guests as MM_PROFILER_GUESTS wants them: absolute paths, ';' apart. */
static void guest_list(const struct options *o, char *out, size_t cap)
{
    out[0] = 0;
    for (int k = 0; k < o->nguests; k++) {
        const char *spec = o->guests[k], *eq = strrchr(spec, '{') - 1;
        char path[PATH_MAX], abs[PATH_MAX];
        snprintf(path, sizeof path, "%.*s", (int)(eq - spec), spec);
        absolute(path, abs);
        size_t at = strlen(out);
        snprintf(out + at, cap - at, "%s%s=%s", k ? ";" : "", abs, eq + 1);
    }
}

/* Finds the profiler library into profiler_path: 0, or the exit status
 * after saying why. */
static int locate_profiler(const struct options *o, char *profiler_path)
{
    if (o->profiler && *o->profiler) {
        errno = 0;
        if (launch_existing_file(o->profiler, profiler_path, PATH_MAX) != 0) {
            fprintf(stderr, "mmrun: profiler library %s: %s\n", o->profiler, strerror(errno ? errno : ENOENT));
            return EXIT_PROFILER;
        }
    } else {
        char tried[2 * PATH_MAX + 200];
        if (find_profiler(profiler_path, PATH_MAX, tried, sizeof tried) != 0) {
            fprintf(stderr,
                    "mmrun: profiler library %s not found (tried %s); build it with `make` or name it with "
                    "--profiler PATH or MM_PROFILER_PATH\n",
                    PROFILER_NAME, tried[0] ? tried : "nothing: mmrun's own path unknown");
            return EXIT_PROFILER;
        }
    }
    return 0;
}

/* --shim DIR: DIR mirrors the guest's folder (every entry a symbolic link
 * to the original), except that the guest's file name is our library, and
 * DIR/MMP_SHIM_CONF tells the host the real guest and the options. */
static int make_shim(const struct options *o)
{
    char profiler_path[PATH_MAX], guest[PATH_MAX], dir[PATH_MAX], list[MMP_GUESTS_MAX * (PATH_MAX + 50)];
    int status = locate_profiler(o, profiler_path);
    if (status)
        return status;
    const char *spec = o->guests[0], *brace = strrchr(spec, '{');
    snprintf(guest, sizeof guest, "%.*s", (int)(brace - 1 - spec), spec);
    if (launch_mirror(guest, o->shim, profiler_path, MMP_SHIM_CONF, dir, sizeof dir) != 0)
        return EXIT_USAGE;
    char conf[PATH_MAX + 64], abs[PATH_MAX];
    snprintf(conf, sizeof conf, "%s/%s", dir, MMP_SHIM_CONF);
    FILE *f = fopen(conf, "w");
    if (!f) {
        fprintf(stderr, "mmrun: --shim: cannot write %s: %s\n", conf, strerror(errno));
        return EXIT_USAGE;
    }
    guest_list(o, list, sizeof list);
    fprintf(f, "%s=%s\n%s=%s\n", MMP_ENV_GUESTS, list, MMP_ENV_MODE, o->mode);
    if (o->keep)
        absolute(o->keep, abs), fprintf(f, "%s=%s\n", MMP_ENV_REPORT, abs);
    if (o->calls_report)
        absolute(o->calls_report, abs), fprintf(f, "%s=%s\n", MMP_ENV_CALLS_REPORT, abs);
    if (o->dump)
        absolute(o->dump, abs), fprintf(f, "%s=%s\n", MMP_ENV_DUMP_BODIES, abs);
    if (o->replace)
        fprintf(f, "%s=%s\n", MMP_ENV_REPLACE, o->replace);
    fprintf(f, "%s=%d\n%s=%d\n", MMP_ENV_PRECOMPILED, o->precompiled, MMP_ENV_INLINING, o->inlining);
    if (fclose(f) != 0) {
        fprintf(stderr, "mmrun: --shim: cannot write %s\n", conf);
        return EXIT_USAGE;
    }
    return 0;
}

/* Finds the profiler library, creates the report file and sets the
 * variables that load the profiler into the runtime.  Returns 0 or the exit
 * status after saying why. */
static int setup_profiler(const struct options *o, char *profiler_path, char *report)
{
    static const GUID clsid = MMP_CLSID_INIT;
    char clsid_text[40];
    int status = locate_profiler(o, profiler_path);

    if (status)
        return status;
    if (launch_temp_file(report, PATH_MAX) != 0)
        return EXIT_PROFILER;
    snprintf(clsid_text, sizeof clsid_text, "{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}",
             (unsigned)clsid.Data1, clsid.Data2, clsid.Data3, clsid.Data4[0], clsid.Data4[1], clsid.Data4[2],
             clsid.Data4[3], clsid.Data4[4], clsid.Data4[5], clsid.Data4[6], clsid.Data4[7]);
    launch_setenv("CORECLR_ENABLE_PROFILING", "1");
    launch_setenv("CORECLR_PROFILER", clsid_text);
    launch_setenv("CORECLR_PROFILER_PATH", profiler_path);
    /* The runtime prefers these to CORECLR_PROFILER_PATH: one left over
     * from another profiler in the environment would load that one. */
    launch_setenv("CORECLR_PROFILER_PATH_32", NULL);
    launch_setenv("CORECLR_PROFILER_PATH_64", NULL);
    launch_setenv("CORECLR_PROFILER_PATH_ARM32", NULL);
    launch_setenv("CORECLR_PROFILER_PATH_ARM64", NULL);
    launch_setenv(MMP_ENV_MODE, o->mode);
    launch_setenv(MMP_ENV_REPORT, report);
    launch_setenv(MMP_ENV_PRECOMPILED, o->precompiled ? "1" : "0");
    launch_setenv(MMP_ENV_INLINING, o->inlining ? "1" : "0");
    launch_setenv(MMP_ENV_REPLACE, o->replace);
    char abs[PATH_MAX];
    if (o->calls_report) {
        /* Absolute, so that the program changing directory cannot move it. */
        absolute(o->calls_report, abs);
        launch_setenv(MMP_ENV_CALLS_REPORT, abs);
    } else {
        launch_setenv(MMP_ENV_CALLS_REPORT, NULL);
    }
    if (o->dump) {
        absolute(o->dump, abs);
        launch_setenv(MMP_ENV_DUMP_BODIES, abs);
    } else {
        launch_setenv(MMP_ENV_DUMP_BODIES, NULL);
    }
    if (o->nguests) {
        static char list[MMP_GUESTS_MAX * (PATH_MAX + 50)];
        guest_list(o, list, sizeof list);
        launch_setenv(MMP_ENV_GUESTS, list);
    } else {
        launch_setenv(MMP_ENV_GUESTS, NULL);
    }
    return 0;
}

/* Prints the report and decides mmrun's exit status from it and the
 * program's. */
static int finish(const char *report, const char *keep, int status, const char *program, const char *profiler_path)
{
    int error, reported = print_report(report, keep, &error);

    remove(report);
    if (!reported && status == LAUNCH_NOT_STARTED) /* said above */
        return status;
    if (!reported && error) {
        fprintf(stderr, "mmrun: the profiler did not start: see its error above\n");
        return status ? status : EXIT_PROFILER;
    }
    if (!reported) {
        fprintf(stderr,
                "mmrun: the profiler wrote no report: the runtime did not load it (is %s a .NET program, is %s "
                "loadable?) or the program ended without a runtime shutdown\n",
                program, profiler_path);
        return status ? status : EXIT_PROFILER;
    }
    if (error && status == 0)
        return EXIT_PROFILER;
    return status;
}

int main(int argc, char **argv)
{
    struct options o;
    char profiler_path[PATH_MAX], report[PATH_MAX];
    int status = parse_args(argc, argv, &o);

    if (status >= 0)
        return status;
    if (o.shim)
        return make_shim(&o);
    if (o.use_profiler) {
        status = setup_profiler(&o, profiler_path, report);
        if (status)
            return status;
    } else {
        launch_setenv("CORECLR_ENABLE_PROFILING", NULL);
    }
    status = launch_run(argv + o.program, o.stats);
    if (status < 0) {
        if (o.use_profiler)
            remove(report);
        return EXIT_PROFILER;
    }
    if (!o.use_profiler)
        return status;
    return finish(report, o.keep, status, argv[o.program], profiler_path);
}
