// A property the fuzz targets check: when it is broken, say which and abort,
// so libFuzzer keeps the input.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace reglament::fuzz {

inline void expect(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "property broken: %s\n", what);
  std::abort();
}

}  // namespace reglament::fuzz
