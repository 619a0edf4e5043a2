// `reglament show ID` — one instance ("12") or one task ("12.3"): for an
// instance its status, steps, variables, open tasks and service errors; for a
// task its step, roles, claim, description, instructions and form.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/common.h"
#include "engine/core.h"

namespace reglament {

struct ShowOptions {
  std::string id;
};

void setup_show(CLI::App& app, Ctx& ctx);
int run_show(Ctx& ctx, const ShowOptions& opt);

// The `show INSTANCE --json` object.
Json instance_json(const InstanceState& s, const Process* process);

}  // namespace reglament
