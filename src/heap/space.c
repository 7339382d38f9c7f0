/* The address space as the heaps share it (see space.h).
 *
 * The index is a snapshot of the OS's free ranges inside the known stretches
 * of the address space (the windows placed in so far), sorted by address,
 * with a tree of their sizes on top (each node holds the largest size below
 * it), so that "the lowest free range at or after here that holds s bytes"
 * is one walk up and down the tree.  A window is learnt from the OS the
 * first time a chunk is placed in it, and only its part not known yet is
 * read: mappings outside every window are never looked at (on Linux 6.11
 * and later; before that the OS layer has to read its whole list of
 * mappings to reach a window).  The walk skips over runs of small mappings
 * and gaps: it finds every free range of two first chunks' size whole,
 * and what it skips (smaller gaps) is read when the window looks full.
 * Placing a chunk shrinks its range in place; what a chunk leaves on its
 * smaller side, and what heaps give back, goes to a short list of extra
 * free ranges.  The known stretches are read anew
 * only when the OS says a place the index thought free is taken (another
 * library mapped it).
 *
 * The index also keeps the library's own chunks.  What lies in a window and
 * is neither free, nor the library's, nor donated, is foreign: other
 * libraries' mappings and what a walk skipped, the only part of a window
 * that can change without this file knowing.  A window that looks full has
 * its foreign stretches read before a refusal; after that, refusals check
 * them with one system call each (mm_os_all_mapped), as often as their
 * credit allows (less often the more of the window is the library's own),
 * and read only the stretches that changed.
 *
 * One lock guards it all; it is taken inside a module's lock, and takes the
 * donated-space lock inside it. */
#include "space.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "donated.h"
#include "options.h"
#include "os/os.h"

/* Ranges of the address space are the OS layer's: [lo, hi). */
typedef mm_os_range range;

static mm_lock lock = MM_LOCK_INIT;
static _Atomic uint64_t generation = 1;
static uint64_t learns, refreshes, rereads, checks;
/* Changes with every index read from the OS: a reading made without the
 * lock is put in only if the index was not read anew meanwhile. */
static uint64_t epoch;

/* Open bounded windows, sorted by hi. */
static struct mm_window **wins;
static size_t nwins, capwins;

/* The index: free ranges by address, and the size tree over them (leaves
 * from `leaves` on, padding leaves 0). */
static range *gaps;
static size_t ngaps, leaves;
static size_t *maxsz;
/* What the index knows: stretches of the address space, sorted, neither
 * overlapping nor touching.  Only free ranges inside them are indexed. */
static range *known;
static size_t nknown, capknown;

/* The library's chunks in windows (not in donated space), sorted, merged
 * where they touch.  What a shortage of memory keeps out of it only looks
 * foreign: checked for nothing. */
static range *own;
static size_t nown, capown;

/* Free ranges known outside the index, unsorted; bounded: what does not fit
 * is forgotten until the next rebuild. */
#define EXTRA_MAX 1024
static range extra[EXTRA_MAX];
static size_t nextra;

/* How many places the OS may refuse for reasons other than "taken" (a
 * floor such as mmap_min_addr) before a reservation gives up. */
#define REFUSALS_MAX 16
/* How many times one reservation may find the index stale and rebuild it. */
#define ROUNDS_MAX 8

/* Learning a window finds every free range of this size whole, and may
 * skip smaller ones inside runs of small mappings (found when the window
 * looks full): two first chunks, which halves the questions through such a
 * run against one chunk's size (3,750 to 1,900 for 30,000 mappings). */
#define WHOLE (2 * MM_CHUNK_FIRST)

/* What a refusal of a full window adds to its credit, in system calls: a
 * window whose foreign stretches take one or two calls to check is checked
 * on every refusal, one that takes more once per cost / CREDIT refusals.
 * A mapping inside a stretch counts half a call (msync walks them in the
 * kernel). */
#define CREDIT 2

/* A window mostly of the library's own chunks, with a small foreign part
 * (its module's image, which a real module's window always holds), is
 * checked only once per 1 + own / foreign bytes refusals, up to this many: such
 * a module refuses at a small multiple of its average Alloc, and what is
 * unmapped there is found within that many refusals.  A window mostly
 * foreign (covered by another library's reservation) is checked on every
 * refusal. */
#define SPREAD_MAX 4096

static uintptr_t min_u(uintptr_t a, uintptr_t b)
{
    return a < b ? a : b;
}

static uintptr_t max_u(uintptr_t a, uintptr_t b)
{
    return a > b ? a : b;
}

/* ---- the index ---- */

