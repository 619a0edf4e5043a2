// Time in the core: deadlines and escalation, waits, priority, scheduled
// starts and the rule that time does not go back. Given events, when a
// command at a moment, then these events.
#include <doctest/doctest.h>

#include "engine/calendar.h"
#include "engine/core.h"
#include "tests/engine/fixtures.h"

using namespace reglament;
using namespace reglament::testing;

namespace {

// Moscow has had +03:00 all year since 2014; a fixed zone keeps the test
// independent of the machine's tzdata (engine/calendar tests cover TZif).
WorkingCalendar moscow() {
  WorkingCalendar cal = default_calendar();
  cal.zone = TimeZone::fixed(3 * 3600, "+03:00");
  cal.lunch = std::make_pair(int64_t{13 * 3600}, int64_t{14 * 3600});
  cal.holidays.insert(civil_to_days(CivilDate{2026, 12, 31}));
  TimeWindow calling;
  calling.name = "calling";
  calling.from = 9 * 3600;
  calling.to = 12 * 3600;
  cal.windows["calling"] = calling;
  return cal;
}

Span span(const char* text) { return *parse_span(text); }

// review (manager, deadline) -> answer (manager) -> end;
// an escalation can send the instance from review to fallback.
std::shared_ptr<Process> deadline_process(std::vector<Escalation> escalate, const char* within = "24h") {
  auto p = std::make_shared<Process>();
  p->key = "timed";
  p->title = "Со сроком";
  p->owner = "deputy-director";
  p->variables = {field("client", ValueType::text, true), field("vip", ValueType::boolean, false),
                  field("call_on", ValueType::date, false)};
  Step review = user_step("review", {"manager"}, go("answer"));
  review.deadline = Deadline{span(within), "", {}};
  review.escalate = std::move(escalate);
  Step answer = user_step("answer", {"manager"}, go("end"));
  Step fallback = user_step("fallback", {"deputy-director"}, go("end"));
  p->steps = {review, answer, fallback};
  return p;
}

Escalation notify(const std::string& role, const std::string& text = "") {
  Escalation e;
  e.kind = Escalation::Kind::notify;
  e.role = role;
  e.text = text;
  return e;
}
Escalation reassign(const std::string& role) {
  Escalation e;
  e.kind = Escalation::Kind::reassign;
  e.role = role;
  return e;
}
Escalation raise(Priority level) {
  Escalation e;
  e.kind = Escalation::Kind::priority;
  e.level = level;
  return e;
}
Escalation go_to(const std::string& target) {
  Escalation e;
  e.kind = Escalation::Kind::go;
  e.target = target;
  return e;
}

struct Clock {
  explicit Clock(std::shared_ptr<Process> p) : process(std::move(p)) {}

  std::shared_ptr<Process> process;
  WorkingCalendar cal = moscow();
  Org people = org();
  InstanceState state;
  std::vector<Event> log;

  Result<std::vector<Event>> run(const std::string& at, const std::string& actor, CommandBody body) {
    Context ctx{*process, 1, "h", people, &cal};
    Command cmd{state.exists() ? state.id : "7", actor, at, std::move(body)};
    auto events = decide(ctx, state, cmd);
    if (events.ok())
      for (const auto& e : *events) {
        apply(state, e);
        log.push_back(e);
      }
    return events;
  }
  Result<std::vector<Event>> start(const std::string& at, JsonObject vars = {{"client", Json("ООО «Ромашка»")}}) {
    return run(at, "ivanova", StartInstance{std::move(vars)});
  }
  Result<std::vector<Event>> tick(const std::string& at) { return run(at, "", FireTimers{}); }
  const Task* open_on(const std::string& step) const {
    for (const Task* t : state.open_tasks())
      if (t->step == step) return t;
    return nullptr;
  }
};

std::vector<EventType> types(const std::vector<Event>& events) {
  std::vector<EventType> out;
  for (const auto& e : events) out.push_back(e.type);
  return out;
}

}  // namespace

