// `reglament validate` and `deploy` on broken definitions: every class of
// problem is reported as file:line:column with exit 2, and nothing is written.
#include <algorithm>
#include <regex>

#include "tests/e2e/harness.h"

using namespace reglament;
using namespace reglament::e2e;

namespace {

// A copy of the bundled processes with one text replaced in one file. Knows
// the 1-based line where the replacement landed.
struct Broken {
  std::filesystem::path dir;
  std::string file;
  int line = 0;

  Broken(Env& env, const std::string& file_name, const std::string& from, const std::string& to,
         int occurrence = 1)
      : file(file_name) {
    dir = env.dir() / "processes";
    std::filesystem::remove_all(dir);
    std::filesystem::copy(REGLAMENT_SOURCE_DIR "/processes", dir, std::filesystem::copy_options::recursive);
    std::string text = slurp((dir / file_name).string());
    size_t pos = std::string::npos;
    for (int i = 0; i < occurrence; ++i) {
      pos = text.find(from, pos == std::string::npos ? 0 : pos + 1);
      REQUIRE_MESSAGE(pos != std::string::npos, "fixture text not found: " << from);
    }
    text.replace(pos, from.size(), to);
    line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + pos, '\n'));
    std::ofstream(dir / file_name, std::ios::trunc) << text;
  }
};

// Runs validate on the broken copy; REQUIREs exit 2 and a line on stderr that
// names the file, the line of the change (or `at_line`), a column, and `message`.
void expect_problem(Env& env, const Broken& b, const std::string& message, int at_line = 0) {
  Run r = env.rg({"validate", b.dir.string()});
  CHECK_MESSAGE(r.code == 2, r.err);
  int line = at_line ? at_line : b.line;
  std::regex pattern(std::regex_replace(b.file, std::regex(R"([.\-])"), R"(\$&)") + ":" + std::to_string(line) +
                     R"(:\d+: .*)");
  bool found = false;
  std::istringstream lines(r.err);
  for (std::string l; std::getline(lines, l);)
    if (std::regex_search(l, pattern) && contains(l, message)) found = true;
  CHECK_MESSAGE(found, "expected " << b.file << ":" << line << ":COL: …" << message << "… in:\n" << r.err);
}

}  // namespace

TEST_CASE("the bundled regulation validates") {
  Env env(false);
  Run r = env.rg({"validate", REGLAMENT_SOURCE_DIR "/processes"});
  CHECK_MESSAGE(r.code == 0, r.err);
  CHECK(contains(r.out, "5 processes"));
  CHECK(contains(r.out, "50 steps"));  // the regulation's 49, and 3.1's call into 3.4
}

TEST_CASE("each bundled process file validates on its own, with its folder's org and calendar as context") {
  Env env(false);
  for (const char* file : {"incoming-request", "outbound-call", "agent-notification", "complaint",
                           "client-base-review"}) {
    Run r = env.rg({"validate", std::string(REGLAMENT_SOURCE_DIR "/processes/") + file + ".yaml"});
    CHECK_MESSAGE(r.code == 0, file << ": " << r.err);
  }
}

TEST_CASE("a YAML syntax error is reported with its place") {
  Env env(false);
  Broken b(env, "complaint.yaml", "    next: \"3.4.2\"", "    next: [\"3.4.2\"\n    form: x: y");
  Run r = env.rg({"validate", b.dir.string()});
  CHECK(r.code == 2);
  CHECK(std::regex_search(r.err, std::regex(R"(complaint\.yaml:\d+:\d+: )")));
}

TEST_CASE("an unknown key is reported with a did-you-mean") {
  Env env(false);
  Broken b(env, "complaint.yaml", "    form: complaint", "    from: complaint");
  expect_problem(env, b, "\"from\"");
  expect_problem(env, b, "did you mean");
}

TEST_CASE("a duplicate step id is reported") {
  Env env(false);
  Broken b(env, "complaint.yaml", "id: \"3.4.8\"", "id: \"3.4.7\"");
  expect_problem(env, b, "3.4.7");
}

