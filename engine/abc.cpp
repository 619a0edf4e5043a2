// ABC analysis. The class of a customer depends on the cumulative share of
// the customers ranked above it, not on its own: the customer whose share
// crosses the A line is still A, so A always reaches at least a_percent.

#include "engine/abc.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include <fmt/format.h>

namespace reglament {
namespace {

// Shares are sums of divisions; a cumulative that should be exactly on a line
// (80 of 80) may come out a hair above or below it. Values within this many
// percent of a line count as on it.
constexpr double kEpsilon = 1e-9;

Status check(const std::vector<AbcInput>& volumes, double a_percent, double b_percent) {
  if (!(a_percent > 0 && a_percent <= 100)) {
    return make_error(ErrorCode::invalid,
                      fmt::format("the A share must be above 0 and at most 100 percent, not {}", a_percent));
  }
  if (!(b_percent >= 0)) {
    return make_error(ErrorCode::invalid,
                      fmt::format("the B share must be 0 percent or more, not {}", b_percent));
  }
  if (a_percent + b_percent > 100 + kEpsilon) {
    return make_error(ErrorCode::invalid,
                      fmt::format("the A and B shares add up to {} percent, more than 100", a_percent + b_percent));
  }
  std::unordered_set<int64_t> seen;
  double total = 0;
  for (const AbcInput& in : volumes) {
    if (!(in.volume >= 0) || std::isinf(in.volume)) {
      return make_error(ErrorCode::invalid,
                        fmt::format("client {} has a volume of {}; a volume must be a finite number, 0 or more",
                                    in.client, in.volume));
    }
    if (!seen.insert(in.client).second) {
      return make_error(ErrorCode::invalid,
                        fmt::format("client {} is listed twice; give one total volume per client", in.client));
    }
    total += in.volume;
  }
  if (std::isinf(total)) {
    return make_error(ErrorCode::invalid, "the volumes add up to more than a number can hold");
  }
  return {};
}

}  // namespace

Result<std::vector<AbcRow>> classify_abc(std::vector<AbcInput> volumes, double a_percent, double b_percent) {
  if (Status s = check(volumes, a_percent, b_percent); !s.ok()) return s.error();

  std::sort(volumes.begin(), volumes.end(), [](const AbcInput& x, const AbcInput& y) {
    if (x.volume != y.volume) return x.volume > y.volume;
    return x.client < y.client;
  });
  double total = 0;
  for (const AbcInput& in : volumes) total += in.volume;

  std::vector<AbcRow> rows;
  rows.reserve(volumes.size());
  double running = 0;  // volume of the customers ranked so far
  for (const AbcInput& in : volumes) {
    AbcRow row;
    row.client = in.client;
    row.volume = in.volume;
    if (total > 0) {
      // Percentages from running volumes rather than summed shares: the last
      // customer with volume lands on exactly 100.
      double before = running / total * 100;
      running += in.volume;
      row.share = in.volume / total * 100;
      row.cumulative = running >= total ? 100 : running / total * 100;
      if (in.volume == 0) {
        row.cls = 'C';
      } else if (before < a_percent - kEpsilon) {
        row.cls = 'A';
      } else if (before < a_percent + b_percent - kEpsilon) {
        row.cls = 'B';
      } else {
        row.cls = 'C';
      }
    }
    rows.push_back(row);
  }
  return rows;
}

}  // namespace reglament
