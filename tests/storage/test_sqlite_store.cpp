// SqliteStore: opening and refusing files, the event log, projections,
// deployments and the definition cache. Runs on ":memory:" and on temporary
// files.
#include <doctest/doctest.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "engine/core.h"
#include "engine/loader.h"
#include "engine/runtime.h"
#include "engine/sha256.h"
#include "handlers/registry.h"
#include "storage/schema_internal.h"
#include "storage/sqlite_store.h"

namespace reglament {
namespace {

namespace fs = std::filesystem;

// ---- fixtures ---------------------------------------------------------------

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

const char* kForm = R"(form: call
title: Итог звонка
fields:
  - name: note
    title: Комментарий
    type: text
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
    form: call
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

SourceSet sources(const std::string& process_text = kProcess) {
  SourceSet s;
  s.files["org.yaml"] = kOrg;
  s.files["forms/call.yaml"] = kForm;
  s.files["callback.yaml"] = process_text;
  return s;
}

Bundle load(const std::string& process_text = kProcess) {
  static const std::unique_ptr<Registry> handlers = builtin_handlers();
  LoadReport report = load_bundle(sources(process_text), handlers.get());
  for (const Error& e : report.problems) MESSAGE(e.str());
  REQUIRE(report.ok());
  REQUIRE(report.bundle.processes.size() == 1);
  return report.bundle;
}

std::unique_ptr<SqliteStore> open_store(const std::string& path = ":memory:") {
  auto store = SqliteStore::open(path);
  if (!store) MESSAGE(store.error().str());
  REQUIRE(store.ok());
  return std::move(store).value();
}

// A store with the callback process deployed as version 1.
std::unique_ptr<SqliteStore> deployed_store(const std::string& path = ":memory:") {
  auto store = open_store(path);
  auto changes = store->deploy(load(), "2024-03-01T09:00:00+03:00");
  REQUIRE(changes.ok());
  return store;
}

Deployed callback_v1(SqliteStore& store) {
  auto d = store.definition("callback", 1);
  if (!d) MESSAGE(d.error().str());
  REQUIRE(d.ok());
  return *d;
}

// A temporary directory removed at the end of the test.
struct TempDir {
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "reglament-storage-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  fs::path path;
};

Event event(EventType type, std::string at, std::string actor, std::string step, Json data) {
  Event e;
  e.type = type;
  e.at = std::move(at);
  e.actor = std::move(actor);
  e.step = std::move(step);
  e.data = std::move(data);
  return e;
}

Json obj(std::initializer_list<std::pair<const std::string, Json>> members) {
  JsonObject o;
  for (const auto& [k, v] : members) o.emplace(k, v);
  return Json(std::move(o));
}

Json strings(std::initializer_list<const char*> items) {
  JsonArray a;
  for (const char* s : items) a.emplace_back(s);
  return Json(std::move(a));
}

// Instance `id` of callback v1, just started by ivanova: one open task at 9.1.1.
// Built by hand, not by decide, so these tests exercise storage alone.
struct Started {
  InstanceState state;
  std::vector<Event> events;
};

Started started(const std::string& id, const std::string& client, const std::string& at) {
  Started s;
  JsonObject vars{{"client", Json(client)}, {"vip", Json(false)}};
  s.events.push_back(event(EventType::instance_started, at, "ivanova", "",
                           obj({{"process", Json("callback")},
                                {"version", Json(1)},
                                {"hash", Json("h")},
                                {"variables", Json(vars)}})));
  s.events.push_back(event(EventType::task_created, at, "", "9.1.1",
                           obj({{"task", Json(id + ".1")}, {"roles", strings({"manager"})}})));
  InstanceState& st = s.state;
  st.id = id;
  st.process = "callback";
  st.version = 1;
  st.status = "active";
  st.started_at = at;
  st.started_by = "ivanova";
  st.updated_at = at;
  st.variables = vars;
  st.current = {"9.1.1"};
  Task t;
  t.id = id + ".1";
  t.step = "9.1.1";
  t.roles = {"manager"};
  t.created_at = at;
  st.tasks[t.id] = t;
  st.next_item = 2;
  st.seq = 2;
  return s;
}

std::vector<std::string> task_ids(const std::vector<InboxRow>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.task);
  return out;
}

// ---- opening ------------------------------------------------------------------

TEST_CASE("opening a new in-memory database creates an empty reglament schema") {
  // given a fresh store
  auto store = open_store();
  // then nothing is deployed, no instance exists and ids start at 1
  auto defs = store->definitions();
  REQUIRE(defs.ok());
  CHECK(defs->empty());
  auto inst = store->instances(std::nullopt, std::nullopt);
  REQUIRE(inst.ok());
  CHECK(inst->empty());
  auto id = store->next_instance_id();
  REQUIRE(id.ok());
  CHECK(*id == "1");
  auto org = store->org();
  REQUIRE_FALSE(org.ok());
  CHECK(org.error().code == ErrorCode::not_found);
  CHECK(org.error().message == "no org chart is deployed; run `reglament deploy` first");
}

TEST_CASE("a new database file is created private to its owner and in WAL mode") {
  TempDir dir;
  const std::string path = dir.file("new.db");
  // when a store is opened on a path that does not exist
  { auto store = open_store(path); }
  // then the file exists with permissions 0600
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // and it is marked as ours, schema 1, in WAL mode
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  CHECK(raw.execAndGet("SELECT value FROM meta WHERE key = 'application'").getString() == "reglament");
  CHECK(raw.execAndGet("SELECT value FROM meta WHERE key = 'schema_version'").getString() ==
        std::to_string(storage_internal::kSchemaVersion));
  CHECK(raw.execAndGet("PRAGMA journal_mode").getString() == "wal");
}

TEST_CASE("an existing file keeps its permissions and its contents when reopened") {
  TempDir dir;
  const std::string path = dir.file("kept.db");
  { auto store = deployed_store(path); }
  ::chmod(path.c_str(), 0640);
  // when it is opened again
  auto store = open_store(path);
  // then what was deployed is still there and the mode was not touched
  auto defs = store->definitions();
  REQUIRE(defs.ok());
  REQUIRE(defs->size() == 1);
  CHECK((*defs)[0].process == "callback");
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
}

TEST_CASE("a database written by a newer schema is refused") {
  TempDir dir;
  const std::string path = dir.file("newer.db");
  { auto store = open_store(path); }
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE);
    raw.exec("UPDATE meta SET value = '99' WHERE key = 'schema_version'");
  }
  // when it is opened
  auto store = SqliteStore::open(path);
  // then it is refused with the versions named
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().code == ErrorCode::invalid);
  CHECK(store.error().message ==
        path + " was written by a newer reglament (schema 99); this build reads schema " +
            std::to_string(storage_internal::kSchemaVersion));
}