static void tree_set(size_t i)
{
    size_t k = leaves + i;
    maxsz[k] = gaps[i].hi - gaps[i].lo;
    for (k /= 2; k; k /= 2)
        maxsz[k] = max_u(maxsz[2 * k], maxsz[2 * k + 1]);
}

/* The lowest index >= from whose range holds s bytes; ngaps if none. */
static size_t tree_first(size_t from, size_t s)
{
    if (from >= ngaps)
        return ngaps;
    size_t k = leaves + from;
    if (maxsz[k] < s) {
        /* Up until a right sibling holds s, then down its leftmost such leaf. */
        for (;;) {
            if (k == 1)
                return ngaps;
            if (!(k & 1) && maxsz[k + 1] >= s) {
                k++;
                break;
            }
            k /= 2;
        }
        while (k < leaves)
            k = maxsz[2 * k] >= s ? 2 * k : 2 * k + 1;
    }
    return k - leaves < ngaps ? k - leaves : ngaps;
}

/* The first of v[0, n) (sorted, disjoint) that ends above x; n if none. */
static size_t ending_above(const range *v, size_t n, uintptr_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].hi > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* The first index whose range ends above x. */
static size_t first_ending_above(uintptr_t x)
{
    return ending_above(gaps, ngaps, x);
}

struct builder {
    range *v;
    size_t n, cap;
    int oom;
};

static int collect(void *ctx, uintptr_t lo, uintptr_t hi)
{
    struct builder *b = ctx;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        range *v = realloc(b->v, cap * sizeof *v);
        if (!v) {
            b->oom = 1;
            return 1;
        }
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = (range){lo, hi};
    return 0;
}

/* Adds the free ranges of the n stretches v to b, from the OS; those of at
 * least `whole` bytes whole (0: all).  0 or MM_OS_ENOMEM. */
static int walk(struct builder *b, const range *v, size_t n, size_t whole, size_t *asked)
{
    return mm_os_free_ranges_in(v, n, whole, collect, b, asked) != 0 || b->oom ? MM_OS_ENOMEM : 0;
}

/* The first known stretch that ends above x. */
static size_t first_known_above(uintptr_t x)
{
    return ending_above(known, nknown, x);
}

static int is_known(uintptr_t lo, uintptr_t hi)
{
    size_t i = first_known_above(lo);
    return i < nknown && known[i].lo <= lo && hi <= known[i].hi;
}

/* [lo, hi) joins the ranges of v it meets or touches; v has room for one
 * more. */
static void join(range *v, size_t *n, uintptr_t lo, uintptr_t hi)
{
    size_t i = ending_above(v, *n, lo ? lo - 1 : 0), j = i;
    uintptr_t nlo = lo, nhi = hi;
    for (; j < *n && v[j].lo <= hi; j++) {
        nlo = min_u(nlo, v[j].lo);
        nhi = max_u(nhi, v[j].hi);
    }
    if (j == i) {
        memmove(&v[i + 1], &v[i], (*n - i) * sizeof *v);
        (*n)++;
    } else {
        memmove(&v[i + 1], &v[j], (*n - j) * sizeof *v);
        *n -= j - i - 1;
    }
    v[i] = (range){nlo, nhi};
}

static int by_start(const void *a, const void *b)
{
    const range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Makes v[0, n), sorted and disjoint, the index; ranges that touch (the
 * same free range met from two known stretches) become one.  Takes v, even
 * when it fails for memory (then the index is as it was). */
static int install(range *v, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && v[k - 1].hi >= v[i].lo)
            v[k - 1].hi = max_u(v[k - 1].hi, v[i].hi);
        else
            v[k++] = v[i];
    }
    size_t l = 1;
    while (l < k)
        l *= 2;
    size_t *tree = calloc(2 * l, sizeof *tree);
    if (!tree) {
        free(v);
        return MM_OS_ENOMEM;
    }
    free(gaps);
    free(maxsz);
    gaps = v;
    ngaps = k;
    leaves = l;
    maxsz = tree;
    for (size_t i = 0; i < ngaps; i++)
        maxsz[leaves + i] = gaps[i].hi - gaps[i].lo;
    for (size_t j = leaves - 1; j; j--)
        maxsz[j] = max_u(maxsz[2 * j], maxsz[2 * j + 1]);
    epoch++;
    atomic_fetch_add_explicit(&generation, 1, memory_order_relaxed);
    return 0;
}

/* Reads the known stretches anew from the OS.  The caller holds the lock. */
static int refresh(void)
{
    struct builder b = {0};
    if (walk(&b, known, nknown, WHOLE, NULL) != 0) {
        free(b.v);
        return MM_OS_ENOMEM;
    }
    int r = install(b.v, b.n);
    if (r == 0) {
        nextra = 0;
        refreshes++;
    }
    return r;
}

