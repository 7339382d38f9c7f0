# IL method bodies (src/il): the reader behind decode/validate/extent, the
# writer behind size/encode, and the checks both apply.
LIB_SRCS       += src/il/check.c src/il/read.c src/il/write.c
PUBLIC_HEADERS += include/methodmalloc_il.h
UNIT_TESTS     += tests/test_ilbody.c
FUZZ_TARGETS   += ilbody
