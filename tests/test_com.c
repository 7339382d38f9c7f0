/* IMethodMalloc as a COM object: IIDs, QueryInterface, reference counts, and
 * the memory outliving every reference until close. */
#define COBJMACROS /* the C call macros, as a C caller of a MIDL header has them */
#include "methodmalloc.h"
#include "testutil.h"

static const IID iid_other = {0x00000001, 0x0000, 0x0000, {0xC0, 0, 0, 0, 0, 0, 0, 0x46}}; /* IClassFactory */

static void test_iids(void)
{
    /* {A0EFB28B-6EE2-4d7b-B983-A75EF7BEEDB8} and {00000000-0000-0000-C000-000000000046}. */
    const unsigned char mm[16] = {0x8B, 0xB2, 0xEF, 0xA0, 0xE2, 0x6E, 0x7B, 0x4D,
                                  0xB9, 0x83, 0xA7, 0x5E, 0xF7, 0xBE, 0xED, 0xB8};
    const unsigned char unk[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46};
    CHECK(sizeof(IID) == 16);
    CHECK(memcmp(&IID_IMethodMalloc, mm, 16) == 0); /* little-endian layout of the GUID */
    CHECK(memcmp(&IID_IUnknown, unk, 16) == 0);
    CHECK(offsetof(IMethodMallocVtbl, Alloc) == 3 * sizeof(void *));
}

/* mal holds two references here: the caller's and the open handle's. */
static void test_query_interface(IMethodMalloc *mal)
{
    void *pv = &pv;
    CHECK(mal->lpVtbl->QueryInterface(mal, &IID_IMethodMalloc, &pv) == S_OK && pv == mal);
    CHECK(mal->lpVtbl->Release(mal) == 2);
    pv = &pv;
    CHECK(mal->lpVtbl->QueryInterface(mal, &IID_IUnknown, &pv) == S_OK && pv == mal);
    IUnknown *unk = pv;
    CHECK(unk->lpVtbl->Release(unk) == 2);
    pv = &pv;
    CHECK(mal->lpVtbl->QueryInterface(mal, &iid_other, &pv) == E_NOINTERFACE && pv == NULL);
    CHECK(mal->lpVtbl->QueryInterface(mal, &IID_IMethodMalloc, NULL) == E_POINTER);
    pv = &pv;
    CHECK(mal->lpVtbl->QueryInterface(mal, NULL, &pv) == E_INVALIDARG && pv == NULL);
    CHECK(mal->lpVtbl->AddRef(mal) == 3);
    CHECK(mal->lpVtbl->Release(mal) == 2);
}

/* Releasing every interface pointer frees no block: only close does. */
static void test_memory_outlives_references(void)
{
    static int anchor;
    mm_module *m;
    IMethodMalloc *mal, *again;
    REQUIRE(mm_module_open(object_base(&anchor), NULL, &m) == S_OK);
    REQUIRE(mm_module_allocator(m, &mal) == S_OK);
    char *p = mal->lpVtbl->Alloc(mal, 256);
    REQUIRE(p);
    memset(p, 0x5A, 256);
    CHECK(mal->lpVtbl->Release(mal) == 1);
    REQUIRE(mm_module_allocator(m, &again) == S_OK);
    CHECK(again == mal); /* the same object each time, like the runtime's */
    char *q = again->lpVtbl->Alloc(again, 256);
    CHECK(q && q != p && p[0] == 0x5A && p[255] == 0x5A);
    CHECK(again->lpVtbl->Release(again) == 1);
    CHECK(p[128] == 0x5A);
    mm_module_close(m);
}

struct hammer {
    IMethodMalloc *mal;
    int errors;
};

