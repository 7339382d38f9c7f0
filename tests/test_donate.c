/* Donated address space: a window covered end to end (as CoreCLR covers the
 * windows of the images it maps) becomes usable through mm_donate, only
 * inside each module's own window, and comes back free at close. */
#include "methodmalloc.h"
#include "testutil.h"

static char *region;
static const size_t REGION = 64 << 20;

static void test_bad_arguments(void)
{
    CHECK(mm_donate(NULL, 4096) == E_INVALIDARG);
    CHECK(mm_donate(region + 1, 4096) == E_INVALIDARG);
    CHECK(mm_donate(region, 0) == E_INVALIDARG);
    CHECK(mm_donate(region, 100) == E_INVALIDARG);
    CHECK(mm_donate((void *)(UINTPTR_MAX - 4095), 8192) == E_INVALIDARG);
    uint64_t total = 1, used = 1;
    mm_donated(&total, &used);
    CHECK(total == 0 && used == 0);
}

static void test_covered_window(void)
{
    char *give = region + (8 << 20);
    size_t give_size = 8 << 20;
    mm_module *m;
    IMethodMalloc *mal = open_alloc(region, 32 << 20, &m);
    CHECK(mal->lpVtbl->Alloc(mal, 100) == NULL); /* covered: nothing to take yet */

    REQUIRE(mm_donate(give, give_size) == S_OK);
    size_t page = pl_page();
    CHECK(mm_donate(give + page, page) == E_INVALIDARG);              /* overlaps */
    CHECK(mm_donate(give + give_size - page, 2 * page) == E_INVALIDARG); /* overlaps its end */
    size_t got = 0, outside = 0;
    char *first = NULL;
    for (;;) {
        char *p = mal->lpVtbl->Alloc(mal, 1000);
        if (!p)
            break;
        if (!first)
            first = p;
        outside += p < give || p + 1000 > give + give_size || !(p > region && p + 1000 - region <= (32 << 20));
        memset(p, 7, 1000);
        got++;
    }
    CHECKF(got > 7000 && outside == 0, "%zu blocks from 8 MiB donated, %zu outside it", got, outside);
    CHECK(first == give);
    CHECK(strcmp(perms_at(give), "rw-") == 0);
    CHECK(strcmp(perms_at(region), "---") == 0);              /* the rest stays the test's */
    CHECK(strcmp(perms_at(region + (20 << 20)), "---") == 0);
    uint64_t total, used;
    mm_donated(&total, &used);
    CHECK(total == give_size && used > 7000 * 1000 && used <= give_size);
    mm_stats st;
    mm_module_stats(m, &st);
    CHECK(st.blocks == got && st.refused == 2);
    done(m, mal);

    /* Closed: the range has no access and no memory again, and serves the next module. */
    CHECK(pl_range_is((uintptr_t)give, (uintptr_t)give + give_size, "---"));
    CHECK(pl_resident(give, give_size) == 0);
    mm_donated(&total, &used);
    CHECK(total == give_size && used == 0);
    mal = open_alloc(region, 32 << 20, &m);
    char *again = mal->lpVtbl->Alloc(mal, 64);
    CHECK(again == give && again[0] == 0);
    done(m, mal);

    /* A module whose window does not reach the donated range gets nothing from it. */
    mal = open_alloc(region + (40 << 20), 8 << 20, &m);
    CHECK(mal->lpVtbl->Alloc(mal, 64) == NULL);
    done(m, mal);
    /* One whose window ends inside it gets only the part inside the window. */
    mal = open_alloc(region, (8 << 20) + (1 << 20), &m);
    size_t n = 0;
    char *p, *last = NULL;
    while ((p = mal->lpVtbl->Alloc(mal, 4096 - MM_REDZONE))) /* a page each, in the debug mode too */
        last = p, n++;
    CHECKF(n == 256 && last + 4096 == give + (1 << 20), "%zu pages before the window's end", n);
    done(m, mal);
}

struct worker {
    int id;
    size_t blocks;
    int bad;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    /* No CHECK here: the harness's counters are not thread-safe. */
    mm_config c = {32 << 20, 8, 0};
    for (int round = 0; round < 20; round++) {
        mm_module *m;
        IMethodMalloc *mal;
        if (mm_module_open(region, &c, &m) != S_OK || mm_module_allocator(m, &mal) != S_OK) {
            w->bad++;
            continue;
        }
        char *blocks[200];
        for (int i = 0; i < 200; i++) {
            blocks[i] = mal->lpVtbl->Alloc(mal, 500);
            if (!blocks[i]) {
                w->bad++;
                continue;
            }
            memset(blocks[i], w->id, 500);
            w->blocks++;
        }
        for (int i = 0; i < 200; i++)
            if (blocks[i] && (blocks[i][0] != w->id || blocks[i][499] != w->id))
                w->bad++;
        done(m, mal);
    }
    return NULL;
}

/* Modules opening, allocating and closing on several threads share the
 * donated space without overlap. */
static void test_concurrent(void)
{
    enum { N = 4 };
    pl_thread t[N];
    struct worker w[N];
    for (int i = 0; i < N; i++) {
        w[i] = (struct worker){i + 1, 0, 0};
        REQUIRE(pl_thread_create(&t[i], work, &w[i]));
    }
    for (int i = 0; i < N; i++) {
        pl_thread_join(t[i]);
        CHECKF(w[i].bad == 0 && w[i].blocks == 4000, "thread %d: %zu blocks, %d bad", i, w[i].blocks, w[i].bad);
    }
    uint64_t used;
    mm_donated(NULL, &used);
    CHECK(used == 0);
}

int main(void)
{
    /* One reservation: on Windows a commit cannot span two. */
    region = pl_reserve(REGION, true);
    test_bad_arguments();
    test_covered_window();
    test_concurrent();
    return check_done();
}
