// Group commit: Runtime::execute_batch over the in-memory store. One
// transaction for the batch, the same guarantees per command.
#include <doctest/doctest.h>

#include "engine/runtime.h"
#include "handlers/registry.h"
#include "tests/engine/fixtures.h"

using namespace reglament;
using namespace reglament::testing;

namespace {
const std::string kAt = "2026-11-23T10:00:00+03:00";

std::string task_on(const InstanceState& s, const std::string& step) {
  for (const Task* t : s.open_tasks())
    if (t->step == step) return t->id;
  return {};
}

BatchCommand complete(const std::string& actor, const std::string& task, JsonObject values = {}) {
  return BatchCommand{Command{"", actor, kAt, CompleteTask{task, std::move(values)}}, ""};
}

BatchCommand claim(const std::string& actor, const std::string& task) {
  return BatchCommand{Command{"", actor, kAt, ClaimTask{task}}, ""};
}

BatchCommand start(const std::string& client, bool vip) {
  return BatchCommand{Command{"", "ivanova", kAt, StartInstance{{{"client", Json(client)}, {"vip", Json(vip)}}}},
                      "sample"};
}

// Three started instances (ids 1, 2, 3), each with its task on step "a".
struct Three {
  Three() : store(sample_process()), handlers(builtin_handlers()), rt(store, *handlers) {
    for (int i = 0; i < 3; ++i) {
      auto s = rt.start("sample", {{"client", Json("Клиент")}, {"vip", Json(false)}}, "ivanova", kAt);
      REQUIRE(s.ok());
      ids.push_back(s->state.id);
    }
  }
  std::string task_a(int i) { return task_on(store.states_[ids[i]], "a"); }

  MemoryStore store;
  std::unique_ptr<Registry> handlers;
  Runtime rt;
  std::vector<std::string> ids;
};
}  // namespace

TEST_CASE("a batch of commands is committed in one transaction, one result per command") {
  // given three instances waiting on step a
  Three t;
  // when the three tasks are completed in one batch
  auto r = t.rt.execute_batch({complete("ivanova", t.task_a(0)), complete("petrov", t.task_a(1)),
                               complete("ivanova", t.task_a(2))});
  // then one batch was begun and committed, and every command succeeded
  REQUIRE(r.ok());
  CHECK(t.store.batches_begun == 1);
  CHECK(t.store.batches_committed == 1);
  REQUIRE(r->size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    REQUIRE((*r)[i].ok());
    CHECK((*r)[i]->state.current == std::vector<std::string>{"c"});
    // and the log of each instance replays to the state the batch returned
    CHECK(replay(t.store.log_[t.ids[i]]) == (*r)[i]->state);
  }
}

TEST_CASE("a rejected command in a batch appends nothing and does not stop the others") {
  // given three instances waiting on step a, a manager's step
  Three t;
  const auto before = t.store.log_[t.ids[1]];
  // when the second command comes from someone without the manager role
  auto r = t.rt.execute_batch({complete("ivanova", t.task_a(0)), complete("sidorova", t.task_a(1)),
                               complete("ivanova", t.task_a(2))});
  // then only that command is rejected, with its own reason
  REQUIRE(r.ok());
  REQUIRE(r->size() == 3);
  CHECK((*r)[0].ok());
  REQUIRE_FALSE((*r)[1].ok());
  CHECK((*r)[1].error().code == ErrorCode::forbidden);
  CHECK((*r)[2].ok());
  // and its instance's log is unchanged while the others moved on
  CHECK(t.store.log_[t.ids[1]] == before);
  CHECK(t.store.states_[t.ids[0]].current == std::vector<std::string>{"c"});
  CHECK(t.store.states_[t.ids[2]].current == std::vector<std::string>{"c"});
  CHECK(t.store.batches_committed == 1);
}

TEST_CASE("a command without a task in a batch is invalid and the others still commit") {
  Three t;
  auto r = t.rt.execute_batch({complete("ivanova", ""), complete("ivanova", t.task_a(0))});
  REQUIRE(r.ok());
  REQUIRE_FALSE((*r)[0].ok());
  CHECK((*r)[0].error().code == ErrorCode::invalid);
  CHECK((*r)[1].ok());
}

TEST_CASE("a later command in a batch sees what an earlier one of the same batch did") {
  // given an instance waiting on step a
  Three t;
  const std::string task = t.task_a(0);
  // when ivanova claims it and petrov then tries to complete it, in one batch
  auto r = t.rt.execute_batch({claim("ivanova", task), complete("petrov", task), complete("ivanova", task)});
  // then petrov is refused because of the claim made earlier in the batch
  REQUIRE(r.ok());
  CHECK((*r)[0].ok());
  REQUIRE_FALSE((*r)[1].ok());
  CHECK((*r)[1].error().code == ErrorCode::conflict);
  // and ivanova completes it
  REQUIRE((*r)[2].ok());
  CHECK((*r)[2]->state.task(task)->completed_by == "ivanova");
  CHECK(replay(t.store.log_[t.ids[0]]) == (*r)[2]->state);
}

