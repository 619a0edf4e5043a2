// Private to the loader: where a yaml-cpp node sits in its file, as a
// Location. Included by loader_indicators.cpp and loader_calendar.cpp (the
// only files besides loader.cpp that may include yaml-cpp).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "engine/result.h"

namespace reglament::loader_detail {

inline bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Locations in one file: yaml-cpp marks are 0-based and count bytes; ours
// are 1-based and count characters.
class Places {
 public:
  Places(std::string file, const std::string& text) : file_(std::move(file)) {
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      lines_.push_back(text.substr(start, end - start));
      start = end + 1;
    }
  }

  Location at(int line, int byte_column) const {
    if (line < 0) return start();
    int column = byte_column + 1;
    if (line < static_cast<int>(lines_.size())) {
      const std::string& l = lines_[line];
      column = 1;
      for (int i = 0; i < byte_column && i < static_cast<int>(l.size()); ++i) {
        if (!is_continuation(l[i])) ++column;
      }
    }
    return Location{file_, line + 1, column};
  }
  Location at(const YAML::Node& n) const { return at(n.Mark().line, n.Mark().column); }
  Location start() const { return Location{file_, 1, 1}; }

  // The place of byte `offset` of a scalar written on one line as it reads.
  Location inside(const YAML::Node& scalar, size_t offset) const {
    YAML::Mark m = scalar.Mark();
    if (m.line < 0 || m.line >= static_cast<int>(lines_.size()) || !scalar.IsScalar()) return at(scalar);
    const std::string& value = scalar.Scalar();
    std::string_view l = lines_[m.line];
    size_t begin = static_cast<size_t>(m.column);
    if (begin < l.size() && (l[begin] == '"' || l[begin] == '\'')) ++begin;
    if (begin > l.size() || l.substr(begin, value.size()) != value || offset > value.size()) return at(scalar);
    return at(m.line, static_cast<int>(begin + offset));
  }

 private:
  std::string file_;
  std::vector<std::string> lines_;
};

}  // namespace reglament::loader_detail
