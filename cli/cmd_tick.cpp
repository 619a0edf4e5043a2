#include "cli/cmd_tick.h"

#include <memory>

#include <fmt/format.h>

#include "cli/outcome.h"

namespace reglament {

namespace {

Json action(std::string_view kind, const std::string& instance, const Event& e) {
  Json j = Json::object();
  j["action"] = std::string(kind);
  j["instance"] = instance;
  j["step"] = nullable(e.step);
  j["at"] = e.at;
  return j;
}

// The time-driven events of one outcome (FireTimers and what followed).
void describe_fired(const Outcome& out, const Process* p, TickLines& t) {
  const std::string& id = out.state.id;
  for (const Event& e : out.events) {
    switch (e.type) {
      case EventType::timer_fired: {
        t.lines.push_back(fmt::format("{}: wait over (due {}); {} starts", id, short_time(e.data.str("due")),
                                      step_label(p, e.step)));
        Json j = action("wait-over", id, e);
        j["timer"] = e.data.str("timer");
        j["due"] = e.data.str("due");
        t.actions.push_back(std::move(j));
        break;
      }
      case EventType::deadline_passed: {
        t.lines.push_back(fmt::format("{}: deadline of task {} passed (due {}): {}", id, e.data.str("task"),
                                      short_time(e.data.str("due")), step_label(p, e.step)));
        Json j = action("deadline", id, e);
        j["task"] = e.data.str("task");
        j["due"] = e.data.str("due");
        t.actions.push_back(std::move(j));
        for (const Json& m : outbox_messages(e)) {
          t.lines.push_back(fmt::format("{}:   notified {}: {}", id, m.str("to"), m.str("text")));
          Json n = action("notified", id, e);
          n["to"] = m.str("to");
          n["text"] = m.str("text");
          t.actions.push_back(std::move(n));
        }
        break;
      }
      case EventType::task_reassigned: {
        auto roles = e.data.get("roles");
        std::vector<std::string> names;
        if (roles.is_array())
          for (const Json& r : roles.as_array()) names.push_back(r.is_string() ? r.as_string() : r.dump());
        t.lines.push_back(fmt::format("{}:   task {} reassigned to {}", id, e.data.str("task"), join_strings(names, ", ")));
        Json j = action("reassigned", id, e);
        j["task"] = e.data.str("task");
        j["roles"] = string_array(names);
        t.actions.push_back(std::move(j));
        break;
      }
      case EventType::task_priority_changed: {
        t.lines.push_back(fmt::format("{}:   task {} priority {}", id, e.data.str("task"), e.data.str("priority")));
        Json j = action("priority", id, e);
        j["task"] = e.data.str("task");
        j["priority"] = e.data.str("priority");
        t.actions.push_back(std::move(j));
        break;
      }
      case EventType::task_cancelled: {
        t.lines.push_back(fmt::format("{}:   task {} cancelled", id, e.data.str("task")));
        Json j = action("cancelled", id, e);
        j["task"] = e.data.str("task");
        t.actions.push_back(std::move(j));
        break;
      }
      case EventType::task_created: {
        t.lines.push_back(fmt::format("{}:   new task {}: {}", id, e.data.str("task"), step_label(p, e.step)));
        Json j = action("task", id, e);
        j["task"] = e.data.str("task");
        t.actions.push_back(std::move(j));
        break;
      }
      default:
        break;
    }
  }
}

void describe_runs(const Outcome& out, TickLines& t) {
  for (const ServiceRun& r : service_runs(out)) {
    Json j = run_json(r);
    j["action"] = "ran";
    t.actions.push_back(std::move(j));
    // Step ids say enough here; the titles are in `show`.
    std::string what = r.ok ? fmt::format("ran {} ({})", r.step, r.handler)
                            : fmt::format("{} ({}) failed: {} (attempt {})", r.step, r.handler, r.error, r.attempt);
    t.lines.push_back(fmt::format("{}: {}", r.instance, what));
  }
}

void describe_end(const Outcome& out, const Process* p, TickLines& t) {
  if (out.state.status != "active" && !out.events.empty() &&
      out.events.back().type == EventType::instance_completed) {
    t.lines.push_back(fmt::format("{}: {}", out.state.id, next_text(out.state, p)));
    Json j = action("completed", out.state.id, out.events.back());
    t.actions.push_back(std::move(j));
  }
}

}  // namespace

// Instances an outcome moved through calls: children started, parents resumed.
void describe_linked(const Outcome& out, TickLines& t) {
  for (const Outcome& o : out.linked) {
    const bool started = !o.events.empty() && o.events.front().type == EventType::instance_started;
    t.lines.push_back(fmt::format("{}: {} instance {} ({})", out.state.id, started ? "started" : "returned to",
                                  o.state.id, o.state.process));
    if (!o.events.empty()) {
      Json j = action(started ? "child-started" : "returned", o.state.id, o.events.front());
      j["process"] = o.state.process;
      j["by"] = out.state.id;
      t.actions.push_back(std::move(j));
    }
    describe_runs(o, t);
    describe_linked(o, t);
  }
}

TickLines describe_tick(const Runtime::TickReport& report, DefinitionCache& defs) {
  TickLines t;
  auto process_of = [&](const Outcome& out) -> const Process* {
    auto def = defs.get(out.state.process, out.state.version);
    return def ? *def : nullptr;
  };
  for (const Outcome& out : report.started) {
    std::string scheduled = out.events.empty() ? std::string() : out.events.front().data.str("scheduled_for");
    t.lines.push_back(fmt::format("{}: started {} (scheduled for {})", out.state.id, out.state.process,
                                  short_time(scheduled)));
    Json j = action("started", out.state.id, out.events.front());
    j["process"] = out.state.process;
    j["version"] = out.state.version;
    j["scheduled_for"] = scheduled;
    t.actions.push_back(std::move(j));
    describe_runs(out, t);
    describe_linked(out, t);
  }
  for (const Outcome& out : report.fired) {
    const Process* p = process_of(out);
    describe_fired(out, p, t);
    describe_runs(out, t);
    describe_linked(out, t);
    describe_end(out, p, t);
  }
  for (const Outcome& out : report.jobs) {
    describe_runs(out, t);
    describe_linked(out, t);
    describe_end(out, process_of(out), t);
  }
  for (const Outcome& out : report.links) {
    const bool started = !out.events.empty() && out.events.front().type == EventType::instance_started;
    t.lines.push_back(fmt::format("{}: {} ({})", out.state.id, started ? "started" : "resumed", out.state.process));
    if (!out.events.empty()) {
      Json j = action(started ? "child-started" : "returned", out.state.id, out.events.front());
      j["process"] = out.state.process;
      t.actions.push_back(std::move(j));
    }
    describe_runs(out, t);
    describe_linked(out, t);
    describe_end(out, process_of(out), t);
  }
  return t;
}

void setup_tick(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<TickOptions>();
  CLI::App* sub = app.add_subcommand(
      "tick", "Do what is due at --now once: scheduled starts, waits, deadlines, pending service steps");
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_tick(ctx, *opt); }; });
}

int run_tick(Ctx& ctx, const TickOptions&) {
  auto store = ctx.store();
  if (!store) return fail(store.error());
  Runtime runtime(**store, ctx.handlers());
  auto report = runtime.tick(ctx.now);
  if (!report) return fail(report.error());
  DefinitionCache defs(**store);
  TickLines t = describe_tick(*report, defs);
  if (ctx.json) {
    print_json(t.actions);
  } else if (t.lines.empty() && report->problems.empty()) {
    print_line("nothing to do");
  } else {
    for (const auto& l : t.lines) print_line(l);
  }
  // What was refused for some instances; the rest was done. The exit code
  // is the first refusal's, so a script notices.
  int code = kExitOk;
  for (const Error& e : report->problems) {
    int c = fail(e);
    if (code == kExitOk) code = c;
  }
  return code;
}

}  // namespace reglament
