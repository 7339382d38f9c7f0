/*
 * The host's logic that needs no runtime: which callbacks a guest's event
 * mask lets through (profiler/host/events.c), the body chain that shows
 * guest k what guest k-1 set, the composition of IL maps
 * (profiler/host/bodies.c), and what the report counts as served: a body in
 * a block of the module's own heap, nothing else in its window
 * (mmp_modules_owns, profiler/modules.c).
 */
#include <string.h>

#include "host/host.h"
#include "testutil.h"

#define SLOT(name) ((int)MM_SLOT(ICorProfilerCallback11Vtbl, name))

static void test_events(void)
{
    /* The callbacks no bit controls, and only those, go to every guest. */
    const int everyone[] = {SLOT(Initialize),          SLOT(Shutdown),
                            SLOT(InitializeForAttach), SLOT(ProfilerAttachComplete),
                            SLOT(ProfilerDetachSucceeded), SLOT(LoadAsNotificationOnly)};
    for (int s = SLOT(Initialize); s < MM_CALLBACK_SLOTS; s++) {
        int all = 0;
        for (size_t k = 0; k < sizeof everyone / sizeof everyone[0]; k++)
            all |= everyone[k] == s;
        CHECKF(mmh_event_wanted(s, 0, 0) == all, "slot %d with an empty mask", s);
        /* Every event goes to a guest that asks for everything. */
        CHECKF(mmh_event_wanted(s, 0xFFFFFFFFu, 0xFFFFFFFFu), "slot %d with a full mask", s);
    }
    CHECK(mmh_event_wanted(SLOT(JITCompilationStarted), COR_PRF_MONITOR_JIT_COMPILATION, 0));
    CHECK(!mmh_event_wanted(SLOT(JITCompilationStarted), COR_PRF_MONITOR_MODULE_LOADS, 0));
    CHECK(mmh_event_wanted(SLOT(ModuleLoadFinished), COR_PRF_MONITOR_MODULE_LOADS, 0));
    CHECK(!mmh_event_wanted(SLOT(ModuleLoadFinished), COR_PRF_MONITOR_ASSEMBLY_LOADS, 0));
    CHECK(mmh_event_wanted(SLOT(AssemblyLoadStarted), COR_PRF_MONITOR_ASSEMBLY_LOADS, 0));
    CHECK(!mmh_event_wanted(SLOT(ExceptionThrown), COR_PRF_MONITOR_JIT_COMPILATION, 0));
    CHECK(mmh_event_wanted(SLOT(ExceptionThrown), COR_PRF_MONITOR_EXCEPTIONS, 0));
    CHECK(!mmh_event_wanted(SLOT(ExceptionCLRCatcherFound), COR_PRF_MONITOR_EXCEPTIONS, 0));
    /* High-word events: the basic GC bit alone gives the GC's start and
     * end, nothing else of the GC. */
    CHECK(mmh_event_wanted(SLOT(GarbageCollectionStarted), 0, COR_PRF_HIGH_BASIC_GC));
    CHECK(!mmh_event_wanted(SLOT(RootReferences2), 0, COR_PRF_HIGH_BASIC_GC));
    CHECK(mmh_event_wanted(SLOT(ObjectAllocated), 0, COR_PRF_HIGH_MONITOR_LARGEOBJECT_ALLOCATED));
    CHECK(mmh_event_wanted(SLOT(DynamicMethodUnloaded), 0, COR_PRF_HIGH_MONITOR_DYNAMIC_FUNCTION_UNLOADS));
    CHECK(!mmh_event_wanted(SLOT(DynamicMethodUnloaded), COR_PRF_MONITOR_JIT_COMPILATION, 0));
    CHECK(mmh_event_wanted(SLOT(EventPipeEventDelivered), 0, COR_PRF_HIGH_MONITOR_EVENT_PIPE));
    CHECK(!mmh_event_wanted(SLOT(EventPipeEventDelivered), 0xFFFFFFFFu, 0));
    CHECK(mmh_event_wanted(SLOT(GetReJITParameters), COR_PRF_ENABLE_REJIT, 0));
    CHECK(!mmh_event_wanted(SLOT(GetReJITParameters), COR_PRF_MONITOR_JIT_COMPILATION, 0));
}

