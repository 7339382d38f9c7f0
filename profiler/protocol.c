/* The replace spec's parser, built into mmrun and the profiler alike. */
#include <stdio.h>
#include <string.h>

#include "protocol.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int mmp_spec_parse(const char *text, mmp_spec *out, char *err, size_t errlen)
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
        hi = hexval(s[0]);
        lo = hi < 0 ? -1 : hexval(s[1]);
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
