/* The test programs' window on the operating system: what the tests ask of
 * it (where an object is loaded, what is mapped where, with which access,
 * how much is resident; address space reserved with no access and holes
 * punched into it; threads) behind one set of functions, for POSIX
 * (/proc/self/maps, mmap, mincore, dladdr, pthreads) and for Windows
 * (VirtualQuery, VirtualAlloc, MapViewOfFile, GetModuleHandleEx, threads of
 * its own).  Sizes the tests depend on come from pl_page() and pl_granule()
 * (the unit a reservation starts on and a hole can be punched in: the page
 * on Linux, 64 KiB on Windows), never from constants.  Every failure of the
 * OS here stops the test with a message: these are preconditions. */
#ifndef MM_TESTS_PLATFORM_H
#define MM_TESTS_PLATFORM_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#define PSAPI_VERSION 2
#include <windows.h>
#include <psapi.h>
#else
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

static inline void pl_die(const char *what)
{
    fprintf(stderr, "platform: %s failed\n", what);
    exit(1);
}

/* ---- Sizes ---- */

#if defined(_WIN32)
static inline SYSTEM_INFO pl_info(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si;
}
static inline size_t pl_page(void) { return pl_info().dwPageSize; }
static inline size_t pl_granule(void) { return pl_info().dwAllocationGranularity; }
#else
static inline size_t pl_page(void) { return (size_t)sysconf(_SC_PAGESIZE); }
static inline size_t pl_granule(void) { return pl_page(); }
#endif

/* ---- Loaded objects ---- */

/* The base address of the loaded object (executable or library) holding addr. */
static inline const void *pl_object_base(const void *addr)
{
#if defined(_WIN32)
    HMODULE h;
    if (!GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                            (LPCSTR)addr, &h))
        pl_die("GetModuleHandleEx");
    return (const void *)h;
#else
    Dl_info info;
    if (!dladdr(addr, &info) || !info.dli_fbase) {
        fprintf(stderr, "dladdr found no object for %p\n", addr);
        exit(1);
    }
    return info.dli_fbase;
#endif
}

/* ---- Files ---- */

/* Maps a file read-only the way a loader maps an image it reads; NULL if it
 * cannot be opened. */
static inline const void *pl_map_file(const char *path, size_t *size)
{
#if defined(_WIN32)
    HANDLE f = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    if (f == INVALID_HANDLE_VALUE)
        return NULL;
    LARGE_INTEGER sz;
    HANDLE map = NULL;
    const void *p = NULL;
    if (GetFileSizeEx(f, &sz) && (map = CreateFileMappingA(f, NULL, PAGE_READONLY, 0, 0, NULL)))
        p = MapViewOfFile(map, FILE_MAP_READ, 0, 0, 0);
    if (map)
        CloseHandle(map);
    CloseHandle(f);
    *size = p ? (size_t)sz.QuadPart : 0;
    return p;
#else
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0)
        return NULL;
    void *p = fstat(fd, &st) == 0 ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    close(fd);
    *size = p == MAP_FAILED ? 0 : (size_t)st.st_size;
    return p == MAP_FAILED ? NULL : p;
#endif
}

static inline void pl_unmap_file(const void *p, size_t size)
{
#if defined(_WIN32)
    (void)size;
    UnmapViewOfFile(p);
#else
    munmap((void *)p, size);
#endif
}

/* The newest System.Private.CoreLib.dll of the .NET installation: under
 * $MM_DOTNET_DIR if set, else /usr/share/dotnet (on Windows also
 * %ProgramFiles%\dotnet, and Z:\usr\share\dotnet, which is Linux's under
 * Wine).  False if there is none. */
static inline bool pl_find_corelib(char *path, size_t len)
{
    const char *env = getenv("MM_DOTNET_DIR");
#if defined(_WIN32)
    char pf[MAX_PATH] = "";
    const char *pfenv = getenv("ProgramFiles");
    if (pfenv)
        snprintf(pf, sizeof pf, "%s\\dotnet", pfenv);
    const char *roots[] = {env, pf, "Z:\\usr\\share\\dotnet"};
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        if (!roots[i] || !roots[i][0])
            continue;
        char pattern[MAX_PATH], best[MAX_PATH] = "";
        snprintf(pattern, sizeof pattern, "%s\\shared\\Microsoft.NETCore.App\\*", roots[i]);
        WIN32_FIND_DATAA fd;
        HANDLE h = FindFirstFileA(pattern, &fd);
        if (h == INVALID_HANDLE_VALUE)
            continue;
        do {
            if ((fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) && fd.cFileName[0] != '.'
                && strcmp(fd.cFileName, best) > 0)
                snprintf(best, sizeof best, "%s", fd.cFileName);
        } while (FindNextFileA(h, &fd));
        FindClose(h);
        if (best[0]) {
            snprintf(path, len, "%s\\shared\\Microsoft.NETCore.App\\%s\\System.Private.CoreLib.dll", roots[i], best);
            if (GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES)
                return true;
        }
    }
    return false;
