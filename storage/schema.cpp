// Opening, recognising and creating a reglament database. The tables and why
// each exists are described in storage/README.md; keep the two in step.

#include "storage/schema_internal.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <fmt/format.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include "storage/chains.h"
#include "storage/crm.h"

namespace reglament::storage_internal {
namespace {

// Schema version 1. Executed in one transaction on an empty file.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE definitions (
  process      TEXT    NOT NULL,
  version      INTEGER NOT NULL CHECK (version >= 1),
  hash         TEXT    NOT NULL,
  title        TEXT    NOT NULL,
  section      TEXT    NOT NULL,
  steps        INTEGER NOT NULL,
  sources_json TEXT    NOT NULL,
  deployed_at  TEXT    NOT NULL,
  PRIMARY KEY (process, version)
);

CREATE TABLE org (
  id        INTEGER PRIMARY KEY CHECK (id = 1),
  source    TEXT NOT NULL,
  loaded_at TEXT NOT NULL
);

CREATE TABLE instances (
  id           TEXT    PRIMARY KEY,
  process      TEXT    NOT NULL,
  version      INTEGER NOT NULL,
  status       TEXT    NOT NULL,
  started_at   TEXT    NOT NULL,
  updated_at   TEXT    NOT NULL,
  ended_at     TEXT,
  current_json TEXT    NOT NULL,
  client       TEXT,
  vars_json    TEXT    NOT NULL,
  last_seq     INTEGER NOT NULL,
  FOREIGN KEY (process, version) REFERENCES definitions (process, version)
);
CREATE INDEX instances_by_process ON instances (process, status);

CREATE TABLE events (
  instance  TEXT    NOT NULL REFERENCES instances (id),
  seq       INTEGER NOT NULL CHECK (seq >= 1),
  at        TEXT    NOT NULL,
  actor     TEXT,
  type      TEXT    NOT NULL,
  step      TEXT,
  data_json TEXT    NOT NULL,
  format    INTEGER NOT NULL,
  hash      TEXT    NOT NULL,
  at_utc    TEXT,
  PRIMARY KEY (instance, seq)
) WITHOUT ROWID;
CREATE INDEX events_by_instant ON events (at_utc, instance, seq);

CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN
  SELECT RAISE(ABORT, 'the event log is append-only');
END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN
  SELECT RAISE(ABORT, 'the event log is append-only');
END;

CREATE TABLE tasks (
  task       TEXT    PRIMARY KEY,
  instance   TEXT    NOT NULL REFERENCES instances (id),
  process    TEXT    NOT NULL,
  version    INTEGER NOT NULL,
  step       TEXT    NOT NULL,
  title      TEXT    NOT NULL,
  roles_json TEXT    NOT NULL,
  claimed_by TEXT,
  created_at TEXT    NOT NULL
);
CREATE INDEX tasks_by_instance ON tasks (instance);
CREATE INDEX tasks_inbox_order ON tasks (created_at, CAST(instance AS INTEGER), instance,
                                       CAST(substr(task, length(instance) + 2) AS INTEGER), task);

CREATE TABLE task_roles (
  task TEXT NOT NULL REFERENCES tasks (task) ON DELETE CASCADE,
  role TEXT NOT NULL,
  PRIMARY KEY (role, task)
) WITHOUT ROWID;
CREATE INDEX task_roles_by_task ON task_roles (task);

CREATE TABLE jobs (
  job          TEXT    PRIMARY KEY,
  instance     TEXT    NOT NULL REFERENCES instances (id),
  step         TEXT    NOT NULL,
  handler      TEXT    NOT NULL,
  attempts     INTEGER NOT NULL,
  last_error   TEXT,
  scheduled_at TEXT    NOT NULL
);
CREATE INDEX jobs_by_instance ON jobs (instance);
CREATE INDEX jobs_by_schedule ON jobs (scheduled_at, instance);

CREATE TABLE outbox (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  instance TEXT    NOT NULL REFERENCES instances (id),
  step     TEXT    NOT NULL,
  seq      INTEGER NOT NULL,
  to_addr  TEXT    NOT NULL,
  text     TEXT    NOT NULL,
  at       TEXT    NOT NULL
);
CREATE INDEX outbox_by_instance ON outbox (instance);

CREATE TABLE documents (
  name        TEXT PRIMARY KEY,
  source      TEXT NOT NULL,
  deployed_at TEXT NOT NULL
);

CREATE TABLE seals (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  digest      TEXT    NOT NULL,
  at          TEXT    NOT NULL,
  heads_json  TEXT    NOT NULL,
  instances   INTEGER NOT NULL,
  events      INTEGER NOT NULL
);
CREATE INDEX seals_by_digest ON seals (digest);
CREATE TRIGGER seals_append_only_update BEFORE UPDATE ON seals
BEGIN
  SELECT RAISE(ABORT, 'seals are append-only');
END;
CREATE TRIGGER seals_append_only_delete BEFORE DELETE ON seals
BEGIN
  SELECT RAISE(ABORT, 'seals are append-only');
END;
)sql";

