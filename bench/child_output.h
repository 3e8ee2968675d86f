// run_for_stdout: runs another program to its end with its standard output captured, for
// cube-bench --compare (which runs cube-bench binaries with -o json). The child inherits this
// process's environment, standard input and standard error (so its progress lines and error
// messages reach the user as it prints them), and no other descriptor.
//
// Thread-safety: reentrant; blocks the calling thread until the child has exited.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace cube::bench {

// How a child ended and what it wrote on stdout.
struct ChildOutput {
  std::string out;
  int exit_code = 0;  // when signal == 0
  int signal = 0;     // the signal that killed it, or 0

  bool succeeded() const { return signal == 0 && exit_code == 0; }
  // "exited with code 1", "was killed by signal 9 (Killed)", "exited with code 0".
  std::string describe_exit() const;
};

// Runs argv[0] (a path, not looked up in PATH) with `argv` and waits for it. Errors:
// Unavailable "cannot run PATH: REASON" when it cannot be started (missing, not executable: glibc's
// posix_spawn reports exec failures), Internal when the pipe or waiting fails. A child that
// exits non-zero is not an error here: see ChildOutput.
Result<ChildOutput> run_for_stdout(const std::vector<std::string>& argv);

}  // namespace cube::bench
