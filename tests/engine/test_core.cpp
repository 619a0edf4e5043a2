// Pure core tests: given events, when a command, then these events.
#include <doctest/doctest.h>

#include "engine/core.h"
#include "tests/engine/fixtures.h"

using namespace reglament;
using namespace reglament::testing;

namespace {

const std::string kAt = "2026-11-23T10:00:00+03:00";

struct World {
  std::shared_ptr<Process> process = sample_process();
  Org people = org();
  InstanceState state;
  std::vector<Event> log;

  Context ctx() const { return Context{*process, 1, "hash-1", people}; }

  Result<std::vector<Event>> run(const std::string& actor, CommandBody body) {
    Command cmd{state.exists() ? state.id : "7", actor, kAt, std::move(body)};
    auto events = decide(ctx(), state, cmd);
    if (events.ok())
      for (const auto& e : *events) {
        apply(state, e);
        log.push_back(e);
      }
    return events;
  }

  // The one open task on `step`.
  std::string task_on(const std::string& step) const {
    for (const Task* t : state.open_tasks())
      if (t->step == step) return t->id;
    FAIL("no open task on step " << step);
    return {};
  }
};

std::vector<EventType> types(const std::vector<Event>& events) {
  std::vector<EventType> out;
  for (const auto& e : events) out.push_back(e.type);
  return out;
}

JsonObject vals(std::initializer_list<std::pair<const std::string, Json>> kv) { return JsonObject(kv); }

}  // namespace

TEST_CASE("starting an instance records the variables and opens the first step's task") {
  World w;
  auto events = w.run("ivanova", StartInstance{vals({{"client", Json("ООО «Ромашка»")}})});
  REQUIRE(events.ok());
  CHECK(types(*events) == std::vector{EventType::instance_started, EventType::task_created});
  CHECK(w.state.status == "active");
  CHECK(w.state.variables.at("client") == Json("ООО «Ромашка»"));
  CHECK(w.state.variables.at("vip") == Json(false));  // the default
  CHECK(w.state.current == std::vector<std::string>{"a"});
  CHECK(w.state.open_tasks().front()->id == "7.1");
}

TEST_CASE("starting without a required variable is rejected and changes nothing") {
  World w;
  auto events = w.run("ivanova", StartInstance{});
  REQUIRE_FALSE(events.ok());
  CHECK(events.error().code == ErrorCode::invalid);
  CHECK(events.error().message.find("\"client\"") != std::string::npos);
  CHECK_FALSE(w.state.exists());
}

TEST_CASE("a start variable given as text is parsed by its type, and a bad one names the field") {
  World w;
  auto bad = w.run("ivanova", StartInstance{vals({{"client", Json("x")}, {"vip", Json("maybe")}})});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::invalid);
  CHECK(bad.error().message.find("vip") != std::string::npos);
  auto good = w.run("ivanova", StartInstance{vals({{"client", Json("x")}, {"vip", Json("true")}})});
  REQUIRE(good.ok());
  CHECK(w.state.variables.at("vip") == Json(true));
}

TEST_CASE("an unknown user cannot start an instance") {
  World w;
  auto events = w.run("nobody", StartInstance{vals({{"client", Json("x")}})});
  REQUIRE_FALSE(events.ok());
  CHECK(events.error().code == ErrorCode::not_found);
}

TEST_CASE("exclusive choice takes the otherwise branch when no condition holds") {
  World w;
  REQUIRE(w.run("ivanova", StartInstance{vals({{"client", Json("x")}})}).ok());
  auto events = w.run("ivanova", CompleteTask{w.task_on("a"), {}});
  REQUIRE(events.ok());
  CHECK(types(*events) == std::vector{EventType::task_claimed, EventType::task_completed,
                                      EventType::step_completed, EventType::task_created});
  CHECK((*events)[2].data.get("branch") == Json("else"));
  CHECK(w.state.current == std::vector<std::string>{"c"});
}

TEST_CASE("exclusive choice takes the first branch whose condition holds and schedules a service step") {
  World w;
  REQUIRE(w.run("ivanova", StartInstance{vals({{"client", Json("x")}, {"vip", Json(true)}})}).ok());
  REQUIRE(w.run("ivanova", CompleteTask{w.task_on("a"), {}}).ok());
  CHECK(w.state.current == std::vector<std::string>{"b"});
  auto events = w.run("ivanova", CompleteTask{w.task_on("b"), {}});
  REQUIRE(events.ok());
  CHECK(events->back().type == EventType::service_scheduled);
  CHECK(w.state.open_jobs().size() == 1);
  CHECK(w.state.current == std::vector<std::string>{"d"});
}

