/* The checks the IL reader (validate) and writer (encode) share, and the
 * error filler every IL and PE function reports through. */
#include "il.h"

#include <stdarg.h>
#include <stdio.h>

/* Metadata token tables a body may name. */
#define TOKEN_TYPEREF 0x01u
#define TOKEN_TYPEDEF 0x02u
#define TOKEN_STANDALONESIG 0x11u
#define TOKEN_TYPESPEC 0x1Bu

HRESULT mm_il_fail(mm_il_error *err, HRESULT code, uint64_t offset, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        err->offset = offset > UINT32_MAX ? UINT32_MAX : (uint32_t)offset;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

void mm_il_ok(mm_il_error *err)
{
    if (err) {
        err->code = S_OK;
        err->offset = 0;
        err->message[0] = '\0';
    }
}

const char *mm_il_clause_kind_name(uint32_t kind)
{
    switch (kind) {
    case MM_IL_CLAUSE_CATCH: return "catch";
    case MM_IL_CLAUSE_FILTER: return "filter";
    case MM_IL_CLAUSE_FINALLY: return "finally";
    case MM_IL_CLAUSE_FAULT: return "fault";
    default: return "unknown";
    }
}

HRESULT mm_il_check_locals(uint32_t token, uint64_t off, mm_il_error *err)
{
    if (token != 0 && (token >> 24 != TOKEN_STANDALONESIG || (token & 0xFFFFFFu) == 0))
        return mm_il_fail(err, MM_E_IL_HEADER, off, "locals token 0x%08x is not a StandAloneSig token", token);
    return S_OK;
}

/* What the runtime relies on in one clause; off is where the clause is. */
HRESULT mm_il_check_clause(const mm_il_clause *c, uint32_t i, uint32_t code_size, uint64_t off,
                            mm_il_error *err)
{
    uint64_t try_end = (uint64_t)c->try_offset + c->try_length;
    uint64_t handler_end = (uint64_t)c->handler_offset + c->handler_length;

    if (c->kind != MM_IL_CLAUSE_CATCH && c->kind != MM_IL_CLAUSE_FILTER && c->kind != MM_IL_CLAUSE_FINALLY &&
        c->kind != MM_IL_CLAUSE_FAULT)
        return mm_il_fail(err, MM_E_IL_CLAUSE, off, "clause %u: unknown kind 0x%x", i, c->kind);
    if (c->try_length == 0)
        return mm_il_fail(err, MM_E_IL_CLAUSE, off, "clause %u (%s): empty try block", i, mm_il_clause_kind_name(c->kind));
    if (c->handler_length == 0)
        return mm_il_fail(err, MM_E_IL_CLAUSE, off, "clause %u (%s): empty handler", i, mm_il_clause_kind_name(c->kind));
    if (try_end > code_size)
        return mm_il_fail(err, MM_E_IL_CLAUSE, off, "clause %u (%s): try [0x%x, 0x%llx) ends past the code (0x%x bytes)",
                    i, mm_il_clause_kind_name(c->kind), c->try_offset, (unsigned long long)try_end, code_size);
    if (handler_end > code_size)
        return mm_il_fail(err, MM_E_IL_CLAUSE, off,
                    "clause %u (%s): handler [0x%x, 0x%llx) ends past the code (0x%x bytes)", i,
                    mm_il_clause_kind_name(c->kind), c->handler_offset, (unsigned long long)handler_end, code_size);
    if (c->try_offset < handler_end && c->handler_offset < try_end)
        return mm_il_fail(err, MM_E_IL_CLAUSE, off, "clause %u (%s): try [0x%x, 0x%llx) and handler [0x%x, 0x%llx) overlap",
                    i, mm_il_clause_kind_name(c->kind), c->try_offset, (unsigned long long)try_end, c->handler_offset,
                    (unsigned long long)handler_end);
    if (c->kind == MM_IL_CLAUSE_FILTER && c->token_or_filter >= c->handler_offset)
        return mm_il_fail(err, MM_E_IL_CLAUSE, off, "clause %u (filter): filter at 0x%x does not start before its handler at 0x%x",
                    i, c->token_or_filter, c->handler_offset);
    if (c->kind == MM_IL_CLAUSE_CATCH) {
        uint32_t table = c->token_or_filter >> 24;
        if ((table != TOKEN_TYPEDEF && table != TOKEN_TYPEREF && table != TOKEN_TYPESPEC) ||
            (c->token_or_filter & 0xFFFFFFu) == 0)
            return mm_il_fail(err, MM_E_IL_CLAUSE, off,
                        "clause %u (catch): class token 0x%08x is not a TypeDef, TypeRef or TypeSpec", i,
                        c->token_or_filter);
    }
    return S_OK;
}
