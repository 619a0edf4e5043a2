// The audit trail, end to end: `verify` catches every kind of hand edit of
// the database file (made here with SQLite directly, as an attacker with the
// file would), `seal` + `verify --against` catches what a consistent rewrite
// hides, `replay` rebuilds the live state at every moment of every bundled
// walk-through, and the history and timeline exports parse back to the same
// values in CSV and JSON.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "engine/audit.h"
#include "engine/core.h"
#include "tests/e2e/harness.h"

using namespace reglament;
using namespace reglament::e2e;

namespace {

// Who works each role (processes/org.yaml).
const std::map<std::string, std::string> kPersonFor{{"manager", "ivanova"},      {"deputy-director", "sidorova"},
                                                    {"legal", "kuznetsov"},      {"director", "orlov"},
                                                    {"call-centre", "smirnova"}, {"sales-agent", "volkov"}};

// `minutes` after 2026-11-23 10:00 Moscow time (within November).
std::string clock_at(int minutes) {
  const int total = 10 * 60 + minutes;
  return fmt::format("2026-11-{:02}T{:02}:{:02}:00+03:00", 23 + total / 1440, total % 1440 / 60, total % 60);
}

// The inverse of clock_at for a moment it can express ("2026-11-DDTHH:MM…+03:00").
int minutes_at(const std::string& t) {
  REQUIRE(t.size() >= 16);
  REQUIRE(t.substr(t.size() - 6) == "+03:00");
  const int day = std::stoi(t.substr(8, 2)), hour = std::stoi(t.substr(11, 2)), minute = std::stoi(t.substr(14, 2));
  return (day - 23) * 1440 + hour * 60 + minute - 10 * 60;
}

// Runs SQL on the database file directly, bypassing reglament.
void tamper(const std::string& db, const std::string& sql) {
  SQLite::Database d(db, SQLite::OPEN_READWRITE);
  d.exec(sql);
}

const char* kDropGuards = "DROP TRIGGER events_append_only_update; DROP TRIGGER events_append_only_delete; ";

// The open task of `instance` (its first), as show --json lists it.
Json open_task(Env& env, const std::string& instance) {
  Json shown = env.json("ivanova", {"show", instance});
  REQUIRE(shown.get("tasks").is_array());
  REQUIRE_FALSE(shown.get("tasks").as_array().empty());
  return shown.get("tasks").as_array().front();
}

std::string person_for(const Json& task) {
  for (const std::string& role : strings(task.get("roles"))) {
    if (auto it = kPersonFor.find(role); it != kPersonFor.end()) return it->second;
  }
  FAIL("no person holds a role of task " << task.str("task"));
  return "";
}

// Three instances at known moments: 1 (incoming-request) has its first task
// (1.2, after 3.1.1's on_enter lookup, job 1.1) completed and its second
// (1.3) claimed by petrov; 2 (complaint) and
// 3 (outbound-call) are just started.
void populate(Env& env) {
  env.now = clock_at(0);
  env.json("ivanova", {"start", "incoming-request", "--set", "client=ООО «Ромашка»", "--set", "vip=true"});
  env.now = clock_at(5);
  env.json("ivanova", {"complete", open_task(env, "1").str("task")});
  env.now = clock_at(10);
  env.json("petrov", {"claim", open_task(env, "1").str("task")});
  env.now = clock_at(15);
  env.json("ivanova", {"start", "complaint", "--set", "client=ИП Петров"});
  env.now = clock_at(20);
  env.json("ivanova", {"start", "outbound-call", "--set", "client=ООО «Вектор»"});
}

// The finding of `kind` about `instance`, from verify --json; null when none.
Json finding(const Json& report, const std::string& kind, const std::string& instance) {
  for (const Json& p : report.get("problems").as_array()) {
    if (p.str("kind") == kind && p.str("instance") == instance) return p;
  }
  return Json();
}

std::string kinds(const Json& report) {
  std::string out;
  for (const Json& p : report.get("problems").as_array()) out += p.str("kind") + " ";
  return out;
}

// verify (with extra args) --json; REQUIREs exit `code`.
Json verify(Env& env, std::vector<std::string> args, int code) {
  args.insert(args.begin(), "verify");
  args.push_back("--json");
  Run r = env.rg(args);
  REQUIRE_MESSAGE(r.code == code, r.out << r.err);
  return r.json();
}

std::string seal(Env& env) {
  Run r = env.rg({"seal", "--json"});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  std::string digest = r.json().str("seal");
  REQUIRE(digest.size() == 64);
  return digest;
}

// Rewrites the hash of every event of `instance` from `from` on, as an
// attacker who knows the chain's definition would after editing a row.
void rechain(const std::string& db, const std::string& instance, int64_t from) {
  SQLite::Database d(db, SQLite::OPEN_READWRITE);
  SQLite::Statement q(d,
                      "SELECT seq, at, actor, type, step, data_json, format, hash FROM events WHERE instance = ? "
                      "ORDER BY seq");
  q.bind(1, instance);
  std::string prev;
  std::vector<std::pair<int64_t, std::string>> updates;
  while (q.executeStep()) {
    const int64_t seq = q.getColumn(0).getInt64();
    if (seq < from) {
      prev = q.getColumn(7).getString();
      continue;
    }
    Event e;
    e.at = q.getColumn(1).getString();
    e.actor = q.getColumn(2).isNull() ? "" : q.getColumn(2).getString();
    e.type = *parse_event_type(q.getColumn(3).getString());
    e.step = q.getColumn(4).isNull() ? "" : q.getColumn(4).getString();
    e.data = *parse_json(q.getColumn(5).getString());
    e.format = q.getColumn(6).getInt();
    prev = chain_hash(prev, instance, seq, e);
    updates.emplace_back(seq, prev);
  }
  q.reset();
  for (const auto& [seq, hash] : updates) {
    SQLite::Statement u(d, "UPDATE events SET hash = ? WHERE instance = ? AND seq = ?");
    u.bind(1, hash);
    u.bind(2, instance);
    u.bind(3, seq);
    u.exec();
  }
}

}  // namespace

