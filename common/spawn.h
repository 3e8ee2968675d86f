// posix_spawn helpers shared by the exec driver (agent/drivers/exec/child_process.cpp) and
// cube-bench --compare (bench/child_output.cpp): RAII owners of posix_spawn's attribute and
// file-action objects, which own memory and must be destroyed on every path, and the argv
// array posix_spawn takes.
//
// Thread-safety: values owned by one thread.
#pragma once

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
