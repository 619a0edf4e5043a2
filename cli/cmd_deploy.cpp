#include "cli/cmd_deploy.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "cli/cmd_validate.h"
#include "engine/access.h"
#include "engine/loader.h"

namespace reglament {

void setup_deploy(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<DeployOptions>();
  CLI::App* sub = app.add_subcommand(
      "deploy", "Validate definitions and store a new version of every process that changed");
  sub->add_option("paths", opt->paths, "Files or directories to deploy (e.g. processes)");
  sub->add_flag("--replace-org", opt->replace_org,
                "Replace the deployed org chart even where the new one drops roles or people that deployed "
                "processes or open tasks use (what breaks is printed)");
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_deploy(ctx, *opt); }; });
}

namespace {

// At most this many open tasks are named one by one in the list of what a
// new org chart breaks; the rest are counted.
constexpr size_t kTasksNamed = 20;

std::string roles_text(const std::vector<std::string>& roles) {
  return roles.size() == 1 ? "role " + roles.front() : "roles " + join_strings(roles, ", ");
}

}  // namespace

Result<std::vector<std::string>> org_change_breaks(Ctx& ctx, SqliteStore& store, const Bundle& bundle) {
  std::vector<std::string> breaks;
  if (bundle.org_source.empty()) return breaks;  // the bundle leaves the org chart alone
  auto current = store.org();
  if (!current) {
    if (current.error().code == ErrorCode::not_found) return breaks;  // the first org chart
    return current.error();
  }
  // The same text as deployed changes nothing (a redeploy of the same
  // bundle): no need to read every instance and open task.
  if (auto text = store.org_text(); text && *text == bundle.org_source) return breaks;
  const Org& next = bundle.org;

  if (current->access.identity == IdentityMode::os_login && next.access.identity == IdentityMode::asserted)
    breaks.push_back(
        "the new org chart takes identity as asserted (--as is taken as typed) where the deployed one takes it "
        "from the OS login: anyone who can run reglament could act as anyone");

  // Deployed versions that must still load: the latest of every process the
  // bundle does not bring, and every version that unfinished instances run on.
  std::set<std::string> in_bundle;
  for (const LoadedProcess& lp : bundle.processes)
    if (lp.process) in_bundle.insert(lp.process->key);
  auto rows = store.definitions();
  if (!rows) return rows.error();
  std::map<std::string, int> latest;
  for (const DeployedRow& r : *rows) latest[r.process] = std::max(latest[r.process], r.version);
  std::map<std::pair<std::string, int>, int> running;  // (process, version) -> unfinished instances
  auto instances = store.instances(std::nullopt, std::nullopt);
  if (!instances) return instances.error();
  for (const InstanceRow& i : *instances)
    if (i.status != "completed") ++running[{i.process, i.version}];
  std::map<std::pair<std::string, int>, int> to_check = running;
  for (const auto& [process, version] : latest)
    if (in_bundle.count(process) == 0) to_check.emplace(std::make_pair(process, version), 0);

  std::vector<std::string> owners_next;  // who owns a process once the bundle is deployed
  auto owned_by = [&](const std::string& owner) {
    if (!owner.empty() && std::find(owners_next.begin(), owners_next.end(), owner) == owners_next.end())
      owners_next.push_back(owner);
  };
  for (const LoadedProcess& lp : bundle.processes)
    if (lp.process) owned_by(lp.process->owner);

  for (const auto& [key, unfinished] : to_check) {
    const auto& [process, version] = key;
    auto stored = store.definition_sources(process, version);
    if (!stored) return stored.error();
    auto loaded = load_process(stored->sources, next, &ctx.handlers());
    const bool is_latest = latest[process] == version && in_bundle.count(process) == 0;
    if (loaded && is_latest && loaded->process) owned_by(loaded->process->owner);
    if (loaded) continue;
    std::string which = is_latest ? "its latest version" : "";
    if (unfinished > 0)
      which += fmt::format("{}{} unfinished instance{}", which.empty() ? "" : ", ", unfinished,
                           unfinished == 1 ? "" : "s");
    breaks.push_back(fmt::format("process {} v{} ({}) would no longer load: {}", process, version, which,
                                 loaded.error().message));
  }

  // Open tasks: each must keep a role someone can hold and its claimant.
  std::vector<std::string> all_roles;
  for (const Role& role : current->roles) all_roles.push_back(role.key);
  auto tasks = store.inbox(all_roles);
  if (!tasks) return tasks.error();
  size_t task_breaks = 0;
  for (const InboxRow& t : *tasks) {
    std::vector<std::string> dropped;
    for (const std::string& r : t.roles)
      if (next.role(r) == nullptr) dropped.push_back(r);
    std::string why;
    if (!t.roles.empty() && dropped.size() == t.roles.size())
      why = fmt::format("waits for the {}, which the new org chart drops", roles_text(dropped));
    if (!t.claimed_by.empty() && next.person(t.claimed_by) == nullptr)
      why += fmt::format("{}is claimed by {}, whom the new org chart drops", why.empty() ? "" : " and ",
                         t.claimed_by);
    if (why.empty()) continue;
    if (++task_breaks <= kTasksNamed)
      breaks.push_back(fmt::format("task {} ({} {} of instance {}) {}", t.task, t.process, t.step, t.instance, why));
  }
  if (task_breaks > kTasksNamed)
    breaks.push_back(fmt::format("and {} more open tasks like those", task_breaks - kTasksNamed));

  // The administrator deploying must not lock themselves (and everyone) out.
  if (current->person(ctx.user) != nullptr) {
    if (Status still = may_administer(next, ctx.user, owners_next, "deploy definitions"); !still.ok())
      breaks.push_back(fmt::format("you ({}) would no longer be an administrator: {}", ctx.user,
                                   still.error().message));
  }
  return breaks;
}

