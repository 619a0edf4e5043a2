#include "cli/cmd_deploy.h"

#include <memory>

#include <fmt/format.h>

#include "cli/cmd_validate.h"

namespace reglament {

void setup_deploy(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<DeployOptions>();
  CLI::App* sub = app.add_subcommand(
      "deploy", "Validate definitions and store a new version of every process that changed");
  sub->add_option("paths", opt->paths,
                  "Files or directories to deploy (default: the bundled processes/)");
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_deploy(ctx, *opt); }; });
}

Result<std::vector<DeployChange>> deploy_paths(Ctx& ctx, const std::vector<std::string>& paths,
                                               bool* problems_printed) {
  if (problems_printed != nullptr) *problems_printed = false;
  // Validate before opening the database, so a bad bundle creates nothing.
  auto report = read_bundle(ctx, paths);
  if (!report) return report.error();
  if (!report->ok()) {
    report_problems(*report);
    if (problems_printed != nullptr) *problems_printed = true;
    return make_error(ErrorCode::invalid, "the definitions have problems; nothing was deployed");
  }
  auto store = ctx.store(/*create=*/true);
  if (!store) return store.error();
  if (auto st = check_admin(ctx, "deploy definitions"); !st.ok()) return st.error();
  return (*store)->deploy(report->bundle, ctx.now);
}

std::string describe_change(const DeployChange& c) {
  const char* what = !c.changed ? "unchanged" : c.version == 1 ? "new" : "changed";
  return fmt::format("{} v{} ({})", c.process, c.version, what);
}

int run_deploy(Ctx& ctx, const DeployOptions& opt) {
  std::vector<std::string> paths = opt.paths;
  if (paths.empty()) paths.push_back(REGLAMENT_PROCESSES_DIR);
  bool printed = false;
  auto changes = deploy_paths(ctx, paths, &printed);
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
