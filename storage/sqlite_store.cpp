// The SQLite store. The event log is the truth; every other table is a
// projection that append() brings in line with the state the caller computed
// (writing only the rows that changed), in the same transaction as the
// events, so readers never see one without the other. Schema and the meaning
// of each column: storage/README.md.

#include "storage/sqlite_store.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <sqlite3.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include "engine/audit.h"
#include "engine/sha256.h"
#include "storage/chains.h"
#include "storage/crm.h"
#include "storage/schema_internal.h"

namespace reglament {

using storage_internal::bind_text_or_null;
using storage_internal::kInstanceJobRows;
using storage_internal::kInstanceTaskRows;
using storage_internal::Query;
using storage_internal::record_deployment;
using storage_internal::sqlite_error;
using storage_internal::text_or_empty;

namespace {

// ---- SQL --------------------------------------------------------------------
// Every statement is prepared once per connection and reused (see Impl::query).

constexpr const char* kLastEvent =
    "SELECT seq, hash FROM events WHERE instance = ?1 ORDER BY seq DESC LIMIT 1";
constexpr const char* kInsertEvent =
    "INSERT INTO events (instance, seq, at, actor, type, step, data_json, format, hash, at_utc) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
constexpr const char* kUpsertInstance =
    "INSERT INTO instances (id, process, version, status, started_at, updated_at, ended_at, "
    "current_json, client, vars_json, last_seq) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
    "ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, "
    "ended_at = excluded.ended_at, current_json = excluded.current_json, client = excluded.client, "
    "vars_json = excluded.vars_json, last_seq = excluded.last_seq";
// Apart from the upsert, and only when it changed: an UPDATE that sets a
// column rewrites every index holding it (instances_by_process), changed or
// not, and the status changes twice in an instance's life.
constexpr const char* kSetInstanceStatus = "UPDATE instances SET status = ?2 WHERE id = ?1 AND status IS NOT ?2";
constexpr const char* kBumpNextInstance =
    "UPDATE meta SET value = CAST(max(CAST(value AS INTEGER), CAST(?1 AS INTEGER) + 1) AS TEXT) "
    "WHERE key = 'next_instance'";
constexpr const char* kNextInstance = "SELECT value FROM meta WHERE key = 'next_instance'";
constexpr const char* kDeleteTask = "DELETE FROM tasks WHERE task = ?1";
constexpr const char* kClaimTask = "UPDATE tasks SET claimed_by = ?2 WHERE task = ?1";
constexpr const char* kDeleteTaskRoles = "DELETE FROM task_roles WHERE task = ?1";
constexpr const char* kInsertTask =
    "INSERT INTO tasks (task, process, version, step, title, roles_json, created_at, priority, due, due_epoch, "
    "claimed_by, instance) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
// Rewrites every column but the ids (an escalation, a reassignment).
constexpr const char* kUpdateTask =
    "UPDATE tasks SET process = ?2, version = ?3, step = ?4, title = ?5, roles_json = ?6, created_at = ?7, "
    "priority = ?8, due = ?9, due_epoch = ?10, claimed_by = ?11 WHERE task = ?1";
constexpr const char* kDeleteTimer = "DELETE FROM timers WHERE instance = ?1";
constexpr const char* kInsertTimer = "INSERT INTO timers (instance, due_epoch) VALUES (?1, ?2)";
constexpr const char* kInstancesDue =
    "SELECT instance FROM timers WHERE due_epoch <= ?1 ORDER BY due_epoch, CAST(instance AS INTEGER), instance";
constexpr const char* kNextDue = "SELECT min(due_epoch) FROM timers";
constexpr const char* kInsertScheduleRun =
    "INSERT INTO schedule_runs (process, occurrence_epoch, occurrence, instance) VALUES (?1, ?2, ?3, ?4)";
constexpr const char* kLastScheduleRun = "SELECT max(occurrence_epoch) FROM schedule_runs WHERE process = ?1";
constexpr const char* kLatestDefinitions =
    "SELECT d.process, d.version, d.deployed_at FROM definitions d "
    "WHERE d.version = (SELECT max(version) FROM definitions WHERE process = d.process) ORDER BY d.process";
constexpr std::string_view kCalendarDocument = "calendar";
constexpr const char* kInsertTaskRole = "INSERT OR IGNORE INTO task_roles (task, role) VALUES (?1, ?2)";
constexpr const char* kDeleteJob = "DELETE FROM jobs WHERE job = ?1";
// Everything but when it was first scheduled, which does not change.
constexpr const char* kUpdateJob =
    "UPDATE jobs SET step = ?2, handler = ?3, attempts = ?4, last_error = ?5, incident = ?6, retry_at = ?7 "
    "WHERE job = ?1";
constexpr const char* kInsertJob =
    "INSERT INTO jobs (job, step, handler, attempts, last_error, incident, retry_at, scheduled_at, instance) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
constexpr const char* kSelectIncidents =
    "SELECT j.job, j.instance, i.process, j.step, j.handler, j.attempts, j.last_error, j.scheduled_at "
    "FROM jobs j JOIN instances i ON i.id = j.instance WHERE j.incident = 1 "
    "ORDER BY j.scheduled_at, CAST(j.instance AS INTEGER), j.job";
constexpr const char* kInsertLink =
    "INSERT INTO links (parent, job, idx, process, variables, wait) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr const char* kTakeLink =
    "UPDATE links SET child = ?4 WHERE parent = ?1 AND job = ?2 AND idx = ?3 AND child IS NULL";
constexpr const char* kLinkReturned = "UPDATE links SET returned = 1 WHERE parent = ?1 AND job = ?2 AND child = ?3";
constexpr const char* kPendingStarts =
    "SELECT parent, job, idx, process, variables FROM links WHERE child IS NULL AND (?1 = '' OR parent = ?1) "
    "ORDER BY CAST(parent AS INTEGER), parent, job, idx";
constexpr const char* kPendingReturns =
    "SELECT l.parent, l.job, l.child FROM links l JOIN instances c ON c.id = l.child "
    "WHERE l.wait = 1 AND l.returned = 0 AND c.status = 'completed' AND (?1 = '' OR l.child = ?1) "
    "ORDER BY CAST(l.child AS INTEGER), l.child";
constexpr const char* kLinksOf =
    "SELECT parent, job, idx, process, child, wait, returned FROM links WHERE parent = ?1 OR child = ?1 "
    "ORDER BY CAST(parent AS INTEGER), job, idx";
constexpr const char* kInsertOutbox =
    "INSERT INTO outbox (instance, step, seq, to_addr, text, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr const char* kSelectEvents =
    "SELECT seq, at, actor, type, step, data_json, format FROM events WHERE instance = ?1 ORDER BY seq";
// ?1/?2 are UTC instants (utc_instant) or NULL for an open bound.
constexpr const char* kEventsBetween =
    "SELECT instance, seq, at, actor, type, step, data_json, format FROM events "
    "WHERE at_utc IS NOT NULL AND (?1 IS NULL OR at_utc >= ?1) AND (?2 IS NULL OR at_utc < ?2) "
    "ORDER BY at_utc, CAST(instance AS INTEGER), instance, seq";
// In key order (the primary key, no sort); ?1 as kEventsBetween's ?2.
constexpr const char* kEventsBefore =
    "SELECT instance, seq, at, actor, type, step, data_json, format FROM events "
    "WHERE at_utc IS NOT NULL AND (?1 IS NULL OR at_utc < ?1) ORDER BY instance, seq";
constexpr std::string_view kIndicatorsDocument = "indicators";
constexpr const char* kSelectDocument = "SELECT source FROM documents WHERE name = ?1";
constexpr const char* kUpsertDocument =
    "INSERT INTO documents (name, source, deployed_at) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (name) DO UPDATE SET source = excluded.source, deployed_at = excluded.deployed_at "
    "WHERE documents.source IS NOT excluded.source";
constexpr const char* kLatestVersion = "SELECT max(version) FROM definitions WHERE process = ?1";
constexpr const char* kSelectDefinition =
    "SELECT hash, sources_json FROM definitions WHERE process = ?1 AND version = ?2";
constexpr const char* kLatestDefinition =
    "SELECT version, hash FROM definitions WHERE process = ?1 ORDER BY version DESC LIMIT 1";
constexpr const char* kInsertDefinition =
    "INSERT INTO definitions (process, version, hash, title, section, steps, sources_json, deployed_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr const char* kSelectDefinitions =
    "SELECT process, version, hash, title, steps, deployed_at FROM definitions ORDER BY process, version";
constexpr const char* kSelectOrg = "SELECT source FROM org WHERE id = 1";
constexpr const char* kUpsertOrg =
    "INSERT INTO org (id, source, loaded_at) VALUES (1, ?1, ?2) "
    "ON CONFLICT (id) DO UPDATE SET source = excluded.source, loaded_at = excluded.loaded_at "
    "WHERE org.source IS NOT excluded.source";

constexpr const char* kTaskColumns =
    "SELECT t.task, t.instance, t.process, t.version, t.step, t.title, t.roles_json, t.claimed_by, "
    "t.created_at, i.client, t.priority, t.due, t.due_epoch FROM tasks t JOIN instances i ON i.id = t.instance ";
// Inbox order: highest priority first, then the earliest due (tasks without
// a deadline after those with one), then oldest first, then by instance and
// item number as integers (so "9.2" comes before "10.1" and "3.10" after
// "3.9"). tasks_inbox_order (schema.cpp) is this order.
constexpr const char* kTaskOrder =
    " ORDER BY t.priority DESC, t.due_epoch IS NULL, t.due_epoch, t.created_at, CAST(t.instance AS INTEGER), "
    "t.instance, CAST(substr(t.task, length(t.instance) + 2) AS INTEGER), t.task";

constexpr const char* kSelectInstances =
    "SELECT id, process, version, status, started_at, updated_at, current_json, client FROM instances "
    "WHERE (?1 IS NULL OR process = ?1) AND (?2 IS NULL OR status = ?2) "
    "ORDER BY CAST(id AS INTEGER), id";
constexpr const char* kSelectOutbox =
    "SELECT id, instance, step, to_addr, text, at FROM outbox ORDER BY id";
constexpr const char* kPendingJobs =
    "SELECT instance FROM jobs WHERE incident = 0 GROUP BY instance ORDER BY min(scheduled_at), CAST(instance AS INTEGER), "
    "instance";

// ---- helpers ----------------------------------------------------------------

Json string_array(const std::vector<std::string>& items) {
  JsonArray a;
  a.reserve(items.size());
  for (const auto& s : items) a.emplace_back(s);
  return Json(std::move(a));
}

// Reads a JSON array of strings written by this module. Anything else in the
// column means the file was edited by hand; report it rather than guess.
Result<std::vector<std::string>> parse_string_array(const std::string& text, std::string_view what) {
  Result<Json> j = parse_json(text);
  if (!j || !j->is_array()) {
    return make_error(ErrorCode::integrity, fmt::format("the stored {} is not a JSON array", what));
  }
  std::vector<std::string> out;
  for (const Json& item : j->as_array()) {
    if (!item.is_string()) {
      return make_error(ErrorCode::integrity, fmt::format("the stored {} holds a non-text item", what));
    }
    out.push_back(item.as_string());
  }
  return out;
}

// The columns at, actor, type, step, data_json, format from `first` on.
Result<Event> read_event(SQLite::Statement& q, int first, const std::string& instance, int64_t seq) {
  using storage_internal::column_text;
  Event e;
  e.at = column_text(q, first);
  e.actor = column_text(q, first + 1);
  const std::string_view type = column_text(q, first + 2);
  std::optional<EventType> t = parse_event_type(type);
  if (!t) {
    return make_error(ErrorCode::integrity,
                      fmt::format("event {} of instance {} has an unknown type \"{}\"", seq, instance, type));
  }
  e.type = *t;
  e.step = column_text(q, first + 3);
  Result<Json> data = parse_json(column_text(q, first + 4));
  if (!data) {
    return make_error(ErrorCode::integrity, fmt::format("event {} of instance {} has unreadable data: {}", seq,
                                                        instance, data.error().message));
  }
  if (!data->is_object()) {
    return make_error(ErrorCode::integrity,
                      fmt::format("event {} of instance {} has data that is not a JSON object", seq, instance));
  }
  e.data = std::move(data).value();
  e.format = q.getColumn(first + 5).getInt();
  if (e.format < 1 || e.format > kEventFormat) {
    return make_error(ErrorCode::integrity, fmt::format("event {} of instance {} has format {}; this build reads 1..{}",
                                                        seq, instance, e.format, kEventFormat));
  }
  return e;
}

Error not_deployed(const std::string& process) {
  return make_error(ErrorCode::not_found, fmt::format("no process \"{}\" is deployed", process));
}

}  // namespace

// ---- Impl -------------------------------------------------------------------

struct SqliteStore::Impl {
  Impl(std::string p, SQLite::Database d) : path(std::move(p)), db(std::move(d)) {}

