// `reglament inbox` — the open tasks the user (--as) may act on: those whose
// roles meet the user's roles in the deployed org chart.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace reglament {

struct InboxOptions {};

void setup_inbox(CLI::App& app, Ctx& ctx);
int run_inbox(Ctx& ctx, const InboxOptions& opt);

// The person behind `login` in the deployed org chart.
// Errors: not_found `unknown user "x"; see reglament users`.
Result<Person> find_person(SqliteStore& store, const std::string& login);

}  // namespace reglament
