// Clang thread-safety annotations (-Wthread-safety); they vanish under other compilers. The
// analysis only understands lock types annotated as capabilities, which libstdc++'s are not:
// guard shared state with cube::Mutex and cube::MutexLock (common/mutex.h). Only the few
// structures shared between threads (worker queues, driver tables, pools) use them: poll loops
// own their state and need no locks. CI checks them: the sanitizer build
// (scripts/test.sh --sanitize) compiles with clang and CUBE_THREAD_SAFETY=ON
// (-Wthread-safety -Werror).
#pragma once

#if defined(__clang__)
#define CUBE_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define CUBE_THREAD_ANNOTATION(x)
#endif

// On a class: its objects are locks (capabilities) the analysis tracks; `x` names the kind.
#define CUBE_CAPABILITY(x) CUBE_THREAD_ANNOTATION(capability(x))
// On an RAII class: constructing it acquires what its constructor says; destroying it releases.
#define CUBE_SCOPED_CAPABILITY CUBE_THREAD_ANNOTATION(scoped_lockable)

// On a data member: read or written only with the lock `x` held.
#define CUBE_GUARDED_BY(x) CUBE_THREAD_ANNOTATION(guarded_by(x))

// On a function: callers must hold these locks (a private helper of a locked section).
#define CUBE_REQUIRES(...) CUBE_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
// On a function: callers must not hold these locks (the function takes them itself).
#define CUBE_EXCLUDES(...) CUBE_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))

// On a function: it acquires these locks (none named: `this`) and returns holding them.
#define CUBE_ACQUIRE(...) CUBE_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
// On a function: it releases these locks (none named: `this`), which the caller held.
#define CUBE_RELEASE(...) CUBE_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
