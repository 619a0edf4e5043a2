// The definition model: what a loaded, validated regulation looks like.
//
// Built only by the loader (engine/loader.h); immutable afterwards and shared
// by const reference or shared_ptr<const>. A Process is self-contained: the
// forms its steps use and the instructions they show are copied into it, so a
// deployed version keeps working when forms/ or scripts/ change later.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/calendar.h"
#include "engine/expr.h"
#include "engine/json.h"
#include "engine/result.h"

namespace reglament {

enum class ValueType { text, number, boolean, date, datetime, choice };

// "text", "number", "bool", "date", "datetime", "choice".
std::string_view to_string(ValueType t);
std::optional<ValueType> parse_value_type(std::string_view s);

// A typed variable or form field.
struct Field {
  std::string name;
  std::string title;  // may be Russian
  ValueType type = ValueType::text;
  bool required = false;
  std::optional<Json> default_value;
  std::vector<std::string> options;  // for choice
  // `min:` / `max:` of a number, date or datetime field, typed as its values
  // are; a value outside is refused naming the field and the bound.
  std::optional<Json> min;
  std::optional<Json> max;
  Location where;
};

// The numbers a `number` value may hold: those a double stores exactly, so
// what is typed is what is stored and read back. Integers from
// -kMaxExactInteger to kMaxExactInteger (2^53 - 1); decimals written with at
// most kMaxSignificantDigits significant digits (any such decimal reads back
// from a double unchanged) and within the same magnitude. Anything that would
// be rounded, infinite or NaN is refused, never stored.
inline constexpr int64_t kMaxExactInteger = 9007199254740991;
inline constexpr int kMaxSignificantDigits = 15;
// "from -9007199254740991 to 9007199254740991 with at most 15 significant digits"
std::string number_range_text();
// A typed number within that range: finite, and no larger in magnitude than
// kMaxExactInteger (its digits were read before it got here, so only the
// magnitude can still be checked). True for anything that is not a number.
bool number_in_range(const Json& value);

// Checks a value given as text (from `--set k=v`) against the field and
// returns it typed: number -> integer or real, bool -> true/false/yes/no/да/нет,
// date -> YYYY-MM-DD, datetime -> ISO-8601 with offset, choice -> one of options.
// A number must be in the range above, and every value within the field's
// min/max. The error message names the field (and the range or bound).
Result<Json> parse_field_value(const Field& field, std::string_view text);
// Checks an already typed value (from JSON input, defaults).
Status check_field_value(const Field& field, const Json& value);

struct Form {
  std::string key;    // "request"
  std::string title;  // "Заявка (форма 7.3)"
  std::vector<Field> fields;
  Location where;