TEST_CASE("time: a task gets its due moment from the step's deadline, in the calendar's zone") {
  Clock c{deadline_process({})};
  REQUIRE(c.start("2026-11-23T12:30:00Z").ok());  // 15:30 in Moscow
  const Task* t = c.open_on("review");
  REQUIRE(t != nullptr);
  CHECK(t->due == "2026-11-24T15:30:00+03:00");
  CHECK(c.state.next_due() == parse_moment("2026-11-24T15:30:00+03:00")->epoch);
}

TEST_CASE("time: a working-hours deadline skips the evening, the weekend and lunch") {
  Clock c{deadline_process({}, "8 working hours")};
  // Friday 15:00: 3 h on Friday, then Monday 09:00-13:00 and 14:00-15:00.
  REQUIRE(c.start("2026-11-27T15:00:00+03:00").ok());
  CHECK(c.open_on("review")->due == "2026-11-30T15:00:00+03:00");
}

TEST_CASE("time: nothing fires before the due moment, and a tick with nothing due writes nothing") {
  Clock c{deadline_process({notify("deputy-director")})};
  REQUIRE(c.start("2026-11-23T10:00:00+03:00").ok());
  auto early = c.tick("2026-11-24T09:59:59+03:00");
  REQUIRE(early.ok());
  CHECK(early->empty());
}

TEST_CASE("time: a passed deadline notifies, reassigns and raises priority, once") {
  Clock c{deadline_process({notify("deputy-director", "Просрочено: {client}, срок {due}"), reassign("deputy-director"),
                            raise(Priority::urgent)})};
  REQUIRE(c.start("2026-11-23T10:00:00+03:00").ok());
  REQUIRE(c.run("2026-11-23T10:05:00+03:00", "ivanova", ClaimTask{"7.1"}).ok());
  auto fired = c.tick("2026-11-24T10:00:00+03:00");
  REQUIRE(fired.ok());
  CHECK(types(*fired) == std::vector{EventType::deadline_passed, EventType::task_reassigned,
                                     EventType::task_priority_changed});
  const Event& passed = fired->front();
  CHECK(passed.at == "2026-11-24T10:00:00+03:00");
  CHECK(passed.data.str("due") == "2026-11-24T10:00:00+03:00");
  CHECK(passed.data.get("messages").as_array().at(0).str("to") == "deputy-director");
  CHECK(passed.data.get("messages").as_array().at(0).str("text") ==
        "Просрочено: ООО «Ромашка», срок 2026-11-24T10:00:00+03:00");
  const Task* t = c.open_on("review");
  REQUIRE(t != nullptr);
  CHECK(t->roles == std::vector<std::string>{"deputy-director"});
  CHECK(t->claimed_by.empty());  // the manager's claim is released
  CHECK(t->priority == Priority::urgent);
  CHECK(t->escalated);
  CHECK_FALSE(c.state.next_due().has_value());
  // The deputy director may now act on it; the manager may not.
  CHECK(c.run("2026-11-24T10:01:00+03:00", "ivanova", ClaimTask{"7.1"}).error().code == ErrorCode::forbidden);
  auto again = c.tick("2026-11-25T10:00:00+03:00");
  REQUIRE(again.ok());
  CHECK(again->empty());
  CHECK(replay(c.log) == c.state);
}

TEST_CASE("time: completing a task before its deadline leaves nothing due") {
  Clock c{deadline_process({notify("deputy-director")})};
  REQUIRE(c.start("2026-11-23T10:00:00+03:00").ok());
  REQUIRE(c.run("2026-11-23T11:00:00+03:00", "ivanova", CompleteTask{"7.1", {}}).ok());
  CHECK_FALSE(c.state.next_due().has_value());
  auto later = c.tick("2026-11-25T10:00:00+03:00");
  REQUIRE(later.ok());
  CHECK(later->empty());
}

