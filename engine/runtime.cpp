#include "engine/runtime.h"

#include <set>

#include <fmt/format.h>

#include "engine/calls.h"
#include "engine/expr.h"
#include "engine/time.h"

namespace reglament {

namespace {

// How often a command is decided again when another writer moved the same
// instance (or took the same new id) between our read and our append.
constexpr int kMaxAttempts = 8;

// A service step may route to further service steps; this bounds a
// definition that loops through service steps only (validate refuses such a
// loop; one deployed before that check, or one that a handler's outputs keep
// going, still stops). The job that would run next becomes an incident
// instead: a clean point, from which `retry` runs at most this many more and
// `skip` moves on. A hundred is far more than any process of service steps
// run one after the other without a loop has.
constexpr int kMaxServiceRunsPerCommand = 100;

// The core refused a command for one instance (as opposed to a failing
// store, which fails everything).
bool is_refusal(const Error& e) {
  return e.code == ErrorCode::invalid || e.code == ErrorCode::conflict || e.code == ErrorCode::forbidden ||
         e.code == ErrorCode::not_found;
}


// The variables a call gives its child: `with:` values, where text is a
// template over the parent's variables and "{name}" alone passes the value
// with its type.
JsonObject call_variables(const Json& with, const JsonObject& vars) {
  JsonObject out;
  if (!with.is_object()) return out;
  for (const auto& [k, v] : with.as_object()) {
    if (!v.is_string()) {
      out[k] = v;
      continue;
    }
    const std::string& text = v.as_string();
    if (text.size() > 2 && text.front() == '{' && text.back() == '}' &&
        text.find_first_of("{}", 1) == text.size() - 1) {
      auto it = vars.find(text.substr(1, text.size() - 2));
      out[k] = it != vars.end() ? it->second : Json();
      continue;
    }
    out[k] = Json(render_template(text, vars));
  }
  return out;
}

bool has_links(const std::vector<Event>& events) {
  for (const auto& e : events) {
    if (e.type == EventType::service_completed && e.data.get("starts").is_array()) return true;
    if (e.type == EventType::instance_completed) return true;
  }
  return false;
}

Error about_instance(const std::string& id, Error e) {
  e.message = fmt::format("instance {}: {}", id, e.message);
  return e;
}

}  // namespace

Result<InstanceState> Runtime::load(const std::string& instance) {
  auto events = store_.events(instance);
  if (!events.ok()) return events.error();
  if (events->empty()) return make_error(ErrorCode::not_found, fmt::format("no instance \"{}\"", instance));
  return replay(*events);
}

Result<Outcome> Runtime::start(const std::string& process, JsonObject variables, const std::string& actor,
                               const std::string& at) {
  Command cmd;
  cmd.actor = actor;
  cmd.at = at;
  cmd.body = StartInstance{std::move(variables)};
  return submit(std::move(cmd), process);
}

Status Runtime::resolve_instance(Command& cmd) {
  if (!cmd.instance.empty()) return {};
  const std::string* task = nullptr;
  if (auto* c = std::get_if<ClaimTask>(&cmd.body)) task = &c->task;
  if (auto* c = std::get_if<UnclaimTask>(&cmd.body)) task = &c->task;
  if (auto* c = std::get_if<CompleteTask>(&cmd.body)) task = &c->task;
  if (auto* c = std::get_if<RecordServiceResult>(&cmd.body)) task = &c->job;
  if (auto* c = std::get_if<RetryJob>(&cmd.body)) task = &c->job;
  if (auto* c = std::get_if<SkipJob>(&cmd.body)) task = &c->job;
  if (std::holds_alternative<FireTimers>(cmd.body)) return make_error(ErrorCode::invalid, "no instance given");
  if (task == nullptr || task->empty()) return make_error(ErrorCode::invalid, "no task given");
  cmd.instance = instance_of(*task);
  return {};
}

Result<Outcome> Runtime::execute(Command cmd) {
  if (Status st = resolve_instance(cmd); !st.ok()) return st.error();
  return submit(std::move(cmd), "");
}

Result<std::vector<Result<Outcome>>> Runtime::execute_batch(std::vector<BatchCommand> commands) {
  std::vector<Result<Outcome>> results;
  std::vector<std::string> ats;
  results.reserve(commands.size());
  ats.reserve(commands.size());
  if (Status st = store_.begin_batch(); !st.ok()) return st.error();
  auto org = store_.org();
  if (!org.ok()) {
    store_.rollback_batch();
    return org.error();
  }
  auto calendar = store_.calendar();
  if (!calendar.ok()) {
    store_.rollback_batch();
    return calendar.error();
  }
  for (BatchCommand& bc : commands) {
    Command& cmd = bc.command;
    ats.push_back(cmd.at);
    const bool starting = std::holds_alternative<StartInstance>(cmd.body);
    if (!starting) {
      if (Status st = resolve_instance(cmd); !st.ok()) {
        results.emplace_back(st.error());
        continue;
      }
    }
    // A rejected command appends nothing (decide answered before append, or
    // append undid its own part), so the batch goes on.
    results.push_back(commit(std::move(cmd), starting ? bc.process : std::string(), &*org, calendar->get()));
  }
  if (Status st = store_.commit_batch(); !st.ok()) {
    states_.clear();  // they ran ahead of a log that did not keep them
    return st.error();
  }
  run_jobs_batched(results, ats);
  // Calls are followed one by one: they are rare next to the steps a batch
  // carries. A store error leaves them pending for run_links, as a crash would.
  for (size_t i = 0; i < results.size(); ++i)
    if (results[i].ok()) (void)follow_links(*results[i], ats[i], 0);
  return results;
}

Result<Outcome> Runtime::submit(Command cmd, const std::string& process) {
  const std::string at = cmd.at;
  auto out = commit(std::move(cmd), process);
  if (!out.ok()) return out;
  if (auto st = run_jobs(*out, at); !st.ok()) return st.error();
  if (auto st = follow_links(*out, at, 0); !st.ok()) return st.error();
  return out;
}

Status Runtime::follow_links(Outcome& out, const std::string& at, int depth) {
  if (!has_links(out.events)) return {};
  if (depth >= kMaxCallDepth)
    return make_error(ErrorCode::invalid, fmt::format("instance {}: calls nest deeper than {}; does a process call itself?",
                                                      out.state.id, kMaxCallDepth));
  auto starts = store_.pending_starts(out.state.id);
  if (!starts.ok()) return starts.error();
  for (const auto& p : *starts)
    if (auto st = start_child(p, at, out, depth); !st.ok()) return st;
  if (out.state.status == "completed" && !out.state.parent.is_null()) {
    auto returns = store_.pending_returns(out.state.id);
    if (!returns.ok()) return returns.error();
    for (const auto& p : *returns)
      if (auto st = return_child(p, at, out, depth); !st.ok()) return st;
  }
  return {};
}

Status Runtime::start_child(const EventStore::PendingStart& p, const std::string& at, Outcome& out, int depth) {
  Command cmd;
  cmd.at = at;
  StartInstance start{p.variables};
  Json parent = Json::object();
  parent["instance"] = Json(p.parent);
  parent["job"] = Json(p.job);
  parent["index"] = Json(static_cast<int64_t>(p.index));
  start.parent = std::move(parent);
  cmd.body = std::move(start);
  auto child = commit(std::move(cmd), p.process);
  if (!child.ok()) {
    // Another runner started it first: the link is taken, nothing to do.
    if (child.error().code == ErrorCode::conflict) return {};
    Error e = child.error();
    e.message = fmt::format("job {} could not start {}: {}", p.job, p.process, e.message);
    if (!is_refusal(e)) return about_instance(p.parent, e);
    // Refused: the parent's step stands; the start stays pending for tick.
    out.link_problems.push_back(about_instance(p.parent, std::move(e)));
    return {};
  }
  if (auto st = run_jobs(*child, at); !st.ok()) return st;
  if (auto st = follow_links(*child, at, depth + 1); !st.ok()) return st;
  out.linked.push_back(std::move(*child));
  return {};
}

Status Runtime::return_child(const EventStore::PendingReturn& p, const std::string& at, Outcome& out, int depth) {
  auto child = load(p.child);
  if (!child.ok()) return child.error();
  Command cmd;
  cmd.instance = p.parent;
  cmd.at = at;
  cmd.body = ReturnFromChild{p.job, p.child, child->variables};
  auto parent = commit(std::move(cmd), "");
  if (!parent.ok()) {
    if (parent.error().code == ErrorCode::conflict) return {};  // returned already
    return about_instance(p.parent, parent.error());
  }
  if (auto st = run_jobs(*parent, at); !st.ok()) return st;
  if (auto st = follow_links(*parent, at, depth + 1); !st.ok()) return st;
  out.linked.push_back(std::move(*parent));
  return {};
}

Result<std::vector<Outcome>> Runtime::run_links(const std::string& at, std::vector<Error>* problems) {
  std::vector<Outcome> outs;
  auto note = [&](const std::string& id, Status st) -> Status {
    if (st.ok()) return {};
    if (problems == nullptr || !is_refusal(st.error())) return st;
    problems->push_back(about_instance(id, st.error()));
    return {};
  };
  auto starts = store_.pending_starts("");
  if (!starts.ok()) return starts.error();
  for (const auto& p : *starts) {
    Outcome out;
    if (auto st = note(p.parent, start_child(p, at, out, 0)); !st.ok()) return st.error();
    for (auto& o : out.linked) outs.push_back(std::move(o));
    if (problems != nullptr)
      for (auto& e : out.link_problems) problems->push_back(std::move(e));
  }
  auto returns = store_.pending_returns("");
  if (!returns.ok()) return returns.error();
  for (const auto& p : *returns) {
    Outcome out;
    if (auto st = note(p.parent, return_child(p, at, out, 0)); !st.ok()) return st.error();
    for (auto& o : out.linked) outs.push_back(std::move(o));
  }
  return outs;
}

void Runtime::remember(const InstanceState& state) {
  if (state.status != "active") {
    states_.erase(state.id);  // nothing more will be decided on it
    return;
  }
  // Bounded by the instances in flight; a crude reset keeps memory flat when
  // more than that are worked at once.
  if (states_.size() >= kMaxCachedStates && !states_.count(state.id)) states_.clear();
  states_[state.id] = state;
}

Result<Outcome> Runtime::commit(Command cmd, const std::string& process, const Org* given_org,
                                const WorkingCalendar* given_calendar) {
  const bool starting = std::holds_alternative<StartInstance>(cmd.body);
  Outcome out;
  for (int attempt = 0;; ++attempt) {
    InstanceState state;
    Deployed def;
    bool from_cache = false;
    if (starting) {
      // The process key travels outside the command body: it picks the
      // definition, and the new instance records it in InstanceStarted.
      auto d = store_.definition(process, 0);
      if (!d.ok()) return d.error();
      def = std::move(*d);
      if (Status st = check_call_nesting(*def.process); !st.ok()) return st.error();
      auto id = store_.next_instance_id();
      if (!id.ok()) return id.error();
      cmd.instance = *id;
    } else if (auto cached = states_.find(cmd.instance); attempt == 0 && cached != states_.end()) {
      // Taken out: it is put back only once it is known to be current.
      state = std::move(cached->second);
      states_.erase(cached);
      from_cache = true;
      auto d = store_.definition(state.process, state.version);
      if (!d.ok()) return d.error();
      def = std::move(*d);
    } else {
      auto events = store_.events(cmd.instance);
      if (!events.ok()) return events.error();
      if (events->empty()) {
        if (std::holds_alternative<RecordServiceResult>(cmd.body))
          return make_error(ErrorCode::not_found, fmt::format("no instance \"{}\"", cmd.instance));
        return make_error(ErrorCode::not_found, fmt::format("no task \"{}\"", task_of(cmd)));
      }
      state = replay(*events);
      auto d = store_.definition(state.process, state.version);
      if (!d.ok()) return d.error();
      def = std::move(*d);
    }
    Result<Org> fetched = Org{};
    if (given_org == nullptr) {
      fetched = store_.org();
      if (!fetched.ok()) return fetched.error();
    }
    std::shared_ptr<const WorkingCalendar> fetched_calendar;
    if (given_calendar == nullptr) {
      auto c = store_.calendar();
      if (!c.ok()) return c.error();
      fetched_calendar = std::move(*c);
    }
    Context ctx{*def.process, def.version, def.hash, given_org != nullptr ? *given_org : *fetched,
                given_calendar != nullptr ? given_calendar : fetched_calendar.get()};
    auto events = decide(ctx, state, cmd);
    // A refusal, or nothing to do, decided on the cached state proves
    // nothing: only append checks that a state is current, and another
    // process may have moved the instance on. Decide again on the log.
    if (from_cache && (!events.ok() || events->empty())) continue;
    if (!events.ok()) {
      // Rejected: the state is as stored (or as cached, which append checks).
      if (state.exists()) remember(state);
      return events.error();
    }
    if (events->empty()) {  // nothing happened (FireTimers with nothing due): nothing to write
      remember(state);
      out.state = std::move(state);
      return out;
    }
    const int64_t expected_seq = state.seq;
    for (const auto& e : *events) apply(state, e);
    Status st = store_.append(def, state, expected_seq, *events);
    if (!st.ok()) {
      if (st.error().code == ErrorCode::conflict && attempt + 1 < kMaxAttempts) continue;
      return st.error();
    }
    remember(state);
    out.state = std::move(state);
    out.events = std::move(*events);
    return out;
  }
}

// Refused before anything is written: a process whose calls (over the
// latest deployed versions, the ones a call starts) come back to a process
// already running in the chain, or nest deeper than kMaxCallDepth. Without
// this, such a start wrote a chain of instances before the depth check of
// follow_links stopped it, and every tick wrote another chain. Only a start
// that runs into a call at once can do that, and only it pays for reading
// the called definitions: every child of a runaway chain is such a start, so
// the chain is stopped at its first start, with nothing written.
Status Runtime::check_call_nesting(const Process& process) {
  if (!reaches_call_at_once(process)) return {};
  std::vector<std::shared_ptr<const Process>> held;  // the lookup's answers stay alive
  Status failed;
  ProcessLookup lookup = [&](std::string_view key) -> const Process* {
    auto d = store_.definition(std::string(key), 0);
    if (!d.ok()) {
      // Not deployed: that start is refused when it comes; a store error is
      // the answer.
      if (d.error().code != ErrorCode::not_found && failed.ok()) failed = d.error();
      return nullptr;
    }
    held.push_back(d->process);
    return held.back().get();
  };
  auto cycles = find_call_cycles({&process}, lookup);
  if (!failed.ok()) return failed;
  if (!cycles.empty())
    return make_error(ErrorCode::invalid,
                      fmt::format("process \"{}\" cannot be started: its calls form a cycle ({}), which would start "
                                  "instances without end; deploy a version that does not call back",
                                  process.key, describe_calls(cycles.front())));
  if (int depth = call_depth(process, lookup); depth > kMaxCallDepth)
    return make_error(ErrorCode::invalid,
                      fmt::format("process \"{}\" cannot be started: its calls nest more than {} deep", process.key,
                                  kMaxCallDepth));
  if (!failed.ok()) return failed;
  return {};
}

std::string Runtime::task_of(const Command& cmd) {
  if (auto* c = std::get_if<ClaimTask>(&cmd.body)) return c->task;
  if (auto* c = std::get_if<UnclaimTask>(&cmd.body)) return c->task;
  if (auto* c = std::get_if<CompleteTask>(&cmd.body)) return c->task;
  return cmd.instance;
}

Command Runtime::runaway_incident(const InstanceState& state, const Job& job, const std::string& at) {
  RecordServiceResult failed;
  failed.job = job.id;
  failed.ok = false;
  failed.incident = true;
  failed.error = fmt::format(
      "not run: instance {} ran {} service steps in one go without reaching a person or a wait; "
      "its definition loops through service steps only (retry runs at most {} more, skip moves on)",
      state.id, kMaxServiceRunsPerCommand, kMaxServiceRunsPerCommand);
  Command cmd;
  cmd.instance = state.id;
  cmd.at = at;
  cmd.body = std::move(failed);
  return cmd;
}

// Runs the open service jobs of out.state, each after the previous commit,
// each recorded in a transaction of its own. A failure is recorded too and
// leaves the job open with its error; it does not fail the command that
// reached the step, which has already committed. After
// kMaxServiceRunsPerCommand runs, the next job is not run: it is recorded as
// an incident (runaway_incident), and the command stands.
Status Runtime::run_jobs(Outcome& out, const std::string& at) {
  auto now = parse_moment(at);
  if (!now.ok()) return now.error();
  std::set<std::string> tried;  // a failed job is tried once per run
  for (int runs = 0;; ++runs) {
    const Job* job = nullptr;
    for (const Job* j : out.state.open_jobs())
      if (!tried.count(j->id) && j->runnable(now->epoch)) {
        job = j;
        break;
      }
    if (job == nullptr) return {};
    tried.insert(job->id);
    auto cmd = runs < kMaxServiceRunsPerCommand ? service_command(out.state, *job, at)
                                                : Result<Command>(runaway_incident(out.state, *job, at));
    if (!cmd.ok()) return cmd.error();
    auto recorded = commit(std::move(*cmd), "");
    if (!recorded.ok() && recorded.error().code == ErrorCode::invalid) {
      // The result could not be applied (the client database refused a
      // record, or routing on its outputs failed): that is the job's failure,
      // retried and raised as an incident like any other.
      RecordServiceResult failed;
      failed.job = job->id;
      failed.ok = false;
      failed.error = recorded.error().message;
      Command fc;
      fc.instance = out.state.id;
      fc.at = at;
      fc.body = std::move(failed);
      recorded = commit(std::move(fc), "");
    }
    if (!recorded.ok()) {
      // Someone else recorded this job meanwhile (another tick): not ours to redo.
      if (recorded.error().code == ErrorCode::conflict) {
        auto fresh = load(out.state.id);
        if (!fresh.ok()) return fresh.error();
        out.state = std::move(*fresh);
        continue;
      }
      return recorded.error();
    }
    for (auto& e : recorded->events) out.events.push_back(std::move(e));
    out.state = std::move(recorded->state);
    if (runs >= kMaxServiceRunsPerCommand) return {};
  }
}

Result<Command> Runtime::service_command(const InstanceState& state, const Job& job, const std::string& at) {
  auto def = store_.definition(state.process, state.version);
  if (!def.ok()) return def.error();
  const Step* step = def->process->step(job.step);
  RecordServiceResult result;
  result.job = job.id;
  if (step != nullptr && step->call) {
    // A call is the engine's own: the child is started once this result is
    // committed (follow_links), so a crash in between leaves a pending start.
    Json start = Json::object();
    start["process"] = Json(step->call->process);
    start["variables"] = Json(call_variables(step->with, state.variables));
    result.starts.push_back(std::move(start));
  } else if (const TaskHandler* handler = handlers_.find(job.handler); step == nullptr || handler == nullptr) {
    result.ok = false;
    result.error = fmt::format("no handler \"{}\" is registered", job.handler);
  } else {
    auto calendar = store_.calendar();
    if (!calendar.ok()) return calendar.error();
    HandlerCall call;
    call.instance = state.id;
    call.process = state.process;
    call.step = step->id;
    call.job = job.id;
    call.with = &step->with;
    call.pinned = &step->pinned;
    call.variables = &state.variables;
    call.at = at;
    call.attempt = job.attempts + 1;
    call.clients = store_.client_book();
    call.calendar = calendar->get();
    HandlerResult r = handler->run(call);
    result.ok = r.ok;
    result.outputs = std::move(r.outputs);
    result.messages = std::move(r.messages);
    result.records = std::move(r.records);
    result.starts = std::move(r.starts);
    result.error = std::move(r.error);
  }
  Command cmd;
  cmd.instance = state.id;
  cmd.at = at;
  cmd.body = std::move(result);
  return cmd;
}

// Like run_jobs, for every outcome of a batch at once: each round runs the
// handlers of all open jobs not tried yet (after the previous commit), then
// records their results in one transaction. The outcomes take the recorded
// events only once that transaction has committed. In the round after
// kMaxServiceRunsPerCommand, the jobs still runnable are recorded as
// incidents instead of run, as in run_jobs.
void Runtime::run_jobs_batched(std::vector<Result<Outcome>>& results, const std::vector<std::string>& ats) {
  // Job ids name their instance, so two commands of the batch on the same
  // instance never run the same job twice.
  std::set<std::string> tried;
  for (int round = 0; round <= kMaxServiceRunsPerCommand; ++round) {
    std::vector<std::pair<size_t, Command>> pending;
    for (size_t i = 0; i < results.size(); ++i) {
      if (!results[i].ok()) continue;
      const InstanceState& state = results[i]->state;
      auto now = parse_moment(ats[i]);
      for (const Job* j : state.open_jobs()) {
        if (!now.ok() || !j->runnable(now->epoch)) continue;
        if (!tried.insert(j->id).second) continue;
        auto cmd = round < kMaxServiceRunsPerCommand ? service_command(state, *j, ats[i])
                                                     : Result<Command>(runaway_incident(state, *j, ats[i]));
        if (cmd.ok()) pending.emplace_back(i, std::move(*cmd));
      }
    }
    if (pending.empty()) return;
    if (!store_.begin_batch().ok()) return;
    auto org = store_.org();
    if (!org.ok()) {
      store_.rollback_batch();
      return;
    }
    std::vector<std::pair<size_t, Outcome>> recorded;
    for (auto& [index, cmd] : pending) {
      // A conflict means someone else recorded this job meanwhile: not ours.
      auto r = commit(std::move(cmd), "", &*org);
      if (r.ok()) recorded.emplace_back(index, std::move(*r));
    }
    if (!store_.commit_batch().ok()) {
      states_.clear();
      return;
    }
    for (auto& [index, r] : recorded) {
      Outcome& out = *results[index];
      for (auto& e : r.events) out.events.push_back(std::move(e));
      out.state = std::move(r.state);
    }
  }
}

Result<std::vector<Outcome>> Runtime::run_pending(const std::string& at, std::vector<Error>* problems) {
  auto ids = store_.instances_with_pending_jobs();
  if (!ids.ok()) return ids.error();
  std::vector<Outcome> outs;
  for (const auto& id : *ids) {
    auto state = load(id);
    if (!state.ok()) return state.error();
    Outcome out;
    out.state = std::move(*state);
    Status st = run_jobs(out, at);
    if (st.ok()) st = follow_links(out, at, 0);
    if (!st.ok()) {
      if (problems == nullptr || !is_refusal(st.error())) return st.error();
      problems->push_back(about_instance(id, st.error()));
    }
    if (!out.events.empty()) outs.push_back(std::move(out));
  }
  return outs;
}

Result<std::vector<Outcome>> Runtime::fire_due(const std::string& at, std::vector<Error>* problems) {
  auto now = parse_moment(at);
  if (!now.ok()) return now.error();
  auto ids = store_.instances_due(now->epoch);
  if (!ids.ok()) return ids.error();
  std::vector<Outcome> outs;
  for (const auto& id : *ids) {
    Command cmd;
    cmd.instance = id;
    cmd.at = at;
    cmd.body = FireTimers{};
    auto out = submit(std::move(cmd), "");
    if (!out.ok()) {
      if (problems == nullptr || !is_refusal(out.error())) return out.error();
      problems->push_back(about_instance(id, out.error()));
      continue;
    }
    if (!out->events.empty()) outs.push_back(std::move(*out));
  }
  return outs;
}

Result<std::vector<Outcome>> Runtime::start_scheduled(const std::string& at) {
  auto now = parse_moment(at);
  if (!now.ok()) return now.error();
  auto scheduled = store_.scheduled_processes();
  if (!scheduled.ok()) return scheduled.error();
  auto calendar = store_.calendar();
  if (!calendar.ok()) return calendar.error();
  std::vector<Outcome> outs;
  for (const auto& sp : *scheduled) {
    const Process& p = *sp.def.process;
    if (!p.schedule) continue;
    std::optional<int64_t> due = due_occurrence(**calendar, *p.schedule, sp.since, now->epoch);
    if (!due) continue;
    Command cmd;
    cmd.at = at;
    cmd.body = StartInstance{p.schedule->variables, format_moment((*calendar)->zone.moment(*due))};
    auto out = submit(std::move(cmd), p.key);
    if (!out.ok()) {
      // Another worker started this occurrence first.
      if (out.error().code == ErrorCode::conflict) continue;
      return out.error();
    }
    outs.push_back(std::move(*out));
  }
  return outs;
}

Result<Runtime::TickReport> Runtime::tick(const std::string& at) {
  TickReport report;
  auto started = start_scheduled(at);
  if (!started.ok()) return started.error();
  report.started = std::move(*started);
  auto fired = fire_due(at, &report.problems);
  if (!fired.ok()) return fired.error();
  report.fired = std::move(*fired);
  auto jobs = run_pending(at, &report.problems);
  if (!jobs.ok()) return jobs.error();
  report.jobs = std::move(*jobs);
  auto links = run_links(at, &report.problems);
  if (!links.ok()) return links.error();
  report.links = std::move(*links);
  return report;
}

}  // namespace reglament
