// A property the fuzz targets check: when it is broken, say which and abort,
// so libFuzzer keeps the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace reglament::fuzz {

inline void expect(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "property broken: %s\n", what);
  std::abort();
}

// Writes the input about to run to the file named by the environment
// variable REGLAMENT_FUZZ_LAST_INPUT (when set), replacing the previous one.
// libFuzzer saves the input of a crash itself, but its out-of-memory report
// walks the whole ASan heap first and can stall for minutes before it gets
// there; when the run is killed, this file still holds the input.
inline void keep_last_input(const uint8_t* data, size_t size) {
  static const char* path = std::getenv("REGLAMENT_FUZZ_LAST_INPUT");
  if (path == nullptr || *path == '\0') return;
  if (std::FILE* f = std::fopen(path, "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
}

}  // namespace reglament::fuzz
