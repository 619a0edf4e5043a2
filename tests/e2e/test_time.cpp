// Time end to end: the regulation's deadlines, waits, priority and schedules
// as users and a worker see them, every moment given with --now (or, for the
// worker, moments in the past of the real clock).
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <fmt/format.h>

#include "tests/e2e/harness.h"

using namespace reglament;
using namespace reglament::e2e;

namespace {

std::vector<Json> events_of(Env& env, const std::string& instance, const std::string& type) {
  std::vector<Json> out;
  const Json history = env.json("ivanova", {"history", instance});
  for (const Json& e : history.as_array())
    if (e.str("type") == type) out.push_back(e);
  return out;
}

// "2026-11-DDTHH:00:00+03:00"
std::string moscow(int day, int hour, int minute = 0) {
  return fmt::format("2026-11-{:02}T{:02}:{:02}:00+03:00", day, hour, minute);
}

}  // namespace

TEST_CASE("3.4.5: the 24-hour deadline passes and the escalation reaches the deputy director's inbox") {
  Env env;  // deployed Monday 2026-11-23 10:00
  std::string id = start(env, "ivanova", "complaint", {"client=ООО «Ромашка»"});
  complete(env, "ivanova", id, "3.4.1", {"substance=брак", "result=needs-time", "needs_legal=нет"});
  complete(env, "ivanova", id, "3.4.2");
  env.now = moscow(23, 11);
  complete(env, "sidorova", id, "3.4.4", {"responsible=petrov"});

  Json task = inbox_entry(env, "ivanova", id, "3.4.5");
  REQUIRE(task.is_object());
  CHECK(task.str("due") == "2026-11-24T11:00:00+03:00");
  CHECK(task.get("overdue") == Json(false));
  CHECK(task.str("priority") == "normal");
  CHECK(env.json("ivanova", {"inbox", "--overdue"}).as_array().empty());

  // A minute past the deadline the task is overdue in the manager's inbox,
  // before any tick.
  env.now = moscow(24, 11, 1);
  Json late = inbox_entry(env, "ivanova", id, "3.4.5", {"--overdue"});
  REQUIRE(late.is_object());
  CHECK(late.get("overdue") == Json(true));
  Run table = env.rg({"inbox", "--as", "ivanova"});
  CHECK(contains(table.out, "2026-11-24 11:00 OVERDUE"));

  // The tick escalates: notify, reassign, raise.
  Run tick = env.rg({"tick"});
  REQUIRE_MESSAGE(tick.code == 0, tick.err);
  CHECK(contains(tick.out, "deadline of task " + task.str("task") + " passed (due 2026-11-24 11:00)"));
  CHECK(contains(tick.out, "notified deputy-director: Просрочено уведомление клиента ООО «Ромашка»"));
  CHECK(inbox_entry(env, "ivanova", id, "3.4.5").is_null());
  Json escalated = inbox_entry(env, "sidorova", id, "3.4.5");
  REQUIRE(escalated.is_object());
  CHECK(escalated.str("priority") == "urgent");
  CHECK(escalated.get("overdue") == Json(true));
  CHECK(strings(escalated.get("roles")) == std::vector<std::string>{"deputy-director"});
  Json outbox = env.json("orlov", {"outbox"});
  CHECK(contains(outbox.dump(), "Просрочено уведомление клиента ООО «Ромашка» о рекламации (шаг 3.4.5, срок 2026-11-24T11:00:00+03:00)"));
  CHECK(events_of(env, id, "DeadlinePassed").size() == 1);
  CHECK(events_of(env, id, "TaskReassigned").size() == 1);
  // The reassigned task's row and role rows were rewritten in place: they
  // still match the events.
  CHECK(env.rg({"verify"}).code == 0);

  // Once only.
  Run again = env.rg({"tick"});
  CHECK(again.out == "nothing to do\n");
  // The deputy director answers the customer and the complaint goes on.
  env.now = moscow(24, 12);
  complete(env, "sidorova", id, "3.4.5");
  Json shown = env.json("ivanova", {"show", id});
  CHECK(strings(shown.get("current")) == std::vector<std::string>{"3.4.9"});
  CHECK(env.rg({"verify"}).code == 0);
}

