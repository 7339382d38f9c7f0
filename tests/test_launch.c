/* mmrun's system half (profiler/launch.h) on the system it is built for: a
 * program it runs gets every argument exactly (spaces, quotes, backslashes,
 * empty ones: on Windows they travel as one command line, quoted by
 * launch_run and split again by the program's C runtime) and the
 * environment launch_setenv made, and its exit status comes back; a program
 * that does not exist is LAUNCH_NOT_STARTED; the report file is made in the
 * temporary folder the environment names.  The program is this test
 * itself, run again with --child. */
#include <stdlib.h>
#include <string.h>

#include "../profiler/launch.h"
#include "check.h"

static const char *const tricky[] = {
    "plain", "two words", "", "quote\"inside", "trailing\\", "back\\\\slashes\\\"quote", "\\\\server\\share dir\\",
    "tab\there", "end space ", "\"", "\\", "a\\\\b c",
};
#define N_TRICKY (sizeof tricky / sizeof tricky[0])
#define CHILD_OK 42

/* The child: exit status CHILD_OK when it got exactly what the parent sent. */
static int child(int argc, char **argv)
{
    const char *set = getenv("MM_LAUNCH_TEST_SET"), *gone = getenv("MM_LAUNCH_TEST_GONE");
    int ok = argc == (int)N_TRICKY + 2 && set && strcmp(set, "a value, with \"quotes\"") == 0 && !gone;
    for (size_t i = 0; ok && i < N_TRICKY; i++)
        if (strcmp(argv[i + 2], tricky[i]) != 0) {
            fprintf(stderr, "child: argument %zu is [%s], sent [%s]\n", i, argv[i + 2], tricky[i]);
            ok = 0;
        }
    if (!ok)
        fprintf(stderr, "child: %d arguments, MM_LAUNCH_TEST_SET=%s, MM_LAUNCH_TEST_GONE=%s\n", argc,
                set ? set : "(unset)", gone ? gone : "(unset)");
    return ok ? CHILD_OK : 1;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0)
        return child(argc, argv);

    char *args[N_TRICKY + 3];
    args[0] = argv[0];
    args[1] = "--child";
    for (size_t i = 0; i < N_TRICKY; i++)
        args[i + 2] = (char *)tricky[i];
    args[N_TRICKY + 2] = NULL;
    launch_setenv("MM_LAUNCH_TEST_SET", "a value, with \"quotes\"");
    launch_setenv("MM_LAUNCH_TEST_GONE", "here");
    launch_setenv("MM_LAUNCH_TEST_GONE", NULL);
    int status = launch_run(args, 0);
    CHECKF(status == CHILD_OK, "the child said %d, not %d: it did not get what was sent", status, CHILD_OK);

    char *none[] = {"mm-launch-no-such-program", NULL};
    CHECK(launch_run(none, 0) == LAUNCH_NOT_STARTED);

    /* The report file: created, found again by its absolute name, removed. */
    char report[4096], again[4096], dir[4096];
    REQUIRE(launch_temp_file(report, sizeof report) == 0);
    CHECK(launch_existing_file(report, again, sizeof again) == 0 && strcmp(report, again) == 0);
    CHECK(remove(report) == 0);
    CHECK(launch_existing_file(report, again, sizeof again) != 0);
    CHECK(launch_self_dir(dir, sizeof dir) == 0 && dir[0]);
    CHECK(launch_absolute("x.tsv", again, sizeof again) == 0 && strlen(again) > strlen("x.tsv"));

    /* The report file goes to the temporary folder the environment names
     * (here this test's own folder), not to a fixed one. */
#ifdef _WIN32
    launch_setenv("TMP", dir);
#else
    launch_setenv("TMPDIR", dir);
#endif
    REQUIRE(launch_temp_file(report, sizeof report) == 0);
    CHECKF(strncmp(report, dir, strlen(dir)) == 0, "the report file %s is not in TMPDIR %s", report, dir);
    CHECK(launch_existing_file(report, again, sizeof again) == 0 && remove(report) == 0);
    return check_done();
}
