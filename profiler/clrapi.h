/*
 * The slice of the CLR profiling API this profiler uses, declared for C.
 *
 * The profiling interfaces whole: ICorProfilerCallback through version 11
 * and ICorProfilerInfo through version 15, built from the tables of
 * corprof_table.h (the host forwards every method).  IMetaDataImport and
 * IMetaDataImport2 (called, so declared up to the last slot we call: a
 * caller never needs the slots after it; slots between are placeholders),
 * IClassFactory.  Slot order follows corprof.idl and cor.h of
 * dotnet/runtime; the static assertions at the end pin the slot numbers,
 * because one slot off calls the wrong function inside the runtime.
 *
 * Types are those of CoreCLR's PAL on 64-bit Linux, the same sizes as
 * windows.h's on Windows: ULONG and DWORD are 32 bits, BOOL is a 32-bit int,
 * WCHAR is 16 bits, IDs are pointer-sized.
 */
#ifndef MM_PROFILER_CLRAPI_H
#define MM_PROFILER_CLRAPI_H

#include <stddef.h>
#include <stdint.h>
#include <uchar.h>

#include "methodmalloc.h"
#include "corprof_table.h"

#if defined(_WIN32)
/* windows.h (through methodmalloc.h) gives the same types, and IClassFactory. */
#define MM_PLATFORM_CLASS_FACTORY 1
#else
typedef int32_t BOOL;
typedef uint32_t DWORD;
typedef int32_t LONG;
typedef uintptr_t UINT_PTR;
typedef char16_t WCHAR;
typedef const WCHAR *LPCWSTR;
typedef WCHAR *LPWSTR;
typedef void *HANDLE;
typedef const GUID *REFGUID;
typedef const GUID *REFCLSID;
#endif
typedef const uint8_t *LPCBYTE;

typedef UINT_PTR ProcessID;
typedef UINT_PTR AssemblyID;
typedef UINT_PTR AppDomainID;
typedef UINT_PTR ModuleID;
typedef UINT_PTR ClassID;
typedef UINT_PTR ThreadID;
typedef UINT_PTR FunctionID;
typedef UINT_PTR ObjectID;
typedef UINT_PTR GCHandleID;

typedef uint32_t mdToken;
typedef mdToken mdTypeDef;
typedef mdToken mdMethodDef;
typedef void *HCORENUM;
typedef const uint8_t *PCCOR_SIGNATURE;

#if !defined(_WIN32) /* windows.h has them (SIZE_T an unsigned long on 32-bit) */
typedef uint32_t UINT;
typedef uint32_t ULONG32;
typedef uint32_t UINT32;
typedef uint64_t UINT64;
typedef uint8_t UINT8;
typedef uint8_t BYTE;
typedef uint16_t USHORT;
typedef size_t SIZE_T;
typedef const GUID *LPCGUID;
#endif
typedef UINT_PTR ContextID;
typedef UINT_PTR ReJITID;
typedef UINT_PTR COR_PRF_ELT_INFO;
typedef UINT_PTR COR_PRF_FRAME_INFO;
typedef UINT_PTR EVENTPIPE_PROVIDER;
typedef UINT_PTR EVENTPIPE_EVENT;
typedef uint64_t EVENTPIPE_SESSION;
typedef void **ObjectHandleID;
typedef mdToken mdFieldDef;

/* Structures only pointed to. */
typedef struct COR_DEBUG_IL_TO_NATIVE_MAP COR_DEBUG_IL_TO_NATIVE_MAP;
typedef struct COR_FIELD_OFFSET COR_FIELD_OFFSET;
typedef struct COR_PRF_CODE_INFO COR_PRF_CODE_INFO;
typedef struct COR_PRF_FUNCTION_ARGUMENT_INFO COR_PRF_FUNCTION_ARGUMENT_INFO;
typedef struct COR_PRF_FUNCTION_ARGUMENT_RANGE COR_PRF_FUNCTION_ARGUMENT_RANGE;
typedef struct COR_PRF_GC_GENERATION_RANGE COR_PRF_GC_GENERATION_RANGE;
typedef struct COR_PRF_EX_CLAUSE_INFO COR_PRF_EX_CLAUSE_INFO;
typedef struct COR_PRF_NONGC_HEAP_RANGE COR_PRF_NONGC_HEAP_RANGE;
typedef struct COR_PRF_EVENTPIPE_PARAM_DESC COR_PRF_EVENTPIPE_PARAM_DESC;
typedef struct COR_PRF_EVENT_DATA COR_PRF_EVENT_DATA;

