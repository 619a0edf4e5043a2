// `reglament claim TASK` — takes an open task as the user (--as).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace reglament {

struct ClaimOptions {
  std::string task;  // "12.3"
};

void setup_claim(CLI::App& app, Ctx& ctx);
int run_claim(Ctx& ctx, const ClaimOptions& opt);

}  // namespace reglament