TEST_CASE("next to an unknown step is reported") {
  Env env(false);
  Broken b(env, "complaint.yaml", "next: \"3.4.2\"", "next: \"3.4.22\"");
  expect_problem(env, b, "3.4.22");
}

TEST_CASE("unreachable steps are reported") {
  Env env(false);
  Broken b(env, "complaint.yaml", "- else: \"3.4.3\"", "- else: \"3.4.6\"");
  Run r = env.rg({"validate", b.dir.string()});
  CHECK(r.code == 2);
  CHECK(contains(r.err, "3.4.3"));
  CHECK(contains(r.err, "unreachable"));
}

TEST_CASE("steps that cannot reach an end are reported") {
  Env env(false);
  // 3.1.11 goes back to 3.1.10: a cycle with no way out.
  Broken trap(env, "incoming-request.yaml", "next: end", "next: \"3.1.10\"");
  Run r = env.rg({"validate", trap.dir.string()});
  CHECK(r.code == 2);
  CHECK(contains(r.err, "end"));
  CHECK(std::regex_search(r.err, std::regex(R"(incoming-request\.yaml:\d+:\d+: .*3\.1\.1[01])")));
}

TEST_CASE("a parallel split without a matching join is reported") {
  Env env(false);
  Broken b(env, "client-base-review.yaml", "    join: all\n", "");
  Run r = env.rg({"validate", b.dir.string()});
  CHECK(r.code == 2);
  CHECK(contains(r.err, "join"));
  CHECK(std::regex_search(r.err, std::regex(R"(client-base-review\.yaml:\d+:\d+: )")));
}

TEST_CASE("an unknown role is reported with a did-you-mean") {
  Env env(false);
  Broken b(env, "incoming-request.yaml", "actor: manager", "actor: manger");
  expect_problem(env, b, "manger");
}

TEST_CASE("an unknown form is reported") {
  Env env(false);
  Broken b(env, "complaint.yaml", "form: responsible", "form: responsibl");
  expect_problem(env, b, "responsibl");
}

TEST_CASE("an unknown handler is reported") {
  Env env(false);
  Broken b(env, "complaint.yaml", "do: notify", "do: notfy");
  expect_problem(env, b, "notfy");
}

TEST_CASE("an expression syntax error is reported inside the condition") {
  Env env(false);
  Broken b(env, "complaint.yaml", "if: needs_legal", "if: needs_legal ==");
  expect_problem(env, b, "");
}

TEST_CASE("a condition reading a variable that is never set is reported") {
  Env env(false);
  Broken b(env, "complaint.yaml", "if: needs_legal", "if: needs_legall");
  expect_problem(env, b, "needs_legall");
}

TEST_CASE("a default of the wrong type is reported") {
  Env env(false);
  Broken b(env, "outbound-call.yaml", "call_on: {type: date, title: День звонка}",
           "call_on: {type: date, default: maybe, title: День звонка}");
  expect_problem(env, b, "call_on");
}

TEST_CASE("validate reports every problem in one run") {
  Env env(false);
  Broken b(env, "complaint.yaml", "form: responsible", "form: responsibl");
  std::string text = slurp((b.dir / "incoming-request.yaml").string());
  text.replace(text.find("actor: manager"), 14, "actor: manger");
  std::ofstream(b.dir / "incoming-request.yaml", std::ios::trunc) << text;
  Run r = env.rg({"validate", b.dir.string()});
  CHECK(r.code == 2);
  CHECK(contains(r.err, "responsibl"));
  CHECK(contains(r.err, "manger"));
}

TEST_CASE("deploy of a bundle with a problem writes nothing") {
  Env env(false);
  Broken b(env, "complaint.yaml", "do: notify", "do: notfy");
  Run r = env.rg({"deploy", b.dir.string()});
  CHECK(r.code == 2);
  CHECK(contains(r.err, "notfy"));
  Run defs = env.rg({"definitions", "--json"});
  if (defs.code == 0) CHECK(defs.json().as_array().empty());
}
