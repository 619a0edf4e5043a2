#include "cli/cmd_refusals.h"

#include <memory>

#include "storage/refusals.h"

namespace reglament {

void setup_refusals(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<RefusalsOptions>();
  CLI::App* sub = app.add_subcommand("refusals", "List the commands that were refused (exit 5)");
  // A positional: an option named --instance upsets CLI11 2.3 (Debian 12),
  // whose fallthrough then took `inbox` and `incidents` for it.
  sub->add_option("instance", opt->instance, "Only the refusals about this instance");
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_refusals(ctx, *opt); }; });
}

int run_refusals(Ctx& ctx, const RefusalsOptions& opt) {
  auto store = ctx.store();
  if (!store) return fail(store.error());
  if (auto st = check_audit(ctx, "list the refusals"); !st.ok()) return fail(st.error());
  auto rows = refusals(**store, opt.instance);
  if (!rows) return fail(rows.error());
  if (ctx.json) {
    Json out = Json::array();
    for (const Refusal& r : *rows) {
      Json j = Json::object();
      j["seq"] = r.seq;
      j["at"] = r.at;
      j["actor"] = r.actor;
      j["os_login"] = r.os_login;
      j["command"] = r.command;
      j["instance"] = nullable(r.instance);
      j["reason"] = r.reason;
      out.push_back(std::move(j));
    }
    print_json(out);
    return kExitOk;
  }
  if (rows->empty()) {
    print_line("no refusals");
    return kExitOk;
  }
  TextTable t({"seq", "at", "actor", "os login", "instance", "command", "reason"});
  t.set_max_width(5, 40);
  t.set_max_width(6, 60);
  for (const Refusal& r : *rows)
    t.add({std::to_string(r.seq), short_time(r.at), r.actor, r.os_login, r.instance, r.command, r.reason});
  print_text(t.render());
  return kExitOk;
}

}  // namespace reglament
