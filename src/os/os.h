/* The operating system behind methodmalloc: reserving address space inside
 * a window, committing and releasing it, asking what is free and what is
 * resident, and a lock.  Everything that touches the address space (the
 * allocator, donated space, the profiler's reserve) goes through here; nothing
 * above calls mmap, VirtualAlloc or reads /proc itself.  One file per OS
 * (linux.c, windows.c), chosen by os.c.  Depends on nothing above it.
 *
 * Rules for every primitive below, stated once:
 * - Addresses and sizes are multiples of mm_os_page_size(); places a
 *   reservation starts at are multiples of mm_os_granularity().
 * - A primitive that can fail returns 0 on success or one of the MM_OS_E*
 *   codes, and its results come back through out-parameters, written only on
 *   success.  errno is never part of the contract.
 * - Nothing here maps over an existing mapping, except commit and decommit,
 *   which act inside a range the caller itself reserved.
 * - Memory is never executable; readable-writable memory is zero-filled when
 *   it is first made accessible.
 * - Every primitive is thread-safe; two reservations never overlap. */
#ifndef MM_OS_H
#define MM_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MM_OS_ETAKEN 1  /* something is mapped in the range asked for */
#define MM_OS_ENOROOM 2 /* no free range of that size and alignment in the window */
#define MM_OS_ENOMEM 3  /* the system refused (memory, map count, address-space limit) */
#define MM_OS_EINVAL 4  /* arguments outside the rules above */

/* Access of reserved memory. */
typedef enum mm_os_access {
    MM_OS_NOACCESS,  /* address space only: no access, no memory behind it */
    MM_OS_READWRITE, /* readable and writable */
} mm_os_access;

/* The size of a page (the unit of every size).  Never fails. */
size_t mm_os_page_size(void);

/* Where reservations may start: the page size on Linux, 64 KiB on Windows. */
size_t mm_os_granularity(void);

/* The lowest address a process may map (Linux: vm.mmap_min_addr) and the
 * first address past the user part of the address space.  Every primitive
 * keeps to [bottom, top). */
uintptr_t mm_os_user_bottom(void);
uintptr_t mm_os_user_top(void);

/* Reserves exactly [a, a + size), if nothing is mapped anywhere in it
 * (MM_OS_ETAKEN otherwise). */
int mm_os_reserve_at(uintptr_t a, size_t size, mm_os_access access, void **out);

/* Reserves `size` bytes at the lowest address a, aligned to `align` (a power
 * of two), with lo <= a and a + size <= hi, where nothing is mapped.  When
 * another thread or library maps the place first, the next free place is
 * tried, a few times.  MM_OS_ENOROOM when the window has no such place. */
int mm_os_reserve_in(uintptr_t lo, uintptr_t hi, size_t size, size_t align, mm_os_access access, void **out);

/* Reserves `size` bytes aligned to `align` anywhere in the address space. */
int mm_os_reserve_anywhere(size_t size, size_t align, mm_os_access access, void **out);

/* Calls visit(ctx, lo, hi) for every free range [lo, hi) of the address
 * space that meets [from, to), clipped to it, lowest first, until visit
 * returns nonzero.  A snapshot: the ranges may be taken by the time visit
 * runs.  Returns 0 or MM_OS_ENOMEM when the system cannot say. */
int mm_os_free_ranges(uintptr_t from, uintptr_t to, int (*visit)(void *ctx, uintptr_t lo, uintptr_t hi), void *ctx);

/* A stretch of the address space, [lo, hi). */
typedef struct mm_os_range {
    uintptr_t lo, hi;
} mm_os_range;

/* mm_os_free_ranges over each of the n stretches v[0, n) (sorted, not
 * overlapping) in one reading of the system's list.  A free range of at
 * least `whole` bytes is visited whole (its part in the stretch); smaller
 * ones may be visited in part or not at all, which lets the walk skip over
 * runs of small mappings and gaps instead of asking about each one (whole 0:
 * every free range, whole).  *asked, when asked is not NULL, is set to the
 * number of mappings the walk met (asked about, or read from the list inside
 * the stretches).  Returns 0 or MM_OS_ENOMEM. */
int mm_os_free_ranges_in(const mm_os_range *v, size_t n, size_t whole,
                         int (*visit)(void *ctx, uintptr_t lo, uintptr_t hi), void *ctx, size_t *asked);

