// A cycle of calls deployed before validate could see it (each process
// deployed alone), run on the SQLite store with its links: the start that
// would begin the runaway chain is refused with nothing written, for a person
// and for tick alike.
#include <doctest/doctest.h>

#include <string>

#include "engine/loader.h"
#include "engine/runtime.h"
#include "handlers/registry.h"
#include "storage/sqlite_store.h"

using namespace reglament;

namespace {

const std::string kAt = "2026-11-23T10:00:00+03:00";

const char* kOrg = R"(roles:
  clerk: {title: Клерк}
people:
  - {login: ivanova, name: Иванова Анна, roles: [clerk]}
)";

// a: a person's task, then a call of b. b: a call of a, at once.
const char* kA = R"(process: a
title: A
owner: clerk
steps:
  - {id: t, title: Решить, actor: clerk, next: c}
  - {id: c, title: Вызвать B, actor: clerk, call: b, next: end}
)";
const char* kB = R"(process: b
title: B
owner: clerk
steps:
  - {id: c, title: Вызвать A, actor: clerk, call: a, next: end}
)";

Bundle alone(const std::string& file, const std::string& text) {
  static const auto handlers = builtin_handlers();
  SourceSet s;
  s.files["org.yaml"] = kOrg;
  s.files[file] = text;
  LoadReport r = load_bundle(s, handlers.get());
  for (const Error& e : r.problems) MESSAGE(e.str());
  REQUIRE(r.ok());  // alone, neither shows the cycle
  return r.bundle;
}

size_t event_count(SqliteStore& store, const std::string& instance) {
  auto events = store.events(instance);
  REQUIRE(events.ok());
  return events->size();
}

}  // namespace

TEST_CASE("a deployed cycle of calls starts no child: the person's command stands, tick writes nothing") {
  auto opened = SqliteStore::open(":memory:");
  REQUIRE(opened.ok());
  SqliteStore& store = **opened;
  REQUIRE(store.deploy(alone("a.yaml", kA), kAt).ok());
  REQUIRE(store.deploy(alone("b.yaml", kB), kAt).ok());
  const auto handlers = builtin_handlers();
  Runtime rt(store, *handlers);

  SUBCASE("starting the process whose first step calls is refused, with nothing written") {
    auto b = rt.start("b", {}, "ivanova", kAt);
    REQUIRE_FALSE(b.ok());
    CHECK(b.error().code == ErrorCode::invalid);
    CHECK_MESSAGE(b.error().message.find("its calls form a cycle") != std::string::npos, b.error().message);
    CHECK(event_count(store, "1") == 0);
  }

  SUBCASE("the child a person's step would start is refused, and stays refused") {
    // a's first step is a person's: nothing runs away from this start.
    auto a = rt.start("a", {}, "ivanova", kAt);
    REQUIRE(a.ok());
    std::string task;
    for (const Task* t : a->state.open_tasks()) task = t->id;
    auto done = rt.execute(Command{"", "ivanova", kAt, CompleteTask{task, {}}});
    REQUIRE_MESSAGE(done.ok(), done.error().message);
    REQUIRE(done->link_problems.size() == 1);
    CHECK(done->link_problems[0].message.find("process \"b\" cannot be started: its calls form a cycle") !=
          std::string::npos);
    CHECK(done->linked.empty());
    CHECK(event_count(store, "2") == 0);  // no child was written
    const size_t events = event_count(store, "1");

    for (int i = 0; i < 3; ++i) {
      auto tick = rt.tick(kAt);
      REQUIRE(tick.ok());
      REQUIRE(tick->problems.size() == 1);
      CHECK(tick->problems[0].message.find("its calls form a cycle") != std::string::npos);
      CHECK(tick->links.empty());
    }
    CHECK(event_count(store, "1") == events);
    CHECK(event_count(store, "2") == 0);
  }
}
