/* The profiler library's system half on Linux (sys.h): dlopen, dladdr,
 * flock. */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys.h"

void *mmp_sys_lib_open(const char *path, char *err, size_t cap)
{
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *e = dlerror();
        snprintf(err, cap, "dlopen: %s", e ? e : "failed");
    }
    return lib;
}

void (*mmp_sys_lib_fn(void *lib, const char *name))(void)
{
    return (void (*)(void))(uintptr_t)dlsym(lib, name);
}

int mmp_sys_lib_dir(const void *addr, char *dir, size_t cap)
{
    Dl_info dl;
    if (!dladdr(addr, &dl) || !dl.dli_fname)
        return -1;
    const char *slash = strrchr(dl.dli_fname, '/');
    size_t len = slash ? (size_t)(slash - dl.dli_fname) : 0;
    if (len == 0 || len >= cap)
        return -1;
    memcpy(dir, dl.dli_fname, len);
    dir[len] = 0;
    return 0;
}

long mmp_sys_pid(void)
{
    return (long)getpid();
}

void mmp_sys_mkdir(const char *path)
{
    (void)mkdir(path, 0777);
}

FILE *mmp_sys_append_open(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    (void)flock(fd, LOCK_EX);
    return f;
}

void mmp_sys_append_close(FILE *f)
{
    fflush(f);
    (void)flock(fileno(f), LOCK_UN);
    fclose(f);
}
