// Who may run each verb (docs/cli.md, "Who may run what"): every verb, as a
// person of each role of the bundled org and as someone outside it. A person
// the table allows is not refused; everyone else is refused, and every
// refusal is recorded in the database's refusals. Then the clock, the demo,
// deploy and the org chart under identity: os-login (issue 18, "Who may act").
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include "harness.h"

namespace reglament::e2e {
namespace {

// One person of each role of the bundled org (processes/org.yaml).
const std::vector<std::string> kPeople = {"ivanova",  "sidorova", "kuznetsov", "orlov",
                                          "volkov",   "smirnova", "sales-desk"};
// Nobody in the org chart (identity: asserted takes --as as typed).
const std::string kOutsider = "ghost";

int refusal_count(const Env& env) {
  SQLite::Database d(env.db(), SQLite::OPEN_READONLY);
  return d.execAndGet("SELECT count(*) FROM refusals").getInt();
}

std::string last_refusal(const Env& env, const std::string& column) {
  SQLite::Database d(env.db(), SQLite::OPEN_READONLY);
  return d.execAndGet("SELECT " + column + " FROM refusals ORDER BY seq DESC LIMIT 1").getString();
}

// A process whose only step runs a program that fails, with no retries: an
// incident at once, for retry and skip. Deployed beside the bundled processes.
std::filesystem::path incident_bundle(Env& env) {
  auto dir = env.dir() / "incident";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(REGLAMENT_SOURCE_DIR "/processes/org.yaml", dir / "org.yaml");
  std::ofstream(dir / "job.yaml") << R"(process: job
title: Внешний шаг
owner: deputy-director
steps:
  - id: run
    title: Вызвать внешнюю программу
    actor: manager
    do: exec
    with: {run: [/bin/false], timeout: 5s}
    retry: 0
    next: end
)";
  return dir;
}

// One row of the table: a command line (with {instance}, {task},
// {incident}, {file} and {bundle} filled in per run), the people who may run
// it, and whether someone outside the org may (the engine's verbs).
struct Rule {
  std::vector<std::string> args;
  std::set<std::string> allowed;
  bool outsider_allowed = false;
  bool system_clock = false;  // run without --now (the worker refuses it)
};

}  // namespace

