/*
 * What mmrun and the profiler agree on: the profiler's class ID, the
 * environment variables mmrun sets and the profiler reads, and the replace
 * spec, parsed the same way by both (protocol.c is built into each), so
 * that mmrun rejects a bad spec before starting anything.
 *
 * The replace spec is "Namespace.Type::Method=IL hex".  Type is the full
 * name of a type as metadata spells it (namespace, dot, name); a nested type
 * follows its enclosing type after a '/' ("Ns.Outer/Inner").  Method is a
 * simple method name: every method of that name in the type gets the body.
 * The hex is the IL code only (no header), two digits a byte, spaces allowed
 * between bytes: "1F 2A 2A" is ldc.i4.s 42; ret.
 */
#ifndef MM_PROFILER_PROTOCOL_H
#define MM_PROFILER_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

/* The profiler's class ID, chosen for it; CORECLR_PROFILER must name it. */
#define MMP_CLSID_INIT {0xE7C0561D, 0x4650, 0x4F35, {0x9D, 0x86, 0xA6, 0x9D, 0x58, 0x42, 0x7C, 0x09}}

/* The profiler library's file name. */
#if defined(_WIN32)
#define MMP_LIBRARY_NAME "libmmprofiler.dll"
#else
#define MMP_LIBRARY_NAME "libmmprofiler.so"
#endif

/* The variables (see the README's profiler section for their values). */
#define MMP_ENV_MODE "MM_PROFILER_MODE"
#define MMP_ENV_REPORT "MM_PROFILER_REPORT"
#define MMP_ENV_PRECOMPILED "MM_PROFILER_PRECOMPILED"
#define MMP_ENV_INLINING "MM_PROFILER_INLINING"
#define MMP_ENV_REPLACE "MM_PROFILER_REPLACE"
#define MMP_ENV_VERBOSE "MM_PROFILER_VERBOSE"
#define MMP_ENV_RESERVE_MB "MM_PROFILER_RESERVE_MB"
#define MMP_ENV_CALLS_REPORT "MM_PROFILER_CALLS_REPORT"
/* The host: guest profilers, "PATH={CLSID}" entries separated by ';'. */
#define MMP_ENV_GUESTS "MM_PROFILER_GUESTS"
/* The host: write every body a guest sets into this folder. */
#define MMP_ENV_DUMP_BODIES "MM_PROFILER_DUMP_BODIES"

/* The file next to the library that a shim folder (mmrun --shim) holds:
 * KEY=VALUE lines with the variables above, which win over the
 * environment. */
#define MMP_SHIM_CONF "methodmalloc-host.conf"
/* At most this many guests in one chain. */
#define MMP_GUESTS_MAX 8

/* The report's first line starts with this; error lines with the second. */
#define MMP_REPORT_LINE "methodmalloc: mode="
#define MMP_ERROR_LINE "methodmalloc: error:"

#define MMP_SPEC_NAME_MAX 511
#define MMP_SPEC_CODE_MAX 4096

typedef struct mmp_spec {
    char type[MMP_SPEC_NAME_MAX + 1];
    char method[MMP_SPEC_NAME_MAX + 1];
    uint8_t code[MMP_SPEC_CODE_MAX];
    uint32_t code_size;
} mmp_spec;

/* Parses text into *out.  Returns 0, or -1 with a one-line reason in err. */
int mmp_spec_parse(const char *text, mmp_spec *out, char *err, size_t errlen);

/* A guest profiler: "PATH={CLSID}". */
typedef struct mmp_guest_spec {
    char path[4096];
    char clsid_text[40]; /* "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}" as given */
    uint32_t d1;
    uint16_t d2, d3;
    uint8_t d4[8];
} mmp_guest_spec;

/* Parses one "PATH={CLSID}" of len bytes.  Returns 0, or -1 with the
 * reason in err. */
int mmp_guest_parse(const char *text, size_t len, mmp_guest_spec *out, char *err, size_t errlen);
/* Parses a list of them separated by ';' into out[0..max).  Returns the
 * count, or -1 with the reason in err. */
int mmp_guests_parse(const char *text, mmp_guest_spec *out, int max, char *err, size_t errlen);

#endif /* MM_PROFILER_PROTOCOL_H */
