/* The OS layer on Windows: VirtualQuery to find free places, VirtualAlloc to
 * reserve and commit them.  Reservations start on the allocation granularity
 * (64 KiB); VirtualAlloc never maps over anything, so a lost race is only a
 * failed call.  Included by os.c. */
#define PSAPI_VERSION 2
#include "os.h"

#include <psapi.h>
#include <stdatomic.h>
#include <string.h>

#include "common.h"

static SYSTEM_INFO info(void)
{
    static SYSTEM_INFO si;
    static atomic_int ready;
    if (!atomic_load_explicit(&ready, memory_order_acquire)) {
        SYSTEM_INFO s;
        GetSystemInfo(&s);
        si = s; /* every thread writes the same values before publishing */
        atomic_store_explicit(&ready, 1, memory_order_release);
    }
    return si;
}

size_t mm_os_page_size(void)
{
    return info().dwPageSize;
}

size_t mm_os_granularity(void)
{
    return info().dwAllocationGranularity;
}

uintptr_t mm_os_user_bottom(void)
{
    return mm_align_up((uintptr_t)info().lpMinimumApplicationAddress, mm_os_granularity());
}

uintptr_t mm_os_user_top(void)
{
    return (uintptr_t)info().lpMaximumApplicationAddress + 1;
}

static DWORD protect(mm_os_access access)
{
    return access == MM_OS_READWRITE ? PAGE_READWRITE : PAGE_NOACCESS;
}

static DWORD type(mm_os_access access)
{
    return access == MM_OS_READWRITE ? MEM_RESERVE | MEM_COMMIT : MEM_RESERVE;
}

int mm_os_reserve_at(uintptr_t a, size_t size, mm_os_access access, void **out)
{
    if (size == 0 || a % mm_os_granularity() || size % mm_os_page_size() || a > mm_os_user_top()
        || mm_os_user_top() - a < size)
        return MM_OS_EINVAL;
    void *p = VirtualAlloc((void *)a, size, type(access), protect(access));
    if (!p)
        return GetLastError() == ERROR_INVALID_ADDRESS ? MM_OS_ETAKEN : MM_OS_ENOMEM;
    if ((uintptr_t)p != a) {
        VirtualFree(p, 0, MEM_RELEASE);
        return MM_OS_ETAKEN;
    }
    *out = p;
    return 0;
}

int mm_os_mapping_at(uintptr_t a, uintptr_t *lo, uintptr_t *hi)
{
    MEMORY_BASIC_INFORMATION mbi;
    if (VirtualQuery((void *)a, &mbi, sizeof mbi) != sizeof mbi)
        return MM_OS_ENOMEM;
    if (mbi.State == MEM_FREE)
        return MM_OS_ENOROOM;
    *lo = (uintptr_t)mbi.AllocationBase;
    *hi = (uintptr_t)mbi.BaseAddress + mbi.RegionSize;
    return 0;
}

/* VirtualQuery gives a free region whole, both its ends, in one question:
 * nothing to skip. */
int mm_os_free_ranges_in(const mm_os_range *v, size_t n, size_t whole,
                         int (*visit)(void *ctx, uintptr_t lo, uintptr_t hi), void *ctx, size_t *asked)
{
    (void)whole;
    uintptr_t low = mm_os_user_bottom(), top = mm_os_user_top();
    size_t questions = 0;
    int stop = 0;
    for (size_t i = 0; i < n && !stop; i++) {
        uintptr_t at = v[i].lo > low ? v[i].lo : low, to = v[i].hi < top ? v[i].hi : top;
        MEMORY_BASIC_INFORMATION mbi;
        while (at < to && VirtualQuery((void *)at, &mbi, sizeof mbi) == sizeof mbi) {
            questions++;
            uintptr_t end = (uintptr_t)mbi.BaseAddress + mbi.RegionSize;
            if (end <= at)
                break;
            if (mbi.State == MEM_FREE && visit(ctx, at, end < to ? end : to)) {
                stop = 1;
                break;
            }
            at = end;
        }
    }
    if (asked)
        *asked = questions;
    return 0;
}

bool mm_os_all_mapped(uintptr_t lo, uintptr_t hi)
{
    MEMORY_BASIC_INFORMATION mbi;
    for (uintptr_t at = lo; at < hi;) {
        if (VirtualQuery((void *)at, &mbi, sizeof mbi) != sizeof mbi || mbi.State == MEM_FREE)
            return false;
        uintptr_t end = (uintptr_t)mbi.BaseAddress + mbi.RegionSize;
        if (end <= at)
            return false;
        at = end;
    }
    return lo < hi;
}

