// The runtime over an in-memory store: commands, service steps after commit,
// retries on concurrent change.
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

Command complete(const std::string& actor, const std::string& task, JsonObject values = {}) {
  return Command{"", actor, kAt, CompleteTask{task, std::move(values)}};
}

// A handler that fails a given number of times, then succeeds.
class Flaky : public TaskHandler {
 public:
  explicit Flaky(int failures) : failures_(failures) {}
  HandlerResult run(const HandlerCall&) const override {
    if (calls_++ < failures_) return HandlerResult::failure("the service is unavailable");
    return HandlerResult{};
  }
  mutable int calls_ = 0;
  int failures_;
};
}  // namespace

TEST_CASE("a service step reached by a command runs in the same call, after the command commits") {
  MemoryStore store(sample_process());
  auto handlers = builtin_handlers();
  Runtime rt(store, *handlers);
  auto started = rt.start("sample", {{"client", Json("Ромашка")}, {"vip", Json(true)}}, "ivanova", kAt);
  REQUIRE(started.ok());
  CHECK(started->state.id == "1");
  auto a = rt.execute(complete("ivanova", task_on(started->state, "a")));
  REQUIRE(a.ok());
  int appends_before = store.appends;
  auto b = rt.execute(complete("ivanova", task_on(a->state, "b")));
  REQUIRE(b.ok());
  // b's completion and the notify result are two transactions
  CHECK(store.appends == appends_before + 2);
  CHECK(b->state.current == std::vector<std::string>{"e"});
  const Event& done = b->events.back().type == EventType::service_completed ? b->events.back()
                                                                                : b->events[b->events.size() - 2];
  bool found = false;
  for (const auto& e : b->events)
    if (e.type == EventType::service_completed) {
      found = true;
      CHECK(e.data.get("messages").as_array()[0].str("text") == "VIP: Ромашка");
    }
  CHECK(found);
  (void)done;
  CHECK(replay(store.log_["1"]) == store.states_["1"]);
}

TEST_CASE("a failing handler leaves the instance on its step with the error, and a later run finishes it") {
  auto p = sample_process();
  MemoryStore store(p);
  Registry handlers;
  auto flaky = std::make_unique<Flaky>(1);
  handlers.add("notify", std::move(flaky));
  Runtime rt(store, handlers);
  auto s = rt.start("sample", {{"client", Json("x")}, {"vip", Json(true)}}, "ivanova", kAt);
  REQUIRE(s.ok());
  auto a = rt.execute(complete("ivanova", task_on(s->state, "a")));
  REQUIRE(a.ok());
  auto b = rt.execute(complete("ivanova", task_on(a->state, "b")));
  REQUIRE(b.ok());
  CHECK(b->state.current == std::vector<std::string>{"d"});
  REQUIRE(b->state.open_jobs().size() == 1);
  CHECK(b->state.open_jobs()[0]->last_error == "the service is unavailable");

  CHECK(b->state.open_jobs()[0]->retry_at == "2026-11-23T07:01:00+00:00");  // the default back-off: 1m, in the (UTC) calendar's zone

  auto early = rt.run_pending(kAt);  // not before its retry time
  REQUIRE(early.ok());
  CHECK(early->empty());
  const std::string later = "2026-11-23T10:01:00+03:00";
  auto ran = rt.run_pending(later);
  REQUIRE(ran.ok());
  REQUIRE(ran->size() == 1);
  CHECK((*ran)[0].state.current == std::vector<std::string>{"e"});
  auto again = rt.run_pending(later);
  REQUIRE(again.ok());
  CHECK(again->empty());
}

TEST_CASE("starting an unknown process is not found") {
  MemoryStore store(sample_process());
  auto handlers = builtin_handlers();
  Runtime rt(store, *handlers);
  auto r = rt.start("nope", {}, "ivanova", kAt);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::not_found);
}

TEST_CASE("a command on a task of an unknown instance is not found") {
  MemoryStore store(sample_process());
  auto handlers = builtin_handlers();
  Runtime rt(store, *handlers);
  auto r = rt.execute(complete("ivanova", "99.1"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::not_found);
}
