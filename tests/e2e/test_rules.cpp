// Who may do what, and what happens when two people reach for the same task.
#include <algorithm>

#include "tests/e2e/harness.h"

using namespace reglament;
using namespace reglament::e2e;

namespace {
std::string first_task(Env& env, const std::string& instance, const std::string& user) {
  Json inbox = env.json(user, {"inbox"});
  for (const auto& t : inbox.as_array())
    if (t.str("instance") == instance) return t.str("task");
  FAIL("no task of instance " << instance << " in the inbox of " << user);
  return {};
}

std::string start_complaint_at_3_4_9(Env& env) {
  Json s = env.json("ivanova", {"start", "complaint", "--set", "client=ООО «Ромашка»"});
  std::string id = s.str("instance");
  Run r = env.rg({"complete", first_task(env, id, "ivanova"), "--as", "ivanova", "--set", "substance=брак",
                  "--set", "result=needs-time", "--set", "needs_legal=true"});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  REQUIRE(env.rg({"complete", first_task(env, id, "ivanova"), "--as", "ivanova"}).code == 0);  // 3.4.2
  // 3.4.6, 3.4.7 are notifications; 3.4.8 appoints the responsible employee.
  r = env.rg({"complete", first_task(env, id, "ivanova"), "--as", "ivanova", "--set", "responsible=petrov"});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  return id;
}
}  // namespace

TEST_CASE("inbox shows a person only the tasks of the roles they hold") {
  Env env;
  Json s = env.json("ivanova", {"start", "incoming-request", "--set", "client=ООО «Ромашка»"});
  std::string id = s.str("instance");
  Json inbox = env.json("ivanova", {"inbox"});
  REQUIRE(inbox.as_array().size() == 1);
  const Json& t = inbox.as_array()[0];
  CHECK(t.str("instance") == id);
  CHECK(t.str("process") == "incoming-request");
  CHECK(t.str("step") == "3.1.1");
  CHECK(t.str("title") == "Установить контакт с клиентом по скрипту");
  CHECK(strings(t.get("roles")) == std::vector<std::string>{"manager"});
  CHECK(t.get("claimed_by").is_null());
  CHECK(t.get("form").is_array());
  CHECK(env.json("orlov", {"inbox"}).as_array().empty());
}

TEST_CASE("a person without the role may not claim or complete a task: exit 5, nothing written") {
  Env env;
  Json s = env.json("ivanova", {"start", "incoming-request", "--set", "client=x"});
  std::string task = first_task(env, s.str("instance"), "ivanova");
  Json before = env.json("ivanova", {"history", s.str("instance")});
  Run claim = env.rg({"claim", task, "--as", "orlov"});
  CHECK(claim.code == 5);
  CHECK(contains(claim.err, "orlov"));
  CHECK(contains(claim.err, "manager"));
  Run complete = env.rg({"complete", task, "--as", "orlov"});
  CHECK(complete.code == 5);
  Run show = env.rg({"show", task, "--as", "orlov"});
  CHECK(show.code == 5);
  CHECK(env.rg({"show", task, "--as", "ivanova"}).code == 0);
  CHECK(env.json("ivanova", {"history", s.str("instance")}) == before);
}

TEST_CASE("a task claimed by one manager cannot be completed by another: exit 4") {
  Env env;
  Json s = env.json("ivanova", {"start", "incoming-request", "--set", "client=x"});
  std::string task = first_task(env, s.str("instance"), "ivanova");
  REQUIRE(env.rg({"claim", task, "--as", "ivanova"}).code == 0);
  Json inbox = env.json("petrov", {"inbox"});
  REQUIRE(inbox.as_array().size() == 1);
  CHECK(inbox.as_array()[0].str("claimed_by") == "ivanova");
  Run other = env.rg({"complete", task, "--as", "petrov"});
  CHECK(other.code == 4);
  CHECK(contains(other.err, "claimed by ivanova"));
  CHECK(env.rg({"claim", task, "--as", "petrov"}).code == 4);
  REQUIRE(env.rg({"unclaim", task, "--as", "ivanova"}).code == 0);
  CHECK(env.rg({"complete", task, "--as", "petrov"}).code == 0);
}

