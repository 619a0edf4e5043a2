#include "cli/outcome.h"

#include <iostream>

#include <fmt/format.h>

#include "cli/common.h"

namespace reglament {

std::vector<ServiceRun> service_runs(const Outcome& out) {
  std::vector<ServiceRun> runs;
  for (const Event& e : out.events) {
    if (e.type != EventType::service_completed && e.type != EventType::service_failed) continue;
    ServiceRun run;
    run.instance = out.state.id;
    run.job = e.data.str("job");
    run.step = e.step;
    if (auto it = out.state.jobs.find(run.job); it != out.state.jobs.end()) {
      run.handler = it->second.handler;
      if (run.step.empty()) run.step = it->second.step;
    }
    run.ok = e.type == EventType::service_completed;
    if (!run.ok) {
      run.error = e.data.str("error");
      run.attempt = static_cast<int>(e.data.integer("attempt"));
    }
    runs.push_back(std::move(run));
  }
  return runs;
}

std::string describe_run(const ServiceRun& run, const Process* process) {
  std::string label = step_label(process, run.step);
  if (run.ok) return fmt::format("ran {} ({})", label, run.handler);
  return fmt::format("{} ({}) failed: {} (attempt {})", label, run.handler, run.error, run.attempt);
}

Json run_json(const ServiceRun& run) {
  Json j = Json::object();
  j["instance"] = run.instance;
  j["job"] = run.job;
  j["step"] = run.step;
  j["handler"] = run.handler;
  j["ok"] = run.ok;
  j["error"] = nullable(run.error);
  if (!run.ok) j["attempt"] = run.attempt;
  return j;
}

std::string next_text(const InstanceState& state, const Process* process) {
  if (state.status != "active") return fmt::format("instance #{} {}", state.id, state.status);
  if (state.current.empty()) return "next: nothing";
  std::vector<std::string> parts;
  for (const auto& id : state.current) {
    std::string label = step_label(process, id);
    for (const Timer* t : state.open_timers())
      if (t->step == id) label += fmt::format(" (waits until {})", short_time(t->due));
    parts.push_back(std::move(label));
  }
  return "next: " + join_strings(parts, ", ");
}

Json open_tasks_json(const InstanceState& state, const Process* process) {
  Json tasks = Json::array();
  for (const Task* t : state.open_tasks()) {
    Json j = Json::object();
    j["task"] = t->id;
    j["step"] = t->step;
    const Step* s = process != nullptr ? process->step(t->step) : nullptr;
    j["title"] = s != nullptr ? s->title : std::string();
    j["roles"] = string_array(t->roles);
    j["claimed_by"] = nullable(t->claimed_by);
    j["since"] = t->created_at;
    j["due"] = nullable(t->due);
    j["priority"] = std::string(to_string(t->priority));
    tasks.push_back(std::move(j));
  }
  return tasks;
}

namespace {

void collect_linked(const Outcome& out, std::vector<const Outcome*>& into) {
  for (const Outcome& o : out.linked) {
    into.push_back(&o);
    collect_linked(o, into);
  }
}

}  // namespace

Json linked_json(const Outcome& out) {
  std::vector<const Outcome*> all;
  collect_linked(out, all);
  Json arr = Json::array();
  for (const Outcome* o : all) {
    Json j = Json::object();
    j["instance"] = o->state.id;
    j["process"] = o->state.process;
    j["status"] = o->state.status;
    j["started"] = !o->events.empty() && o->events.front().type == EventType::instance_started;
    j["current"] = string_array(o->state.current);
    arr.push_back(std::move(j));
  }
  return arr;
}

void warn_link_problems(const Outcome& out) {
  for (const Error& e : out.link_problems) std::cerr << "reglament: warning: " << e.message << " (reglament tick retries it)\n";
  for (const Outcome& o : out.linked) warn_link_problems(o);
}

std::vector<std::string> linked_lines(const Outcome& out) {
  std::vector<const Outcome*> all;
  collect_linked(out, all);
  std::vector<std::string> lines;
  for (const Outcome* o : all) {
    const bool started = !o->events.empty() && o->events.front().type == EventType::instance_started;
    std::string current = join_strings(o->state.current, ", ");
    if (started) {
      lines.push_back(fmt::format("started instance {} ({}){}", o->state.id, o->state.process,
                                  current.empty() ? std::string() : "; at " + current));
    } else {
      lines.push_back(fmt::format("instance {} ({}) moved on{}", o->state.id, o->state.process,
                                  o->state.status == "active" ? "; at " + current : "; " + o->state.status));
    }
  }
  return lines;
}

int run_task_command(Ctx& ctx, const std::string& task, CommandBody body, std::string_view verb) {
  ctx.subject = instance_of(task);
  auto store = ctx.store();
  if (!store) return fail(store.error());
  Runtime runtime(**store, ctx.handlers());
  Command cmd{"", ctx.user, ctx.now, std::move(body)};
  cmd.clock = ctx.now_from_clock;
  auto out = runtime.execute(std::move(cmd));
  if (!out) return fail(out.error());
  const InstanceState& s = out->state;

  DefinitionCache defs(**store);
  auto def = defs.get(s.process, s.version);
  const Process* p = def ? *def : nullptr;
  const Task* t = s.task(task);
  std::string step = t != nullptr ? t->step : "";
  if (auto j = s.jobs.find(task); t == nullptr && j != s.jobs.end()) step = j->second.step;  // retry, skip
  auto runs = service_runs(*out);
  for (const Outcome& o : out->linked)
    for (auto& r : service_runs(o)) runs.push_back(std::move(r));

  if (ctx.json) {
    Json j = Json::object();
    j["task"] = task;
    j["instance"] = s.id;
    j["process"] = s.process;
    j["version"] = s.version;
    j["step"] = nullable(step);
    j["status"] = s.status;
    j["current"] = string_array(s.current);
    j["tasks"] = open_tasks_json(s, p);
    Json ran = Json::array();
    for (const auto& r : runs) ran.push_back(run_json(r));
    j["services"] = std::move(ran);
    j["linked"] = linked_json(*out);
    print_json(j);
    warn_link_problems(*out);
    return kExitOk;
  }
  std::string line = fmt::format("{} {} ({})", verb, task, step_label(p, step));
  if (verb == "completed" || verb == "retried" || verb == "skipped") line += "; " + next_text(s, p);
  print_line(line);
  for (const auto& r : runs) print_line("  " + describe_run(r, p));
  for (const auto& l : linked_lines(*out)) print_line("  " + l);
  warn_link_problems(*out);
  return kExitOk;
}

}  // namespace reglament