  const Field* field(std::string_view name) const;
};

enum class NextKind { end, step, choice, parallel };

// How urgent a task is. The inbox lists higher priorities first.
enum class Priority { low = 0, normal = 1, high = 2, urgent = 3 };

// "low", "normal", "high", "urgent".
std::string_view to_string(Priority p);
std::optional<Priority> parse_priority(std::string_view s);

// `priority:` of a process or a step: a fixed level (one rule without a
// condition) or rules tried in order, the first that holds giving the level.
struct PriorityRule {
  std::optional<Expr> condition;  // nullopt: always (`else`, or a fixed level)
  Priority level = Priority::normal;
  Location where;
};

// `wait:` — a timer before a step starts (on the step: every time it is
// entered; on a branch: only when that branch is taken). The instance sleeps
// until `until`'s moment and/or for `span`, then, when `window` is named,
// until that calendar window is open.
struct Wait {
  std::optional<Span> span;  // `wait: 2d`, `{for: 1 working day}`
  std::string until;         // a date or datetime variable (a date: the start of its working day)
  std::string window;        // a window of the calendar
  Location where;
};

// `retry:` of a step with a handler: how often a failure is tried again
// before it becomes an incident, and how long to wait before the first retry
// (doubled for each one after).
struct Retry {
  int max = 3;                 // retries after the first failure; 0: an incident at once
  int64_t backoff_seconds = 60;
};

// `call:` — the step starts an instance of another process with `with:` as
// its variables (text values are templates over this instance's variables).
struct Call {
  std::string process;               // the child's process key
  bool wait = false;                 // the step ends when the child ends (else at once)
  std::vector<std::string> outputs;  // child variables copied back when it ends
  Location where;
};

struct Branch {
  std::optional<Expr> condition;  // nullopt: the `else` branch
  std::string target;             // step id or "end"
  std::optional<Wait> wait;       // a timer on this branch only
  Location where;
};

struct Next {
  NextKind kind = NextKind::end;
  std::string target;               // kind == step
  std::vector<Branch> branches;     // kind == choice, in order; `else` last
  std::vector<std::string> all;     // kind == parallel
  Location where;
};

// `deadline:` of a user step: its task falls due `span` after it is created,
// or at the moment a date/datetime variable holds.
struct Deadline {
  std::optional<Span> span;
  std::string at;  // variable name; a date means the end of that working day
  Location where;
};

// One action of `escalate:`, run in order when a task's deadline passes.
struct Escalation {
  enum class Kind { notify, reassign, priority, go };
  Kind kind = Kind::notify;
  std::string role;     // notify, reassign: a role
  std::string text;     // notify: a template; empty for the default message
  Priority level = Priority::high;  // priority
  std::string target;   // go (`goto:`): a step id or "end"
  Location where;
};

// How several actors act on one step.
enum class Sign {
  any,  // one task; whoever of the roles acts first completes it
  all,  // one task per role; the step completes when each has completed
};

struct Step {
  std::string id;     // "3.1.1"
  std::string title;  // Russian, as in the regulation
  std::vector<std::string> actors;  // roles, at least one
  Sign sign = Sign::any;
  std::string description;
  std::string instructions_path;  // as written in the file
  std::string instructions;       // the text of that file
  std::optional<Form> form;       // copied from forms/
  std::string handler;            // `do:` (or on_enter's); empty for a user step
  Json with = Json::object();     // `with:` parameters, as written
  Json pinned;                    // what the handler recorded at deploy (HandlerCatalog::pin), or null
  bool on_enter = false;          // `on_enter: {do, with}`: a user step whose handler runs
                                  // first, its outputs set before the task is created
  std::optional<Call> call;       // `call:`: a step that starts another process
  Retry retry;                    // for the handler's failures
  Next next;
  bool join = false;              // `join: all`: waits for every parallel branch
  int join_count = 0;             // how many arrivals complete the join
  std::optional<Deadline> deadline;
  std::vector<Escalation> escalate;  // when the deadline passes
  std::optional<Wait> wait;          // a timer before each entry
  std::vector<PriorityRule> priority;  // overrides the process's when given
  Location where;

  // A step the engine does (a handler or a call), not a person.
  bool is_service() const { return (!handler.empty() && !on_enter) || call.has_value(); }
};

struct Process {
  std::string key;      // "incoming-request"
  std::string title;
  std::string section;  // "3.1"
  std::string owner;    // a role
  std::string description;
  std::vector<Field> variables;  // start variables
  std::vector<Step> steps;       // in file order; steps.front() is the start step
  std::vector<PriorityRule> priority;  // for every task, unless the step says otherwise
  std::optional<Schedule> schedule;    // `start: {every: ...}`
  std::string file;              // where it was loaded from

  const Step* step(std::string_view id) const;
  const Field* variable(std::string_view name) const;
  const Step& start() const { return steps.front(); }
};

struct Role {
  std::string key;    // "deputy-director"
  std::string title;  // "Заместитель директора"
};

struct Person {
  std::string login;
  std::string name;
  std::vector<std::string> roles;
  std::vector<std::string> os_logins;  // `os_login:`: OS accounts that are this person (default: login)
};

// How the CLI learns who is acting (engine/access.h).
enum class IdentityMode {
  os_login,  // the person is the OS account's; --as may only name that person
  asserted,  // --as is taken as typed (a single operator, the demo, tests)
};

// org.yaml `access:`: who administers and who audits (engine/access.h).
struct Access {
  IdentityMode identity = IdentityMode::os_login;
  std::vector<std::string> admin;     // roles; empty: the roles that own a process
  std::vector<std::string> auditors;  // roles that see and check every instance
  std::optional<std::vector<std::string>> clients;  // roles that change the client database;
                                                    // absent: everyone in the org
};

struct Org {
  std::vector<Role> roles;
  std::vector<Person> people;
  Access access;

  const Role* role(std::string_view key) const;
  const Person* person(std::string_view login) const;
  bool has_role(std::string_view login, std::string_view role) const;
};

}  // namespace reglament
