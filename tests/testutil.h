/* What the core tests share: real module bases, and questions to
 * /proc/self/maps about what is mapped where. */
#ifndef MM_TESTS_TESTUTIL_H
#define MM_TESTS_TESTUTIL_H

#include <dlfcn.h>
#include <fcntl.h>
#include <glob.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "methodmalloc.h"

/* The base address of the object (executable or shared library) holding addr. */
static inline const void *object_base(const void *addr)
{
    Dl_info info;
    if (!dladdr(addr, &info) || !info.dli_fbase) {
        fprintf(stderr, "dladdr found no object for %p\n", addr);
        exit(1);
    }
    return info.dli_fbase;
}

/* A real .NET assembly from the SDK on this machine, mapped read-only the way
 * a loader maps an image it reads; its size is put in *size.  Fails the test
 * loudly when the SDK is not there. */
static inline const void *map_dotnet_assembly(size_t *size, char *path, size_t path_len)
{
    glob_t g;
    if (glob("/usr/share/dotnet/shared/Microsoft.NETCore.App/*/System.Private.CoreLib.dll", 0, NULL, &g) != 0
        || g.gl_pathc == 0) {
        fprintf(stderr, "no .NET assembly found under /usr/share/dotnet: is the .NET SDK installed?\n");
        exit(1);
    }
    snprintf(path, path_len, "%s", g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(path);
        exit(1);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    if (memcmp(p, "MZ", 2) != 0) {
        fprintf(stderr, "%s is not a PE image\n", path);
        exit(1);
    }
    *size = (size_t)st.st_size;
    return p;
}

/* A stand-in module image: `image` bytes mapped read-only, followed by free
 * address space for at least `room` bytes (reserved, then given back, so
 * nothing else of this process is there). */
static inline const void *make_image(size_t image, size_t room)
{
    char *p = mmap(NULL, image + room, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    munmap(p + image, room);
    return p;
}

/* Calls fn for each mapping in /proc/self/maps until it returns false. */
static inline void maps_each(bool (*fn)(uintptr_t lo, uintptr_t hi, const char *perms, void *arg), void *arg)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) {
        perror("/proc/self/maps");
        exit(1);
    }
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && !fn(lo, hi, perms, arg))
            break;
    }
    fclose(f);
}

struct maps_query {
    uintptr_t lo, hi;
    char perms[8];
    size_t count;
};

static inline bool maps_find_cb(uintptr_t lo, uintptr_t hi, const char *perms, void *arg)
{
    struct maps_query *q = arg;
    if (lo <= q->lo && q->lo < hi) {
        snprintf(q->perms, sizeof q->perms, "%s", perms);
        q->count = 1;
        return false;
    }
    return true;
}

/* The permissions ("rw-p" ...) of the mapping holding addr, or "" if unmapped. */
static inline struct maps_query maps_perms(const void *addr)
{
    struct maps_query q = {(uintptr_t)addr, 0, "", 0};
    maps_each(maps_find_cb, &q);
    return q;
}

static inline bool maps_overlap_cb(uintptr_t lo, uintptr_t hi, const char *perms, void *arg)
{
    struct maps_query *q = arg;
    (void)perms;
    if (lo < q->hi && q->lo < hi)
        q->count++;
    return true;
}

/* How many mappings overlap [lo, hi). */
static inline size_t maps_count_in(uintptr_t lo, uintptr_t hi)
{
    struct maps_query q = {lo, hi, "", 0};
    maps_each(maps_overlap_cb, &q);
    return q.count;
}

/* Opens a module (alignment 8, counting blocks) and its allocator, or stops
 * the test. */
static inline IMethodMalloc *open_alloc(const void *base, uint32_t max_rva, mm_module **m)
{
    mm_config c = {max_rva, 8, MM_COUNT_BLOCKS};
    IMethodMalloc *mal = NULL;
    REQUIRE(mm_module_open(base, &c, m) == S_OK);
    REQUIRE(mm_module_allocator(*m, &mal) == S_OK);
    return mal;
}

/* Drops the allocator and closes its module. */
static inline void done(mm_module *m, IMethodMalloc *mal)
{
    mal->lpVtbl->Release(mal);
    mm_module_close(m);
}

/* A deterministic generator for sizes (xorshift64*). */
static inline uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

#endif