TEST_CASE("completing a finished task is a conflict: exit 4") {
  Env env;
  Json s = env.json("ivanova", {"start", "incoming-request", "--set", "client=x"});
  std::string task = first_task(env, s.str("instance"), "ivanova");
  REQUIRE(env.rg({"complete", task, "--as", "ivanova"}).code == 0);
  Run again = env.rg({"complete", task, "--as", "ivanova"});
  CHECK(again.code == 4);
  CHECK(contains(again.err, "already completed"));
}

TEST_CASE("complete on an unclaimed task claims it implicitly") {
  Env env;
  Json s = env.json("ivanova", {"start", "incoming-request", "--set", "client=x"});
  std::string task = first_task(env, s.str("instance"), "ivanova");
  REQUIRE(env.rg({"complete", task, "--as", "petrov"}).code == 0);
  Json history = env.json("ivanova", {"history", s.str("instance")});
  std::vector<std::string> types;
  for (const auto& e : history.as_array()) types.push_back(e.str("type"));
  auto claimed = std::find(types.begin(), types.end(), "TaskClaimed");
  REQUIRE(claimed != types.end());
  CHECK(*(claimed + 1) == "TaskCompleted");
}

TEST_CASE("form values are checked: a missing required field, a wrong type or option is exit 2 naming the field") {
  Env env;
  Json s = env.json("ivanova", {"start", "complaint", "--set", "client=x"});
  std::string task = first_task(env, s.str("instance"), "ivanova");
  Run missing = env.rg({"complete", task, "--as", "ivanova", "--set", "substance=брак", "--set", "result=resolved"});
  CHECK(missing.code == 2);
  CHECK(contains(missing.err, "needs_legal"));
  Run wrong_type = env.rg({"complete", task, "--as", "ivanova", "--set", "substance=брак", "--set",
                           "result=resolved", "--set", "needs_legal=perhaps"});
  CHECK(wrong_type.code == 2);
  CHECK(contains(wrong_type.err, "needs_legal"));
  Run wrong_option = env.rg({"complete", task, "--as", "ivanova", "--set", "substance=брак", "--set",
                             "result=later", "--set", "needs_legal=false"});
  CHECK(wrong_option.code == 2);
  CHECK(contains(wrong_option.err, "result"));
  Run unknown = env.rg({"complete", task, "--as", "ivanova", "--set", "colour=red"});
  CHECK(unknown.code == 2);
  CHECK(contains(unknown.err, "colour"));
  Run malformed = env.rg({"complete", task, "--as", "ivanova", "--set", "no-equals-sign"});
  CHECK(malformed.code == 2);
  // None of that changed anything: the task is still open and unclaimed.
  Json inbox = env.json("ivanova", {"inbox"});
  REQUIRE(inbox.as_array().size() == 1);
  CHECK(inbox.as_array()[0].get("claimed_by").is_null());
}

TEST_CASE("the decision 3.4.9 needs each of deputy director, legal and director") {
  Env env;
  std::string id = start_complaint_at_3_4_9(env);
  Json shown = env.json("ivanova", {"show", id});
  CHECK(strings(shown.get("current")) == std::vector<std::string>{"3.4.9"});
  CHECK(env.json("ivanova", {"inbox"}).as_array().empty());
  std::string deputy = first_task(env, id, "sidorova");
  std::string legal = first_task(env, id, "kuznetsov");
  std::string director = first_task(env, id, "orlov");
  CHECK(deputy != legal);
  CHECK(env.rg({"complete", legal, "--as", "sidorova", "--set", "decision=x"}).code == 5);
  REQUIRE(env.rg({"complete", deputy, "--as", "sidorova", "--set", "decision=заменить товар"}).code == 0);
  REQUIRE(env.rg({"complete", legal, "--as", "kuznetsov", "--set", "decision=претензия обоснована"}).code == 0);
  CHECK(strings(env.json("ivanova", {"show", id}).get("current")) == std::vector<std::string>{"3.4.9"});
  REQUIRE(env.rg({"complete", director, "--as", "orlov", "--set", "decision=утверждаю"}).code == 0);
  CHECK(strings(env.json("ivanova", {"show", id}).get("current")) == std::vector<std::string>{"3.4.10"});
}

