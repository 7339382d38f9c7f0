/*
 * methodmalloc_ilrw: the IL rewriter.  A method body decoded into
 * instructions, edited, checked and emitted again (ECMA-335 Partition III
 * for the instructions, Partition II 25.4 for the body).
 *
 * An mm_il_method holds one body as a list of instructions.  Branch and
 * switch targets and exception-clause boundaries are pointers to
 * instructions, never offsets, so edits cannot leave them behind: emit
 * recomputes every offset, widens short branches that no longer reach (and
 * only those), orders clauses innermost first, chooses the header and writes
 * the body with mm_il_encode.  Decoding a body and emitting it with no edit
 * gives back the same bytes.
 *
 * Memory: an mm_il_method owns every instruction it decoded or created; they
 * stay valid until the method is read again (mm_il_method_read), cleared or
 * destroyed.  The method allocates with malloc; E_OUTOFMEMORY when that
 * fails.  Reading never touches a byte outside [p, p + len).
 *
 * Threads: one mm_il_method must not be used by two threads at once; any
 * number of methods may be used concurrently.  The functions that take no
 * mm_il_method (opcode table, signatures, locals) keep no state.
 *
 * Errors are HRESULTs with an mm_il_error, as in methodmalloc_il.h; for
 * problems of the code the offset is an offset in the IL code (not the
 * body) and the message names the instruction ("IL_001a"); errors of the
 * body's structure (from mm_il_decode) keep body offsets.
 */
#ifndef METHODMALLOC_ILRW_H
#define METHODMALLOC_ILRW_H

#include "methodmalloc_il.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MM_E_IL_CODE  ((HRESULT)0x80040207L) /* bad instruction stream: opcode, operand, target, clause boundary */
#define MM_E_IL_EDIT  ((HRESULT)0x80040208L) /* an edit that would orphan a target or is not allowed */
#define MM_E_IL_STACK ((HRESULT)0x80040209L) /* the stack check failed */
#define MM_E_IL_SIG   ((HRESULT)0x8004020AL) /* a malformed signature blob */

/* ---- Opcodes ----
 * An opcode is its encoding as one number: 0x00..0xE0 for one-byte opcodes,
 * 0xFE00 | second byte for two-byte ones (0xFE09 is ldarg). */
typedef enum mm_il_operand {
    MM_IL_OP_NONE,
    MM_IL_OP_I1,    /* int8: ldc.i4.s */
    MM_IL_OP_U1,    /* uint8: unaligned., no. */
    MM_IL_OP_VAR1,  /* uint8 argument or local index: ldarg.s ... */
    MM_IL_OP_VAR2,  /* uint16 argument or local index: ldarg ... */
    MM_IL_OP_I4,    /* int32: ldc.i4 */
    MM_IL_OP_I8,    /* int64: ldc.i8 */
    MM_IL_OP_R4,    /* float32: ldc.r4 */
    MM_IL_OP_R8,    /* float64: ldc.r8 */
    MM_IL_OP_TOKEN, /* metadata token */
    MM_IL_OP_BR1,   /* int8 branch displacement: br.s ... */
    MM_IL_OP_BR4,   /* int32 branch displacement: br ... */
    MM_IL_OP_SWITCH /* uint32 count, then count int32 displacements */
} mm_il_operand;

/* How control leaves an instruction. */
typedef enum mm_il_flow {
    MM_IL_FLOW_NEXT,   /* falls through */
    MM_IL_FLOW_BRANCH, /* unconditional branch: br, br.s */
    MM_IL_FLOW_COND,   /* conditional branch or switch: target(s) or next */
    MM_IL_FLOW_LEAVE,  /* leave, leave.s: empties the stack, goes to the target */
    MM_IL_FLOW_RETURN, /* ret, jmp */
    MM_IL_FLOW_THROW,  /* throw, rethrow */
    MM_IL_FLOW_END,    /* endfinally, endfilter */
    MM_IL_FLOW_PREFIX  /* a prefix: belongs to the next instruction */
} mm_il_flow;

