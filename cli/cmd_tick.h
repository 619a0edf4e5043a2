// `reglament tick` — runs every pending service step once (those a crash or a
// handler failure left behind), at --now.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace reglament {

struct TickOptions {};

void setup_tick(CLI::App& app, Ctx& ctx);
int run_tick(Ctx& ctx, const TickOptions& opt);

}  // namespace reglament
