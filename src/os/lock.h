/* The module lock: the OS's own mutex, so that thread sanitizers see it
 * (glibc's C11 mtx_* are not intercepted by TSan). */
#ifndef MM_LOCK_H
#define MM_LOCK_H

#if defined(_WIN32)
#include <windows.h>
typedef SRWLOCK mm_lock;
#define MM_LOCK_INIT SRWLOCK_INIT
static inline int mm_lock_init(mm_lock *l) { InitializeSRWLock(l); return 0; }
static inline void mm_lock_destroy(mm_lock *l) { (void)l; }
static inline void mm_lock_acquire(mm_lock *l) { AcquireSRWLockExclusive(l); }
static inline void mm_lock_release(mm_lock *l) { ReleaseSRWLockExclusive(l); }
#else
#include <pthread.h>
typedef pthread_mutex_t mm_lock;
#define MM_LOCK_INIT PTHREAD_MUTEX_INITIALIZER
static inline int mm_lock_init(mm_lock *l) { return pthread_mutex_init(l, NULL); }
static inline void mm_lock_destroy(mm_lock *l) { pthread_mutex_destroy(l); }
static inline void mm_lock_acquire(mm_lock *l) { pthread_mutex_lock(l); }
static inline void mm_lock_release(mm_lock *l) { pthread_mutex_unlock(l); }
#endif

#endif
