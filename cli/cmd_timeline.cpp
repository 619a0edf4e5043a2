#include "cli/cmd_timeline.h"

#include <fmt/format.h>

#include <map>
#include <memory>

#include "cli/cmd_history.h"

namespace reglament {

void setup_timeline(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<TimelineOptions>();
  CLI::App* sub = app.add_subcommand("timeline", "Every event of every instance in a period, in time order");
  sub->add_option("--from", opt->from, "From this time, included (ISO-8601, or a date)");
  sub->add_option("--to", opt->to, "Up to this time, not included (ISO-8601, or a date)");
  sub->add_option("--process", opt->process, "Only instances of this process key");
  sub->add_option("--actor", opt->actor, "Only events by this login");
  sub->add_option("--step", opt->step, "Only events about this step id");
  add_format_option(sub, opt->format);
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_timeline(ctx, *opt); }; });
}

int run_timeline(Ctx& ctx, const TimelineOptions& opt) {
  auto format = output_format(ctx, opt.format);
  if (!format) return fail(format.error());
  auto from = time_bound(ctx, "--from", opt.from);
  if (!from) return fail(from.error());
  auto to = time_bound(ctx, "--to", opt.to);
  if (!to) return fail(to.error());

  auto store = ctx.store();
  if (!store) return fail(store.error());
  auto events = (*store)->events_between(*from, *to);
  if (!events) return fail(events.error());
  // Which process each instance runs (`verify` proves this table agrees
  // with every instance's first event).
  auto instances = (*store)->instances(std::nullopt, std::nullopt);
  if (!instances) return fail(instances.error());
  if (auto st = check_person(ctx); !st.ok()) return fail(st.error());
  std::map<std::string, std::string> process_of;
  Visibility visible(ctx);
  for (const InstanceRow& r : *instances)
    if (visible(r.process, r.version)) process_of.emplace(r.instance, r.process);

  std::vector<const StoredEvent*> kept;
  for (const StoredEvent& e : *events) {
    auto seen = process_of.find(e.instance);
    if (seen == process_of.end()) continue;  // not the user's to see
    if (!opt.process.empty() && seen->second != opt.process) continue;
    if (!opt.actor.empty() && e.event.actor != opt.actor) continue;
    if (!opt.step.empty() && e.event.step != opt.step) continue;
    kept.push_back(&e);
  }

  if (*format == OutputFormat::json) {
    Json out = Json::array();
    for (const StoredEvent* e : kept) {
      Json j = event_json(*e);
      j["instance"] = e->instance;
      j["process"] = nullable(process_of[e->instance]);
      out.push_back(std::move(j));
    }
    print_json(out);
    return kExitOk;
  }
  if (*format == OutputFormat::csv) {
    std::string out = csv_record({"at", "instance", "process", "seq", "actor", "type", "step", "data", "format"});
    for (const StoredEvent* e : kept) {
      out += csv_record({e->event.at, e->instance, process_of[e->instance], std::to_string(e->seq), e->event.actor,
                         std::string(to_string(e->event.type)), e->event.step, e->event.data.dump(),
                         std::to_string(e->event.format)});
    }
    print_text(out);
    return kExitOk;
  }
  if (kept.empty()) {
    print_line("no events in this period");
    return kExitOk;
  }
  TextTable t({"at", "instance", "process", "seq", "actor", "type", "step", "data"});
  t.set_max_width(7, 60);
  for (const StoredEvent* e : kept) {
    t.add({e->event.at, e->instance, process_of[e->instance], std::to_string(e->seq),
           e->event.actor.empty() ? "—" : e->event.actor, std::string(to_string(e->event.type)),
           e->event.step.empty() ? "—" : e->event.step, event_summary(e->event)});
  }
  print_text(t.render());
  return kExitOk;
}

}  // namespace reglament