TEST_CASE("a service result completes the step and records outputs and messages") {
  World w;
  REQUIRE(w.run("ivanova", StartInstance{vals({{"client", Json("x")}, {"vip", Json(true)}})}).ok());
  REQUIRE(w.run("ivanova", CompleteTask{w.task_on("a"), {}}).ok());
  REQUIRE(w.run("ivanova", CompleteTask{w.task_on("b"), {}}).ok());
  std::string job = w.state.open_jobs().front()->id;

  RecordServiceResult failed{job, false, {}, {}, "the mail server is down"};
  REQUIRE(w.run("", failed).ok());
  CHECK(w.state.jobs.at(job).open);
  CHECK(w.state.jobs.at(job).last_error == "the mail server is down");
  CHECK(w.state.jobs.at(job).attempts == 1);

  RecordServiceResult ok{job, true, vals({{"notified", Json(true)}}), {}, ""};
  auto events = w.run("", ok);
  REQUIRE(events.ok());
  CHECK_FALSE(w.state.jobs.at(job).open);
  CHECK(w.state.variables.at("notified") == Json(true));
  CHECK(w.state.current == std::vector<std::string>{"e"});
  auto again = w.run("", ok);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == ErrorCode::conflict);
}

TEST_CASE("a parallel split runs every branch and the join waits for all of them") {
  World w;
  REQUIRE(w.run("ivanova", StartInstance{vals({{"client", Json("x")}})}).ok());
  REQUIRE(w.run("ivanova", CompleteTask{w.task_on("a"), {}}).ok());
  REQUIRE(w.run("ivanova", CompleteTask{w.task_on("c"), {}}).ok());
  REQUIRE(w.run("ivanova", CompleteTask{w.task_on("e"), {}}).ok());
  CHECK(w.state.current == std::vector<std::string>{"f", "g"});
  auto first = w.run("petrov", CompleteTask{w.task_on("g"), {}});
  REQUIRE(first.ok());
  CHECK(first->back().type == EventType::join_waiting);
  CHECK(w.state.current == std::vector<std::string>{"f"});
  auto second = w.run("ivanova", CompleteTask{w.task_on("f"), {}});
  REQUIRE(second.ok());
  // sign: all -> one task per role
  CHECK(w.state.open_tasks().size() == 2);
  CHECK(w.state.current == std::vector<std::string>{"h"});
}

TEST_CASE("a step signed by all its actors completes only when each has completed") {
  World w;
  REQUIRE(w.run("ivanova", StartInstance{vals({{"client", Json("x")}})}).ok());
  for (const char* s : {"a", "c", "e", "f", "g"}) REQUIRE(w.run("ivanova", CompleteTask{w.task_on(s), {}}).ok());
  std::string deputy_task, legal_task;
  for (const Task* t : w.state.open_tasks()) (t->roles[0] == "legal" ? legal_task : deputy_task) = t->id;

  auto wrong = w.run("kuznetsov", CompleteTask{deputy_task, {}});
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code == ErrorCode::forbidden);

  REQUIRE(w.run("sidorova", CompleteTask{deputy_task, {}}).ok());
  CHECK(w.state.current == std::vector<std::string>{"h"});
  REQUIRE(w.run("kuznetsov", CompleteTask{legal_task, {}}).ok());
  CHECK(w.state.current == std::vector<std::string>{"i"});
}

TEST_CASE("a loop repeats its step until the condition holds, then the instance completes") {
  World w;
  REQUIRE(w.run("ivanova", StartInstance{vals({{"client", Json("x")}})}).ok());
  for (const char* s : {"a", "c", "e", "f", "g"}) REQUIRE(w.run("ivanova", CompleteTask{w.task_on(s), {}}).ok());
  REQUIRE(w.run("sidorova", CompleteTask{w.task_on("h"), {}}).ok());
  REQUIRE(w.run("kuznetsov", CompleteTask{w.task_on("h"), {}}).ok());

  auto missing = w.run("ivanova", CompleteTask{w.task_on("i"), {}});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::invalid);
  CHECK(missing.error().message.find("\"resolved\" is required") != std::string::npos);

  REQUIRE(w.run("ivanova", CompleteTask{w.task_on("i"), vals({{"resolved", Json("no")}})}).ok());
  CHECK(w.state.current == std::vector<std::string>{"i"});
  auto last = w.run("ivanova", CompleteTask{w.task_on("i"), vals({{"resolved", Json("yes")}})});
  REQUIRE(last.ok());
  CHECK(last->back().type == EventType::instance_completed);
  CHECK(w.state.status == "completed");
  CHECK(w.state.completed ==
        std::vector<std::string>{"a", "c", "e", "f", "g", "h", "i", "i"});
}

