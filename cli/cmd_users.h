// `reglament users` — the people of the deployed org chart and their roles.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace reglament {

struct UsersOptions {};

void setup_users(CLI::App& app, Ctx& ctx);
int run_users(Ctx& ctx, const UsersOptions& opt);

}  // namespace reglament
