// The audit: reads the tables as they are stored (never through the store's
// caches, never trusting one table to describe another) and checks them
// against the event log. See storage/audit.h for what is checked and
// storage/README.md ("Audit") for why each check exists.

#include "storage/audit.h"

#include <sqlite3.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/names.h"
#include "engine/sha256.h"
#include "storage/chains.h"
#include "storage/crm.h"
#include "storage/refusals.h"
#include "storage/schema_internal.h"

namespace reglament {

using storage_internal::sqlite_error;
using storage_internal::column_text;
using storage_internal::text_or_empty;

namespace {

constexpr const char* kInstanceIds =
    "SELECT id FROM instances UNION SELECT instance FROM events UNION SELECT instance FROM tasks "
    "UNION SELECT instance FROM jobs UNION SELECT instance FROM outbox UNION SELECT instance FROM timers "
    "UNION SELECT instance FROM schedule_runs UNION SELECT parent FROM links "
    "UNION SELECT instance FROM client_log WHERE instance IS NOT NULL";
constexpr const char* kEventRows =
    "SELECT seq, at, actor, type, step, data_json, format, hash, at_utc FROM events WHERE instance = ?1 "
    "ORDER BY seq";
constexpr const char* kInstanceRow =
    "SELECT process, version, status, started_at, updated_at, ended_at, current_json, client, vars_json, "
    "last_seq FROM instances WHERE id = ?1";
// An instance's tasks and jobs are storage_internal::kInstanceTaskRows and
// kInstanceJobRows (the id range "<instance>."); a row whose instance column
// was changed is found by the whole-table pass kStrayTasks.
using storage_internal::kInstanceJobRows;
using storage_internal::kInstanceTaskRows;
constexpr const char* kTimerRow = "SELECT due_epoch FROM timers WHERE instance = ?1";
constexpr const char* kScheduleRunRows =
    "SELECT process, occurrence_epoch, occurrence FROM schedule_runs WHERE instance = ?1";
constexpr const char* kTaskRoleRows = "SELECT role FROM task_roles WHERE task = ?1 ORDER BY role";
constexpr const char* kLinkRows =
    "SELECT job, idx, process, variables, wait, returned, child FROM links WHERE parent = ?1 ORDER BY job, idx";
constexpr const char* kChildLink = "SELECT parent, job, idx FROM links WHERE child = ?1";
constexpr const char* kClientLogOf =
    "SELECT step, at, record FROM client_log WHERE instance = ?1 ORDER BY seq";
constexpr const char* kOutboxRows =
    "SELECT seq, step, to_addr, text, at FROM outbox WHERE instance = ?1 ORDER BY id";
constexpr const char* kStrayRoles =
    "SELECT task, role FROM task_roles WHERE task NOT IN (SELECT task FROM tasks) ORDER BY task, role";
// tasks and jobs rows outside their instance's id range: kInstanceTaskRows
// and kInstanceJobRows would not see them.
constexpr const char* kStrayTasks =
    "SELECT 'task', task, instance FROM tasks WHERE substr(task, 1, length(instance) + 1) IS NOT instance || '.' "
    "UNION ALL SELECT 'job', job, instance FROM jobs WHERE substr(job, 1, length(instance) + 1) IS NOT instance || '.' "
    "ORDER BY 2";
constexpr const char* kClientsSearchedBy = "SELECT id, company_key, contact, phone FROM clients";
constexpr const char* kClientKeys = "SELECT kind, key, client FROM client_keys ORDER BY kind, key, client";
constexpr const char* kDefinitionRows =
    "SELECT process, version, hash, sources_json FROM definitions ORDER BY process, version";
constexpr const char* kTriggers = "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'";
constexpr const char* kNextInstance = "SELECT value FROM meta WHERE key = 'next_instance'";
constexpr const char* kHeads =
    "SELECT e.instance, e.seq, e.hash FROM events e "
    "JOIN (SELECT instance, max(seq) AS last FROM events GROUP BY instance) h "
    "ON e.instance = h.instance AND e.seq = h.last";
constexpr const char* kSealsByPrefix =
    "SELECT digest, at, heads_json, instances, events FROM seals WHERE substr(digest, 1, length(?1)) = ?1 "
    "ORDER BY id";
constexpr const char* kLastRefusal = "SELECT seq, hash FROM refusals ORDER BY seq DESC LIMIT 1";
constexpr const char* kRefusalHash = "SELECT hash FROM refusals WHERE seq = ?1";
constexpr const char* kDeploymentRows =
    "SELECT seq, kind, name, version, content_hash, at, hash FROM deployments ORDER BY seq";
constexpr const char* kOrgSource = "SELECT source FROM org WHERE id = 1";
constexpr const char* kDocumentSources = "SELECT name, source FROM documents ORDER BY name";
constexpr const char* kClientLogRows =
    "SELECT seq, at, actor, instance, step, record, row_id, hash FROM client_log ORDER BY seq";
constexpr const char* kLastDeployment = "SELECT seq, hash FROM deployments ORDER BY seq DESC LIMIT 1";
constexpr const char* kLastClientLog = "SELECT seq, hash FROM client_log ORDER BY seq DESC LIMIT 1";
constexpr const char* kTables = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name";
// The tables the client database's records write (storage/crm.cpp), each
// keyed by `id`; client_keys is checked against clients separately.
constexpr const char* kClientTables[] = {"clients", "contacts", "requests", "complaints", "items", "report_entries"};
// How many differing rows of one client table are named before the rest are counted.
constexpr size_t kRowsNamed = 10;

bool is_damage(const SQLite::Exception& e) {
  const int code = e.getErrorCode() & 0xff;
  return code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
}

// A stored value as findings show it.
std::string value_shown(const SQLite::Column& c) {
  if (c.isNull()) return "null";
  if (c.isText()) return "\"" + c.getString() + "\"";
  return c.getString();
}

constexpr const char* kAllSeals = "SELECT digest, at, heads_json, instances, events FROM seals ORDER BY id";
constexpr const char* kInsertSeal =
    "INSERT INTO seals (digest, at, heads_json, instances, events) VALUES (?1, ?2, ?3, ?4, ?5)";

// "null" for an absent value, the text quoted otherwise: how findings show values.
std::string shown(const std::string& s) { return s.empty() ? std::string("empty") : "\"" + s + "\""; }

std::string joined(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out + "]";
}

std::optional<std::vector<std::string>> string_items(const std::string& text) {
  Result<Json> j = parse_json(text);
  if (!j || !j->is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const Json& v : j->as_array()) {
    if (!v.is_string()) return std::nullopt;
    out.push_back(v.as_string());
  }
  return out;
}

// Collapses runs of whitespace, so a trigger's text compares by its tokens.
std::string squeeze(const std::string& s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

bool is_hex(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::optional<int64_t> as_number(const std::string& s) {
  if (s.empty() || s.size() > 18 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// The rows of one instance's tables, as stored.
struct InstanceRowData {
  std::string process;
  int version = 0;
  std::string status, started_at, updated_at, ended_at, current_json, client, vars_json;
  int64_t last_seq = 0;
};

struct TaskRowData {
  std::string process;
  int version = 0;
  std::string step, title, roles_json, claimed_by, created_at;
  int priority = 1;
  std::string due;
  std::string due_epoch;  // as text, "" for NULL
  std::vector<std::string> role_rows;
};

struct JobRowData {
  std::string step, handler, last_error, scheduled_at, retry_at;
  int attempts = 0;
  bool incident = false;
};

// One outbox message: (seq, step, to, text, at).
using Message = std::tuple<int64_t, std::string, std::string, std::string, std::string>;

// Runs the checks over one read snapshot, collecting findings.
class Auditor {
 public:
  Auditor(SqliteStore& store, SQLite::Database& db, AuditReport& report)
      : store_(store), db_(db), report_(report) {}

  std::vector<std::string> instance_ids() {
    std::vector<std::string> ids;
    SQLite::Statement& q = stmt(kInstanceIds);
    while (q.executeStep()) ids.push_back(q.getColumn(0).getString());
    done(q);
    std::sort(ids.begin(), ids.end(), [](const std::string& a, const std::string& b) {
      std::optional<int64_t> na = as_number(a), nb = as_number(b);
      if (na && nb) return *na < *nb;
      if (na.has_value() != nb.has_value()) return na.has_value();
      return a < b;
    });
    return ids;
  }

  bool known(const std::string& id) {
    const std::vector<std::string> ids = instance_ids();
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  }

  std::vector<LoggedEvent> logged_events(const std::string& id, std::vector<std::string>* at_utc = nullptr) {
    std::vector<LoggedEvent> rows;
    SQLite::Statement& q = stmt(kEventRows);
    q.bind(1, id);
    while (q.executeStep()) {
      LoggedEvent row;
      row.seq = q.getColumn(0).getInt64();
      row.hash = q.getColumn(7).getString();
      Event e;
      e.at = column_text(q, 1);
      e.actor = column_text(q, 2);
      e.step = column_text(q, 4);
      e.format = q.getColumn(6).getInt();
      const std::string_view type = column_text(q, 3);
      std::optional<EventType> t = parse_event_type(type);
      Result<Json> data = parse_json(column_text(q, 5));
      if (!t) {
        row.unreadable = fmt::format("unknown type \"{}\"", type);
      } else if (!data || !data->is_object()) {
        row.unreadable = "its data is not a JSON object";
      } else if (e.format < 1 || e.format > kEventFormat) {
        row.unreadable = fmt::format("format {}", e.format);
      } else {
        e.type = *t;
        e.data = std::move(data).value();
        row.event = std::move(e);
      }
      if (at_utc != nullptr) at_utc->push_back(text_or_empty(q.getColumn(8)));
      rows.push_back(std::move(row));
    }
    done(q);
    return rows;
  }

  void check_instance(const std::string& id) {
    std::vector<std::string> at_utc;
    std::vector<LoggedEvent> rows = logged_events(id, &at_utc);
    std::optional<InstanceRowData> inst = instance_row(id);
    report_.instances += 1;
    report_.events += static_cast<int64_t>(rows.size());

    if (rows.empty() && !inst) {
      add(AuditKind::missing, id, 0,
          fmt::format("instance {} has no events and no instances row, yet other tables name it: its log was "
                      "deleted",
                      id));
    } else if (!inst) {
      add(AuditKind::projection, id, 0,
          fmt::format("instance {} has {} events but no row in instances", id, rows.size()));
    }
    if (std::optional<ChainBreak> b = check_chain(id, rows, inst ? std::optional(inst->last_seq) : std::nullopt)) {
      add(b->kind, id, b->seq, b->message);
    }

    for (const LoggedEvent& row : rows) {
      if (!row.event) return;  // the chain finding says why; nothing to replay
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      const LoggedEvent& row = rows[i];
      const std::optional<std::string> utc = utc_instant(row.event->at);
      if (utc.value_or("") != at_utc[i]) {
        add(AuditKind::projection, id, row.seq,
            fmt::format("event {} has at_utc {}, but its time {} is {} in UTC", row.seq, shown(at_utc[i]),
                        row.event->at, shown(utc.value_or(""))));
        break;
      }
    }
    std::vector<Event> events;
    events.reserve(rows.size());
    for (LoggedEvent& row : rows) events.push_back(std::move(*row.event));  // rows are not read after this

    const InstanceState state = replay(events);
    const Process* process = nullptr;
    if (!events.empty()) process = check_definition_link(id, events.front(), state);
    if (inst && !events.empty()) compare_instance(id, *inst, state);
    compare_tasks(id, state, process);
    compare_jobs(id, state, events);
    compare_outbox(id, events);
    compare_timing(id, state, events);
    compare_links(id, events);
    compare_client_log(id, events);
  }

  // The children its steps asked for (ServiceCompleted.starts) and whether
  // they returned (ChildReturned); and, for a child, that its link names it.
  void compare_links(const std::string& id, const std::vector<Event>& events) {
    std::vector<std::string> expected;
    std::set<std::pair<std::string, std::string>> returned;  // (job, child)
    for (const Event& e : events) {
      if (e.type == EventType::child_returned) returned.emplace(e.data.str("job"), e.data.str("child"));
    }
    for (const Event& e : events) {
      if (e.type != EventType::service_completed || !e.data.get("starts").is_array()) continue;
      int64_t index = 0;
      for (const Json& st : e.data.get("starts").as_array()) {
        expected.push_back(fmt::format("{} #{} {} {} wait={}", e.data.str("job"), index++, st.str("process"),
                                       st.get("variables").dump(), e.data.integer("awaiting") > 0 ? 1 : 0));
      }
    }
    std::vector<std::string> stored;
    std::vector<std::tuple<std::string, std::string, bool>> children;  // job, child, returned
    {
      SQLite::Statement& q = stmt(kLinkRows);
      q.bind(1, id);
      while (q.executeStep()) {
        stored.push_back(fmt::format("{} #{} {} {} wait={}", q.getColumn(0).getString(), q.getColumn(1).getInt64(),
                                     q.getColumn(2).getString(), q.getColumn(3).getString(), q.getColumn(4).getInt()));
        children.emplace_back(q.getColumn(0).getString(), text_or_empty(q.getColumn(6)), q.getColumn(5).getInt() != 0);
      }
      done(q);
    }
    if (stored != expected) {
      add(AuditKind::projection, id, 0,
          fmt::format("links lists {}, but the events say {}", joined(stored), joined(expected)));
    }
    for (const auto& [job, child, was_returned] : children) {
      if (was_returned != (returned.count({job, child}) > 0)) {
        add(AuditKind::projection, id, 0,
            fmt::format("links says instance {} {} to job {}, but the events say it did{}", child,
                        was_returned ? "returned" : "did not return", job, was_returned ? " not" : ""));
      }
    }
    if (events.empty() || !events.front().data.get("parent").is_object()) return;
    const Json& parent = events.front().data.get("parent");
    std::string linked;
    {
      SQLite::Statement& q = stmt(kChildLink);
      q.bind(1, id);
      if (q.executeStep())
        linked = fmt::format("{} job {} #{}", q.getColumn(0).getString(), q.getColumn(1).getString(),
                             q.getColumn(2).getInt64());
      done(q);
    }
    const std::string want =
        fmt::format("{} job {} #{}", parent.str("instance"), parent.str("job"), parent.integer("index"));
    if (linked != want) {
      add(AuditKind::projection, id, 0,
          fmt::format("links names {} as its parent, but its first event says {}", shown(linked), want));
    }
  }

  // The client database records its steps returned (ServiceCompleted.records,
  // under the hash chain) are the ones client_log holds for it, in order.
  void compare_client_log(const std::string& id, const std::vector<Event>& events) {
    std::vector<std::string> expected;
    for (const Event& e : events) {
      if (e.type != EventType::service_completed || !e.data.get("records").is_array()) continue;
      for (const Json& r : e.data.get("records").as_array())
        expected.push_back(fmt::format("{} {} {}", e.step, e.at, r.dump()));
    }
    std::vector<std::string> stored;
    {
      SQLite::Statement& q = stmt(kClientLogOf);
      q.bind(1, id);
      while (q.executeStep())
        stored.push_back(fmt::format("{} {} {}", text_or_empty(q.getColumn(0)), q.getColumn(1).getString(),
                                     q.getColumn(2).getString()));
      done(q);
    }
    if (stored != expected) {
      add(AuditKind::projection, id, 0,
          fmt::format("client_log holds {} record(s) for it, but its events returned {}{}", stored.size(),
                      expected.size(), stored.size() == expected.size() ? " different ones" : ""));
    }
  }

  // The instance's row in timers (its next due moment while active) and its
  // scheduled start in schedule_runs.
  void compare_timing(const std::string& id, const InstanceState& s, const std::vector<Event>& events) {
    std::optional<int64_t> stored;
    {
      SQLite::Statement& q = stmt(kTimerRow);
      q.bind(1, id);
      if (q.executeStep()) stored = q.getColumn(0).getInt64();
      done(q);
    }
    const std::optional<int64_t> want = s.status == "active" ? s.next_due() : std::nullopt;
    if (stored.has_value() != want.has_value() || stored.value_or(0) != want.value_or(0)) {
      add(AuditKind::projection, id, 0,
          fmt::format("timers holds {} for it, but the events say {}",
                      stored ? "due " + std::to_string(*stored) : std::string("nothing"),
                      want ? "due " + std::to_string(*want) : std::string("nothing is due")));
    }
    std::vector<std::string> runs;
    {
      SQLite::Statement& q = stmt(kScheduleRunRows);
      q.bind(1, id);
      while (q.executeStep()) runs.push_back(q.getColumn(0).getString() + " " + q.getColumn(2).getString());
      done(q);
    }
    std::vector<std::string> expected;
    if (!events.empty() && !events.front().data.str("scheduled_for").empty())
      expected.push_back(s.process + " " + events.front().data.str("scheduled_for"));
    if (runs != expected) {
      add(AuditKind::projection, id, 0,
          fmt::format("schedule_runs lists {}, but the events say {}", joined(runs), joined(expected)));
    }
  }

  void check_definitions() {
    SQLite::Statement& q = stmt(kDefinitionRows);
    while (q.executeStep()) {
      const std::string process = q.getColumn(0).getString();
      const int version = q.getColumn(1).getInt();
      const std::string hash = q.getColumn(2).getString();
      definition_hashes_[{process, version}] = hash;
      // The loader hashes the canonical encoding of {path: text}; parsing
      // and dumping the stored encoding gives exactly that text again.
      Result<Json> files = parse_json(q.getColumn(3).getString());
      bool readable = files && files->is_object();
      if (readable) {
        for (const auto& [path, text] : files->as_object()) readable = readable && text.is_string();
      }
      if (!readable || sha256_hex(files->dump()) != hash) {
        add(AuditKind::definition, "", 0,
            fmt::format("process \"{}\" version {} was changed after it was deployed: its stored files no longer "
                        "match its hash",
                        process, version));
      }
    }
    done(q);
  }

  // The refusals' own hash chain (storage/refusals.h).
  Status check_refusals() {
    auto found = reglament::check_refusals(store_);
    if (!found) return found.error();
    for (const RefusalFinding& f : *found) add(AuditKind::changed, "", 0, f.message);
    return {};
  }

  void check_protection() {
    std::map<std::string, std::string> present;
    std::map<std::string, std::string> table_of;
    SQLite::Statement& q = stmt(kTriggers);
    while (q.executeStep()) {
      present[q.getColumn(0).getString()] = text_or_empty(q.getColumn(2));
      table_of[q.getColumn(0).getString()] = q.getColumn(1).getString();
    }
    done(q);
    std::set<std::string> expected;
    for (const auto& [name, sql] : storage_internal::guard_triggers()) {
      expected.insert(name);
      auto it = present.find(name);
      if (it == present.end()) {
        add(AuditKind::protection, "", 0,
            fmt::format("the trigger {} is missing: the table it guards could be edited without a trace", name));
      } else if (squeeze(it->second) != squeeze(sql)) {
        add(AuditKind::protection, "", 0, fmt::format("the trigger {} was altered", name));
      }
    }
    for (const auto& [name, sql] : present) {
      if (expected.count(name) == 0) {
        add(AuditKind::protection, "", 0,
            fmt::format("an unknown trigger {} is defined on table {}", name, table_of[name]));
      }
    }
  }

  // Ids are handed out in order (meta next_instance) and never skipped, so
  // an id below it of which nothing remains was deleted, tables and all.
  void check_handed_out_ids(const std::vector<std::string>& ids) {
    SQLite::Statement& q = stmt(kNextInstance);
    std::string next_text = q.executeStep() ? q.getColumn(0).getString() : std::string();
    done(q);
    std::optional<int64_t> next = as_number(next_text);
    if (!next) {
      add(AuditKind::projection, "", 0, "the instance counter meta next_instance is missing or not a number");
      return;
    }
    std::set<int64_t> present;
    for (const std::string& id : ids) {
      if (std::optional<int64_t> n = as_number(id)) present.insert(*n);
    }
    if (!present.empty() && *present.rbegin() >= *next) {
      add(AuditKind::projection, "", 0,
          fmt::format("the instance counter meta next_instance is {}, but instance {} exists", *next,
                      *present.rbegin()));
    }
    std::vector<int64_t> gone;
    for (int64_t n = 1; n < *next; ++n) {
      if (present.count(n) == 0) gone.push_back(n);
    }
    for (int64_t n : gone) {
      add(AuditKind::missing, std::to_string(n), 0,
          fmt::format("instance {} is missing: ids 1 to {} were handed out, and nothing of instance {} remains", n,
                      *next - 1, n));
    }
  }

  void check_stray_roles() {
    SQLite::Statement& q = stmt(kStrayRoles);
    while (q.executeStep()) {
      const std::string task = q.getColumn(0).getString();
      add(AuditKind::projection, instance_of(task), 0,
          fmt::format("task_roles lists task {} for role {}, but tasks has no such task", task,
                      q.getColumn(1).getString()));
    }
    done(q);
  }

  void check_stray_tasks() {
    SQLite::Statement& q = stmt(kStrayTasks);
    while (q.executeStep()) {
      const std::string what = q.getColumn(0).getString();
      const std::string id = q.getColumn(1).getString();
      add(AuditKind::projection, instance_of(id), 0,
          fmt::format("{} {} has a row in {}s for instance {}, but its id is not one of that instance's", what, id,
                      what, q.getColumn(2).getString()));
    }
    done(q);
  }

  // The client search index (client_keys) holds exactly the keys of each
  // client's name, contact and phone as they stand: a key missing hides the
  // client from searches, one too many finds it where it should not be.
  void check_client_keys() {
    using Key = std::tuple<std::string, std::string, int64_t>;  // kind, key, client
    std::vector<Key> expected;
    SQLite::Statement& clients = stmt(kClientsSearchedBy);
    while (clients.executeStep()) {
      const int64_t id = clients.getColumn(0).getInt64();
      for (ClientKey& k : client_keys(clients.getColumn(1).getText(), clients.getColumn(2).getText(),
                                      clients.getColumn(3).getText())) {
        expected.emplace_back(std::string(1, k.kind), std::move(k.text), id);
      }
    }
    done(clients);
    std::sort(expected.begin(), expected.end());
    std::vector<Key> stored;
    SQLite::Statement& keys = stmt(kClientKeys);
    while (keys.executeStep()) {
      stored.emplace_back(keys.getColumn(0).getString(), keys.getColumn(1).getString(), keys.getColumn(2).getInt64());
    }
    done(keys);
    std::vector<Key> missing;
    std::vector<Key> extra;
    std::set_difference(expected.begin(), expected.end(), stored.begin(), stored.end(), std::back_inserter(missing));
    std::set_difference(stored.begin(), stored.end(), expected.begin(), expected.end(), std::back_inserter(extra));
    for (const auto& [kind, key, client] : missing) {
      add(AuditKind::projection, "", 0,
          fmt::format("client_keys lacks the key {} \"{}\" of client {}, so a search would not find it by it", kind,
                      key, client));
    }
    for (const auto& [kind, key, client] : extra) {
      add(AuditKind::projection, "", 0,
          fmt::format("client_keys holds a key {} \"{}\" for client {} that its name, contact and phone do not give",
                      kind, key, client));
    }
  }

  // SQLite's own check of the file (PRAGMA quick_check, or integrity_check
  // when `full`): every page of every b-tree readable and well-formed, and
  // with `full` every index agreeing with its table. What it reports names
  // pages, not tables, so each table is then checked alone (SQLite can) to
  // name the damaged ones. True when the file is sound; the other checks read
  // every table and are not run on a damaged file.
  bool check_pages(bool full) {
    const char* pragma = full ? "integrity_check" : "quick_check";
    const std::vector<std::string> problems = sqlite_check(pragma, "");
    if (problems.empty()) return true;
    std::vector<std::string> tables;
    try {
      SQLite::Statement q(db_, kTables);
      while (q.executeStep()) tables.push_back(q.getColumn(0).getString());
    } catch (const SQLite::Exception& e) {
      if (!is_damage(e)) throw;
    }
    bool named = false;
    for (const std::string& table : tables) {
      const std::vector<std::string> found = sqlite_check(pragma, table);
      if (found.empty()) continue;
      named = true;
      add(AuditKind::damaged, "", 0,
          fmt::format("the table {} is damaged: SQLite's {} says \"{}\"{}", table, pragma, found.front(),
                      found.size() > 1 ? fmt::format(" and {} more", found.size() - 1) : std::string()));
    }
    if (!named) {
      add(AuditKind::damaged, "", 0,
          fmt::format("the database file is damaged: SQLite's {} says \"{}\"{}", pragma, problems.front(),
                      problems.size() > 1 ? fmt::format(" and {} more", problems.size() - 1) : std::string()));
    }
    return false;
  }

  // Who deployed what (storage/chains.h): the chain whole, and every stored
  // document — process versions, the org chart, the calendar, indicators —
  // the one its latest deployment record names by content hash.
  void check_deployments() {
    std::map<std::pair<std::string, int64_t>, storage_internal::Deployment> defs;  // (process, version)
    std::map<std::pair<std::string, std::string>, storage_internal::Deployment> latest;  // (kind, name)
    {
      SQLite::Statement& q = stmt(kDeploymentRows);
      std::string previous;
      int64_t expected = 1;
      bool broken = false;
      while (q.executeStep()) {
        storage_internal::Deployment d{q.getColumn(0).getInt64(), q.getColumn(1).getString(),
                                       q.getColumn(2).getString(), q.getColumn(3).getInt64(),
                                       q.getColumn(4).getString(), q.getColumn(5).getString(),
                                       q.getColumn(6).getString()};
        if (!broken && d.seq != expected) {
          add(AuditKind::missing, "", 0,
              fmt::format("deployment record {} is missing: the deployments log goes from {} to {}", expected,
                          expected - 1, d.seq));
          broken = true;
        } else if (!broken && storage_internal::deployment_hash(previous, d) != d.hash) {
          add(AuditKind::changed, "", 0,
              fmt::format("deployment record {} ({} {}) was changed: it no longer matches its hash", d.seq, d.kind,
                          d.name));
          broken = true;
        }
        previous = d.hash;
        expected = d.seq + 1;
        if (d.kind == "definition") {
          defs[{d.name, d.version}] = d;
        } else {
          latest[{d.kind, d.name}] = d;
        }
      }
      done(q);
    }
    for (const auto& [key, hash] : definition_hashes_) {
      auto it = defs.find({key.first, key.second});
      if (it == defs.end()) {
        add(AuditKind::definition, "", 0,
            fmt::format("process \"{}\" version {} was never deployed: no deployment record holds it", key.first,
                        key.second));
      } else if (it->second.content_hash != hash) {
        add(AuditKind::definition, "", 0,
            fmt::format("process \"{}\" version {} is not the one deployed: its hash differs from deployment record "
                        "{}",
                        key.first, key.second, it->second.seq));
      }
    }
    for (const auto& [key, d] : defs) {
      if (definition_hashes_.count({key.first, static_cast<int>(key.second)}) == 0) {
        add(AuditKind::definition, "", 0,
            fmt::format("process \"{}\" version {} was deployed (deployment record {}) but is gone", key.first,
                        key.second, d.seq));
      }
    }
    std::map<std::pair<std::string, std::string>, std::string> stored;  // (kind, name) -> source
    {
      SQLite::Statement& q = stmt(kOrgSource);
      if (q.executeStep()) stored[{"org", "org"}] = q.getColumn(0).getString();
      done(q);
      SQLite::Statement& d = stmt(kDocumentSources);
      while (d.executeStep()) stored[{"document", d.getColumn(0).getString()}] = d.getColumn(1).getString();
      done(d);
    }
    auto what = [](const std::pair<std::string, std::string>& key) {
      return key.first == "org" ? std::string("the org chart") : fmt::format("the document \"{}\"", key.second);
    };
    for (const auto& [key, source] : stored) {
      auto it = latest.find(key);
      if (it == latest.end()) {
        add(AuditKind::definition, "", 0,
            fmt::format("{} was never deployed: no deployment record holds it", what(key)));
      } else if (sha256_hex(source) != it->second.content_hash) {
        add(AuditKind::definition, "", 0,
            fmt::format("{} was changed after it was deployed: its text no longer matches the hash of deployment "
                        "record {}",
                        what(key), it->second.seq));
      }
    }
    for (const auto& [key, d] : latest) {
      if (stored.count(key) == 0) {
        add(AuditKind::definition, "", 0,
            fmt::format("{} was deployed (deployment record {}) but is gone", what(key), d.seq));
      }
    }
  }

  // The client database is the fold of client_log: the chain must be whole
  // (seqs from 1, each hash what its row and the one before give), and every
  // client table exactly what applying the records in order to empty tables
  // gives, row for row — a row edited, added or deleted by hand differs.
  void check_client_tables() {
    // One pass over the log: each record is checked against the chain and
    // applied to the fold as it is read, so verify's memory does not grow
    // with the log (418,000 records in the benchmark's footprint database).
    SQLite::Database fold(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    fold.exec("PRAGMA foreign_keys=ON");
    fold.exec(kCrmSchema);
    create_client_keys(fold);
    {
      SQLite::Transaction tx(fold);
      CrmStatements sql(fold);
      SQLite::Statement& q = stmt(kClientLogRows);
      std::string previous;
      int64_t last_seq = 0;
      bool broken = false;
      while (q.executeStep()) {
        const storage_internal::ClientLogRow r = storage_internal::client_log_row(q);
        const std::string hash = q.getColumn(7).getString();
        const int64_t expected = last_seq + 1;
        if (!broken && r.seq != expected) {
          add(AuditKind::missing, "", 0,
              fmt::format("client_log record {} is missing: the records go from {} to {}", expected, expected - 1,
                          r.seq));
          broken = true;
        } else if (!broken && storage_internal::client_log_hash(previous, r) != hash) {
          add(AuditKind::changed, r.instance, 0,
              fmt::format("client_log record {} was changed: it no longer matches its hash", r.seq));
          broken = true;
        }
        previous = hash;
        last_seq = r.seq;

        Result<Json> record = parse_json(r.record);
        Result<int64_t> id = record ? apply_crm_record(sql, *record, CrmContext{r.at, r.actor, r.instance, r.step})
                                    : Result<int64_t>(record.error());
        if (!id) {
          add(AuditKind::projection, r.instance, 0,
              fmt::format("client_log record {} cannot be applied after the records before it: {}", r.seq,
                          id.error().message));
          done(q);
          return;  // the tables the rest would give are unknown
        }
        if (*id != r.row_id) {
          add(AuditKind::projection, r.instance, 0,
              fmt::format("client_log record {} says it wrote row {}, but applying the records writes row {}", r.seq,
                          r.row_id, *id));
          done(q);
          return;
        }
      }
      done(q);
      tx.commit();
    }
    for (const char* table : kClientTables) compare_client_table(fold, table);
  }

  // One client table as stored against the same table of the fold, by id.
  void compare_client_table(SQLite::Database& fold, const char* table) {
    const std::string sql = fmt::format("SELECT * FROM {} ORDER BY id", table);
    SQLite::Statement have(db_, sql);
    SQLite::Statement want(fold, sql);
    bool more_have = have.executeStep();
    bool more_want = want.executeStep();
    size_t differing = 0;
    auto note = [&](std::string message) {
      if (++differing <= kRowsNamed) add(AuditKind::projection, "", 0, std::move(message));
    };
    while (more_have || more_want) {
      const int64_t h = more_have ? have.getColumn(0).getInt64() : INT64_MAX;
      const int64_t w = more_want ? want.getColumn(0).getInt64() : INT64_MAX;
      if (h < w) {
        note(fmt::format("{} row {} was written by no client_log record", table, h));
        more_have = have.executeStep();
      } else if (w < h) {
        note(fmt::format("{} row {} is missing: the client_log records write it", table, w));
        more_want = want.executeStep();
      } else {
        std::vector<std::string> diffs;
        const int columns = std::min(have.getColumnCount(), want.getColumnCount());
        for (int i = 1; i < columns; ++i) {
          const SQLite::Column a = have.getColumn(i);
          const SQLite::Column b = want.getColumn(i);
          if (a.getType() != b.getType() || (!a.isNull() && a.getString() != b.getString())) {
            diffs.push_back(fmt::format("{} is {} where the records give {}", have.getColumnName(i), value_shown(a),
                                        value_shown(b)));
          }
        }
        if (!diffs.empty()) {
          note(fmt::format("{} row {} differs from what the client_log records give: {}", table, h, fmt::join(diffs, ", ")));
        }
        more_have = have.executeStep();
        more_want = want.executeStep();
      }
    }
    if (differing > kRowsNamed) {
      add(AuditKind::projection, "", 0,
          fmt::format("{} more rows of {} differ from what the client_log records give", differing - kRowsNamed,
                      table));
    }
  }

  // The head of an append-only chain a seal recorded must still be there,
  // unchanged: with the chain's own check that proves no row before it changed.
  void check_sealed_chain(const char* sql_hash_at, const std::string& what, const SealedChain& sealed) {
    SQLite::Statement& q = stmt(sql_hash_at);
    q.bind(1, sealed.seq);
    std::optional<std::string> hash;
    if (q.executeStep()) hash = q.getColumn(0).getString();
    done(q);
    if (!hash) {
      add(AuditKind::seal, "", 0,
          fmt::format("{} {} was deleted after the seal, which recorded {} of them", what, sealed.seq, sealed.seq));
    } else if (*hash != sealed.hash) {
      add(AuditKind::seal, "", 0, fmt::format("{} {} is not the one sealed: the log was rewritten", what, sealed.seq));
    }
  }

  // Errors are findings too, except a malformed or ambiguous digest.
  Status check_seal(const std::string& given) {
    std::string prefix;
    for (char c : given) prefix += static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    if (prefix.size() < 8 || prefix.size() > 64 || !is_hex(prefix)) {
      return make_error(
          ErrorCode::invalid,
          fmt::format("\"{}\" is not a seal digest (8 to 64 hex digits, as `reglament seal` printed)", given));
    }
    std::vector<std::pair<SealRecord, std::string>> found;
    SQLite::Statement& q = stmt(kSealsByPrefix);
    q.bind(1, prefix);
    while (q.executeStep()) found.emplace_back(read_seal(q), q.getColumn(2).getString());
    done(q);
    std::sort(found.begin(), found.end(),
              [](const auto& a, const auto& b) { return a.first.digest < b.first.digest; });
    found.erase(std::unique(found.begin(), found.end(),
                            [](const auto& a, const auto& b) { return a.first.digest == b.first.digest; }),
                found.end());
    if (found.size() > 1) {
      return make_error(ErrorCode::invalid,
                        fmt::format("several seals begin with {}; give more of the digest", prefix));
    }
    if (found.empty()) {
      add(AuditKind::seal, "", 0,
          fmt::format("no seal {} is recorded in this database: the seals were altered, or the digest is not "
                      "from this database",
                      prefix));
      return {};
    }
    const SealRecord& record = found.front().first;
    report_.seal = record;
    Result<Json> heads_json = parse_json(found.front().second);
    Result<SealContent> content = heads_json ? decode_seal(*heads_json) : Result<SealContent>(heads_json.error());
    if (!content || seal_digest(*content) != record.digest ||
        static_cast<int64_t>(content->heads.size()) != record.instances) {
      add(AuditKind::seal, "", 0,
          fmt::format("the recorded seal {} was altered: what it records no longer gives its digest",
                      record.digest.substr(0, 16)));
      return {};
    }

    for (const SealHead& head : content->heads) {
      const std::vector<LoggedEvent> rows = logged_events(head.instance);
      if (rows.empty()) {
        add(AuditKind::seal, head.instance, 0,
            fmt::format("instance {} was deleted after the seal, which recorded {} events of it", head.instance,
                        head.seq));
        continue;
      }
      std::vector<LoggedEvent> prefix_rows;
      for (const LoggedEvent& r : rows) {
        if (r.seq <= head.seq) prefix_rows.push_back(r);
      }
      if (std::optional<ChainBreak> b = check_chain(head.instance, prefix_rows, head.seq)) {
        add(AuditKind::seal, head.instance, b->seq,
            fmt::format("instance {} changed before the seal: {}", head.instance, b->message));
      } else if (prefix_rows.back().hash != head.hash) {
        add(AuditKind::seal, head.instance, head.seq,
            fmt::format(
                "instance {} was rewritten before the seal: its event {} is not the one sealed, though its "
                "chain was recomputed to look whole",
                head.instance, head.seq));
      }
    }
    if (content->refusals) check_sealed_refusals(*content->refusals);
    if (content->deployments) {
      check_sealed_chain("SELECT hash FROM deployments WHERE seq = ?1", "deployment record", *content->deployments);
    }
    if (content->client_log) {
      check_sealed_chain("SELECT hash FROM client_log WHERE seq = ?1", "client_log record", *content->client_log);
    }
    for (const SealedDefinition& d : content->definitions) {
      auto it = definition_hashes_.find({d.process, d.version});
      if (it == definition_hashes_.end()) {
        add(AuditKind::seal, "", 0,
            fmt::format("process \"{}\" version {} was deleted after the seal", d.process, d.version));
      } else if (it->second != d.hash) {
        add(AuditKind::seal, "", 0,
            fmt::format("process \"{}\" version {} was replaced after the seal", d.process, d.version));
      }
    }
    return {};
  }

  // The last refusal a seal recorded must still be there, unchanged: with the
  // chain (check_refusals) that proves no refusal before it was removed.
  void check_sealed_refusals(const SealedRefusals& sealed) {
    SQLite::Statement& q = stmt(kRefusalHash);
    q.bind(1, sealed.seq);
    std::optional<std::string> hash;
    if (q.executeStep()) hash = q.getColumn(0).getString();
    done(q);
    if (!hash) {
      add(AuditKind::seal, "", 0,
          fmt::format("refusal {} was deleted after the seal, which recorded {} refusals", sealed.seq,
                      sealed.seq));
    } else if (*hash != sealed.hash) {
      add(AuditKind::seal, "", 0,
          fmt::format("the refusals were rewritten before the seal: refusal {} is not the one sealed",
                      sealed.seq));
    }
  }

  // What a seal taken now covers.
  SealContent current_seal() {
    SealContent seal;
    SQLite::Statement& q = stmt(kHeads);
    while (q.executeStep()) {
      seal.heads.push_back(
          SealHead{q.getColumn(0).getString(), q.getColumn(1).getInt64(), q.getColumn(2).getString()});
    }
    done(q);
    for (const auto& [key, hash] : definition_hashes_) {
      seal.definitions.push_back(SealedDefinition{key.first, key.second, hash});
    }
    SQLite::Statement& r = stmt(kLastRefusal);
    if (r.executeStep()) seal.refusals = SealedRefusals{r.getColumn(0).getInt64(), r.getColumn(1).getString()};
    done(r);
    SQLite::Statement& d = stmt(kLastDeployment);
    if (d.executeStep()) seal.deployments = SealedChain{d.getColumn(0).getInt64(), d.getColumn(1).getString()};
    done(d);
    SQLite::Statement& c = stmt(kLastClientLog);
    if (c.executeStep()) seal.client_log = SealedChain{c.getColumn(0).getInt64(), c.getColumn(1).getString()};
    done(c);
    return seal;
  }

  // The problems SQLite's `pragma` (quick_check or integrity_check) reports,
  // of the whole file or of one table; none when it says "ok". A damaged
  // file may make the check itself fail: that failure is the problem.
  std::vector<std::string> sqlite_check(const char* pragma, const std::string& table) {
    std::vector<std::string> problems;
    std::string quoted;
    for (char c : table) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    try {
      SQLite::Statement q(db_, table.empty() ? fmt::format("PRAGMA {}", pragma)
                                             : fmt::format("PRAGMA {}(\"{}\")", pragma, quoted));
      while (q.executeStep()) {
        std::string line = text_or_empty(q.getColumn(0));
        // The first problem comes after a heading naming the schema.
        if (line.rfind("*** in database ", 0) == 0 && line.find('\n') != std::string::npos) {
          line = line.substr(line.find('\n') + 1);
        }
        if (line != "ok" && !false_null_report(line)) problems.push_back(std::move(line));
      }
    } catch (const SQLite::Exception& e) {
      if (!is_damage(e)) throw;
      problems.push_back(e.what());
    }
    return problems;
  }

  // SQLite 3.40's quick_check reports "NULL value in T.C" for a NOT NULL
  // column of a WITHOUT ROWID table that is in its primary key but not first
  // (task_roles.task) when there is no NULL at all; integrity_check does not.
  // Such a report is believed only when the table really holds a NULL there.
  bool false_null_report(const std::string& line) {
    constexpr std::string_view kNull = "NULL value in ";
    if (line.rfind(kNull, 0) != 0) return false;
    const std::string what = line.substr(kNull.size());
    const size_t dot = what.rfind('.');
    if (dot == std::string::npos) return false;
    auto quote = [](const std::string& name) {
      std::string out = "\"";
      for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
      return out + "\"";
    };
    try {
      SQLite::Statement q(db_, fmt::format("SELECT 1 FROM {} WHERE {} IS NULL LIMIT 1", quote(what.substr(0, dot)),
                                           quote(what.substr(dot + 1))));
      return !q.executeStep();
    } catch (const SQLite::Exception&) {
      return false;  // unreadable: the report stands
    }
  }

  static SealRecord read_seal(SQLite::Statement& q) {
    SealRecord r;
    r.digest = q.getColumn(0).getString();
    r.at = q.getColumn(1).getString();
    r.instances = q.getColumn(3).getInt64();
    r.events = q.getColumn(4).getInt64();
    return r;
  }

  SQLite::Statement& stmt(const char* sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end())
      it = statements_.emplace(sql, std::make_unique<SQLite::Statement>(db_, sql)).first;
    it->second->reset();
    it->second->clearBindings();
    return *it->second;
  }

 private:
  static void done(SQLite::Statement& q) { q.reset(); }

  void add(AuditKind kind, std::string instance, int64_t seq, std::string message) {
    report_.findings.push_back(AuditFinding{kind, std::move(instance), seq, std::move(message)});
  }

  std::optional<InstanceRowData> instance_row(const std::string& id) {
    SQLite::Statement& q = stmt(kInstanceRow);
    q.bind(1, id);
    std::optional<InstanceRowData> out;
    if (q.executeStep()) {
      InstanceRowData r;
      r.process = q.getColumn(0).getString();
      r.version = q.getColumn(1).getInt();
      r.status = q.getColumn(2).getString();
      r.started_at = q.getColumn(3).getString();
      r.updated_at = q.getColumn(4).getString();
      r.ended_at = text_or_empty(q.getColumn(5));
      r.current_json = q.getColumn(6).getString();
      r.client = text_or_empty(q.getColumn(7));
      r.vars_json = q.getColumn(8).getString();
      r.last_seq = q.getColumn(9).getInt64();
      out = std::move(r);
    }
    done(q);
    return out;
  }

  // The first event names the definition version and its content hash; they
  // must still be what is deployed. Returns the compiled process, for step
  // titles, when it loads.
  const Process* check_definition_link(const std::string& id, const Event& first, const InstanceState& state) {
    if (first.type != EventType::instance_started) {
      add(AuditKind::changed, id, 1, fmt::format("event 1 of instance {} is not InstanceStarted", id));
      return nullptr;
    }
    auto it = definition_hashes_.find({state.process, state.version});
    if (it == definition_hashes_.end()) {
      add(AuditKind::definition, id, 1,
          fmt::format("instance {} was started on process \"{}\" version {}, which is not deployed", id,
                      state.process, state.version));
      return nullptr;
    }
    if (it->second != state.hash) {
      add(AuditKind::definition, id, 1,
          fmt::format("instance {} was started on process \"{}\" version {} with hash {}, but that version's hash "
                      "is now {}",
                      id, state.process, state.version, state.hash.substr(0, 12), it->second.substr(0, 12)));
      return nullptr;
    }
    auto key = std::make_pair(state.process, state.version);
    auto cached = processes_.find(key);
    if (cached == processes_.end()) {
      Result<Deployed> d = store_.definition(state.process, state.version);
      cached = processes_.emplace(key, d ? d->process : nullptr).first;
    }
    return cached->second.get();
  }

  void compare_instance(const std::string& id, const InstanceRowData& row, const InstanceState& s) {
    auto differ = [&](std::string_view column, const std::string& stored, const std::string& expected) {
      if (stored == expected) return;
      add(AuditKind::projection, id, 0,
          fmt::format("instance {}: instances.{} is {}, but the events say {}", id, column, shown(stored),
                      shown(expected)));
    };
    differ("process", row.process, s.process);
    differ("version", std::to_string(row.version), std::to_string(s.version));
    differ("status", row.status, s.status);
    differ("started_at", row.started_at, s.started_at);
    differ("updated_at", row.updated_at, s.updated_at);
    differ("ended_at", row.ended_at, s.ended_at);
    std::optional<std::vector<std::string>> current = string_items(row.current_json);
    differ("current_json", current ? joined(*current) : row.current_json, joined(s.current));
    auto client = s.variables.find("client");
    differ("client", row.client,
           client != s.variables.end() && client->second.is_string() ? client->second.as_string() : "");
    Result<Json> vars = parse_json(row.vars_json);
    const Json expected_vars(s.variables);
    if (!vars || !(*vars == expected_vars)) {
      // Name the variables that differ rather than dumping both objects.
      std::vector<std::string> names;
      const JsonObject none;
      const JsonObject& stored = vars && vars->is_object() ? vars->as_object() : none;
      std::set<std::string> all;
      for (const auto& [k, v] : stored) all.insert(k);
      for (const auto& [k, v] : s.variables) all.insert(k);
      for (const std::string& k : all) {
        auto a = stored.find(k);
        auto b = s.variables.find(k);
        if (a == stored.end() || b == s.variables.end() || !(a->second == b->second)) names.push_back(k);
      }
      add(AuditKind::projection, id, 0,
          fmt::format("instance {}: instances.vars_json differs from the events in {}", id,
                      vars ? joined(names) : std::string("every variable (it is not JSON)")));
    }
  }

  void compare_tasks(const std::string& id, const InstanceState& s, const Process* process) {
    std::map<std::string, TaskRowData> stored;
    {
      SQLite::Statement& q = stmt(kInstanceTaskRows);
      q.bind(1, id);
      while (q.executeStep()) {
        TaskRowData t;
        t.process = q.getColumn(1).getString();
        t.version = q.getColumn(2).getInt();
        t.step = q.getColumn(3).getString();
        t.title = q.getColumn(4).getString();
        t.roles_json = q.getColumn(5).getString();
        t.claimed_by = text_or_empty(q.getColumn(6));
        t.created_at = q.getColumn(7).getString();
        t.priority = q.getColumn(8).getInt();
        t.due = text_or_empty(q.getColumn(9));
        t.due_epoch = q.getColumn(10).isNull() ? std::string() : std::to_string(q.getColumn(10).getInt64());
        stored.emplace(q.getColumn(0).getString(), std::move(t));
      }
      done(q);
    }
    for (auto& [task, t] : stored) {
      SQLite::Statement& q = stmt(kTaskRoleRows);
      q.bind(1, task);
      while (q.executeStep()) t.role_rows.push_back(q.getColumn(0).getString());
      done(q);
    }

    std::set<std::string> expected_ids;
    for (const auto& [task_id, task] : s.tasks) {
      if (!task.open) continue;
      const Task* t = &task;
      expected_ids.insert(task_id);
      auto it = stored.find(task_id);
      if (it == stored.end()) {
        add(AuditKind::projection, id, 0,
            t->step.empty() ? fmt::format("task {} is open by the events, but tasks has no row for it", task_id)
                            : fmt::format("task {} (step {}) is open by the events, but tasks has no row for it",
                                          task_id, t->step));
        continue;
      }
      const TaskRowData& row = it->second;
      auto differ = [&](std::string_view column, const std::string& a, const std::string& b) {
        if (a == b) return;
        add(AuditKind::projection, id, 0,
            fmt::format("task {}: tasks.{} is {}, but the events say {}", task_id, column, shown(a), shown(b)));
      };
      differ("claimed_by", row.claimed_by, t->claimed_by);
      differ("step", row.step, t->step);
      differ("created_at", row.created_at, t->created_at);
      differ("priority", std::to_string(row.priority), std::to_string(static_cast<int>(t->priority)));
      differ("due", row.due, t->due);
      differ("due_epoch", row.due_epoch, t->has_due() ? std::to_string(t->due_epoch) : std::string());
      differ("process", row.process, s.process);
      differ("version", std::to_string(row.version), std::to_string(s.version));
      if (process != nullptr) {
        const Step* step = process->step(t->step);
        differ("title", row.title, step != nullptr ? step->title : std::string());
      }
      std::optional<std::vector<std::string>> roles = string_items(row.roles_json);
      differ("roles_json", roles ? joined(*roles) : row.roles_json, joined(t->roles));
      std::vector<std::string> want = t->roles;
      std::sort(want.begin(), want.end());
      want.erase(std::unique(want.begin(), want.end()), want.end());
      if (row.role_rows != want) {
        add(AuditKind::projection, id, 0,
            fmt::format("task {}: task_roles lists it for {}, but the events say {}", task_id,
                        joined(row.role_rows), joined(want)));
      }
    }
    for (const auto& [task, row] : stored) {
      if (expected_ids.count(task) != 0) continue;
      const Task* t = s.task(task);
      add(AuditKind::projection, id, 0,
          t != nullptr ? fmt::format("task {} has a row in tasks, but the events say it was completed by {}", task,
                                     t->completed_by.empty() ? std::string("someone") : t->completed_by)
                       : fmt::format("task {} has a row in tasks, but no event ever created it", task));
    }
  }

  void compare_jobs(const std::string& id, const InstanceState& s, const std::vector<Event>& events) {
    std::map<std::string, JobRowData> stored;
    {
      SQLite::Statement& q = stmt(kInstanceJobRows);
      q.bind(1, id);
      while (q.executeStep()) {
        JobRowData j;
        j.step = q.getColumn(1).getString();
        j.handler = q.getColumn(2).getString();
        j.attempts = q.getColumn(3).getInt();
        j.last_error = text_or_empty(q.getColumn(4));
        j.scheduled_at = q.getColumn(5).getString();
        j.incident = q.getColumn(6).getInt() != 0;
        j.retry_at = text_or_empty(q.getColumn(7));
        stored.emplace(q.getColumn(0).getString(), std::move(j));
      }
      done(q);
    }
    std::map<std::string, std::string> scheduled_at;
    for (const Event& e : events) {
      if (e.type == EventType::service_scheduled) scheduled_at.emplace(e.data.str("job"), e.at);
    }
    std::set<std::string> expected_ids;
    for (const auto& [job_id, job] : s.jobs) {
      if (!job.open) continue;
      const Job* j = &job;
      expected_ids.insert(job_id);
      auto it = stored.find(job_id);
      if (it == stored.end()) {
        add(AuditKind::projection, id, 0,
            fmt::format("job {} (step {}) is open by the events, but jobs has no row for it", job_id, j->step));
        continue;
      }
      auto differ = [&](std::string_view column, const std::string& a, const std::string& b) {
        if (a == b) return;
        add(AuditKind::projection, id, 0,
            fmt::format("job {}: jobs.{} is {}, but the events say {}", job_id, column, shown(a), shown(b)));
      };
      differ("step", it->second.step, j->step);
      differ("handler", it->second.handler, j->handler);
      differ("attempts", std::to_string(it->second.attempts), std::to_string(j->attempts));
      differ("last_error", it->second.last_error, j->last_error);
      differ("scheduled_at", it->second.scheduled_at, scheduled_at[job_id]);
      differ("incident", it->second.incident ? "1" : "0", j->incident ? "1" : "0");
      differ("retry_at", it->second.retry_at, j->retry_at);
    }
    for (const auto& [job, row] : stored) {
      if (expected_ids.count(job) == 0) {
        add(AuditKind::projection, id, 0,
            fmt::format("job {} has a row in jobs, but the events show no such open job", job));
      }
    }
  }

  void compare_outbox(const std::string& id, const std::vector<Event>& events) {
    std::vector<Message> expected;
    for (size_t i = 0; i < events.size(); ++i) {
      const Event& e = events[i];
      for (const Json& m : outbox_messages(e)) {
        expected.emplace_back(static_cast<int64_t>(i) + 1, e.step, m.str("to"), m.str("text"), e.at);
      }
    }
    std::vector<Message> stored;
    {
      SQLite::Statement& q = stmt(kOutboxRows);
      q.bind(1, id);
      while (q.executeStep()) {
        stored.emplace_back(q.getColumn(0).getInt64(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                            q.getColumn(3).getString(), q.getColumn(4).getString());
      }
      done(q);
    }
    std::sort(expected.begin(), expected.end());
    std::sort(stored.begin(), stored.end());
    std::vector<Message> lost, extra;
    std::set_difference(expected.begin(), expected.end(), stored.begin(), stored.end(), std::back_inserter(lost));
    std::set_difference(stored.begin(), stored.end(), expected.begin(), expected.end(), std::back_inserter(extra));
    for (const Message& m : lost) {
      add(AuditKind::projection, id, std::get<0>(m),
          fmt::format("the message to {} written by event {} is missing from the outbox", std::get<2>(m),
                      std::get<0>(m)));
    }
    for (const Message& m : extra) {
      add(AuditKind::projection, id, std::get<0>(m),
          fmt::format("the outbox holds a message to {} for event {} that no event wrote", std::get<2>(m),
                      std::get<0>(m)));
    }
  }

  SqliteStore& store_;
  SQLite::Database& db_;
  AuditReport& report_;
  std::map<std::pair<std::string, int>, std::string> definition_hashes_;
  std::map<std::pair<std::string, int>, std::shared_ptr<const Process>> processes_;
  // Declared last: finalized before anything they could refer to.
  std::unordered_map<const char*, std::unique_ptr<SQLite::Statement>> statements_;
};

// Every check of verify_log, inside the caller's transaction.
Status run_checks(Auditor& a, const VerifyOptions& options) {
  if (!a.check_pages(options.full)) return {};
  a.check_protection();
  if (Status st = a.check_refusals(); !st.ok()) return st;
  a.check_definitions();
  a.check_deployments();
  if (options.instance.empty()) {
    const std::vector<std::string> ids = a.instance_ids();
    for (const std::string& id : ids) a.check_instance(id);
    a.check_handed_out_ids(ids);
    a.check_stray_roles();
    a.check_stray_tasks();
    a.check_client_keys();
    a.check_client_tables();
  } else {
    a.check_instance(options.instance);
  }
  if (!options.against.empty()) return a.check_seal(options.against);
  return {};
}

}  // namespace

Result<AuditReport> verify_log(SqliteStore& store, const VerifyOptions& options) {
  SQLite::Database& db = storage_internal::connection(store);
  try {
    AuditReport report;
    // One snapshot for every read, so a writer committing meanwhile cannot
    // make the tables disagree with each other.
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::DEFERRED);
    {
      Auditor a(store, db, report);
      if (!options.instance.empty() && !a.known(options.instance)) {
        // An id that was handed out is reported as deleted by the checks
        // below; one that never was is simply unknown.
        SQLite::Statement q(db, kNextInstance);
        std::optional<int64_t> next = q.executeStep() ? as_number(q.getColumn(0).getString()) : std::nullopt;
        std::optional<int64_t> n = as_number(options.instance);
        if (!next || !n || *n < 1 || *n >= *next) {
          return make_error(ErrorCode::not_found,
                            fmt::format("no instance \"{}\"; see reglament instances", options.instance));
        }
        report.findings.push_back(
            AuditFinding{AuditKind::missing, options.instance, 0,
                         fmt::format("instance {} is missing: its id was handed out, and nothing of it remains",
                                     options.instance)});
      }
      if (Status st = run_checks(a, options); !st.ok()) return st.error();
    }
    // Nothing was written. After SQLite met a damaged page, the read
    // transaction may already be gone: it is then left to roll back.
    const bool damaged = std::any_of(report.findings.begin(), report.findings.end(),
                                     [](const AuditFinding& f) { return f.kind == AuditKind::damaged; });
    if (!damaged) tx.commit();
    return report;
  } catch (const SQLite::Exception& e) {
    if (is_damage(e)) {
      // Met while reading, past SQLite's own check: still a damaged file.
      return make_error(ErrorCode::integrity,
                        fmt::format("{} is damaged: SQLite says \"{}\" while verify read it",
                                    storage_internal::path_of(store), e.what()));
    }
    return sqlite_error(e, storage_internal::path_of(store));
  }
}

Result<SealRecord> seal_log(SqliteStore& store, const std::string& at) {
  SQLite::Database& db = storage_internal::connection(store);
  try {
    // The write lock first: nothing can be appended between the check and
    // the seal, so the seal covers exactly what was verified.
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    SealRecord record;
    {
      AuditReport report;
      Auditor a(store, db, report);
      if (Status st = run_checks(a, VerifyOptions{}); !st.ok()) return st.error();
      if (!report.ok()) {
        const AuditFinding& f = report.findings.front();
        return make_error(ErrorCode::integrity,
                          fmt::format("the log does not verify, so it cannot be sealed ({} problem{}, the first: "
                                      "{}); see reglament verify",
                                      report.findings.size(), report.findings.size() == 1 ? "" : "s", f.message));
      }
      const SealContent content = a.current_seal();
      record.digest = seal_digest(content);
      record.at = at;
      record.instances = static_cast<int64_t>(content.heads.size());
      for (const SealHead& h : content.heads) record.events += h.seq;
      SQLite::Statement& q = a.stmt(kInsertSeal);
      q.bind(1, record.digest);
      q.bind(2, record.at);
      q.bind(3, encode_seal(content).dump());
      q.bind(4, record.instances);
      q.bind(5, record.events);
      q.exec();
      q.reset();
    }
    tx.commit();
    return record;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, storage_internal::path_of(store));
  }
}

Result<std::vector<SealRecord>> recorded_seals(SqliteStore& store) {
  SQLite::Database& db = storage_internal::connection(store);
  try {
    std::vector<SealRecord> out;
    SQLite::Statement q(db, kAllSeals);
    while (q.executeStep()) {
      SealRecord r;
      r.digest = q.getColumn(0).getString();
      r.at = q.getColumn(1).getString();
      r.instances = q.getColumn(3).getInt64();
      r.events = q.getColumn(4).getInt64();
      out.push_back(std::move(r));
    }
    return out;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, storage_internal::path_of(store));
  }
}

}  // namespace reglament
