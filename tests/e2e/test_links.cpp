// The connected CRM end to end: subprocesses feeding each other through the
// client database and `call:`, and external handlers failing, retrying and
// becoming incidents — everything through the `reglament` binary.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tests/e2e/harness.h"

using namespace reglament;
using namespace reglament::e2e;

namespace {

Json show(Env& env, const std::string& instance) { return env.json("ivanova", {"show", instance}); }

std::vector<std::string> types_of(Env& env, const std::string& instance) {
  std::vector<std::string> out;
  const Json history = env.json("ivanova", {"history", instance});
  for (const Json& e : history.as_array()) out.push_back(e.str("type"));
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST_CASE("a customer who calls in with a complaint ends up in 3.4, and history shows the link both ways") {
  Env env;
  const std::string req = start(env, "ivanova", "incoming-request", {"client=ООО «Ромашка»"});
  // 3.1.1's on_enter looked the caller up: unknown, so not VIP.
  Json s = show(env, req);
  CHECK(s.get("variables").get("known").as_bool() == false);
  CHECK(s.get("variables").get("vip").as_bool() == false);
  complete(env, "ivanova", req, "3.1.1");
  Run r = complete(env, "ivanova", req, "3.1.6", {"reason=complaint"});
  CHECK(contains(r.out, "started instance"));
  CHECK(contains(r.out, "(complaint)"));

  auto complaints = instances_of(env, "complaint");
  REQUIRE(complaints.size() == 1);
  const std::string child = complaints[0].str("instance");
  CHECK(complaints[0].str("client") == "ООО «Ромашка»");
  CHECK(inbox_entry(env, "petrov", child, "3.4.1").is_object());

  // The request went on: the contact was recorded and the request is done.
  CHECK(show(env, req).str("status") == "completed");
  Run ph = env.rg({"history", req});
  REQUIRE(ph.code == 0);
  CHECK(contains(ph.out, fmt::format("started instance {} (complaint)", child)));
  Run ch = env.rg({"history", child});
  REQUIRE(ch.code == 0);
  CHECK(contains(ch.out, fmt::format("started by instance {}", req)));
  const Json child_history = env.json("ivanova", {"history", child});
  CHECK(child_history.as_array().front().get("data").get("parent").str("instance") == req);

  // 3.1.10 wrote the customer and the contact into the client database.
  const Json found = env.json("ivanova", {"clients", "find", "ромашка ооо"});
  REQUIRE(found.as_array().size() == 1);
  const Json card = env.json("ivanova", {"clients", "show", std::to_string(found.as_array()[0].integer("id"))});
  REQUIRE(card.get("contacts").as_array().size() == 1);
  CHECK(card.get("contacts").as_array()[0].str("instance") == req);

  // The weekly review's first task shows the week's records from the database.
  const std::string review = start(env, "ivanova", "client-base-review", {});
  const Json task = inbox_entry(env, "ivanova", review, "3.5.1");
  REQUIRE(task.is_object());
  const Json shown = env.json("ivanova", {"show", task.str("task")});
  CHECK(shown.get("prepared").integer("records") == 1);
  REQUIRE(shown.get("prepared").get("week_records").as_array().size() == 1);
  CHECK(shown.get("prepared").get("week_records").as_array()[0].str("instance") == req);
  Run text = env.rg({"show", task.str("task"), "--as", "ivanova"});
  CHECK(contains(text.out, "prepared by clients.review:"));
  CHECK(contains(text.out, "ООО «Ромашка»"));
}

TEST_CASE("3.3.1 decides known or new from the client database: the second notification finds the first") {
  Env env;
  const std::string first = start(env, "ivanova", "agent-notification", {"client=ООО «Василёк»", "agent=Смирнов"});
  const Json s1 = show(env, first);
  CHECK(s1.get("variables").get("known").as_bool() == false);
  CHECK(has(strings(s1.get("completed")), "3.3.3"));
  complete(env, "ivanova", first, "3.3.5", {"next_contact=2026-12-09"});
  CHECK(show(env, first).str("status") == "completed");

  const std::string second = start(env, "ivanova", "agent-notification", {"client=василек ооо", "agent=Смирнов"});
  Json s2 = show(env, second);
  CHECK(s2.get("variables").get("known").as_bool() == true);
  CHECK(s2.get("variables").str("client_name") == "ООО «Василёк»");
  const auto done = strings(s2.get("completed"));
  CHECK(has(done, "3.3.2"));
  CHECK_FALSE(has(done, "3.3.3"));
  // One customer, with the planned contact from 3.3.5.
  const Json all = env.json("ivanova", {"clients", "list"});
  REQUIRE(all.as_array().size() == 1);
  CHECK(all.as_array()[0].str("next_contact") == "2026-12-09");
}

TEST_CASE("a class-A customer is served as VIP in 3.1 unless the person starting says otherwise") {
  Env env;
  Run add = env.rg({"clients", "add", "--company", "ООО «Север»", "--as", "ivanova"});
  REQUIRE_MESSAGE(add.code == 0, add.err);
  Run req = env.rg({"clients", "request", "1", "--volume", "900", "--date", "2026-11-02", "--as", "ivanova"});
  REQUIRE_MESSAGE(req.code == 0, req.err);
  Run abc = env.rg({"clients", "abc", "--as", "sidorova"});
  REQUIRE_MESSAGE(abc.code == 0, abc.err);

  const std::string a = start(env, "ivanova", "incoming-request", {"client=Север"});
  CHECK(show(env, a).get("variables").get("vip").as_bool() == true);
  CHECK(inbox_entry(env, "ivanova", a, "3.1.1").str("priority") == "high");
  const std::string b = start(env, "ivanova", "incoming-request", {"client=Север", "vip=false"});
  CHECK(show(env, b).get("variables").get("vip").as_bool() == false);
}

TEST_CASE("the weekly review plans next week's calls, each in the inbox on its day in the calling window") {
  Env env;
  Run add = env.rg({"clients", "add", "--company", "ООО «Ромашка»", "--contact", "Иван Петров", "--manager", "ivanova",
                    "--next-contact", "2026-12-09", "--as", "ivanova"});
  REQUIRE_MESSAGE(add.code == 0, add.err);
  Run add2 = env.rg({"clients", "add", "--company", "АО «Уралмет»", "--contact", "Ольга Кравец", "--manager", "petrov",
                     "--as", "petrov"});
  REQUIRE_MESSAGE(add2.code == 0, add2.err);
  Run debt = env.rg({"clients", "item", "2", "--kind", "debt", "--text", "Счет 118 не оплачен", "--amount", "45000",
                     "--as", "petrov", "--json"});
  REQUIRE_MESSAGE(debt.code == 0, debt.err);
  env.now = "2026-12-04T14:00:00+03:00";  // Friday, the review window
  const std::string review = start(env, "ivanova", "client-base-review", {});
  complete(env, "ivanova", review, "3.5.1");

  // 3.5.4's task lists the debt.
  const Json issues_task = inbox_entry(env, "ivanova", review, "3.5.4");
  REQUIRE(issues_task.is_object());
  const Json issues = env.json("ivanova", {"show", issues_task.str("task")}).get("prepared");
  REQUIRE(issues.get("issues").as_array().size() == 1);
  CHECK(issues.get("issues").as_array()[0].str("kind") == "debt");
  CHECK(issues.get("issues").as_array()[0].str("client") == "АО «Уралмет»");

  // Two calls: the planned contact on its day, the debtor on the week's first working day.
  auto calls = instances_of(env, "outbound-call");
  REQUIRE(calls.size() == 2);
  std::string call, debtor_call;
  for (const Json& c : calls) (c.str("client") == "ООО «Ромашка»" ? call : debtor_call) = c.str("instance");
  REQUIRE_FALSE(call.empty());
  REQUIRE_FALSE(debtor_call.empty());
  CHECK(show(env, debtor_call).get("variables").str("call_on") == "2026-12-07");
  CHECK(show(env, debtor_call).get("variables").str("reason") == "open-question");

  // Settled: the item is closed and no longer open.
  Run closed = env.rg({"clients", "close-item", std::to_string(debt.json().integer("item")), "--as", "petrov"});
  REQUIRE_MESSAGE(closed.code == 0, closed.err);
  CHECK(env.json("petrov", {"clients", "show", "2"}).get("items").as_array().empty());
  CHECK(env.rg({"clients", "close-item", std::to_string(debt.json().integer("item")), "--as", "petrov"}).code == 4);
  Json cv = show(env, call).get("variables");
  CHECK(cv.str("client") == "ООО «Ромашка»");
  CHECK(cv.str("call_on") == "2026-12-09");
  CHECK(cv.str("reason") == "planned");
  CHECK(contains(env.rg({"history", review}).out, fmt::format("started instance {} (outbound-call)", call)));

  // Not in the inbox on Tuesday; there on Wednesday once the window opens.
  env.now = "2026-12-08T10:00:00+03:00";
  REQUIRE(env.rg({"tick"}).code == 0);
  CHECK_FALSE(inbox_entry(env, "ivanova", call, "3.2.1").is_object());
  env.now = "2026-12-09T09:01:00+03:00";
  REQUIRE(env.rg({"tick"}).code == 0);
  CHECK(inbox_entry(env, "ivanova", call, "3.2.1").is_object());
}

namespace {

// A one-process bundle calling an external program, with the bundled org.
std::filesystem::path exec_bundle(Env& env, const std::string& name, const std::string& run, const std::string& retry) {
  auto dir = env.dir() / name;
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(REGLAMENT_SOURCE_DIR "/processes/org.yaml", dir / "org.yaml");
  std::ofstream(dir / "job.yaml") << fmt::format(R"(process: job
title: Внешний шаг
owner: deputy-director
variables:
  client: {{type: text, title: Клиент}}
steps:
  - id: run
    title: Вызвать внешнюю программу
    actor: manager
    do: exec
    with: {{run: {}, timeout: 1s, env: {{COUNTER: "{}", FAIL_TIMES: "2"}}, outputs: [runs]}}
    retry: {}
    next: check
  - id: check
    title: Проверить результат
    actor: manager
    next: end
)",
                                                 run, (dir / "counter").string(), retry);
  return dir;
}

std::string program(const std::string& name) { return std::string(REGLAMENT_SOURCE_DIR "/tests/handlers/programs/") + name; }

}  // namespace

TEST_CASE("an exec handler that fails twice is retried with back-off and then succeeds") {
  Env env;
  auto dir = exec_bundle(env, "flaky", "[" + program("flaky.sh") + "]", "{max: 3, backoff: 1m}");
  REQUIRE(env.rg({"deploy", dir.string()}).code == 0);
  const std::string id = start(env, "ivanova", "job", {});
  Json job = show(env, id).get("jobs").as_array()[0];
  CHECK(job.integer("attempts") == 1);
  CHECK(job.str("retry_at") == "2026-11-23T10:01:00+03:00");
  // Not before its time.
  REQUIRE(env.rg({"tick"}).code == 0);
  CHECK(show(env, id).get("jobs").as_array()[0].integer("attempts") == 1);
  env.now = "2026-11-23T10:01:00+03:00";
  REQUIRE(env.rg({"tick"}).code == 0);
  job = show(env, id).get("jobs").as_array()[0];
  CHECK(job.integer("attempts") == 2);
  CHECK(job.str("retry_at") == "2026-11-23T10:03:00+03:00");  // doubled
  env.now = "2026-11-23T10:03:00+03:00";
  Run t = env.rg({"tick"});
  REQUIRE(t.code == 0);
  Json s = show(env, id);
  CHECK(s.get("variables").integer("runs") == 3);
  CHECK(inbox_entry(env, "ivanova", id, "check").is_object());
  const auto types = types_of(env, id);
  CHECK(std::count(types.begin(), types.end(), "ServiceFailed") == 2);
  CHECK(std::count(types.begin(), types.end(), "ServiceCompleted") == 1);
  // Nothing is due any more: the retry time left the timers with the success.
  Run verified = env.rg({"verify"});
  CHECK_MESSAGE(verified.code == 0, verified.out);
}

TEST_CASE("a handler out of retries is an incident: listed, retried, skipped only by the owner with a reason") {
  Env env;
  auto dir = exec_bundle(env, "broken", "[" + program("print.sh") + ", 'not json at all']", "0");
  REQUIRE(env.rg({"deploy", dir.string()}).code == 0);
  const std::string id = start(env, "ivanova", "job", {});
  const Json incidents = env.json("ivanova", {"incidents"});
  REQUIRE(incidents.as_array().size() == 1);
  const Json inc = incidents.as_array()[0];
  CHECK(inc.str("instance") == id);
  CHECK(inc.str("step") == "run");
  CHECK(contains(inc.str("error"), "invalid JSON"));
  const std::string incident = inc.str("incident");
  // The job's row was updated in place (attempts, error, incident): it
  // still matches the events.
  CHECK(env.rg({"verify"}).code == 0);
  // A tick does not run an incident again.
  REQUIRE(env.rg({"tick"}).code == 0);
  CHECK(show(env, id).get("jobs").as_array()[0].integer("attempts") == 1);
  // Retry: the step's actor may; it fails again and is an incident again.
  Run retry = env.rg({"retry", incident, "--as", "ivanova"});
  CHECK(retry.code == 0);
  CHECK(contains(retry.out, "failed"));
  CHECK(env.json("ivanova", {"incidents"}).as_array().size() == 1);
  CHECK(env.rg({"verify"}).code == 0);
  // Skip: not a manager; not without a reason; the owner with one.
  Run denied = env.rg({"skip", incident, "--reason", "сломано", "--as", "ivanova"});
  CHECK(denied.code == 5);
  CHECK(contains(denied.err, "process owner"));
  Run empty = env.rg({"skip", incident, "--reason", " ", "--as", "sidorova"});
  CHECK(empty.code == 2);
  Run skip = env.rg({"skip", incident, "--reason", "сервис недоступен, заявка поставлена вручную", "--as", "sidorova"});
  REQUIRE_MESSAGE(skip.code == 0, skip.err);
  CHECK(env.json("ivanova", {"incidents"}).as_array().empty());
  CHECK(inbox_entry(env, "ivanova", id, "check").is_object());
  const auto types = types_of(env, id);
  CHECK(has(types, "IncidentRetried"));
  CHECK(has(types, "ServiceSkipped"));
  Run h = env.rg({"history", id});
  CHECK(contains(h.out, "сервис недоступен"));
  CHECK(env.rg({"verify"}).code == 0);
}

TEST_CASE("an exec handler that hangs is killed at its timeout and becomes an incident") {
  Env env;
  auto dir = exec_bundle(env, "hang", "[" + program("hang.sh") + ", " + (env.dir() / "pid").string() + "]", "0");
  REQUIRE(env.rg({"deploy", dir.string()}).code == 0);
  const std::string id = start(env, "ivanova", "job", {});
  const Json incidents = env.json("ivanova", {"incidents"});
  REQUIRE(incidents.as_array().size() == 1);
  CHECK(contains(incidents.as_array()[0].str("error"), "did not finish within 1s"));
}

namespace {

const char* kParent = R"(process: parent
title: Родительский процесс
owner: deputy-director
variables:
  client: {type: text, title: Клиент}
steps:
  - id: ask
    title: Спросить дочерний процесс
    actor: manager
    call: {process: child, wait: true, outputs: [answer]}
    with: {client: "{client}", size: 3}
    next:
      - if: answer == "yes"
        goto: done
      - else: end
  - id: done
    title: Готово
    actor: manager
    next: end
)";

const char* kChild = R"(process: child
title: Дочерний процесс
owner: deputy-director
variables:
  client: {type: text, required: true, title: Клиент}
  size: {type: number, title: Размер}
steps:
  - id: reply
    title: Ответить
    actor: manager
    form: answer
    next: end
)";

