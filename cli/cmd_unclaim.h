// `reglament unclaim TASK` — gives a claimed task back to its roles.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace reglament {

struct UnclaimOptions {
  std::string task;  // "12.3"
};

void setup_unclaim(CLI::App& app, Ctx& ctx);
int run_unclaim(Ctx& ctx, const UnclaimOptions& opt);

}  // namespace reglament