#else
    char pattern[4096];
    glob_t g;
    snprintf(pattern, sizeof pattern, "%s/shared/Microsoft.NETCore.App/*/System.Private.CoreLib.dll",
             env && env[0] ? env : "/usr/share/dotnet");
    if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc == 0)
        return false;
    snprintf(path, len, "%s", g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
    return true;
#endif
}

/* ---- Address space ---- */

/* What is at an address: mapped or not, and its access as "rwx" letters
 * with '-' for each missing one ("rw-", "r--", "---"). */
struct pl_region {
    bool mapped;
    char perms[4];
};

#if !defined(_WIN32)
/* Calls fn for each mapping in /proc/self/maps until it returns false. */
static inline void pl_maps_each(bool (*fn)(uintptr_t lo, uintptr_t hi, const char *perms, void *arg), void *arg)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        pl_die("fopen /proc/self/maps");
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        uintptr_t lo, hi;
        char perms[8];
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s", &lo, &hi, perms) == 3 && !fn(lo, hi, perms, arg))
            break;
    }
    fclose(f);
}

/* A copy of /proc/self/maps for many questions about one moment, in storage
 * the caller gives (a test that has used up the map count cannot count on
 * malloc). */
struct pl_mapping {
    uintptr_t lo, hi;
    char perms[4];
};
struct pl_maps {
    struct pl_mapping *v;
    size_t n, cap;
};

static inline bool pl_maps_add(uintptr_t lo, uintptr_t hi, const char *perms, void *arg)
{
    struct pl_maps *m = arg;
    if (m->n < m->cap) {
        struct pl_mapping *p = &m->v[m->n++];
        p->lo = lo;
        p->hi = hi;
        memcpy(p->perms, perms, 3);
        p->perms[3] = '\0';
    }
    return true;
}

static inline void pl_maps_take(struct pl_maps *m)
{
    m->n = 0;
    pl_maps_each(pl_maps_add, m);
}

/* The mapping that holds a, or NULL. */
static inline const struct pl_mapping *pl_maps_find(const struct pl_maps *m, uintptr_t a)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a < m->v[mid].lo)
            hi = mid;
        else if (a >= m->v[mid].hi)
            lo = mid + 1;
        else
            return &m->v[mid];
    }
    return NULL;
}

/* Readable or writable. */
static inline bool pl_mapping_accessible(const struct pl_mapping *p)
{
    return p->perms[0] == 'r' || p->perms[1] == 'w';
}

/* How many bytes of [lo, hi) are accessible. */
static inline uint64_t pl_maps_accessible(const struct pl_maps *m, uintptr_t lo, uintptr_t hi)
{
    uint64_t n = 0;
    for (size_t i = 0; i < m->n; i++)
        if (pl_mapping_accessible(&m->v[i]) && m->v[i].lo < hi && lo < m->v[i].hi)
            n += (m->v[i].hi < hi ? m->v[i].hi : hi) - (m->v[i].lo > lo ? m->v[i].lo : lo);
    return n;
}

struct pl_query {
    uintptr_t lo, hi, covered_to;
    const char *want;
    bool ok, any;
    struct pl_region r;
};

static inline bool pl_find_cb(uintptr_t lo, uintptr_t hi, const char *perms, void *arg)
{
    struct pl_query *q = arg;
    if (lo <= q->lo && q->lo < hi) {
        q->r.mapped = true;
        memcpy(q->r.perms, perms, 3);
        q->r.perms[3] = '\0';
        return false;
    }
    return true;
}

static inline bool pl_range_cb(uintptr_t lo, uintptr_t hi, const char *perms, void *arg)
{
    struct pl_query *q = arg;
    if (hi <= q->lo || lo >= q->hi)
        return lo < q->hi;
    q->any = true;
    if (q->want && (lo > q->covered_to || strncmp(perms, q->want, 3) != 0))
        q->ok = false;
    q->covered_to = hi;
    return true;
}
#endif

