// The `exec` handler under attack (issue 18), through the `reglament` binary:
// the program is the bundle's, pinned at deploy; the caller's working
// directory, PATH and environment do not reach it; it sets only its declared
// outputs; and what it starts does not outlive the step.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <fmt/format.h>

#include "tests/e2e/harness.h"

using namespace reglament;
using namespace reglament::e2e;

namespace fs = std::filesystem;

namespace {

void write_program(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
  ::chmod(path.c_str(), 0755);
}

// A bundle of the bundled (asserted) org and one process whose first step
// runs `with` through exec; its second step is a person's task.
fs::path exec_bundle(const fs::path& dir, const std::string& with) {
  fs::create_directories(dir);
  fs::copy_file(REGLAMENT_SOURCE_DIR "/processes/org.yaml", dir / "org.yaml", fs::copy_options::overwrite_existing);
  std::ofstream(dir / "job.yaml") << fmt::format(R"(process: job
title: Внешний шаг
owner: deputy-director
variables:
  client: {{type: text, title: Клиент}}
  vip: {{type: bool, default: false, title: VIP-клиент}}
steps:
  - id: run
    title: Вызвать внешнюю программу
    actor: manager
    do: exec
    with: {}
    retry: 0
    next: check
  - id: check
    title: Проверить результат
    actor: manager
    next: end
)",
                                                 with);
  return dir;
}

std::string program(const std::string& name) { return REGLAMENT_SOURCE_DIR "/tests/handlers/programs/" + name; }

Json show(Env& env, const std::string& instance) { return env.json("ivanova", {"show", instance}); }

// The step's job as `show` lists it.
Json job_of(Env& env, const std::string& instance) {
  Json jobs = show(env, instance).get("jobs");
  return jobs.is_array() && !jobs.as_array().empty() ? jobs.as_array()[0] : Json();
}

// Changes the working directory for the scope, as `cd DIR && reglament ...` would.
class ScopedCwd {
 public:
  explicit ScopedCwd(const fs::path& dir) : old_(fs::current_path()) { fs::current_path(dir); }
  ~ScopedCwd() {
    std::error_code ec;
    fs::current_path(old_, ec);
  }
  ScopedCwd(const ScopedCwd&) = delete;
  ScopedCwd& operator=(const ScopedCwd&) = delete;

 private:
  fs::path old_;
};

// Sets an environment variable for the scope (reglament inherits it: the
// harness puts extra variables after ours, where getenv does not look).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("a relative run: path runs the bundle's program, whatever folder reglament is started from") {
  // given a bundle deployed by its relative path, whose bin/tool answers "bundle"
  Env env;
  const fs::path bundle = exec_bundle(env.dir() / "bundle", "{run: [bin/tool], outputs: [who]}");
  write_program(bundle / "bin/tool", "#!/bin/sh\ncat >/dev/null\necho '{\"who\": \"bundle\"}'\n");
  {
    ScopedCwd cwd(env.dir());
    Run d = env.rg({"deploy", "bundle"});
    REQUIRE_MESSAGE(d.code == 0, d.err);
  }
  // and an attacker's folder with its own bin/tool
  const fs::path evil = env.dir() / "evil";
  write_program(evil / "bin/tool", "#!/bin/sh\ncat >/dev/null\n: > \"$0.ran\"\necho '{\"who\": \"evil\"}'\n");
  // when someone starts the process from the attacker's folder
  std::string id;
  {
    ScopedCwd cwd(evil);
    id = start(env, "ivanova", "job", {"client=ООО Ромашка"});
  }
  // then the bundle's program ran, and the attacker's did not
  CHECK(show(env, id).get("variables").str("who") == "bundle");
  CHECK_FALSE(fs::exists(evil / "bin/tool.ran"));
  CHECK(inbox_entry(env, "ivanova", id, "check").is_object());
}

TEST_CASE("a bare program name is never looked up in the caller's PATH") {
  // given an attacker's `true` first in PATH, when deploying and when starting
  Env env;
  const fs::path evil = env.dir() / "evil";
  write_program(evil / "true", "#!/bin/sh\n: > \"$0.ran\"\necho '{\"vip\": true}'\n");
  ScopedEnv path("PATH", evil.string() + ":" + std::getenv("PATH"));
  const fs::path bundle = exec_bundle(env.dir() / "bundle", "{run: [true]}");
  Run d = env.rg({"deploy", bundle.string()});
  REQUIRE_MESSAGE(d.code == 0, d.err);
  Run s = env.rg({"start", "job", "--set", "client=ООО Ромашка", "--as", "ivanova", "--json"});
  REQUIRE_MESSAGE(s.code == 0, s.err);
  const std::string id = s.json().str("instance");
  // then the system's `true` ran: the step is done, and the attacker's program never ran
  CHECK(inbox_entry(env, "ivanova", id, "check").is_object());
  CHECK_FALSE(fs::exists(evil / "true.ran"));
  CHECK(show(env, id).get("variables").get("vip") == Json(false));
}

