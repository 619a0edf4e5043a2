// `reglament refusals [INSTANCE]` — the commands that were refused
// (exit 5): who tried what, when, from which OS account, and why not.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace reglament {

struct RefusalsOptions {
  std::string instance;  // only those about this instance
};

void setup_refusals(CLI::App& app, Ctx& ctx);
int run_refusals(Ctx& ctx, const RefusalsOptions& opt);

}  // namespace reglament
