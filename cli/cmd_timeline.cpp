#include "cli/cmd_timeline.h"

#include <fmt/format.h>

#include <functional>
#include <map>
#include <memory>

#include "cli/cmd_history.h"
#include "cli/csv.h"

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
  if (auto st = check_person(ctx); !st.ok()) return fail(st.error());
  // Which process each instance the user may see runs (`verify` proves this
  // table agrees with every instance's first event).
  std::map<std::string, std::string> process_of;
  Visibility visible(ctx);
  auto load_processes = [&]() -> Status {
    auto instances = (*store)->instances(std::nullopt, std::nullopt);
    if (!instances) return instances.error();
    for (const InstanceRow& r : *instances)
      if (visible(r.process, r.version)) process_of.emplace(r.instance, r.process);
    return {};
  };
  if (Status loaded = load_processes(); !loaded) return fail(loaded.error());
  // The period's events the user may see and the filters pass, in order,
  // each with its instance's process. The instances are read again once,
  // inside the events' read, on the first event of an unknown instance: one
  // started after the first read has its events in that snapshot.
  bool reloaded = false;
  auto each_kept = [&](const std::function<void(const StoredEvent&, const std::string&)>& use) -> Status {
    return (*store)->each_event_between(*from, *to, [&](const StoredEvent& e) -> Status {
      auto seen = process_of.find(e.instance);
      if (seen == process_of.end() && !reloaded) {
        reloaded = true;
        if (Status again = load_processes(); !again) return again;
        seen = process_of.find(e.instance);
      }
      if (seen == process_of.end()) return {};  // not the user's to see
      if (!opt.process.empty() && seen->second != opt.process) return {};
      if (!opt.actor.empty() && e.event.actor != opt.actor) return {};
      if (!opt.step.empty() && e.event.step != opt.step) return {};
      use(e, seen->second);
      return {};
    });
  };

  // JSON and CSV are written as the events are read, so a period as long as
  // the whole log needs no more memory than one event (`report` reads the
  // same way). An event that cannot be read stops the output where it is,
  // with the error and its exit code.
  std::string out;
  auto flush = [&out](bool all) {
    if (all || out.size() >= 64 * 1024) {
      print_text(out);
      out.clear();
    }
  };
  if (*format == OutputFormat::json) {
    out = "[";
    bool any = false;
    Status read = each_kept([&](const StoredEvent& e, const std::string& process) {
      Json j = event_json(e);
      j["instance"] = e.instance;
      j["process"] = nullable(process);
      out += any ? ",\n  " : "\n  ";  // as print_json writes an array's items
      any = true;
      out += j.pretty(2, 1);
      flush(false);
    });
    if (!read) {
      flush(true);
      return fail(read.error());
    }
    out += any ? "\n]\n" : "]\n";
    flush(true);
    return kExitOk;
  }
  if (*format == OutputFormat::csv) {
    out = csv_record({"at", "instance", "process", "seq", "actor", "type", "step", "data", "format"});
    Status read = each_kept([&](const StoredEvent& e, const std::string& process) {
      out += csv_record({e.event.at, e.instance, process, std::to_string(e.seq), e.event.actor,
                         std::string(to_string(e.event.type)), e.event.step, e.event.data.dump(),
                         std::to_string(e.event.format)});
      flush(false);
    });
    flush(true);
    if (!read) return fail(read.error());
    return kExitOk;
  }
  // A table needs every row for its column widths: the rows are kept as
  // text, not as events.
  TextTable t({"at", "instance", "process", "seq", "actor", "type", "step", "data"});
  t.set_max_width(7, 60);
  bool any = false;
  Status read = each_kept([&](const StoredEvent& e, const std::string& process) {
    any = true;
    t.add({e.event.at, e.instance, process, std::to_string(e.seq), e.event.actor.empty() ? "—" : e.event.actor,
           std::string(to_string(e.event.type)), e.event.step.empty() ? "—" : e.event.step, event_summary(e.event)});
  });
  if (!read) return fail(read.error());
  if (!any) {
    print_line("no events in this period");
    return kExitOk;
  }
  print_text(t.render());
  return kExitOk;
}

}  // namespace reglament
