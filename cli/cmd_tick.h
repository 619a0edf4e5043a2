// `reglament tick` — does everything that is due at --now, once: starts the
// scheduled processes whose occurrence has come, ends waits and passes
// deadlines (running their escalation), and runs the service steps left
// pending (by a crash, a failing handler, or the above). Prints what it did.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/common.h"
#include "engine/runtime.h"

namespace reglament {

struct TickOptions {};

void setup_tick(CLI::App& app, Ctx& ctx);
int run_tick(Ctx& ctx, const TickOptions& opt);

// What a tick did, one line and one JSON object per action, in order
// (shared with `reglament worker`).
struct TickLines {
  std::vector<std::string> lines;
  Json actions = Json::array();
};
TickLines describe_tick(const Runtime::TickReport& report, DefinitionCache& defs);

}  // namespace reglament
