/* libFuzzer target for the PE/CLI reader: any file must open or fail
 * cleanly, and every body it leads to must map inside the file and be read
 * only there. */
#include "pe/pe.h"

#include <stdlib.h>

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
    return 0;
}
