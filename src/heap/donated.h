/* Address space handed to methodmalloc with mm_donate: the free part of it,
 * process-wide, for any module whose window it meets. */
#ifndef MM_DONATED_H
#define MM_DONATED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Commits `size` bytes (page multiple) at an address a aligned to `align`
 * with lo <= a and a + size <= hi, taken from the lowest donated free range
 * that holds it; NULL if none does.  Thread-safe. */
void *mm_donated_take(uintptr_t lo, uintptr_t hi, size_t size, size_t align);

/* Decommits a range mm_donated_take gave and makes it free again; it never
 * loses the range.  Returns 0, or the OS layer's error when the system would
 * not decommit it: its pages are then discarded (they read as zeros) and
 * the range stays out of the free list and out of mm_donated's in_use
 * (mm_release_failures counts it). */
int mm_donated_give_back(void *p, size_t size);

/* Hold and drop the donated-space lock (around fork). */
void mm_donated_lock(void);
void mm_donated_unlock(void);

/* Calls visit(ctx, lo, hi) for every donation that meets [lo, hi), whole
 * and as given: nothing in donated space changes but through this file,
 * which says so with mm_space_note_room.  Thread-safe; takes the
 * donated-space lock, so visit must not call back into this file. */
void mm_donated_each(uintptr_t lo, uintptr_t hi, void (*visit)(void *ctx, uintptr_t lo, uintptr_t hi), void *ctx);

/* Bytes of donated space free in [lo, hi) now (for the profiler's reserve,
 * which adds space only where there is too little).  Thread-safe. */
uint64_t mm_donated_free_in(uintptr_t lo, uintptr_t hi);

#endif
