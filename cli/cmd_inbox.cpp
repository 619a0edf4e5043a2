#include "cli/cmd_inbox.h"

#include <algorithm>
#include <memory>

#include <fmt/format.h>

namespace reglament {

void setup_inbox(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<InboxOptions>();
  CLI::App* sub = app.add_subcommand("inbox", "List the open tasks you (--as) may act on");
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_inbox(ctx, *opt); }; });
}

Result<Person> find_person(SqliteStore& store, const std::string& login) {
  auto org = store.org();
  if (!org) return org.error();
  const Person* p = org->person(login);
  if (p == nullptr) {
    return make_error(ErrorCode::not_found,
                      fmt::format("unknown user \"{}\"; see reglament users", login));
  }
  return *p;
}

static bool shares_role(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::any_of(a.begin(), a.end(),
                     [&](const std::string& r) { return std::find(b.begin(), b.end(), r) != b.end(); });
}

int run_inbox(Ctx& ctx, const InboxOptions&) {
  auto store = ctx.store();
  if (!store) return fail(store.error());
  auto person = find_person(**store, ctx.user);
  if (!person) return fail(person.error());
  auto rows = (*store)->inbox(person->roles);
  if (!rows) return fail(rows.error());
  std::vector<InboxRow> tasks;
  for (InboxRow& r : *rows) {
    if (shares_role(r.roles, person->roles)) tasks.push_back(std::move(r));
  }

  DefinitionCache defs(**store);
  if (ctx.json) {
    Json out = Json::array();
    for (const InboxRow& r : tasks) {
      auto def = defs.get(r.process, r.version);
      if (!def) return fail(def.error());
      const Step* step = (*def)->step(r.step);
      Json j = Json::object();
      j["task"] = r.task;
      j["instance"] = r.instance;
      j["process"] = r.process;
      j["version"] = r.version;
      j["step"] = r.step;
      j["title"] = r.title;
      j["roles"] = string_array(r.roles);
      j["claimed_by"] = nullable(r.claimed_by);
      j["due"] = nullptr;
      j["priority"] = "normal";
      j["client"] = nullable(r.client);
      j["since"] = r.since;
      j["form"] = form_json(step != nullptr && step->form ? &*step->form : nullptr);
      out.push_back(std::move(j));
    }
    print_json(out);
    return kExitOk;
  }
  if (tasks.empty()) {
    print_line(fmt::format("no open tasks for {} ({})", person->login, join_strings(person->roles, ", ")));
    return kExitOk;
  }
  TextTable t({"task", "process", "instance", "step", "title", "client", "since", "claimed"});
  t.set_max_width(4, kTitleWidth);
  t.set_max_width(5, 28);
  for (const InboxRow& r : tasks) {
    std::string claimed = r.claimed_by.empty() ? "—" : r.claimed_by;
    t.add({r.task, r.process, r.instance, r.step, r.title, r.client, short_time(r.since), claimed});
  }
  print_text(t.render());
  return kExitOk;
}

}  // namespace reglament
