// decide / apply. See core.h for the contract and engine/README.md for how an
// instance advances.
#include "engine/core.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

namespace reglament {

namespace {

constexpr std::array<std::pair<EventType, std::string_view>, 11> kEventNames{{
    {EventType::instance_started, "InstanceStarted"},
    {EventType::task_created, "TaskCreated"},
    {EventType::task_claimed, "TaskClaimed"},
    {EventType::task_unclaimed, "TaskUnclaimed"},
    {EventType::task_completed, "TaskCompleted"},
    {EventType::step_completed, "StepCompleted"},
    {EventType::join_waiting, "JoinWaiting"},
    {EventType::service_scheduled, "ServiceScheduled"},
    {EventType::service_completed, "ServiceCompleted"},
    {EventType::service_failed, "ServiceFailed"},
    {EventType::instance_completed, "InstanceCompleted"},
}};

Json string_array(const std::vector<std::string>& v) {
  JsonArray a;
  for (const auto& s : v) a.emplace_back(s);
  return Json(std::move(a));
}

std::vector<std::string> strings_of(const Json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& v : j.as_array())
    if (v.is_string()) out.push_back(v.as_string());
  return out;
}

std::string join_names(const std::vector<std::string>& v, std::string_view sep = ", ") {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

void remove_one(std::vector<std::string>& v, const std::string& s) {
  auto it = std::find(v.begin(), v.end(), s);
  if (it != v.end()) v.erase(it);
}

void add_once(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

void merge_into(JsonObject& vars, const Json& values) {
  if (!values.is_object()) return;
  for (const auto& [k, v] : values.as_object()) vars[k] = v;
}

// Builds the events of one command: every event is applied to a working copy
// as soon as it is emitted, so later decisions (routing, ids) see its effect.
class Emitter {
 public:
  Emitter(const Context& ctx, const InstanceState& state, const Command& cmd)
      : ctx_(ctx), state_(state), cmd_(cmd) {}

  const InstanceState& state() const { return state_; }
  std::vector<Event> take() { return std::move(out_); }

  void emit(EventType type, std::string step, Json data, bool by_person) {
    Event e;
    e.type = type;
    e.at = cmd_.at;
    e.actor = by_person ? cmd_.actor : std::string();
    e.step = std::move(step);
    e.data = std::move(data);
    apply(state_, e);
    out_.push_back(std::move(e));
  }

  std::string next_id() const { return fmt::format("{}.{}", state_.id, state_.next_item); }

  // A path arrives at `target` ("end" or a step id).
  void enter(const std::string& target) {
    if (target == "end") return;
    const Step* step = ctx_.process.step(target);
    if (step == nullptr) return;  // the loader guarantees targets exist
    if (step->join) {
      int arrived = 1;
      if (auto it = state_.joins.find(step->id); it != state_.joins.end()) arrived += it->second;
      if (arrived < step->join_count) {
        Json data = Json::object();
        data["arrived"] = Json(arrived);
        data["expected"] = Json(step->join_count);
        emit(EventType::join_waiting, step->id, std::move(data), false);
        return;
      }
    }
    if (step->is_service()) {
      Json data = Json::object();
      data["job"] = Json(next_id());
      data["handler"] = Json(step->handler);
      emit(EventType::service_scheduled, step->id, std::move(data), false);
      return;
    }
    if (step->sign == Sign::all && step->actors.size() > 1) {
      for (const auto& role : step->actors) create_task(*step, {role});
    } else {
      create_task(*step, step->actors);
    }
  }

  // The step is done: choose where to go, go there, and finish the instance
  // when no path is left.
  Status leave(const Step& step) {
    std::vector<std::string> targets;
    Json branch;  // the condition that chose the path, "else", or null
    switch (step.next.kind) {
      case NextKind::end:
        targets.push_back("end");
        break;
      case NextKind::step:
        targets.push_back(step.next.target);
        break;
      case NextKind::parallel:
        targets = step.next.all;
        break;
      case NextKind::choice:
        for (const auto& b : step.next.branches) {
          if (!b.condition) {
            targets.push_back(b.target);
            branch = Json("else");
            break;
          }
          auto holds = eval_condition(*b.condition, state_.variables);
          if (!holds.ok())
            return make_error(ErrorCode::invalid,
                              fmt::format("the condition \"{}\" after step \"{}\" cannot be evaluated: {}",
                                          b.condition->text(), step.id, holds.error().message));
          if (*holds) {
            targets.push_back(b.target);
            branch = Json(b.condition->text());
            break;
          }
        }
        break;
    }
    Json data = Json::object();
    data["next"] = string_array(targets);
    data["branch"] = branch;
    emit(EventType::step_completed, step.id, std::move(data), false);
    for (const auto& t : targets) enter(t);
    if (state_.status == "active" && state_.open_tasks().empty() && state_.open_jobs().empty())
      emit(EventType::instance_completed, "", Json::object(), false);
    return {};
  }

 private:
  void create_task(const Step& step, const std::vector<std::string>& roles) {
    Json data = Json::object();
    data["task"] = Json(next_id());
    data["roles"] = string_array(roles);
    emit(EventType::task_created, step.id, std::move(data), false);
  }

  const Context& ctx_;
  InstanceState state_;
  const Command& cmd_;
  std::vector<Event> out_;
};

// Converts values given for `fields`: text is parsed per the field's type,
// typed JSON is checked. Unknown names are an error naming what is allowed.
Result<JsonObject> typed_values(const std::vector<Field>& fields, const JsonObject& given,
                                std::string_view what) {
  JsonObject out;
  for (const auto& [name, value] : given) {
    auto it = std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.name == name; });
    if (it == fields.end()) {
      std::vector<std::string> names;
      for (const auto& f : fields) names.push_back(f.name);
      return make_error(ErrorCode::invalid,
                        names.empty() ? fmt::format("unknown field \"{}\": {} takes no values", name, what)
                                      : fmt::format("unknown field \"{}\" for {}; expected one of: {}", name,
                                                    what, join_names(names)));
    }
    if (value.is_string()) {
      auto parsed = parse_field_value(*it, value.as_string());
      if (!parsed.ok()) return parsed.error();
      out[name] = std::move(*parsed);
    } else {
      if (auto st = check_field_value(*it, value); !st.ok()) return st.error();
      out[name] = value;
    }
  }
  std::vector<std::string> missing;
  for (const auto& f : fields) {
    if (out.count(f.name)) continue;
    if (f.default_value) {
      out[f.name] = *f.default_value;
    } else if (f.required) {
      missing.push_back(f.name);
    }
  }
  if (missing.size() == 1)
    return make_error(ErrorCode::invalid, fmt::format("field \"{}\" is required for {}", missing[0], what));
  if (!missing.empty())
    return make_error(ErrorCode::invalid,
                      fmt::format("fields {} are required for {}", join_names(missing), what));
  return out;
}

Status check_person(const Context& ctx, const std::string& actor) {
  if (actor.empty()) return make_error(ErrorCode::invalid, "no user given; say who acts with --as USER");
  if (ctx.org.person(actor) == nullptr)
    return make_error(ErrorCode::not_found, fmt::format("unknown user \"{}\"; see reglament users", actor));
  return {};
}

// Finds an open task the actor may act on; the error says exactly why not.
Result<const Task*> actionable_task(const Context& ctx, const InstanceState& state, const std::string& id,
                                    const std::string& actor) {
  const Task* task = state.task(id);
  if (task == nullptr) return make_error(ErrorCode::not_found, fmt::format("no task \"{}\"", id));
  if (auto st = check_person(ctx, actor); !st.ok()) return st.error();
  if (!task->open)
    return make_error(ErrorCode::conflict, fmt::format("task {} ({}) is already completed by {}", id,
                                                       task->step, task->completed_by.empty() ? "the engine" : task->completed_by));
  if (auto st = may_act_on(ctx.org, actor, *task); !st.ok()) return st.error();
  return task;
}

Result<std::vector<Event>> decide_start(const Context& ctx, const InstanceState& state, const Command& cmd,
                                        const StartInstance& start) {
  if (state.exists())
    return make_error(ErrorCode::conflict, fmt::format("instance {} already exists", cmd.instance));
  if (auto st = check_person(ctx, cmd.actor); !st.ok()) return st.error();
  auto vars = typed_values(ctx.process.variables, start.variables,
                           fmt::format("process \"{}\"", ctx.process.key));
  if (!vars.ok()) return vars.error();
  Emitter em(ctx, state, cmd);
  Json data = Json::object();
  data["instance"] = Json(cmd.instance);
  data["process"] = Json(ctx.process.key);
  data["version"] = Json(ctx.version);
  data["hash"] = Json(ctx.hash);
  data["variables"] = Json(std::move(*vars));
  em.emit(EventType::instance_started, "", std::move(data), true);
  em.enter(ctx.process.start().id);
  return em.take();
}

Result<std::vector<Event>> decide_claim(const Context& ctx, const InstanceState& state, const Command& cmd,
                                        const std::string& id) {
  auto task = actionable_task(ctx, state, id, cmd.actor);
  if (!task.ok()) return task.error();
  const Task& t = **task;
  if (t.claimed_by == cmd.actor)
    return make_error(ErrorCode::conflict, fmt::format("task {} is already claimed by you", id));
  if (!t.claimed_by.empty())
    return make_error(ErrorCode::conflict, fmt::format("task {} is claimed by {}", id, t.claimed_by));
  Emitter em(ctx, state, cmd);
  Json data = Json::object();
  data["task"] = Json(id);
  em.emit(EventType::task_claimed, t.step, std::move(data), true);
  return em.take();
}

Result<std::vector<Event>> decide_unclaim(const Context& ctx, const InstanceState& state, const Command& cmd,
                                          const std::string& id) {
  auto task = actionable_task(ctx, state, id, cmd.actor);
  if (!task.ok()) return task.error();
  const Task& t = **task;
  if (t.claimed_by.empty())
    return make_error(ErrorCode::conflict, fmt::format("task {} is not claimed", id));
  if (t.claimed_by != cmd.actor)
    return make_error(ErrorCode::conflict, fmt::format("task {} is claimed by {}, not by you", id, t.claimed_by));
  Emitter em(ctx, state, cmd);
  Json data = Json::object();
  data["task"] = Json(id);
  em.emit(EventType::task_unclaimed, t.step, std::move(data), true);
  return em.take();
}

Result<std::vector<Event>> decide_complete(const Context& ctx, const InstanceState& state, const Command& cmd,
                                           const CompleteTask& complete) {
  auto task = actionable_task(ctx, state, complete.task, cmd.actor);
  if (!task.ok()) return task.error();
  const Task& t = **task;
  if (!t.claimed_by.empty() && t.claimed_by != cmd.actor)
    return make_error(ErrorCode::conflict, fmt::format("task {} is claimed by {}", t.id, t.claimed_by));
  const Step* step = ctx.process.step(t.step);
  if (step == nullptr)
    return make_error(ErrorCode::internal,
                      fmt::format("task {} is on step \"{}\", which version {} of \"{}\" does not have", t.id,
                                  t.step, ctx.version, ctx.process.key));
  static const std::vector<Field> kNoFields;
  const auto& fields = step->form ? step->form->fields : kNoFields;
  auto values = typed_values(fields, complete.values,
                             step->form ? fmt::format("form \"{}\" of step {}", step->form->key, step->id)
                                        : fmt::format("step {}", step->id));
  if (!values.ok()) return values.error();

  std::string role;
  for (const auto& r : t.roles)
    if (ctx.org.has_role(cmd.actor, r)) {
      role = r;
      break;
    }

  Emitter em(ctx, state, cmd);
  if (t.claimed_by.empty()) {  // completing an unclaimed task claims it first
    Json data = Json::object();
    data["task"] = Json(t.id);
    em.emit(EventType::task_claimed, t.step, std::move(data), true);
  }
  Json data = Json::object();
  data["task"] = Json(t.id);
  data["role"] = Json(role);
  data["values"] = Json(std::move(*values));
  em.emit(EventType::task_completed, t.step, std::move(data), true);

  // With `sign: all` the step is done only when every role's task is.
  for (const Task* other : em.state().open_tasks())
    if (other->step == t.step) return em.take();
  if (auto st = em.leave(*step); !st.ok()) return st.error();
  return em.take();
}

Result<std::vector<Event>> decide_service(const Context& ctx, const InstanceState& state, const Command& cmd,
                                          const RecordServiceResult& result) {
  auto it = state.jobs.find(result.job);
  if (it == state.jobs.end()) return make_error(ErrorCode::not_found, fmt::format("no service job \"{}\"", result.job));
  const Job& job = it->second;
  if (!job.open)
    return make_error(ErrorCode::conflict, fmt::format("service job {} ({}) has already run", job.id, job.step));
  const Step* step = ctx.process.step(job.step);
  if (step == nullptr)
    return make_error(ErrorCode::internal, fmt::format("service job {} is on unknown step \"{}\"", job.id, job.step));
  Emitter em(ctx, state, cmd);
  Json data = Json::object();
  data["job"] = Json(job.id);
  if (!result.ok) {
    data["error"] = Json(result.error);
    data["attempt"] = Json(job.attempts + 1);
    em.emit(EventType::service_failed, job.step, std::move(data), false);
    return em.take();
  }
  data["outputs"] = Json(result.outputs);
  data["messages"] = Json(result.messages);
  em.emit(EventType::service_completed, job.step, std::move(data), false);
  if (auto st = em.leave(*step); !st.ok()) return st.error();
  return em.take();
}

}  // namespace

