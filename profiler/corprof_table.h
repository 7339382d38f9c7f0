/*
 * Every method of ICorProfilerCallback (versions 1 to 11) and
 * ICorProfilerInfo (versions 1 to 15), as tables: one line per method,
 *     X(slot, version, Name, (, type param, ...), (, param, ...))
 * slot counted from QueryInterface = 0, version the interface that added
 * the method.  The parameter lists start with a comma so that the user
 * can put `This` in front (MM_ARGS below); a method without parameters
 * has ().  Order, names and slots are those of dotnet/runtime's
 * src/coreclr/inc/corprof.idl; clrapi.h builds the vtables from these
 * tables and pins every slot with a static assertion, and the host
 * (host/) builds its forwarders from them.
 *
 * Types keep only what the C calling convention needs: opaque structures
 * by pointer, enums as 32-bit integers, function pointers as void *.  The
 * one structure passed by value (COR_PRF_EVENTPIPE_PROVIDER_CONFIG) is
 * declared whole in clrapi.h.
 */
#ifndef MM_PROFILER_CORPROF_TABLE_H
#define MM_PROFILER_CORPROF_TABLE_H

/* (, a, b) -> , a, b  and () -> nothing */
#define MM_ARGS(...) __VA_ARGS__

/* ---- ICorProfilerCallback, slots 3..71 ---- */
#define MM_CALLBACK1(X)                                                                                              \
    X(3, 1, Initialize, (, IUnknown * pICorProfilerInfoUnk), (, pICorProfilerInfoUnk))                              \
    X(4, 1, Shutdown, (), ())                                                                                        \
    X(5, 1, AppDomainCreationStarted, (, AppDomainID appDomainId), (, appDomainId))                                  \
    X(6, 1, AppDomainCreationFinished, (, AppDomainID appDomainId, HRESULT hrStatus), (, appDomainId, hrStatus))     \
    X(7, 1, AppDomainShutdownStarted, (, AppDomainID appDomainId), (, appDomainId))                                  \
    X(8, 1, AppDomainShutdownFinished, (, AppDomainID appDomainId, HRESULT hrStatus), (, appDomainId, hrStatus))     \
    X(9, 1, AssemblyLoadStarted, (, AssemblyID assemblyId), (, assemblyId))                                          \
    X(10, 1, AssemblyLoadFinished, (, AssemblyID assemblyId, HRESULT hrStatus), (, assemblyId, hrStatus))            \
    X(11, 1, AssemblyUnloadStarted, (, AssemblyID assemblyId), (, assemblyId))                                       \
    X(12, 1, AssemblyUnloadFinished, (, AssemblyID assemblyId, HRESULT hrStatus), (, assemblyId, hrStatus))          \
    X(13, 1, ModuleLoadStarted, (, ModuleID moduleId), (, moduleId))                                                 \
    X(14, 1, ModuleLoadFinished, (, ModuleID moduleId, HRESULT hrStatus), (, moduleId, hrStatus))                    \
    X(15, 1, ModuleUnloadStarted, (, ModuleID moduleId), (, moduleId))                                               \
    X(16, 1, ModuleUnloadFinished, (, ModuleID moduleId, HRESULT hrStatus), (, moduleId, hrStatus))                  \
    X(17, 1, ModuleAttachedToAssembly, (, ModuleID moduleId, AssemblyID AssemblyId), (, moduleId, AssemblyId))       \
    X(18, 1, ClassLoadStarted, (, ClassID classId), (, classId))                                                     \
    X(19, 1, ClassLoadFinished, (, ClassID classId, HRESULT hrStatus), (, classId, hrStatus))                        \
    X(20, 1, ClassUnloadStarted, (, ClassID classId), (, classId))                                                   \
    X(21, 1, ClassUnloadFinished, (, ClassID classId, HRESULT hrStatus), (, classId, hrStatus))                      \
    X(22, 1, FunctionUnloadStarted, (, FunctionID functionId), (, functionId))                                       \
    X(23, 1, JITCompilationStarted, (, FunctionID functionId, BOOL fIsSafeToBlock), (, functionId, fIsSafeToBlock))  \
    X(24, 1, JITCompilationFinished, (, FunctionID functionId, HRESULT hrStatus, BOOL fIsSafeToBlock),               \
      (, functionId, hrStatus, fIsSafeToBlock))                                                                      \
    X(25, 1, JITCachedFunctionSearchStarted, (, FunctionID functionId, BOOL * pbUseCachedFunction),                  \
      (, functionId, pbUseCachedFunction))                                                                           \
    X(26, 1, JITCachedFunctionSearchFinished, (, FunctionID functionId, COR_PRF_JIT_CACHE result),                   \
      (, functionId, result))                                                                                        \
    X(27, 1, JITFunctionPitched, (, FunctionID functionId), (, functionId))                                          \
    X(28, 1, JITInlining, (, FunctionID callerId, FunctionID calleeId, BOOL * pfShouldInline),                       \
      (, callerId, calleeId, pfShouldInline))                                                                        \
    X(29, 1, ThreadCreated, (, ThreadID threadId), (, threadId))                                                     \
    X(30, 1, ThreadDestroyed, (, ThreadID threadId), (, threadId))                                                   \
    X(31, 1, ThreadAssignedToOSThread, (, ThreadID managedThreadId, DWORD osThreadId),                               \
      (, managedThreadId, osThreadId))                                                                               \
    X(32, 1, RemotingClientInvocationStarted, (), ())                                                                \
    X(33, 1, RemotingClientSendingMessage, (, GUID * pCookie, BOOL fIsAsync), (, pCookie, fIsAsync))                 \
    X(34, 1, RemotingClientReceivingReply, (, GUID * pCookie, BOOL fIsAsync), (, pCookie, fIsAsync))                 \
    X(35, 1, RemotingClientInvocationFinished, (), ())                                                               \
    X(36, 1, RemotingServerReceivingMessage, (, GUID * pCookie, BOOL fIsAsync), (, pCookie, fIsAsync))               \
    X(37, 1, RemotingServerInvocationStarted, (), ())                                                                \
    X(38, 1, RemotingServerInvocationReturned, (), ())                                                               \
    X(39, 1, RemotingServerSendingReply, (, GUID * pCookie, BOOL fIsAsync), (, pCookie, fIsAsync))                   \
    X(40, 1, UnmanagedToManagedTransition, (, FunctionID functionId, COR_PRF_TRANSITION_REASON reason),              \
      (, functionId, reason))                                                                                        \
    X(41, 1, ManagedToUnmanagedTransition, (, FunctionID functionId, COR_PRF_TRANSITION_REASON reason),              \
      (, functionId, reason))                                                                                        \
    X(42, 1, RuntimeSuspendStarted, (, COR_PRF_SUSPEND_REASON suspendReason), (, suspendReason))                     \
    X(43, 1, RuntimeSuspendFinished, (), ())                                                                         \
    X(44, 1, RuntimeSuspendAborted, (), ())                                                                          \
    X(45, 1, RuntimeResumeStarted, (), ())                                                                           \
    X(46, 1, RuntimeResumeFinished, (), ())                                                                          \
    X(47, 1, RuntimeThreadSuspended, (, ThreadID threadId), (, threadId))                                            \
    X(48, 1, RuntimeThreadResumed, (, ThreadID threadId), (, threadId))                                              \
    X(49, 1, MovedReferences,                                                                                        \
      (, ULONG cMovedObjectIDRanges, ObjectID * oldObjectIDRangeStart, ObjectID * newObjectIDRangeStart,             \
       ULONG * cObjectIDRangeLength),                                                                                \
      (, cMovedObjectIDRanges, oldObjectIDRangeStart, newObjectIDRangeStart, cObjectIDRangeLength))                  \
    X(50, 1, ObjectAllocated, (, ObjectID objectId, ClassID classId), (, objectId, classId))                         \
    X(51, 1, ObjectsAllocatedByClass, (, ULONG cClassCount, ClassID * classIds, ULONG * cObjects),                   \
      (, cClassCount, classIds, cObjects))                                                                           \
    X(52, 1, ObjectReferences, (, ObjectID objectId, ClassID classId, ULONG cObjectRefs, ObjectID * objectRefIds),   \
      (, objectId, classId, cObjectRefs, objectRefIds))                                                              \
    X(53, 1, RootReferences, (, ULONG cRootRefs, ObjectID * rootRefIds), (, cRootRefs, rootRefIds))                  \
    X(54, 1, ExceptionThrown, (, ObjectID thrownObjectId), (, thrownObjectId))                                       \
    X(55, 1, ExceptionSearchFunctionEnter, (, FunctionID functionId), (, functionId))                                \
    X(56, 1, ExceptionSearchFunctionLeave, (), ())                                                                   \
    X(57, 1, ExceptionSearchFilterEnter, (, FunctionID functionId), (, functionId))                                  \
    X(58, 1, ExceptionSearchFilterLeave, (), ())                                                                     \
    X(59, 1, ExceptionSearchCatcherFound, (, FunctionID functionId), (, functionId))                                 \
    X(60, 1, ExceptionOSHandlerEnter, (, UINT_PTR unusedArg), (, unusedArg))                                           \
    X(61, 1, ExceptionOSHandlerLeave, (, UINT_PTR unusedArg), (, unusedArg))                                           \
    X(62, 1, ExceptionUnwindFunctionEnter, (, FunctionID functionId), (, functionId))                                \
    X(63, 1, ExceptionUnwindFunctionLeave, (), ())                                                                   \
    X(64, 1, ExceptionUnwindFinallyEnter, (, FunctionID functionId), (, functionId))                                 \
    X(65, 1, ExceptionUnwindFinallyLeave, (), ())                                                                    \
    X(66, 1, ExceptionCatcherEnter, (, FunctionID functionId, ObjectID objectId), (, functionId, objectId))          \
    X(67, 1, ExceptionCatcherLeave, (), ())                                                                          \
    X(68, 1, COMClassicVTableCreated, (, ClassID wrappedClassId, REFGUID implementedIID, void *pVTable, ULONG cSlots), \
      (, wrappedClassId, implementedIID, pVTable, cSlots))                                                           \
    X(69, 1, COMClassicVTableDestroyed, (, ClassID wrappedClassId, REFGUID implementedIID, void *pVTable),           \
      (, wrappedClassId, implementedIID, pVTable))                                                                   \
    X(70, 1, ExceptionCLRCatcherFound, (), ())                                                                       \
    X(71, 1, ExceptionCLRCatcherExecute, (), ())

