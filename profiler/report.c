/*
 * Counting and telling: the counters every mode updates, the window check,
 * and the report written at Shutdown.  The report is one line of key=value
 * pairs (tests parse it) plus a line about the heaps; it goes to
 * MM_PROFILER_REPORT when set (mmrun prints that file after the program
 * ends, so the program's own stderr does not interleave with it), else to
 * stderr.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "heap/space.h"
#include "profiler.h"

static const char *const reason_names[MMP_REASON_COUNT] = {
    [MMP_NOT_FUNCTION_INFO] = "function_info", [MMP_NOT_MODULE] = "unknown_module",
    [MMP_NOT_DYNAMIC] = "dynamic_module",      [MMP_NOT_NO_IL] = "no_il",
    [MMP_NOT_BAD_BODY] = "bad_body",           [MMP_NOT_SIZE_MISMATCH] = "size_mismatch",
    [MMP_NOT_ALLOC] = "alloc_refused",         [MMP_NOT_WINDOW] = "outside_window",
    [MMP_NOT_SET_FAILED] = "set_refused",      [MMP_NOT_METADATA] = "metadata",
    [MMP_NOT_REWRITE] = "rewrite",             [MMP_NOT_STACK] = "stack_check",
};

const char *mmp_reason_name(mmp_reason why)
{
    return reason_names[why];
}

void mmp_not_relocated(mmp_counters *c, mmp_reason why)
{
    atomic_fetch_add(&c->not_relocated[why], 1);
}

int mmp_in_window(const void *base, const void *p, size_t cb)
{
    uintptr_t b = (uintptr_t)base, a = (uintptr_t)p;
    return a > b && a - b <= MM_DEFAULT_MAX_RVA && cb <= MM_DEFAULT_MAX_RVA - (a - b);
}

void mmp_report_memory(FILE *f, mmp_modules *modules, mmp_reserve *reserve)
{
    mm_stats heaps;
    uint64_t nheaps = mmp_modules_stats(modules, &heaps);
    fprintf(f,
            "methodmalloc: heaps=%" PRIu64 " blocks=%" PRIu64 " requested=%" PRIu64 " allocated=%" PRIu64
            " reserved=%" PRIu64 " resident=%" PRIu64 " chunks=%" PRIu64 " lowest_rva=0x%" PRIx64
            " highest_rva=0x%" PRIx64 " %s\n",
            nheaps, heaps.blocks, heaps.bytes_requested, heaps.bytes_allocated, heaps.bytes_reserved,
            heaps.bytes_resident, heaps.chunks, heaps.lowest_rva, heaps.highest_rva, mmp_process_tag());
    uint64_t donated, in_use;
    mmp_reserve_stats rs;
    mm_donated(&donated, &in_use);
    /* Assemblies may still be loading on other threads. */
    mmp_reserve_stats_get(reserve, &rs);
    mm_space_counters sc;
    mm_space_counters_get(&sc);
    fprintf(f,
            "methodmalloc: placement windows_learnt=%" PRIu64 " index_refreshes=%" PRIu64 " known=%" PRIu64
            " open_windows=%" PRIu64 " free_ranges=%" PRIu64 " %s\n",
            sc.learns, sc.refreshes, sc.known_bytes, sc.open_windows, sc.free_ranges, mmp_process_tag());
    fprintf(f,
            "methodmalloc: window_reserve held=%" PRIu64 " cap=%" PRIu64 " guard=%" PRIu64 " regions=%u"
            " (out_of_reach=%u used=%u) region_bytes=%zu"
            " plugged=%" PRIu64 " capped=%" PRIu64 " donated=%" PRIu64 " in_use=%" PRIu64 " exec_range=%#" PRIxPTR
            "-%#" PRIxPTR " %s\n",
            rs.held, (uint64_t)MMP_RESERVE_CAP, rs.guard, rs.regions, rs.for_reach, rs.for_use, rs.region_bytes, rs.plugged, rs.capped, donated,
            in_use, rs.exec_lo, rs.exec_hi, mmp_process_tag());
}

void mmp_report(mmp_profiler *p)
{
    mmp_counters *c = &p->counters;
    unsigned long long not_relocated = 0;
    int owned, r;
    FILE *f;

    if (atomic_exchange(&p->reported, 1))
        return;
    for (r = 0; r < MMP_REASON_COUNT; r++)
        not_relocated += atomic_load(&c->not_relocated[r]);

    f = mmp_report_open(&p->cfg, &owned);
    fprintf(f,
            MMP_REPORT_LINE "%s served=%llu bytes=%llu refused=%llu violations=%llu not_relocated=%llu "
            "replaced=%llu jit_events=%llu repeats=%llu il_warnings=%llu modules=%llu precompiled=%s %s\n",
            mmp_mode_name(p->cfg.mode), (unsigned long long)atomic_load(&c->served),
            (unsigned long long)atomic_load(&c->bytes), (unsigned long long)atomic_load(&c->refused),
            (unsigned long long)atomic_load(&c->violations), not_relocated,
            (unsigned long long)atomic_load(&c->replaced), (unsigned long long)atomic_load(&c->jit_events),
            (unsigned long long)atomic_load(&c->repeats), (unsigned long long)atomic_load(&c->il_warnings),
            (unsigned long long)atomic_load(&c->modules), p->cfg.include_precompiled ? "jit" : "readytorun",
            mmp_process_tag());
    fprintf(f, "methodmalloc: not_relocated by reason:");
    for (r = 0; r < MMP_REASON_COUNT; r++)
        fprintf(f, " %s=%llu", reason_names[r], (unsigned long long)atomic_load(&c->not_relocated[r]));
    fprintf(f, " %s\n", mmp_process_tag());
    /* Inside the host, the host's heaps and reserve are the ones in use:
     * the host reports them. */
    if (!p->as_guest)
        mmp_report_memory(f, &p->modules, &p->reserve);
    if (p->cfg.mode == MMP_MODE_CALLS)
        mmp_calls_report(p, f);
    if (p->cfg.mode == MMP_MODE_REPLACE && atomic_load(&c->replaced) == 0)
        fprintf(f, MMP_ERROR_LINE " method %s::%s not found in any loaded module %s\n", p->cfg.replace.type,
                p->cfg.replace.method, mmp_process_tag());
    if (owned)
        fclose(f);
    else
        fflush(f);
}
