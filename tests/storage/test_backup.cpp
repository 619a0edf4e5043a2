// Backups: SqliteStore::backup (SQLite's online backup, then the copy proved
// by integrity_check and the whole audit before it gets its name), and the
// automatic copy of an older file before it is migrated.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <sys/stat.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "engine/core.h"
#include "engine/loader.h"
#include "engine/runtime.h"
#include "engine/sha256.h"
#include "handlers/registry.h"
#include "storage/audit.h"
#include "storage/chains.h"
#include "storage/schema_internal.h"
#include "storage/sqlite_store.h"

namespace reglament {
namespace {

namespace fs = std::filesystem;

const char* kOrg = R"(roles:
  manager: {title: Менеджер}
  deputy-director: {title: Заместитель директора}
  sales-center: {title: Центр продаж}
people:
  - login: ivanova
    name: Иванова Анна Петровна
    roles: [manager]
  - login: sidorova
    name: Сидорова Мария
    roles: [deputy-director]
)";

const char* kProcess = R"(process: callback
title: Обратный звонок клиенту
section: "9.1"
owner: deputy-director
variables:
  client: {type: text, required: true, title: Клиент}
  vip: {type: bool, default: false, title: VIP-клиент}
steps:
  - id: "9.1.1"
    title: Позвонить клиенту
    actor: manager
    next:
      - if: vip
        goto: "9.1.2"
      - else: "9.1.3"
  - id: "9.1.2"
    title: Уведомить Центр продаж
    actor: manager
    do: notify
    with: {to: sales-center, text: "VIP-клиент: {client}"}
    next: "9.1.3"
  - id: "9.1.3"
    title: Утвердить итог
    actor: deputy-director
    next: end
)";

const std::unique_ptr<Registry>& handlers() {
  static const std::unique_ptr<Registry> h = builtin_handlers();
  return h;
}

std::unique_ptr<SqliteStore> deployed_store(const std::string& path) {
  SourceSet s;
  s.files["org.yaml"] = kOrg;
  s.files["callback.yaml"] = kProcess;
  LoadReport report = load_bundle(s, handlers().get());
  for (const Error& e : report.problems) MESSAGE(e.str());
  REQUIRE(report.ok());
  auto store = SqliteStore::open(path);
  REQUIRE_MESSAGE(store.ok(), store.error().str());
  (*store)->set_handlers(handlers().get());
  REQUIRE((*store)->deploy(report.bundle, "2026-11-01T09:00:00+03:00").ok());
  return std::move(store).value();
}

struct TempDir {
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "reglament-backup-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  // The names in the directory, sorted.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  fs::path path;
};

std::string at(int minute) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "2026-11-23T%02d:%02d:00+03:00", 10 + minute / 60, minute % 60);
  return buf;
}

std::string open_task(const InstanceState& s) {
  auto open = s.open_tasks();
  REQUIRE_FALSE(open.empty());
  return open.front()->id;
}

// Three instances: 1 at 9.1.3 after the VIP notify (an outbox message), 2
// completed, 3 just started.
void populate(SqliteStore& store) {
  Runtime rt(store, *handlers());
  auto a = rt.start("callback", {{"client", Json("ООО «Ромашка»")}, {"vip", Json(true)}}, "ivanova", at(0));
  REQUIRE_MESSAGE(a.ok(), a.error().str());
  auto a2 = rt.execute(Command{"", "ivanova", at(1), CompleteTask{open_task(a->state), {}}});
  REQUIRE_MESSAGE(a2.ok(), a2.error().str());
  auto b = rt.start("callback", {{"client", Json("ИП Петров")}}, "ivanova", at(2));
  REQUIRE(b.ok());
  auto b2 = rt.execute(Command{"", "ivanova", at(3), CompleteTask{open_task(b->state), {}}});
  REQUIRE(b2.ok());
  auto b3 = rt.execute(Command{"", "sidorova", at(4), CompleteTask{open_task(b2->state), {}}});
  REQUIRE(b3.ok());
  CHECK(b3->state.status == "completed");
  auto c = rt.start("callback", {{"client", Json("ООО «Вектор»")}}, "ivanova", at(5));
  REQUIRE(c.ok());
}

// Every event of `instance` in its canonical encoding, with its seq.
std::vector<std::string> log_of(SqliteStore& store, const std::string& instance) {
  auto h = store.history(instance);
  REQUIRE_MESSAGE(h.ok(), h.error().str());
  std::vector<std::string> out;
  for (const StoredEvent& e : *h) out.push_back(std::to_string(e.seq) + " " + encode_event(e.event).dump());
  return out;
}

