// Definitions that validate refuses, as they would run if one were deployed
// anyway (before the checks existed): a loop of service steps stops at an
// incident after a bounded number of steps, and a cycle of calls is refused
// at start with nothing written.
#include <doctest/doctest.h>

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