// Schema version 2 (time): task priority and due moment in the inbox's
// order, one row per instance with something due, and the occurrences of
// scheduled starts. Run on a new file after version 1, and on a version 1
// file when it is first opened by this build.
constexpr const char* kSchemaV2 = R"sql(
ALTER TABLE tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tasks ADD COLUMN due TEXT;
ALTER TABLE tasks ADD COLUMN due_epoch INTEGER;
DROP INDEX tasks_inbox_order;
CREATE INDEX tasks_inbox_order ON tasks (priority DESC, due_epoch IS NULL, due_epoch, created_at,
                                       CAST(instance AS INTEGER), instance,
                                       CAST(substr(task, length(instance) + 2) AS INTEGER), task);

CREATE TABLE timers (
  instance  TEXT    PRIMARY KEY REFERENCES instances (id),
  due_epoch INTEGER NOT NULL
);
CREATE INDEX timers_by_due ON timers (due_epoch, instance);

CREATE TABLE schedule_runs (
  process          TEXT    NOT NULL,
  occurrence_epoch INTEGER NOT NULL,
  occurrence       TEXT    NOT NULL,
  instance         TEXT    NOT NULL REFERENCES instances (id),
  PRIMARY KEY (process, occurrence_epoch)
);
)sql";

// Schema version 3 (the connected CRM): incidents and retry times of
// service jobs, links between a step and the instances it started, and the
// client database (storage/crm.cpp's kCrmSchema).
constexpr const char* kSchemaV3 = R"sql(
ALTER TABLE jobs ADD COLUMN incident INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN retry_at TEXT;
CREATE INDEX jobs_incidents ON jobs (incident) WHERE incident = 1;

CREATE TABLE links (
  parent    TEXT    NOT NULL REFERENCES instances (id),
  job       TEXT    NOT NULL,
  idx       INTEGER NOT NULL,
  process   TEXT    NOT NULL,
  variables TEXT    NOT NULL,
  wait      INTEGER NOT NULL,
  child     TEXT    UNIQUE,
  returned  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (parent, job, idx)
);
CREATE INDEX links_unstarted ON links (parent) WHERE child IS NULL;
)sql";

// Schema version 5 (fewer pages written per command, docs/performance.md):
// no `tasks_by_instance` and `jobs_by_instance` (an instance's tasks and jobs
// are the id range "<instance>."), and `jobs` keyed by its id alone (WITHOUT
// ROWID: one b-tree instead of a rowid table and its primary key index; the
// table is rebuilt, keeping its rows). `tasks` stays a rowid table and
// `task_roles` keeps `task_roles_by_task`: an inbox page reads both in the
// inbox's order, which is near the order rows were created in, and without
// them a page of a million open tasks read 1.5-2.9 ms instead of 0.6
// (workload 3).
constexpr const char* kSchemaV5 = R"sql(
DROP INDEX IF EXISTS tasks_by_instance;

CREATE TABLE jobs_v5 (
  job          TEXT    PRIMARY KEY,
  instance     TEXT    NOT NULL REFERENCES instances (id),
  step         TEXT    NOT NULL,
  handler      TEXT    NOT NULL,
  attempts     INTEGER NOT NULL,
  last_error   TEXT,
  scheduled_at TEXT    NOT NULL,
  incident     INTEGER NOT NULL DEFAULT 0,
  retry_at     TEXT
) WITHOUT ROWID;
INSERT INTO jobs_v5 (job, instance, step, handler, attempts, last_error, scheduled_at, incident, retry_at)
  SELECT job, instance, step, handler, attempts, last_error, scheduled_at, incident, retry_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_v5 RENAME TO jobs;
CREATE INDEX jobs_by_schedule ON jobs (scheduled_at, instance);
CREATE INDEX jobs_incidents ON jobs (incident) WHERE incident = 1;
)sql";

void create_v3(SQLite::Database& db) {
  db.exec(kSchemaV3);
  db.exec(kCrmSchema);
}

int count_schema_objects(SQLite::Database& db) {
  return db.execAndGet("SELECT count(*) FROM sqlite_master").getInt();
}