/* An IL offset map entry (SetILInstrumentedCodeMap). */
typedef struct COR_IL_MAP {
    ULONG32 oldOffset;
    ULONG32 newOffset;
    BOOL fAccurate;
} COR_IL_MAP;

/* Passed by value (EventPipeAddProviderToSession), so declared whole. */
typedef struct COR_PRF_EVENTPIPE_PROVIDER_CONFIG {
    const WCHAR *providerName;
    UINT64 keywords;
    UINT32 loggingLevel;
    const WCHAR *filterData;
} COR_PRF_EVENTPIPE_PROVIDER_CONFIG;

/* Enums passed by value or in arrays: 32-bit ints in the C ABI. */
typedef uint32_t CorElementType;
typedef int32_t COR_PRF_STATIC_TYPE;
typedef int32_t COR_PRF_RUNTIME_TYPE;
typedef int32_t COR_PRF_HANDLE_TYPE;
typedef int32_t COR_PRF_JIT_CACHE;
typedef int32_t COR_PRF_TRANSITION_REASON;
typedef int32_t COR_PRF_SUSPEND_REASON;
typedef int32_t COR_PRF_GC_REASON;
typedef int32_t COR_PRF_GC_ROOT_KIND;
typedef int32_t COR_PRF_GC_ROOT_FLAGS;

/* The HRESULTs the profiler returns beside those methodmalloc.h defines. */
#ifndef E_FAIL
#define E_FAIL ((HRESULT)0x80004005L)
#endif

/* COR_PRF_MONITOR bits (the event mask's low word). */
#define COR_PRF_MONITOR_FUNCTION_UNLOADS 0x00000001u
#define COR_PRF_MONITOR_CLASS_LOADS 0x00000002u
#define COR_PRF_MONITOR_MODULE_LOADS 0x00000004u
#define COR_PRF_MONITOR_ASSEMBLY_LOADS 0x00000008u
#define COR_PRF_MONITOR_APPDOMAIN_LOADS 0x00000010u
#define COR_PRF_MONITOR_JIT_COMPILATION 0x00000020u
#define COR_PRF_MONITOR_EXCEPTIONS 0x00000040u
#define COR_PRF_MONITOR_GC 0x00000080u
#define COR_PRF_MONITOR_OBJECT_ALLOCATED 0x00000100u
#define COR_PRF_MONITOR_THREADS 0x00000200u
#define COR_PRF_MONITOR_REMOTING 0x00000400u
#define COR_PRF_MONITOR_CODE_TRANSITIONS 0x00000800u
#define COR_PRF_MONITOR_CCW 0x00002000u
#define COR_PRF_MONITOR_SUSPENDS 0x00010000u
#define COR_PRF_MONITOR_CACHE_SEARCHES 0x00020000u
#define COR_PRF_ENABLE_REJIT 0x00040000u
#define COR_PRF_DISABLE_INLINING 0x00200000u
#define COR_PRF_MONITOR_CLR_EXCEPTIONS 0x01000000u
#define COR_PRF_DISABLE_ALL_NGEN_IMAGES 0x80000000u
/* COR_PRF_HIGH_MONITOR bits (the high word, SetEventMask2). */
#define COR_PRF_HIGH_ADD_ASSEMBLY_REFERENCES 0x00000001u
#define COR_PRF_HIGH_IN_MEMORY_SYMBOLS_UPDATED 0x00000002u
#define COR_PRF_HIGH_MONITOR_DYNAMIC_FUNCTION_UNLOADS 0x00000004u
#define COR_PRF_HIGH_BASIC_GC 0x00000010u
#define COR_PRF_HIGH_MONITOR_GC_MOVED_OBJECTS 0x00000020u
#define COR_PRF_HIGH_MONITOR_LARGEOBJECT_ALLOCATED 0x00000040u
#define COR_PRF_HIGH_MONITOR_EVENT_PIPE 0x00000080u
#define COR_PRF_HIGH_MONITOR_PINNEDOBJECT_ALLOCATED 0x00000100u

/* IMetaDataImport open flags (CorOpenFlags ofRead). */
#define MM_OF_READ 0u