// The schema and every row of every table, as text: what a file holds,
// whatever its pages look like.
std::string contents(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  std::string out;
  std::vector<std::string> tables;
  SQLite::Statement objects(db, "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name");
  while (objects.executeStep()) {
    out += objects.getColumn(2).getString() + ";\n";
    if (objects.getColumn(0).getString() == "table") tables.push_back(objects.getColumn(1).getString());
  }
  for (const std::string& t : tables) {
    SQLite::Statement rows(db, "SELECT * FROM \"" + t + "\"");
    while (rows.executeStep()) {
      out += t + ":";
      for (int i = 0; i < rows.getColumnCount(); ++i) {
        out += rows.getColumn(i).isNull() ? std::string("NULL") : rows.getColumn(i).getString();
        out += "|";
      }
      out += "\n";
    }
  }
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<int>(st.st_mode & 0777);
}

bool has_partial(const TempDir& dir) {
  for (const std::string& n : dir.names())
    if (n.find(".partial-") != std::string::npos) return true;
  return false;
}

// Turns a fresh schema-3 file back into what schema 2 wrote (as
// test_migration.cpp does), with a large document so the file is a few
// hundred KiB.
void downgrade_to_v2(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  db.exec(
      "DROP TRIGGER deployments_append_only_update; DROP TRIGGER deployments_append_only_delete;"
      "DROP TABLE deployments;"
      "DROP TABLE client_keys;"
      "DROP TRIGGER refusals_append_only_update; DROP TRIGGER refusals_append_only_delete;"
      "DROP TABLE refusals;"
      "DROP TRIGGER client_log_append_only_update; DROP TRIGGER client_log_append_only_delete;"
      "DROP TABLE client_log; DROP TABLE report_entries; DROP TABLE items; DROP TABLE complaints;"
      "DROP TABLE requests; DROP TABLE contacts; DROP TABLE clients; DROP TABLE links;"
      "DROP INDEX jobs_incidents; ALTER TABLE jobs DROP COLUMN incident; ALTER TABLE jobs DROP COLUMN retry_at;"
      "UPDATE meta SET value = '2' WHERE key = 'schema_version';"
      "INSERT INTO documents (name, source, deployed_at) "
      "VALUES ('marker', printf('%.*c', 300000, 'x'), '2026-11-23T10:00:00+03:00');");
}

std::string schema_version(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  return db.execAndGet("SELECT value FROM meta WHERE key = 'schema_version'").getString();
}

}  // namespace

TEST_CASE("a backup holds the same events, verifies, and is private to its owner") {
  TempDir dir;
  // given a database file with three instances
  auto store = deployed_store(dir.file("live.db"));
  populate(*store);
  // when it is backed up
  const std::string dest = dir.file("copy.db");
  auto r = store->backup(dest);
  REQUIRE_MESSAGE(r.ok(), r.error().str());
  // then the report says what was copied and verified
  CHECK(r->path == dest);
  CHECK(r->bytes == static_cast<int64_t>(fs::file_size(dest)));
  CHECK(r->bytes == r->pages * 4096);
  CHECK(r->instances == 3);
  auto source_report = verify_log(*store, {});
  REQUIRE(source_report.ok());
  CHECK(r->events == source_report->events);
  CHECK(r->events > 10);
  // and the copy is 0600, with no temporary file left beside it
  CHECK(mode_of(dest) == 0600);
  CHECK_FALSE(has_partial(dir));
  // and it opens as a reglament database with the same log, outbox and definitions
  auto copy = SqliteStore::open(dest);
  REQUIRE(copy.ok());
  for (const char* id : {"1", "2", "3"}) CHECK(log_of(**copy, id) == log_of(*store, id));
  auto outbox = (*copy)->outbox();
  REQUIRE(outbox.ok());
  REQUIRE(outbox->size() == 1);
  CHECK(outbox->front().text == "VIP-клиент: ООО «Ромашка»");
  CHECK((*copy)->definitions()->size() == 1);
  CHECK(*(*copy)->next_instance_id() == "4");
  // and the two are independent: what the source appends later is not in the copy
  Runtime rt(*store, *handlers());
  REQUIRE(rt.start("callback", {{"client", Json("ООО «Новый»")}}, "ivanova", at(30)).ok());
  auto copied_instances = (*copy)->instances(std::nullopt, std::nullopt);
  REQUIRE(copied_instances.ok());
  CHECK(copied_instances->size() == 3);
}

