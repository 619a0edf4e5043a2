// `reglament outbox` — the messages service steps wrote (notify), oldest first.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace reglament {

struct OutboxOptions {};

void setup_outbox(CLI::App& app, Ctx& ctx);
int run_outbox(Ctx& ctx, const OutboxOptions& opt);

}  // namespace reglament
