/* What the core tests share: real module bases, stand-in images, and the
 * platform layer (platform.h) for questions about the address space. */
#ifndef MM_TESTS_TESTUTIL_H
#define MM_TESTS_TESTUTIL_H

#include "platform.h"

#include <stdatomic.h>

#include "check.h"
#include "heap/debug.h"
#include "methodmalloc.h"

/* The bytes a block of cb takes from its chunk: cb rounded up to the
 * alignment, and in the debug mode (under ASan, or MM_DEBUG) the red zone
 * after it and at least 8-byte alignment (src/heap/debug.h). */
static inline uint64_t block_bytes(uint32_t cb, uint32_t alignment)
{
    return (((uint64_t)cb - 1 + MM_REDZONE) | (alignment - 1) | MM_DEBUG_MIN_MASK) + 1;
}

/* The most padding block_bytes adds to one block. */
static inline uint64_t block_padding_max(uint32_t alignment)
{
    return MM_REDZONE + ((alignment - 1) | MM_DEBUG_MIN_MASK);
}

/* The base address of the object (executable or shared library) holding addr. */
static inline const void *object_base(const void *addr)
{
    return pl_object_base(addr);
}

/* A real .NET assembly from the SDK on this machine, mapped read-only the way
 * a loader maps an image it reads; its size is put in *size.  Fails the test
 * loudly when the SDK is not there. */
static inline const void *map_dotnet_assembly(size_t *size, char *path, size_t path_len)
{
    if (!pl_find_corelib(path, path_len)) {
        fprintf(stderr, "no .NET assembly found (System.Private.CoreLib.dll under $MM_DOTNET_DIR or "
                        "/usr/share/dotnet): is the .NET SDK installed?\n");
        exit(1);
    }
    const void *p = pl_map_file(path, size);
    if (!p) {
        fprintf(stderr, "%s: cannot map it\n", path);
        exit(1);
    }
    if (memcmp(p, "MZ", 2) != 0) {
        fprintf(stderr, "%s is not a PE image\n", path);
        exit(1);
    }
    return p;
}

/* A stand-in module image: `image` bytes mapped read-only (rounded up to the
 * granule), followed by free address space for at least `room` bytes. */
static inline const void *make_image(size_t image, size_t room)
{
    size_t g = pl_granule();
    return pl_make_image((image + g - 1) / g * g, room);
}

#if !defined(_WIN32)
/* The byte at a as memory holds it, or -1: read through /proc/self/mem,
 * so that checking a closed module's memory is not itself an access the
 * debug mode reports (a chunk kept mapped after close stays poisoned). */
static inline int peek_byte(uintptr_t a)
{
    static int fd = -1;
    static pid_t owner; /* an fd opened before a fork reads the parent's memory */
    if (fd < 0 || owner != getpid()) {
        if (fd >= 0)
            close(fd);
        fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
        owner = getpid();
    }
    unsigned char b;
    return fd >= 0 && pread(fd, &b, 1, (off_t)a) == 1 ? b : -1;
}
#endif

static inline void free_image(const void *image, size_t size)
{
    size_t g = pl_granule();
    pl_release((char *)image, (size + g - 1) / g * g);
}

/* The access of the mapping holding addr ("rw-", "---"), or "" if unmapped. */
static inline const char *perms_at(const void *addr)
{
    static char perms[4];
    struct pl_region r = pl_region_at(addr);
    snprintf(perms, sizeof perms, "%s", r.mapped ? r.perms : "");
    return perms;
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

/* Which lanes threads take: lane_probe_start opens a module on base and
 * starts n threads that each make two Allocs from it and then stay, so that
 * none gives its lane back before all have taken one; it returns once all
 * have allocated.  lane_probe_stop lets them go, joins them and closes the
 * module; it returns the module's chunks, one per lane the threads took. */
struct lane_probe {
    mm_module *m;
    IMethodMalloc *mal;
    pl_thread t[64];
    int n;
    _Atomic int allocated, failed, leave;
};

static inline void *lane_probe_thread(void *arg)
{
    struct lane_probe *lp = arg;
    /* Twice: the second Alloc finds the lane the first took (were the
     * thread's lane word to read back wrong, it would take another). */
    if (!lp->mal->lpVtbl->Alloc(lp->mal, 100) || !lp->mal->lpVtbl->Alloc(lp->mal, 100))
        atomic_store(&lp->failed, 1);
    atomic_fetch_add(&lp->allocated, 1);
    while (!atomic_load(&lp->leave))
        pl_yield();
    return NULL;
}

static inline void lane_probe_start(struct lane_probe *lp, const void *base, int n)
{
    REQUIRE(n <= 64);
    lp->n = n;
    atomic_init(&lp->allocated, 0);
    atomic_init(&lp->failed, 0);
    atomic_init(&lp->leave, 0);
    lp->mal = open_alloc(base, MM_DEFAULT_MAX_RVA, &lp->m);
    for (int i = 0; i < n; i++)
        REQUIRE(pl_thread_create(&lp->t[i], lane_probe_thread, lp));
    while (atomic_load(&lp->allocated) < n)
        pl_yield();
}

static inline uint64_t lane_probe_stop(struct lane_probe *lp)
{
    atomic_store(&lp->leave, 1);
    for (int i = 0; i < lp->n; i++)
        pl_thread_join(lp->t[i]);
    CHECKF(!atomic_load(&lp->failed), "lane probe: an Alloc failed");
    mm_stats st;
    mm_module_stats(lp->m, &st);
    done(lp->m, lp->mal);
    return st.chunks;
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