TEST_CASE("a file that is not a SQLite database is refused and left alone") {
  TempDir dir;
  const std::string path = dir.file("notes.txt");
  const std::string text = std::string(200, 'x') + " these are notes, not a database\n";
  { std::ofstream(path) << text; }
  // when it is opened as a store
  auto store = SqliteStore::open(path);
  // then it is refused
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().code == ErrorCode::invalid);
  CHECK(store.error().message == path + " is not a SQLite database");
  // and the file is unchanged
  std::ifstream in(path);
  std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(back == text);
}

TEST_CASE("another application's SQLite database is refused and not modified") {
  TempDir dir;
  const std::string path = dir.file("other.db");
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");
  }
  // when it is opened as a store
  auto store = SqliteStore::open(path);
  // then it is refused
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().code == ErrorCode::invalid);
  CHECK(store.error().message == path + " is not a reglament database");
  // and no table was added, nor the journal mode changed
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  CHECK(raw.execAndGet("SELECT count(*) FROM sqlite_master").getInt() == 1);
  CHECK(raw.execAndGet("PRAGMA journal_mode").getString() == "delete");
}

// ---- deploy and definitions -------------------------------------------------------

TEST_CASE("deploying an unchanged process writes nothing; a changed one becomes a new version") {
  auto store = open_store();
  // given the process deployed once
  auto first = store->deploy(load(), "2024-03-01T09:00:00+03:00");
  REQUIRE(first.ok());
  REQUIRE(first->size() == 1);
  CHECK((*first)[0].changed);
  CHECK((*first)[0].version == 1);

  // when the same bundle is deployed again
  auto again = store->deploy(load(), "2024-03-02T09:00:00+03:00");
  REQUIRE(again.ok());
  REQUIRE(again->size() == 1);
  // then nothing changes
  CHECK_FALSE((*again)[0].changed);
  CHECK((*again)[0].version == 1);
  CHECK((*again)[0].hash == (*first)[0].hash);

  // when the process text changes
  std::string edited = kProcess;
  edited.replace(edited.find("Утвердить итог"), std::string("Утвердить итог").size(), "Проверить итог");
  auto changed = store->deploy(load(edited), "2024-03-03T09:00:00+03:00");
  REQUIRE(changed.ok());
  CHECK((*changed)[0].changed);
  CHECK((*changed)[0].version == 2);
  CHECK((*changed)[0].hash != (*first)[0].hash);

  // then both versions are listed, in order, with their titles and step counts
  auto defs = store->definitions();
  REQUIRE(defs.ok());
  REQUIRE(defs->size() == 2);
  CHECK((*defs)[0].version == 1);
  CHECK((*defs)[1].version == 2);
  CHECK((*defs)[0].title == "Обратный звонок клиенту");
  CHECK((*defs)[1].steps == 3);
  CHECK((*defs)[0].deployed_at == "2024-03-01T09:00:00+03:00");
  CHECK((*defs)[1].deployed_at == "2024-03-03T09:00:00+03:00");
}

