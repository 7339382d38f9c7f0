/* mmrun's system half on Linux (launch.h): fork, exec and wait4. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launch.h"

int launch_self_dir(char *dir, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    char *slash;

    if (n <= 0)
        return -1;
    self[n] = 0;
    slash = strrchr(self, '/');
    if (!slash || (size_t)(slash - self) >= cap)
        return -1;
    *slash = 0;
    strcpy(dir, self);
    return 0;
}

int launch_existing_file(const char *path, char *out, size_t cap)
{
    char full[PATH_MAX];
    if (access(path, R_OK) != 0 || !realpath(path, full))
        return -1;
    if (strlen(full) >= cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(out, full);
    return 0;
}

int launch_absolute(const char *path, char *out, size_t cap)
{
    size_t n;
    if (path[0] == '/') {
        if (strlen(path) >= cap)
            return -1;
        strcpy(out, path);
        return 0;
    }
    if (!getcwd(out, cap))
        return -1;
    n = strlen(out);
    if (n + strlen(path) + 2 > cap)
        return -1;
    out[n] = '/';
    strcpy(out + n + 1, path);
    return 0;
}

int launch_temp_file(char *path, size_t cap)
{
    const char *dir = getenv("TMPDIR");
    int fd;
    if (!dir || !*dir)
        dir = "/tmp";
    if ((size_t)snprintf(path, cap, "%s/mmrun-report-XXXXXX", dir) >= cap) {
        fprintf(stderr, "mmrun: cannot create a report file in %s: the path is too long\n", dir);
        return -1;
    }
    fd = mkstemp(path);
    if (fd < 0) {
        fprintf(stderr, "mmrun: cannot create a report file in %s: %s\n", dir, strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

int launch_mirror(const char *file, const char *dir, const char *lib, const char *skip, char *real, size_t cap)
{
    char src[PATH_MAX], full[PATH_MAX], base[NAME_MAX + 1];
    if (!realpath(file, src)) {
        fprintf(stderr, "mmrun: --shim: guest %s: %s\n", file, strerror(errno));
        return -1;
    }
    char *slash = strrchr(src, '/');
    snprintf(base, sizeof base, "%s", slash + 1);
    *slash = 0;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "mmrun: --shim: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    if (!realpath(dir, full)) {
        fprintf(stderr, "mmrun: --shim: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    if (strlen(full) >= cap) {
        fprintf(stderr, "mmrun: --shim: %s: %s\n", dir, strerror(ENAMETOOLONG));
        return -1;
    }
    if (strcmp(full, src) == 0) {
        fprintf(stderr, "mmrun: --shim: %s is the guest's own folder\n", full);
        return -1;
    }
    DIR *d = opendir(src);
    if (!d) {
        fprintf(stderr, "mmrun: --shim: cannot read %s: %s\n", src, strerror(errno));
        return -1;
    }
    struct dirent *e;
    int failed = 0;
    while (!failed && (e = readdir(d))) {
        char from[PATH_MAX + NAME_MAX + 2], to[PATH_MAX + NAME_MAX + 2];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || strcmp(e->d_name, skip) == 0)
            continue;
        snprintf(to, sizeof to, "%s/%s", full, e->d_name);
        snprintf(from, sizeof from, "%s/%s", src, e->d_name);
        (void)unlink(to);
        if (symlink(strcmp(e->d_name, base) == 0 ? lib : from, to) != 0) {
            fprintf(stderr, "mmrun: --shim: cannot link %s: %s\n", to, strerror(errno));
            failed = 1;
        }
    }
    closedir(d);
    strcpy(real, full);
    return failed ? -1 : 0;
}

void launch_setenv(const char *name, const char *value)
{
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
}

static volatile sig_atomic_t child;

static void forward(int sig)
{
    if (child > 0)
        kill((pid_t)child, sig);
}

int launch_run(char **argv, int stats)
{
    struct timespec t0, t1;
    struct rusage ru;
    int status;
    pid_t pid;
    sigset_t stop, old;

    /* SIGTERM and SIGHUP sent to mmrun (a service manager stopping it, a
     * closed terminal) are the program's: passed on, and mmrun still waits
     * for it and prints the report.  Held until the handler is in place. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    sigprocmask(SIG_BLOCK, &stop, &old);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "mmrun: fork: %s\n", strerror(errno));
        sigprocmask(SIG_SETMASK, &old, NULL);
        return -1;
    }
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        execvp(argv[0], argv);
        fprintf(stderr, "mmrun: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(LAUNCH_NOT_STARTED);
    }
    child = pid;
    struct sigaction sa = {.sa_handler = forward};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    /* The terminal's Ctrl-C reaches the program (same process group); mmrun
     * waits for it to end and still prints the report. */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "mmrun: wait: %s\n", strerror(errno));
            return -1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (stats)
        fprintf(stderr, "mmrun: wall_ms=%.1f maxrss_kb=%ld status=%d\n",
                (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6, ru.ru_maxrss,
                status);
    return status;
}