TEST_CASE("time: an interrupting deadline cancels the task and takes the instance elsewhere") {
  Clock c{deadline_process({notify("deputy-director"), go_to("fallback")})};
  REQUIRE(c.start("2026-11-23T10:00:00+03:00").ok());
  auto fired = c.tick("2026-11-24T12:00:00+03:00");
  REQUIRE(fired.ok());
  CHECK(types(*fired) == std::vector{EventType::deadline_passed, EventType::task_cancelled,
                                     EventType::step_completed, EventType::task_created});
  CHECK(fired->at(2).data.str("branch") == "deadline");
  CHECK(c.state.tasks.at("7.1").cancelled);
  CHECK(c.state.current == std::vector<std::string>{"fallback"});
  CHECK(c.state.completed == std::vector<std::string>{"review"});
  CHECK(c.open_on("fallback")->roles == std::vector<std::string>{"deputy-director"});
  // The cancelled task cannot be completed any more.
  CHECK(c.run("2026-11-24T12:01:00+03:00", "ivanova", CompleteTask{"7.1", {}}).error().code == ErrorCode::conflict);
  CHECK(replay(c.log) == c.state);
}

TEST_CASE("time: a deadline at a date variable falls due at the end of that working day") {
  auto p = deadline_process({});
  p->steps[0].deadline = Deadline{std::nullopt, "call_on", {}};
  Clock c{p};
  REQUIRE(c.start("2026-11-23T10:00:00+03:00", {{"client", Json("x")}, {"call_on", Json("2026-11-25")}}).ok());
  CHECK(c.open_on("review")->due == "2026-11-25T18:00:00+03:00");
  Clock unset{p};
  REQUIRE(unset.start("2026-11-23T10:00:00+03:00").ok());
  CHECK_FALSE(unset.open_on("review")->has_due());  // no date, no deadline
}

TEST_CASE("time: a wait step sleeps, then its task appears when a tick passes the due moment") {
  auto p = deadline_process({});
  p->steps[0].deadline.reset();
  p->steps[1].wait = Wait{span("1 working day"), "", "", {}};
  Clock c{p};
  REQUIRE(c.start("2026-11-27T16:00:00+03:00").ok());  // Friday
  auto done = c.run("2026-11-27T16:30:00+03:00", "ivanova", CompleteTask{"7.1", {}});
  REQUIRE(done.ok());
  CHECK(types(*done) == std::vector{EventType::task_claimed, EventType::task_completed, EventType::step_completed,
                                    EventType::timer_started});
  CHECK(c.state.status == "active");  // waiting is not finished
  CHECK(c.state.current == std::vector<std::string>{"answer"});
  CHECK(c.state.open_tasks().empty());
  CHECK(c.state.open_timers().front()->due == "2026-11-30T16:30:00+03:00");  // Monday, same point of the day
  CHECK(c.tick("2026-11-30T16:29:00+03:00")->empty());
  auto woke = c.tick("2026-11-30T16:31:00+03:00");
  REQUIRE(woke.ok());
  CHECK(types(*woke) == std::vector{EventType::timer_fired, EventType::task_created});
  CHECK(c.open_on("answer") != nullptr);
  CHECK(replay(c.log) == c.state);
}

TEST_CASE("time: a wait until a date variable and a window opens the task in that day's window") {
  auto p = deadline_process({});
  p->steps[0].deadline.reset();
  p->steps[0].wait = Wait{std::nullopt, "call_on", "calling", {}};
  p->steps.insert(p->steps.begin(), user_step("pick", {"manager"}, go("review")));
  Clock c{p};
  REQUIRE(c.start("2026-11-23T15:00:00+03:00", {{"client", Json("x")}, {"call_on", Json("2026-11-26")}}).ok());
  REQUIRE(c.run("2026-11-23T15:01:00+03:00", "ivanova", CompleteTask{"7.1", {}}).ok());
  CHECK(c.state.open_timers().front()->due == "2026-11-26T09:00:00+03:00");
  // Without a date: the next window, tomorrow morning.
  Clock today{p};
  REQUIRE(today.start("2026-11-23T15:00:00+03:00").ok());
  REQUIRE(today.run("2026-11-23T15:01:00+03:00", "ivanova", CompleteTask{"7.1", {}}).ok());
  CHECK(today.state.open_timers().front()->due == "2026-11-24T09:00:00+03:00");
  // Inside the window: no wait at all.
  Clock inside{p};
  REQUIRE(inside.start("2026-11-24T10:00:00+03:00").ok());
  REQUIRE(inside.run("2026-11-24T10:01:00+03:00", "ivanova", CompleteTask{"7.1", {}}).ok());
  CHECK(inside.state.open_timers().empty());
  CHECK(inside.open_on("review") != nullptr);
}

