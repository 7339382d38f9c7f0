/* fork() while other threads are inside the library: a child that then
 * allocates must not hang on a lock a thread that no longer exists held at
 * the fork.  The library's calls are wrapped as in tests/fault.h; the hook
 * there pauses a parent thread inside an OS-layer call that the library
 * makes under a lock (reserving a chunk under the module's lock, committing
 * donated space under the donated-space lock) while the main thread forks.
 * Then many forks at random moments while two threads open, allocate from
 * and close modules.  Every child has a deadline: a hang is a failure
 * (SIGALRM), not a stuck test. */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "fault.h"
#include "heap/options.h"
#include "methodmalloc.h"
#include "testutil.h"

enum { DEADLINE = 10, RANDOM_FORKS = 60 }; /* seconds: generous, a loaded machine must not look like a hang */

static pid_t parent;
static _Atomic int hold_point = -1; /* the primitive to pause in, or -1 */
static _Atomic int holding;         /* a thread is paused there */
static _Atomic int let_go;

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Pauses the first thread to reach hold_point, at most 300 ms: if the
 * library's fork handlers wait for the lock this thread holds, fork()
 * returns once the pause ends. */
static void hook(enum fault_point point)
{
    int expected = (int)point;
    if (getpid() != parent || !atomic_compare_exchange_strong(&hold_point, &expected, -1))
        return;
    atomic_store(&holding, 1);
    for (int i = 0; i < 30 && !atomic_load(&let_go); i++)
        sleep_ms(10);
    atomic_store(&holding, 0);
}

static char *region;
static const size_t REGION = 64 << 20;

static bool inside(const void *p, size_t cb, const void *base, uint32_t max_rva)
{
    return (uintptr_t)p > (uintptr_t)base && (uintptr_t)p + cb - (uintptr_t)base <= max_rva;
}

/* What every child does: allocate from an existing module (slow path: its
 * lock), from a new one, from donated space (the donated lock), ask
 * mm_donated, close.  Exit status 0 if every answer was right. */
static void child_work(IMethodMalloc *existing, const void *base)
{
    alarm(DEADLINE);
    int bad = 0;
    if (existing) {
        char *p = existing->lpVtbl->Alloc(existing, 300000); /* a chunk of its own: the module's lock */
        bad += !p || !inside(p, 300000, base, MM_DEFAULT_MAX_RVA) || p[0] || p[299999];
    }
    uint64_t total = 0, in_use = 0;
    mm_donated(&total, &in_use);
    bad += total != REGION / 2 || in_use > total;
    mm_config c = {32 << 20, 8, 0};
    mm_module *m;
    if (mm_module_open(region, &c, &m) != S_OK)
        _exit(3);
    IMethodMalloc *mal;
    mm_module_allocator(m, &mal);
    for (int i = 0; i < 50; i++) {
        char *p = mal->lpVtbl->Alloc(mal, 1000 + 997 * (ULONG)i);
        bad += !p || !inside(p, 1000, region, 32 << 20) || p[0];
        if (p)
            memset(p, 1, 1000);
    }
    mal->lpVtbl->Release(mal);
    mm_module_close(m);
    _exit(bad ? 1 : 0);
}

/* 0 if the child passed; a message otherwise. */
static const char *wait_child(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return "waitpid failed";
    if (WIFSIGNALED(status))
        return WTERMSIG(status) == SIGALRM ? "child hung (deadline passed)" : "child crashed";
    if (WEXITSTATUS(status) != 0)
        return "child got wrong answers";
    return NULL;
}

struct slow {
    IMethodMalloc *mal;
    ULONG cb;
};

static void *alloc_once(void *arg)
{
    struct slow *s = arg;
    s->mal->lpVtbl->Alloc(s->mal, s->cb);
    return NULL;
}

/* A parent thread paused inside `point` (reached by Alloc(cb) on mal) while
 * the main thread forks. */
static void fork_while_held(const char *what, enum fault_point point, IMethodMalloc *mal, ULONG cb,
                            IMethodMalloc *child_mal, const void *child_base)
{
    atomic_store(&let_go, 0);
    atomic_store(&holding, 0);
    atomic_store(&hold_point, (int)point);
    struct slow s = {mal, cb};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, alloc_once, &s) == 0);
    for (int i = 0; i < 2000 && !atomic_load(&holding); i++)
        sleep_ms(1);
    CHECKF(atomic_load(&holding), "%s: the thread never reached %s", what, fault_names[point]);
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0)
        child_work(child_mal, child_base);
    atomic_store(&let_go, 1);
    const char *err = wait_child(pid);
    CHECKF(err == NULL, "%s: %s", what, err);
    pthread_join(t, NULL);
    atomic_store(&hold_point, -1);
}

static _Atomic bool stop;