/* Token kinds and the nil token. */
#define MM_MDT_METHODDEF 0x06000000u
#define MM_MDT_TYPEDEF 0x02000000u
#define MM_TOKEN_TYPE(t) ((t) & 0xFF000000u)
#define MM_TOKEN_RID(t) ((t) & 0x00FFFFFFu)

/* S_FALSE and the runtime's "metadata record not found" HRESULT. */
#ifndef S_FALSE
#define S_FALSE ((HRESULT)1)
#endif
#define MM_CLDB_E_RECORD_NOTFOUND ((HRESULT)0x80131130L)
#define MM_CLASS_E_CLASSNOTAVAILABLE ((HRESULT)0x80040111L)
#define MM_CLASS_E_NOAGGREGATION ((HRESULT)0x80040110L)

typedef struct ICorProfilerCallback2 ICorProfilerCallback2;
typedef struct ICorProfilerCallback11 ICorProfilerCallback11;
typedef struct ICorProfilerInfo ICorProfilerInfo;
typedef struct IMetaDataImport IMetaDataImport;
typedef struct IMetaDataImport2 IMetaDataImport2;
#ifndef MM_PLATFORM_CLASS_FACTORY
typedef struct IClassFactory IClassFactory;
#endif

/* ---- The profiling interfaces, built from corprof_table.h ---- */
#define MM_VTBL_SLOT(slot, version, name, params, args) HRESULT(STDMETHODCALLTYPE *name)(MM_THIS MM_ARGS params);
#define MM_IUNKNOWN_SLOTS                                                                                            \
    HRESULT(STDMETHODCALLTYPE *QueryInterface)(MM_THIS, REFIID riid, void **ppv);                                    \
    ULONG(STDMETHODCALLTYPE *AddRef)(MM_THIS);                                                                       \
    ULONG(STDMETHODCALLTYPE *Release)(MM_THIS);

/* ICorProfilerCallback2: what the modes' profiler object implements. */
#define MM_THIS ICorProfilerCallback2 *This
typedef struct ICorProfilerCallback2Vtbl {
    MM_IUNKNOWN_SLOTS
    MM_CALLBACK1(MM_VTBL_SLOT)
    MM_CALLBACK2(MM_VTBL_SLOT)
} ICorProfilerCallback2Vtbl;
#undef MM_THIS

/* ICorProfilerCallback11: every callback, what the host implements and
 * calls on its guests (a guest's object for version v is called only in
 * the slots of versions up to v). */
#define MM_THIS ICorProfilerCallback11 *This
typedef struct ICorProfilerCallback11Vtbl {
    MM_IUNKNOWN_SLOTS
    MM_CALLBACK1(MM_VTBL_SLOT)
    MM_CALLBACK2(MM_VTBL_SLOT)
    MM_CALLBACK3_11(MM_VTBL_SLOT)
} ICorProfilerCallback11Vtbl;
#undef MM_THIS

/* ICorProfilerInfo, every version through 15 in one vtable: the runtime's
 * object answers every version with the same pointer, and a caller uses
 * only the slots of the versions QueryInterface granted. */
#define MM_THIS ICorProfilerInfo *This
typedef struct ICorProfilerInfoVtbl {
    MM_IUNKNOWN_SLOTS
    MM_INFO1(MM_VTBL_SLOT)
    MM_INFO2_15(MM_VTBL_SLOT)
} ICorProfilerInfoVtbl;
#undef MM_THIS
#undef MM_VTBL_SLOT
#undef MM_IUNKNOWN_SLOTS

struct ICorProfilerCallback2 {
    const ICorProfilerCallback2Vtbl *lpVtbl;
};
struct ICorProfilerCallback11 {
    const ICorProfilerCallback11Vtbl *lpVtbl;
};
struct ICorProfilerInfo {
    const ICorProfilerInfoVtbl *lpVtbl;
};

