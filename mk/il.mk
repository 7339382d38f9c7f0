# IL method bodies (src/il): the reader behind decode/validate/extent, the
# writer behind size/encode, and the checks both apply.
LIB_SRCS       += src/il/check.c src/il/read.c src/il/write.c
PUBLIC_HEADERS += include/methodmalloc_il.h
UNIT_TESTS     += tests/test_ilbody.c
FUZZ_TARGETS   += ilbody

# The IL rewriter (issue 9): instructions, edits, emit, stack check,
# signatures; public header methodmalloc_ilrw.h.
LIB_SRCS       += src/il/opcodes.c src/il/instr.c src/il/decode.c src/il/emit.c src/il/stack.c src/il/sig.c
PUBLIC_HEADERS += include/methodmalloc_ilrw.h
UNIT_TESTS     += tests/test_ilrw.c
FUZZ_TARGETS   += ilrw
