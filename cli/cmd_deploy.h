// `reglament deploy [PATH...]` — validates a bundle and stores a new version
// of every process that changed, with the org chart, in one transaction.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace reglament {

struct DeployOptions {
  std::vector<std::string> paths;  // default: the bundled processes/ directory
};

void setup_deploy(CLI::App& app, Ctx& ctx);
int run_deploy(Ctx& ctx, const DeployOptions& opt);

// Validates and deploys `paths` at ctx.now. On definition problems, prints
// them (report_problems) and returns an invalid Error whose message says so;
// nothing is written then.
Result<std::vector<DeployChange>> deploy_paths(Ctx& ctx, const std::vector<std::string>& paths,
                                               bool* problems_printed);

// "incoming-request v1 (new)", "v2 (changed)", "v1 (unchanged)".
std::string describe_change(const DeployChange& c);

}  // namespace reglament
