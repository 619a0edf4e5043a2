#include "cli/cmd_inbox.h"

#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "engine/access.h"

namespace reglament {

void setup_inbox(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<InboxOptions>();
  CLI::App* sub = app.add_subcommand("inbox", "List the open tasks you (--as) may act on");
  sub->add_flag("--overdue", opt->overdue, "Only tasks past their due moment (at --now)");
  sub->add_option("--limit", opt->limit, "At most this many tasks, in inbox order")->check(at_least(0));
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_inbox(ctx, *opt); }; });
}

Result<Person> find_person(SqliteStore& store, const std::string& login) {
  auto org = store.org();
  if (!org) return org.error();
  if (Status st = is_person(*org, login); !st.ok()) return st.error();
  return *org->person(login);
}

static bool shares_role(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::any_of(a.begin(), a.end(),
                     [&](const std::string& r) { return std::find(b.begin(), b.end(), r) != b.end(); });
}

int run_inbox(Ctx& ctx, const InboxOptions& opt) {
  auto store = ctx.store();
  if (!store) return fail(store.error());
  auto person = find_person(**store, ctx.user);
  if (!person) return fail(person.error());
  auto now = parse_moment(ctx.now);
  if (!now) return fail(now.error());
  // Overdue from the due moment on, as a tick at that moment passes the deadline.
  auto overdue = [&](const InboxRow& r) { return !r.due.empty() && r.due_epoch <= now->epoch; };
  // Without a filter the first page is read by walking the inbox index.
  auto rows = opt.limit > 0 && !opt.overdue ? (*store)->inbox_page(person->roles, opt.limit)
                                            : (*store)->inbox(person->roles);
  if (!rows) return fail(rows.error());
  std::vector<InboxRow> tasks;
  for (InboxRow& r : *rows) {
    if (!shares_role(r.roles, person->roles)) continue;
    if (opt.overdue && !overdue(r)) continue;
    if (opt.limit > 0 && static_cast<int>(tasks.size()) >= opt.limit) break;
    tasks.push_back(std::move(r));
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
      j["due"] = nullable(r.due);
      j["overdue"] = overdue(r);
      j["priority"] = std::string(to_string(r.priority));
      j["client"] = nullable(r.client);
      j["since"] = r.since;
      j["form"] = form_json(step != nullptr && step->form ? &*step->form : nullptr);
      out.push_back(std::move(j));
    }
    print_json(out);
    return kExitOk;
  }
  if (tasks.empty()) {
    print_line(fmt::format("no {}tasks for {} ({})", opt.overdue ? "overdue " : "open ", person->login,
                           join_strings(person->roles, ", ")));
    return kExitOk;
  }
  TextTable t({"task", "process", "instance", "step", "title", "client", "priority", "due", "since", "claimed"});
  t.set_max_width(4, kTitleWidth);
  t.set_max_width(5, 28);
  for (const InboxRow& r : tasks) {
    std::string claimed = r.claimed_by.empty() ? "—" : r.claimed_by;
    std::string priority = r.priority == Priority::normal ? "" : std::string(to_string(r.priority));
    std::string due = r.due.empty() ? "" : short_time(r.due) + (overdue(r) ? " OVERDUE" : "");
    t.add({r.task, r.process, r.instance, r.step, r.title, r.client, priority, due, short_time(r.since), claimed});
  }
  print_text(t.render());
  return kExitOk;
}

}  // namespace reglament
