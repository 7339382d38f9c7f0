/*
 * The slice of the CLR profiling API this profiler uses, declared for C.
 *
 * Only what the profiler calls or implements is here: ICorProfilerCallback
 * and ICorProfilerCallback2 (implemented, so declared whole), ICorProfilerInfo
 * IMetaDataImport and IMetaDataImport2 (called, so declared up to the last
 * slot we call: a caller never needs the slots after it; slots between are
 * placeholders), IClassFactory.  Slot order follows
 * corprof.idl and cor.h of dotnet/runtime; the static assertions at the end
 * pin the slot numbers, because one slot off calls the wrong function inside
 * the runtime.
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

/* Enums passed by value or in arrays: 32-bit ints in the C ABI. */
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

/* COR_PRF_MONITOR bits we set. */
#define COR_PRF_MONITOR_MODULE_LOADS 0x00000004u
#define COR_PRF_MONITOR_ASSEMBLY_LOADS 0x00000008u
#define COR_PRF_MONITOR_JIT_COMPILATION 0x00000020u
#define COR_PRF_DISABLE_INLINING 0x00200000u
#define COR_PRF_DISABLE_ALL_NGEN_IMAGES 0x80000000u

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
typedef struct ICorProfilerInfo ICorProfilerInfo;
typedef struct IMetaDataImport IMetaDataImport;
typedef struct IMetaDataImport2 IMetaDataImport2;
#ifndef MM_PLATFORM_CLASS_FACTORY
typedef struct IClassFactory IClassFactory;
#endif

