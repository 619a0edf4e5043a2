#include "cli/cmd_complete.h"

#include <memory>

#include "cli/outcome.h"

namespace reglament {

void setup_complete(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<CompleteOptions>();
  CLI::App* sub = app.add_subcommand("complete", "Complete a task, filling in its form");
  sub->add_option("task", opt->task, "Task id, e.g. 12.3")->required();
  sub->add_option("--set", opt->set, "A form value as FIELD=VALUE (repeatable)")
      ->allow_extra_args(false);
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_complete(ctx, *opt); }; });
}

int run_complete(Ctx& ctx, const CompleteOptions& opt) {
  auto values = parse_assignments(opt.set);
  if (!values) return fail(values.error());
  return run_task_command(ctx, opt.task, CompleteTask{opt.task, std::move(*values)}, "completed");
}

}  // namespace reglament