// ---- verify ---------------------------------------------------------------------

TEST_CASE("an untouched database verifies with exit 0 and a one-line summary") {
  Env env;
  populate(env);
  // when the whole log is verified
  Run r = env.rg({"verify"});
  // then it is ok, in one line naming what was checked
  CHECK(r.code == 0);
  CHECK(r.out == "verified 3 instances, 13 events: ok\n");
  Json j = verify(env, {}, 0);
  CHECK(j.get("ok") == Json(true));
  CHECK(j.get("instances") == Json(3));
  CHECK(j.get("problems").as_array().empty());
  // and one instance alone verifies too
  CHECK(env.rg({"verify", "2"}).out == "verified 1 instance, 2 events: ok\n");
  // and an instance that never existed is not found
  CHECK(env.rg({"verify", "99"}).code == 3);
  // and a claim given back leaves the projections matching the events
  env.json("petrov", {"unclaim", open_task(env, "1").str("task")});
  CHECK(env.rg({"verify"}).code == 0);
}

TEST_CASE("an edited payload is reported as changed at its event, and so are the removed guards") {
  Env env;
  populate(env);
  // given someone drops the append-only triggers and edits event 6 of instance 1
  // (TaskCompleted of 1.2) to claim another role
  tamper(env.db(), std::string(kDropGuards) +
                       "UPDATE events SET data_json = replace(data_json, '\"manager\"', '\"director\"') "
                       "WHERE instance = '1' AND seq = 6");
  // when the log is verified
  Json j = verify(env, {}, 6);
  // then the edit is located: instance 1, event 6, changed
  Json f = finding(j, "changed", "1");
  REQUIRE_MESSAGE(!f.is_null(), kinds(j));
  CHECK(f.get("seq") == Json(6));
  CHECK(contains(f.str("message"), "still links"));
  // and the dropped triggers are findings of their own
  CHECK(contains(j.dump(), "events_append_only_update is missing"));
  CHECK(contains(j.dump(), "events_append_only_delete is missing"));
  CHECK(j.get("ok") == Json(false));
  // and the text form names the place and ends with the summary
  Run r = env.rg({"verify"});
  CHECK(r.code == 6);
  CHECK(contains(r.out, "instance 1, event 6: changed: "));
  CHECK(contains(r.out, "verified 3 instances, 13 events: 3 problems\n"));
}

TEST_CASE("a deleted event is reported as missing at its seq") {
  Env env;
  populate(env);
  tamper(env.db(), std::string(kDropGuards) + "DELETE FROM events WHERE instance = '1' AND seq = 5");
  Json j = verify(env, {}, 6);
  Json f = finding(j, "missing", "1");
  REQUIRE_MESSAGE(!f.is_null(), kinds(j));
  CHECK(f.get("seq") == Json(5));
  CHECK(f.str("message") == "event 5 is missing: deleted from the log");
}

TEST_CASE("the last event deleted is caught by the count the instance records") {
  Env env;
  populate(env);
  tamper(env.db(), std::string(kDropGuards) + "DELETE FROM events WHERE instance = '1' AND seq = 9");
  Json j = verify(env, {}, 6);
  Json f = finding(j, "missing", "1");
  REQUIRE_MESSAGE(!f.is_null(), kinds(j));
  CHECK(f.get("seq") == Json(9));
  // and the state rebuilt without it disagrees with the stored claim
  CHECK(contains(j.dump(), "task 1.3: tasks.claimed_by is \\\"petrov\\\", but the events say empty"));
}