/* ---- ICorProfilerCallback + ICorProfilerCallback2 (implemented) ---- */
#define MM_CB ICorProfilerCallback2 *This
typedef struct ICorProfilerCallback2Vtbl {
    /* IUnknown */
    HRESULT(STDMETHODCALLTYPE *QueryInterface)(MM_CB, REFIID riid, void **ppv);
    ULONG(STDMETHODCALLTYPE *AddRef)(MM_CB);
    ULONG(STDMETHODCALLTYPE *Release)(MM_CB);
    /* ICorProfilerCallback: 69 methods */
    HRESULT(STDMETHODCALLTYPE *Initialize)(MM_CB, IUnknown *pICorProfilerInfoUnk);
    HRESULT(STDMETHODCALLTYPE *Shutdown)(MM_CB);
    HRESULT(STDMETHODCALLTYPE *AppDomainCreationStarted)(MM_CB, AppDomainID id);
    HRESULT(STDMETHODCALLTYPE *AppDomainCreationFinished)(MM_CB, AppDomainID id, HRESULT hrStatus);
    HRESULT(STDMETHODCALLTYPE *AppDomainShutdownStarted)(MM_CB, AppDomainID id);
    HRESULT(STDMETHODCALLTYPE *AppDomainShutdownFinished)(MM_CB, AppDomainID id, HRESULT hrStatus);
    HRESULT(STDMETHODCALLTYPE *AssemblyLoadStarted)(MM_CB, AssemblyID id);
    HRESULT(STDMETHODCALLTYPE *AssemblyLoadFinished)(MM_CB, AssemblyID id, HRESULT hrStatus);
    HRESULT(STDMETHODCALLTYPE *AssemblyUnloadStarted)(MM_CB, AssemblyID id);
    HRESULT(STDMETHODCALLTYPE *AssemblyUnloadFinished)(MM_CB, AssemblyID id, HRESULT hrStatus);
    HRESULT(STDMETHODCALLTYPE *ModuleLoadStarted)(MM_CB, ModuleID id);
    HRESULT(STDMETHODCALLTYPE *ModuleLoadFinished)(MM_CB, ModuleID id, HRESULT hrStatus);
    HRESULT(STDMETHODCALLTYPE *ModuleUnloadStarted)(MM_CB, ModuleID id);
    HRESULT(STDMETHODCALLTYPE *ModuleUnloadFinished)(MM_CB, ModuleID id, HRESULT hrStatus);
    HRESULT(STDMETHODCALLTYPE *ModuleAttachedToAssembly)(MM_CB, ModuleID id, AssemblyID assembly);
    HRESULT(STDMETHODCALLTYPE *ClassLoadStarted)(MM_CB, ClassID id);
    HRESULT(STDMETHODCALLTYPE *ClassLoadFinished)(MM_CB, ClassID id, HRESULT hrStatus);
    HRESULT(STDMETHODCALLTYPE *ClassUnloadStarted)(MM_CB, ClassID id);
    HRESULT(STDMETHODCALLTYPE *ClassUnloadFinished)(MM_CB, ClassID id, HRESULT hrStatus);
    HRESULT(STDMETHODCALLTYPE *FunctionUnloadStarted)(MM_CB, FunctionID id);
    HRESULT(STDMETHODCALLTYPE *JITCompilationStarted)(MM_CB, FunctionID id, BOOL fIsSafeToBlock);
    HRESULT(STDMETHODCALLTYPE *JITCompilationFinished)(MM_CB, FunctionID id, HRESULT hrStatus, BOOL fIsSafeToBlock);
    HRESULT(STDMETHODCALLTYPE *JITCachedFunctionSearchStarted)(MM_CB, FunctionID id, BOOL *pbUseCachedFunction);
    HRESULT(STDMETHODCALLTYPE *JITCachedFunctionSearchFinished)(MM_CB, FunctionID id, COR_PRF_JIT_CACHE result);
    HRESULT(STDMETHODCALLTYPE *JITFunctionPitched)(MM_CB, FunctionID id);
    HRESULT(STDMETHODCALLTYPE *JITInlining)(MM_CB, FunctionID caller, FunctionID callee, BOOL *pfShouldInline);
    HRESULT(STDMETHODCALLTYPE *ThreadCreated)(MM_CB, ThreadID id);
    HRESULT(STDMETHODCALLTYPE *ThreadDestroyed)(MM_CB, ThreadID id);
    HRESULT(STDMETHODCALLTYPE *ThreadAssignedToOSThread)(MM_CB, ThreadID id, DWORD osThreadId);
    HRESULT(STDMETHODCALLTYPE *RemotingClientInvocationStarted)(MM_CB);
    HRESULT(STDMETHODCALLTYPE *RemotingClientSendingMessage)(MM_CB, GUID *pCookie, BOOL fIsAsync);
    HRESULT(STDMETHODCALLTYPE *RemotingClientReceivingReply)(MM_CB, GUID *pCookie, BOOL fIsAsync);
    HRESULT(STDMETHODCALLTYPE *RemotingClientInvocationFinished)(MM_CB);
    HRESULT(STDMETHODCALLTYPE *RemotingServerReceivingMessage)(MM_CB, GUID *pCookie, BOOL fIsAsync);
    HRESULT(STDMETHODCALLTYPE *RemotingServerInvocationStarted)(MM_CB);
    HRESULT(STDMETHODCALLTYPE *RemotingServerInvocationReturned)(MM_CB);
    HRESULT(STDMETHODCALLTYPE *RemotingServerSendingReply)(MM_CB, GUID *pCookie, BOOL fIsAsync);
    HRESULT(STDMETHODCALLTYPE *UnmanagedToManagedTransition)(MM_CB, FunctionID id, COR_PRF_TRANSITION_REASON reason);
    HRESULT(STDMETHODCALLTYPE *ManagedToUnmanagedTransition)(MM_CB, FunctionID id, COR_PRF_TRANSITION_REASON reason);
    HRESULT(STDMETHODCALLTYPE *RuntimeSuspendStarted)(MM_CB, COR_PRF_SUSPEND_REASON reason);
    HRESULT(STDMETHODCALLTYPE *RuntimeSuspendFinished)(MM_CB);
    HRESULT(STDMETHODCALLTYPE *RuntimeSuspendAborted)(MM_CB);
    HRESULT(STDMETHODCALLTYPE *RuntimeResumeStarted)(MM_CB);
    HRESULT(STDMETHODCALLTYPE *RuntimeResumeFinished)(MM_CB);
    HRESULT(STDMETHODCALLTYPE *RuntimeThreadSuspended)(MM_CB, ThreadID id);
    HRESULT(STDMETHODCALLTYPE *RuntimeThreadResumed)(MM_CB, ThreadID id);
    HRESULT(STDMETHODCALLTYPE *MovedReferences)(MM_CB, ULONG cRanges, ObjectID oldStart[], ObjectID newStart[],
                                                ULONG length[]);
    HRESULT(STDMETHODCALLTYPE *ObjectAllocated)(MM_CB, ObjectID id, ClassID cls);
    HRESULT(STDMETHODCALLTYPE *ObjectsAllocatedByClass)(MM_CB, ULONG cClassCount, ClassID classIds[], ULONG cObjects[]);
    HRESULT(STDMETHODCALLTYPE *ObjectReferences)(MM_CB, ObjectID id, ClassID cls, ULONG cRefs, ObjectID refs[]);
    HRESULT(STDMETHODCALLTYPE *RootReferences)(MM_CB, ULONG cRootRefs, ObjectID rootRefIds[]);
    HRESULT(STDMETHODCALLTYPE *ExceptionThrown)(MM_CB, ObjectID thrown);
    HRESULT(STDMETHODCALLTYPE *ExceptionSearchFunctionEnter)(MM_CB, FunctionID id);
    HRESULT(STDMETHODCALLTYPE *ExceptionSearchFunctionLeave)(MM_CB);
    HRESULT(STDMETHODCALLTYPE *ExceptionSearchFilterEnter)(MM_CB, FunctionID id);
    HRESULT(STDMETHODCALLTYPE *ExceptionSearchFilterLeave)(MM_CB);
    HRESULT(STDMETHODCALLTYPE *ExceptionSearchCatcherFound)(MM_CB, FunctionID id);
    HRESULT(STDMETHODCALLTYPE *ExceptionOSHandlerEnter)(MM_CB, UINT_PTR unused);
    HRESULT(STDMETHODCALLTYPE *ExceptionOSHandlerLeave)(MM_CB, UINT_PTR unused);
    HRESULT(STDMETHODCALLTYPE *ExceptionUnwindFunctionEnter)(MM_CB, FunctionID id);
    HRESULT(STDMETHODCALLTYPE *ExceptionUnwindFunctionLeave)(MM_CB);
    HRESULT(STDMETHODCALLTYPE *ExceptionUnwindFinallyEnter)(MM_CB, FunctionID id);
    HRESULT(STDMETHODCALLTYPE *ExceptionUnwindFinallyLeave)(MM_CB);
    HRESULT(STDMETHODCALLTYPE *ExceptionCatcherEnter)(MM_CB, FunctionID id, ObjectID obj);
    HRESULT(STDMETHODCALLTYPE *ExceptionCatcherLeave)(MM_CB);
    HRESULT(STDMETHODCALLTYPE *COMClassicVTableCreated)(MM_CB, ClassID cls, REFGUID iid, void *pVTable, ULONG cSlots);
    HRESULT(STDMETHODCALLTYPE *COMClassicVTableDestroyed)(MM_CB, ClassID cls, REFGUID iid, void *pVTable);
    HRESULT(STDMETHODCALLTYPE *ExceptionCLRCatcherFound)(MM_CB);
    HRESULT(STDMETHODCALLTYPE *ExceptionCLRCatcherExecute)(MM_CB);
    /* ICorProfilerCallback2: 8 methods */
    HRESULT(STDMETHODCALLTYPE *ThreadNameChanged)(MM_CB, ThreadID id, ULONG cchName, WCHAR name[]);
    HRESULT(STDMETHODCALLTYPE *GarbageCollectionStarted)(MM_CB, int cGenerations, BOOL generationCollected[],
                                                         COR_PRF_GC_REASON reason);
    HRESULT(STDMETHODCALLTYPE *SurvivingReferences)(MM_CB, ULONG cRanges, ObjectID start[], ULONG length[]);
    HRESULT(STDMETHODCALLTYPE *GarbageCollectionFinished)(MM_CB);
    HRESULT(STDMETHODCALLTYPE *FinalizeableObjectQueued)(MM_CB, DWORD finalizerFlags, ObjectID obj);
    HRESULT(STDMETHODCALLTYPE *RootReferences2)(MM_CB, ULONG cRootRefs, ObjectID rootRefIds[],
                                                COR_PRF_GC_ROOT_KIND rootKinds[], COR_PRF_GC_ROOT_FLAGS rootFlags[],
                                                UINT_PTR rootIds[]);
    HRESULT(STDMETHODCALLTYPE *HandleCreated)(MM_CB, GCHandleID handle, ObjectID initialObject);
    HRESULT(STDMETHODCALLTYPE *HandleDestroyed)(MM_CB, GCHandleID handle);
} ICorProfilerCallback2Vtbl;
#undef MM_CB