TEST_CASE("a program changed after deploy is refused as an incident until the process is redeployed") {
  // given a deployed process whose program is then replaced
  Env env;
  const fs::path bundle = exec_bundle(env.dir() / "bundle", "{run: [bin/tool], outputs: [who]}");
  const fs::path tool = bundle / "bin/tool";
  write_program(tool, "#!/bin/sh\ncat >/dev/null\necho '{\"who\": \"first\"}'\n");
  Run d = env.rg({"deploy", bundle.string()});
  REQUIRE_MESSAGE(d.code == 0, d.err);
  Run same = env.rg({"deploy", bundle.string(), "--json"});
  REQUIRE_MESSAGE(same.code == 0, same.err);
  write_program(tool, "#!/bin/sh\ncat >/dev/null\n: > \"$0.ran\"\necho '{\"who\": \"second\"}'\n");
  // when an instance reaches the step
  const std::string first = start(env, "ivanova", "job", {"client=ООО Ромашка"});
  // then the step is an incident naming the program and saying to redeploy, and nothing ran
  Json job = job_of(env, first);
  CHECK(job.get("incident") == Json(true));
  CHECK_MESSAGE(contains(job.str("last_error"), "exec: program `" + fs::canonical(tool).string() +
                                                    "` changed since the process was deployed"),
                job.dump());
  CHECK(contains(job.str("last_error"), "redeploy the process"));
  CHECK_FALSE(fs::exists(tool.string() + ".ran"));
  CHECK_FALSE(show(env, first).get("variables").get("who").is_string());
  // and a redeploy records the new program as a new version, on which it runs
  Run again = env.rg({"deploy", bundle.string()});
  REQUIRE_MESSAGE(again.code == 0, again.err);
  Json listed = env.json("ivanova", {"definitions"});
  int versions = 0;
  for (const Json& def : listed.as_array()) versions += def.str("process") == "job" ? 1 : 0;
  CHECK(versions == 2);
  const std::string second = start(env, "ivanova", "job", {"client=ООО Ромашка"});
  CHECK(show(env, second).get("variables").str("who") == "second");
  Run verified = env.rg({"verify"});
  CHECK_MESSAGE(verified.code == 0, verified.out << verified.err);
}