// Refuses a file that holds tables but is not a reglament database of a
// schema this build understands.
Status check_ours(SQLite::Database& db, const std::string& path) {
  const Error not_ours =
      make_error(ErrorCode::invalid, fmt::format("{} is not a reglament database", path));
  if (!db.tableExists("meta")) return not_ours;
  SQLite::Statement q(db, "SELECT key, value FROM meta WHERE key IN ('application', 'schema_version')");
  std::string application;
  std::string version_text;
  while (q.executeStep()) {
    const std::string key = q.getColumn(0).getString();
    if (key == "application") {
      application = q.getColumn(1).getString();
    } else {
      version_text = q.getColumn(1).getString();
    }
  }
  if (application != kApplication) return not_ours;
  int version = 0;
  try {
    size_t used = 0;
    version = std::stoi(version_text, &used);
    if (used != version_text.size()) return not_ours;
  } catch (const std::exception&) {
    return not_ours;
  }
  if (version > kSchemaVersion) {
    return make_error(ErrorCode::invalid,
                      fmt::format("{} was written by a newer reglament (schema {}); this build reads schema {}",
                                  path, version, kSchemaVersion));
  }
  if (version < 1) return not_ours;
  return {};
}

int stored_version(SQLite::Database& db) {
  return std::stoi(db.execAndGet("SELECT value FROM meta WHERE key = 'schema_version'").getString());
}

// Brings a database of an older schema up to kSchemaVersion, in one
// transaction: all of it or none. A file is first copied to
// <path>.schema<N>.bak; when that fails, nothing is migrated.
Status migrate(SQLite::Database& db, const std::string& path) {
  SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
  const int version = stored_version(db);  // again, under the lock: another process may have migrated
  if (version >= kSchemaVersion) return {};
  // Under the write lock, so the backup is exactly the database migrated
  // below, and a second process opening the file meanwhile waits, then finds
  // it migrated and backs up nothing.
  if (!is_memory_path(path)) {
    Result<std::string> backup = backup_before_migration(path, version);
    if (!backup) {
      Error e = backup.error();
      e.message = fmt::format("{} was left at schema {}, because its backup before migrating it to schema {} failed: {}",
                              path, version, kSchemaVersion, e.message);
      return e;  // the transaction rolls back: nothing was changed
    }
  }
  if (version < 2) db.exec(kSchemaV2);
  if (version < 3) create_v3(db);
  if (version < 4) db.exec(kRefusalsSchema);
  if (version < 5) db.exec(kSchemaV5);
  if (version < 6) create_client_keys(db);
  if (version < 7) create_chains(db);
  SQLite::Statement q(db, "UPDATE meta SET value = ?1 WHERE key = 'schema_version'");
  q.bind(1, std::to_string(kSchemaVersion));
  q.exec();
  tx.commit();
  return {};
}

void create_schema(SQLite::Database& db) {
  SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
  // Another process may have created the schema while we waited for the lock.
  if (count_schema_objects(db) != 0) return;
  db.exec(kSchemaV1);
  db.exec(kSchemaV2);
  create_v3(db);
  db.exec(kRefusalsSchema);
  db.exec(kSchemaV5);
  create_client_keys(db);
  create_chains(db);
  SQLite::Statement meta(db, "INSERT INTO meta (key, value) VALUES (?, ?)");
  const std::pair<std::string, std::string> rows[] = {
      {"application", std::string(kApplication)},
      {"schema_version", std::to_string(kSchemaVersion)},
      {"next_instance", "1"},
  };
  for (const auto& [key, value] : rows) {
    meta.reset();
    meta.bind(1, key);
    meta.bind(2, value);
    meta.exec();
  }
  tx.commit();
}

}  // namespace

bool is_memory_path(const std::string& path) {
  return path.empty() || path == ":memory:";
}

Status create_private_file(const std::string& path) {
  if (is_memory_path(path)) return {};
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return {};
  }
  if (errno == EEXIST) return {};
  return make_error(ErrorCode::internal,
                    fmt::format("cannot create the database {}: {}", path, std::strerror(errno)));
}

OpenMode open_mode(const std::string& path) {
  if (is_memory_path(path) || ::access(path.c_str(), F_OK) != 0) return OpenMode::read_write;
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? std::string(".") : path.substr(0, slash + 1);
  const bool dir_writable = ::access(dir.c_str(), W_OK | X_OK) == 0;
  bool companions_writable = true;
  bool companions_present = true;
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string companion = path + suffix;
    companions_present = companions_present && ::access(companion.c_str(), F_OK) == 0;
    companions_writable = companions_writable && ::access(companion.c_str(), W_OK) == 0;
  }
  if (!dir_writable && !companions_present) return OpenMode::immutable;
  if (::access(path.c_str(), W_OK) != 0) return OpenMode::read_only;
  if (!dir_writable && !companions_writable) return OpenMode::read_only;
  return OpenMode::read_write;
}

std::string open_name(const std::string& path, OpenMode mode) {
  if (mode != OpenMode::immutable) return path;
  std::string uri = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      uri += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    } else {
      uri += c;
    }
  }
  return uri + "?immutable=1";
}