struct ICorProfilerCallback2 {
    const ICorProfilerCallback2Vtbl *lpVtbl;
};

/* ---- ICorProfilerInfo (called; declared through SetILFunctionBody) ---- */
#define MM_PI ICorProfilerInfo *This
typedef struct ICorProfilerInfoVtbl {
    HRESULT(STDMETHODCALLTYPE *QueryInterface)(MM_PI, REFIID riid, void **ppv);
    ULONG(STDMETHODCALLTYPE *AddRef)(MM_PI);
    ULONG(STDMETHODCALLTYPE *Release)(MM_PI);
    HRESULT(STDMETHODCALLTYPE *GetClassFromObject)(MM_PI, ObjectID obj, ClassID *pClassId);
    HRESULT(STDMETHODCALLTYPE *GetClassFromToken)(MM_PI, ModuleID mod, mdTypeDef typeDef, ClassID *pClassId);
    HRESULT(STDMETHODCALLTYPE *GetCodeInfo)(MM_PI, FunctionID fn, LPCBYTE *pStart, ULONG *pcSize);
    HRESULT(STDMETHODCALLTYPE *GetEventMask)(MM_PI, DWORD *pdwEvents);
    HRESULT(STDMETHODCALLTYPE *GetFunctionFromIP)(MM_PI, LPCBYTE ip, FunctionID *pFunctionId);
    HRESULT(STDMETHODCALLTYPE *GetFunctionFromToken)(MM_PI, ModuleID mod, mdToken token, FunctionID *pFunctionId);
    HRESULT(STDMETHODCALLTYPE *GetHandleFromThread)(MM_PI, ThreadID thread, HANDLE *phThread);
    HRESULT(STDMETHODCALLTYPE *GetObjectSize)(MM_PI, ObjectID obj, ULONG *pcSize);
    HRESULT(STDMETHODCALLTYPE *IsArrayClass)(MM_PI, ClassID cls, uint32_t *pBaseElemType, ClassID *pBaseClassId,
                                             ULONG *pcRank);
    HRESULT(STDMETHODCALLTYPE *GetThreadInfo)(MM_PI, ThreadID thread, DWORD *pdwWin32ThreadId);
    HRESULT(STDMETHODCALLTYPE *GetCurrentThreadID)(MM_PI, ThreadID *pThreadId);
    HRESULT(STDMETHODCALLTYPE *GetClassIDInfo)(MM_PI, ClassID cls, ModuleID *pModuleId, mdTypeDef *pTypeDefToken);
    HRESULT(STDMETHODCALLTYPE *GetFunctionInfo)(MM_PI, FunctionID fn, ClassID *pClassId, ModuleID *pModuleId,
                                                mdToken *pToken);
    HRESULT(STDMETHODCALLTYPE *SetEventMask)(MM_PI, DWORD dwEvents);
    HRESULT(STDMETHODCALLTYPE *SetEnterLeaveFunctionHooks)(MM_PI, void *pFuncEnter, void *pFuncLeave,
                                                           void *pFuncTailcall);
    HRESULT(STDMETHODCALLTYPE *SetFunctionIDMapper)(MM_PI, void *pFunc);
    HRESULT(STDMETHODCALLTYPE *GetTokenAndMetaDataFromFunction)(MM_PI, FunctionID fn, REFIID riid,
                                                                IUnknown **ppImport, mdToken *pToken);
    HRESULT(STDMETHODCALLTYPE *GetModuleInfo)(MM_PI, ModuleID mod, LPCBYTE *ppBaseLoadAddress, ULONG cchName,
                                              ULONG *pcchName, WCHAR szName[], AssemblyID *pAssemblyId);
    HRESULT(STDMETHODCALLTYPE *GetModuleMetaData)(MM_PI, ModuleID mod, DWORD dwOpenFlags, REFIID riid,
                                                  IUnknown **ppOut);
    HRESULT(STDMETHODCALLTYPE *GetILFunctionBody)(MM_PI, ModuleID mod, mdMethodDef method, LPCBYTE *ppMethodHeader,
                                                  ULONG *pcbMethodSize);
    HRESULT(STDMETHODCALLTYPE *GetILFunctionBodyAllocator)(MM_PI, ModuleID mod, IMethodMalloc **ppMalloc);
    HRESULT(STDMETHODCALLTYPE *SetILFunctionBody)(MM_PI, ModuleID mod, mdMethodDef method,
                                                  LPCBYTE pbNewILMethodHeader);
} ICorProfilerInfoVtbl;
#undef MM_PI

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
extern const IID IID_IMetaDataImport;
extern const IID IID_IMetaDataImport2;
/* This profiler's class ID, {E7C0561D-4650-4F35-9D86-A69D58427C09}. */
extern const GUID CLSID_MethodMallocProfiler;