  // A prepared statement for `sql` (a string literal above), prepared on first use.
  Query query(const char* sql) {
    auto it = statements.find(sql);
    if (it == statements.end()) {
      it = statements.emplace(sql, std::make_unique<SQLite::Statement>(db, sql)).first;
    }
    return Query(*it->second);
  }

  Result<std::vector<StoredEvent>> read_events(const std::string& instance);
  Result<InboxRow> read_task_row(SQLite::Statement& s);
  Result<Org> current_org();
  // Brings the instance's rows in tasks/task_roles to after.open_tasks()
  // (rows no event explains, say from an edited file, are deleted too).
  // Throws SQLite::Exception.
  void write_tasks(const Deployed& def, const InstanceState& after);
  // Brings the instance's rows in jobs to after.open_jobs(), `events` being
  // those appended now. Throws SQLite::Exception.
  void write_jobs(const InstanceState& after, const std::vector<Event>& events);

  std::string path;
  SQLite::Database db;
  const HandlerCatalog* handlers = nullptr;
  // Between begin_batch and commit_batch: appends use savepoints inside the
  // batch's transaction instead of transactions of their own.
  bool in_batch = false;

  // Compiled definitions by (process, version). A stored version never
  // changes, so entries stay valid; compiling is the expensive part of a
  // command, which is why they are kept.
  std::map<std::pair<std::string, int>, Deployed> definitions;
  // The org chart as last parsed, and the text it was parsed from; reused
  // while the stored text is the same (another process may deploy meanwhile).
  std::optional<std::string> org_source;
  Org org;
  // The calendar as last parsed (it carries its source text).
  std::shared_ptr<const WorkingCalendar> calendar;

