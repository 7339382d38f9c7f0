/* What the rewriter's files share: the method object and its arena.
 * Internal. */
#ifndef MM_IL_RW_H
#define MM_IL_RW_H

#include "il.h"
#include "methodmalloc_ilrw.h"

#include <stddef.h>

struct arena_block;

struct mm_il_method {
    mm_il_instr *first, *last;
    uint32_t count;
    uint32_t code_size; /* as read or last laid out */
    mm_il_method_header h;
    mm_il_eh *clauses;
    uint32_t nclauses, clause_cap;
    /* Instructions and switch tables come from blocks kept across reads. */
    struct arena_block *blocks, *current;
    size_t used;
    /* Scratch kept across calls: the offset map of read, the code and
     * clauses of emit. */
    mm_il_instr **map;
    size_t map_cap;
    uint8_t *code;
    size_t code_cap;
    mm_il_clause *raw;
    size_t raw_cap;
};

void *mm_il_arena(mm_il_method *m, size_t n);

/* The offset of code the instruction at `at` starts at, for messages. */
#define IL_AT(ins) ((ins)->offset == MM_IL_NEW_OFFSET ? 0u : (ins)->offset)

#endif
