/*
 * The profiler's insides: its configuration, counters, module table and the
 * work each mode does.  One profiler object exists per process (the runtime
 * creates one); every part below is called from runtime callbacks, which
 * arrive on many threads at once.
 */
#ifndef MM_PROFILER_PROFILER_H
#define MM_PROFILER_PROFILER_H

#include <stdio.h>
#include <stdatomic.h>

#include "clrapi.h"
#include "common.h"
#include "methodmalloc.h"
#include "os/os.h"
#include "pe/pe.h"
#include "protocol.h"

/* ---- Configuration (config.c): every tunable and its variable ---- */

typedef enum mmp_mode {
    MMP_MODE_RELOCATE, /* copy every JIT-compiled body into methodmalloc */
    MMP_MODE_RUNTIME,  /* the same, into the runtime's own allocator */
    MMP_MODE_REPLACE,  /* give the named method(s) a new body */
    MMP_MODE_COUNT,    /* touch nothing, count JIT events: a baseline */
    MMP_MODE_CALLS,    /* a call counter at the entry of every JIT-compiled method */
    MMP_MODE_HOST      /* no mode of ours: the host serves and checks its guests */
} mmp_mode;

typedef struct mmp_config {
    mmp_mode mode;            /* MM_PROFILER_MODE: relocate, runtime, replace, count */
    int include_precompiled;  /* MM_PROFILER_PRECOMPILED=1: no ReadyToRun code */
    int keep_inlining;        /* MM_PROFILER_INLINING=1: leave inlining on */
    int verbose;              /* MM_PROFILER_VERBOSE=1: a line per module and per failure */
    size_t reserve_bytes;     /* MM_PROFILER_RESERVE_MB: window reserve (reserve.c), 0: none */
    char report_path[4096];   /* MM_PROFILER_REPORT: append the report here */
    mmp_spec replace;         /* MM_PROFILER_REPLACE, for MMP_MODE_REPLACE */
    char calls_report[4096];  /* MM_PROFILER_CALLS_REPORT: per-method counts (calls mode), "" for none */
    int nguests;              /* MM_PROFILER_GUESTS: the host's guests, in chain order */
    mmp_guest_spec guests[MMP_GUESTS_MAX];
    char dump_dir[4096];      /* MM_PROFILER_DUMP_BODIES: "" for none */
} mmp_config;

/* Reads the variables (mmp_var).  Returns 0, or -1 with the reason in err. */
int mmp_config_from_env(mmp_config *cfg, char *err, size_t errlen);
/* A variable's value: the shim folder's file (MMP_SHIM_CONF, read by
 * mmp_conf_load) when it names it, else the environment; NULL if unset. */
const char *mmp_var(const char *name);
/* Reads dir/MMP_SHIM_CONF once, if there is one.  Thread-safe. */
void mmp_conf_load(const char *dir);
/* True when the configuration asks for the host rather than a mode of
 * ours alone: guests named, or MM_PROFILER_MODE=host. */
int mmp_config_wants_host(void);
const char *mmp_mode_name(mmp_mode mode);

/* ---- Counters (report.c) ---- */

/* Why a JIT-compiled method kept its original body. */
typedef enum mmp_reason {
    MMP_NOT_FUNCTION_INFO, /* GetFunctionInfo failed */
    MMP_NOT_MODULE,        /* its module was never reported loaded */
    MMP_NOT_DYNAMIC,       /* the module has no image (Reflection.Emit) */
    MMP_NOT_NO_IL,         /* GetILFunctionBody failed: no IL to copy */
    MMP_NOT_BAD_BODY,      /* the IL API could not find the body's extent */
    MMP_NOT_SIZE_MISMATCH, /* the extent differs from the runtime's size */
    MMP_NOT_ALLOC,         /* Alloc returned NULL */
    MMP_NOT_WINDOW,        /* the block lies outside the module's window */
    MMP_NOT_SET_FAILED,    /* SetILFunctionBody refused the block */
    MMP_NOT_METADATA,      /* calls: no IMetaDataImport2 for the module, or no name */
    MMP_NOT_REWRITE,       /* calls: the rewriter could not decode or emit the body */
    MMP_NOT_STACK,         /* calls: the stack check rejected the rewritten body */
    MMP_REASON_COUNT
} mmp_reason;