TEST_CASE("the program sees none of the caller's environment but the names its step lists") {
  // given secrets in the environment reglament is started with
  Env env;
  const std::string dump = (env.dir() / "env.txt").string();
  const fs::path bundle =
      exec_bundle(env.dir() / "bundle", fmt::format("{{run: [{}, \"{}\"], env: [STOCK_TOKEN]}}", program("env_dump.sh"), dump));
  REQUIRE(env.rg({"deploy", bundle.string()}).code == 0);
  ScopedEnv path("PATH", env.dir().string() + ":/usr/bin:/bin");
  Run s = env.rg({"start", "job", "--set", "client=ООО Ромашка", "--as", "ivanova"},
                 {"DB_PASSWORD=hunter2", "STOCK_TOKEN=stock-42"});
  REQUIRE_MESSAGE(s.code == 0, s.err);
  // then only the minimum and the listed name reached the program
  std::ifstream in(dump);
  const std::string seen((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE_FALSE(seen.empty());
  CHECK(contains(seen, "STOCK_TOKEN=stock-42\n"));
  CHECK(contains(seen, "PATH=/usr/local/bin:/usr/bin:/bin\n"));
  CHECK_FALSE(contains(seen, "hunter2"));
  CHECK_FALSE(contains(seen, "DB_PASSWORD"));
  CHECK_FALSE(contains(seen, env.dir().string() + ":"));
}

TEST_CASE("a program cannot set variables its step does not declare") {
  // given a step that declares `order_id` and a program that also prints `client` and `vip`
  Env env;
  const fs::path bundle = exec_bundle(
      env.dir() / "bundle",
      fmt::format("{{run: [{}, '{{\"order_id\": \"A-1\", \"client\": \"Evil Corp\", \"vip\": true}}'], outputs: [order_id]}}",
                  program("print.sh")));
  REQUIRE(env.rg({"deploy", bundle.string()}).code == 0);
  // when it runs
  const std::string id = start(env, "ivanova", "job", {"client=ООО Ромашка"});
  // then the step is an incident, and no variable changed
  Json job = job_of(env, id);
  CHECK(job.get("incident") == Json(true));
  CHECK_MESSAGE(contains(job.str("last_error"), "printed `client`, which is not one of the step's `outputs:`"),
                job.dump());
  Json vars = show(env, id).get("variables");
  CHECK(vars.str("client") == "ООО Ромашка");
  CHECK(vars.get("vip") == Json(false));
  CHECK_FALSE(vars.get("order_id").is_string());
}

TEST_CASE("a descendant that leaves the process group with setsid is ended with the step") {
  // given a program whose child calls setsid and sleeps on after the program exits
  Env env;
  const std::string pid_file = (env.dir() / "escaped.pid").string();
  const fs::path bundle =
      exec_bundle(env.dir() / "bundle", fmt::format("{{run: [{}, \"{}\"]}}", program("escape.sh"), pid_file));
  REQUIRE(env.rg({"deploy", bundle.string()}).code == 0);
  // when `start` runs the step and returns
  const std::string id = start(env, "ivanova", "job", {"client=ООО Ромашка"});
  CHECK(inbox_entry(env, "ivanova", id, "check").is_object());
  // then the child is gone: killed and reaped by reglament, not left to init
  std::ifstream in(pid_file);
  long pid = 0;
  in >> pid;
  REQUIRE(pid > 0);
  errno = 0;
  const bool gone = ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
  if (!gone) ::kill(static_cast<pid_t>(pid), SIGKILL);  // do not leave it behind when the check fails
  CHECK_MESSAGE(gone, "process " << pid << " outlived the step");
}

TEST_CASE("deploy refuses a step whose program is missing, naming the step and where it looked") {
  Env env;
  const fs::path bundle = exec_bundle(env.dir() / "bundle", "{run: [bin/missing]}");
  for (const char* verb : {"validate", "deploy"}) {
    Run r = env.rg({verb, bundle.string()});
    CHECK(r.code == 2);
    CHECK_MESSAGE(contains(r.err, "step \"run\": exec: program `bin/missing` does not exist (relative to the bundle: " +
                                      (bundle / "bin/missing").generic_string() + ")"),
                  r.err);
  }
  const Json definitions = env.json("ivanova", {"definitions"});  // kept: the loop reads into it
  for (const Json& def : definitions.as_array()) CHECK(def.str("process") != "job");
  Run s = env.rg({"start", "job", "--set", "client=ООО Ромашка", "--as", "ivanova"});
  CHECK(s.code == 3);
}

TEST_CASE("the recorded program and hash are part of the deployed definition that verify checks") {
  // given a deployed process with an exec step
  Env env;
  const fs::path bundle = exec_bundle(env.dir() / "bundle", "{run: [bin/tool]}");
  write_program(bundle / "bin/tool", "#!/bin/sh\ncat >/dev/null\n");
  REQUIRE(env.rg({"deploy", bundle.string()}).code == 0);
  REQUIRE(env.rg({"verify"}).code == 0);
  // when someone points the record at another program in the database itself
  write_program(env.dir() / "evil/tool", "#!/bin/sh\ncat >/dev/null\n: > \"$0.ran\"\n");
  {
    SQLite::Database d(env.db(), SQLite::OPEN_READWRITE);
    SQLite::Statement q(d, "UPDATE definitions SET sources_json = replace(sources_json, ?1, ?2) WHERE process = 'job'");
    q.bind(1, fs::canonical(bundle / "bin/tool").string());
    q.bind(2, (env.dir() / "evil/tool").string());
    REQUIRE(q.exec() == 1);
  }
  // then verify reports the definition changed, and the step does not run the other program
  Run v = env.rg({"verify"});
  CHECK(v.code == 6);
  CHECK_MESSAGE(contains(v.out + v.err, "process \"job\" version 1 was changed after it was deployed"), v.out << v.err);
  env.rg({"start", "job", "--set", "client=ООО Ромашка", "--as", "ivanova"});
  CHECK_FALSE(fs::exists(env.dir() / "evil/tool.ran"));
}