TEST_CASE("a stored definition is recompiled from its sources and then served from the cache") {
  auto store = deployed_store();
  std::string edited = kProcess;
  edited.replace(edited.find("Утвердить итог"), std::string("Утвердить итог").size(), "Проверить итог");
  REQUIRE(store->deploy(load(edited), "2024-03-03T09:00:00+03:00").ok());

  // when the latest version is asked for
  auto latest = store->definition("callback", 0);
  REQUIRE(latest.ok());
  // then it is version 2, compiled, with the edited title
  CHECK(latest->version == 2);
  REQUIRE(latest->process);
  CHECK(latest->process->key == "callback");
  REQUIRE(latest->process->step("9.1.3"));
  CHECK(latest->process->step("9.1.3")->title == "Проверить итог");
  CHECK(latest->hash == load(edited).processes[0].hash);

  // and an older version is still what it was
  auto v1 = store->definition("callback", 1);
  REQUIRE(v1.ok());
  CHECK(v1->process->step("9.1.3")->title == "Утвердить итог");
  CHECK(v1->hash == load().processes[0].hash);

  // and asking again gives the same compiled object, not a new compilation
  auto again = store->definition("callback", 2);
  REQUIRE(again.ok());
  CHECK(again->process.get() == latest->process.get());
}

TEST_CASE("asking for a process or version that is not deployed is not_found") {
  auto store = deployed_store();
  auto none = store->definition("complaint", 0);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == ErrorCode::not_found);
  CHECK(none.error().message == "no process \"complaint\" is deployed");
  auto v7 = store->definition("callback", 7);
  REQUIRE_FALSE(v7.ok());
  CHECK(v7.error().code == ErrorCode::not_found);
  CHECK(v7.error().message == "process \"callback\" has no version 7");
}

TEST_CASE("the org chart is served from the deployed org.yaml") {
  auto store = deployed_store();
  auto org = store->org();
  REQUIRE(org.ok());
  CHECK(org->has_role("ivanova", "manager"));
  CHECK(org->has_role("sidorova", "deputy-director"));
  REQUIRE(org->person("ivanova"));
  CHECK(org->person("ivanova")->name == "Иванова Анна Петровна");
}

// ---- the log and projections -------------------------------------------------------

TEST_CASE("appended events come back equal and in order") {
  auto store = deployed_store();
  Deployed def = callback_v1(*store);
  Started s = started("1", "ООО Ромашка", "2024-03-04T10:00:00+03:00");
  // when a new instance's events are appended
  REQUIRE(store->append(def, s.state, 0, s.events).ok());
  // then events() returns exactly them
  auto back = store->events("1");
  REQUIRE(back.ok());
  CHECK(*back == s.events);
  // and history numbers them from 1
  auto hist = store->history("1");
  REQUIRE(hist.ok());
  REQUIRE(hist->size() == 2);
  CHECK((*hist)[0].seq == 1);
  CHECK((*hist)[1].seq == 2);
  CHECK((*hist)[1].instance == "1");
  CHECK((*hist)[1].event == s.events[1]);
  // and an unknown instance has no events
  auto none = store->events("42");
  REQUIRE(none.ok());
  CHECK(none->empty());
}

