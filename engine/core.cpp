// decide / apply. See core.h for the contract and engine/README.md for how an
// instance advances.
#include "engine/core.h"

#include <algorithm>
#include <cassert>
#include <array>
#include <tuple>

#include "engine/time.h"

#include <fmt/format.h>

namespace reglament {

namespace {

constexpr std::array<std::pair<EventType, std::string_view>, 20> kEventNames{{
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
    {EventType::timer_started, "TimerStarted"},
    {EventType::timer_fired, "TimerFired"},
    {EventType::deadline_passed, "DeadlinePassed"},
    {EventType::task_reassigned, "TaskReassigned"},
    {EventType::task_priority_changed, "TaskPriorityChanged"},
    {EventType::task_cancelled, "TaskCancelled"},
    {EventType::incident_retried, "IncidentRetried"},
    {EventType::service_skipped, "ServiceSkipped"},
    {EventType::child_returned, "ChildReturned"},
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
  Emitter(const Context& ctx, const InstanceState& state, const Command& cmd, int64_t now)
      : ctx_(ctx), cal_(ctx.calendar ? *ctx.calendar : default_calendar_ref()), state_(state), cmd_(cmd), now_(now) {}

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

  // A path arrives at `target` ("end" or a step id), through `wait` when the
  // branch taken has one.
  Status enter(const std::string& target, const Wait* wait = nullptr) {
    if (target == "end") return {};
    const Step* step = ctx_.process.step(target);
    if (step == nullptr) return {};  // the loader guarantees targets exist
    if (wait != nullptr) {
      auto due = wait_until(*wait);
      if (!due.ok()) return due.error();
      if (*due > now_) return start_timer(*step, *due, true);
    }
    if (step->join) {
      int arrived = 1;
      if (auto it = state_.joins.find(step->id); it != state_.joins.end()) arrived += it->second;
      if (arrived < step->join_count) {
        Json data = Json::object();
        data["arrived"] = Json(arrived);
        data["expected"] = Json(step->join_count);
        emit(EventType::join_waiting, step->id, std::move(data), false);
        return {};
      }
    }
    if (step->wait) {
      auto due = wait_until(*step->wait);
      if (!due.ok()) return due.error();
      if (*due > now_) return start_timer(*step, *due, false);
    }
    return activate(*step);
  }

  // The step starts: its service job (a handler, a call, or a person's
  // step's on_enter handler) is scheduled, or its tasks are created.
  Status activate(const Step& step) {
    if (step.is_service() || step.on_enter) {
      Json data = Json::object();
      data["job"] = Json(next_id());
      data["handler"] = Json(step.call ? std::string("call") : step.handler);
      emit(EventType::service_scheduled, step.id, std::move(data), false);
      return {};
    }
    return create_tasks(step);
  }

  // A person's step gets its tasks: one for all its roles, or one per role.
  Status create_tasks(const Step& step) {
    auto level = priority_of(step);
    if (!level.ok()) return level.error();
    auto due = deadline_of(step);
    if (!due.ok()) return due.error();
    if (step.sign == Sign::all && step.actors.size() > 1) {
      for (const auto& role : step.actors) create_task(step, {role}, *level, *due);
    } else {
      create_task(step, step.actors, *level, *due);
    }
    return {};
  }

  // The step is done: choose where to go, go there, and finish the instance
  // when no path is left. `why`, when given, is the branch to record instead
  // of a condition (an interrupting deadline).
  Status leave(const Step& step, const std::string* forced_target = nullptr) {
    std::vector<std::string> targets;
    Json branch;  // the condition that chose the path, "else", "deadline", or null
    const Wait* wait = nullptr;
    if (forced_target != nullptr) {
      targets.push_back(*forced_target);
      branch = Json("deadline");
    } else {
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
              wait = b.wait ? &*b.wait : nullptr;
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
              wait = b.wait ? &*b.wait : nullptr;
              break;
            }
          }
          break;
      }
    }
    Json data = Json::object();
    data["next"] = string_array(targets);
    data["branch"] = branch;
    emit(EventType::step_completed, step.id, std::move(data), false);
    for (const auto& t : targets)
      if (auto st = enter(t, wait); !st.ok()) return st;
    finish_if_done();
    return {};
  }

