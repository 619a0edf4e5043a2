#include "cli/cmd_show.h"

#include <memory>

#include <fmt/format.h>

#include "cli/outcome.h"
#include "engine/runtime.h"

namespace reglament {

void setup_show(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<ShowOptions>();
  CLI::App* sub = app.add_subcommand("show", "Show an instance (12) or a task (12.3)");
  sub->add_option("id", opt->id, "Instance id (12) or task id (12.3)")->required();
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_show(ctx, *opt); }; });
}

namespace {

// "key        value" lines with the values in one column.
void print_fields(const std::vector<std::pair<std::string, std::string>>& rows) {
  int width = 0;
  for (const auto& [k, v] : rows) width = std::max(width, display_width(k));
  for (const auto& [k, v] : rows) {
    print_line(k + std::string(width - display_width(k) + 2, ' ') + v);
  }
}

// Multi-line text indented by two spaces.
void print_indented(const std::string& text) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!(end == text.size() && line.empty())) print_line(line.empty() ? "" : "  " + line);
    start = end + 1;
  }
}

Json job_json(const Job& j) {
  Json o = Json::object();
  o["job"] = j.id;
  o["step"] = j.step;
  o["handler"] = j.handler;
  o["open"] = j.open;
  o["attempts"] = j.attempts;
  o["last_error"] = nullable(j.last_error);
  o["retry_at"] = nullable(j.retry_at);
  o["incident"] = j.incident;
  o["skipped"] = j.skipped;
  o["awaiting"] = j.awaiting;
  return o;
}

int show_instance(Ctx& ctx, const InstanceState& s, const Process* p) {
  if (ctx.json) {
    print_json(instance_json(s, p));
    return kExitOk;
  }
  std::string title = p != nullptr ? " — " + p->title : "";
  print_line(fmt::format("instance {}: {} v{}{}", s.id, s.process, s.version, title));
  std::vector<std::pair<std::string, std::string>> rows = {
      {"status", s.status},
      {"started", s.started_at + (s.started_by.empty() ? "" : " by " + s.started_by)},
  };
  if (!s.ended_at.empty()) rows.push_back({"ended", s.ended_at});
  rows.push_back({"current", s.current.empty() ? "—" : step_labels(p, s.current)});
  rows.push_back({"completed", s.completed.empty() ? "—" : join_strings(s.completed, ", ")});
  print_fields(rows);

  print_line("variables:");
  if (s.variables.empty()) print_line("  —");
  std::vector<std::pair<std::string, std::string>> vars;
  for (const auto& [name, value] : s.variables) vars.push_back({"  " + name, value_text(value)});
  print_fields(vars);

  auto open = s.open_tasks();
  print_line("open tasks:");
  if (open.empty()) print_line("  —");
  for (const Task* t : open) {
    std::string claim = t->claimed_by.empty() ? "unclaimed" : "claimed by " + t->claimed_by;
    std::string extra;
    if (t->priority != Priority::normal) extra += fmt::format("  priority {}", to_string(t->priority));
    if (t->has_due()) extra += fmt::format("  due {}{}", t->due, t->escalated ? " (passed)" : "");
    print_line(fmt::format("  {}  {}  [{}]  {}{}", t->id, truncate_display(step_label(p, t->step), kTitleWidth),
                           join_strings(t->roles, ", "), claim, extra));
  }
  auto waits = s.open_timers();
  if (!waits.empty()) {
    print_line("waiting:");
    for (const Timer* t : waits)
      print_line(fmt::format("  {}  {}  until {}", t->id, truncate_display(step_label(p, t->step), kTitleWidth), t->due));
  }
  bool header = false;
  for (const auto& [id, job] : s.jobs) {
    if (job.last_error.empty()) continue;
    if (!header) print_line("service errors:");
    header = true;
    std::string state = !job.open      ? "recovered"
                        : job.incident ? "an incident (reglament retry " + id + ", or skip)"
                        : job.retry_at.empty() ? "failing"
                                               : "failing, next attempt at " + job.retry_at + ",";
    print_line(fmt::format("  {}  {} ({}) {} after {} attempt{}: {}", id, step_label(p, job.step), job.handler,
                           state, job.attempts, job.attempts == 1 ? "" : "s", job.last_error));
  }
  return kExitOk;
}

namespace {

// What a person's step's on_enter handler found for its task (the call list,
// the week's records, whether the caller is known): its outputs, by name.
Json prepared_for(Ctx& ctx, const InstanceState& s, const Step* step) {
  Json out = Json::object();
  if (step == nullptr || !step->on_enter) return out;
  for (const std::string& name : ctx.handlers().outputs(step->handler, step->with)) {
    auto it = s.variables.find(name);
    if (it != s.variables.end()) out[name] = it->second;
  }
  return out;
}

// "a=1, b=x" for an object; the value's text otherwise.
std::string inline_text(const Json& v) {
  if (!v.is_object()) return value_text(v);
  std::vector<std::string> parts;
  for (const auto& [k, x] : v.as_object()) parts.push_back(k + "=" + value_text(x));
  return join_strings(parts, ", ");
}

}  // namespace