TEST_CASE("an append against an outdated sequence is a conflict and writes nothing") {
  auto store = deployed_store();
  Deployed def = callback_v1(*store);
  Started s = started("1", "ООО Ромашка", "2024-03-04T10:00:00+03:00");
  REQUIRE(store->append(def, s.state, 0, s.events).ok());

  // given a second writer that read the instance when it was new
  InstanceState claimed = s.state;
  claimed.tasks["1.1"].claimed_by = "ivanova";
  claimed.seq = 3;
  std::vector<Event> claim = {event(EventType::task_claimed, "2024-03-04T10:05:00+03:00", "ivanova", "9.1.1",
                                    obj({{"task", Json("1.1")}}))};
  // when it appends as if the log were still empty
  InstanceState stale = claimed;
  stale.seq = 1;
  Status st = store->append(def, stale, 0, claim);
  // then it is refused as a conflict
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == ErrorCode::conflict);
  CHECK(st.error().message == "instance 1 was changed by someone else; try again");
  // and nothing was written
  CHECK(store->events("1")->size() == 2);
  auto task = store->task("1.1");
  REQUIRE(task.ok());
  REQUIRE(task->has_value());
  CHECK((*task)->claimed_by.empty());

  // when it appends at the right sequence, it succeeds
  REQUIRE(store->append(def, claimed, 2, claim).ok());
  CHECK((*store->task("1.1"))->claimed_by == "ivanova");
}

TEST_CASE("two stores on one file see each other's appends and conflict on the same instance") {
  TempDir dir;
  const std::string path = dir.file("shared.db");
  auto a = deployed_store(path);
  auto b = open_store(path);
  Deployed def = callback_v1(*a);
  Started s = started("1", "ООО Ромашка", "2024-03-04T10:00:00+03:00");
  // given the first store started instance 1
  REQUIRE(a->append(def, s.state, 0, s.events).ok());
  // then the second store sees it, and moves its id counter past it
  CHECK(b->events("1")->size() == 2);
  CHECK(*b->next_instance_id() == "2");
  // and starting the same id again from the second store is a conflict
  Status again = b->append(def, s.state, 0, s.events);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == ErrorCode::conflict);
}

TEST_CASE("the inbox shows an open task to its roles and drops it once it is done") {
  auto store = deployed_store();
  Deployed def = callback_v1(*store);
  Started s = started("1", "ООО Ромашка", "2024-03-04T10:00:00+03:00");
  REQUIRE(store->append(def, s.state, 0, s.events).ok());

  // then a manager sees task 1.1 with its step title and the client
  auto inbox = store->inbox({"manager"});
  REQUIRE(inbox.ok());
  REQUIRE(inbox->size() == 1);
  const InboxRow& row = (*inbox)[0];
  CHECK(row.task == "1.1");
  CHECK(row.instance == "1");
  CHECK(row.process == "callback");
  CHECK(row.version == 1);
  CHECK(row.step == "9.1.1");
  CHECK(row.title == "Позвонить клиенту");
  CHECK(row.roles == std::vector<std::string>{"manager"});
  CHECK(row.claimed_by.empty());
  CHECK(row.since == "2024-03-04T10:00:00+03:00");
  CHECK(row.client == "ООО Ромашка");
  // and the deputy director does not, nor does nobody
  CHECK(store->inbox({"deputy-director"})->empty());
  CHECK(store->inbox({})->empty());

  // when the task is completed and the next one goes to the deputy director
  InstanceState after = s.state;
  after.tasks["1.1"].open = false;
  after.tasks["1.1"].completed_by = "ivanova";
  after.completed = {"9.1.1"};
  after.current = {"9.1.3"};
  Task next;
  next.id = "1.2";
  next.step = "9.1.3";
  next.roles = {"deputy-director"};
  next.created_at = "2024-03-04T11:00:00+03:00";
  after.tasks[next.id] = next;
  after.next_item = 3;
  after.updated_at = "2024-03-04T11:00:00+03:00";
  std::vector<Event> evs = {
      event(EventType::task_completed, "2024-03-04T11:00:00+03:00", "ivanova", "9.1.1",
            obj({{"task", Json("1.1")}, {"role", Json("manager")}, {"values", Json::object()}})),
      event(EventType::step_completed, "2024-03-04T11:00:00+03:00", "", "9.1.1",
            obj({{"next", strings({"9.1.3"})}, {"branch", Json()}})),
      event(EventType::task_created, "2024-03-04T11:00:00+03:00", "", "9.1.3",
            obj({{"task", Json("1.2")}, {"roles", strings({"deputy-director"})}})),
  };
  after.seq = 5;
  REQUIRE(store->append(def, after, 2, evs).ok());

  // then the manager's inbox is empty and task 1.1 is no longer open
  CHECK(store->inbox({"manager"})->empty());
  CHECK_FALSE(store->task("1.1")->has_value());
  // and the deputy director has 1.2
  CHECK(task_ids(*store->inbox({"deputy-director", "legal"})) == std::vector<std::string>{"1.2"});
  // and the instance row followed
  auto rows = store->instances(std::nullopt, std::nullopt);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0].current == std::vector<std::string>{"9.1.3"});
  CHECK((*rows)[0].updated == "2024-03-04T11:00:00+03:00");
  CHECK((*rows)[0].client == "ООО Ромашка");
}

