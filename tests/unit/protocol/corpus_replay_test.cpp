// Replays every file of the fuzz corpora (tests/fuzz/corpus/<target>/) through the same checks
// as the libFuzzer targets (tests/fuzz/fuzz_targets.h), so the normal test run, and the
// ASan/UBSan build with CUBE_SANITIZE=ON, keeps every crash the fuzzers ever found fixed even
// where libFuzzer is not available (STYLE.md habit 21).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "tests/fuzz/fuzz_targets.h"
#include "tests/unit/protocol/golden_files.h"

namespace cube::test {
namespace {

using Check = std::string (*)(const uint8_t*, size_t);

std::vector<std::filesystem::path> corpus_files(const std::string& target) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(fuzz_corpus_dir(target), ec)) {
    if (entry.is_regular_file())
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void replay(const std::string& target, Check check, size_t minimum_files) {
  auto files = corpus_files(target);
  EXPECT_GE(files.size(), minimum_files) << "corpus " << fuzz_corpus_dir(target);
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    auto data = read_text_file(file.string());
    ASSERT_TRUE(data.is_ok()) << data.status().to_string();
    std::string problem = check(reinterpret_cast<const uint8_t*>(data->data()), data->size());
    EXPECT_EQ(problem, "");
  }
}

// The seeds are one per message type (from tests/golden/) plus whatever the fuzzer found.
TEST(CorpusReplay, CodecFuzz) {
  replay("codec_fuzz", &fuzz::check_codec_input, 20);
}

// The prior orchestrators' README bodies plus whatever the fuzzer found.
TEST(CorpusReplay, TaskJsonFuzz) {
  replay("task_json_fuzz", &fuzz::check_task_json_input, 4);
}

}  // namespace
}  // namespace cube::test
