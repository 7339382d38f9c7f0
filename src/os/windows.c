/* The OS layer on Windows: VirtualQuery to find free places, VirtualAlloc to
 * reserve and commit them.  Reservations start on the allocation granularity
 * (64 KiB); VirtualAlloc never maps over anything, so a lost race is only a
 * failed call.  Compiled (mingw-w64) by `make test`; not yet run. */
#define WIN32_LEAN_AND_MEAN
#define PSAPI_VERSION 2
#include <windows.h>
#include <psapi.h>

#include "heap/options.h"
#include "os.h"

static SYSTEM_INFO info(void)
{
    static SYSTEM_INFO si;
    if (!si.dwPageSize) /* benign race: every thread stores the same values */
        GetSystemInfo(&si);
    return si;
}

size_t mm_os_page_size(void)
{
    return info().dwPageSize;
}

uintptr_t mm_os_user_top(void)
{
    return (uintptr_t)info().lpMaximumApplicationAddress + 1;
}

static uintptr_t align_up(uintptr_t x, size_t align)
{
    return (x + align - 1) & ~(uintptr_t)(align - 1);
}

/* Reservations start on the allocation granularity. */
static size_t granular(size_t align)
{
    size_t g = info().dwAllocationGranularity;
    return align > g ? align : g;
}

void *mm_os_reserve_at(uintptr_t a, size_t size)
{
    if (size == 0 || a % granular(0) != 0 || a > mm_os_user_top() || mm_os_user_top() - a < size)
        return NULL;
    void *p = VirtualAlloc((void *)a, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (p && (uintptr_t)p != a) {
        VirtualFree(p, 0, MEM_RELEASE);
        return NULL;
    }
    return p;
}

void *mm_os_reserve_in(uintptr_t lo, uintptr_t hi, size_t size, size_t align)
{
    uintptr_t top = mm_os_user_top();
    align = granular(align);
    if (hi > top)
        hi = top;
    if (lo < (uintptr_t)info().lpMinimumApplicationAddress)
        lo = (uintptr_t)info().lpMinimumApplicationAddress;
    if (size == 0 || lo > UINTPTR_MAX - align)
        return NULL;
    for (int attempt = 0; attempt < MM_RESERVE_RETRIES; attempt++) {
        MEMORY_BASIC_INFORMATION mbi;
        uintptr_t at = lo, found = 0;
        while (at < hi && VirtualQuery((void *)at, &mbi, sizeof mbi) == sizeof mbi) {
            uintptr_t end = (uintptr_t)mbi.BaseAddress + mbi.RegionSize;
            if (mbi.State == MEM_FREE) {
                uintptr_t a = align_up(at, align), stop = end < hi ? end : hi;
                if (a >= at && a < stop && stop - a >= size) {
                    found = a;
                    break;
                }
            }
            if (end <= at)
                break;
            at = end;
        }
        if (!found)
            return NULL;
        void *p = mm_os_reserve_at(found, size);
        if (p)
            return p;
        /* Another thread took the place between the query and the reservation. */
    }
    return NULL;
}

void *mm_os_reserve_anywhere(size_t size, size_t align)
{
    if (align <= info().dwAllocationGranularity)
        return VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    /* Find an aligned place by reserving more, then take the aligned part;
     * between the release and the reservation someone may come: try again. */
    for (int attempt = 0; attempt < MM_RESERVE_RETRIES; attempt++) {
        void *probe = VirtualAlloc(NULL, size + align, MEM_RESERVE, PAGE_NOACCESS);
        if (!probe)
            return NULL;
        uintptr_t a = align_up((uintptr_t)probe, align);
        VirtualFree(probe, 0, MEM_RELEASE);
        void *p = mm_os_reserve_at(a, size);
        if (p)
            return p;
    }
    return NULL;
}

void mm_os_advise_huge(void *p, size_t size)
{
    /* Large pages need a privilege and must be asked for at reservation. */
    (void)p;
    (void)size;
}

void mm_os_release(void *p, size_t size)
{
    (void)size;
    VirtualFree(p, 0, MEM_RELEASE);
}

void *mm_os_commit(void *p, size_t size)
{
    return VirtualAlloc(p, size, MEM_COMMIT, PAGE_READWRITE);
}

void mm_os_decommit(void *p, size_t size)
{
    VirtualFree(p, size, MEM_DECOMMIT);
}

size_t mm_os_resident(const void *p, size_t size)
{
    PSAPI_WORKING_SET_EX_INFORMATION ws[512];
    size_t page = mm_os_page_size(), resident = 0, pages = size / page;
    const char *at = p;
    while (pages) {
        size_t n = pages < 512 ? pages : 512;
        for (size_t i = 0; i < n; i++)
            ws[i].VirtualAddress = (void *)(at + i * page);
        if (!K32QueryWorkingSetEx(GetCurrentProcess(), ws, (DWORD)(n * sizeof ws[0])))
            return resident;
        for (size_t i = 0; i < n; i++)
            resident += ws[i].VirtualAttributes.Valid ? page : 0;
        at += n * page;
        pages -= n;
    }
    return resident;
}
