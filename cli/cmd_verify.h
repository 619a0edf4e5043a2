// `reglament verify [INSTANCE] [--against DIGEST]` — proves that the log was
// not altered: recomputes every instance's hash chain, rebuilds each state
// from its events and compares it with the stored tables, checks the
// definitions and the log's append-only guards, and, given a seal's digest,
// that nothing the seal covered changed. Prints every problem, located, and
// "verified N instances, M events: ok"; exits 6 when anything is wrong.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/common.h"

namespace reglament {

struct VerifyCmdOptions {
  std::string instance;  // empty: every instance
  std::string against;   // a digest printed by `reglament seal`
  bool full = false;     // integrity_check instead of quick_check
};

void setup_verify(CLI::App& app, Ctx& ctx);
int run_verify(Ctx& ctx, const VerifyCmdOptions& opt);

}  // namespace reglament