static inline struct pl_region pl_region_at(const void *addr)
{
#if defined(_WIN32)
    struct pl_region r = {false, ""};
    MEMORY_BASIC_INFORMATION mbi;
    if (VirtualQuery(addr, &mbi, sizeof mbi) != sizeof mbi || mbi.State == MEM_FREE)
        return r;
    r.mapped = true;
    DWORD p = mbi.State == MEM_RESERVE ? PAGE_NOACCESS : mbi.Protect & 0xFF;
    bool rd = p != PAGE_NOACCESS && p != PAGE_EXECUTE;
    bool wr = p == PAGE_READWRITE || p == PAGE_WRITECOPY || p == PAGE_EXECUTE_READWRITE || p == PAGE_EXECUTE_WRITECOPY;
    bool ex = p == PAGE_EXECUTE || p == PAGE_EXECUTE_READ || p == PAGE_EXECUTE_READWRITE || p == PAGE_EXECUTE_WRITECOPY;
    r.perms[0] = rd ? 'r' : '-';
    r.perms[1] = wr ? 'w' : '-';
    r.perms[2] = ex ? 'x' : '-';
    r.perms[3] = '\0';
    return r;
#else
    struct pl_query q = {(uintptr_t)addr, 0, 0, NULL, true, false, {false, ""}};
    pl_maps_each(pl_find_cb, &q);
    unsigned char in_core;
    uintptr_t page = (uintptr_t)addr & ~(uintptr_t)(pl_page() - 1);
    if (!q.r.mapped && mincore((void *)page, 1, &in_core) == 0) {
        /* Mapped and accessible, yet not listed: qemu-user writes the
         * guest's /proc/self/maps from the host's and drops a host range
         * that merged with one of its own.  Its access then cannot be read;
         * the callers (the tests) have read and written it, and qemu
         * enforces the guest's execute permission itself. */
        static bool told;
        if (!told)
            fprintf(stderr, "platform: %p is mapped but not in /proc/self/maps (qemu-user); taken as rw-\n", addr);
        told = true;
        q.r.mapped = true;
        memcpy(q.r.perms, "rw-", 4);
    }
    return q.r;
#endif
}

/* Whether every byte of [lo, hi) is mapped with the access `perms` ("---"
 * for reserved, no access), or, with perms NULL, whether none of it is
 * mapped at all. */
static inline bool pl_range_is(uintptr_t lo, uintptr_t hi, const char *perms)
{
#if defined(_WIN32)
    uintptr_t at = lo;
    while (at < hi) {
        MEMORY_BASIC_INFORMATION mbi;
        if (VirtualQuery((void *)at, &mbi, sizeof mbi) != sizeof mbi)
            return false;
        struct pl_region r = pl_region_at((void *)at);
        if (perms ? !r.mapped || strcmp(r.perms, perms) != 0 : r.mapped)
            return false;
        uintptr_t end = (uintptr_t)mbi.BaseAddress + mbi.RegionSize;
        if (end <= at)
            return false;
        at = end;
    }
    return true;
#else
    struct pl_query q = {lo, hi, lo, perms, true, false, {false, ""}};
    pl_maps_each(pl_range_cb, &q);
    return perms ? q.ok && q.any && q.covered_to >= hi : !q.any;
#endif
}

#if !defined(_WIN32)
/* Resident bytes of the mappings overlapping [lo, hi) by /proc/self/smaps,
 * each mapping's Rss counted up to the size of its overlap: exact when the
 * range is whole mappings or holds nothing resident. */
static inline size_t pl_resident_smaps(uintptr_t lo, uintptr_t hi)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        pl_die("fopen /proc/self/smaps");
    char line[4096];
    size_t n = 0, overlap = 0;
    while (fgets(line, sizeof line, f)) {
        uintptr_t a, b;
        unsigned long long kb;
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &a, &b) == 2)
            overlap = a < hi && lo < b ? (b < hi ? b : hi) - (a > lo ? a : lo) : 0;
        else if (overlap && sscanf(line, "Rss: %llu kB", &kb) == 1)
            n += kb * 1024 < overlap ? (size_t)kb * 1024 : overlap;
    }
    fclose(f);
    return n;
}
#endif

/* Bytes of [p, p + size) resident in physical memory (a page-aligned
 * range).  qemu-user's mincore refuses no-access memory (ENOMEM); its
 * /proc/self/smaps, which it writes with the guest's addresses, answers
 * instead. */
static inline size_t pl_resident(const void *p, size_t size)
{
    size_t page = pl_page(), n = 0;
    const char *at = p;
#if defined(_WIN32)
    PSAPI_WORKING_SET_EX_INFORMATION ws[256];
    while (size) {
        size_t k = size / page < 256 ? size / page : 256;
        for (size_t i = 0; i < k; i++)
            ws[i].VirtualAddress = (void *)(at + i * page);
        if (!K32QueryWorkingSetEx(GetCurrentProcess(), ws, (DWORD)(k * sizeof ws[0])))
            pl_die("QueryWorkingSetEx");
        for (size_t i = 0; i < k; i++)
            n += ws[i].VirtualAttributes.Valid ? page : 0;
        at += k * page;
        size -= k * page;
    }
#else
    unsigned char vec[1024];
    while (size) {
        size_t k = size / page < sizeof vec ? size / page : sizeof vec;
        if (mincore((void *)at, k * page, vec) != 0) {
            if (errno != ENOMEM)
                pl_die("mincore");
            return n + pl_resident_smaps((uintptr_t)at, (uintptr_t)at + size);
        }
        for (size_t i = 0; i < k; i++)
            n += (vec[i] & 1) * page;
        at += k * page;
        size -= k * page;
    }
#endif
    return n;
}

