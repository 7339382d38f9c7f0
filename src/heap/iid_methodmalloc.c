#include "methodmalloc.h"
#include "iids.h"

MM_API const IID IID_IMethodMalloc = MM_IID_IMETHODMALLOC_INIT;
