#include "cli/cmd_validate.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <tuple>

#include <fmt/format.h>

namespace reglament {

void setup_validate(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<ValidateOptions>();
  CLI::App* sub = app.add_subcommand(
      "validate", "Check definition files (processes, forms, org chart) and report every problem");
  sub->add_option("paths", opt->paths, "Files or directories to check (e.g. processes/)")
      ->required();
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_validate(ctx, *opt); }; });
}

// A bundle's process may call a deployed one that calls it back: the cycle
// is only seen with both. Checked against the database when one exists and
// opens; without, the bundle alone was checked (load_bundle), and deploy,
// which opens it, checks again.
static void check_deployed_calls(Ctx& ctx, LoadReport& report) {
  std::vector<const Process*> processes;
  bool calls = false;
  for (const auto& lp : report.bundle.processes) {
    processes.push_back(lp.process.get());
    for (const auto& step : lp.process->steps) calls = calls || step.call.has_value();
  }
  if (!calls) return;
  if (ctx.db != ":memory:") {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(ctx.db, ec) || std::filesystem::file_size(ctx.db, ec) == 0) return;
  }
  auto store = ctx.store(/*create=*/false);
  if (!store) return;
  std::vector<std::shared_ptr<const Process>> held;
  ProcessLookup deployed = [&](std::string_view key) -> const Process* {
    auto d = (*store)->definition(std::string(key), 0);
    if (!d) return nullptr;
    held.push_back(d->process);
    return held.back().get();
  };
  for (Error& e : check_call_nesting(processes, deployed)) {
    const bool known = std::any_of(report.problems.begin(), report.problems.end(), [&](const Error& p) {
      return p.message == e.message && p.where.str() == e.where.str();
    });
    if (!known) report.problems.push_back(std::move(e));
  }
  std::stable_sort(report.problems.begin(), report.problems.end(), [](const Error& a, const Error& b) {
    return std::tie(a.where.file, a.where.line, a.where.column) < std::tie(b.where.file, b.where.line, b.where.column);
  });
}

Result<LoadReport> read_bundle(Ctx& ctx, const std::vector<std::string>& paths) {
  auto sources = read_sources(paths);
  if (!sources) return sources.error();
  LoadReport report = load_bundle(*sources, &ctx.handlers());
  check_deployed_calls(ctx, report);
  return report;
}

int report_problems(const LoadReport& report) {
  for (const Error& p : report.problems) std::cerr << p.str() << '\n';
  std::cerr << fmt::format("reglament: {} problem{} found; nothing was changed\n",
                           report.problems.size(), report.problems.size() == 1 ? "" : "s");
  return exit_code(ErrorCode::invalid);
}

static size_t step_count(const Bundle& bundle) {
  size_t steps = 0;
  for (const auto& p : bundle.processes) steps += p.process->steps.size();
  return steps;
}

static std::string count(size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string bundle_summary(const Bundle& bundle) {
  return fmt::format("{}, {}, {}, {}", count(bundle.processes.size(), "process", "processes"),
                     count(step_count(bundle), "step", "steps"), count(bundle.forms.size(), "form", "forms"),
                     count(bundle.org.people.size(), "person", "people"));
}

int run_validate(Ctx& ctx, const ValidateOptions& opt) {
  auto report = read_bundle(ctx, opt.paths);
  if (!report) return fail(report.error());
  const Bundle& b = report->bundle;
  if (ctx.json) {
    Json j = Json::object();
    j["ok"] = report->ok();
    j["processes"] = static_cast<int64_t>(b.processes.size());
    j["steps"] = static_cast<int64_t>(step_count(b));
    j["forms"] = static_cast<int64_t>(b.forms.size());
    j["people"] = static_cast<int64_t>(b.org.people.size());
    Json problems = Json::array();
    for (const Error& p : report->problems) {
      Json e = Json::object();
      e["file"] = p.where.file;
      e["line"] = p.where.line;
      e["column"] = p.where.column;
      e["message"] = p.message;
      problems.push_back(std::move(e));
    }
    j["problems"] = std::move(problems);
    print_json(j);
  }
  if (!report->ok()) return report_problems(*report);
  if (!ctx.json) print_line("ok: " + bundle_summary(b));
  return kExitOk;
}

}  // namespace reglament