TEST_CASE("the inbox is ordered oldest first, then by instance and item number") {
  auto store = deployed_store();
  Deployed def = callback_v1(*store);
  // given instances 10, 9 and 2, the last two started at the same moment
  for (const auto& [id, at] : std::vector<std::pair<std::string, std::string>>{
           {"10", "2024-03-04T09:00:00+03:00"},
           {"9", "2024-03-04T12:00:00+03:00"},
           {"2", "2024-03-04T12:00:00+03:00"}}) {
    Started s = started(id, "Клиент " + id, at);
    REQUIRE(store->append(def, s.state, 0, s.events).ok());
  }
  // then the inbox lists 10 (oldest), then 2 before 9
  CHECK(task_ids(*store->inbox({"manager"})) == std::vector<std::string>{"10.1", "2.1", "9.1"});
  // and instances are listed by numeric id
  auto rows = store->instances(std::nullopt, std::nullopt);
  REQUIRE(rows.ok());
  std::vector<std::string> ids;
  for (const auto& r : *rows) ids.push_back(r.instance);
  CHECK(ids == std::vector<std::string>{"2", "9", "10"});
  // and the next id is past the highest one
  CHECK(*store->next_instance_id() == "11");

  // given instance 3 with two open tasks created at once, items 9 and 10
  Started three = started("3", "Клиент 3", "2024-03-04T13:00:00+03:00");
  three.state.tasks.clear();
  for (const char* item : {"3.10", "3.9"}) {
    Task t;
    t.id = item;
    t.step = "9.1.1";
    t.roles = {"manager"};
    t.created_at = "2024-03-04T13:00:00+03:00";
    three.state.tasks[t.id] = t;
  }
  REQUIRE(store->append(def, three.state, 0, three.events).ok());
  // then item 9 comes before item 10
  CHECK(task_ids(*store->inbox({"manager"})) ==
        std::vector<std::string>{"10.1", "2.1", "9.1", "3.9", "3.10"});
}

TEST_CASE("instances can be filtered by process and status") {
  auto store = deployed_store();
  Deployed def = callback_v1(*store);
  Started one = started("1", "А", "2024-03-04T10:00:00+03:00");
  Started two = started("2", "Б", "2024-03-04T10:00:00+03:00");
  two.state.status = "completed";
  two.state.ended_at = "2024-03-04T10:00:00+03:00";
  two.state.current.clear();
  two.state.tasks.clear();
  REQUIRE(store->append(def, one.state, 0, one.events).ok());
  REQUIRE(store->append(def, two.state, 0, two.events).ok());

  auto active = store->instances(std::string("callback"), std::string("active"));
  REQUIRE(active.ok());
  REQUIRE(active->size() == 1);
  CHECK((*active)[0].instance == "1");
  auto done = store->instances(std::nullopt, std::string("completed"));
  REQUIRE(done.ok());
  REQUIRE(done->size() == 1);
  CHECK((*done)[0].instance == "2");
  CHECK(store->instances(std::string("complaint"), std::nullopt)->empty());
  CHECK(store->instances(std::string("callback"), std::nullopt)->size() == 2);
}