/* Slot numbers, counted from QueryInterface = 0, as corprof.idl and cor.h
 * order them. */
#define MM_SLOT(type, member) (offsetof(type, member) / sizeof(void (*)(void)))
_Static_assert(MM_SLOT(ICorProfilerCallback2Vtbl, Initialize) == 3, "Initialize slot");
_Static_assert(MM_SLOT(ICorProfilerCallback2Vtbl, ModuleLoadFinished) == 14, "ModuleLoadFinished slot");
_Static_assert(MM_SLOT(ICorProfilerCallback2Vtbl, ModuleUnloadFinished) == 16, "ModuleUnloadFinished slot");
_Static_assert(MM_SLOT(ICorProfilerCallback2Vtbl, JITCompilationStarted) == 23, "JITCompilationStarted slot");
_Static_assert(MM_SLOT(ICorProfilerCallback2Vtbl, ExceptionCLRCatcherExecute) == 71, "last ICorProfilerCallback slot");
_Static_assert(MM_SLOT(ICorProfilerCallback2Vtbl, HandleDestroyed) == 79, "last ICorProfilerCallback2 slot");
_Static_assert(sizeof(ICorProfilerCallback2Vtbl) == 80 * sizeof(void (*)(void)), "ICorProfilerCallback2 has 80 slots");
_Static_assert(MM_SLOT(ICorProfilerInfoVtbl, GetFunctionInfo) == 15, "GetFunctionInfo slot");
_Static_assert(MM_SLOT(ICorProfilerInfoVtbl, SetEventMask) == 16, "SetEventMask slot");
_Static_assert(MM_SLOT(ICorProfilerInfoVtbl, GetModuleInfo) == 20, "GetModuleInfo slot");
_Static_assert(MM_SLOT(ICorProfilerInfoVtbl, SetILFunctionBody) == 24, "SetILFunctionBody slot");
_Static_assert(MM_SLOT(IMetaDataImportVtbl, FindTypeDefByName) == 9, "FindTypeDefByName slot");
_Static_assert(MM_SLOT(IMetaDataImportVtbl, EnumMethodsWithName) == 19, "EnumMethodsWithName slot");
_Static_assert(MM_SLOT(IMetaDataImportVtbl, GetMethodProps) == 30, "GetMethodProps slot");
_Static_assert(MM_SLOT(IMetaDataImportVtbl, GetMemberRefProps) == 31, "GetMemberRefProps slot");
_Static_assert(MM_SLOT(IMetaDataImportVtbl, GetSigFromToken) == 41, "GetSigFromToken slot");
_Static_assert(MM_SLOT(IMetaDataImportVtbl, GetNestedClassProps) == 62, "GetNestedClassProps slot");
_Static_assert(sizeof(IMetaDataImportVtbl) == 65 * sizeof(void (*)(void)), "IMetaDataImport has 65 slots");
_Static_assert(MM_SLOT(IMetaDataImport2Vtbl, GetMethodSpecProps) == 67, "GetMethodSpecProps slot");

#endif /* MM_PROFILER_CLRAPI_H */