TEST_CASE("the same task completed twice in one batch is done once; the second is a conflict") {
  Three t;
  const std::string task = t.task_a(1);
  auto r = t.rt.execute_batch({complete("ivanova", task), complete("ivanova", task)});
  REQUIRE(r.ok());
  CHECK((*r)[0].ok());
  REQUIRE_FALSE((*r)[1].ok());
  CHECK((*r)[1].error().code == ErrorCode::conflict);
  int completions = 0;
  for (const Event& e : t.store.log_[t.ids[1]]) completions += e.type == EventType::task_completed;
  CHECK(completions == 1);
}

TEST_CASE("starts in a batch get distinct instances") {
  // given an empty store
  MemoryStore store(sample_process());
  auto handlers = builtin_handlers();
  Runtime rt(store, *handlers);
  // when two instances are started in one batch, with an unknown process between them
  BatchCommand unknown = start("Нет", false);
  unknown.process = "nope";
  auto r = rt.execute_batch({start("Ромашка", false), unknown, start("Лютик", true)});
  // then both starts succeed with different ids, and the unknown one is not found
  REQUIRE(r.ok());
  REQUIRE((*r)[0].ok());
  REQUIRE((*r)[2].ok());
  CHECK((*r)[0]->state.id != (*r)[2]->state.id);
  REQUIRE_FALSE((*r)[1].ok());
  CHECK((*r)[1].error().code == ErrorCode::not_found);
  CHECK(store.states_[(*r)[2]->state.id].variables.at("client") == Json("Лютик"));
  CHECK(store.batches_committed == 1);
}

TEST_CASE("when the batch's commit fails, nothing of it is written and the batch fails as a whole") {
  // given three instances waiting on step a, and a store whose next commit fails
  Three t;
  const auto before = t.store.log_;
  t.store.fail_next_commit = true;
  // when the three tasks are completed in one batch
  auto r = t.rt.execute_batch({complete("ivanova", t.task_a(0)), complete("ivanova", t.task_a(1))});
  // then the batch is an error and the logs are as they were
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "the disk is full");
  CHECK(t.store.log_ == before);
  // and the same commands succeed afterwards, decided on the stored state
  auto again = t.rt.execute_batch({complete("ivanova", t.task_a(0)), complete("ivanova", t.task_a(1))});
  REQUIRE(again.ok());
  CHECK((*again)[0].ok());
  CHECK((*again)[1].ok());
  CHECK(replay(t.store.log_[t.ids[0]]) == (*again)[0]->state);
}

TEST_CASE("an append that fails in a batch fails only its own command") {
  Three t;
  t.store.fail_appends_for.insert(t.ids[1]);
  auto r = t.rt.execute_batch({complete("ivanova", t.task_a(0)), complete("ivanova", t.task_a(1)),
                               complete("ivanova", t.task_a(2))});
  REQUIRE(r.ok());
  CHECK((*r)[0].ok());
  REQUIRE_FALSE((*r)[1].ok());
  CHECK((*r)[1].error().code == ErrorCode::internal);
  CHECK((*r)[2].ok());
}

TEST_CASE("service steps reached in a batch run after its commit and are recorded in one more transaction") {
  // given two VIP instances waiting on step b, which leads to the notify step d
  MemoryStore store(sample_process());
  auto handlers = builtin_handlers();
  Runtime rt(store, *handlers);
  std::vector<std::string> b_tasks;
  for (const char* client : {"Ромашка", "Лютик"}) {
    auto s = rt.start("sample", {{"client", Json(client)}, {"vip", Json(true)}}, "ivanova", kAt);
    REQUIRE(s.ok());
    auto a = rt.execute(Command{"", "ivanova", kAt, CompleteTask{task_on(s->state, "a"), {}}});
    REQUIRE(a.ok());
    b_tasks.push_back(task_on(a->state, "b"));
  }
  const int begun = store.batches_begun;
  // when both b tasks are completed in one batch
  auto r = rt.execute_batch({complete("ivanova", b_tasks[0]), complete("petrov", b_tasks[1])});
  // then the commands and the service results took two transactions
  REQUIRE(r.ok());
  CHECK(store.batches_begun == begun + 2);
  CHECK(store.batches_committed == begun + 2);
  // and each outcome carries its notify result and stands on e
  const char* clients[] = {"VIP: Ромашка", "VIP: Лютик"};
  for (size_t i = 0; i < 2; ++i) {
    REQUIRE((*r)[i].ok());
    const Outcome& out = *(*r)[i];
    CHECK(out.state.current == std::vector<std::string>{"e"});
    bool notified = false;
    for (const Event& e : out.events)
      if (e.type == EventType::service_completed) {
        notified = true;
        CHECK(e.data.get("messages").as_array()[0].str("text") == clients[i]);
      }
    CHECK(notified);
    CHECK(replay(store.log_[out.state.id]) == out.state);
  }
}