const char* kAnswerForm = R"(form: answer
title: Ответ
fields:
  - name: answer
    title: Ответ
    type: choice
    required: true
    options: ["yes", "no"]
)";

// A bundle with the bundled org chart, the answer form and the given processes.
std::filesystem::path call_bundle(Env& env, const std::string& name, std::vector<std::pair<std::string, std::string>> files) {
  auto dir = env.dir() / name;
  std::filesystem::create_directories(dir / "forms");
  std::filesystem::copy_file(REGLAMENT_SOURCE_DIR "/processes/org.yaml", dir / "org.yaml");
  std::ofstream(dir / "forms" / "answer.yaml") << kAnswerForm;
  for (const auto& [file, text] : files) std::ofstream(dir / file) << text;
  return dir;
}

std::string child_of(Env& env) {
  auto children = instances_of(env, "child");
  REQUIRE(children.size() == 1);
  return children[0].str("instance");
}

}  // namespace

TEST_CASE("a call that waits: the parent's step ends when the child does, with the child's outputs") {
  Env env;
  auto dir = call_bundle(env, "calls", {{"parent.yaml", kParent}, {"child.yaml", kChild}});
  Run deployed = env.rg({"deploy", dir.string()});
  REQUIRE_MESSAGE(deployed.code == 0, deployed.err);
  const Json started = env.json("ivanova", {"start", "parent", "--set", "client=ООО «Вектор»"});
  const std::string parent = started.str("instance");
  REQUIRE(started.get("linked").as_array().size() == 1);
  const std::string child = child_of(env);
  CHECK(started.get("linked").as_array()[0].str("instance") == child);
  Json cv = show(env, child).get("variables");
  CHECK(cv.str("client") == "ООО «Вектор»");
  CHECK(cv.get("size").as_int() == 3);  // "{size}"-free literal keeps its type
  CHECK(show(env, parent).get("current").as_array()[0].as_string() == "ask");

  Run r = complete(env, "petrov", child, "reply", {"answer=yes"});
  CHECK(contains(r.out, fmt::format("instance {} (parent) moved on", parent)));
  Json ps = show(env, parent);
  CHECK(ps.get("variables").str("answer") == "yes");
  CHECK(inbox_entry(env, "ivanova", parent, "done").is_object());
  CHECK(has(types_of(env, parent), "ChildReturned"));
  CHECK(contains(env.rg({"history", parent}).out, fmt::format("started instance {} (child), which has returned", child)));
  CHECK(env.rg({"verify"}).code == 0);
}

