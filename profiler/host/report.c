/*
 * The host's report: a line per guest (state, and what it set and what
 * became of it), a line of its checker refusals by reason, a line per body
 * refused (written at once), and the bodies themselves for --dump-bodies.
 * Every line ends with the process tag, like the modes' lines.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host/host.h"
#include "sys.h"
#include "heap/space.h"

static const char *const check_names[MMH_CHECK_COUNT] = {
    [MMH_CHECK_MODULE] = "module",
    [MMH_CHECK_WINDOW] = "window",
    [MMH_CHECK_EXTENT] = "extent",
    [MMH_CHECK_STACK] = "stack",
};

const char *mmh_check_name(mmh_check why)
{
    return check_names[why];
}

static unsigned long long get(atomic_ullong *c)
{
    return (unsigned long long)atomic_load(c);
}

/* Module name of mod, or "unknown". */
static const char *module_name(mmh_host *h, ModuleID mod)
{
    mmp_target t;
    if (mmp_modules_find(&h->modules, mod, &t) == 0 && t.ext)
        return ((mmh_module *)t.ext)->name;
    return "unknown";
}

void mmh_report_refused(mmh_host *h, mmh_guest *g, ModuleID mod, mdMethodDef token, mmh_check why,
                        const char *detail)
{
    char name[2 * MMP_NAME_MAX] = "?";
    IUnknown *unk = NULL;
    int owned;

    if (h->info->lpVtbl->GetModuleMetaData(h->info, mod, MM_OF_READ, &IID_IMetaDataImport, &unk) == S_OK && unk) {
        IMetaDataImport *md = (IMetaDataImport *)unk;
        if (mmp_method_name(md, token, name, sizeof name) != 0)
            strcpy(name, "?");
        md->lpVtbl->Release(md);
    }
    char quoted[512];
    size_t k;
    for (k = 0; detail[k] && k < sizeof quoted - 1; k++)
        quoted[k] = detail[k] == '"' || detail[k] == '\n' ? '\'' : detail[k];
    quoted[k] = 0;
    FILE *f = mmp_report_open(&h->cfg, &owned);
    fprintf(f, "methodmalloc: refused guest=%d module=%s method=%s token=0x%08x reason=%s detail=\"%s\" %s\n",
            g->index, module_name(h, mod), name, (unsigned)token, check_names[why], quoted, mmp_process_tag());
    if (owned)
        fclose(f);
    else
        fflush(f);
}

void mmh_dump_body(mmh_host *h, mmh_guest *g, ModuleID mod, mdMethodDef token, const uint8_t *body, size_t size)
{
    char path[4096 + 400];
    mmp_sys_mkdir(h->cfg.dump_dir);
    snprintf(path, sizeof path, "%s/g%d-%s-%08x.il", h->cfg.dump_dir, g->index, module_name(h, mod),
             (unsigned)token);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(body, 1, size, f) != size)
        mmp_report_error(&h->cfg, "dump-bodies: cannot write %s: %s", path, strerror(errno));
    if (f)
        fclose(f);
}

void mmh_report(mmh_host *h)
{
    unsigned long long set = 0, served = 0, bytes = 0, refused = 0, violations = 0, checked = 0;
    int owned, active = 0, internal = 0;
    mm_stats heaps;

    if (atomic_exchange(&h->reported, 1))
        return;
    uint64_t nheaps = mmp_modules_stats(&h->modules, &heaps);
    FILE *f = mmp_report_open(&h->cfg, &owned);
    for (int i = 0; i < h->nguests; i++) {
        mmh_guest *g = &h->guests[i];
        int state = atomic_load(&g->state);
        unsigned long long cr = 0;
        for (int r = 0; r < MMH_CHECK_COUNT; r++)
            cr += get(&g->check_refused[r]);
        active += state == MMH_ACTIVE;
        internal |= g->internal;
        set += get(&g->set), served += get(&g->served), bytes += get(&g->bytes);
        refused += get(&g->alloc_refused), violations += get(&g->violations), checked += cr;
        char why[600] = "";
        if (state == MMH_FAILED)
            snprintf(why, sizeof why, " why=\"%s\"", g->why);
        fprintf(f,
                "methodmalloc: guest=%d path=%s clsid=%s state=%s%s set=%llu bytes=%llu served=%llu alloc_refused=%llu"
                " check_refused=%llu violations=%llu set_failed=%llu callback_errors=%llu version=%d %s\n",
                g->index, g->spec.path, g->spec.clsid_text,
                state == MMH_ACTIVE ? "active" : state == MMH_FAILED ? "failed" : "loading", why, get(&g->set),
                get(&g->bytes), get(&g->served), get(&g->alloc_refused), cr, get(&g->violations),
                get(&g->set_failed), get(&g->callback_errors), g->version, mmp_process_tag());
        fprintf(f, "methodmalloc: guest=%d check_refused by reason:", g->index);
        for (int r = 0; r < MMH_CHECK_COUNT; r++)
            fprintf(f, " %s=%llu", check_names[r], get(&g->check_refused[r]));
        fprintf(f, " %s\n", mmp_process_tag());
    }
    /* Without a mode of ours, the host's line is the report line mmrun
     * looks for; with one, the mode writes its own. */
    fprintf(f,
            "methodmalloc: %shost guests=%d active=%d set=%llu served=%llu bytes=%llu refused=%llu"
            " check_refused=%llu violations=%llu modules=%llu heaps=%llu blocks=%llu info_version=%d %s\n",
            internal ? "" : "mode=", h->nguests, active, set, served, bytes, refused, checked, violations,
            get(&h->modules_loaded), (unsigned long long)nheaps, (unsigned long long)heaps.blocks, h->info_version,
            mmp_process_tag());
    mmp_report_memory(f, &h->modules, &h->reserve);
    if (owned)
        fclose(f);
    else
        fflush(f);
}
