/*
 * Which callback each event mask bit turns on, as corprof.idl's
 * COR_PRF_MONITOR and COR_PRF_HIGH_MONITOR comments describe them: the
 * host calls a guest in a slot only when the guest's own mask has one of
 * the slot's bits, so a guest never sees an event it did not ask for even
 * though the runtime's mask is the union of everyone's.
 */
#include "host/host.h"

#define CB(name) [MM_SLOT(ICorProfilerCallback11Vtbl, name)]
#define LO(bits) {(bits), 0}
#define HI(bits) {0, (bits)}
#define BOTH(lo, hi) {(lo), (hi)}

const mmh_event mmh_callback_events[MM_CALLBACK_SLOTS] = {
    /* Initialize, Shutdown, InitializeForAttach, ProfilerAttachComplete,
     * ProfilerDetachSucceeded, LoadAsNotificationOnly: no bit, everyone. */
    CB(AppDomainCreationStarted) = LO(COR_PRF_MONITOR_APPDOMAIN_LOADS),
    CB(AppDomainCreationFinished) = LO(COR_PRF_MONITOR_APPDOMAIN_LOADS),
    CB(AppDomainShutdownStarted) = LO(COR_PRF_MONITOR_APPDOMAIN_LOADS),
    CB(AppDomainShutdownFinished) = LO(COR_PRF_MONITOR_APPDOMAIN_LOADS),
    CB(AssemblyLoadStarted) = LO(COR_PRF_MONITOR_ASSEMBLY_LOADS),
    CB(AssemblyLoadFinished) = LO(COR_PRF_MONITOR_ASSEMBLY_LOADS),
    CB(AssemblyUnloadStarted) = LO(COR_PRF_MONITOR_ASSEMBLY_LOADS),
    CB(AssemblyUnloadFinished) = LO(COR_PRF_MONITOR_ASSEMBLY_LOADS),
    CB(ModuleLoadStarted) = LO(COR_PRF_MONITOR_MODULE_LOADS),
    CB(ModuleLoadFinished) = LO(COR_PRF_MONITOR_MODULE_LOADS),
    CB(ModuleUnloadStarted) = LO(COR_PRF_MONITOR_MODULE_LOADS),
    CB(ModuleUnloadFinished) = LO(COR_PRF_MONITOR_MODULE_LOADS),
    CB(ModuleAttachedToAssembly) = LO(COR_PRF_MONITOR_MODULE_LOADS),
    CB(ClassLoadStarted) = LO(COR_PRF_MONITOR_CLASS_LOADS),
    CB(ClassLoadFinished) = LO(COR_PRF_MONITOR_CLASS_LOADS),
    CB(ClassUnloadStarted) = LO(COR_PRF_MONITOR_CLASS_LOADS),
    CB(ClassUnloadFinished) = LO(COR_PRF_MONITOR_CLASS_LOADS),
    CB(FunctionUnloadStarted) = LO(COR_PRF_MONITOR_FUNCTION_UNLOADS),
    CB(JITCompilationStarted) = LO(COR_PRF_MONITOR_JIT_COMPILATION),
    CB(JITCompilationFinished) = LO(COR_PRF_MONITOR_JIT_COMPILATION),
    CB(JITCachedFunctionSearchStarted) = LO(COR_PRF_MONITOR_CACHE_SEARCHES),
    CB(JITCachedFunctionSearchFinished) = LO(COR_PRF_MONITOR_CACHE_SEARCHES),
    CB(JITFunctionPitched) = LO(COR_PRF_MONITOR_JIT_COMPILATION),
    CB(JITInlining) = LO(COR_PRF_MONITOR_JIT_COMPILATION),
    CB(ThreadCreated) = LO(COR_PRF_MONITOR_THREADS),
    CB(ThreadDestroyed) = LO(COR_PRF_MONITOR_THREADS),
    CB(ThreadAssignedToOSThread) = LO(COR_PRF_MONITOR_THREADS),
    CB(RemotingClientInvocationStarted) = LO(COR_PRF_MONITOR_REMOTING),
    CB(RemotingClientSendingMessage) = LO(COR_PRF_MONITOR_REMOTING),
    CB(RemotingClientReceivingReply) = LO(COR_PRF_MONITOR_REMOTING),
    CB(RemotingClientInvocationFinished) = LO(COR_PRF_MONITOR_REMOTING),
    CB(RemotingServerReceivingMessage) = LO(COR_PRF_MONITOR_REMOTING),
    CB(RemotingServerInvocationStarted) = LO(COR_PRF_MONITOR_REMOTING),
    CB(RemotingServerInvocationReturned) = LO(COR_PRF_MONITOR_REMOTING),
    CB(RemotingServerSendingReply) = LO(COR_PRF_MONITOR_REMOTING),
    CB(UnmanagedToManagedTransition) = LO(COR_PRF_MONITOR_CODE_TRANSITIONS),
    CB(ManagedToUnmanagedTransition) = LO(COR_PRF_MONITOR_CODE_TRANSITIONS),
    CB(RuntimeSuspendStarted) = LO(COR_PRF_MONITOR_SUSPENDS),
    CB(RuntimeSuspendFinished) = LO(COR_PRF_MONITOR_SUSPENDS),
    CB(RuntimeSuspendAborted) = LO(COR_PRF_MONITOR_SUSPENDS),
    CB(RuntimeResumeStarted) = LO(COR_PRF_MONITOR_SUSPENDS),
    CB(RuntimeResumeFinished) = LO(COR_PRF_MONITOR_SUSPENDS),
    CB(RuntimeThreadSuspended) = LO(COR_PRF_MONITOR_SUSPENDS),
    CB(RuntimeThreadResumed) = LO(COR_PRF_MONITOR_SUSPENDS),
    CB(MovedReferences) = BOTH(COR_PRF_MONITOR_GC, COR_PRF_HIGH_MONITOR_GC_MOVED_OBJECTS),
    CB(ObjectAllocated) = BOTH(COR_PRF_MONITOR_OBJECT_ALLOCATED,
                               COR_PRF_HIGH_MONITOR_LARGEOBJECT_ALLOCATED | COR_PRF_HIGH_MONITOR_PINNEDOBJECT_ALLOCATED),
    CB(ObjectsAllocatedByClass) = LO(COR_PRF_MONITOR_GC),
    CB(ObjectReferences) = LO(COR_PRF_MONITOR_GC),
    CB(RootReferences) = LO(COR_PRF_MONITOR_GC),
    CB(ExceptionThrown) = LO(COR_PRF_MONITOR_EXCEPTIONS),
    CB(ExceptionSearchFunctionEnter) = LO(COR_PRF_MONITOR_EXCEPTIONS),
    CB(ExceptionSearchFunctionLeave) = LO(COR_PRF_MONITOR_EXCEPTIONS),
    CB(ExceptionSearchFilterEnter) = LO(COR_PRF_MONITOR_EXCEPTIONS),
    CB(ExceptionSearchFilterLeave) = LO(COR_PRF_MONITOR_EXCEPTIONS),
    CB(ExceptionSearchCatcherFound) = LO(COR_PRF_MONITOR_EXCEPTIONS),
    CB(ExceptionOSHandlerEnter) = LO(COR_PRF_MONITOR_EXCEPTIONS),
    CB(ExceptionOSHandlerLeave) = LO(COR_PRF_MONITOR_EXCEPTIONS),
    CB(ExceptionUnwindFunctionEnter) = LO(COR_PRF_MONITOR_EXCEPTIONS),
    CB(ExceptionUnwindFunctionLeave) = LO(COR_PRF_MONITOR_EXCEPTIONS),
    CB(ExceptionUnwindFinallyEnter) = LO(COR_PRF_MONITOR_EXCEPTIONS),
    CB(ExceptionUnwindFinallyLeave) = LO(COR_PRF_MONITOR_EXCEPTIONS),
    CB(ExceptionCatcherEnter) = LO(COR_PRF_MONITOR_EXCEPTIONS),
    CB(ExceptionCatcherLeave) = LO(COR_PRF_MONITOR_EXCEPTIONS),
    CB(COMClassicVTableCreated) = LO(COR_PRF_MONITOR_CCW),
    CB(COMClassicVTableDestroyed) = LO(COR_PRF_MONITOR_CCW),
    CB(ExceptionCLRCatcherFound) = LO(COR_PRF_MONITOR_CLR_EXCEPTIONS),
    CB(ExceptionCLRCatcherExecute) = LO(COR_PRF_MONITOR_CLR_EXCEPTIONS),
    CB(ThreadNameChanged) = LO(COR_PRF_MONITOR_THREADS),
    CB(GarbageCollectionStarted) = BOTH(COR_PRF_MONITOR_GC, COR_PRF_HIGH_BASIC_GC),
    CB(SurvivingReferences) = LO(COR_PRF_MONITOR_GC),
    CB(GarbageCollectionFinished) = BOTH(COR_PRF_MONITOR_GC, COR_PRF_HIGH_BASIC_GC),
    CB(FinalizeableObjectQueued) = LO(COR_PRF_MONITOR_GC),
    CB(RootReferences2) = LO(COR_PRF_MONITOR_GC),
    CB(HandleCreated) = LO(COR_PRF_MONITOR_GC),
    CB(HandleDestroyed) = LO(COR_PRF_MONITOR_GC),
    /* ReJIT events answer the ReJIT requests of profilers that enabled it. */
    CB(ReJITCompilationStarted) = LO(COR_PRF_ENABLE_REJIT),
    CB(GetReJITParameters) = LO(COR_PRF_ENABLE_REJIT),
    CB(ReJITCompilationFinished) = LO(COR_PRF_ENABLE_REJIT),
    CB(ReJITError) = LO(COR_PRF_ENABLE_REJIT),
    CB(MovedReferences2) = BOTH(COR_PRF_MONITOR_GC, COR_PRF_HIGH_MONITOR_GC_MOVED_OBJECTS),
    CB(SurvivingReferences2) = LO(COR_PRF_MONITOR_GC),
    CB(ConditionalWeakTableElementReferences) = LO(COR_PRF_MONITOR_GC),
    CB(GetAssemblyReferences) = HI(COR_PRF_HIGH_ADD_ASSEMBLY_REFERENCES),
    CB(ModuleInMemorySymbolsUpdated) = HI(COR_PRF_HIGH_IN_MEMORY_SYMBOLS_UPDATED),
    CB(DynamicMethodJITCompilationStarted) = LO(COR_PRF_MONITOR_JIT_COMPILATION),
    CB(DynamicMethodJITCompilationFinished) = LO(COR_PRF_MONITOR_JIT_COMPILATION),
    CB(DynamicMethodUnloaded) = HI(COR_PRF_HIGH_MONITOR_DYNAMIC_FUNCTION_UNLOADS),
    CB(EventPipeEventDelivered) = HI(COR_PRF_HIGH_MONITOR_EVENT_PIPE),
    CB(EventPipeProviderCreated) = HI(COR_PRF_HIGH_MONITOR_EVENT_PIPE),
};

int mmh_event_wanted(int slot, uint32_t lo, uint32_t hi)
{
    const mmh_event *e = &mmh_callback_events[slot];
    if (!e->lo && !e->hi)
        return 1;
    return (lo & e->lo) || (hi & e->hi);
}