/* Whether every page of [lo, hi) is mapped (by anyone).  One question to the
 * system however many mappings the range holds, and no list read: how a
 * caller learns that nothing it saw mapped there was unmapped since (where
 * that question cannot tell, as under qemu-user with a reserved guest
 * space, a walk of the range answers).  False also when the system cannot
 * say; the caller then reads the range. */
bool mm_os_all_mapped(uintptr_t lo, uintptr_t hi);

/* The mapping that holds address a, as the system keeps it (one line of
 * /proc/self/maps; one VirtualQuery allocation on Windows): [*lo, *hi).
 * MM_OS_ENOROOM when nothing is mapped at a, MM_OS_ENOMEM when the system
 * cannot say. */
int mm_os_mapping_at(uintptr_t a, uintptr_t *lo, uintptr_t *hi);

/* Releases a range that a reservation returned, whole. */
int mm_os_release(void *p, size_t size);

/* Makes part of a reservation readable, writable and zero-filled. */
int mm_os_commit(void *p, size_t size);

/* The reverse: the range keeps its addresses, with no access and no memory
 * behind it; its old contents are gone. */
int mm_os_decommit(void *p, size_t size);

/* Drops the contents of a readable-writable range without changing the
 * mapping (no split, so it works when the system's map count is used up):
 * it reads as zeros after. */
int mm_os_discard(void *p, size_t size);

/* Whether memory advised with mm_os_advise_huge can get huge pages: the
 * system has transparent huge pages, enabled for advised memory at least,
 * and not turned off for this process.  Decided at the first call. */
int mm_os_huge_pages(void);

/* Asks that the range be backed by huge pages where the system has them (a
 * hint: failure is not an error). */
void mm_os_advise_huge(void *p, size_t size);

/* Asks that the range never be backed by huge pages, whatever the system's
 * mode, not even by its merging of pages in the background (a hint: failure
 * is not an error). */
void mm_os_advise_small(void *p, size_t size);

/* How many bytes of the range are resident in physical memory now (0 where
 * the system cannot say). */
size_t mm_os_resident(const void *p, size_t size);

/* The base of the loaded image (shared object, DLL) that holds address a:
 * MM_OS_ENOROOM when a lies in none. */
int mm_os_image_of(const void *a, uintptr_t *base);

/* How many bytes from p on can be read now, at most bound and at most to
 * the end of the MM_OS_READABLE_PAGES-th page from p's (the probe looks no
 * further): 0 when not even the first; bound when the system gives no
 * answer.  A mapping may be reserved and not accessible, and a pointer
 * handed in may point anywhere: probing never faults. */
#define MM_OS_READABLE_PAGES 256
size_t mm_os_readable(const void *p, size_t bound);

/* Registers handlers run around fork() in the forking thread (prepare before,
 * parent and child after); 0 where the system has no fork. */
int mm_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));

/* A mutex the thread sanitizers see (glibc's C11 mtx_* are not intercepted
 * by TSan).  Init returns 0 or MM_OS_ENOMEM; a lock initialized with
 * MM_LOCK_INIT needs no init. */
#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
typedef SRWLOCK mm_lock;
typedef SRWLOCK mm_rwlock;
#define MM_LOCK_INIT SRWLOCK_INIT
#else
#include <pthread.h>
typedef pthread_mutex_t mm_lock;
typedef pthread_rwlock_t mm_rwlock;
#define MM_LOCK_INIT PTHREAD_MUTEX_INITIALIZER
#endif
int mm_lock_init(mm_lock *l);
void mm_lock_destroy(mm_lock *l);
void mm_lock_acquire(mm_lock *l);
void mm_lock_release(mm_lock *l);

/* A reader-writer lock: many readers or one writer; each acquire is paired
 * with the release of its kind.  Init returns 0 or MM_OS_ENOMEM. */
int mm_rwlock_init(mm_rwlock *l);
void mm_rwlock_destroy(mm_rwlock *l);
void mm_rwlock_read(mm_rwlock *l);
void mm_rwlock_read_release(mm_rwlock *l);
void mm_rwlock_write(mm_rwlock *l);
void mm_rwlock_write_release(mm_rwlock *l);

#endif /* MM_OS_H */