static void test_chain(void)
{
    mmh_bodies b;
    const uint8_t one[] = {0x0A, 0x2A}, three[] = {0x0E, 0x00, 0x2A, 0x2A};
    const uint8_t *body = NULL;
    size_t size = 0;

    mmh_bodies_init(&b);
    CHECK(mmh_bodies_get(&b, 0x1000, 0x06000001, 1, &body, &size) == -1);
    CHECK(mmh_bodies_put(&b, 0x1000, 0x06000001, 1, one, sizeof one) == 0);
    CHECK(mmh_bodies_put(&b, 0x1000, 0x06000001, 3, three, sizeof three) == 0);
    /* Guest 1 sees the runtime's body; 2 and 3 see guest 1's; 4 sees 3's. */
    CHECK(mmh_bodies_get(&b, 0x1000, 0x06000001, 1, &body, &size) == -1);
    CHECK(mmh_bodies_get(&b, 0x1000, 0x06000001, 2, &body, &size) == 0 && body == one && size == sizeof one);
    CHECK(mmh_bodies_get(&b, 0x1000, 0x06000001, 3, &body, &size) == 0 && body == one);
    CHECK(mmh_bodies_get(&b, 0x1000, 0x06000001, 4, &body, &size) == 0 && body == three && size == sizeof three);
    /* Once the original is recorded, guest 1 is shown it (not the last body
     * set, which the runtime would show); the original is kept as first
     * given. */
    const uint8_t original[] = {0x06, 0x2A};
    CHECK(mmh_bodies_has_original(&b, 0x1000, 0x06000001) == 0);
    CHECK(mmh_bodies_put(&b, 0x1000, 0x06000001, 0, original, sizeof original) == 0);
    CHECK(mmh_bodies_put(&b, 0x1000, 0x06000001, 0, three, sizeof three) == 0);
    CHECK(mmh_bodies_has_original(&b, 0x1000, 0x06000001) == 1);
    CHECK(mmh_bodies_get(&b, 0x1000, 0x06000001, 1, &body, &size) == 0 && body == original && size == sizeof original);
    CHECK(mmh_bodies_get(&b, 0x1000, 0x06000001, 2, &body, &size) == 0 && body == one);
    /* Another method, another module: nothing. */
    CHECK(mmh_bodies_get(&b, 0x1000, 0x06000002, 4, &body, &size) == -1);
    CHECK(mmh_bodies_get(&b, 0x2000, 0x06000001, 4, &body, &size) == -1);
    /* Many methods: the table grows and keeps every one. */
    for (uint32_t t = 1; t <= 5000; t++)
        CHECK(mmh_bodies_put(&b, 0x3000 + (t % 7) * 0x100, 0x06000000 | t, 2, one + (t & 1), t) == 0);
    int wrong = 0;
    for (uint32_t t = 1; t <= 5000; t++)
        if (mmh_bodies_get(&b, 0x3000 + (t % 7) * 0x100, 0x06000000 | t, 3, &body, &size) != 0
            || body != one + (t & 1) || size != t)
            wrong++;
    CHECK(wrong == 0);
}