TEST_CASE("an event inserted in the middle is reported as inserted") {
  Env env;
  populate(env);
  // given a row slipped in as event 7 of instance 1, the later ones shifted to make room
  tamper(env.db(),
         std::string(kDropGuards) +
             "UPDATE events SET seq = seq + 1000 WHERE instance = '1' AND seq >= 7;"
             "UPDATE events SET seq = seq - 999 WHERE instance = '1' AND seq >= 1000;"
             "INSERT INTO events (instance, seq, at, actor, type, step, data_json, format, hash, at_utc) "
             "VALUES ('1', 7, '2026-11-23T10:05:00+03:00', 'orlov', 'TaskClaimed', '3.1.1', "
             "'{\"task\":\"1.2\"}', 1, 'ab', '2026-11-23T07:05:00.000Z')");
  Json j = verify(env, {}, 6);
  Json f = finding(j, "inserted", "1");
  REQUIRE_MESSAGE(!f.is_null(), kinds(j));
  CHECK(f.get("seq") == Json(7));
}

TEST_CASE("an event appended by hand is reported as inserted") {
  Env env;
  populate(env);
  // no trigger guards INSERT: the append-only triggers stay in place here
  tamper(env.db(),
         "INSERT INTO events (instance, seq, at, actor, type, step, data_json, format, hash, at_utc) "
         "VALUES ('2', 3, '2026-11-23T10:30:00+03:00', 'orlov', 'TaskClaimed', '3.4.1', "
         "'{\"task\":\"2.1\"}', 1, 'ab', '2026-11-23T07:30:00.000Z')");
  Json j = verify(env, {}, 6);
  Json f = finding(j, "inserted", "2");
  REQUIRE_MESSAGE(!f.is_null(), kinds(j));
  CHECK(f.get("seq") == Json(3));
  CHECK(contains(f.str("message"), "records only 2 events"));
}

TEST_CASE("two swapped events are reported as reordered") {
  Env env;
  populate(env);
  tamper(env.db(), std::string(kDropGuards) +
                       "UPDATE events SET seq = 100 WHERE instance = '1' AND seq = 5;"
                       "UPDATE events SET seq = 5 WHERE instance = '1' AND seq = 7;"
                       "UPDATE events SET seq = 7 WHERE instance = '1' AND seq = 100;");
  Json j = verify(env, {}, 6);
  Json f = finding(j, "reordered", "1");
  REQUIRE_MESSAGE(!f.is_null(), kinds(j));
  CHECK(f.get("seq") == Json(5));
  CHECK(f.str("message") == "event 5 was written as event 7: the rows were reordered");
}

TEST_CASE("an altered projection is reported, naming the task and the column") {
  Env env;
  populate(env);
  // the triggers are intact: projections are not guarded, only checked
  tamper(env.db(), "UPDATE tasks SET claimed_by = 'orlov' WHERE task = '1.3'");
  Json j = verify(env, {}, 6);
  Json f = finding(j, "projection", "1");
  REQUIRE_MESSAGE(!f.is_null(), kinds(j));
  CHECK(f.str("message") == "task 1.3: tasks.claimed_by is \"orlov\", but the events say \"petrov\"");
  CHECK(j.get("problems").as_array().size() == 1);
  // and verifying another instance alone does not see it
  verify(env, {"2"}, 0);
  verify(env, {"1"}, 6);
}

// Every problem's message, one per line, for an instance.
std::string messages_of(const Json& report, const std::string& instance) {
  std::string out;
  for (const Json& p : report.get("problems").as_array()) {
    if (p.str("instance") == instance) out += p.str("message") + "\n";
  }
  return out;
}

TEST_CASE("task_roles rows missing, added or left behind, and a task row moved, are reported") {
  Env env;
  populate(env);
  // task 1.3 is open, claimed by petrov, for the managers
  SUBCASE("a role row deleted") {
    tamper(env.db(), "DELETE FROM task_roles WHERE task = '1.3'");
    Json j = verify(env, {}, 6);
    CHECK(messages_of(j, "1") == "task 1.3: task_roles lists it for [], but the events say [manager]\n");
  }
  SUBCASE("a role row added") {
    tamper(env.db(), "INSERT INTO task_roles (task, role) VALUES ('1.3', 'legal')");
    Json j = verify(env, {}, 6);
    CHECK(messages_of(j, "1") == "task 1.3: task_roles lists it for [legal, manager], but the events say [manager]\n");
  }
  SUBCASE("a role row for a task that is not there") {
    tamper(env.db(), "INSERT INTO task_roles (task, role) VALUES ('1.99', 'manager')");
    Json j = verify(env, {}, 6);
    CHECK(messages_of(j, "1") == "task_roles lists task 1.99 for role manager, but tasks has no such task\n");
  }
  SUBCASE("a task row moved to another instance") {
    tamper(env.db(), "UPDATE tasks SET instance = '2' WHERE task = '1.3'");
    Json j = verify(env, {}, 6);
    const std::string found = messages_of(j, "1");
    CHECK_MESSAGE(contains(found, "task 1.3 (step 3.1.2) is open by the events, but tasks has no row for it\n"), found);
    CHECK(contains(found, "task 1.3 has a row in tasks for instance 2, but its id is not one of that instance's\n"));
    CHECK(j.get("problems").as_array().size() == 2);
  }
}

