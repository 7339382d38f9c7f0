/* The replace spec's and the guest list's parsers, built into mmrun and the
 * profiler alike. */
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

/* n hex digits at s into *v. */
static int hex_field(const char *s, int n, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        int d = hexval(s[i]);
        if (d < 0)
            return -1;
        *v = *v << 4 | (uint32_t)d;
    }
    return 0;
}

int mmp_guest_parse(const char *text, size_t len, mmp_guest_spec *out, char *err, size_t errlen)
{
    const char *eq = NULL;
    uint32_t v;

    memset(out, 0, sizeof *out);
    /* The last "={": a path may hold '=' itself. */
    for (size_t i = 0; i + 1 < len; i++)
        if (text[i] == '=' && text[i + 1] == '{')
            eq = text + i;
    if (!eq || eq == text) {
        snprintf(err, errlen, "expected PATH={CLSID}, got '%.*s'", (int)len, text);
        return -1;
    }
    size_t plen = (size_t)(eq - text), clen = len - plen - 1;
    const char *c = eq + 1;
    if (plen >= sizeof out->path) {
        snprintf(err, errlen, "guest path longer than %zu bytes", sizeof out->path - 1);
        return -1;
    }
    /* {8-4-4-4-12} */
    if (clen != 38 || c[0] != '{' || c[37] != '}' || c[9] != '-' || c[14] != '-' || c[19] != '-' || c[24] != '-'
        || hex_field(c + 1, 8, &out->d1) || hex_field(c + 10, 4, &v) || (out->d2 = (uint16_t)v, 0)
        || hex_field(c + 15, 4, &v) || (out->d3 = (uint16_t)v, 0)) {
        snprintf(err, errlen, "guest class ID '%.*s': expected {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}", (int)clen, c);
        return -1;
    }
    for (int i = 0; i < 8; i++) {
        const char *d = i < 2 ? c + 20 + 2 * i : c + 25 + 2 * (i - 2);
        if (hex_field(d, 2, &v)) {
            snprintf(err, errlen, "guest class ID '%.*s': not hex", (int)clen, c);
            return -1;
        }
        out->d4[i] = (uint8_t)v;
    }
    memcpy(out->path, text, plen);
    memcpy(out->clsid_text, c, 38);
    return 0;
}

int mmp_guests_parse(const char *text, mmp_guest_spec *out, int max, char *err, size_t errlen)
{
    int n = 0;
    const char *s = text;

    while (*s) {
        const char *end = strchr(s, ';');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len) {
            if (n == max) {
                snprintf(err, errlen, "more than %d guests", max);
                return -1;
            }
            if (mmp_guest_parse(s, len, &out[n], err, errlen) != 0)
                return -1;
            n++;
        }
        s += len + (end ? 1 : 0);
    }
    return n;
}
