// Definitions that validate refuses, as they would run if one were deployed
// anyway (before the checks existed): a loop of service steps stops at an
// incident after a bounded number of steps, and a cycle of calls is refused
// at start with nothing written.
#include <doctest/doctest.h>

#include "engine/calls.h"
#include "engine/runtime.h"
#include "handlers/registry.h"
#include "tests/engine/fixtures.h"

using namespace reglament;
using namespace reglament::testing;

namespace {
const std::string kAt = "2026-11-23T10:00:00+03:00";

class Counting : public TaskHandler {
 public:
  HandlerResult run(const HandlerCall&) const override {
    ++calls;
    return HandlerResult{};
  }
  mutable int calls = 0;
};

Step service_step(std::string id, Next next) {
  Step s = user_step(std::move(id), {"manager"}, std::move(next));
  s.handler = "count";
  return s;
}

// a (a person's task) -> b -> c -> b ...: b and c are service steps only.
std::shared_ptr<Process> looping_process() {
  auto p = std::make_shared<Process>();
  p->key = "loop";
  p->title = "Петля";
  p->owner = "deputy-director";
  p->steps.push_back(user_step("a", {"manager"}, go("b")));
  p->steps.push_back(service_step("b", go("c")));
  p->steps.push_back(service_step("c", go("b")));
  return p;
}

std::shared_ptr<Process> calling(std::string key, std::string callee) {
  auto p = std::make_shared<Process>();
  p->key = std::move(key);
  p->title = "Вызов";
  p->owner = "deputy-director";
  Step s = user_step("1", {"manager"}, go("end"));
  s.call = Call{std::move(callee), false, {}, Location{p->key + ".yaml", 5, 11}};
  p->steps.push_back(std::move(s));
  return p;
}

std::string task_on(const InstanceState& s, const std::string& step) {
  for (const Task* t : s.open_tasks())
    if (t->step == step) return t->id;
  return {};
}

size_t service_events(const std::vector<Event>& events) {
  size_t n = 0;
  for (const auto& e : events) n += e.type == EventType::service_completed;
  return n;
}
}  // namespace

TEST_CASE("a loop of service steps stops at an incident after a bounded number of steps, and the command stands") {
  MemoryStore store(looping_process());
  Registry handlers;
  auto counting = std::make_unique<Counting>();
  const Counting& count = *counting;
  handlers.add("count", std::move(counting));
  Runtime rt(store, handlers);
  auto s = rt.start("loop", {}, "ivanova", kAt);
  REQUIRE(s.ok());
  auto done = rt.execute(Command{"", "ivanova", kAt, CompleteTask{task_on(s->state, "a"), {}}});
  REQUIRE_MESSAGE(done.ok(), done.error().message);
  CHECK(count.calls == 100);
  CHECK(service_events(store.log_["1"]) == 100);
  // The next job was not run: it is an incident, the clean point.
  const auto jobs = done->state.open_jobs();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0]->incident);
  CHECK(jobs[0]->last_error.find("ran 100 service steps in one go") != std::string::npos);
  CHECK(replay(store.log_["1"]) == store.states_["1"]);

  SUBCASE("tick adds nothing for it afterwards") {
    const size_t events = store.log_["1"].size();
    auto ran = rt.run_pending(kAt);
    REQUIRE(ran.ok());
    CHECK(ran->empty());
    CHECK(store.log_["1"].size() == events);
    CHECK(count.calls == 100);
  }
  SUBCASE("retry runs at most as many steps again and stops at a new incident") {
    auto retried = rt.execute(Command{"", "ivanova", kAt, RetryJob{jobs[0]->id}});
    REQUIRE_MESSAGE(retried.ok(), retried.error().message);
    CHECK(count.calls == 200);
    REQUIRE(retried->state.open_jobs().size() == 1);
    CHECK(retried->state.open_jobs()[0]->incident);
  }
  SUBCASE("skip moves past the step and the loop stops again within the bound") {
    auto skipped = rt.execute(Command{"", "sidorova", kAt, SkipJob{jobs[0]->id, "the loop is a mistake"}});
    REQUIRE_MESSAGE(skipped.ok(), skipped.error().message);
    CHECK(count.calls == 200);
    REQUIRE(skipped->state.open_jobs().size() == 1);
    CHECK(skipped->state.open_jobs()[0]->incident);
  }
}