/* Learns the part of [lo, hi) the index does not know yet from the OS: only
 * that part is read, so what lies outside every window costs nothing.  The
 * caller holds the lock. */
static int learn(uintptr_t lo, uintptr_t hi)
{
    if (nknown == capknown) {
        size_t cap = capknown ? capknown * 2 : 16;
        range *v = realloc(known, cap * sizeof *v);
        if (!v)
            return MM_OS_ENOMEM;
        known = v;
        capknown = cap;
    }
    struct builder b = {0}, parts = {0};
    uintptr_t at = lo;
    for (size_t i = first_known_above(lo); at < hi; i++) {
        uintptr_t stop = i < nknown && known[i].lo < hi ? known[i].lo : hi;
        if (at < stop && collect(&parts, at, stop) != 0)
            break;
        if (i >= nknown || known[i].lo >= hi)
            break;
        at = known[i].hi;
    }
    if (parts.oom || walk(&b, parts.v, parts.n, WHOLE, NULL) != 0) {
        free(parts.v);
        free(b.v);
        return MM_OS_ENOMEM;
    }
    free(parts.v);
    for (size_t i = 0; i < ngaps; i++)
        if (collect(&b, gaps[i].lo, gaps[i].hi) != 0) {
            free(b.v);
            return MM_OS_ENOMEM;
        }
    if (b.n > 1)
        qsort(b.v, b.n, sizeof *b.v, by_start);
    int r = install(b.v, b.n);
    if (r != 0)
        return r;
    learns++;
    join(known, &nknown, lo, hi);
    return 0;
}

/* ---- the library's own chunks ---- */

static int own_grow(void)
{
    size_t cap = capown ? capown * 2 : 64;
    range *v = realloc(own, cap * sizeof *v);
    if (!v)
        return 0;
    own = v;
    capown = cap;
    return 1;
}

static void own_add(uintptr_t lo, uintptr_t hi)
{
    if (nown < capown || own_grow())
        join(own, &nown, lo, hi);
}

/* [lo, hi) is no longer the library's.  A range split in two needs a slot;
 * without one, its smaller side is dropped (it then looks foreign). */
static void own_remove(uintptr_t lo, uintptr_t hi)
{
    size_t i = ending_above(own, nown, lo);
    while (i < nown && own[i].lo < hi) {
        range r = own[i];
        if (r.lo < lo && hi < r.hi) {
            if (nown == capown && !own_grow()) {
                own[i] = lo - r.lo >= r.hi - hi ? (range){r.lo, lo} : (range){hi, r.hi};
                return;
            }
            memmove(&own[i + 2], &own[i + 1], (nown - i - 1) * sizeof *own);
            own[i] = (range){r.lo, lo};
            own[i + 1] = (range){hi, r.hi};
            nown++;
            return;
        }
        if (r.lo < lo) {
            own[i++].hi = lo;
        } else if (hi < r.hi) {
            own[i].lo = hi;
            return;
        } else {
            memmove(&own[i], &own[i + 1], (nown - i - 1) * sizeof *own);
            nown--;
        }
    }
}

static void extra_add(uintptr_t lo, uintptr_t hi)
{
    if (lo < hi && nextra < EXTRA_MAX)
        extra[nextra++] = (range){lo, hi};
}

/* [x, x + s) was just reserved inside index range i: the larger side stays
 * in the index, the smaller one goes to the extra list. */
static void carve_index(size_t i, uintptr_t x, size_t s)
{
    range *g = &gaps[i];
    uintptr_t end = x + s;
    if (x - g->lo >= g->hi - end) {
        extra_add(end, g->hi);
        g->hi = x;
    } else {
        extra_add(g->lo, x);
        g->lo = end;
    }
    tree_set(i);
}

static void carve_extra(size_t i, uintptr_t x, size_t s)
{
    range r = extra[i];
    extra[i] = extra[--nextra];
    extra_add(r.lo, x);
    extra_add(x + s, r.hi);
}

/* Whatever the index or the extra list thinks free in [x, x + s) is not:
 * after a reservation there by some other way than the index found it. */
