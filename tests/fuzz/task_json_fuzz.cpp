// libFuzzer target for the prior orchestrators' task JSON (protocol/task_json.h): parse, validate,
// print and parse again. See tests/fuzz/fuzz_targets.h for the invariants.
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string problem = cube::fuzz::check_task_json_input(data, size);
  if (!problem.empty()) {
    std::fprintf(stderr, "task_json_fuzz: invariant broken: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
