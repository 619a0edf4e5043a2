// ABC analysis of the client base (second seed): customers ranked by their
// share of accepted request volume in a period. Pure: storage supplies the
// volumes, the CLI prints and stores the classes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/result.h"

namespace reglament {

struct AbcInput {
  int64_t client = 0;
  double volume = 0;  // accepted request volume in the period; >= 0
};

struct AbcRow {
  int64_t client = 0;
  double volume = 0;
  double share = 0;       // percent of the total volume
  double cumulative = 0;  // percent, this customer included
  char cls = 'C';         // 'A' | 'B' | 'C'
};

// Ranks by volume (largest first; equal volumes by client id) and classes:
// A — the customers that make the first `a_percent` of the volume (the one
// whose share crosses the line is A), B — the next `b_percent`, C — the rest,
// and every customer with no volume. A customer is A when the cumulative
// share of the customers ranked above it is below a_percent, B when it is
// below a_percent + b_percent. Example, a = 80, b = 15: volumes 500, 300,
// 100, 60, 40, 0 give cumulative 50, 80, 90, 96, 100, 100 and classes
// A A B B C C. When every volume is 0, every customer is C with share and
// cumulative 0; an empty input gives no rows.
// invalid when a_percent is not in (0, 100], b_percent is negative, or their
// sum exceeds 100, or a volume is negative or not finite, or a client is
// listed twice.
Result<std::vector<AbcRow>> classify_abc(std::vector<AbcInput> volumes, double a_percent,
                                         double b_percent);

}  // namespace reglament