static void forget(uintptr_t x, size_t s)
{
    size_t i = first_ending_above(x);
    if (i < ngaps && gaps[i].lo < x + s) {
        if (gaps[i].lo <= x && x + s <= gaps[i].hi)
            carve_index(i, x, s);
        else {
            /* Partly: shrink to the part outside, whichever side is larger. */
            uintptr_t below = gaps[i].lo < x ? x - gaps[i].lo : 0;
            uintptr_t above = gaps[i].hi > x + s ? gaps[i].hi - (x + s) : 0;
            if (below >= above)
                gaps[i].hi = gaps[i].lo + below;
            else
                gaps[i].lo = gaps[i].hi - above;
            tree_set(i);
        }
    }
    for (size_t j = 0; j < nextra;) {
        range r = extra[j];
        if (r.lo < x + s && x < r.hi) {
            extra[j] = extra[--nextra];
            extra_add(r.lo, min_u(r.hi, x));
            extra_add(max_u(r.lo, x + s), r.hi);
            continue;
        }
        j++;
    }
}

/* Something of ours, [lo, hi), is free again: joined by the extra ranges it
 * touches, then back into the index when it touches an indexed neighbour
 * (both, when it fills the space between two: the upper one is left empty
 * in its place), else to the extra list. */
static void note_free(uintptr_t lo, uintptr_t hi)
{
    for (size_t j = 0; j < nextra;) {
        if (extra[j].hi == lo || extra[j].lo == hi) {
            lo = min_u(lo, extra[j].lo);
            hi = max_u(hi, extra[j].hi);
            extra[j] = extra[--nextra];
            j = 0; /* grown: it may touch one already passed */
        } else
            j++;
    }
    size_t i = first_ending_above(lo ? lo - 1 : 0);
    int below = i < ngaps && gaps[i].hi == lo;
    size_t up = below ? i + 1 : i;
    int above = up < ngaps && gaps[up].lo == hi;
    if (below && above) {
        gaps[i].hi = gaps[up].hi;
        gaps[up].lo = gaps[up].hi;
        tree_set(i);
        tree_set(up);
    } else if (below) {
        gaps[i].hi = hi;
        tree_set(i);
    } else if (above) {
        gaps[up].lo = lo;
        tree_set(up);
    } else
        extra_add(lo, hi);
}

/* ---- windows ---- */

int mm_space_open(struct mm_window *w)
{
    if (!w->bounded)
        return 0;
    mm_lock_acquire(&lock);
    if (nwins == capwins) {
        size_t cap = capwins ? capwins * 2 : 64;
        struct mm_window **v = realloc(wins, cap * sizeof *v);
        if (!v) {
            mm_lock_release(&lock);
            return MM_OS_ENOMEM;
        }
        wins = v;
        capwins = cap;
    }
    size_t i = nwins;
    while (i > 0 && wins[i - 1]->hi > w->hi) {
        wins[i] = wins[i - 1];
        i--;
    }
    wins[i] = w;
    nwins++;
    w->registered = 1;
    mm_lock_release(&lock);
    return 0;
}

void mm_space_close(struct mm_window *w)
{
    if (!w->registered)
        return;
    mm_lock_acquire(&lock);
    for (size_t i = 0; i < nwins; i++) {
        if (wins[i] == w) {
            memmove(&wins[i], &wins[i + 1], (nwins - i - 1) * sizeof *wins);
            nwins--;
            break;
        }
    }
    w->registered = 0;
    mm_lock_release(&lock);
}

/* A stretch of a window and how many other open windows that end lower
 * (and so have less room above) also cover it. */
struct seg {
    uintptr_t lo, hi;
    size_t count;
};

struct event {
    uintptr_t at;
    int delta;
};

static int by_address(const void *a, const void *b)
{
    const struct event *x = a, *y = b;
    return x->at < y->at ? -1 : x->at > y->at;
}