std::string_view to_string(EventType t) {
  for (const auto& [type, name] : kEventNames)
    if (type == t) return name;
  return "Unknown";
}

std::optional<EventType> parse_event_type(std::string_view s) {
  for (const auto& [type, name] : kEventNames)
    if (name == s) return type;
  return std::nullopt;
}

Json encode_event(const Event& e) {
  Json j = Json::object();
  j["type"] = Json(to_string(e.type));
  j["at"] = Json(e.at);
  j["actor"] = e.actor.empty() ? Json() : Json(e.actor);
  j["step"] = e.step.empty() ? Json() : Json(e.step);
  j["data"] = e.data;
  j["format"] = Json(e.format);
  return j;
}

Result<Event> decode_event(const Json& j) {
  if (!j.is_object()) return make_error(ErrorCode::integrity, "an event must be a JSON object");
  auto type = parse_event_type(j.str("type"));
  if (!type) return make_error(ErrorCode::integrity, fmt::format("unknown event type \"{}\"", j.str("type")));
  int64_t format = j.integer("format", 0);
  if (format < 1 || format > kEventFormat)
    return make_error(ErrorCode::integrity,
                      fmt::format("event format {} is not one this build reads (1..{})", format, kEventFormat));
  if (!j.get("data").is_object()) return make_error(ErrorCode::integrity, "an event's data must be a JSON object");
  Event e;
  e.type = *type;
  e.at = j.str("at");
  e.actor = j.str("actor");
  e.step = j.str("step");
  e.data = j.get("data");
  e.format = static_cast<int>(format);
  return e;
}

