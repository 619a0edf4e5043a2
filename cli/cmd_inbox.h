// `reglament inbox` — the open tasks the user (--as) may act on: those whose
// roles meet the user's roles in the deployed org chart, highest priority
// first, then the earliest due, then the oldest. A task whose due moment is
// before --now is marked overdue; --overdue lists only those.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace reglament {

struct InboxOptions {
  bool overdue = false;  // only tasks past their due moment
  int limit = 0;         // at most this many (0: all)
};

void setup_inbox(CLI::App& app, Ctx& ctx);
int run_inbox(Ctx& ctx, const InboxOptions& opt);

// The person behind `login` in the deployed org chart.
// Errors: not_found `unknown user "x"; see reglament users`.
Result<Person> find_person(SqliteStore& store, const std::string& login);

}  // namespace reglament