/* ---- ICorProfilerCallback2 .. 11, slots 72..97 ---- */
#define MM_CALLBACK2(X)                                                                                              \
    X(72, 2, ThreadNameChanged, (, ThreadID threadId, ULONG cchName, WCHAR * name), (, threadId, cchName, name))     \
    X(73, 2, GarbageCollectionStarted, (, int cGenerations, BOOL *generationCollected, COR_PRF_GC_REASON reason),    \
      (, cGenerations, generationCollected, reason))                                                                 \
    X(74, 2, SurvivingReferences,                                                                                    \
      (, ULONG cSurvivingObjectIDRanges, ObjectID * objectIDRangeStart, ULONG * cObjectIDRangeLength),               \
      (, cSurvivingObjectIDRanges, objectIDRangeStart, cObjectIDRangeLength))                                        \
    X(75, 2, GarbageCollectionFinished, (), ())                                                                      \
    X(76, 2, FinalizeableObjectQueued, (, DWORD finalizerFlags, ObjectID objectID), (, finalizerFlags, objectID))    \
    X(77, 2, RootReferences2,                                                                                        \
      (, ULONG cRootRefs, ObjectID * rootRefIds, COR_PRF_GC_ROOT_KIND * rootKinds, COR_PRF_GC_ROOT_FLAGS * rootFlags, \
       UINT_PTR * rootIds),                                                                                          \
      (, cRootRefs, rootRefIds, rootKinds, rootFlags, rootIds))                                                      \
    X(78, 2, HandleCreated, (, GCHandleID handleId, ObjectID initialObjectId), (, handleId, initialObjectId))         \
    X(79, 2, HandleDestroyed, (, GCHandleID handleId), (, handleId))

