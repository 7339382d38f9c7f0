/*
 * The body chain: for each method some guest gave a body, the body and IL
 * map of every guest, so that guest k is shown what guest k-1 set (rewrites
 * compose in chain order) and the runtime is given the IL maps composed
 * back to the original IL.
 *
 * An open-addressing table by (module, token) under a reader-writer lock:
 * reads (GetILFunctionBody) are many, writes (a body set) fewer.  Records
 * are never freed: a body or map handed out stays valid.
 */
#include <stdlib.h>
#include <string.h>

#include "host/host.h"

struct mmh_method {
    ModuleID mod;
    mdMethodDef token;
    const uint8_t *body[MMH_CHAIN_MAX + 1]; /* by guest index, 0 the original; NULL: none set */
    size_t size[MMH_CHAIN_MAX + 1];
    COR_IL_MAP *map[MMH_CHAIN_MAX + 1]; /* original -> guest k's body, composed */
    ULONG nmap[MMH_CHAIN_MAX + 1];
};

void mmh_bodies_init(mmh_bodies *b)
{
    memset(b, 0, sizeof *b);
    mm_rwlock_init(&b->lock);
}

static size_t slot_of(ModuleID mod, mdMethodDef token, size_t cap)
{
    uint64_t h = ((uint64_t)mod ^ ((uint64_t)token << 32 | token)) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (cap - 1);
}

static size_t probe(const mmh_bodies *b, ModuleID mod, mdMethodDef token)
{
    size_t i = slot_of(mod, token, b->cap);
    while (b->slots[i] && (b->slots[i]->mod != mod || b->slots[i]->token != token))
        i = (i + 1) & (b->cap - 1);
    return i;
}

static mmh_method *lookup(const mmh_bodies *b, ModuleID mod, mdMethodDef token)
{
    return b->cap ? b->slots[probe(b, mod, token)] : NULL;
}

/* The record of (mod, token), created if new; the caller holds the write
 * lock.  NULL: out of memory. */
static mmh_method *record(mmh_bodies *b, ModuleID mod, mdMethodDef token)
{
    mmh_method *m = lookup(b, mod, token);
    if (m)
        return m;
    if ((b->count + 1) * 2 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        mmh_method **slots = calloc(cap, sizeof *slots), **old = b->slots;
        size_t old_cap = b->cap;
        if (!slots)
            return NULL;
        b->slots = slots;
        b->cap = cap;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i])
                b->slots[probe(b, old[i]->mod, old[i]->token)] = old[i];
        free(old);
    }
    m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->mod = mod;
    m->token = token;
    b->slots[probe(b, mod, token)] = m;
    b->count++;
    return m;
}

int mmh_bodies_put(mmh_bodies *b, ModuleID mod, mdMethodDef token, int k, const uint8_t *body, size_t size)
{
    if (k < 0 || k > MMH_CHAIN_MAX)
        return -1;
    mm_rwlock_write(&b->lock);
    mmh_method *m = record(b, mod, token);
    /* The original is kept as first seen. */
    if (m && !(k == 0 && m->body[0])) {
        m->body[k] = body;
        m->size[k] = size;
    }
    mm_rwlock_write_release(&b->lock);
    return m ? 0 : -1;
}

int mmh_bodies_has_original(mmh_bodies *b, ModuleID mod, mdMethodDef token)
{
    mm_rwlock_read(&b->lock);
    mmh_method *m = lookup(b, mod, token);
    int has = m && m->body[0];
    mm_rwlock_read_release(&b->lock);
    return has;
}

int mmh_bodies_get(mmh_bodies *b, ModuleID mod, mdMethodDef token, int k, const uint8_t **body, size_t *size)
{
    int found = -1;
    if (k > MMH_CHAIN_MAX + 1)
        k = MMH_CHAIN_MAX + 1;
    mm_rwlock_read(&b->lock);
    mmh_method *m = lookup(b, mod, token);
    for (int j = k - 1; m && j >= 0; j--)
        if (m->body[j]) {
            *body = m->body[j];
            *size = m->size[j];
            found = 0;
            break;
        }
    mm_rwlock_read_release(&b->lock);
    return found;
}

void mmh_map_compose(const COR_IL_MAP *first, ULONG nfirst, const COR_IL_MAP *second, ULONG nsecond,
                     COR_IL_MAP *out)
{
    for (ULONG i = 0; i < nfirst; i++) {
        ULONG32 mid = first[i].newOffset, to = mid;
        ULONG32 best = 0;
        int have = 0;
        /* The maps are meant sorted, but a guest's may not be: a scan. */
        for (ULONG j = 0; j < nsecond; j++)
            if (second[j].oldOffset <= mid && (!have || second[j].oldOffset >= best)) {
                best = second[j].oldOffset;
                to = second[j].newOffset;
                have = 1;
            }
        out[i].oldOffset = first[i].oldOffset;
        out[i].newOffset = to;
        out[i].fAccurate = first[i].fAccurate && (!have || best == mid);
    }
}

int mmh_bodies_map(mmh_bodies *b, ModuleID mod, mdMethodDef token, int k, const COR_IL_MAP *map, ULONG n,
                   const COR_IL_MAP **out, ULONG *nout)
{
    int result = -1;
    if (k < 1 || k > MMH_CHAIN_MAX)
        return -1;
    mm_rwlock_write(&b->lock);
    mmh_method *m = record(b, mod, token);
    if (m) {
        const COR_IL_MAP *prev = NULL;
        ULONG nprev = 0;
        for (int j = k - 1; j >= 1; j--)
            if (m->map[j]) {
                prev = m->map[j];
                nprev = m->nmap[j];
                break;
            }
        /* No map before: guest k's own map starts at the original IL. */
        ULONG count = prev ? nprev : n;
        COR_IL_MAP *composed = malloc((count ? count : 1) * sizeof *composed);
        if (composed) {
            if (prev)
                mmh_map_compose(prev, nprev, map, n, composed);
            else if (n)
                memcpy(composed, map, n * sizeof *map);
            m->map[k] = composed; /* an earlier map of k's is not freed: it was handed out */
            m->nmap[k] = count;
            *out = composed;
            *nout = count;
            result = 0;
        }
    }
    mm_rwlock_write_release(&b->lock);
    return result;
}