static void *churn(void *arg)
{
    const void *base = arg;
    uint64_t seed = (uintptr_t)arg;
    while (!atomic_load(&stop)) {
        mm_config c = {base == region ? 32u << 20 : MM_DEFAULT_MAX_RVA, 8, 0};
        mm_module *m;
        if (mm_module_open(base, &c, &m) != S_OK)
            continue;
        IMethodMalloc *mal;
        mm_module_allocator(m, &mal);
        for (int i = 0; i < 40; i++)
            mal->lpVtbl->Alloc(mal, (ULONG)(rng_next(&seed) % 4 ? 1 + rng_next(&seed) % 3000 : 100000));
        mal->lpVtbl->Release(mal);
        mm_module_close(m);
    }
    return NULL;
}

static int anchor;

/* pthread_atfork can fail (ENOMEM): the library must still end up with its
 * handlers, or say so; here, in a process of its own, the first
 * registration fails and the module-lock case runs again. */
static void atfork_failing_once(const void *exe)
{
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        parent = getpid();
        check_failures = check_count = 0;
        fault_armed = (struct fault){FP_ATFORK, 1, false, MM_OS_ENOMEM, FP_COUNT};
        mm_module *m;
        IMethodMalloc *mal = open_alloc(exe, MM_DEFAULT_MAX_RVA, &m);
        mm_module *m2;
        IMethodMalloc *mal2 = open_alloc(exe, MM_DEFAULT_MAX_RVA, &m2); /* a second open may retry */
        fork_while_held("module lock, the first pthread_atfork failed", FP_RESERVE_AT, mal, 100, mal, exe);
        done(m2, mal2);
        fflush(NULL);
        _exit(check_failures ? 1 : 0);
    }
    const char *err = wait_child(pid);
    CHECKF(err == NULL, "first pthread_atfork failing: %s", err);
}

/* Held lanes (module.c): the threads that held them do not exist in a
 * child, which must get them all back.  In a process of its own (the
 * lanes are the process's), MM_HELD_LANES threads hold every held lane
 * while the main thread forks; in the child, MM_LANES + 1 threads at once
 * take every lane, one chunk each (were the held lanes still taken, the
 * shared ones alone: MM_SHARED_LANES chunks). */
static void held_lanes_freed_in_child(const void *exe)
{
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        alarm(DEADLINE);
        struct lane_probe holders;
        lane_probe_start(&holders, exe, MM_HELD_LANES);
        fflush(NULL);
        pid_t grandchild = fork();
        if (grandchild == 0) {
            alarm(DEADLINE);
            struct lane_probe all;
            lane_probe_start(&all, exe, MM_LANES + 1);
            uint64_t chunks = lane_probe_stop(&all);
            _exit(chunks == MM_LANES ? 0 : 1);
        }
        const char *err = grandchild < 0 ? "fork failed" : wait_child(grandchild);
        lane_probe_stop(&holders);
        _exit(err ? 1 : 0);
    }
    const char *err = wait_child(pid);
    CHECKF(err == NULL, "held lanes in a child: %s", err);
}

int main(void)
{
    parent = getpid();
    fault_reset();
    fault_hook = hook;
    const void *exe = object_base(&anchor);
    region = mmap(NULL, REGION, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    REQUIRE(region != MAP_FAILED);
    REQUIRE(mm_donate(region + REGION / 4, REGION / 2) == S_OK);
    atfork_failing_once(exe);
    held_lanes_freed_in_child(exe);

    mm_module *m;
    IMethodMalloc *mal = open_alloc(exe, MM_DEFAULT_MAX_RVA, &m);
    /* The address-space index's lock: held while it reads the free ranges
     * (the first placement builds the index). */
    fork_while_held("address-space index lock", FP_FREE_RANGES, mal, 100, mal, exe);
    /* The module's lock (and the index's): held while a chunk is reserved. */
    fork_while_held("module lock", FP_RESERVE_AT, mal, 300000, mal, exe);
    /* The donated-space lock: held while a donated chunk is committed. */
    mm_module *d;
    IMethodMalloc *dmal = open_alloc(region, 32 << 20, &d);
    fork_while_held("donated lock", FP_COMMIT, dmal, 100, mal, exe);
    done(d, dmal);

    /* Forks at random moments while two threads take slow paths. */
    pthread_t t[2];
    REQUIRE(pthread_create(&t[0], NULL, churn, (void *)exe) == 0);
    REQUIRE(pthread_create(&t[1], NULL, churn, region) == 0);
    int hung = 0, wrong = 0;
    uint64_t seed = 7;
    for (int i = 0; i < RANDOM_FORKS; i++) {
        sleep_ms((long)(rng_next(&seed) % 5));
        fflush(NULL);
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0)
            child_work(mal, exe);
        const char *err = wait_child(pid);
        if (err && strstr(err, "hung"))
            hung++;
        else if (err)
            wrong++;
    }
    atomic_store(&stop, true);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    CHECKF(hung == 0 && wrong == 0, "%d of %d children forked during slow paths hung, %d failed otherwise", hung,
           RANDOM_FORKS, wrong);
    done(m, mal);
    printf("%d forks at random moments, 3 with a lock held\n", RANDOM_FORKS);
    return check_done();
}