const Task* InstanceState::task(std::string_view id) const {
  auto it = tasks.find(std::string(id));
  return it == tasks.end() ? nullptr : &it->second;
}

std::vector<const Task*> InstanceState::open_tasks() const {
  std::vector<const Task*> out;
  for (const auto& [id, t] : tasks)
    if (t.open) out.push_back(&t);
  return out;
}

std::vector<const Job*> InstanceState::open_jobs() const {
  std::vector<const Job*> out;
  for (const auto& [id, j] : jobs)
    if (j.open) out.push_back(&j);
  return out;
}

Status may_act_on(const Org& org, const std::string& login, const Task& task) {
  if (org.person(login) == nullptr)
    return make_error(ErrorCode::not_found, fmt::format("unknown user \"{}\"; see reglament users", login));
  for (const auto& r : task.roles)
    if (org.has_role(login, r)) return {};
  return make_error(ErrorCode::forbidden, fmt::format("{} may not act on task {} ({}): it needs the role {}", login,
                                                      task.id, task.step, join_names(task.roles, " or ")));
}

std::string instance_of(std::string_view task_id) {
  auto dot = task_id.find('.');
  return std::string(task_id.substr(0, dot));
}

Result<std::vector<Event>> decide(const Context& ctx, const InstanceState& state, const Command& cmd) {
  if (!std::holds_alternative<StartInstance>(cmd.body) && !state.exists())
    return make_error(ErrorCode::not_found, fmt::format("no instance \"{}\"", cmd.instance));
  if (state.exists() && state.status != "active" && !std::holds_alternative<StartInstance>(cmd.body))
    return make_error(ErrorCode::conflict, fmt::format("instance {} is {}", state.id, state.status));
  return std::visit(
      [&](const auto& body) -> Result<std::vector<Event>> {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, StartInstance>) return decide_start(ctx, state, cmd, body);
        if constexpr (std::is_same_v<T, ClaimTask>) return decide_claim(ctx, state, cmd, body.task);
        if constexpr (std::is_same_v<T, UnclaimTask>) return decide_unclaim(ctx, state, cmd, body.task);
        if constexpr (std::is_same_v<T, CompleteTask>) return decide_complete(ctx, state, cmd, body);
        if constexpr (std::is_same_v<T, RecordServiceResult>) return decide_service(ctx, state, cmd, body);
      },
      cmd.body);
}