TEST_CASE("the client search index edited by hand is reported") {
  Env env;
  env.json("ivanova", {"clients", "add", "--company", "ООО «Ромашка»", "--contact", "Петров Пётр"});
  env.json("ivanova", {"clients", "edit", "1", "--contact", "Сидорова Анна", "--phone", "8 495 123-45-67"});
  // a client added and edited through reglament: the index agrees
  verify(env, {}, 0);
  CHECK(env.json("ivanova", {"clients", "find", "Сидорва"}).as_array().size() == 1);
  CHECK(env.json("ivanova", {"clients", "find", "петров"}).as_array().empty());
  SUBCASE("a key deleted") {
    tamper(env.db(), "DELETE FROM client_keys WHERE kind = 'w' AND key = 'ромашка'");
    Json j = verify(env, {}, 6);
    CHECK(messages_of(j, "") == "client_keys lacks the key w \"ромашка\" of client 1, so a search would not find "
                                "it by it\n");
    CHECK(kinds(j) == "projection ");
  }
  SUBCASE("a key added") {
    tamper(env.db(), "INSERT INTO client_keys (kind, key, client) VALUES ('p', '00000', 1)");
    Json j = verify(env, {}, 6);
    CHECK(messages_of(j, "") == "client_keys holds a key p \"00000\" for client 1 that its name, contact and phone "
                                "do not give\n");
  }
}

TEST_CASE("a whole instance deleted after a seal is named by verify --against") {
  Env env;
  populate(env);
  const std::string digest = seal(env);
  verify(env, {"--against", digest}, 0);
  // given instance 3 removed everywhere, the counter wound back, and the
  // triggers recreated exactly as they were, so that nothing looks touched
  tamper(env.db(), std::string(kDropGuards) +
                       "DELETE FROM events WHERE instance = '3'; DELETE FROM task_roles WHERE task LIKE '3.%';"
                       "DELETE FROM tasks WHERE instance = '3'; DELETE FROM instances WHERE id = '3';"
                       "UPDATE meta SET value = '3' WHERE key = 'next_instance';"
                       "CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events\n"
                       "BEGIN\n  SELECT RAISE(ABORT, 'the event log is append-only');\nEND;"
                       "CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events\n"
                       "BEGIN\n  SELECT RAISE(ABORT, 'the event log is append-only');\nEND;");
  // then without the seal the log looks whole: the limit of a chain per instance
  verify(env, {}, 0);
  // and against the seal the deletion is found and named
  Json j = verify(env, {"--against", digest}, 6);
  Json f = finding(j, "seal", "3");
  REQUIRE_MESSAGE(!f.is_null(), kinds(j));
  CHECK(contains(f.str("message"), "instance 3 was deleted after the seal"));
  // and a short prefix of the digest works too
  Json again = verify(env, {"--against", digest.substr(0, 12)}, 6);
  CHECK(!finding(again, "seal", "3").is_null());
}

TEST_CASE("an instance deleted without winding back the counter is caught without a seal") {
  Env env;
  populate(env);
  tamper(env.db(), std::string(kDropGuards) +
                       "DELETE FROM events WHERE instance = '2'; DELETE FROM task_roles WHERE task LIKE '2.%';"
                       "DELETE FROM tasks WHERE instance = '2'; DELETE FROM instances WHERE id = '2';");
  Json j = verify(env, {}, 6);
  Json f = finding(j, "missing", "2");
  REQUIRE_MESSAGE(!f.is_null(), kinds(j));
  CHECK(contains(f.str("message"), "nothing of instance 2 remains"));
  // and asking for it by id reports it missing rather than unknown
  Json one = verify(env, {"2"}, 6);
  CHECK(!finding(one, "missing", "2").is_null());
}

TEST_CASE("an edit with every later hash recomputed is caught only by the seal") {
  Env env;
  populate(env);
  const std::string digest = seal(env);
  // given event 6 of instance 1 edited and the chain recomputed from there
  tamper(env.db(), std::string(kDropGuards) +
                       "UPDATE events SET data_json = replace(data_json, '\"manager\"', '\"director\"') "
                       "WHERE instance = '1' AND seq = 6");
  rechain(env.db(), "1", 4);
  Json plain = verify(env, {}, 6);
  // then the chain itself looks whole: only the dropped guards show
  CHECK(finding(plain, "changed", "1").is_null());
  CHECK(kinds(plain) == "protection protection ");
  // and the seal pins the old head
  Json j = verify(env, {"--against", digest}, 6);
  Json f = finding(j, "seal", "1");
  REQUIRE_MESSAGE(!f.is_null(), kinds(j));
  CHECK(contains(f.str("message"), "instance 1 was rewritten before the seal"));
}

