// The `exec` handler's trust rules (issue 18): the program is the one pinned
// at deploy, its environment is rebuilt, it sets only its declared outputs,
// and nothing it started outlives the step.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "engine/handler.h"
#include "engine/json.h"
#include "engine/sha256.h"
#include "handlers/builtin.h"

using reglament::HandlerCall;
using reglament::HandlerResult;
using reglament::Json;
using reglament::JsonObject;

namespace fs = std::filesystem;

namespace {

#ifdef REGLAMENT_SOURCE_DIR
const fs::path kPrograms = fs::path(REGLAMENT_SOURCE_DIR) / "tests" / "handlers" / "programs";
#else
const fs::path kPrograms = fs::path(__FILE__).parent_path() / "programs";
#endif

struct Scratch {
  fs::path dir;
  Scratch() {
    static int n = 0;
    dir = fs::temp_directory_path() / ("reglament-test-exec-trust-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(++n));
    fs::remove_all(dir);
    fs::create_directories(dir);
    dir = fs::canonical(dir);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string path(const std::string& name) const { return (dir / name).string(); }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_program(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
  ::chmod(path.c_str(), 0755);
}

Json parse(const char* text) {
  auto j = reglament::parse_json(text);
  REQUIRE(j.ok());
  return *j;
}

Json strings(std::initializer_list<std::string> items) {
  Json a = Json::array();
  for (const auto& s : items) a.push_back(Json(s));
  return a;
}

// What deploy records for `with` with `bundle` as the bundle's folder.
Json pin(const Json& with, const std::string& bundle, std::vector<std::string>* problems = nullptr) {
  std::vector<std::string> found;
  Json pinned = reglament::make_exec_handler()->pin(with, bundle, found);
  if (problems != nullptr)
    *problems = found;
  else
    REQUIRE_MESSAGE(found.empty(), found.front());
  return pinned;
}

HandlerResult run(const Json& with, const Json& pinned, const JsonObject& variables = {}) {
  HandlerCall call;
  call.instance = "zakaz-17";
  call.process = "orders";
  call.step = "3.1.4";
  call.job = "zakaz-17/3.1.4/1";
  call.with = &with;
  call.pinned = &pinned;
  call.variables = &variables;
  call.at = "2026-11-23T15:04:05+03:00";
  return reglament::make_exec_handler()->run(call);
}

// Sets an environment variable for the scope, restoring the old value.
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

// Changes the working directory for the scope.
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

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("exec pins a relative program to the bundle's folder, not to the working directory") {
  // given a bundle with bin/tool, and an attacker's folder with its own bin/tool as the working directory
  Scratch scratch;
  write_program(scratch.dir / "bundle/bin/tool", "#!/bin/sh\ncat >/dev/null\necho '{\"who\": \"bundle\"}'\n");
  write_program(scratch.dir / "evil/bin/tool", "#!/bin/sh\ncat >/dev/null\necho '{\"who\": \"evil\"}'\n");
  Json with = parse(R"({"run": ["bin/tool"], "outputs": ["who"]})");
  ScopedCwd cwd(scratch.dir / "evil");
  // when the step is deployed (the bundle given by its path) and run
  Json pinned = pin(with, (scratch.dir / "bundle").string());
  // then the bundle's program is recorded, with its hash, and is what runs
  CHECK(pinned.str("program") == (scratch.dir / "bundle/bin/tool").string());
  CHECK(pinned.str("sha256") == reglament::sha256_hex(read_file((scratch.dir / "bundle/bin/tool").string())));
  HandlerResult r = run(with, pinned);
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(r.outputs["who"] == Json("bundle"));
}

TEST_CASE("exec runs the program in the bundle's folder, not in the caller's working directory") {
  // given a program that reads a relative file, present in the bundle and in the attacker's folder
  Scratch scratch;
  write_program(scratch.dir / "bundle/bin/tool",
                "#!/bin/sh\ncat >/dev/null\nprintf '{\"said\": \"%s\"}\\n' \"$(cat data/said.txt)\"\n");
  fs::create_directories(scratch.dir / "bundle/data");
  fs::create_directories(scratch.dir / "evil/data");
  std::ofstream(scratch.dir / "bundle/data/said.txt") << "bundle";
  std::ofstream(scratch.dir / "evil/data/said.txt") << "evil";
  Json with = parse(R"({"run": ["bin/tool"], "outputs": ["said"]})");
  Json pinned = pin(with, (scratch.dir / "bundle").string());
  CHECK(pinned.str("directory") == (scratch.dir / "bundle").string());
  // when it runs from the attacker's folder
  ScopedCwd cwd(scratch.dir / "evil");
  HandlerResult r = run(with, pinned);
  // then it read the bundle's file
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(r.outputs["said"] == Json("bundle"));
}

TEST_CASE("exec looks a bare program name up in the system directories, never in the caller's PATH") {
  // given an attacker's `true` first in PATH
  Scratch scratch;
  write_program(scratch.dir / "evil/true", "#!/bin/sh\n: > \"$0.ran\"\n");
  ScopedEnv path("PATH", (scratch.dir / "evil").string() + ":" + std::getenv("PATH"));
  // when a step that runs `true` is deployed and run
  Json with = parse(R"({"run": "true"})");
  Json pinned = pin(with, scratch.dir.string());
  HandlerResult r = run(with, pinned);
  // then the system's `true` was recorded and ran, not the attacker's
  REQUIRE_MESSAGE(r.ok, r.error);
  const std::string program = pinned.str("program");
  CHECK((program.rfind("/usr/", 0) == 0 || program.rfind("/bin/", 0) == 0));
  CHECK_FALSE(fs::exists(scratch.dir / "evil/true.ran"));
}

TEST_CASE("exec refuses to run a program that changed after the process was deployed") {
  // given a program pinned at deploy
  Scratch scratch;
  const fs::path tool = scratch.dir / "bin/tool";
  write_program(tool, "#!/bin/sh\ncat >/dev/null\necho '{}'\n");
  Json with = parse(R"({"run": "bin/tool"})");
  Json pinned = pin(with, scratch.dir.string());
  REQUIRE(run(with, pinned).ok);
  // when it is replaced by one that leaves a mark
  write_program(tool, "#!/bin/sh\n: > \"$0.ran\"\necho '{}'\n");
  HandlerResult r = run(with, pinned);
  // then the step fails naming the program and saying to redeploy, and nothing ran
  CHECK_FALSE(r.ok);
  CHECK(r.error == "exec: program `" + tool.string() +
                       "` changed since the process was deployed (its SHA-256 is not the recorded one), so it is "
                       "not run; redeploy the process to accept the new program");
  CHECK_FALSE(fs::exists(tool.string() + ".ran"));
  // and once redeployed it runs
  Json again = pin(with, scratch.dir.string());
  CHECK(run(with, again).ok);
  CHECK(fs::exists(tool.string() + ".ran"));
}

TEST_CASE("exec refuses a step whose program was not recorded at deploy") {
  Json with = parse(R"({"run": "/bin/true"})");
  for (const Json& pinned : {Json(), parse(R"({"program": "/bin/true"})")}) {
    HandlerResult r = run(with, pinned);
    CHECK_FALSE(r.ok);
    CHECK(r.error == "exec: no program was recorded for step \"3.1.4\" when process \"orders\" was deployed; "
                     "redeploy the process (reglament deploy) so that its program is resolved and hashed");
  }
}

TEST_CASE("exec gives the program PATH, LANG, TZ and only the variables its step names") {
  // given secrets and a chosen PATH in the caller's environment
  Scratch scratch;
  ScopedEnv secret("REGLAMENT_TEST_SECRET", "s3cr3t");
  ScopedEnv allowed("REGLAMENT_TEST_ALLOWED", "passed");
  ScopedEnv path("PATH", scratch.dir.string() + ":/usr/bin:/bin");
  ScopedEnv tz("TZ", "Europe/Moscow");
  const std::string dump = scratch.path("env.txt");
  auto env_of = [&](Json with) {
    Json pinned = pin(with, kPrograms.string());
    HandlerResult r = run(with, pinned);
    REQUIRE_MESSAGE(r.ok, r.error);
    return read_file(dump);
  };
  SUBCASE("no env: the minimum") {
    std::string env = env_of(parse(("{\"run\": [\"./env_dump.sh\", \"" + dump + "\"]}").c_str()));
    CHECK(contains(env, "PATH=/usr/local/bin:/usr/bin:/bin\n"));
    CHECK(contains(env, "TZ=Europe/Moscow\n"));
    CHECK(contains(env, "LANG="));
    CHECK_FALSE(contains(env, "s3cr3t"));
    CHECK_FALSE(contains(env, "REGLAMENT_TEST_ALLOWED"));
    CHECK_FALSE(contains(env, scratch.dir.string()));
  }
  SUBCASE("a list of names passes those through") {
    std::string env = env_of(parse(
        ("{\"run\": [\"./env_dump.sh\", \"" + dump + "\"], \"env\": [\"REGLAMENT_TEST_ALLOWED\", \"UNSET_ONE\"]}").c_str()));
    CHECK(contains(env, "REGLAMENT_TEST_ALLOWED=passed\n"));
    CHECK_FALSE(contains(env, "UNSET_ONE"));
    CHECK_FALSE(contains(env, "s3cr3t"));
  }
  SUBCASE("a mapping sets literal values, PATH included") {
    std::string env = env_of(parse(("{\"run\": [\"./env_dump.sh\", \"" + dump +
                                    "\"], \"env\": {\"STOCK_URL\": \"http://stock.local\", \"PATH\": \"/opt/x/bin:/bin\"}}")
                                       .c_str()));
    CHECK(contains(env, "STOCK_URL=http://stock.local\n"));
    CHECK(contains(env, "PATH=/opt/x/bin:/bin\n"));
    CHECK_FALSE(contains(env, "s3cr3t"));
  }
}

TEST_CASE("exec's env list takes only plain names, and never PATH or the loader's variables") {
  auto check = [](const char* text) { return reglament::make_exec_handler()->check(parse(text)); };
  CHECK(check(R"({"run": "x", "env": ["STOCK_TOKEN", "_A1"]})").empty());
  CHECK(check(R"({"run": "x", "env": ["A=B", 3]})") ==
        std::vector<std::string>{
            "exec: item 1 of `env:` must be an environment variable name (letters, digits and _)",
            "exec: item 2 of `env:` must be an environment variable name (letters, digits and _)"});
  CHECK(check(R"({"run": "x", "env": ["LD_PRELOAD"]})") ==
        std::vector<std::string>{"exec: `env:` cannot pass `LD_PRELOAD` through from the caller: it would let whoever "
                                 "runs the step choose what code runs; set it as a literal value (env: {LD_PRELOAD: "
                                 "...}) instead"});
  CHECK(check(R"({"run": "x", "env": ["PATH"]})").size() == 1);
}

TEST_CASE("exec takes only the declared outputs, of the kind the instance holds") {
  const std::string print = (kPrograms / "print.sh").string();
  JsonObject vars;
  vars["client"] = Json("ООО «Ромашка»");
  vars["vip"] = Json(false);
  auto answer = [&](const std::string& printed, Json outputs) {
    Json with = Json::object();
    with["run"] = strings({print, printed});
    if (!outputs.is_null()) with["outputs"] = std::move(outputs);
    return run(with, pin(with, kPrograms.string()), vars);
  };
  SUBCASE("a declared output, messages and records are taken") {
    HandlerResult r = answer(R"({"order_id": "A-1", "messages": [{"to": "sales", "text": "ok"}], "records": []})",
                             strings({"order_id"}));
    REQUIRE_MESSAGE(r.ok, r.error);
    CHECK(r.outputs.size() == 1);
    CHECK(r.outputs["order_id"] == Json("A-1"));
    CHECK(r.messages.size() == 1);
  }
  SUBCASE("a variable that is not declared fails the step") {
    HandlerResult r = answer(R"({"order_id": "A-1", "client": "Evil Corp"})", strings({"order_id"}));
    CHECK_FALSE(r.ok);
    CHECK(r.error == "exec: `" + print + "` printed `client`, which is not one of the step's `outputs:`");
    CHECK(r.outputs.empty());
  }
  SUBCASE("without `outputs:` no variable is taken") {
    HandlerResult r = answer(R"({"vip": true})", Json());
    CHECK_FALSE(r.ok);
    CHECK(r.error == "exec: `" + print +
                         "` printed `vip`, but the step declares no `outputs:`; a program sets only the variables its "
                         "step lists there");
  }
  SUBCASE("a declared output of another kind than the instance holds fails the step") {
    HandlerResult r = answer(R"({"vip": "yes"})", strings({"vip"}));
    CHECK_FALSE(r.ok);
    CHECK(r.error == "exec: `" + print + "` printed `vip` as a string, but the variable holds true or false");
    HandlerResult same = answer(R"({"vip": true})", strings({"vip"}));
    CHECK_MESSAGE(same.ok, same.error);
  }
}

TEST_CASE("exec ends a descendant that left the process group with setsid") {
  // given a program whose child leaves its session and sleeps on
  Scratch scratch;
  const std::string pid_file = scratch.path("escaped.pid");
  Json with = strings({});
  with = Json::object();
  with["run"] = strings({(kPrograms / "escape.sh").string(), pid_file});
  // when the step runs
  HandlerResult r = run(with, pin(with, kPrograms.string()));
  REQUIRE_MESSAGE(r.ok, r.error);
  // then that child was ended with the step, and reaped: no such process is left
  const std::string text = read_file(pid_file);
  REQUIRE_FALSE(text.empty());
  const pid_t escaped = static_cast<pid_t>(std::stol(text));
  errno = 0;
  const bool gone = ::kill(escaped, 0) != 0 && errno == ESRCH;
  if (!gone) ::kill(escaped, SIGKILL);  // do not leave it behind when the check fails
  CHECK_MESSAGE(gone, "process " << escaped << " outlived the step");
  CHECK(::waitpid(-1, nullptr, WNOHANG) == -1);
}
