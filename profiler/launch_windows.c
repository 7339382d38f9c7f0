/* mmrun's system half on Windows (launch.h): the variables go into mmrun's
 * own environment block (SetEnvironmentVariable), which CreateProcess hands
 * to the program. */
#define PSAPI_VERSION 2
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <errno.h>
#include <psapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launch.h"

int launch_self_dir(char *dir, size_t cap)
{
    char self[MAX_PATH * 4];
    DWORD n = GetModuleFileNameA(NULL, self, sizeof self);
    if (n == 0 || n >= sizeof self)
        return -1;
    char *sep = strrchr(self, '\\');
    if (!sep || (size_t)(sep - self) >= cap)
        return -1;
    *sep = 0;
    strcpy(dir, self);
    return 0;
}

int launch_absolute(const char *path, char *out, size_t cap)
{
    DWORD n = GetFullPathNameA(path, (DWORD)cap, out, NULL);
    return n && n < cap ? 0 : -1;
}

int launch_existing_file(const char *path, char *out, size_t cap)
{
    if (launch_absolute(path, out, cap) != 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    /* Readable, as the runtime will open it. */
    FILE *f = fopen(out, "rb");
    if (!f)
        return -1;
    fclose(f);
    return 0;
}

int launch_temp_file(char *path, size_t cap)
{
    char dir[MAX_PATH + 1];
    DWORD n = GetTempPathA(sizeof dir, dir);
    if (n == 0 || n > sizeof dir || cap < MAX_PATH || !GetTempFileNameA(dir, "mmr", 0, path)) {
        fprintf(stderr, "mmrun: cannot create a report file in the temporary folder %s: error %lu\n",
                n ? dir : "(unknown)", (unsigned long)GetLastError());
        return -1;
    }
    return 0;
}

int launch_mirror(const char *file, const char *dir, const char *lib, const char *skip, char *real, size_t cap)
{
    (void)file, (void)lib, (void)skip, (void)real, (void)cap;
    fprintf(stderr, "mmrun: --shim %s: not supported on Windows (it mirrors the guest's folder with symbolic links); "
                    "use --guest, or set the variables mmrun sets\n", dir);
    return -1;
}

void launch_setenv(const char *name, const char *value)
{
    SetEnvironmentVariableA(name, value);
}

/* Appends arg to the command line the way the C runtime's argument parser
 * reads it back: quoted when it holds a space, tab or quote (or is empty),
 * a quote escaped by a backslash, backslashes doubled only before a quote. */
static int append_arg(char *cmd, size_t cap, size_t *at, const char *arg)
{
    int quote = !*arg || strpbrk(arg, " \t\"") != NULL;
    size_t n = *at;
#define PUT(c)                                                                                                         \
    do {                                                                                                               \
        if (n + 2 >= cap)                                                                                              \
            return -1;                                                                                                 \
        cmd[n++] = (c);                                                                                                \
    } while (0)
    if (n)
        PUT(' ');
    if (quote)
        PUT('"');
    for (const char *a = arg;; a++) {
        size_t slashes = 0;
        while (*a == '\\') {
            slashes++;
            a++;
        }
        /* Backslashes are doubled before a quote: the argument's own quote,
         * escaped, or the closing one. */
        size_t k = *a == '"' ? 2 * slashes + 1 : !*a && quote ? 2 * slashes : slashes;
        while (k--)
            PUT('\\');
        if (!*a)
            break;
        PUT(*a);
    }
    if (quote)
        PUT('"');
#undef PUT
    cmd[n] = 0;
    *at = n;
    return 0;
}

/* The console's Ctrl-C and Ctrl-Break reach every process attached to it,
 * the program included; mmrun waits for the program and still reports. */
static BOOL WINAPI keep_waiting(DWORD event)
{
    return event == CTRL_C_EVENT || event == CTRL_BREAK_EVENT;
}

int launch_run(char **argv, int stats)
{
    static char cmd[32768]; /* CreateProcess's limit */
    size_t at = 0;
    STARTUPINFOA si = {.cb = sizeof si};
    PROCESS_INFORMATION pi;
    LARGE_INTEGER freq, t0, t1;
    DWORD code;

    cmd[0] = 0;
    for (char **a = argv; *a; a++)
        if (append_arg(cmd, sizeof cmd, &at, *a) != 0) {
            fprintf(stderr, "mmrun: the command line of %s is longer than Windows allows\n", argv[0]);
            return LAUNCH_NOT_STARTED;
        }
    /* Before the program starts: a handler is not inherited. */
    SetConsoleCtrlHandler(keep_waiting, TRUE);
    QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&t0);
    if (!CreateProcessA(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
        fprintf(stderr, "mmrun: cannot run %s: error %lu\n", argv[0], (unsigned long)GetLastError());
        return LAUNCH_NOT_STARTED;
    }
    CloseHandle(pi.hThread);
    if (WaitForSingleObject(pi.hProcess, INFINITE) != WAIT_OBJECT_0 || !GetExitCodeProcess(pi.hProcess, &code)) {
        fprintf(stderr, "mmrun: wait: error %lu\n", (unsigned long)GetLastError());
        CloseHandle(pi.hProcess);
        return -1;
    }
    QueryPerformanceCounter(&t1);
    if (stats) {
        PROCESS_MEMORY_COUNTERS pmc = {.cb = sizeof pmc};
        if (!GetProcessMemoryInfo(pi.hProcess, &pmc, sizeof pmc))
            pmc.PeakWorkingSetSize = 0;
        fprintf(stderr, "mmrun: wall_ms=%.1f maxrss_kb=%lu status=%lu\n",
                (double)(t1.QuadPart - t0.QuadPart) * 1e3 / (double)freq.QuadPart,
                (unsigned long)(pmc.PeakWorkingSetSize >> 10), (unsigned long)code);
    }
    CloseHandle(pi.hProcess);
    return (int)code;
}