static void *hammer_refs(void *arg)
{
    struct hammer *h = arg;
    for (int i = 0; i < 20000; i++) {
        void *pv = NULL;
        if (h->mal->lpVtbl->QueryInterface(h->mal, &IID_IMethodMalloc, &pv) != S_OK || pv != h->mal)
            h->errors++;
        h->mal->lpVtbl->AddRef(h->mal);
        h->mal->lpVtbl->Release(h->mal);
        h->mal->lpVtbl->Release(h->mal);
        if (!h->mal->lpVtbl->Alloc(h->mal, 24))
            h->errors++;
    }
    return NULL;
}

/* Concurrent AddRef, Release, QueryInterface and Alloc leave the count exact. */
static void test_concurrent_refcount(void)
{
    static int anchor;
    mm_module *m;
    IMethodMalloc *mal;
    REQUIRE(mm_module_open(object_base(&anchor), NULL, &m) == S_OK);
    REQUIRE(mm_module_allocator(m, &mal) == S_OK);
    enum { N = 4 };
    pl_thread t[N];
    struct hammer h[N];
    for (int i = 0; i < N; i++) {
        h[i] = (struct hammer){mal, 0};
        REQUIRE(pl_thread_create(&t[i], hammer_refs, &h[i]));
    }
    for (int i = 0; i < N; i++) {
        pl_thread_join(t[i]);
        CHECK(h[i].errors == 0);
    }
    CHECK(mal->lpVtbl->AddRef(mal) == 3); /* ours, the handle's, and this one */
    CHECK(mal->lpVtbl->Release(mal) == 2);
    mm_module_close(m);
    CHECK(mal->lpVtbl->Alloc(mal, 8) == NULL);
    CHECK(mal->lpVtbl->Release(mal) == 0);
}

/* The COBJMACROS macros call the slots they name. */
static void test_call_macros(IMethodMalloc *mal)
{
    void *pv = NULL;
    CHECK(IMethodMalloc_QueryInterface(mal, &IID_IMethodMalloc, &pv) == S_OK && pv == mal);
    CHECK(IMethodMalloc_AddRef(mal) == 4);
    CHECK(IMethodMalloc_Release(mal) == 3);
    CHECK(IMethodMalloc_Release(mal) == 2);
    char *block = IMethodMalloc_Alloc(mal, 24);
    CHECK(block != NULL && block[0] == 0 && block[23] == 0);
    CHECK(IMethodMalloc_Alloc(mal, 0) == NULL);
}

/* Each thread's lane is read back on every Alloc: two threads allocate
 * twice each from two chunks of their own.  Were the per-thread key to
 * read 0 whatever was stored (on Windows, in this program, a slot in the
 * TEB's TlsExpansionSlots), each second Alloc would take another lane. */
static void test_threads_keep_their_lanes(void)
{
    static int anchor;
    struct lane_probe lp;
    lane_probe_start(&lp, object_base(&anchor), 2);
    uint64_t chunks = lane_probe_stop(&lp);
    CHECKF(chunks == 2, "two threads: %llu chunks", (unsigned long long)chunks);
}

int main(void)
{
#if defined(_WIN32)
    /* This process's lane slot (taken by the first open) lies past the
     * TEB's 64 TlsSlots, in TlsExpansionSlots, which Alloc reads too; the
     * other test programs use a slot among the first 64. */
    DWORD taken;
    do
        taken = TlsAlloc();
    while (taken != TLS_OUT_OF_INDEXES && taken < 64);
    REQUIRE(taken != TLS_OUT_OF_INDEXES);
#endif
    test_iids();
    test_threads_keep_their_lanes();
    static int anchor;
    mm_module *m;
    IMethodMalloc *mal;
    REQUIRE(mm_module_open(object_base(&anchor), NULL, &m) == S_OK);
    REQUIRE(mm_module_allocator(m, &mal) == S_OK);
    test_query_interface(mal);
    test_call_macros(mal);
    mal->lpVtbl->Release(mal);
    mm_module_close(m);
    test_memory_outlives_references();
    test_concurrent_refcount();
    return check_done();
}
