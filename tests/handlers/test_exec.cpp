// The `exec` handler against small sh programs in tests/handlers/programs/.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/handler.h"
#include "engine/json.h"
#include "handlers/builtin.h"

using reglament::HandlerCall;
using reglament::HandlerResult;
using reglament::Json;
using reglament::JsonArray;
using reglament::JsonObject;

namespace fs = std::filesystem;

namespace {

// The test programs, found from the source tree whatever the build folder.
#ifdef REGLAMENT_SOURCE_DIR
const fs::path kPrograms = fs::path(REGLAMENT_SOURCE_DIR) / "tests" / "handlers" / "programs";
#else
const fs::path kPrograms = fs::path(__FILE__).parent_path() / "programs";
#endif

std::string program(const char* name) { return (kPrograms / name).string(); }

// A fresh scratch folder per test, removed afterwards.
struct Scratch {
  fs::path dir;
  Scratch() {
    static int n = 0;
    dir = fs::temp_directory_path() / ("reglament-test-exec-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string path(const char* name) const { return (dir / name).string(); }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Json list(std::initializer_list<std::string> items) {
  Json a = Json::array();
  for (const auto& s : items) a.push_back(Json(s));
  return a;
}

// Runs the handler with `with` and these variables, the way the runtime does:
// its program pinned as deploy pins it, with this folder as the bundle.
HandlerResult run(const Json& with, const JsonObject& variables = {}, int attempt = 1) {
  auto handler = reglament::make_exec_handler();
  std::vector<std::string> problems;
  const Json pinned = handler->pin(with, kPrograms.string(), problems);
  HandlerCall call;
  call.pinned = &pinned;
  call.instance = "zakaz-17";
  call.process = "orders";
  call.step = "3.1.4";
  call.job = "zakaz-17/3.1.4/1";
  call.with = &with;
  call.variables = &variables;
  call.at = "2026-11-23T15:04:05+03:00";
  call.attempt = attempt;
  HandlerResult r = handler->run(call);
  // Whatever happened, the child was reaped: this process has no children left.
  int status = 0;
  CHECK(::waitpid(-1, &status, WNOHANG) == -1);
  return r;
}

Json with_run(Json run) {
  Json with = Json::object();
  with["run"] = std::move(run);
  return with;
}

Json with_run(Json run, std::initializer_list<std::string> outputs) {
  Json with = with_run(std::move(run));
  Json names = Json::array();
  for (const auto& s : outputs) names.push_back(Json(s));
  with["outputs"] = std::move(names);
  return with;
}

std::vector<std::string> check(const Json& with) { return reglament::make_exec_handler()->check(with); }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("exec: the program's JSON object becomes output variables and outbox messages") {
  // given a program that prints variables, a message and a record
  Json with = with_run(list({program("print.sh"),
                             R"({"total": 42, "status": "собран", "messages": [{"to": "sales", "text": "Заказ собран"}],
                                 "records": [{"op": "contact.add", "client": 7, "kind": "call"}]})"}),
                   {"total", "status"});
  // when it runs
  HandlerResult r = run(with);
  // then
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(r.outputs.size() == 2);
  CHECK(r.outputs["total"] == Json(42));
  CHECK(r.outputs["status"] == Json("собран"));
  REQUIRE(r.messages.size() == 1);
  CHECK(r.messages[0].str("to") == "sales");
  CHECK(r.messages[0].str("text") == "Заказ собран");
  REQUIRE(r.records.size() == 1);
  CHECK(r.records[0].str("op") == "contact.add");
  CHECK(r.records[0].integer("client") == 7);
}

TEST_CASE("exec: a bare program name found in the system directories that prints nothing sets nothing") {
  HandlerResult r = run(with_run(Json("true")));
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(r.outputs.empty());
  CHECK(r.messages.empty());
}

TEST_CASE("exec: stdin carries the call, the parameters and the variables") {
  // given variables and a program that echoes its stdin back as `input`
  JsonObject vars;
  vars["client"] = Json("ООО «Ромашка»");
  vars["amount"] = Json(125000);
  vars["vip"] = Json(true);
  Json with = with_run(list({program("echo_stdin.sh")}), {"input"});
  with["timeout"] = Json("5s");
  // when it runs as the second attempt
  HandlerResult r = run(with, vars, 2);
  // then everything arrived
  REQUIRE_MESSAGE(r.ok, r.error);
  const Json& input = r.outputs["input"];
  REQUIRE(input.is_object());
  CHECK(input.str("instance") == "zakaz-17");
  CHECK(input.str("process") == "orders");
  CHECK(input.str("step") == "3.1.4");
  CHECK(input.str("job") == "zakaz-17/3.1.4/1");
  CHECK(input.str("idempotency_key") == "zakaz-17/3.1.4/1");
  CHECK(input.integer("attempt") == 2);
  CHECK(input.str("at") == "2026-11-23T15:04:05+03:00");
  CHECK(input.get("with") == with);
  CHECK(input.get("variables") == Json(vars));
}

TEST_CASE("exec: values with shell syntax, quotes, newlines and Cyrillic reach the program literally") {
  Scratch scratch;
  const std::string marker = scratch.path("pwned");
  const std::vector<std::string> nasty = {
      "$(touch " + marker + ")",
      "`touch " + marker + "`",
      "; touch " + marker + " #",
      "it's \"quoted\" \\ back\\slash",
      "line one\nline two\n",
      "Привет, мир — ёлка «ё»",
      "*",
  };
  SUBCASE("as variables on stdin") {
    JsonObject vars;
    for (size_t i = 0; i < nasty.size(); ++i) vars["v" + std::to_string(i)] = Json(nasty[i]);
    HandlerResult r = run(with_run(list({program("echo_stdin.sh")}), {"input"}), vars);
    REQUIRE_MESSAGE(r.ok, r.error);
    const Json& back = r.outputs["input"].get("variables");
    for (size_t i = 0; i < nasty.size(); ++i) CHECK(back.str("v" + std::to_string(i)) == nasty[i]);
  }
  SUBCASE("as arguments and environment") {
    const std::string args_file = scratch.path("args.txt");
    Json run_list = list({program("args.sh"), args_file});
    for (const auto& s : nasty) run_list.push_back(Json(s));
    Json with = with_run(run_list, {"argc"});
    HandlerResult r = run(with);
    REQUIRE_MESSAGE(r.ok, r.error);
    CHECK(r.outputs["argc"] == Json(static_cast<int>(nasty.size())));
    std::string expected;
    for (const auto& s : nasty) expected += s + "\n";
    CHECK(read_file(args_file) == expected);

    Json env_with = with_run(list({program("env.sh")}), {"greeting"});
    env_with["env"]["GREETING"] = Json("$(touch " + marker + ")");
    HandlerResult e = run(env_with);
    REQUIRE_MESSAGE(e.ok, e.error);
    CHECK(e.outputs["greeting"] == Json("$(touch " + marker + ")"));
  }
  // and nothing was executed
  CHECK_FALSE(fs::exists(marker));
}

TEST_CASE("exec: a non-zero exit fails with the first line of stderr") {
  HandlerResult r = run(with_run(list({program("fail.sh")})));
  CHECK_FALSE(r.ok);
  CHECK(r.error == "exec: `" + program("fail.sh") + "` exited with status 3: database is locked");
  CHECK(r.outputs.empty());

  HandlerResult quiet = run(with_run(list({program("fail_quietly.sh")})));
  CHECK_FALSE(quiet.ok);
  CHECK(quiet.error == "exec: `" + program("fail_quietly.sh") + "` exited with status 1: no message");
}

TEST_CASE("exec: a program killed by a signal fails naming the signal") {
  HandlerResult r = run(with_run(list({program("killed.sh")})));
  CHECK_FALSE(r.ok);
  CHECK(r.error == "exec: `" + program("killed.sh") + "` was killed by signal 15");
}

TEST_CASE("exec: stdout that is not a JSON object fails clearly") {
  const std::string p = program("print.sh");
  SUBCASE("garbage") {
    HandlerResult r = run(with_run(list({p, "this is not json"})));
    CHECK_FALSE(r.ok);
    CHECK(contains(r.error, "exec: `" + p + "` printed invalid JSON on stdout: invalid JSON at offset"));
  }
  SUBCASE("an object followed by more") {
    HandlerResult r = run(with_run(list({p, R"({"a": 1} {"b": 2})"})));
    CHECK_FALSE(r.ok);
    CHECK(contains(r.error, "printed invalid JSON on stdout"));
  }
  SUBCASE("an array") {
    HandlerResult r = run(with_run(list({p, "[1, 2]"})));
    CHECK_FALSE(r.ok);
    CHECK(r.error == "exec: `" + p + "` printed an array on stdout, not a JSON object");
  }
  SUBCASE("a string") {
    HandlerResult r = run(with_run(list({p, "\"done\""})));
    CHECK_FALSE(r.ok);
    CHECK(r.error == "exec: `" + p + "` printed a string on stdout, not a JSON object");
  }
  SUBCASE("only whitespace is no outputs") {
    HandlerResult r = run(with_run(list({p, " \n\t\n"})));
    CHECK(r.ok);
    CHECK(r.outputs.empty());
  }
  SUBCASE("a message without `to`") {
    HandlerResult r = run(with_run(list({p, R"({"messages": [{"text": "hi"}]})"})));
    CHECK_FALSE(r.ok);
    CHECK(r.error == "exec: `" + p + "` printed message 1 without `to` and `text` text");
  }
  SUBCASE("messages that are not an array") {
    HandlerResult r = run(with_run(list({p, R"({"messages": "hi"})"})));
    CHECK_FALSE(r.ok);
    CHECK(contains(r.error, "printed `messages` that is not an array"));
  }
  SUBCASE("a record without op") {
    HandlerResult r = run(with_run(list({p, R"({"records": [{"client": 1}]})"})));
    CHECK_FALSE(r.ok);
    CHECK(contains(r.error, "printed record 1 that is not an object with an `op`"));
  }
}

TEST_CASE("exec: a program that does not finish in time is killed with its children") {
  Scratch scratch;
  const std::string pid_file = scratch.path("grandchild.pid");
  Json with = with_run(list({program("hang.sh"), pid_file}));
  with["timeout"] = Json("1s");
  auto started = std::chrono::steady_clock::now();
  HandlerResult r = run(with);
  auto took = std::chrono::steady_clock::now() - started;
  CHECK_FALSE(r.ok);
  CHECK(r.error == "exec: `" + program("hang.sh") + "` did not finish within 1s");
  CHECK(took >= std::chrono::milliseconds(900));
  CHECK(took < std::chrono::seconds(3));
  // the grandchild `sleep` was killed too: gone, or a zombie waiting for init
  std::string pid_text = read_file(pid_file);
  REQUIRE_FALSE(pid_text.empty());
  const std::string stat = "/proc/" + std::to_string(std::stoi(pid_text)) + "/stat";
  bool dead = false;
  for (int i = 0; i < 100 && !dead; ++i) {
    std::string s = read_file(stat);
    auto paren = s.rfind(')');
    dead = s.empty() || (paren != std::string::npos && paren + 2 < s.size() && s[paren + 2] == 'Z');
    if (!dead) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(dead);
}

TEST_CASE("exec: more than 1 MiB on stdout is stopped") {
  HandlerResult r = run(with_run(list({program("flood.sh")})));
  CHECK_FALSE(r.ok);
  CHECK(r.error == "exec: `" + program("flood.sh") + "` printed more than 1 MiB on stdout");
}

TEST_CASE("exec: a program that is missing or not executable is refused at deploy, naming it") {
  auto pin_problems = [](const Json& with) {
    std::vector<std::string> problems;
    Json pinned = reglament::make_exec_handler()->pin(with, kPrograms.string(), problems);
    CHECK(pinned.is_null());
    return problems;
  };
  SUBCASE("a bare name not in the system directories") {
    CHECK(pin_problems(with_run(Json("reglament-no-such-program-h1"))) ==
          std::vector<std::string>{"exec: program `reglament-no-such-program-h1` was not found in "
                                   "/usr/local/bin:/usr/bin:/bin; a name without a slash is looked up there, never in "
                                   "the caller's PATH (write a path relative to the bundle, like "
                                   "bin/reglament-no-such-program-h1, for the bundle's own programs)"});
  }
  SUBCASE("a relative path that does not exist") {
    CHECK(pin_problems(with_run(list({"./no/such/program", "arg"}))) ==
          std::vector<std::string>{"exec: program `./no/such/program` does not exist (relative to the bundle: " +
                                   (kPrograms / "./no/such/program").generic_string() + ")"});
  }
  SUBCASE("a file without the executable bit") {
    Scratch scratch;
    const std::string path = scratch.path("plain.sh");
    std::ofstream(path) << "#!/bin/sh\necho '{}'\n";
    ::chmod(path.c_str(), 0644);
    CHECK(pin_problems(with_run(list({path}))) ==
          std::vector<std::string>{"exec: program `" + path + "` is not executable"});
  }
  SUBCASE("a pinned program removed before the run") {
    Scratch scratch;
    const std::string path = scratch.path("gone.sh");
    std::ofstream(path) << "#!/bin/sh\necho '{}'\n";
    ::chmod(path.c_str(), 0755);
    Json with = with_run(list({path}));
    std::vector<std::string> problems;
    const Json pinned = reglament::make_exec_handler()->pin(with, scratch.dir.string(), problems);
    REQUIRE(problems.empty());
    fs::remove(path);
    HandlerCall call;
    call.with = &with;
    call.pinned = &pinned;
    HandlerResult r = reglament::make_exec_handler()->run(call);
    CHECK_FALSE(r.ok);
    CHECK(r.error == "exec: program `" + fs::canonical(scratch.dir).string() +
                         "/gone.sh`, recorded when the process was deployed, cannot be read (No such file or "
                         "directory); restore it, or redeploy the process");
  }
}

TEST_CASE("exec: a program that never reads stdin does not break the handler") {
  // given more input than a pipe holds, so writing it meets a closed pipe
  JsonObject vars;
  vars["big"] = Json(std::string(512 * 1024, 'x'));
  // when the program closes stdin at once and answers
  HandlerResult r = run(with_run(list({program("ignore_stdin.sh")}), {"answered"}), vars);
  // then its answer counts, and SIGPIPE neither killed us nor stayed pending
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(r.outputs["answered"] == Json(true));
  sigset_t pending;
  sigpending(&pending);
  CHECK(sigismember(&pending, SIGPIPE) == 0);
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  CHECK(sigismember(&mask, SIGPIPE) == 0);
}

TEST_CASE("exec: the handler does not retry; a flaky program succeeds on its third call") {
  Scratch scratch;
  Json with = with_run(list({program("flaky.sh")}), {"runs"});
  with["env"]["COUNTER"] = Json(scratch.path("counter"));
  with["env"]["FAIL_TIMES"] = Json("2");
  HandlerResult first = run(with, {}, 1);
  HandlerResult second = run(with, {}, 2);
  HandlerResult third = run(with, {}, 3);
  CHECK_FALSE(first.ok);
  CHECK(contains(first.error, "exited with status 75: run 1 fails on purpose"));
  CHECK_FALSE(second.ok);
  CHECK(contains(second.error, "exited with status 75: run 2 fails on purpose"));
  REQUIRE_MESSAGE(third.ok, third.error);
  CHECK(third.outputs["runs"] == Json(3));
}

TEST_CASE("exec: check reports problems with `with:` one sentence each") {
  auto parsed = [](const char* text) {
    auto j = reglament::parse_json(text);
    REQUIRE(j.ok());
    return *j;
  };
  CHECK(check(parsed(R"({"run": ["bin/x", "--a"], "timeout": "2m", "env": {"A": "1"}, "outputs": ["x"]})")).empty());
  CHECK(check(parsed(R"({"run": "bin/x", "timeout": "500ms"})")).empty());
  CHECK(check(parsed(R"({"run": "bin/x", "timeout": "PT1M"})")).empty());

  CHECK(check(Json()) ==
        std::vector<std::string>{"exec needs `run:` in `with:`: the program to run and its arguments"});
  CHECK(check(parsed(R"({"timeout": "1s"})")) ==
        std::vector<std::string>{"exec needs `run:` in `with:`: the program to run and its arguments"});
  CHECK(check(parsed(R"({"run": []})")) == std::vector<std::string>{"exec: `run:` must name a program to run"});
  CHECK(check(parsed(R"({"run": ""})")) == std::vector<std::string>{"exec: `run:` must name a program to run"});
  CHECK(check(parsed(R"({"run": ["x", {"a": "b"}, null]})")) ==
        std::vector<std::string>{"exec: item 2 of `run:` must be text", "exec: item 3 of `run:` must be text"});
  CHECK(check(parsed(R"({"run": {"x": "y"}})")) ==
        std::vector<std::string>{
            "exec: `run:` must be a program name or a list of the program and its arguments"});
  CHECK(check(parsed(R"({"run": "x", "timeout": "soon"})")) ==
        std::vector<std::string>{"exec: `timeout:` \"soon\" is not a duration like 30s, 2m or 500ms"});
  CHECK(check(parsed(R"({"run": "x", "timeout": "30"})")).size() == 1);
  CHECK(check(parsed(R"({"run": "x", "timeout": "0ms"})")).size() == 1);
  CHECK(check(parsed(R"({"run": "x", "env": "A=1"})")) ==
        std::vector<std::string>{"exec: `env:` must be a mapping of environment variable names to text, or a list "
                                 "of names to pass through"});
  CHECK(check(parsed(R"({"run": "x", "env": {"A": ["1"], "B=C": "d"}})")) ==
        std::vector<std::string>{"exec: `env:` `A` must be text",
                                 "exec: `B=C` in `env:` is not a valid environment variable name"});
  CHECK(check(parsed(R"({"run": "x", "outputs": "total"})")) ==
        std::vector<std::string>{"exec: `outputs:` must be a list of variable names"});
  CHECK(check(parsed(R"({"run": "x", "shell": "true"})")) ==
        std::vector<std::string>{"exec takes `run:`, `timeout:`, `env:` and `outputs:` in `with:`, not `shell:`"});
}

TEST_CASE("exec: outputs are the names declared in `outputs:`") {
  auto handler = reglament::make_exec_handler();
  Json with = with_run(Json("x"));
  CHECK(handler->outputs(with).empty());
  with["outputs"] = list({"reserved", "reservation_id"});
  CHECK(handler->outputs(with) == std::vector<std::string>{"reserved", "reservation_id"});
}

TEST_CASE("exec: invalid parameters at run time fail without running anything") {
  Json with = with_run(Json::array());
  HandlerResult r = run(with);
  CHECK_FALSE(r.ok);
  CHECK(r.error == "exec: `run:` must name a program to run");
}
