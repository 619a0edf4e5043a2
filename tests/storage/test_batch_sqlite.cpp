// Group commit and inbox pages on SQLite: begin_batch / commit_batch /
// rollback_batch, a savepoint per append inside a batch, Runtime::execute_batch
// end to end, and inbox_page against inbox().
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/core.h"
#include "engine/loader.h"
#include "engine/runtime.h"
#include "handlers/registry.h"
#include "storage/sqlite_store.h"

namespace reglament {
namespace {

namespace fs = std::filesystem;

const char* kOrg = R"(roles:
  manager: {title: Менеджер}
  deputy-director: {title: Заместитель директора}
  legal: {title: Юрист}
  sales-center: {title: Центр продаж}
people:
  - login: ivanova
    name: Иванова Анна Петровна
    roles: [manager]
  - login: sidorova
    name: Сидорова Мария
    roles: [deputy-director]
  - login: kuznetsov
    name: Кузнецов Дмитрий
    roles: [legal, deputy-director]
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

// One step for legal, so inbox pages mix roles.
const char* kReview = R"(process: review
title: Проверка договора
section: "9.2"
owner: deputy-director
variables:
  client: {type: text, required: true, title: Клиент}
steps:
  - id: "9.2.1"
    title: Проверить договор
    actor: legal
    next: end
)";

const std::unique_ptr<Registry>& handlers() {
  static const std::unique_ptr<Registry> h = builtin_handlers();
  return h;
}

std::unique_ptr<SqliteStore> deployed_store(const std::string& path = ":memory:") {
  SourceSet s;
  s.files["org.yaml"] = kOrg;
  s.files["callback.yaml"] = kProcess;
  s.files["review.yaml"] = kReview;
  LoadReport report = load_bundle(s, handlers().get());
  for (const Error& e : report.problems) MESSAGE(e.str());
  REQUIRE(report.ok());
  auto store = SqliteStore::open(path);
  REQUIRE(store.ok());
  (*store)->set_handlers(handlers().get());
  REQUIRE((*store)->deploy(report.bundle, "2024-03-01T09:00:00+03:00").ok());
  return std::move(store).value();
}

struct TempDir {
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "reglament-batch-XXXXXX").string();
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

std::string at(int minute) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "2024-03-04T%02d:%02d:00+03:00", 9 + minute / 60, minute % 60);
  return buf;
}

BatchCommand start(const std::string& process, const std::string& client, int minute, bool vip = false) {
  JsonObject vars{{"client", Json(client)}};
  if (process == "callback") vars["vip"] = Json(vip);
  return BatchCommand{Command{"", "ivanova", at(minute), StartInstance{std::move(vars)}}, process};
}

BatchCommand complete(const std::string& actor, const std::string& task, int minute) {
  return BatchCommand{Command{"", actor, at(minute), CompleteTask{task, {}}}, ""};
}

std::string open_task(const InstanceState& s) {
  auto open = s.open_tasks();
  return open.empty() ? std::string() : open.front()->id;
}

std::vector<std::string> task_ids(const std::vector<InboxRow>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.task);
  return out;
}

}  // namespace