TEST_CASE("an in-memory database can be backed up to a file") {
  TempDir dir;
  auto store = deployed_store(":memory:");
  populate(*store);
  auto r = store->backup(dir.file("memory.db"));
  REQUIRE_MESSAGE(r.ok(), r.error().str());
  CHECK(r->instances == 3);
  auto copy = SqliteStore::open(dir.file("memory.db"));
  REQUIRE(copy.ok());
  CHECK(log_of(**copy, "2") == log_of(*store, "2"));
}

TEST_CASE("a backup never replaces a file, and names a new one only") {
  TempDir dir;
  auto store = deployed_store(dir.file("live.db"));
  populate(*store);
  // given a file already at the destination
  const std::string dest = dir.file("taken.db");
  { std::ofstream(dest) << "someone's notes"; }
  // when it is named as the backup
  auto r = store->backup(dest);
  // then the backup is refused with a clear error, and the file is as it was
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::invalid);
  CHECK(r.error().message == dest + " already exists; a backup never replaces a file, so name a new one");
  CHECK(slurp(dest) == "someone's notes");
  CHECK_FALSE(has_partial(dir));
  // and the database itself is refused as its own backup
  auto self = store->backup(dir.file("live.db"));
  REQUIRE_FALSE(self.ok());
  CHECK(self.error().code == ErrorCode::invalid);
  // and names that are not files are refused
  for (const char* name : {"", ":memory:"}) {
    auto bad = store->backup(name);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == ErrorCode::invalid);
  }
}

TEST_CASE("a backup into a directory that does not exist is refused and creates nothing") {
  TempDir dir;
  auto store = deployed_store(dir.file("live.db"));
  const std::string dest = dir.file("no/such/dir/copy.db");
  auto r = store->backup(dest);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::invalid);
  CHECK(r.error().message ==
        "cannot back up to " + dest + ": the directory " + dir.file("no/such/dir") + " does not exist");
  CHECK_FALSE(fs::exists(dir.file("no")));
  // and a file standing where the directory should be
  { std::ofstream(dir.file("plain")) << "x"; }
  auto under_file = store->backup(dir.file("plain/copy.db"));
  REQUIRE_FALSE(under_file.ok());
  CHECK(under_file.error().code == ErrorCode::invalid);
}

TEST_CASE("a copy that does not verify is not kept") {
  TempDir dir;
  auto store = deployed_store(dir.file("live.db"));
  populate(*store);
  // given someone edited a payload in the log (dropping its guards first)
  storage_internal::connection(*store).exec(
      "DROP TRIGGER events_append_only_update; DROP TRIGGER events_append_only_delete;"
      "UPDATE events SET data_json = replace(data_json, 'Ромашка', 'Лютик') WHERE instance = '1' AND seq = 1");
  // when it is backed up
  const std::string dest = dir.file("copy.db");
  auto r = store->backup(dest);
  // then the backup fails as an integrity failure naming what is wrong
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::integrity);
  CHECK(r.error().message.find("the copy for " + dest + " does not verify (") == 0);
  CHECK(r.error().message.find("so it was not kept") != std::string::npos);
  // and nothing is left at the destination or beside it
  CHECK_FALSE(fs::exists(dest));
  CHECK_FALSE(has_partial(dir));
}