int show_task(Ctx& ctx, const InstanceState& s, const Process* p, const Task& t) {
  const Step* step = p != nullptr ? p->step(t.step) : nullptr;
  const Form* form = step != nullptr && step->form ? &*step->form : nullptr;
  const Json prepared = prepared_for(ctx, s, step);
  if (ctx.json) {
    Json j = Json::object();
    j["task"] = t.id;
    j["instance"] = s.id;
    j["process"] = s.process;
    j["version"] = s.version;
    j["step"] = t.step;
    j["title"] = step != nullptr ? step->title : std::string();
    j["roles"] = string_array(t.roles);
    j["claimed_by"] = nullable(t.claimed_by);
    j["open"] = t.open;
    j["since"] = t.created_at;
    j["due"] = nullable(t.due);
    j["priority"] = std::string(to_string(t.priority));
    j["completed_by"] = nullable(t.completed_by);
    j["completed_at"] = nullable(t.completed_at);
    j["description"] = step != nullptr ? step->description : std::string();
    j["instructions"] = step != nullptr ? step->instructions : std::string();
    j["instructions_path"] = nullable(step != nullptr ? step->instructions_path : std::string());
    j["form_key"] = nullable(form != nullptr ? form->key : std::string());
    j["form"] = form_json(form);
    j["prepared"] = prepared;
    print_json(j);
    return kExitOk;
  }
  print_line(fmt::format("task {}: {}", t.id, step_label(p, t.step)));
  std::string status = t.open        ? "open"
                       : t.cancelled ? fmt::format("cancelled by its deadline at {}", t.completed_at)
                                     : fmt::format("completed by {} at {}", t.completed_by, t.completed_at);
  std::vector<std::pair<std::string, std::string>> rows = {
      {"instance", fmt::format("{} ({} v{}, {})", s.id, s.process, s.version, s.status)},
      {"roles", join_strings(t.roles, ", ")},
      {"claimed", t.claimed_by.empty() ? "—" : t.claimed_by},
      {"since", t.created_at},
      {"priority", std::string(to_string(t.priority))},
  };
  if (t.has_due()) rows.push_back({"due", t.due + (t.escalated ? " (passed)" : "")});
  rows.push_back({"status", status});
  print_fields(rows);
  if (step != nullptr && !step->description.empty()) {
    print_line("description:");
    print_indented(step->description);
  }
  if (step != nullptr && !step->instructions.empty()) {
    print_line(fmt::format("instructions ({}):", step->instructions_path));
    print_indented(step->instructions);
  }
  if (!prepared.as_object().empty()) {
    print_line(fmt::format("prepared by {}:", step->handler));
    for (const auto& [name, value] : prepared.as_object()) {
      if (!value.is_array()) {
        print_line(fmt::format("  {}: {}", name, inline_text(value)));
        continue;
      }
      print_line(fmt::format("  {}: {} item{}", name, value.as_array().size(), value.as_array().size() == 1 ? "" : "s"));
      for (const Json& item : value.as_array()) print_line("    - " + inline_text(item));
    }
  }
  if (form != nullptr) {
    print_line(fmt::format("form {}: {}", form->key, form->title));
    TextTable table({"field", "title", "type", "required", "options"});
    table.set_max_width(1, kTitleWidth);
    for (const Field& f : form->fields) {
      table.add({f.name, f.title, std::string(to_string(f.type)), f.required ? "yes" : "no",
                 join_strings(f.options, ", ")});
    }
    std::string text = table.render();
    print_indented(text);
    print_line(fmt::format("complete it with: reglament complete {} --set FIELD=VALUE ...", t.id));
  }
  return kExitOk;
}

}  // namespace

Json instance_json(const InstanceState& s, const Process* p) {
  Json j = Json::object();
  j["instance"] = s.id;
  j["process"] = s.process;
  j["version"] = s.version;
  j["hash"] = s.hash;
  j["status"] = s.status;
  j["started"] = s.started_at;
  j["started_by"] = nullable(s.started_by);
  j["updated"] = s.updated_at;
  j["ended"] = nullable(s.ended_at);
  j["current"] = string_array(s.current);
  j["completed"] = string_array(s.completed);
  j["variables"] = Json(s.variables);
  j["tasks"] = open_tasks_json(s, p);
  Json jobs = Json::array();
  for (const auto& [id, job] : s.jobs) jobs.push_back(job_json(job));
  j["jobs"] = std::move(jobs);
  Json waits = Json::array();
  for (const Timer* t : s.open_timers()) {
    Json w = Json::object();
    w["timer"] = t->id;
    w["step"] = t->step;
    w["due"] = t->due;
    waits.push_back(std::move(w));
  }
  j["waits"] = std::move(waits);
  j["events"] = s.seq;
  return j;
}

int run_show(Ctx& ctx, const ShowOptions& opt) {
  bool is_task = opt.id.find('.') != std::string::npos;
  std::string instance = is_task ? instance_of(opt.id) : opt.id;
  ctx.subject = instance;
  auto store = ctx.store();
  if (!store) return fail(store.error());
  Runtime runtime(**store, ctx.handlers());
  auto state = runtime.load(instance);
  if (!state) return fail(state.error());
  if (!state->exists()) {
    return fail(ErrorCode::not_found, fmt::format("no instance \"{}\"; see reglament instances", instance));
  }
  DefinitionCache defs(**store);
  auto def = defs.get(state->process, state->version);
  if (!def) return fail(def.error());
  if (!is_task) {
    if (auto st = check_see(ctx, **def); !st.ok()) return fail(st.error());
    return show_instance(ctx, *state, *def);
  }
  const Task* t = state->task(opt.id);
  if (t == nullptr) {
    return fail(ErrorCode::not_found,
                fmt::format("no task \"{}\" in instance {}; see reglament show {}", opt.id, instance, instance));
  }
  // A task is shown only to the people who may act on it.
  auto org = (*store)->org();
  if (!org) return fail(org.error());
  if (auto st = may_act_on(*org, ctx.user, *t); !st.ok()) return fail(st.error());
  return show_task(ctx, *state, *def, *t);
}

}  // namespace reglament
