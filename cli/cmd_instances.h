// `reglament instances [--process KEY] [--status S]` — process instances,
// newest state of each.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace reglament {

struct InstancesOptions {
  std::optional<std::string> process;
  std::optional<std::string> status;
};

void setup_instances(CLI::App& app, Ctx& ctx);
int run_instances(Ctx& ctx, const InstancesOptions& opt);

}  // namespace reglament
