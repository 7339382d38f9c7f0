/*
 * The host: the profiler the runtime loads when guests are named.  It loads
 * each guest profiler (a library and a class ID), gives it an
 * ICorProfilerInfo of its own (info.c) and forwards it every callback its
 * event mask asks for (host.c), in chain order; methodmalloc's own mode,
 * when one is asked for, is the last guest.  What a guest sets as a method
 * body is checked first (check.c) and chained so that the next guest sees
 * it (bodies.c).
 *
 * Threads: callbacks arrive on many threads at once; the guest table is
 * fixed once Initialize returns, each guest's mask and counters are atomics,
 * the body chain has its own lock.
 */
#ifndef MM_PROFILER_HOST_H
#define MM_PROFILER_HOST_H

#include "profiler.h"

/* Why a body a guest set was refused before the runtime saw it. */
typedef enum mmh_check {
    MMH_CHECK_MODULE, /* the module is unknown or has no image (no window to check against) */
    MMH_CHECK_WINDOW, /* the block does not lie in (base, base + 2 GiB) */
    MMH_CHECK_EXTENT, /* its headers, code or sections do not decode */
    MMH_CHECK_STACK,  /* the stack checker rejects it */
    MMH_CHECK_COUNT
} mmh_check;

const char *mmh_check_name(mmh_check why);

typedef enum mmh_state {
    MMH_LOADING, /* not yet initialized */
    MMH_ACTIVE,
    MMH_FAILED /* never loaded, or its Initialize failed: no more callbacks */
} mmh_state;

typedef struct mmh_host mmh_host;
typedef struct mmh_guest mmh_guest;

/* The chain: the guests named, then methodmalloc's own mode.  Guests are
 * numbered from 1, so arrays by guest index have MMH_CHAIN_MAX + 1 slots. */
#define MMH_CHAIN_MAX (MMP_GUESTS_MAX + 1)

/* The ICorProfilerInfo one guest sees. */
typedef struct mmh_info {
    ICorProfilerInfo ICorProfilerInfo_iface;
    mmh_host *host;
    mmh_guest *guest;
} mmh_info;

struct mmh_guest {
    int index; /* 1-based: its place in the chain */
    int internal; /* methodmalloc's own mode */
    mmp_guest_spec spec;
    void *library;
    /* The guest's callback object as each version's QueryInterface gave
     * it; NULL for versions it does not implement. */
    ICorProfilerCallback11 *cb[MM_CALLBACK_NEWEST + 1];
    int version; /* the newest version it implements */
    mmh_info info;
    atomic_int state;
    char why[512]; /* set before state turns MMH_FAILED */
    _Atomic uint32_t mask_lo, mask_hi; /* what it asked for, SetEventMask(2) */
    /* Counters for the report. */
    atomic_ullong set, bytes, served, alloc_refused, violations, set_failed, callback_errors;
    atomic_ullong check_refused[MMH_CHECK_COUNT];
};

/* The host's record of one module (mmp_target.ext): its name, and the
 * allocator each guest is given, which counts that guest's refusals. */
typedef struct mmh_alloc {
    IMethodMalloc IMethodMalloc_iface;
    IMethodMalloc *real;
    mmh_guest *guest;
} mmh_alloc;

typedef struct mmh_module {
    char name[256]; /* the file name of its path */
    mmh_alloc alloc[MMH_CHAIN_MAX + 1]; /* by guest index */
} mmh_module;

/* The body chain: per method, the body and IL map each guest set. */
typedef struct mmh_method mmh_method;
typedef struct mmh_bodies {
    mm_rwlock lock;
    mmh_method **slots;
    size_t cap, count;
} mmh_bodies;

struct mmh_host {
    ICorProfilerCallback11 ICorProfilerCallback11_iface;
    mm_refcount ref;
    ICorProfilerInfo *info;     /* the runtime's, its newest version */
    int info_version;           /* the newest version the runtime answers */
    mmp_config cfg;
    mmp_modules modules;
    mmp_reserve reserve;
    mmh_bodies bodies;
    mm_lock mask_lock;  /* one SetEventMask to the runtime at a time */
    int nguests;
    mmh_guest guests[MMH_CHAIN_MAX]; /* guests[i].index == i + 1 */
    atomic_int initialized, reported;
    atomic_ullong modules_loaded;
};

