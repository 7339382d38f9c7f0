/* The profiler's tunables, all read here from the environment mmrun (or the
 * user) sets before starting the runtime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiler.h"

static const char *const mode_names[] = {
    [MMP_MODE_RELOCATE] = "relocate",
    [MMP_MODE_RUNTIME] = "runtime",
    [MMP_MODE_REPLACE] = "replace",
    [MMP_MODE_COUNT] = "count",
    [MMP_MODE_CALLS] = "calls",
};

const char *mmp_mode_name(mmp_mode mode)
{
    return mode_names[mode];
}

static int flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

int mmp_config_from_env(mmp_config *cfg, char *err, size_t errlen)
{
    const char *mode = getenv(MMP_ENV_MODE);
    const char *report = getenv(MMP_ENV_REPORT);
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
    cfg->mode = MMP_MODE_RELOCATE;
    if (mode && *mode) {
        for (i = 0; i < sizeof mode_names / sizeof mode_names[0]; i++)
            if (strcmp(mode, mode_names[i]) == 0)
                break;
        if (i == sizeof mode_names / sizeof mode_names[0]) {
            snprintf(err, errlen, MMP_ENV_MODE "=%s: expected relocate, runtime, replace, count or calls", mode);
            return -1;
        }
        cfg->mode = (mmp_mode)i;
    }
    const char *calls = getenv(MMP_ENV_CALLS_REPORT);
    if (calls && *calls) {
        if (strlen(calls) >= sizeof cfg->calls_report) {
            snprintf(err, errlen, MMP_ENV_CALLS_REPORT ": path too long");
            return -1;
        }
        strcpy(cfg->calls_report, calls);
    }
    cfg->include_precompiled = flag(MMP_ENV_PRECOMPILED);
    cfg->keep_inlining = flag(MMP_ENV_INLINING);
    cfg->verbose = flag(MMP_ENV_VERBOSE);
    cfg->reserve_bytes = (size_t)MMP_RESERVE_DEFAULT_MB << 20;
    const char *reserve = getenv(MMP_ENV_RESERVE_MB);
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
        const char *spec = getenv(MMP_ENV_REPLACE);
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
