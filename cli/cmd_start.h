// `reglament start PROCESS --set k=v ...` — starts an instance of the latest
// deployed version of a process, as the user given by --as.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace reglament {

struct StartOptions {
  std::string process;
  std::vector<std::string> set;  // NAME=VALUE
};

void setup_start(CLI::App& app, Ctx& ctx);
int run_start(Ctx& ctx, const StartOptions& opt);

}  // namespace reglament