  // Declared last so they are finalized before the connection closes.
  std::unordered_map<const char*, std::unique_ptr<SQLite::Statement>> statements;
  std::unique_ptr<CrmStatements> crm;  // the client database's writes (crm_statements())
};

Result<std::vector<StoredEvent>> SqliteStore::Impl::read_events(const std::string& instance) {
  std::vector<StoredEvent> out;
  Query q = query(kSelectEvents);
  q->bind(1, instance);
  while (q->executeStep()) {
    StoredEvent se;
    se.seq = q->getColumn(0).getInt64();
    se.instance = instance;
    if (se.seq != static_cast<int64_t>(out.size()) + 1) {
      return make_error(ErrorCode::integrity,
                        fmt::format("the log of instance {} has a gap before event {}", instance, se.seq));
    }
    Result<Event> e = read_event(*q, 1, instance, se.seq);
    if (!e) return e.error();
    se.event = std::move(e).value();
    out.push_back(std::move(se));
  }
  return out;
}

namespace {

// A tasks row but for its id, instance and claim: what a command other than
// a claim changes, if anything.
struct TaskRowText {
  std::string process;
  int version = 0;
  std::string step;
  std::string title;
  std::string roles_json;
  std::string created_at;
  int priority = 0;
  std::string due;
  std::optional<int64_t> due_epoch;

  bool operator==(const TaskRowText&) const = default;
};

TaskRowText task_row(const Deployed& def, const InstanceState& s, const Task& t) {
  const Step* step = def.process ? def.process->step(t.step) : nullptr;
  TaskRowText row;
  row.process = s.process;
  row.version = s.version;
  row.step = t.step;
  row.title = step ? step->title : std::string();
  row.roles_json = string_array(t.roles).dump();
  row.created_at = t.created_at;
  row.priority = static_cast<int>(t.priority);
  row.due = t.due;
  if (t.has_due()) row.due_epoch = t.due_epoch;
  return row;
}

// Binds ?2..?11 of kInsertTask/kUpdateTask: the row, then the claim.
void bind_task_row(SQLite::Statement& q, const TaskRowText& row, const std::string& claimed_by) {
  q.bind(2, row.process);
  q.bind(3, row.version);
  q.bind(4, row.step);
  q.bind(5, row.title);
  q.bind(6, row.roles_json);
  q.bind(7, row.created_at);
  q.bind(8, row.priority);
  bind_text_or_null(q, 9, row.due);
  if (row.due_epoch) {
    q.bind(10, *row.due_epoch);
  } else {
    q.bind(10);
  }
  bind_text_or_null(q, 11, claimed_by);
}

}  // namespace

void SqliteStore::Impl::write_tasks(const Deployed& def, const InstanceState& after) {
  struct Stored {
    std::string claimed_by;
    TaskRowText row;
    bool open = false;  // still open by the state
  };
  std::map<std::string, Stored, std::less<>> stored;
  {
    Query q = query(kInstanceTaskRows);
    q->bind(1, after.id);
    while (q->executeStep()) {
      Stored st;
      st.row.process = q->getColumn(1).getString();
      st.row.version = q->getColumn(2).getInt();
      st.row.step = q->getColumn(3).getString();
      st.row.title = q->getColumn(4).getString();
      st.row.roles_json = q->getColumn(5).getString();
      st.claimed_by = text_or_empty(q->getColumn(6));
      st.row.created_at = q->getColumn(7).getString();
      st.row.priority = q->getColumn(8).getInt();
      st.row.due = text_or_empty(q->getColumn(9));
      if (!q->getColumn(10).isNull()) st.row.due_epoch = q->getColumn(10).getInt64();
      stored.emplace(q->getColumn(0).getString(), std::move(st));
    }
  }
  auto insert_roles = [&](const Task& t) {
    for (const std::string& role : t.roles) {
      Query q = query(kInsertTaskRole);
      q->bind(1, t.id);
      q->bind(2, role);
      q->exec();
    }
  };
  for (const Task* t : after.open_tasks()) {
    TaskRowText row = task_row(def, after, *t);
    auto it = stored.find(t->id);
    if (it == stored.end()) {
      Query q = query(kInsertTask);
      q->bind(1, t->id);
      bind_task_row(*q, row, t->claimed_by);
      q->bind(12, after.id);
      q->exec();
      insert_roles(*t);
      continue;
    }
    Stored& st = it->second;
    st.open = true;
    if (st.row == row) {
      if (st.claimed_by != t->claimed_by) {  // a claim or a release: one column, in no index
        Query q = query(kClaimTask);
        q->bind(1, t->id);
        bind_text_or_null(*q, 2, t->claimed_by);
        q->exec();
      }
      continue;
    }
    {
      Query q = query(kUpdateTask);
      q->bind(1, t->id);
      bind_task_row(*q, row, t->claimed_by);
      q->exec();
    }
    if (st.row.roles_json != row.roles_json) {  // reassigned
      Query q = query(kDeleteTaskRoles);
      q->bind(1, t->id);
      q->exec();
      insert_roles(*t);
    }
  }
  for (const auto& [task, st] : stored) {  // closed: task_roles follow by ON DELETE CASCADE
    if (st.open) continue;
    Query q = query(kDeleteTask);
    q->bind(1, task);
    q->exec();
  }
}

void SqliteStore::Impl::write_jobs(const InstanceState& after, const std::vector<Event>& events) {
  struct Row {
    std::string step, handler;
    int attempts = 0;
    std::string last_error;
    bool incident = false;
    std::string retry_at;
    bool operator==(const Row&) const = default;
  };
  struct Stored {
    Row row;
    std::string scheduled_at;
    bool open = false;  // still open by the state
  };
  std::map<std::string, Stored, std::less<>> stored;
  {
    Query q = query(kInstanceJobRows);
    q->bind(1, after.id);
    while (q->executeStep()) {
      Stored st;
      st.row.step = q->getColumn(1).getString();
      st.row.handler = q->getColumn(2).getString();
      st.row.attempts = q->getColumn(3).getInt();
      st.row.last_error = text_or_empty(q->getColumn(4));
      st.scheduled_at = q->getColumn(5).getString();
      st.row.incident = q->getColumn(6).getInt() != 0;
      st.row.retry_at = text_or_empty(q->getColumn(7));
      stored.emplace(q->getColumn(0).getString(), std::move(st));
    }
  }
  auto bind_row = [](SQLite::Statement& q, const Row& row) {
    q.bind(2, row.step);
    q.bind(3, row.handler);
    q.bind(4, row.attempts);
    bind_text_or_null(q, 5, row.last_error);
    q.bind(6, row.incident ? 1 : 0);
    bind_text_or_null(q, 7, row.retry_at);
  };
  for (const Job* j : after.open_jobs()) {
    const Row row{j->step, j->handler, j->attempts, j->last_error, j->incident, j->retry_at};
    auto it = stored.find(j->id);
    if (it != stored.end()) {
      it->second.open = true;
      if (it->second.row == row) continue;
      Query q = query(kUpdateJob);
      q->bind(1, j->id);
      bind_row(*q, row);
      q->exec();
      continue;
    }
    // A new job was first scheduled by its ServiceScheduled event, among
    // these events (the state does not carry the time).
    std::string scheduled_at = after.updated_at;
    for (const Event& e : events) {
      if (e.type == EventType::service_scheduled && e.data.str("job") == j->id) {
        scheduled_at = e.at;
        break;
      }
    }
    Query q = query(kInsertJob);
    q->bind(1, j->id);
    bind_row(*q, row);
    q->bind(8, scheduled_at);
    q->bind(9, after.id);
    q->exec();
  }
  for (const auto& [job, st] : stored) {
    if (st.open) continue;
    Query q = query(kDeleteJob);
    q->bind(1, job);
    q->exec();
  }
}

Result<InboxRow> SqliteStore::Impl::read_task_row(SQLite::Statement& s) {
  InboxRow row;
  row.task = s.getColumn(0).getString();
  row.instance = s.getColumn(1).getString();
  row.process = s.getColumn(2).getString();
  row.version = s.getColumn(3).getInt();
  row.step = s.getColumn(4).getString();
  row.title = s.getColumn(5).getString();
  Result<std::vector<std::string>> roles = parse_string_array(s.getColumn(6).getString(), "roles of a task");
  if (!roles) return roles.error();
  row.roles = std::move(roles).value();
  row.claimed_by = text_or_empty(s.getColumn(7));
  row.since = s.getColumn(8).getString();
  row.client = text_or_empty(s.getColumn(9));
  const int priority = s.getColumn(10).getInt();
  row.priority = priority >= 0 && priority <= 3 ? static_cast<Priority>(priority) : Priority::normal;
  row.due = text_or_empty(s.getColumn(11));
  row.due_epoch = s.getColumn(12).isNull() ? 0 : s.getColumn(12).getInt64();
  return row;
}

Result<Org> SqliteStore::Impl::current_org() {
  std::string source;
  {
    Query q = query(kSelectOrg);
    if (!q->executeStep()) {
      return make_error(ErrorCode::not_found, "no org chart is deployed; run `reglament deploy` first");
    }
    source = q->getColumn(0).getString();
  }
  if (org_source && *org_source == source) return org;
  Result<Org> parsed = load_org("org.yaml", source);
  if (!parsed) return parsed.error();
  org = parsed.value();
  org_source = std::move(source);
  return org;
}

// ---- SqliteStore --------------------------------------------------------------

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
  if (Status created = storage_internal::create_private_file(path); !created) return created.error();
  try {
    // NOMUTEX: a store is used by one thread at a time (its caches are not
    // synchronised either), so SQLite need not lock the connection around
    // every call — which it otherwise does per column read.
    // A file this process may not write is opened read-only: reading
    // commands work on it, and a write fails with one sentence (sqlite_error).
    const storage_internal::OpenMode mode = storage_internal::open_mode(path);
    const bool read_only = mode != storage_internal::OpenMode::read_write;
    SQLite::Database db(storage_internal::open_name(path, mode),
                        mode == storage_internal::OpenMode::immutable
                            ? SQLite::OPEN_READONLY | SQLite::OPEN_URI | SQLite::OPEN_NOMUTEX
                        : read_only ? SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX
                                    : SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX);
    if (Status ready = storage_internal::prepare_database(db, path, read_only); !ready) return ready.error();
    auto impl = std::make_unique<Impl>(path, std::move(db));
    return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, path);
  }
}

