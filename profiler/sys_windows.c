/* The profiler library's system half on Windows (sys.h): LoadLibrary,
 * GetModuleHandleEx, LockFileEx. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <direct.h>
#include <io.h>
#include <stdint.h>
#include <string.h>

#include "sys.h"

void *mmp_sys_lib_open(const char *path, char *err, size_t cap)
{
    HMODULE lib = LoadLibraryA(path);
    if (!lib)
        snprintf(err, cap, "LoadLibrary: error %lu", (unsigned long)GetLastError());
    return (void *)lib;
}

void (*mmp_sys_lib_fn(void *lib, const char *name))(void)
{
    return (void (*)(void))(uintptr_t)GetProcAddress((HMODULE)lib, name);
}

int mmp_sys_lib_dir(const void *addr, char *dir, size_t cap)
{
    HMODULE m;
    char path[MAX_PATH * 4];
    if (!GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                            (LPCSTR)addr, &m))
        return -1;
    DWORD n = GetModuleFileNameA(m, path, sizeof path);
    if (n == 0 || n >= sizeof path)
        return -1;
    char *sep = strrchr(path, '\\'), *slash = strrchr(path, '/');
    if (slash && (!sep || slash > sep))
        sep = slash;
    size_t len = sep ? (size_t)(sep - path) : 0;
    if (len == 0 || len >= cap)
        return -1;
    memcpy(dir, path, len);
    dir[len] = 0;
    return 0;
}

long mmp_sys_pid(void)
{
    return (long)GetCurrentProcessId();
}

void mmp_sys_mkdir(const char *path)
{
    (void)_mkdir(path);
}

/* The whole file's range, as far as a lock can reach. */
static OVERLAPPED whole(void)
{
    OVERLAPPED o;
    memset(&o, 0, sizeof o);
    return o;
}

FILE *mmp_sys_append_open(const char *path)
{
    FILE *f = fopen(path, "ab");
    if (!f)
        return NULL;
    OVERLAPPED o = whole();
    (void)LockFileEx((HANDLE)_get_osfhandle(_fileno(f)), LOCKFILE_EXCLUSIVE_LOCK, 0, MAXDWORD, MAXDWORD, &o);
    return f;
}

void mmp_sys_append_close(FILE *f)
{
    fflush(f);
    OVERLAPPED o = whole();
    (void)UnlockFileEx((HANDLE)_get_osfhandle(_fileno(f)), 0, MAXDWORD, MAXDWORD, &o);
    fclose(f);
}