Result<std::vector<DeployChange>> deploy_paths(Ctx& ctx, const std::vector<std::string>& paths,
                                               bool* problems_printed, const DeployPolicy& policy) {
  if (problems_printed != nullptr) *problems_printed = false;
  // Validate before opening the database, so a bad bundle creates nothing.
  auto report = read_bundle(ctx, paths);
  if (!report) return report.error();
  if (!report->ok()) {
    report_problems(*report);
    if (problems_printed != nullptr) *problems_printed = true;
    return make_error(ErrorCode::invalid, "the definitions have problems; nothing was deployed");
  }
  auto refuse_demo = [](const char* whose) {
    return make_error(ErrorCode::forbidden,
                      fmt::format("the demo acts in every person's name, so it runs only where the org chart takes "
                                  "identity as asserted, and the {} takes it from the OS login",
                                  whose));
  };
  // Before the database is opened (and perhaps created).
  if (policy.asserted_only && !report->bundle.org_source.empty() &&
      report->bundle.org.access.identity != IdentityMode::asserted)
    return refuse_demo("bundle's org chart");
  auto store = ctx.store(/*create=*/true);
  if (!store) return store.error();
  if (auto st = check_admin(ctx, "deploy definitions"); !st.ok()) return st.error();
  if (policy.asserted_only) {
    auto current = (*store)->org();
    if (!current && current.error().code != ErrorCode::not_found) return current.error();
    if (current && current->access.identity != IdentityMode::asserted) return refuse_demo("deployed org chart");
  }
  auto breaks = org_change_breaks(ctx, **store, report->bundle);
  if (!breaks) return breaks.error();
  if (!breaks->empty()) {
    // The list goes to stderr when refused, and is the printed plan when
    // replacing (stdout, or stderr beside --json's answer).
    std::ostream& to = !policy.replace_org || ctx.json ? std::cerr : std::cout;
    to << (policy.replace_org ? "replacing the org chart, which breaks:\n" : "the new org chart would break:\n");
    for (const std::string& b : *breaks) to << "  - " << shorten_quoted(b) << '\n';
    if (!policy.replace_org)
      return make_error(ErrorCode::conflict,
                        fmt::format("the new org chart would break {} thing{} listed above; nothing was deployed "
                                    "(deploy --replace-org replaces it anyway)",
                                    breaks->size(), breaks->size() == 1 ? "" : "s"));
  }
  return (*store)->deploy(report->bundle, ctx.now);
}

std::string describe_change(const DeployChange& c) {
  const char* what = !c.changed ? "unchanged" : c.version == 1 ? "new" : "changed";
  return fmt::format("{} v{} ({})", c.process, c.version, what);
}

int run_deploy(Ctx& ctx, const DeployOptions& opt) {
  // Deploy replaces what it is given and nothing else: with no path it
  // deploys nothing rather than a bundle the administrator did not name.
  if (opt.paths.empty())
    return fail(ErrorCode::invalid,
                "deploy needs the files or directories to deploy, e.g. `reglament deploy processes`; "
                "nothing was deployed");
  bool printed = false;
  auto changes = deploy_paths(ctx, opt.paths, &printed, DeployPolicy{opt.replace_org, false});
  if (!changes) return printed ? exit_code(changes.error().code) : fail(changes.error());
  if (ctx.json) {
    Json out = Json::array();
    for (const DeployChange& c : *changes) {
      Json j = Json::object();
      j["process"] = c.process;
      j["version"] = c.version;
      j["hash"] = c.hash;
      j["changed"] = c.changed;
      out.push_back(std::move(j));
    }
    print_json(out);
    return kExitOk;
  }
  for (const DeployChange& c : *changes) print_line(describe_change(c));
  return kExitOk;
}

}  // namespace reglament
