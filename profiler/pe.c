/*
 * The end of a loaded module's image, read from its PE headers: the bound
 * for reading a method body whose length only its own headers tell.
 */
#include <string.h>

#include "profiler.h"

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

const uint8_t *mmp_pe_image_end(const uint8_t *base)
{
    uint32_t lfanew, size_of_image;

    if (!base || base[0] != 'M' || base[1] != 'Z')
        return NULL;
    lfanew = rd32(base + 0x3C);
    /* The PE header sits within the first page in every image the runtime
     * maps; refuse anything stranger rather than read far. */
    if (lfanew < 0x40 || lfanew > 4096 - 24 - 60)
        return NULL;
    if (memcmp(base + lfanew, "PE\0\0", 4) != 0)
        return NULL;
    /* Optional header after the 4-byte signature and 20-byte file header;
     * SizeOfImage is at offset 56 in both PE32 and PE32+. */
    size_of_image = rd32(base + lfanew + 24 + 56);
    if (size_of_image == 0)
        return NULL;
    return base + size_of_image;
}
