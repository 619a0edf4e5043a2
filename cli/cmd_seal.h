// `reglament seal` — verifies the whole log and records a seal of it: a
// digest over every instance's chain head and every deployed definition,
// printed as "seal: <64 hex> (N instances, M events, at <now>)" for an
// auditor to write down or sign. `verify --against DIGEST` later proves that
// nothing the seal covered changed. `seal --list` shows the recorded seals.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace reglament {

struct SealOptions {
  bool list = false;
};

void setup_seal(CLI::App& app, Ctx& ctx);
int run_seal(Ctx& ctx, const SealOptions& opt);

}  // namespace reglament