/* ---- IMetaDataImport (called; declared whole, unused slots as placeholders) ---- */
/* n slots nobody calls, starting at slot `first` (the name keeps them apart). */
#define MM_UNUSED_SLOTS(first, n) void (*unused_##first[n])(void)
#define MM_MD IMetaDataImport *This
typedef struct IMetaDataImportVtbl {
    HRESULT(STDMETHODCALLTYPE *QueryInterface)(MM_MD, REFIID riid, void **ppv);
    ULONG(STDMETHODCALLTYPE *AddRef)(MM_MD);
    ULONG(STDMETHODCALLTYPE *Release)(MM_MD);
    void(STDMETHODCALLTYPE *CloseEnum)(MM_MD, HCORENUM hEnum);
    HRESULT(STDMETHODCALLTYPE *CountEnum)(MM_MD, HCORENUM hEnum, ULONG *pulCount);
    HRESULT(STDMETHODCALLTYPE *ResetEnum)(MM_MD, HCORENUM hEnum, ULONG ulPos);
    HRESULT(STDMETHODCALLTYPE *EnumTypeDefs)(MM_MD, HCORENUM *phEnum, mdTypeDef rTypeDefs[], ULONG cMax,
                                             ULONG *pcTypeDefs);
    HRESULT(STDMETHODCALLTYPE *EnumInterfaceImpls)(MM_MD, HCORENUM *phEnum, mdTypeDef td, mdToken rImpls[],
                                                   ULONG cMax, ULONG *pcImpls);
    HRESULT(STDMETHODCALLTYPE *EnumTypeRefs)(MM_MD, HCORENUM *phEnum, mdToken rTypeRefs[], ULONG cMax,
                                             ULONG *pcTypeRefs);
    HRESULT(STDMETHODCALLTYPE *FindTypeDefByName)(MM_MD, LPCWSTR szTypeDef, mdToken tkEnclosingClass,
                                                  mdTypeDef *ptd);
    HRESULT(STDMETHODCALLTYPE *GetScopeProps)(MM_MD, LPWSTR szName, ULONG cchName, ULONG *pchName, GUID *pmvid);
    HRESULT(STDMETHODCALLTYPE *GetModuleFromScope)(MM_MD, mdToken *pmd);
    HRESULT(STDMETHODCALLTYPE *GetTypeDefProps)(MM_MD, mdTypeDef td, LPWSTR szTypeDef, ULONG cchTypeDef,
                                                ULONG *pchTypeDef, DWORD *pdwTypeDefFlags, mdToken *ptkExtends);
    HRESULT(STDMETHODCALLTYPE *GetInterfaceImplProps)(MM_MD, mdToken iiImpl, mdTypeDef *pClass, mdToken *ptkIface);
    HRESULT(STDMETHODCALLTYPE *GetTypeRefProps)(MM_MD, mdToken tr, mdToken *ptkResolutionScope, LPWSTR szName,
                                                ULONG cchName, ULONG *pchName);
    HRESULT(STDMETHODCALLTYPE *ResolveTypeRef)(MM_MD, mdToken tr, REFIID riid, IUnknown **ppIScope, mdTypeDef *ptd);
    HRESULT(STDMETHODCALLTYPE *EnumMembers)(MM_MD, HCORENUM *phEnum, mdTypeDef cl, mdToken rMembers[], ULONG cMax,
                                            ULONG *pcTokens);
    HRESULT(STDMETHODCALLTYPE *EnumMembersWithName)(MM_MD, HCORENUM *phEnum, mdTypeDef cl, LPCWSTR szName,
                                                    mdToken rMembers[], ULONG cMax, ULONG *pcTokens);
    HRESULT(STDMETHODCALLTYPE *EnumMethods)(MM_MD, HCORENUM *phEnum, mdTypeDef cl, mdMethodDef rMethods[],
                                            ULONG cMax, ULONG *pcTokens);
    HRESULT(STDMETHODCALLTYPE *EnumMethodsWithName)(MM_MD, HCORENUM *phEnum, mdTypeDef cl, LPCWSTR szName,
                                                    mdMethodDef rMethods[], ULONG cMax, ULONG *pcTokens);
    /* Slots 20..29 (EnumFields .. FindMemberRef): not called. */
    MM_UNUSED_SLOTS(20, 10);
    HRESULT(STDMETHODCALLTYPE *GetMethodProps)(MM_MD, mdMethodDef mb, mdTypeDef *pClass, LPWSTR szMethod,
                                               ULONG cchMethod, ULONG *pchMethod, DWORD *pdwAttr,
                                               PCCOR_SIGNATURE *ppvSigBlob, ULONG *pcbSigBlob, ULONG *pulCodeRVA,
                                               DWORD *pdwImplFlags);
    HRESULT(STDMETHODCALLTYPE *GetMemberRefProps)(MM_MD, mdToken mr, mdToken *ptk, LPWSTR szMember, ULONG cchMember,
                                                  ULONG *pchMember, PCCOR_SIGNATURE *ppvSigBlob, ULONG *pbSig);
    /* Slots 32..40 (EnumProperties .. GetPermissionSetProps): not called. */
    MM_UNUSED_SLOTS(32, 9);
    HRESULT(STDMETHODCALLTYPE *GetSigFromToken)(MM_MD, mdToken mdSig, PCCOR_SIGNATURE *ppvSig, ULONG *pcbSig);
    /* Slots 42..61 (GetModuleRefProps .. IsValidToken): not called. */
    MM_UNUSED_SLOTS(42, 20);
    HRESULT(STDMETHODCALLTYPE *GetNestedClassProps)(MM_MD, mdTypeDef tdNestedClass, mdTypeDef *ptdEnclosingClass);
    MM_UNUSED_SLOTS(63, 2); /* GetNativeCallConvFromSig, IsGlobal */
} IMetaDataImportVtbl;

