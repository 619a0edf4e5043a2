// `reglament replay INSTANCE [--at TIME | --upto SEQ]` — the state of an
// instance as it was at a past moment, rebuilt from its events alone (never
// from the stored tables): status, current steps, open tasks and who held
// them, and every variable with the event that gave it its value then.
// Without --at or --upto: after its last event. --json prints the object
// `show --json` prints, plus "as_of", "variables_set_by" and "claims".
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "cli/common.h"

namespace reglament {

struct ReplayOptions {
  std::string instance;
  std::string at;    // the state after every event at or before this time
  int64_t upto = 0;  // the state after this many events, when upto_given
  bool upto_given = false;
};

void setup_replay(CLI::App& app, Ctx& ctx);
int run_replay(Ctx& ctx, const ReplayOptions& opt);

}  // namespace reglament