TEST_CASE("unknown users, tasks, instances and processes are exit 3") {
  Env env;
  CHECK(env.rg({"inbox", "--as", "nobody"}).code == 3);
  CHECK(env.rg({"complete", "999.1", "--as", "ivanova"}).code == 3);
  CHECK(env.rg({"show", "999", "--as", "ivanova"}).code == 3);
  CHECK(env.rg({"history", "999", "--as", "ivanova"}).code == 3);
  Run r = env.rg({"start", "no-such-process", "--as", "ivanova", "--set", "client=x"});
  CHECK(r.code == 3);
  CHECK(contains(r.err, "no-such-process"));
}

TEST_CASE("deploying an unchanged bundle is a no-op and a changed file becomes a new version") {
  Env env;
  Json defs = env.json("ivanova", {"definitions"});
  REQUIRE(defs.as_array().size() == 5);
  Json again = env.json("sidorova", {"deploy", REGLAMENT_SOURCE_DIR "/processes"});
  for (const auto& d : again.as_array()) CHECK(d.get("changed") == Json(false));

  // A running instance stays on version 1 when version 2 is deployed.
  Json s = env.json("ivanova", {"start", "incoming-request", "--set", "client=x"});
  auto copy = env.dir() / "processes";
  std::filesystem::copy(REGLAMENT_SOURCE_DIR "/processes", copy, std::filesystem::copy_options::recursive);
  std::string text = slurp((copy / "incoming-request.yaml").string());
  auto pos = text.find("Внести данные в отчетные формы");
  REQUIRE(pos != std::string::npos);
  text.replace(pos, std::string("Внести данные в отчетные формы").size(), "Внести данные в отчётные формы");
  std::ofstream((copy / "incoming-request.yaml").string(), std::ios::trunc) << text;
  Json deployed = env.json("sidorova", {"deploy", copy.string()});
  int changed = 0;
  for (const auto& d : deployed.as_array())
    if (d.get("changed") == Json(true)) {
      ++changed;
      CHECK(d.str("process") == "incoming-request");
      CHECK(d.get("version") == Json(2));
    }
  CHECK(changed == 1);
  CHECK(env.json("ivanova", {"show", s.str("instance")}).get("version") == Json(1));
  CHECK(env.json("ivanova", {"start", "incoming-request", "--set", "client=y"}).get("version") == Json(2));
}

TEST_CASE("users lists the org chart with roles") {
  Env env;
  Json users = env.json("ivanova", {"users"});
  bool found = false;
  for (const auto& u : users.as_array())
    if (u.str("user") == "orlov") {
      found = true;
      CHECK(strings(u.get("roles")) == std::vector<std::string>{"director"});
      CHECK_FALSE(u.str("name").empty());
    }
  CHECK(found);
}

TEST_CASE("a mistyped command or a malformed global option is exit 2 with the reason") {
  Env env(false);
  Run r = env.rg({"inbxo", "--as", "ivanova"});
  CHECK(r.code == 2);
  CHECK(contains(r.err, "unknown command \"inbxo\""));
  Run now = run_program(REGLAMENT_BIN, {"--db", env.db(), "--now", "23.11.2026", "inbox", "--as", "ivanova"});
  CHECK(now.code == 2);
  CHECK(contains(now.err, "--now"));
  CHECK_FALSE(std::filesystem::exists(env.db()));
}