/* IMetaDataImport2: IMetaDataImport's 65 slots, then its own. */
typedef struct IMetaDataImport2Vtbl {
    IMetaDataImportVtbl base;
    MM_UNUSED_SLOTS(65, 2); /* EnumGenericParams, GetGenericParamProps */
    HRESULT(STDMETHODCALLTYPE *GetMethodSpecProps)(IMetaDataImport2 *This, mdToken mi, mdToken *tkParent,
                                                   PCCOR_SIGNATURE *ppvSigBlob, ULONG *pcbSigBlob);
} IMetaDataImport2Vtbl;
#undef MM_MD

struct IMetaDataImport {
    const IMetaDataImportVtbl *lpVtbl;
};
struct IMetaDataImport2 {
    const IMetaDataImport2Vtbl *lpVtbl;
};

/* ---- IClassFactory (implemented) ---- */
#ifndef MM_PLATFORM_CLASS_FACTORY
typedef struct IClassFactoryVtbl {
    HRESULT(STDMETHODCALLTYPE *QueryInterface)(IClassFactory *This, REFIID riid, void **ppv);
    ULONG(STDMETHODCALLTYPE *AddRef)(IClassFactory *This);
    ULONG(STDMETHODCALLTYPE *Release)(IClassFactory *This);
    HRESULT(STDMETHODCALLTYPE *CreateInstance)(IClassFactory *This, IUnknown *pUnkOuter, REFIID riid, void **ppv);
    HRESULT(STDMETHODCALLTYPE *LockServer)(IClassFactory *This, BOOL fLock);
} IClassFactoryVtbl;

struct IClassFactory {
    const IClassFactoryVtbl *lpVtbl;
};
#endif

/* Interface IDs (guids.c); IID_IUnknown comes from methodmalloc. */
#ifndef MM_PLATFORM_CLASS_FACTORY
extern const IID IID_IClassFactory;
#endif
extern const IID IID_ICorProfilerCallback;
extern const IID IID_ICorProfilerCallback2;
extern const IID IID_ICorProfilerInfo;
/* Index v: version v (1..newest); index 0 unused. */
extern const IID *const IID_ICorProfilerCallback_v[MM_CALLBACK_NEWEST + 1];
extern const IID *const IID_ICorProfilerInfo_v[MM_INFO_NEWEST + 1];
extern const IID IID_IMetaDataImport;
extern const IID IID_IMetaDataImport2;
/* This profiler's class ID, {E7C0561D-4650-4F35-9D86-A69D58427C09}. */
extern const GUID CLSID_MethodMallocProfiler;

/* An object that implements a few ICorProfilerCallback2 methods takes the
 * rest from these: MM_CALLBACK2_DEFAULTS defines a static Default_Name for
 * every method, each returning MM_CALLBACK_DEFAULT(iface), a macro the file
 * defines first; MM_CALLBACK2_DEFAULT_SLOTS, first in a vtable's
 * initializer, puts them in every slot, and the designated initializers
 * after it put the file's own methods in theirs (with -Woverride-init off
 * for that initializer: MM_OVERRIDE_SLOTS_BEGIN/END). */
