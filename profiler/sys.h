/*
 * The profiler library's system half: loading a guest's library, the
 * folder our own library was loaded from, the process id, a folder made,
 * a file appended to under a lock.  The host and the modes are the same
 * everywhere; sys_posix.c (dlopen, flock) and sys_windows.c (LoadLibrary,
 * LockFileEx) each implement this for one system, chosen by the build.
 * The address space (what is readable) goes through src/os as ever.
 */
#ifndef MM_PROFILER_SYS_H
#define MM_PROFILER_SYS_H

#include <stddef.h>
#include <stdio.h>

/* Loads the library at path, its symbols kept to itself.  Returns its
 * handle, or NULL with the system's reason in err[cap]. */
void *mmp_sys_lib_open(const char *path, char *err, size_t cap);

/* The address of the function named name in lib, or NULL. */
void (*mmp_sys_lib_fn(void *lib, const char *name))(void);

/* The folder (no separator at the end) of the library file holding the
 * code at addr, as it was named when loaded (a symbolic link not followed)
 * into dir[cap].  Returns 0, or -1 when the system cannot say. */
int mmp_sys_lib_dir(const void *addr, char *dir, size_t cap);

/* This process's id. */
long mmp_sys_pid(void);

/* Makes the folder path if it is not there (failure not said: the file
 * written into it says). */
void mmp_sys_mkdir(const char *path);

/* Opens path for appending (made if new) and holds an exclusive lock on it
 * against other processes until mmp_sys_append_close.  Returns the stream,
 * or NULL (the reason in errno where the system gives one). */
FILE *mmp_sys_append_open(const char *path);
/* Flushes, unlocks and closes what mmp_sys_append_open opened. */
void mmp_sys_append_close(FILE *f);

#endif /* MM_PROFILER_SYS_H */