TEST_CASE("a batch of starts and completes is committed together and survives reopening the file") {
  TempDir dir;
  const std::string file = dir.file("batch.db");
  std::vector<std::string> ids;
  {
    // given a deployed database file
    auto store = deployed_store(file);
    Runtime rt(*store, *handlers());
    // when three instances are started in one batch
    auto started = rt.execute_batch({start("callback", "А", 0), start("callback", "Б", 1, true),
                                     start("callback", "В", 2)});
    REQUIRE(started.ok());
    for (const auto& r : *started) {
      REQUIRE(r.ok());
      ids.push_back(r->state.id);
    }
    // then they have distinct ids
    CHECK(ids == std::vector<std::string>{"1", "2", "3"});
    // when their first tasks are completed in one more batch (the VIP one
    // reaches the notify step, run after the commit)
    std::vector<BatchCommand> completes;
    for (const auto& r : *started) completes.push_back(complete("ivanova", open_task(r->state), 5));
    auto done = rt.execute_batch(std::move(completes));
    REQUIRE(done.ok());
    for (const auto& r : *done) {
      REQUIRE(r.ok());
      CHECK(r->state.current == std::vector<std::string>{"9.1.3"});
    }
  }
  // then a new connection sees every instance at 9.1.3, replaying to the same state
  auto reopened = SqliteStore::open(file);
  REQUIRE(reopened.ok());
  Runtime rt(**reopened, *handlers());
  for (const auto& id : ids) {
    auto s = rt.load(id);
    REQUIRE(s.ok());
    CHECK(s->current == std::vector<std::string>{"9.1.3"});
  }
  auto outbox = (*reopened)->outbox();
  REQUIRE(outbox.ok());
  REQUIRE(outbox->size() == 1);
  CHECK(outbox->front().text == "VIP-клиент: Б");
  CHECK(*(*reopened)->next_instance_id() == "4");
}

TEST_CASE("a rejected command in a SQLite batch leaves its instance untouched and the others committed") {
  auto store = deployed_store();
  Runtime rt(*store, *handlers());
  auto started = rt.execute_batch({start("callback", "А", 0), start("callback", "Б", 1)});
  REQUIRE(started.ok());
  const std::string t1 = open_task((*started)[0]->state);
  const std::string t2 = open_task((*started)[1]->state);
  auto before = store->history("2");
  REQUIRE(before.ok());
  // when sidorova (no manager role) completes the second one in the same batch
  auto r = rt.execute_batch({complete("ivanova", t1, 3), complete("sidorova", t2, 3)});
  REQUIRE(r.ok());
  CHECK((*r)[0].ok());
  REQUIRE_FALSE((*r)[1].ok());
  CHECK((*r)[1].error().code == ErrorCode::forbidden);
  // then instance 2's log is as it was and instance 1 moved on
  auto after = store->history("2");
  REQUIRE(after.ok());
  CHECK(after->size() == before->size());
  auto one = rt.load("1");
  REQUIRE(one.ok());
  CHECK(one->current == std::vector<std::string>{"9.1.3"});
}

TEST_CASE("an append that fails halfway inside a batch is undone alone, by its savepoint") {
  auto store = deployed_store();
  Runtime rt(*store, *handlers());
  auto started = rt.execute_batch({start("callback", "А", 0)});
  REQUIRE(started.ok());
  const InstanceState first = (*started)[0]->state;  // instance 1, one open task
  auto def = store->definition("callback", 1);
  REQUIRE(def.ok());

  REQUIRE(store->begin_batch().ok());
  // given instance 2 appended fine inside the batch
  InstanceState two = first;
  two.id = "2";
  std::vector<Event> events2 = *store->events("1");
  events2[0].data["instance"] = Json("2");
  for (Event& e : events2)
    if (e.type == EventType::task_created) e.data["task"] = Json("2.1");
  two.tasks.clear();
  Task t2 = first.tasks.begin()->second;
  t2.id = "2.1";
  two.tasks[t2.id] = t2;
  REQUIRE(store->append(*def, two, 0, events2).ok());
  // when instance 3's append writes its instance row and events, then fails on
  // a task id that instance 1 already holds open
  InstanceState three = first;
  three.id = "3";
  std::vector<Event> events3 = *store->events("1");
  Status st = store->append(*def, three, 0, events3);
  REQUIRE_FALSE(st.ok());
  REQUIRE(store->commit_batch().ok());
  // then nothing of instance 3 was kept, and instance 2 was
  CHECK(store->events("3")->empty());
  auto rows = store->instances(std::nullopt, std::nullopt);
  REQUIRE(rows.ok());
  std::vector<std::string> ids;
  for (const auto& r : *rows) ids.push_back(r.instance);
  CHECK(ids == std::vector<std::string>{"1", "2"});
  CHECK(store->events("2")->size() == events2.size());
}

