// `reglament validate PATH...` — checks definition files without a database.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/common.h"
#include "engine/loader.h"

namespace reglament {

struct ValidateOptions {
  std::vector<std::string> paths;
};

void setup_validate(CLI::App& app, Ctx& ctx);
int run_validate(Ctx& ctx, const ValidateOptions& opt);

// Reads `paths` (files or directories) and validates them with the built-in
// handlers. Errors: those of read_sources (a path that does not exist).
Result<LoadReport> read_bundle(Ctx& ctx, const std::vector<std::string>& paths);
// Prints every problem as `file:line:column: message` to stderr, one per line,
// and returns the exit code for invalid input.
int report_problems(const LoadReport& report);
// "5 processes, 52 steps, 2 forms, 8 people"
std::string bundle_summary(const Bundle& bundle);

}  // namespace reglament