TEST_CASE("an open service job is pending until its result is recorded, which fills the outbox") {
  auto store = deployed_store();
  Deployed def = callback_v1(*store);
  Started s = started("1", "ООО Ромашка", "2024-03-04T10:00:00+03:00");
  REQUIRE(store->append(def, s.state, 0, s.events).ok());
  CHECK(store->instances_with_pending_jobs()->empty());

  // given the task completed with vip routing to the notify step
  InstanceState scheduled = s.state;
  scheduled.tasks["1.1"].open = false;
  scheduled.current = {"9.1.2"};
  Job job;
  job.id = "1.2";
  job.step = "9.1.2";
  job.handler = "notify";
  scheduled.jobs[job.id] = job;
  scheduled.next_item = 3;
  scheduled.seq = 3;
  scheduled.updated_at = "2024-03-04T10:10:00+03:00";
  REQUIRE(store
              ->append(def, scheduled, 2,
                       {event(EventType::service_scheduled, "2024-03-04T10:10:00+03:00", "", "9.1.2",
                              obj({{"job", Json("1.2")}, {"handler", Json("notify")}}))})
              .ok());
  // then the instance has a pending job
  CHECK(*store->instances_with_pending_jobs() == std::vector<std::string>{"1"});
  CHECK(store->outbox()->empty());

  // when the handler's result is recorded with a message
  InstanceState done = scheduled;
  done.jobs["1.2"].open = false;
  done.current = {"9.1.3"};
  done.seq = 4;
  done.updated_at = "2024-03-04T10:11:00+03:00";
  JsonArray messages;
  messages.push_back(obj({{"to", Json("sales-center")}, {"text", Json("VIP-клиент: ООО Ромашка")}}));
  REQUIRE(store
              ->append(def, done, 3,
                       {event(EventType::service_completed, "2024-03-04T10:11:00+03:00", "", "9.1.2",
                              obj({{"job", Json("1.2")},
                                   {"outputs", Json::object()},
                                   {"messages", Json(messages)}}))})
              .ok());
  // then nothing is pending and the outbox holds the message
  CHECK(store->instances_with_pending_jobs()->empty());
  auto out = store->outbox();
  REQUIRE(out.ok());
  REQUIRE(out->size() == 1);
  CHECK((*out)[0].instance == "1");
  CHECK((*out)[0].step == "9.1.2");
  CHECK((*out)[0].to == "sales-center");
  CHECK((*out)[0].text == "VIP-клиент: ООО Ромашка");
  CHECK((*out)[0].at == "2024-03-04T10:11:00+03:00");
}

TEST_CASE("the event log is hash-chained and refuses to be edited") {
  TempDir dir;
  const std::string path = dir.file("chain.db");
  {
    auto store = deployed_store(path);
    Deployed def = callback_v1(*store);
    Started s = started("1", "ООО Ромашка", "2024-03-04T10:00:00+03:00");
    REQUIRE(store->append(def, s.state, 0, s.events).ok());
  }
  SQLite::Database raw(path, SQLite::OPEN_READWRITE);
  // then each row's hash covers the previous hash, the instance, the seq and the event
  auto store = open_store(path);
  auto events = store->events("1");
  REQUIRE(events.ok());
  SQLite::Statement q(raw, "SELECT seq, hash FROM events WHERE instance = '1' ORDER BY seq");
  std::string prev;
  int rows = 0;
  while (q.executeStep()) {
    const int64_t seq = q.getColumn(0).getInt64();
    const std::string expected = sha256_hex(prev + "\n1\n" + std::to_string(seq) + "\n" +
                                            encode_event((*events)[seq - 1]).dump());
    CHECK(q.getColumn(1).getString() == expected);
    prev = expected;
    ++rows;
  }
  CHECK(rows == 2);
  // and rows cannot be changed or deleted
  CHECK_THROWS(raw.exec("UPDATE events SET actor = 'petrov' WHERE seq = 1"));
  CHECK_THROWS(raw.exec("DELETE FROM events WHERE seq = 2"));
}

// ---- through the runtime ----------------------------------------------------------

TEST_CASE("a whole instance run through the runtime is stored, projected and replays to the live state") {
  auto store = deployed_store();
  auto handlers = builtin_handlers();
  store->set_handlers(handlers.get());
  Runtime rt(*store, *handlers);

  // when ivanova starts a VIP callback
  JsonObject vars{{"client", Json("ООО Ромашка")}, {"vip", Json(true)}};
  auto started = rt.start("callback", vars, "ivanova", "2024-03-04T10:00:00+03:00");
  if (!started) MESSAGE(started.error().str());
  REQUIRE(started.ok());
  const std::string id = started->state.id;
  CHECK(id == "1");
  // then the manager's inbox has the first task
  auto inbox = store->inbox({"manager"});
  REQUIRE(inbox.ok());
  REQUIRE(inbox->size() == 1);
  CHECK((*inbox)[0].step == "9.1.1");

  // when she completes it, the notify step runs and the deputy director gets 9.1.3
  Command complete;
  complete.actor = "ivanova";
  complete.at = "2024-03-04T10:30:00+03:00";
  complete.body = CompleteTask{(*inbox)[0].task, JsonObject{{"note", Json("перезвонить")}}};
  auto done = rt.execute(complete);
  if (!done) MESSAGE(done.error().str());
  REQUIRE(done.ok());
  CHECK(store->inbox({"manager"})->empty());
  auto deputy = store->inbox({"deputy-director"});
  REQUIRE(deputy->size() == 1);
  CHECK((*deputy)[0].step == "9.1.3");
  CHECK(store->instances_with_pending_jobs()->empty());
  auto out = store->outbox();
  REQUIRE(out->size() == 1);
  CHECK((*out)[0].to == "sales-center");
  CHECK((*out)[0].text == "VIP-клиент: ООО Ромашка");

  // when the deputy director completes the last step
  Command approve;
  approve.actor = "sidorova";
  approve.at = "2024-03-04T11:00:00+03:00";
  approve.body = CompleteTask{(*deputy)[0].task, {}};
  auto finished = rt.execute(approve);
  if (!finished) MESSAGE(finished.error().str());
  REQUIRE(finished.ok());

  // then the instance is completed, nothing is open, and the stored log replays to the live state
  auto rows = store->instances(std::nullopt, std::nullopt);
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0].status == "completed");
  CHECK((*rows)[0].current.empty());
  CHECK(store->inbox({"manager", "deputy-director"})->empty());
  auto events = store->events(id);
  REQUIRE(events.ok());
  CHECK(encode_state(replay(*events)) == encode_state(finished->state));
  CHECK(static_cast<int64_t>(events->size()) == finished->state.seq);
}

