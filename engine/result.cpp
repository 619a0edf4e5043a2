#include "engine/result.h"

namespace reglament {

std::string Location::str() const {
  if (!known()) return "";
  std::string out = file;
  if (line > 0) {
    out += ':';
    out += std::to_string(line);
    if (column > 0) {
      out += ':';
      out += std::to_string(column);
    }
  }
  return out;
}

std::string Error::str() const {
  std::string place = where.str();
  if (place.empty()) return message;
  return place + ": " + message;
}

}  // namespace reglament
