// What every subcommand of `reglament` shares: the global options, opening the
// store, resolving the acting user, the clock, tables, JSON output, and the
// mapping from an Error to an exit code and a line on stderr.
//
// The pattern: each subcommand has one options struct and one
// `setup_<cmd>(CLI::App&, Ctx&)` that registers it. Parsing only records the
// action to run (Ctx::action); main() runs it once every global option is
// known, and its return value is the exit code. Only cli/ prints.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "engine/json.h"
#include "engine/time.h"
#include "engine/model.h"
#include "engine/result.h"
#include "handlers/registry.h"
#include "storage/sqlite_store.h"

namespace reglament {

// Exit codes (docs/cli.md). ErrorCode values are the exit codes themselves.
inline constexpr int kExitOk = 0;
inline constexpr int kExitOther = 1;
inline constexpr int kExitInvalid = 2;

// The global options and the lazily opened resources every command uses.
struct Ctx {
  std::string db = "reglament.db";  // --db, REGLAMENT_DB
  std::string user;                 // the acting login (resolve_identity, engine/access.h)
  std::string asserted;             // --as or REGLAMENT_USER as given; empty when not
  std::string os_login;             // the OS account running the command
  bool json = false;                // --json
  std::string now;                  // --now, REGLAMENT_NOW, else the system clock
  bool now_from_clock = false;      // `now` was read from the system clock
  std::string subject;              // the instance the command is about, for a refusal's record

  // Set by the parsed subcommand's callback; returns the exit code.
  std::function<int()> action;

  // Opens the database once. Unless `create`, a database file that does not
  // exist yet is reported as not_found (so a typo in --db does not silently
  // create an empty database).
  Result<SqliteStore*> store(bool create = false);
  // The built-in handler registry (validation and service steps).
  const Registry& handlers();
  // The roles that own a deployed process (latest versions), which
  // administer when org.yaml names no access.admin; empty when it does.
  Result<std::vector<std::string>> owners();

  // The acting user is not a person of the deployed org (an OS account the
  // org does not know, or an unknown --as): what they were turned away from
  // is recorded as a refusal. False while no store is open or no org deployed.
  bool acting_outsider();

  // The store if it was opened, even when the identity was refused (for
  // recording the refusal); null otherwise.
  SqliteStore* opened_store() { return store_.get(); }

 private:
  std::optional<Error> identity_error_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Registry> handlers_;
};

// ---- Access (engine/access.h) against the deployed org, as ctx.user ------

// Deploy, seal, backup: an administrator; `what` names the action. Allowed
// to anyone while no org chart is deployed (the first deploy).
Status check_admin(Ctx& ctx, const std::string& what);
// Verify, replay, outbox, report: an auditor or administrator.
Status check_audit(Ctx& ctx, const std::string& what);
Status check_see(Ctx& ctx, const Process& process);
bool can_see(Ctx& ctx, const Process& process);
// Which (process, version) instances the acting user may see; each
// definition is looked at once. A definition that cannot be read is not seen.
class Visibility {
 public:
  explicit Visibility(Ctx& ctx) : ctx_(ctx) {}
  bool operator()(const std::string& process, int version);