  // Completes the instance when nothing is left to do or wait for.
  void finish_if_done() {
    const bool awaiting = std::any_of(state_.jobs.begin(), state_.jobs.end(),
                                      [](const auto& kv) { return kv.second.awaiting > 0; });
    if (state_.status == "active" && state_.open_tasks().empty() && state_.open_jobs().empty() &&
        state_.open_timers().empty() && !awaiting)
      emit(EventType::instance_completed, "", Json::object(), false);
  }

  // A wait is over.
  Status fire_timer(const Timer& timer) {
    const Step* step = ctx_.process.step(timer.step);
    Json data = Json::object();
    data["timer"] = Json(timer.id);
    data["due"] = Json(timer.due);
    const bool branch = timer.branch;
    emit(EventType::timer_fired, timer.step, std::move(data), false);
    if (step == nullptr) return {};
    // A branch's wait is followed by the step's own entry (its join, its wait).
    if (branch) {
      if (auto st = enter(step->id); !st.ok()) return st;
    } else if (auto st = activate(*step); !st.ok()) {
      return st;
    }
    finish_if_done();
    return {};
  }

  // A task's deadline has passed: record it, then run the step's escalation.
  Status pass_deadline(const Task& task) {
    const Step* step = ctx_.process.step(task.step);
    const std::string id = task.id;
    const std::string due = task.due;
    JsonArray messages;
    if (step != nullptr) {
      for (const auto& e : step->escalate) {
        if (e.kind != Escalation::Kind::notify) continue;
        JsonObject vars = state_.variables;
        vars["task"] = Json(id);
        vars["step"] = Json(step->id);
        vars["title"] = Json(step->title);
        vars["due"] = Json(due);
        Json m = Json::object();
        m["to"] = Json(e.role);
        m["text"] = Json(e.text.empty()
                             ? fmt::format("Task {} ({} {}) is overdue: it was due {}", id, step->id, step->title, due)
                             : render_template(e.text, vars));
        messages.push_back(std::move(m));
      }
    }
    Json data = Json::object();
    data["task"] = Json(id);
    data["due"] = Json(due);
    data["messages"] = Json(std::move(messages));
    emit(EventType::deadline_passed, task.step, std::move(data), false);
    if (step == nullptr) return {};
    for (const auto& e : step->escalate) {
      const Task* t = state_.task(id);
      switch (e.kind) {
        case Escalation::Kind::notify:
          break;
        case Escalation::Kind::reassign: {
          if (t == nullptr || !t->open) break;
          Json d = Json::object();
          d["task"] = Json(id);
          d["roles"] = string_array({e.role});
          emit(EventType::task_reassigned, step->id, std::move(d), false);
          break;
        }
        case Escalation::Kind::priority: {
          if (t == nullptr || !t->open || t->priority == e.level) break;
          Json d = Json::object();
          d["task"] = Json(id);
          d["priority"] = Json(to_string(e.level));
          emit(EventType::task_priority_changed, step->id, std::move(d), false);
          break;
        }
        case Escalation::Kind::go: {
          // Interrupting: the step's open tasks are cancelled and the
          // instance moves on from the step as if it were done.
          std::vector<std::string> open;
          for (const Task* o : state_.open_tasks())
            if (o->step == step->id) open.push_back(o->id);
          if (open.empty()) break;
          for (const auto& o : open) {
            Json d = Json::object();
            d["task"] = Json(o);
            emit(EventType::task_cancelled, step->id, std::move(d), false);
          }
          return leave(*step, &e.target);
        }
      }
    }
    return {};
  }

  // A moment as events write it: ISO-8601 in the calendar's zone.
  std::string moment_text(int64_t epoch) const { return format_moment(cal_.zone.moment(epoch)); }

 private:
  static const WorkingCalendar& default_calendar_ref() {
    static const WorkingCalendar kDefault = default_calendar();
    return kDefault;
  }

  // The moment a date or datetime variable holds; nullopt when unset.
  // A date is read as `time_of_day` on that date in the calendar's zone.
  Result<std::optional<int64_t>> moment_of(const std::string& name, int64_t time_of_day) const {
    auto it = state_.variables.find(name);
    if (it == state_.variables.end() || it->second.is_null()) return std::optional<int64_t>();
    if (!it->second.is_string())
      return make_error(ErrorCode::invalid, fmt::format("variable \"{}\" must hold a date or datetime", name));
    const std::string& text = it->second.as_string();
    if (text.size() == 10) {
      auto m = parse_moment(text, 0);
      if (!m.ok())
        return make_error(ErrorCode::invalid, fmt::format("variable \"{}\" holds \"{}\", not a date", name, text));
      CivilDate d = days_to_civil(m->epoch / 86400);
      return std::optional<int64_t>(cal_.zone.to_utc(d, time_of_day));
    }
    auto m = parse_moment(text);
    if (!m.ok())
      return make_error(ErrorCode::invalid, fmt::format("variable \"{}\" holds \"{}\", not a datetime", name, text));
    return std::optional<int64_t>(m->epoch);
  }