void apply(InstanceState& s, const Event& e) {
  ++s.seq;
  s.updated_at = e.at;
  const Json& d = e.data;
  switch (e.type) {
    case EventType::instance_started:
      s.id = d.str("instance");
      s.process = d.str("process");
      s.version = static_cast<int>(d.integer("version"));
      s.hash = d.str("hash");
      s.status = "active";
      s.started_at = e.at;
      s.started_by = e.actor;
      merge_into(s.variables, d.get("variables"));
      break;
    case EventType::task_created: {
      Task t;
      t.id = d.str("task");
      t.step = e.step;
      t.roles = strings_of(d.get("roles"));
      t.created_at = e.at;
      s.tasks[t.id] = std::move(t);
      ++s.next_item;
      add_once(s.current, e.step);
      s.joins.erase(e.step);
      break;
    }
    case EventType::task_claimed:
      s.tasks[d.str("task")].claimed_by = e.actor;
      break;
    case EventType::task_unclaimed:
      s.tasks[d.str("task")].claimed_by.clear();
      break;
    case EventType::task_completed: {
      Task& t = s.tasks[d.str("task")];
      t.open = false;
      t.completed_by = e.actor;
      t.completed_at = e.at;
      merge_into(s.variables, d.get("values"));
      break;
    }
    case EventType::step_completed:
      s.completed.push_back(e.step);
      remove_one(s.current, e.step);
      break;
    case EventType::join_waiting:
      s.joins[e.step] = static_cast<int>(d.integer("arrived"));
      break;
    case EventType::service_scheduled: {
      Job j;
      j.id = d.str("job");
      j.step = e.step;
      j.handler = d.str("handler");
      s.jobs[j.id] = std::move(j);
      ++s.next_item;
      add_once(s.current, e.step);
      s.joins.erase(e.step);
      break;
    }
    case EventType::service_completed: {
      Job& j = s.jobs[d.str("job")];
      j.open = false;
      j.last_error.clear();
      merge_into(s.variables, d.get("outputs"));
      break;
    }
    case EventType::service_failed: {
      Job& j = s.jobs[d.str("job")];
      j.attempts = static_cast<int>(d.integer("attempt"));
      j.last_error = d.str("error");
      break;
    }
    case EventType::instance_completed:
      s.status = "completed";
      s.ended_at = e.at;
      break;
  }
}

