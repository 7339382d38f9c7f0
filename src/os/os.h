/* The operating system behind methodmalloc: reserving address space inside a
 * window, releasing it, and asking what is resident.  One implementation file
 * per OS (os_linux.c; a Windows port is os_windows.c over VirtualQuery and
 * VirtualAlloc).  Everything above this interface is portable. */
#ifndef MM_OS_H
#define MM_OS_H

#include <stddef.h>
#include <stdint.h>

/* The size of a page (the unit of every reservation).  Never fails. */
size_t mm_os_page_size(void);

/* The first address past the user part of the address space. */
uintptr_t mm_os_user_top(void);

/* Maps `size` bytes (a multiple of the page size) of readable, writable,
 * never executable, zero-filled memory at exactly `a` (page aligned), if
 * nothing is mapped anywhere in [a, a + size); NULL otherwise. */
void *mm_os_reserve_at(uintptr_t a, size_t size);

/* Maps such memory at the lowest address a, aligned to `align` (a power of
 * two, at least the page size), with lo <= a and a + size <= hi, in a place
 * where nothing is mapped.  It never maps over an existing mapping.  Returns
 * NULL if no free range of that size and alignment exists inside the window,
 * or the system refuses memory.  Thread-safe: two threads never get
 * overlapping ranges. */
void *mm_os_reserve_in(uintptr_t lo, uintptr_t hi, size_t size, size_t align);

/* Like mm_os_reserve_in without a window: anywhere in the address space. */
void *mm_os_reserve_anywhere(size_t size, size_t align);

/* Asks that the range be backed by huge pages where the system has them
 * (a hint; failure is ignored). */
void mm_os_advise_huge(void *p, size_t size);

/* Unmaps a range that mm_os_reserve_* returned, whole. */
void mm_os_release(void *p, size_t size);

/* Makes [p, p + size), page aligned, inside address space this process
 * reserved with no access, readable and writable, zero-filled: commits it.
 * Returns p, or NULL if the system refuses. */
void *mm_os_commit(void *p, size_t size);

/* The reverse: the range keeps its addresses reserved, with no access and
 * no memory behind it. */
void mm_os_decommit(void *p, size_t size);

/* How many bytes of the range are resident in physical memory now. */
size_t mm_os_resident(const void *p, size_t size);

#endif