#define MM_CALLBACK3_11(X)                                                                                           \
    X(80, 3, InitializeForAttach, (, IUnknown * pCorProfilerInfoUnk, void *pvClientData, UINT cbClientData),         \
      (, pCorProfilerInfoUnk, pvClientData, cbClientData))                                                           \
    X(81, 3, ProfilerAttachComplete, (), ())                                                                         \
    X(82, 3, ProfilerDetachSucceeded, (), ())                                                                        \
    X(83, 4, ReJITCompilationStarted, (, FunctionID functionId, ReJITID rejitId, BOOL fIsSafeToBlock),               \
      (, functionId, rejitId, fIsSafeToBlock))                                                                       \
    X(84, 4, GetReJITParameters, (, ModuleID moduleId, mdMethodDef methodId, IUnknown * pFunctionControl),           \
      (, moduleId, methodId, pFunctionControl))                                                                      \
    X(85, 4, ReJITCompilationFinished, (, FunctionID functionId, ReJITID rejitId, HRESULT hrStatus, BOOL fIsSafeToBlock), \
      (, functionId, rejitId, hrStatus, fIsSafeToBlock))                                                             \
    X(86, 4, ReJITError, (, ModuleID moduleId, mdMethodDef methodId, FunctionID functionId, HRESULT hrStatus),       \
      (, moduleId, methodId, functionId, hrStatus))                                                                  \
    X(87, 4, MovedReferences2,                                                                                       \
      (, ULONG cMovedObjectIDRanges, ObjectID * oldObjectIDRangeStart, ObjectID * newObjectIDRangeStart,             \
       SIZE_T * cObjectIDRangeLength),                                                                               \
      (, cMovedObjectIDRanges, oldObjectIDRangeStart, newObjectIDRangeStart, cObjectIDRangeLength))                  \
    X(88, 4, SurvivingReferences2,                                                                                   \
      (, ULONG cSurvivingObjectIDRanges, ObjectID * objectIDRangeStart, SIZE_T * cObjectIDRangeLength),              \
      (, cSurvivingObjectIDRanges, objectIDRangeStart, cObjectIDRangeLength))                                        \
    X(89, 5, ConditionalWeakTableElementReferences,                                                                  \
      (, ULONG cRootRefs, ObjectID * keyRefIds, ObjectID * valueRefIds, GCHandleID * rootIds),                       \
      (, cRootRefs, keyRefIds, valueRefIds, rootIds))                                                                \
    X(90, 6, GetAssemblyReferences, (, const WCHAR *wszAssemblyPath, IUnknown *pAsmRefProvider),                     \
      (, wszAssemblyPath, pAsmRefProvider))                                                                          \
    X(91, 7, ModuleInMemorySymbolsUpdated, (, ModuleID moduleId), (, moduleId))                                      \
    X(92, 8, DynamicMethodJITCompilationStarted,                                                                     \
      (, FunctionID functionId, BOOL fIsSafeToBlock, LPCBYTE pILHeader, ULONG cbILHeader),                           \
      (, functionId, fIsSafeToBlock, pILHeader, cbILHeader))                                                         \
    X(93, 8, DynamicMethodJITCompilationFinished, (, FunctionID functionId, HRESULT hrStatus, BOOL fIsSafeToBlock),  \
      (, functionId, hrStatus, fIsSafeToBlock))                                                                      \
    X(94, 9, DynamicMethodUnloaded, (, FunctionID functionId), (, functionId))                                       \
    X(95, 10, EventPipeEventDelivered,                                                                               \
      (, EVENTPIPE_PROVIDER provider, DWORD eventId, DWORD eventVersion, ULONG cbMetadataBlob, LPCBYTE metadataBlob, \
       ULONG cbEventData, LPCBYTE eventData, LPCGUID pActivityId, LPCGUID pRelatedActivityId, ThreadID eventThread,  \
       ULONG numStackFrames, UINT_PTR *stackFrames),                                                                 \
      (, provider, eventId, eventVersion, cbMetadataBlob, metadataBlob, cbEventData, eventData, pActivityId,         \
       pRelatedActivityId, eventThread, numStackFrames, stackFrames))                                                \
    X(96, 10, EventPipeProviderCreated, (, EVENTPIPE_PROVIDER provider), (, provider))                               \
    X(97, 11, LoadAsNotificationOnly, (, BOOL * pbNotificationOnly), (, pbNotificationOnly))