TEST_CASE("a task claimed by one person cannot be completed or claimed by another") {
  World w;
  REQUIRE(w.run("ivanova", StartInstance{vals({{"client", Json("x")}})}).ok());
  std::string t = w.task_on("a");
  REQUIRE(w.run("ivanova", ClaimTask{t}).ok());
  auto other = w.run("petrov", CompleteTask{t, {}});
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().code == ErrorCode::conflict);
  CHECK(other.error().message.find("claimed by ivanova") != std::string::npos);
  CHECK(w.run("petrov", ClaimTask{t}).error().code == ErrorCode::conflict);
  CHECK(w.run("ivanova", ClaimTask{t}).error().code == ErrorCode::conflict);
  CHECK(w.run("petrov", UnclaimTask{t}).error().code == ErrorCode::conflict);
  REQUIRE(w.run("ivanova", UnclaimTask{t}).ok());
  REQUIRE(w.run("petrov", CompleteTask{t, {}}).ok());
  auto twice = w.run("petrov", CompleteTask{t, {}});
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.error().code == ErrorCode::conflict);
}

TEST_CASE("a person without the task's role may not claim it, and an unknown task is not found") {
  World w;
  REQUIRE(w.run("ivanova", StartInstance{vals({{"client", Json("x")}})}).ok());
  auto forbidden = w.run("orlov", ClaimTask{w.task_on("a")});
  REQUIRE_FALSE(forbidden.ok());
  CHECK(forbidden.error().code == ErrorCode::forbidden);
  CHECK(w.run("ivanova", ClaimTask{"7.99"}).error().code == ErrorCode::not_found);
}

TEST_CASE("values for a step without a form, or unknown fields, are rejected") {
  World w;
  REQUIRE(w.run("ivanova", StartInstance{vals({{"client", Json("x")}})}).ok());
  auto r = w.run("ivanova", CompleteTask{w.task_on("a"), vals({{"colour", Json("red")}})});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::invalid);
  CHECK(r.error().message.find("colour") != std::string::npos);
}

TEST_CASE("replaying the events gives the state built live") {
  World w;
  REQUIRE(w.run("ivanova", StartInstance{vals({{"client", Json("x")}, {"vip", Json(true)}})}).ok());
  REQUIRE(w.run("ivanova", CompleteTask{w.task_on("a"), {}}).ok());
  REQUIRE(w.run("ivanova", ClaimTask{w.task_on("b")}).ok());
  CHECK(replay(w.log) == w.state);
  CHECK(encode_state(replay(w.log)) == encode_state(w.state));
}

TEST_CASE("every event survives encoding and decoding unchanged") {
  World w;
  REQUIRE(w.run("ivanova", StartInstance{vals({{"client", Json("ООО «Ромашка»")}, {"vip", Json(true)}})}).ok());
  REQUIRE(w.run("ivanova", CompleteTask{w.task_on("a"), {}}).ok());
  REQUIRE(w.run("ivanova", CompleteTask{w.task_on("b"), {}}).ok());
  for (const auto& e : w.log) {
    auto text = encode_event(e).dump();
    auto parsed = parse_json(text);
    REQUIRE(parsed.ok());
    auto back = decode_event(*parsed);
    REQUIRE(back.ok());
    CHECK(*back == e);
  }
}

TEST_CASE("an event of an unknown type or a newer format is refused on decoding") {
  Json j = encode_event(Event{});
  j["type"] = Json("TaskExploded");
  CHECK(decode_event(j).error().code == ErrorCode::integrity);
  j["type"] = Json("TaskCreated");
  j["format"] = Json(kEventFormat + 1);
  CHECK(decode_event(j).error().code == ErrorCode::integrity);
}

TEST_CASE("a task id names its instance") {
  CHECK(instance_of("12.3") == "12");
  CHECK(instance_of("12") == "12");
}