/* Creates the host (class factory's CreateInstance). */
HRESULT mmh_host_create(REFIID riid, void **ppv);
/* Nonzero while the host loads its guests: our own library named as a
 * guest then gives a mode's profiler, never a host within the host (which
 * would load its guests again, without end). */
int mmh_loading_guests(void);

/* events.c: which event mask bits a callback needs.  A guest is called in
 * slot s when its mask has one of the bits; a slot with no bits
 * (Initialize, Shutdown, attach and detach) goes to every guest. */
typedef struct mmh_event {
    uint32_t lo, hi;
} mmh_event;
extern const mmh_event mmh_callback_events[MM_CALLBACK_SLOTS];
/* True when a guest whose mask is (lo, hi) is to receive slot's callback. */
int mmh_event_wanted(int slot, uint32_t lo, uint32_t hi);
/* The bits the host itself needs, whatever its guests ask. */
#define MMH_OWN_MASK_LO (COR_PRF_MONITOR_MODULE_LOADS | COR_PRF_MONITOR_ASSEMBLY_LOADS)

/* load.c: loads a guest's library and creates its callback object: 0, or
 * -1 with g->why set. */
int mmh_guest_load(mmh_guest *g);
/* Marks g failed with a reason (printf-style). */
void mmh_guest_fail(mmh_guest *g, const char *fmt, ...) MM_PRINTF(2, 3);

/* info.c: sets up g's ICorProfilerInfo. */
void mmh_info_init(mmh_info *w, mmh_host *h, mmh_guest *g);
/* Recomputes the union of the guests' masks and the host's own and hands
 * it to the runtime.  The caller holds h->mask_lock. */
HRESULT mmh_apply_mask(mmh_host *h);

/* check.c: checks the body at header for method token of module mod, set
 * by guest g: MMH_CHECK_COUNT and *size when it passes; else the reason,
 * with detail[dcap] saying more. */
mmh_check mmh_check_body(mmh_host *h, ModuleID mod, mdMethodDef token, const uint8_t *header, size_t *size,
                         char *detail, size_t dcap);

/* bodies.c */
void mmh_bodies_init(mmh_bodies *b);
/* Records the body guest k (1-based) set for (mod, token); k = 0: the
 * runtime's original, recorded before the first body a guest sets (kept
 * as first given). */
int mmh_bodies_put(mmh_bodies *b, ModuleID mod, mdMethodDef token, int k, const uint8_t *body, size_t size);
/* Whether the original of (mod, token) is recorded. */
int mmh_bodies_has_original(mmh_bodies *b, ModuleID mod, mdMethodDef token);
/* The body the nearest guest before k set, or the original recorded: 0
 * with *body and *size, or -1 when neither (guest k asks the runtime).
 * The runtime itself would show the last body set, whoever set it: the
 * original keeps guest 1 seeing the IL it would see alone. */
int mmh_bodies_get(mmh_bodies *b, ModuleID mod, mdMethodDef token, int k, const uint8_t **body, size_t *size);
/* Composes guest k's IL map (offsets of the body it was shown to offsets
 * of its own) over the maps of the guests before it, records it, and
 * returns the map from the original IL to guest k's body, in *out (owned
 * by the chain, valid for the process's life) and *n.  -1: out of memory. */
int mmh_bodies_map(mmh_bodies *b, ModuleID mod, mdMethodDef token, int k, const COR_IL_MAP *map, ULONG n,
                   const COR_IL_MAP **out, ULONG *nout);
/* The composition itself (pure, for tests): for each entry of first
 * (original -> middle), the entry of second (middle -> final) with the
 * greatest old offset at or below it gives the final offset; an offset
 * below every entry of second maps to itself.  out holds nfirst entries. */
void mmh_map_compose(const COR_IL_MAP *first, ULONG nfirst, const COR_IL_MAP *second, ULONG nsecond,
                     COR_IL_MAP *out);

/* report.c: the host's report lines (Shutdown). */
void mmh_report(mmh_host *h);
/* One line naming a refused body, at once. */
void mmh_report_refused(mmh_host *h, mmh_guest *g, ModuleID mod, mdMethodDef token, mmh_check why,
                        const char *detail);
/* --dump-bodies: writes size bytes of body as g<k>-<module>-<token>.il. */
void mmh_dump_body(mmh_host *h, mmh_guest *g, ModuleID mod, mdMethodDef token, const uint8_t *body, size_t size);

#endif /* MM_PROFILER_HOST_H */