#define MM_CALLBACK_SLOTS 98
#define MM_CALLBACK_NEWEST 11

/* ---- ICorProfilerInfo, slots 3..35 ---- */
#define MM_INFO1(X)                                                                                                  \
    X(3, 1, GetClassFromObject, (, ObjectID objectId, ClassID * pClassId), (, objectId, pClassId))                   \
    X(4, 1, GetClassFromToken, (, ModuleID moduleId, mdTypeDef typeDef, ClassID * pClassId),                         \
      (, moduleId, typeDef, pClassId))                                                                               \
    X(5, 1, GetCodeInfo, (, FunctionID functionId, LPCBYTE * pStart, ULONG * pcSize), (, functionId, pStart, pcSize)) \
    X(6, 1, GetEventMask, (, DWORD * pdwEvents), (, pdwEvents))                                                      \
    X(7, 1, GetFunctionFromIP, (, LPCBYTE ip, FunctionID * pFunctionId), (, ip, pFunctionId))                        \
    X(8, 1, GetFunctionFromToken, (, ModuleID moduleId, mdToken token, FunctionID * pFunctionId),                    \
      (, moduleId, token, pFunctionId))                                                                              \
    X(9, 1, GetHandleFromThread, (, ThreadID threadId, HANDLE * phThread), (, threadId, phThread))                   \
    X(10, 1, GetObjectSize, (, ObjectID objectId, ULONG * pcSize), (, objectId, pcSize))                             \
    X(11, 1, IsArrayClass, (, ClassID classId, CorElementType * pBaseElemType, ClassID * pBaseClassId, ULONG * pcRank), \
      (, classId, pBaseElemType, pBaseClassId, pcRank))                                                              \
    X(12, 1, GetThreadInfo, (, ThreadID threadId, DWORD * pdwWin32ThreadId), (, threadId, pdwWin32ThreadId))         \
    X(13, 1, GetCurrentThreadID, (, ThreadID * pThreadId), (, pThreadId))                                            \
    X(14, 1, GetClassIDInfo, (, ClassID classId, ModuleID * pModuleId, mdTypeDef * pTypeDefToken),                   \
      (, classId, pModuleId, pTypeDefToken))                                                                         \
    X(15, 1, GetFunctionInfo, (, FunctionID functionId, ClassID * pClassId, ModuleID * pModuleId, mdToken * pToken), \
      (, functionId, pClassId, pModuleId, pToken))                                                                   \
    X(16, 1, SetEventMask, (, DWORD dwEvents), (, dwEvents))                                                         \
    X(17, 1, SetEnterLeaveFunctionHooks, (, void *pFuncEnter, void *pFuncLeave, void *pFuncTailcall),                \
      (, pFuncEnter, pFuncLeave, pFuncTailcall))                                                                     \
    X(18, 1, SetFunctionIDMapper, (, void *pFunc), (, pFunc))                                                        \
    X(19, 1, GetTokenAndMetaDataFromFunction, (, FunctionID functionId, REFIID riid, IUnknown * *ppImport, mdToken * pToken), \
      (, functionId, riid, ppImport, pToken))                                                                        \
    X(20, 1, GetModuleInfo,                                                                                          \
      (, ModuleID moduleId, LPCBYTE * ppBaseLoadAddress, ULONG cchName, ULONG * pcchName, WCHAR * szName,            \
       AssemblyID * pAssemblyId),                                                                                    \
      (, moduleId, ppBaseLoadAddress, cchName, pcchName, szName, pAssemblyId))                                       \
    X(21, 1, GetModuleMetaData, (, ModuleID moduleId, DWORD dwOpenFlags, REFIID riid, IUnknown * *ppOut),            \
      (, moduleId, dwOpenFlags, riid, ppOut))                                                                        \
    X(22, 1, GetILFunctionBody, (, ModuleID moduleId, mdMethodDef methodId, LPCBYTE * ppMethodHeader, ULONG * pcbMethodSize), \
      (, moduleId, methodId, ppMethodHeader, pcbMethodSize))                                                         \
    X(23, 1, GetILFunctionBodyAllocator, (, ModuleID moduleId, IMethodMalloc * *ppMalloc), (, moduleId, ppMalloc))   \
    X(24, 1, SetILFunctionBody, (, ModuleID moduleId, mdMethodDef methodid, LPCBYTE pbNewILMethodHeader),            \
      (, moduleId, methodid, pbNewILMethodHeader))                                                                   \
    X(25, 1, GetAppDomainInfo,                                                                                       \
      (, AppDomainID appDomainId, ULONG cchName, ULONG * pcchName, WCHAR * szName, ProcessID * pProcessId),          \
      (, appDomainId, cchName, pcchName, szName, pProcessId))                                                        \
    X(26, 1, GetAssemblyInfo,                                                                                        \
      (, AssemblyID assemblyId, ULONG cchName, ULONG * pcchName, WCHAR * szName, AppDomainID * pAppDomainId,         \
       ModuleID * pModuleId),                                                                                        \
      (, assemblyId, cchName, pcchName, szName, pAppDomainId, pModuleId))                                            \
    X(27, 1, SetFunctionReJIT, (, FunctionID functionId), (, functionId))                                            \
    X(28, 1, ForceGC, (), ())                                                                                        \
    X(29, 1, SetILInstrumentedCodeMap,                                                                               \
      (, FunctionID functionId, BOOL fStartJit, ULONG cILMapEntries, COR_IL_MAP * rgILMapEntries),                   \
      (, functionId, fStartJit, cILMapEntries, rgILMapEntries))                                                      \
    X(30, 1, GetInprocInspectionInterface, (, IUnknown * *ppicd), (, ppicd))                                         \
    X(31, 1, GetInprocInspectionIThisThread, (, IUnknown * *ppicd), (, ppicd))                                       \
    X(32, 1, GetThreadContext, (, ThreadID threadId, ContextID * pContextId), (, threadId, pContextId))              \
    X(33, 1, BeginInprocDebugging, (, BOOL fThisThreadOnly, DWORD * pdwProfilerContext),                             \
      (, fThisThreadOnly, pdwProfilerContext))                                                                       \
    X(34, 1, EndInprocDebugging, (, DWORD dwProfilerContext), (, dwProfilerContext))                                 \
    X(35, 1, GetILToNativeMapping, (, FunctionID functionId, ULONG32 cMap, ULONG32 * pcMap, COR_DEBUG_IL_TO_NATIVE_MAP * map), \
      (, functionId, cMap, pcMap, map))

