// `reglament deploy [PATH...]` — validates a bundle and stores a new version
// of every process that changed, with the org chart, in one transaction.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace reglament {

struct DeployOptions {
  std::vector<std::string> paths;  // required: deploy names what it deploys
  bool replace_org = false;        // --replace-org: replace the org chart even where that breaks something
};

// How deploy_paths may change what is deployed.
struct DeployPolicy {
  // Replace the org chart even when the new one drops roles or people that
  // deployed processes or open tasks use (the plan is printed).
  bool replace_org = false;
  // Refuse (forbidden) unless both the deployed org chart and the bundle's
  // take identity as asserted: for `demo`, which acts in everyone's name.
  bool asserted_only = false;
};

void setup_deploy(CLI::App& app, Ctx& ctx);
int run_deploy(Ctx& ctx, const DeployOptions& opt);

// Validates and deploys `paths` at ctx.now. On definition problems, prints
// them (report_problems) and returns an invalid Error whose message says so;
// nothing is written then. A new org chart that would break what is deployed
// or running (org_change_breaks) is refused with conflict, its list printed,
// unless policy.replace_org, when the list is printed as the plan.
Result<std::vector<DeployChange>> deploy_paths(Ctx& ctx, const std::vector<std::string>& paths,
                                               bool* problems_printed, const DeployPolicy& policy = {});

// What replacing the deployed org chart by `bundle`'s would break, one
// sentence each: deployed processes (the latest versions the bundle does not
// replace, and every version with unfinished instances) that would no longer
// load against it, open tasks whose roles or claimant it drops, identity
// turning from os-login to asserted, and the deploying administrator losing
// the role. Empty when the bundle has no org chart or nothing is deployed.
Result<std::vector<std::string>> org_change_breaks(Ctx& ctx, SqliteStore& store, const Bundle& bundle);

// "incoming-request v1 (new)", "v2 (changed)", "v1 (unchanged)".
std::string describe_change(const DeployChange& c);

}  // namespace reglament
