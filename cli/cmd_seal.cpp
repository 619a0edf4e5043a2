#include "cli/cmd_seal.h"

#include <fmt/format.h>

#include <memory>

#include "storage/audit.h"

namespace reglament {

void setup_seal(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<SealOptions>();
  CLI::App* sub = app.add_subcommand("seal", "Verify the log and print a digest of it to write down or sign");
  sub->add_flag("--list", opt->list, "List the seals recorded so far instead");
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_seal(ctx, *opt); }; });
}

namespace {

Json seal_json(const SealRecord& s) {
  Json j = Json::object();
  j["seal"] = s.digest;
  j["at"] = s.at;
  j["instances"] = s.instances;
  j["events"] = s.events;
  return j;
}

std::string seal_line(const SealRecord& s) {
  return fmt::format("seal: {} ({} instance{}, {} event{}, at {})", s.digest, s.instances,
                     s.instances == 1 ? "" : "s", s.events, s.events == 1 ? "" : "s", s.at);
}

}  // namespace

int run_seal(Ctx& ctx, const SealOptions& opt) {
  auto store = ctx.store();
  if (!store) return fail(store.error());
  if (auto st = opt.list ? check_audit(ctx, "list the seals") : check_admin(ctx, "seal the log"); !st.ok())
    return fail(st.error());
  if (opt.list) {
    auto seals = recorded_seals(**store);
    if (!seals) return fail(seals.error());
    if (ctx.json) {
      Json out = Json::array();
      for (const SealRecord& s : *seals) out.push_back(seal_json(s));
      print_json(out);
    } else if (seals->empty()) {
      print_line("no seals");
    } else {
      for (const SealRecord& s : *seals) print_line(seal_line(s));
    }
    return kExitOk;
  }
  auto seal = seal_log(**store, ctx.now);
  if (!seal) return fail(seal.error());
  if (ctx.json) {
    print_json(seal_json(*seal));
  } else {
    print_line(seal_line(*seal));
  }
  return kExitOk;
}

}  // namespace reglament
