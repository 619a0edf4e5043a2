// `reglament incidents`, `retry INCIDENT`, `skip INCIDENT --reason TEXT`:
// service steps whose handler failed more often than their `retry:` allows
// wait for a person, who tries again or moves on (engine/README.md,
// "Incidents").
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace reglament {

struct RetryOptions {
  std::string job;  // the incident's id: its job's, e.g. "12.4"
};

struct SkipOptions {
  std::string job;
  std::string reason;
};

void setup_incidents(CLI::App& app, Ctx& ctx);
int run_incidents(Ctx& ctx);
int run_retry(Ctx& ctx, const RetryOptions& opt);
int run_skip(Ctx& ctx, const SkipOptions& opt);

}  // namespace reglament