static int by_contest(const void *a, const void *b)
{
    const struct seg *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? -1 : 1;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Splits w into stretches by contest, least contested first, then lowest.
 * A window w2 contests w where it covers it if it ends lower (the part of
 * w above w2's end is room w2 can never use, so w takes that first), or ends
 * at the same place and starts higher (it lies inside w).  The whole window
 * comes last, as the most contested stretch.  On a memory shortage the whole
 * window is one stretch.  The caller holds the lock and
 * frees *out unless it is `one`. */
static size_t stretches(const struct mm_window *w, struct seg *one, struct seg **out)
{
    *one = (struct seg){w->lo, w->hi, 0};
    *out = one;
    size_t first = 0, lo = 0, hi = nwins;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (wins[mid]->hi > w->lo)
            hi = mid;
        else
            lo = mid + 1;
    }
    first = lo;
    size_t k = 0;
    for (size_t i = first; i < nwins && wins[i]->hi <= w->hi; i++)
        k++;
    if (k == 0)
        return 1;
    struct event *ev = malloc(2 * k * sizeof *ev);
    struct seg *segs = malloc((2 * k + 2) * sizeof *segs);
    if (!ev || !segs) {
        free(ev);
        free(segs);
        return 1;
    }
    size_t n = 0;
    for (size_t i = first; i < nwins && wins[i]->hi <= w->hi; i++) {
        const struct mm_window *u = wins[i];
        if (u == w || (u->hi == w->hi && u->lo <= w->lo))
            continue;
        ev[n++] = (struct event){max_u(u->lo, w->lo), +1};
        ev[n++] = (struct event){u->hi, -1};
    }
    qsort(ev, n, sizeof *ev, by_address);
    size_t ns = 0, count = 0;
    uintptr_t at = w->lo;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].at > at) {
            segs[ns++] = (struct seg){at, ev[i].at, count};
            at = ev[i].at;
        }
        count += (size_t)ev[i].delta;
    }
    if (at < w->hi)
        segs[ns++] = (struct seg){at, w->hi, count};
    free(ev);
    if (ns == 0) {
        free(segs);
        return 1;
    }
    /* Last, the whole window: a free range across the stretches' borders
     * may hold what no stretch alone does. */
    if (ns > 1)
        segs[ns++] = (struct seg){w->lo, w->hi, SIZE_MAX};
    qsort(segs, ns, sizeof *segs, by_contest);
    *out = segs;
    return ns;
}

/* ---- placing ---- */

#define STALE (-1)
/* Only contested room is left by the index: worth asking the OS once
 * whether room nobody else needs was freed meanwhile. */
#define CONTESTED (-2)

/* Tries [x, x + s) found free in the index (idx >= 0) or the extra list
 * (idx < 0, entry -idx - 1).  Returns 0, STALE when it turned out taken, or
 * the OS's other error (the place is then forgotten). */
static int take_at(uintptr_t x, size_t s, long idx, void **p)
{
    int r = mm_os_reserve_at(x, s, MM_OS_READWRITE, p);
    if (r == 0) {
        if (idx >= 0)
            carve_index((size_t)idx, x, s);
        else
            carve_extra((size_t)(-idx - 1), x, s);
        return 0;
    }
    if (r == MM_OS_ETAKEN)
        return STALE;
    /* The OS will not map there (below mmap_min_addr, or out of memory):
     * forget the place so the search moves on. */
    forget(x, s);
    return r;
}

/* The lowest free place in [a, b) for s bytes aligned to al: from the index
 * (*idx its range) or the extra list (*idx = -entry - 1). */
static int find(uintptr_t a, uintptr_t b, size_t s, size_t al, uintptr_t *at, long *idx)
{
    int found = 0;
    for (size_t i = first_ending_above(a); i < ngaps && gaps[i].lo < b; i = tree_first(i + 1, s)) {
        uintptr_t lo = max_u(gaps[i].lo, a), hi = min_u(gaps[i].hi, b), x = mm_align_up(lo, al);
        if (x >= lo && x < hi && hi - x >= s) {
            *at = x;
            *idx = (long)i;
            found = 1;
            break;
        }
    }
    for (size_t j = 0; j < nextra; j++) {
        uintptr_t lo = max_u(extra[j].lo, a), hi = min_u(extra[j].hi, b), x = mm_align_up(lo, al);
        if (x >= lo && x < hi && hi - x >= s && (!found || x < *at)) {
            *at = x;
            *idx = -(long)j - 1;
            found = 1;
        }
    }
    return found;
}

static size_t smaller(size_t size, size_t least)
{
    size_t half = mm_align_up(size / 2, mm_os_page_size());
    return half > least ? half : least;
}

/* take_found's answer when the place was refused and the search goes on. */
#define TRY_ON (-3)

/* Takes a place find() gave: 0 with *out filled, STALE, the OS's error
 * once REFUSALS_MAX places were refused, else TRY_ON (counted in *refused,
 * the error kept in *last_error). */
static int take_found(uintptr_t x, size_t size, long idx, int huge, struct mm_place *out, int *refused,
                      int *last_error)
{
    void *p = NULL;
    int r = take_at(x, size, idx, &p);
    if (r == 0) {
        if (huge)
            mm_os_advise_huge(p, size);
        *out = (struct mm_place){p, size, 0, huge};
        return 0;
    }
    if (r == STALE)
        return STALE;
    *last_error = r;
    return ++*refused >= REFUSALS_MAX ? r : TRY_ON;
}

/* One pass over the stretches, least contested first.  Returns 0, STALE,
 * MM_OS_ENOROOM or MM_OS_ENOMEM. */