#define MM_DEFAULT_CALLBACK(slot, version, name, params, args)                                                       \
    __attribute__((unused)) static HRESULT STDMETHODCALLTYPE Default_##name(ICorProfilerCallback2 *iface             \
                                                                                MM_ARGS params)                      \
    {                                                                                                                \
        return MM_CALLBACK_DEFAULT(iface);                                                                           \
    }
#define MM_CALLBACK2_DEFAULTS                                                                                        \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wunused-parameter\"")                           \
        MM_CALLBACK1(MM_DEFAULT_CALLBACK) MM_CALLBACK2(MM_DEFAULT_CALLBACK) _Pragma("GCC diagnostic pop")
#define MM_DEFAULT_SLOT(slot, version, name, params, args) .name = Default_##name,
#define MM_CALLBACK2_DEFAULT_SLOTS MM_CALLBACK1(MM_DEFAULT_SLOT) MM_CALLBACK2(MM_DEFAULT_SLOT)
#define MM_OVERRIDE_SLOTS_BEGIN _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Woverride-init\"")
#define MM_OVERRIDE_SLOTS_END _Pragma("GCC diagnostic pop")

/* Slot numbers, counted from QueryInterface = 0, as corprof.idl and cor.h
 * order them. */
#define MM_SLOT(type, member) (offsetof(type, member) / sizeof(void (*)(void)))
/* Every slot of every profiling interface where the table says it is: a
 * table line out of order, or a missing one, fails here. */
#define MM_CHECK_CB2(slot, version, name, params, args)                                                               \
    _Static_assert(MM_SLOT(ICorProfilerCallback2Vtbl, name) == (slot), #name " slot");
#define MM_CHECK_CB11(slot, version, name, params, args)                                                              \
    _Static_assert(MM_SLOT(ICorProfilerCallback11Vtbl, name) == (slot), #name " slot");
#define MM_CHECK_INFO(slot, version, name, params, args)                                                              \
    _Static_assert(MM_SLOT(ICorProfilerInfoVtbl, name) == (slot), #name " slot");
MM_CALLBACK1(MM_CHECK_CB2)
MM_CALLBACK2(MM_CHECK_CB2)
MM_CALLBACK1(MM_CHECK_CB11)
MM_CALLBACK2(MM_CHECK_CB11)
MM_CALLBACK3_11(MM_CHECK_CB11)
MM_INFO1(MM_CHECK_INFO)
MM_INFO2_15(MM_CHECK_INFO)
#undef MM_CHECK_CB2
#undef MM_CHECK_CB11
#undef MM_CHECK_INFO
_Static_assert(sizeof(ICorProfilerCallback2Vtbl) == 80 * sizeof(void (*)(void)), "ICorProfilerCallback2 has 80 slots");
_Static_assert(sizeof(ICorProfilerCallback11Vtbl) == MM_CALLBACK_SLOTS * sizeof(void (*)(void)),
               "ICorProfilerCallback11 has 98 slots");
_Static_assert(sizeof(ICorProfilerInfoVtbl) == MM_INFO_SLOTS * sizeof(void (*)(void)),
               "ICorProfilerInfo15 has 115 slots");
_Static_assert(MM_SLOT(IMetaDataImportVtbl, FindTypeDefByName) == 9, "FindTypeDefByName slot");
_Static_assert(MM_SLOT(IMetaDataImportVtbl, EnumMethodsWithName) == 19, "EnumMethodsWithName slot");
_Static_assert(MM_SLOT(IMetaDataImportVtbl, GetMethodProps) == 30, "GetMethodProps slot");
_Static_assert(MM_SLOT(IMetaDataImportVtbl, GetMemberRefProps) == 31, "GetMemberRefProps slot");
_Static_assert(MM_SLOT(IMetaDataImportVtbl, GetSigFromToken) == 41, "GetSigFromToken slot");
_Static_assert(MM_SLOT(IMetaDataImportVtbl, GetNestedClassProps) == 62, "GetNestedClassProps slot");
_Static_assert(sizeof(IMetaDataImportVtbl) == 65 * sizeof(void (*)(void)), "IMetaDataImport has 65 slots");
_Static_assert(MM_SLOT(IMetaDataImport2Vtbl, GetMethodSpecProps) == 67, "GetMethodSpecProps slot");

#endif /* MM_PROFILER_CLRAPI_H */
