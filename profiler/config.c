/* The profiler's tunables, all read here from the environment mmrun (or the
 * user) sets before starting the runtime. */
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "profiler.h"

static const char *const mode_names[] = {
    [MMP_MODE_RELOCATE] = "relocate",
    [MMP_MODE_RUNTIME] = "runtime",
    [MMP_MODE_REPLACE] = "replace",
    [MMP_MODE_COUNT] = "count",
    [MMP_MODE_CALLS] = "calls",
    [MMP_MODE_HOST] = "host",
};

/* The shim folder's variables: loaded once, before any read. */
#define CONF_MAX 32
static struct {
    char key[64];
    char *value;
} conf[CONF_MAX];
static int conf_n;
static char conf_dir[4096];
static atomic_int conf_done;
static mm_lock conf_lock = MM_LOCK_INIT;

static void conf_read(void)
{
    char path[4200], line[8192];
    snprintf(path, sizeof path, "%s/%s", conf_dir, MMP_SHIM_CONF);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (conf_n < CONF_MAX && fgets(line, sizeof line, f)) {
        char *eq = strchr(line, '='), *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        if (!eq || line[0] == '#' || (size_t)(eq - line) >= sizeof conf[0].key)
            continue;
        *eq = 0;
        conf[conf_n].value = strdup(eq + 1);
        if (!conf[conf_n].value)
            break;
        strcpy(conf[conf_n].key, line);
        conf_n++;
    }
    fclose(f);
}

void mmp_conf_load(const char *dir)
{
    if (atomic_load_explicit(&conf_done, memory_order_acquire))
        return;
    /* Read once, by the first caller; the others wait for it. */
    mm_lock_acquire(&conf_lock);
    if (!atomic_load_explicit(&conf_done, memory_order_relaxed)) {
        if (!conf_dir[0] && strlen(dir) < sizeof conf_dir)
            strcpy(conf_dir, dir);
        conf_read();
        atomic_store_explicit(&conf_done, 1, memory_order_release);
    }
    mm_lock_release(&conf_lock);
}

const char *mmp_var(const char *name)
{
    for (int i = 0; i < conf_n; i++)
        if (strcmp(conf[i].key, name) == 0)
            return conf[i].value;
    return getenv(name);
}

int mmp_config_wants_host(void)
{
    const char *g = mmp_var(MMP_ENV_GUESTS), *m = mmp_var(MMP_ENV_MODE);
    return (g && *g) || (m && strcmp(m, "host") == 0);
}

const char *mmp_mode_name(mmp_mode mode)
{
    return mode_names[mode];
}

static int flag(const char *name)
{
    const char *v = mmp_var(name);
    return v && *v && strcmp(v, "0") != 0;
}

int mmp_config_from_env(mmp_config *cfg, char *err, size_t errlen)
{
    const char *mode = mmp_var(MMP_ENV_MODE);
    const char *guests = mmp_var(MMP_ENV_GUESTS), *dump = mmp_var(MMP_ENV_DUMP_BODIES);
    const char *report = mmp_var(MMP_ENV_REPORT);
    size_t i;

    memset(cfg, 0, sizeof *cfg);
    /* First, so that every later error goes where the report goes. */
    if (report && *report) {
        if (strlen(report) >= sizeof cfg->report_path) {
            snprintf(err, errlen, MMP_ENV_REPORT ": path too long");
            return -1;
        }
        strcpy(cfg->report_path, report);
    }
    /* Guests alone: the host serves and checks, no mode of ours. */
    cfg->mode = guests && *guests ? MMP_MODE_HOST : MMP_MODE_RELOCATE;
    if (mode && *mode) {
        for (i = 0; i < sizeof mode_names / sizeof mode_names[0]; i++)
            if (strcmp(mode, mode_names[i]) == 0)
                break;
        if (i == sizeof mode_names / sizeof mode_names[0]) {
            snprintf(err, errlen, MMP_ENV_MODE "=%s: expected relocate, runtime, replace, count, calls or host", mode);
            return -1;
        }
        cfg->mode = (mmp_mode)i;
    }
    const char *calls = mmp_var(MMP_ENV_CALLS_REPORT);
    if (calls && *calls) {
        if (strlen(calls) >= sizeof cfg->calls_report) {
            snprintf(err, errlen, MMP_ENV_CALLS_REPORT ": path too long");
            return -1;
        }
        strcpy(cfg->calls_report, calls);
    }
    if (guests && *guests) {
        char why[512];
        int n = mmp_guests_parse(guests, cfg->guests, MMP_GUESTS_MAX, why, sizeof why);
        if (n < 0) {
            snprintf(err, errlen, MMP_ENV_GUESTS ": %s", why);
            return -1;
        }
        cfg->nguests = n;
    }
    if (dump && *dump) {
        if (strlen(dump) >= sizeof cfg->dump_dir) {
            snprintf(err, errlen, MMP_ENV_DUMP_BODIES ": path too long");
            return -1;
        }
        strcpy(cfg->dump_dir, dump);
    }
    cfg->include_precompiled = flag(MMP_ENV_PRECOMPILED);
    cfg->keep_inlining = flag(MMP_ENV_INLINING);
    cfg->verbose = flag(MMP_ENV_VERBOSE);
    cfg->reserve_bytes = (size_t)MMP_RESERVE_DEFAULT_MB << 20;
    const char *reserve = mmp_var(MMP_ENV_RESERVE_MB);
    if (reserve && *reserve) {
        char *end;
        unsigned long mb = strtoul(reserve, &end, 10);
        if (*end || mb > (MMP_RESERVE_CAP >> 20)) {
            snprintf(err, errlen, MMP_ENV_RESERVE_MB "=%s: expected a number of MiB, 0 to %llu", reserve,
                     (unsigned long long)(MMP_RESERVE_CAP >> 20));
            return -1;
        }
        cfg->reserve_bytes = (size_t)mb << 20;
    }
    if (cfg->mode == MMP_MODE_REPLACE) {
        const char *spec = mmp_var(MMP_ENV_REPLACE);
        char why[256];
        if (!spec || !*spec) {
            snprintf(err, errlen, MMP_ENV_MODE "=replace needs " MMP_ENV_REPLACE "='Type::Method=IL hex'");
            return -1;
        }
        if (mmp_spec_parse(spec, &cfg->replace, why, sizeof why) != 0) {
            snprintf(err, errlen, MMP_ENV_REPLACE ": %s", why);
            return -1;
        }
    }
    return 0;
}
