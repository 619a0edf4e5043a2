#include "engine/runtime.h"

#include <set>

#include <fmt/format.h>

namespace reglament {

namespace {

// How often a command is decided again when another writer moved the same
// instance (or took the same new id) between our read and our append.
constexpr int kMaxAttempts = 8;

// A service step may route to further service steps; this bounds a
// definition that loops through service steps only.
constexpr int kMaxServiceRunsPerCommand = 1000;

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

Result<Outcome> Runtime::execute(Command cmd) {
  if (cmd.instance.empty()) {
    const std::string* task = nullptr;
    if (auto* c = std::get_if<ClaimTask>(&cmd.body)) task = &c->task;
    if (auto* c = std::get_if<UnclaimTask>(&cmd.body)) task = &c->task;
    if (auto* c = std::get_if<CompleteTask>(&cmd.body)) task = &c->task;
    if (auto* c = std::get_if<RecordServiceResult>(&cmd.body)) task = &c->job;
    if (task == nullptr || task->empty()) return make_error(ErrorCode::invalid, "no task given");
    cmd.instance = instance_of(*task);
  }
  return submit(std::move(cmd), "");
}

Result<Outcome> Runtime::submit(Command cmd, const std::string& process) {
  auto out = commit(cmd, process);
  if (!out.ok()) return out;
  if (auto st = run_jobs(*out, cmd.at); !st.ok()) return st.error();
  return out;
}

Result<Outcome> Runtime::commit(Command cmd, const std::string& process) {
  const bool starting = std::holds_alternative<StartInstance>(cmd.body);
  Outcome out;
  for (int attempt = 0;; ++attempt) {
    InstanceState state;
    Deployed def;
    if (starting) {
      // The process key travels outside the command body: it picks the
      // definition, and the new instance records it in InstanceStarted.
      auto d = store_.definition(process, 0);
      if (!d.ok()) return d.error();
      def = std::move(*d);
      auto id = store_.next_instance_id();
      if (!id.ok()) return id.error();
      cmd.instance = *id;
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
    auto org = store_.org();
    if (!org.ok()) return org.error();
    Context ctx{*def.process, def.version, def.hash, *org};
    auto events = decide(ctx, state, cmd);
    if (!events.ok()) return events.error();
    InstanceState after = state;
    for (const auto& e : *events) apply(after, e);
    Status st = store_.append(def, after, state.seq, *events);
    if (!st.ok()) {
      if (st.error().code == ErrorCode::conflict && attempt + 1 < kMaxAttempts) continue;
      return st.error();
    }
    out.state = std::move(after);
    out.events = std::move(*events);
    return out;
  }
}

std::string Runtime::task_of(const Command& cmd) {
  if (auto* c = std::get_if<ClaimTask>(&cmd.body)) return c->task;
  if (auto* c = std::get_if<UnclaimTask>(&cmd.body)) return c->task;
  if (auto* c = std::get_if<CompleteTask>(&cmd.body)) return c->task;
  return cmd.instance;
}

// Runs the open service jobs of out.state, each after the previous commit,
// each recorded in a transaction of its own. A failure is recorded too and
// leaves the job open with its error; it does not fail the command that
// reached the step, which has already committed.
Status Runtime::run_jobs(Outcome& out, const std::string& at) {
  std::set<std::string> tried;  // a failed job is tried once per run
  for (int runs = 0; runs < kMaxServiceRunsPerCommand; ++runs) {
    const Job* job = nullptr;
    for (const Job* j : out.state.open_jobs())
      if (!tried.count(j->id)) {
        job = j;
        break;
      }
    if (job == nullptr) return {};
    tried.insert(job->id);
    auto def = store_.definition(out.state.process, out.state.version);
    if (!def.ok()) return def.error();
    const Step* step = def->process->step(job->step);
    const TaskHandler* handler = handlers_.find(job->handler);
    RecordServiceResult result;
    result.job = job->id;
    if (step == nullptr || handler == nullptr) {
      result.ok = false;
      result.error = fmt::format("no handler \"{}\" is registered", job->handler);
    } else {
      HandlerCall call;
      call.instance = out.state.id;
      call.process = out.state.process;
      call.step = step->id;
      call.job = job->id;
      call.with = &step->with;
      call.variables = &out.state.variables;
      call.at = at;
      HandlerResult r = handler->run(call);
      result.ok = r.ok;
      result.outputs = std::move(r.outputs);
      result.messages = std::move(r.messages);
      result.error = std::move(r.error);
    }
    Command cmd;
    cmd.instance = out.state.id;
    cmd.at = at;
    cmd.body = std::move(result);
    auto recorded = commit(std::move(cmd), "");
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
  }
  return make_error(ErrorCode::internal,
                    fmt::format("instance {} ran {} service steps in one go; its definition loops through "
                                "service steps only",
                                out.state.id, kMaxServiceRunsPerCommand));
}

Result<std::vector<Outcome>> Runtime::run_pending(const std::string& at) {
  auto ids = store_.instances_with_pending_jobs();
  if (!ids.ok()) return ids.error();
  std::vector<Outcome> outs;
  for (const auto& id : *ids) {
    auto state = load(id);
    if (!state.ok()) return state.error();
    Outcome out;
    out.state = std::move(*state);
    if (auto st = run_jobs(out, at); !st.ok()) return st.error();
    if (!out.events.empty()) outs.push_back(std::move(out));
  }
  return outs;
}

}  // namespace reglament