TEST_CASE("3.1: a VIP request's tasks come first in the inbox") {
  Env env;
  std::string plain = start(env, "ivanova", "incoming-request", {"client=ООО Альфа"});
  env.now = moscow(23, 10, 5);
  std::string vip = start(env, "ivanova", "incoming-request", {"client=ООО Бета", "vip=true"});
  Json inbox = env.json("ivanova", {"inbox"});
  REQUIRE(inbox.as_array().size() == 2);
  CHECK(inbox.as_array()[0].str("instance") == vip);  // younger, but high priority
  CHECK(inbox.as_array()[0].str("priority") == "high");
  CHECK(inbox.as_array()[1].str("instance") == plain);
  Json first = env.json("ivanova", {"inbox", "--limit", "1"});
  REQUIRE(first.as_array().size() == 1);
  CHECK(first.as_array()[0].str("instance") == vip);
}

TEST_CASE("a simulated week: the review starts once on Friday, calls wait for each working day's window") {
  Env env;  // deployed Monday 2026-11-23 10:00; calling window 09:00-12:00, review Fridays 14:00
  // An hourly tick through the week, as a worker would do; after the 15:00
  // tick of each day an outbound call is started, after that day's window.
  std::vector<std::string> calls;
  for (int day = 23; day <= 30; ++day) {
    for (int hour = (day == 23 ? 11 : 0); hour < 24; ++hour) {
      env.now = moscow(day, hour);
      Run r = env.rg({"tick"});
      REQUIRE_MESSAGE(r.code == 0, r.err);
      if (hour == 15 && day <= 29)
        calls.push_back(start(env, "ivanova", "outbound-call", {"client=Клиент " + std::to_string(day)}));
    }
  }
  // Each call's first task appeared at 09:00 of the next working day: Mon..Thu
  // calls on the following day, Fri, Sat and Sun calls on Monday the 30th.
  const int expected_day[] = {24, 25, 26, 27, 30, 30, 30};
  for (size_t i = 0; i < calls.size(); ++i) {
    auto fired = events_of(env, calls[i], "TimerFired");
    REQUIRE_MESSAGE(fired.size() == 1, "call " << calls[i]);
    CHECK(fired[0].get("data").str("due") == moscow(expected_day[i], 9));
    auto created = events_of(env, calls[i], "TaskCreated");
    REQUIRE(created.size() == 1);
    CHECK(created[0].str("at") == moscow(expected_day[i], 9));
  }
  // Exactly one review, started by the Friday 14:00 tick for that occurrence.
  auto reviews = instances_of(env, "client-base-review");
  REQUIRE(reviews.size() == 1);
  Json started = events_of(env, reviews[0].str("instance"), "InstanceStarted").at(0);
  CHECK(started.get("data").str("scheduled_for") == moscow(27, 14));
  CHECK(started.str("at") == moscow(27, 14));
  CHECK(started.get("actor").is_null());  // the engine started it
  Json review_task = inbox_entry(env, "petrov", reviews[0].str("instance"), "3.5.1");
  CHECK(review_task.is_object());
}

TEST_CASE("a worker down for two weeks catches up with one start and fires each wait once") {
  Env env;  // deployed Monday 2026-11-23 10:00
  env.now = moscow(23, 15);
  std::string call = start(env, "ivanova", "outbound-call", {"client=ООО Гамма"});
  // Nothing ticks until Wednesday 2026-12-09: two Friday reviews were missed.
  env.now = "2026-12-09T10:00:00+03:00";
  Run tick = env.rg({"tick"});
  REQUIRE_MESSAGE(tick.code == 0, tick.err);
  auto reviews = instances_of(env, "client-base-review");
  REQUIRE(reviews.size() == 1);  // one start for the latest occurrence, not one per missed week
  CHECK(events_of(env, reviews[0].str("instance"), "InstanceStarted")[0].get("data").str("scheduled_for") ==
        "2026-12-04T14:00:00+03:00");
  CHECK(events_of(env, call, "TimerFired").size() == 1);
  CHECK(inbox_entry(env, "ivanova", call, "3.2.1").is_object());
  Run again = env.rg({"tick"});
  CHECK(again.out == "nothing to do\n");
  // The next Friday starts the next one.
  env.now = "2026-12-11T14:00:00+03:00";
  REQUIRE(env.rg({"tick"}).code == 0);
  CHECK(instances_of(env, "client-base-review").size() == 2);
}

