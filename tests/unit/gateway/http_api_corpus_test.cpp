// Replays the http_api_fuzz corpus (tests/fuzz/corpus/http_api_fuzz/) through the same checks as
// the libFuzzer target (tests/fuzz/http_api_target.h), so every normal and sanitizer test run
// keeps what the fuzzer found fixed, with or without clang.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/fuzz/http_api_target.h"

namespace cube::gateway {
namespace {

std::filesystem::path corpus_dir() {
  return std::filesystem::path(CUBE_GOLDEN_DIR).parent_path() / "fuzz" / "corpus" / "http_api_fuzz";
}

TEST(HttpApiCorpusReplay, EveryFileKeepsTheInvariants) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(corpus_dir())) {
    if (entry.is_regular_file())
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  EXPECT_GE(files.size(), 10u) << corpus_dir();
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    std::ifstream in(file, std::ios::binary);
    std::ostringstream data;
    data << in.rdbuf();
    std::string bytes = data.str();
    EXPECT_EQ(
        fuzz::check_http_api_input(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
        "");
  }
}

// The input format: a request line, or a bare body for POST /tasks.
TEST(HttpApiCorpusReplay, InputFormat) {
  bool token = false;
  auto r = fuzz::http_request_of("DELETE /tasks/x Bearer t\n{}", token);
  EXPECT_EQ(r.method, "DELETE");
  EXPECT_EQ(r.path, "/tasks/x");
  EXPECT_EQ(r.authorization, "Bearer t");
  EXPECT_EQ(r.body, "{}");
  EXPECT_TRUE(token);
  r = fuzz::http_request_of("{\"Name\":\"a\"}", token);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/tasks");
  EXPECT_EQ(r.body, "{\"Name\":\"a\"}");
  EXPECT_FALSE(token);
}

}  // namespace
}  // namespace cube::gateway
