// Definitions that must not deploy (issue 18): control characters that
// escapes decode to, loops of service steps, cycles of calls, links in a
// bundle. Bundles are built in memory (root "b") unless the file system is
// the point.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "engine/loader.h"
#include "handlers/registry.h"

using namespace reglament;

namespace {

const char* kOrg = R"(roles:
  clerk: {title: Клерк}
  boss: {title: Начальник}
people:
  - {login: ivanova, name: Иванова Анна, roles: [clerk]}
  - {login: sidorova, name: Сидорова Елена, roles: [boss]}
)";

LoadReport load(std::map<std::string, std::string> files) {
  SourceSet s;
  s.root = "b";
  s.files = std::move(files);
  if (!s.files.count("org.yaml")) s.files["org.yaml"] = kOrg;
  static auto handlers = builtin_handlers();
  return load_bundle(s, handlers.get());
}

std::string all_problems(const LoadReport& r) {
  std::string out;
  for (const auto& e : r.problems) out += e.str() + "\n";
  return out;
}

bool has_problem(const LoadReport& r, const std::string& text) {
  return all_problems(r).find(text) != std::string::npos;
}

// A process `key` whose first step calls `callee` (at 5:19 of its file).
std::string calling(const std::string& key, const std::string& callee, bool wait = false) {
  return "process: " + key + "\ntitle: T\nowner: boss\nsteps:\n  - {id: c, call: " +
         (wait ? "{process: " + callee + ", wait: true}" : callee) + ", title: C, actor: clerk, next: end}\n";
}

}  // namespace

