/*
 * mmrun's system half: its own folder, file paths, the environment the
 * program inherits, the report file and running the program.  mmrun.c is
 * the same everywhere; launch_posix.c (fork, exec, wait) and
 * launch_windows.c (SetEnvironmentVariable, CreateProcess) each implement
 * this for one system, chosen by the build.
 */
#ifndef MM_PROFILER_LAUNCH_H
#define MM_PROFILER_LAUNCH_H

#include <stddef.h>

/* launch_run's answer when the program could not be started (said why). */
#define LAUNCH_NOT_STARTED 127

/* The folder holding mmrun's own executable, into dir (no separator at the
 * end).  Returns 0, or -1 when the system cannot say. */
int launch_self_dir(char *dir, size_t cap);

/* The absolute path of path into out, if it names a readable file.
 * Returns 0, or -1 with errno set. */
int launch_existing_file(const char *path, char *out, size_t cap);

/* path made absolute against the current folder into out; the file need
 * not exist.  Returns 0, or -1 (out unusable). */
int launch_absolute(const char *path, char *out, size_t cap);

/* Creates an empty file of a new name in the temporary folder (TMPDIR, else
 * /tmp; on Windows, GetTempPath's) for the profiler's report: its path into
 * path.  Returns 0, or -1 after saying why on stderr. */
int launch_temp_file(char *path, size_t cap);

/* mmrun --shim: makes dir (if new) a mirror of the folder holding file:
 * each entry a symbolic link to the original, except file's own name,
 * which links to lib, and skip, left out.  dir's real path into real.
 * Returns 0, or -1 after saying why on stderr (dir being file's own folder
 * included).  Windows: not supported (symbolic links need a privilege
 * there), always -1 with that said. */
int launch_mirror(const char *file, const char *dir, const char *lib, const char *skip, char *real, size_t cap);

/* Sets name to value in the environment the program will inherit; a NULL
 * value removes name. */
void launch_setenv(const char *name, const char *value);

/* Runs argv (argv[0] found on the PATH) and waits for it, passing the
 * terminal's interrupt and mmrun's stop requests to it.  Returns its exit
 * status (POSIX: 128 + signal when killed; Windows: the exit code, an
 * NTSTATUS such as 0xC0000005 after a crash), LAUNCH_NOT_STARTED, or -1
 * when it could not be waited for (said why).  With stats, prints the wall
 * time and peak resident memory on stderr. */
int launch_run(char **argv, int stats);

#endif /* MM_PROFILER_LAUNCH_H */
