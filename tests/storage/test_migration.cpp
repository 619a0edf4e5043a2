// Schema migrations: a file written by the previous schema is brought up to
// date in place, keeping what it holds, the first time this build opens it.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "engine/json.h"
#include "engine/loader.h"
#include "engine/runtime.h"
#include "handlers/registry.h"
#include "storage/audit.h"
#include "storage/schema_internal.h"
#include "storage/sqlite_store.h"

namespace reglament {
namespace {

namespace fs = std::filesystem;

std::string temp_db(const char* name) {
  fs::path dir = fs::temp_directory_path() / ("reglament-migration-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path p = dir / name;
  fs::remove(p);
  return p.string();
}

// Takes a fresh file back to schema 6: no deployments chain, client_log
// without its hash column.
void downgrade_to_v6(SQLite::Database& db) {
  db.exec(
      "DROP TRIGGER deployments_append_only_update; DROP TRIGGER deployments_append_only_delete;"
      "DROP TABLE deployments; ALTER TABLE client_log DROP COLUMN hash;"
      "UPDATE meta SET value = '6' WHERE key = 'schema_version';");
}

// Takes a fresh file back to schema 5: no client search index.
void downgrade_to_v5(SQLite::Database& db) {
  downgrade_to_v6(db);
  db.exec("DROP TABLE client_keys; UPDATE meta SET value = '5' WHERE key = 'schema_version';");
}

// Turns a fresh file's tasks and jobs back into what schema 4 wrote (rowid
// tables with an index by instance), keeping their rows.
void downgrade_to_v4(SQLite::Database& db) {
  downgrade_to_v5(db);
  db.exec(R"sql(
CREATE INDEX tasks_by_instance ON tasks (instance);
CREATE TABLE jobs_v4 (
  job          TEXT    PRIMARY KEY,
  instance     TEXT    NOT NULL REFERENCES instances (id),
  step         TEXT    NOT NULL,
  handler      TEXT    NOT NULL,
  attempts     INTEGER NOT NULL,
  last_error   TEXT,
  scheduled_at TEXT    NOT NULL,
  incident INTEGER NOT NULL DEFAULT 0,
  retry_at TEXT
);
INSERT INTO jobs_v4 SELECT job, instance, step, handler, attempts, last_error, scheduled_at, incident, retry_at
                    FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_v4 RENAME TO jobs;
CREATE INDEX jobs_by_instance ON jobs (instance);
CREATE INDEX jobs_by_schedule ON jobs (scheduled_at, instance);
CREATE INDEX jobs_incidents ON jobs (incident) WHERE incident = 1;
UPDATE meta SET value = '4' WHERE key = 'schema_version';
)sql");
}

// Turns a fresh file back into what schema 2 wrote: no client
// database, no links, no incident columns.
void downgrade_to_v2(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  downgrade_to_v4(db);
  db.exec(
      "DROP TRIGGER refusals_append_only_update; DROP TRIGGER refusals_append_only_delete;"
      "DROP TABLE refusals;"
      "DROP TRIGGER client_log_append_only_update; DROP TRIGGER client_log_append_only_delete;"
      "DROP TABLE client_log; DROP TABLE report_entries; DROP TABLE items; DROP TABLE complaints;"
      "DROP TABLE requests; DROP TABLE contacts; DROP TABLE clients; DROP TABLE links;"
      "DROP INDEX jobs_incidents; ALTER TABLE jobs DROP COLUMN incident; ALTER TABLE jobs DROP COLUMN retry_at;"
      "UPDATE meta SET value = '2' WHERE key = 'schema_version';"
      "INSERT INTO documents (name, source, deployed_at) VALUES ('marker', 'kept', '2026-11-23T10:00:00+03:00');");
}

// Every row of tasks and task_roles, as text.
std::string task_rows(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  std::string out;
  SQLite::Statement q(db,
                      "SELECT task, instance, process, version, step, title, roles_json, claimed_by, created_at, "
                      "priority, due, due_epoch FROM tasks ORDER BY task");
  while (q.executeStep()) {
    for (int i = 0; i < q.getColumnCount(); ++i) out += q.getColumn(i).getString() + "|";
    out += "\n";
  }
  SQLite::Statement r(db, "SELECT task, role FROM task_roles ORDER BY task, role");
  while (r.executeStep()) out += r.getColumn(0).getString() + " " + r.getColumn(1).getString() + "\n";
  return out;
}

const char* kOrg = R"(roles:
  manager: {title: Менеджер}
  legal: {title: Юрист}
people:
  - login: ivanova
    name: Иванова Анна Петровна
    roles: [manager]
  - login: kuznetsov
    name: Кузнецов Дмитрий
    roles: [legal]
)";

const char* kProcess = R"(process: review
title: Проверка договора
section: "9.2"
owner: manager
variables:
  client: {type: text, required: true, title: Клиент}
steps:
  - id: "9.2.1"
    title: Подготовить договор
    actor: [manager, legal]
    next: "9.2.2"
  - id: "9.2.2"
    title: Проверить договор
    actor: legal
    next: end
)";

TEST_CASE("a schema 4 file's open tasks and their roles are carried into schema 5 and go on working") {
  static const std::unique_ptr<Registry> handlers = builtin_handlers();
  const std::string path = temp_db("v4.db");
  std::vector<std::string> ids;
  {
    // given a file with three open tasks, one of them claimed
    SourceSet s;
    s.files["org.yaml"] = kOrg;
    s.files["review.yaml"] = kProcess;
    LoadReport report = load_bundle(s, handlers.get());
    REQUIRE(report.ok());
    auto store = SqliteStore::open(path);
    REQUIRE(store.ok());
    (*store)->set_handlers(handlers.get());
    REQUIRE((*store)->deploy(report.bundle, "2026-11-23T09:00:00+03:00").ok());
    Runtime rt(**store, *handlers);
    for (int i = 0; i < 3; ++i) {
      auto started = rt.start("review", {{"client", Json("ООО «Ромашка»")}}, "ivanova",
                              "2026-11-23T10:0" + std::to_string(i) + ":00+03:00");
      REQUIRE_MESSAGE(started.ok(), started.error().str());
      ids.push_back(started->state.open_tasks().front()->id);
    }
    REQUIRE(rt.execute(Command{"", "kuznetsov", "2026-11-23T10:05:00+03:00", ClaimTask{ids[1]}}).ok());
  }
  // written the way schema 4 wrote it
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    downgrade_to_v4(db);
  }
  const std::string before = task_rows(path);
  REQUIRE(before.find("kuznetsov") != std::string::npos);
  // when this build opens it
  auto store = SqliteStore::open(path);
  REQUIRE_MESSAGE(store.ok(), store.error().message);
  (*store)->set_handlers(handlers.get());
  // then it is schema 5 (or later), with the same rows, without the two indexes
  {
    SQLite::Database raw(path, SQLite::OPEN_READONLY);
    CHECK(raw.execAndGet("SELECT value FROM meta WHERE key = 'schema_version'").getString() ==
          std::to_string(storage_internal::kSchemaVersion));
    CHECK(raw.execAndGet("SELECT count(*) FROM sqlite_master WHERE name IN ('tasks_by_instance', "
                         "'jobs_by_instance')")
              .getInt() == 0);
    const std::string jobs = raw.execAndGet("SELECT sql FROM sqlite_master WHERE name = 'jobs'").getString();
    CHECK_MESSAGE(jobs.find("WITHOUT ROWID") != std::string::npos, jobs);
    CHECK(raw.execAndGet("SELECT count(*) FROM sqlite_master WHERE name IN ('jobs_by_schedule', 'jobs_incidents', "
                         "'tasks_inbox_order', 'task_roles_by_task')")
              .getInt() == 4);
  }
  CHECK(task_rows(path) == before);
  auto audit = verify_log(**store, {});
  REQUIRE(audit.ok());
  CHECK(audit->ok());
  // and the inbox, a claim and a completion work on it
  auto legal = (*store)->inbox({"legal"});
  REQUIRE(legal.ok());
  CHECK(legal->size() == 3);
  Runtime rt(**store, *handlers);
  REQUIRE(rt.execute(Command{"", "ivanova", "2026-11-23T11:00:00+03:00", ClaimTask{ids[0]}}).ok());
  auto done = rt.execute(Command{"", "kuznetsov", "2026-11-23T11:01:00+03:00", CompleteTask{ids[1], {}}});
  REQUIRE_MESSAGE(done.ok(), done.error().str());
  auto after = (*store)->inbox({"legal"});
  REQUIRE(after.ok());
  CHECK(after->size() == 3);  // 9.2.2 of the completed one took its place
  auto manager = (*store)->inbox({"manager"});
  REQUIRE(manager.ok());
  CHECK(manager->size() == 2);
  audit = verify_log(**store, {});
  REQUIRE(audit.ok());
  CHECK(audit->ok());
}

