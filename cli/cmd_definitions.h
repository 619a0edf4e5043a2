// `reglament definitions` — the deployed versions of every process.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace reglament {

struct DefinitionsOptions {};

void setup_definitions(CLI::App& app, Ctx& ctx);
int run_definitions(Ctx& ctx, const DefinitionsOptions& opt);

}  // namespace reglament