 private:
  Ctx& ctx_;
  std::map<std::pair<std::string, int>, bool> seen_;
};
// check_see for the instance whose first event (InstanceStarted) is `started`.
Status check_see_instance(Ctx& ctx, const Event& started);
Status check_start(Ctx& ctx, const Process& process);
Status check_clients(Ctx& ctx);
// Any person of the org (reading the client database).
Status check_person(Ctx& ctx);

// Records a refused command (exit 5, or any failure of someone not in the
// org) in the database's refusals, if it was opened; `argv` is the command
// line. Never fails the command further; when the record cannot be written
// (a read-only file, a full disk) says so on stderr.
void record_refusal(Ctx& ctx, int argc, char** argv);

// Fills in defaults after parsing (--as from the OS, --now from the clock) and
// validates --now. Errors: invalid.
Status finish_globals(Ctx& ctx);

// ---- Errors and output ----------------------------------------------------

int exit_code(ErrorCode code);
// `message` with every quoted value ("...") given by quote_for_message
// (engine/utf8.h): over 60 characters, `"abc…" (120000 bytes)`. Messages
// quote what the user typed; a 1 MB value is named, not echoed.
std::string shorten_quoted(std::string_view message);
// Prints `reglament: message` (or `file:line:column: message` when the error
// has a place) to stderr, quoted values shortened, and returns the exit code
// for its code.
int fail(const Error& e);
int fail(ErrorCode code, const std::string& message);
// The message of the last error fail() printed ("" when none).
const std::string& last_failure();
// Pretty-printed JSON and a newline on stdout, exact (JSON escapes its own
// control characters).
void print_json(const Json& j);
// Writes `text` to stdout as is (UTF-8): for rendered tables (whose cells
// are escaped), CSV and JSON, which are data and stay exact.
void print_text(std::string_view text);
// Writes one line of text for people: terminal_text(text, true), a newline.
void print_line(std::string_view text);

// `s` made safe to show on a terminal: text from people, handlers or the
// outbox must not move the cursor, recolour, retitle the window or hide what
// precedes it. C0 control characters, DEL and ESC become `\x1b`-style text,
// C1 control characters (U+0080..U+009F) `\u009b`-style, and a byte that is
// not UTF-8 `\xff`-style; tab and newline stay when `multiline`, else they
// are escaped too. Everything else, backslashes included, is unchanged.
//   terminal_text("a\x1b[2Jb", false) == "a\\x1b[2Jb"
std::string terminal_text(std::string_view s, bool multiline);

// ---- Values ---------------------------------------------------------------

// An option's number at least `min` ("must be a number, 0 or more"), for
// CLI::Option::check; CLI11's own range checks print the type's whole range.
CLI::Validator at_least(double min);
// Refuses an empty value given explicitly (`--now ''`): `instead` says what
// leaving the option out does ("to use the clock").
CLI::Validator not_empty(const std::string& instead);

// Parses `--set name=value` items (split at the first '='). The values stay
// text; the core parses them against each field's type.
// Errors: invalid for an item without '=' or with an empty or repeated name.
Result<JsonObject> parse_assignments(const std::vector<std::string>& items);

// A JSON array of strings; "" maps to null in `nullable`.
Json string_array(const std::vector<std::string>& items);
Json nullable(const std::string& s);
// A variable value as people read it: strings bare, others JSON-encoded.
std::string value_text(const Json& v);
// [{"name","title","type","required","options"}] for a step's form; [] when none.
Json form_json(const Form* form);
std::string join_strings(const std::vector<std::string>& items, std::string_view sep);

// ---- Definitions ----------------------------------------------------------

// Deployed definitions by (process, version), loaded from the store once.
class DefinitionCache {
 public:
  explicit DefinitionCache(SqliteStore& store) : store_(store) {}
  // not_found when that version was never deployed.
  Result<const Process*> get(const std::string& process, int version);

 private:
  SqliteStore& store_;
  std::map<std::pair<std::string, int>, std::shared_ptr<const Process>> cache_;
};

// "3.1.1 Установить контакт с клиентом по скрипту", or just the id when the
// step is unknown.
std::string step_label(const Process* process, const std::string& step_id);
// step_label of each id, joined by ", ".
std::string step_labels(const Process* process, const std::vector<std::string>& ids);

// ---- Time -----------------------------------------------------------------

// Instants are engine/time.h's Moment: one parser and formatter for the
// whole program (parse_moment, format_moment).
// The system clock in the local UTC offset.
std::string system_now();
// "2026-11-23 15:04" from an ISO timestamp, for tables; the input when short.
std::string short_time(const std::string& ts);

// ---- Tables ---------------------------------------------------------------

// Columns a terminal needs for `s`: code points, with combining marks as 0 and
// East Asian wide characters as 2. Never bytes.
int display_width(std::string_view s);
// `s` cut to at most `width` display columns, ending in "…" when cut.
std::string truncate_display(std::string_view s, int width);

// A text table aligned by display width; headers are printed in upper case.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> headers);
  // Cells wider than the column's limit are truncated with "…".
  void set_max_width(size_t column, int width);
  void add(std::vector<std::string> row);
  bool empty() const { return rows_.empty(); }
  std::string render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<int> max_;
  std::vector<std::vector<std::string>> rows_;
};

inline constexpr int kTitleWidth = 48;

}  // namespace reglament