TEST_CASE("a seal that is altered or removed does not verify") {
  Env env;
  populate(env);
  const std::string digest = seal(env);
  SUBCASE("altered") {
    tamper(env.db(),
           "DROP TRIGGER seals_append_only_update;"
           "UPDATE seals SET heads_json = replace(heads_json, '\"seq\":9', '\"seq\":8')");
    Json j = verify(env, {"--against", digest}, 6);
    CHECK(contains(j.dump(), "was altered: what it records no longer gives its digest"));
  }
  SUBCASE("removed") {
    tamper(env.db(), "DROP TRIGGER seals_append_only_delete; DELETE FROM seals");
    Json j = verify(env, {"--against", digest}, 6);
    CHECK(contains(j.dump(), "is recorded in this database"));
  }
  SUBCASE("a digest that is not hex is invalid input") {
    CHECK(env.rg({"verify", "--against", "not-a-digest"}).code == 2);
  }
}

TEST_CASE("seal prints the digest line and refuses a log that does not verify") {
  Env env;
  populate(env);
  env.now = "2026-11-24T09:00:00+03:00";
  Run r = env.rg({"seal"});
  REQUIRE(r.code == 0);
  CHECK(r.out.rfind("seal: ", 0) == 0);
  CHECK(contains(r.out, " (3 instances, 13 events, at 2026-11-24T09:00:00+03:00)\n"));
  // the same log gives the same digest
  CHECK(seal(env) == r.out.substr(6, 64));
  Json list = env.json("orlov", {"seal", "--list"});
  CHECK(list.as_array().size() == 2);

  tamper(env.db(), "UPDATE tasks SET claimed_by = 'orlov' WHERE task = '1.3'");
  Run refused = env.rg({"seal"});
  CHECK(refused.code == 6);
  CHECK(contains(refused.err, "cannot be sealed"));
}

// ---- replay ---------------------------------------------------------------------

namespace {

// One live state seen between two commands.
struct Moment {
  int64_t seq = 0;  // events in the log then
  std::string at;   // the time of the command that led to it
  Json shown;       // show --json
};

struct Walk {
  std::string process;
  std::vector<std::string> start;
  std::map<std::string, std::string> values;
  // name -> {step, value on the first visit, on the second, ...}
  std::map<std::string, std::vector<std::string>> on_visit = {};
};

// Works one instance to the end through the CLI, the clock advancing a
// minute per command, and records the live state after every command. The
// first task is also unclaimed and claimed again, so claims change hands.
std::vector<Moment> walk(Env& env, const Walk& w, int& minute) {
  std::vector<Moment> seen;
  auto tick = [&] { env.now = clock_at(++minute); };
  std::string id;
  auto capture = [&] {
    Json shown = env.json("ivanova", {"show", id});
    seen.push_back(Moment{shown.integer("events"), env.now, shown});
    return shown;
  };
  tick();
  std::vector<std::string> args{"start", w.process};
  for (const auto& s : w.start) {
    args.push_back("--set");
    args.push_back(s);
  }
  id = env.json("ivanova", args).str("instance");
  Json shown = capture();
  std::map<std::string, int> visits;
  bool first = true;
  for (int guard = 0; guard < 60 && shown.str("status") == "active"; ++guard) {
    if (shown.get("tasks").as_array().empty() && !shown.get("waits").as_array().empty()) {
      // The instance sleeps (3.4.10's re-check): the clock jumps to the end
      // of the wait and a tick wakes it.
      minute = std::max(minute, minutes_at(shown.get("waits").as_array().front().str("due")));
      env.now = clock_at(minute);
      env.json("ivanova", {"tick"});
      shown = capture();
      continue;
    }
    REQUIRE_FALSE(shown.get("tasks").as_array().empty());
    const Json task = shown.get("tasks").as_array().front();
    const std::string task_id = task.str("task");
    const std::string step = task.str("step");
    const std::string person = person_for(task);
    tick();
    env.json(person, {"claim", task_id});
    capture();
    if (first) {
      tick();
      env.json(person, {"unclaim", task_id});
      capture();
      tick();
      env.json(person, {"claim", task_id});
      capture();
      first = false;
    }
    Json form = env.json(person, {"show", task_id}).get("form");
    std::vector<std::string> complete{"complete", task_id};
    const int visit = visits[step]++;
    for (const Json& f : form.as_array()) {
      const std::string name = f.str("name");
      std::string value;
      if (auto v = w.on_visit.find(name); v != w.on_visit.end() && v->second.at(0) == step) {
        value = v->second.at(1 + std::min<size_t>(visit, v->second.size() - 2));
      } else if (auto it = w.values.find(name); it != w.values.end()) {
        value = it->second;
      } else if (f.get("required") == Json(true)) {
        const std::string type = f.str("type");
        value = type == "number"     ? "12"
                : type == "bool"     ? "false"
                : type == "date"     ? "2026-12-01"
                : type == "datetime" ? "2026-11-23T10:30:00+03:00"
                : type == "choice"   ? f.get("options").as_array().at(0).as_string()
                                     : "Текст «проверки»";
      } else {
        continue;
      }
      complete.push_back("--set");
      complete.push_back(name + "=" + value);
    }
    tick();
    env.json(person, complete);
    shown = capture();
  }
  CHECK(shown.str("status") == "completed");
  return seen;
}

// Every member of `live` is in `replayed` with the same value.
void check_same(const Json& live, const Json& replayed, const std::string& what) {
  for (const auto& [key, value] : live.as_object()) {
    CHECK_MESSAGE(replayed.get(key) == value, what << ": \"" << key << "\" is " << replayed.get(key).dump()
                                                   << " in the replay, " << value.dump() << " live");
  }
}

void check_replays(Env& env, const std::vector<Moment>& seen) {
  const std::string id = seen.front().shown.str("instance");
  for (const Moment& m : seen) {
    Json by_seq = env.json("ivanova", {"replay", id, "--upto", std::to_string(m.seq)});
    check_same(m.shown, by_seq, fmt::format("instance {} --upto {}", id, m.seq));
    CHECK(by_seq.get("as_of").get("seq") == Json(m.seq));
    Json by_time = env.json("ivanova", {"replay", id, "--at", m.at});
    check_same(m.shown, by_time, fmt::format("instance {} --at {}", id, m.at));
    // who holds each open task, and since when
    for (const Json& t : m.shown.get("tasks").as_array()) {
      const Json& claim = by_seq.get("claims").get(t.str("task"));
      if (t.get("claimed_by").is_null()) {
        CHECK(claim.is_null());
      } else {
        CHECK(claim.get("claimed_by") == t.get("claimed_by"));
      }
    }
    // every variable names the event that set it
    for (const auto& [name, value] : m.shown.get("variables").as_object()) {
      const Json& source = by_seq.get("variables_set_by").get(name);
      CHECK_MESSAGE(source.get("seq").is_integer(), name);
      CHECK(source.get("seq").as_int() <= m.seq);
    }
  }
}

void check_walks(const std::vector<Walk>& walks) {
  Env env;
  int minute = 0;
  for (const Walk& w : walks) {
    std::vector<Moment> seen = walk(env, w, minute);
    check_replays(env, seen);
  }
  // and the whole log, walked and replayed, verifies
  CHECK(env.rg({"verify"}).code == 0);
}

}  // namespace

