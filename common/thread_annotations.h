// Clang thread-safety annotations (-Wthread-safety); they vanish under other compilers.
// Only the few structures shared between threads (worker queues, metrics, child tables) use
// them: poll loops own their state and need no locks.
#pragma once

#if defined(__clang__)
#define CUBE_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define CUBE_THREAD_ANNOTATION(x)
#endif

#define CUBE_GUARDED_BY(x) CUBE_THREAD_ANNOTATION(guarded_by(x))
#define CUBE_EXCLUSIVE_LOCKS_REQUIRED(...) \
  CUBE_THREAD_ANNOTATION(exclusive_locks_required(__VA_ARGS__))
#define CUBE_LOCKS_EXCLUDED(...) CUBE_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
