/*
 * The replace spec, "Namespace.Type::Method=IL hex", parsed one way for
 * mmrun (which rejects a bad spec before starting anything) and for the
 * profiler (which receives it through MM_PROFILER_REPLACE).  Header-only so
 * that both, built separately, share the very same code.
 *
 * Type is the full name of a type as metadata spells it (namespace, dot,
 * name); a nested type follows its enclosing type after a '/'
 * ("Ns.Outer/Inner").  Method is a simple method name: every method of that
 * name in the type gets the body.  The hex is the IL code only (no header),
 * two digits a byte, spaces allowed between bytes: "1F 2A 2A" is
 * ldc.i4.s 42; ret.
 */
#ifndef MM_PROFILER_SPEC_H
#define MM_PROFILER_SPEC_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MMP_SPEC_NAME_MAX 511
#define MMP_SPEC_CODE_MAX 4096

typedef struct mmp_spec {
    char type[MMP_SPEC_NAME_MAX + 1];
    char method[MMP_SPEC_NAME_MAX + 1];
    uint8_t code[MMP_SPEC_CODE_MAX];
    uint32_t code_size;
} mmp_spec;

static inline int mmp_spec_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses text into *out.  Returns 0, or -1 with a one-line reason in err. */
static inline int mmp_spec_parse(const char *text, mmp_spec *out, char *err, size_t errlen)
{
    const char *sep = strstr(text, "::");
    const char *eq = sep ? strchr(sep + 2, '=') : NULL;
    size_t tlen, mlen;

    memset(out, 0, sizeof *out);
    if (!sep || !eq) {
        snprintf(err, errlen, "expected 'Namespace.Type::Method=IL hex', got '%s'", text);
        return -1;
    }
    tlen = (size_t)(sep - text);
    mlen = (size_t)(eq - (sep + 2));
    if (tlen == 0 || mlen == 0) {
        snprintf(err, errlen, "empty %s name in '%s'", tlen == 0 ? "type" : "method", text);
        return -1;
    }
    if (tlen > MMP_SPEC_NAME_MAX || mlen > MMP_SPEC_NAME_MAX) {
        snprintf(err, errlen, "name longer than %d bytes in '%s'", MMP_SPEC_NAME_MAX, text);
        return -1;
    }
    memcpy(out->type, text, tlen);
    memcpy(out->method, sep + 2, mlen);
    for (const char *s = eq + 1; *s;) {
        int hi, lo;
        if (*s == ' ' || *s == '\t') {
            s++;
            continue;
        }
        hi = mmp_spec_hexval(s[0]);
        lo = hi < 0 ? -1 : mmp_spec_hexval(s[1]);
        if (hi < 0 || lo < 0) {
            snprintf(err, errlen, "IL hex: not a pair of hex digits at '%.8s'", s);
            return -1;
        }
        if (out->code_size == MMP_SPEC_CODE_MAX) {
            snprintf(err, errlen, "IL hex: more than %d bytes", MMP_SPEC_CODE_MAX);
            return -1;
        }
        out->code[out->code_size++] = (uint8_t)(hi << 4 | lo);
        s += 2;
    }
    if (out->code_size == 0) {
        snprintf(err, errlen, "IL hex is empty in '%s'", text);
        return -1;
    }
    return 0;
}

#endif /* MM_PROFILER_SPEC_H */