TEST_CASE("rolling a batch back discards its appends, and batches do not nest") {
  auto store = deployed_store();
  Runtime rt(*store, *handlers());
  auto started = rt.execute_batch({start("callback", "А", 0)});
  REQUIRE(started.ok());
  const std::string task = open_task((*started)[0]->state);
  const size_t events_before = store->events("1")->size();
  REQUIRE(store->begin_batch().ok());
  // a batch inside a batch is refused
  CHECK_FALSE(store->begin_batch().ok());
  // given a completion appended inside the batch, visible to the batch itself
  auto out = rt.execute(Command{"", "ivanova", at(2), CompleteTask{task, {}}});
  REQUIRE(out.ok());
  CHECK(store->events("1")->size() > events_before);
  // when the batch is rolled back
  store->rollback_batch();
  // then the completion is gone and the task is open again
  CHECK(store->events("1")->size() == events_before);
  auto row = store->task(task);
  REQUIRE(row.ok());
  CHECK(row->has_value());
  // and commit outside a batch is an error
  CHECK_FALSE(store->commit_batch().ok());
}

TEST_CASE("an inbox page is the first rows of the inbox, for the given roles only") {
  auto store = deployed_store();
  Runtime rt(*store, *handlers());
  // given 30 instances: callbacks for managers and reviews for legal, interleaved,
  // some started at the same minute so the order falls to the instance number
  std::vector<BatchCommand> starts;
  for (int i = 0; i < 30; ++i) starts.push_back(start(i % 3 == 0 ? "review" : "callback", "К", 30 - i / 2));
  auto r = rt.execute_batch(std::move(starts));
  REQUIRE(r.ok());
  for (const auto& one : *r) REQUIRE(one.ok());
  for (const std::vector<std::string>& roles : std::vector<std::vector<std::string>>{
           {"manager"}, {"legal"}, {"legal", "deputy-director"}, {"manager", "legal"}}) {
    CAPTURE(roles.size());
    auto all = store->inbox(roles);
    REQUIRE(all.ok());
    for (int limit : {1, 7, 50}) {
      auto page = store->inbox_page(roles, limit);
      REQUIRE(page.ok());
      std::vector<std::string> expected = task_ids(*all);
      if (expected.size() > static_cast<size_t>(limit)) expected.resize(limit);
      CHECK(task_ids(*page) == expected);
    }
  }
  // then a role with no tasks has an empty page, and so does an empty role list
  CHECK(store->inbox_page({"deputy-director"}, 50)->empty());
  CHECK(store->inbox_page({}, 50)->empty());
  CHECK(store->inbox_page({"manager"}, 50)->size() == 20);
  // and a page carries the same row as the full inbox
  auto page = store->inbox_page({"legal"}, 1);
  auto all = store->inbox({"legal"});
  REQUIRE(!page->empty());
  CHECK(page->front().title == all->front().title);
  CHECK(page->front().roles == std::vector<std::string>{"legal"});
  CHECK(page->front().client == "К");
}

TEST_CASE("commits with full durability behave as with the default") {
  TempDir dir;
  auto store = deployed_store(dir.file("full.db"));
  REQUIRE(store->set_durability(SqliteStore::Durability::full).ok());
  Runtime rt(*store, *handlers());
  auto r = rt.start("callback", {{"client", Json("А")}}, "ivanova", at(0));
  REQUIRE(r.ok());
  REQUIRE(store->set_durability(SqliteStore::Durability::normal).ok());
  auto c = rt.execute(Command{"", "ivanova", at(1), CompleteTask{open_task(r->state), {}}});
  REQUIRE(c.ok());
  CHECK(c->state.current == std::vector<std::string>{"9.1.3"});
}

}  // namespace reglament
