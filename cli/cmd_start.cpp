#include "cli/cmd_start.h"

#include <memory>

#include <fmt/format.h>

#include "cli/outcome.h"
#include "engine/runtime.h"

namespace reglament {

void setup_start(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<StartOptions>();
  CLI::App* sub = app.add_subcommand("start", "Start an instance of a deployed process");
  sub->add_option("process", opt->process, "Process key, e.g. incoming-request")->required();
  sub->add_option("--set", opt->set, "A start variable as NAME=VALUE (repeatable)")
      ->allow_extra_args(false);
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_start(ctx, *opt); }; });
}

int run_start(Ctx& ctx, const StartOptions& opt) {
  auto vars = parse_assignments(opt.set);
  if (!vars) return fail(vars.error());
  auto store = ctx.store();
  if (!store) return fail(store.error());
  if (auto d = (*store)->definition(opt.process, 0); d && d->process) {
    if (auto st = check_start(ctx, *d->process); !st.ok()) return fail(st.error());
  }  // an unknown process is the runtime's error to name
  Runtime runtime(**store, ctx.handlers());
  auto out = runtime.start(opt.process, std::move(*vars), ctx.user, ctx.now);
  if (!out) return fail(out.error());
  const InstanceState& s = out->state;

  DefinitionCache defs(**store);
  auto def = defs.get(s.process, s.version);
  const Process* p = def ? *def : nullptr;
  auto runs = service_runs(*out);

  if (ctx.json) {
    Json j = Json::object();
    j["instance"] = s.id;
    j["process"] = s.process;
    j["version"] = s.version;
    j["status"] = s.status;
    j["current"] = string_array(s.current);
    j["tasks"] = open_tasks_json(s, p);
    Json ran = Json::array();
    for (const auto& r : runs) ran.push_back(run_json(r));
    j["services"] = std::move(ran);
    j["linked"] = linked_json(*out);
    print_json(j);
    warn_link_problems(*out);
    return kExitOk;
  }
  print_line(fmt::format("started {} #{} (v{}); {}", s.process, s.id, s.version, next_text(s, p)));
  for (const auto& r : runs) print_line("  " + describe_run(r, p));
  for (const auto& l : linked_lines(*out)) print_line("  " + l);
  warn_link_problems(*out);
  return kExitOk;
}

}  // namespace reglament
