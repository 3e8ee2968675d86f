// posix_spawn helpers shared by the exec driver (agent/drivers/exec/child_process.cpp) and
// cube-bench --compare (bench/child_output.cpp): RAII owners of posix_spawn's attribute and
// file-action objects, which own memory and must be destroyed on every path, and the argv
// array posix_spawn takes.
//
// Thread-safety: values owned by one thread.
#pragma once

#include <signal.h>
#include <spawn.h>

#include <string>
#include <vector>

namespace cube {

class SpawnActions {
 public:
  SpawnActions() { ::posix_spawn_file_actions_init(&actions_); }
  ~SpawnActions() { ::posix_spawn_file_actions_destroy(&actions_); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

class SpawnAttr {
 public:
  SpawnAttr() { ::posix_spawnattr_init(&attr_); }
  ~SpawnAttr() { ::posix_spawnattr_destroy(&attr_); }
  SpawnAttr(const SpawnAttr&) = delete;
  SpawnAttr& operator=(const SpawnAttr&) = delete;
  posix_spawnattr_t* get() { return &attr_; }

  // The child starts with no signal blocked and every signal at its default disposition, as a
  // fresh process would: its parent may block SIGINT/SIGTERM (ShutdownSignal) or ignore some,
  // and a child must not inherit that. `extra_flags` (POSIX_SPAWN_SETPGROUP...) are set too.
  // Returns posix_spawnattr's error code, 0 on success.
  int reset_signals(short extra_flags = 0) {
    sigset_t empty_mask;
    sigemptyset(&empty_mask);
    sigset_t default_signals;
    sigfillset(&default_signals);
    sigdelset(&default_signals, SIGKILL);
    sigdelset(&default_signals, SIGSTOP);
    int rc = ::posix_spawnattr_setflags(
        &attr_, static_cast<short>(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | extra_flags));
    if (rc == 0)
      rc = ::posix_spawnattr_setsigmask(&attr_, &empty_mask);
    if (rc == 0)
      rc = ::posix_spawnattr_setsigdefault(&attr_, &default_signals);
    return rc;
  }

 private:
  posix_spawnattr_t attr_;
};

// Pointers into `in`, null-terminated, for posix_spawn's argv and envp: valid while `in` is
// unchanged.
inline std::vector<char*> c_strings(const std::vector<std::string>& in) {
  std::vector<char*> out;
  out.reserve(in.size() + 1);
  for (const auto& s : in)
    out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace cube
