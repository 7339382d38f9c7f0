/* Stands in for CoreCLR's PAL headers on Linux (pal_mstypes.h, rpc.h,
 * unknwn.h): the same names, types and guard macros, declared the way they
 * declare them, so that methodmalloc.h is compiled after them as a profiler
 * built against the runtime's headers would. */
#ifndef PAL_LIKE_H
#define PAL_LIKE_H

typedef int LONG;
typedef unsigned int ULONG;
typedef LONG HRESULT;
typedef void *PVOID;

#define GUID_DEFINED
typedef struct _GUID {
    ULONG Data1;
    unsigned short Data2;
    unsigned short Data3;
    unsigned char Data4[8];
} GUID;
typedef GUID IID;
#define __IID_DEFINED__
#define _REFIID_DEFINED
#ifdef __cplusplus
#define REFIID const IID &
#else
#define REFIID const IID *
#endif

#define STDMETHODCALLTYPE
#define S_OK ((HRESULT)0x00000000L)
#define E_NOINTERFACE ((HRESULT)0x80004002L)
#define E_POINTER ((HRESULT)0x80004003L)
#define E_INVALIDARG ((HRESULT)0x80070057L)
#define E_OUTOFMEMORY ((HRESULT)0x8007000EL)
#define SUCCEEDED(Status) ((HRESULT)(Status) >= 0)
#define FAILED(Status) ((HRESULT)(Status) < 0)

#ifdef __cplusplus
extern "C" const IID IID_IUnknown;
#define __IUnknown_INTERFACE_DEFINED__
struct IUnknown {
    virtual HRESULT STDMETHODCALLTYPE QueryInterface(REFIID riid, void **ppvObject) = 0;
    virtual ULONG STDMETHODCALLTYPE AddRef() = 0;
    virtual ULONG STDMETHODCALLTYPE Release() = 0;
};
/* As corprof.h declares it for C++. */
#define __IMethodMalloc_FWD_DEFINED__
#define __IMethodMalloc_INTERFACE_DEFINED__
extern "C" const IID IID_IMethodMalloc;
struct IMethodMalloc : public IUnknown {
    virtual PVOID STDMETHODCALLTYPE Alloc(ULONG cb) = 0;
};
#else
#define __IUnknown_INTERFACE_DEFINED__
typedef struct IUnknown IUnknown;
typedef struct IUnknownVtbl {
    HRESULT(STDMETHODCALLTYPE *QueryInterface)(IUnknown *This, REFIID riid, void **ppvObject);
    ULONG(STDMETHODCALLTYPE *AddRef)(IUnknown *This);
    ULONG(STDMETHODCALLTYPE *Release)(IUnknown *This);
} IUnknownVtbl;
struct IUnknown {
    const IUnknownVtbl *lpVtbl;
};
#endif

#endif