InstanceState replay(const std::vector<Event>& events) {
  InstanceState s;
  for (const auto& e : events) apply(s, e);
  return s;
}

Json encode_state(const InstanceState& s) {
  Json j = Json::object();
  j["instance"] = Json(s.id);
  j["process"] = Json(s.process);
  j["version"] = Json(s.version);
  j["hash"] = Json(s.hash);
  j["status"] = Json(s.status);
  j["started_at"] = Json(s.started_at);
  j["started_by"] = s.started_by.empty() ? Json() : Json(s.started_by);
  j["updated_at"] = Json(s.updated_at);
  j["ended_at"] = s.ended_at.empty() ? Json() : Json(s.ended_at);
  j["variables"] = Json(s.variables);
  j["current"] = string_array(s.current);
  j["completed"] = string_array(s.completed);
  JsonArray tasks;
  for (const auto& [id, t] : s.tasks) {
    Json tj = Json::object();
    tj["task"] = Json(t.id);
    tj["step"] = Json(t.step);
    tj["roles"] = string_array(t.roles);
    tj["claimed_by"] = t.claimed_by.empty() ? Json() : Json(t.claimed_by);
    tj["created_at"] = Json(t.created_at);
    tj["open"] = Json(t.open);
    tj["completed_by"] = t.completed_by.empty() ? Json() : Json(t.completed_by);
    tj["completed_at"] = t.completed_at.empty() ? Json() : Json(t.completed_at);
    tasks.push_back(std::move(tj));
  }
  j["tasks"] = Json(std::move(tasks));
  JsonArray jobs;
  for (const auto& [id, jb] : s.jobs) {
    Json o = Json::object();
    o["job"] = Json(jb.id);
    o["step"] = Json(jb.step);
    o["handler"] = Json(jb.handler);
    o["open"] = Json(jb.open);
    o["attempts"] = Json(jb.attempts);
    o["error"] = jb.last_error.empty() ? Json() : Json(jb.last_error);
    jobs.push_back(std::move(o));
  }
  j["jobs"] = Json(std::move(jobs));
  JsonObject joins;
  for (const auto& [step, n] : s.joins) joins[step] = Json(n);
  j["joins"] = Json(std::move(joins));
  j["next_item"] = Json(s.next_item);
  j["seq"] = Json(s.seq);
  return j;
}

}  // namespace reglament
