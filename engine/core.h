// The core: commands in, events out.
//
//   decide(context, state, command) -> events | error     (never mutates)
//   apply(state, event)             -> state              (the only mutation)
//   replay(events)                  =  fold of apply over an empty state
//
// A command is what someone asks for, in the imperative (start, claim,
// complete, record a handler's result). An event is what happened, in the
// past tense. decide validates the command against the definition and the
// current state and either rejects it (an Error; nothing changes) or answers
// with the events that follow, including everything the engine does as a
// consequence (routing to the next step, creating tasks, scheduling service
// steps, completing the instance). apply folds one event into the state and
// is used both live and in replay, so replaying the log rebuilds the live
// state by construction.
//
// Nothing here reads the clock, the environment or a database: time, the
// acting user and the new instance id arrive inside the command.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/json.h"
#include "engine/model.h"
#include "engine/result.h"

namespace reglament {

// ---- Events -----------------------------------------------------------------

// The version of the event payload format; stored with every event. Bump it
// when a payload changes shape, and keep apply() able to read the old one.
inline constexpr int kEventFormat = 1;

enum class EventType {
  instance_started,    // data: {process, version, hash, variables, parent?: {instance, job, index}}
  task_created,        // data: {task, roles}
  task_claimed,        // data: {task}
  task_unclaimed,      // data: {task}
  task_completed,      // data: {task, role, values}
  step_completed,      // data: {next: [ids], branch: "condition text"|null}
  join_waiting,        // data: {arrived, expected}
  service_scheduled,   // data: {job, handler}
  service_completed,   // data: {job, outputs, messages: [{to, text}], records?, starts?, awaiting?}
  service_failed,      // data: {job, error, attempt, retry_at? | incident: true}
  instance_completed,  // data: {}
  // Time (engine/README.md, "Time"):
  timer_started,          // data: {timer, due, wait: "step"|"branch"}: the step waits until `due`
  timer_fired,            // data: {timer, due}: the wait is over; the step starts now
  deadline_passed,        // data: {task, due, messages: [{to, text}]}: then the escalation's events
  task_reassigned,        // data: {task, roles}: the task moves to other roles, unclaimed
  task_priority_changed,  // data: {task, priority}
  task_cancelled,         // data: {task}: an interrupting deadline took the instance elsewhere
  // Incidents and links between instances (engine/README.md, "Incidents", "Calls"):
  incident_retried,  // data: {job}: a person asks for another attempt of a failed job
  service_skipped,   // data: {job, reason}: a person moves on without the job's result
  child_returned,    // data: {job, child, outputs}: a called instance the step waits for has ended
};

// "InstanceStarted", "TaskCreated", ... (the names stored and shown).
std::string_view to_string(EventType t);
std::optional<EventType> parse_event_type(std::string_view s);

struct Event {
  EventType type = EventType::instance_started;
  std::string at;     // ISO-8601 with offset, from the command
  std::string actor;  // login; empty when the engine acted (routing, service)
  std::string step;   // step id, empty when the event is not about a step
  Json data = Json::object();
  int format = kEventFormat;

  friend bool operator==(const Event&, const Event&) = default;
};

// The outbox messages [{to, text}] an event carries: those of
// ServiceCompleted (a notify handler's) and DeadlinePassed (an escalation's);
// empty for every other event. The one place that says which events write
// to the outbox (storage's projection, verify, history).
const JsonArray& outbox_messages(const Event& e);

// Round-trippable encoding: {"type","at","actor","step","data","format"}.
Json encode_event(const Event& e);
// encode_event(e).dump(), appended to `out` without building the object (the
// event's data is not copied): what the hash chain hashes.
void append_encoded_event(std::string& out, const Event& e);
// The same, with `data` the text of e.data as e.data.dump() writes it, for a
// caller that has it already (storage writes it into its own column).
// REQUIRES: data == e.data.dump() (checked by assert in debug builds).
void append_encoded_event(std::string& out, const Event& e, std::string_view data);
Result<Event> decode_event(const Json& j);

// ---- Commands ---------------------------------------------------------------

// Values may be typed JSON or text as typed on the command line; text is
// parsed with parse_field_value against the variable's or field's type.
struct StartInstance {
  StartInstance() = default;
  StartInstance(JsonObject vars, std::string scheduled = {})  // NOLINT: implicit, as an aggregate was
      : variables(std::move(vars)), scheduled_for(std::move(scheduled)) {}