TEST_CASE("every verb as a person of each role and as an outsider: allowed as docs/cli.md says, else refused and "
          "recorded") {
  Env env;
  const std::filesystem::path bundle = incident_bundle(env);
  REQUIRE(env.rg({"deploy", bundle.string()}).code == 0);
  const std::string instance = start(env, "ivanova", "incoming-request", {"client=ООО «Ромашка»"});
  const std::string task = inbox_entry(env, "ivanova", instance, "3.1.1").str("task");
  REQUIRE(!task.empty());
  const std::string job = start(env, "ivanova", "job", {});
  const Json incidents = env.json("sidorova", {"incidents"});
  REQUIRE(incidents.as_array().size() == 1);
  const std::string incident = incidents.as_array()[0].str("incident");

  const std::set<std::string> anyone(kPeople.begin(), kPeople.end());
  const std::set<std::string> admins = {"sidorova"};
  const std::set<std::string> auditors = {"sidorova", "orlov"};
  // incoming-request's steps are the manager's and the deputy director's; the
  // director audits.
  const std::set<std::string> see_request = {"ivanova", "sidorova", "orlov"};
  const std::set<std::string> start_request = {"ivanova", "sidorova"};
  const std::set<std::string> task_roles = {"ivanova"};  // 3.1.1: manager
  const std::set<std::string> edit_clients = {"ivanova", "sidorova"};

  // In order: where a verb changes something, everyone refused goes first
  // and then the people allowed (a claimed task is then claimed).
  const std::vector<std::pair<std::string, Rule>> table = {
      {"validate", {{"validate", REGLAMENT_SOURCE_DIR "/processes"}, anyone, true}},
      {"definitions", {{"definitions"}, anyone}},
      {"graph", {{"graph", "complaint"}, anyone}},
      {"users", {{"users"}, anyone}},
      {"inbox", {{"inbox"}, anyone}},
      {"instances", {{"instances"}, anyone}},
      {"incidents", {{"incidents"}, anyone}},
      {"timeline", {{"timeline"}, anyone}},
      {"clients list", {{"clients", "list"}, anyone}},
      {"clients find", {{"clients", "find", "ромашка"}, anyone}},
      {"show INSTANCE", {{"show", "{instance}"}, see_request}},
      {"history", {{"history", "{instance}"}, see_request}},
      {"replay", {{"replay", "{instance}", "--upto", "2"}, see_request}},
      {"show TASK", {{"show", "{task}"}, task_roles}},
      {"start", {{"start", "incoming-request", "--set", "client=АО «Бета»"}, start_request}},
      {"claim", {{"claim", "{task}"}, task_roles}},
      {"unclaim", {{"unclaim", "{task}"}, task_roles}},
      {"complete", {{"complete", "{task}"}, task_roles}},
      {"verify", {{"verify"}, auditors}},
      {"outbox", {{"outbox"}, auditors}},
      {"refusals", {{"refusals"}, auditors}},
      {"report", {{"report", "--from", "2026-11-01", "--to", "2026-12-01"}, auditors}},
      {"seal --list", {{"seal", "--list"}, auditors}},
      {"seal", {{"seal"}, admins}},
      {"backup", {{"backup", "{file}"}, admins}},
      {"deploy", {{"deploy", "{bundle}"}, admins}},
      {"clients add", {{"clients", "add", "--company", "ООО «Новый {who}»"}, edit_clients}},
      {"clients abc --dry-run", {{"clients", "abc", "--dry-run"}, anyone}},
      {"clients abc", {{"clients", "abc"}, edit_clients}},
      {"retry", {{"retry", "{incident}"}, {"ivanova", "sidorova"}}},
      {"skip", {{"skip", "{incident}", "--reason", "сервис недоступен"}, admins}},
      {"tick", {{"tick"}, anyone, true}},
      {"worker", {{"worker", "--for", "1s"}, anyone, true, true}},
      {"demo", {{"demo"}, admins}},
  };

  int files = 0;
  for (const auto& [verb, rule] : table) {
    std::vector<std::string> order;
    for (const std::string& p : kPeople)
      if (rule.allowed.count(p) == 0) order.push_back(p);
    if (!rule.outsider_allowed) order.push_back(kOutsider);
    for (const std::string& p : kPeople)
      if (rule.allowed.count(p) != 0) order.push_back(p);
    if (rule.outsider_allowed) order.push_back(kOutsider);

    for (const std::string& who : order) {
      std::vector<std::string> args;
      for (std::string a : rule.args) {
        auto fill = [&a](const std::string& key, const std::string& value) {
          for (size_t at = a.find(key); at != std::string::npos; at = a.find(key, at + value.size()))
            a.replace(at, key.size(), value);
        };
        fill("{instance}", instance);
        fill("{task}", task);
        fill("{incident}", incident);
        fill("{bundle}", bundle.string());
        fill("{file}", (env.dir() / fmt::format("copy-{}.db", ++files)).string());
        fill("{who}", who);
        args.push_back(a);
      }
      args.push_back("--as");
      args.push_back(who);
      const bool allowed = who == kOutsider ? rule.outsider_allowed : rule.allowed.count(who) != 0;
      const int before = refusal_count(env);
      std::vector<std::string> with_db{"--db", env.db()};
      with_db.insert(with_db.end(), args.begin(), args.end());
      const Run r = rule.system_clock ? run_program(REGLAMENT_BIN, with_db) : env.rg(args);
      CAPTURE(verb);
      CAPTURE(who);
      CAPTURE(r.err);
      if (allowed) {
        CHECK(r.code == 0);
        CHECK(refusal_count(env) == before);
      } else {
        // A person is refused (5); someone the org does not know is not
        // found (3) under identity: asserted. Both are on record.
        CHECK(r.code == (who == kOutsider ? 3 : 5));
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);  // one sentence
        REQUIRE(refusal_count(env) == before + 1);
        CHECK(last_refusal(env, "actor") == who);
        CHECK(contains(last_refusal(env, "command"), rule.args.front()));
      }
    }
  }
  (void)job;
}

namespace {

std::string os_account() {
  const passwd* pw = getpwuid(getuid());
  REQUIRE(pw != nullptr);
  return pw->pw_name;
}

// The bundled regulation under identity: os-login, with this OS account as
// `person` when given (as its os_login), or as nobody in the org.
std::filesystem::path os_login_bundle(Env& env, const std::string& name, const std::string& person) {
  const std::filesystem::path bundle = env.dir() / name;
  std::filesystem::copy(REGLAMENT_SOURCE_DIR "/processes", bundle, std::filesystem::copy_options::recursive);
  std::string org = slurp((bundle / "org.yaml").string());
  const auto asserted = org.find("  identity: asserted\n");
  REQUIRE(asserted != std::string::npos);
  org.erase(asserted, std::string("  identity: asserted\n").size());
  if (!person.empty()) {
    const std::string login = "  - login: " + person + "\n";
    const auto at = org.find(login);
    REQUIRE(at != std::string::npos);
    org.insert(at + login.size(), "    os_login: " + os_account() + "\n");
  }
  std::ofstream((bundle / "org.yaml").string()) << org;
  return bundle;
}

// `reglament --db DB args...` with no --now and no --as: the system clock and
// the OS account, as a real user under os-login types it.
Run plain(const Env& env, std::vector<std::string> args, const std::vector<std::string>& extra_env = {}) {
  std::vector<std::string> full{"--db", env.db()};
  full.insert(full.end(), args.begin(), args.end());
  return run_program(REGLAMENT_BIN, full, extra_env);
}

}  // namespace