static int place(const struct mm_window *w, const struct seg *segs, size_t nsegs, size_t least, size_t want,
                 uintptr_t hint, struct mm_place *out)
{
    size_t gran = mm_os_granularity();
    int refused = 0, last_error = MM_OS_ENOROOM;
    for (size_t k = 0; k < nsegs; k++) {
        const struct seg *sg = &segs[k];
        if (sg->hi - sg->lo < least)
            continue;
        if (sg->count && !w->contest_checked)
            return CONTESTED;
        /* Contested room is some other window's too: take a small chunk. */
        size_t cap = want;
        if (sg->count && cap > MM_CHUNK_FIRST)
            cap = least > MM_CHUNK_FIRST ? least : MM_CHUNK_FIRST;
        for (size_t size = cap;; size = smaller(size, least)) {
            void *p = NULL;
            uintptr_t x;
            long idx;
            if (size > sg->hi - sg->lo)
                goto next_size;
            /* Huge-page boundaries only where the room is nobody else's and
             * the system has huge pages; a huge chunk follows the last one
             * only on such a boundary, or it would get no huge page at all. */
            int huge = !sg->count && size >= MM_HUGE_PAGE && size % MM_HUGE_PAGE == 0 && mm_os_huge_pages();
            if (hint && hint % (huge ? MM_HUGE_PAGE : gran) == 0 && hint >= sg->lo && hint < sg->hi
                && sg->hi - hint >= size && mm_os_reserve_at(hint, size, MM_OS_READWRITE, &p) == 0) {
                forget(hint, size);
                if (huge)
                    mm_os_advise_huge(p, size);
                *out = (struct mm_place){p, size, 0, huge};
                return 0;
            }
            if (huge && find(sg->lo, sg->hi, size, MM_HUGE_PAGE, &x, &idx)) {
                int r = take_found(x, size, idx, 1, out, &refused, &last_error);
                if (r != TRY_ON)
                    return r;
            }
            while (find(sg->lo, sg->hi, size, gran, &x, &idx)) {
                int r = take_found(x, size, idx, 0, out, &refused, &last_error);
                if (r != TRY_ON)
                    return r;
            }
            if ((p = mm_donated_take(sg->lo, sg->hi, size, mm_os_page_size()))) {
                *out = (struct mm_place){p, size, 1, 0};
                return 0;
            }
        next_size:
            if (size == least)
                break;
        }
    }
    return refused ? last_error : MM_OS_ENOROOM;
}

/* ---- foreign stretches ---- */

/* What mm_space_rebuild does for a window, besides learning it. */
enum { REFRESH, READ, CHECK };

static void collect_donation(void *ctx, uintptr_t lo, uintptr_t hi)
{
    (void)collect(ctx, lo, hi);
}

/* w's foreign stretches, lowest first, into out: what in w is neither free
 * in the index or the extra list, nor the library's, nor donated.  0 or
 * MM_OS_ENOMEM.  The caller holds the lock. */
static int foreign_of(const struct mm_window *w, struct builder *out)
{
    struct builder more = {0}; /* extra ranges and donations in w, sorted */
    for (size_t j = 0; j < nextra; j++)
        if (extra[j].lo < w->hi && w->lo < extra[j].hi)
            (void)collect(&more, extra[j].lo, extra[j].hi);
    mm_donated_each(w->lo, w->hi, collect_donation, &more);
    if (more.n > 1)
        qsort(more.v, more.n, sizeof *more.v, by_start);
    size_t g = first_ending_above(w->lo), o = ending_above(own, nown, w->lo), m = 0;
    uintptr_t at = w->lo;
    while (at < w->hi) {
        /* The next range accounted for, lowest start of the three lists. */
        const range *next = NULL;
        int from = 0;
        if (g < ngaps && gaps[g].lo == gaps[g].hi) {
            g++;
            continue;
        }
        if (g < ngaps && gaps[g].lo < w->hi)
            next = &gaps[g], from = 1;
        if (o < nown && own[o].lo < w->hi && (!next || own[o].lo < next->lo))
            next = &own[o], from = 2;
        if (m < more.n && more.v[m].lo < w->hi && (!next || more.v[m].lo < next->lo))
            next = &more.v[m], from = 3;
        if (!next)
            break;
        g += from == 1;
        o += from == 2;
        m += from == 3;
        if (next->lo > at)
            (void)collect(out, at, next->lo);
        at = max_u(at, next->hi);
    }
    if (at < w->hi)
        (void)collect(out, at, w->hi);
    int oom = more.oom || out->oom;
    free(more.v);
    return oom ? MM_OS_ENOMEM : 0;
}

static uintptr_t bytes_of(const range *v, size_t n)
{
    uintptr_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i].hi - v[i].lo;
    return sum;
}