TEST_CASE("a child that cannot be started yet stays pending, and tick starts it once it can") {
  Env env;
  // The parent alone: its child process is not deployed yet.
  auto first = call_bundle(env, "parent-only", {{"parent.yaml", kParent}});
  REQUIRE(env.rg({"deploy", first.string()}).code == 0);
  Run started = env.rg({"start", "parent", "--set", "client=ООО «Вектор»", "--as", "ivanova"});
  REQUIRE_MESSAGE(started.code == 0, started.err);
  CHECK(contains(started.err, "warning: instance"));
  CHECK(contains(started.err, "could not start child"));
  CHECK(instances_of(env, "child").empty());
  const std::string parent = instances_of(env, "parent")[0].str("instance");
  CHECK(contains(env.rg({"history", parent}).out, "is to start a child instance (pending"));
  // A tick reports it and changes nothing.
  Run early = env.rg({"tick"});
  CHECK(early.code != 0);
  CHECK(contains(early.err, "could not start child"));
  CHECK(instances_of(env, "child").empty());

  auto second = call_bundle(env, "child-only", {{"child.yaml", kChild}});
  REQUIRE(env.rg({"deploy", second.string()}).code == 0);
  Run tick = env.rg({"tick"});
  REQUIRE_MESSAGE(tick.code == 0, tick.err);
  CHECK(contains(tick.out, "started (child)"));
  const std::string child = child_of(env);
  // Once only.
  REQUIRE(env.rg({"tick"}).code == 0);
  CHECK(instances_of(env, "child").size() == 1);
  complete(env, "ivanova", child, "reply", {"answer=no"});
  CHECK(show(env, parent).str("status") == "completed");
  CHECK(env.rg({"verify"}).code == 0);
}