static void test_maps(void)
{
    /* Guest 1: original -> its body; guest 2: guest 1's body -> its own. */
    COR_IL_MAP first[] = {{0, 0, 1}, {5, 10, 1}, {9, 20, 1}};
    COR_IL_MAP second[] = {{0, 3, 1}, {10, 13, 1}, {20, 25, 1}};
    COR_IL_MAP out[3];
    mmh_map_compose(first, 3, second, 3, out);
    CHECK(out[0].oldOffset == 0 && out[0].newOffset == 3);
    CHECK(out[1].oldOffset == 5 && out[1].newOffset == 13);
    CHECK(out[2].oldOffset == 9 && out[2].newOffset == 25);
    /* A middle offset between entries of the second map takes the entry
     * at or below it, and is no longer exact. */
    COR_IL_MAP mid[] = {{7, 15, 1}};
    mmh_map_compose(mid, 1, second, 3, out);
    CHECK(out[0].oldOffset == 7 && out[0].newOffset == 13 && !out[0].fAccurate);
    /* Below every entry: unchanged. */
    COR_IL_MAP late[] = {{4, 30, 1}};
    COR_IL_MAP from40[] = {{40, 50, 1}};
    mmh_map_compose(late, 1, from40, 1, out);
    CHECK(out[0].oldOffset == 4 && out[0].newOffset == 30);

    /* Through the chain: guest 2 without a map of guest 1 hands on its own;
     * guest 3 is composed over guest 2's. */
    mmh_bodies b;
    const COR_IL_MAP *got;
    ULONG n;
    mmh_bodies_init(&b);
    CHECK(mmh_bodies_map(&b, 0x1000, 0x06000005, 2, first, 3, &got, &n) == 0 && n == 3 && got[1].newOffset == 10);
    CHECK(mmh_bodies_map(&b, 0x1000, 0x06000005, 3, second, 3, &got, &n) == 0 && n == 3);
    CHECK(got[0].newOffset == 3 && got[1].newOffset == 13 && got[2].newOffset == 25);
    CHECK(got[1].oldOffset == 5);
}

/* Served is ownership, not place: a block of the module's heap is served;
 * its image, a page of someone else's in its window, a block of another
 * module's heap, a module unknown or removed, are not. */
static void test_served(void)
{
    const size_t image = 64 << 10, room = 64 << 20;
    const uint8_t *a = make_image(image, room);
    /* Someone else's page inside module 1's window, past its image. */
    uint8_t *page = (uint8_t *)pl_map_at((char *)a + (32 << 20), pl_page());
    REQUIRE(page);
    const uint8_t *b = make_image(image, room);
    mmp_modules t;
    mm_module *ha = NULL, *hb = NULL;
    IMethodMalloc *ma = NULL, *mb = NULL;
    mmp_modules_init(&t);
    REQUIRE(mm_module_open(a, NULL, &ha) == S_OK && mm_module_allocator(ha, &ma) == S_OK);
    REQUIRE(mm_module_open(b, NULL, &hb) == S_OK && mm_module_allocator(hb, &mb) == S_OK);
    REQUIRE(mmp_modules_add(&t, 1, a, a + image, ha, ma, NULL) == 0);
    REQUIRE(mmp_modules_add(&t, 2, b, b + image, hb, mb, NULL) == 0);
    uint8_t *mine = ma->lpVtbl->Alloc(ma, 40), *theirs = mb->lpVtbl->Alloc(mb, 40);
    REQUIRE(mine && theirs);
    CHECK(mmp_modules_owns(&t, 1, mine, 40));
    CHECK(!mmp_modules_owns(&t, 1, a, 40));
    CHECK(!mmp_modules_owns(&t, 1, theirs, 40) && mmp_modules_owns(&t, 2, theirs, 40));
    CHECK(!mmp_modules_owns(&t, 3, mine, 40));
    CHECK(page > a + image && !mmp_modules_owns(&t, 1, page, 40));
    mmp_modules_remove(&t, 1);
    mmp_modules_remove(&t, 2);
    CHECK(!mmp_modules_owns(&t, 2, theirs, 40));
    pl_release((char *)page, pl_page());
    free_image(a, image);
    free_image(b, image);
}

int main(void)
{
    test_events();
    test_chain();
    test_maps();
    test_served();
    return check_done();
}
