#include "tests/unit/protocol/golden_files.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/unit/protocol/msgpack_bytes.h"

namespace cube::test {
namespace {

// 16 bytes as "xx " take 48 columns; the comment starts after them.
constexpr size_t kBytesPerLine = 16;
constexpr size_t kCommentColumn = 3 * kBytesPerLine + 1;

struct Group {
  std::string bytes;
  std::string comment;
};

std::string child_label(const std::string& parent, std::string_view key) {
  if (parent.empty())
    return std::string(key);
  return parent + "." + std::string(key);
}

// Splits the object at `at` into groups: containers get a header line and one group per
// element; scalars (and empty containers) are one group.
size_t emit(std::string_view body, size_t at, const std::string& label, std::vector<Group>& out) {
  ObjectInfo info = inspect(body, at);
  size_t end = skip_object(body, at);
  if (info.kind == ObjectInfo::Scalar || info.count == 0) {
    out.push_back({std::string(body.substr(at, end - at)), label});
    return end;
  }
  std::string header(body.substr(at, info.header_end - at));
  if (info.kind == ObjectInfo::Map) {
    out.push_back({header, (label.empty() ? "body" : label) + ": map of " +
                               std::to_string(info.count) + " keys"});
    for (const auto& e : map_layout(body, at).entries) {
      std::string key_label = child_label(label, e.key);
      ObjectInfo value = inspect(body, e.value);
      if (value.kind == ObjectInfo::Scalar || value.count == 0) {
        out.push_back({std::string(body.substr(e.begin, e.end - e.begin)), key_label});
      } else {
        out.push_back({std::string(body.substr(e.begin, e.value - e.begin)), key_label});
        emit(body, e.value, key_label, out);
      }
    }
  } else {
    out.push_back({header, label + ": array of " + std::to_string(info.count)});
    size_t element = info.header_end;
    for (uint64_t i = 0; i < info.count; ++i)
      element = emit(body, element, label + "[" + std::to_string(i) + "]", out);
  }
  return end;
}

std::string hex_line(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string line;
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto b = static_cast<uint8_t>(bytes[i]);
    if (i > 0)
      line += ' ';
    line += kHex[b >> 4];
    line += kHex[b & 0xf];
  }
  return line;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string golden_path(std::string_view name) {
  return std::string(CUBE_GOLDEN_DIR) + "/" + std::string(name) + ".hex";
}

std::string fuzz_corpus_dir(std::string_view target) {
  return std::string(CUBE_GOLDEN_DIR) + "/../fuzz/corpus/" + std::string(target);
}

bool golden_update_requested() {
  const char* value = std::getenv("CUBE_UPDATE_GOLDEN");
  return value != nullptr && std::string_view(value) == "1";
}

Result<std::string> parse_hex_dump(std::string_view text) {
  std::string out;
  int line_number = 0;
  while (!text.empty()) {
    ++line_number;
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    line = line.substr(0, line.find('#'));
    size_t i = 0;
    while (i < line.size()) {
      char c = line[i];
      if (c == ' ' || c == '\t' || c == '\r') {
        ++i;
        continue;
      }
      int hi = hex_value(c);
      int lo = i + 1 < line.size() ? hex_value(line[i + 1]) : -1;
      if (hi < 0 || lo < 0) {
        return Status::invalid("line " + std::to_string(line_number) + ": \"" +
                               std::string(line.substr(i, 8)) + "\" is not a hex byte");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
  }
  return out;
}

std::string format_hex_dump(std::string_view body, const std::vector<std::string>& header_lines) {
  std::ostringstream os;
  for (const auto& line : header_lines)
    os << "# " << line << "\n";
  os << "\n";
  std::vector<Group> groups;
  if (!body.empty())
    emit(body, 0, "", groups);
  for (const auto& g : groups) {
    for (size_t i = 0; i < g.bytes.size(); i += kBytesPerLine) {
      std::string line = hex_line(std::string_view(g.bytes).substr(i, kBytesPerLine));
      if (i == 0 && !g.comment.empty()) {
        line.resize(kCommentColumn, ' ');
        line += "# " + g.comment;
      }
      os << line << "\n";
    }
  }
  return os.str();
}

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::not_found("cannot open " + path);
  std::ostringstream os;
  os << in.rdbuf();
  if (in.bad())
    return Status::internal("cannot read " + path);
  return os.str();
}

Status write_text_file(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out)
    return Status::internal("cannot write " + path);
  return Status::ok();
}

Result<std::string> load_or_update_golden(std::string_view name, std::string_view body,
                                          const std::vector<std::string>& header_lines) {
  std::string path = golden_path(name);
  if (golden_update_requested())
    CUBE_RETURN_IF_ERROR(write_text_file(path, format_hex_dump(body, header_lines)));
  auto text = read_text_file(path);
  if (!text.is_ok()) {
    return text.status().with_context(
        "golden file missing; run the test with CUBE_UPDATE_GOLDEN=1 to write it");
  }
  auto bytes = parse_hex_dump(*text);
  if (!bytes.is_ok())
    return bytes.status().with_context(path);
  return bytes;
}

}  // namespace cube::test