TEST_CASE("an escape that decodes to a control character is refused in a title, a key and a with: value") {
  auto r = load({{"p.yaml", R"(process: p
title: "A\u001b[31m"
owner: boss
variables:
  "x\a": {type: text, title: X}
steps:
  - id: a
    title: "\e]0;pwned\a"
    actor: clerk
    do: notify
    with: {to: boss, text: "ring\x07"}
    next: end
)"}});
  const std::string all = all_problems(r);
  CHECK_MESSAGE(has_problem(r, "b/p.yaml:2:8: a control character (U+001B) in the value of \"title\""), all);
  CHECK_MESSAGE(has_problem(r, "b/p.yaml:5:3: a control character (U+0007) in a key"), all);
  CHECK_MESSAGE(has_problem(r, "b/p.yaml:8:12: a control character (U+001B) in the value of \"title\""), all);
  CHECK_MESSAGE(has_problem(r, "b/p.yaml:11:28: a control character (U+0007) in the value of \"text\""), all);
}

TEST_CASE("a title may not hold a line break or a tab, multi-line text may, and C1 and DEL are refused in both") {
  auto r = load({{"p.yaml", "process: p\ntitle: \"one\\ntwo\"\nowner: boss\ndescription: \"a\\tb\\nc\\u0085d\\x7f\"\n"
                            "steps:\n  - {id: a, title: A, actor: clerk, description: \"first\\n\\tsecond\", next: end}\n"}});
  const std::string all = all_problems(r);
  CHECK_MESSAGE(has_problem(r, "b/p.yaml:2:8: a control character (U+000A) in the value of \"title\""), all);
  CHECK_MESSAGE(has_problem(r, "b/p.yaml:4:14: a control character (U+0085) in the value of \"description\""), all);
  CHECK(r.problems.size() == 2);  // the step's two-line description is fine; one problem per value
}

TEST_CASE("control characters are refused in the org chart, forms, calendar and indicators too") {
  auto r = load({{"org.yaml", "roles:\n  clerk: {title: \"K\\e[2J\"}\n  boss: {title: B}\npeople:\n"
                              "  - {login: ivanova, name: \"I\\u009b\", roles: [clerk]}\n"},
                 {"forms/f.yaml", "form: f\ntitle: F\nfields:\n  - {name: x, title: \"\\x1b[1m\"}\n"},
                 {"calendar.yaml", "calendar:\n  zone: UTC\n  holidays: [\"\\e\"]\n"},
                 {"indicators.yaml", "indicators:\n  - {id: n, title: \"\\a\"}\n"}});
  CHECK_MESSAGE(has_problem(r, "b/org.yaml:2:18: a control character (U+001B)"), all_problems(r));
  CHECK_MESSAGE(has_problem(r, "b/org.yaml:5:28: a control character (U+009B)"), all_problems(r));
  CHECK_MESSAGE(has_problem(r, "b/forms/f.yaml:4:22: a control character (U+001B)"), all_problems(r));
  CHECK_MESSAGE(has_problem(r, "b/calendar.yaml:3:14: a control character (U+001B)"), all_problems(r));
  CHECK_MESSAGE(has_problem(r, "b/indicators.yaml:2:20: a control character (U+0007)"), all_problems(r));
}

TEST_CASE("an instructions file with a lone carriage return or a C1 character is refused") {
  const std::string p =
      "process: p\ntitle: P\nowner: boss\nsteps:\n  - {id: a, title: A, actor: clerk, instructions: scripts/s.md, "
      "next: end}\n";
  auto cr = load({{"p.yaml", p}, {"scripts/s.md", "Hello\rBye\r\n"}});
  CHECK_MESSAGE(has_problem(cr, "instructions file \"scripts/s.md\", line 1: a control character (U+000D)"),
                all_problems(cr));
  auto nel = load({{"p.yaml", p}, {"scripts/s.md", "Hello\xC2\x85"}});
  CHECK_MESSAGE(has_problem(nel, "a control character (U+0085)"), all_problems(nel));
  auto crlf = load({{"p.yaml", p}, {"scripts/s.md", "Hello\r\nBye\r\n"}});
  CHECK_MESSAGE(crlf.ok(), all_problems(crlf));
}

TEST_CASE("a loop made only of service steps is refused once, with the places of its steps") {
  auto r = load({{"p.yaml", R"(process: p
title: P
owner: boss
steps:
  - {id: a, title: A, actor: clerk, next: b}
  - {id: b, title: B, actor: clerk, do: set, with: {n: "1"}, next: c}
  - id: c
    title: C
    actor: clerk
    do: set
    with: {m: "2"}
    next:
      - {if: n == "1", goto: b}
      - {else: end}
)"}});
  const std::string all = all_problems(r);
  CHECK_MESSAGE(has_problem(r, "b/p.yaml:6:5: steps \"b\", \"c\" form a loop of service steps only, with no person "
                               "and no wait in it"),
                all);
  CHECK_MESSAGE(has_problem(r, "(\"c\" at 7:5)"), all);
  CHECK(r.problems.size() == 1);
}

TEST_CASE("a service step that goes back to itself is a loop; a call that does not wait is a service step too") {
  auto self = load({{"p.yaml", R"(process: p
title: P
owner: boss
steps:
  - {id: a, title: A, actor: clerk, do: set, with: {n: "1"}, next: [{if: n == "1", goto: a}, {else: end}]}
)"}});
  CHECK_MESSAGE(has_problem(self, "b/p.yaml:5:5: step \"a\" goes back to itself: a loop of service steps only"),
                all_problems(self));
  auto call = load({{"p.yaml", R"(process: p
title: P
owner: boss
steps:
  - {id: a, title: A, actor: clerk, call: q, next: b}
  - {id: b, title: B, actor: clerk, do: set, with: {n: "1"}, next: [{if: n == "1", goto: a}, {else: end}]}
)"},
                    {"q.yaml", "process: q\ntitle: Q\nowner: boss\nsteps:\n  - {id: x, title: X, actor: clerk, next: end}\n"}});
  CHECK_MESSAGE(has_problem(call, "steps \"a\", \"b\" form a loop of service steps only"), all_problems(call));
}

TEST_CASE("a stored definition with a loop of service steps still loads for its running instances") {
  SourceSet s;
  s.root = "b";
  s.files["p.yaml"] = R"(process: p
title: P
owner: boss
steps:
  - {id: a, title: A, actor: clerk, next: b}
  - {id: b, title: B, actor: clerk, do: set, with: {n: "1"}, next: [{if: n == "1", goto: b}, {else: end}]}
)";
  auto org = load_org("org.yaml", kOrg);
  REQUIRE(org.ok());
  auto handlers = builtin_handlers();
  auto loaded = load_process(s, *org, handlers.get());
  CHECK_MESSAGE(loaded.ok(), loaded.error().message);  // the runtime bound stops it (test_runaway.cpp)
}

TEST_CASE("a loop of service steps with a person, a wait or a waiting call in it is allowed") {
  const char* head = "process: p\ntitle: P\nowner: boss\nsteps:\n";
  auto person = load({{"p.yaml", std::string(head) + R"(  - {id: a, title: A, actor: clerk, do: set, with: {n: "1"}, next: b}
  - {id: b, title: B, actor: clerk, next: [{if: n == "1", goto: a}, {else: end}]}
)"}});
  CHECK_MESSAGE(person.ok(), all_problems(person));
  auto timer = load({{"p.yaml", std::string(head) + R"(  - {id: a, title: A, actor: clerk, do: set, with: {n: "1"}, next: b}
  - {id: b, title: B, actor: clerk, wait: 1d, do: set, with: {m: "1"}, next: [{if: n == "1", goto: a}, {else: end}]}
)"}});
  CHECK_MESSAGE(timer.ok(), all_problems(timer));
  auto branch_wait = load({{"p.yaml", std::string(head) + R"(  - {id: a, title: A, actor: clerk, do: set, with: {n: "1"}, next: [{if: n == "1", goto: a, wait: 1h}, {else: end}]}
)"}});
  CHECK_MESSAGE(branch_wait.ok(), all_problems(branch_wait));
  auto waiting_call = load(
      {{"p.yaml", std::string(head) + R"(  - {id: a, title: A, actor: clerk, call: {process: q, wait: true}, next: b}
  - {id: b, title: B, actor: clerk, do: set, with: {n: "1"}, next: [{if: n == "1", goto: a}, {else: end}]}
)"},
       {"q.yaml", "process: q\ntitle: Q\nowner: boss\nsteps:\n  - {id: x, title: X, actor: clerk, next: end}\n"}});
  CHECK_MESSAGE(waiting_call.ok(), all_problems(waiting_call));
}

TEST_CASE("a process that calls itself is refused at its call step, with or without wait") {
  auto plain = load({{"a.yaml", calling("a", "a")}});
  CHECK_MESSAGE(has_problem(plain, "b/a.yaml:5:19: process \"a\" calls itself, which would start instances without end"),
                all_problems(plain));
  auto waiting = load({{"a.yaml", calling("a", "a", true)}});
  CHECK_MESSAGE(has_problem(waiting, "process \"a\" calls itself"), all_problems(waiting));
}

TEST_CASE("processes that call each other are refused once, naming every call step of the cycle") {
  auto r = load({{"a.yaml", calling("a", "b")}, {"b.yaml", calling("b", "c", true)}, {"c.yaml", calling("c", "a")}});
  REQUIRE(r.problems.size() == 1);
  const std::string all = all_problems(r);
  CHECK_MESSAGE(has_problem(r, "b/a.yaml:5:19: processes \"a\", \"b\", \"c\" call each other in a cycle"), all);
  CHECK_MESSAGE(has_problem(r, "b/a.yaml:5:19 step \"c\" of \"a\" calls \"b\""), all);
  CHECK_MESSAGE(has_problem(r, "b/b.yaml:5:19 step \"c\" of \"b\" calls \"c\""), all);
  CHECK_MESSAGE(has_problem(r, "b/c.yaml:5:19 step \"c\" of \"c\" calls \"a\""), all);
}

TEST_CASE("a bundle's process calling a deployed one that calls it back is a cycle") {
  auto r = load({{"a.yaml", calling("a", "b")}});
  REQUIRE_MESSAGE(r.ok(), all_problems(r));  // alone, b is not known
  auto deployed = load({{"b.yaml", calling("b", "a")}});
  REQUIRE(deployed.ok());
  const Process* b = deployed.bundle.processes.at(0).process.get();
  std::vector<const Process*> bundle{r.bundle.processes.at(0).process.get()};
  auto problems = check_call_nesting(bundle, [&](std::string_view key) { return key == "b" ? b : nullptr; });
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].where.str() == "b/a.yaml:5:19");
  CHECK_MESSAGE(problems[0].message.find("call each other in a cycle (with the deployed \"b\")") != std::string::npos,
                problems[0].message);
  // A cycle among deployed processes only, reached from the bundle, is
  // not the bundle's doing: it was refused when they were deployed.
  auto s = load({{"s.yaml", calling("s", "x")}});
  auto x = load({{"x.yaml", calling("x", "y")}});
  auto y = load({{"y.yaml", calling("y", "x")}});
  const Process* xp = x.bundle.processes.at(0).process.get();
  const Process* yp = y.bundle.processes.at(0).process.get();
  std::vector<const Process*> own{s.bundle.processes.at(0).process.get()};
  CHECK(check_call_nesting(own, [&](std::string_view key) -> const Process* {
          return key == "x" ? xp : key == "y" ? yp : nullptr;
        }).empty());
}

TEST_CASE("calls nested deeper than the limit are refused; a chain of 16 is allowed") {
  std::map<std::string, std::string> files;
  for (int i = 0; i < 17; ++i)
    files["p" + std::to_string(i) + ".yaml"] = calling("p" + std::to_string(i), "p" + std::to_string(i + 1));
  files["p17.yaml"] = "process: p17\ntitle: T\nowner: boss\nsteps:\n  - {id: x, title: X, actor: clerk, next: end}\n";
  auto deep = load(files);
  CHECK_MESSAGE(has_problem(deep, "b/p0.yaml:5:19: process \"p0\" nests calls more than 16 deep"), all_problems(deep));
  CHECK(deep.problems.size() == 1);
  files.erase("p0.yaml");
  auto at_limit = load(files);
  CHECK_MESSAGE(at_limit.ok(), all_problems(at_limit));
}

TEST_CASE("a link inside a bundle is refused, naming the link") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("reglament-links-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "b" / "scripts");
  std::ofstream(dir / "secret.md") << "the secret\n";
  std::ofstream(dir / "b" / "org.yaml") << kOrg;
  std::ofstream(dir / "b" / "p.yaml")
      << "process: p\ntitle: P\nowner: boss\nsteps:\n  - {id: a, title: A, actor: clerk, instructions: scripts/s.md, "
         "next: end}\n";
  const std::string b = (dir / "b").string();

  SUBCASE("an instructions file that is a link") {
    fs::create_symlink(dir / "secret.md", dir / "b" / "scripts" / "s.md");
    auto r = read_sources({b});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::invalid);
    CHECK_MESSAGE(r.error().message == b + "/scripts/s.md is a symbolic link; a bundle may not hold links, copy the "
                                           "file into the bundle instead",
                  r.error().message);
    auto single = read_sources({b + "/p.yaml"});  // its folder's scripts/ are read as context
    REQUIRE_FALSE(single.ok());
    CHECK(single.error().message.find("scripts/s.md is a symbolic link") != std::string::npos);
  }
  SUBCASE("a folder on the way that is a link") {
    fs::create_directories(dir / "elsewhere");
    std::ofstream(dir / "elsewhere" / "s.md") << "the secret\n";
    fs::remove(dir / "b" / "scripts");
    fs::create_directory_symlink(dir / "elsewhere", dir / "b" / "scripts");
    auto r = read_sources({b});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find(b + "/scripts is a symbolic link") == 0);
    auto single = read_sources({b + "/p.yaml"});
    REQUIRE_FALSE(single.ok());
    CHECK(single.error().message.find("scripts is a symbolic link") != std::string::npos);
  }
  SUBCASE("a process file, and a file given by name, that are links") {
    fs::rename(dir / "b" / "p.yaml", dir / "p.yaml");
    fs::create_symlink(dir / "p.yaml", dir / "b" / "p.yaml");
    auto r = read_sources({b});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("p.yaml is a symbolic link") != std::string::npos);
    auto single = read_sources({b + "/p.yaml"});
    REQUIRE_FALSE(single.ok());
    CHECK(single.error().message.find("p.yaml is a symbolic link") != std::string::npos);
  }
  SUBCASE("the org chart beside a single file, as a link") {
    fs::rename(dir / "b" / "org.yaml", dir / "org.yaml");
    fs::create_symlink(dir / "org.yaml", dir / "b" / "org.yaml");
    auto single = read_sources({b + "/p.yaml"});
    REQUIRE_FALSE(single.ok());
    CHECK(single.error().message.find("org.yaml is a symbolic link") != std::string::npos);
  }
  fs::remove_all(dir);
}
