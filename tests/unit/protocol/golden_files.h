// Reading and writing tests/golden/*.hex: MessagePack bodies as hex dumps with `#` comments.
//
// Format: `#` starts a comment that runs to the end of the line; everything else must be pairs
// of hex digits separated by whitespace. The writer puts a header of comment lines first, then
// one group of lines per map key (wrapped at 16 bytes), each group commented with the key's
// path, so a diff of a golden file shows which field changed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cube::test {

// CUBE_GOLDEN_DIR "/" name ".hex" (CUBE_GOLDEN_DIR is the source tree's tests/golden).
std::string golden_path(std::string_view name);

// CUBE_GOLDEN_DIR "/../fuzz/corpus/" target: the seed corpus of a fuzz target (tests/fuzz/).
std::string fuzz_corpus_dir(std::string_view target);

// True when the environment has CUBE_UPDATE_GOLDEN=1: the golden tests then write the files
// from the current encoder instead of comparing (see tests/golden/README.md).
bool golden_update_requested();

// The bytes of a hex dump. Invalid naming the line and the offending text.
Result<std::string> parse_hex_dump(std::string_view text);

// A hex dump of `body` with `header_lines` as leading comments, annotated per key.
std::string format_hex_dump(std::string_view body, const std::vector<std::string>& header_lines);

// Whole-file helpers. NotFound when the file is missing; Internal on I/O errors.
Result<std::string> read_text_file(const std::string& path);
Status write_text_file(const std::string& path, std::string_view content);

// Reads tests/golden/<name>.hex and parses it; writes it first when an update was requested.
// `body` is what the encoder produces now; `header_lines` describe the sample.
Result<std::string> load_or_update_golden(std::string_view name, std::string_view body,
                                          const std::vector<std::string>& header_lines);

}  // namespace cube::test