  Result<int64_t> wait_until(const Wait& w) const {
    int64_t due = now_;
    if (!w.until.empty()) {
      auto m = moment_of(w.until, cal_.day_from);
      if (!m.ok()) return m.error();
      if (*m) due = std::max(due, **m);
    }
    if (w.span) due = add_span(cal_, due, *w.span);
    if (!w.window.empty()) {
      if (const TimeWindow* win = cal_.window(w.window)) due = cal_.next_window_open(*win, due);
    }
    return due;
  }

  // The task's due moment, or nullopt without a deadline.
  Result<std::optional<int64_t>> deadline_of(const Step& step) const {
    if (!step.deadline) return std::optional<int64_t>();
    if (step.deadline->span) return std::optional<int64_t>(add_span(cal_, now_, *step.deadline->span));
    return moment_of(step.deadline->at, cal_.day_to);
  }

  Result<Priority> priority_of(const Step& step) const {
    const auto& rules = step.priority.empty() ? ctx_.process.priority : step.priority;
    for (const auto& r : rules) {
      if (!r.condition) return r.level;
      if (r.condition->empty()) continue;
      auto holds = eval_condition(*r.condition, state_.variables);
      if (!holds.ok())
        return make_error(ErrorCode::invalid,
                          fmt::format("the priority condition \"{}\" of step \"{}\" cannot be evaluated: {}",
                                      r.condition->text(), step.id, holds.error().message));
      if (*holds) return r.level;
    }
    return Priority::normal;
  }

  Status start_timer(const Step& step, int64_t due, bool branch) {
    Json data = Json::object();
    data["timer"] = Json(next_id());
    data["due"] = Json(format_moment(cal_.zone.moment(due)));
    data["wait"] = Json(branch ? "branch" : "step");
    emit(EventType::timer_started, step.id, std::move(data), false);
    return {};
  }

  void create_task(const Step& step, const std::vector<std::string>& roles, Priority level,
                   std::optional<int64_t> due) {
    Json data = Json::object();
    data["task"] = Json(next_id());
    data["roles"] = string_array(roles);
    if (level != Priority::normal) data["priority"] = Json(to_string(level));
    if (due) data["due"] = Json(format_moment(cal_.zone.moment(*due)));
    emit(EventType::task_created, step.id, std::move(data), false);
  }

  const Context& ctx_;
  const WorkingCalendar& cal_;
  InstanceState state_;
  const Command& cmd_;
  int64_t now_;
  std::vector<Event> out_;
};