#define MM_IL_VARIABLE 0xFF /* pops/pushes that depend on a signature */

typedef struct mm_il_opcode_info {
    const char *name; /* "ldc.i4.s" */
    mm_il_operand operand;
    mm_il_flow flow;
    uint8_t pops, pushes; /* stack effect, or MM_IL_VARIABLE (call, callvirt, calli, newobj, ret) */
} mm_il_opcode_info;

/* The facts of opcode op (ECMA-335 Partition III), or NULL for a value that
 * is no opcode.  Static data. */
MM_API const mm_il_opcode_info *mm_il_opcode(uint16_t op);

/* Opcodes the API names (the rest are plain numbers as above). */
#define MM_IL_NOP         0x00
#define MM_IL_LDC_I4      0x20
#define MM_IL_LDC_I8      0x21
#define MM_IL_CALL        0x28
#define MM_IL_CALLI       0x29
#define MM_IL_RET         0x2A
#define MM_IL_BR_S        0x2B
#define MM_IL_BR          0x38
#define MM_IL_SWITCH      0x45
#define MM_IL_CALLVIRT    0x6F
#define MM_IL_NEWOBJ      0x73
#define MM_IL_LEAVE       0xDD
#define MM_IL_LEAVE_S     0xDE
#define MM_IL_CONSTRAINED 0xFE16

/* ---- Instructions ---- */

#define MM_IL_MAX_PREFIXES 4
#define MM_IL_NEW_OFFSET   0xFFFFFFFFu

typedef struct mm_il_instr mm_il_instr;

/* One instruction with its prefixes.  The list links, targets, refs and
 * offset are the method's: read them, change targets only with
 * mm_il_set_target / mm_il_set_switch (which keep refs right).  Opcode,
 * prefixes and arg are the caller's to change (emit checks that the
 * operand fits the opcode's form). */
struct mm_il_instr {
    mm_il_instr *prev, *next; /* the method's order; NULL at the ends */
    uint16_t opcode;
    uint8_t prefix_count; /* prefixes, in the order they are written */
    /* opcode: 0xFE12 unaligned., 0xFE13 volatile., 0xFE14 tail., 0xFE16
     * constrained., 0xFE19 no., 0xFE1E readonly.; operand: the alignment,
     * the no. flags or the constrained. token, 0 for the others. */
    struct {
        uint16_t opcode;
        uint32_t operand;
    } prefix[MM_IL_MAX_PREFIXES];
    /* The operand, by mm_il_opcode(opcode)->operand: */
    union {
        int64_t i;      /* I1, I4, I8 (sign-extended), U1, VAR1, VAR2 */
        uint32_t token; /* TOKEN */
        float r4;       /* R4: bits kept as read */
        double r8;      /* R8: bits kept as read */
    } arg;
    mm_il_instr *target;   /* BR1, BR4: the instruction branched to */
    mm_il_instr **targets; /* SWITCH: target_count instructions (the method's memory) */
    uint32_t target_count;
    uint32_t refs;   /* branches, switch entries and clause boundaries naming it */
    uint32_t index;  /* position in the list as of the last stack check */
    uint32_t offset; /* offset of its first prefix: as read, then as last emitted; MM_IL_NEW_OFFSET if new */
};

/* An exception clause whose boundaries are instructions.  Ends are
 * exclusive: the instruction just after the block, NULL when the block runs
 * to the end of the code. */
typedef struct mm_il_eh {
    uint32_t kind; /* MM_IL_CLAUSE_* */
    mm_il_instr *try_start, *try_end;
    mm_il_instr *handler_start, *handler_end;
    mm_il_instr *filter_start; /* FILTER: the filter's first instruction; the filter ends at handler_start */
    uint32_t class_token;      /* CATCH: the type; FINALLY, FAULT: the field as read (kept for identity) */
} mm_il_eh;

typedef struct mm_il_method mm_il_method;