TEST_CASE("a schema 2 file is migrated to the current schema in place, keeping its data") {
  const std::string path = temp_db("v2.db");
  {
    auto store = SqliteStore::open(path);
    REQUIRE(store.ok());
  }
  downgrade_to_v2(path);
  {
    SQLite::Database raw(path, SQLite::OPEN_READONLY);
    CHECK_FALSE(raw.tableExists("clients"));
  }
  auto store = SqliteStore::open(path);
  REQUIRE_MESSAGE(store.ok(), store.error().message);
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  CHECK(raw.execAndGet("SELECT value FROM meta WHERE key = 'schema_version'").getString() ==
        std::to_string(storage_internal::kSchemaVersion));
  CHECK(raw.execAndGet("SELECT source FROM documents WHERE name = 'marker'").getString() == "kept");
  for (const char* table : {"clients", "contacts", "requests", "complaints", "items", "report_entries", "client_log",
                            "links", "refusals", "client_keys"})
    CHECK_MESSAGE(raw.tableExists(table), table);
  CHECK(raw.execAndGet("SELECT count(*) FROM pragma_table_info('jobs') WHERE name IN ('incident', 'retry_at')")
            .getInt() == 2);
  // The migrated file works: a client goes in and out.
  Json add = Json::object();
  add["op"] = "client.add";
  add["company"] = "ООО «Ромашка»";
  auto ids = (*store)->record_clients({add}, "2026-11-23T10:00:00+03:00", "ivanova");
  REQUIRE_MESSAGE(ids.ok(), ids.error().message);
  auto found = (*store)->clients().find("ромашка ооо", 5);
  REQUIRE(found.ok());
  REQUIRE(found->size() == 1);
  CHECK((*found)[0].client.id == (*ids)[0]);
  // And opening it again changes nothing.
  store->reset();
  auto again = SqliteStore::open(path);
  REQUIRE(again.ok());
  CHECK(raw.execAndGet("SELECT count(*) FROM clients").getInt() == 1);
}

