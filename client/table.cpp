#include "client/table.h"

#include <algorithm>
#include <utility>

namespace cube {
namespace {

// Three spaces: what kubectl and docker use, wide enough to see column breaks at a glance.
constexpr size_t kColumnGap = 3;

bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

}  // namespace

size_t display_width(const std::string& text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return !is_continuation(c); }));
}

std::string shorten(const std::string& text, size_t max_width) {
  if (display_width(text) <= max_width)
    return text;
  constexpr std::string_view kEllipsis = "...";
  if (max_width <= kEllipsis.size())
    return std::string(kEllipsis.substr(0, max_width));
  size_t keep = max_width - kEllipsis.size();
  size_t bytes = 0;
  size_t width = 0;
  // Stop before the code point that would exceed `keep`, never inside a multi-byte sequence.
  while (bytes < text.size()) {
    size_t next = bytes + 1;
    while (next < text.size() && is_continuation(text[next]))
      ++next;
    if (width + 1 > keep)
      break;
    ++width;
    bytes = next;
  }
  // Trailing blanks before the ellipsis only look like a formatting error.
  std::string out = text.substr(0, bytes);
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  return out + std::string(kEllipsis);
}

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::render() const {
  std::vector<size_t> widths(headers_.size(), 0);
  auto measure = [&widths](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i)
      widths[i] = std::max(widths[i], display_width(cells[i]));
  };
  measure(headers_);
  for (const auto& row : rows_)
    measure(row);

  std::string out;
  auto emit = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t i = 0; i < cells.size(); ++i) {
      line += cells[i];
      if (i + 1 < cells.size())
        line.append(widths[i] - display_width(cells[i]) + kColumnGap, ' ');
    }
    // An empty last cell would leave the padding of the previous ones behind.
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out += line;
    out += '\n';
  };
  emit(headers_);
  for (const auto& row : rows_)
    emit(row);
  return out;
}

}  // namespace cube
