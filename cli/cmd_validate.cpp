#include "cli/cmd_validate.h"

#include <iostream>
#include <memory>

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

Result<LoadReport> read_bundle(Ctx& ctx, const std::vector<std::string>& paths) {
  auto sources = read_sources(paths);
  if (!sources) return sources.error();
  return load_bundle(*sources, &ctx.handlers());
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