/* How many refusals of w one check of its foreign stretches (`foreign`
 * bytes) is spread over: 1 + w's own bytes per foreign byte, up to
 * SPREAD_MAX.  The caller holds the lock. */
static uint64_t spread(const struct mm_window *w, uintptr_t foreign)
{
    uintptr_t mine = 0;
    for (size_t o = ending_above(own, nown, w->lo); o < nown && own[o].lo < w->hi; o++)
        mine += min_u(own[o].hi, w->hi) - max_u(own[o].lo, w->lo);
    uintptr_t k = 1 + (foreign ? mine / foreign : SPREAD_MAX);
    return k > SPREAD_MAX ? SPREAD_MAX : k;
}

/* Puts free ranges read without the lock (b, sorted) into the index, less
 * what became the library's meanwhile.  Takes b.  The caller holds the
 * lock, and the index was not read anew since the reading. */
static int add_found(struct builder *b)
{
    struct builder f = {0};
    for (size_t i = 0; i < b->n; i++) {
        uintptr_t at = b->v[i].lo;
        for (size_t o = ending_above(own, nown, at); o < nown && own[o].lo < b->v[i].hi; o++) {
            if (own[o].lo > at)
                (void)collect(&f, at, own[o].lo);
            at = max_u(at, own[o].hi);
        }
        if (at < b->v[i].hi)
            (void)collect(&f, at, b->v[i].hi);
    }
    free(b->v);
    range *v = f.oom ? NULL : malloc((ngaps + f.n + 1) * sizeof *v);
    if (!v) {
        free(f.v);
        return MM_OS_ENOMEM;
    }
    size_t n = 0, i = 0, j = 0;
    while (i < ngaps || j < f.n)
        v[n++] = j == f.n || (i < ngaps && gaps[i].lo <= f.v[j].lo) ? gaps[i++] : f.v[j++];
    free(f.v);
    return install(v, n);
}

/* Reads w's foreign stretches from the OS, or with `check`, checks each
 * (one system call) and reads only those no longer wholly mapped; puts the
 * free ranges found into the index, and sets what the next check costs.
 * The caller holds the lock; the system calls are made without it unless
 * `hold`, and what they found is then put in only if the index was not read
 * anew meanwhile (else the window is left to be read again). */
static int reread(struct mm_window *w, int check, int hold)
{
    struct builder f = {0}, b = {0};
    if (foreign_of(w, &f) != 0) {
        free(f.v);
        return MM_OS_ENOMEM;
    }
    size_t nforeign = f.n, asked = 0;
    uintptr_t foreign = bytes_of(f.v, f.n);
    uint64_t seen = epoch;
    if (!hold)
        mm_lock_release(&lock);
    if (check) {
        size_t k = 0;
        for (size_t i = 0; i < f.n; i++)
            if (!mm_os_all_mapped(f.v[i].lo, f.v[i].hi))
                f.v[k++] = f.v[i];
        f.n = k;
    }
    int r = f.n ? walk(&b, f.v, f.n, 0, &asked) : 0;
    free(f.v);
    if (!hold)
        mm_lock_acquire(&lock);
    checks += check ? nforeign : 0;
    rereads += f.n != 0;
    if (r != 0)
        free(b.v);
    else if (b.n && epoch != seen) {
        free(b.v);
        w->full = 0;
    } else if (b.n)
        r = add_found(&b);
    else
        free(b.v);
    if (!check) {
        w->mappings = asked;
        w->refreshed = refreshes;
    }
    if (b.n && r == 0) {
        /* Found room: the stretches are fewer, or others. */
        struct builder now = {0};
        if (foreign_of(w, &now) == 0) {
            nforeign = now.n;
            foreign = bytes_of(now.v, now.n);
        }
        free(now.v);
    }
    /* What the check costs in system calls, or, where more, the credit of
     * spread(w) refusals. */
    uint64_t cost = nforeign + w->mappings / 2, least = CREDIT * spread(w, foreign);
    atomic_store_explicit(&w->cost, nforeign ? (cost > least ? cost : least) : MM_SPACE_NEVER, memory_order_relaxed);
    atomic_store_explicit(&w->credit, 0, memory_order_relaxed);
    return r;
}

/* Nothing in w but free room and the library's: nothing to read. */
static int nothing_foreign(const struct mm_window *w)
{
    struct builder f = {0};
    int none = foreign_of(w, &f) == 0 && f.n == 0;
    free(f.v);
    return none;
}