TEST_CASE("a worker's batch stops a loop of service steps at an incident too") {
  MemoryStore store(looping_process());
  Registry handlers;
  auto counting = std::make_unique<Counting>();
  const Counting& count = *counting;
  handlers.add("count", std::move(counting));
  Runtime rt(store, handlers);
  auto s = rt.start("loop", {}, "ivanova", kAt);
  REQUIRE(s.ok());
  std::vector<BatchCommand> batch;
  batch.push_back({Command{"", "ivanova", kAt, CompleteTask{task_on(s->state, "a"), {}}}, ""});
  auto results = rt.execute_batch(std::move(batch));
  REQUIRE(results.ok());
  REQUIRE((*results)[0].ok());
  CHECK(count.calls == 100);
  const InstanceState state = replay(store.log_["1"]);
  const auto jobs = state.open_jobs();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0]->incident);
}

TEST_CASE("a process whose calls come back to it is refused at start, with nothing written") {
  MemoryStore store(calling("a", "b"));
  store.defs_["b"] = Deployed{calling("b", "a"), 1, "hash-b"};
  auto handlers = builtin_handlers();
  Runtime rt(store, *handlers);
  auto s = rt.start("a", {}, "ivanova", kAt);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == ErrorCode::invalid);
  CHECK(s.error().message.find("its calls form a cycle") != std::string::npos);
  CHECK(s.error().message.find("a.yaml:5:11") != std::string::npos);
  CHECK(s.error().message.find("b.yaml:5:11") != std::string::npos);
  CHECK(store.appends == 0);
  CHECK(store.log_.empty());
}

TEST_CASE("a start that reaches its call only through a person's task is not checked; the child's start is") {
  auto a = calling("a", "b");
  a->steps.insert(a->steps.begin(), user_step("t", {"manager"}, go("1")));
  MemoryStore store(a);
  store.defs_["b"] = Deployed{calling("b", "a"), 1, "hash-b"};
  auto handlers = builtin_handlers();
  Runtime rt(store, *handlers);
  CHECK_FALSE(reaches_call_at_once(*a));
  CHECK(reaches_call_at_once(*store.defs_["b"].process));
  CHECK(rt.start("a", {}, "ivanova", kAt).ok());
  CHECK_FALSE(rt.start("b", {}, "ivanova", kAt).ok());
}

TEST_CASE("a process that calls itself is refused at start, with nothing written") {
  MemoryStore store(calling("self", "self"));
  auto handlers = builtin_handlers();
  Runtime rt(store, *handlers);
  auto s = rt.start("self", {}, "ivanova", kAt);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == ErrorCode::invalid);
  CHECK(store.appends == 0);
}

TEST_CASE("calls nested deeper than the limit are refused at start; a chain at the limit starts") {
  // p0 calls p1 calls ... p17 (17 calls deep), which calls nothing.
  MemoryStore store(calling("p0", "p1"));
  for (int i = 1; i <= 16; ++i)
    store.defs_["p" + std::to_string(i)] =
        Deployed{calling("p" + std::to_string(i), "p" + std::to_string(i + 1)), 1, "h"};
  auto last = std::make_shared<Process>();
  last->key = "p17";
  last->owner = "deputy-director";
  last->steps.push_back(user_step("1", {"manager"}, go("end")));
  store.defs_["p17"] = Deployed{last, 1, "h"};
  auto handlers = builtin_handlers();
  Runtime rt(store, *handlers);
  auto deep = rt.start("p0", {}, "ivanova", kAt);
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.error().message.find("nest more than 16 deep") != std::string::npos);
  CHECK(store.appends == 0);
  auto at_limit = rt.start("p1", {}, "ivanova", kAt);  // 16 calls deep
  CHECK(at_limit.ok());
}
