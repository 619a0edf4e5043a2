// `reglament graph PROCESS` — a deployed process as a Mermaid or Graphviz
// diagram: user steps as boxes, service steps in their own shape, choice
// edges labelled with their conditions, parallel edges bold.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace reglament {

struct GraphOptions {
  std::string process;
  int version = 0;  // 0: the latest
  std::string format = "mermaid";
};

void setup_graph(CLI::App& app, Ctx& ctx);
int run_graph(Ctx& ctx, const GraphOptions& opt);

// The diagram text, ending in a newline.
std::string mermaid_graph(const Process& process, int version);
std::string dot_graph(const Process& process, int version);

}  // namespace reglament