void SqliteStore::set_handlers(const HandlerCatalog* handlers) {
  impl_->handlers = handlers;
  impl_->definitions.clear();
}

Result<std::vector<Event>> SqliteStore::events(const std::string& instance) {
  try {
    Result<std::vector<StoredEvent>> stored = impl_->read_events(instance);
    if (!stored) return stored.error();
    std::vector<Event> out;
    out.reserve(stored->size());
    for (StoredEvent& se : stored.value()) out.push_back(std::move(se.event));
    return out;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

Result<std::vector<StoredEvent>> SqliteStore::history(const std::string& instance) {
  try {
    return impl_->read_events(instance);
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

// `version`, or the latest deployed version when it is 0 or less.
Result<int> SqliteStore::latest_if_zero(const std::string& process, int version) {
  if (version > 0) return version;
  Query q = impl_->query(kLatestVersion);
  q->bind(1, process);
  if (!q->executeStep() || q->getColumn(0).isNull()) return not_deployed(process);
  return q->getColumn(0).getInt();
}

Result<SqliteStore::StoredSources> SqliteStore::definition_sources(const std::string& process, int version) {
  try {
    auto resolved = latest_if_zero(process, version);
    if (!resolved) return resolved.error();
    const int v = *resolved;
    StoredSources out;
    out.version = v;
    std::string sources_json;
    {
      Query q = impl_->query(kSelectDefinition);
      q->bind(1, process);
      q->bind(2, v);
      if (!q->executeStep()) {
        Query latest = impl_->query(kLatestVersion);
        latest->bind(1, process);
        if (!latest->executeStep() || latest->getColumn(0).isNull()) return not_deployed(process);
        return make_error(ErrorCode::not_found, fmt::format("process \"{}\" has no version {}", process, v));
      }
      out.hash = q->getColumn(0).getString();
      sources_json = q->getColumn(1).getString();
    }

    Result<Json> files = parse_json(sources_json);
    if (!files || !files->is_object()) {
      return make_error(ErrorCode::integrity,
                        fmt::format("the stored sources of process \"{}\" version {} are unreadable", process, v));
    }
    for (const auto& [file, text] : files->as_object()) {
      if (!text.is_string()) {
        return make_error(ErrorCode::integrity,
                          fmt::format("the stored file {} of process \"{}\" version {} is not text", file, process, v));
      }
      out.sources.files.emplace(file, text.as_string());
    }
    return out;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

Result<Deployed> SqliteStore::definition(const std::string& process, int version) {
  try {
    auto resolved = latest_if_zero(process, version);
    if (!resolved) return resolved.error();
    const int v = *resolved;
    const auto key = std::make_pair(process, v);
    if (auto it = impl_->definitions.find(key); it != impl_->definitions.end()) return it->second;
    Result<StoredSources> stored = definition_sources(process, v);
    if (!stored) return stored.error();
    const std::string& hash = stored->hash;
    const SourceSet& sources = stored->sources;

    // Recompile against the current org chart; without one, role checks see
    // an empty org and say so.
    Org org;
    if (Result<Org> current = impl_->current_org(); current) {
      org = std::move(current).value();
    } else if (current.error().code != ErrorCode::not_found) {
      return current.error();
    }
    Result<LoadedProcess> loaded = load_process(sources, org, impl_->handlers);
    if (!loaded) {
      Error err = loaded.error();
      err.message = fmt::format("process \"{}\" version {} no longer loads: {}", process, v, err.message);
      return err;
    }
    if (loaded->hash != hash) {
      return make_error(ErrorCode::integrity,
                        fmt::format("process \"{}\" version {} does not match its stored hash", process, v));
    }
    Deployed d{loaded->process, v, hash};
    impl_->definitions.emplace(key, d);
    return d;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

Result<std::string> SqliteStore::org_text() {
  try {
    Query q = impl_->query(kSelectOrg);
    if (!q->executeStep())
      return make_error(ErrorCode::not_found, "no org chart is deployed; run `reglament deploy` first");
    return q->getColumn(0).getString();
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

Result<Org> SqliteStore::org() {
  try {
    return impl_->current_org();
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

Result<std::string> SqliteStore::next_instance_id() {
  try {
    Query q = impl_->query(kNextInstance);
    if (!q->executeStep()) {
      return make_error(ErrorCode::integrity, "the database has lost its instance counter (meta next_instance)");
    }
    return q->getColumn(0).getString();
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

namespace {

// The transaction of one append: BEGIN IMMEDIATE ... COMMIT of its own, or,
// inside a batch, a savepoint, so that a failed append leaves the batch's
// other appends as they were. Rolls back unless committed, as
// SQLite::Transaction does. `Exec` runs one statement (prepared once and
// cached: parsing BEGIN and COMMIT again for every command showed in profiles).
template <class Exec>
class AppendScope {
 public:
  AppendScope(Exec exec, bool in_batch) : exec_(std::move(exec)), savepoint_(in_batch) {
    exec_(savepoint_ ? "SAVEPOINT append" : "BEGIN IMMEDIATE");
  }
  ~AppendScope() {
    if (done_) return;
    try {
      if (savepoint_) {
        exec_("ROLLBACK TO append");
        exec_("RELEASE append");
      } else {
        exec_("ROLLBACK");
      }
    } catch (const SQLite::Exception&) {
      // Destructors never throw; a failed rollback leaves SQLite to undo the
      // transaction when the connection closes.
    }
  }
  AppendScope(const AppendScope&) = delete;
  AppendScope& operator=(const AppendScope&) = delete;

  void commit() {
    exec_(savepoint_ ? "RELEASE append" : "COMMIT");
    done_ = true;
  }

 private:
  Exec exec_;
  bool savepoint_;
  bool done_ = false;
};

}  // namespace

Status SqliteStore::append(const Deployed& def, const InstanceState& after, int64_t expected_seq,
                           const std::vector<Event>& events) {
  const int64_t last_seq = expected_seq + static_cast<int64_t>(events.size());
  if (after.id.empty()) return make_error(ErrorCode::internal, "append was given a state without an instance id");
  if (after.seq != last_seq) {
    return make_error(ErrorCode::internal,
                      fmt::format("append for instance {} was given a state after {} events, not {}", after.id,
                                  after.seq, last_seq));
  }
  try {
    AppendScope tx([this](const char* sql) { impl_->query(sql)->exec(); }, impl_->in_batch);

    int64_t stored_seq = 0;
    std::string prev_hash;
    {
      Query q = impl_->query(kLastEvent);
      q->bind(1, after.id);
      if (q->executeStep()) {
        stored_seq = q->getColumn(0).getInt64();
        prev_hash = q->getColumn(1).getString();
      }
    }
    if (stored_seq != expected_seq) {
      return make_error(ErrorCode::conflict,
                        fmt::format("instance {} was changed by someone else; try again", after.id));
    }

    // The instance row first: events, tasks and jobs refer to it.
    {
      Query q = impl_->query(kUpsertInstance);
      q->bind(1, after.id);
      q->bind(2, after.process);
      q->bind(3, after.version);
      q->bind(4, after.status);
      q->bind(5, after.started_at);
      q->bind(6, after.updated_at);
      bind_text_or_null(*q, 7, after.ended_at);
      q->bind(8, string_array(after.current).dump());
      auto client = after.variables.find("client");
      if (client != after.variables.end() && client->second.is_string()) {
        q->bind(9, client->second.as_string());
      } else {
        q->bind(9);
      }
      q->bind(10, Json(after.variables).dump());
      q->bind(11, last_seq);
      q->exec();
    }
    {
      Query q = impl_->query(kSetInstanceStatus);
      q->bind(1, after.id);
      q->bind(2, after.status);
      q->exec();
    }
    if (expected_seq == 0) {
      Query q = impl_->query(kBumpNextInstance);
      q->bind(1, after.id);
      q->exec();
    }

    for (size_t i = 0; i < events.size(); ++i) {
      const Event& e = events[i];
      const int64_t seq = expected_seq + static_cast<int64_t>(i) + 1;
      // The data's text goes into its column and into the hash: dumped once.
      const std::string data = e.data.dump();
      std::string hash = chain_hash(prev_hash, after.id, seq, e, data);
      {
        Query q = impl_->query(kInsertEvent);
        q->bind(1, after.id);
        q->bind(2, seq);
        q->bind(3, e.at);
        bind_text_or_null(*q, 4, e.actor);
        q->bind(5, std::string(to_string(e.type)));
        bind_text_or_null(*q, 6, e.step);
        q->bind(7, data);
        q->bind(8, e.format);
        q->bind(9, hash);
        // The instant in UTC, so that periods compare across offsets; NULL
        // for a time that is not a timestamp (never in a period).
        if (std::optional<std::string> utc = utc_instant(e.at)) {
          q->bind(10, *utc);
        } else {
          q->bind(10);
        }
        q->exec();
      }
      prev_hash = std::move(hash);

      if (e.type == EventType::instance_started && !e.data.str("scheduled_for").empty()) {
        // One start per occurrence: a second one fails here (PRIMARY KEY).
        auto occurrence = parse_moment(e.data.str("scheduled_for"));
        if (!occurrence.ok()) return occurrence.error();
        Query q = impl_->query(kInsertScheduleRun);
        q->bind(1, after.process);
        q->bind(2, occurrence->epoch);
        q->bind(3, e.data.str("scheduled_for"));
        q->bind(4, after.id);
        try {
          q->exec();
        } catch (const SQLite::Exception& ex) {
          if (ex.getErrorCode() != SQLITE_CONSTRAINT) throw;
          return make_error(ErrorCode::conflict,
                            fmt::format("{} was already started for {}", after.process, e.data.str("scheduled_for")));
        }
      }
      if (e.type == EventType::instance_started && e.data.get("parent").is_object()) {
        // One child per (parent, job, index): a second start of it fails here.
        const Json& parent = e.data.get("parent");
        Query q = impl_->query(kTakeLink);
        q->bind(1, parent.str("instance"));
        q->bind(2, parent.str("job"));
        q->bind(3, parent.integer("index"));
        q->bind(4, after.id);
        if (q->exec() == 0) {
          return make_error(ErrorCode::conflict,
                            fmt::format("job {} of instance {} has already started its instance #{}", parent.str("job"),
                                        parent.str("instance"), parent.integer("index") + 1));
        }
      }
      if (e.type == EventType::service_completed) {
        const Json& starts = e.data.get("starts");
        if (starts.is_array()) {
          int64_t index = 0;
          for (const Json& st : starts.as_array()) {
            Query q = impl_->query(kInsertLink);
            q->bind(1, after.id);
            q->bind(2, e.data.str("job"));
            q->bind(3, index++);
            q->bind(4, st.str("process"));
            q->bind(5, st.get("variables").dump());
            q->bind(6, e.data.integer("awaiting") > 0 ? 1 : 0);
            q->exec();
          }
        }
        const Json& records = e.data.get("records");
        if (records.is_array()) {
          CrmContext crm{e.at, e.actor, after.id, e.step};
          for (const Json& r : records.as_array()) {
            auto applied = apply_crm_record(storage_internal::crm_statements(*this), r, crm);
            if (!applied.ok()) {
              // invalid: the runtime records it as the job's failure.
              return make_error(ErrorCode::invalid, fmt::format("the client database refused a record of step {}: {}",
                                                                e.step, applied.error().message));
            }
          }
        }
      }
      if (e.type == EventType::child_returned) {
        Query q = impl_->query(kLinkReturned);
        q->bind(1, after.id);
        q->bind(2, e.data.str("job"));
        q->bind(3, e.data.str("child"));
        q->exec();
      }
      for (const Json& m : outbox_messages(e)) {
        Query q = impl_->query(kInsertOutbox);
        q->bind(1, after.id);
        q->bind(2, e.step);
        q->bind(3, seq);
        q->bind(4, m.str("to"));
        q->bind(5, m.str("text"));
        q->bind(6, e.at);
        q->exec();
      }
    }

    // Open tasks: each row compared with the state and only the difference
    // written, since every page a command dirties is a WAL frame and the
    // frames are the command's cost (docs/performance.md): a claim changes
    // one column, a completion deletes one task and inserts the next.
    impl_->write_tasks(def, after);

    // What is due next: rewritten only when these events can change it, so
    // a process without waits or deadlines never touches the table.
    bool timing = false;
    for (const Event& e : events) {
      switch (e.type) {
        case EventType::timer_started:
        case EventType::timer_fired:
        case EventType::deadline_passed:
        case EventType::instance_completed:
        case EventType::service_failed:  // a retry time comes or goes
        case EventType::incident_retried:
        case EventType::service_skipped:
          timing = true;
          break;
        case EventType::service_completed: {  // a retried job's retry time goes
          auto job = after.jobs.find(e.data.str("job"));
          timing = timing || (job != after.jobs.end() && !job->second.retry_at.empty());
          break;
        }
        case EventType::task_created:
        case EventType::task_completed:
        case EventType::task_cancelled: {
          const Task* t = after.task(e.data.str("task"));
          timing = timing || (t != nullptr && t->has_due());
          break;
        }
        default:
          break;
      }
    }
    if (timing) {
      {
        Query q = impl_->query(kDeleteTimer);
        q->bind(1, after.id);
        q->exec();
      }
      std::optional<int64_t> due = after.status == "active" ? after.next_due() : std::nullopt;
      if (due) {
        Query q = impl_->query(kInsertTimer);
        q->bind(1, after.id);
        q->bind(2, *due);
        q->exec();
      }
    }

    // Open jobs: the same, only what changed.
    impl_->write_jobs(after, events);

    tx.commit();
    return {};
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

Result<std::vector<EventStore::PendingStart>> SqliteStore::pending_starts(const std::string& parent) {
  try {
    std::vector<PendingStart> out;
    Query q = impl_->query(kPendingStarts);
    q->bind(1, parent);
    while (q->executeStep()) {
      PendingStart p;
      p.parent = q->getColumn(0).getString();
      p.job = q->getColumn(1).getString();
      p.index = q->getColumn(2).getInt();
      p.process = q->getColumn(3).getString();
      auto vars = parse_json(q->getColumn(4).getString());
      if (vars.ok() && vars->is_object()) p.variables = vars->as_object();
      out.push_back(std::move(p));
    }
    return out;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

Result<std::vector<EventStore::PendingReturn>> SqliteStore::pending_returns(const std::string& child) {
  try {
    std::vector<PendingReturn> out;
    Query q = impl_->query(kPendingReturns);
    q->bind(1, child);
    while (q->executeStep())
      out.push_back({q->getColumn(0).getString(), q->getColumn(1).getString(), q->getColumn(2).getString()});
    return out;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

const ClientBook* SqliteStore::client_book() { return &clients(); }

Result<std::vector<IncidentRow>> SqliteStore::incidents() {
  try {
    std::vector<IncidentRow> out;
    Query q = impl_->query(kSelectIncidents);
    while (q->executeStep()) {
      IncidentRow r;
      r.job = q->getColumn(0).getString();
      r.instance = q->getColumn(1).getString();
      r.process = q->getColumn(2).getString();
      r.step = q->getColumn(3).getString();
      r.handler = q->getColumn(4).getString();
      r.attempts = q->getColumn(5).getInt();
      r.error = q->getColumn(6).isNull() ? std::string() : q->getColumn(6).getString();
      r.since = q->getColumn(7).getString();
      out.push_back(std::move(r));
    }
    return out;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

Result<std::vector<LinkRow>> SqliteStore::links(const std::string& instance) {
  try {
    std::vector<LinkRow> out;
    Query q = impl_->query(kLinksOf);
    q->bind(1, instance);
    while (q->executeStep()) {
      LinkRow r;
      r.parent = q->getColumn(0).getString();
      r.job = q->getColumn(1).getString();
      r.index = q->getColumn(2).getInt();
      r.process = q->getColumn(3).getString();
      r.child = q->getColumn(4).isNull() ? std::string() : q->getColumn(4).getString();
      r.wait = q->getColumn(5).getInt() != 0;
      r.returned = q->getColumn(6).getInt() != 0;
      out.push_back(std::move(r));
    }
    return out;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

Result<std::vector<std::string>> SqliteStore::instances_with_pending_jobs() {
  try {
    std::vector<std::string> out;
    Query q = impl_->query(kPendingJobs);
    while (q->executeStep()) out.push_back(q->getColumn(0).getString());
    return out;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

Result<std::vector<std::string>> SqliteStore::instances_due(int64_t now) {
  try {
    std::vector<std::string> out;
    Query q = impl_->query(kInstancesDue);
    q->bind(1, now);
    while (q->executeStep()) out.push_back(q->getColumn(0).getString());
    return out;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

Result<std::optional<int64_t>> SqliteStore::next_due() {
  try {
    Query q = impl_->query(kNextDue);
    if (!q->executeStep() || q->getColumn(0).isNull()) return std::optional<int64_t>();
    return std::optional<int64_t>(q->getColumn(0).getInt64());
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

Result<std::shared_ptr<const WorkingCalendar>> SqliteStore::calendar() {
  try {
    std::string source;
    {
      Query q = impl_->query(kSelectDocument);
      q->bind(1, std::string(kCalendarDocument));
      if (q->executeStep()) source = q->getColumn(0).getString();
    }
    if (source.empty()) return EventStore::calendar();  // the default
    if (impl_->calendar && impl_->calendar->source == source) return impl_->calendar;
    CalendarLoad loaded = load_calendar("calendar.yaml", source, read_system_zone);
    if (!loaded.problems.empty()) {
      Error e = loaded.problems.front();
      e.message = "the deployed calendar cannot be read: " + e.message;
      return e;
    }
    impl_->calendar = std::make_shared<const WorkingCalendar>(std::move(loaded.calendar));
    return impl_->calendar;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

Result<std::vector<EventStore::Scheduled>> SqliteStore::scheduled_processes() {
  try {
    std::vector<std::tuple<std::string, int, std::string>> latest;
    {
      Query q = impl_->query(kLatestDefinitions);
      while (q->executeStep())
        latest.emplace_back(q->getColumn(0).getString(), q->getColumn(1).getInt(), q->getColumn(2).getString());
    }
    std::vector<Scheduled> out;
    for (const auto& [process, version, deployed_at] : latest) {
      auto def = definition(process, version);
      if (!def.ok()) return def.error();
      if (!def->process->schedule) continue;
      Scheduled s;
      s.def = std::move(*def);
      if (auto m = parse_moment(deployed_at); m.ok()) s.since = m->epoch;
      Query q = impl_->query(kLastScheduleRun);
      q->bind(1, process);
      if (q->executeStep() && !q->getColumn(0).isNull()) s.since = std::max(s.since, q->getColumn(0).getInt64());
      out.push_back(std::move(s));
    }
    return out;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

Result<std::vector<DeployChange>> SqliteStore::deploy(const Bundle& bundle, const std::string& at) {
  try {
    std::vector<DeployChange> changes;
    SQLite::Transaction tx(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    if (!bundle.org_source.empty()) {
      Query q = impl_->query(kUpsertOrg);
      q->bind(1, bundle.org_source);
      q->bind(2, at);
      // A changed text is a deployment, chained (storage/chains.h).
      if (q->exec() > 0) record_deployment(impl_->db, {0, "org", "org", 0, sha256_hex(bundle.org_source), at, ""});
    }
    if (!bundle.calendar_source.empty()) {
      Query q = impl_->query(kUpsertDocument);
      q->bind(1, std::string(kCalendarDocument));
      q->bind(2, bundle.calendar_source);
      q->bind(3, at);
      if (q->exec() > 0) {
        record_deployment(impl_->db,
                          {0, "document", std::string(kCalendarDocument), 0, sha256_hex(bundle.calendar_source), at, ""});
      }
    }
    if (!bundle.indicators_source.empty()) {
      Query q = impl_->query(kUpsertDocument);
      q->bind(1, std::string(kIndicatorsDocument));
      q->bind(2, bundle.indicators_source);
      q->bind(3, at);
      if (q->exec() > 0) {
        record_deployment(impl_->db,
                          {0, "document", std::string(kIndicatorsDocument), 0, sha256_hex(bundle.indicators_source), at, ""});
      }
    }
    for (const LoadedProcess& lp : bundle.processes) {
      if (!lp.process) return make_error(ErrorCode::internal, "deploy was given a process that was not loaded");
      const Process& p = *lp.process;
      DeployChange change{p.key, 0, lp.hash, false};
      int latest = 0;
      {
        Query q = impl_->query(kLatestDefinition);
        q->bind(1, p.key);
        if (q->executeStep()) {
          latest = q->getColumn(0).getInt();
          if (q->getColumn(1).getString() == lp.hash) change.version = latest;
        }
      }
      if (change.version == 0) {
        JsonObject files;
        for (const auto& [file, text] : lp.sources.files) files.emplace(file, Json(text));
        change.version = latest + 1;
        change.changed = true;
        Query q = impl_->query(kInsertDefinition);
        q->bind(1, p.key);
        q->bind(2, change.version);
        q->bind(3, lp.hash);
        q->bind(4, p.title);
        q->bind(5, p.section);
        q->bind(6, static_cast<int64_t>(p.steps.size()));
        q->bind(7, Json(std::move(files)).dump());
        q->bind(8, at);
        q->exec();
        record_deployment(impl_->db, {0, "definition", p.key, change.version, lp.hash, at, ""});
      }
      changes.push_back(std::move(change));
    }
    tx.commit();
    // Compiled versions stay valid (a stored version never changes), but they
    // were checked against the old org chart: recompile on next use.
    impl_->definitions.clear();
    impl_->org_source.reset();
    impl_->calendar.reset();
    return changes;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

Result<std::vector<DeployedRow>> SqliteStore::definitions() {
  try {
    std::vector<DeployedRow> out;
    Query q = impl_->query(kSelectDefinitions);
    while (q->executeStep()) {
      DeployedRow row;
      row.process = q->getColumn(0).getString();
      row.version = q->getColumn(1).getInt();
      row.hash = q->getColumn(2).getString();
      row.title = q->getColumn(3).getString();
      row.steps = q->getColumn(4).getInt();
      row.deployed_at = q->getColumn(5).getString();
      out.push_back(std::move(row));
    }
    return out;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

namespace {
const std::string kInboxSql = std::string(kTaskColumns) +
                              "WHERE t.task IN (SELECT r.task FROM task_roles r "
                              "WHERE r.role IN (SELECT value FROM json_each(?1)))" +
                              kTaskOrder;
const std::string kTaskSql = std::string(kTaskColumns) + "WHERE t.task = ?1";
}  // namespace

Result<std::vector<InboxRow>> SqliteStore::inbox(const std::vector<std::string>& roles) {
  try {
    std::vector<InboxRow> out;
    if (roles.empty()) return out;
    Query q = impl_->query(kInboxSql.c_str());
    q->bind(1, string_array(roles).dump());
    while (q->executeStep()) {
      Result<InboxRow> row = impl_->read_task_row(*q);
      if (!row) return row.error();
      out.push_back(std::move(row).value());
    }
    return out;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

Result<std::optional<InboxRow>> SqliteStore::task(const std::string& task_id) {
  try {
    Query q = impl_->query(kTaskSql.c_str());
    q->bind(1, task_id);
    if (!q->executeStep()) return std::optional<InboxRow>();
    Result<InboxRow> row = impl_->read_task_row(*q);
    if (!row) return row.error();
    return std::optional<InboxRow>(std::move(row).value());
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

Result<std::vector<InstanceRow>> SqliteStore::instances(const std::optional<std::string>& process,
                                                        const std::optional<std::string>& status) {
  try {
    std::vector<InstanceRow> out;
    Query q = impl_->query(kSelectInstances);
    if (process) {
      q->bind(1, *process);
    } else {
      q->bind(1);
    }
    if (status) {
      q->bind(2, *status);
    } else {
      q->bind(2);
    }
    while (q->executeStep()) {
      InstanceRow row;
      row.instance = q->getColumn(0).getString();
      row.process = q->getColumn(1).getString();
      row.version = q->getColumn(2).getInt();
      row.status = q->getColumn(3).getString();
      row.started = q->getColumn(4).getString();
      row.updated = q->getColumn(5).getString();
      Result<std::vector<std::string>> current =
          parse_string_array(q->getColumn(6).getString(), "current steps of an instance");
      if (!current) return current.error();
      row.current = std::move(current).value();
      row.client = text_or_empty(q->getColumn(7));
      out.push_back(std::move(row));
    }
    return out;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

Result<std::vector<OutboxRow>> SqliteStore::outbox() {
  try {
    std::vector<OutboxRow> out;
    Query q = impl_->query(kSelectOutbox);
    while (q->executeStep()) {
      OutboxRow row;
      row.id = q->getColumn(0).getInt64();
      row.instance = q->getColumn(1).getString();
      row.step = q->getColumn(2).getString();
      row.to = q->getColumn(3).getString();
      row.text = q->getColumn(4).getString();
      row.at = q->getColumn(5).getString();
      out.push_back(std::move(row));
    }
    return out;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

namespace {

// A bound of events_between / each_instance_log as a UTC instant, the form
// of the at_utc column; nullopt for an open bound (empty text).
Result<std::optional<std::string>> instant_bound(const std::string& text, std::string_view name) {
  if (text.empty()) return std::optional<std::string>();
  std::optional<std::string> utc = utc_instant(text);
  if (!utc) {
    return make_error(ErrorCode::invalid,
                      fmt::format("the {} bound \"{}\" is not a timestamp (expected ISO-8601 like "
                                  "2026-11-23T15:04:05+03:00)",
                                  name, text));
  }
  return utc;
}

}  // namespace

Status SqliteStore::each_instance_log(const std::string& to,
                                      const std::function<Status(std::vector<StoredEvent>& events)>& each) {
  Result<std::optional<std::string>> hi = instant_bound(to, "to");
  if (!hi) return hi.error();
  try {
    // Its own statement, not the cached one: `each` may read through the
    // store meanwhile, and a cached statement could be reset under us.
    SQLite::Statement q(impl_->db, kEventsBefore);
    if (*hi) {
      q.bind(1, **hi);
    } else {
      q.bind(1);
    }
    std::vector<StoredEvent> one;
    while (q.executeStep()) {
      StoredEvent se;
      se.instance = q.getColumn(0).getString();
      se.seq = q.getColumn(1).getInt64();
      if (!one.empty() && se.instance != one.front().instance) {
        if (Status st = each(one); !st.ok()) return st;
        one.clear();
      }
      Result<Event> e = read_event(q, 2, se.instance, se.seq);
      if (!e) return e.error();
      se.event = std::move(e).value();
      one.push_back(std::move(se));
    }
    if (!one.empty()) return each(one);
    return {};
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

Result<std::vector<StoredEvent>> SqliteStore::events_between(const std::string& from, const std::string& to) {
  std::vector<StoredEvent> out;
  Status read = each_event_between(from, to, [&](const StoredEvent& e) -> Status {
    out.push_back(e);
    return {};
  });
  if (!read) return read.error();
  return out;
}

Status SqliteStore::each_event_between(const std::string& from, const std::string& to,
                                       const std::function<Status(const StoredEvent& event)>& each) {
  Result<std::optional<std::string>> lo = instant_bound(from, "from");
  if (!lo) return lo.error();
  Result<std::optional<std::string>> hi = instant_bound(to, "to");
  if (!hi) return hi.error();
  try {
    Query q = impl_->query(kEventsBetween);
    if (*lo) {
      q->bind(1, **lo);
    } else {
      q->bind(1);
    }
    if (*hi) {
      q->bind(2, **hi);
    } else {
      q->bind(2);
    }
    while (q->executeStep()) {
      StoredEvent se;
      se.instance = q->getColumn(0).getString();
      se.seq = q->getColumn(1).getInt64();
      Result<Event> e = read_event(*q, 2, se.instance, se.seq);
      if (!e) return e.error();
      se.event = std::move(e).value();
      if (Status st = each(se); !st) return st;
    }
    return {};
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

// ---- access for the audit (storage/audit.cpp) ---------------------------------

struct StoreAccess {
  static SQLite::Database& db(SqliteStore& s) { return s.impl_->db; }
  static const std::string& path(SqliteStore& s) { return s.impl_->path; }
  static CrmStatements& crm(SqliteStore& s) {
    if (!s.impl_->crm) s.impl_->crm = std::make_unique<CrmStatements>(s.impl_->db);
    return *s.impl_->crm;
  }
};

SQLite::Database& storage_internal::connection(SqliteStore& store) { return StoreAccess::db(store); }
CrmStatements& storage_internal::crm_statements(SqliteStore& store) { return StoreAccess::crm(store); }
const std::string& storage_internal::path_of(SqliteStore& store) { return StoreAccess::path(store); }

Result<std::optional<std::string>> SqliteStore::document(const std::string& name) {
  try {
    Query q = impl_->query(kSelectDocument);
    q->bind(1, name);
    if (!q->executeStep()) return std::optional<std::string>();
    return std::optional<std::string>(q->getColumn(0).getString());
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

// ---- Group commit, inbox pages, durability (bench/, docs/performance.md) ------

Status SqliteStore::begin_batch() {
  if (impl_->in_batch) return make_error(ErrorCode::internal, "a batch was begun inside another batch");
  try {
    impl_->db.exec("BEGIN IMMEDIATE");
    impl_->in_batch = true;
    return {};
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

Status SqliteStore::commit_batch() {
  if (!impl_->in_batch) return make_error(ErrorCode::internal, "commit_batch was called outside a batch");
  impl_->in_batch = false;
  try {
    impl_->db.exec("COMMIT");
    return {};
  } catch (const SQLite::Exception& e) {
    Error err = sqlite_error(e, impl_->path);
    // A failed COMMIT may leave the transaction open: none of it is kept.
    try {
      impl_->db.exec("ROLLBACK");
    } catch (const SQLite::Exception&) {
      // Already rolled back by SQLite.
    }
    return err;
  }
}

void SqliteStore::rollback_batch() {
  if (!impl_->in_batch) return;
  impl_->in_batch = false;
  try {
    impl_->db.exec("ROLLBACK");
  } catch (const SQLite::Exception&) {
    // Nothing more to undo: SQLite already rolled back (or will on close).
  }
}

Status SqliteStore::set_durability(Durability durability) {
  try {
    impl_->db.exec(durability == Durability::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    return {};
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

namespace {
// Walks tasks_inbox_order (schema.cpp) and stops after `limit` rows: no sort,
// and a role check per row read.
const std::string kInboxPageSql = std::string(kTaskColumns) +
                                  "WHERE EXISTS (SELECT 1 FROM task_roles r WHERE r.task = t.task "
                                  "AND r.role IN (SELECT value FROM json_each(?1)))" +
                                  kTaskOrder + " LIMIT ?2";
}  // namespace

Result<std::vector<InboxRow>> SqliteStore::inbox_page(const std::vector<std::string>& roles, int limit) {
  try {
    std::vector<InboxRow> out;
    if (roles.empty() || limit <= 0) return out;
    Query q = impl_->query(kInboxPageSql.c_str());
    q->bind(1, string_array(roles).dump());
    q->bind(2, limit);
    while (q->executeStep()) {
      Result<InboxRow> row = impl_->read_task_row(*q);
      if (!row) return row.error();
      out.push_back(std::move(row).value());
    }
    return out;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, impl_->path);
  }
}

}  // namespace reglament