typedef struct mmp_counters {
    atomic_ullong jit_events;    /* JITCompilationStarted calls */
    atomic_ullong repeats;       /* of those, for a method already handled */
    atomic_ullong served;        /* bodies handed to SetILFunctionBody, accepted */
    atomic_ullong bytes;         /* their total size */
    atomic_ullong refused;       /* Allocs that returned NULL */
    atomic_ullong violations;    /* blocks outside (base, base + 0x7FFFFFFF] */
    atomic_ullong il_warnings;   /* original bodies mm_il_validate objects to */
    atomic_ullong replaced;      /* methods given the replace body */
    atomic_ullong not_relocated[MMP_REASON_COUNT];
    atomic_ullong modules;       /* modules loaded */
} mmp_counters;

void mmp_not_relocated(mmp_counters *c, mmp_reason why);
const char *mmp_reason_name(mmp_reason why);

/* True when cb bytes at p lie inside base's window: base < p and
 * p + cb - base <= MM_DEFAULT_MAX_RVA (the RVA is a positive 31-bit offset). */
int mmp_in_window(const void *base, const void *p, size_t cb);

/* ---- Window reserve (reserve.c) ---- */

/* Each region's size (MM_PROFILER_RESERVE_MB; 0: no reserve at all).  None
 * by default on Windows: the loader maps images itself (no PAL range to
 * guard), and VirtualAlloc fills the address space from the bottom, below
 * the images, where no window reaches; each window has room of its own
 * (about 2 GiB free, measured under Wine: see the docs). */
#if defined(_WIN32)
#define MMP_RESERVE_DEFAULT_MB 0
#else
#define MMP_RESERVE_DEFAULT_MB 16
#endif
/* The hard cap on everything the reserve holds in one process: guard,
 * regions and plugs. */
#define MMP_RESERVE_CAP ((uint64_t)1 << 30)
/* At most this many regions (their bytes count in the cap too). */
#define MMP_RESERVE_REGIONS_MAX 64
/* The guard's own limit, inside the cap. */
#define MMP_GUARD_MAX ((uint64_t)64 << 20)
/* The smallest no-access mapping below libcoreclr taken for the PAL's
 * executable range. */
#define MMP_EXEC_RANGE_MIN ((uintptr_t)256 << 20)

typedef struct mmp_reserve {
    mm_lock lock;
    size_t region_bytes;          /* size of each region, 0: no reserve */
    unsigned regions;             /* regions kept */
    uint64_t guard;               /* bytes reserved above the executable range at Initialize */
    uint64_t plugged;             /* bytes of holes plugged above regions */
    uint64_t held;                /* all of it (donated), at most MMP_RESERVE_CAP */
    uint64_t capped;              /* ranges not taken because of the cap */
    uintptr_t exec_lo, exec_hi;   /* the PAL's executable range, 0 if not found */
    uintptr_t region_lo[MMP_RESERVE_REGIONS_MAX]; /* where each region starts */
    unsigned for_reach, for_use;  /* regions added because none was in reach, or those in reach were half used */
} mmp_reserve;

typedef struct mmp_reserve_stats {
    unsigned regions;
    size_t region_bytes;
    uint64_t guard, plugged, held, capped;
    uintptr_t exec_lo, exec_hi;
    unsigned for_reach, for_use;
} mmp_reserve_stats;

/* Sets r up: the guard above the runtime's executable range (runtime_object:
 * any object whose vtable lies in libcoreclr, e.g. ICorProfilerInfo), then a
 * first region.  Nothing when region_bytes is 0. */
void mmp_reserve_init(mmp_reserve *r, size_t region_bytes, const void *runtime_object);
/* An image is about to be mapped: adds a region if no region kept so far
 * can serve it (in its reach and half free), within MMP_RESERVE_CAP. */
void mmp_reserve_need(mmp_reserve *r);
/* A consistent copy of the counters. */
void mmp_reserve_stats_get(mmp_reserve *r, mmp_reserve_stats *out);
/* Traces how much is reserved, donated and in use (MM_PROFILER_VERBOSE). */
void mmp_reserve_trace(mmp_reserve *r, const mmp_config *cfg);

