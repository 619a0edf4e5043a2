#include "cli/cmd_incidents.h"

#include <memory>

#include <fmt/format.h>

#include "cli/outcome.h"

namespace reglament {

void setup_incidents(CLI::App& app, Ctx& ctx) {
  CLI::App* list = app.add_subcommand("incidents", "List service steps that failed more often than their retry: allows");
  list->callback([&ctx] { ctx.action = [&ctx] { return run_incidents(ctx); }; });

  auto retry = std::make_shared<RetryOptions>();
  CLI::App* r = app.add_subcommand("retry", "Run an incident's service step again now");
  r->add_option("incident", retry->job, "Incident id (its job's), e.g. 12.4")->required();
  r->callback([&ctx, retry] { ctx.action = [&ctx, retry] { return run_retry(ctx, *retry); }; });

  auto skip = std::make_shared<SkipOptions>();
  CLI::App* s = app.add_subcommand("skip", "Move past a failed service step without its result (process owner)");
  s->add_option("incident", skip->job, "Incident id (its job's), e.g. 12.4")->required();
  s->add_option("--reason", skip->reason, "Why the step is skipped; recorded in the history")->required();
  s->callback([&ctx, skip] { ctx.action = [&ctx, skip] { return run_skip(ctx, *skip); }; });
}

int run_incidents(Ctx& ctx) {
  auto store = ctx.store();
  if (!store) return fail(store.error());
  if (auto st = check_person(ctx); !st.ok()) return fail(st.error());
  auto rows = (*store)->incidents();
  if (!rows) return fail(rows.error());
  Visibility visible(ctx);  // the latest version's roles decide
  std::erase_if(*rows, [&](const IncidentRow& r) { return !visible(r.process, 0); });
  if (ctx.json) {
    Json out = Json::array();
    for (const IncidentRow& r : *rows) {
      Json j = Json::object();
      j["incident"] = r.job;
      j["instance"] = r.instance;
      j["process"] = r.process;
      j["step"] = r.step;
      j["handler"] = r.handler;
      j["attempts"] = r.attempts;
      j["error"] = r.error;
      j["since"] = r.since;
      out.push_back(std::move(j));
    }
    print_json(out);
    return kExitOk;
  }
  if (rows->empty()) {
    print_line("no incidents");
    return kExitOk;
  }
  TextTable t({"incident", "instance", "process", "step", "handler", "attempts", "error"});
  for (const IncidentRow& r : *rows)
    t.add({r.job, r.instance, r.process, r.step, r.handler, std::to_string(r.attempts), r.error});
  print_text(t.render());
  print_line("retry one with `reglament retry INCIDENT`, or move on with `reglament skip INCIDENT --reason TEXT`");
  return kExitOk;
}

int run_retry(Ctx& ctx, const RetryOptions& opt) {
  return run_task_command(ctx, opt.job, RetryJob{opt.job}, "retried");
}

int run_skip(Ctx& ctx, const SkipOptions& opt) {
  return run_task_command(ctx, opt.job, SkipJob{opt.job, opt.reason}, "skipped");
}

}  // namespace reglament