Status prepare_database(SQLite::Database& db, const std::string& path, bool read_only) {
  db.setBusyTimeout(10000);
  int objects = 0;
  try {
    objects = count_schema_objects(db);
  } catch (const SQLite::Exception& e) {
    if (e.getErrorCode() == SQLITE_NOTADB) {
      return make_error(ErrorCode::invalid, fmt::format("{} is not a SQLite database", path));
    }
    throw;
  }
  // Recognise the file before changing anything in it, so that pointing
  // --db at someone else's database leaves it exactly as it was.
  if (objects != 0) {
    if (Status ours = check_ours(db, path); !ours) return ours;
  }
  if (read_only) {
    // Nothing here may write: the journal mode is the file's own (WAL, as
    // it was written), and a file that needs its schema or a migration is
    // refused rather than read half-way.
    if (objects == 0) {
      return make_error(ErrorCode::invalid,
                        fmt::format("{} is read-only and empty, so it cannot be initialised", path));
    }
    db.exec("PRAGMA foreign_keys=ON");
    db.exec("PRAGMA temp_store=MEMORY");
    if (const int version = stored_version(db); version < kSchemaVersion) {
      return make_error(ErrorCode::invalid,
                        fmt::format("{} is at schema {} and this build reads schema {}; it cannot be migrated "
                                    "while it is read-only, so make it writable (it is backed up before migrating) "
                                    "or read it with the reglament that wrote it",
                                    path, version, kSchemaVersion));
    }
    return {};
  }
  if (!is_memory_path(path)) db.exec("PRAGMA journal_mode=WAL");
  db.exec("PRAGMA synchronous=NORMAL");
  db.exec("PRAGMA foreign_keys=ON");
  // Statement and savepoint journals stay in memory: by default one that
  // passes 64 KiB moves to a temporary file and, in a long transaction (a
  // group commit), keeps costing a write per page (docs/performance.md).
  db.exec("PRAGMA temp_store=MEMORY");
  // Checkpoint every 10000 WAL frames (about 40 MB) instead of 1000: a page
  // written by many commits in between is copied back once, and the two
  // fsyncs of a checkpoint come ten times less often (docs/performance.md).
  if (!is_memory_path(path)) db.exec("PRAGMA wal_autocheckpoint=10000");
  if (objects == 0) {
    create_schema(db);
    // A concurrent creator may have written a different application's schema
    // in between; check what is there now.
    if (Status ours = check_ours(db, path); !ours) return ours;
  }
  if (stored_version(db) < kSchemaVersion) return migrate(db, path);
  return {};
}

std::vector<std::pair<std::string, std::string>> triggers_in(std::string_view schema) {
  std::vector<std::pair<std::string, std::string>> out;
  constexpr std::string_view kCreate = "CREATE TRIGGER ";
  constexpr std::string_view kEnd = "\nEND;";
  for (size_t at = schema.find(kCreate); at != std::string_view::npos; at = schema.find(kCreate, at + 1)) {
    const size_t name_end = schema.find(' ', at + kCreate.size());
    const size_t end = schema.find(kEnd, at);
    if (name_end == std::string_view::npos || end == std::string_view::npos) break;
    out.emplace_back(std::string(schema.substr(at + kCreate.size(), name_end - at - kCreate.size())),
                     std::string(schema.substr(at, end + kEnd.size() - 1 - at)));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> guard_triggers() {
  // Cut out of the schema texts, so the two cannot drift apart.
  std::vector<std::pair<std::string, std::string>> out = triggers_in(kSchemaV1);
  for (auto& t : crm_guard_triggers()) out.push_back(std::move(t));
  for (auto& t : refusal_guard_triggers()) out.push_back(std::move(t));
  for (auto& t : deployment_guard_triggers()) out.push_back(std::move(t));
  return out;
}

Error sqlite_error(const SQLite::Exception& e, const std::string& path) {
  const int code = e.getErrorCode();
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
    return make_error(ErrorCode::conflict, "the database is busy; try again");
  }
  if (code == SQLITE_NOTADB) {
    return make_error(ErrorCode::invalid, fmt::format("{} is not a SQLite database", path));
  }
  const std::string where = is_memory_path(path) ? std::string("the in-memory database") : path;
  if ((code & 0xff) == SQLITE_READONLY) {
    return make_error(ErrorCode::internal,
                      fmt::format("{} is read-only, so a command that changes it cannot run (reading commands such "
                                  "as inbox, show, history and verify can)",
                                  where));
  }
  if ((code & 0xff) == SQLITE_CORRUPT) {
    return make_error(ErrorCode::integrity,
                      fmt::format("{} is damaged (SQLite: {}); see reglament verify", where, e.what()));
  }
  return make_error(ErrorCode::internal, fmt::format("database error in {}: {}", where, e.what()));
}

}  // namespace reglament::storage_internal
