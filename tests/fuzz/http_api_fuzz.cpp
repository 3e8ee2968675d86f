// libFuzzer target for the HTTP gateway's request handling (gateway/rest_api.h): routing, bearer
// tokens and the POST /tasks body. See tests/fuzz/http_api_target.h for the input format and the
// invariants.
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/http_api_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string problem = cube::fuzz::check_http_api_input(data, size);
  if (!problem.empty()) {
    std::fprintf(stderr, "http_api_fuzz: invariant broken: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
