#include "cli/cmd_instances.h"

#include <memory>

namespace reglament {

void setup_instances(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<InstancesOptions>();
  CLI::App* sub = app.add_subcommand("instances", "List process instances");
  sub->add_option("--process", opt->process, "Only instances of this process key");
  sub->add_option("--status", opt->status, "Only instances with this status (active, completed)");
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_instances(ctx, *opt); }; });
}

int run_instances(Ctx& ctx, const InstancesOptions& opt) {
  auto store = ctx.store();
  if (!store) return fail(store.error());
  if (auto st = check_person(ctx); !st.ok()) return fail(st.error());
  auto rows = (*store)->instances(opt.process, opt.status);
  if (!rows) return fail(rows.error());
  // Only the instances the user may see (engine/access.h).
  Visibility visible(ctx);
  std::erase_if(*rows, [&](const InstanceRow& r) { return !visible(r.process, r.version); });
  if (ctx.json) {
    Json out = Json::array();
    for (const InstanceRow& r : *rows) {
      Json j = Json::object();
      j["instance"] = r.instance;
      j["process"] = r.process;
      j["version"] = r.version;
      j["status"] = r.status;
      j["started"] = r.started;
      j["updated"] = r.updated;
      j["current"] = string_array(r.current);
      j["client"] = nullable(r.client);
      out.push_back(std::move(j));
    }
    print_json(out);
    return kExitOk;
  }
  if (rows->empty()) {
    print_line("no instances");
    return kExitOk;
  }
  DefinitionCache defs(**store);
  TextTable t({"instance", "process", "version", "status", "started", "current", "client"});
  t.set_max_width(5, kTitleWidth);
  t.set_max_width(6, 32);
  for (const InstanceRow& r : *rows) {
    auto def = defs.get(r.process, r.version);
    std::string current = r.current.empty() ? "—" : step_labels(def ? *def : nullptr, r.current);
    t.add({r.instance, r.process, "v" + std::to_string(r.version), r.status,
           short_time(r.started), current, r.client});
  }
  print_text(t.render());
  return kExitOk;
}

}  // namespace reglament
