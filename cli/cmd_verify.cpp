#include "cli/cmd_verify.h"

#include <fmt/format.h>

#include <memory>

#include "storage/audit.h"

namespace reglament {

void setup_verify(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<VerifyCmdOptions>();
  CLI::App* sub =
      app.add_subcommand("verify", "Prove the log was not altered: hash chains, projections, definitions, seals");
  sub->add_option("instance", opt->instance, "Check this instance only, e.g. 12");
  sub->add_option("--against", opt->against,
                  "A digest printed by `reglament seal`: prove nothing it covers changed");
  sub->add_flag("--full", opt->full,
                "Run SQLite's full integrity check of the file (every index against its table) instead of its "
                "quick check");
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_verify(ctx, *opt); }; });
}

namespace {

// "instance 3, event 5" / "instance 3" / "database".
std::string place(const AuditFinding& f) {
  if (f.instance.empty()) return "database";
  if (f.seq == 0) return "instance " + f.instance;
  return fmt::format("instance {}, event {}", f.instance, f.seq);
}

std::string summary(const AuditReport& r) {
  std::string counts = fmt::format("verified {} instance{}, {} event{}", r.instances, r.instances == 1 ? "" : "s",
                                   r.events, r.events == 1 ? "" : "s");
  std::string seal;
  if (r.seal) seal = fmt::format(" against seal {} of {}", r.seal->digest.substr(0, 16), r.seal->at);
  if (r.ok()) return counts + seal + ": ok";
  return fmt::format("{}{}: {} problem{}", counts, seal, r.findings.size(), r.findings.size() == 1 ? "" : "s");
}

}  // namespace

int run_verify(Ctx& ctx, const VerifyCmdOptions& opt) {
  auto store = ctx.store();
  if (!store) return fail(store.error());
  if (auto st = check_audit(ctx, "verify the database"); !st.ok()) return fail(st.error());
  auto report = verify_log(**store, VerifyOptions{opt.instance, opt.against, opt.full});
  if (!report) return fail(report.error());
  const int code = report->ok() ? kExitOk : exit_code(ErrorCode::integrity);

  if (ctx.json) {
    Json problems = Json::array();
    for (const AuditFinding& f : report->findings) {
      Json j = Json::object();
      j["kind"] = std::string(to_string(f.kind));
      j["instance"] = nullable(f.instance);
      j["seq"] = f.seq == 0 ? Json() : Json(f.seq);
      j["message"] = f.message;
      problems.push_back(std::move(j));
    }
    Json out = Json::object();
    out["ok"] = report->ok();
    out["instances"] = report->instances;
    out["events"] = report->events;
    out["problems"] = std::move(problems);
    if (report->seal) {
      Json s = Json::object();
      s["seal"] = report->seal->digest;
      s["at"] = report->seal->at;
      s["instances"] = report->seal->instances;
      s["events"] = report->seal->events;
      out["seal"] = std::move(s);
    } else {
      out["seal"] = Json();
    }
    out["summary"] = summary(*report);
    print_json(out);
    return code;
  }
  for (const AuditFinding& f : report->findings) {
    print_line(fmt::format("{}: {}: {}", place(f), to_string(f.kind), f.message));
  }
  print_line(summary(*report));
  return code;
}

}  // namespace reglament
