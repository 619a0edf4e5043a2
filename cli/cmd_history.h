// `reglament history INSTANCE` — every event of an instance, in order.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/common.h"
#include "engine/core.h"

namespace reglament {

struct HistoryOptions {
  std::string instance;
};

void setup_history(CLI::App& app, Ctx& ctx);
int run_history(Ctx& ctx, const HistoryOptions& opt);

// A one-line summary of an event's data for people ("task 12.3 for manager").
std::string event_summary(const Event& e);

}  // namespace reglament
