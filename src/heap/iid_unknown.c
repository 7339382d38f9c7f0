#include "methodmalloc.h"
#include "iids.h"

MM_API const IID IID_IUnknown = MM_IID_IUNKNOWN_INIT;