int mm_space_refusal_due(struct mm_window *w)
{
    uint64_t cost = atomic_load_explicit(&w->cost, memory_order_relaxed);
    return cost != MM_SPACE_NEVER
           && atomic_fetch_add_explicit(&w->credit, CREDIT, memory_order_relaxed) + CREDIT >= cost;
}

int mm_space_reserve(struct mm_window *w, size_t least, size_t want, uintptr_t hint, int may_rebuild,
                     struct mm_place *out)
{
    if (!w->bounded || least == 0 || least > want || w->hi <= w->lo || w->hi - w->lo < least)
        return MM_OS_ENOROOM;
    mm_lock_acquire(&lock);
    int r = is_known(w->lo, w->hi) ? 0 : may_rebuild ? learn(w->lo, w->hi) : MM_SPACE_REBUILD;
    struct seg one, *segs = &one;
    size_t nsegs = r ? 0 : stretches(w, &one, &segs);
    for (int round = 1; r == 0; round++) {
        r = place(w, segs, nsegs, least, want, hint, out);
        if (r == 0) {
            if (!out->donated)
                own_add((uintptr_t)out->p, (uintptr_t)out->p + out->size);
            w->full = 0;
            break;
        }
        if (round == ROUNDS_MAX)
            break;
        int pending = REFRESH;
        if (r == STALE) {
            /* another mapper took a place the index had */
        } else if (r == CONTESTED)
            w->contest_checked = 1;
        else if (r == MM_OS_ENOROOM && (!w->full || w->refreshed != refreshes)) {
            /* Full by the index: read what in it is not ours before saying
             * so (again after the index was read anew: it may have dropped
             * the window's small gaps). */
            w->full = 1;
            w->refreshed = refreshes;
            if (nothing_foreign(w)) {
                atomic_store_explicit(&w->cost, MM_SPACE_NEVER, memory_order_relaxed);
                break;
            }
            pending = READ;
        } else if (r == MM_OS_ENOROOM
                   && atomic_load_explicit(&w->credit, memory_order_relaxed)
                          >= atomic_load_explicit(&w->cost, memory_order_relaxed))
            pending = CHECK; /* refused often enough to look again */
        else
            break;
        /* The caller reads outside its own lock and asks again. */
        if (may_rebuild)
            r = pending == REFRESH ? refresh() : reread(w, pending == CHECK, 1);
        else {
            w->pending = pending;
            r = MM_SPACE_REBUILD;
        }
    }
    if (r == STALE || r == CONTESTED)
        r = MM_OS_ENOROOM;
    if (r == MM_OS_ENOROOM && w->full)
        atomic_fetch_add_explicit(&w->credit, CREDIT, memory_order_relaxed);
    if (segs != &one)
        free(segs);
    mm_lock_release(&lock);
    return r;
}

int mm_space_rebuild(struct mm_window *w)
{
    mm_lock_acquire(&lock);
    int pending = w->pending;
    w->pending = REFRESH;
    int r = !is_known(w->lo, w->hi) ? learn(w->lo, w->hi)
            : pending != REFRESH    ? reread(w, pending == CHECK, 0)
                                    : refresh();
    mm_lock_release(&lock);
    return r;
}

int mm_space_release(const struct mm_place *pl)
{
    if (pl->donated) {
        int e = mm_donated_give_back(pl->p, pl->size);
        mm_space_note_room();
        return e;
    }
    /* A range the OS could not unmap is still taken: not room. */
    int e = mm_os_release(pl->p, pl->size);
    if (e != 0)
        return e;
    mm_lock_acquire(&lock);
    own_remove((uintptr_t)pl->p, (uintptr_t)pl->p + pl->size);
    note_free((uintptr_t)pl->p, (uintptr_t)pl->p + pl->size);
    mm_lock_release(&lock);
    mm_space_note_room();
    return 0;
}

void mm_space_lock(void)
{
    mm_lock_acquire(&lock);
}

void mm_space_unlock(void)
{
    mm_lock_release(&lock);
}

uint64_t mm_space_generation(void)
{
    return atomic_load_explicit(&generation, memory_order_acquire);
}

void mm_space_note_room(void)
{
    atomic_fetch_add_explicit(&generation, 1, memory_order_release);
}

void mm_space_counters_get(mm_space_counters *out)
{
    mm_lock_acquire(&lock);
    out->learns = learns;
    out->refreshes = refreshes;
    out->rereads = rereads;
    out->checks = checks;
    out->open_windows = nwins;
    out->free_ranges = ngaps + nextra;
    out->known_bytes = 0;
    for (size_t i = 0; i < nknown; i++)
        out->known_bytes += known[i].hi - known[i].lo;
    mm_lock_release(&lock);
}
