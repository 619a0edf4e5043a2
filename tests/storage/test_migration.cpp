// Schema migrations: a file written by the previous schema is brought up to
// date in place, keeping what it holds, the first time this build opens it.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <SQLiteCpp/Database.h>

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

// Turns a fresh schema-3 file back into what schema 2 wrote: no client
// database, no links, no incident columns.
void downgrade_to_v2(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
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
  CHECK(raw.execAndGet("SELECT value FROM meta WHERE key = 'schema_version'").getString() == "4");
  CHECK(raw.execAndGet("SELECT source FROM documents WHERE name = 'marker'").getString() == "kept");
  for (const char* table : {"clients", "contacts", "requests", "complaints", "items", "report_entries", "client_log",
                            "links", "refusals"})
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

}  // namespace
}  // namespace reglament