TEST_CASE("replay at every moment of the incoming-request walk-throughs equals the live state then") {
  check_walks({{"incoming-request", {"client=ООО «Ромашка»", "vip=true"}, {{"reason", "order"}}},
               {"incoming-request", {"client=ИП Петров"}, {}}});
}

TEST_CASE("replay at every moment of the outbound-call walk-throughs equals the live state then") {
  check_walks({{"outbound-call", {"client=ООО «Вектор»"}, {{"outcome", "order"}}},
               {"outbound-call", {"client=ООО «Вектор»"}, {{"outcome", "refusal"}}}});
}

TEST_CASE("replay at every moment of the agent-notification walk-throughs equals the live state then") {
  check_walks({{"agent-notification", {"client=ООО «Ромашка»", "agent=volkov"}, {{"known", "true"}}},
               {"agent-notification", {"client=ООО «Новый»"}, {{"known", "false"}}}});
}

TEST_CASE("replay at every moment of the complaint walk-throughs equals the live state then") {
  check_walks({{"complaint",
                {"client=ООО «Ромашка»"},
                {{"needs_legal", "false"}},
                {{"resolved", {"3.4.10", "false", "true"}}}},
               {"complaint", {"client=ООО «Ромашка»"}, {{"needs_legal", "true"}, {"resolved", "true"}}}});
}

TEST_CASE("replay at every moment of the client-base-review walk-throughs equals the live state then") {
  check_walks({{"client-base-review", {"client=вся база"}, {}}});
}

TEST_CASE("replay refuses a moment outside the instance's life") {
  Env env;
  populate(env);
  CHECK(env.rg({"replay", "1", "--upto", "0"}).code == 2);
  CHECK(env.rg({"replay", "1", "--upto", "10"}).code == 2);
  CHECK(env.rg({"replay", "1", "--at", "2026-11-23T06:59:00Z"}).code == 3);
  CHECK(env.rg({"replay", "1", "--at", "yesterday"}).code == 2);
  CHECK(env.rg({"replay", "1", "--at", clock_at(1), "--upto", "3"}).code == 2);
  // the same instant written in UTC finds the same state
  Json utc = env.json("ivanova", {"replay", "1", "--at", "2026-11-23T07:05:00Z"});
  CHECK(utc.get("as_of").get("seq") == Json(8));
  CHECK(utc.get("tasks").as_array().at(0).get("claimed_by").is_null());
  // and the text form shows who held the task and which event set each variable
  Run text = env.rg({"replay", "1"});
  REQUIRE(text.code == 0);
  CHECK(contains(text.out, "held by petrov since " + clock_at(10) + " (event 9)"));
  CHECK(contains(text.out, "as of      event 9 of 9"));
}

