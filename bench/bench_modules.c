/* The profiler's module table under JIT events (issue 8): 500 modules, 8
 * threads, each event a claim of a random method of a random module, as
 * JITCompilationStarted makes it.  The table (profiler/modules.c: a hash
 * table under a reader-writer lock, lock-free bitmaps) next to what it
 * replaced (a linked list walked under one mutex, reproduced here), in the
 * same run; nanoseconds per event, medians of 5. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../profiler/profiler.h"

enum { MODULES = 500, THREADS = 8, EVENTS = 200000, METHODS = 20000, RUNS = 5 };

/* ---- the old table: a list under one mutex ---- */
struct old_module {
    ModuleID id;
    uint8_t *seen;
    size_t seen_bytes;
    struct old_module *next;
};
static struct old_module *old_head;
static pthread_mutex_t old_lock = PTHREAD_MUTEX_INITIALIZER;

static int old_claim(ModuleID id, uint32_t rid)
{
    int result = -1;
    pthread_mutex_lock(&old_lock);
    for (struct old_module *m = old_head; m; m = m->next) {
        if (m->id != id)
            continue;
        size_t byte = rid / 8;
        if (byte >= m->seen_bytes) {
            size_t n = m->seen_bytes ? m->seen_bytes : 1024;
            while (n <= byte)
                n *= 2;
            m->seen = realloc(m->seen, n);
            memset(m->seen + m->seen_bytes, 0, n - m->seen_bytes);
            m->seen_bytes = n;
        }
        result = (m->seen[byte] >> (rid % 8)) & 1;
        m->seen[byte] |= (uint8_t)(1u << (rid % 8));
        break;
    }
    pthread_mutex_unlock(&old_lock);
    return result;
}

static mmp_modules table;
static ModuleID ids[MODULES];

struct worker {
    int old;
    unsigned seed;
    long misses;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    unsigned x = w->seed;
    for (int i = 0; i < EVENTS; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        ModuleID id = ids[x % MODULES];
        uint32_t rid = 1 + (x >> 9) % METHODS;
        if (w->old)
            w->misses += old_claim(id, rid) < 0;
        else {
            mmp_target t;
            w->misses += mmp_modules_claim(&table, id, 0x06000000u | rid, &t) == MMP_CLAIM_NO_MODULE;
        }
    }
    return NULL;
}

static double run(int old)
{
    pthread_t t[THREADS];
    struct worker w[THREADS];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){old, 2654435761u * (unsigned)(i + 1), 0};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        if (w[i].misses) {
            fprintf(stderr, "bench_modules: %ld lookups missed\n", w[i].misses);
            exit(1);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
    return ns / ((double)EVENTS * THREADS);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(void)
{
    mmp_modules_init(&table);
    for (int i = 0; i < MODULES; i++) {
        ids[i] = (ModuleID)(0x7f0000000000ull + (uint64_t)i * 0x1e40);
        if (mmp_modules_add(&table, ids[i], NULL, NULL, NULL, NULL, NULL) != 0)
            return 1;
        struct old_module *m = calloc(1, sizeof *m);
        m->id = ids[i];
        m->next = old_head;
        old_head = m;
    }
    double fresh[RUNS], old[RUNS];
    for (int r = 0; r < RUNS; r++) {
        fresh[r] = run(0);
        old[r] = run(1);
    }
    qsort(fresh, RUNS, sizeof(double), cmp);
    qsort(old, RUNS, sizeof(double), cmp);
    printf("\nprofiler module table: %d modules, %d threads, %d JIT events each (ns per event, median of %d)\n",
           MODULES, THREADS, EVENTS, RUNS);
    printf("  hash table, rwlock, atomic bitmaps   %8.1f\n", fresh[RUNS / 2]);
    printf("  list under one mutex (before)        %8.1f\n", old[RUNS / 2]);
    printf("  before / now                         %8.1f\n", old[RUNS / 2] / fresh[RUNS / 2]);
    return 0;
}
