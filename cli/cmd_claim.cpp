#include "cli/cmd_claim.h"

#include <memory>

#include "cli/outcome.h"

namespace reglament {

void setup_claim(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<ClaimOptions>();
  CLI::App* sub = app.add_subcommand("claim", "Take a task so that others see you are working on it");
  sub->add_option("task", opt->task, "Task id, e.g. 12.3")->required();
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_claim(ctx, *opt); }; });
}

int run_claim(Ctx& ctx, const ClaimOptions& opt) {
  return run_task_command(ctx, opt.task, ClaimTask{opt.task}, "claimed");
}

}  // namespace reglament