int mm_os_reserve_anywhere(size_t size, size_t align, mm_os_access access, void **out)
{
    if (size == 0 || size % mm_os_page_size() || (align & (align - 1)))
        return MM_OS_EINVAL;
    if (align <= mm_os_granularity()) {
        void *p = VirtualAlloc(NULL, size, type(access), protect(access));
        if (!p)
            return MM_OS_ENOMEM;
        *out = p;
        return 0;
    }
    /* Find an aligned place by reserving more, then take the aligned part;
     * between the release and the reservation someone may come: try again. */
    for (int attempt = 0; attempt < MM_OS_RETRIES; attempt++) {
        void *probe = VirtualAlloc(NULL, size + align, MEM_RESERVE, PAGE_NOACCESS);
        if (!probe)
            return MM_OS_ENOMEM;
        uintptr_t a = mm_align_up((uintptr_t)probe, align);
        VirtualFree(probe, 0, MEM_RELEASE);
        int e = mm_os_reserve_at(a, size, access, out);
        if (e != MM_OS_ETAKEN)
            return e;
    }
    return MM_OS_ENOROOM;
}

int mm_os_release(void *p, size_t size)
{
    (void)size;
    return VirtualFree(p, 0, MEM_RELEASE) ? 0 : MM_OS_EINVAL;
}

int mm_os_commit(void *p, size_t size)
{
    return VirtualAlloc(p, size, MEM_COMMIT, PAGE_READWRITE) ? 0 : MM_OS_ENOMEM;
}

int mm_os_decommit(void *p, size_t size)
{
    return VirtualFree(p, size, MEM_DECOMMIT) ? 0 : MM_OS_EINVAL;
}

int mm_os_discard(void *p, size_t size)
{
    /* MEM_RESET keeps the old contents until the pages are reclaimed: zero
     * them instead. */
    memset(p, 0, size);
    return 0;
}

int mm_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    (void)prepare;
    (void)parent;
    (void)child;
    return 0;
}

/* Large pages need a privilege and must be asked for at reservation, and
 * are never given behind the program's back: none here. */
int mm_os_huge_pages(void)
{
    return 0;
}

void mm_os_advise_huge(void *p, size_t size)
{
    (void)p;
    (void)size;
}

void mm_os_advise_small(void *p, size_t size)
{
    (void)p;
    (void)size;
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

/* Region by region: committed, and neither no-access nor a guard page. */
size_t mm_os_readable(const void *p, size_t bound)
{
    uintptr_t a = (uintptr_t)p, at = a, page = (uintptr_t)mm_os_page_size();
    uintptr_t reach = (a & ~(page - 1)) + MM_OS_READABLE_PAGES * page - a;
    if (bound > reach)
        bound = reach;
    while (at - a < bound) {
        MEMORY_BASIC_INFORMATION mi;
        if (VirtualQuery((LPCVOID)at, &mi, sizeof mi) == 0)
            break;
        DWORD prot = mi.Protect & 0xFF;
        if (mi.State != MEM_COMMIT || prot == PAGE_NOACCESS || prot == PAGE_EXECUTE || (mi.Protect & PAGE_GUARD))
            break;
        uintptr_t end = (uintptr_t)mi.BaseAddress + mi.RegionSize;
        if (end <= at)
            break;
        at = end;
    }
    return at - a < bound ? at - a : bound;
}

int mm_os_image_of(const void *a, uintptr_t *base)
{
    HMODULE m;
    if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                            (LPCWSTR)a, &m))
        return MM_OS_ENOROOM;
    *base = (uintptr_t)m; /* a module's handle is its base address */
    return 0;
}

int mm_lock_init(mm_lock *l)
{
    InitializeSRWLock(l);
    return 0;
}

void mm_lock_destroy(mm_lock *l)
{
    (void)l;
}

void mm_lock_acquire(mm_lock *l)
{
    AcquireSRWLockExclusive(l);
}

void mm_lock_release(mm_lock *l)
{
    ReleaseSRWLockExclusive(l);
}

int mm_rwlock_init(mm_rwlock *l)
{
    InitializeSRWLock(l);
    return 0;
}

void mm_rwlock_destroy(mm_rwlock *l)
{
    (void)l;
}

void mm_rwlock_read(mm_rwlock *l)
{
    AcquireSRWLockShared(l);
}

void mm_rwlock_read_release(mm_rwlock *l)
{
    ReleaseSRWLockShared(l);
}

void mm_rwlock_write(mm_rwlock *l)
{
    AcquireSRWLockExclusive(l);
}

void mm_rwlock_write_release(mm_rwlock *l)
{
    ReleaseSRWLockExclusive(l);
}