// ---- periods and documents ------------------------------------------------------

std::vector<std::string> event_keys(const std::vector<StoredEvent>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.instance + "#" + std::to_string(r.seq));
  return out;
}

// Three instances under `ids`, started at 07:00Z, 08:30Z and 11:00Z, each
// written in another offset (10:00+03:00, 08:30Z, 06:00-05:00).
void start_three(SqliteStore& store, const std::array<std::string, 3>& ids) {
  Deployed def = callback_v1(store);
  Started one = started(ids[0], "ООО Ромашка", "2024-03-04T10:00:00+03:00");
  Started two = started(ids[1], "ООО Лютик", "2024-03-04T08:30:00Z");
  Started three = started(ids[2], "ООО Василёк", "2024-03-04T06:00:00-05:00");
  for (const Started* s : {&one, &two, &three}) REQUIRE(store.append(def, s->state, 0, s->events).ok());
}

TEST_CASE("events_between compares instants across UTC offsets, from inclusive and to exclusive") {
  auto store = deployed_store();
  Deployed def = callback_v1(*store);
  // given instance 1 started at 10:00 Moscow time (07:00Z) and instance 2 at 08:30Z written in UTC,
  // and instance 3 at 06:00 in New York (11:00Z)
  Started one = started("1", "ООО Ромашка", "2024-03-04T10:00:00+03:00");
  Started two = started("2", "ООО Лютик", "2024-03-04T08:30:00Z");
  Started three = started("3", "ООО Василёк", "2024-03-04T06:00:00-05:00");
  REQUIRE(store->append(def, one.state, 0, one.events).ok());
  REQUIRE(store->append(def, two.state, 0, two.events).ok());
  REQUIRE(store->append(def, three.state, 0, three.events).ok());

  // when every event is asked for, then they come in instant order, not text order
  auto all = store->events_between("", "");
  REQUIRE(all.ok());
  CHECK(event_keys(*all) == std::vector<std::string>{"1#1", "1#2", "2#1", "2#2", "3#1", "3#2"});
  CHECK((*all)[4].event == three.events[0]);

  // when the period is 08:30Z (written as 11:30+03:00) to 11:00Z
  auto mid = store->events_between("2024-03-04T11:30:00+03:00", "2024-03-04T11:00:00Z");
  REQUIRE(mid.ok());
  // then the start bound is included and the end bound is not
  CHECK(event_keys(*mid) == std::vector<std::string>{"2#1", "2#2"});

  // when only one bound is given, the other is open
  CHECK(event_keys(*store->events_between("2024-03-04T08:00:00Z", "")) ==
        std::vector<std::string>{"2#1", "2#2", "3#1", "3#2"});
  CHECK(event_keys(*store->events_between("", "2024-03-04T07:00:00.001Z")) ==
        std::vector<std::string>{"1#1", "1#2"});
}