TEST_CASE("a backup taken while another connection keeps writing is a consistent copy") {
  TempDir dir;
  const std::string path = dir.file("busy.db");
  auto store = deployed_store(path);
  populate(*store);
  // a few MiB, so the copy takes many steps (a document deployed as deploy
  // would record it, so that the copy verifies)
  {
    SQLite::Database& db = storage_internal::connection(*store);
    db.exec("INSERT INTO documents (name, source, deployed_at) "
            "VALUES ('ballast', printf('%.*c', 6000000, 'x'), '2026-11-23T10:00:00+03:00')");
    storage_internal::record_deployment(
        db, {0, "document", "ballast", 0, sha256_hex(db.execAndGet("SELECT source FROM documents WHERE name = "
                                                                 "'ballast'").getString()),
             "2026-11-23T10:00:00+03:00", ""});
  }
  // given a writer in another thread, starting instances on its own connection
  std::atomic<bool> stop{false};
  std::atomic<int> started{0};
  std::atomic<int> failures{0};
  std::thread writer([&] {
    auto other = SqliteStore::open(path);
    if (!other) {
      ++failures;
      return;
    }
    (*other)->set_handlers(handlers().get());
    Runtime rt(**other, *handlers());
    for (int i = 0; !stop && i < 2000; ++i) {
      if (rt.start("callback", {{"client", Json("К" + std::to_string(i))}}, "ivanova", at(60)).ok()) {
        ++started;
      } else {
        ++failures;
      }
    }
  });
  while (started < 3 && failures == 0) std::this_thread::yield();
  // when the database is backed up meanwhile
  auto r = store->backup(dir.file("copy.db"));
  stop = true;
  writer.join();
  // then the copy verifies, holding the instances of one moment
  REQUIRE_MESSAGE(r.ok(), r.error().str());
  CHECK(failures == 0);
  CHECK(r->instances >= 3);
  CHECK(r->instances <= 3 + started);
  CHECK(r->pages * 4096 > 6000000);
}

TEST_CASE("a schema 2 file is backed up to FILE.schema2.bak before it is migrated, once") {
  TempDir dir;
  const std::string path = dir.file("old.db");
  // given a schema 2 file with three instances
  {
    auto store = deployed_store(path);
    populate(*store);
  }
  downgrade_to_v2(path);
  const std::string before = contents(path);
  REQUIRE(schema_version(path) == "2");
  // when this build opens it
  auto store = SqliteStore::open(path);
  REQUIRE_MESSAGE(store.ok(), store.error().str());
  // then it is migrated, and the backup holds exactly what the file held
  CHECK(schema_version(path) == std::to_string(storage_internal::kSchemaVersion));
  const std::string bak = path + ".schema2.bak";
  REQUIRE(fs::exists(bak));
  CHECK(schema_version(bak) == "2");
  CHECK(contents(bak) == before);
  CHECK(mode_of(bak) == 0600);
  CHECK_FALSE(has_partial(dir));
  // and the migrated file keeps its log
  for (const char* id : {"1", "2", "3"}) CHECK(log_of(**store, id).size() > 1);
  // and opening it again backs up nothing more
  store->reset();
  auto again = SqliteStore::open(path);
  REQUIRE(again.ok());
  again->reset();
  CHECK(dir.names() == std::vector<std::string>{"old.db", "old.db.schema2.bak"});
}

TEST_CASE("a migration backup never overwrites an earlier one") {
  TempDir dir;
  const std::string path = dir.file("old.db");
  {
    auto store = deployed_store(path);
    populate(*store);
  }
  downgrade_to_v2(path);
  const std::string before = contents(path);
  // given the backup's name is taken already
  { std::ofstream(path + ".schema2.bak") << "an older backup"; }
  // when the file is migrated
  auto store = SqliteStore::open(path);
  REQUIRE_MESSAGE(store.ok(), store.error().str());
  // then the earlier file is untouched and the backup has the next free name
  CHECK(slurp(path + ".schema2.bak") == "an older backup");
  REQUIRE(fs::exists(path + ".schema2.1.bak"));
  CHECK(contents(path + ".schema2.1.bak") == before);
}

TEST_CASE("when the backup before a migration fails, the file is left unmigrated and unchanged") {
  TempDir dir;
  const std::string path = dir.file("old.db");
  {
    auto store = deployed_store(path);
    populate(*store);
  }
  downgrade_to_v2(path);
  const std::string before = contents(path);
  REQUIRE(fs::file_size(path) > 256 * 1024);
  // given no file may grow past 128 KiB (the database is larger, so its copy
  // cannot be written; -shm needs 32 KiB)
  struct rlimit old_limit {};
  REQUIRE(getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = 128 * 1024;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
  // when this build opens it
  auto store = SqliteStore::open(path);
  REQUIRE(setrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  std::signal(SIGXFSZ, old_handler);
  // then it refuses, saying why
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().message.find(path + " was left at schema 2, because its backup before migrating it to schema " +
                                   std::to_string(storage_internal::kSchemaVersion) + " failed: ") == 0);
  // and nothing changed: still schema 2, the same rows, no backup, no temporary file
  CHECK(schema_version(path) == "2");
  CHECK(contents(path) == before);
  CHECK(dir.names() == std::vector<std::string>{"old.db"});
}

}  // namespace reglament
