// `reglament timeline [--from T] [--to T] [--process P] [--actor A]
// [--step S] [--format table|json|csv]` — every event of every instance in
// a period, in the order they happened (as instants, whatever offsets they
// were written in), for an audit sample. --from is included, --to is not.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/common.h"

namespace reglament {

struct TimelineOptions {
  std::string from;
  std::string to;
  std::string process;
  std::string actor;
  std::string step;
  std::string format;
};

void setup_timeline(CLI::App& app, Ctx& ctx);
int run_timeline(Ctx& ctx, const TimelineOptions& opt);

}  // namespace reglament
