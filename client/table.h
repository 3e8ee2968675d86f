// Table: plain-text tables with aligned columns, as cube-client prints them (kubectl style:
// upper-case headers, columns separated by three spaces, no trailing blanks).
//
// Thread-safety: a value; no shared state.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace cube {

class Table {
 public:
  explicit Table(std::vector<std::string> headers);

  // Adds a row. Missing trailing cells are empty; cells beyond the header count are dropped so
  // a row can never break the alignment.
  void add_row(std::vector<std::string> cells);

  size_t row_count() const { return rows_.size(); }

  // The header line and every row, each ending in '\n'. Every column is as wide as its widest
  // cell (counted in UTF-8 code points, so "…" or "é" do not shift later columns); the last
  // column is not padded.
  std::string render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// Width of `text` in UTF-8 code points (continuation bytes are not counted).
size_t display_width(const std::string& text);

// `text` cut to at most `max_width` code points, ending in "..." when it was cut.
std::string shorten(const std::string& text, size_t max_width);

}  // namespace cube
