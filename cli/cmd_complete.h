// `reglament complete TASK --set field=value ...` — completes a task with its
// form values, as the user (--as); the engine routes to the next step.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace reglament {

struct CompleteOptions {
  std::string task;              // "12.3"
  std::vector<std::string> set;  // FIELD=VALUE
};

void setup_complete(CLI::App& app, Ctx& ctx);
int run_complete(Ctx& ctx, const CompleteOptions& opt);

}  // namespace reglament
