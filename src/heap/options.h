/* Every tunable of the allocator, in one place. */
#ifndef MM_OPTIONS_H
#define MM_OPTIONS_H

/* A module's first chunk: small, so that a module with a handful of bodies
 * costs one or two resident pages. */
#define MM_CHUNK_FIRST ((size_t)64 << 10)

/* Chunks double from MM_CHUNK_FIRST up to this size. */
#define MM_CHUNK_MAX ((size_t)64 << 20)

/* Chunks of at least this size are aligned to it and advised for transparent
 * huge pages where the system has them: writing fresh bodies then costs one
 * page fault per 2 MiB instead of one per 4 KiB.  Smaller chunks are advised
 * never to take one, so a module that stays small never pays a huge page. */
#define MM_HUGE_PAGE ((size_t)2 << 20)

/* The last small chunk: after it a lane's next chunk is MM_HUGE_PAGE.  A
 * module's small pages cost it one page fault each, which is most of its
 * alloc + write time once the rest is in huge pages (the first 2 MiB in
 * small pages cost as much as 80 MB in huge pages in a virtual machine
 * measured); so a module takes huge pages once it has filled 64 + 128 +
 * 256 KiB, and only then. */
#define MM_CHUNK_SMALL_MAX ((size_t)256 << 10)

/* A request larger than this fraction of the next chunk gets a mapping of its
 * own, so the current chunk's tail is not thrown away for it. */
#define MM_DEDICATED_DIVISOR 4

/* Lanes per module, each with its own current chunk, so that threads that
 * allocate from one module do not contend for one cursor.  A held lane is
 * one thread's alone while it lives (its Alloc needs no locked
 * instruction); threads beyond those share the shared lanes, round robin. */
#define MM_HELD_LANES 4
#define MM_SHARED_LANES 4
#define MM_LANES (MM_HELD_LANES + MM_SHARED_LANES)

/* How many times one slow path rebuilds the space's index with the module's
 * lock released before the space may rebuild it under the lock (another
 * mapper keeps taking the places the index finds). */
#define MM_REBUILD_ROUNDS 4

#endif
