/* libFuzzer target for the PE/CLI reader: any file must open or fail
 * cleanly, and every body it leads to must map inside the file and be read
 * only there; the same for the metadata tables (meta.c): every signature
 * inside the file, every name NUL-terminated inside its buffer. */
#include "pe/meta.h"
#include "pe/pe.h"

#include <stdlib.h>
#include <string.h>

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mm_pe pe;
    mm_il_error err;
    uint32_t rid;

    if (FAILED(mm_pe_open(&pe, data, size, &err)))
        return 0;
    for (rid = 1; rid <= pe.method_count && rid <= 100000; rid++) {
        mm_pe_method m;
        const uint8_t *p;
        size_t avail, ext;
        check(mm_pe_method_row(&pe, rid, &m) == S_OK);
        check(m.name_len == 0 || (m.name >= (const char *)data && m.name + m.name_len < (const char *)data + size));
        if (m.rva == 0 || FAILED(mm_pe_rva(&pe, m.rva, &p, &avail, &err)))
            continue;
        check(p >= data && avail <= size && p + avail <= data + size);
        mm_il_validate(p, avail, &err);
        if (SUCCEEDED(mm_il_extent(p, avail, &ext, &err)))
            check(ext <= avail);
    }
    {
        static const uint32_t tables[] = {0x01, 0x02, 0x04, 0x06, 0x0A, 0x11, 0x1B, 0x2B, 0x70};
        mm_meta md;
        size_t t;
        if (FAILED(mm_meta_open(&md, &pe, &err)))
            return 0;
        for (t = 0; t < sizeof tables / sizeof tables[0]; t++) {
            for (rid = 0; rid <= 300; rid++) {
                uint32_t token = tables[t] << 24 | rid;
                const uint8_t *sig;
                size_t len;
                char name[64];
                if (SUCCEEDED(mm_meta_sig(&md, token, &sig, &len)))
                    check(sig >= data && len <= size && sig + len <= data + size);
                mm_meta_name(&md, token, name, sizeof name);
                check(memchr(name, 0, sizeof name) != NULL);
            }
        }
    }
    return 0;
}
