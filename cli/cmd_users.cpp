#include "cli/cmd_users.h"

#include <memory>

namespace reglament {

void setup_users(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<UsersOptions>();
  CLI::App* sub = app.add_subcommand("users", "List the people of the org chart and their roles");
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_users(ctx, *opt); }; });
}

int run_users(Ctx& ctx, const UsersOptions&) {
  auto store = ctx.store();
  if (!store) return fail(store.error());
  if (Status st = check_person(ctx); !st.ok()) return fail(st.error());
  auto org = (*store)->org();
  if (!org) return fail(org.error());
  if (ctx.json) {
    Json out = Json::array();
    for (const Person& p : org->people) {
      Json j = Json::object();
      j["user"] = p.login;
      j["name"] = p.name;
      j["roles"] = string_array(p.roles);
      out.push_back(std::move(j));
    }
    print_json(out);
    return kExitOk;
  }
  if (org->people.empty()) {
    print_line("no people in the org chart; run `reglament deploy`");
    return kExitOk;
  }
  TextTable t({"user", "name", "roles"});
  for (const Person& p : org->people) {
    // The role titles say more than their keys to a person reading the list.
    std::vector<std::string> roles;
    for (const auto& key : p.roles) {
      const Role* r = org->role(key);
      roles.push_back(r != nullptr && !r->title.empty() ? key + " (" + r->title + ")" : key);
    }
    t.add({p.login, p.name, join_strings(roles, ", ")});
  }
  print_text(t.render());
  return kExitOk;
}

}  // namespace reglament