TEST_CASE("under os-login the clock is the system's: --now and REGLAMENT_NOW are refused and recorded") {
  Env env(/*deploy=*/false);
  const auto bundle = os_login_bundle(env, "bundle", "sidorova");
  // The first deploy into an empty database: no org yet, so --now still stands.
  REQUIRE(env.rg({"deploy", bundle.string()}).code == 0);

  Run backdated = plain(env, {"start", "incoming-request", "--set", "client=ООО «Ромашка»", "--now",
                              "1999-01-01T10:00:00+03:00"});
  CHECK(backdated.code == 5);
  CHECK(contains(backdated.err, "--now (or REGLAMENT_NOW) is refused"));
  CHECK(contains(backdated.err, "identity: os-login"));
  Run ahead = plain(env, {"tick", "--now", "2031-06-01T00:00:00+03:00"});
  CHECK(ahead.code == 5);
  Run by_env = plain(env, {"inbox"}, {"REGLAMENT_NOW=2031-06-01T00:00:00+03:00"});
  CHECK(by_env.code == 5);
  CHECK(refusal_count(env) == 3);
  // Recorded at the system's time, not the one asked for.
  CHECK(last_refusal(env, "at").rfind("2031", 0) != 0);
  CHECK(contains(last_refusal(env, "command"), "inbox"));
  {
    SQLite::Database d(env.db(), SQLite::OPEN_READONLY);
    CHECK(d.execAndGet("SELECT count(*) FROM instances").getInt() == 0);
  }
  // Without them the command runs on the system clock.
  Run started = plain(env, {"start", "incoming-request", "--set", "client=ООО «Ромашка»", "--json"});
  CHECK_MESSAGE(started.code == 0, started.err);
  CHECK(plain(env, {"tick"}).code == 0);
}

TEST_CASE("under os-login an OS account the org does not know is refused with exit 5, and recorded") {
  Env env(/*deploy=*/false);
  const auto bundle = os_login_bundle(env, "bundle", "");  // this account is nobody
  REQUIRE(env.rg({"deploy", bundle.string()}).code == 0);
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"inbox"}, {"users"}, {"backup", (env.dir() / "x.db").string()},
                                             {"start", "complaint", "--set", "client=X"}, {"verify"}}) {
    const int before = refusal_count(env);
    Run r = plain(env, args);
    CAPTURE(args.front());
    CHECK(r.code == 5);
    CHECK(contains(r.err, "is nobody in this organisation's org chart"));
    CHECK(refusal_count(env) == before + 1);
  }
  CHECK(!std::filesystem::exists(env.dir() / "x.db"));
  // The engine's verbs are for the service account that owns the file.
  CHECK(plain(env, {"tick"}).code == 0);
}

TEST_CASE("the demo runs only where identity is asserted; deploy deploys only what it is given") {
  Env env(/*deploy=*/false);
  const auto bundle = os_login_bundle(env, "bundle", "sidorova");
  // Into an empty database, a bundle under os-login: the demo would act in
  // every person's name.
  Run demo = env.rg({"demo", "--processes", bundle.string()});
  CHECK(demo.code == 5);
  CHECK(contains(demo.err, "runs only where the org chart takes identity as asserted"));
  CHECK(!std::filesystem::exists(env.db()));
  REQUIRE(env.rg({"deploy", bundle.string()}).code == 0);
  // On an os-login database, with the bundled (asserted) processes.
  Run again = plain(env, {"demo"});
  CHECK(again.code == 5);
  CHECK(contains(again.err, "deployed org chart takes it from the OS login"));
  {
    SQLite::Database d(env.db(), SQLite::OPEN_READONLY);
    CHECK(d.execAndGet("SELECT count(*) FROM instances").getInt() == 0);
  }
  // deploy with no path deploys nothing.
  Run bare = plain(env, {"deploy"});
  CHECK(bare.code == 2);
  CHECK(contains(bare.err, "deploy needs the files or directories to deploy"));
}