// ---- history and timeline exports ---------------------------------------------------

namespace {

// RFC 4180: records end in CRLF, fields are separated by commas, a quoted
// field may hold commas, CR, LF and doubled quotes.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      REQUIRE_MESSAGE(field.empty(), "a quote inside an unquoted field");
      quoted = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
    } else if (c == '\r') {
      const bool crlf = i + 1 < text.size() && text[i + 1] == '\n';
      REQUIRE_MESSAGE(crlf, "a CR not followed by LF");
      ++i;
      record.push_back(std::move(field));
      field.clear();
      records.push_back(std::move(record));
      record.clear();
    } else {
      REQUIRE_MESSAGE(c != '\n', "a bare LF ends a record");
      field += c;
    }
  }
  const bool ended = record.empty() && field.empty() && !quoted;
  REQUIRE_MESSAGE(ended, "the last record does not end in CRLF");
  return records;
}

// CSV rows as objects keyed by the header.
std::vector<std::map<std::string, std::string>> csv_objects(const std::string& text) {
  auto records = parse_csv(text);
  REQUIRE_FALSE(records.empty());
  std::vector<std::map<std::string, std::string>> out;
  for (size_t i = 1; i < records.size(); ++i) {
    REQUIRE(records[i].size() == records[0].size());
    std::map<std::string, std::string> row;
    for (size_t k = 0; k < records[0].size(); ++k) row[records[0][k]] = records[i][k];
    out.push_back(std::move(row));
  }
  return out;
}

std::string text_of(const Json& v) { return v.is_null() ? "" : v.is_string() ? v.as_string() : v.dump(); }

// The CSV of events carries every value of the JSON: text as is, data as JSON.
void check_csv_matches(const std::string& csv, const Json& json, const std::vector<std::string>& text_columns) {
  auto rows = csv_objects(csv);
  REQUIRE(rows.size() == json.as_array().size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const Json& j = json.as_array()[i];
    for (const std::string& column : text_columns) CHECK(rows[i][column] == text_of(j.get(column)));
    CHECK(*parse_json(rows[i]["data"]) == j.get("data"));
  }
}

// A complaint whose 3.4.10 `resolved` is set twice (false, then true), and
// a second instance by other people, at known minutes.
void complaint_history(Env& env, int& minute) {
  Walk w{"complaint",
         {"client=ООО «Ромашка, \"Лютик\"»"},
         {{"needs_legal", "false"}},
         {{"resolved", {"3.4.10", "false", "true"}}}};
  walk(env, w, minute);
  walk(env, {"outbound-call", {"client=ООО «Вектор»"}, {{"outcome", "order"}}}, minute);
}

}  // namespace

TEST_CASE("history exports as CSV that parses back to the same values as its JSON") {
  Env env;
  int minute = 0;
  complaint_history(env, minute);
  Json json = env.json("ivanova", {"history", "1"});
  // --format json is --json
  Run as_format = env.rg({"history", "1", "--format", "json"});
  REQUIRE(as_format.code == 0);
  CHECK(as_format.json() == json);
  // the field names scripts rely on
  for (const char* key : {"seq", "at", "actor", "type", "step", "data", "format"}) {
    CHECK(json.as_array().at(0).has(key));
  }
  Run csv = env.rg({"history", "1", "--format", "csv"});
  REQUIRE(csv.code == 0);
  CHECK(csv.out.rfind("seq,at,actor,type,step,data,format\r\n", 0) == 0);
  // the client's name holds a comma and quotes: they survive the round trip
  CHECK(contains(csv.out, "\\\"\"Лютик\\\"\""));
  check_csv_matches(csv.out, json, {"seq", "at", "actor", "type", "step", "format"});
  // --json with --format csv contradict each other
  CHECK(env.rg({"history", "1", "--format", "csv", "--json"}).code == 2);
}