TEST_CASE("a schema 5 file's clients are indexed for search when it is migrated") {
  const std::string path = temp_db("v5.db");
  std::string keys;
  {
    // given a file with three clients, written before the search index
    auto store = SqliteStore::open(path);
    REQUIRE(store.ok());
    std::vector<Json> adds;
    for (const char* text : {R"({"op":"client.add","company":"ООО «Ромашка»","contact":"Петров Пётр"})",
                             R"({"op":"client.add","company":"АО Север","phone":"+7 (495) 123-45-67"})",
                             R"({"op":"client.add","company":"Лютик","contact":"Иванова Анна"})"}) {
      auto j = parse_json(text);
      REQUIRE(j.ok());
      adds.push_back(*j);
    }
    REQUIRE((*store)->record_clients(adds, "2026-11-23T10:00:00+03:00", "ivanova").ok());
    // (what this build indexes for them, to compare with)
    SQLite::Database raw(path, SQLite::OPEN_READONLY);
    SQLite::Statement q(raw, "SELECT kind, key, client FROM client_keys ORDER BY 1, 2, 3");
    while (q.executeStep()) keys += q.getColumn(0).getString() + " " + q.getColumn(1).getString() + " " +
                                    q.getColumn(2).getString() + "\n";
  }
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    downgrade_to_v5(db);
  }
  // when this build opens it
  auto store = SqliteStore::open(path);
  REQUIRE_MESSAGE(store.ok(), store.error().message);
  // then every client has its keys, as a client added now would
  {
    SQLite::Database raw(path, SQLite::OPEN_READONLY);
    std::string migrated;
    SQLite::Statement q(raw, "SELECT kind, key, client FROM client_keys ORDER BY 1, 2, 3");
    while (q.executeStep()) migrated += q.getColumn(0).getString() + " " + q.getColumn(1).getString() + " " +
                                        q.getColumn(2).getString() + "\n";
    CHECK(migrated == keys);
    CHECK(migrated.find("w ромашка 1") != std::string::npos);
  }
  // and a loose search finds them: a typo, a contact, a phone
  for (const auto& [query, id] : {std::pair{"Рмоашка", 1}, std::pair{"иванова", 3}, std::pair{"1234567", 2}}) {
    auto found = (*store)->clients().find(query, 5);
    REQUIRE(found.ok());
    REQUIRE_MESSAGE(found->size() == 1, query);
    CHECK((*found)[0].client.id == id);
  }
  auto audit = verify_log(**store, {});
  REQUIRE(audit.ok());
  CHECK(audit->ok());
}

}  // namespace
}  // namespace reglament