/* Reserves `size` bytes of address space with no access, in pieces of
 * pl_granule() (so that holes can be punched into it on Windows, where a
 * reservation can only be released whole), or as one reservation when
 * `whole` (as donated space must be on Windows, where a commit cannot span
 * two reservations).  size is a multiple of pl_granule(). */
static inline char *pl_reserve(size_t size, bool whole)
{
#if defined(_WIN32)
    size_t g = pl_granule();
    for (int attempt = 0; attempt < 16; attempt++) {
        char *p = VirtualAlloc(NULL, size, MEM_RESERVE, PAGE_NOACCESS);
        if (!p)
            pl_die("VirtualAlloc reserve");
        if (whole)
            return p;
        VirtualFree(p, 0, MEM_RELEASE);
        size_t i;
        for (i = 0; i < size / g; i++)
            if (VirtualAlloc(p + i * g, g, MEM_RESERVE, PAGE_NOACCESS) != p + i * g)
                break;
        if (i == size / g)
            return p;
        while (i--)
            VirtualFree(p + i * g, 0, MEM_RELEASE);
    }
    pl_die("reserving address space in pieces");
    return NULL;
#else
    (void)whole;
    char *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        pl_die("mmap PROT_NONE");
    return p;
#endif
}

/* Gives back [p, p + size) of what pl_reserve returned (whole pieces on
 * Windows), making it a hole; pieces already given back are skipped. */
static inline void pl_release(char *p, size_t size)
{
#if defined(_WIN32)
    size_t g = pl_granule();
    MEMORY_BASIC_INFORMATION mbi;
    for (char *at = p; at < p + size; at += g)
        if (VirtualQuery(at, &mbi, sizeof mbi) == sizeof mbi && mbi.State != MEM_FREE && mbi.AllocationBase == at)
            VirtualFree(at, 0, MEM_RELEASE);
#else
    if (munmap(p, size) != 0)
        pl_die("munmap");
#endif
}

/* Maps `size` bytes (a multiple of pl_granule()) read-only at exactly `at`
 * if nothing is there; NULL otherwise. */
static inline char *pl_map_at(void *at, size_t size)
{
#if defined(_WIN32)
    return VirtualAlloc(at, size, MEM_RESERVE | MEM_COMMIT, PAGE_READONLY);
#else
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
    char *p = mmap(at, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != MAP_FAILED && p != at) {
        munmap(p, size);
        return NULL;
    }
    return p == MAP_FAILED ? NULL : p;
#endif
}

/* A stand-in module image: `image` bytes (a multiple of pl_granule())
 * mapped read-only, followed by free address space for at least `room`
 * bytes.  Released with pl_release(p, image). */
static inline const void *pl_make_image(size_t image, size_t room)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        char *p = pl_reserve(image + room, true);
        pl_release(p, image + room);
        char *q = pl_map_at(p, image);
        if (q)
            return q;
    }
    pl_die("mapping a stand-in image");
    return NULL;
}

/* ---- Threads ---- */

#if defined(_WIN32)
typedef HANDLE pl_thread;
struct pl_thread_start {
    void *(*fn)(void *);
    void *arg;
};
static DWORD WINAPI pl_thread_main(LPVOID p)
{
    struct pl_thread_start s = *(struct pl_thread_start *)p;
    free(p);
    s.fn(s.arg);
    return 0;
}
static inline bool pl_thread_create(pl_thread *t, void *(*fn)(void *), void *arg)
{
    struct pl_thread_start *s = malloc(sizeof *s);
    if (!s)
        return false;
    s->fn = fn;
    s->arg = arg;
    *t = CreateThread(NULL, 0, pl_thread_main, s, 0, NULL);
    if (!*t)
        free(s);
    return *t != NULL;
}
static inline void pl_thread_join(pl_thread t)
{
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}
static inline void pl_yield(void)
{
    SwitchToThread();
}
#else
typedef pthread_t pl_thread;
static inline bool pl_thread_create(pl_thread *t, void *(*fn)(void *), void *arg)
{
    return pthread_create(t, NULL, fn, arg) == 0;
}
static inline void pl_thread_join(pl_thread t)
{
    pthread_join(t, NULL);
}
static inline void pl_yield(void)
{
    sched_yield();
}
#endif

#endif
