// The chains of schema 7 (storage/chains.h) on a real store: the client
// tables are the fold of client_log, client_log and the deployments are
// hash-chained, a file of schema 6 is given both chains when migrated, and a
// read-only file is opened read-only.
#include <SQLiteCpp/Database.h>
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/json.h"
#include "storage/audit.h"
#include "storage/schema_internal.h"
#include "storage/sqlite_store.h"

namespace reglament {
namespace {

namespace fs = std::filesystem;

constexpr const char* kAt = "2026-11-23T10:00:00+03:00";

std::string temp_db(const char* name) {
  fs::path dir = fs::temp_directory_path() / ("reglament-chains-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path p = dir / name;
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(p.string() + suffix);
  return p.string();
}

Json record(const char* text) {
  auto j = parse_json(text);
  REQUIRE(j.ok());
  return *j;
}

// A client with a request and a complaint, recorded as `reglament clients` would.
void add_client_with_request_and_complaint(SqliteStore& store) {
  auto ids = store.record_clients({record(R"({"op":"client.add","company":"ООО «Ромашка»"})"),
                                   record(R"({"op":"request.add","client":1,"volume":12})"),
                                   record(R"({"op":"complaint.add","client":1,"substance":"брак"})")},
                                  kAt, "ivanova");
  REQUIRE_MESSAGE(ids.ok(), ids.error().message);
}

std::vector<std::string> messages(const AuditReport& r) {
  std::vector<std::string> out;
  for (const AuditFinding& f : r.findings) out.push_back(f.message);
  return out;
}

bool any_has(const AuditReport& r, const std::string& text) {
  const std::vector<std::string> m = messages(r);
  return std::any_of(m.begin(), m.end(), [&](const std::string& s) { return s.find(text) != std::string::npos; });
}

std::string joined(const AuditReport& r) {
  std::string out;
  for (const std::string& m : messages(r)) out += m + "\n";
  return out;
}

TEST_CASE("a complaint marked resolved by hand differs from the fold of client_log, naming table, row and column") {
  auto store = SqliteStore::open(":memory:");
  REQUIRE(store.ok());
  add_client_with_request_and_complaint(**store);
  auto clean = verify_log(**store, {});
  REQUIRE(clean.ok());
  CHECK_MESSAGE(clean->ok(), joined(*clean));

  storage_internal::connection(**store).exec("UPDATE complaints SET status = 'resolved' WHERE id = 1");
  auto audit = verify_log(**store, {});
  REQUIRE(audit.ok());
  REQUIRE(audit->findings.size() == 1);
  CHECK(audit->findings[0].kind == AuditKind::projection);
  CHECK(audit->findings[0].message ==
        "complaints row 1 differs from what the client_log records give: status is \"resolved\" where the records "
        "give \"open\"");
}

TEST_CASE("a client_log record rewritten with its guard dropped breaks the chain at that record") {
  auto store = SqliteStore::open(":memory:");
  REQUIRE(store.ok());
  add_client_with_request_and_complaint(**store);
  storage_internal::connection(**store).exec(
      "DROP TRIGGER client_log_append_only_update;"
      "UPDATE client_log SET record = replace(record, '12', '1200') WHERE seq = 2;"
      "UPDATE requests SET volume = 1200 WHERE id = 1;");
  auto audit = verify_log(**store, {});
  REQUIRE(audit.ok());
  CHECK_MESSAGE(any_has(*audit, "client_log record 2 was changed: it no longer matches its hash"), joined(*audit));
  CHECK(any_has(*audit, "the trigger client_log_append_only_update is missing"));
}

TEST_CASE("a seal covers the heads of client_log and of the deployments, and a removed last record is caught") {
  auto store = SqliteStore::open(":memory:");
  REQUIRE(store.ok());
  add_client_with_request_and_complaint(**store);
  auto seal = seal_log(**store, kAt);
  REQUIRE_MESSAGE(seal.ok(), seal.error().message);
  // The last record and the row it wrote removed together: the chain alone
  // cannot tell (it is a shorter chain), the seal can.
  storage_internal::connection(**store).exec(
      "DROP TRIGGER client_log_append_only_delete;"
      "DELETE FROM client_log WHERE seq = 3; DELETE FROM complaints WHERE id = 1;");
  auto audit = verify_log(**store, VerifyOptions{"", seal->digest});
  REQUIRE(audit.ok());
  CHECK_MESSAGE(any_has(*audit, "client_log record 3 was deleted after the seal"), joined(*audit));
}

TEST_CASE("a schema 6 file gets its deployments chain and a chained client_log when migrated, and then verifies") {
  const std::string path = temp_db("v6.db");
  {
    auto store = SqliteStore::open(path);
    REQUIRE(store.ok());
    add_client_with_request_and_complaint(**store);
    SQLite::Database& db = storage_internal::connection(**store);
    db.exec("INSERT INTO org (id, source, loaded_at) VALUES (1, 'roles: {}', '2026-11-23T09:00:00+03:00');"
            "INSERT INTO documents (name, source, deployed_at) VALUES ('calendar', 'calendar: {}', "
            "'2026-11-23T09:00:00+03:00');");
  }
  {
    // written the way schema 6 wrote it: no deployments, client_log without hashes
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("DROP TRIGGER deployments_append_only_update; DROP TRIGGER deployments_append_only_delete;"
            "DROP TABLE deployments; ALTER TABLE client_log DROP COLUMN hash;"
            "UPDATE meta SET value = '6' WHERE key = 'schema_version';");
  }
  auto store = SqliteStore::open(path);
  REQUIRE_MESSAGE(store.ok(), store.error().message);
  SQLite::Database& db = storage_internal::connection(**store);
  CHECK(db.execAndGet("SELECT group_concat(kind || ' ' || name, ', ') FROM deployments").getString() ==
        "org org, document calendar");
  CHECK(db.execAndGet("SELECT count(*) FROM client_log WHERE length(hash) = 64").getInt() == 3);
  auto audit = verify_log(**store, {});
  REQUIRE(audit.ok());
  CHECK_MESSAGE(audit->ok(), joined(*audit));
  // and what was stored then is now under the chain
  db.exec("UPDATE documents SET source = 'calendar: {holidays: [2026-11-24]}'");
  audit = verify_log(**store, {});
  REQUIRE(audit.ok());
  CHECK(any_has(*audit, "the document \"calendar\" was changed after it was deployed"));
}

TEST_CASE("a file that cannot be migrated because it is read-only is refused in one sentence") {
  const std::string path = temp_db("v6-readonly.db");
  {
    auto store = SqliteStore::open(path);
    REQUIRE(store.ok());
  }
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("DROP TRIGGER deployments_append_only_update; DROP TRIGGER deployments_append_only_delete;"
            "DROP TABLE deployments; ALTER TABLE client_log DROP COLUMN hash;"
            "UPDATE meta SET value = '6' WHERE key = 'schema_version';");
  }
  if (geteuid() == 0) {
    if (std::system(("/usr/bin/chattr +i '" + path + "' 2>/dev/null").c_str()) != 0) {
      MESSAGE("running as root and `chattr +i` failed: a read-only file cannot be made here");
      return;
    }
  } else {
    fs::permissions(path, fs::perms::owner_read);
  }
  auto store = SqliteStore::open(path);
  if (geteuid() == 0) {
    CHECK(std::system(("/usr/bin/chattr -i '" + path + "'").c_str()) == 0);
  } else {
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  }
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().code == ErrorCode::invalid);
  CHECK_MESSAGE(store.error().message.find("is at schema 6 and this build reads schema 7; it cannot be migrated while "
                                           "it is read-only") != std::string::npos,
                store.error().message);
}

}  // namespace
}  // namespace reglament
