#include "methodmalloc.h"

const char *mm_version(void)
{
    return MM_VERSION_STRING;
}