/* Creates an empty method in *out.  E_POINTER, E_OUTOFMEMORY. */
MM_API HRESULT mm_il_method_create(mm_il_method **out);

/* Frees m and everything it owns.  NULL is allowed. */
MM_API void mm_il_method_destroy(mm_il_method *m);

/* Decodes the body at p (len bytes may be read; see mm_il_decode) into m,
 * replacing what m held (its instructions become invalid).  Every
 * instruction is decoded: opcode known, operand inside the code, branch and
 * switch targets on instruction boundaries inside the code, a switch whose
 * table fits the code, prefixes followed by the instruction they prefix
 * (at most MM_IL_MAX_PREFIXES), every clause boundary on an instruction
 * boundary (an end may be the end of the code).  The header's max stack,
 * locals token and flags are kept; so is its form (a fat header stays fat,
 * a tiny one stays tiny while the code allows), and the exception table's.
 * Returns S_OK; E_POINTER; the errors of mm_il_decode; MM_E_IL_CODE with
 * err naming the code offset; E_OUTOFMEMORY.  On failure m is empty. */
MM_API HRESULT mm_il_method_read(mm_il_method *m, const void *p, size_t len, mm_il_error *err);

/* Empties m: no instruction, no clause, max stack 8, no locals, header AUTO. */
MM_API void mm_il_method_clear(mm_il_method *m);

/* First and last instruction (NULL when there is none). */
MM_API mm_il_instr *mm_il_first(const mm_il_method *m);
MM_API mm_il_instr *mm_il_last(const mm_il_method *m);
/* Number of instructions in the list. */
MM_API uint32_t mm_il_count(const mm_il_method *m);
/* Code size in bytes as read, or as last laid out by mm_il_method_size /
 * emit (edits since then are not counted). */
MM_API uint32_t mm_il_code_size(const mm_il_method *m);

/* Header fields as read or set.  header: MM_IL_HEADER_AUTO means tiny when
 * legal; eh_format likewise.  set_header refuses (E_INVALIDARG) values
 * outside the enums; flags may only be 0 or MM_IL_INIT_LOCALS. */
typedef struct mm_il_method_header {
    mm_il_header header;
    mm_il_eh_format eh_format;
    uint16_t flags;
    uint16_t max_stack;
    uint32_t local_var_sig_tok;
} mm_il_method_header;
MM_API void mm_il_get_header(const mm_il_method *m, mm_il_method_header *h);
MM_API HRESULT mm_il_set_header(mm_il_method *m, const mm_il_method_header *h);

/* Clauses: count; clause i (NULL past the count; valid until a clause is
 * added or m is read or cleared); adding one at the end and changing
 * clause i (its instructions must be m's; emit orders clauses).
 * add/set: S_OK, E_POINTER, E_INVALIDARG (i past the count), E_OUTOFMEMORY. */
MM_API uint32_t mm_il_clause_count(const mm_il_method *m);
MM_API const mm_il_eh *mm_il_clause_at(const mm_il_method *m, uint32_t i);
MM_API HRESULT mm_il_add_clause(mm_il_method *m, const mm_il_eh *c);
MM_API HRESULT mm_il_set_clause(mm_il_method *m, uint32_t i, const mm_il_eh *c);

/* ---- Edits ---- */

/* A new instruction owned by m and in no list yet, with no prefix, a zero
 * operand and no target.  Returns NULL for an unknown opcode, a prefix
 * opcode, or when memory runs out. */
MM_API mm_il_instr *mm_il_new(mm_il_method *m, uint16_t opcode);

/* Points a branch (BR1/BR4 operand) at target (NULL: none; emit refuses
 * that).  S_OK, E_POINTER, E_INVALIDARG (not a branch). */
MM_API HRESULT mm_il_set_target(mm_il_method *m, mm_il_instr *br, mm_il_instr *target);

/* Gives a switch instruction count targets (copied into m's memory).
 * S_OK, E_POINTER, E_INVALIDARG (not a switch), E_OUTOFMEMORY. */