TEST_CASE("history filters by actor, step and time, and lists every value a variable took") {
  Env env;
  int minute = 0;
  complaint_history(env, minute);
  Json all = env.json("ivanova", {"history", "1"});

  // --actor
  Json by_actor = env.json("ivanova", {"history", "1", "--actor", "sidorova"});
  REQUIRE_FALSE(by_actor.as_array().empty());
  size_t expected = 0;
  for (const Json& e : all.as_array()) expected += e.str("actor") == "sidorova";
  CHECK(by_actor.as_array().size() == expected);
  for (const Json& e : by_actor.as_array()) CHECK(e.str("actor") == "sidorova");

  // --step
  Json by_step = env.json("ivanova", {"history", "1", "--step", "3.4.10"});
  REQUIRE_FALSE(by_step.as_array().empty());
  for (const Json& e : by_step.as_array()) CHECK(e.str("step") == "3.4.10");

  // --since is included, --until is not; the same instants in UTC select the same events
  const std::string since = clock_at(3), until = clock_at(6);
  Json period = env.json("ivanova", {"history", "1", "--since", since, "--until", until});
  REQUIRE_FALSE(period.as_array().empty());
  for (const Json& e : period.as_array()) {
    CHECK(e.str("at") >= since);
    CHECK(e.str("at") < until);
  }
  CHECK(period.as_array().front().str("at") == since);
  Json utc =
      env.json("ivanova", {"history", "1", "--since", "2026-11-23T07:03:00Z", "--until", "2026-11-23T07:06Z"});
  CHECK(utc == period);

  // --variables: `resolved` was false, then true, each with its event
  Json vars = env.json("ivanova", {"history", "1", "--variables"});
  std::vector<Json> resolved;
  for (const Json& v : vars.as_array())
    if (v.str("variable") == "resolved") resolved.push_back(v);
  REQUIRE(resolved.size() == 2);
  CHECK(resolved[0].get("value") == Json(false));
  CHECK(resolved[1].get("value") == Json(true));
  CHECK(resolved[0].get("seq").as_int() < resolved[1].get("seq").as_int());
  CHECK(resolved[0].str("step") == "3.4.10");
  CHECK(resolved[0].str("actor") == all.as_array().at(resolved[0].get("seq").as_int() - 1).str("actor"));
  // and its CSV carries the same values, typed in value_json
  Run csv = env.rg({"history", "1", "--variables", "--format", "csv"});
  REQUIRE(csv.code == 0);
  auto rows = csv_objects(csv.out);
  REQUIRE(rows.size() == vars.as_array().size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const Json& v = vars.as_array()[i];
    CHECK(rows[i]["variable"] == v.str("variable"));
    CHECK(rows[i]["seq"] == std::to_string(v.get("seq").as_int()));
    CHECK(rows[i]["at"] == v.str("at"));
    CHECK(rows[i]["actor"] == text_of(v.get("actor")));
    CHECK(*parse_json(rows[i]["value_json"]) == v.get("value"));
  }
  // a bad time is invalid input
  CHECK(env.rg({"history", "1", "--since", "soon"}).code == 2);
}

TEST_CASE("timeline lists every event of a period across instances, filtered, in CSV as in JSON") {
  Env env;
  int minute = 0;
  complaint_history(env, minute);
  // the whole log, in time order
  Json all = env.json("ivanova", {"timeline"});
  Json first = env.json("ivanova", {"history", "1"});
  Json second = env.json("ivanova", {"history", "2"});
  CHECK(all.as_array().size() == first.as_array().size() + second.as_array().size());
  for (size_t i = 1; i < all.as_array().size(); ++i) {
    CHECK(all.as_array()[i - 1].str("at") <= all.as_array()[i].str("at"));
  }

  // a period written in UTC, ending where instance 2 began
  const std::string start2 = second.as_array().front().str("at");
  Json before = env.json("ivanova", {"timeline", "--from", "2026-11-23T07:00:00Z", "--to", start2});
  CHECK(before.as_array().size() == first.as_array().size());
  for (const Json& e : before.as_array()) CHECK(e.str("instance") == "1");

  // filters by process, actor and step
  Json calls = env.json("ivanova", {"timeline", "--process", "outbound-call"});
  CHECK(calls.as_array().size() == second.as_array().size());
  Json control = env.json("ivanova", {"timeline", "--actor", "ivanova", "--step", "3.4.10"});
  REQUIRE_FALSE(control.as_array().empty());
  for (const Json& e : control.as_array()) {
    CHECK(e.str("actor") == "ivanova");
    CHECK(e.str("step") == "3.4.10");
    CHECK(e.str("process") == "complaint");
  }

  // the JSON, written an event at a time, is laid out as any JSON output is
  Run raw = env.rg({"timeline", "--json"});
  REQUIRE(raw.code == 0);
  CHECK(raw.out == raw.json().pretty() + "\n");
  Run none = env.rg({"timeline", "--json", "--from", "2026-11-25"});
  REQUIRE(none.code == 0);
  CHECK(none.out == "[]\n");

  // the CSV parses back to the JSON's values
  Run csv = env.rg({"timeline", "--format", "csv"});
  REQUIRE(csv.code == 0);
  check_csv_matches(csv.out, all, {"at", "instance", "process", "seq", "actor", "type", "step", "format"});
  // a date is read as its midnight in the offset of --now: nothing on the
  // 25th (3.4.10's re-check waited a working day, into the 24th)
  CHECK(env.json("ivanova", {"timeline", "--from", "2026-11-25"}).as_array().empty());
  CHECK(env.json("ivanova", {"timeline", "--to", "2026-11-25"}).as_array().size() == all.as_array().size());
  CHECK(env.json("ivanova", {"timeline", "--to", "2026-11-24"}).as_array().size() < all.as_array().size());
}