// Converts values given for `fields`: text is parsed per the field's type,
// typed JSON is checked. Unknown names are an error naming what is allowed.
Result<JsonObject> typed_values(const std::vector<Field>& fields, const JsonObject& given,
                                std::string_view what) {
  JsonObject out;
  for (const auto& [name, value] : given) {
    // Captured by name: clang 14 (the fuzz build) cannot capture a structured binding.
    auto it = std::find_if(fields.begin(), fields.end(), [&name = name](const Field& f) { return f.name == name; });
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
                                        const StartInstance& start, int64_t now) {
  if (state.exists())
    return make_error(ErrorCode::conflict, fmt::format("instance {} already exists", cmd.instance));
  // A scheduled start is the engine's own; anyone else must be a person.
  if ((start.scheduled_for.empty() && start.parent.is_null()) || !cmd.actor.empty()) {
    if (auto st = check_person(ctx, cmd.actor); !st.ok()) return st.error();
  }
  auto vars = typed_values(ctx.process.variables, start.variables,
                           fmt::format("process \"{}\"", ctx.process.key));
  if (!vars.ok()) return vars.error();
  Emitter em(ctx, state, cmd, now);
  Json data = Json::object();
  data["instance"] = Json(cmd.instance);
  data["process"] = Json(ctx.process.key);
  data["version"] = Json(ctx.version);
  data["hash"] = Json(ctx.hash);
  data["variables"] = Json(std::move(*vars));
  if (!start.scheduled_for.empty()) data["scheduled_for"] = Json(start.scheduled_for);
  if (!start.parent.is_null()) data["parent"] = start.parent;
  em.emit(EventType::instance_started, "", std::move(data), true);
  if (auto st = em.enter(ctx.process.start().id); !st.ok()) return st.error();
  em.finish_if_done();
  return em.take();
}

Result<std::vector<Event>> decide_claim(const Context& ctx, const InstanceState& state, const Command& cmd,
                                        const std::string& id, int64_t now) {
  auto task = actionable_task(ctx, state, id, cmd.actor);
  if (!task.ok()) return task.error();
  const Task& t = **task;
  if (t.claimed_by == cmd.actor)
    return make_error(ErrorCode::conflict, fmt::format("task {} is already claimed by you", id));
  if (!t.claimed_by.empty())
    return make_error(ErrorCode::conflict, fmt::format("task {} is claimed by {}", id, t.claimed_by));
  Emitter em(ctx, state, cmd, now);
  Json data = Json::object();
  data["task"] = Json(id);
  em.emit(EventType::task_claimed, t.step, std::move(data), true);
  return em.take();
}

Result<std::vector<Event>> decide_unclaim(const Context& ctx, const InstanceState& state, const Command& cmd,
                                        const std::string& id, int64_t now) {
  auto task = actionable_task(ctx, state, id, cmd.actor);
  if (!task.ok()) return task.error();
  const Task& t = **task;
  if (t.claimed_by.empty())
    return make_error(ErrorCode::conflict, fmt::format("task {} is not claimed", id));
  if (t.claimed_by != cmd.actor)
    return make_error(ErrorCode::conflict, fmt::format("task {} is claimed by {}, not by you", id, t.claimed_by));
  Emitter em(ctx, state, cmd, now);
  Json data = Json::object();
  data["task"] = Json(id);
  em.emit(EventType::task_unclaimed, t.step, std::move(data), true);
  return em.take();
}

Result<std::vector<Event>> decide_complete(const Context& ctx, const InstanceState& state, const Command& cmd,
                                           const CompleteTask& complete, int64_t now) {
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

  Emitter em(ctx, state, cmd, now);
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

Result<std::vector<Event>> decide_fire(const Context& ctx, const InstanceState& state, const Command& cmd,
                                       int64_t now) {
  // What fell due by `now`, in the order it fell due (ties: by id).
  std::vector<std::tuple<int64_t, std::string, bool>> due;  // (when, id, is a timer)
  for (const Timer* t : state.open_timers())
    if (t->due_epoch <= now) due.emplace_back(t->due_epoch, t->id, true);
  for (const Task* t : state.open_tasks())
    if (t->has_due() && !t->escalated && t->due_epoch <= now) due.emplace_back(t->due_epoch, t->id, false);
  std::sort(due.begin(), due.end());
  Emitter em(ctx, state, cmd, now);
  for (const auto& [when, id, is_timer] : due) {
    if (em.state().status != "active") break;
    if (is_timer) {
      auto it = em.state().timers.find(id);
      if (it == em.state().timers.end() || !it->second.open) continue;
      Timer timer = it->second;
      if (auto st = em.fire_timer(timer); !st.ok()) return st.error();
    } else {
      const Task* t = em.state().task(id);
      if (t == nullptr || !t->open || t->escalated) continue;  // cancelled by an earlier deadline
      Task task = *t;
      if (auto st = em.pass_deadline(task); !st.ok()) return st.error();
    }
  }
  return em.take();
}

// The job's step after the job is done: a person's step with on_enter gets
// its tasks now; any other step is left.
Status after_job(Emitter& em, const Step& step) {
  if (step.on_enter) {
    if (auto st = em.create_tasks(step); !st.ok()) return st;
    em.finish_if_done();
    return {};
  }
  return em.leave(step);
}

Result<const Job*> open_job(const Context& ctx, const InstanceState& state, const std::string& id,
                            const Step** step) {
  auto it = state.jobs.find(id);
  if (it == state.jobs.end()) return make_error(ErrorCode::not_found, fmt::format("no service job \"{}\"", id));
  const Job& job = it->second;
  if (!job.open) {
    return make_error(ErrorCode::conflict, fmt::format("service job {} ({}) has already {}", job.id, job.step,
                                                       job.skipped ? "been skipped" : "run"));
  }
  *step = ctx.process.step(job.step);
  if (*step == nullptr)
    return make_error(ErrorCode::internal, fmt::format("service job {} is on unknown step \"{}\"", job.id, job.step));
  return &job;
}

// The first number in `v` (an output, or inside one) that a `number` cannot
// hold exactly (model.h), as "name" or "name.key"/"name[i]"; "" when none.
std::string number_out_of_range(const Json& v, const std::string& path) {
  if (v.is_number()) return number_in_range(v) ? "" : path;
  if (v.is_array()) {
    size_t i = 0;
    for (const auto& item : v.as_array()) {
      if (auto bad = number_out_of_range(item, fmt::format("{}[{}]", path, i++)); !bad.empty()) return bad;
    }
  } else if (v.is_object()) {
    for (const auto& [key, item] : v.as_object()) {
      if (auto bad = number_out_of_range(item, path + "." + key); !bad.empty()) return bad;
    }
  }
  return "";
}

Result<std::vector<Event>> decide_service(const Context& ctx, const InstanceState& state, const Command& cmd,
                                          const RecordServiceResult& given, int64_t now) {
  // A handler (or `set:`) that returns a number out of range has failed like
  // any other: it is retried, then an incident, and nothing rounded is stored.
  RecordServiceResult result = given;
  if (result.ok) {
    for (const auto& [name, value] : result.outputs) {
      const std::string bad = number_out_of_range(value, name);
      if (bad.empty()) continue;
      result.ok = false;
      result.error = fmt::format("output \"{}\" is a number out of range; numbers must be {}", bad,
                                 number_range_text());
      break;
    }
  }
  const Step* step = nullptr;
  auto found = open_job(ctx, state, result.job, &step);
  if (!found.ok()) return found.error();
  const Job& job = **found;
  if (job.incident)
    return make_error(ErrorCode::conflict,
                      fmt::format("service job {} ({}) is an incident; retry or skip it first", job.id, job.step));
  Emitter em(ctx, state, cmd, now);
  Json data = Json::object();
  data["job"] = Json(job.id);
  if (!result.ok) {
    const int attempt = job.attempts + 1;
    data["error"] = Json(result.error);
    data["attempt"] = Json(attempt);
    if (attempt <= step->retry.max && !result.incident) {
      // Back-off doubles with each retry, at most a day between attempts.
      const int64_t delay = std::min<int64_t>(step->retry.backoff_seconds << std::min(attempt - 1, 20), 86400);
      data["retry_at"] = Json(em.moment_text(now + delay));
    } else {
      data["incident"] = Json(true);
    }
    em.emit(EventType::service_failed, job.step, std::move(data), false);
    return em.take();
  }
  data["outputs"] = Json(result.outputs);
  data["messages"] = Json(result.messages);
  if (!result.records.empty()) data["records"] = Json(result.records);
  if (!result.starts.empty()) data["starts"] = Json(result.starts);
  const bool waits = step->call && step->call->wait && !result.starts.empty();
  if (waits) data["awaiting"] = Json(static_cast<int64_t>(result.starts.size()));
  em.emit(EventType::service_completed, job.step, std::move(data), false);
  if (waits) return em.take();  // the step ends when the called instances do
  if (auto st = after_job(em, *step); !st.ok()) return st.error();
  return em.take();
}

// The step's actors, the process owner and administrators (org access.admin)
// may retry; only the owner and administrators may skip.
Status may_handle_incident(const Context& ctx, const std::string& actor, const Step& step, bool skip) {
  if (auto st = check_person(ctx, actor); !st.ok()) return st;
  if (!ctx.process.owner.empty() && ctx.org.has_role(actor, ctx.process.owner)) return {};
  for (const auto& role : ctx.org.access.admin)
    if (ctx.org.has_role(actor, role)) return {};
  if (!skip) {
    for (const auto& role : step.actors)
      if (ctx.org.has_role(actor, role)) return {};
  }
  return make_error(ErrorCode::forbidden,
                    skip ? fmt::format("only the process owner ({}) or an administrator may skip a step of {}; {} may not", ctx.process.owner,
                                       ctx.process.key, actor)
                         : fmt::format("{} may not retry step {}: it takes one of the roles {} or the process owner {}",
                                       actor, step.id, join_names(step.actors), ctx.process.owner));
}

Result<std::vector<Event>> decide_retry(const Context& ctx, const InstanceState& state, const Command& cmd,
                                        const RetryJob& retry, int64_t now) {
  const Step* step = nullptr;
  auto found = open_job(ctx, state, retry.job, &step);
  if (!found.ok()) return found.error();
  const Job& job = **found;
  if (auto st = may_handle_incident(ctx, cmd.actor, *step, false); !st.ok()) return st.error();
  if (!job.incident)
    return make_error(ErrorCode::conflict,
                      fmt::format("service job {} ({}) is not an incident: {}", job.id, job.step,
                                  job.attempts > 0 ? "it is retried automatically" : "it has not failed"));
  Emitter em(ctx, state, cmd, now);
  Json data = Json::object();
  data["job"] = Json(job.id);
  em.emit(EventType::incident_retried, job.step, std::move(data), true);
  return em.take();
}

Result<std::vector<Event>> decide_skip(const Context& ctx, const InstanceState& state, const Command& cmd,
                                       const SkipJob& skip, int64_t now) {
  const Step* step = nullptr;
  auto found = open_job(ctx, state, skip.job, &step);
  if (!found.ok()) return found.error();
  const Job& job = **found;
  if (auto st = may_handle_incident(ctx, cmd.actor, *step, true); !st.ok()) return st.error();
  if (skip.reason.find_first_not_of(" \t\r\n") == std::string::npos)
    return make_error(ErrorCode::invalid, "a skip needs a reason (--reason): it is recorded in the history");
  if (!job.incident && job.attempts == 0)
    return make_error(ErrorCode::conflict,
                      fmt::format("service job {} ({}) has not failed; only a failed job may be skipped", job.id, job.step));
  Emitter em(ctx, state, cmd, now);
  Json data = Json::object();
  data["job"] = Json(job.id);
  data["reason"] = Json(skip.reason);
  em.emit(EventType::service_skipped, job.step, std::move(data), true);
  if (auto st = after_job(em, *step); !st.ok()) return st.error();
  return em.take();
}

Result<std::vector<Event>> decide_return(const Context& ctx, const InstanceState& state, const Command& cmd,
                                         const ReturnFromChild& ret, int64_t now) {
  auto it = state.jobs.find(ret.job);
  if (it == state.jobs.end()) return make_error(ErrorCode::not_found, fmt::format("no service job \"{}\"", ret.job));
  const Job& job = it->second;
  if (std::find(job.returned.begin(), job.returned.end(), ret.child) != job.returned.end())
    return make_error(ErrorCode::conflict, fmt::format("instance {} has already returned to {}", ret.child, job.id));
  if (job.awaiting <= 0)
    return make_error(ErrorCode::conflict, fmt::format("service job {} ({}) waits for no instance", job.id, job.step));
  const Step* step = ctx.process.step(job.step);
  if (step == nullptr || !step->call)
    return make_error(ErrorCode::internal, fmt::format("service job {} is not a call", job.id));
  Emitter em(ctx, state, cmd, now);
  JsonObject outputs;
  for (const auto& name : step->call->outputs) {
    auto v = ret.variables.find(name);
    if (v != ret.variables.end()) outputs[name] = v->second;
  }
  Json data = Json::object();
  data["job"] = Json(job.id);
  data["child"] = Json(ret.child);
  data["outputs"] = Json(std::move(outputs));
  em.emit(EventType::child_returned, job.step, std::move(data), false);
  if (em.state().jobs.at(job.id).awaiting == 0) {
    if (auto st = em.leave(*step); !st.ok()) return st.error();
  }
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

const JsonArray& outbox_messages(const Event& e) {
  static const JsonArray kNone;
  if (e.type != EventType::service_completed && e.type != EventType::deadline_passed) return kNone;
  const Json& messages = e.data.get("messages");
  return messages.is_array() ? messages.as_array() : kNone;
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

namespace {

// encode_event(e).dump(), with the data written by `write_data`.
template <class WriteData>
void append_encoded(std::string& out, const Event& e, WriteData write_data) {
  // The keys of encode_event's object, in the sorted order dump() writes them.
  auto text_or_null = [&out](const std::string& s) {
    if (s.empty()) {
      out += "null";
    } else {
      append_json_string(out, s);
    }
  };
  out += "{\"actor\":";
  text_or_null(e.actor);
  out += ",\"at\":";
  append_json_string(out, e.at);
  out += ",\"data\":";
  write_data();
  out += ",\"format\":";
  out += std::to_string(e.format);
  out += ",\"step\":";
  text_or_null(e.step);
  out += ",\"type\":";
  append_json_string(out, to_string(e.type));
  out += '}';
}

}  // namespace

void append_encoded_event(std::string& out, const Event& e) {
  append_encoded(out, e, [&] { e.data.dump_to(out); });
}

void append_encoded_event(std::string& out, const Event& e, std::string_view data) {
  assert(data == e.data.dump());
  append_encoded(out, e, [&] { out += data; });
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

std::vector<const Timer*> InstanceState::open_timers() const {
  std::vector<const Timer*> out;
  for (const auto& [id, t] : timers)
    if (t.open) out.push_back(&t);
  return out;
}

std::optional<int64_t> InstanceState::next_due() const {
  std::optional<int64_t> out;
  auto consider = [&](int64_t when) {
    if (!out || when < *out) out = when;
  };
  for (const auto& [id, t] : timers)
    if (t.open) consider(t.due_epoch);
  for (const auto& [id, t] : tasks)
    if (t.open && t.has_due() && !t.escalated) consider(t.due_epoch);
  for (const auto& [id, j] : jobs)
    if (j.open && !j.incident && j.retry_at_epoch > 0) consider(j.retry_at_epoch);
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

namespace {

Result<std::vector<Event>> decide_at(const Context& ctx, const InstanceState& state, const Command& cmd,
                                     int64_t now) {
  return std::visit(
      [&](const auto& body) -> Result<std::vector<Event>> {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, StartInstance>) return decide_start(ctx, state, cmd, body, now);
        if constexpr (std::is_same_v<T, ClaimTask>) return decide_claim(ctx, state, cmd, body.task, now);
        if constexpr (std::is_same_v<T, UnclaimTask>) return decide_unclaim(ctx, state, cmd, body.task, now);
        if constexpr (std::is_same_v<T, CompleteTask>) return decide_complete(ctx, state, cmd, body, now);
        if constexpr (std::is_same_v<T, RecordServiceResult>) return decide_service(ctx, state, cmd, body, now);
        if constexpr (std::is_same_v<T, FireTimers>) return decide_fire(ctx, state, cmd, now);
        if constexpr (std::is_same_v<T, RetryJob>) return decide_retry(ctx, state, cmd, body, now);
        if constexpr (std::is_same_v<T, SkipJob>) return decide_skip(ctx, state, cmd, body, now);
        if constexpr (std::is_same_v<T, ReturnFromChild>) return decide_return(ctx, state, cmd, body, now);
      },
      cmd.body);
}

}  // namespace

Result<std::vector<Event>> decide(const Context& ctx, const InstanceState& state, const Command& cmd) {
  if (!std::holds_alternative<StartInstance>(cmd.body) && !state.exists())
    return make_error(ErrorCode::not_found, fmt::format("no instance \"{}\"", cmd.instance));
  if (state.exists() && state.status != "active" && !std::holds_alternative<StartInstance>(cmd.body)) {
    if (std::holds_alternative<FireTimers>(cmd.body)) return std::vector<Event>{};  // nothing can be due
    return make_error(ErrorCode::conflict, fmt::format("instance {} is {}", state.id, state.status));
  }
  // Time moves forward only: a history's events are in the order they
  // happened, which is what timers, deadlines and `state at T` rely on.
  auto at = parse_moment(cmd.at);
  if (!at.ok()) return make_error(ErrorCode::invalid, fmt::format("the time \"{}\" is not valid: {}", cmd.at, at.error().message));
  const int64_t now = at->epoch;
  if (state.exists()) {
    auto last = parse_moment(state.updated_at);
    if (last.ok() && last->epoch > now) {
      // Nothing fires at a moment the history has already passed; a tick
      // at a later moment will.
      if (std::holds_alternative<FireTimers>(cmd.body)) return std::vector<Event>{};
      // A clock's command (or the engine recording a handler's result, or a
      // child's return) happens at the instance's last moment: another
      // process's clock ran ahead, and refusing would lose work already done.
      if (cmd.clock || std::holds_alternative<RecordServiceResult>(cmd.body) ||
          std::holds_alternative<ReturnFromChild>(cmd.body)) {
        Command later = cmd;
        later.at = state.updated_at;
        return decide_at(ctx, state, later, last->epoch);
      }
      // What else is wrong comes first: a task someone else completed is a
      // conflict (exit 4), whatever the clock says.
      auto then = decide_at(ctx, state, cmd, last->epoch);
      if (!then.ok()) return then.error();
      return make_error(ErrorCode::invalid,
                        fmt::format("the time {} is before instance {}'s last event at {}; time cannot go back",
                                    cmd.at, state.id, state.updated_at));
    }
  }
  return decide_at(ctx, state, cmd, now);
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
      s.parent = d.get("parent");
      merge_into(s.variables, d.get("variables"));
      break;
    case EventType::task_created: {
      Task t;
      t.id = d.str("task");
      t.step = e.step;
      t.roles = strings_of(d.get("roles"));
      t.created_at = e.at;
      t.priority = parse_priority(d.str("priority")).value_or(Priority::normal);
      t.due = d.str("due");
      if (!t.due.empty()) {
        if (auto m = parse_moment(t.due); m.ok()) t.due_epoch = m->epoch;
      }
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
      j.awaiting = static_cast<int>(d.integer("awaiting"));
      merge_into(s.variables, d.get("outputs"));
      break;
    }
    case EventType::service_failed: {
      Job& j = s.jobs[d.str("job")];
      j.attempts = static_cast<int>(d.integer("attempt"));
      j.last_error = d.str("error");
      j.retry_at = d.str("retry_at");
      j.retry_at_epoch = 0;
      if (auto m = parse_moment(j.retry_at); !j.retry_at.empty() && m.ok()) j.retry_at_epoch = m->epoch;
      j.incident = d.get("incident").is_bool() && d.get("incident").as_bool();
      break;
    }
    case EventType::incident_retried: {
      Job& j = s.jobs[d.str("job")];
      j.incident = false;
      j.attempts = 0;
      j.retry_at.clear();
      j.retry_at_epoch = 0;
      break;
    }
    case EventType::service_skipped: {
      Job& j = s.jobs[d.str("job")];
      j.open = false;
      j.skipped = true;
      j.incident = false;
      break;
    }
    case EventType::child_returned: {
      Job& j = s.jobs[d.str("job")];
      j.awaiting = std::max(0, j.awaiting - 1);
      j.returned.push_back(d.str("child"));
      merge_into(s.variables, d.get("outputs"));
      break;
    }
    case EventType::instance_completed:
      s.status = "completed";
      s.ended_at = e.at;
      break;
    case EventType::timer_started: {
      Timer t;
      t.id = d.str("timer");
      t.step = e.step;
      t.due = d.str("due");
      if (auto m = parse_moment(t.due); m.ok()) t.due_epoch = m->epoch;
      t.branch = d.str("wait") == "branch";
      s.timers[t.id] = std::move(t);
      ++s.next_item;
      add_once(s.current, e.step);
      break;
    }
    case EventType::timer_fired:
      s.timers[d.str("timer")].open = false;
      break;
    case EventType::deadline_passed:
      s.tasks[d.str("task")].escalated = true;
      break;
    case EventType::task_reassigned: {
      Task& t = s.tasks[d.str("task")];
      t.roles = strings_of(d.get("roles"));
      t.claimed_by.clear();
      break;
    }
    case EventType::task_priority_changed:
      s.tasks[d.str("task")].priority = parse_priority(d.str("priority")).value_or(Priority::normal);
      break;
    case EventType::task_cancelled: {
      Task& t = s.tasks[d.str("task")];
      t.open = false;
      t.cancelled = true;
      t.completed_at = e.at;
      break;
    }
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
  j["parent"] = s.parent;
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
    tj["priority"] = Json(to_string(t.priority));
    tj["due"] = t.due.empty() ? Json() : Json(t.due);
    tj["escalated"] = Json(t.escalated);
    tj["cancelled"] = Json(t.cancelled);
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
    o["retry_at"] = jb.retry_at.empty() ? Json() : Json(jb.retry_at);
    o["incident"] = Json(jb.incident);
    o["skipped"] = Json(jb.skipped);
    o["awaiting"] = Json(jb.awaiting);
    o["returned"] = string_array(jb.returned);
    jobs.push_back(std::move(o));
  }
  j["jobs"] = Json(std::move(jobs));
  JsonArray timers;
  for (const auto& [id, t] : s.timers) {
    Json o = Json::object();
    o["timer"] = Json(t.id);
    o["step"] = Json(t.step);
    o["due"] = Json(t.due);
    o["open"] = Json(t.open);
    timers.push_back(std::move(o));
  }
  j["timers"] = Json(std::move(timers));
  JsonObject joins;
  for (const auto& [step, n] : s.joins) joins[step] = Json(n);
  j["joins"] = Json(std::move(joins));
  j["next_item"] = Json(s.next_item);
  j["seq"] = Json(s.seq);
  return j;
}

}  // namespace reglament
