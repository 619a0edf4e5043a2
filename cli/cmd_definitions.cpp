#include "cli/cmd_definitions.h"

#include <memory>

namespace reglament {

void setup_definitions(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<DefinitionsOptions>();
  CLI::App* sub = app.add_subcommand("definitions", "List the deployed versions of every process");
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_definitions(ctx, *opt); }; });
}

int run_definitions(Ctx& ctx, const DefinitionsOptions&) {
  auto store = ctx.store();
  if (!store) return fail(store.error());
  if (Status st = check_person(ctx); !st.ok()) return fail(st.error());
  auto rows = (*store)->definitions();
  if (!rows) return fail(rows.error());
  if (ctx.json) {
    Json out = Json::array();
    for (const DeployedRow& r : *rows) {
      Json j = Json::object();
      j["process"] = r.process;
      j["version"] = r.version;
      j["hash"] = r.hash;
      j["title"] = r.title;
      j["steps"] = r.steps;
      j["deployed_at"] = r.deployed_at;
      out.push_back(std::move(j));
    }
    print_json(out);
    return kExitOk;
  }
  if (rows->empty()) {
    print_line("no processes deployed; run `reglament deploy`");
    return kExitOk;
  }
  TextTable t({"process", "version", "steps", "title", "hash", "deployed"});
  t.set_max_width(3, kTitleWidth);
  for (const DeployedRow& r : *rows) {
    t.add({r.process, "v" + std::to_string(r.version), std::to_string(r.steps), r.title,
           r.hash.substr(0, 12), short_time(r.deployed_at)});
  }
  print_text(t.render());
  return kExitOk;
}

}  // namespace reglament
