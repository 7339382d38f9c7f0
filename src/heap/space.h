/* The address space as the heaps share it: every open window, an index of
 * the free room, and where a chunk goes.
 *
 * Free room above a module's base is scarce and shared: windows overlap
 * (CoreCLR packs its images next to one another), and the module lowest in
 * a pile of images has the least room, all of it inside its neighbours'
 * windows too.  So a chunk is placed where it hurts the fewest other open
 * windows: first where no open window that ends lower covers it, only then
 * in contested space, and there only in small chunks.
 *
 * The free room comes from an in-library index, a snapshot of the OS's free
 * ranges inside the windows, each window read from the OS once, when the
 * first chunk is placed in it, and read again only when the OS contradicts
 * the index (a place it thought free was taken); placing a chunk therefore
 * costs a few binary searches and one mapping call, whatever the number of
 * mappings in the process, and a window's first chunk costs one walk of the
 * mappings inside it, which skips over runs of small ones.
 *
 * A window that looks full is refused only once its foreign stretches (what
 * in it is neither free nor the library's: other libraries' mappings, the
 * only part that can change behind the library's back) were read from the
 * OS.  After that a refusal checks them (one system call per stretch,
 * whatever the mappings in it) so that space another library unmaps is
 * found by the next Alloc, and where that check is expensive (thousands of
 * foreign mappings), only once per so many refusals that a refusal costs
 * about two system calls on average; where the window is mostly the
 * library's own chunks (its module's image the foreign part), once per
 * 1 + own / foreign bytes refusals, up to 4,096.  A window of the library's
 * own chunks only has nothing foreign: its refusals ask the OS nothing. */
#ifndef MM_SPACE_H
#define MM_SPACE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Where a module's chunks may lie: [lo, hi), or anywhere when !bounded.
 * Bounded windows are registered with mm_space_open while their module is
 * open; the fields below `bounded` belong to this file. */
struct mm_window {
    uintptr_t lo, hi;
    int bounded;
    int registered;
    /* The index was rebuilt once before taking contested room for it. */
    int contest_checked;
    /* No room by a reading of its foreign stretches since the last
     * placement in it. */
    int full;
    /* What mm_space_rebuild does for it next (a reading of the window). */
    int pending;
    /* A full window's refusals earn credit; a check of its foreign
     * stretches is due when the credit reaches what the last one cost (in
     * system calls; MM_SPACE_NEVER: nothing foreign to check).  Atomic:
     * mm_space_refusal_due reads them without the space's lock. */
    _Atomic uint64_t credit, cost;
    uint64_t mappings; /* foreign mappings the last full reading met */
    /* The space's count of everything read anew at that reading: a later
     * one may have dropped small gaps of the window from the index. */
    uint64_t refreshed;
};
#define MM_SPACE_NEVER UINT64_MAX

/* A placed chunk. */
struct mm_place {
    void *p;
    size_t size;
    int donated; /* taken from mm_donate'd space: give it back there */
    int huge;    /* aligned to MM_HUGE_PAGE and advised for huge pages */
};

/* Registers a bounded window (its module opened): 0 or MM_OS_ENOMEM.
 * Unbounded windows need no registration.  Thread-safe. */
int mm_space_open(struct mm_window *w);

/* Forgets the window (its module closed).  Thread-safe. */
void mm_space_close(struct mm_window *w);

/* Reserves read-write memory for a chunk inside the window: `want` bytes
 * where the window has room for them, else less, down to `least` (both page
 * multiples, least <= want).  Tried right after `hint` (where the module's
 * last chunk ended) when that place is among the least contested, then in
 * the free room of the least contested places, lowest first, OS space before
 * donated space.  Never over an existing mapping.  Returns 0, MM_OS_ENOROOM
 * (no room for `least` anywhere in the window), MM_OS_ENOMEM, or, unless
 * may_rebuild, MM_SPACE_REBUILD: the index must read the OS first (the
 * window is new to it, what it knows proved stale, or the window looks full
 * and its foreign stretches are to be read or checked), which the caller
 * does with mm_space_rebuild outside its own lock before it asks again;
 * with may_rebuild the reading happens here.  A refusal (MM_OS_ENOROOM) of
 * a window found full counts towards its next check.  Thread-safe. */
#define MM_SPACE_REBUILD 100
int mm_space_reserve(struct mm_window *w, size_t least, size_t want, uintptr_t hint, int may_rebuild,
                     struct mm_place *out);

/* What mm_space_reserve asked for with MM_SPACE_REBUILD: learns w's part of
 * the address space from the OS when the index does not know all of it yet,
 * reads or checks w's foreign stretches when w looked full, else reads
 * every known part anew.  The system calls are made without the space's
 * lock where they may be many.  0 or MM_OS_ENOMEM.  Thread-safe. */
int mm_space_rebuild(struct mm_window *w);

/* For a window mm_space_reserve refused for lack of room, asked again for
 * as much or more while the generation has not changed: 1 when a check of
 * its foreign stretches is due (mm_space_reserve then makes it), 0 when the
 * caller may refuse at once.  Counts the refusal towards the next check.
 * No lock, no system call. */
int mm_space_refusal_due(struct mm_window *w);

/* Gives a chunk's memory back: unmapped, or returned to donated space
 * (mm_donated_give_back: always free again, its pages discarded when they
 * cannot be decommitted).  Returns 0, or the OS layer's error; an unmap the
 * system refused leaves the range mapped, and it is not counted as room.
 * Thread-safe. */
int mm_space_release(const struct mm_place *pl);

/* Hold and drop the space's lock (around fork; taken after the modules'
 * locks and before the donated-space lock, as the slow path takes them). */
void mm_space_lock(void);
void mm_space_unlock(void);

/* A number that changes whenever room may have appeared in some window
 * (memory released or donated, the index refreshed): a window found full
 * need not be searched again while it stays the same. */
uint64_t mm_space_generation(void);

/* Called by donated.c when space is donated. */
void mm_space_note_room(void);

/* For tests, benchmarks and reports: how often the index read the OS (the
 * new part of a window, everything known anew, a full window's foreign
 * stretches), checked them, what it knows, and how many windows are open. */
typedef struct mm_space_counters {
    uint64_t learns;    /* windows' new parts read */
    uint64_t refreshes; /* everything known read anew */
    uint64_t rereads;   /* full windows' foreign stretches read */
    uint64_t checks;    /* foreign stretches checked (one system call each) */
    uint64_t open_windows;
    uint64_t free_ranges; /* in the index now */
    uint64_t known_bytes; /* of address space the index has learnt */
} mm_space_counters;
void mm_space_counters_get(mm_space_counters *out);

#endif /* MM_SPACE_H */
