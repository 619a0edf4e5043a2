#include "cli/cmd_outbox.h"

#include <memory>

namespace reglament {

void setup_outbox(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<OutboxOptions>();
  CLI::App* sub = app.add_subcommand("outbox", "List the messages written by service steps");
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_outbox(ctx, *opt); }; });
}

int run_outbox(Ctx& ctx, const OutboxOptions&) {
  auto store = ctx.store();
  if (!store) return fail(store.error());
  if (auto st = check_audit(ctx, "read the outbox"); !st.ok()) return fail(st.error());
  auto rows = (*store)->outbox();
  if (!rows) return fail(rows.error());
  if (ctx.json) {
    Json out = Json::array();
    for (const OutboxRow& r : *rows) {
      Json j = Json::object();
      j["id"] = r.id;
      j["instance"] = r.instance;
      j["step"] = r.step;
      j["to"] = r.to;
      j["text"] = r.text;
      j["at"] = r.at;
      out.push_back(std::move(j));
    }
    print_json(out);
    return kExitOk;
  }
  if (rows->empty()) {
    print_line("the outbox is empty");
    return kExitOk;
  }
  TextTable t({"id", "instance", "step", "to", "text", "at"});
  t.set_max_width(4, 60);
  for (const OutboxRow& r : *rows) {
    t.add({std::to_string(r.id), r.instance, r.step, r.to, r.text, short_time(r.at)});
  }
  print_text(t.render());
  return kExitOk;
}

}  // namespace reglament
