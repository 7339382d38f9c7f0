/* A chunk: one mapping inside a module's window that blocks are bumped out of. */
#ifndef MM_CHUNK_H
#define MM_CHUNK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "space.h"

/* Allocated in blocks of at least 64 bytes (MM_CHUNK_STRUCT_SIZE): the
 * cursors of two chunks, which two lanes bump at once, are then never in one
 * cache line. */
struct mm_chunk {
    /* The fast path's two words, together at the head.  `cur` is the next
     * free byte and never passes `end`: it only moves by a compare-and-swap
     * that has checked the block fits, so a refused request leaves it alone
     * and it cannot wrap, whatever the address width. */
    _Atomic uintptr_t cur;
    uintptr_t end;
    /* Successful blocks: (sum of their cb) << 32 | count.  Both halves fit:
     * a chunk is under 4 GiB, so it holds under 2^32 blocks of at least one
     * byte, and their cb add up to less than its size. */
    _Atomic uint64_t counts;
    /* The rest is written under the module's lock only. */
    void *map;           /* the mapping, as the OS layer returned it */
    size_t map_size;
    int donated;         /* taken from mm_donate'd space, given back there */
    int in_window;       /* placed by the space (space.c), given back through it */
    struct mm_chunk *next;
};

#define MM_CHUNK_STRUCT_SIZE (sizeof(struct mm_chunk) > 64 ? sizeof(struct mm_chunk) : 64)

/* Reserves a chunk inside the window for at least `need` bytes, preferably
 * `want` (>= need), smaller where the window has no room for `want` or the
 * room is contested (space.c chooses the place and the size).  A window-less
 * chunk goes anywhere.  The chunk's struct comes from malloc, its memory
 * from the space or the OS layer.  Returns the chunk, or NULL with *err:
 * MM_SPACE_REBUILD (only unless may_rebuild: rebuild the space's index
 * outside any lock, then ask again), or why nothing fits. */
struct mm_chunk *mm_chunk_reserve(struct mm_window *w, size_t need, size_t want, uintptr_t hint, int may_rebuild,
                                  int *err);

/* Bytes handed out from the chunk, padding included. */
uint64_t mm_chunk_used(const struct mm_chunk *c);

/* Unmaps the chunk (or gives it back to donated space) and frees its struct.
 * When the system refuses, the chunk's pages are discarded instead (they
 * read as zeros) and it is counted in mm_release_failures. */
void mm_chunk_release(struct mm_chunk *c);

#endif
