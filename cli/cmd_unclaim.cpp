#include "cli/cmd_unclaim.h"

#include <memory>

#include "cli/outcome.h"

namespace reglament {

void setup_unclaim(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<UnclaimOptions>();
  CLI::App* sub = app.add_subcommand("unclaim", "Give a task you claimed back to everyone holding its roles");
  sub->add_option("task", opt->task, "Task id, e.g. 12.3")->required();
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_unclaim(ctx, *opt); }; });
}

int run_unclaim(Ctx& ctx, const UnclaimOptions& opt) {
  return run_task_command(ctx, opt.task, UnclaimTask{opt.task}, "unclaimed");
}

}  // namespace reglament
