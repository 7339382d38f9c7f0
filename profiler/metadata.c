/*
 * What the modes and the host read from a module's metadata: a method's
 * readable name, and the signature behind a call's token for the stack
 * checker.
 */
#include <stdio.h>
#include <string.h>

#include "profiler.h"

#define NAME_MAX_CHARS MMP_NAME_MAX

/* UTF-16 to UTF-8 at out[*at..cap), always NUL-terminated. */
static void utf8_append(char *out, size_t cap, size_t *at, const WCHAR *w, size_t n)
{
    size_t k;
    for (k = 0; k < n && w[k]; k++) {
        uint32_t cp = w[k];
        char buf[4];
        size_t len;
        if (cp >= 0xD800 && cp < 0xDC00 && k + 1 < n && w[k + 1] >= 0xDC00 && w[k + 1] < 0xE000)
            cp = 0x10000 + ((cp - 0xD800) << 10) + (w[++k] - 0xDC00u);
        if (cp < 0x80)
            buf[0] = (char)cp, len = 1;
        else if (cp < 0x800)
            buf[0] = (char)(0xC0 | cp >> 6), buf[1] = (char)(0x80 | (cp & 0x3F)), len = 2;
        else if (cp < 0x10000)
            buf[0] = (char)(0xE0 | cp >> 12), buf[1] = (char)(0x80 | (cp >> 6 & 0x3F)),
            buf[2] = (char)(0x80 | (cp & 0x3F)), len = 3;
        else
            buf[0] = (char)(0xF0 | cp >> 18), buf[1] = (char)(0x80 | (cp >> 12 & 0x3F)),
            buf[2] = (char)(0x80 | (cp >> 6 & 0x3F)), buf[3] = (char)(0x80 | (cp & 0x3F)), len = 4;
        if (*at + len >= cap)
            break;
        memcpy(out + *at, buf, len);
        *at += len;
    }
    out[*at] = 0;
}

/* "Ns.Outer/Inner": the enclosing types first (depth-limited against a
 * cycle in broken metadata). */
static int type_name(IMetaDataImport *md, mdTypeDef td, char *out, size_t cap, size_t *at, int depth)
{
    WCHAR w[NAME_MAX_CHARS];
    ULONG n = 0;
    DWORD flags;
    mdToken extends, outer;
    if (depth > 16 || md->lpVtbl->GetTypeDefProps(md, td, w, NAME_MAX_CHARS, &n, &flags, &extends) != S_OK)
        return -1;
    if (md->lpVtbl->GetNestedClassProps(md, td, &outer) == S_OK && outer != td) {
        if (type_name(md, outer, out, cap, at, depth + 1) != 0)
            return -1;
        utf8_append(out, cap, at, u"/", 1);
    }
    utf8_append(out, cap, at, w, n);
    return 0;
}

int mmp_method_name(IMetaDataImport *md, mdMethodDef token, char *name, size_t cap)
{
    WCHAR w[NAME_MAX_CHARS];
    size_t at = 0;
    ULONG n = 0, rva, sig_len;
    DWORD attr, impl;
    mdTypeDef cls;
    PCCOR_SIGNATURE sig;

    name[0] = 0;
    if (md->lpVtbl->GetMethodProps(md, token, &cls, w, NAME_MAX_CHARS, &n, &attr, &sig, &sig_len, &rva, &impl) != S_OK)
        return -1;
    if (type_name(md, cls, name, cap, &at, 0) != 0)
        return -1;
    utf8_append(name, cap, &at, u"::", 2);
    utf8_append(name, cap, &at, w, n);
    return 0;
}

/* The stack check's resolver: the signature behind a call's token. */
HRESULT mmp_resolve_sig(void *ctx, uint32_t token, const uint8_t **sig, size_t *len)
{
    IMetaDataImport2 *md2 = ctx;
    IMetaDataImport *md = (IMetaDataImport *)md2;
    PCCOR_SIGNATURE s = NULL;
    ULONG n = 0, chars, rva;
    DWORD attr, impl;
    mdToken parent;
    HRESULT hr;
    int hops;

    for (hops = 0; hops < 2; hops++) {
        switch (MM_TOKEN_TYPE(token)) {
        case MM_MDT_METHODDEF:
            hr = md->lpVtbl->GetMethodProps(md, token, &parent, NULL, 0, &chars, &attr, &s, &n, &rva, &impl);
            break;
        case 0x0A000000u: /* MemberRef */
            hr = md->lpVtbl->GetMemberRefProps(md, token, &parent, NULL, 0, &chars, &s, &n);
            break;
        case 0x11000000u: /* StandAloneSig (calli) */ hr = md->lpVtbl->GetSigFromToken(md, token, &s, &n); break;
        case 0x2B000000u: /* MethodSpec: the generic method's own signature */
            hr = md2->lpVtbl->GetMethodSpecProps(md2, token, &parent, &s, &n);
            if (hr != S_OK)
                return FAILED(hr) ? hr : E_INVALIDARG;
            token = parent;
            continue;
        default: return E_INVALIDARG;
        }
        if (hr != S_OK)
            return FAILED(hr) ? hr : E_INVALIDARG;
        *sig = s;
        *len = n;
        return S_OK;
    }
    return E_INVALIDARG;
}