/* ---- ICorProfilerInfo2 .. 15, slots 36..114 ---- */
#define MM_INFO2_15(X)                                                                                               \
    X(36, 2, DoStackSnapshot,                                                                                        \
      (, ThreadID thread, void *callback, ULONG32 infoFlags, void *clientData, BYTE *context, ULONG32 contextSize),  \
      (, thread, callback, infoFlags, clientData, context, contextSize))                                             \
    X(37, 2, SetEnterLeaveFunctionHooks2, (, void *pFuncEnter, void *pFuncLeave, void *pFuncTailcall),               \
      (, pFuncEnter, pFuncLeave, pFuncTailcall))                                                                     \
    X(38, 2, GetFunctionInfo2,                                                                                       \
      (, FunctionID funcId, COR_PRF_FRAME_INFO frameInfo, ClassID * pClassId, ModuleID * pModuleId, mdToken * pToken, \
       ULONG32 cTypeArgs, ULONG32 * pcTypeArgs, ClassID * typeArgs),                                                 \
      (, funcId, frameInfo, pClassId, pModuleId, pToken, cTypeArgs, pcTypeArgs, typeArgs))                           \
    X(39, 2, GetStringLayout, (, ULONG * pBufferLengthOffset, ULONG * pStringLengthOffset, ULONG * pBufferOffset),   \
      (, pBufferLengthOffset, pStringLengthOffset, pBufferOffset))                                                   \
    X(40, 2, GetClassLayout,                                                                                         \
      (, ClassID classID, COR_FIELD_OFFSET * rFieldOffset, ULONG cFieldOffset, ULONG * pcFieldOffset,                \
       ULONG * pulClassSize),                                                                                        \
      (, classID, rFieldOffset, cFieldOffset, pcFieldOffset, pulClassSize))                                          \
    X(41, 2, GetClassIDInfo2,                                                                                        \
      (, ClassID classId, ModuleID * pModuleId, mdTypeDef * pTypeDefToken, ClassID * pParentClassId,                 \
       ULONG32 cNumTypeArgs, ULONG32 * pcNumTypeArgs, ClassID * typeArgs),                                           \
      (, classId, pModuleId, pTypeDefToken, pParentClassId, cNumTypeArgs, pcNumTypeArgs, typeArgs))                  \
    X(42, 2, GetCodeInfo2, (, FunctionID functionID, ULONG32 cCodeInfos, ULONG32 * pcCodeInfos, COR_PRF_CODE_INFO * codeInfos), \
      (, functionID, cCodeInfos, pcCodeInfos, codeInfos))                                                            \
    X(43, 2, GetClassFromTokenAndTypeArgs,                                                                           \
      (, ModuleID moduleID, mdTypeDef typeDef, ULONG32 cTypeArgs, ClassID * typeArgs, ClassID * pClassID),           \
      (, moduleID, typeDef, cTypeArgs, typeArgs, pClassID))                                                          \
    X(44, 2, GetFunctionFromTokenAndTypeArgs,                                                                        \
      (, ModuleID moduleID, mdMethodDef funcDef, ClassID classId, ULONG32 cTypeArgs, ClassID * typeArgs,             \
       FunctionID * pFunctionID),                                                                                    \
      (, moduleID, funcDef, classId, cTypeArgs, typeArgs, pFunctionID))                                              \
    X(45, 2, EnumModuleFrozenObjects, (, ModuleID moduleID, void **ppEnum), (, moduleID, ppEnum))                    \
    X(46, 2, GetArrayObjectInfo,                                                                                     \
      (, ObjectID objectId, ULONG32 cDimensions, ULONG32 * pDimensionSizes, int *pDimensionLowerBounds, BYTE **ppData), \
      (, objectId, cDimensions, pDimensionSizes, pDimensionLowerBounds, ppData))                                     \
    X(47, 2, GetBoxClassLayout, (, ClassID classId, ULONG32 * pBufferOffset), (, classId, pBufferOffset))            \
    X(48, 2, GetThreadAppDomain, (, ThreadID threadId, AppDomainID * pAppDomainId), (, threadId, pAppDomainId))      \
    X(49, 2, GetRVAStaticAddress, (, ClassID classId, mdFieldDef fieldToken, void **ppAddress),                      \
      (, classId, fieldToken, ppAddress))                                                                            \
    X(50, 2, GetAppDomainStaticAddress, (, ClassID classId, mdFieldDef fieldToken, AppDomainID appDomainId, void **ppAddress), \
      (, classId, fieldToken, appDomainId, ppAddress))                                                               \
    X(51, 2, GetThreadStaticAddress, (, ClassID classId, mdFieldDef fieldToken, ThreadID threadId, void **ppAddress), \
      (, classId, fieldToken, threadId, ppAddress))                                                                  \
    X(52, 2, GetContextStaticAddress, (, ClassID classId, mdFieldDef fieldToken, ContextID contextId, void **ppAddress), \
      (, classId, fieldToken, contextId, ppAddress))                                                                 \
    X(53, 2, GetStaticFieldInfo, (, ClassID classId, mdFieldDef fieldToken, COR_PRF_STATIC_TYPE * pFieldInfo),       \
      (, classId, fieldToken, pFieldInfo))                                                                           \
    X(54, 2, GetGenerationBounds,                                                                                    \
      (, ULONG cObjectRanges, ULONG * pcObjectRanges, COR_PRF_GC_GENERATION_RANGE * ranges),                         \
      (, cObjectRanges, pcObjectRanges, ranges))                                                                     \
    X(55, 2, GetObjectGeneration, (, ObjectID objectId, COR_PRF_GC_GENERATION_RANGE * range), (, objectId, range))   \
    X(56, 2, GetNotifiedExceptionClauseInfo, (, COR_PRF_EX_CLAUSE_INFO * pinfo), (, pinfo))                          \
    X(57, 3, EnumJITedFunctions, (, void **ppEnum), (, ppEnum))                                                      \
    X(58, 3, RequestProfilerDetach, (, DWORD dwExpectedCompletionMilliseconds), (, dwExpectedCompletionMilliseconds)) \
    X(59, 3, SetFunctionIDMapper2, (, void *pFunc, void *clientData), (, pFunc, clientData))                         \
    X(60, 3, GetStringLayout2, (, ULONG * pStringLengthOffset, ULONG * pBufferOffset),                               \
      (, pStringLengthOffset, pBufferOffset))                                                                        \
    X(61, 3, SetEnterLeaveFunctionHooks3, (, void *pFuncEnter3, void *pFuncLeave3, void *pFuncTailcall3),            \
      (, pFuncEnter3, pFuncLeave3, pFuncTailcall3))                                                                  \
    X(62, 3, SetEnterLeaveFunctionHooks3WithInfo,                                                                    \
      (, void *pFuncEnter3WithInfo, void *pFuncLeave3WithInfo, void *pFuncTailcall3WithInfo),                        \
      (, pFuncEnter3WithInfo, pFuncLeave3WithInfo, pFuncTailcall3WithInfo))                                          \
    X(63, 3, GetFunctionEnter3Info,                                                                                  \
      (, FunctionID functionId, COR_PRF_ELT_INFO eltInfo, COR_PRF_FRAME_INFO * pFrameInfo, ULONG * pcbArgumentInfo,  \
       COR_PRF_FUNCTION_ARGUMENT_INFO * pArgumentInfo),                                                              \
      (, functionId, eltInfo, pFrameInfo, pcbArgumentInfo, pArgumentInfo))                                           \
    X(64, 3, GetFunctionLeave3Info,                                                                                  \
      (, FunctionID functionId, COR_PRF_ELT_INFO eltInfo, COR_PRF_FRAME_INFO * pFrameInfo,                           \
       COR_PRF_FUNCTION_ARGUMENT_RANGE * pRetvalRange),                                                              \
      (, functionId, eltInfo, pFrameInfo, pRetvalRange))                                                             \
    X(65, 3, GetFunctionTailcall3Info, (, FunctionID functionId, COR_PRF_ELT_INFO eltInfo, COR_PRF_FRAME_INFO * pFrameInfo), \
      (, functionId, eltInfo, pFrameInfo))                                                                           \
    X(66, 3, EnumModules, (, void **ppEnum), (, ppEnum))                                                             \
    X(67, 3, GetRuntimeInformation,                                                                                  \
      (, USHORT * pClrInstanceId, COR_PRF_RUNTIME_TYPE * pRuntimeType, USHORT * pMajorVersion,                       \
       USHORT * pMinorVersion, USHORT * pBuildNumber, USHORT * pQFEVersion, ULONG cchVersionString,                  \
       ULONG * pcchVersionString, WCHAR * szVersionString),                                                          \
      (, pClrInstanceId, pRuntimeType, pMajorVersion, pMinorVersion, pBuildNumber, pQFEVersion, cchVersionString,    \
       pcchVersionString, szVersionString))                                                                          \
    X(68, 3, GetThreadStaticAddress2,                                                                                \
      (, ClassID classId, mdFieldDef fieldToken, AppDomainID appDomainId, ThreadID threadId, void **ppAddress),      \
      (, classId, fieldToken, appDomainId, threadId, ppAddress))                                                     \
    X(69, 3, GetAppDomainsContainingModule,                                                                          \
      (, ModuleID moduleId, ULONG32 cAppDomainIds, ULONG32 * pcAppDomainIds, AppDomainID * appDomainIds),            \
      (, moduleId, cAppDomainIds, pcAppDomainIds, appDomainIds))                                                     \
    X(70, 3, GetModuleInfo2,                                                                                         \
      (, ModuleID moduleId, LPCBYTE * ppBaseLoadAddress, ULONG cchName, ULONG * pcchName, WCHAR * szName,            \
       AssemblyID * pAssemblyId, DWORD * pdwModuleFlags),                                                            \
      (, moduleId, ppBaseLoadAddress, cchName, pcchName, szName, pAssemblyId, pdwModuleFlags))                       \
    X(71, 4, EnumThreads, (, void **ppEnum), (, ppEnum))                                                             \
    X(72, 4, InitializeCurrentThread, (), ())                                                                        \
    X(73, 4, RequestReJIT, (, ULONG cFunctions, ModuleID * moduleIds, mdMethodDef * methodIds),                      \
      (, cFunctions, moduleIds, methodIds))                                                                          \
    X(74, 4, RequestRevert, (, ULONG cFunctions, ModuleID * moduleIds, mdMethodDef * methodIds, HRESULT * status),   \
      (, cFunctions, moduleIds, methodIds, status))                                                                  \
    X(75, 4, GetCodeInfo3,                                                                                           \
      (, FunctionID functionID, ReJITID reJitId, ULONG32 cCodeInfos, ULONG32 * pcCodeInfos, COR_PRF_CODE_INFO * codeInfos), \
      (, functionID, reJitId, cCodeInfos, pcCodeInfos, codeInfos))                                                   \
    X(76, 4, GetFunctionFromIP2, (, LPCBYTE ip, FunctionID * pFunctionId, ReJITID * pReJitId),                       \
      (, ip, pFunctionId, pReJitId))                                                                                 \
    X(77, 4, GetReJITIDs, (, FunctionID functionId, ULONG cReJitIds, ULONG * pcReJitIds, ReJITID * reJitIds),        \
      (, functionId, cReJitIds, pcReJitIds, reJitIds))                                                               \
    X(78, 4, GetILToNativeMapping2,                                                                                  \
      (, FunctionID functionId, ReJITID reJitId, ULONG32 cMap, ULONG32 * pcMap, COR_DEBUG_IL_TO_NATIVE_MAP * map),   \
      (, functionId, reJitId, cMap, pcMap, map))                                                                     \
    X(79, 4, EnumJITedFunctions2, (, void **ppEnum), (, ppEnum))                                                     \
    X(80, 4, GetObjectSize2, (, ObjectID objectId, SIZE_T * pcSize), (, objectId, pcSize))                           \
    X(81, 5, GetEventMask2, (, DWORD * pdwEventsLow, DWORD * pdwEventsHigh), (, pdwEventsLow, pdwEventsHigh))        \
    X(82, 5, SetEventMask2, (, DWORD dwEventsLow, DWORD dwEventsHigh), (, dwEventsLow, dwEventsHigh))                \
    X(83, 6, EnumNgenModuleMethodsInliningThisMethod,                                                                \
      (, ModuleID inlinersModuleId, ModuleID inlineeModuleId, mdMethodDef inlineeMethodId, BOOL * incompleteData,    \
       void **ppEnum),                                                                                               \
      (, inlinersModuleId, inlineeModuleId, inlineeMethodId, incompleteData, ppEnum))                                \
    X(84, 7, ApplyMetaData, (, ModuleID moduleId), (, moduleId))                                                     \
    X(85, 7, GetInMemorySymbolsLength, (, ModuleID moduleId, DWORD * pCountSymbolBytes), (, moduleId, pCountSymbolBytes)) \
    X(86, 7, ReadInMemorySymbols,                                                                                    \
      (, ModuleID moduleId, DWORD symbolsReadOffset, BYTE * pSymbolBytes, DWORD countSymbolBytes,                    \
       DWORD * pCountSymbolBytesRead),                                                                               \
      (, moduleId, symbolsReadOffset, pSymbolBytes, countSymbolBytes, pCountSymbolBytesRead))                        \
    X(87, 8, IsFunctionDynamic, (, FunctionID functionId, BOOL * isDynamic), (, functionId, isDynamic))              \
    X(88, 8, GetFunctionFromIP3, (, LPCBYTE ip, FunctionID * functionId, ReJITID * pReJitId),                        \
      (, ip, functionId, pReJitId))                                                                                  \
    X(89, 8, GetDynamicFunctionInfo,                                                                                 \
      (, FunctionID functionId, ModuleID * moduleId, PCCOR_SIGNATURE * ppvSig, ULONG * pbSig, ULONG cchName,         \
       ULONG * pcchName, WCHAR * wszName),                                                                           \
      (, functionId, moduleId, ppvSig, pbSig, cchName, pcchName, wszName))                                           \
    X(90, 9, GetNativeCodeStartAddresses,                                                                            \
      (, FunctionID functionID, ReJITID reJitId, ULONG32 cCodeStartAddresses, ULONG32 * pcCodeStartAddresses,        \
       UINT_PTR * codeStartAddresses),                                                                               \
      (, functionID, reJitId, cCodeStartAddresses, pcCodeStartAddresses, codeStartAddresses))                        \
    X(91, 9, GetILToNativeMapping3,                                                                                  \
      (, UINT_PTR pNativeCodeStartAddress, ULONG32 cMap, ULONG32 * pcMap, COR_DEBUG_IL_TO_NATIVE_MAP * map),         \
      (, pNativeCodeStartAddress, cMap, pcMap, map))                                                                 \
    X(92, 9, GetCodeInfo4,                                                                                           \
      (, UINT_PTR pNativeCodeStartAddress, ULONG32 cCodeInfos, ULONG32 * pcCodeInfos, COR_PRF_CODE_INFO * codeInfos), \
      (, pNativeCodeStartAddress, cCodeInfos, pcCodeInfos, codeInfos))                                               \
    X(93, 10, EnumerateObjectReferences, (, ObjectID objectId, void *callback, void *clientData),                    \
      (, objectId, callback, clientData))                                                                            \
    X(94, 10, IsFrozenObject, (, ObjectID objectId, BOOL * pbFrozen), (, objectId, pbFrozen))                        \
    X(95, 10, GetLOHObjectSizeThreshold, (, DWORD * pThreshold), (, pThreshold))                                     \
    X(96, 10, RequestReJITWithInliners,                                                                              \
      (, DWORD dwRejitFlags, ULONG cFunctions, ModuleID * moduleIds, mdMethodDef * methodIds),                       \
      (, dwRejitFlags, cFunctions, moduleIds, methodIds))                                                            \
    X(97, 10, SuspendRuntime, (), ())                                                                                \
    X(98, 10, ResumeRuntime, (), ())                                                                                 \
    X(99, 11, GetEnvironmentVariable, (, const WCHAR *szName, ULONG cchValue, ULONG *pcchValue, WCHAR *szValue),     \
      (, szName, cchValue, pcchValue, szValue))                                                                      \
    X(100, 11, SetEnvironmentVariable, (, const WCHAR *szName, const WCHAR *szValue), (, szName, szValue))           \
    X(101, 12, EventPipeStartSession,                                                                                \
      (, UINT32 cProviderConfigs, COR_PRF_EVENTPIPE_PROVIDER_CONFIG * pProviderConfigs, BOOL requestRundown,         \
       EVENTPIPE_SESSION * pSession),                                                                                \
      (, cProviderConfigs, pProviderConfigs, requestRundown, pSession))                                              \
    X(102, 12, EventPipeAddProviderToSession,                                                                        \
      (, EVENTPIPE_SESSION session, COR_PRF_EVENTPIPE_PROVIDER_CONFIG providerConfig), (, session, providerConfig))  \
    X(103, 12, EventPipeStopSession, (, EVENTPIPE_SESSION session), (, session))                                     \
    X(104, 12, EventPipeCreateProvider, (, const WCHAR *providerName, EVENTPIPE_PROVIDER *pProvider),                \
      (, providerName, pProvider))                                                                                   \
    X(105, 12, EventPipeGetProviderInfo,                                                                             \
      (, EVENTPIPE_PROVIDER provider, ULONG cchName, ULONG * pcchName, WCHAR * providerName),                        \
      (, provider, cchName, pcchName, providerName))                                                                 \
    X(106, 12, EventPipeDefineEvent,                                                                                 \
      (, EVENTPIPE_PROVIDER provider, const WCHAR *eventName, UINT32 eventID, UINT64 keywords, UINT32 eventVersion,  \
       UINT32 level, UINT8 opcode, BOOL needStack, UINT32 cParamDescs, COR_PRF_EVENTPIPE_PARAM_DESC *pParamDescs,    \
       EVENTPIPE_EVENT *pEvent),                                                                                     \
      (, provider, eventName, eventID, keywords, eventVersion, level, opcode, needStack, cParamDescs, pParamDescs,   \
       pEvent))                                                                                                      \
    X(107, 12, EventPipeWriteEvent,                                                                                  \
      (, EVENTPIPE_EVENT event, UINT32 cData, COR_PRF_EVENT_DATA *data, LPCGUID pActivityId,                         \
       LPCGUID pRelatedActivityId),                                                                                  \
      (, event, cData, data, pActivityId, pRelatedActivityId))                                                       \
    X(108, 13, CreateHandle, (, ObjectID object, COR_PRF_HANDLE_TYPE type, ObjectHandleID *pHandle),                 \
      (, object, type, pHandle))                                                                                     \
    X(109, 13, DestroyHandle, (, ObjectHandleID handle), (, handle))                                                 \
    X(110, 13, GetObjectIDFromHandle, (, ObjectHandleID handle, ObjectID *pObject), (, handle, pObject))             \
    X(111, 14, EnumerateNonGCObjects, (, void **ppEnum), (, ppEnum))                                                 \
    X(112, 14, GetNonGCHeapBounds, (, ULONG cObjectRanges, ULONG *pcObjectRanges, COR_PRF_NONGC_HEAP_RANGE *ranges), \
      (, cObjectRanges, pcObjectRanges, ranges))                                                                     \
    X(113, 14, EventPipeCreateProvider2, (, const WCHAR *providerName, void *pCallback, EVENTPIPE_PROVIDER *pProvider), \
      (, providerName, pCallback, pProvider))                                                                        \
    X(114, 15, EnumerateGCHeapObjects, (, void *callback, void *callbackState), (, callback, callbackState))

#define MM_INFO_SLOTS 115
#define MM_INFO_NEWEST 15

#endif /* MM_PROFILER_CORPROF_TABLE_H */
