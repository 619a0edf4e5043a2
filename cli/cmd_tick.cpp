#include "cli/cmd_tick.h"

#include <memory>

#include <fmt/format.h>

#include "cli/outcome.h"
#include "engine/runtime.h"

namespace reglament {

void setup_tick(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<TickOptions>();
  CLI::App* sub = app.add_subcommand("tick", "Run the pending service steps of every instance once");
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_tick(ctx, *opt); }; });
}

int run_tick(Ctx& ctx, const TickOptions&) {
  auto store = ctx.store();
  if (!store) return fail(store.error());
  Runtime runtime(**store, ctx.handlers());
  auto outcomes = runtime.run_pending(ctx.now);
  if (!outcomes) return fail(outcomes.error());

  DefinitionCache defs(**store);
  Json ran = Json::array();
  std::vector<std::string> lines;
  for (const Outcome& out : *outcomes) {
    auto def = defs.get(out.state.process, out.state.version);
    const Process* p = def ? *def : nullptr;
    for (const ServiceRun& r : service_runs(out)) {
      ran.push_back(run_json(r));
      // Step ids say enough here; the titles are in `show`.
      std::string what = r.ok ? fmt::format("ran {} ({})", r.step, r.handler)
                              : fmt::format("{} ({}) failed: {} (attempt {})", r.step, r.handler,
                                            r.error, r.attempt);
      lines.push_back(fmt::format("{}: {}", r.instance, what));
    }
    if (out.state.status != "active" && !out.events.empty() &&
        out.events.back().type == EventType::instance_completed) {
      lines.push_back(fmt::format("{}: {}", out.state.id, next_text(out.state, p)));
    }
  }
  if (ctx.json) {
    print_json(ran);
    return kExitOk;
  }
  if (lines.empty()) {
    print_line("nothing to do");
    return kExitOk;
  }
  for (const auto& l : lines) print_line(l);
  return kExitOk;
}

}  // namespace reglament
