#include "methodmalloc.h"

#ifndef MM_VERSION
#error "MM_VERSION must be defined by the build"
#endif

const char *mm_version(void)
{
    return MM_VERSION;
}