MM_API HRESULT mm_il_set_switch(mm_il_method *m, mm_il_instr *sw, mm_il_instr *const *targets, uint32_t count);

/* What happens to references to the instruction an insertion goes before. */
typedef enum mm_il_retarget {
    /* Nothing moves: the new instruction runs only when control falls
     * through from the one before it, and belongs to the same protected
     * blocks as that one.  For a probe at method entry. */
    MM_IL_KEEP = 0,
    /* Every branch, switch target and clause boundary (starts and
     * exclusive ends) that named `at` now names the new instruction: it
     * runs on every path to `at` and belongs to the blocks `at` belongs to.
     * For a probe before a ret reached by branches. */
    MM_IL_RETARGET = 1
} mm_il_retarget;

/* Links ins (from mm_il_new, in no list) before `at`, or at the end of the
 * code when at is NULL (mode then ignored).  S_OK; E_POINTER;
 * MM_E_IL_EDIT when ins is already linked or mode unknown. */
MM_API HRESULT mm_il_insert_before(mm_il_method *m, mm_il_instr *at, mm_il_instr *ins, mm_il_retarget mode,
                                   mm_il_error *err);

/* Links ins after `at` (at NULL: at the start, as insert_before(first,
 * KEEP)).  References to at's successor stay, so ins belongs to at's
 * blocks.  Errors as insert_before. */
MM_API HRESULT mm_il_insert_after(mm_il_method *m, mm_il_instr *at, mm_il_instr *ins, mm_il_error *err);

/* Puts ins in old's place: every reference to old now names ins.  old
 * leaves the list (its memory stays m's).  Errors as insert_before, and
 * MM_E_IL_EDIT when old is not in the list. */
MM_API HRESULT mm_il_replace(mm_il_method *m, mm_il_instr *old, mm_il_instr *ins, mm_il_error *err);

/* Unlinks ins.  MM_E_IL_EDIT, with nothing changed, when a branch, a switch
 * or a clause start (try, handler, filter) still names it; clause ends that
 * name it move to its successor.  E_POINTER. */
MM_API HRESULT mm_il_remove(mm_il_method *m, mm_il_instr *ins, mm_il_error *err);

/* ---- Emit ----
 * Lays the code out: every offset recomputed, each short branch widened to
 * its long form (the instruction's opcode changes) only when its target is
 * out of int8 range, repeated until nothing changes; ldarg.s-style forms
 * widened when the index exceeds 255; clauses ordered innermost first
 * (a stable order: clauses that need no move keep theirs); the header as
 * m's header fields say (AUTO: tiny when legal).  Then writes the body with
 * mm_il_encode, so what is written validates.
 * Every instruction's offset is updated.  Errors: MM_E_IL_CODE for an
 * instruction whose operand does not fit its form (ldc.i4.s 300), a target
 * not in the list, a switch with a NULL target, a clause naming an
 * instruction not in the list or a block that ends before it starts (err
 * names the instruction); MM_E_IL_EDIT for an empty method; the errors of
 * mm_il_size/mm_il_encode; E_OUTOFMEMORY. */
MM_API HRESULT mm_il_method_size(mm_il_method *m, size_t *size, mm_il_error *err);
MM_API HRESULT mm_il_method_emit(mm_il_method *m, void *buf, size_t cap, size_t *written, mm_il_error *err);
/* Emits into a block from alloc (what SetILFunctionBody takes).  *block gets
 * it, *size its size; errors as mm_il_encode_alloc.  Thread safety of the
 * allocator is its own. */
MM_API HRESULT mm_il_method_emit_alloc(mm_il_method *m, IMethodMalloc *alloc, void **block, size_t *size,
                                       mm_il_error *err);

/* ---- Signatures (ECMA-335 II.23.2) ---- */

/* What the stack check needs from a method signature. */
typedef struct mm_il_sig_info {
    uint32_t params; /* ParamCount (vararg call sites: every argument) */
    int has_this;    /* HASTHIS without EXPLICITTHIS: one more argument */
    int returns;     /* 1 unless the return type is void */
} mm_il_sig_info;