namespace {

// A `reglament worker` running in the background (on the real clock),
// its stdout in a file.
struct Background {
  pid_t pid = 0;
  std::string out;

  Background(const std::string& db, std::vector<std::string> args, const std::string& out_path) : out(out_path) {
    std::vector<std::string> argv_s{REGLAMENT_BIN, "--db", db};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, (out + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(posix_spawn(&pid, REGLAMENT_BIN, &fa, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
  }
  // Waits for the exit; the exit code (128 + signal when killed).
  int wait() {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

int count(const std::string& text, const std::string& part) {
  int n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("two workers on one database fire each timer exactly once") {
  Env env;
  // Calls planned in January 2026 (the past of any real clock running this):
  // each waits for the calling window of Tuesday the 13th.
  constexpr int kCalls = 24;
  std::vector<std::string> calls;
  for (int i = 0; i < kCalls; ++i) {
    env.now = fmt::format("2026-01-12T15:{:02}:00+03:00", i);
    calls.push_back(start(env, "ivanova", "outbound-call", {"client=Клиент " + std::to_string(i)}));
  }
  const std::string out1 = (env.dir() / "w1.out").string(), out2 = (env.dir() / "w2.out").string();
  Background w1(env.db(), {"worker", "--for", "3s"}, out1);
  Background w2(env.db(), {"worker", "--for", "3s"}, out2);
  CHECK(w1.wait() == 0);
  CHECK(w2.wait() == 0);
  const std::string o1 = slurp(out1), o2 = slurp(out2);
  INFO("worker 1:\n" << o1 << slurp(out1 + ".err") << "\nworker 2:\n" << o2 << slurp(out2 + ".err"));
  CHECK(count(o1, "wait over") + count(o2, "wait over") == kCalls);
  for (const auto& c : calls) {
    CHECK(events_of(env, c, "TimerFired").size() == 1);
    CHECK(events_of(env, c, "TaskCreated").size() == 1);
  }
  env.now = "2026-11-23T10:00:00+03:00";
  CHECK(env.rg({"verify"}).code == 0);
}

TEST_CASE("the worker stops cleanly on SIGTERM and refuses a fixed --now") {
  Env env;
  const std::string out = (env.dir() / "w.out").string();
  Background w(env.db(), {"worker", "--max-sleep", "30s"}, out);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  kill(w.pid, SIGTERM);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(w.wait() == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  CHECK(contains(slurp(out), "worker stopping on signal 15"));

  Run fixed = env.rg({"worker"});
  CHECK(fixed.code == 2);
  CHECK(contains(fixed.err, "use `reglament tick --now T`"));
}

TEST_CASE("a time earlier than the instance's last event is refused and changes nothing") {
  Env env;
  std::string id = start(env, "ivanova", "incoming-request", {"client=ООО Альфа"});
  Json before = env.json("ivanova", {"history", id});
  env.now = "2026-11-23T09:00:00+03:00";
  Json task = env.json("ivanova", {"inbox"}).as_array().at(0);
  Run r = env.rg({"claim", task.str("task"), "--as", "ivanova"});
  CHECK(r.code == 2);
  CHECK(contains(r.err, "time cannot go back"));
  CHECK(env.json("ivanova", {"history", id}).dump() == before.dump());
}

TEST_CASE("verify checks the time projections against the events") {
  Env env;
  env.now = moscow(23, 15);
  std::string call = start(env, "ivanova", "outbound-call", {"client=ООО Гамма"});  // waits for the window
  CHECK(env.rg({"verify"}).code == 0);
  {
    SQLite::Database db(env.db(), SQLite::OPEN_READWRITE);
    db.exec("UPDATE timers SET due_epoch = due_epoch + 86400");  // someone postpones the call
  }
  Run r = env.rg({"verify"});
  CHECK(r.code == 6);
  CHECK(contains(r.out + r.err, "timers holds due"));
}