  JsonObject variables;
  // For a scheduled start: the occurrence it is for (ISO-8601). The engine
  // starts it, so the command's actor may be empty.
  std::string scheduled_for;
  // For a child: {instance, job, index} of the step that started it. The
  // engine starts it, so the actor may be empty.
  Json parent;
};
struct ClaimTask {
  std::string task;
};
struct UnclaimTask {
  std::string task;
};
struct CompleteTask {
  std::string task;
  JsonObject values;
};
// What a service step's handler returned, recorded by the runtime.
struct RecordServiceResult {
  std::string job;
  bool ok = true;
  JsonObject outputs;   // variables to set
  JsonArray messages;   // [{to, text}] for the outbox
  std::string error;    // when !ok
  JsonArray records;    // client database changes (engine/crm.h)
  JsonArray starts;     // [{process, variables}]: child instances to start
  // With !ok: the failure is an incident at once, whatever the step's
  // retries (the runtime stopping a run of service steps that does not end).
  bool incident = false;
};

// A person asks for one more attempt of a job whose failures became an
// incident (the step's actors or the process owner may).
struct RetryJob {
  std::string job;
};
// A person moves on past a failed job without its result (the process
// owner only; the reason is recorded).
struct SkipJob {
  std::string job;
  std::string reason;
};
// The engine tells a parent that a child it waits for has ended, with the
// child's variables (the call's `outputs:` are taken from them).
struct ReturnFromChild {
  std::string job;
  std::string child;
  JsonObject variables;
};

// Does whatever is due at the command's time: ends the waits and passes the
// deadlines that fell due by then, in the order they fell due. Nothing due
// (or a time before the instance's last event): no events, and no error.
struct FireTimers {};

using CommandBody =
    std::variant<StartInstance, ClaimTask, UnclaimTask, CompleteTask, RecordServiceResult, FireTimers, RetryJob,
                 SkipJob, ReturnFromChild>;

struct Command {
  std::string instance;  // for StartInstance: the id to give the new instance
  std::string actor;     // login of the person; empty for the engine itself
  std::string at;        // ISO-8601 with offset
  CommandBody body;
  // `at` was read from a clock (no --now): when another process's clock
  // already wrote a later event into the instance, the command happens at
  // that event's moment instead of being refused for going back in time.
  bool clock = false;
};

// ---- State ------------------------------------------------------------------

struct Task {
  std::string id;    // "<instance>.<n>"
  std::string step;
  std::vector<std::string> roles;  // who may act on it
  std::string claimed_by;          // login or empty
  std::string created_at;
  bool open = true;
  std::string completed_by;
  std::string completed_at;
  Priority priority = Priority::normal;
  std::string due;        // ISO-8601 in the calendar's zone; empty: no deadline
  int64_t due_epoch = 0;  // the same instant, when `due` is set
  bool escalated = false; // its deadline has passed and was acted on
  bool cancelled = false; // closed by an interrupting deadline, not completed

  bool has_due() const { return !due.empty(); }
  friend bool operator==(const Task&, const Task&) = default;
};

// A wait: the step `step` starts when it fires.
struct Timer {
  std::string id;  // "<instance>.<n>", shares the task counter
  std::string step;
  std::string due;  // ISO-8601 in the calendar's zone
  int64_t due_epoch = 0;
  bool branch = false;  // a branch's wait: entering the step may still wait for the step's own
  bool open = true;

  friend bool operator==(const Timer&, const Timer&) = default;
};

struct Job {
  std::string id;  // "<instance>.<n>", shares the task counter
  std::string step;
  std::string handler;
  bool open = true;
  int attempts = 0;        // failed attempts since it was scheduled or last retried by a person
  std::string last_error;  // the last failure, shown until it succeeds
  std::string retry_at;    // when the next automatic attempt is due; empty: now (or never)
  int64_t retry_at_epoch = 0;
  bool incident = false;   // out of retries: waits for a person (retry or skip)
  bool skipped = false;    // closed by a person's skip, not by a result
  int awaiting = 0;        // called instances still to end (a call that waits)
  std::vector<std::string> returned;  // called instances that have ended

  // Ready to run now: open, not waiting for a person, its retry time passed.
  bool runnable(int64_t now) const { return open && !incident && retry_at_epoch <= now; }

  friend bool operator==(const Job&, const Job&) = default;
};

struct InstanceState {
  std::string id;
  std::string process;
  int version = 0;
  std::string hash;
  std::string status;  // "active" | "completed"
  std::string started_at;
  std::string started_by;
  std::string updated_at;
  std::string ended_at;
  Json parent;  // {instance, job, index} when a call started it; null otherwise
  JsonObject variables;
  std::vector<std::string> current;    // active step ids, in activation order
  std::vector<std::string> completed;  // completed step ids, repeats included
  std::map<std::string, Task> tasks;   // every task ever created
  std::map<std::string, Job> jobs;     // every service job ever scheduled
  std::map<std::string, Timer> timers; // every wait ever started
  std::map<std::string, int> joins;    // join step -> branches arrived so far
  int next_item = 1;                   // counter for task and job ids
  int64_t seq = 0;                     // number of events applied

  bool exists() const { return seq > 0; }
  const Task* task(std::string_view id) const;
  std::vector<const Task*> open_tasks() const;
  std::vector<const Job*> open_jobs() const;
  std::vector<const Timer*> open_timers() const;
  // The earliest moment something is due (an open wait, the deadline of an
  // open task not yet acted on, a failed job's next attempt), as seconds
  // since the epoch.
  std::optional<int64_t> next_due() const;

  friend bool operator==(const InstanceState&, const InstanceState&) = default;
};

// Whether `login` may see and act on `task`: not_found for a person the org
// chart does not know, forbidden when they hold none of the task's roles.
Status may_act_on(const Org& org, const std::string& login, const Task& task);

// The instance id a task or job id belongs to ("12.3" -> "12").
std::string instance_of(std::string_view task_id);

// What decide needs besides the state.
struct Context {
  const Process& process;
  int version = 0;
  std::string hash;
  const Org& org;
  // Deadlines and waits are computed on it; null: default_calendar().
  const WorkingCalendar* calendar = nullptr;
};

// Errors: invalid (bad values; names the field; a time earlier than the
// instance's last event), not_found (unknown task or user), forbidden (the
// user lacks the roles), conflict (task no longer open, or claimed by someone
// else).
Result<std::vector<Event>> decide(const Context& ctx, const InstanceState& state, const Command& cmd);

// REQUIRES: `e` was produced by decide for this state (or read from its log).
void apply(InstanceState& state, const Event& e);

// The state after all `events`, applied in order to an empty state.
InstanceState replay(const std::vector<Event>& events);

// A state as JSON, for `show --json` and for comparing live and replayed state.
Json encode_state(const InstanceState& s);

}  // namespace reglament
