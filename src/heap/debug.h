/* The debug mode that catches overruns where they happen.  A profiler that
 * sizes a body too small writes past its block into the next one, or into
 * the chunk's unallocated tail, and nothing notices until the runtime reads
 * a broken method.  In this mode every chunk starts out poisoned (no access
 * as far as the checker is concerned), each block is unpoisoned for exactly
 * its cb bytes, and MM_REDZONE poisoned bytes follow each block, so the
 * first byte written past cb is reported, with the writer's stack.
 *
 * On under AddressSanitizer (automatic: the library built with
 * -fsanitize=address) and, with MM_DEBUG=1 (make MM_DEBUG=1; needs
 * valgrind's headers, Debian package valgrind), under valgrind's memcheck
 * through its client requests.  Otherwise MM_REDZONE is 0 and every hook
 * is empty: the release build's Alloc is the same code as without them.
 *
 * Blocks start on 8-byte boundaries in this mode (ASan tracks memory in
 * 8-byte granules and cannot poison the start of one), so a module asking
 * for less alignment gets 8. */
#ifndef MM_HEAP_DEBUG_H
#define MM_HEAP_DEBUG_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define MM_POISON_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MM_POISON_ASAN 1
#endif
#endif

#if defined(MM_DEBUG) && MM_DEBUG
#define MM_POISON_VALGRIND 1
#include <valgrind/memcheck.h>
#endif

#if defined(MM_POISON_ASAN)
#include <sanitizer/asan_interface.h>
#endif

#if defined(MM_POISON_ASAN) || defined(MM_POISON_VALGRIND)
/* Poisoned bytes after each block, and the least alignment. */
#define MM_REDZONE 16u
#define MM_DEBUG_MIN_MASK 7u
#else
#define MM_REDZONE 0u
#define MM_DEBUG_MIN_MASK 0u
#endif

/* A fresh chunk, or one kept mapped after close: nobody's bytes. */
static inline void mm_debug_poison(const void *p, size_t n)
{
#if defined(MM_POISON_ASAN)
    ASAN_POISON_MEMORY_REGION(p, n);
#endif
#if defined(MM_POISON_VALGRIND)
    VALGRIND_MAKE_MEM_NOACCESS(p, n);
#endif
    (void)p;
    (void)n;
}

/* A block handed out: its cb bytes, zero-filled, are the caller's. */
static inline void mm_debug_block(const void *p, size_t cb)
{
#if defined(MM_POISON_ASAN)
    ASAN_UNPOISON_MEMORY_REGION(p, cb);
#endif
#if defined(MM_POISON_VALGRIND)
    VALGRIND_MAKE_MEM_DEFINED(p, cb);
#endif
    (void)p;
    (void)cb;
}

/* A chunk about to go back to the system or to donated space: the
 * checker's marks must not outlive it (ASan keeps shadow for addresses that
 * a later mapping, anyone's, may reuse). */
static inline void mm_debug_forget(const void *p, size_t n)
{
#if defined(MM_POISON_ASAN)
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
#if defined(MM_POISON_VALGRIND)
    VALGRIND_MAKE_MEM_UNDEFINED(p, n);
#endif
    (void)p;
    (void)n;
}

#endif
