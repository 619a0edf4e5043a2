// `reglament demo` — deploys the bundled regulation into --db and walks one
// instance of every process through each of its branches through the
// Runtime, exactly as people would: start, then take the open task, pick a
// person holding one of its roles, complete it with form values suited to
// the branch. Timestamps advance from --now, so the demo is deterministic.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace reglament {

struct DemoOptions {
  std::string processes;  // the bundle to deploy; default: the bundled processes/
};

// One walk through a process: the values to give for the variables and form
// fields that choose its branch. A name with several values takes them in
// turn, each time a form asks for it (a loop), the last one repeating.
struct DemoScenario {
  std::string process;
  std::string branch;
  std::map<std::string, std::vector<std::string>> values;
  // The customer of the walk, by its place in the demo's list; unset: its
  // own. A walk about a customer the client database already knows names the
  // one an earlier walk recorded.
  std::optional<size_t> client;
};

// Both branches of every bundled process.
std::vector<DemoScenario> demo_scenarios();

void setup_demo(CLI::App& app, Ctx& ctx);
int run_demo(Ctx& ctx, const DemoOptions& opt);

}  // namespace reglament