TEST_CASE("each_instance_log gives one instance at a time, in key order, before an instant") {
  auto store = deployed_store();
  // given instances 1, 2 and 10 (text order: 1, 10, 2), 2 written in UTC, 10 in New York time
  start_three(*store, {"1", "2", "10"});

  // when every event is asked for
  std::vector<std::string> calls;
  auto keys = [&](std::vector<StoredEvent>& events) {
    calls.push_back(fmt::format("{}", fmt::join(event_keys(events), " ")));
    return Status{};
  };
  REQUIRE(store->each_instance_log("", keys).ok());
  // then each instance comes once, whole, its events in seq order
  CHECK(calls == std::vector<std::string>{"1#1 1#2", "10#1 10#2", "2#1 2#2"});

  // when only what happened before 08:30Z (written as 11:30+03:00) is asked for
  calls.clear();
  REQUIRE(store->each_instance_log("2024-03-04T11:30:00+03:00", keys).ok());
  CHECK(calls == std::vector<std::string>{"1#1 1#2"});

  // when the callback fails, the reading stops with its error
  calls.clear();
  Status stopped = store->each_instance_log("", [&](std::vector<StoredEvent>& events) {
    calls.push_back(events.front().instance);
    return Status{make_error(ErrorCode::invalid, "stop here")};
  });
  REQUIRE_FALSE(stopped.ok());
  CHECK(stopped.error().message == "stop here");
  CHECK(calls == std::vector<std::string>{"1"});

  // and a bound that is not a timestamp is refused before anything is read
  Status bad = store->each_instance_log("yesterday", keys);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::invalid);
}

TEST_CASE("each_event_between gives the period's events one at a time, in instant order") {
  auto store = deployed_store();
  // given instances 1, 2 and 3 started at 07:00Z, 08:30Z and 11:00Z, each written in another offset
  start_three(*store, {"1", "2", "3"});

  // when every event is asked for, then each comes once, as events_between lists them
  std::vector<std::string> seen;
  auto keep = [&](const StoredEvent& e) {
    seen.push_back(e.instance + "#" + std::to_string(e.seq));
    return Status{};
  };
  REQUIRE(store->each_event_between("", "", keep).ok());
  CHECK(seen == event_keys(*store->events_between("", "")));
  CHECK(seen == std::vector<std::string>{"1#1", "1#2", "2#1", "2#2", "3#1", "3#2"});

  // when a period is asked for, its bounds are instants, from included and to not
  seen.clear();
  REQUIRE(store->each_event_between("2024-03-04T11:30:00+03:00", "2024-03-04T11:00:00Z", keep).ok());
  CHECK(seen == std::vector<std::string>{"2#1", "2#2"});

  // when the callback fails, the reading stops with its error after that event
  seen.clear();
  Status stopped = store->each_event_between("", "", [&](const StoredEvent& e) {
    seen.push_back(e.instance + "#" + std::to_string(e.seq));
    return seen.size() == 3 ? Status{make_error(ErrorCode::invalid, "stop here")} : Status{};
  });
  REQUIRE_FALSE(stopped.ok());
  CHECK(stopped.error().message == "stop here");
  CHECK(seen.size() == 3);

  // and a bound that is not a timestamp is refused before anything is read
  seen.clear();
  Status bad = store->each_event_between("", "tomorrow", keep);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::invalid);
  CHECK(seen.empty());
}

TEST_CASE("events_between refuses a bound that is not a timestamp") {
  auto store = deployed_store();
  auto bad = store->events_between("yesterday", "");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::invalid);
  CHECK(bad.error().message.find("\"yesterday\"") != std::string::npos);
  auto bad_date = store->events_between("", "2024-02-30T00:00:00Z");
  REQUIRE_FALSE(bad_date.ok());
  CHECK(bad_date.error().code == ErrorCode::invalid);
}

TEST_CASE("deploy stores the indicators file as a document, and a deploy without one keeps it") {
  auto store = open_store();
  // given nothing deployed, there is no indicators document
  auto none = store->document("indicators");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());

  // when a bundle with indicators is deployed
  Bundle b = load();
  b.indicators_source = "indicators:\n  - code: ПП1\n";
  REQUIRE(store->deploy(b, "2024-03-01T09:00:00+03:00").ok());
  // then its text comes back under "indicators"
  auto doc = store->document("indicators");
  REQUIRE(doc.ok());
  REQUIRE(doc->has_value());
  CHECK(**doc == "indicators:\n  - code: ПП1\n");
  CHECK_FALSE(store->document("controls")->has_value());

  // when a bundle without indicators is deployed, the last text stays
  REQUIRE(store->deploy(load(), "2024-03-02T09:00:00+03:00").ok());
  CHECK(**store->document("indicators") == "indicators:\n  - code: ПП1\n");

  // when changed indicators are deployed, the new text replaces it
  b.indicators_source = "indicators: []\n";
  REQUIRE(store->deploy(b, "2024-03-03T09:00:00+03:00").ok());
  CHECK(**store->document("indicators") == "indicators: []\n");
}

}  // namespace
}  // namespace reglament
