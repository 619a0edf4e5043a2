// Every bundled subprocess, every branch, from `start` through the inbox to
// the end, as the people of the regulation would work it.
#include <algorithm>
#include <map>

#include "tests/e2e/harness.h"

using namespace reglament;
using namespace reglament::e2e;

namespace {

// Who works a role in these tests (from processes/org.yaml).
const std::map<std::string, std::string> kPersonFor{
    {"manager", "ivanova"}, {"deputy-director", "sidorova"}, {"legal", "kuznetsov"}, {"director", "orlov"}};

// A valid value for a form field as a person would type it.
std::string sample_value(const Json& field) {
  const std::string type = field.str("type");
  if (type == "number") return "12";
  if (type == "bool") return "false";
  if (type == "date") return "2026-12-01";
  if (type == "datetime") return "2026-11-23T10:30:00+03:00";
  if (type == "choice") return field.get("options").as_array().at(0).as_string();
  return "Текст «проверки»";
}

// Works the instance from the inbox until nothing is left: each open task of
// the instance is completed by a person holding its first role, with every
// required field filled and the branch-driving values from `values` (a step's
// values can change from one visit to the next: `values_on_visit`).
void work(Env& env, const std::string& instance, const std::map<std::string, std::string>& values,
          const std::map<std::string, std::vector<std::string>>& values_on_visit = {}) {
  std::map<std::string, int> visits;
  for (int guard = 0; guard < 100; ++guard) {
    Json shown = env.json("ivanova", {"show", instance});
    if (shown.str("status") != "active") return;
    // Find any open task of this instance in the inbox of the role's person.
    bool acted = false;
    for (const auto& [role, person] : kPersonFor) {
      Json inbox = env.json(person, {"inbox"});
      for (const auto& task : inbox.as_array()) {
        if (task.str("instance") != instance) continue;
        std::vector<std::string> args{"complete", task.str("task"), "--as", person};
        std::string step = task.str("step");
        int visit = visits[step]++;
        for (const auto& f : task.get("form").as_array()) {
          std::string name = f.str("name");
          std::string value;
          if (auto v = values_on_visit.find(name); v != values_on_visit.end() && step == v->second.at(0))
            value = v->second.at(1 + std::min<size_t>(visit, v->second.size() - 2));
          else if (auto it = values.find(name); it != values.end())
            value = it->second;
          else if (f.get("required").is_bool() && f.get("required").as_bool())
            value = sample_value(f);
          else
            continue;
          args.push_back("--set");
          args.push_back(name + "=" + value);
        }
        Run r = env.rg(args);
        REQUIRE_MESSAGE(r.code == 0, "completing " << step << " failed: " << r.err);
        acted = true;
        break;
      }
      if (acted) break;
    }
    if (!acted && !shown.get("waits").as_array().empty()) {
      // The instance sleeps (a wait: step or branch): move the clock to the
      // moment it ends and let a tick wake it.
      env.now = shown.get("waits").as_array().front().str("due");
      Run r = env.rg({"tick"});
      REQUIRE_MESSAGE(r.code == 0, "tick failed: " << r.err);
      continue;
    }
    REQUIRE_MESSAGE(acted, "instance " << instance << " is active but no inbox holds a task of it");
  }
  FAIL("instance " << instance << " did not finish in 100 tasks");
}

// The step ids of the instance's StepCompleted events, in order.
std::vector<std::string> completed_steps(Env& env, const std::string& instance) {
  std::vector<std::string> out;
  Json history = env.json("ivanova", {"history", instance});
  for (const auto& e : history.as_array())
    if (e.str("type") == "StepCompleted") out.push_back(e.str("step"));
  return out;
}

std::string start(Env& env, const std::string& process, std::vector<std::string> sets) {
  std::vector<std::string> args{"start", process};
  for (auto& s : sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  Json started = env.json("ivanova", args);
  CHECK(started.str("process") == process);
  CHECK(started.get("version").is_integer());
  return started.str("instance");
}

void check_walk(Env& env, const std::string& instance, const std::vector<std::string>& expected) {
  Json shown = env.json("ivanova", {"show", instance});
  CHECK(shown.str("status") == "completed");
  CHECK(shown.get("current").as_array().empty());
  CHECK(strings(shown.get("completed")) == expected);
  CHECK(completed_steps(env, instance) == expected);
}

}  // namespace

TEST_CASE("3.1 incoming request from a VIP customer goes through 3.1.2-3.1.5") {
  Env env;
  std::string id = start(env, "incoming-request", {"client=ООО «Ромашка»", "vip=true"});
  work(env, id, {{"reason", "order"}});
  check_walk(env, id, {"3.1.1", "3.1.2", "3.1.3", "3.1.4", "3.1.5", "3.1.9", "3.1.10", "3.1.11"});
  Json outbox = env.json("orlov", {"outbox"});
  REQUIRE(outbox.as_array().size() == 1);
  CHECK(contains(outbox.as_array()[0].dump(), "sales-center"));
  CHECK(contains(outbox.as_array()[0].dump(), "ООО «Ромашка»"));
}

TEST_CASE("3.1 incoming request from a regular customer goes through 3.1.6-3.1.8") {
  Env env;
  std::string id = start(env, "incoming-request", {"client=ИП Петров"});
  work(env, id, {});
  check_walk(env, id, {"3.1.1", "3.1.6", "3.1.7", "3.1.8", "3.1.9", "3.1.10", "3.1.11"});
}

TEST_CASE("3.2 outbound call ending in an order notifies the sales center at 3.2.7") {
  Env env;
  std::string id = start(env, "outbound-call", {"client=ООО «Вектор»"});
  work(env, id, {{"outcome", "order"}});
  check_walk(env, id, {"3.2.1", "3.2.2", "3.2.4", "3.2.5", "3.2.6", "3.2.7", "3.2.8"});
}

TEST_CASE("3.2 outbound call ending in a refusal records the reason and skips 3.2.7") {
  Env env;
  std::string id = start(env, "outbound-call", {"client=ООО «Вектор»"});
  work(env, id, {{"outcome", "refusal"}});
  check_walk(env, id, {"3.2.1", "3.2.2", "3.2.3", "3.2.5", "3.2.6", "3.2.8"});
}

TEST_CASE("3.3 a sales agent's notification about a known customer tells the agent at 3.3.2") {
  Env env;
  // Known means in the client database (3.3.1 looks it up; nobody types it).
  Run add = env.rg({"clients", "add", "--company", "Ромашка ООО", "--as", "ivanova"});
  REQUIRE_MESSAGE(add.code == 0, add.err);
  std::string id = start(env, "agent-notification", {"client=ООО «Ромашка»", "agent=volkov"});
  work(env, id, {});
  check_walk(env, id, {"3.3.1", "3.3.2", "3.3.4", "3.3.5", "3.3.6", "3.3.7"});
}

TEST_CASE("3.3 a sales agent's notification about a new customer enters it at 3.3.3") {
  Env env;
  std::string id = start(env, "agent-notification", {"client=ООО «Новый»"});
  work(env, id, {});
  check_walk(env, id, {"3.3.1", "3.3.3", "3.3.4", "3.3.5", "3.3.6", "3.3.7"});
}

TEST_CASE("3.4 an ordinary complaint is decided by three actors and controlled until resolved") {
  Env env;
  std::string id = start(env, "complaint", {"client=ООО «Ромашка»"});
  work(env, id, {{"needs_legal", "false"}}, {{"resolved", {"3.4.10", "false", "true"}}});
  check_walk(env, id,
             {"3.4.1", "3.4.2", "3.4.3", "3.4.4", "3.4.5", "3.4.9", "3.4.10", "3.4.10", "3.4.11", "3.4.12",
              "3.4.13"});
  // 3.4.9 was completed by each of its three roles.
  Json history = env.json("ivanova", {"history", id});
  std::vector<std::string> signers;
  for (const auto& e : history.as_array())
    if (e.str("type") == "TaskCompleted" && e.str("step") == "3.4.9") signers.push_back(e.str("actor"));
  std::sort(signers.begin(), signers.end());
  CHECK(signers == std::vector<std::string>{"kuznetsov", "orlov", "sidorova"});
}

TEST_CASE("3.4 a complaint needing legal assessment goes through 3.4.6-3.4.8") {
  Env env;
  std::string id = start(env, "complaint", {"client=ООО «Ромашка»"});
  work(env, id, {{"needs_legal", "true"}, {"resolved", "true"}});
  check_walk(env, id,
             {"3.4.1", "3.4.2", "3.4.6", "3.4.7", "3.4.8", "3.4.9", "3.4.10", "3.4.11", "3.4.12", "3.4.13"});
}

TEST_CASE("3.5 the weekly review builds three lists in parallel and handles discrepancies") {
  Env env;
  // A customer without a responsible manager: 3.5.6's check finds it.
  Run add = env.rg({"clients", "add", "--company", "ООО «Без менеджера»", "--as", "ivanova"});
  REQUIRE_MESSAGE(add.code == 0, add.err);
  std::string id = start(env, "client-base-review", {"client=вся база"});
  work(env, id, {});
  auto steps = completed_steps(env, id);
  REQUIRE(steps.size() == 10);
  CHECK(steps[0] == "3.5.1");
  std::vector<std::string> lists(steps.begin() + 1, steps.begin() + 4);
  std::sort(lists.begin(), lists.end());
  CHECK(lists == std::vector<std::string>{"3.5.2", "3.5.3", "3.5.4"});
  CHECK(std::vector<std::string>(steps.begin() + 4, steps.end()) ==
        std::vector<std::string>{"3.5.5", "3.5.6", "3.5.7", "3.5.8", "3.5.9", "3.5.10"});
}

TEST_CASE("3.5 the weekly review without discrepancies goes straight to 3.5.10") {
  Env env;
  std::string id = start(env, "client-base-review", {"client=вся база"});
  work(env, id, {});
  auto steps = completed_steps(env, id);
  REQUIRE(steps.size() == 7);
  CHECK(std::vector<std::string>(steps.begin() + 4, steps.end()) ==
        std::vector<std::string>{"3.5.5", "3.5.6", "3.5.10"});
}