TEST_CASE("an org chart that would break deployed processes, open tasks or identity is refused unless "
          "--replace-org, which prints the plan") {
  Env env;
  const std::string id = start(env, "ivanova", "incoming-request", {"client=ООО «Ромашка»"});
  const std::string task = inbox_entry(env, "ivanova", id, "3.1.1").str("task");
  REQUIRE(env.rg({"claim", task, "--as", "ivanova"}).code == 0);

  // A second regulation with an org chart of its own: no deputy director, no
  // ivanova, and only its own process.
  const std::filesystem::path other = env.dir() / "other";
  std::filesystem::create_directories(other);
  std::ofstream(other / "org.yaml") << R"(roles:
  head: {title: Руководитель}
  caller: {title: Оператор}
people:
  - login: sidorova
    name: Сидорова Елена
    roles: [caller]
  - login: boss
    name: Начальник
    roles: [head]
access:
  identity: asserted
  admin: [head]
)";
  std::ofstream(other / "attraction.yaml") << R"(process: attraction
title: Привлечение клиента
owner: head
steps:
  - id: "1"
    title: Позвонить
    actor: caller
    next: end
)";
  const auto digest_before = env.rg({"verify", "--as", "orlov"});
  REQUIRE(digest_before.code == 0);
  Run refused = env.rg({"deploy", other.string()});
  CHECK(refused.code == 4);
  CHECK(contains(refused.err, "the new org chart would break:"));
  CHECK(contains(refused.err, "process complaint v1 (its latest version) would no longer load"));
  CHECK(contains(refused.err, "process incoming-request v1 (its latest version, 1 unfinished instance) would no "
                              "longer load"));
  CHECK(contains(refused.err, "task " + task + " (incoming-request 3.1.1 of instance " + id + ")"));
  CHECK(contains(refused.err, "is claimed by ivanova, whom the new org chart drops"));
  CHECK(contains(refused.err, "you (sidorova) would no longer be an administrator"));
  CHECK(contains(refused.err, "nothing was deployed (deploy --replace-org replaces it anyway)"));
  // Nothing changed: the old org still answers.
  CHECK(env.json("ivanova", {"users"}).as_array().size() == 8);
  CHECK(env.json("sidorova", {"definitions"}).as_array().size() == 5);

  // Replacing it knowingly: the plan is printed, and the deploy goes ahead.
  Run replaced = env.rg({"deploy", other.string(), "--replace-org"});
  CHECK_MESSAGE(replaced.code == 0, replaced.err);
  CHECK(contains(replaced.out, "replacing the org chart, which breaks:"));
  CHECK(contains(replaced.out, "attraction v1 (new)"));
  CHECK(env.json("boss", {"users"}).as_array().size() == 2);
}

TEST_CASE("an asserted org chart never replaces an os-login one without --replace-org") {
  Env env(/*deploy=*/false);
  const auto bundle = os_login_bundle(env, "bundle", "sidorova");
  REQUIRE(env.rg({"deploy", bundle.string()}).code == 0);
  // The bundled processes as they ship (identity: asserted), deployed by the
  // administrator of the os-login org.
  Run r = plain(env, {"deploy", REGLAMENT_SOURCE_DIR "/processes"});
  CHECK(r.code == 4);
  CHECK(contains(r.err, "takes identity as asserted (--as is taken as typed) where the deployed one takes it from "
                        "the OS login"));
  // Still os-login: --as naming someone else is refused.
  CHECK(plain(env, {"inbox", "--as", "orlov"}).code == 5);
}

TEST_CASE("a refusal that cannot be written is reported as not recorded") {
  Env env;
  const int before = refusal_count(env);
  // Root ignores file modes: an immutable file is read-only even for root.
  Run lock = run_program("/usr/bin/chattr", {"+i", env.db()});
  if (lock.code != 0) {
    MESSAGE("chattr +i failed (" << lock.err << "): a read-only database cannot be made here");
    return;
  }
  Run r = env.rg({"backup", (env.dir() / "copy.db").string(), "--as", "ivanova"});
  run_program("/usr/bin/chattr", {"-i", env.db()});
  CHECK(r.code == 5);
  CHECK(contains(r.err, "ivanova may not back up the database"));
  CHECK(contains(r.err, "the refusal could not be recorded in the database"));
  CHECK(refusal_count(env) == before);
}

}  // namespace reglament::e2e