/* Reads a MethodDefSig, MethodRefSig or StandAloneMethodSig blob (calling
 * convention, generic count, ParamCount, return type).  S_OK; E_POINTER;
 * MM_E_IL_SIG for a field, property or locals signature, or a blob that
 * ends early (err's offset is the blob offset). */
MM_API HRESULT mm_il_sig_method(const uint8_t *sig, size_t len, mm_il_sig_info *info, mm_il_error *err);

/* Appends `add_count` local types to a LocalVarSig blob.  old (old_len
 * bytes) is the method's current signature (0x07, count, types), or NULL
 * with old_len 0 for a method without locals; add holds add_count encoded
 * types (each checked to be one complete type, e.g. {0x0A} for int64).
 * Writes the new blob into out[0..cap) (out may be old's own buffer) and
 * its length to *out_len;
 * *first_index (if not NULL) gets the index of the first new local.  Turn
 * the blob into a StandAloneSig token with the metadata emitter
 * (IMetaDataEmit::GetTokenFromSig) and set it as the locals token.
 * S_OK; E_POINTER; MM_E_IL_SIG for a malformed old blob or add, or more than
 * 0xFFFE locals; MM_E_IL_SMALL_BUFFER when cap is short (*out_len gets the
 * size needed). */
MM_API HRESULT mm_il_locals_append(const uint8_t *old, size_t old_len, const uint8_t *add, size_t add_len,
                                   uint32_t add_count, uint8_t *out, size_t cap, size_t *out_len, uint32_t *first_index,
                                   mm_il_error *err);

/* ---- Stack check ---- */

/* Gives the signature blob of the method a token names: call, callvirt,
 * newobj, ldftn-style tokens (MethodDef, MemberRef, MethodSpec: the generic
 * method's signature) or calli's StandAloneSig.  *sig must stay valid until
 * the next call or the check returns.  A failure ends the check with that
 * HRESULT. */
typedef HRESULT (*mm_il_sig_resolver)(void *ctx, uint32_t token, const uint8_t **sig, size_t *len);

typedef struct mm_il_stack_options {
    mm_il_sig_resolver resolve; /* needed when the code calls; NULL otherwise */
    void *ctx;
    /* The checked method's own signature, for ret.  NULL: ret accepts a
     * stack of 0 or 1. */
    const uint8_t *method_sig;
    size_t method_sig_len;
} mm_il_stack_options;

typedef struct mm_il_stack_result {
    uint32_t max_stack; /* the deepest the stack gets on any path */
    uint32_t checked;   /* instructions reached (dead code is not checked) */
    uint32_t blocks;    /* basic blocks */
} mm_il_stack_result;

/* Checks the evaluation stack over the flow graph of m's basic blocks:
 * entered at depth 0 at the first instruction, 0 at finally/fault handlers,
 * 1 at catch handlers and filters; a try block entered with an empty
 * stack; never a pop below 0; equal depths where paths join; leave targets
 * at 0; endfilter with exactly 1; ret with nothing but the return value;
 * jmp with nothing; no path falling off the end of the code.  *depths (if
 * not NULL) is filled, in list order, with each instruction's depth before
 * it runs (-1: unreachable): mm_il_count(m) entries.
 * Returns S_OK with *res filled; MM_E_IL_STACK naming the instruction;
 * MM_E_IL_SIG or the resolver's error for a call it cannot size; E_POINTER
 * (a call without a resolver); MM_E_IL_CODE for a target not in the list;
 * E_OUTOFMEMORY.  Changes nothing in m but each instruction's index. */
MM_API HRESULT mm_il_stack_check(mm_il_method *m, const mm_il_stack_options *opt, mm_il_stack_result *res,
                                 int32_t *depths, mm_il_error *err);

#ifdef __cplusplus
}
#endif

#endif /* METHODMALLOC_ILRW_H */