/* ---- Module table (modules.c) ---- */

/* What a method's relocation needs from its module, copied out of the table. */
typedef struct mmp_target {
    const uint8_t *base;      /* load address; NULL for a dynamic module */
    const uint8_t *image_end; /* end of the mapped image, NULL if unknown */
    IMethodMalloc *alloc;     /* the module's allocator, NULL if none */
    void *ext;                /* the owner's own data (the host's per-module record), or NULL */
} mmp_target;

typedef struct mmp_module mmp_module;

/* An open-addressing hash table by ModuleID, at most half full. */
typedef struct mmp_modules {
    mm_rwlock lock; /* JIT events read, loads and unloads write */
    mmp_module **slots;
    size_t cap, count;
    mm_stats closed; /* heaps of modules already unloaded, summed */
    uint64_t heaps;  /* heaps ever opened */
} mmp_modules;

typedef enum mmp_claim {
    MMP_CLAIM_NEW,      /* first time: the caller relocates this method */
    MMP_CLAIM_AGAIN,    /* already claimed (another instantiation, a re-JIT) */
    MMP_CLAIM_NO_MODULE /* module unknown */
} mmp_claim;

void mmp_modules_init(mmp_modules *t);
/* The end of a loaded module's image (base + SizeOfImage), NULL when base
 * is NULL or holds no PE headers (they lie within the first page of every
 * image the runtime maps). */
const uint8_t *mmp_image_end(const uint8_t *base);
/* Records a loaded module.  heap (may be NULL) and alloc (may be NULL, one
 * reference handed over) are closed and released by mmp_modules_remove;
 * ext is the caller's, never touched. */
int mmp_modules_add(mmp_modules *t, ModuleID id, const uint8_t *base, const uint8_t *image_end, mm_module *heap,
                    IMethodMalloc *alloc, void *ext);
void mmp_modules_remove(mmp_modules *t, ModuleID id);
/* Marks method token of module id as handled; says whether it was already,
 * and fills *out with the module's target. */
mmp_claim mmp_modules_claim(mmp_modules *t, ModuleID id, mdMethodDef token, mmp_target *out);
/* Fills *out with module id's target.  Returns 0, or -1 if unknown. */
int mmp_modules_find(mmp_modules *t, ModuleID id, mmp_target *out);
/* 1 when [p, p + size) is a block of module id's heap (mm_module_owns),
 * else 0 (the module unknown or without a heap). */
int mmp_modules_owns(mmp_modules *t, ModuleID id, const void *p, size_t size);
/* Sums the counters of every heap, open or closed. */
uint64_t mmp_modules_stats(mmp_modules *t, mm_stats *sum);

/* ---- Call counters (calls.c) ---- */

/* One counter per method definition that was rewritten; the probe adds to
 * count directly, so a record is never freed or moved. */
typedef struct mmp_call {
    int64_t count;
    struct mmp_call *next;
    /* Inside the host: the method, and the body the probe was added to (a
     * guest before may set another, for another instantiation). */
    struct mmp_call *bucket_next;
    ModuleID mod;
    mdToken token;
    const uint8_t *source;
    char name[]; /* "Ns.Type::Method", nested types "Ns.Outer/Inner" */
} mmp_call;

#define MMP_CALLS_BUCKETS 4096
typedef struct mmp_calls {
    mm_lock lock;
    mmp_call *head;
    size_t n;
    mmp_call *buckets[MMP_CALLS_BUCKETS]; /* by (module, token), inside the host */
} mmp_calls;

/* ---- Metadata (metadata.c) ---- */

/* Longest name part read, in UTF-16 units. */
#define MMP_NAME_MAX 1024
/* "Ns.Type::Method" (nested types "Ns.Outer/Inner") of method token, in
 * UTF-8 into name[cap].  Returns 0, or -1 if the metadata does not say. */
int mmp_method_name(IMetaDataImport *md, mdMethodDef token, char *name, size_t cap);
/* The stack checker's resolver (mm_il_sig_resolver) with an
 * IMetaDataImport2 as ctx: the signature behind a call's token. */
HRESULT mmp_resolve_sig(void *ctx, uint32_t token, const uint8_t **sig, size_t *len);