TEST_CASE("time: a branch's wait delays a loop back, not the first visit") {
  auto p = deadline_process({});
  p->steps[0].deadline.reset();
  Step& review = p->steps[0];
  review.form = Form{"control", "Контроль", {field("resolved", ValueType::boolean, true)}, {}};
  review.next = choice("resolved", "answer", "review");
  review.next.branches[1].wait = Wait{span("2h"), "", "", {}};
  Clock c{p};
  REQUIRE(c.start("2026-11-23T10:00:00+03:00").ok());
  CHECK(c.open_on("review") != nullptr);  // first visit at once
  REQUIRE(c.run("2026-11-23T10:10:00+03:00", "ivanova", CompleteTask{"7.1", {{"resolved", Json(false)}}}).ok());
  CHECK(c.open_on("review") == nullptr);
  CHECK(c.state.open_timers().front()->due == "2026-11-23T12:10:00+03:00");
  auto woke = c.tick("2026-11-23T12:10:00+03:00");
  REQUIRE(woke.ok());
  CHECK(types(*woke) == std::vector{EventType::timer_fired, EventType::task_created});
  CHECK(replay(c.log) == c.state);
}

TEST_CASE("time: priority rules are evaluated when a task is created") {
  auto p = deadline_process({});
  p->priority = {PriorityRule{*parse_expr("vip"), Priority::high, {}}, PriorityRule{std::nullopt, Priority::normal, {}}};
  p->steps[1].priority = {PriorityRule{std::nullopt, Priority::low, {}}};  // a step's own rule wins
  Clock vip{p};
  REQUIRE(vip.start("2026-11-23T10:00:00+03:00", {{"client", Json("x")}, {"vip", Json(true)}}).ok());
  CHECK(vip.open_on("review")->priority == Priority::high);
  CHECK(vip.log.back().data.str("priority") == "high");
  REQUIRE(vip.run("2026-11-23T10:01:00+03:00", "ivanova", CompleteTask{"7.1", {}}).ok());
  CHECK(vip.open_on("answer")->priority == Priority::low);
  Clock plain{p};
  REQUIRE(plain.start("2026-11-23T10:00:00+03:00").ok());
  CHECK(plain.open_on("review")->priority == Priority::normal);
  CHECK_FALSE(plain.log.back().data.has("priority"));  // the default is not written
}

TEST_CASE("time: a command earlier than the instance's last event is refused and changes nothing") {
  Clock c{deadline_process({})};
  REQUIRE(c.start("2026-11-23T10:00:00+03:00").ok());
  InstanceState before = c.state;
  auto back = c.run("2026-11-23T09:59:00+03:00", "ivanova", ClaimTask{"7.1"});
  REQUIRE_FALSE(back.ok());
  CHECK(back.error().code == ErrorCode::invalid);
  CHECK(back.error().message.find("time cannot go back") != std::string::npos);
  CHECK(c.state == before);
  // The same instant in another offset is not earlier.
  CHECK(c.run("2026-11-23T07:00:00Z", "ivanova", ClaimTask{"7.1"}).ok());
  // A tick from a clock behind the history fires nothing, and is no error.
  auto behind = c.tick("2026-11-23T09:00:00+03:00");
  REQUIRE(behind.ok());
  CHECK(behind->empty());
}

TEST_CASE("time: a scheduled start is the engine's own and records its occurrence") {
  Clock c{deadline_process({})};
  auto started = c.run("2026-11-27T14:00:05+03:00", "",
                       StartInstance{{{"client", Json("вся база")}}, "2026-11-27T14:00:00+03:00"});
  REQUIRE(started.ok());
  CHECK(started->front().actor.empty());
  CHECK(started->front().data.str("scheduled_for") == "2026-11-27T14:00:00+03:00");
  // Without an occurrence, someone must start it.
  Clock anon{deadline_process({})};
  CHECK(anon.run("2026-11-27T14:00:00+03:00", "", StartInstance{{{"client", Json("x")}}}).error().code ==
        ErrorCode::invalid);
}