/* ---- The profiler object (modes/profiler.c) ---- */

typedef struct mmp_profiler {
    ICorProfilerCallback2 ICorProfilerCallback2_iface;
    mm_refcount ref;
    ICorProfilerInfo *_Atomic info; /* set by Initialize, released by the last Release */
    mmp_config cfg;
    mmp_modules modules;
    mmp_counters counters;
    mmp_reserve reserve;
    mmp_calls calls;
    atomic_int reported;
    atomic_int initialized; /* Initialize succeeded: Shutdown or the last Release reports */
    int as_guest;           /* a guest of the host: its heaps and reserve are the host's */
} mmp_profiler;

/* Creates the callback object (class factory's CreateInstance). */
HRESULT mmp_profiler_create(REFIID riid, void **ppv);
/* The same, as the host's last guest (mmp_profiler.as_guest). */
HRESULT mmp_profiler_create_guest(ICorProfilerCallback2 **out);

/* ---- The modes ---- */

/* relocate.c: the steps every mode that gives a JIT-compiled method a new
 * body takes, each counting its own failure (not_relocated by reason).
 * claim: finds fn's module and token and claims the method: 0 when this call
 * handles it, -1 when not (a repeat, an unknown or dynamic module).
 * body: the method's current body and its size, checked against the
 * runtime's: 0 or -1.
 * block: size bytes from the module's allocator, inside its window unless
 * in runtime mode: the block or NULL.
 * set: hands the block of size bytes to the runtime as the method's body,
 * counted as served: 0 or -1. */
int mmp_method_claim(mmp_profiler *p, FunctionID fn, ModuleID *mod, mdToken *token, mmp_target *t);
int mmp_method_body(mmp_profiler *p, ModuleID mod, mdToken token, const mmp_target *t, LPCBYTE *body, size_t *size);
uint8_t *mmp_method_block(mmp_profiler *p, const mmp_target *t, mdToken token, size_t size);
int mmp_method_set(mmp_profiler *p, ModuleID mod, mdToken token, const uint8_t *block, size_t size);
/* relocate.c: JITCompilationStarted in relocate and runtime modes. */
void mmp_relocate(mmp_profiler *p, FunctionID fn);
/* replace.c: ModuleLoadFinished in replace mode: finds the named methods in
 * the module and gives them the new body from the module's heap. */
void mmp_replace_in_module(mmp_profiler *p, ModuleID mod, const mmp_target *t);
/* calls.c: JITCompilationStarted in calls mode: the method gets a counter
 * probe at entry (rewritten with methodmalloc_ilrw.h, stack-checked, emitted
 * into the module's heap) or keeps its body, counted by reason. */
void mmp_calls_init(mmp_calls *c);
void mmp_calls_rewrite(mmp_profiler *p, FunctionID fn);
/* The top methods by calls to f, and every counter to cfg.calls_report. */
void mmp_calls_report(mmp_profiler *p, FILE *f);
/* report.c: writes the report once (Shutdown). */
void mmp_report(mmp_profiler *p);
/* The lines about memory: the heaps of a module table, placement, the
 * window reserve. */
void mmp_report_memory(FILE *f, mmp_modules *modules, mmp_reserve *reserve);
/* ---- Diagnostics (trace.c) ----
 * Every line the profiler writes besides the report goes through these, to
 * the report destination: MM_PROFILER_REPORT when set (mmrun always sets it,
 * so nothing lands in the program's own streams), else stderr. */

/* "methodmalloc: error: ..." always. */
void mmp_report_error(const mmp_config *cfg, const char *fmt, ...) MM_PRINTF(2, 3);
/* "methodmalloc: ..." when MM_PROFILER_VERBOSE is set; nothing otherwise. */
void mmp_trace(const mmp_config *cfg, const char *fmt, ...) MM_PRINTF(2, 3);
/* "pid=N program=NAME", ending every line the profiler writes, so that the
 * reports of a run's several processes (a build, a test runner) can be told
 * apart. */
const char *mmp_process_tag(void);
/* The report destination, opened for appending; *owned says whether the
 * caller closes it (else it is stderr). */
FILE *mmp_report_open(const mmp_config *cfg, int *owned);

#endif /* MM_PROFILER_PROFILER_H */
